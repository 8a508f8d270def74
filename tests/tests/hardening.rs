//! What an attacker found (issue 16) and what must hold against it: metrics that junk
//! cannot grow, metrics behind a token, 405 with `Allow` on known paths, the security
//! headers of every answer, and sign-in limits that a guessing flood cannot turn against
//! the real user.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::Duration;

use patrol_tests::fixture::{OFFICER, PASSWORD};
use patrol_tests::{Backend, TEST_METRICS_TOKEN, TestApp, on_both_backends};
use serde_json::json;

/// The series (sample lines) of a metrics page.
fn series(page: &str) -> usize {
    page.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

async fn metrics(app: &TestApp) -> String {
    let res = app.get("/metrics").token(TEST_METRICS_TOKEN).send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.text
}

/// Sends `n` requests with made-up methods and paths, pipelined on a few keep-alive
/// connections (no client library accepts every method), and reads every answer.
fn send_junk(port: u16, n: usize, salt: usize) {
    const CONNECTIONS: usize = 4;
    const BATCH: usize = 500;
    let per_connection = n / CONNECTIONS;
    let lanes: Vec<_> = (0..CONNECTIONS)
        .map(|lane| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                stream
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .expect("timeout");
                let mut sent = 0;
                let mut buf = vec![0u8; 1 << 16];
                let mut pending = Vec::new();
                while sent < per_connection {
                    let batch = BATCH.min(per_connection - sent);
                    let mut out = Vec::new();
                    for i in 0..batch {
                        let k = salt + lane * per_connection + sent + i;
                        // A new method and a new path every time; every third on a real
                        // route, so known paths are probed with unknown methods too.
                        let path = match k % 3 {
                            0 => format!("/x{k}/{}", k * 7),
                            1 => format!("/api/v1/cases/{k}"),
                            _ => "/healthz".to_owned(),
                        };
                        write!(
                            out,
                            "XQ{k} {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n"
                        )
                        .expect("format");
                    }
                    stream.write_all(&out).expect("write");
                    // Every answer starts with a status line; bodies are problem
                    // documents that never contain one.
                    let mut answers = 0;
                    while answers < batch {
                        let got = stream.read(&mut buf).expect("read");
                        assert!(got > 0, "the server closed the connection");
                        pending.extend_from_slice(&buf[..got]);
                        let text = String::from_utf8_lossy(&pending).into_owned();
                        let found = text.matches("HTTP/1.1 ").count();
                        answers += found;
                        let cut = text.rfind("HTTP/1.1 ").map_or(0, |i| i + 9);
                        pending = text.as_bytes()[cut..].to_vec();
                    }
                    sent += batch;
                }
            })
        })
        .collect();
    for lane in lanes {
        lane.join().expect("junk lane");
    }
}

