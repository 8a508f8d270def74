//! The 721 mix equals a recomputation from the raw rows.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use patrol_tests::{TestApp, on_both_backends};
use serde_json::json;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Text)]
    who: String,
    #[diesel(sql_type = Text)]
    class: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn the_721_mix_equals_a_recount_of_the_raw_rows(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let leader = app.login_as("supervisor").await;
    let start = Utc::now() - Duration::minutes(25);
    for (i, class) in ["service", "service", "service", "management", "enforcement"]
        .iter()
        .enumerate()
    {
        let body = json!({
            "visit_id": uuid::Uuid::now_v7().to_string(), "community_code": "C1",
            "started_at": start.to_rfc3339(), "ended_at": (start + Duration::minutes(20)).to_rfc3339(),
            "fixes": [{"at": start.to_rfc3339(), "lat": 36.605, "lon": 101.805, "accuracy_m": 10.0}],
            "photos": [format!("{:064x}", i + 1)], "purpose": "走访", "class_721": class,
        });
        assert_eq!(
            app.post("/api/v1/visits")
                .token(&officer)
                .json(body)
                .send()
                .await
                .status,
            201
        );
    }
    // Case handling adds tagged actions too: the supervisor's and the officer's.
    let case_id = uuid::Uuid::now_v7().to_string();
    let report = json!({"case_id": case_id, "category_code": "garbage_pile", "description": "垃圾", "lat": 36.605, "lon": 101.802});
    assert_eq!(
        app.post("/api/v1/cases")
            .token(&officer)
            .json(report)
            .send()
            .await
            .status,
        201
    );
    let officer_id = app.get("/api/v1/me").token(&officer).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (token, cmd) in [
        (&leader, json!({"command": "accept"})),
        (
            &leader,
            json!({"command": "dispatch", "to": {"officer": officer_id}}),
        ),
        (&officer, json!({"command": "start"})),
    ] {
        let res = app
            .post(&format!("/api/v1/cases/{case_id}/transitions"))
            .token(token)
            .json(cmd)
            .send()
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    let month = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m")
        .to_string();
    let res = app
        .get(&format!(
            "/api/v1/reports/mix-721?month={month}&group_by=officer"
        ))
        .token(&app.login_as("admin").await)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let api: BTreeMap<String, [u64; 3]> = res
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_owned(),
                [
                    r["service"].as_u64().unwrap(),
                    r["management"].as_u64().unwrap(),
                    r["enforcement"].as_u64().unwrap(),
                ],
            )
        })
        .collect();
    // Recount straight from the tables.
    let url = app.db.url().to_owned();
    let raw = tokio::task::spawn_blocking(move || {
        let pool = patrol_api::db::connect(&patrol_api::db::DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
        let mut conn = pool.get().unwrap();
        let mut counts: BTreeMap<String, [u64; 3]> = BTreeMap::new();
        for sql in [
            "SELECT officer_id AS who, class_721 AS class, COUNT(*) AS n FROM visits GROUP BY officer_id, class_721",
            "SELECT actor_id AS who, class_721 AS class, COUNT(*) AS n FROM case_activities WHERE class_721 IS NOT NULL GROUP BY actor_id, class_721",
        ] {
            for c in diesel::sql_query(sql).load::<Count>(&mut conn).unwrap() {
                let slot = match c.class.as_str() { "service" => 0, "management" => 1, _ => 2 };
                counts.entry(c.who).or_default()[slot] += u64::try_from(c.n).unwrap();
            }
        }
        counts
    })
    .await
    .unwrap();
    assert_eq!(api, raw);
    assert_eq!(
        api[&officer_id],
        [4, 1, 1],
        "three service visits plus starting the case"
    );
    let row = res
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == officer_id.as_str())
        .unwrap();
    assert!((row["shares"][0].as_f64().unwrap() - 4.0 / 6.0).abs() < 1e-9);
    let by_community = app
        .get(&format!(
            "/api/v1/reports/mix-721?month={month}&group_by=community"
        ))
        .token(&leader)
        .send()
        .await;
    assert_eq!(by_community.body[0]["key"], "C1");
    assert_eq!(by_community.body[0]["total"], 8);
    let bad = app
        .get("/api/v1/reports/mix-721?month=2026-13")
        .token(&leader)
        .send()
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["field"], "month");
}

on_both_backends!(the_721_mix_equals_a_recount_of_the_raw_rows);
