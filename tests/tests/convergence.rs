//! Convergence under a hostile network (SYNC.md, "How the best test it").
//!
//! Per seed: 20 officers (two phones each, used in turn for the same account) and 3
//! residents play phones with the reference client engine
//! (`patrol_sync::client`), each behind its own seeded simulated network that drops,
//! delays, duplicates and reorders requests and responses, answers 503, expires tokens and
//! hands back stale answers; phones restart from their files at random, and a fifth of
//! them work in basements, finding signal a tenth as often, so their queues grow long and
//! go up in several batches (phones push 4, 16 or 100 mutations at a time); some start on
//! an app build older than the server's protocol, get 426 and keep their queue until a
//! restart updates them. For the middle third of a seed's operations the server's photo
//! store is full: uploads answer 507 and the phones keep their photos and retry. Officers report, comment, edit, start and resolve cases (their
//! own and, as colleagues, each other's), escalate some, record visits, write their
//! diaries (one entry a day, from either phone) and claim points for cases (the same
//! case from both phones, with different ids), with photos whose bytes upload after the records; residents report and
//! withdraw. A supervisor accepts, dispatches and voids online meanwhile. Then the
//! network heals, everyone syncs until nothing is pending, and the oracle checks: every replica holds exactly the server's cases of its
//! scope in their current state (and, for a sixth of the phones per seed, equals a fresh
//! full pull of the same account), every queued mutation has exactly one outcome (the
//! same locally and on the server), nothing was applied twice (one claim per piece of
//! work), an officer's phones hold what they reported wherever it is, no report was lost, and
//! every photo taken reached the server.
//!
//! The run is a pure function of the seed except for ids and times the server makes, so a
//! failing seed replays with the command it prints (a panic in the harness fails only its
//! seed). The default, which CI runs, is 120 seeds x 800 operations per backend (about
//! 490 queued mutations, 160 cases and 100 uploaded photos per seed; about five minutes
//! of a two-core CI machine; 200 x 2000 took thirty). Opt-in: `PATROL_SIM_SEEDS` (seeds per backend) and
//! `PATROL_SIM_OPS` (operations per seed) make longer runs (e.g. 1000 x 5000);
//! `PATROL_SIM_SEED` runs one seed; `PATROL_SIM_LANES` sets how many servers share the
//! seeds; `PATROL_SIM_TRACE` prints per-seed timings, time by kind of operation and the
//! requests sent; `PATROL_SIM_DEBUG` prints, for a replica that differs, the case's
//! change-log rows and every pull answer the phone got for it.
//!
//! One server per lane serves seeds from its backend's queue; the case and sync tables
//! are emptied between seeds (a fresh database per seed cost more than the seed itself).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::prelude::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use patrol_api::commands::people::{NewUser, assign, insert_staff};
use patrol_api::db::schema::{
    blobs, case_activities, case_followers, cases, change_log, communities, conflicts,
    department_tasks, diary_entries, escalations, photos, points_claims, sync_clients,
    sync_mutations, visits,
};
use patrol_api::db::{self, DatabaseUrl, DbConn};
use patrol_sync::client::{ClientError, Engine, EngineOptions, Transport, TransportError};
use patrol_sync::protocol::{
    MutationResult, Outcome, PullRequest, PullResponse, PushRequest, PushResponse,
};
use patrol_tests::{Backend, TEST_SECRET, TempDir, TestApp, TestDb, stores, test_config};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use tokio::runtime::Handle;

const OFFICERS: usize = 20;
const RESIDENTS: usize = 3;
/// Phones of officer `i`: `i`, and `SECOND_PHONES + i` (every officer has two devices).
const SECOND_PHONES: usize = OFFICERS + RESIDENTS;

/// One of officer `i`'s two phones, at random.
fn officer_phone(rng: &mut Rng, i: usize) -> usize {
    if rng.chance(50) { i } else { SECOND_PHONES + i }
}
const DEFAULT_SEEDS: u64 = 120;
const DEFAULT_OPS: usize = 800;

/// SplitMix64: tiny, seedable, identical everywhere.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn hash(&mut self) -> String {
        (0..4).map(|_| format!("{:016x}", self.next())).collect()
    }
}

#[derive(Clone)]
struct Account {
    id: String,
    role: &'static str,
    /// The session the minted tokens name (a refresh-token family in the database, so
    /// the server's revocation check finds it live).
    session: String,
    /// Index of the community (C1..C3) an officer covers.
    community: usize,
}

fn token(a: &Account, expired: bool) -> String {
    let now = chrono::Utc::now().timestamp();
    let exp = if expired { now - 3600 } else { now + 3600 };
    encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": a.id, "role": a.role, "sid": a.session, "iat": now - 7200, "exp": exp, "iss": "patrol", "aud": "patrol-api"}),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap()
}

/// The real server over HTTP, blocking: runs on a `spawn_blocking` thread and drives the
/// async client with the runtime's handle.
struct Http {
    handle: Handle,
    client: reqwest::Client,
    base: String,
    account: Account,
    token: String,
    /// Requests sent, by kind, for the whole lane (printed with PATROL_SIM_TRACE).
    sent: Sent,
    /// An app build older than the server's protocol: it sends an old version, the server
    /// answers 426 and the queue waits until the app is updated (a restart).
    outdated: bool,
}

/// What `sent` counts for an upload the full photo store refused.
const STORE_FULL: &str = "photo upload refused: store full";
/// Answers with status 500: a defect whatever the request (the engine would retry it).
const SERVER_ERROR: &str = "500 answered";

type Sent = std::sync::Arc<std::sync::Mutex<BTreeMap<&'static str, usize>>>;

fn count(sent: &Sent, kind: &'static str) {
    if let Ok(mut m) = sent.lock() {
        *m.entry(kind).or_default() += 1;
    }
}

impl Http {
    fn new(world: &World, account: &Account) -> Http {
        Http {
            handle: world.handle.clone(),
            client: world.client.clone(),
            base: world.base.clone(),
            account: account.clone(),
            token: token(account, false),
            sent: world.sent.clone(),
            outdated: false,
        }
    }

    fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, TransportError> {
        self.handle.block_on(async {
            let res = self
                .client
                .post(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .json(body)
                .send()
                .await
                .map_err(|e| TransportError::Network(e.to_string()))?;
            let status = res.status().as_u16();
            let retry = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let text = res
                .text()
                .await
                .map_err(|e| TransportError::Network(e.to_string()))?;
            if status == 500 {
                count(&self.sent, SERVER_ERROR);
            }
            if status != 200 {
                return Err(TransportError::from_status(status, &text, retry));
            }
            serde_json::from_str(&text)
                .map_err(|e| TransportError::Rejected(format!("bad body {e}: {text}")))
        })
    }

    /// An online command (supervisors): the status code only.
    /// What an outdated app's request must get: 426, which the engine keeps its queue on.
    fn refused_as_outdated<R>(
        &self,
        answer: Result<R, TransportError>,
    ) -> Result<R, TransportError> {
        match answer {
            Err(TransportError::UpgradeRequired) => {
                count(&self.sent, "426 to an outdated app");
                Err(TransportError::UpgradeRequired)
            }
            // An expired token is checked first.
            Err(TransportError::Unauthorized) => Err(TransportError::Unauthorized),
            // A lost request or a busy server reaches an old app as it reaches any other
            // (a 500 is counted and fails the run by itself, see `SERVER_ERROR`).
            Err(e @ (TransportError::Network(_) | TransportError::RetryAfter(_))) => Err(e),
            other => panic!(
                "an outdated app's request got {:?} instead of 426",
                other.map(|_| ())
            ),
        }
    }

    fn command(&self, case_id: &str, cmd: Value) -> u16 {
        count(&self.sent, "supervisor command");
        self.handle.block_on(async {
            self.client
                .post(format!("{}/api/v1/cases/{case_id}/transitions", self.base))
                .bearer_auth(&self.token)
                .json(&cmd)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        })
    }

    fn case(&self, case_id: &str) -> Option<Value> {
        count(&self.sent, "supervisor read");
        self.handle.block_on(async {
            let r = self
                .client
                .get(format!("{}/api/v1/cases/{case_id}", self.base))
                .bearer_auth(&self.token)
                .send()
                .await
                .ok()?;
            if r.status() != 200 {
                return None;
            }
            r.json::<Value>().await.ok().map(|v| v["case"].clone())
        })
    }
}

impl Transport for Http {
    fn push(&mut self, req: &PushRequest) -> Result<PushResponse, TransportError> {
        count(&self.sent, "push");
        if self.outdated {
            let old = PushRequest {
                protocol_version: 0,
                ..req.clone()
            };
            return self.refused_as_outdated(self.post("/api/v1/sync/push", &old));
        }
        self.post("/api/v1/sync/push", req)
    }
    fn pull(&mut self, req: &PullRequest) -> Result<PullResponse, TransportError> {
        count(&self.sent, "pull");
        if self.outdated {
            let old = PullRequest {
                protocol_version: 0,
                ..req.clone()
            };
            return self.refused_as_outdated(self.post("/api/v1/sync/pull", &old));
        }
        self.post("/api/v1/sync/pull", req)
    }
    fn put_blob(&mut self, sha256: &str, bytes: &[u8]) -> Result<(), TransportError> {
        count(&self.sent, "photo upload");
        self.handle.block_on(async {
            let res = self
                .client
                .put(format!("{}/api/v1/blobs/{sha256}", self.base))
                .bearer_auth(&self.token)
                .body(bytes.to_vec())
                .send()
                .await
                .map_err(|e| TransportError::Network(e.to_string()))?;
            match res.status().as_u16() {
                200 | 201 => Ok(()),
                507 => {
                    count(&self.sent, STORE_FULL);
                    Err(TransportError::from_status(507, "", 1))
                }
                status => Err(TransportError::from_status(
                    status,
                    &res.text().await.unwrap_or_default(),
                    1,
                )),
            }
        })
    }
    fn refresh_auth(&mut self) -> Result<(), TransportError> {
        self.token = token(&self.account, false);
        Ok(())
    }
}

enum Delayed {
    Push(PushRequest),
    Pull(PullRequest),
    Blob(String, Vec<u8>),
}

/// A hostile network in front of one phone. Everything it does comes from its seed.
struct SimNet {
    inner: Http,
    rng: Rng,
    faulty: bool,
    /// Requests held back, delivered later (after newer ones).
    delayed: Vec<Delayed>,
    /// Old answers the network may hand back instead of the current one.
    old_pulls: Vec<PullResponse>,
    old_pushes: Vec<PushResponse>,
    /// What pulls answered, for PATROL_SIM_DEBUG.
    log: Vec<String>,
}

impl SimNet {
    fn new(inner: Http, seed: u64) -> SimNet {
        SimNet {
            inner,
            rng: Rng(seed),
            faulty: true,
            delayed: Vec::new(),
            old_pulls: Vec::new(),
            old_pushes: Vec::new(),
            log: Vec::new(),
        }
    }

    /// Delivers some held-back requests now; their answers become stale answers.
    fn deliver_delayed(&mut self, all: bool) {
        let mut keep = Vec::new();
        for d in std::mem::take(&mut self.delayed) {
            if !all && !self.rng.chance(40) {
                keep.push(d);
                continue;
            }
            match d {
                Delayed::Push(r) => {
                    if let Ok(a) = self.inner.push(&r) {
                        self.old_pushes.push(a);
                    }
                }
                Delayed::Pull(r) => {
                    if let Ok(a) = self.inner.pull(&r) {
                        self.old_pulls.push(a);
                    }
                }
                Delayed::Blob(hash, bytes) => {
                    let _ = self.inner.put_blob(&hash, &bytes);
                }
            }
        }
        self.delayed = keep;
        self.old_pulls.truncate(4);
        self.old_pushes.truncate(4);
    }

    /// Faults before the request reaches the server. `None`: send it.
    fn before<R>(&mut self, hold: impl FnOnce() -> Delayed) -> Option<Result<R, TransportError>> {
        if !self.faulty {
            return None;
        }
        self.deliver_delayed(false);
        match self.rng.below(100) {
            0..=7 => Some(Err(TransportError::Network("request lost".into()))),
            8..=13 => {
                self.delayed.push(hold());
                Some(Err(TransportError::Network("request delayed".into())))
            }
            14..=16 => Some(Err(TransportError::RetryAfter(
                1 + self.rng.below(3) as u64,
            ))),
            17..=20 => {
                // The token expired while offline: the server answers 401.
                self.inner.token = token(&self.inner.account, true);
                None
            }
            _ => None,
        }
    }
}

impl Transport for SimNet {
    fn push(&mut self, req: &PushRequest) -> Result<PushResponse, TransportError> {
        if let Some(r) = self.before(|| Delayed::Push(req.clone())) {
            return r;
        }
        let answer = self.inner.push(req);
        if !self.faulty {
            return answer;
        }
        if self.rng.chance(10) {
            let _ = self.inner.push(req); // duplicated on the way
        }
        if self.rng.chance(10) {
            return Err(TransportError::Network("response lost".into()));
        }
        if let Ok(a) = &answer {
            self.old_pushes.insert(0, a.clone());
            if self.rng.chance(8) {
                let i = self.rng.below(self.old_pushes.len());
                return Ok(self.old_pushes[i].clone());
            }
        }
        answer
    }