/// 100,000 junk requests leave `/metrics` exactly as many series as 1,000 did, and
/// under a fixed number in all.
async fn junk_requests_leave_the_metrics_series_count_unchanged(app: TestApp) {
    let port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    let junk: usize = std::env::var("PATROL_JUNK_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    tokio::task::spawn_blocking(move || send_junk(port, 1_000, 0))
        .await
        .unwrap();
    // The first scrape adds its own series; the second counts them.
    metrics(&app).await;
    let before = metrics(&app).await;
    tokio::task::spawn_blocking(move || send_junk(port, junk, 1_000))
        .await
        .unwrap();
    let after = metrics(&app).await;
    assert_eq!(
        series(&after),
        series(&before),
        "junk minted series:\n{after}"
    );
    // Histograms carry ~15 series per (method, route); the route table bounds the rest.
    assert!(series(&after) < 400, "{} series", series(&after));
    assert!(
        after.contains("method=\"other\""),
        "made-up methods share one label: {after}"
    );
}

async fn metrics_are_served_only_with_their_token(app: TestApp) {
    assert_eq!(app.get("/metrics").send().await.status, 401);
    assert_eq!(
        app.get("/metrics")
            .token("not-the-metrics-token-at-all")
            .send()
            .await
            .status,
        401
    );
    app.seed_fixture().await;
    let officer = app.login(OFFICER, PASSWORD).await;
    assert_eq!(
        app.get("/metrics").token(&officer).send().await.status,
        401,
        "a user's token is not the metrics token"
    );
    assert!(metrics(&app).await.contains("patrol_http_requests_total"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_metrics_token_metrics_are_not_served() {
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| cfg.metrics_token = None)
        .await
        .expect("sqlite");
    let res = app.get("/metrics").token(TEST_METRICS_TOKEN).send().await;
    assert_eq!(res.status, 404);
    assert!(
        res.body["detail"]
            .as_str()
            .unwrap()
            .contains("PATROL_METRICS_TOKEN")
    );
}

async fn a_known_path_asked_with_another_method_answers_405_with_allow(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login(OFFICER, PASSWORD).await;
    let res = app
        .req(reqwest::Method::DELETE, "/api/v1/cases")
        .token(&officer)
        .send()
        .await;
    assert_eq!(res.status, 405, "{}", res.text);
    assert_eq!(res.header("allow"), Some("GET, POST"));
    assert_eq!(res.body["status"], 405);
    let res = app
        .req(reqwest::Method::PATCH, "/api/v1/auth/login")
        .send()
        .await;
    assert_eq!(res.status, 405);
    assert_eq!(res.header("allow"), Some("POST"));
    // An unknown path is still 404.
    let res = app
        .req(reqwest::Method::DELETE, "/api/v1/no-such-thing")
        .send()
        .await;
    assert_eq!(res.status, 404);
}

async fn every_answer_carries_the_security_headers(app: TestApp) {
    app.seed_fixture().await;
    let res = app
        .post("/api/v1/auth/login")
        .json(json!({"login": OFFICER, "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    for res in [
        res,
        app.get("/healthz").send().await,
        app.get("/api/v1/me").send().await,
    ] {
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(res.header("x-frame-options"), Some("DENY"));
        assert!(
            res.header("content-security-policy")
                .is_some_and(|v| v.contains("frame-ancestors 'none'"))
        );
    }
}

/// A client of the server from another loopback address (Linux answers the whole of
/// 127.0.0.0/8), so limits keyed on the address can be tested on one machine.
fn client_from(last_octet: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last_octet)))
        .build()
        .unwrap()
}

async fn login_from(app: &TestApp, client: &reqwest::Client, password: &str) -> u16 {
    client
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"login": OFFICER, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn a_guessing_flood_from_one_address_does_not_lock_the_officer_out(app: TestApp) {
    app.seed_fixture().await;
    let attacker = client_from(2);
    let mut refused = false;
    for _ in 0..40 {
        if login_from(&app, &attacker, "wrong-password-guess").await == 429 {
            refused = true;
            break;
        }
    }
    assert!(
        refused,
        "the flood meets the per-account limit from its address"
    );
    assert_eq!(
        login_from(&app, &attacker, PASSWORD).await,
        429,
        "the flooding address stays limited"
    );
    let officer = client_from(3);
    assert_eq!(
        login_from(&app, &officer, PASSWORD).await,
        200,
        "the real user, elsewhere, still signs in"
    );
}

/// Exactly-once delivery is keyed on the client id: push and pull take only a UUID.
async fn push_and_pull_refuse_a_client_id_that_is_not_a_uuid(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login(OFFICER, PASSWORD).await;
    for bad in ["phone-1", "", "0190a5e2-7c3b"] {
        for (path, body) in [
            (
                "/api/v1/sync/push",
                json!({"client_id": bad, "protocol_version": 1, "mutations": []}),
            ),
            (
                "/api/v1/sync/pull",
                json!({"client_id": bad, "protocol_version": 1}),
            ),
        ] {
            let res = app.post(path).token(&officer).json(body).send().await;
            assert_eq!(res.status, 400, "{path} {bad:?}: {}", res.text);
            assert_eq!(res.body["field"], "client_id", "{}", res.text);
        }
    }
    let good = uuid::Uuid::now_v7().to_string();
    let res = app
        .post("/api/v1/sync/pull")
        .token(&officer)
        .json(json!({"client_id": good, "protocol_version": 1}))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
}

/// The value of one sample line of a metrics page (`name{labels} value`).
fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} missing:\n{page}"))
        .trim()
        .parse()
        .unwrap()
}

/// `/metrics` carries sync figures (mutations by outcome, conflicts, pull pages and
/// changes), job runs and the database pool, not only HTTP counters.
async fn metrics_carry_sync_job_and_pool_figures(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let mut device = patrol_tests::device::Device::new(&officer);
    device.queue(
        "case.report",
        json!({"case_id": uuid::Uuid::now_v7().to_string(), "category_code": "nope", "description": "x", "lat": 36.605, "lon": 101.802}),
    );
    device.queue(
        "case.report",
        json!({"case_id": uuid::Uuid::now_v7().to_string(), "category_code": "garbage_pile", "description": "垃圾堆放在楼道口", "lat": 36.605, "lon": 101.802}),
    );
    let res = device.push(&app).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let pulled = device.pull_all(&app).await;
    let page = metrics(&app).await;
    assert_eq!(
        sample(&page, "patrol_sync_mutations_total{outcome=\"applied\"}"),
        1.0
    );
    assert_eq!(
        sample(&page, "patrol_sync_mutations_total{outcome=\"rejected\"}"),
        1.0
    );
    assert_eq!(
        sample(
            &page,
            "patrol_sync_mutations_total{outcome=\"applied_with_conflict\"}"
        ),
        0.0
    );
    assert_eq!(
        sample(&page, "patrol_sync_conflicts_total"),
        1.0,
        "the rejection's conflict"
    );
    assert!(sample(&page, "patrol_sync_pull_pages_total") >= 1.0);
    assert!(sample(&page, "patrol_sync_pull_changes_total") >= pulled.len() as f64);
    assert_eq!(
        sample(&page, "patrol_db_pool_max_connections"),
        4.0,
        "the test pool size"
    );
    assert!(sample(&page, "patrol_db_pool_connections") >= 1.0);
    sample(&page, "patrol_db_pool_idle_connections");
    for job in [
        "purge_expired_credentials",
        "weekly_compliance_points",
        "compact_change_log",
    ] {
        sample(
            &page,
            &format!("patrol_job_runs_total{{job=\"{job}\",result=\"ok\"}}"),
        );
    }
}

on_both_backends!(
    metrics_carry_sync_job_and_pool_figures,
    push_and_pull_refuse_a_client_id_that_is_not_a_uuid,
    junk_requests_leave_the_metrics_series_count_unchanged,
    metrics_are_served_only_with_their_token,
    a_known_path_asked_with_another_method_answers_405_with_allow,
    every_answer_carries_the_security_headers,
    a_guessing_flood_from_one_address_does_not_lock_the_officer_out,
);

/// The SQLite file and its journal hold residents' phone numbers and locations: created
/// readable by the server's user only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_database_is_created_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    app.seed_fixture().await;
    let file = app.db.url().strip_prefix("sqlite://").unwrap().to_owned();
    for path in [file.clone(), format!("{file}-wal")] {
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{path} has mode {:o}", mode & 0o777);
    }
}
