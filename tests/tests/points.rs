//! The points ledger: append-only in the database, gapless and chained under concurrent
//! awards, replays never award twice, tampering is found, and nobody approves their own
//! claim.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use patrol_api::commands::points::{self, Award};
use patrol_api::db::{self, DatabaseUrl, DbConn};
use patrol_tests::device::Device;
use patrol_tests::{Backend, TestApp, TestDb, on_both_backends};
use serde_json::{Value, json};

fn pool(url: &str) -> db::Pool {
    db::connect(&DatabaseUrl::parse(url).unwrap(), 9).unwrap()
}

fn visit(start: chrono::DateTime<Utc>, n: u64) -> Value {
    json!({
        "visit_id": uuid::Uuid::now_v7().to_string(), "community_code": "C1",
        "started_at": start.to_rfc3339(), "ended_at": (start + Duration::minutes(20)).to_rfc3339(),
        "fixes": [{"at": start.to_rfc3339(), "lat": 36.605, "lon": 101.805, "accuracy_m": 10.0}],
        "photos": [format!("{n:064x}")], "purpose": "走访", "class_721": "service",
    })
}

async fn balance_of(app: &TestApp, token: &str) -> i64 {
    let res = app.get("/api/v1/points/balances").token(token).send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
        .as_array()
        .unwrap()
        .first()
        .map_or(0, |b| b["points"].as_i64().unwrap())
}

async fn verify(app: &TestApp, token: &str, head: Option<(i64, &str)>) -> Value {
    let q = head
        .map(|(s, h)| format!("?head_seq={s}&head_hash={h}"))
        .unwrap_or_default();
    let res = app
        .get(&format!("/api/v1/points/ledger/verify{q}"))
        .token(token)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

async fn replaying_a_week_of_visits_leaves_every_balance_unchanged(app: TestApp) {
    app.seed_fixture().await;
    app.sql("UPDATE assignments SET started_at = 0").await;
    let officer = app.login_as("officer").await;
    let mut phone = Device::new(&officer);
    for day in 0..7 {
        phone.queue(
            "visit.record",
            visit(
                Utc::now() - Duration::days(day) - Duration::hours(1),
                100 + day as u64,
            ),
        );
    }
    let batch = phone.queue.clone();
    let res = phone.push(&app).await;
    assert!(
        res.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "applied"),
        "{}",
        res.text
    );
    let before = balance_of(&app, &officer).await;
    assert_eq!(before, 14, "seven verified visits at 2 points");
    // The same events again: a replayed push, and the same visits from a second install.
    phone.queue = batch.clone();
    phone.push(&app).await;
    let mut tablet = Device::new(&officer);
    for m in &batch {
        tablet.queue("visit.record", m["args"].clone());
    }
    tablet.push(&app).await;
    // And reprocessing every award straight from the source events.
    let url = app.db.url().to_owned();
    tokio::task::spawn_blocking(move || {
        let pool = pool(&url);
        let mut conn = pool.get().unwrap();
        let visits: Vec<(String, String)> = patrol_api::db::schema::visits::table
            .select((
                patrol_api::db::schema::visits::id,
                patrol_api::db::schema::visits::officer_id,
            ))
            .load(&mut conn)
            .unwrap();
        for (id, officer) in visits {
            points::award(
                &mut conn,
                &Award {
                    officer_id: &officer,
                    rule_code: "visit_verified",
                    source_kind: "visit",
                    source_id: &id,
                    actor_id: None,
                    note: "",
                    points: None,
                },
            )
            .unwrap();
        }
    })
    .await
    .unwrap();
    assert_eq!(balance_of(&app, &officer).await, before);
    let leader = app.login_as("supervisor").await;
    let v = verify(&app, &leader, None).await;
    assert_eq!(
        (v["valid"].as_bool(), v["entries"].as_i64()),
        (Some(true), Some(7))
    );
}

