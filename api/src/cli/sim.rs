//! `patrol sim`: a fleet of simulated officers for demos and load. Each officer is the
//! reference client engine (`patrol_sync::client`) with its own local store, working
//! offline (reports, comments, edits of what it has synced) and syncing on a timer against
//! a running server over HTTP. The officers are accounts `sim.officer.N` created (or given
//! a fresh password) in the server's database and assigned round-robin to its communities.

use std::time::Instant;

use anyhow::{Context, bail};
use patrol_domain::geometry::{Boundary, Crs, LatLon};
use patrol_sync::client::fleet::{self, Member};
use patrol_sync::client::{Engine, EngineOptions, Transport, TransportError};
use patrol_sync::protocol::{PullRequest, PullResponse, PushRequest, PushResponse};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::auth::password::hash_blocking;
use crate::commands::people::{NewUser, assign, insert_staff};
use crate::db::ids::new_id;
use crate::db::{self, DbConn, store};
use crate::infra::config::Config;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimArgs {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub officers: usize,
    /// Offline operations over the whole fleet.
    pub ops: usize,
    pub seed: u64,
}

/// A small deterministic generator: a run is a function of its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*; never zero.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }
    /// A float in [-1, 1).
    fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)] // 53 bits are plenty for a jitter
        let x = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        2.0 * x - 1.0
    }
}

/// The server over HTTP, signing in again when the access token expires.
struct Http {
    client: reqwest::blocking::Client,
    base: String,
    login: String,
    password: String,
    token: String,
}

impl Http {
    fn sign_in(&mut self) -> Result<(), TransportError> {
        let res = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({ "login": self.login, "password": self.password }))
            .send()
            .map_err(|e| TransportError::Network(e.to_string()))?;
        if !res.status().is_success() {
            return Err(TransportError::Rejected(format!(
                "sign-in of {} answered {}",
                self.login,
                res.status()
            )));
        }
        let body: Value = res
            .json()
            .map_err(|e| TransportError::Network(e.to_string()))?;
        self.token = body["access_token"].as_str().unwrap_or_default().to_owned();
        Ok(())
    }

    fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, TransportError> {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .map_err(|e| TransportError::Network(e.to_string()))?;
        let status = res.status().as_u16();
        let retry = retry_after(&res);
        let text = res
            .text()
            .map_err(|e| TransportError::Network(e.to_string()))?;
        if status != 200 {
            return Err(TransportError::from_status(status, &text, retry));
        }
        serde_json::from_str(&text)
            .map_err(|e| TransportError::Rejected(format!("unreadable answer ({e})")))
    }
}

/// The seconds a `Retry-After` header asks for; 1 when absent or unreadable.
fn retry_after(res: &reqwest::blocking::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

impl Transport for Http {
    fn push(&mut self, req: &PushRequest) -> Result<PushResponse, TransportError> {
        self.post("/api/v1/sync/push", req)
    }
    fn pull(&mut self, req: &PullRequest) -> Result<PullResponse, TransportError> {
        self.post("/api/v1/sync/pull", req)
    }
    fn put_blob(&mut self, sha256: &str, bytes: &[u8]) -> Result<(), TransportError> {
        let res = self
            .client
            .put(format!("{}/api/v1/blobs/{sha256}", self.base))
            .bearer_auth(&self.token)
            .body(bytes.to_vec())
            .send()
            .map_err(|e| TransportError::Network(e.to_string()))?;
        let status = res.status().as_u16();
        let retry = retry_after(&res);
        match status {
            200 | 201 => Ok(()),
            _ => Err(TransportError::from_status(
                status,
                &res.text().unwrap_or_default(),
                retry,
            )),
        }
    }
    fn refresh_auth(&mut self) -> Result<(), TransportError> {
        self.sign_in()
    }
}

/// A small PNG (a real header; the rest is the label) standing in for a photo.
fn photo(label: &str) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde".to_vec();
    b.extend_from_slice(label.as_bytes());
    b
}

/// A simulated officer's community: where its reports go.
struct Patch {
    code: String,
    boundary: Boundary,
    centre: LatLon,
}

