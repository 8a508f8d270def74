//! A supervisor's work queue (issue 15, item 2): pending claims, ledgers, diary entries
//! awaiting sign-off, flagged visits and recorded conflicts, each listed for the
//! supervisor's streets only, page by page, and carried by the supervisor's pull; and a
//! first-contact owner who keeps sight of their case (item 6).

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use patrol_tests::device::Device;
use patrol_tests::fixture::{OFFICER_C3, PARTY, STAFF};
use patrol_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

async fn id_of(app: &TestApp, token: &str) -> String {
    app.get("/api/v1/me").token(token).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A visit to `code` whose one fix is at `lon` (C1 is 101.80-101.81, C3 101.82-101.83).
fn visit(code: &str, lon: f64, hours_ago: i64, photo: u64) -> Value {
    let start = Utc::now() - Duration::hours(hours_ago);
    json!({
        "visit_id": new_id(), "community_code": code,
        "started_at": start.to_rfc3339(), "ended_at": (start + Duration::minutes(20)).to_rfc3339(),
        "fixes": [{"at": start.to_rfc3339(), "lat": 36.605, "lon": lon, "accuracy_m": 10.0}],
        "photos": [format!("{photo:064x}")], "purpose": "走访", "class_721": "service",
    })
}

async fn ok(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let res = app.post(path).token(token).json(body).send().await;
    assert!(res.status < 300, "{path}: {} {}", res.status, res.text);
    res.body
}

/// Every item of a list, following `next` with pages of `limit`.
pub(crate) async fn all_pages(app: &TestApp, token: &str, path: &str, limit: u32) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let url = match &after {
            Some(a) => format!("{path}{sep}limit={limit}&after={a}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let res = app.get(&url).token(token).send().await;
        assert_eq!(res.status, 200, "{url}: {}", res.text);
        let page = res.body["items"].as_array().unwrap().clone();
        assert!(page.len() <= limit as usize);
        items.extend(page);
        match res.body["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => return items,
        }
    }
}

fn field<'a>(items: &'a [Value], name: &str) -> BTreeSet<&'a str> {
    items.iter().map(|i| i[name].as_str().unwrap()).collect()
}

