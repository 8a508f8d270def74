//! A phone for tests: a queue of mutations with contiguous ids, a cursor, and a replica
//! built from pulls. (The reference client engine proper belongs in `patrol-sync`.)

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::{Res, TestApp};

pub struct Device {
    pub client_id: String,
    pub token: String,
    next_id: u64,
    pub queue: Vec<Value>,
    pub cursor: Option<String>,
    /// (entity, id) → latest data.
    pub replica: BTreeMap<(String, String), Value>,
    /// Rows that reach this account personally (`personal` on their last change): a
    /// dropped community does not take them away.
    personal: BTreeSet<(String, String)>,
    /// The community each row came through: a dropped community takes its rows.
    community: BTreeMap<(String, String), String>,
}

impl Device {
    pub fn new(token: &str) -> Device {
        Device {
            client_id: uuid::Uuid::now_v7().to_string(),
            token: token.to_owned(),
            next_id: 1,
            queue: Vec::new(),
            cursor: None,
            replica: BTreeMap::new(),
            personal: BTreeSet::new(),
            community: BTreeMap::new(),
        }
    }

    /// Queues a mutation offline; returns its id.
    pub fn queue(&mut self, name: &str, args: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push(json!({ "id": id, "name": name, "args": args, "observed_at": chrono::Utc::now().to_rfc3339() }));
        id
    }

    /// Pushes the queue as one batch; drops it from the queue once answered.
    pub async fn push(&mut self, app: &TestApp) -> Res {
        let body =
            json!({ "client_id": self.client_id, "protocol_version": 1, "mutations": self.queue });
        let res = app
            .post("/api/v1/sync/push")
            .token(&self.token)
            .json(body)
            .send()
            .await;
        if res.status == 200 {
            self.queue.clear();
        }
        res
    }

    /// Pulls until the server has nothing more, applying each page.
    pub async fn pull_all(&mut self, app: &TestApp) -> Vec<Value> {
        let mut pages = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let res = app
                .post("/api/v1/sync/pull")
                .token(&self.token)
                .json(json!({ "client_id": self.client_id, "protocol_version": 1, "cursor": self.cursor, "limit": 50 }))
                .send()
                .await;
            assert_eq!(res.status, 200, "pull: {}", res.text);
            let body = res.body;
            if body["reset"] == true {
                self.replica.clear();
                self.personal.clear();
                self.community.clear();
            }
            if let Some(dropped) = body["dropped_communities"].as_array() {
                let dropped: Vec<&str> = dropped.iter().filter_map(Value::as_str).collect();
                let (personal, community) = (&self.personal, &self.community);
                self.replica.retain(|k, _| {
                    personal.contains(k)
                        || !community
                            .get(k)
                            .is_some_and(|c| dropped.contains(&c.as_str()))
                });
            }
            for c in body["changes"].as_array().into_iter().flatten() {
                let key = (
                    c["entity"].as_str().unwrap_or("").to_owned(),
                    c["id"].as_str().unwrap_or("").to_owned(),
                );
                if c["personal"] == true && c["op"] != "delete" {
                    self.personal.insert(key.clone());
                } else {
                    self.personal.remove(&key);
                }
                if c["op"] == "delete" {
                    self.replica.remove(&key);
                } else {
                    match c["community_id"].as_str() {
                        Some(id) => self.community.insert(key.clone(), id.to_owned()),
                        None => self.community.remove(&key),
                    };
                    let data = c["data"].clone();
                    self.replica.insert(key, data);
                }
            }
            self.cursor = body["cursor"].as_str().map(str::to_owned);
            let more = body["has_more"] == true;
            pages.push(body);
            if !more {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "pull kept saying has_more"
            );
        }
        pages
    }

    pub fn get(&self, entity: &str, id: &str) -> Option<&Value> {
        self.replica.get(&(entity.to_owned(), id.to_owned()))
    }

    pub fn all(&self, entity: &str) -> Vec<&Value> {
        self.replica
            .iter()
            .filter(|((e, _), _)| e == entity)
            .map(|(_, v)| v)
            .collect()
    }
}
