//! Change-log retention. A record's new state replaces its older rows when written, but
//! deletions and the positions devices hold would otherwise stay forever; a daily job
//! compacts the log: each record whose latest change is older than the retention
//! period has that latest state appended again (so a fresh install still receives every
//! record), then every row older than the period is deleted and the position of the last
//! deleted row becomes the *horizon*. A device whose cursor is behind the horizon may have
//! missed changes that no longer exist, so its next pull answers `reset: true`: it drops
//! its synced data (never its queue) and pulls everything again.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

use crate::db::ids::now_ms;
use crate::db::{DbConn, StoreError, StoreResult, store, write_tx};

/// The daily compaction job.
pub const COMPACT_CHANGE_LOG: &str = "compact_change_log";
const HORIZON: &str = "change_log_horizon";
const DAY_MS: i64 = 86_400_000;
const LEASE_MS: i64 = 30 * 60 * 1000;

/// What one compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compaction {
    /// Latest states appended again.
    pub reappended: usize,
    /// Rows deleted.
    pub deleted: usize,
    /// The horizon after the run, as `(commit_seq, seq)`.
    pub horizon: Option<(i64, i64)>,
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Nullable<BigInt>)]
    commit_seq: Option<i64>,
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// Placeholders differ: `?` on SQLite, `$n` on PostgreSQL.
fn sql(conn: &DbConn, text: &str) -> String {
    match conn {
        DbConn::Sqlite(_) => text.to_owned(),
        DbConn::Pg(_) => {
            let mut out = String::with_capacity(text.len());
            let mut n = 0;
            for ch in text.chars() {
                if ch == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(ch);
                }
            }
            out
        }
    }
}

/// The current horizon, if the log was ever compacted.
pub fn horizon(conn: &mut DbConn) -> StoreResult<Option<(i64, i64)>> {
    Ok(store::meta_get(conn, HORIZON)?.and_then(|v| {
        let (c, s) = v.split_once(':')?;
        Some((c.parse().ok()?, s.parse().ok()?))
    }))
}

/// Compacts away every row that changed before `cutoff` (ms), in one transaction.
pub fn compact(conn: &mut DbConn, cutoff: i64) -> StoreResult<Compaction> {
    write_tx(conn, |conn| -> StoreResult<Compaction> {
        // Only stamped rows: a row whose transaction has not committed has no place yet.
        let last: Option<Position> = diesel::sql_query(sql(
            conn,
            "SELECT commit_seq, seq FROM change_log \
             WHERE changed_at < ? AND commit_seq IS NOT NULL \
             ORDER BY commit_seq DESC, seq DESC LIMIT 1",
        ))
        .bind::<BigInt, _>(cutoff)
        .get_result(conn)
        .optional()?;
        let Some(Position {
            commit_seq: Some(commit),
            seq,
        }) = last
        else {
            return Ok(Compaction {
                horizon: horizon(conn)?,
                ..Compaction::default()
            });
        };
        // Latest upserts that are about to go: append them again. Deletions need no copy:
        // a device behind the horizon resets, one past it has seen them.
        let reappended = diesel::sql_query(sql(
            conn,
            "INSERT INTO change_log (community_id, user_id, entity, entity_id, op, payload, \
             changed_at) \
             SELECT c.community_id, c.user_id, c.entity, c.entity_id, c.op, c.payload, ? \
             FROM change_log c \
             WHERE c.op = 'upsert' AND c.commit_seq IS NOT NULL \
             AND (c.commit_seq, c.seq) <= (?, ?) \
             AND NOT EXISTS (SELECT 1 FROM change_log n \
                 WHERE n.entity = c.entity AND n.entity_id = c.entity_id AND n.seq > c.seq) \
             ORDER BY c.seq",
        ))
        .bind::<BigInt, _>(now_ms())
        .bind::<BigInt, _>(commit)
        .bind::<BigInt, _>(seq)
        .execute(conn)?;
        let deleted = diesel::sql_query(sql(
            conn,
            "DELETE FROM change_log WHERE commit_seq IS NOT NULL AND (commit_seq, seq) <= (?, ?)",
        ))
        .bind::<BigInt, _>(commit)
        .bind::<BigInt, _>(seq)
        .execute(conn)?;
        let new = match horizon(conn)? {
            Some(old) if old >= (commit, seq) => old,
            _ => (commit, seq),
        };
        let value = format!("{}:{}", new.0, new.1);
        if store::meta_get(conn, HORIZON)?.is_some() {
            store::meta_set(conn, HORIZON, &value)?;
        } else {
            store::meta_insert(conn, HORIZON, &value)?;
        }
        Ok(Compaction {
            reappended,
            deleted,
            horizon: Some(new),
        })
    })
}

/// Claims today's compaction and runs it with `retention_days`. Returns whether this
/// server ran it.
pub fn run(
    conn: &mut DbConn,
    worker: &str,
    now: i64,
    retention_days: u32,
) -> Result<bool, StoreError> {
    let period = format!("d{}", now.div_euclid(DAY_MS));
    if !store::claim_job(conn, COMPACT_CHANGE_LOG, &period, worker, now, LEASE_MS)? {
        return Ok(false);
    }
    let cutoff = now.saturating_sub(i64::from(retention_days).saturating_mul(DAY_MS));
    let done = compact(conn, cutoff)?;
    store::finish_job(
        conn,
        COMPACT_CHANGE_LOG,
        &period,
        worker,
        now_ms(),
        &format!(
            "re-appended {} latest states, deleted {} rows",
            done.reappended, done.deleted
        ),
    )?;
    tracing::info!(
        job = COMPACT_CHANGE_LOG,
        job.reappended = done.reappended,
        job.deleted = done.deleted,
        "job ran"
    );
    Ok(true)
}