async fn a_supervisor_finds_what_awaits_audit_in_their_streets_only(app: TestApp) {
    app.seed_fixture().await;
    app.sql("UPDATE assignments SET started_at = 0").await;
    let leader = app.login_as("supervisor").await;
    let officer = app.login_as("officer").await;
    let party = app.login_as_login(PARTY).await;
    let other = app.login_as_login(OFFICER_C3).await;
    let officer_id = id_of(&app, &officer).await;
    let party_id = id_of(&app, &party).await;
    let other_id = id_of(&app, &other).await;

    // Work in the leader's street (C1) by an officer and a party member, and in S2 (C3).
    let mut mine_claims = BTreeSet::new();
    for (token, n) in [(&officer, 3), (&party, 2)] {
        for i in 0..n {
            let id = new_id();
            ok(
                &app,
                token,
                "/api/v1/points/claims",
                json!({"claim_id": id, "points": 1 + i, "note": format!("楼道清理 {i}")}),
            )
            .await;
            mine_claims.insert(id);
        }
    }
    let elsewhere_claim = new_id();
    ok(
        &app,
        &other,
        "/api/v1/points/claims",
        json!({"claim_id": elsewhere_claim, "points": 2, "note": "C3"}),
    )
    .await;
    let verified = ok(
        &app,
        &officer,
        "/api/v1/visits",
        visit("C1", 101.805, 30, 1),
    )
    .await;
    let flagged = ok(&app, &officer, "/api/v1/visits", visit("C1", 101.85, 5, 2)).await;
    let c3_flagged = ok(&app, &other, "/api/v1/visits", visit("C3", 101.90, 5, 3)).await;
    assert_eq!(verified["status"], "verified", "{verified}");
    assert_eq!(flagged["status"], "flagged", "{flagged}");
    assert_eq!(c3_flagged["status"], "flagged", "{c3_flagged}");
    let today = Utc::now().date_naive().to_string();
    let mut diaries = Vec::new();
    for token in [&officer, &party, &other] {
        let id = new_id();
        ok(
            &app,
            token,
            "/api/v1/diary",
            json!({"entry_id": id, "entry_date": today, "shift": "day", "body": "巡查楼道"}),
        )
        .await;
        diaries.push(id);
    }

    // Claims: the leader's queue holds the five of their street, page by page.
    let pending = all_pages(&app, &leader, "/api/v1/points/claims?status=pending", 2).await;
    assert_eq!(pending.len(), 5, "{pending:?}");
    assert_eq!(
        field(&pending, "id"),
        mine_claims.iter().map(String::as_str).collect()
    );
    assert!(
        pending
            .windows(2)
            .all(|w| w[0]["created_at"].as_str() >= w[1]["created_at"].as_str()),
        "newest first"
    );
    let of_party = all_pages(
        &app,
        &leader,
        &format!("/api/v1/points/claims?officer_id={party_id}"),
        50,
    )
    .await;
    assert_eq!(of_party.len(), 2);
    let res = app
        .get(&format!("/api/v1/points/claims?officer_id={other_id}"))
        .token(&leader)
        .send()
        .await;
    assert_eq!(
        res.status, 403,
        "an officer of another street: {}",
        res.text
    );
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    let res = app
        .get("/api/v1/points/claims?community=C3")
        .token(&leader)
        .send()
        .await;
    assert_eq!(
        res.status, 403,
        "a community of another street: {}",
        res.text
    );
    // A decided claim leaves the queue.
    let first = pending[0]["id"].as_str().unwrap();
    ok(
        &app,
        &leader,
        &format!("/api/v1/points/claims/{first}/decide"),
        json!({"approve": true, "reason": "属实"}),
    )
    .await;
    let pending = all_pages(&app, &leader, "/api/v1/points/claims?status=pending", 50).await;
    assert_eq!(pending.len(), 4);
    assert!(!field(&pending, "id").contains(first));

    // Visits: the flagged one of C1 awaits the leader; C3's is not theirs.
    let queue = all_pages(&app, &leader, "/api/v1/visits?status=flagged", 50).await;
    assert_eq!(
        field(&queue, "id"),
        BTreeSet::from([flagged["id"].as_str().unwrap()])
    );
    let c1 = all_pages(&app, &leader, "/api/v1/visits?community=C1", 1).await;
    assert_eq!(c1.len(), 2, "both C1 visits, one per page");

    // Diary: the two entries of the leader's street await sign-off; a signed one leaves.
    let awaiting = all_pages(&app, &leader, "/api/v1/diary?signed_off=false", 50).await;
    assert_eq!(
        field(&awaiting, "entry_id"),
        BTreeSet::from([diaries[0].as_str(), diaries[1].as_str()])
    );
    ok(
        &app,
        &leader,
        &format!("/api/v1/diary/{}/sign-off", diaries[0]),
        json!({}),
    )
    .await;
    let awaiting = all_pages(
        &app,
        &leader,
        &format!("/api/v1/diary?signed_off=false&from={today}&to={today}"),
        50,
    )
    .await;
    assert_eq!(
        field(&awaiting, "entry_id"),
        BTreeSet::from([diaries[1].as_str()])
    );

    // The ledger of an officer: the verified visit's award and the approved claim.
    let ledger = all_pages(
        &app,
        &leader,
        &format!("/api/v1/points/entries?officer_id={officer_id}"),
        1,
    )
    .await;
    assert!(!ledger.is_empty(), "awards are listed");
    assert!(
        ledger
            .iter()
            .all(|e| e["officer_id"] == officer_id.as_str())
    );
    assert!(
        ledger
            .windows(2)
            .all(|w| w[0]["seq"].as_i64() > w[1]["seq"].as_i64()),
        "newest first"
    );
    let all = all_pages(&app, &leader, "/api/v1/points/entries", 50).await;
    assert!(
        all.iter().all(|e| e["officer_id"] != other_id.as_str()),
        "not another street's"
    );

    // An officer sees their own records, and is refused another officer's.
    let own = all_pages(&app, &officer, "/api/v1/points/claims", 50).await;
    assert_eq!(own.len(), 3);
    assert!(own.iter().all(|c| c["officer_id"] == officer_id.as_str()));
    for path in [
        format!("/api/v1/points/claims?officer_id={party_id}"),
        format!("/api/v1/points/entries?officer_id={party_id}"),
        format!("/api/v1/diary?author_id={party_id}"),
        format!("/api/v1/visits?officer_id={party_id}"),
        format!("/api/v1/conflicts?user_id={party_id}"),
    ] {
        let res = app.get(&path).token(&officer).send().await;
        assert_eq!(res.status, 403, "{path}: {}", res.text);
    }
    // Community staff and residents do not audit.
    let staff = app.login_as_login(STAFF).await;
    let resident = app.login_as("resident").await;
    for token in [&staff, &resident] {
        for path in [
            "/api/v1/points/claims",
            "/api/v1/points/entries",
            "/api/v1/diary",
            "/api/v1/visits",
            "/api/v1/conflicts",
        ] {
            let res = app.get(path).token(token).send().await;
            assert_eq!(res.status, 403, "{path}: {}", res.text);
        }
    }
    // A bad page start or filter is a clear error.
    for (path, status) in [
        ("/api/v1/points/claims?after=nonsense", 400),
        ("/api/v1/points/claims?limit=0", 400),
        ("/api/v1/points/claims?status=maybe", 422),
        ("/api/v1/visits?from=yesterday", 400),
        ("/api/v1/diary?from=2026-13-01", 422),
        ("/api/v1/conflicts?community=NOPE", 400),
    ] {
        let res = app.get(path).token(&leader).send().await;
        assert_eq!(res.status, status, "{path}: {}", res.text);
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
    }
}