async fn the_ledger_refuses_update_and_delete_at_the_database(app: TestApp) {
    app.seed_fixture().await;
    let admin_id = {
        let t = app.login_as("officer").await;
        app.get("/api/v1/me").token(&t).send().await.body["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let url = app.db.url().to_owned();
    tokio::task::spawn_blocking(move || {
        let pool = pool(&url);
        let mut conn = pool.get().unwrap();
        points::award(
            &mut conn,
            &Award {
                officer_id: &admin_id,
                rule_code: "visit_verified",
                source_kind: "test",
                source_id: "1",
                actor_id: None,
                note: "",
                points: None,
            },
        )
        .unwrap();
        let update = conn.batch_execute("UPDATE points_entries SET points = 100");
        let delete = conn.batch_execute("DELETE FROM points_entries");
        assert!(update.is_err(), "UPDATE must fail");
        assert!(delete.is_err(), "DELETE must fail");
        assert!(format!("{:?}", update).contains("append-only"));
        let n: i64 = patrol_api::db::schema::points_entries::table
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(n, 1);
    })
    .await
    .unwrap();
}

/// Bypasses the append-only triggers, as an attacker with database access would.
fn tamper(conn: &mut DbConn, sql: &str) {
    let wrapped = match conn {
        DbConn::Pg(_) => format!(
            "ALTER TABLE points_entries DISABLE TRIGGER USER; {sql}; ALTER TABLE points_entries ENABLE TRIGGER USER;"
        ),
        DbConn::Sqlite(_) => format!(
            "DROP TRIGGER points_entries_no_update; DROP TRIGGER points_entries_no_delete; {sql}; \
             CREATE TRIGGER points_entries_no_update BEFORE UPDATE ON points_entries BEGIN SELECT RAISE(ABORT, 'append-only'); END; \
             CREATE TRIGGER points_entries_no_delete BEFORE DELETE ON points_entries BEGIN SELECT RAISE(ABORT, 'append-only'); END;"
        ),
    };
    conn.batch_execute(&wrapped).unwrap();
}

async fn verification_names_the_first_tampered_deleted_reordered_or_truncated_entry(app: TestApp) {
    app.seed_fixture().await;
    let leader = app.login_as("supervisor").await;
    let officer = app.login_as("officer").await;
    let officer_id = app.get("/api/v1/me").token(&officer).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = app.db.url().to_owned();
    let p = pool(&url);
    let oid = officer_id.clone();
    let p2 = p.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = p2.get().unwrap();
        for i in 0..5 {
            points::award(
                &mut conn,
                &Award {
                    officer_id: &oid,
                    rule_code: "visit_verified",
                    source_kind: "test",
                    source_id: &i.to_string(),
                    actor_id: None,
                    note: "",
                    points: None,
                },
            )
            .unwrap();
        }
    })
    .await
    .unwrap();
    assert_eq!(verify(&app, &leader, None).await["valid"], true);
    // Export the signed head and check its signature, as an auditor keeping it would.
    let exported = app
        .get("/api/v1/points/ledger/head")
        .token(&leader)
        .send()
        .await;
    assert_eq!(exported.status, 200, "{}", exported.text);
    let head = exported.body;
    assert_eq!(head["seq"], 5);
    let head_hash = head["hash"].as_str().unwrap().to_owned();
    {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD;
        use ed25519_dalek::{Signature, Verifier, VerifyingKey};
        let key: [u8; 32] = STANDARD
            .decode(head["public_key"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let sig: [u8; 64] = STANDARD
            .decode(head["signature"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let message = points::head_message(5, &head_hash, head["signed_at"].as_str().unwrap());
        let key = VerifyingKey::from_bytes(&key).unwrap();
        assert!(
            key.verify(message.as_bytes(), &Signature::from_bytes(&sig))
                .is_ok()
        );
        let forged = points::head_message(4, &head_hash, head["signed_at"].as_str().unwrap());
        assert!(
            key.verify(forged.as_bytes(), &Signature::from_bytes(&sig))
                .is_err()
        );
    }
    let run = |sql: &'static str| {
        let p = p.clone();
        async move {
            tokio::task::spawn_blocking(move || tamper(&mut p.get().unwrap(), sql))
                .await
                .unwrap()
        }
    };
    // A rewritten amount.
    run("UPDATE points_entries SET points = 50 WHERE seq = 3").await;
    let v = verify(&app, &leader, None).await;
    assert_eq!(
        (v["valid"].as_bool(), v["first_bad_seq"].as_i64()),
        (Some(false), Some(3)),
        "{v}"
    );
    run("UPDATE points_entries SET points = 2 WHERE seq = 3").await;
    assert_eq!(verify(&app, &leader, None).await["valid"], true);
    // Reordered entries.
    run("UPDATE points_entries SET seq = 100 WHERE seq = 4; UPDATE points_entries SET seq = 4 WHERE seq = 5; UPDATE points_entries SET seq = 5 WHERE seq = 100").await;
    assert_eq!(verify(&app, &leader, None).await["first_bad_seq"], 4);
    run("UPDATE points_entries SET seq = 100 WHERE seq = 4; UPDATE points_entries SET seq = 4 WHERE seq = 5; UPDATE points_entries SET seq = 5 WHERE seq = 100").await;
    assert_eq!(verify(&app, &leader, None).await["valid"], true);
    // A truncated tail is invisible to the chain alone, but not to the exported head.
    run("DELETE FROM points_entries WHERE seq = 5").await;
    assert_eq!(verify(&app, &leader, None).await["valid"], true);
    let v = verify(&app, &leader, Some((5, &head_hash))).await;
    assert_eq!(
        (v["valid"].as_bool(), v["first_bad_seq"].as_i64()),
        (Some(false), Some(5)),
        "{v}"
    );
    // A deleted entry in the middle.
    run("DELETE FROM points_entries WHERE seq = 2").await;
    assert_eq!(verify(&app, &leader, None).await["first_bad_seq"], 2);
}

async fn nobody_approves_their_own_claim(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let leader = app.login_as("supervisor").await;
    let res = app
        .post("/api/v1/points/claims")
        .token(&officer)
        .json(json!({"claim_id": uuid::Uuid::now_v7().to_string(), "points": 3, "note": "协助社区处理飞线充电"}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let claim = res.body["id"].as_str().unwrap().to_owned();
    assert_eq!(res.body["status"], "pending");
    let own = app
        .post(&format!("/api/v1/points/claims/{claim}/decide"))
        .token(&officer)
        .json(json!({"approve": true, "reason": "self"}))
        .send()
        .await;
    assert_eq!(own.status, 403);
    assert_eq!(
        balance_of(&app, &officer).await,
        0,
        "a pending claim is not in the balance"
    );
    let res = app
        .post(&format!("/api/v1/points/claims/{claim}/decide"))
        .token(&leader)
        .json(json!({"approve": true, "reason": "核实属实"}))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "approved");
    assert_eq!(balance_of(&app, &officer).await, 3);
    let again = app
        .post(&format!("/api/v1/points/claims/{claim}/decide"))
        .token(&leader)
        .json(json!({"approve": false, "reason": "again"}))
        .send()
        .await;
    assert_eq!(again.status, 409);
    // A supervisor's own adjustment waits for another supervisor or an admin.
    let officer_id = app.get("/api/v1/me").token(&officer).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let adj = app
        .post("/api/v1/points/claims")
        .token(&leader)
        .json(json!({"claim_id": uuid::Uuid::now_v7().to_string(), "officer_id": officer_id, "points": -2, "note": "日志未按时填写"}))
        .send()
        .await;
    assert_eq!(adj.status, 201);
    let id = adj.body["id"].as_str().unwrap();
    let res = app
        .post(&format!("/api/v1/points/claims/{id}/decide"))
        .token(&leader)
        .json(json!({"approve": true, "reason": "mine"}))
        .send()
        .await;
    assert_eq!(res.status, 403);
    let admin = app.login_as("admin").await;
    let res = app
        .post(&format!("/api/v1/points/claims/{id}/decide"))
        .token(&admin)
        .json(json!({"approve": true, "reason": "核实"}))
        .send()
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(balance_of(&app, &officer).await, 1);
}

async fn a_rule_change_applies_from_its_date_and_never_rewrites_past_entries(app: TestApp) {
    app.seed_fixture().await;
    app.sql("UPDATE assignments SET started_at = 0").await;
    let officer = app.login_as("officer").await;
    let admin = app.login_as("admin").await;
    assert_eq!(
        app.post("/api/v1/visits")
            .token(&officer)
            .json(visit(Utc::now() - Duration::hours(6), 1))
            .send()
            .await
            .status,
        201
    );
    assert_eq!(balance_of(&app, &officer).await, 2);
    let past = app.post("/api/v1/points/rules").token(&admin).json(json!({"code": "visit_verified", "points": 9, "description": "x", "effective_from": "2000-01-01T00:00:00Z"})).send().await;
    assert_eq!(past.status, 422);
    assert_eq!(past.body["field"], "effective_from");
    let res = app
        .post("/api/v1/points/rules")
        .token(&admin)
        .json(json!({"code": "visit_verified", "points": 3, "description": "走访核验通过（调整）"}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(
        app.post("/api/v1/visits")
            .token(&officer)
            .json(visit(Utc::now() - Duration::hours(2), 2))
            .send()
            .await
            .status,
        201
    );
    assert_eq!(
        balance_of(&app, &officer).await,
        5,
        "2 under the old rule, 3 under the new"
    );
    let rules = app.get("/api/v1/points/rules").token(&officer).send().await;
    assert_eq!(
        rules
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["code"] == "visit_verified")
            .count(),
        2
    );
}

on_both_backends!(
    a_rule_change_applies_from_its_date_and_never_rewrites_past_entries,
    replaying_a_week_of_visits_leaves_every_balance_unchanged,
    the_ledger_refuses_update_and_delete_at_the_database,
    verification_names_the_first_tampered_deleted_reordered_or_truncated_entry,
    nobody_approves_their_own_claim,
);

fn concurrent_awards(backend: Backend) {
    let Some(test_db) = TestDb::create(backend) else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    let per: usize = std::env::var("PATROL_POINTS_AWARDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    patrol_tests::fixture::seed(test_db.url());
    let pool = pool(test_db.url());
    let officer: String = patrol_api::db::schema::users::table
        .filter(patrol_api::db::schema::users::login.eq(patrol_tests::fixture::OFFICER))
        .select(patrol_api::db::schema::users::id)
        .first(&mut pool.get().unwrap())
        .unwrap();
    let handles: Vec<_> = (0..8)
        .map(|w| {
            let pool = pool.clone();
            let officer = officer.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                for i in 0..per {
                    let source = format!("{w}-{i}");
                    points::award(
                        &mut conn,
                        &Award {
                            officer_id: &officer,
                            rule_code: "visit_verified",
                            source_kind: "load",
                            source_id: &source,
                            actor_id: None,
                            note: "",
                            points: None,
                        },
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut conn = pool.get().unwrap();
    let v = points::verify(&mut conn, None).unwrap();
    assert!(v.valid, "{v:?}");
    assert_eq!(v.entries, (8 * per) as i64);
    let seqs: BTreeSet<i64> = patrol_api::db::schema::points_entries::table
        .select(patrol_api::db::schema::points_entries::seq)
        .load(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(seqs, (1..=(8 * per) as i64).collect(), "gapless");
}

#[test]
fn eight_concurrent_awarders_build_a_gapless_valid_chain_on_sqlite() {
    concurrent_awards(Backend::Sqlite);
}

#[test]
fn eight_concurrent_awarders_build_a_gapless_valid_chain_on_postgres() {
    concurrent_awards(Backend::Postgres);
}

/// The weekly job turns last week's twice-weekly judgements into points once, however
/// many servers run it, and a diary written on its own day earns its point once.
async fn weekly_compliance_and_timely_diaries_earn_points_once(app: TestApp) {
    app.seed_fixture().await;
    app.sql("UPDATE assignments SET started_at = 0").await;
    let officer = app.login_as("officer").await;
    let id = uuid::Uuid::now_v7().to_string();
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string();
    for body in ["白班巡查", "白班巡查（补充）"] {
        let res = app
            .post("/api/v1/diary")
            .token(&officer)
            .json(json!({"entry_id": id, "entry_date": today, "shift": "day", "body": body}))
            .send()
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    assert_eq!(
        balance_of(&app, &officer).await,
        1,
        "one point for a diary written on its day, once"
    );
    let url = app.db.url().to_owned();
    let ran = tokio::task::spawn_blocking(move || {
        let pool = pool(&url);
        let mut conn = pool.get().unwrap();
        let policy = patrol_domain::visit::CompliancePolicy::default();
        let now = patrol_api::db::ids::now_ms();
        let first =
            patrol_api::jobs::run_weekly_compliance(&mut conn, "server-a", now, &policy).unwrap();
        let second =
            patrol_api::jobs::run_weekly_compliance(&mut conn, "server-b", now, &policy).unwrap();
        (first, second)
    })
    .await
    .unwrap();
    assert_eq!(ran, (true, false), "one server runs the week");
    // Last week the C1 officer made no visits: missed, -5.
    assert_eq!(balance_of(&app, &officer).await, 1 - 5);
}

on_both_backends!(weekly_compliance_and_timely_diaries_earn_points_once);
