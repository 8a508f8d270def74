//! Offline sync over HTTP: exactly-once push, replays, gaps, the field scenarios of
//! SYNC.md, scope changes while offline, and conflicts delivered to the people concerned.

use patrol_tests::device::Device;
use patrol_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};

const PHOTO_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const PHOTO_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn report(case_id: &str, lon: f64) -> Value {
    json!({"case_id": case_id, "category_code": "garbage_pile", "description": "垃圾堆放在楼道口", "lat": 36.605, "lon": lon})
}

async fn id_of(app: &TestApp, token: &str) -> String {
    app.get("/api/v1/me").token(token).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn command(app: &TestApp, token: &str, case_id: &str, cmd: Value) -> u16 {
    let res = app
        .post(&format!("/api/v1/cases/{case_id}/transitions"))
        .token(token)
        .json(cmd)
        .send()
        .await;
    res.status
}

/// A case in C1 reported by the resident and dispatched to the C1 officer, who started it.
async fn case_in_progress(app: &TestApp) -> (String, String, String, String) {
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
    assert_eq!(
        command(app, &leader, &case_id, json!({"command": "accept"})).await,
        200
    );
    assert_eq!(
        command(
            app,
            &leader,
            &case_id,
            json!({"command": "dispatch", "to": {"officer": officer_id}})
        )
        .await,
        200
    );
    assert_eq!(
        command(app, &officer, &case_id, json!({"command": "start"})).await,
        200
    );
    (case_id, resident, officer, leader)
}

async fn a_push_replayed_one_to_five_times_applies_once_and_answers_identically(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let mut device = Device::new(&officer);
    let case_id = new_id();
    device.queue("case.report", report(&case_id, 101.802));
    device.queue(
        "case.comment",
        json!({"case_id": case_id, "text": "已通知物业", "photos": [PHOTO_A]}),
    );
    let batch = device.queue.clone();
    let first = device.push(&app).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["last_mutation_id"], 2);
    // Sequential replays of the same batch.
    for _ in 0..4 {
        device.queue = batch.clone();
        let again = device.push(&app).await;
        assert_eq!(
            again.body["results"], first.body["results"],
            "replay answers identically"
        );
    }
    // Concurrent replays.
    let body = json!({"client_id": device.client_id, "protocol_version": 1, "mutations": batch});
    let mut handles = Vec::new();
    for _ in 0..5 {
        let (client, url, token, body) = (
            app.client.clone(),
            format!("{}/api/v1/sync/push", app.base),
            officer.clone(),
            body.clone(),
        );
        handles.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap()["results"], first.body["results"]);
    }
    let leader = app.login_as("supervisor").await;
    let detail = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&leader)
        .send()
        .await;
    let comments = detail.body["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "comment")
        .count();
    let reports = detail.body["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "reported")
        .count();
    assert_eq!((reports, comments), (1, 1), "applied once: {}", detail.text);
}

async fn a_gap_is_refused_with_the_expected_id(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let mut device = Device::new(&officer);
    device.queue("case.report", report(&new_id(), 101.802));
    assert_eq!(device.push(&app).await.status, 200);
    let body = json!({"client_id": device.client_id, "protocol_version": 1,
        "mutations": [{"id": 3, "name": "case.comment", "args": {"case_id": "x", "text": "t"}, "observed_at": null}]});
    let res = app
        .post("/api/v1/sync/push")
        .token(&officer)
        .json(body)
        .send()
        .await;
    assert_eq!(res.status, 409);
    assert_eq!(res.body["expected_mutation_id"], 2);
    // Old app versions keep their queue and are told to update.
    let old = json!({"client_id": device.client_id, "protocol_version": 0, "mutations": [{"id": 2, "name": "case.comment", "args": {}, "observed_at": null}]});
    assert_eq!(
        app.post("/api/v1/sync/push")
            .token(&officer)
            .json(old)
            .send()
            .await
            .status,
        426
    );
    // Someone else's client id.
    let other = app.login_as("party_member").await;
    let body = json!({"client_id": device.client_id, "protocol_version": 1, "mutations": [{"id": 2, "name": "case.comment", "args": {}, "observed_at": null}]});
    assert_eq!(
        app.post("/api/v1/sync/push")
            .token(&other)
            .json(body)
            .send()
            .await
            .status,
        403
    );
}

async fn a_bad_mutation_is_rejected_and_the_queue_moves_on(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let mut device = Device::new(&officer);
    let good = new_id();
    device.queue("case.explode", json!({}));
    device.queue("case.report", json!({"case_id": new_id(), "category_code": "nope", "description": "x", "lat": 36.605, "lon": 101.802}));
    device.queue("case.report", json!({"case_id": new_id(), "category_code": "garbage_pile", "description": "x", "lat": 30.0, "lon": 101.802}));
    device.queue("case.report", report(&good, 101.802));
    let res = device.push(&app).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let outcomes: Vec<&str> = res.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        vec!["rejected", "rejected", "rejected", "applied"]
    );
    assert_eq!(
        res.body["results"][1]["rejection"]["field"],
        "category_code"
    );
    assert_eq!(res.body["results"][2]["rejection"]["field"], "lat");
    // Every rejection is a conflict the officer's pull delivers, with the report's data.
    device.pull_all(&app).await;
    let conflicts = device.all("conflict");
    assert_eq!(conflicts.len(), 3, "{conflicts:?}");
    assert!(
        conflicts.iter().any(|c| c["detail"]["args"]["lat"] == 30.0),
        "the refused report's data is kept"
    );
    assert!(device.get("case", &good).is_some());
}

