//! The bureau's figures at scale: with `PATROL_BENCH_CASES` cases (default 1,000,000) and
//! `PATROL_BENCH_VISITS` visits (default 2,000,000) spread over 2026, how long a month's
//! district report, a year's case and visit indicators by community take, and how fast a
//! CSV export streams (rows/s, and this process's resident memory before and after).
//! Run: `cargo bench -p patrol-tests --bench indicators`; set `TEST_DATABASE_URL` to
//! include PostgreSQL. A benchmark: it prints, it does not assert speed.

// A benchmark panics on purpose when its set-up fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

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
    tokio::task::spawn_blocking(move || {
        patrol_tests::bulk::history(&url, patrol_tests::fixture::OFFICER, cases, visits, (2, 5))
    })
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