on_both_backends!(a_supervisor_finds_what_awaits_audit_in_their_streets_only);

async fn conflicts_are_listed_for_the_supervisor_of_their_street(app: TestApp) {
    app.seed_fixture().await;
    let leader = app.login_as("supervisor").await;
    let officer = app.login_as("officer").await;
    let other = app.login_as_login(OFFICER_C3).await;
    let officer_id = id_of(&app, &officer).await;
    // The same work claimed twice with different points: one claim and a conflict.
    for (token, n) in [(&officer, 1), (&other, 2)] {
        let source = new_id();
        for points in [n, n + 1] {
            ok(&app, token, "/api/v1/points/claims", json!({"claim_id": new_id(), "points": points, "note": "同一件事", "source_kind": "other", "source_id": source})).await;
        }
    }
    let listed = all_pages(&app, &leader, "/api/v1/conflicts", 50).await;
    assert_eq!(listed.len(), 1, "the leader's street only: {listed:?}");
    assert_eq!(listed[0]["user_id"], officer_id.as_str());
    assert_eq!(listed[0]["kind"], "duplicate_claim");
    assert!(
        listed[0]["detail"]["kept"].is_object(),
        "both versions: {}",
        listed[0]
    );
    let admin = app.login_as("admin").await;
    let every = all_pages(&app, &admin, "/api/v1/conflicts?kind=duplicate_claim", 1).await;
    assert_eq!(every.len(), 2);
    let own = all_pages(&app, &officer, "/api/v1/conflicts", 50).await;
    assert_eq!(field(&own, "id"), field(&listed, "id"));
}

on_both_backends!(conflicts_are_listed_for_the_supervisor_of_their_street);