async fn a_supervisor_status_change_and_an_offline_edit_with_photos_both_survive(app: TestApp) {
    app.seed_fixture().await;
    let (case_id, _resident, officer, leader) = case_in_progress(&app).await;
    let mut phone = Device::new(&officer);
    phone.pull_all(&app).await;
    let rev = phone.get("case", &case_id).unwrap()["description_rev"]
        .as_i64()
        .unwrap();
    // Offline: the officer edits the description and attaches photos.
    phone.queue("case.update_fields", json!({"case_id": case_id, "description": {"value": "楼道口和单元门前都有垃圾", "base_rev": rev}}));
    phone.queue(
        "case.comment",
        json!({"case_id": case_id, "text": "现场照片", "photos": [PHOTO_A, PHOTO_B]}),
    );
    // Meanwhile the supervisor defers the case online.
    let status = command(
        &app,
        &leader,
        &case_id,
        json!({"command": "defer", "reason": "等待物业配合", "resume_on": "2030-01-01"}),
    )
    .await;
    assert_eq!(status, 200);
    let res = phone.push(&app).await;
    let outcomes: Vec<&str> = res.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["applied", "applied"], "{}", res.text);
    phone.pull_all(&app).await;
    let case = phone.get("case", &case_id).unwrap();
    assert_eq!(
        case["status"], "deferred",
        "the device shows the server's status"
    );
    assert_eq!(case["description"], "楼道口和单元门前都有垃圾");
    let photos: Vec<&Value> = phone
        .all("photo")
        .into_iter()
        .filter(|p| p["owner_id"] == case_id.as_str())
        .collect();
    assert_eq!(photos.len(), 2);
    assert!(
        photos.iter().all(|p| p["status"] == "awaiting_upload"),
        "accepted before the bytes arrive"
    );
}

async fn two_devices_resolving_the_same_case_offline_both_succeed_once(app: TestApp) {
    app.seed_fixture().await;
    let (case_id, _resident, officer, leader) = case_in_progress(&app).await;
    let mut phone = Device::new(&officer);
    let mut tablet = Device::new(&officer);
    for d in [&mut phone, &mut tablet] {
        d.queue("case.transition", json!({"case_id": case_id, "command": {"command": "resolve", "evidence": [PHOTO_A], "note": "已清理"}}));
    }
    let a = phone.push(&app).await;
    let b = tablet.push(&app).await;
    assert_eq!(a.body["results"][0]["outcome"], "applied", "{}", a.text);
    assert_eq!(b.body["results"][0]["outcome"], "applied", "{}", b.text);
    let detail = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&leader)
        .send()
        .await;
    assert_eq!(detail.body["case"]["status"], "resolved");
    let resolutions = detail.body["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["to_status"] == "resolved")
        .count();
    assert_eq!(resolutions, 1, "one resolution");
}

