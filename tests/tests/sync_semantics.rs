//! Sync semantics as docs/sync-protocol.md states them, found by an independent client
//! (issue 23): a claim is filed once however often it is sent, a repeated status command
//! adds no second transition, what a person reported stays theirs on every device,
//! refused commands reach the case's community, and any chunking of a photo's bytes
//! ends like the whole upload.

use diesel::prelude::*;
use patrol_api::db::schema::points_claims;
use patrol_tests::device::Device;
use patrol_tests::{Res, TestApp, on_both_backends};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A report at `lon` (C1 is 101.80-101.81, C3 101.82-101.83).
fn report(case_id: &str, lon: f64) -> Value {
    json!({"case_id": case_id, "category_code": "garbage_pile", "description": "垃圾堆放在楼道口", "lat": 36.605, "lon": lon})
}

async fn id_of(app: &TestApp, token: &str) -> String {
    app.get("/api/v1/me").token(token).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn command(app: &TestApp, token: &str, case_id: &str, cmd: Value) -> Res {
    app.post(&format!("/api/v1/cases/{case_id}/transitions"))
        .token(token)
        .json(cmd)
        .send()
        .await
}

/// Sends a device's pending batch again, as a duplicated request would.
async fn push_again(app: &TestApp, device: &Device, batch: &[Value]) -> Res {
    app.post("/api/v1/sync/push")
        .token(&device.token)
        .json(json!({"client_id": device.client_id, "protocol_version": 1, "mutations": batch}))
        .send()
        .await
}

async fn claims_of(app: &TestApp, officer_id: &str) -> Vec<(String, String, String, i32)> {
    let officer_id = officer_id.to_owned();
    app.with_conn(move |conn| {
        points_claims::table
            .filter(points_claims::officer_id.eq(officer_id))
            .select((
                points_claims::id,
                points_claims::source_kind,
                points_claims::source_id,
                points_claims::points,
            ))
            .order(points_claims::created_at)
            .load::<(String, String, String, i32)>(conn)
            .unwrap()
    })
    .await
}

async fn a_claim_retried_or_sent_from_two_devices_is_filed_once(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let officer_id = id_of(&app, &officer).await;

    // Online: the answer is lost and the request retried with the same id.
    let online = new_id();
    let body = json!({"claim_id": online, "points": 3, "note": "协助社区处理飞线充电"});
    let first = app
        .post("/api/v1/points/claims")
        .token(&officer)
        .json(body.clone())
        .send()
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let retry = app
        .post("/api/v1/points/claims")
        .token(&officer)
        .json(body)
        .send()
        .await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.body["id"], online);

    // Offline on two phones: the same piece of work claimed on each, and one phone's push
    // duplicated by the network.
    let case_id = new_id();
    let claim = |id: &str| json!({"claim_id": id, "points": 2, "note": "楼道垃圾当场清理", "source_kind": "case", "source_id": case_id});
    let mut phone = Device::new(&officer);
    let mut tablet = Device::new(&officer);
    phone.queue("points.claim", claim(&new_id()));
    tablet.queue("points.claim", claim(&new_id()));
    let batch = phone.queue.clone();
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied", "{}", res.text);
    let again = push_again(&app, &phone, &batch).await;
    assert_eq!(again.body["results"][0], res.body["results"][0]);
    let res = tablet.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied", "{}", res.text);
    // And once more online, with yet another id, for the same work.
    let res = app
        .post("/api/v1/points/claims")
        .token(&officer)
        .json(claim(&new_id()))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);

    let claims = claims_of(&app, &officer_id).await;
    assert_eq!(claims.len(), 2, "one claim per piece of work: {claims:?}");
    assert_eq!(
        (claims[1].1.as_str(), claims[1].2.as_str(), claims[1].3),
        ("case", case_id.as_str(), 2)
    );
    assert_eq!(res.body["id"], claims[1].0, "the claim already filed");

    // The same work claimed with other points is kept as a conflict, not a second claim.
    let mut other = Device::new(&officer);
    other.queue(
        "points.claim",
        json!({"claim_id": new_id(), "points": 5, "note": "楼道垃圾当场清理", "source_kind": "case", "source_id": case_id}),
    );
    let res = other.push(&app).await;
    assert_eq!(
        res.body["results"][0]["outcome"], "applied_with_conflict",
        "{}",
        res.text
    );
    assert_eq!(claims_of(&app, &officer_id).await.len(), 2);
}

