//! Resident memory of the real server under a realistic load. Starts `patrol serve --demo`
//! (the binary, over a fresh SQLite file, and over a fresh PostgreSQL database when
//! `TEST_DATABASE_URL` is set), then drives the demo district over HTTP from
//! `PATROL_BENCH_CLIENTS` (32) concurrent phones, each from its own loopback address as
//! real phones come from their own: a sign-in burst, `PATROL_BENCH_ROUNDS` (8) rounds of
//! mixed work (refresh, `/me`, a full pull, a push of a visit, a diary entry and a case
//! report, a photo upload of 2-4 MiB every other round, list endpoints), then an upload
//! burst. It samples the server's `VmRSS` every 50 ms and prints requests done, the peak,
//! the figure right after the load and after `PATROL_BENCH_IDLE_SECS` (30) of idleness.
//!
//! Run: `cargo bench -p patrol-tests --bench memory`. A benchmark, not a timed test: it
//! prints, it does not assert. `PATROL_BENCH_BIN` runs another server binary (e.g.
//! `target/release/patrol`) instead of the test package's.

// A benchmark panics on purpose when its set-up fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use patrol_tests::serve::ServeProcess;
use patrol_tests::{Backend, TestDb};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_patrol-test-server");
const MIB: u64 = 1024 * 1024;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `VmRSS`, `VmHWM` (both bytes) and `Threads` of a process.
#[derive(Debug, Clone, Copy, Default)]
struct Mem {
    rss: u64,
    hwm: u64,
    threads: u64,
}

fn mem_of(pid: u32) -> Mem {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Mem {
        rss: field("VmRSS:") * 1024,
        hwm: field("VmHWM:") * 1024,
        threads: field("Threads:"),
    }
}

