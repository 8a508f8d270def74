//! Visits and twice-weekly compliance.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use chrono_tz::Tz;
use patrol_domain::role::{Role, Scope};
use patrol_domain::visit::{self, IsoWeek};
use patrol_sync::protocol::VisitRecordArgs;
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::commands::visits::{self, VisitView};
use crate::db::DbConn;
use crate::http::extract::{Json, Query};
use crate::http::handlers::cases::{ctx, run};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

fn parse_week(raw: Option<&str>, tz: Tz) -> ApiResult<IsoWeek> {
    match raw {
        Some(w) => w
            .parse()
            .map_err(|_| ApiError::bad_field("week", "must be an ISO week like 2026-W48")),
        None => Ok(visit::week_of(Utc::now(), tz)),
    }
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_visit(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<VisitRecordArgs>,
) -> ApiResult<HttpResponse> {
    let args = body.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<VisitView> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| {
                visits::record(conn, &ctx, &args, &ctx.visit_rules)
            })?;
            Ok(VisitView::from_row(&applied.record))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptVisitRequest {
    pub reason: String,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn accept_visit(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<AcceptVisitRequest>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let reason = body.into_inner().reason;
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<VisitView> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| visits::accept(conn, &ctx, &id, &reason))?;
            Ok(VisitView::from_row(&applied.record))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceQuery {
    /// ISO week, e.g. `2026-W48`; the current week when absent.
    pub week: Option<String>,
    pub community_code: Option<String>,
    pub officer_id: Option<String>,
}

fn compliance_rows(
    conn: &mut DbConn,
    st: &AppState,
    user: &AuthUser,
    q: &ComplianceQuery,
    at_risk_only: bool,
) -> ApiResult<Vec<visits::ComplianceRow>> {
    let tz = crate::db::store::district_tz(conn)?;
    let week = if at_risk_only {
        visit::week_of(Utc::now(), tz)
    } else {
        parse_week(q.week.as_deref(), tz)?
    };
    let mut rows = visits::compliance_in_scope(
        conn,
        &st.cfg.compliance,
        user,
        week,
        q.community_code.as_deref(),
        q.officer_id.as_deref(),
    )?;
    if at_risk_only {
        rows.retain(|r| !r.compliant);
    }
    Ok(rows)
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_compliance(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ComplianceQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let st = state.clone();
    let rows = state
        .run_db(move |conn| compliance_rows(conn, &st, &user, &q, false))
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_compliance_at_risk(
    state: web::Data<AppState>,
    user: AuthUser,
) -> ApiResult<HttpResponse> {
    let q = ComplianceQuery {
        week: None,
        community_code: None,
        officer_id: None,
    };
    let st = state.clone();
    let rows = state
        .run_db(move |conn| compliance_rows(conn, &st, &user, &q, true))
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixQuery {
    /// `YYYY-MM` in the district's time zone; the current month when absent.
    pub month: Option<String>,
    /// `officer` (default), `community` or `street`.
    pub group_by: Option<String>,
}

/// The 721 mix per officer, community or street for a month, against 70/20/10.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_mix_721(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<MixQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let group: crate::commands::figures::MixGroup = q
        .group_by
        .as_deref()
        .unwrap_or("officer")
        .parse()
        .map_err(|e: String| ApiError::bad_field("group_by", e))?;
    let rows = state
        .run_db(move |conn| -> ApiResult<_> {
            let (bounds, _) = crate::commands::figures::requested_month(conn, q.month.as_deref())?
                .ok_or_else(|| ApiError::bad_field("month", "must be a month like 2026-11"))?;
            let (only, officer) = match user.role {
                Role::Admin => (None, None),
                Role::Supervisor => match crate::commands::scope::scope_of(conn, &user)? {
                    Scope::Communities(ids) => (Some(ids), None),
                    _ => (Some(Vec::new()), None),
                },
                Role::Officer | Role::PartyMember => (None, Some(user.id.clone())),
                other => {
                    return Err(ApiError::Forbidden(format!(
                        "the {other} role has no 721 mix to see"
                    )));
                }
            };
            Ok(crate::commands::figures::mix_721(
                conn,
                bounds,
                group,
                only.as_deref(),
                officer.as_deref(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}