/// A case reported by the resident in C1, accepted and dispatched by the leader to the
/// C1 officer; returns (case, leader, officer id).
async fn dispatched_case(app: &TestApp) -> (String, String, String) {
    let resident = app.login_as("resident").await;
    let officer = app.login_as("officer").await;
    let leader = app.login_as("supervisor").await;
    let case_id = new_id();
    let res = app
        .post("/api/v1/cases")
        .token(&resident)
        .json(report(&case_id, 101.802))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let officer_id = id_of(app, &officer).await;
    let res = command(app, &leader, &case_id, json!({"command": "accept"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = command(
        app,
        &leader,
        &case_id,
        json!({"command": "dispatch", "to": {"officer": officer_id}}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    (case_id, leader, officer_id)
}

async fn dispatching_a_case_again_to_the_same_officer_records_one_dispatch(app: TestApp) {
    app.seed_fixture().await;
    let (case_id, leader, officer_id) = dispatched_case(&app).await;
    let before = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&leader)
        .send()
        .await;
    let dispatch = json!({"command": "dispatch", "to": {"officer": officer_id}});
    // Online, as a retried request would.
    let res = command(&app, &leader, &case_id, dispatch.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    // Through sync, from the leader's tablet.
    let mut tablet = Device::new(&leader);
    tablet.queue(
        "case.transition",
        json!({"case_id": case_id, "command": dispatch}),
    );
    let res = tablet.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied", "{}", res.text);

    let after = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&leader)
        .send()
        .await;
    assert_eq!(
        after.body["version"], before.body["version"],
        "no new version"
    );
    let dispatches = after.body["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "transition" && a["to_status"] == "dispatched")
        .count();
    assert_eq!(dispatches, 1, "{}", after.body["activities"]);
}

async fn what_an_officer_reported_stays_theirs_on_every_device(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let admin = app.login_as("admin").await;
    let mut phone = Device::new(&officer);
    // A patrol find in C3, outside the C1 officer's scope, and one in C1.
    let elsewhere = new_id();
    let at_home = new_id();
    phone.queue("case.report", report(&elsewhere, 101.822));
    phone.queue("case.report", report(&at_home, 101.802));
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied", "{}", res.text);
    let read = app
        .get(&format!("/api/v1/cases/{elsewhere}"))
        .token(&officer)
        .send()
        .await;
    assert_eq!(
        read.status, 200,
        "the reporter reads it back: {}",
        read.text
    );

    // The officer follows up on it: a comment applies, a refused command keeps its note.
    phone.queue(
        "case.comment",
        json!({"case_id": elsewhere, "text": "已通知物业", "photos": []}),
    );
    phone.queue(
        "case.transition",
        json!({"case_id": elsewhere, "command": {"command": "start"}}),
    );
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied", "{}", res.text);
    assert_eq!(
        res.body["results"][1]["outcome"], "rejected",
        "{}",
        res.text
    );
    let read = app
        .get(&format!("/api/v1/cases/{elsewhere}"))
        .token(&officer)
        .send()
        .await;
    let kinds: Vec<&str> = read.body["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"comment"), "{kinds:?}");
    assert!(kinds.contains(&"rejected_attempt"), "{kinds:?}");

    // Both of the officer's devices hold both reports, also after C1 is taken away.
    let mut tablet = Device::new(&officer);
    for device in [&mut phone, &mut tablet] {
        device.pull_all(&app).await;
        assert!(device.get("case", &elsewhere).is_some());
        assert!(device.get("case", &at_home).is_some());
    }
    // The admin ends the officer's only assignment (to C1), as a transfer.
    let history = app
        .get(&format!(
            "/api/v1/assignments?user_id={}",
            id_of(&app, &officer).await
        ))
        .token(&admin)
        .send()
        .await;
    let c1 = history.body["items"][0]["id"].as_str().unwrap().to_owned();
    let res = app
        .post(&format!("/api/v1/assignments/{c1}/end"))
        .token(&admin)
        .json(json!({"reason": "transferred"}))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let leader = app.login_as("supervisor").await;
    let res = command(&app, &leader, &at_home, json!({"command": "accept"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    for device in [&mut phone, &mut tablet] {
        let pages = device.pull_all(&app).await;
        assert!(
            pages
                .iter()
                .any(|p| !p["dropped_communities"].as_array().unwrap().is_empty()),
            "C1 is dropped"
        );
        assert!(device.get("case", &elsewhere).is_some());
        let kept = device.get("case", &at_home).expect("an own report is kept");
        assert_eq!(kept["status"], "accepted", "and followed");
    }
}

async fn a_refused_command_reaches_the_cases_community_as_a_conflict(app: TestApp) {
    app.seed_fixture().await;
    let (case_id, _leader, _) = dispatched_case(&app).await;
    let officer = app.login_as("officer").await;
    let mut phone = Device::new(&officer);
    phone.queue(
        "case.update_fields",
        json!({"case_id": case_id, "priority": "urgent"}),
    );
    let res = phone.push(&app).await;
    assert_eq!(
        res.body["results"][0]["outcome"], "rejected",
        "{}",
        res.text
    );
    assert_eq!(res.body["results"][0]["conflict"]["kind"], "forbidden");
    let conflict = res.body["results"][0]["conflict"]["id"].clone();
    // Someone else working in C1 gets it, with the case's community.
    let staff = app.login_as("community_staff").await;
    let mut desk = Device::new(&staff);
    desk.pull_all(&app).await;
    let seen = desk
        .get("conflict", conflict.as_str().unwrap())
        .expect("the case's community receives the conflict");
    assert_eq!(seen["entity_id"], case_id);
    assert!(seen["community_id"].is_string(), "{seen}");
}

/// A PNG signature and header chunk, padded to `len` bytes.
fn png(salt: &str, len: usize) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde".to_vec();
    b.extend_from_slice(salt.as_bytes());
    b.resize(len.max(b.len()), 0);
    b
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn put_chunk(app: &TestApp, token: &str, bytes: &[u8], start: usize, end: usize) -> Res {
    app.put(&format!("/api/v1/blobs/{}", sha(bytes)))
        .token(token)
        .header(
            "content-range",
            &format!("bytes {start}-{}/{}", end - 1, bytes.len()),
        )
        .raw("application/octet-stream", bytes[start..end].to_vec())
        .send()
        .await
}

/// Uploads `bytes` in chunks ending at each of `cuts` (and at the end); returns the last
/// answer.
async fn upload_in_chunks(app: &TestApp, token: &str, bytes: &[u8], cuts: &[usize]) -> Res {
    let mut start = 0;
    let mut last = None;
    for end in cuts.iter().copied().chain([bytes.len()]) {
        let res = put_chunk(app, token, bytes, start, end).await;
        if end < bytes.len() {
            assert_eq!(res.status, 202, "chunk {start}-{end}: {}", res.text);
        }
        last = Some(res);
        start = end;
    }
    last.unwrap()
}

async fn any_chunking_of_a_photo_ends_like_the_whole_upload(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let whole = png("whole", 9_000);
    let res = app
        .put(&format!("/api/v1/blobs/{}", sha(&whole)))
        .token(&officer)
        .raw("image/png", whole.clone())
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let stored = res.body.clone();
    for (salt, cuts) in [
        ("three", vec![3]),
        ("tiny", vec![1, 2, 3, 10, 4095, 4096, 4097]),
        ("halves", vec![4500]),
    ] {
        let photo = png(salt, 9_000);
        let res = upload_in_chunks(&app, &officer, &photo, &cuts).await;
        assert_eq!(res.status, 201, "{salt}: {}", res.text);
        assert_eq!(res.body["content_type"], stored["content_type"]);
        assert_eq!(res.body["size"], stored["size"]);
    }
    // Small photos too, with a first chunk too short to tell its type.
    let small = png("small", 100);
    let res = upload_in_chunks(&app, &officer, &small, &[3]).await;
    assert_eq!(res.status, 201, "{}", res.text);

    // A non-photo is refused however it is cut, at the latest once 4096 bytes are in.
    let text = b"just some text, not a photo ".repeat(400);
    let res = upload_in_chunks(&app, &officer, &text, &[3]).await;
    assert_eq!(res.status, 415, "{}", res.text);
    let res = put_chunk(&app, &officer, &text, 0, 3).await;
    assert_eq!(res.status, 202, "{}", res.text);
    let res = put_chunk(&app, &officer, &text, 3, 5000).await;
    assert_eq!(res.status, 415, "refused as soon as its type is known");

    // Overlapping chunks must agree byte for byte.
    let photo = png("overlap", 9_000);
    let res = put_chunk(&app, &officer, &photo, 0, 100).await;
    assert_eq!(res.status, 202, "{}", res.text);
    let mut other = photo.clone();
    other[60] ^= 0x01;
    let res = app
        .put(&format!("/api/v1/blobs/{}", sha(&photo)))
        .token(&officer)
        .header("content-range", &format!("bytes 50-199/{}", photo.len()))
        .raw("application/octet-stream", other[50..200].to_vec())
        .send()
        .await;
    assert_eq!(res.status, 409, "{}", res.text);
    // The upload was discarded: a correct one from byte 0 still succeeds.
    let res = upload_in_chunks(&app, &officer, &photo, &[100, 5000]).await;
    assert_eq!(res.status, 201, "{}", res.text);
}

on_both_backends!(
    a_claim_retried_or_sent_from_two_devices_is_filed_once,
    dispatching_a_case_again_to_the_same_officer_records_one_dispatch,
    what_an_officer_reported_stays_theirs_on_every_device,
    a_refused_command_reaches_the_cases_community_as_a_conflict,
    any_chunking_of_a_photo_ends_like_the_whole_upload,
);
