//! Points: balances, claims and their decisions, and ledger verification.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use diesel::prelude::*;
use patrol_domain::role::{Role, Scope};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::commands::points::{self, ClaimView};
use crate::db::schema::assignments;
use crate::http::extract::{Json, Query};
use crate::http::handlers::cases::{ctx, run};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;
use patrol_sync::protocol::PointsClaimArgs;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyQuery {
    /// An exported head to check against (detects a truncated tail).
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn verify_points_ledger(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<VerifyQuery>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Supervisor, Role::Admin])?;
    let q = query.into_inner();
    let head = match (q.head_seq, q.head_hash) {
        (Some(s), Some(h)) => Some((s, h)),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_field(
                "head_hash",
                "give head_seq and head_hash together",
            ));
        }
    };
    let v = state.run_db(move |conn| points::verify(conn, head)).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalancesQuery {
    /// `YYYY-MM` in the district's time zone; the current month when absent.
    pub month: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_points_balances(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<BalancesQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let st = state.clone();
    let rows = state
        .run_db(move |conn| -> ApiResult<_> {
            let (bounds, tz) = crate::commands::figures::requested_month(conn, q.month.as_deref())?
                .ok_or_else(|| ApiError::bad_field("month", "must be a month like 2026-11"))?;
            let officers: Option<Vec<String>> = match user.role {
                Role::Admin => None,
                Role::Officer | Role::PartyMember => Some(vec![user.id.clone()]),
                Role::Supervisor => match crate::commands::scope::scope_of(conn, &user)? {
                    Scope::Communities(ids) => Some(
                        assignments::table
                            .filter(assignments::target_id.eq_any(ids))
                            .filter(assignments::ended_at.is_null())
                            .select(assignments::user_id)
                            .distinct()
                            .load(conn)?,
                    ),
                    _ => Some(Vec::new()),
                },
                other => {
                    return Err(ApiError::Forbidden(format!(
                        "the {other} role has no points"
                    )));
                }
            };
            let mut rows = points::balances(conn, bounds, officers.as_deref())?;
            crate::commands::figures::add_performance(
                conn,
                &mut rows,
                bounds,
                tz,
                &st.cfg.compliance,
                Utc::now(),
            )?;
            Ok(rows)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankingsQuery {
    pub month: Option<String>,
    /// `street` (default) or `squad`.
    pub by: Option<String>,
}

/// Points ranked by street (officers' current communities) or by squad.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_points_rankings(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<RankingsQuery>,
) -> ApiResult<HttpResponse> {
    use crate::db::schema::{communities, squads, streets, users};
    use std::collections::BTreeMap;
    user.require(&[Role::Supervisor, Role::Admin])?;
    let q = query.into_inner();
    let by_squad = match q.by.as_deref().unwrap_or("street") {
        "street" => false,
        "squad" => true,
        _ => return Err(ApiError::bad_field("by", "must be street or squad")),
    };
    let rows = state
        .run_db(move |conn| -> ApiResult<_> {
            let (bounds, _) = crate::commands::figures::requested_month(conn, q.month.as_deref())?
                .ok_or_else(|| ApiError::bad_field("month", "must be a month like 2026-11"))?;
            let balances = points::balances(conn, bounds, None)?;
            let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let names: BTreeMap<String, String> = if by_squad {
                for (user_id, squad) in users::table
                    .inner_join(squads::table.on(users::squad_id.eq(squads::id.nullable())))
                    .select((users::id, squads::code))
                    .load::<(String, String)>(conn)?
                {
                    groups.entry(user_id).or_default().push(squad);
                }
                squads::table
                    .select((squads::code, squads::name))
                    .load::<(String, String)>(conn)?
                    .into_iter()
                    .collect()
            } else {
                for (user_id, street) in assignments::table
                    .inner_join(communities::table.on(assignments::target_id.eq(communities::id)))
                    .inner_join(streets::table.on(communities::street_id.eq(streets::id)))
                    .filter(assignments::ended_at.is_null())
                    .select((assignments::user_id, streets::code))
                    .distinct()
                    .load::<(String, String)>(conn)?
                {
                    groups.entry(user_id).or_default().push(street);
                }
                streets::table
                    .select((streets::code, streets::name))
                    .load::<(String, String)>(conn)?
                    .into_iter()
                    .collect()
            };
            Ok(points::rank(&balances, &groups, &names))
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_points_claim(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<PointsClaimArgs>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let st = state.clone();
    let claimed = state
        .run_db(move |conn| -> ApiResult<points::Claimed> {
            let ctx = ctx(conn, &st, &user)?;
            Ok(run(conn, |conn| points::claim(conn, &ctx, &b))?.record)
        })
        .await?;
    let view = ClaimView::from(claimed.row);
    // A retry, or the same work claimed from another device, finds the claim filed.
    Ok(if claimed.filed_now {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    pub approve: bool,
    pub reason: String,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn decide_points_claim(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<DecideRequest>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let b = body.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<ClaimView> {
            let ctx = ctx(conn, &st, &user)?;
            Ok(run(conn, |conn| {
                points::decide(conn, &ctx, &id, b.approve, &b.reason)
            })?
            .record
            .into())
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Exports the ledger head signed with the key kept outside the database.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn export_points_head(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Supervisor, Role::Admin])?;
    let key = state.cfg.ledger_key.clone().ok_or(ApiError::Unavailable {
        retry_after_secs: 3600,
    })?;
    let head = state
        .run_db(move |conn| points::signed_head(conn, &key))
        .await?;
    Ok(HttpResponse::Ok().json(head))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_points_rules(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<HttpResponse> {
    let _ = user;
    let rows = state.run_db(points::rules).await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(points::RuleView::from)
            .collect::<Vec<_>>(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    pub code: String,
    pub points: i32,
    pub description: String,
    /// When the new points take effect; now when absent.
    pub effective_from: Option<chrono::DateTime<Utc>>,
}

/// Adds a version of a points rule (admins). Past entries keep their points.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_points_rule(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<RuleRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let b = body.into_inner();
    let at = b
        .effective_from
        .map_or_else(crate::db::ids::now_ms, |t| t.timestamp_millis());
    let row = state
        .run_db(move |conn| {
            run(conn, |conn| {
                points::add_rule(conn, &b.code, b.points, &b.description, at)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(points::RuleView::from(row.record)))
}
