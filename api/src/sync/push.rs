//! `POST /api/v1/sync/push`. Each mutation runs in its own write transaction together
//! with the record of its outcome and the client's new last id, so after any crash a
//! mutation is either fully applied and acknowledged or fully absent. A replay returns the
//! stored outcome; a gap is refused with the id expected; a permanent failure is recorded
//! as a rejection and the queue moves on; a transient one stops the batch (503).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use patrol_domain::DomainError;
use patrol_sync::SyncError;
use patrol_sync::protocol::{
    ConflictView, Mutation, MutationEnvelope, MutationResult, Outcome, PushRequest, PushResponse,
    Rejection, check_batch,
};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::commands::cases::{self};
use crate::commands::context::{self, Ctx};
use crate::commands::{diary, engagement, escalations, visits, whistles};
use crate::db::changes;
use crate::db::ids::now_ms;
use crate::db::schema::{sync_clients, sync_mutations};
use crate::db::store::ConflictRow;
use crate::db::{DbConn, StoreError, write_tx};
use crate::infra::error::ApiError;
use crate::infra::state::AppState;

/// A crash point between the steps of applying a mutation (tests only: the `failpoints`
/// feature). Configured with `return(<client id>)`, it fails that client's pushes at this
/// step as a transient database error would, so the transaction rolls back.
#[cfg(feature = "failpoints")]
fn crash_point(name: &str, client_id: &str) -> Result<(), StoreError> {
    match fail::eval(name, |arg| arg) {
        Some(Some(target)) if target == client_id => {
            Err(StoreError::Unavailable(format!("injected fault at {name}")))
        }
        _ => Ok(()),
    }
}

#[cfg(not(feature = "failpoints"))]
fn crash_point(_name: &str, _client_id: &str) -> Result<(), StoreError> {
    Ok(())
}

/// Why a push stopped before its end.
#[derive(Debug)]
pub enum PushStop {
    /// The first mutation not yet applied is not the next one.
    Gap { expected: u64 },
    /// The client id belongs to another account.
    ForeignClient,
}

#[derive(QueryableByName)]
struct LastId {
    #[diesel(sql_type = BigInt)]
    last_mutation_id: i64,
}

/// Registers a client install on its first push. Outside any transaction: a unique
/// violation here only means another request registered it first.
fn ensure_client(conn: &mut DbConn, client_id: &str, user_id: &str) -> Result<bool, StoreError> {
    if let Some((owner, _)) = client(conn, client_id)? {
        return Ok(owner == user_id);
    }
    let now = now_ms();
    let inserted = diesel::insert_into(sync_clients::table)
        .values((
            sync_clients::client_id.eq(client_id),
            sync_clients::user_id.eq(user_id),
            sync_clients::last_mutation_id.eq(0i64),
            sync_clients::created_at.eq(now),
            sync_clients::updated_at.eq(now),
        ))
        .execute(conn);
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(true),
        Err(StoreError::Duplicate { .. }) => {
            Ok(client(conn, client_id)?.is_some_and(|(owner, _)| owner == user_id))
        }
        Err(e) => Err(e),
    }
}

/// Reads the client's last applied id, locking its row on PostgreSQL so concurrent pushes
/// of the same client apply one after the other (SQLite's write lock already does).
fn lock_last_id(conn: &mut DbConn, client_id: &str) -> Result<u64, StoreError> {
    let sql = match conn {
        DbConn::Pg(_) => {
            "SELECT last_mutation_id FROM sync_clients WHERE client_id = $1 FOR UPDATE"
        }
        DbConn::Sqlite(_) => "SELECT last_mutation_id FROM sync_clients WHERE client_id = ?",
    };
    let row: LastId = diesel::sql_query(sql)
        .bind::<Text, _>(client_id)
        .get_result(conn)?;
    Ok(u64::try_from(row.last_mutation_id).unwrap_or(0))
}