/// A second officer on the C1 beat, created through the admin API; returns their token.
async fn colleague_in_c1(app: &TestApp) -> String {
    let admin = app.login_as("admin").await;
    let password = "colleague-password-1";
    let res = app
        .post("/api/v1/users")
        .token(&admin)
        .json(json!({"login": "officer.c1b", "role": "officer", "display_name": "队员乙", "password": password}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let res = app
        .post("/api/v1/assignments")
        .token(&admin)
        .json(json!({"user_id": res.body["id"], "target_code": "C1"}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    app.login("officer.c1b", password).await
}

async fn two_officers_resolving_the_same_case_offline_both_succeed_once(app: TestApp) {
    app.seed_fixture().await;
    let (case_id, _resident, officer, leader) = case_in_progress(&app).await;
    let colleague = colleague_in_c1(&app).await;
    let mut handler_phone = Device::new(&officer);
    let mut colleague_phone = Device::new(&colleague);
    handler_phone.queue("case.transition", json!({"case_id": case_id, "command": {"command": "resolve", "evidence": [PHOTO_A], "note": "已清理"}}));
    colleague_phone.queue("case.transition", json!({"case_id": case_id, "command": {"command": "resolve", "evidence": [PHOTO_B], "note": "我也清理了"}}));
    // The colleague gets signal first: the handler's resolution arrives second.
    let a = colleague_phone.push(&app).await;
    let b = handler_phone.push(&app).await;
    assert_eq!(a.body["results"][0]["outcome"], "applied", "{}", a.text);
    assert_eq!(b.body["results"][0]["outcome"], "applied", "{}", b.text);
    let detail = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&leader)
        .send()
        .await;
    assert_eq!(detail.body["case"]["status"], "resolved");
    let activities = detail.body["activities"].as_array().unwrap();
    let resolutions = activities
        .iter()
        .filter(|a| a["to_status"] == "resolved")
        .count();
    assert_eq!(resolutions, 1, "one resolution: {}", detail.text);
    assert!(
        detail.text.contains(PHOTO_A) && detail.text.contains(PHOTO_B),
        "both officers' evidence is on the case: {}",
        detail.text
    );
    // Both phones converge on the one resolution.
    for phone in [&mut handler_phone, &mut colleague_phone] {
        phone.pull_all(&app).await;
        assert_eq!(phone.get("case", &case_id).unwrap()["status"], "resolved");
        assert!(phone.all("conflict").is_empty(), "nothing to explain");
    }
    // A resident cannot slip photos onto the resolved case by "resolving" it too.
    let resident = app.login_as("resident").await;
    let mut resident_phone = Device::new(&resident);
    resident_phone.queue("case.transition", json!({"case_id": case_id, "command": {"command": "resolve", "evidence": [PHOTO_A], "note": "me too"}}));
    let r = resident_phone.push(&app).await;
    assert_eq!(r.body["results"][0]["outcome"], "rejected", "{}", r.text);
}

async fn resolving_a_case_the_supervisor_voided_is_rejected_and_keeps_the_evidence(app: TestApp) {
    app.seed_fixture().await;
    let (case_id, _resident, officer, leader) = case_in_progress(&app).await;
    let mut phone = Device::new(&officer);
    phone.queue("case.transition", json!({"case_id": case_id, "command": {"command": "resolve", "evidence": [PHOTO_B], "note": "清理完毕"}}));
    // Meanwhile the command centre finds the report false and cancels it (撤件).
    assert_eq!(
        command(
            &app,
            &leader,
            &case_id,
            json!({"command": "void", "reason": "重复上报，已由物业处理"})
        )
        .await,
        200
    );
    let res = phone.push(&app).await;
    let result = &res.body["results"][0];
    assert_eq!(result["outcome"], "rejected", "{}", res.text);
    assert_eq!(
        result["rejection"]["current"]["status"], "voided",
        "rejected with the current state: {}",
        res.text
    );
    let detail = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&leader)
        .send()
        .await;
    let kept = detail.body["activities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "rejected_attempt" && a["evidence"].to_string().contains("清理完毕"));
    assert!(
        kept,
        "the officer's notes stay on the case: {}",
        detail.text
    );
    phone.pull_all(&app).await;
    assert_eq!(phone.get("case", &case_id).unwrap()["status"], "voided");
    assert_eq!(
        phone.all("conflict").len(),
        1,
        "the officer sees the conflict"
    );
    assert!(
        phone.all("photo").iter().any(|p| p["sha256"] == PHOTO_B),
        "the officer's photo stays on the case"
    );
    let mut desk = Device::new(&leader);
    desk.pull_all(&app).await;
    assert_eq!(desk.all("conflict").len(), 1, "the supervisor sees it too");
}

async fn resolving_a_withdrawn_case_is_rejected_and_keeps_the_evidence(app: TestApp) {
    app.seed_fixture().await;
    let (case_id, resident, officer, leader) = case_in_progress(&app).await;
    let mut phone = Device::new(&officer);
    phone.queue("case.transition", json!({"case_id": case_id, "command": {"command": "resolve", "evidence": [PHOTO_B], "note": "清理完毕"}}));
    // The reporter withdraws while the officer is offline: withdraw wins.
    assert_eq!(
        command(&app, &resident, &case_id, json!({"command": "withdraw"})).await,
        200
    );
    let res = phone.push(&app).await;
    let result = &res.body["results"][0];
    assert_eq!(result["outcome"], "rejected", "{}", res.text);
    assert_eq!(
        result["rejection"]["current"]["status"], "withdrawn",
        "rejected with the current state"
    );
    let detail = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&leader)
        .send()
        .await;
    let kept = detail.body["activities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["kind"] == "rejected_attempt" && a["evidence"].to_string().contains("清理完毕"));
    assert!(
        kept,
        "the officer's notes stay on the case: {}",
        detail.text
    );
    // The conflict reaches both the officer and the supervisor.
    phone.pull_all(&app).await;
    assert_eq!(phone.all("conflict").len(), 1);
    let photo_kept = phone.all("photo").iter().any(|p| p["sha256"] == PHOTO_B);
    assert!(photo_kept, "the officer's photo stays on the case");
    let mut desk = Device::new(&leader);
    desk.pull_all(&app).await;
    assert_eq!(desk.all("conflict").len(), 1);
    assert_eq!(desk.get("case", &case_id).unwrap()["status"], "withdrawn");
}

async fn a_concurrent_edit_of_one_field_is_applied_and_recorded_with_both_values(app: TestApp) {
    app.seed_fixture().await;
    let (case_id, _resident, officer, leader) = case_in_progress(&app).await;
    let mut phone = Device::new(&officer);
    let mut desk = Device::new(&leader);
    phone.pull_all(&app).await;
    desk.pull_all(&app).await;
    let rev = phone.get("case", &case_id).unwrap()["notes_rev"]
        .as_i64()
        .unwrap();
    desk.queue("case.update_fields", json!({"case_id": case_id, "notes": {"value": "supervisor notes", "base_rev": rev}, "priority": "urgent"}));
    phone.queue(
        "case.update_fields",
        json!({"case_id": case_id, "notes": {"value": "officer notes", "base_rev": rev}}),
    );
    assert_eq!(
        desk.push(&app).await.body["results"][0]["outcome"],
        "applied"
    );
    let res = phone.push(&app).await;
    assert_eq!(
        res.body["results"][0]["outcome"], "applied_with_conflict",
        "{}",
        res.text
    );
    let detail = &res.body["results"][0]["conflict"]["detail"]["notes"];
    assert_eq!(detail["applied"], "officer notes");
    assert_eq!(detail["overwritten"], "supervisor notes");
    // The officer may not set the supervisor's field.
    phone.queue(
        "case.update_fields",
        json!({"case_id": case_id, "priority": "low"}),
    );
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["rejection"]["code"], "forbidden");
    desk.pull_all(&app).await;
    let case = desk.get("case", &case_id).unwrap();
    assert_eq!(
        (case["notes"].as_str(), case["priority"].as_str()),
        (Some("officer notes"), Some("urgent"))
    );
}

/// The admin ends the officer's (first) assignment, as a transfer; returns the officer's id.
async fn end_assignment(app: &TestApp, admin: &str, officer: &str) -> String {
    let officer_id = id_of(app, officer).await;
    let history = app
        .get(&format!("/api/v1/assignments?user_id={officer_id}"))
        .token(admin)
        .send()
        .await;
    let assignment = history.body["items"][0]["id"].as_str().unwrap().to_owned();
    let res = app
        .post(&format!("/api/v1/assignments/{assignment}/end"))
        .token(admin)
        .json(json!({"reason": "transferred"}))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    officer_id
}

async fn a_community_taken_away_while_offline_is_dropped_and_its_edits_become_forbidden(
    app: TestApp,
) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let admin = app.login_as("admin").await;
    let mut phone = Device::new(&officer);
    // A resident's report: the officer's own reports stay theirs (see sync_semantics).
    let resident = app.login_as("resident").await;
    let case_id = new_id();
    let res = app
        .post("/api/v1/cases")
        .token(&resident)
        .json(report(&case_id, 101.802))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    phone.pull_all(&app).await;
    assert!(phone.get("case", &case_id).is_some());
    // Offline: an edit of the case and a new report in the same community.
    let rev = phone.get("case", &case_id).unwrap()["description_rev"]
        .as_i64()
        .unwrap();
    phone.queue(
        "case.update_fields",
        json!({"case_id": case_id, "description": {"value": "更新", "base_rev": rev}}),
    );
    let new_case = new_id();
    phone.queue("case.report", report(&new_case, 101.803));
    // Meanwhile the admin ends the officer's assignment to C1.
    let officer_id = end_assignment(&app, &admin, &officer).await;
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "rejected");
    assert_eq!(res.body["results"][0]["conflict"]["kind"], "forbidden");
    assert_eq!(
        res.body["results"][1]["outcome"], "applied",
        "new reports are kept"
    );
    let pages = phone.pull_all(&app).await;
    assert!(
        pages
            .iter()
            .any(|p| !p["dropped_communities"].as_array().unwrap().is_empty()),
        "explicit drop"
    );
    assert!(
        phone.get("case", &case_id).is_none(),
        "rows of the community are gone"
    );
    assert_eq!(
        phone.all("conflict").len(),
        1,
        "the forbidden conflict reaches the officer"
    );
    // Whoever covers C1 sees the kept report.
    let leader = app.login_as("supervisor").await;
    let mut desk = Device::new(&leader);
    desk.pull_all(&app).await;
    assert!(desk.get("case", &new_case).is_some());
    // Granting the community back fills the replica in again.
    let res = app
        .post("/api/v1/assignments")
        .token(&admin)
        .json(json!({"user_id": officer_id, "target_code": "C1"}))
        .send()
        .await;
    assert_eq!(res.status, 201);
    phone.pull_all(&app).await;
    assert!(
        phone.get("case", &case_id).is_some(),
        "backfilled after the grant"
    );
    assert!(phone.get("case", &new_case).is_some());
}

