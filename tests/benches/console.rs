//! The console's pages at scale: on the demo district with `PATROL_BENCH_CASES` cases of
//! history (default 100,000; one in fifty still open), how long each page takes to
//! answer (p50 and p95 over `PATROL_BENCH_ROUNDS` requests, default 40, on localhost, so
//! close to server time) and how large it is. The targets: every page under
//! 50 ms at p95, the map under 300 KB.
//! Run: `cargo bench -p patrol-tests --bench console`; set `TEST_DATABASE_URL` to include
//! PostgreSQL. A benchmark: it prints, it does not assert speed.

// A benchmark panics on purpose when its set-up fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use patrol_api::cli::demo::seed_demo;
use patrol_tests::{Backend, TestApp};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Signs in through the console's form and returns the session cookie.
async fn console_cookie(app: &TestApp, login: &str, password: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = client
        .get(format!("{}/console/sign-in", app.base))
        .send()
        .await
        .unwrap();
    let form_cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("patrol_console_form="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let token = form_cookie
        .trim_start_matches("patrol_console_form=")
        .to_owned();
    let res = client
        .post(format!("{}/console/sign-in", app.base))
        .header("cookie", &form_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("login", login)
                .append_pair("password", password)
                .append_pair("csrf", &token)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "sign-in");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("patrol_console="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn run(backend: Backend) {
    let (cases, rounds) = (
        env("PATROL_BENCH_CASES", 100_000),
        env("PATROL_BENCH_ROUNDS", 40),
    );
    let Some(app) = TestApp::spawn(backend).await else {
        println!("{backend:?}: TEST_DATABASE_URL not set, skipped");
        return;
    };
    let logins = app.with_conn(|c| seed_demo(c).unwrap().unwrap()).await;
    let password = |login: &str| {
        logins
            .iter()
            .find(|l| l.login == login)
            .unwrap()
            .password
            .clone()
    };
    let url = app.db.url().to_owned();
    let started = Instant::now();
    tokio::task::spawn_blocking(move || {
        patrol_tests::bulk::history(&url, "officer01", cases, 0, (1, 50));
    })
    .await
    .unwrap();
    println!(
        "{backend:?}: seeded {cases} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::new();
    for (who, login) in [("admin", "admin"), ("street leader", "leader1")] {
        let cookie = console_cookie(&app, login, &password(login)).await;
        for page in [
            "/console/today",
            "/console/map",
            "/console/cases",
            "/console/cases?open=true&overdue=true",
            "/console/points",
        ] {
            let mut times = Vec::new();
            let mut size = 0;
            for _ in 0..rounds {
                let t = Instant::now();
                let res = client
                    .get(format!("{}{page}", app.base))
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200, "{page}");
                size = res.bytes().await.unwrap().len();
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "{backend:?} {who}: {page} p50 {:.1} ms, p95 {:.1} ms, {:.0} KB",
                quantile(&times, 0.5),
                quantile(&times, 0.95),
                size as f64 / 1024.0
            );
        }
    }
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