    fn pull(&mut self, req: &PullRequest) -> Result<PullResponse, TransportError> {
        let r = self.pull_inner(req);
        if std::env::var("PATROL_SIM_DEBUG").is_ok() {
            let dec = |c: Option<&str>| -> String {
                c.and_then(|c| c.split('.').next())
                    .and_then(|b| {
                        use base64::Engine as _;
                        base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(b)
                            .ok()
                    })
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .map(|v| format!("{}/{}", v["commit"], v["seq"]))
                    .unwrap_or_default()
            };
            let line = match &r {
                Ok(a) => format!(
                    "pull from {} -> {} more={} [{}]",
                    dec(req.cursor.as_deref()),
                    dec(Some(&a.cursor)),
                    a.has_more,
                    a.changes
                        .iter()
                        .filter(|c| c.entity == "case")
                        .map(|c| format!(
                            "{}:v{}",
                            c.id,
                            c.data
                                .as_ref()
                                .map(|d| d["version"].clone())
                                .unwrap_or_default()
                        ))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                Err(e) => format!("pull from {} -> error {e}", dec(req.cursor.as_deref())),
            };
            self.log.push(line);
        }
        r
    }

    fn put_blob(&mut self, sha256: &str, bytes: &[u8]) -> Result<(), TransportError> {
        if let Some(r) = self.before(|| Delayed::Blob(sha256.to_owned(), bytes.to_vec())) {
            return r;
        }
        let answer = self.inner.put_blob(sha256, bytes);
        if !self.faulty {
            return answer;
        }
        if self.rng.chance(10) {
            let _ = self.inner.put_blob(sha256, bytes); // duplicated on the way
        }
        if self.rng.chance(10) {
            return Err(TransportError::Network("response lost".into()));
        }
        answer
    }

    fn refresh_auth(&mut self) -> Result<(), TransportError> {
        if self.faulty && self.rng.chance(10) {
            return Err(TransportError::Network("refresh lost".into()));
        }
        self.inner.refresh_auth()
    }
}

impl SimNet {
    fn pull_inner(&mut self, req: &PullRequest) -> Result<PullResponse, TransportError> {
        if let Some(r) = self.before(|| Delayed::Pull(req.clone())) {
            return r;
        }
        let answer = self.inner.pull(req);
        if !self.faulty {
            return answer;
        }
        if self.rng.chance(5) {
            let _ = self.inner.pull(req);
        }
        if self.rng.chance(10) {
            return Err(TransportError::Network("response lost".into()));
        }
        if let Ok(a) = &answer {
            self.old_pulls.insert(0, a.clone());
            if self.rng.chance(8) {
                // An older answer overtakes the newer one.
                let i = self.rng.below(self.old_pulls.len());
                return Ok(self.old_pulls[i].clone());
            }
        }
        answer
    }
}

/// One simulated phone.
struct Phone {
    account: Account,
    path: String,
    engine: Option<Engine>,
    net: SimNet,
    seed: u64,
    /// Works in basements: finds signal a tenth as often, so its queue grows long and
    /// goes up in several batches.
    basement: bool,
}

impl Phone {
    fn engine(&mut self) -> &mut Engine {
        if self.engine.is_none() {
            self.engine = Some(Engine::open(&self.path, opts(self.seed)).unwrap());
        }
        self.engine.as_mut().unwrap()
    }
    /// A photo reference for a record: usually a photo taken on this phone, whose bytes
    /// it uploads after the record; sometimes a hash whose bytes never come (a phone
    /// lost with its photos), which stays `awaiting_upload`.
    fn photo(&mut self, rng: &mut Rng, tag: &str) -> String {
        if rng.chance(20) {
            return rng.hash();
        }
        let mut bytes =
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde".to_vec();
        bytes.extend_from_slice(format!("{tag} {}", rng.next()).as_bytes());
        self.engine().add_photo(&bytes).unwrap()
    }

    fn sync(&mut self, now: i64) -> Result<bool, ClientError> {
        let engine = self
            .engine
            .get_or_insert_with(|| Engine::open(&self.path, opts(self.seed)).unwrap());
        engine.sync(&mut self.net, now).map(|r| r.complete)
    }
}

fn opts(seed: u64) -> EngineOptions {
    EngineOptions {
        seed,
        // Small pages on some phones, large on others: pagination is exercised either way.
        page_limit: [25, 100, 200][(seed % 3) as usize],
        // Small batches on some phones: a long queue goes up in several pushes, any of
        // which the network may lose.
        batch: [4, 16, patrol_sync::protocol::MAX_BATCH][(seed / 3 % 3) as usize],
        durable: false,
        ..EngineOptions::default()
    }
}

/// What stays the same across seeds on one backend.
struct World {
    handle: Handle,
    client: reqwest::Client,
    base: String,
    /// The harness's own connections (resets, moves, the oracle): opening one per use
    /// cost a PostgreSQL backend each time.
    pool: db::Pool,
    sent: Sent,
    officers: Vec<Account>,
    residents: Vec<Account>,
    supervisor: Account,
    /// The server's photo store: full for the middle third of every seed's operations,
    /// so photos taken then must survive 507s and arrive once it is freed.
    photo_store: std::sync::Arc<std::sync::atomic::AtomicU8>,
}

fn pool(url: &str) -> db::Pool {
    db::connect(&DatabaseUrl::parse(url).unwrap(), 2).unwrap()
}

/// Creates the simulation's accounts on the fixture organisation.
fn accounts(pool: &db::Pool) -> (Vec<Account>, Vec<Account>, Account) {
    let mut c = pool.get().unwrap();
    let c: &mut DbConn = &mut c;
    let session_of = |c: &mut DbConn, user_id: &str| {
        let now = patrol_api::db::ids::now_ms();
        let row = patrol_api::db::store::RefreshTokenRow {
            id: patrol_api::db::ids::new_id(),
            family_id: patrol_api::db::ids::new_id(),
            user_id: user_id.to_owned(),
            token_hash: patrol_api::db::ids::new_id(),
            issued_at: now,
            expires_at: now + 86_400_000,
            used_at: None,
            successor_id: None,
            revoked_at: None,
        };
        patrol_api::db::store::insert_refresh_token(c, &row).unwrap();
        row.family_id
    };
    let mut make = |login: String, role: &'static str, covers: &[&str], community: usize| {
        let new = NewUser::parse(&login, role, &format!("{login} name"), None, None).unwrap();
        // Nobody logs in: tokens are minted with the test secret, so no password hashing.
        let row = insert_staff(c, new, "unused".into(), None).unwrap();
        for code in covers {
            assign(c, &row.id, code, None, None).unwrap();
        }
        Account {
            session: session_of(c, &row.id),
            id: row.id,
            role,
            community,
        }
    };
    let codes = ["C1", "C2", "C3"];
    let officers = (0..OFFICERS)
        .map(|i| make(format!("sim.officer{i}"), "officer", &[codes[i % 3]], i % 3))
        .collect();
    let supervisor = make("sim.leader".into(), "supervisor", &["S1", "S2"], 0);
    let residents = (0..RESIDENTS)
        .map(|i| {
            let phone = format!("1390000{:04}", 100 + i);
            let id = patrol_api::db::ids::new_id();
            let now = patrol_api::db::ids::now_ms();
            patrol_api::db::store::insert_user(
                c,
                &patrol_api::db::store::UserRow {
                    id: id.clone(),
                    login: phone.clone(),
                    role: "resident".into(),
                    display_name: format!("居民{i}"),
                    phone: Some(phone),
                    password_hash: "unused".into(),
                    squad_id: None,
                    department_name: None,
                    joint_office: false,
                    hotline_intake: false,
                    active: true,
                    created_by: None,
                    created_at: now,
                    updated_at: now,
                },
            )
            .unwrap();
            Account {
                session: session_of(c, &id),
                id,
                role: "resident",
                community: i % 3,
            }
        })
        .collect();
    (officers, residents, supervisor)
}

/// Runs the harness's own write as one transaction, again while the database answers a
/// transient failure (a PostgreSQL deadlock with the server's background jobs): the
/// harness must not fail a seed for what the server itself would retry.
fn write_retrying<T>(
    pool: &db::Pool,
    what: &str,
    f: impl Fn(&mut DbConn) -> Result<T, patrol_api::db::StoreError>,
) -> T {
    let mut last = None;
    for attempt in 0..20u64 {
        let mut c = pool.get().unwrap();
        match db::write_tx(&mut c, |c| f(c)) {
            Ok(v) => return v,
            Err(e @ patrol_api::db::StoreError::Unavailable(_)) => {
                last = Some(e);
                std::thread::sleep(std::time::Duration::from_millis(20 * (attempt + 1)));
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
    panic!("{what}: still failing after 20 attempts: {last:?}")
}

/// Empties the case and sync tables so the next seed starts from a clean slate on the
/// same server (a fresh database per seed costs more than the seed itself).
fn reset_tables(pool: &db::Pool) {
    write_retrying(pool, "emptying the tables between seeds", |c| {
        diesel::delete(photos::table).execute(c)?;
        diesel::delete(blobs::table).execute(c)?;
        diesel::delete(case_activities::table).execute(c)?;
        diesel::delete(conflicts::table).execute(c)?;
        diesel::delete(change_log::table).execute(c)?;
        diesel::delete(sync_mutations::table).execute(c)?;
        diesel::delete(sync_clients::table).execute(c)?;
        diesel::delete(visits::table).execute(c)?;
        diesel::delete(diary_entries::table).execute(c)?;
        diesel::delete(department_tasks::table).execute(c)?;
        diesel::delete(escalations::table).execute(c)?;
        diesel::delete(case_followers::table).execute(c)?;
        diesel::delete(points_claims::table).execute(c)?;
        diesel::delete(cases::table).execute(c)?;
        Ok(())
    });
}

/// Ends the officer's current assignments and assigns `community` (C1..C3 by index), as
/// an admin would online; scope is read from assignments on every pull.
fn move_officer(world: &World, officer_id: &str, community: usize) {
    let code = format!("C{}", community + 1);
    write_retrying(&world.pool, "moving an officer", |c| {
        let current = patrol_api::db::store::current_assignments_of_user(c, officer_id)?;
        let target = patrol_api::db::store::community_by_code(c, &code)?
            .ok_or_else(|| patrol_api::db::StoreError::Corrupt(format!("no community {code}")))?
            .id;
        if current.len() == 1 && current[0].target_id == target {
            return Ok(());
        }
        let now = chrono::Utc::now().timestamp_millis();
        for a in current {
            patrol_api::db::store::end_assignment(c, &a.id, now, &world.supervisor.id, "moved")?;
        }
        assign(c, officer_id, &code, Some("moved".into()), None)
            .map(|_| ())
            .map_err(|e| patrol_api::db::StoreError::Corrupt(e.to_string()))
    });
}

fn report_args(rng: &mut Rng, community: usize, tag: &str) -> (String, Value) {
    // From the seed, not the system generator: picks iterate the replica in id order, so
    // ids must replay too.
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next().to_le_bytes());
    let id = uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string();
    let lon = 101.80 + 0.01 * community as f64 + 0.001 + 0.008 * (rng.below(1000) as f64 / 1000.0);
    let lat = 36.601 + 0.008 * (rng.below(1000) as f64 / 1000.0);
    let photos: Vec<String> = (0..rng.below(2)).map(|_| rng.hash()).collect();
    (
        id.clone(),
        json!({"case_id": id, "category_code": "garbage_pile", "description": format!("report {tag}"),
               "lat": lat, "lon": lon, "photos": photos}),
    )
}

macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err(format!($($arg)*));
        }
    };
}