async fn residents_pull_only_their_own_reports(app: TestApp) {
    app.seed_fixture().await;
    let resident = app.login_as("resident").await;
    let officer = app.login_as("officer").await;
    let mut phone = Device::new(&resident);
    let mine = new_id();
    phone.queue("case.report", report(&mine, 101.802));
    assert_eq!(
        phone.push(&app).await.body["results"][0]["outcome"],
        "applied"
    );
    let mut officer_phone = Device::new(&officer);
    let theirs = new_id();
    officer_phone.queue("case.report", report(&theirs, 101.803));
    officer_phone.push(&app).await;
    phone.pull_all(&app).await;
    assert!(phone.get("case", &mine).is_some());
    assert!(phone.get("case", &theirs).is_none());
    let res = app
        .get(&format!("/api/v1/cases/{theirs}"))
        .token(&resident)
        .send()
        .await;
    assert_eq!(res.status, 404);
    // A cursor cannot be altered to see more.
    let cursor = phone.cursor.clone().unwrap();
    let forged = format!("{}x", cursor);
    let res = app
        .post("/api/v1/sync/pull")
        .token(&resident)
        .json(json!({"client_id": phone.client_id, "protocol_version": 1, "cursor": forged}))
        .send()
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.body["field"], "cursor");
    let res = app
        .post("/api/v1/sync/pull")
        .token(&officer)
        .json(json!({"client_id": phone.client_id, "protocol_version": 1, "cursor": cursor}))
        .send()
        .await;
    assert_eq!(res.status, 400, "a cursor is bound to its account");
    let res = app
        .post("/api/v1/sync/pull")
        .token(&officer)
        .json(json!({"client_id": phone.client_id, "protocol_version": 1}))
        .send()
        .await;
    assert_eq!(res.status, 403, "a client id is bound to its account");
}

