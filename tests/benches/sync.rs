//! Sync throughput: push (mutations/s in 50-mutation batches), pull (changes/s), and the
//! cost of one pull page with a change log of 1,000 vs 1,000,000 rows (it must not grow
//! with history). Run: `cargo bench -p patrol-tests --bench sync`; set
//! `TEST_DATABASE_URL` to include PostgreSQL, `PATROL_BENCH_BIG_LOG` to change 1,000,000.

// A benchmark panics on purpose when its set-up fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use diesel::connection::SimpleConnection;
use patrol_api::db::{self, DatabaseUrl, DbConn};
use patrol_tests::device::Device;
use patrol_tests::{Backend, TestApp};
use serde_json::json;

fn grow_log(url: &str, rows: u64) {
    let pool = db::connect(&DatabaseUrl::parse(url).unwrap(), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let sql = match &mut *conn {
        DbConn::Pg(_) => format!(
            "INSERT INTO change_log (community_id, user_id, entity, entity_id, op, payload, changed_at) \
             SELECT 'elsewhere', NULL, 'probe', g::text, 'upsert', '{{}}', 0 FROM generate_series(1, {rows}) g"
        ),
        DbConn::Sqlite(_) => format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows}) \
             INSERT INTO change_log (community_id, user_id, entity, entity_id, op, payload, changed_at) \
             SELECT 'elsewhere', NULL, 'probe', n, 'upsert', '{{}}', 0 FROM g"
        ),
    };
    conn.batch_execute(&sql).unwrap();
}

/// Pushes `batches` × 50 comments and pulls them back; returns (push/s, pull/s).
async fn throughput(app: &TestApp, batches: usize) -> (f64, f64) {
    let officer = app.login_as("officer").await;
    let mut phone = Device::new(&officer);
    let case_id = uuid::Uuid::now_v7().to_string();
    phone.queue("case.report", json!({"case_id": case_id, "category_code": "garbage_pile", "description": "基准", "lat": 36.605, "lon": 101.802}));
    phone.push(app).await;
    let started = Instant::now();
    for b in 0..batches {
        for i in 0..50 {
            phone.queue(
                "case.comment",
                json!({"case_id": case_id, "text": format!("batch {b} comment {i}")}),
            );
        }
        let res = phone.push(app).await;
        assert_eq!(res.status, 200);
    }
    let push_rate = (batches * 50) as f64 / started.elapsed().as_secs_f64();
    let mut reader = Device::new(&officer);
    let started = Instant::now();
    let pages = reader.pull_all(app).await;
    let changes: usize = pages
        .iter()
        .map(|p| p["changes"].as_array().map_or(0, Vec::len))
        .sum();
    let pull_rate = changes as f64 / started.elapsed().as_secs_f64();
    (push_rate, pull_rate)
}

/// Median time of pulling the newest 50 changes after a cursor near the end of the log.
async fn tail_pull_ms(app: &TestApp) -> f64 {
    let officer = app.login_as("officer").await;
    let mut phone = Device::new(&officer);
    phone.pull_all(app).await;
    let case_id = uuid::Uuid::now_v7().to_string();
    phone.queue("case.report", json!({"case_id": case_id, "category_code": "garbage_pile", "description": "尾部", "lat": 36.605, "lon": 101.802}));
    phone.push(app).await;
    let cursor = phone.cursor.clone();
    let mut times = Vec::new();
    for _ in 0..21 {
        phone.cursor = cursor.clone();
        let started = Instant::now();
        phone.pull_all(app).await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

async fn run(backend: Backend) {
    let big: u64 = std::env::var("PATROL_BENCH_BIG_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let Some(app) = TestApp::spawn(backend).await else {
        println!("{backend:?}: TEST_DATABASE_URL not set, skipped");
        return;
    };
    app.seed_fixture().await;
    let (push, pull) = throughput(&app, 20).await;
    println!("{backend:?}: push {push:.0} mutations/s (50 per batch), pull {pull:.0} changes/s");
    let url = app.db.url().to_owned();
    tokio::task::spawn_blocking({
        let url = url.clone();
        move || grow_log(&url, 1_000)
    })
    .await
    .unwrap();
    let small = tail_pull_ms(&app).await;
    let started = Instant::now();
    tokio::task::spawn_blocking(move || grow_log(&url, big))
        .await
        .unwrap();
    let grew = started.elapsed().as_secs_f64();
    let large = tail_pull_ms(&app).await;
    println!(
        "{backend:?}: one pull page after a cursor near the end: {small:.2} ms with ~1,000 log rows, {large:.2} ms with ~{big} rows (log grown in {grew:.1} s)"
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        run(Backend::Sqlite).await;
        run(Backend::Postgres).await;
    });
}
