//! The engine against an in-memory fake server that speaks the protocol's rules (stored
//! results, gaps, pages, epochs) without a database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};

use diesel::connection::SimpleConnection;
use serde_json::{Value, json};

use super::*;
use crate::protocol::{Change, ChangeOp, MutationResult, Outcome};

struct Fake {
    epoch: String,
    last: HashMap<String, u64>,
    results: HashMap<(String, u64), MutationResult>,
    log: Vec<Change>,
    /// Failures to answer with, in order, before acting normally.
    fail: VecDeque<TransportError>,
    /// Failures to answer photo uploads with, first, before `fail`.
    fail_uploads: VecDeque<TransportError>,
    /// Answer 401 until the token is refreshed.
    expired: bool,
    refreshes: usize,
    /// Ids of every push that reached the server.
    pushes: Vec<Vec<u64>>,
    /// Photo bytes received, by hash, and how many uploads reached the server.
    blobs: HashMap<String, Vec<u8>>,
    uploads: usize,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            epoch: "e1".into(),
            last: HashMap::new(),
            results: HashMap::new(),
            log: Vec::new(),
            fail: VecDeque::new(),
            fail_uploads: VecDeque::new(),
            expired: false,
            refreshes: 0,
            pushes: Vec::new(),
            blobs: HashMap::new(),
            uploads: 0,
        }
    }

    fn applied(&self, client: &str) -> u64 {
        self.last.get(client).copied().unwrap_or(0)
    }
}

impl Transport for Fake {
    /// Verifies the hash like the server (`422` on a mismatch) and stores once.
    fn put_blob(&mut self, sha256: &str, bytes: &[u8]) -> Result<(), TransportError> {
        if let Some(e) = self
            .fail_uploads
            .pop_front()
            .or_else(|| self.fail.pop_front())
        {
            return Err(e);
        }
        if self.expired {
            return Err(TransportError::Unauthorized);
        }
        self.uploads += 1;
        if hex::encode(Sha256::digest(bytes)) != sha256 {
            return Err(TransportError::from_status(422, "hash mismatch", 1));
        }
        self.blobs.insert(sha256.to_owned(), bytes.to_vec());
        Ok(())
    }
    fn push(&mut self, req: &PushRequest) -> Result<PushResponse, TransportError> {
        if let Some(e) = self.fail.pop_front() {
            return Err(e);
        }
        if self.expired {
            return Err(TransportError::Unauthorized);
        }
        self.pushes
            .push(req.mutations.iter().map(|m| m.id).collect());
        let mut results = Vec::new();
        for m in &req.mutations {
            let last = self.applied(&req.client_id);
            if m.id <= last {
                results.push(self.results[&(req.client_id.clone(), m.id)].clone());
                continue;
            }
            if m.id > last + 1 {
                if results.is_empty() {
                    return Err(TransportError::Gap { expected: last + 1 });
                }
                break;
            }
            let case_id = m.args["case_id"].as_str().unwrap_or("").to_owned();
            if m.name == "case.report" {
                self.log.push(Change {
                    entity: "case".into(),
                    id: case_id.clone(),
                    op: ChangeOp::Upsert,
                    data: Some(json!({"id": case_id, "community_id": "c1",
                        "description": m.args["description"], "notes": ""})),
                    personal: false,
                    community_id: Some("c1".into()),
                });
            }
            let r = MutationResult {
                mutation_id: m.id,
                outcome: Outcome::Applied,
                conflict: None,
                rejection: None,
            };
            self.results
                .insert((req.client_id.clone(), m.id), r.clone());
            self.last.insert(req.client_id.clone(), m.id);
            results.push(r);
        }
        Ok(PushResponse {
            results,
            last_mutation_id: self.applied(&req.client_id),
            server_epoch: self.epoch.clone(),
        })
    }

