//! Change-log retention: a record's new state supersedes its older rows, compaction keeps
//! each record's latest state, a device behind the horizon is told to reset (and then
//! converges), a fresh install still gets everything.

use std::collections::BTreeMap;

use patrol_api::sync::retention;
use patrol_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;

/// What a device holds: records by (entity, id), and its cursor.
#[derive(Default)]
struct Replica {
    records: BTreeMap<(String, String), Value>,
    cursor: Option<String>,
    resets: usize,
}

async fn pull_all(app: &TestApp, token: &str, client: &str, r: &mut Replica) {
    loop {
        let res = app
            .post("/api/v1/sync/pull")
            .token(token)
            .json(
                json!({"client_id": client, "protocol_version": 1, "cursor": r.cursor, "limit": 3}),
            )
            .send()
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        let page = res.body;
        if page["reset"] == true {
            r.records.clear();
            r.resets += 1;
        }
        for ch in page["changes"].as_array().unwrap() {
            let key = (
                ch["entity"].as_str().unwrap().to_owned(),
                ch["id"].as_str().unwrap().to_owned(),
            );
            if ch["op"] == "delete" {
                r.records.remove(&key);
            } else {
                r.records.insert(key, ch["data"].clone());
            }
        }
        r.cursor = page["cursor"].as_str().map(str::to_owned);
        if page["has_more"] == false {
            return;
        }
    }
}

fn report(n: u32) -> Value {
    json!({"case_id": uuid::Uuid::now_v7().to_string(), "category_code": "garbage_pile",
           "description": format!("堆物 {n}"), "lat": 36.605, "lon": 101.805})
}

async fn a_device_behind_the_horizon_resets_and_every_record_survives_compaction(app: TestApp) {
    app.seed_fixture().await;
    let resident = app.login_as("resident").await;
    let officer = app.login_as("officer").await;
    let supervisor = app.login_as("supervisor").await;
    let mut ids = Vec::new();
    for n in 0..4 {
        let res = app
            .post("/api/v1/cases")
            .token(&resident)
            .json(report(n))
            .send()
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        ids.push(res.body["case"]["id"].as_str().unwrap().to_owned());
    }
    // A phone that synced early, and then went quiet.
    let mut old = Replica::default();
    pull_all(
        &app,
        &officer,
        "0190a5e2-0000-7000-8000-000000000001",
        &mut old,
    )
    .await;
    // Later changes: two cases accepted.
    for id in &ids[..2] {
        let res = app
            .post(&format!("/api/v1/cases/{id}/transitions"))
            .token(&supervisor)
            .json(json!({"command": "accept"}))
            .send()
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    // A phone that is up to date.
    let mut current = Replica::default();
    pull_all(
        &app,
        &officer,
        "0190a5e2-0000-7000-8000-000000000002",
        &mut current,
    )
    .await;

    // All of it is now older than the retention period.
    app.sql(format!(
        "UPDATE change_log SET changed_at = changed_at - {}",
        100 * DAY_MS
    ))
    .await;
    let cutoff = chrono::Utc::now().timestamp_millis() - 90 * DAY_MS;
    let done = app
        .with_conn(move |conn| retention::compact(conn, cutoff).unwrap())
        .await;
    // Every row is a record's latest state (older ones were superseded when written),
    // so compaction re-appends what it deletes.
    assert!(done.deleted >= done.reappended, "{done:?}");
    assert!(
        done.reappended >= ids.len(),
        "every case's latest state is kept: {done:?}"
    );
    assert!(done.horizon.is_some());
    // Compacting again with nothing old left changes nothing.
    let again = app
        .with_conn(move |conn| retention::compact(conn, cutoff).unwrap())
        .await;
    assert_eq!((again.deleted, again.reappended), (0, 0));

    // Behind the horizon: told to reset, then converges on the server's truth.
    pull_all(
        &app,
        &officer,
        "0190a5e2-0000-7000-8000-000000000001",
        &mut old,
    )
    .await;
    assert_eq!(old.resets, 1);
    // Past it: no reset; the re-appended states change nothing it holds.
    let before = current.records.clone();
    pull_all(
        &app,
        &officer,
        "0190a5e2-0000-7000-8000-000000000002",
        &mut current,
    )
    .await;
    assert_eq!(current.resets, 0);
    assert_eq!(current.records, before);
    // A fresh install gets every record.
    let mut fresh = Replica::default();
    pull_all(
        &app,
        &officer,
        "0190a5e2-0000-7000-8000-000000000003",
        &mut fresh,
    )
    .await;
    assert_eq!(fresh.resets, 0);
    assert_eq!(old.records, current.records);
    assert_eq!(fresh.records, current.records);
    for (i, id) in ids.iter().enumerate() {
        let case = &fresh.records[&("case".to_owned(), id.clone())];
        let status = if i < 2 { "accepted" } else { "reported" };
        assert_eq!(case["status"], status, "{case}");
    }
}

on_both_backends!(a_device_behind_the_horizon_resets_and_every_record_survives_compaction);

/// Rows a pull from `cursor` delivers for one record, and the last state delivered.
async fn rows_for(app: &TestApp, token: &str, cursor: Option<String>, id: &str) -> (usize, Value) {
    let (mut rows, mut last, mut cursor) = (0, Value::Null, cursor);
    loop {
        let res = app
            .post("/api/v1/sync/pull")
            .token(token)
            .json(json!({"client_id": "0190a5e2-0000-7000-8000-997978141063", "protocol_version": 1, "cursor": cursor, "limit": 2}))
            .send()
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        for ch in res.body["changes"].as_array().unwrap() {
            if ch["entity"] == "case" && ch["id"] == id {
                rows += 1;
                last = ch["data"].clone();
            }
        }
        cursor = res.body["cursor"].as_str().map(str::to_owned);
        if res.body["has_more"] == false {
            return (rows, last);
        }
    }
}

async fn a_device_away_while_a_record_changed_pulls_its_latest_state_once(app: TestApp) {
    app.seed_fixture().await;
    let resident = app.login_as("resident").await;
    let officer = app.login_as("officer").await;
    let supervisor = app.login_as("supervisor").await;
    let res = app
        .post("/api/v1/cases")
        .token(&resident)
        .json(report(0))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.body["case"]["id"].as_str().unwrap().to_owned();
    // The phone synced once, then went where there is no signal.
    let mut away = Replica::default();
    pull_all(
        &app,
        &officer,
        "0190a5e2-0000-7000-8000-997978141063",
        &mut away,
    )
    .await;
    // Meanwhile the case went through several states.
    for cmd in [
        json!({"command": "accept"}),
        json!({"command": "void", "reason": "not a problem"}),
    ] {
        let res = app
            .post(&format!("/api/v1/cases/{id}/transitions"))
            .token(&supervisor)
            .json(cmd)
            .send()
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    let now = app
        .get(&format!("/api/v1/cases/{id}"))
        .token(&supervisor)
        .send()
        .await;
    assert_eq!(now.status, 200, "{}", now.text);
    // Back in signal: one row for the case, its current state; the same for a new phone.
    for cursor in [away.cursor.clone(), None] {
        let (rows, last) = rows_for(&app, &officer, cursor, &id).await;
        assert_eq!(rows, 1, "each record once, not every state it went through");
        assert_eq!(last["status"], now.body["case"]["status"], "{last}");
        assert_eq!(last["version"], now.body["case"]["version"], "{last}");
    }
}

on_both_backends!(a_device_away_while_a_record_changed_pulls_its_latest_state_once);
