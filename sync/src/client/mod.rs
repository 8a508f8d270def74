//! The reference client engine: what the tests use to play phones, and what a mobile team
//! would embed or port.
//!
//! One SQLite file holds the mutation queue, the replica of the server's records, the pull
//! cursor, the conflicts received and the photos still to upload. Every step that matters is persisted before it is
//! acknowledged: [`Engine::enqueue`] returns only once the mutation is on disk, and a pull
//! page is applied with its cursor in one local transaction, so a crash at any point
//! leaves either the old state or the new one, never half a page.
//!
//! The engine owns no clock and no thread: [`Engine::sync`] is one blocking round against
//! a [`Transport`], and [`Engine::next_attempt_at`] tells the caller when to try again
//! after failures (exponential, capped, jittered by a seeded generator), so a simulation
//! with a virtual clock is deterministic.

pub mod fleet;
mod store;
mod transport;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Nullable, Text};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::protocol::{
    ChangeOp, MAX_BATCH, Mutation, MutationEnvelope, MutationResult, PROTOCOL_VERSION, PullRequest,
    PullResponse, PushRequest, PushResponse,
};
pub use store::QueueRow;
pub use transport::{Transport, TransportError};

/// What can go wrong in the engine itself.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("local store: {0}")]
    Store(#[from] diesel::result::Error),
    #[error("opening the local store: {0}")]
    Open(#[from] diesel::ConnectionError),
    #[error("local data: {0}")]
    Json(#[from] serde_json::Error),
    /// The mutation does not pass the catalogue's checks; nothing was queued.
    #[error("invalid mutation: {0}")]
    Invalid(String),
    /// The server sent something this engine cannot apply; the page was not applied.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The round stopped on a transport failure; the queue is intact.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
}

/// Tuning for one engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Seeds the backoff jitter, so a simulation replays exactly.
    pub seed: u64,
    /// Changes asked for per pull page.
    pub page_limit: u32,
    /// Mutations per push (at most the protocol's `MAX_BATCH`).
    pub batch: usize,
    /// First retry delay after a failure, in milliseconds.
    pub backoff_base_ms: i64,
    /// Longest retry delay, in milliseconds.
    pub backoff_cap_ms: i64,
    /// Pages one `sync` pulls at most before returning (the next round continues).
    pub max_pages: usize,
    /// Wait for the disk on every commit (`synchronous = FULL`). Turn off only where a
    /// "crash" is a process restart, as in simulations.
    pub durable: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            seed: 0,
            page_limit: 200,
            batch: MAX_BATCH,
            backoff_base_ms: 1_000,
            backoff_cap_ms: 5 * 60_000,
            max_pages: 1_000,
            durable: true,
        }
    }
}

/// What one successful round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Outcomes received from pushes this round.
    pub outcomes: usize,
    /// Changes applied from pulls this round.
    pub changes: usize,
    /// Photos whose bytes the server confirmed this round.
    pub uploads: usize,
    /// Nothing left to push or upload, and the last page said `has_more: false`.
    pub complete: bool,
}

/// A mutation's local status with its stored result once known.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedMutation {
    pub id: u64,
    pub name: String,
    pub args: Value,
    /// `pending`, `acknowledged` (the server has it, outcome not fetched yet), `applied`,
    /// `applied_with_conflict` or `rejected`.
    pub status: String,
    pub result: Option<MutationResult>,
}

/// Small deterministic generator for jitter (SplitMix64): no dependency, same sequence on
/// every platform.
#[derive(Debug, Clone)]
struct Jitter(u64);

impl Jitter {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// One install's sync state, backed by its SQLite file.
pub struct Engine {
    conn: SqliteConnection,
    client_id: String,
    opts: EngineOptions,
    jitter: Jitter,
    failures: u32,
    next_at: i64,
}

const META_CLIENT: &str = "client_id";
const META_CURSOR: &str = "cursor";
const META_LAST_ACKED: &str = "last_acked_mutation_id";
const META_EPOCH: &str = "server_epoch";

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Engine {
    /// Opens (or creates) the engine's file. A new file gets a fresh client id; an existing
    /// one restores its queue, replica and cursor (a restart).
    pub fn open(path: &str, opts: EngineOptions) -> Result<Engine, ClientError> {
        let mut conn = store::open(path, opts.durable)?;
        let client_id = match store::meta_get(&mut conn, META_CLIENT)? {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::now_v7().to_string();
                store::meta_set(&mut conn, META_CLIENT, &id)?;
                id
            }
        };
        Ok(Engine {
            conn,
            client_id,
            jitter: Jitter(opts.seed),
            opts,
            failures: 0,
            next_at: i64::MIN,
        })
    }