    fn pull(&mut self, req: &PullRequest) -> Result<PullResponse, TransportError> {
        if let Some(e) = self.fail.pop_front() {
            return Err(e);
        }
        if self.expired {
            return Err(TransportError::Unauthorized);
        }
        let (epoch, at) = req
            .cursor
            .as_deref()
            .and_then(|c| c.split_once(':'))
            .map(|(e, n)| (e.to_owned(), n.parse::<usize>().unwrap()))
            .unwrap_or((self.epoch.clone(), 0));
        let reset = epoch != self.epoch;
        let at = if reset { 0 } else { at };
        let limit = req.limit.unwrap_or(200) as usize;
        let end = (at + limit).min(self.log.len());
        Ok(PullResponse {
            changes: self.log[at..end].to_vec(),
            after: req.cursor.clone(),
            cursor: format!("{}:{end}", self.epoch),
            has_more: end < self.log.len(),
            last_mutation_id: self.applied(&req.client_id),
            server_epoch: self.epoch.clone(),
            reset,
            dropped_communities: Vec::new(),
        })
    }

    fn refresh_auth(&mut self) -> Result<(), TransportError> {
        self.refreshes += 1;
        self.expired = false;
        Ok(())
    }
}

struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new() -> TempFile {
        TempFile(std::env::temp_dir().join(format!(
            "patrol-client-{}.db",
            uuid::Uuid::new_v4().simple()
        )))
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", self.0.display()));
        }
    }
}

fn report(id: &str) -> Value {
    json!({"case_id": id, "category_code": "garbage_pile", "description": "pile", "lat": 36.605, "lon": 101.802})
}

fn opts() -> EngineOptions {
    EngineOptions {
        page_limit: 2,
        ..EngineOptions::default()
    }
}

#[test]
fn queue_replica_and_cursor_survive_a_restart() {
    let file = TempFile::new();
    let mut server = Fake::new();
    let client_id = {
        let mut e = Engine::open(file.path(), opts()).unwrap();
        e.enqueue("case.report", report("a"), None).unwrap();
        e.enqueue("case.report", report("b"), None).unwrap();
        // Killed before any sync: the queue is already on disk.
        e.client_id().to_owned()
    };
    let mut e = Engine::open(file.path(), opts()).unwrap();
    assert_eq!(e.client_id(), client_id);
    assert_eq!(e.queue().unwrap().len(), 2);
    assert_eq!(e.case("a").unwrap().unwrap()["provisional"], true);
    let r = e.sync(&mut server, 0).unwrap();
    assert!(r.complete);
    let cursor = e.cursor().unwrap();
    drop(e);
    let mut e = Engine::open(file.path(), opts()).unwrap();
    assert_eq!(e.cursor().unwrap(), cursor);
    assert_eq!(e.replica().unwrap().len(), 2);
    assert!(e.queue().unwrap().iter().all(|m| m.status == "applied"));
    assert_eq!(e.case("a").unwrap().unwrap()["community_id"], "c1");
}

#[test]
fn a_page_that_fails_midway_leaves_the_old_cursor_and_replica() {
    let file = TempFile::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    let good = Change {
        entity: "case".into(),
        id: "x".into(),
        op: ChangeOp::Upsert,
        data: Some(json!({"id": "x"})),
        personal: false,
        community_id: None,
    };
    let bad = Change {
        data: None,
        id: "y".into(),
        ..good.clone()
    };
    let page = PullResponse {
        changes: vec![good, bad],
        after: None,
        cursor: "e1:2".into(),
        has_more: false,
        last_mutation_id: 0,
        server_epoch: "e1".into(),
        reset: false,
        dropped_communities: Vec::new(),
    };
    assert!(matches!(
        e.apply_page(&page),
        Err(ClientError::Malformed(_))
    ));
    assert_eq!(e.cursor().unwrap(), None);
    assert!(e.replica().unwrap().is_empty());
}

/// Answers every pull with the same page, whatever cursor was asked for: a late answer
/// to an older request, as a misbehaving network or proxy may deliver.
struct Replays(PullResponse);

impl Transport for Replays {
    fn put_blob(&mut self, _sha256: &str, _bytes: &[u8]) -> Result<(), TransportError> {
        Err(TransportError::Network("not used".into()))
    }
    fn push(&mut self, _req: &PushRequest) -> Result<PushResponse, TransportError> {
        Err(TransportError::Network("not used".into()))
    }
    fn pull(&mut self, _req: &PullRequest) -> Result<PullResponse, TransportError> {
        Ok(self.0.clone())
    }
}

