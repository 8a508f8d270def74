//! Points: balances, claims and their decisions, and ledger verification.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use diesel::prelude::*;
use patrol_domain::role::{Role, Scope};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::db::schema::assignments;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::handlers::cases::{ctx, run};
use crate::points::{self, ClaimView};
use crate::state::AppState;

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
    let rows = state
        .run_db(move |conn| -> ApiResult<_> {
            let tz: chrono_tz::Tz = crate::db::store::district(conn)?
                .and_then(|d| d.timezone.parse().ok())
                .unwrap_or(patrol_domain::visit::DEFAULT_TIME_ZONE);
            let month = q
                .month
                .unwrap_or_else(|| Utc::now().with_timezone(&tz).format("%Y-%m").to_string());
            let bounds = crate::reports::month_bounds(&month, tz)
                .ok_or_else(|| ApiError::bad_field("month", "must be a month like 2026-11"))?;
            let officers: Option<Vec<String>> = match user.role {
                Role::Admin => None,
                Role::Officer | Role::PartyMember => Some(vec![user.id.clone()]),
                Role::Supervisor => match crate::org::scope::scope_of(conn, &user)? {
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
            Ok(points::balances(conn, bounds, officers.as_deref())?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// For supervisors' adjustments: whom they are for. Officers claim for themselves.
    pub officer_id: Option<String>,
    pub points: i32,
    pub note: String,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_points_claim(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<ClaimRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<ClaimView> {
            let ctx = ctx(conn, &st, &user)?;
            Ok(run(conn, |conn| {
                points::claim(conn, &ctx, b.officer_id.as_deref(), b.points, &b.note)
            })?
            .record
            .into())
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
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