    /// This install's id, sent with every request.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The stored pull cursor.
    pub fn cursor(&mut self) -> Result<Option<String>, ClientError> {
        store::meta_get(&mut self.conn, META_CURSOR)
    }

    /// The server epoch of the last page applied.
    pub fn server_epoch(&mut self) -> Result<Option<String>, ClientError> {
        store::meta_get(&mut self.conn, META_EPOCH)
    }

    /// Queues a mutation and returns its id once it is on disk. Arguments are checked
    /// against the catalogue first, so the queue never holds something that cannot parse.
    pub fn enqueue(
        &mut self,
        name: &str,
        args: Value,
        observed_at: Option<DateTime<Utc>>,
    ) -> Result<u64, ClientError> {
        Mutation::parse(name, &args).map_err(|e| ClientError::Invalid(e.to_string()))?;
        let args = serde_json::to_string(&args)?;
        let observed = observed_at.map(|t| t.to_rfc3339());
        self.conn.immediate_transaction(|conn| {
            let id = store::scalar(conn, "SELECT MAX(id) AS n FROM queue")?.unwrap_or(0) + 1;
            diesel::sql_query(
                "INSERT INTO queue (id, name, args, observed_at, status, result) \
                 VALUES (?, ?, ?, ?, 'pending', NULL)",
            )
            .bind::<BigInt, _>(id)
            .bind::<Text, _>(name)
            .bind::<Text, _>(&args)
            .bind::<Nullable<Text>, _>(&observed)
            .execute(conn)?;
            Ok(to_u64(id))
        })
    }

    /// The whole queue, oldest first, with outcomes where known.
    pub fn queue(&mut self) -> Result<Vec<QueuedMutation>, ClientError> {
        store::queue_where(&mut self.conn, "id > ?", 0, i64::MAX)?
            .into_iter()
            .map(|r| {
                Ok(QueuedMutation {
                    id: to_u64(r.id),
                    name: r.name,
                    args: serde_json::from_str(&r.args)?,
                    status: r.status,
                    result: r.result.as_deref().map(serde_json::from_str).transpose()?,
                })
            })
            .collect()
    }

    /// Keeps a photo taken on this device until its bytes are uploaded, and returns its
    /// SHA-256: the reference records carry (records sync first, bytes follow). On disk
    /// before it returns; the same photo added twice is kept once.
    pub fn add_photo(&mut self, bytes: &[u8]) -> Result<String, ClientError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        diesel::sql_query(
            "INSERT INTO photos_out (sha256, bytes, status) VALUES (?, ?, 'pending') \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind::<Text, _>(&sha256)
        .bind::<Binary, _>(bytes)
        .execute(&mut self.conn)?;
        Ok(sha256)
    }