#[test]
fn an_answer_to_another_pull_request_is_dropped_so_no_row_is_skipped() {
    let file = TempFile::new();
    let mut server = Fake::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    for id in ["a", "b"] {
        e.enqueue("case.report", report(id), None).unwrap();
    }
    assert!(e.sync(&mut server, 0).unwrap().complete);
    let before = (e.cursor().unwrap(), e.replica().unwrap());
    assert_eq!(before.0.as_deref(), Some("e1:2"));
    e.enqueue("case.report", report("c"), None).unwrap();
    // An answer to a request from a far older (or newer) cursor that jumps to "e1:9".
    let late = PullResponse {
        changes: Vec::new(),
        after: Some("e1:7".into()),
        cursor: "e1:9".into(),
        has_more: false,
        last_mutation_id: 0,
        server_epoch: "e1".into(),
        reset: false,
        dropped_communities: Vec::new(),
    };
    let r = e.pull_all(&mut Replays(late));
    assert!(matches!(r, Err(ClientError::Transport(_))), "{r:?}");
    assert_eq!((e.cursor().unwrap(), e.replica().unwrap()), before);
    // The next round asks again from where it was and gets everything.
    let r = e.sync(&mut server, 0).unwrap();
    assert!(r.complete);
    assert_eq!(e.replica().unwrap().len(), 3);
}

/// A last page (nothing more to pull) of epoch `e1`.
fn page(cursor: &str, changes: Vec<Change>, dropped: Vec<String>) -> PullResponse {
    PullResponse {
        changes,
        after: None,
        cursor: cursor.into(),
        has_more: false,
        last_mutation_id: 0,
        server_epoch: "e1".into(),
        reset: false,
        dropped_communities: dropped,
    }
}

#[test]
fn a_community_taken_away_keeps_what_reaches_this_account_personally() {
    let file = TempFile::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    let change = |entity: &str, id: &str, personal: bool| Change {
        entity: entity.into(),
        id: id.into(),
        op: ChangeOp::Upsert,
        data: Some(json!({"id": id, "community_id": "c1"})),
        personal,
        community_id: Some("c1".into()),
    };
    e.apply_page(&page(
        "e1:1",
        vec![
            change("case", "theirs", false),
            change("visit", "mine", true),
            change("conflict", "about-me", true),
            change("conflict", "about-a-colleague", false),
        ],
        Vec::new(),
    ))
    .unwrap();
    e.apply_page(&page("e1:1", Vec::new(), vec!["c1".into()]))
        .unwrap();
    let kept: Vec<String> = e.replica().unwrap().into_keys().map(|(_, id)| id).collect();
    assert_eq!(kept, ["about-me", "mine"]);
}

#[test]
fn a_community_taken_away_takes_records_whose_parent_has_not_arrived() {
    // The log keeps only a record's latest state, so a case's activities can come in one
    // page and the case itself, changed since, in a later one. Taken away in between,
    // the community still takes the activities: each change says its community.
    let file = TempFile::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    let activity = Change {
        entity: "case_activity".into(),
        id: "a1".into(),
        op: ChangeOp::Upsert,
        data: Some(json!({"id": "a1", "case_id": "k", "kind": "reported"})),
        personal: false,
        community_id: Some("c1".into()),
    };
    let diary = Change {
        entity: "diary_entry".into(),
        id: "d1".into(),
        data: Some(json!({"id": "d1"})),
        community_id: None,
        ..activity.clone()
    };
    e.apply_page(&page("e1:1", vec![activity, diary], Vec::new()))
        .unwrap();
    e.apply_page(&page("e1:1", Vec::new(), vec!["c1".into()]))
        .unwrap();
    let kept: Vec<String> = e.replica().unwrap().into_keys().map(|(_, id)| id).collect();
    assert_eq!(
        kept,
        ["d1"],
        "the activity went with its community, the diary stayed"
    );
}