async fn a_server_restored_from_backup_tells_devices_to_reset_but_keeps_their_queue(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let mut phone = Device::new(&officer);
    let case_id = new_id();
    phone.queue("case.report", report(&case_id, 101.802));
    phone.push(&app).await;
    phone.pull_all(&app).await;
    assert!(phone.get("case", &case_id).is_some());
    // A restore gives the database a new epoch; the phone has a pending mutation queued.
    app.sql("UPDATE server_meta SET value = 'restored-epoch' WHERE key = 'server_epoch'")
        .await;
    phone.queue(
        "case.comment",
        json!({"case_id": case_id, "text": "after restore"}),
    );
    let pages = phone.pull_all(&app).await;
    assert_eq!(pages[0]["reset"], true, "an explicit reset");
    assert_eq!(pages[0]["server_epoch"], "restored-epoch");
    assert_eq!(phone.queue.len(), 1, "the queue is never reset");
    assert!(
        phone.get("case", &case_id).is_some(),
        "the replica is rebuilt from the server"
    );
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied");
}

/// A visit photo's bytes arriving after its officer moved to another community still reach
/// that officer: the visit is their own record wherever they work now.
async fn a_visit_photo_uploaded_after_its_officer_moved_becomes_available_on_their_phone(
    app: TestApp,
) {
    app.seed_fixture().await;
    // Visits in the past need assignments older than the fixture's.
    app.sql("UPDATE assignments SET started_at = 0").await;
    let officer = app.login_as("officer").await;
    let admin = app.login_as("admin").await;
    let photo = crate::blobs::jpeg("stairwell", 700);
    let hash = crate::blobs::sha(&photo);
    let visit_id = new_id();
    let start = chrono::Utc::now() - chrono::TimeDelta::hours(2);
    let mut phone = Device::new(&officer);
    phone.queue(
        "visit.record",
        json!({"visit_id": visit_id, "community_code": "C1",
               "started_at": start, "ended_at": start + chrono::TimeDelta::minutes(20),
               "fixes": [{"at": start, "lat": 36.605, "lon": 101.805, "accuracy_m": 10.0}],
               "photos": [hash], "met": ["resident"], "purpose": "入户走访",
               "class_721": "service"}),
    );
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied", "{}", res.text);
    phone.pull_all(&app).await;
    let status_of = |phone: &Device| crate::blobs::photo_statuses(phone, &hash);
    assert_eq!(status_of(&phone), vec![json!("awaiting_upload")]);

    // The officer is moved off C1 before the phone finds signal to upload the photo.
    end_assignment(&app, &admin, &officer).await;
    phone.pull_all(&app).await;
    assert!(
        phone.get("visit", &visit_id).is_some(),
        "an officer keeps their own visits"
    );

    let res = crate::blobs::put(&app, &officer, &hash, &photo).await;
    assert_eq!(res.status, 201, "{}", res.text);
    phone.pull_all(&app).await;
    assert_eq!(status_of(&phone), vec![json!("available")]);
    // And the phone agrees with a fresh pull of the same account.
    let mut fresh = Device::new(&officer);
    fresh.pull_all(&app).await;
    assert_eq!(status_of(&fresh), vec![json!("available")]);
}

