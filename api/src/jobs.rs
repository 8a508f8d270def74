//! Background jobs. Every server runs the scheduler; each run of a job for a period is
//! claimed in the database first (`job_runs`, unique per job and period), so however many
//! servers share a database, one of them does the work. A claim holds a lease: if its
//! server dies mid-run, another takes the period over when the lease runs out.

use std::time::Duration;

use actix_web::web;

use crate::db::{DbConn, StoreResult, store};
use crate::error::ApiError;
use crate::ids::{new_id, now_ms};
use crate::state::AppState;

/// Removes refresh tokens and one-time codes that can never be used again.
pub const PURGE_CREDENTIALS: &str = "purge_expired_credentials";

const HOUR_MS: i64 = 3_600_000;
const LEASE_MS: i64 = 10 * 60 * 1000;

/// Gives the database its server epoch on first start. A database restored from a backup
/// of another deployment keeps its own; sync uses the epoch to tell clients to reset.
pub fn ensure_server_epoch(conn: &mut DbConn) -> StoreResult<String> {
    if let Some(epoch) = store::meta_get(conn, "server_epoch")? {
        return Ok(epoch);
    }
    let epoch = new_id();
    match store::meta_insert(conn, "server_epoch", &epoch) {
        Ok(()) => Ok(epoch),
        // Another server inserted first: use theirs.
        Err(crate::db::StoreError::Duplicate { .. }) => {
            store::meta_get(conn, "server_epoch")?.ok_or(crate::db::StoreError::NotFound)
        }
        Err(e) => Err(e),
    }
}

/// The hourly period a time falls in, as a stable key.
pub fn hour_period(ms: i64) -> String {
    format!("h{}", ms.div_euclid(HOUR_MS))
}

/// Claims and runs one period of the credential purge. Returns whether this server ran it.
pub fn run_purge(conn: &mut DbConn, worker: &str, now: i64) -> StoreResult<bool> {
    let period = hour_period(now);
    if !store::claim_job(conn, PURGE_CREDENTIALS, &period, worker, now, LEASE_MS)? {
        return Ok(false);
    }
    let tokens = store::purge_expired_refresh_tokens(conn, now)?;
    let codes = store::purge_expired_otps(conn, now)?;
    store::finish_job(
        conn,
        PURGE_CREDENTIALS,
        &period,
        worker,
        now_ms(),
        &format!("removed {tokens} refresh tokens and {codes} codes"),
    )?;
    tracing::info!(
        job = PURGE_CREDENTIALS,
        job.tokens = tokens,
        job.codes = codes,
        "job ran"
    );
    Ok(true)
}

/// The scheduler loop: wakes every minute and tries each job's current period.
pub async fn run_forever(state: web::Data<AppState>) {
    let worker = new_id();
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        state.limiters.shrink();
        let w = worker.clone();
        let result = state
            .run_db(move |conn| run_purge(conn, &w, now_ms()).map_err(ApiError::from))
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, job = PURGE_CREDENTIALS, "job failed; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_whole_utc_hours() {
        assert_eq!(hour_period(0), "h0");
        assert_eq!(hour_period(HOUR_MS - 1), "h0");
        assert_eq!(hour_period(HOUR_MS), "h1");
    }
}