#[test]
fn a_file_from_before_communities_were_recorded_pulls_again_and_keeps_its_queue() {
    let file = TempFile::new();
    {
        let mut old = SqliteConnection::establish(file.path()).unwrap();
        old.batch_execute(
            "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
             CREATE TABLE queue (id BIGINT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
                 args TEXT NOT NULL, observed_at TEXT, status TEXT NOT NULL, result TEXT);
             CREATE TABLE replica (entity TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
                 PRIMARY KEY (entity, id));
             INSERT INTO meta VALUES ('client_id', 'old-phone'), ('cursor', 'e1:9');
             INSERT INTO replica VALUES ('case', 'x', '{\"id\":\"x\"}');
             INSERT INTO queue VALUES (1, 'case.report', '{\"case_id\":\"q\"}', NULL, 'pending', NULL);",
        )
        .unwrap();
    }
    let mut e = Engine::open(file.path(), opts()).unwrap();
    assert!(
        e.replica().unwrap().is_empty(),
        "synced data is pulled again"
    );
    assert_eq!(e.cursor().unwrap(), None);
    let queue = e.queue().unwrap();
    assert_eq!((queue.len(), queue[0].status.as_str()), (1, "pending"));
    // Reopening an upgraded file changes nothing more.
    e.apply_page(&page("e1:10", Vec::new(), Vec::new()))
        .unwrap();
    drop(e);
    let mut e = Engine::open(file.path(), opts()).unwrap();
    assert_eq!(e.cursor().unwrap().as_deref(), Some("e1:10"));
}

#[test]
fn a_reset_drops_the_replica_and_keeps_the_queue() {
    let file = TempFile::new();
    let mut server = Fake::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    e.enqueue("case.report", report("a"), None).unwrap();
    e.sync(&mut server, 0).unwrap();
    // Offline work, then the server is restored from a backup of another epoch that
    // knows neither the case nor the client.
    e.enqueue("case.report", report("b"), None).unwrap();
    let mut restored = Fake::new();
    restored.epoch = "e2".into();
    // Before pushing, pull alone sees the reset.
    let page = restored
        .pull(&PullRequest {
            client_id: e.client_id().into(),
            protocol_version: PROTOCOL_VERSION,
            cursor: e.cursor().unwrap(),
            limit: None,
        })
        .unwrap();
    assert!(page.reset);
    e.apply_page(&page).unwrap();
    assert!(e.replica().unwrap().is_empty());
    let queue = e.queue().unwrap();
    assert_eq!(queue.len(), 2);
    assert_eq!(queue[1].status, "pending");
    // The restored server lost mutation 1: the push of 2 meets a gap and resends from 1.
    let r = e.sync(&mut restored, 0).unwrap();
    assert!(r.complete);
    assert_eq!(restored.pushes, vec![vec![2], vec![1, 2]]);
    assert_eq!(e.replica().unwrap().len(), 2);
}

#[test]
fn a_gap_resends_from_the_expected_id() {
    let file = TempFile::new();
    let mut server = Fake::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    for id in ["a", "b", "c"] {
        e.enqueue("case.report", report(id), None).unwrap();
    }
    e.sync(&mut server, 0).unwrap();
    server.last.insert(e.client_id().to_owned(), 1);
    e.enqueue("case.report", report("d"), None).unwrap();
    e.sync(&mut server, 0).unwrap();
    assert_eq!(server.pushes, vec![vec![1, 2, 3], vec![4], vec![2, 3, 4]]);
    assert_eq!(server.applied(e.client_id()), 4);
    assert_eq!(e.unfinished().unwrap(), 0);
}

#[test]
fn a_401_refreshes_and_replays_the_same_ids() {
    let file = TempFile::new();
    let mut server = Fake::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    e.enqueue("case.report", report("a"), None).unwrap();
    e.enqueue("case.comment", json!({"case_id": "a", "text": "t"}), None)
        .unwrap();
    server.expired = true;
    let r = e.sync(&mut server, 0).unwrap();
    assert!(r.complete);
    assert_eq!(server.refreshes, 1);
    assert_eq!(server.pushes, vec![vec![1, 2]]);
    assert!(e.queue().unwrap().iter().all(|m| m.status == "applied"));
}

#[test]
fn failures_back_off_with_jitter_and_honour_retry_after() {
    let file = TempFile::new();
    let mut server = Fake::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    e.enqueue("case.report", report("a"), None).unwrap();
    let mut delays = Vec::new();
    for _ in 0..4 {
        server
            .fail
            .push_back(TransportError::Network("lost".into()));
        assert!(e.sync(&mut server, 0).is_err());
        delays.push(e.next_attempt_at(0));
    }
    assert!(delays.windows(2).all(|w| w[1] > w[0] / 2), "{delays:?}");
    assert!(delays[3] >= 4_000 && delays[3] <= 8_000, "{delays:?}");
    server.fail.push_back(TransportError::RetryAfter(600));
    assert!(e.sync(&mut server, 0).is_err());
    assert!(e.next_attempt_at(0) >= 600_000);
    // Nothing was dropped and a good round clears the backoff.
    assert_eq!(e.unfinished().unwrap(), 1);
    e.sync(&mut server, 0).unwrap();
    assert_eq!(e.next_attempt_at(5), 5);
    assert_eq!(e.failures(), 0);
}

