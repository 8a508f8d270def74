//! Community whistles online: raise, read, list, sign off, take, rate, withdraw, the
//! monthly figures, and a community's whistle settings. The same domain commands as sync
//! push; here a refusal answers 4xx and writes nothing.

use actix_web::{HttpResponse, web};
use patrol_domain::role::{Role, Scope};
use patrol_domain::whistle::{WhistleCommand, WhistleStatus};
use patrol_sync::protocol::{WhistleCommandArgs, WhistleRaiseArgs};
use serde::Deserialize;

use super::{make_page, page_params};
use crate::auth::AuthUser;
use crate::commands::scope::scope_of;
use crate::commands::whistles::{self, ListFilter, WhistleView};
use crate::db::{store, write_tx};
use crate::http::extract::{Json, Query};
use crate::http::handlers::cases::{ctx, run};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_whistle(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<WhistleRaiseArgs>,
) -> ApiResult<HttpResponse> {
    let args = body.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<WhistleView> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| whistles::raise(conn, &ctx, &args))?;
            Ok(whistles::view(conn, &applied.record)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_whistle(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<WhistleView> {
            let ctx = ctx(conn, &st, &user)?;
            let w = whistles::visible(conn, &ctx, &id)?
                .ok_or_else(|| ApiError::NotFound(format!("whistle {id}")))?;
            Ok(whistles::view(conn, &w)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListWhistlesQuery {
    pub status: Option<String>,
    /// A community code.
    pub community: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_whistles(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ListWhistlesQuery>,
) -> ApiResult<HttpResponse> {
    if !whistles::may_read(user.role) {
        return Err(ApiError::Forbidden(format!(
            "the {} role has no whistles to see",
            user.role
        )));
    }
    let q = query.into_inner();
    let (limit, after) = page_params(q.limit, q.cursor.as_deref())?;
    let status = q
        .status
        .as_deref()
        .map(str::parse::<WhistleStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_field("status", e.to_string()))?;
    let st = state.clone();
    let page = state
        .run_db(move |conn| -> ApiResult<_> {
            let ctx = ctx(conn, &st, &user)?;
            let community_id = match q.community.as_deref() {
                Some(code) => Some(
                    store::community_by_code(conn, code)?
                        .ok_or_else(|| ApiError::bad_field("community", "no such community"))?
                        .id,
                ),
                None => None,
            };
            let filter = ListFilter {
                status,
                community_id,
                after,
                limit: limit + 1,
            };
            let rows = whistles::list(conn, &ctx, &filter)?;
            let page = make_page(rows, limit, |w| w.id.clone(), |w| w);
            Ok(super::Page {
                items: whistles::views(conn, &page.items, Some(chrono::Utc::now()))?,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Runs one command on the whistle in the path.
async fn command(
    state: web::Data<AppState>,
    user: AuthUser,
    whistle_id: String,
    command: WhistleCommand,
) -> ApiResult<HttpResponse> {
    let args = WhistleCommandArgs {
        whistle_id,
        command,
    };
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<WhistleView> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| whistles::command(conn, &ctx, &args))?;
            Ok(whistles::view(conn, &applied.record)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignOffRequest {
    pub approve: bool,
    pub reason: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn sign_off_whistle(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<SignOffRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let cmd = WhistleCommand::SignOff {
        approve: b.approve,
        reason: b.reason,
    };
    command(state, user, path.into_inner(), cmd).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeRequest {
    pub note: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn take_whistle(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<TakeRequest>,
) -> ApiResult<HttpResponse> {
    let cmd = WhistleCommand::Take {
        note: body.into_inner().note,
    };
    command(state, user, path.into_inner(), cmd).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateRequest {
    pub rating: i64,
    pub comment: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn rate_whistle(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<RateRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let cmd = WhistleCommand::Rate {
        rating: b.rating,
        comment: b.comment,
    };
    command(state, user, path.into_inner(), cmd).await
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn withdraw_whistle(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    command(state, user, path.into_inner(), WhistleCommand::Withdraw).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `YYYY-MM` in the district's time zone; the current month when absent.
    pub month: Option<String>,
    /// A community code.
    pub community: Option<String>,
}

/// The month's whistle figures per community and in total.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_whistle_report(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Supervisor, Role::Admin])?;
    let q = query.into_inner();
    let report = state
        .run_db(move |conn| -> ApiResult<whistles::WhistleReport> {
            let (bounds, tz) = crate::commands::figures::requested_month(conn, q.month.as_deref())?
                .ok_or_else(|| ApiError::bad_field("month", "must be a month like 2026-11"))?;
            let scope = scope_of(conn, &user)?;
            let mut only = match scope {
                Scope::All => None,
                Scope::Communities(ids) => Some(ids),
                Scope::Own => Some(Vec::new()),
            };
            if let Some(code) = q.community.as_deref() {
                let c = store::community_by_code(conn, code)?
                    .ok_or_else(|| ApiError::bad_field("community", "no such community"))?;
                if only.as_ref().is_some_and(|ids| !ids.contains(&c.id)) {
                    return Err(ApiError::Forbidden(format!(
                        "community {code} is not in your scope"
                    )));
                }
                only = Some(vec![c.id]);
            }
            let (communities, total) = whistles::report(conn, bounds, only.as_deref())?;
            let month = chrono::TimeZone::timestamp_millis_opt(&tz, bounds.0)
                .single()
                .map(|t| t.format("%Y-%m").to_string())
                .unwrap_or_default();
            Ok(whistles::WhistleReport {
                month,
                time_zone: tz.name().to_owned(),
                communities,
                total,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhistleSettingsRequest {
    /// The community's lead (user id of a community staff account assigned to it); null
    /// or absent for none.
    pub lead_user_id: Option<String>,
    pub sign_off_required: bool,
    pub take_minutes: i64,
}

/// Sets a community's whistle lead, sign-off switch and take deadline (admins).
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn update_whistle_settings(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<WhistleSettingsRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let code = path.into_inner();
    let b = body.into_inner();
    let view = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<_> {
                Ok(whistles::configure(
                    conn,
                    &user.id,
                    &code,
                    b.lead_user_id.as_deref(),
                    b.sign_off_required,
                    b.take_minutes,
                )??)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
