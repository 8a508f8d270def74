//! Visits: one fixture per verification flag, supervisor acceptance, and twice-weekly
//! compliance at the week's edges in the district's time zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use patrol_tests::{Backend, TestApp, on_both_backends};
use serde_json::{Value, json};

fn hash(n: u64) -> String {
    format!("{n:064x}")
}

struct V {
    start: DateTime<Utc>,
    minutes: i64,
    lat: f64,
    lon: f64,
    accuracy: f64,
    mock: Option<bool>,
    photo: u64,
    community: &'static str,
}

fn at(start: DateTime<Utc>) -> V {
    V {
        start,
        minutes: 20,
        lat: 36.605,
        lon: 101.805,
        accuracy: 10.0,
        mock: None,
        photo: start.timestamp_millis() as u64,
        community: "C1",
    }
}

fn body(v: &V) -> Value {
    let end = v.start + Duration::minutes(v.minutes);
    json!({
        "visit_id": uuid::Uuid::now_v7().to_string(),
        "community_code": v.community,
        "started_at": v.start.to_rfc3339(),
        "ended_at": end.to_rfc3339(),
        "fixes": [{"at": v.start.to_rfc3339(), "lat": v.lat, "lon": v.lon, "accuracy_m": v.accuracy, "mock": v.mock}],
        "photos": [hash(v.photo)],
        "met": ["resident"],
        "purpose": "入户走访",
        "class_721": "service",
    })
}

async fn record(app: &TestApp, token: &str, v: &V) -> Value {
    let res = app
        .post("/api/v1/visits")
        .token(token)
        .json(body(v))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body
}

async fn every_flag_has_a_fixture_and_a_clean_visit_passes(app: TestApp) {
    app.seed_fixture().await;
    // The fixture's assignments were made just now; visits in the past need them older.
    app.sql("UPDATE assignments SET started_at = 0").await;
    let officer = app.login_as("officer").await;
    let now = Utc::now();
    let h = |n: i64| now - Duration::hours(n);
    let clean = record(&app, &officer, &at(h(60))).await;
    assert_eq!(clean["flags"], json!([]));
    assert_eq!(clean["status"], "verified");
    let cases: Vec<(&str, V)> = vec![
        (
            "OUTSIDE_GEOFENCE",
            V {
                lon: 101.83,
                ..at(h(57))
            },
        ),
        (
            "LOW_ACCURACY",
            V {
                accuracy: 500.0,
                ..at(h(54))
            },
        ),
        (
            "MOCK_LOCATION",
            V {
                mock: Some(true),
                ..at(h(51))
            },
        ),
        (
            "TOO_SHORT",
            V {
                minutes: 2,
                ..at(h(48))
            },
        ),
        (
            "DUPLICATE_PHOTO",
            V {
                photo: clean_photo(&clean),
                ..at(h(45))
            },
        ),
        (
            "NOT_ASSIGNED",
            V {
                community: "C2",
                lon: 101.815,
                ..at(h(42))
            },
        ),
        ("LATE_SYNC", at(now - Duration::days(8))),
    ];
    for (flag, v) in &cases {
        let got = record(&app, &officer, v).await;
        assert_eq!(got["flags"], json!([flag]), "{flag}: {got}");
        assert_eq!(got["status"], "flagged");
    }
    // FUTURE_TIME: a device clock an hour ahead.
    let got = record(&app, &officer, &at(now + Duration::hours(1))).await;
    assert_eq!(got["flags"], json!(["FUTURE_TIME"]), "{got}");
    // IMPOSSIBLE_TRAVEL: across the community (about 800 m) in ten seconds.
    let west = V {
        lon: 101.8005,
        ..at(h(30))
    };
    record(&app, &officer, &west).await;
    let east = V {
        lon: 101.8095,
        ..at(h(30) + Duration::minutes(20) + Duration::seconds(10))
    };
    let got = record(&app, &officer, &east).await;
    assert_eq!(got["flags"], json!(["IMPOSSIBLE_TRAVEL"]), "{got}");
}

fn clean_photo(clean: &Value) -> u64 {
    u64::from_str_radix(clean["photos"][0].as_str().unwrap(), 16).unwrap()
}