on_both_backends!(
    a_visit_photo_uploaded_after_its_officer_moved_becomes_available_on_their_phone,
    a_server_restored_from_backup_tells_devices_to_reset_but_keeps_their_queue,
    a_push_replayed_one_to_five_times_applies_once_and_answers_identically,
    a_gap_is_refused_with_the_expected_id,
    a_bad_mutation_is_rejected_and_the_queue_moves_on,
    a_supervisor_status_change_and_an_offline_edit_with_photos_both_survive,
    two_devices_resolving_the_same_case_offline_both_succeed_once,
    two_officers_resolving_the_same_case_offline_both_succeed_once,
    resolving_a_case_the_supervisor_voided_is_rejected_and_keeps_the_evidence,
    resolving_a_withdrawn_case_is_rejected_and_keeps_the_evidence,
    a_concurrent_edit_of_one_field_is_applied_and_recorded_with_both_values,
    a_community_taken_away_while_offline_is_dropped_and_its_edits_become_forbidden,
    residents_pull_only_their_own_reports,
);

async fn the_sim_command_drives_a_fleet_of_officers_to_quiescence(app: TestApp) {
    app.seed_fixture().await;
    let cfg = patrol_tests::test_config(&app.db);
    let args = patrol_api::cli::sim::SimArgs {
        url: app.base.clone(),
        officers: 4,
        ops: 60,
        seed: 7,
    };
    tokio::task::spawn_blocking(move || patrol_api::cli::sim::run(&cfg, &args))
        .await
        .unwrap()
        .unwrap();
    // Every queued operation reached the server exactly once, with its outcome stored.
    let stored = app
        .with_conn(|conn| {
            use diesel::prelude::*;
            patrol_api::db::schema::sync_mutations::table
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(stored, 60);
    let admin = app.login_as("admin").await;
    let cases = app
        .get("/api/v1/cases?limit=200")
        .token(&admin)
        .send()
        .await;
    let n = cases.body["items"].as_array().unwrap().len();
    assert!(
        (15..60).contains(&n),
        "reports, and work on synced cases: {n} cases"
    );
    // Each report's photo followed it, verified against its hash.
    let photos = app
        .with_conn(|conn| {
            use diesel::prelude::*;
            patrol_api::db::schema::blobs::table
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(photos, n as i64, "one uploaded photo per report");
}

on_both_backends!(the_sim_command_drives_a_fleet_of_officers_to_quiescence);