#[test]
fn upgrade_required_and_client_bugs_keep_the_queue() {
    let file = TempFile::new();
    let mut server = Fake::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    e.enqueue("case.report", report("a"), None).unwrap();
    server.fail.push_back(TransportError::UpgradeRequired);
    assert!(matches!(
        e.sync(&mut server, 0),
        Err(ClientError::Transport(TransportError::UpgradeRequired))
    ));
    server
        .fail
        .push_back(TransportError::Rejected("400 bad".into()));
    assert!(e.sync(&mut server, 0).is_err());
    assert_eq!(e.unfinished().unwrap(), 1);
    assert!(matches!(
        e.enqueue("case.explode", json!({}), None),
        Err(ClientError::Invalid(_))
    ));
    assert_eq!(e.queue().unwrap().len(), 1);
}

#[test]
fn pending_edits_show_on_top_of_the_replica_until_acknowledged() {
    let file = TempFile::new();
    let mut server = Fake::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    e.enqueue("case.report", report("a"), None).unwrap();
    e.sync(&mut server, 0).unwrap();
    e.enqueue(
        "case.update_fields",
        json!({"case_id": "a", "notes": {"value": "gate locked", "base_rev": 0}}),
        None,
    )
    .unwrap();
    assert_eq!(e.case("a").unwrap().unwrap()["notes"], "gate locked");
    assert_eq!(e.case("a").unwrap().unwrap()["description"], "pile");
}

/// Several phones sharing one fake server.
struct Shared(std::rc::Rc<std::cell::RefCell<Fake>>);

impl Transport for Shared {
    fn put_blob(&mut self, sha256: &str, bytes: &[u8]) -> Result<(), TransportError> {
        self.0.borrow_mut().put_blob(sha256, bytes)
    }
    fn push(&mut self, req: &PushRequest) -> Result<PushResponse, TransportError> {
        self.0.borrow_mut().push(req)
    }
    fn pull(&mut self, req: &PullRequest) -> Result<PullResponse, TransportError> {
        self.0.borrow_mut().pull(req)
    }
}

#[test]
fn a_fleet_backs_off_through_failures_and_reaches_quiescence() {
    let server = std::rc::Rc::new(std::cell::RefCell::new(Fake::new()));
    for _ in 0..6 {
        server
            .borrow_mut()
            .fail
            .push_back(TransportError::Network("down".into()));
    }
    let files: Vec<TempFile> = (0..3).map(|_| TempFile::new()).collect();
    let mut members: Vec<fleet::Member<Shared>> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut e = Engine::open(
                f.path(),
                EngineOptions {
                    seed: i as u64,
                    ..opts()
                },
            )
            .unwrap();
            e.enqueue("case.report", report(&format!("r{i}")), None)
                .unwrap();
            fleet::Member::new(e, Shared(server.clone()))
        })
        .collect();
    let r = fleet::run(&mut members, 0, 3_600_000, 30_000).unwrap();
    assert!(r.quiescent, "{r:?}");
    assert_eq!(r.failed_rounds, 6);
    assert!(r.now_ms > 0, "failures made the fleet wait");
    for m in &mut members {
        assert_eq!(m.engine.unfinished().unwrap(), 0);
        // Each phone sees all three reports once everyone has pushed and pulled.
    }
    let r = fleet::run(&mut members, r.now_ms + 30_000, 3_600_000, 30_000).unwrap();
    assert!(r.quiescent);
    for m in &mut members {
        assert_eq!(m.engine.replica().unwrap().len(), 3);
    }
}

#[test]
fn http_answers_map_to_what_the_engine_does_next() {
    use TransportError as T;
    let gap = r#"{"type":"x","expected_mutation_id":7}"#;
    assert_eq!(T::from_status(409, gap, 1), T::Gap { expected: 7 });
    assert!(matches!(T::from_status(409, "{}", 1), T::Rejected(_)));
    assert_eq!(T::from_status(401, "", 1), T::Unauthorized);
    assert_eq!(T::from_status(426, "", 1), T::UpgradeRequired);
    assert_eq!(T::from_status(503, "", 30), T::RetryAfter(30));
    assert_eq!(T::from_status(429, "", 5), T::RetryAfter(5));
    assert_eq!(T::from_status(507, "", 60), T::RetryAfter(60));
    assert_eq!(
        T::from_status(500, "", 0),
        T::RetryAfter(1),
        "every 5xx is retried"
    );
    assert!(matches!(T::from_status(422, "bad", 1), T::Rejected(_)));
}