async fn a_supervisor_accepts_a_flagged_visit_with_a_reason(app: TestApp) {
    app.seed_fixture().await;
    app.sql("UPDATE assignments SET started_at = 0").await;
    let officer = app.login_as("officer").await;
    let leader = app.login_as("supervisor").await;
    let visit = record(
        &app,
        &officer,
        &V {
            mock: Some(true),
            ..at(Utc::now() - Duration::hours(2))
        },
    )
    .await;
    let id = visit["id"].as_str().unwrap();
    let res = app
        .post(&format!("/api/v1/visits/{id}/accept"))
        .token(&officer)
        .json(json!({"reason": "mine"}))
        .send()
        .await;
    assert_eq!(res.status, 403, "officers cannot accept visits");
    let res = app
        .post(&format!("/api/v1/visits/{id}/accept"))
        .token(&leader)
        .json(json!({"reason": " "}))
        .send()
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.body["field"], "reason");
    let res = app
        .post(&format!("/api/v1/visits/{id}/accept"))
        .token(&leader)
        .json(json!({"reason": "手机定位模拟器为单位配发的测试机，已核实现场照片"}))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let leader_id = app.get("/api/v1/me").token(&leader).send().await.body["user"]["id"].clone();
    assert_eq!(res.body["status"], "accepted");
    assert_eq!(res.body["accepted_by"], leader_id);
    assert!(res.body["accepted_at"].is_string());
    assert!(
        res.body["accepted_reason"]
            .as_str()
            .unwrap()
            .contains("已核实")
    );
    assert_eq!(
        res.body["flags"],
        json!(["MOCK_LOCATION"]),
        "the flag stays on record"
    );
    let again = app
        .post(&format!("/api/v1/visits/{id}/accept"))
        .token(&leader)
        .json(json!({"reason": "again"}))
        .send()
        .await;
    assert_eq!(again.status, 409);
}

