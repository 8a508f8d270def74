//! Background jobs. Every server runs the scheduler; each run of a job for a period is
//! claimed in the database first (`job_runs`, unique per job and period), so however many
//! servers share a database, one of them does the work. A claim holds a lease: if its
//! server dies mid-run, another takes the period over when the lease runs out.

use std::time::Duration;

use actix_web::web;

use crate::db::ids::{new_id, now_ms};
use crate::db::{DbConn, StoreResult, store};
use crate::infra::error::ApiError;
use crate::infra::state::AppState;

/// Removes refresh tokens and one-time codes that can never be used again.
pub const PURGE_CREDENTIALS: &str = "purge_expired_credentials";

const HOUR_MS: i64 = 3_600_000;
const LEASE_MS: i64 = 10 * 60 * 1000;

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

/// Deletes photos no record references once their grace period is over.
pub const PURGE_PHOTOS: &str = "purge_unreferenced_photos";

/// Claims and runs one hourly period of the photo clean-up. Returns how many photos it
/// deleted, or `None` when another server has the period.
pub fn run_photo_purge(
    conn: &mut DbConn,
    worker: &str,
    now: i64,
    grace: Duration,
    blobs: &dyn crate::infra::blobs::BlobStore,
) -> Result<Option<usize>, ApiError> {
    let period = hour_period(now);
    if !store::claim_job(conn, PURGE_PHOTOS, &period, worker, now, LEASE_MS)? {
        return Ok(None);
    }
    let cutoff = now - i64::try_from(grace.as_millis()).unwrap_or(i64::MAX / 2);
    let mut purged = 0;
    // Batches keep each pass short; a backlog is worked through in one run.
    loop {
        let n = crate::commands::photos::purge_unreferenced(conn, blobs, cutoff, 200)?;
        purged += n;
        if n < 200 {
            break;
        }
    }
    store::finish_job(
        conn,
        PURGE_PHOTOS,
        &period,
        worker,
        now_ms(),
        &format!("removed {purged} unreferenced photos"),
    )?;
    tracing::info!(job = PURGE_PHOTOS, job.photos = purged, "job ran");
    Ok(Some(purged))
}

/// Awards (or deducts) the twice-weekly points of the week that just ended.
pub const WEEKLY_COMPLIANCE: &str = "weekly_compliance_points";

/// Claims and runs the week before `now` (in the district's zone): every officer ×
/// community judged that week earns `weekly_compliance_met` or `weekly_compliance_missed`,
/// keyed by officer, community and week, so a rerun never awards twice.
pub fn run_weekly_compliance(
    conn: &mut DbConn,
    worker: &str,
    now: i64,
    policy: &patrol_domain::visit::CompliancePolicy,
) -> StoreResult<bool> {
    use chrono::TimeZone;
    let tz = crate::db::store::district_tz(conn)?;
    let at = chrono::Utc
        .timestamp_millis_opt(now)
        .single()
        .unwrap_or_default()
        - chrono::Duration::days(7);
    let week = patrol_domain::visit::week_of(at, tz);
    let period = week.to_string();
    if !store::claim_job(conn, WEEKLY_COMPLIANCE, &period, worker, now, LEASE_MS)? {
        return Ok(false);
    }
    let mut awarded = 0;
    for row in crate::commands::visits::compliance(conn, week, tz, policy, None, None)? {
        if row.required == 0 {
            continue;
        }
        let source = format!("{}:{}:{}", row.officer_id, row.community_code, row.week);
        let rule = if row.compliant {
            "weekly_compliance_met"
        } else {
            "weekly_compliance_missed"
        };
        crate::commands::points::award(
            conn,
            &crate::commands::points::Award {
                officer_id: &row.officer_id,
                rule_code: rule,
                source_kind: "compliance",
                source_id: &source,
                actor_id: None,
                note: "",
                points: None,
            },
        )?;
        awarded += 1;
    }
    store::finish_job(
        conn,
        WEEKLY_COMPLIANCE,
        &period,
        worker,
        now_ms(),
        &format!("{awarded} judgements awarded"),
    )?;
    tracing::info!(job = WEEKLY_COMPLIANCE, job.week = %period, job.awarded = awarded, "job ran");
    Ok(true)
}

/// What every server tends for itself, whether or not it runs the shared jobs: its
/// in-memory rate limiters (forgetting keys whose window has passed) and the partial
/// uploads staged on its own disk. Wakes every minute.
pub async fn tend_forever(state: web::Data<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        state.limiters.shrink();
        let (staging, grace) = (
            state.blob_staging.clone(),
            state.cfg.photo_quota.partial_grace,
        );
        match state.run_io(move || staging.sweep(grace)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(job.partial_uploads = n, "abandoned uploads removed"),
            Err(e) => tracing::warn!(error = %e, "sweeping partial uploads failed"),
        }
    }
}

/// The scheduler loop: wakes every minute and tries each job's current period.
pub async fn run_forever(state: web::Data<AppState>) {
    let worker = new_id();
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let w = worker.clone();
        let result = state
            .run_db(move |conn| run_purge(conn, &w, now_ms()).map_err(ApiError::from))
            .await;
        state.metrics.observe_job(PURGE_CREDENTIALS, result.is_ok());
        if let Err(e) = result {
            tracing::warn!(error = %e, job = PURGE_CREDENTIALS, "job failed; will retry");
        }
        let (w, policy) = (worker.clone(), state.cfg.compliance.clone());
        let result = state
            .run_db(move |conn| {
                run_weekly_compliance(conn, &w, now_ms(), &policy).map_err(ApiError::from)
            })
            .await;
        state.metrics.observe_job(WEEKLY_COMPLIANCE, result.is_ok());
        if let Err(e) = result {
            tracing::warn!(error = %e, job = WEEKLY_COMPLIANCE, "job failed; will retry");
        }
        let (w, grace, blobs) = (
            worker.clone(),
            state.cfg.photo_quota.unreferenced_grace,
            state.blob_store.clone(),
        );
        let result = state
            .run_db(move |conn| run_photo_purge(conn, &w, now_ms(), grace, blobs.as_ref()))
            .await;
        state.metrics.observe_job(PURGE_PHOTOS, result.is_ok());
        if let Err(e) = result {
            tracing::warn!(error = %e, job = PURGE_PHOTOS, "job failed; will retry");
        }
        let (w, days) = (worker.clone(), state.cfg.change_log_days);
        let result = state
            .run_db(move |conn| {
                crate::sync::retention::run(conn, &w, now_ms(), days).map_err(ApiError::from)
            })
            .await;
        state
            .metrics
            .observe_job(crate::sync::retention::COMPACT_CHANGE_LOG, result.is_ok());
        if let Err(e) = result {
            tracing::warn!(error = %e, job = crate::sync::retention::COMPACT_CHANGE_LOG, "job failed; will retry");
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