/// Plays one seed and checks the oracle. `Err` says what broke.
fn run_seed(world: &World, seed: u64, ops: usize) -> Result<Stats, String> {
    let t0 = std::time::Instant::now();
    reset_tables(&world.pool);
    for o in &world.officers {
        move_officer(world, &o.id, o.community);
    }
    if std::env::var("PATROL_SIM_TRACE").is_ok() {
        eprintln!("seed {seed}: reset {:?}", t0.elapsed());
    }
    let dir = TempDir::new("patrol-sim");
    let mut rng = Rng(seed);
    let mut phones: Vec<Phone> = world
        .officers
        .iter()
        .chain(&world.residents)
        .chain(&world.officers)
        .enumerate()
        .map(|(i, a)| {
            let s = seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
            Phone {
                account: a.clone(),
                path: dir.0.join(format!("phone{i}.db")).display().to_string(),
                engine: None,
                net: SimNet::new(
                    Http {
                        // Some phones start on an app build the server no longer accepts.
                        outdated: (i as u64 + seed) % 7 == 3,
                        ..Http::new(world, a)
                    },
                    s,
                ),
                seed: s,
                basement: (i as u64 + seed).is_multiple_of(5),
            }
        })
        .collect();
    let supervisor = Http::new(world, &world.supervisor);
    let mut all_cases: Vec<(String, usize)> = Vec::new();
    let mut now: i64 = 0;
    let mut n = 0usize;
    // Operations and time spent, by kind (printed with PATROL_SIM_TRACE).
    let mut op_time: BTreeMap<&str, (usize, std::time::Duration)> = BTreeMap::new();
    // The most mutations a phone had waiting when it found signal.
    let mut longest_queue = 0;
    for _ in 0..ops {
        now += 50 + rng.below(1500) as i64;
        n += 1;
        if n == ops / 3 {
            world.photo_store.store(stores::FULL, Ordering::SeqCst);
        } else if n == 2 * ops / 3 {
            world.photo_store.store(stores::WORKING, Ordering::SeqCst);
        }
        let tag = format!("{seed}-{n}");
        // Phones are mostly out of signal: queues grow between syncs, as in basements.
        let roll = rng.below(100);
        let t_op = std::time::Instant::now();
        match roll {
            // An officer records a visit or writes the duty diary offline (append-only and
            // own records: they never conflict).
            0..=7 => {
                let officer = rng.below(OFFICERS);
                let i = officer_phone(&mut rng, officer);
                let me = phones[i].account.clone();
                let at = chrono::Utc::now();
                let known = phones[i].engine().ids("case").unwrap();
                if rng.chance(10) && !known.is_empty() {
                    // Points for a case, claimed offline; the officer's other phone may
                    // claim the same work with another id: one claim either way.
                    let case_id = known[rng.below(known.len())].clone();
                    let mut bytes = [0u8; 16];
                    bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
                    bytes[8..].copy_from_slice(&rng.next().to_le_bytes());
                    let id = uuid::Builder::from_random_bytes(bytes)
                        .into_uuid()
                        .to_string();
                    phones[i]
                        .engine()
                        .enqueue(
                            "points.claim",
                            json!({"claim_id": id, "points": 2, "note": format!("claim {tag}"),
                                   "source_kind": "case", "source_id": case_id}),
                            None,
                        )
                        .unwrap();
                } else if rng.chance(60) {
                    let photo = phones[i].photo(&mut rng, &tag);
                    let mut bytes = [0u8; 16];
                    bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
                    bytes[8..].copy_from_slice(&rng.next().to_le_bytes());
                    let id = uuid::Builder::from_random_bytes(bytes)
                        .into_uuid()
                        .to_string();
                    let lon = 101.805 + 0.01 * me.community as f64;
                    phones[i]
                        .engine()
                        .enqueue(
                            "visit.record",
                            json!({"visit_id": id, "community_code": format!("C{}", me.community + 1),
                                   "started_at": at - chrono::TimeDelta::minutes(20),
                                   "ended_at": at - chrono::TimeDelta::minutes(5),
                                   "fixes": [{"at": at - chrono::TimeDelta::minutes(10), "lat": 36.605,
                                              "lon": lon, "accuracy_m": 12.0, "mock": false}],
                                   "photos": [photo], "met": ["resident"],
                                   "purpose": format!("visit {tag}"), "class_721": "service"}),
                            None,
                        )
                        .unwrap();
                } else {
                    // One entry per officer and day, edited in place.
                    let entry =
                        uuid::Uuid::from_u128(u128::from(seed) << 64 | officer as u128).to_string();
                    phones[i]
                        .engine()
                        .enqueue(
                            "diary.write",
                            json!({"entry_id": entry, "entry_date": at.date_naive(), "shift": "day",
                                   "body": format!("diary {tag}")}),
                            None,
                        )
                        .unwrap();
                }
            }
            8..=51 => {
                let officer = rng.below(OFFICERS);
                let i = officer_phone(&mut rng, officer);
                let me = phones[i].account.clone();
                let known = phones[i].engine().ids("case").unwrap();
                let pick = if known.is_empty() {
                    None
                } else {
                    let id = &known[rng.below(known.len())];
                    phones[i].engine().case(id).unwrap()
                };
                // Half the time an offline officer follows up on a report still in their
                // queue: the view shows it provisionally.
                let pick = match pick {
                    Some(c) if rng.chance(60) => Some(c),
                    other => {
                        let own: Vec<String> = phones[i]
                            .engine()
                            .queue()
                            .unwrap()
                            .into_iter()
                            .filter(|m| m.name == "case.report")
                            .filter_map(|m| m.args["case_id"].as_str().map(str::to_owned))
                            .collect();
                        if own.is_empty() {
                            other
                        } else {
                            let id = &own[rng.below(own.len())];
                            phones[i].engine().case(id).unwrap().or(other)
                        }
                    }
                };
                let roll = rng.below(100);
                // Photos are taken only for what uses them: a comment's, a resolution's.
                let photos: Vec<String> = if (25..=54).contains(&roll) && pick.is_some() {
                    (0..rng.below(3))
                        .map(|_| phones[i].photo(&mut rng, &tag))
                        .collect()
                } else {
                    Vec::new()
                };
                let resolving = roll >= 80
                    && pick
                        .as_ref()
                        .is_some_and(|c| c["status"].as_str() == Some("in_progress"));
                let evidence = if resolving {
                    phones[i].photo(&mut rng, &tag)
                } else {
                    String::new()
                };
                let e = phones[i].engine();
                match (roll, pick) {
                    (0..=24, _) | (_, None) => {
                        let (id, args) = report_args(&mut rng, me.community, &tag);
                        e.enqueue("case.report", args, None).unwrap();
                        all_cases.push((id, me.community));
                    }
                    (25..=54, Some(c)) => {
                        e.enqueue(
                            "case.comment",
                            json!({"case_id": c["id"], "text": format!("comment {tag}"), "photos": photos}),
                            None,
                        )
                        .unwrap();
                    }
                    (55..=79, Some(c)) => {
                        let view = e.case(c["id"].as_str().unwrap()).unwrap().unwrap_or(c);
                        let field = if rng.chance(50) {
                            "description"
                        } else {
                            "notes"
                        };
                        let rev = view[format!("{field}_rev")].as_i64().unwrap_or(0);
                        e.enqueue(
                            "case.update_fields",
                            json!({"case_id": view["id"], field: {"value": format!("{field} {tag}"), "base_rev": rev}}),
                            None,
                        )
                        .unwrap();
                    }
                    // Now and then the community cannot solve it alone (外循环).
                    (_, Some(c))
                        if matches!(
                            c["status"].as_str(),
                            Some("accepted" | "dispatched" | "in_progress")
                        ) && rng.chance(15) =>
                    {
                        e.enqueue(
                            "case.escalate",
                            json!({"case_id": c["id"], "reason": format!("escalate {tag}")}),
                            None,
                        )
                        .unwrap();
                    }
                    (_, Some(c)) => {
                        let cmd = match c["status"].as_str() {
                            Some("in_progress") => {
                                json!({"command": "resolve", "evidence": [evidence], "note": format!("done {tag}")})
                            }
                            _ => json!({"command": "start"}),
                        };
                        e.enqueue(
                            "case.transition",
                            json!({"case_id": c["id"], "command": cmd}),
                            None,
                        )
                        .unwrap();
                    }
                }
            }
            // A resident reports, or withdraws one of their reports.
            52..=61 => {
                let i = OFFICERS + rng.below(RESIDENTS);
                let mine: Vec<String> = phones[i]
                    .engine()
                    .queue()
                    .unwrap()
                    .into_iter()
                    .filter(|m| m.name == "case.report")
                    .filter_map(|m| m.args["case_id"].as_str().map(str::to_owned))
                    .collect();
                if !mine.is_empty() && rng.chance(25) {
                    let id = mine[rng.below(mine.len())].clone();
                    phones[i]
                        .engine()
                        .enqueue(
                            "case.transition",
                            json!({"case_id": id, "command": {"command": "withdraw"}}),
                            None,
                        )
                        .unwrap();
                } else {
                    let community = rng.below(3);
                    let (id, args) = report_args(&mut rng, community, &tag);
                    phones[i]
                        .engine()
                        .enqueue("case.report", args, None)
                        .unwrap();
                    all_cases.push((id, community));
                }
            }
            // The supervisor works online: accept, void or dispatch.
            62..=75 => {
                if all_cases.is_empty() {
                    continue;
                }
                let (id, community) = all_cases[rng.below(all_cases.len())].clone();
                if let Some(c) = supervisor.case(&id) {
                    let cmd = match c["status"].as_str() {
                        // A report found false, sometimes only after dispatch (撤件):
                        // officers working it offline meanwhile are rejected.
                        Some("reported") if rng.chance(10) => {
                            json!({"command": "void", "reason": format!("not a problem {tag}")})
                        }
                        Some("accepted" | "dispatched" | "in_progress") if rng.chance(4) => {
                            json!({"command": "void", "reason": format!("false report {tag}")})
                        }
                        Some("reported") => json!({"command": "accept"}),
                        Some("accepted") => {
                            let officers: Vec<&Account> = world
                                .officers
                                .iter()
                                .filter(|o| o.community == community)
                                .collect();
                            let o = officers[rng.below(officers.len())];
                            json!({"command": "dispatch", "to": {"officer": o.id}})
                        }
                        _ => continue,
                    };
                    supervisor.command(&id, cmd);
                }
            }
            // A phone gets signal for a moment.
            76..=93 => {
                let i = rng.below(phones.len());
                let signal = !phones[i].basement || rng.chance(10);
                let due = phones[i].engine().next_attempt_at(now) <= now;
                if signal && due {
                    longest_queue = longest_queue.max(phones[i].engine().unfinished().unwrap());
                    let _ = phones[i].sync(now);
                }
            }
            // An officer is moved to another community while their phone is offline:
            // its rows go on the next pull, the new community's arrive, pending edits to
            // the old one come back as `forbidden` conflicts.
            94..=95 => {
                let i = rng.below(OFFICERS);
                let to = (phones[i].account.community + 1 + rng.below(2)) % 3;
                move_officer(world, &phones[i].account.id, to);
                phones[i].account.community = to;
                phones[SECOND_PHONES + i].account.community = to;
            }
            // A phone restarts: the engine is dropped and reopened from its file.
            _ => {
                let i = rng.below(phones.len());
                phones[i].engine = None;
                // The app was updated, if it was outdated.
                phones[i].net.inner.outdated = false;
            }
        }
        let kind = match roll {
            0..=51 => "offline work",
            52..=61 => "residents",
            62..=75 => "supervisor",
            76..=93 => "syncs",
            _ => "moves and restarts",
        };
        let spent = op_time.entry(kind).or_default();
        spent.0 += 1;
        spent.1 += t_op.elapsed();
    }

    let t_ops = std::time::Instant::now();
    if std::env::var("PATROL_SIM_TRACE").is_ok() {
        eprintln!("seed {seed}: setup and ops {:?}", t0.elapsed());
        for (kind, (count, spent)) in &op_time {
            eprintln!("seed {seed}:   {count} {kind} in {spent:?}");
        }
        if let Ok(sent) = world.sent.lock() {
            eprintln!("seed {seed}: requests so far in this lane: {sent:?}");
        }
    }
    world.photo_store.store(stores::WORKING, Ordering::SeqCst);
    // Quiescence: the network heals (held-back requests arrive late first), everyone syncs
    // until nothing is pending and the last page says `has_more: false`.
    for p in &mut phones {
        longest_queue = longest_queue.max(p.engine().unfinished().unwrap());
        p.net.deliver_delayed(true);
        p.net.faulty = false;
        p.net.inner.outdated = false;
        p.net.inner.refresh_auth().unwrap();
    }
    let mut done = vec![false; phones.len()];
    for round in 0..30 {
        for (i, p) in phones.iter_mut().enumerate() {
            if !done[i] {
                match p.sync(now) {
                    Ok(complete) => done[i] = complete,
                    Err(e) if round > 20 => return Err(format!("phone {i} cannot sync: {e}")),
                    Err(_) => {}
                }
            }
        }
        if done.iter().all(|d| *d) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    ensure!(done.iter().all(|d| *d), "phones never quiesced: {done:?}");
    // Pull once more: the last phones' pushes changed what the first ones should see.
    for p in &mut phones {
        p.sync(now).map_err(|e| e.to_string())?;
    }

    let t_quiet = std::time::Instant::now();
    if std::env::var("PATROL_SIM_TRACE").is_ok()
        && let Ok(sent) = world.sent.lock()
    {
        eprintln!("seed {seed}: requests after quiescence: {sent:?}");
        let mut c = world.pool.get().unwrap();
        let by_entity: Vec<(String, i64)> = change_log::table
            .group_by(change_log::entity)
            .select((change_log::entity, diesel::dsl::count_star()))
            .load(&mut c)
            .unwrap();
        eprintln!("seed {seed}: change log rows by entity: {by_entity:?}");
    }
    let r = check(world, seed, &mut phones).map(|s| Stats { longest_queue, ..s });
    if std::env::var("PATROL_SIM_TRACE").is_ok() {
        eprintln!(
            "seed {seed}: ops+quiesce {:?}, check {:?}",
            t_quiet - t_ops,
            t_quiet.elapsed()
        );
    }
    r
}

/// What a seed exercised, so a run shows it tested something.
#[derive(Default, Debug)]
struct Stats {
    mutations: usize,
    applied: usize,
    with_conflict: usize,
    rejected: usize,
    cases: usize,
    /// Photos taken on phones and uploaded.
    photos: usize,
    /// The most mutations one phone had queued when it found signal.
    longest_queue: usize,
    /// Uploads the full photo store answered with 507 (their photos must still arrive).
    refused_store_full: usize,
    /// Requests the server answered with 500.
    server_errors: usize,
    /// Mutations by name, applied (with or without conflict) / rejected.
    by_name: BTreeMap<String, (usize, usize)>,
}

fn check(world: &World, seed: u64, phones: &mut [Phone]) -> Result<Stats, String> {
    let mut stats = Stats::default();
    let mut c = world.pool.get().unwrap();
    let c: &mut DbConn = &mut c;
    let stored: Vec<(String, i64, String)> = sync_mutations::table
        .select((
            sync_mutations::client_id,
            sync_mutations::mutation_id,
            sync_mutations::result,
        ))
        .load(c)
        .unwrap();
    let mut by_client: HashMap<String, BTreeMap<u64, MutationResult>> = HashMap::new();
    for (client, id, result) in stored {
        by_client
            .entry(client)
            .or_default()
            .insert(id as u64, serde_json::from_str(&result).unwrap());
    }
    // The server's cases, read straight from its tables: an oracle independent of the
    // engine (a fresh pull alone would share any bug of the engine's).
    type CaseFacts = (
        String,
        String,
        Option<String>,
        String,
        i64,
        String,
        String,
        Option<String>,
    );
    let server_cases: Vec<CaseFacts> = cases::table
        .select((
            cases::id,
            cases::community_id,
            cases::reporter_id,
            cases::status,
            cases::version,
            cases::description,
            cases::notes,
            cases::created_by,
        ))
        .load(c)
        .unwrap();
    let codes: HashMap<String, String> = communities::table
        .select((communities::code, communities::id))
        .load::<(String, String)>(c)
        .unwrap()
        .into_iter()
        .collect();
    let case_ids: BTreeSet<String> = cases::table
        .select(cases::id)
        .load(c)
        .unwrap()
        .into_iter()
        .collect();
    let acts: Vec<(String, String, String)> = case_activities::table
        .select((
            case_activities::case_id,
            case_activities::kind,
            case_activities::note,
        ))
        .load(c)
        .unwrap();
    let mut reported: HashMap<&str, usize> = HashMap::new();
    let mut comments: HashMap<&str, usize> = HashMap::new();
    for (case, kind, note) in &acts {
        match kind.as_str() {
            "reported" => *reported.entry(case).or_default() += 1,
            "comment" => *comments.entry(note).or_default() += 1,
            _ => {}
        }
    }
    ensure!(
        reported.values().all(|n| *n == 1),
        "a case was reported twice: {reported:?}"
    );
    ensure!(
        case_ids.iter().all(|id| reported.contains_key(id.as_str())),
        "a case without its report activity"
    );

    for (i, p) in phones.iter_mut().enumerate() {
        let e = p.engine();
        let client = e.client_id().to_owned();
        let queue = e.queue().unwrap();
        let server = by_client.remove(&client).unwrap_or_default();
        ensure!(
            server.len() == queue.len(),
            "phone {i}: {} queued, {} outcomes on the server",
            queue.len(),
            server.len()
        );
        for m in &queue {
            let Some(result) = &m.result else {
                return Err(format!(
                    "phone {i}: mutation {} has no outcome ({})",
                    m.id, m.status
                ));
            };
            ensure!(
                Some(result) == server.get(&m.id),
                "phone {i}: mutation {} outcome differs from the server's: {result:?} vs {:?}",
                m.id,
                server.get(&m.id)
            );
            ensure!(
                m.status == result.outcome.as_str(),
                "phone {i}: status {} vs {:?}",
                m.status,
                result.outcome
            );
            if result.outcome != Outcome::Applied {
                ensure!(
                    result.conflict.is_some(),
                    "phone {i}: mutation {} not clean without a conflict",
                    m.id
                );
            }
            stats.mutations += 1;
            match result.outcome {
                Outcome::Applied => stats.applied += 1,
                Outcome::AppliedWithConflict => stats.with_conflict += 1,
                Outcome::Rejected => stats.rejected += 1,
            }
            let applied = result.outcome != Outcome::Rejected;
            let tally = stats.by_name.entry(m.name.clone()).or_default();
            if applied {
                tally.0 += 1;
            } else {
                tally.1 += 1;
            }
            match m.name.as_str() {
                "case.report" => {
                    let id = m.args["case_id"].as_str().unwrap();
                    ensure!(
                        case_ids.contains(id) == applied,
                        "phone {i}: report {id} lost (outcome {:?})",
                        result.outcome
                    );
                }
                "points.claim" => {
                    // One claim for the piece of work, whichever phone or id filed it.
                    let source = m.args["source_id"].as_str().unwrap();
                    let n: i64 = points_claims::table
                        .filter(points_claims::officer_id.eq(&p.account.id))
                        .filter(points_claims::source_kind.eq("case"))
                        .filter(points_claims::source_id.eq(source))
                        .count()
                        .get_result(c)
                        .unwrap();
                    ensure!(
                        n == i64::from(applied),
                        "phone {i}: {n} claims for case {source} (outcome {:?})",
                        result.outcome
                    );
                }
                "case.comment" => {
                    let text = m.args["text"].as_str().unwrap();
                    let count = comments.get(text).copied().unwrap_or(0);
                    ensure!(
                        count == usize::from(applied),
                        "phone {i}: comment {text:?} stored {count} times (outcome {:?})",
                        result.outcome
                    );
                }
                _ => {}
            }
        }
        // Every photo taken on the phone reached the server exactly as taken (the server
        // verified its hash), and the phone knows it: nothing pending, nothing refused.
        for (hash, status) in p.engine().photos().unwrap() {
            ensure!(
                status == "uploaded",
                "phone {i}: photo {hash} is {status} after quiescence"
            );
            let stored: i64 = blobs::table
                .filter(blobs::sha256.eq(&hash))
                .count()
                .get_result(c)
                .unwrap();
            ensure!(stored == 1, "phone {i}: photo {hash} is not on the server");
            stats.photos += 1;
        }
        // The replica holds exactly the cases in the account's scope, each in the server's
        // current state.
        let replica = p.engine().replica().unwrap();
        let expected: BTreeMap<&str, &CaseFacts> = server_cases
            .iter()
            .filter(|f| match p.account.role {
                "resident" => f.2.as_deref() == Some(p.account.id.as_str()),
                // The current community's cases, and what the officer reported anywhere.
                _ => {
                    Some(&f.1) == codes.get(&format!("C{}", p.account.community + 1))
                        || f.7.as_deref() == Some(p.account.id.as_str())
                }
            })
            .map(|f| (f.0.as_str(), f))
            .collect();
        let held: BTreeMap<&str, &Value> = replica
            .iter()
            .filter(|((e, _), _)| e == "case")
            .map(|((_, id), v)| (id.as_str(), v))
            .collect();
        ensure!(
            expected.keys().eq(held.keys()),
            "phone {i}: cases in the replica differ from the server's scope: {} held, {} expected",
            held.len(),
            expected.len()
        );
        for (id, f) in &expected {
            let v = held[id];
            if std::env::var("PATROL_SIM_DEBUG").is_ok() && v["version"] != f.4 {
                let rows: Vec<(i64, Option<i64>, String, String)> = change_log::table
                    .filter(change_log::entity_id.eq(*id))
                    .select((
                        change_log::seq,
                        change_log::commit_seq,
                        change_log::op,
                        change_log::payload,
                    ))
                    .load(c)
                    .unwrap();
                for (seq, cs, op, payload) in rows {
                    let pv: Value = serde_json::from_str(&payload).unwrap();
                    eprintln!(
                        "DEBUG row seq {seq} commit {cs:?} {op} v{} {}",
                        pv["version"], pv["status"]
                    );
                }
                eprintln!("DEBUG phone cursor {:?}", p.engine().cursor());
                for l in p
                    .net
                    .log
                    .iter()
                    .filter(|l| l.contains(id) || l.contains("error"))
                {
                    eprintln!("DEBUG {}", l.replace(id, "X"));
                }
                let max: Option<i64> = change_log::table
                    .select(diesel::dsl::max(change_log::seq))
                    .first(c)
                    .unwrap();
                eprintln!("DEBUG max seq {max:?}");
            }
            ensure!(
                v["status"] == f.3.as_str()
                    && v["version"] == f.4
                    && v["description"] == f.5.as_str()
                    && v["notes"] == f.6.as_str(),
                "phone {i}: case {id} is {v} on the phone but {f:?} on the server"
            );
        }
        // The replica equals what a fresh install of the same account pulls: a sixth of
        // the phones per seed, a different sixth each seed (the table oracle above covers
        // every phone; this one compares whole payloads and costs a full pull each).
        if !(i as u64 + seed).is_multiple_of(6) {
            continue;
        }
        // Large pages: the oracle checks content, the phones above exercised paging.
        let big_pages = EngineOptions {
            page_limit: patrol_sync::protocol::MAX_PULL_LIMIT,
            ..opts(0)
        };
        let mut fresh = Engine::open(":memory:", big_pages).unwrap();
        let mut http = Http::new(world, &p.account);
        let mut complete = false;
        for _ in 0..50 {
            if fresh
                .sync(&mut http, 0)
                .map_err(|e| e.to_string())?
                .complete
            {
                complete = true;
                break;
            }
        }
        ensure!(complete, "phone {i}: a fresh pull never completed");
        let mine = p.engine().replica().unwrap();
        let theirs = fresh.replica().unwrap();
        if mine != theirs {
            let diff: Vec<String> = mine
                .keys()
                .chain(theirs.keys())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|k| mine.get(*k) != theirs.get(*k))
                .take(3)
                .map(|k| {
                    format!(
                        "{k:?}: phone {:?} / server {:?}",
                        mine.get(k),
                        theirs.get(k)
                    )
                })
                .collect();
            if std::env::var("PATROL_SIM_DEBUG").is_ok() {
                eprintln!(
                    "DEBUG phone {i}: account {} ({}) in C{}",
                    p.account.id,
                    p.account.role,
                    p.account.community + 1
                );
                let keys = mine.keys().chain(theirs.keys()).collect::<BTreeSet<_>>();
                for (entity, id) in keys.into_iter().filter(|k| mine.get(*k) != theirs.get(*k)) {
                    type LogRow = (i64, Option<i64>, Option<String>, Option<String>, String);
                    let rows: Vec<LogRow> = change_log::table
                        .filter(change_log::entity.eq(entity))
                        .filter(change_log::entity_id.eq(id))
                        .select((
                            change_log::seq,
                            change_log::commit_seq,
                            change_log::community_id,
                            change_log::user_id,
                            change_log::op,
                        ))
                        .load(c)
                        .unwrap();
                    eprintln!("DEBUG {entity} {id}: log rows {rows:?}");
                    let case_id = mine
                        .get(&(entity.clone(), id.clone()))
                        .or(theirs.get(&(entity.clone(), id.clone())))
                        .and_then(|v| v["case_id"].as_str().map(str::to_owned));
                    if let Some(case_id) = case_id {
                        let facts: Option<(String, Option<String>, String)> = cases::table
                            .find(&case_id)
                            .select((cases::community_id, cases::reporter_id, cases::status))
                            .first(c)
                            .optional()
                            .unwrap();
                        eprintln!("DEBUG   its case {case_id}: {facts:?}");
                        for l in p.net.log.iter().filter(|l| l.contains(&case_id)) {
                            eprintln!("DEBUG   {l}");
                        }
                    }
                }
            }
            return Err(format!(
                "phone {i}: replica differs from the server's view: {diff:?}"
            ));
        }
    }
    stats.cases = case_ids.len();
    Ok(stats)
}