async fn a_supervisors_pull_carries_the_claims_and_diaries_they_audit(app: TestApp) {
    app.seed_fixture().await;
    let leader = app.login_as("supervisor").await;
    let officer = app.login_as("officer").await;
    let other = app.login_as_login(OFFICER_C3).await;
    let staff = app.login_as_login(STAFF).await;
    let today = Utc::now().date_naive().to_string();
    let (claim, diary) = (new_id(), new_id());
    ok(
        &app,
        &officer,
        "/api/v1/points/claims",
        json!({"claim_id": claim, "points": 2, "note": "协助处置"}),
    )
    .await;
    ok(
        &app,
        &officer,
        "/api/v1/diary",
        json!({"entry_id": diary, "entry_date": today, "shift": "day", "body": "巡查"}),
    )
    .await;
    let (c3_claim, c3_diary) = (new_id(), new_id());
    ok(
        &app,
        &other,
        "/api/v1/points/claims",
        json!({"claim_id": c3_claim, "points": 2, "note": "C3"}),
    )
    .await;
    ok(
        &app,
        &other,
        "/api/v1/diary",
        json!({"entry_id": c3_diary, "entry_date": today, "shift": "day", "body": "C3"}),
    )
    .await;

    let mut leader_device = Device::new(&leader);
    leader_device.pull_all(&app).await;
    assert_eq!(
        leader_device
            .get("points_claim", &claim)
            .map(|c| &c["status"]),
        Some(&json!("pending"))
    );
    assert!(leader_device.get("diary_entry", &diary).is_some());
    assert!(
        leader_device.get("points_claim", &c3_claim).is_none(),
        "another street's"
    );
    assert!(
        leader_device.get("diary_entry", &c3_diary).is_none(),
        "another street's"
    );

    // A decision reaches the officer's device and the leader's.
    let mut phone = Device::new(&officer);
    phone.pull_all(&app).await;
    assert_eq!(
        phone.get("points_claim", &claim).map(|c| &c["status"]),
        Some(&json!("pending"))
    );
    ok(
        &app,
        &leader,
        &format!("/api/v1/points/claims/{claim}/decide"),
        json!({"approve": false, "reason": "无记录"}),
    )
    .await;
    phone.pull_all(&app).await;
    leader_device.pull_all(&app).await;
    assert_eq!(
        phone.get("points_claim", &claim).map(|c| &c["status"]),
        Some(&json!("rejected"))
    );
    assert_eq!(
        leader_device
            .get("points_claim", &claim)
            .map(|c| &c["status"]),
        Some(&json!("rejected"))
    );

    // Others working in C1 do not pull the officer's diary or claims.
    let mut staff_device = Device::new(&staff);
    staff_device.pull_all(&app).await;
    assert!(staff_device.all("points_claim").is_empty());
    assert!(staff_device.all("diary_entry").is_empty());
}

on_both_backends!(a_supervisors_pull_carries_the_claims_and_diaries_they_audit);

async fn a_first_contact_owner_keeps_sight_of_their_case(app: TestApp) {
    app.seed_fixture().await;
    let resident = app.login_as("resident").await;
    let officer = app.login_as("officer").await;
    let officer_id = id_of(&app, &officer).await;
    let case_id = new_id();
    ok(&app, &resident, "/api/v1/cases", json!({"case_id": case_id, "category_code": "garbage_pile", "description": "垃圾堆放在楼道口", "lat": 36.605, "lon": 101.805})).await;
    // The leader answers first and hands first contact (首接负责) to the C1 officer.
    let leader = app.login_as("supervisor").await;
    ok(
        &app,
        &leader,
        &format!("/api/v1/cases/{case_id}/transitions"),
        json!({"command": "accept"}),
    )
    .await;
    ok(
        &app,
        &leader,
        &format!("/api/v1/cases/{case_id}/handover"),
        json!({"to_user_id": officer_id, "reason": "属地处置"}),
    )
    .await;
    let res = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&officer)
        .send()
        .await;
    assert_eq!(
        res.body["case"]["first_contact_id"],
        officer_id.as_str(),
        "{}",
        res.text
    );
    // Their C1 assignment ends: they still read the case and find it in their list.
    app.sql(format!(
        "UPDATE assignments SET ended_at = 1 WHERE user_id = '{officer_id}'"
    ))
    .await;
    let res = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&officer)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let listed = all_pages(&app, &officer, "/api/v1/cases", 50).await;
    assert!(
        listed.iter().any(|i| i["case"]["id"] == case_id.as_str()),
        "{listed:?}"
    );
    // Another officer with no part in it does not.
    let other = app.login_as_login(OFFICER_C3).await;
    let res = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&other)
        .send()
        .await;
    assert_eq!(res.status, 404, "{}", res.text);
}

on_both_backends!(a_first_contact_owner_keeps_sight_of_their_case);
