//! Cases online: report, read, list, workflow commands, duplicate suggestions and
//! escalation. The same domain commands as sync push; here a refusal answers 4xx and
//! writes nothing.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use patrol_domain::case::{CaseCommand, CaseStatus, deadline};
use patrol_domain::org::mask_phone;
use patrol_domain::role::Role;
use patrol_sync::protocol::{
    CaseEscalateArgs, CaseHandOverArgs, CaseReportArgs, CaseTransitionArgs,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::AuthUser;
use crate::commands::cases::{self};
use crate::commands::context::{Applied, Ctx, at_ms};
use crate::commands::escalations;
use crate::db::changes;
use crate::db::changes::{escalation_payload, task_payload};
use crate::db::ids::rfc3339;
use crate::db::store::{self, ActivityRow, CaseRow};
use crate::db::workflow;
use crate::db::{DbConn, write_tx};
use crate::http::extract::{Json, Query};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

pub fn ctx(conn: &mut DbConn, state: &AppState, user: &AuthUser) -> ApiResult<Ctx> {
    Ok(Ctx::for_user(conn, state, user)?)
}

/// Runs a command online: a refusal rolls back and becomes the HTTP error.
pub fn run<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> crate::commands::context::CommandResult<T>,
) -> ApiResult<Applied<T>> {
    write_tx(conn, |conn| -> ApiResult<Applied<T>> {
        f(conn)?.map_err(ApiError::Domain)
    })
}

/// Deadlines as of now: which step is late, and whether the clock is stopped.
#[derive(Debug, Serialize)]
pub struct ClockView {
    pub accept_overdue: bool,
    pub handle_overdue: bool,
    pub close_overdue: bool,
    /// Any of the three.
    pub overdue: bool,
    /// Deferred: the handling and closing clocks are stopped.
    pub paused: bool,
    /// Until when the reporter may rate or say "not fixed" (closed cases).
    pub follow_up_until: Option<String>,
}

fn clock(c: &CaseRow, follow_up_days: u32) -> ClockView {
    let late = deadline::lateness(&cases::progress_of(c), Utc::now());
    ClockView {
        accept_overdue: late.accept,
        handle_overdue: late.handle,
        close_overdue: late.close,
        overdue: late.any(),
        paused: c.status == CaseStatus::Deferred.as_str(),
        follow_up_until: c.closed_at.map(|t| {
            rfc3339(deadline::follow_up_until(at_ms(t), follow_up_days).timestamp_millis())
        }),
    }
}

/// Who reported a case, as the viewer may see it: staff see the name (also of an
/// anonymous report) and a masked phone unless their role may see numbers; residents
/// see only themselves.
#[derive(Debug, Serialize)]
pub struct ReporterView {
    pub id: String,
    pub display_name: String,
    pub phone: Option<String>,
    /// Hidden from the public (the name is still visible to staff).
    pub anonymous: bool,
}

fn reporter_view(conn: &mut DbConn, ctx: &Ctx, c: &CaseRow) -> ApiResult<Option<ReporterView>> {
    let Some(id) = &c.reporter_id else {
        return Ok(None);
    };
    let own = *id == ctx.actor.user_id;
    // Residents see only themselves; departments work the problem, not the person.
    if matches!(ctx.actor.role, Role::Resident | Role::Department) && !own {
        return Ok(None);
    }
    let Some(u) = store::user_by_id(conn, id)? else {
        return Ok(None);
    };
    let full = own || ctx.actor.role.sees_full_phone_numbers();
    Ok(Some(ReporterView {
        id: u.id,
        display_name: u.display_name,
        phone: u.phone.map(|p| if full { p } else { mask_phone(&p) }),
        anonymous: c.reporter_anonymous,
    }))
}

#[derive(Debug, Serialize)]
pub struct DuplicateView {
    pub case_id: String,
    pub distance_m: f64,
    pub status: String,
    pub description: String,
    pub created_at: String,
}

fn duplicates(conn: &mut DbConn, ctx: &Ctx, c: &CaseRow) -> ApiResult<Vec<DuplicateView>> {
    Ok(cases::duplicate_suggestions(conn, &ctx.scope, c)?
        .into_iter()
        .map(|(d, distance)| DuplicateView {
            case_id: d.id,
            distance_m: (distance * 10.0).round() / 10.0,
            status: d.status,
            description: d.description,
            created_at: rfc3339(d.created_at),
        })
        .collect())
}

#[derive(Debug, Serialize)]
pub struct CaseDetail {
    pub case: Value,
    pub clock: ClockView,
    pub reporter: Option<ReporterView>,
    pub activities: Vec<Value>,
    pub escalations: Vec<Value>,
    pub department_tasks: Vec<Value>,
    /// Open cases of the same category nearby, offered to staff on a new report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub possible_duplicates: Option<Vec<DuplicateView>>,
}

