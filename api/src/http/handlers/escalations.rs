//! The joint-meeting office's queue, its decisions, departments' tasks, and the case and
//! department figures.

use actix_web::{HttpResponse, web};
use patrol_domain::escalation::{DepartmentStats, EscalationStatus};
use patrol_domain::role::{Role, Scope};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::commands::escalations::{self, CompleteArgs, DecideArgs};
use crate::db::changes::{escalation_payload, task_payload};
use crate::db::workflow;
use crate::http::extract::{Json, Query};
use crate::http::handlers::cases::{ctx, run};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<String>,
    pub limit: Option<i64>,
}

fn limit_of(q: &ListQuery) -> ApiResult<i64> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_field("limit", "must be between 1 and 500"));
    }
    Ok(limit)
}

/// Escalations, newest first: the joint-meeting office and admins see all, supervisors
/// those of their communities.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_escalations(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let limit = limit_of(&q)?;
    if let Some(s) = &q.status {
        s.parse::<EscalationStatus>()?;
    }
    let st = state.clone();
    let list = state
        .run_db(move |conn| -> ApiResult<Vec<Value>> {
            let ctx = ctx(conn, &st, &user)?;
            let only = match (ctx.actor.role, &ctx.scope) {
                (Role::Admin, _) => None,
                (Role::Department, _) if ctx.joint_office => None,
                (Role::Supervisor, Scope::Communities(ids)) => Some(ids.clone()),
                _ => {
                    return Err(ApiError::Forbidden(
                        "escalations are for the joint-meeting office and supervisors".into(),
                    ));
                }
            };
            Ok(
                workflow::list_escalations(conn, q.status.as_deref(), only.as_deref(), limit)?
                    .iter()
                    .map(escalation_payload)
                    .collect(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// The office assigns department tasks for an escalation, or declines it.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn decide_escalation(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<DecideArgs>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let args = body.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<Value> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| escalations::decide(conn, &ctx, &id, &args))?;
            let (e, tasks) = applied.record;
            Ok(json!({
                "escalation": escalation_payload(&e),
                "tasks": tasks.iter().map(task_payload).collect::<Vec<_>>(),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A department's tasks (the office and admins: everyone's), oldest due first.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_department_tasks(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let limit = limit_of(&q)?;
    if let Some(s) = &q.status
        && !matches!(s.as_str(), "open" | "done" | "cancelled")
    {
        return Err(ApiError::bad_field(
            "status",
            "must be open, done or cancelled",
        ));
    }
    let st = state.clone();
    let list = state
        .run_db(move |conn| -> ApiResult<Vec<Value>> {
            let ctx = ctx(conn, &st, &user)?;
            let department = match ctx.actor.role {
                Role::Admin => None,
                Role::Department if ctx.joint_office => None,
                Role::Department => Some(ctx.actor.user_id.clone()),
                other => {
                    return Err(ApiError::Forbidden(format!(
                        "department tasks are for departments, not a {other}"
                    )));
                }
            };
            Ok(
                workflow::list_tasks(conn, department.as_deref(), q.status.as_deref(), limit)?
                    .iter()
                    .map(task_payload)
                    .collect(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// A department reports its task done.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn complete_department_task(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<CompleteArgs>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let args = body.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<Value> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| {
                escalations::complete_task(conn, &ctx, &id, &args)
            })?;
            Ok(task_payload(&applied.record))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// `YYYY-MM` in the district's time zone; the current month when absent.
    pub month: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DepartmentFigures {
    pub login: String,
    pub department_name: Option<String>,
    #[serde(flatten)]
    pub stats: DepartmentStats,
}

/// Each department's response to the tasks assigned to it in a month.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_department_report(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<MonthQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let st = state.clone();
    let rows = state
        .run_db(move |conn| -> ApiResult<Vec<DepartmentFigures>> {
            let ctx = ctx(conn, &st, &user)?;
            if !(matches!(ctx.actor.role, Role::Admin | Role::Supervisor) || ctx.joint_office) {
                return Err(ApiError::Forbidden(
                    "department figures are for supervisors, admins and the joint-meeting office"
                        .into(),
                ));
            }
            let (bounds, _) = crate::commands::figures::requested_month(conn, q.month.as_deref())?
                .ok_or_else(|| ApiError::bad_field("month", "must be a month like 2026-11"))?;
            Ok(escalations::department_report(conn, bounds)?
                .into_iter()
                .map(|(u, stats)| DepartmentFigures {
                    login: u.login,
                    department_name: u.department_name,
                    stats,
                })
                .collect())
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// The bureau's case figures for cases reported in a month, in the caller's scope.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_case_report(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<MonthQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let st = state.clone();
    let stats = state
        .run_db(move |conn| -> ApiResult<Value> {
            let ctx = ctx(conn, &st, &user)?;
            let only = match (ctx.actor.role, &ctx.scope) {
                (Role::Admin, _) => None,
                (Role::Supervisor, Scope::Communities(ids)) => Some(ids.clone()),
                (other, _) => {
                    return Err(ApiError::Forbidden(format!(
                        "case figures are for supervisors and admins, not a {other}"
                    )));
                }
            };
            let month = q.month.clone();
            let (bounds, tz) =
                crate::commands::figures::requested_month(conn, month.as_deref())?
                    .ok_or_else(|| ApiError::bad_field("month", "must be a month like 2026-11"))?;
            let stats = crate::commands::figures::case_figures(conn, bounds, only)?;
            Ok(json!({
                "from": crate::db::ids::rfc3339(bounds.0),
                "until": crate::db::ids::rfc3339(bounds.1),
                "time_zone": tz.name(),
                "stats": stats,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(stats))
}