/// Local midnight of a day in the district's zone, as UTC.
fn local(date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    Shanghai
        .from_local_datetime(&date.and_hms_opt(h, m, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn last_week_sunday() -> NaiveDate {
    let today = Utc::now().with_timezone(&Shanghai).date_naive();
    let this_monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    this_monday - Duration::days(1)
}

fn week_of(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// The officers' compliance rows of a community and week.
async fn compliance_of(app: &TestApp, token: &str, week: &str, community: &str) -> Vec<Value> {
    let res = app
        .get(&format!(
            "/api/v1/compliance?week={week}&community_code={community}"
        ))
        .token(token)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    // The C1 party member is judged too (tests/tests/awards.rs); these scenarios are about
    // officers' rows.
    res.body
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["role"] == "officer")
        .cloned()
        .collect()
}

async fn weeks(backend: Backend, spacing: bool) {
    let Some(app) = TestApp::spawn_with(backend, |c| {
        // Last week's visits are up to eight days old on a Sunday: not late for this test.
        c.visit_rules.late_sync_after = Duration::days(30);
        c.visit_rules.min_dwell = Duration::zero();
        c.compliance.min_spacing = spacing.then_some(Duration::hours(1));
    })
    .await
    else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    app.seed_fixture().await;
    app.sql("UPDATE assignments SET started_at = 0").await;
    let officer = app.login_as("officer").await;
    let leader = app.login_as("supervisor").await;
    let sunday = last_week_sunday();
    let monday = sunday + Duration::days(1);
    record(&app, &officer, &at(local(sunday, 21, 0))).await;
    // Sunday 23:59 local is Sunday afternoon UTC: it belongs to last week. (A moment
    // long, so it does not run into Monday's first visit and become the same visit.)
    record(
        &app,
        &officer,
        &V {
            minutes: 0,
            ..at(local(sunday, 23, 59))
        },
    )
    .await;
    // Monday 00:00 local belongs to this week, and so does a visit 25 minutes later (just
    // after the first one's 20 minutes: not the same visit).
    record(&app, &officer, &at(local(monday, 0, 0))).await;
    let close = record(&app, &officer, &at(local(monday, 0, 25))).await;
    let last = compliance_of(&app, &leader, &week_of(sunday), "C1").await;
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["counted"].as_array().unwrap().len(), 2, "{last:?}");
    assert_eq!(last[0]["compliant"], true);
    // The same figure recounted from the raw rows: verified visits starting inside last
    // week's local bounds.
    let (from, until) = (
        local(sunday - Duration::days(6), 0, 0).timestamp_millis(),
        local(monday, 0, 0).timestamp_millis(),
    );
    let url = app.db.url().to_owned();
    let raw: Vec<String> = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use patrol_api::db::schema::visits;
        let pool =
            patrol_api::db::connect(&patrol_api::db::DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
        visits::table
            .filter(visits::started_at.ge(from))
            .filter(visits::started_at.lt(until))
            .filter(visits::status.ne("flagged"))
            .order(visits::started_at)
            .select(visits::id)
            .load(&mut pool.get().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    let counted: Vec<String> = last[0]["counted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(counted, raw);
    let this = compliance_of(&app, &leader, &week_of(monday), "C1").await;
    if spacing {
        assert_eq!(
            this[0]["counted"].as_array().unwrap().len(),
            1,
            "visits minutes apart count once: {this:?}"
        );
        assert_eq!(this[0]["excluded"][0]["visit_id"], close["id"]);
        assert_eq!(this[0]["excluded"][0]["reason"], "TOO_CLOSE_TO_PREVIOUS");
        assert_eq!(this[0]["compliant"], false);
        assert_eq!(this[0]["remaining"], 1);
    } else {
        assert_eq!(this[0]["counted"].as_array().unwrap().len(), 2, "{this:?}");
        assert_eq!(this[0]["compliant"], true);
    }
    // A community with no visits: C3's officer is not compliant last week.
    let c3 = compliance_of(&app, &app.login_as("admin").await, &week_of(sunday), "C3").await;
    assert_eq!(c3.len(), 1);
    assert_eq!(
        (c3[0]["required"].as_u64(), c3[0]["compliant"].as_bool()),
        (Some(2), Some(false))
    );
    assert_eq!(c3[0]["counted"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_counts_local_weeks_sqlite() {
    weeks(Backend::Sqlite, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_counts_local_weeks_postgres() {
    weeks(Backend::Postgres, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_with_spacing_counts_visits_minutes_apart_once_sqlite() {
    weeks(Backend::Sqlite, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_with_spacing_counts_visits_minutes_apart_once_postgres() {
    weeks(Backend::Postgres, true).await;
}

async fn a_mid_week_reassignment_splits_the_requirement(app: TestApp) {
    app.seed_fixture().await;
    let sunday = last_week_sunday();
    let wednesday = sunday - Duration::days(4);
    let handover = local(wednesday, 0, 0).timestamp_millis();
    // C1 changed hands at Wednesday 00:00 local last week: its officer until then, the C3
    // officer from then on.
    app.sql(format!(
            "UPDATE assignments SET started_at = 0, ended_at = {handover} WHERE kind = 'officer_community' AND target_id = (SELECT id FROM communities WHERE code = 'C1'); \
         UPDATE assignments SET started_at = 0;"
        ),
    ).await;
    let admin = app.login_as("admin").await;
    let c3_officer = app.login_as_login(patrol_tests::fixture::OFFICER_C3).await;
    let c3_id = app.get("/api/v1/me").token(&c3_officer).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post("/api/v1/assignments")
        .token(&admin)
        .json(json!({"user_id": c3_id, "target_code": "C1"}))
        .send()
        .await;
    assert_eq!(res.status, 201);
    app.sql(format!(
            "UPDATE assignments SET started_at = {handover} WHERE user_id = '{c3_id}' AND target_id = (SELECT id FROM communities WHERE code = 'C1')"
        ),
    ).await;
    let rows = compliance_of(&app, &admin, &week_of(sunday), "C1").await;
    let required: Vec<(String, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["officer_id"].as_str().unwrap().to_owned(),
                r["required"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 2, "both officers are judged: {rows:?}");
    // Two full local days (Monday, Tuesday) need one visit; five days need two.
    assert!(required.contains(&(c3_id.clone(), 2)), "{required:?}");
    assert!(
        required.iter().any(|(id, n)| *id != c3_id && *n == 1),
        "{required:?}"
    );
}

on_both_backends!(
    every_flag_has_a_fixture_and_a_clean_visit_passes,
    a_supervisor_accepts_a_flagged_visit_with_a_reason,
    a_mid_week_reassignment_splits_the_requirement,
);