/// Samples a process's RSS until stopped; keeps the highest value seen.
struct Sampler {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(mem_of(pid).rss, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Sampler {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    /// The highest RSS since the last call, and starts over from the current one.
    fn take_peak(&self) -> u64 {
        self.peak.swap(0, Ordering::Relaxed)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// (login, password) of every account the demo printed.
fn logins(server: &ServeProcess) -> Vec<(String, String)> {
    std::fs::read_to_string(&server.out)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (_role, login, password) = (w.next()?, w.next()?, w.next()?);
            Some((login.to_owned(), password.to_owned()))
        })
        .collect()
}

/// Requests done, by how they were answered.
#[derive(Default)]
struct Counts {
    total: AtomicU64,
    ok: AtomicU64,
    client_error: AtomicU64,
    limited: AtomicU64,
    server_error: AtomicU64,
    failed: AtomicU64,
}

impl Counts {
    fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// One phone: its own client bound to its own loopback address, and its account.
struct Phone {
    http: reqwest::Client,
    base: String,
    login: String,
    password: String,
    access: String,
    refresh: String,
    client_id: String,
    next_mutation: u64,
    cursor: Option<String>,
    communities: Vec<String>,
    counts: Arc<Counts>,
    seq: u64,
}

impl Phone {
    fn new(n: usize, base: &str, login: &str, password: &str, counts: Arc<Counts>) -> Phone {
        let octet = |k: usize| u8::try_from(k % 250).unwrap();
        let address = IpAddr::V4(Ipv4Addr::new(127, 0, octet(n / 250 + 1), octet(n) + 2));
        let http = reqwest::Client::builder()
            .local_address(address)
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Phone {
            http,
            base: base.to_owned(),
            login: login.to_owned(),
            password: password.to_owned(),
            access: String::new(),
            refresh: String::new(),
            client_id: uuid::Uuid::now_v7().to_string(),
            next_mutation: 1,
            cursor: None,
            communities: Vec::new(),
            counts,
            seq: 0,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Option<(u16, Value)> {
        self.counts.total.fetch_add(1, Ordering::Relaxed);
        let res = match req.send().await {
            Ok(r) => r,
            Err(_) => {
                self.counts.failed.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        let status = res.status().as_u16();
        let bucket = match status {
            200..=299 => &self.counts.ok,
            429 => &self.counts.limited,
            400..=499 => &self.counts.client_error,
            _ => &self.counts.server_error,
        };
        bucket.fetch_add(1, Ordering::Relaxed);
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        Some((status, body))
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.access)
    }

    fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.access)
            .json(body)
    }

    fn take_tokens(&mut self, body: &Value) {
        if let (Some(a), Some(r)) = (
            body["access_token"].as_str(),
            body["refresh_token"].as_str(),
        ) {
            self.access = a.to_owned();
            self.refresh = r.to_owned();
        }
    }

    /// A sign-in: one password hash on the server.
    async fn sign_in(&mut self) {
        let body = json!({"login": self.login, "password": self.password});
        let req = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&body);
        if let Some((200, body)) = self.send(req).await {
            self.take_tokens(&body);
        }
    }

    async fn refresh(&mut self) {
        let req = self
            .http
            .post(format!("{}/api/v1/auth/refresh", self.base))
            .json(&json!({"refresh_token": self.refresh}));
        if let Some((200, body)) = self.send(req).await {
            self.take_tokens(&body);
        }
    }

    async fn me(&mut self) {
        if let Some((200, body)) = self.send(self.get("/api/v1/me")).await {
            self.communities = body["communities"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect();
        }
    }

    async fn pull(&mut self) {
        for _ in 0..100 {
            let body = json!({"client_id": self.client_id, "protocol_version": 1,
                              "cursor": self.cursor, "limit": 200});
            let Some((200, page)) = self.send(self.post("/api/v1/sync/pull", &body)).await else {
                return;
            };
            self.cursor = page["cursor"].as_str().map(str::to_owned);
            if page["has_more"] != true {
                return;
            }
        }
    }

    fn mutation(&mut self, name: &str, args: Value) -> Value {
        let id = self.next_mutation;
        self.next_mutation += 1;
        json!({"id": id, "name": name, "args": args, "observed_at": chrono::Utc::now().to_rfc3339()})
    }

    /// A photo as a phone sends it: a PNG header, then `mib` MiB of (distinct) content.
    fn photo(&mut self, mib: u64) -> (Vec<u8>, String) {
        self.seq += 1;
        let mut b =
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde".to_vec();
        b.extend_from_slice(format!("{} {} {}", self.login, self.client_id, self.seq).as_bytes());
        b.resize(usize::try_from(mib * MIB).unwrap(), 0x5a);
        let hash = hex::encode(Sha256::digest(&b));
        (b, hash)
    }

    async fn upload(&self, photo: Vec<u8>, hash: &str) {
        let req = self
            .http
            .put(format!("{}/api/v1/blobs/{hash}", self.base))
            .bearer_auth(&self.access)
            .header("content-type", "application/octet-stream")
            .body(photo);
        self.send(req).await;
    }

    /// Records a visit, a diary entry and a case report (with a photo when `photo_mib`
    /// is set, uploaded after the push as a phone does).
    async fn push_work(&mut self, round: usize, photo_mib: Option<u64>) {
        let community = self
            .communities
            .first()
            .cloned()
            .unwrap_or_else(|| "630102-01-01".into());
        let start = chrono::Utc::now() - chrono::TimeDelta::hours(3 + round as i64);
        let photo = photo_mib.map(|m| self.photo(m));
        let photos: Vec<&str> = photo.iter().map(|(_, h)| h.as_str()).collect();
        let mutations = vec![
            self.mutation(
                "visit.record",
                json!({"visit_id": uuid::Uuid::now_v7().to_string(), "community_code": community,
                       "started_at": start, "ended_at": start + chrono::TimeDelta::minutes(25),
                       "fixes": [{"at": start, "lat": 36.61, "lon": 101.80, "accuracy_m": 12.0}],
                       "met": ["resident"], "purpose": "入户走访", "class_721": "service"}),
            ),
            self.mutation(
                "diary.write",
                json!({"entry_id": uuid::Uuid::now_v7().to_string(),
                       "entry_date": chrono::Utc::now().date_naive().to_string(),
                       "shift": "day", "body": format!("第{round}轮巡查：楼道堆物已清理，居民反映路灯不亮")}),
            ),
            self.mutation(
                "case.report",
                json!({"case_id": uuid::Uuid::now_v7().to_string(), "category_code": "garbage_pile",
                       "description": format!("{}: 垃圾堆放 (round {round})", self.login),
                       "lat": 36.61, "lon": 101.80, "photos": photos}),
            ),
        ];
        let body =
            json!({"client_id": self.client_id, "protocol_version": 1, "mutations": mutations});
        self.send(self.post("/api/v1/sync/push", &body)).await;
        if let Some((bytes, hash)) = photo {
            self.upload(bytes, &hash).await;
        }
    }

    async fn lists(&self) {
        for path in [
            "/api/v1/cases?limit=50",
            "/api/v1/visits?limit=50",
            "/api/v1/diary?limit=50",
            "/api/v1/compliance",
            "/api/v1/points/rankings",
            "/api/v1/communities",
        ] {
            self.send(self.get(path)).await;
        }
    }
}

struct Row {
    phase: String,
    requests: u64,
    rss: u64,
    hwm: u64,
    threads: u64,
}

async fn run(backend: Backend, label: &str) {
    let Some(db) = TestDb::create(backend) else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL not measured");
        return;
    };
    let clients: usize = env_or("PATROL_BENCH_CLIENTS", 32);
    let rounds: usize = env_or("PATROL_BENCH_ROUNDS", 8);
    let idle: u64 = env_or("PATROL_BENCH_IDLE_SECS", 30);
    let bin = std::env::var("PATROL_BENCH_BIN").unwrap_or_else(|_| BIN.to_owned());
    let mut server = ServeProcess::start(&bin, &db, true, &[("RUST_LOG", "warn")]);
    server
        .wait_ready(&reqwest::Client::new(), Duration::from_secs(300))
        .await;
    let pid = server.child.id();
    let logins = logins(&server);
    // Officers, then party members: the roles that sync and upload photos.
    let accounts: Vec<(String, String)> = logins
        .iter()
        .filter(|(l, _)| l.starts_with("officer"))
        .chain(logins.iter().filter(|(l, _)| l.starts_with("party")))
        .cloned()
        .collect();
    assert!(!accounts.is_empty(), "no demo logins printed");
    let counts = Arc::new(Counts::default());
    let mut rows = Vec::new();
    let mut row = |phase: &str, requests: u64| {
        let m = mem_of(pid);
        rows.push(Row {
            phase: phase.into(),
            requests,
            rss: m.rss,
            hwm: m.hwm,
            threads: m.threads,
        });
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    row("started (demo seeded)", 0);

    let sampler = Sampler::start(pid);
    let started = Instant::now();
    // Phases end together, so each phase's peak is its own.
    let barrier = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut tasks = Vec::new();
    for n in 0..clients {
        let (login, password) = accounts[n % accounts.len()].clone();
        let mut phone = Phone::new(n, &server.base, &login, &password, counts.clone());
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            // A sign-in burst: every phone signs in three times at once.
            let burst: Vec<_> = (0..3)
                .map(|_| {
                    let mut p = Phone::new(n, &phone.base, &phone.login, &phone.password, phone.counts.clone());
                    async move { p.sign_in().await }
                })
                .collect();
            join_all(burst).await;
            phone.sign_in().await;
            barrier.wait().await;
            for round in 0..rounds {
                if round > 0 {
                    phone.refresh().await;
                }
                phone.me().await;
                phone.pull().await;
                let photo = (round % 2 == 0).then_some(2 + (n + round) as u64 % 3);
                phone.push_work(round, photo).await;
                phone.lists().await;
            }
            barrier.wait().await;
            // An upload burst: two 4 MiB photos at once, each referenced by a report.
            let mut burst = Vec::new();
            for _ in 0..2 {
                let (bytes, hash) = phone.photo(4);
                let m = phone.mutation(
                    "case.report",
                    json!({"case_id": uuid::Uuid::now_v7().to_string(), "category_code": "garbage_pile",
                           "description": "占道经营", "lat": 36.61, "lon": 101.80, "photos": [hash]}),
                );
                let body = json!({"client_id": phone.client_id, "protocol_version": 1, "mutations": [m]});
                phone.send(phone.post("/api/v1/sync/push", &body)).await;
                burst.push((bytes, hash));
            }
            let phone = Arc::new(phone);
            let uploads: Vec<_> = burst
                .into_iter()
                .map(|(bytes, hash)| {
                    let p = phone.clone();
                    async move { p.upload(bytes, &hash).await }
                })
                .collect();
            join_all(uploads).await;
        }));
    }
    let mut peaks = Vec::new();
    barrier.wait().await;
    peaks.push(("sign-in burst", counts.total(), sampler.take_peak()));
    barrier.wait().await;
    peaks.push(("mixed rounds", counts.total(), sampler.take_peak()));
    for t in tasks {
        t.await.unwrap();
    }
    peaks.push(("upload burst", counts.total(), sampler.take_peak()));
    let load_secs = started.elapsed().as_secs_f64();
    let done = counts.total();
    row("after load", done);
    drop(sampler);
    tokio::time::sleep(Duration::from_secs(idle)).await;
    row(&format!("after {idle} s idle"), done);

    println!(
        "\nmemory of serve --demo on {label}: {clients} phones, {rounds} rounds, {done} requests in {load_secs:.1} s \
         ({:.0}/s): {} 2xx, {} 4xx, {} 429, {} 5xx, {} failed",
        done as f64 / load_secs,
        counts.ok.load(Ordering::Relaxed),
        counts.client_error.load(Ordering::Relaxed),
        counts.limited.load(Ordering::Relaxed),
        counts.server_error.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
    );
    println!(
        "{:<24} {:>9} {:>10} {:>10} {:>8}",
        "phase", "requests", "RSS MiB", "HWM MiB", "threads"
    );
    let mib = |b: u64| b as f64 / MIB as f64;
    for r in &rows {
        println!(
            "{:<24} {:>9} {:>10.1} {:>10.1} {:>8}",
            r.phase,
            r.requests,
            mib(r.rss),
            mib(r.hwm),
            r.threads
        );
    }
    for (phase, requests, peak) in peaks {
        println!(
            "{:<24} {:>9} {:>10.1}",
            format!("peak: {phase}"),
            requests,
            mib(peak)
        );
    }
    drop(server);
}

/// Awaits every future (the tests package has no `futures` dependency to do it).
async fn join_all<F: std::future::Future<Output = ()> + Send + 'static>(fs: Vec<F>) {
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    for h in handles {
        h.await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    // `cargo test --benches` runs benchmarks once as tests: nothing to measure there.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    run(Backend::Sqlite, "SQLite").await;
    run(Backend::Postgres, "PostgreSQL").await;
}
