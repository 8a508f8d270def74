//! Cases online: report, read, and workflow commands. The same domain commands as sync
//! push; here a refusal answers 4xx and writes nothing.

use actix_web::{HttpResponse, web};
use patrol_domain::case::{Actor, CaseCommand};
use patrol_sync::protocol::{CaseReportArgs, CaseTransitionArgs};
use serde::Serialize;

use crate::auth::AuthUser;
use crate::cases::{self, Applied, Ctx};
use crate::db::store::{self, ActivityRow};
use crate::db::{DbConn, write_tx};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::org::scope::scope_of;
use crate::state::AppState;
use crate::sync::changes;

pub fn ctx(conn: &mut DbConn, state: &AppState, user: &AuthUser) -> ApiResult<Ctx> {
    Ok(Ctx {
        actor: Actor {
            user_id: user.id.clone(),
            role: user.role,
        },
        scope: scope_of(conn, user)?,
        locator: state.locator.get(conn)?,
        origin: None,
        observed_at: None,
        visit_rules: state.cfg.visit_rules.clone(),
    })
}

/// Runs a command online: a refusal rolls back and becomes the HTTP error.
pub fn run<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> cases::CommandResult<T>,
) -> ApiResult<Applied<T>> {
    write_tx(conn, |conn| -> ApiResult<Applied<T>> {
        f(conn)?.map_err(ApiError::Domain)
    })
}

#[derive(Debug, Serialize)]
pub struct CaseDetail {
    pub case: serde_json::Value,
    pub activities: Vec<serde_json::Value>,
}

fn detail(conn: &mut DbConn, case: &store::CaseRow) -> ApiResult<CaseDetail> {
    Ok(CaseDetail {
        case: changes::case_payload(case),
        activities: store::activities_of(conn, &case.id)?
            .iter()
            .map(|a: &ActivityRow| changes::activity_payload(a))
            .collect(),
    })
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_case(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CaseReportArgs>,
) -> ApiResult<HttpResponse> {
    let args = body.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<CaseDetail> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| cases::report(conn, &ctx, &args))?;
            detail(conn, &applied.record)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_case(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<CaseDetail> {
            let ctx = ctx(conn, &st, &user)?;
            let case = cases::visible(conn, &ctx, &id)?
                .ok_or_else(|| ApiError::NotFound(format!("case {id}")))?;
            detail(conn, &case)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn transition_case(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<CaseCommand>,
) -> ApiResult<HttpResponse> {
    let args = CaseTransitionArgs {
        case_id: path.into_inner(),
        command: body.into_inner(),
    };
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<CaseDetail> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| cases::transition(conn, &ctx, &args))?;
            detail(conn, &applied.record)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
