//! The bureau's figures at scale: with `PATROL_BENCH_CASES` cases (default 1,000,000) and
//! `PATROL_BENCH_VISITS` visits (default 2,000,000) spread over 2026, how long a month's
//! district report, a year's case and visit indicators by community take, and how fast a
//! CSV export streams (rows/s, and this process's resident memory before and after).
//! Run: `cargo bench -p patrol-tests --bench indicators`; set `TEST_DATABASE_URL` to
//! include PostgreSQL. A benchmark: it prints, it does not assert speed.

// A benchmark panics on purpose when its set-up fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use patrol_api::db::schema::{categories, communities, users};
use patrol_api::db::{self, DatabaseUrl, DbConn};
use patrol_tests::{Backend, TestApp};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Writes `cases` cases and `visits` visits over 2026 in one statement each.
fn seed(url: &str, cases: u64, visits: u64) {
    let pool = db::connect(&DatabaseUrl::parse(url).unwrap(), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let ids: Vec<String> = communities::table
        .select(communities::id)
        .order(communities::code)
        .load(&mut conn)
        .unwrap();
    let cats: Vec<String> = categories::table
        .select(categories::id)
        .order(categories::code)
        .load(&mut conn)
        .unwrap();
    let officer: String = users::table
        .filter(users::login.eq(patrol_tests::fixture::OFFICER))
        .select(users::id)
        .first(&mut conn)
        .unwrap();
    let pick = |list: &[String]| {
        let arms: String = list
            .iter()
            .enumerate()
            .map(|(k, id)| format!(" WHEN {k} THEN '{id}'"))
            .collect();
        format!("CASE i % {}{arms} END", list.len())
    };
    let (community, category) = (pick(&ids), pick(&cats));
    let t0: i64 = 1_767_196_800_000; // 2026-01-01 00:00 +08:00
    let year: i64 = 365 * 86_400_000;
    let pg = matches!(&mut *conn, DbConn::Pg(_));
    let (series, cast) = if pg {
        ("generate_series(0, {last}) AS n(i)", "::bigint")
    } else {
        ("n", "")
    };
    let with = |last: u64| {
        if pg {
            String::new()
        } else {
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) "
            )
        }
    };
    let step = year / i64::try_from(cases.max(1)).unwrap();
    let sql = format!(
        "{with}INSERT INTO cases (id, community_id, category_id, source, status, close_outcome, \
         description, description_rev, notes, notes_rev, lat, lon, reporter_anonymous, priority, \
         rework_count, self_handled, class_721, observed_at_suspect, created_at, updated_at, \
         version, accepted_at, close_due_at, closed_at, handler_id) \
         SELECT 'b' || i, {community}, {category}, 'patrol_find', \
         CASE WHEN i % 5 < 3 THEN 'closed' ELSE 'in_progress' END, \
         CASE WHEN i % 5 < 3 THEN 'fixed' END, '基准', 1, '', 0, 36.605, 101.805, FALSE, \
         'normal', i % 2, FALSE, 'service', FALSE, {t0} + i{cast} * {step}, {t0}, 1, \
         {t0} + i{cast} * {step} + 3600000, {t0} + i{cast} * {step} + 259200000, \
         CASE WHEN i % 5 < 3 THEN {t0} + i{cast} * {step} + (i % 97) * 3600000 END, '{officer}' \
         FROM {from}",
        with = with(cases - 1),
        from = series.replace("{last}", &(cases - 1).to_string()),
    );
    conn.batch_execute(&sql).unwrap();
    let step = year / i64::try_from(visits.max(1)).unwrap();
    let sql = format!(
        "{with}INSERT INTO visits (id, officer_id, community_id, started_at, ended_at, \
         received_at, fixes, photo_hashes, met, purpose, notes, class_721, flags, status, \
         created_at) SELECT 'v' || i, '{officer}', {community}, {t0} + i{cast} * {step}, \
         {t0} + i{cast} * {step} + 1800000, {t0} + i{cast} * {step}, '[]', '[]', '[]', '走访', '', \
         CASE WHEN i % 10 = 0 THEN 'enforcement' WHEN i % 10 < 3 THEN 'management' \
         ELSE 'service' END, CASE WHEN i % 20 = 0 THEN '[\"TOO_SHORT\"]' ELSE '[]' END, \
         CASE WHEN i % 20 = 0 THEN 'flagged' ELSE 'verified' END, {t0} FROM {from}",
        with = with(visits - 1),
        from = series.replace("{last}", &(visits - 1).to_string()),
    );
    conn.batch_execute(&sql).unwrap();
    conn.batch_execute("ANALYZE").unwrap();
}

async fn timed(app: &TestApp, token: &str, path: &str) -> f64 {
    let started = Instant::now();
    let res = app.get(path).token(token).send().await;
    assert_eq!(res.status, 200, "{path}: {}", res.text);
    started.elapsed().as_secs_f64()
}

async fn run(backend: Backend) {
    let (cases, visits) = (
        env("PATROL_BENCH_CASES", 1_000_000),
        env("PATROL_BENCH_VISITS", 2_000_000),
    );
    let Some(app) = TestApp::spawn(backend).await else {
        println!("{backend:?}: TEST_DATABASE_URL not set, skipped");
        return;
    };
    app.seed_fixture().await;
    let url = app.db.url().to_owned();
    let started = Instant::now();
    tokio::task::spawn_blocking(move || seed(&url, cases, visits))
        .await
        .unwrap();
    println!(
        "{backend:?}: seeded {cases} cases and {visits} visits in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let admin = app.login_as("admin").await;
    let report = timed(&app, &admin, "/api/v1/reports/monthly?month=2026-06").await;
    let cases_year = timed(
        &app,
        &admin,
        "/api/v1/indicators/cases?period=2026&group=community",
    )
    .await;
    let visits_year = timed(
        &app,
        &admin,
        "/api/v1/indicators/visits?period=2026&group=community",
    )
    .await;
    println!(
        "{backend:?}: month's district report {report:.2} s; year's case indicators by community {cases_year:.2} s; year's visit indicators by community {visits_year:.2} s"
    );
    let before = rss_mib();
    let started = Instant::now();
    let mut res = app
        .client
        .get(format!(
            "{}/api/v1/exports/cases?from=2026-01-01&to=2026-12-31",
            app.base
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let (mut lines, mut peak) = (0u64, before);
    while let Some(chunk) = res.chunk().await.unwrap() {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        if lines % 50_000 < 2_000 {
            peak = peak.max(rss_mib());
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{backend:?}: exported {} rows in {secs:.1} s = {:.0} rows/s; resident memory {before:.0} MiB before, peak seen {peak:.0} MiB",
        lines - 1,
        (lines - 1) as f64 / secs
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