/// A registered client's account and last applied mutation id, read without locking.
pub fn client(conn: &mut DbConn, client_id: &str) -> Result<Option<(String, u64)>, StoreError> {
    let row: Option<(String, i64)> = sync_clients::table
        .find(client_id)
        .select((sync_clients::user_id, sync_clients::last_mutation_id))
        .first(conn)
        .optional()?;
    Ok(row.map(|(owner, last)| (owner, u64::try_from(last).unwrap_or(0))))
}

fn stored_result(
    conn: &mut DbConn,
    client_id: &str,
    id: u64,
) -> Result<MutationResult, StoreError> {
    let json: String = sync_mutations::table
        .find((client_id, i64::try_from(id).unwrap_or(i64::MAX)))
        .select(sync_mutations::result)
        .first(conn)?;
    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn conflict_view(c: &ConflictRow) -> ConflictView {
    ConflictView {
        id: c.id.clone(),
        kind: c.kind.clone(),
        entity: c.entity.clone(),
        entity_id: c.entity_id.clone(),
        detail: serde_json::from_str(&c.detail).unwrap_or(Value::Null),
    }
}

fn rejection_of(e: &DomainError, current: Option<Value>) -> Rejection {
    let (code, field) = match e {
        DomainError::Invalid { field, .. } => ("invalid", Some(field.clone())),
        DomainError::NotFound { .. } => ("not_found", None),
        DomainError::Conflict { .. } => ("conflict", None),
        DomainError::Forbidden { .. } => ("forbidden", None),
        DomainError::Limited { .. } => ("limited", None),
    };
    Rejection {
        code: code.into(),
        message: e.to_string(),
        field,
        current,
    }
}

/// The case a mutation is about, its photos and its arguments (kept as evidence).
fn case_of(m: &Mutation) -> Option<(&str, Vec<String>)> {
    match m {
        Mutation::CaseReport(a) => Some((a.case_id.as_str(), a.photos.clone())),
        Mutation::CaseTransition(a) => Some((
            a.case_id.as_str(),
            match &a.command {
                patrol_domain::case::CaseCommand::Resolve { evidence, .. } => evidence.clone(),
                _ => Vec::new(),
            },
        )),
        Mutation::CaseUpdateFields(a) => Some((a.case_id.as_str(), Vec::new())),
        Mutation::CaseComment(a) => Some((a.case_id.as_str(), a.photos.clone())),
        Mutation::CaseEscalate(a) => Some((a.case_id.as_str(), Vec::new())),
        Mutation::CaseHandOver(a) => Some((a.case_id.as_str(), Vec::new())),
        Mutation::VisitRecord(_)
        | Mutation::DiaryWrite(_)
        | Mutation::WhistleRaise(_)
        | Mutation::WhistleCommand(_)
        | Mutation::PointsClaim(_)
        | Mutation::MeetingRecord(_)
        | Mutation::EventRecord(_)
        | Mutation::SuggestionRecord(_)
        | Mutation::SuggestionAnswer(_) => None,
    }
}

/// The whistle a mutation is about.
fn whistle_of(m: &Mutation) -> Option<&str> {
    match m {
        Mutation::WhistleRaise(a) => Some(&a.whistle_id),
        Mutation::WhistleCommand(a) => Some(&a.whistle_id),
        _ => None,
    }
}

/// Applies one mutation that is the client's next, inside the caller's transaction.
fn apply_one(
    conn: &mut DbConn,
    ctx: &Ctx,
    env: &MutationEnvelope,
) -> Result<MutationResult, StoreError> {
    let mutation = Mutation::parse(&env.name, &env.args);
    // Every command reports only what push needs: the conflict an apply recorded.
    let outcome: Result<Option<ConflictRow>, DomainError> = match &mutation {
        Ok(Mutation::CaseReport(a)) => cases::report(conn, ctx, a)?.map(|a| a.conflict),
        Ok(Mutation::CaseTransition(a)) => cases::transition(conn, ctx, a)?.map(|a| a.conflict),
        Ok(Mutation::CaseUpdateFields(a)) => {
            cases::update_fields(conn, ctx, a)?.map(|a| a.conflict)
        }
        Ok(Mutation::CaseComment(a)) => cases::comment(conn, ctx, a)?.map(|a| a.conflict),
        Ok(Mutation::CaseEscalate(a)) => escalations::escalate(conn, ctx, a)?.map(|a| a.conflict),
        Ok(Mutation::CaseHandOver(a)) => cases::hand_over(conn, ctx, a)?.map(|a| a.conflict),
        Ok(Mutation::DiaryWrite(a)) => diary::write(conn, ctx, a)?.map(|a| a.conflict),
        Ok(Mutation::VisitRecord(a)) => {
            visits::record(conn, ctx, a, &ctx.visit_rules)?.map(|a| a.conflict)
        }
        Ok(Mutation::WhistleRaise(a)) => whistles::raise(conn, ctx, a)?.map(|a| a.conflict),
        Ok(Mutation::WhistleCommand(a)) => whistles::command(conn, ctx, a)?.map(|a| a.conflict),
        Ok(Mutation::PointsClaim(a)) => {
            crate::commands::points::claim(conn, ctx, a)?.map(|a| a.conflict)
        }
        Ok(Mutation::MeetingRecord(a)) => {
            engagement::record_meeting(conn, ctx, a)?.map(|a| a.conflict)
        }
        Ok(Mutation::EventRecord(a)) => engagement::record_event(conn, ctx, a)?.map(|a| a.conflict),
        Ok(Mutation::SuggestionRecord(a)) => {
            engagement::record_suggestion(conn, ctx, a)?.map(|a| a.conflict)
        }
        Ok(Mutation::SuggestionAnswer(a)) => {
            engagement::answer_suggestion(conn, ctx, a)?.map(|a| a.conflict)
        }
        Err(SyncError::UnknownMutation { name }) => Err(DomainError::invalid(
            "name",
            format!(
                "unknown mutation {name:?}; this server knows {}",
                Mutation::NAMES.join(", ")
            ),
        )),
        Err(SyncError::InvalidArgs { field, reason }) => {
            Err(DomainError::invalid(field.clone(), reason.clone()))
        }
        Err(other) => Err(DomainError::invalid("args", other.to_string())),
    };
    Ok(match outcome {
        Ok(None) => MutationResult {
            mutation_id: env.id,
            outcome: Outcome::Applied,
            conflict: None,
            rejection: None,
        },
        Ok(Some(c)) => MutationResult {
            mutation_id: env.id,
            outcome: Outcome::AppliedWithConflict,
            conflict: Some(conflict_view(&c)),
            rejection: None,
        },
        Err(e) => {
            // Nothing is silently dropped: the refusal becomes a conflict record, and the
            // evidence the device carried stays on the case where the actor may see it.
            let about = mutation.as_ref().ok().and_then(case_of);
            let (entity_id, photos) = about.map(|(id, p)| (id.to_owned(), p)).unwrap_or_default();
            let case = if entity_id.is_empty() {
                None
            } else {
                crate::db::store::case_by_id(conn, &entity_id)?
            };
            let whistle_id = mutation.as_ref().ok().and_then(whistle_of);
            let whistle = match whistle_id {
                Some(id) => whistles::current_payload(conn, ctx, id)?,
                None => None,
            };
            let about_state = !matches!(
                e,
                DomainError::Forbidden { .. } | DomainError::NotFound { .. }
            );
            // What the rejection (and the conflict the sender pulls) may show of the
            // record: only what the sender may read, and nothing of a record they may not.
            let readable = match (&case, about_state) {
                (Some(c), true) => cases::visible(conn, ctx, &c.id)?,
                _ => None,
            };
            let current = readable.as_ref().map(changes::case_payload).or_else(|| {
                whistle
                    .as_ref()
                    .filter(|_| about_state)
                    .map(|(v, _)| v.clone())
            });
            if case.is_some() && !matches!(mutation, Ok(Mutation::CaseReport(_))) {
                cases::keep_evidence(
                    conn,
                    ctx,
                    &entity_id,
                    &json!({ "mutation": env.name, "args": env.args }),
                    &photos,
                )?;
            }
            let kind = if matches!(e, DomainError::Forbidden { .. }) {
                "forbidden"
            } else {
                "rejected"
            };
            let (entity, entity_id) = match (entity_id.is_empty(), whistle_id) {
                (false, _) => ("case", entity_id.as_str()),
                (true, Some(id)) => ("whistle", id),
                (true, None) => ("mutation", env.name.as_str()),
            };
            let conflict = context::record_conflict(
                conn,
                ctx,
                kind,
                entity,
                entity_id,
                case.as_ref()
                    .map(|c| c.community_id.as_str())
                    .or(whistle.as_ref().map(|(_, c)| c.as_str())),
                json!({ "mutation": env.name, "args": env.args, "error": e.to_string(), "current": current }),
            )?;
            MutationResult {
                mutation_id: env.id,
                outcome: Outcome::Rejected,
                conflict: Some(conflict_view(&conflict)),
                rejection: Some(rejection_of(&e, current)),
            }
        }
    })
}

/// Runs a push batch for `user`. `Ok(Err(stop))` ends it early with a protocol answer;
/// `Err` is a transient or internal failure (mutations before it stay applied).
pub fn push(
    conn: &mut DbConn,
    state: &AppState,
    user: &AuthUser,
    req: &PushRequest,
) -> Result<Result<PushResponse, PushStop>, ApiError> {
    patrol_sync::protocol::check_client_id(&req.client_id)
        .map_err(|e| ApiError::bad_field("client_id", e.to_string()))?;
    check_batch(req).map_err(|e| ApiError::bad_field("mutations", e.to_string()))?;
    if !ensure_client(conn, &req.client_id, &user.id)? {
        return Ok(Err(PushStop::ForeignClient));
    }
    let online = Ctx::for_user(conn, state, user)?;
    let mut results = Vec::with_capacity(req.mutations.len());
    // The client's last applied id as of the last step (check_batch refuses empty
    // batches, so there is one).
    let mut last_applied = 0;
    for env in &req.mutations {
        let ctx = Ctx {
            origin: Some((
                req.client_id.clone(),
                i64::try_from(env.id).unwrap_or(i64::MAX),
            )),
            observed_at: env.observed_at,
            ..online.clone()
        };
        let step = write_tx(
            conn,
            |conn| -> Result<Result<(MutationResult, u64), PushStop>, StoreError> {
                let last = lock_last_id(conn, &req.client_id)?;
                if env.id <= last {
                    return stored_result(conn, &req.client_id, env.id).map(|r| Ok((r, last)));
                }
                if env.id > last + 1 {
                    return Ok(Err(PushStop::Gap { expected: last + 1 }));
                }
                crash_point("sync.push.after_lock", &req.client_id)?;
                let result = apply_one(conn, &ctx, env)?;
                crash_point("sync.push.after_effects", &req.client_id)?;
                let id = i64::try_from(env.id).unwrap_or(i64::MAX);
                diesel::insert_into(sync_mutations::table)
                    .values((
                        sync_mutations::client_id.eq(&req.client_id),
                        sync_mutations::mutation_id.eq(id),
                        sync_mutations::name.eq(&env.name),
                        sync_mutations::outcome.eq(result.outcome.as_str()),
                        sync_mutations::result.eq(serde_json::to_string(&result)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?),
                        sync_mutations::received_at.eq(now_ms()),
                    ))
                    .execute(conn)?;
                crash_point("sync.push.after_outcome", &req.client_id)?;
                diesel::update(sync_clients::table.find(&req.client_id))
                    .set((
                        sync_clients::last_mutation_id.eq(id),
                        sync_clients::updated_at.eq(now_ms()),
                    ))
                    .execute(conn)?;
                crash_point("sync.push.before_commit", &req.client_id)?;
                Ok(Ok((result, env.id)))
            },
        )?;
        match step {
            Ok((r, last)) => {
                results.push(r);
                last_applied = last;
            }
            Err(stop) if results.is_empty() => return Ok(Err(stop)),
            // A gap after some results cannot happen within a contiguous batch.
            Err(_) => break,
        }
    }
    let epoch = crate::db::store::ensure_server_epoch(conn)?;
    Ok(Ok(PushResponse {
        results,
        last_mutation_id: last_applied,
        server_epoch: epoch,
    }))
}