fn env_num<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

impl Stats {
    fn add(&mut self, s: Stats) {
        self.mutations += s.mutations;
        self.applied += s.applied;
        self.with_conflict += s.with_conflict;
        self.rejected += s.rejected;
        self.cases += s.cases;
        self.photos += s.photos;
        self.longest_queue = self.longest_queue.max(s.longest_queue);
        self.refused_store_full += s.refused_store_full;
        self.server_errors += s.server_errors;
        for (name, (a, r)) in s.by_name {
            let t = self.by_name.entry(name).or_default();
            t.0 += a;
            t.1 += r;
        }
    }
}

/// Seeds not yet taken by a lane of one backend.
type Seeds = std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<u64>>>;

/// One server and database running seeds one after another, taking the next from the
/// backend's queue until it is empty, so lanes finish together.
async fn lane(backend: Backend, seeds: Seeds, ops: usize) -> Option<(Stats, Vec<u64>)> {
    let db = std::sync::Arc::new(TestDb::create(backend)?);
    let cfg = test_config(&db);
    let (store, photo_store) = stores::Fillable::new(&cfg.blob_dir);
    let app = TestApp::start_with_store(db, cfg, backend, Some(std::sync::Arc::new(store))).await;
    app.seed_fixture().await;
    let (pool, (officers, residents, supervisor)) = {
        let url = app.db.url().to_owned();
        tokio::task::spawn_blocking(move || {
            let pool = pool(&url);
            let accounts = accounts(&pool);
            (pool, accounts)
        })
        .await
        .unwrap()
    };
    let world = World {
        handle: Handle::current(),
        client: app.client.clone(),
        base: app.base.clone(),
        pool,
        sent: Sent::default(),
        officers,
        residents,
        supervisor,
        photo_store,
    };
    let name = backend_name(backend);
    let result = tokio::task::spawn_blocking(move || {
        let mut failures = Vec::new();
        let mut total = Stats::default();
        while let Some(seed) = seeds.lock().ok().and_then(|mut q| q.pop_front()) {
            // A panic in the harness fails its seed, named with its replay command, and the
            // lane goes on with the next.
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_seed(&world, seed, ops)
            }))
            .unwrap_or_else(|panic| {
                Err(format!(
                    "panicked: {}",
                    panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("(no message)")
                ))
            });
            match run {
                Ok(s) => total.add(s),
                Err(e) => {
                    eprintln!(
                        "seed {seed} failed on {name}: {e}\nreplay: PATROL_SIM_SEED={seed} PATROL_SIM_OPS={ops} {}cargo test -p patrol-tests --test integration convergence::{name}",
                        if name == "postgres" { "TEST_DATABASE_URL=… " } else { "" }
                    );
                    failures.push(seed);
                }
            }
        }
        let sent = |kind| {
            world
                .sent
                .lock()
                .map(|sent| sent.get(kind).copied().unwrap_or(0))
                .unwrap_or(0)
        };
        total.refused_store_full = sent(STORE_FULL);
        total.server_errors = sent(SERVER_ERROR);
        (total, failures)
    })
    .await
    .unwrap();
    drop(app);
    Some(result)
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