fn detail(conn: &mut DbConn, ctx: &Ctx, case: &CaseRow) -> ApiResult<CaseDetail> {
    Ok(CaseDetail {
        case: changes::case_payload(case),
        clock: clock(case, ctx.policy.follow_up_days),
        reporter: reporter_view(conn, ctx, case)?,
        activities: store::activities_of(conn, &case.id)?
            .iter()
            .map(|a: &ActivityRow| {
                let mut v = changes::activity_payload(a);
                // A resident following someone else's case does not learn who they are.
                let other_resident = a.actor_role == Role::Resident.as_str()
                    && a.actor_id.as_deref() != Some(ctx.actor.user_id.as_str());
                if ctx.actor.role == Role::Resident && other_resident {
                    v["actor_id"] = Value::Null;
                }
                v
            })
            .collect(),
        escalations: if ctx.actor.role == Role::Resident {
            Vec::new()
        } else {
            workflow::escalations_of_case(conn, &case.id)?
                .iter()
                .map(escalation_payload)
                .collect()
        },
        department_tasks: if ctx.actor.role == Role::Resident {
            Vec::new()
        } else {
            workflow::tasks_of_case(conn, &case.id)?
                .iter()
                .map(task_payload)
                .collect()
        },
        possible_duplicates: None,
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
            let mut view = detail(conn, &ctx, &applied.record)?;
            if ctx.actor.role.is_staff() {
                view.possible_duplicates = Some(duplicates(conn, &ctx, &applied.record)?);
            }
            Ok(view)
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
            detail(conn, &ctx, &case)
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
    let requested = args.case_id.clone();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<CaseDetail> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| cases::transition(conn, &ctx, &args))?;
            detail(conn, &ctx, &applied.record)
        })
        .await?;
    // "Not fixed" after the follow-up window files a new, linked case.
    if view.case.get("id").and_then(Value::as_str) != Some(requested.as_str()) {
        return Ok(HttpResponse::Created().json(view));
    }
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListCasesQuery {
    pub status: Option<String>,
    /// Community code.
    pub community: Option<String>,
    /// Category code.
    pub category: Option<String>,
    pub source: Option<String>,
    /// Only cases still being worked on.
    pub open: Option<bool>,
    /// Only cases past a deadline now (or finished late).
    pub overdue: Option<bool>,
    pub limit: Option<i64>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CaseListItem {
    pub case: Value,
    pub clock: ClockView,
}

#[derive(Debug, Serialize)]
pub struct CaseList {
    pub items: Vec<CaseListItem>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

/// The cases the caller may see, newest first: staff their scope, residents what they
/// reported or follow, departments what they have a task on.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_cases(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ListCasesQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_field("limit", "must be between 1 and 200"));
    }
    if let Some(s) = &q.status {
        s.parse::<CaseStatus>()?;
    }
    if let Some(s) = &q.source {
        s.parse::<patrol_domain::case::CaseSource>()?;
    }
    let after = q
        .after
        .as_deref()
        .map(|a| {
            a.split_once('_')
                .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_owned())))
                .ok_or_else(|| ApiError::bad_field("after", "pass the `next` of the previous page"))
        })
        .transpose()?;
    let query = cases::CaseQuery {
        status: q.status,
        community: q.community,
        category: q.category,
        source: q.source,
        open: q.open.unwrap_or(false),
        overdue: q.overdue,
        after,
        limit,
    };
    let st = state.clone();
    let list = state
        .run_db(move |conn| -> ApiResult<CaseList> {
            let ctx = ctx(conn, &st, &user)?;
            let (rows, next) = cases::list(conn, &ctx, &query, Utc::now())?;
            let items = rows
                .iter()
                .map(|c| CaseListItem {
                    case: changes::case_payload(c),
                    clock: clock(c, ctx.policy.follow_up_days),
                })
                .collect();
            Ok(CaseList { items, next })
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Open cases of the same category within the category's radius: candidates to merge
/// (mark as duplicate). Staff only.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_case_duplicates(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    if !user.role.is_staff() || user.role == Role::Department {
        return Err(ApiError::Forbidden(
            "duplicate suggestions are for community and city-management staff".into(),
        ));
    }
    let id = path.into_inner();
    let st = state.clone();
    let list = state
        .run_db(move |conn| -> ApiResult<Vec<DuplicateView>> {
            let ctx = ctx(conn, &st, &user)?;
            let case = cases::visible(conn, &ctx, &id)?
                .ok_or_else(|| ApiError::NotFound(format!("case {id}")))?;
            duplicates(conn, &ctx, &case)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandOverRequest {
    pub to_user_id: String,
    pub reason: String,
}

/// 首接负责: the first-contact owner formally hands the case to another staff member.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn hand_over_case(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<HandOverRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let args = CaseHandOverArgs {
        case_id: path.into_inner(),
        to_user_id: body.to_user_id,
        reason: body.reason,
    };
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<CaseDetail> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| cases::hand_over(conn, &ctx, &args))?;
            detail(conn, &ctx, &applied.record)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    pub reason: String,
}

/// Hand a case the community cannot solve to the district joint-meeting office.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn escalate_case(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<EscalateRequest>,
) -> ApiResult<HttpResponse> {
    let args = CaseEscalateArgs {
        case_id: path.into_inner(),
        reason: body.into_inner().reason,
    };
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<Value> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| escalations::escalate(conn, &ctx, &args))?;
            Ok(escalation_payload(&applied.record))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}
