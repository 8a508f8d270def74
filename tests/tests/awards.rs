//! Awards, quotas and compliance: the twice-weekly duty judges party members as it does
//! officers, each person sees only their own rows, the same visit sent again with fresh
//! ids counts and earns once, a diary day earns once however many entries it holds,
//! points are audited only by the supervisors who cover the person, and a month's
//! judgement counts only weeks that have happened. Online and through sync push.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use patrol_tests::device::Device;
use patrol_tests::{Backend, TestApp, on_both_backends};
use serde_json::{Value, json};

/// Spawns a server whose visits may be up to 30 days old without `LATE_SYNC` (last
/// week's visits are up to 13 days old on a Sunday) and seeds the fixture with
/// assignments made long ago.
async fn spawn(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn_with(backend, |c| {
        c.visit_rules.late_sync_after = Duration::days(30);
    })
    .await;
    let Some(app) = app else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return None;
    };
    app.seed_fixture().await;
    app.sql("UPDATE assignments SET started_at = 0").await;
    Some(app)
}

/// A local time in the district's zone, as UTC.
fn local(date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    Shanghai
        .from_local_datetime(&date.and_hms_opt(h, m, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn today() -> NaiveDate {
    Utc::now().with_timezone(&Shanghai).date_naive()
}

fn last_week_monday() -> NaiveDate {
    let t = today();
    t - Duration::days(i64::from(t.weekday().num_days_from_monday()) + 7)
}

fn week_of(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// A clean 20-minute visit in C1 starting at `start`, with no photo (so nothing but the
/// visit itself can make a copy of it suspicious).
fn visit(start: DateTime<Utc>) -> Value {
    visit_at(start, 36.605, 101.805, None)
}

fn visit_at(start: DateTime<Utc>, lat: f64, lon: f64, crs: Option<&str>) -> Value {
    let end = start + Duration::minutes(20);
    let mid = start + Duration::minutes(5);
    json!({
        "visit_id": uuid::Uuid::now_v7().to_string(),
        "community_code": "C1",
        "crs": crs,
        "started_at": start.to_rfc3339(),
        "ended_at": end.to_rfc3339(),
        "fixes": [{"at": mid.to_rfc3339(), "lat": lat, "lon": lon, "accuracy_m": 10.0, "mock": false}],
        "photos": [],
        "met": ["resident"],
        "purpose": "入户走访",
        "class_721": "service",
    })
}

async fn record(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app
        .post("/api/v1/visits")
        .token(token)
        .json(body)
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body
}

async fn id_of(app: &TestApp, token: &str) -> String {
    app.get("/api/v1/me").token(token).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn compliance(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/api/v1/compliance?{query}"))
        .token(token)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body.as_array().unwrap().clone()
}

async fn balance(app: &TestApp, token: &str) -> i64 {
    let res = app.get("/api/v1/points/balances").token(token).send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
        .as_array()
        .unwrap()
        .first()
        .map_or(0, |b| b["points"].as_i64().unwrap())
}

// ---------------------------------------------------------------------------------------
// #15.5 and #15.8: who is judged, who sees what
// ---------------------------------------------------------------------------------------

async fn party_members_are_judged_on_the_twice_weekly_duty(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let party = app.login_as("party_member").await;
    let party_id = id_of(&app, &party).await;
    let leader = app.login_as("supervisor").await;
    let monday = last_week_monday();
    record(&app, &party, visit(local(monday, 10, 0))).await;
    record(
        &app,
        &party,
        visit(local(monday + Duration::days(3), 15, 0)),
    )
    .await;

    let week = week_of(monday);
    let rows = compliance(&app, &leader, &format!("week={week}&community_code=C1")).await;
    let party_row = rows
        .iter()
        .find(|r| r["officer_id"] == party_id.as_str())
        .unwrap_or_else(|| panic!("the party member has a row: {rows:?}"));
    assert_eq!(party_row["role"], "party_member");
    assert_eq!(party_row["required"], 2);
    assert_eq!(party_row["compliant"], true, "{party_row}");
    assert!(
        rows.iter()
            .any(|r| r["role"] == "officer" && r["compliant"] == false),
        "the officer, who made no visit, is judged beside them: {rows:?}"
    );

    // This week nobody visited C1 yet: the party member is at risk like the officer.
    let res = app
        .get("/api/v1/compliance/at-risk")
        .token(&leader)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        res.body
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["officer_id"] == party_id.as_str()),
        "{}",
        res.text
    );

    // The party member sees their own rows (they were refused before).
    let own = compliance(&app, &party, &format!("week={week}")).await;
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(own[0]["officer_id"], party_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn party_members_are_judged_on_the_twice_weekly_duty_sqlite() {
    party_members_are_judged_on_the_twice_weekly_duty(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn party_members_are_judged_on_the_twice_weekly_duty_postgres() {
    party_members_are_judged_on_the_twice_weekly_duty(Backend::Postgres).await;
}

async fn asking_for_another_officers_compliance_is_refused(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let officer_id = id_of(&app, &officer).await;
    let other = app.login_as_login(patrol_tests::fixture::OFFICER_C3).await;
    let other_id = id_of(&app, &other).await;
    let party = app.login_as("party_member").await;
    for (token, someone_else) in [(&officer, &other_id), (&party, &officer_id)] {
        let res = app
            .get(&format!("/api/v1/compliance?officer_id={someone_else}"))
            .token(token)
            .send()
            .await;
        assert_eq!(res.status, 403, "{}", res.text);
        assert!(
            res.body["detail"].as_str().unwrap().contains("own"),
            "{}",
            res.text
        );
    }
    // Their own id, or none, is their own rows.
    for query in [format!("officer_id={officer_id}"), String::new()] {
        let rows = compliance(&app, &officer, &query).await;
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r["officer_id"] == officer_id.as_str()));
    }
}

on_both_backends!(asking_for_another_officers_compliance_is_refused);

// ---------------------------------------------------------------------------------------
// #16.4: points are audited by the person's own supervisors, for roles that earn them
// ---------------------------------------------------------------------------------------

async fn claim(app: &TestApp, token: &str, officer_id: Option<&str>, points: i32) -> (u16, Value) {
    let res = app
        .post("/api/v1/points/claims")
        .token(token)
        .json(json!({
            "claim_id": uuid::Uuid::now_v7().to_string(),
            "officer_id": officer_id,
            "points": points,
            "note": "协助社区处理飞线充电",
        }))
        .send()
        .await;
    (res.status, res.body)
}

async fn decide(app: &TestApp, token: &str, claim_id: &str) -> (u16, Value) {
    let res = app
        .post(&format!("/api/v1/points/claims/{claim_id}/decide"))
        .token(token)
        .json(json!({"approve": true, "reason": "核实属实"}))
        .send()
        .await;
    (res.status, res.body)
}

async fn points_are_audited_only_by_the_supervisors_who_cover_the_person(app: TestApp) {
    app.seed_fixture().await;
    let leader = app.login_as("supervisor").await; // covers street S1: C1 and C2
    let leader_id = id_of(&app, &leader).await;
    let admin = app.login_as("admin").await;
    let admin_id = id_of(&app, &admin).await;
    let officer = app.login_as("officer").await; // C1, covered
    let officer_id = id_of(&app, &officer).await;
    let far = app.login_as_login(patrol_tests::fixture::OFFICER_C3).await; // C3 in street S2, not covered
    let far_id = id_of(&app, &far).await;
    let resident = app.login_as("resident").await;
    let resident_id = id_of(&app, &resident).await;

    // A claim of an officer outside the supervisor's streets: refused, stays pending.
    let (status, far_claim) = claim(&app, &far, None, 3).await;
    assert_eq!(status, 201, "{far_claim}");
    let far_claim = far_claim["id"].as_str().unwrap().to_owned();
    let (status, body) = decide(&app, &leader, &far_claim).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("outside your streets")
    );
    assert_eq!(balance(&app, &far).await, 0);
    // An admin covers everyone.
    assert_eq!(decide(&app, &admin, &far_claim).await.0, 200);
    assert_eq!(balance(&app, &far).await, 3);

    // Adjustments: for a resident, for an admin, for themselves, for someone outside
    // their streets: all refused, online.
    let (status, body) = claim(&app, &leader, Some(&resident_id), 50).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("officer_id")),
        "{body}"
    );
    let (status, body) = claim(&app, &leader, Some(&admin_id), 5).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = claim(&app, &leader, Some(&leader_id), 5).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = claim(&app, &leader, Some(&far_id), 5).await;
    assert_eq!(status, 403, "{body}");
    // And through sync push: the same rule, as per-mutation rejections.
    let mut desk = Device::new(&leader);
    for target in [&resident_id, &leader_id, &far_id] {
        desk.queue(
            "points.claim",
            json!({"claim_id": uuid::Uuid::now_v7().to_string(), "officer_id": target, "points": 5, "note": "调整"}),
        );
    }
    desk.queue(
        "points.claim",
        json!({"claim_id": uuid::Uuid::now_v7().to_string(), "officer_id": officer_id, "points": 1, "note": "调整"}),
    );
    let res = desk.push(&app).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let outcomes: Vec<(String, String)> = res.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap().to_owned(),
                r["rejection"]["code"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("rejected", "invalid"),
        ("rejected", "forbidden"),
        ("rejected", "forbidden"),
        ("applied", ""),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(outcomes, want, "{}", res.text);

    // An adjustment for a covered officer, filed by an admin, is decided by their
    // supervisor; the resident never holds a balance.
    let (status, body) = claim(&app, &admin, Some(&officer_id), -2).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = decide(&app, &leader, body["id"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(balance(&app, &officer).await, -2);
    let res = app
        .get("/api/v1/points/balances")
        .token(&admin)
        .send()
        .await;
    assert!(
        res.body
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["officer_id"] != resident_id.as_str()
                && b["officer_id"] != leader_id.as_str()),
        "{}",
        res.text
    );
}

on_both_backends!(points_are_audited_only_by_the_supervisors_who_cover_the_person);

// ---------------------------------------------------------------------------------------
// #15.3 and #16.5: the same visit sent again counts and earns once
// ---------------------------------------------------------------------------------------

/// The GCJ-02 coordinates of a WGS-84 point, found by inverting the server's conversion.
fn gcj02_of(lat: f64, lon: f64) -> (f64, f64) {
    use patrol_domain::geometry::{Crs, LatLon};
    let (mut g_lat, mut g_lon) = (lat, lon);
    for _ in 0..5 {
        let back = LatLon::parse(g_lat, g_lon, Crs::Gcj02, "").unwrap();
        g_lat += lat - back.lat;
        g_lon += lon - back.lon;
    }
    (g_lat, g_lon)
}

fn with_new_id(mut body: Value) -> Value {
    body["visit_id"] = json!(uuid::Uuid::now_v7().to_string());
    body
}

async fn week_row(app: &TestApp, token: &str, week: &str, who: &str) -> Value {
    compliance(app, token, &format!("week={week}&community_code=C1"))
        .await
        .into_iter()
        .find(|r| r["officer_id"] == who)
        .unwrap()
}

async fn the_same_visit_sent_again_counts_and_earns_once(backend: Backend) {
    let Some(app) = spawn(backend).await else {
        return;
    };
    let officer = app.login_as("officer").await;
    let officer_id = id_of(&app, &officer).await;
    let leader = app.login_as("supervisor").await;
    let monday = last_week_monday();
    let week = week_of(monday);

    // Online: a visit, then the same visit three times with fresh ids: the same times,
    // the same fix under times an hour later, the same place in GCJ-02.
    let tuesday = local(monday + Duration::days(1), 10, 0);
    let original = visit(tuesday);
    let first = record(&app, &officer, original.clone()).await;
    assert_eq!(first["status"], "verified", "{first}");
    let mut same_fix = with_new_id(original.clone());
    same_fix["started_at"] = json!((tuesday + Duration::hours(1)).to_rfc3339());
    same_fix["ended_at"] = json!((tuesday + Duration::minutes(80)).to_rfc3339());
    let (g_lat, g_lon) = gcj02_of(36.605, 101.805);
    let mut gcj = visit_at(tuesday, g_lat, g_lon, Some("gcj02"));
    gcj["fixes"][0]["at"] = original["fixes"][0]["at"].clone();
    let mut copies = Vec::new();
    for body in [with_new_id(original.clone()), same_fix, gcj] {
        let copy = record(&app, &officer, body).await;
        assert_eq!(
            copy["flags"],
            json!(["DUPLICATE_VISIT"]),
            "recorded, flagged: {copy}"
        );
        assert_eq!(copy["status"], "flagged");
        copies.push(copy["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(balance(&app, &officer).await, 2, "one visit award");
    // A supervisor accepting a copy does not make it a second visit.
    let res = app
        .post(&format!("/api/v1/visits/{}/accept", copies[0]))
        .token(&leader)
        .json(json!({"reason": "核实为同一次走访"}))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        balance(&app, &officer).await,
        2,
        "accepting a copy earns nothing"
    );
    let row = week_row(&app, &leader, &week, &officer_id).await;
    assert_eq!(row["counted"], json!([first["id"]]), "{row}");
    assert_eq!(row["excluded"].as_array().unwrap().len(), 3, "{row}");
    assert_eq!(row["excluded"][0]["reason"], "OVERLAPS_PREVIOUS", "{row}");
    assert_eq!(row["compliant"], false);

    // Through sync push: twenty copies of Thursday's visit with fresh ids, and a visit an
    // hour after it (a separate record, but within the minimum spacing).
    let thursday = local(monday + Duration::days(3), 15, 0);
    let mut phone = Device::new(&officer);
    let base = visit(thursday);
    for _ in 0..20 {
        phone.queue("visit.record", with_new_id(base.clone()));
    }
    let soon_after = visit(thursday + Duration::hours(1));
    phone.queue("visit.record", soon_after.clone());
    let res = phone.push(&app).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        res.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "applied"),
        "every copy is recorded: {}",
        res.text
    );
    assert_eq!(balance(&app, &officer).await, 4, "Thursday earns once");
    let row = week_row(&app, &leader, &week, &officer_id).await;
    let counted = row["counted"].as_array().unwrap();
    assert_eq!(counted.len(), 2, "Tuesday and Thursday, once each: {row}");
    assert_eq!(row["compliant"], true);
    let soon = row["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["visit_id"] == soon_after["visit_id"])
        .unwrap_or_else(|| panic!("{row}"));
    assert_eq!(soon["reason"], "TOO_CLOSE_TO_PREVIOUS", "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_visit_sent_again_counts_and_earns_once_sqlite() {
    the_same_visit_sent_again_counts_and_earns_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_visit_sent_again_counts_and_earns_once_postgres() {
    the_same_visit_sent_again_counts_and_earns_once(Backend::Postgres).await;
}

async fn a_diary_day_earns_once_however_many_entries_it_holds(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let day = today().to_string();
    for i in 0..15 {
        let res = app
            .post("/api/v1/diary")
            .token(&officer)
            .json(json!({"entry_id": uuid::Uuid::now_v7().to_string(), "entry_date": day, "shift": "day", "body": format!("巡查记录 {i}")}))
            .send()
            .await;
        assert!(res.status == 200 || res.status == 201, "{}", res.text);
    }
    assert_eq!(
        balance(&app, &officer).await,
        1,
        "one diary award for the day"
    );
    // Through sync push, from a party member: the same rule.
    let party = app.login_as("party_member").await;
    let mut phone = Device::new(&party);
    for i in 0..5 {
        phone.queue(
            "diary.write",
            json!({"entry_id": uuid::Uuid::now_v7().to_string(), "entry_date": day, "shift": "day", "body": format!("联系群众 {i}")}),
        );
    }
    let res = phone.push(&app).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        res.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "applied"),
        "{}",
        res.text
    );
    assert_eq!(balance(&app, &party).await, 1);
}

on_both_backends!(a_diary_day_earns_once_however_many_entries_it_holds);

// ---------------------------------------------------------------------------------------
// #15.4: a month judges the weeks that have happened
// ---------------------------------------------------------------------------------------

/// The month's weeks as of now by the stated rule, worked out here independently: every
/// ISO week whose Thursday lies in the current local month and that has started, with
/// whether it is still running.
fn expected_weeks(now: DateTime<Utc>) -> Vec<(String, bool)> {
    let today = now.with_timezone(&Shanghai).date_naive();
    let first = today.with_day(1).unwrap();
    first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .filter(|d| d.weekday() == chrono::Weekday::Thu)
        .filter_map(|thursday| {
            let monday = thursday - Duration::days(3);
            let (start, end) = (local(monday, 0, 0), local(monday + Duration::days(7), 0, 0));
            (start <= now).then(|| (week_of(thursday), now < end))
        })
        .collect()
}

async fn a_months_judgement_counts_only_weeks_that_have_happened(app: TestApp) {
    app.seed_fixture().await;
    app.sql("UPDATE assignments SET started_at = 0").await;
    let officer = app.login_as("officer").await;
    record(&app, &officer, visit(Utc::now() - Duration::minutes(30))).await;
    let res = app
        .get("/api/v1/points/balances")
        .token(&officer)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let row = &res.body[0];
    let got: Vec<(String, bool)> = row["weeks"]
        .as_array()
        .unwrap_or_else(|| panic!("weeks are listed: {row}"))
        .iter()
        .map(|w| {
            (
                w["week"].as_str().unwrap().to_owned(),
                w["running"].as_bool().unwrap(),
            )
        })
        .collect();
    let want = expected_weeks(Utc::now());
    assert_eq!(got, want, "{row}");
    // The current week is listed as running whenever the month holds its Thursday.
    let this_week = week_of(today());
    assert!(
        got.iter().filter(|(_, running)| *running).count() <= 1
            && got.iter().all(|(w, running)| *running == (*w == this_week)),
        "{row}"
    );
    // The officer covers one community: one judgement per ended week, none for the
    // running one or any week still to come.
    let ended = want.iter().filter(|(_, running)| !running).count() as u64;
    assert_eq!(row["weeks_judged"].as_u64(), Some(ended), "{row}");
    assert_eq!(row["weeks_compliant"], 0, "{row}");
}

on_both_backends!(a_months_judgement_counts_only_weeks_that_have_happened);

/// A day that earned under the key used before awards were per officer-day (diary × entry
/// id, still in the append-only ledger) does not earn again under the new key.
async fn a_day_awarded_under_the_old_key_does_not_earn_again(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let officer_id = id_of(&app, &officer).await;
    let entry = uuid::Uuid::now_v7().to_string();
    let (who, source) = (officer_id.clone(), entry.clone());
    app.with_conn(move |conn| {
        patrol_api::commands::points::award(
            conn,
            &patrol_api::commands::points::Award {
                officer_id: &who,
                rule_code: "diary_on_time",
                source_kind: "diary",
                source_id: &source,
                actor_id: None,
                note: "",
                points: None,
            },
        )
        .unwrap()
        .unwrap();
    })
    .await;
    assert_eq!(balance(&app, &officer).await, 1);
    let res = app
        .post("/api/v1/diary")
        .token(&officer)
        .json(json!({"entry_id": entry, "entry_date": today().to_string(), "shift": "day", "body": "白班巡查"}))
        .send()
        .await;
    assert!(res.status == 200 || res.status == 201, "{}", res.text);
    assert_eq!(balance(&app, &officer).await, 1, "the day earned once");
}

on_both_backends!(a_day_awarded_under_the_old_key_does_not_earn_again);