async fn converge(backend: Backend) {
    if backend == Backend::Postgres && std::env::var("TEST_DATABASE_URL").is_err() {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    }
    let ops = env_num("PATROL_SIM_OPS").unwrap_or(DEFAULT_OPS);
    let seeds: Vec<u64> = match env_num::<u64>("PATROL_SIM_SEED") {
        Some(s) => vec![s],
        None => (1..=env_num("PATROL_SIM_SEEDS").unwrap_or(DEFAULT_SEEDS)).collect(),
    };
    // PostgreSQL lanes spend much of their time waiting on round trips, so three servers
    // with their own databases share the seeds (two left a quarter of the CPU idle once
    // SQLite was done); SQLite keeps one core busy by itself.
    let lanes = env_num("PATROL_SIM_LANES")
        .unwrap_or(match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => 3,
        })
        .clamp(1, seeds.len().max(1));
    let name = backend_name(backend);
    let started = std::time::Instant::now();
    let count = seeds.len();
    let queue: Seeds = std::sync::Arc::new(std::sync::Mutex::new(seeds.into_iter().collect()));
    let runs: Vec<_> = (0..lanes)
        .map(|_| tokio::spawn(lane(backend, queue.clone(), ops)))
        .collect();
    let mut total = Stats::default();
    let mut failures = Vec::new();
    for run in runs {
        let (stats, failed) = run
            .await
            .unwrap()
            .expect("a lane could not start its server");
        total.add(stats);
        failures.extend(failed);
    }
    eprintln!("convergence on {name}: {total:?}");
    eprintln!(
        "convergence on {name}: {count} seeds x {ops} ops on {lanes} lane(s) in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "failing seeds on {name}: {failures:?}");
    assert_eq!(total.server_errors, 0, "the server answered 500");
    assert!(total.mutations > 0, "the run queued no mutations");
    assert!(
        total.photos == 0 || total.refused_store_full > 0,
        "no upload met the full photo store: the fill-and-free phase tested nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    converge(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    converge(Backend::Postgres).await;
}