    /// Photos added on this device by status (`pending`, `uploaded`, `refused`).
    pub fn photos(&mut self) -> Result<BTreeMap<String, String>, ClientError> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            sha256: String,
            #[diesel(sql_type = Text)]
            status: String,
        }
        let rows: Vec<Row> =
            diesel::sql_query("SELECT sha256, status FROM photos_out").load(&mut self.conn)?;
        Ok(rows.into_iter().map(|r| (r.sha256, r.status)).collect())
    }

    /// Mutations still waiting for their outcome.
    pub fn unfinished(&mut self) -> Result<usize, ClientError> {
        let n = store::scalar(
            &mut self.conn,
            "SELECT COUNT(*) AS n FROM queue WHERE status IN ('pending', 'acknowledged')",
        )?;
        Ok(usize::try_from(n.unwrap_or(0)).unwrap_or(0))
    }

    /// The replica: `(entity, id) -> data`.
    pub fn replica(&mut self) -> Result<BTreeMap<(String, String), Value>, ClientError> {
        store::replica_all(&mut self.conn)?
            .into_iter()
            .map(|r| Ok(((r.entity, r.id), serde_json::from_str(&r.data)?)))
            .collect()
    }

    /// Ids of the synced records of one kind (`case`, `whistle`...), in id order: what a
    /// list screen shows before opening one with [`Engine::case`].
    pub fn ids(&mut self, entity: &str) -> Result<Vec<String>, ClientError> {
        store::replica_ids(&mut self.conn, entity)
    }

    /// Conflicts received, from push results and from pulls, by conflict id.
    pub fn conflicts(&mut self) -> Result<BTreeMap<String, Value>, ClientError> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            id: String,
            #[diesel(sql_type = Text)]
            data: String,
        }
        let rows: Vec<Row> =
            diesel::sql_query("SELECT id, data FROM conflicts ORDER BY id").load(&mut self.conn)?;
        rows.into_iter()
            .map(|r| Ok((r.id, serde_json::from_str(&r.data)?)))
            .collect()
    }

    /// A case as the officer should see it: the replica's state with the edits still
    /// pending on this device applied on top, or a provisional case for a pending report.
    pub fn case(&mut self, id: &str) -> Result<Option<Value>, ClientError> {
        let mut case = match store::replica_get(&mut self.conn, "case", id)? {
            Some(r) => Some(serde_json::from_str::<Value>(&r.data)?),
            None => None,
        };
        for m in store::queue_where(&mut self.conn, "status = 'pending' AND id > ?", 0, i64::MAX)? {
            let args: Value = serde_json::from_str(&m.args)?;
            if args.get("case_id").and_then(Value::as_str) != Some(id) {
                continue;
            }
            match (m.name.as_str(), case.as_mut()) {
                ("case.report", None) => {
                    case = Some(serde_json::json!({
                        "id": id,
                        "status": "pending_upload",
                        "provisional": true,
                        "description": args.get("description").cloned().unwrap_or(Value::Null),
                        "lat": args.get("lat").cloned().unwrap_or(Value::Null),
                        "lon": args.get("lon").cloned().unwrap_or(Value::Null),
                        "notes": "",
                    }));
                }
                ("case.update_fields", Some(c)) => {
                    for field in ["description", "notes"] {
                        if let Some(v) = args.get(field).and_then(|e| e.get("value")) {
                            c[field] = v.clone();
                        }
                    }
                    if let Some(p) = args.get("priority").filter(|p| !p.is_null()) {
                        c["priority"] = p.clone();
                    }
                }
                ("case.transition", Some(c)) => {
                    // The status stays the server's (a command may still be refused); the
                    // view says a command is on its way.
                    let cmd = args.get("command").cloned().unwrap_or(Value::Null);
                    match c.get_mut("pending_commands").and_then(Value::as_array_mut) {
                        Some(list) => list.push(cmd),
                        None => c["pending_commands"] = Value::Array(vec![cmd]),
                    }
                }
                _ => {}
            }
        }
        Ok(case)
    }

    /// When the caller should run the next round: `now` unless recent rounds failed.
    pub fn next_attempt_at(&self, now_ms: i64) -> i64 {
        now_ms.max(self.next_at)
    }

    /// Consecutive failed rounds.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn failed(&mut self, now_ms: i64, e: &TransportError) {
        self.failures = self.failures.saturating_add(1);
        let exp = self
            .opts
            .backoff_base_ms
            .saturating_mul(1i64 << self.failures.min(20).saturating_sub(1))
            .min(self.opts.backoff_cap_ms)
            .max(1);
        // "Equal jitter": at least half the delay, so retries spread out but still back off.
        let half = exp / 2;
        let spread = u64::try_from(half).unwrap_or(0).saturating_add(1);
        let jitter = i64::try_from(self.jitter.next() % spread).unwrap_or(0);
        let mut delay = half + jitter;
        if let TransportError::RetryAfter(secs) = e {
            delay = delay.max(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX));
        }
        self.next_at = now_ms.saturating_add(delay);
    }

    /// One round: push everything pending, then pull until the server has nothing more.
    /// On a transport failure the round stops, the failure counts towards the backoff and
    /// the queue stays as it is; rerunning later resumes where it stopped.
    pub fn sync(&mut self, t: &mut impl Transport, now_ms: i64) -> Result<SyncReport, ClientError> {
        match self.round(t) {
            Ok(report) => {
                self.failures = 0;
                self.next_at = i64::MIN;
                Ok(report)
            }
            Err(ClientError::Transport(e)) => {
                self.failed(now_ms, &e);
                Err(ClientError::Transport(e))
            }
            Err(e) => Err(e),
        }
    }

    fn round(&mut self, t: &mut impl Transport) -> Result<SyncReport, ClientError> {
        let outcomes = self.push_all(t)?;
        let (changes, more) = self.pull_all(t)?;
        // Bytes last: the records that reference them are already on the server, and a
        // slow upload must not hold back the officer's other work.
        let uploads = self.upload_photos(t)?;
        Ok(SyncReport {
            outcomes,
            changes,
            uploads,
            complete: !more && self.unfinished()? == 0 && self.photos_pending()? == 0,
        })
    }

    fn photos_pending(&mut self) -> Result<i64, ClientError> {
        Ok(store::scalar(
            &mut self.conn,
            "SELECT COUNT(*) AS n FROM photos_out WHERE status = 'pending'",
        )?
        .unwrap_or(0))
    }

    /// Uploads pending photos one at a time, oldest hash order. A confirmed upload drops
    /// the bytes; a permanent refusal (the bytes do not match their hash, are no photo, or
    /// are too large) is kept with its reason, never retried; anything else stops the
    /// round and the photo is tried again next time. Uploading twice is harmless.
    fn upload_photos(&mut self, t: &mut impl Transport) -> Result<usize, ClientError> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            sha256: String,
            #[diesel(sql_type = Binary)]
            bytes: Vec<u8>,
        }
        let mut uploaded = 0;
        loop {
            let next: Option<Row> = diesel::sql_query(
                "SELECT sha256, bytes FROM photos_out WHERE status = 'pending' \
                 ORDER BY sha256 LIMIT 1",
            )
            .get_result(&mut self.conn)
            .optional()?;
            let Some(photo) = next else {
                return Ok(uploaded);
            };
            let (status, reason) = match call(t, |t| t.put_blob(&photo.sha256, &photo.bytes)) {
                Ok(()) => ("uploaded", None),
                Err(TransportError::Rejected(reason)) => ("refused", Some(reason)),
                Err(e) => return Err(e.into()),
            };
            diesel::sql_query(
                "UPDATE photos_out SET status = ?, reason = ?, \
                 bytes = CASE WHEN ? = 'uploaded' THEN x'' ELSE bytes END WHERE sha256 = ?",
            )
            .bind::<Text, _>(status)
            .bind::<Nullable<Text>, _>(reason)
            .bind::<Text, _>(status)
            .bind::<Text, _>(&photo.sha256)
            .execute(&mut self.conn)?;
            uploaded += usize::from(status == "uploaded");
        }
    }

    fn push_all(&mut self, t: &mut impl Transport) -> Result<usize, ClientError> {
        let mut outcomes = 0;
        // A stale or empty answer makes no progress; give up the round after a few rather
        // than spin, and let the backoff decide when to come back.
        let mut stalls = 0;
        loop {
            let from = self.last_acked()?;
            let rows = store::queue_where(
                &mut self.conn,
                "id > ?",
                to_i64(from),
                i64::try_from(self.opts.batch.clamp(1, MAX_BATCH)).unwrap_or(1),
            )?;
            if rows.is_empty() {
                return Ok(outcomes);
            }
            let req = PushRequest {
                client_id: self.client_id.clone(),
                protocol_version: PROTOCOL_VERSION,
                mutations: rows
                    .iter()
                    .map(|r| {
                        Ok(MutationEnvelope {
                            id: to_u64(r.id),
                            name: r.name.clone(),
                            args: serde_json::from_str(&r.args)?,
                            observed_at: r
                                .observed_at
                                .as_deref()
                                .map(DateTime::parse_from_rfc3339)
                                .transpose()
                                .map_err(|e| ClientError::Malformed(e.to_string()))?
                                .map(|t| t.with_timezone(&Utc)),
                        })
                    })
                    .collect::<Result<_, ClientError>>()?,
            };
            match call(t, |t| t.push(&req)) {
                Ok(resp) => {
                    let n = self.record_push(&resp)?;
                    outcomes += n;
                    if self.last_acked()? == from {
                        stalls += 1;
                        if stalls >= 3 {
                            return Err(TransportError::Network(
                                "push answers make no progress".into(),
                            )
                            .into());
                        }
                    } else {
                        stalls = 0;
                    }
                }
                Err(TransportError::Gap { expected }) => self.rewind(expected)?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The last id such that it and every id before it have their outcome.
    fn last_acked(&mut self) -> Result<u64, ClientError> {
        Ok(store::meta_get(&mut self.conn, META_LAST_ACKED)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Recomputes the last acknowledged id from the queue and stores it.
    fn settle_acked(conn: &mut SqliteConnection) -> Result<(), ClientError> {
        let first_open = store::scalar(
            conn,
            "SELECT MIN(id) AS n FROM queue WHERE status IN ('pending', 'acknowledged')",
        )?;
        let last = match first_open {
            Some(id) => id - 1,
            None => store::scalar(conn, "SELECT MAX(id) AS n FROM queue")?.unwrap_or(0),
        };
        store::meta_set(conn, META_LAST_ACKED, &last.to_string())
    }

    /// Records every result of a push answer: each is final (the server stores it and
    /// returns it unchanged on replay), so results of older batches arriving late are as
    /// good as fresh ones. Nothing is dropped: each result and its conflict are kept.
    fn record_push(&mut self, resp: &PushResponse) -> Result<usize, ClientError> {
        self.conn.immediate_transaction(|conn| {
            let mut n = 0;
            for r in &resp.results {
                let json = serde_json::to_string(r)?;
                n += diesel::sql_query(
                    "UPDATE queue SET status = ?, result = ? WHERE id = ? \
                     AND status IN ('pending', 'acknowledged')",
                )
                .bind::<Text, _>(r.outcome.as_str())
                .bind::<Text, _>(&json)
                .bind::<BigInt, _>(to_i64(r.mutation_id))
                .execute(conn)?;
                if let Some(c) = &r.conflict {
                    diesel::sql_query(
                        "INSERT INTO conflicts (id, mutation_id, data) VALUES (?, ?, ?) \
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind::<Text, _>(&c.id)
                    .bind::<Nullable<BigInt>, _>(Some(to_i64(r.mutation_id)))
                    .bind::<Text, _>(serde_json::to_string(c)?)
                    .execute(conn)?;
                }
            }
            Self::settle_acked(conn)?;
            Ok(n)
        })
    }

    /// The server expects an earlier id than we sent: it lost what came after (restored
    /// from a backup). Those mutations are pending again and are sent from `expected`.
    fn rewind(&mut self, expected: u64) -> Result<(), ClientError> {
        let max = store::scalar(&mut self.conn, "SELECT MAX(id) AS n FROM queue")?.unwrap_or(0);
        if expected == 0 || to_i64(expected) > max + 1 {
            return Err(TransportError::Rejected(format!(
                "the server expects mutation {expected}, but this device has only queued {max}"
            ))
            .into());
        }
        self.conn.immediate_transaction(|conn| {
            diesel::sql_query("UPDATE queue SET status = 'pending' WHERE id >= ?")
                .bind::<BigInt, _>(to_i64(expected))
                .execute(conn)?;
            Self::settle_acked(conn)
        })
    }

    /// Pulls pages until `has_more` is false (or the page budget is spent). Returns the
    /// changes applied and whether more remain.
    fn pull_all(&mut self, t: &mut impl Transport) -> Result<(usize, bool), ClientError> {
        let mut total = 0;
        for _ in 0..self.opts.max_pages.max(1) {
            let req = PullRequest {
                client_id: self.client_id.clone(),
                protocol_version: PROTOCOL_VERSION,
                cursor: self.cursor()?,
                limit: Some(self.opts.page_limit),
            };
            let page = call(t, |t| t.pull(&req))?;
            if page.after != req.cursor {
                // A late answer to an earlier request: applying it could move the cursor
                // past rows this device never received. Drop it; the next round asks again.
                return Err(TransportError::Network(
                    "a pull answer arrived for another request; ignored".into(),
                )
                .into());
            }
            total += page.changes.len();
            self.apply_page(&page)?;
            if !page.has_more {
                return Ok((total, false));
            }
        }
        Ok((total, true))
    }

    /// Applies one page and its cursor in one local transaction: all or nothing.
    pub fn apply_page(&mut self, page: &PullResponse) -> Result<(), ClientError> {
        let client_id = self.client_id.clone();
        self.conn.immediate_transaction(|conn| {
            if page.reset {
                // Synced data only: the queue is the user's work and survives a reset.
                diesel::sql_query("DELETE FROM replica").execute(conn)?;
                diesel::sql_query("DELETE FROM personal").execute(conn)?;
            }
            for c in &page.dropped_communities {
                store::drop_community(conn, c)?;
            }
            for ch in &page.changes {
                match ch.op {
                    ChangeOp::Delete => {
                        diesel::sql_query("DELETE FROM replica WHERE entity = ? AND id = ?")
                            .bind::<Text, _>(&ch.entity)
                            .bind::<Text, _>(&ch.id)
                            .execute(conn)?;
                        store::set_personal(conn, &ch.entity, &ch.id, false)?;
                    }
                    ChangeOp::Upsert => {
                        let data = ch.data.as_ref().ok_or_else(|| {
                            ClientError::Malformed(format!(
                                "upsert of {} {} without data",
                                ch.entity, ch.id
                            ))
                        })?;
                        let text = serde_json::to_string(data)?;
                        diesel::sql_query(
                            "INSERT INTO replica (entity, id, data, community) VALUES (?, ?, ?, ?) \
                             ON CONFLICT (entity, id) DO UPDATE \
                             SET data = excluded.data, community = excluded.community",
                        )
                        .bind::<Text, _>(&ch.entity)
                        .bind::<Text, _>(&ch.id)
                        .bind::<Text, _>(&text)
                        .bind::<Nullable<Text>, _>(&ch.community_id)
                        .execute(conn)?;
                        // Once personal, a record stays so: its person does not change.
                        if ch.personal {
                            store::set_personal(conn, &ch.entity, &ch.id, true)?;
                        }
                        if ch.entity == "conflict" {
                            let mine = data.get("client_id").and_then(Value::as_str)
                                == Some(client_id.as_str());
                            let mutation = data
                                .get("mutation_id")
                                .and_then(Value::as_i64)
                                .filter(|_| mine);
                            diesel::sql_query(
                                "INSERT INTO conflicts (id, mutation_id, data) VALUES (?, ?, ?) \
                                 ON CONFLICT (id) DO NOTHING",
                            )
                            .bind::<Text, _>(&ch.id)
                            .bind::<Nullable<BigInt>, _>(mutation)
                            .bind::<Text, _>(&text)
                            .execute(conn)?;
                        }
                    }
                }
            }
            // The page's state includes every mutation up to `last_mutation_id`: they no
            // longer belong in the pending overlay. Their outcomes still come from a push.
            diesel::sql_query(
                "UPDATE queue SET status = 'acknowledged' WHERE status = 'pending' AND id <= ?",
            )
            .bind::<BigInt, _>(to_i64(page.last_mutation_id))
            .execute(conn)?;
            store::meta_set(conn, META_CURSOR, &page.cursor)?;
            store::meta_set(conn, META_EPOCH, &page.server_epoch)?;
            Ok(())
        })
    }
}

/// Sends one request, refreshing the token and replaying the same request after a 401.
fn call<T: Transport, R>(
    t: &mut T,
    mut f: impl FnMut(&mut T) -> Result<R, TransportError>,
) -> Result<R, TransportError> {
    let mut refreshed = 0;
    loop {
        match f(t) {
            Err(TransportError::Unauthorized) if refreshed < 2 => {
                refreshed += 1;
                t.refresh_auth()?;
            }
            other => return other,
        }
    }
}