/// Creates (or re-keys) the simulated officers and returns (login, community) pairs.
fn officers(conn: &mut DbConn, n: usize, password: &str) -> anyhow::Result<Vec<(String, Patch)>> {
    let mut patches = Vec::new();
    for c in store::all_communities(conn)? {
        let geo: Value = serde_json::from_str(&c.boundary).context("a stored boundary")?;
        let boundary = Boundary::from_geojson(&geo, Crs::Wgs84, "boundary")?;
        if let Some(centre) = boundary.centroid() {
            patches.push((c.code.clone(), boundary, centre));
        }
    }
    if patches.is_empty() {
        bail!("the district has no communities; run `patrol demo` first");
    }
    let hash = hash_blocking(password).map_err(|e| anyhow::anyhow!(e))?;
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let login = format!("sim.officer.{k}");
        let (code, boundary, centre) = patches[k % patches.len()].clone();
        match store::user_by_login(conn, &login)? {
            Some(u) => store::set_password_hash(conn, &u.id, &hash)?,
            None => {
                let new = NewUser::parse(&login, "officer", &format!("模拟队员 {k}"), None, None)?;
                let row = insert_staff(conn, new, hash.clone(), None)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                assign(conn, &row.id, &code, None, None).map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
        out.push((
            login,
            Patch {
                code,
                boundary,
                centre,
            },
        ));
    }
    Ok(out)
}

/// Runs the simulation and prints what it did.
pub fn run(cfg: &Config, args: &SimArgs) -> anyhow::Result<()> {
    let pool = db::connect(&cfg.database_url, 1)?;
    let mut conn = pool.get()?;
    let password = new_id();
    let fleet_accounts = officers(&mut conn, args.officers, &password)?;
    let category = store::categories(&mut conn, None)?
        .into_iter()
        .find(|c| c.active)
        .context("no active problem category")?
        .code;
    drop(conn);

    let dir = std::env::temp_dir().join(format!("patrol-sim-{}", new_id()));
    std::fs::create_dir_all(&dir)?;
    let client = reqwest::blocking::Client::new();
    let mut members = Vec::with_capacity(fleet_accounts.len());
    let mut patches = Vec::with_capacity(fleet_accounts.len());
    for (k, (login, patch)) in fleet_accounts.into_iter().enumerate() {
        let mut http = Http {
            client: client.clone(),
            base: args.url.trim_end_matches('/').to_owned(),
            login,
            password: password.clone(),
            token: String::new(),
        };
        http.sign_in()
            .map_err(|e| anyhow::anyhow!("{e} (is the server running at {}?)", args.url))?;
        let path = dir.join(format!("officer-{k}.db"));
        let engine = Engine::open(
            &path.to_string_lossy(),
            EngineOptions {
                seed: args.seed.wrapping_add(k as u64),
                ..EngineOptions::default()
            },
        )?;
        members.push(Member::new(engine, http));
        patches.push(patch);
    }

    // Offline work in four stretches, as between basements: nothing is sent until the
    // fleet syncs, and later stretches work on what earlier syncs brought.
    let mut rng = Rng(args.seed.max(1));
    let mut queued = 0usize;
    let mut synced = std::time::Duration::ZERO;
    let mut totals = fleet::FleetReport::default();
    let stretch = args.ops.div_ceil(4).max(1);
    for op in 0..args.ops {
        let k = rng.below(members.len());
        let engine = &mut members[k].engine;
        let known = engine.ids("case")?;
        let roll = rng.below(100);
        if known.is_empty() || roll < 50 {
            let at = loop {
                let p = LatLon {
                    lat: patches[k].centre.lat + 0.002 * rng.unit(),
                    lon: patches[k].centre.lon + 0.002 * rng.unit(),
                };
                if patches[k].boundary.contains(&p) {
                    break p;
                }
            };
            let case_id = uuid::Uuid::now_v7().to_string();
            // Each report carries a photo: its record syncs first, the bytes follow.
            let hash = engine.add_photo(&photo(&case_id))?;
            engine.enqueue(
                "case.report",
                json!({"case_id": case_id, "category_code": category,
                       "description": format!("simulated report {op} in {}", patches[k].code),
                       "lat": at.lat, "lon": at.lon, "photos": [hash]}),
                None,
            )?;
        } else {
            let id = &known[rng.below(known.len())];
            if roll < 80 {
                engine.enqueue(
                    "case.comment",
                    json!({"case_id": id, "text": format!("simulated note {op}")}),
                    None,
                )?;
            } else {
                let rev = engine
                    .case(id)?
                    .and_then(|c| c["notes_rev"].as_i64())
                    .unwrap_or(0);
                engine.enqueue(
                    "case.update_fields",
                    json!({"case_id": id, "notes": {"value": format!("simulated notes {op}"), "base_rev": rev}}),
                    None,
                )?;
            }
        }
        queued += 1;
        if queued.is_multiple_of(stretch) || op + 1 == args.ops {
            let started = Instant::now();
            // Virtual time: a 30 s sync timer, up to an hour of it.
            let report = fleet::run(&mut members, 0, 3_600_000, 30_000)?;
            synced += started.elapsed();
            totals.rounds += report.rounds;
            totals.failed_rounds += report.failed_rounds;
            totals.outcomes += report.outcomes;
            totals.changes += report.changes;
            totals.uploads += report.uploads;
            if !report.quiescent {
                bail!("the fleet did not reach quiescence within an hour of virtual time");
            }
        }
    }
    let report = totals;
    let secs = synced.as_secs_f64().max(1e-9);
    #[allow(clippy::cast_precision_loss)] // counts, printed
    let rate = queued as f64 / secs;
    println!(
        "{} officers, {queued} offline operations queued; synced in {secs:.2} s \
         ({rate:.0} mutations/s): {} rounds ({} failed), {} outcomes, {} changes pulled, \
         {} photos uploaded; every phone quiescent",
        members.len(),
        report.rounds,
        report.failed_rounds,
        report.outcomes,
        report.changes,
        report.uploads,
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
