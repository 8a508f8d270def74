//! What every command shares: who is acting and from where ([`Ctx`]), what a command
//! returns ([`CommandResult`]), and the checks on arguments several commands take.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use patrol_domain::DomainError;
use patrol_domain::case::{Actor, CasePolicy};
use patrol_domain::role::{Role, Scope};
use serde_json::Value;

use crate::auth::AuthUser;
use crate::db::changes;
use crate::db::ids::{new_id, now_ms};
use crate::db::locator::Locator;
use crate::db::store::{self, CaseRow, ConflictRow};
use crate::db::{DbConn, StoreError};
use crate::infra::state::AppState;

/// Most photos (or evidence entries) one record may carry.
pub const MAX_PHOTOS: usize = 20;

/// Who is acting, what they may see, and where the command came from.
#[derive(Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub scope: Scope,
    /// The actor is the district joint-meeting office (its account's own flag).
    pub joint_office: bool,
    /// The actor is the city hotline's integration account (its account's own flag).
    pub hotline_intake: bool,
    pub locator: Arc<Locator>,
    /// `(client_id, mutation_id)` when the command arrived through sync.
    pub origin: Option<(String, i64)>,
    /// Device time of the intent: evidence only.
    pub observed_at: Option<DateTime<Utc>>,
    /// How visits are verified (configuration).
    pub visit_rules: patrol_domain::visit::VerificationRules,
    /// Visits a week needs and their minimum spacing (configuration): what counts and
    /// earns as one piece of work.
    pub compliance: patrol_domain::visit::CompliancePolicy,
    /// Follow-up window and report quota (configuration).
    pub policy: CasePolicy,
    /// The district's time zone: days and months are counted in it.
    pub tz: Tz,
}

impl Ctx {
    /// The context of `user` acting now, online (no sync origin, no device time).
    pub fn for_user(
        conn: &mut DbConn,
        state: &AppState,
        user: &AuthUser,
    ) -> Result<Ctx, StoreError> {
        let (joint_office, hotline_intake) = if user.role == Role::Department {
            store::user_by_id(conn, &user.id)?
                .map_or((false, false), |u| (u.joint_office, u.hotline_intake))
        } else {
            (false, false)
        };
        Ok(Ctx {
            actor: Actor {
                user_id: user.id.clone(),
                role: user.role,
            },
            scope: crate::commands::scope::scope_of(conn, user)?,
            joint_office,
            hotline_intake,
            locator: state.locator.get(conn)?,
            origin: None,
            observed_at: None,
            visit_rules: state.cfg.visit_rules.clone(),
            compliance: state.cfg.compliance.clone(),
            policy: state.cfg.case_policy,
            tz: crate::db::store::district_tz(conn)?,
        })
    }
}

/// Stored milliseconds as a UTC instant.
pub fn at_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A command that applied, with the record it wrote.
#[derive(Debug)]
pub struct Applied<T = CaseRow> {
    pub record: T,
    /// Set when the apply recorded a conflict (e.g. a concurrent edit).
    pub conflict: Option<ConflictRow>,
}

/// Store errors are transient or internal; domain errors are the command's refusal.
pub type CommandResult<T = CaseRow> = Result<Result<Applied<T>, DomainError>, StoreError>;

/// Photos are addressed by SHA-256 of their bytes, lowercase hex.
pub fn check_photo_hashes(field: &str, hashes: &[String]) -> Result<(), DomainError> {
    if hashes.len() > MAX_PHOTOS {
        return Err(DomainError::invalid(
            field,
            format!("at most {MAX_PHOTOS} photos"),
        ));
    }
    for (i, h) in hashes.iter().enumerate() {
        if h.len() != 64
            || !h
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DomainError::invalid(
                format!("{field}[{i}]"),
                "must be the SHA-256 of the photo as 64 lowercase hex digits",
            ));
        }
    }
    Ok(())
}

/// Records a conflict that a successful apply produced, and its change.
pub fn record_conflict(
    conn: &mut DbConn,
    ctx: &Ctx,
    kind: &str,
    entity: &str,
    entity_id: &str,
    community_id: Option<&str>,
    detail: Value,
) -> Result<ConflictRow, StoreError> {
    let row = ConflictRow {
        id: new_id(),
        kind: kind.into(),
        entity: entity.into(),
        entity_id: entity_id.into(),
        community_id: community_id.map(str::to_owned),
        user_id: Some(ctx.actor.user_id.clone()),
        client_id: ctx.origin.as_ref().map(|(c, _)| c.clone()),
        mutation_id: ctx.origin.as_ref().map(|(_, m)| *m),
        detail: detail.to_string(),
        created_at: now_ms(),
    };
    store::insert_conflict(conn, &row)?;
    changes::conflict_recorded(conn, &row)?;
    Ok(row)
}