#[test]
fn a_photo_is_kept_through_a_full_store_and_server_errors_until_it_is_stored() {
    use TransportError as T;
    let file = TempFile::new();
    let mut server = Fake::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    let photo = b"\x89PNG\r\n\x1a\n a full disk".to_vec();
    let hash = e.add_photo(&photo).unwrap();
    // The store is full, then the server fails once more, then space is freed.
    let mut now = 0;
    for answer in [
        T::from_status(507, "store full", 60),
        T::from_status(500, "oops", 0),
    ] {
        server.fail_uploads.push_back(answer);
        assert!(
            e.sync(&mut server, now).is_err(),
            "the round does not complete"
        );
        assert_eq!(e.photos().unwrap()[&hash], "pending", "the photo is kept");
        now += 10_000_000;
    }
    assert_eq!(server.uploads, 0, "neither failed attempt stored it");
    let report = e.sync(&mut server, now).unwrap();
    assert!(report.complete);
    assert_eq!(e.photos().unwrap()[&hash], "uploaded");
    assert_eq!(server.blobs[&hash], photo, "it arrived");
}

#[test]
fn photos_upload_after_their_records_survive_failures_and_restarts_and_upload_once_confirmed() {
    let file = TempFile::new();
    let mut server = Fake::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    let photo = b"\x89PNG\r\n\x1a\n a stairwell".to_vec();
    let hash = e.add_photo(&photo).unwrap();
    assert_eq!(hash, hex::encode(Sha256::digest(&photo)));
    assert_eq!(
        e.add_photo(&photo).unwrap(),
        hash,
        "the same photo is kept once"
    );
    e.enqueue(
        "case.report",
        json!({"case_id": "a", "category_code": "garbage_pile", "description": "pile",
               "lat": 36.6, "lon": 101.8, "photos": [hash]}),
        None,
    )
    .unwrap();
    let report = e.sync(&mut server, 0).unwrap();
    assert!(report.complete);
    assert_eq!(server.applied(e.client_id()), 1);
    assert_eq!(server.uploads, 1);
    assert_eq!(e.photos().unwrap()[&hash], "uploaded");

    // A second photo whose upload fails on the network, then the phone restarts.
    let second = b"\x89PNG\r\n\x1a\n a basement".to_vec();
    let hash2 = e.add_photo(&second).unwrap();
    drop(e);
    let mut e = Engine::open(file.path(), opts()).unwrap();
    // The network fails this round: the photo waits for the next.
    server
        .fail
        .push_back(TransportError::Network("down".into()));
    let round = e.sync(&mut server, 0);
    assert!(round.is_err());
    assert_eq!(
        e.photos().unwrap()[&hash2],
        "pending",
        "kept for the next round"
    );
    let report = e.sync(&mut server, 10_000_000).unwrap();
    assert_eq!(report.uploads, 1);
    assert!(report.complete);
    assert_eq!(server.blobs[&hash2], second);
    assert_eq!(server.uploads, 2, "a confirmed photo is not sent again");
}

#[test]
fn a_photo_the_server_refuses_is_kept_with_the_reason_and_not_retried() {
    let file = TempFile::new();
    let mut server = Fake::new();
    let mut e = Engine::open(file.path(), opts()).unwrap();
    let hash = e.add_photo(b"\x89PNG\r\n\x1a\n intact").unwrap();
    // The bytes rot on the device after they were hashed.
    diesel::sql_query("UPDATE photos_out SET bytes = x'00'")
        .execute(&mut e.conn)
        .unwrap();
    let report = e.sync(&mut server, 0).unwrap();
    assert!(report.complete, "nothing left that could succeed");
    assert_eq!(e.photos().unwrap()[&hash], "refused");
    e.sync(&mut server, 0).unwrap();
    assert_eq!(server.uploads, 1, "a refusal is final");
    assert!(server.blobs.is_empty());
}
