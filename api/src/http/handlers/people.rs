//! Accounts, assignments (who covers what, with history) and the personnel list.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use patrol_domain::org::{check_password, mask_phone, parse_code, parse_name};
use patrol_domain::role::{Role, Scope};
use serde::{Deserialize, Serialize};

use super::{PageQuery, make_page, page_params};
use crate::auth::AuthUser;
use crate::commands::people::{NewUser, assign, insert_staff};
use crate::commands::scope::scope_of;
use crate::db::ids::{new_id, now_ms, rfc3339};
use crate::db::store::{self, AssignmentRow, AuditRow, UserRow};
use crate::db::{DbConn, write_tx};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

/// An account as staff see it. Phone numbers are masked unless the viewer may see them.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub login: String,
    pub role: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub department_name: Option<String>,
    /// The account is the district joint-meeting office.
    pub joint_office: bool,
    /// The account is the city hotline's integration account.
    pub hotline_intake: bool,
    pub active: bool,
    pub created_at: String,
}

impl UserView {
    pub fn from_row(row: UserRow, show_phone: bool) -> Self {
        Self {
            id: row.id,
            login: if show_phone || row.role != Role::Resident.as_str() {
                row.login
            } else {
                mask_phone(&row.login)
            },
            role: row.role,
            display_name: row.display_name,
            phone: row
                .phone
                .map(|p| if show_phone { p } else { mask_phone(&p) }),
            department_name: row.department_name,
            joint_office: row.joint_office,
            hotline_intake: row.hotline_intake,
            active: row.active,
            created_at: rfc3339(row.created_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub login: String,
    pub role: String,
    pub display_name: String,
    pub password: String,
    pub phone: Option<String>,
    pub department_name: Option<String>,
    /// Makes the department account the district joint-meeting office.
    #[serde(default)]
    pub joint_office: bool,
    /// Makes the department account the city hotline's integration account.
    #[serde(default)]
    pub hotline_intake: bool,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_user(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::http::extract::Json<CreateUserRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let body = body.into_inner();
    let new = NewUser::parse(
        &body.login,
        &body.role,
        &body.display_name,
        body.phone.as_deref(),
        body.department_name.as_deref(),
    )?
    .joint_office(body.joint_office)?
    .hotline_intake(body.hotline_intake)?;
    check_password(&body.password)?;
    let hash = state.hashing.hash(body.password).await?;
    let row = state
        .run_db(move |conn| insert_staff(conn, new, hash, Some(&user.id)))
        .await?;
    Ok(HttpResponse::Created().json(UserView::from_row(row, true)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListUsersQuery {
    pub role: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_users(
    state: web::Data<AppState>,
    user: AuthUser,
    query: crate::http::extract::Query<ListUsersQuery>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let q = query.into_inner();
    let role = q.role.as_deref().map(str::parse::<Role>).transpose()?;
    let (limit, after) = page_params(q.limit, q.cursor.as_deref())?;
    let show = user.role.sees_full_phone_numbers();
    let rows = state
        .run_db(move |conn| {
            store::list_users(conn, role.map(Role::as_str), after.as_deref(), limit + 1)
        })
        .await?;
    Ok(HttpResponse::Ok().json(make_page(
        rows,
        limit,
        |r| r.id.clone(),
        |r| UserView::from_row(r, show),
    )))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_user(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    // Anyone may read their own account; admins and supervisors any account. Others get
    // 404 rather than 403, so ids cannot be probed.
    let allowed = id == user.id || matches!(user.role, Role::Admin | Role::Supervisor);
    let show = user.role.sees_full_phone_numbers() || id == user.id;
    let row = if allowed {
        state
            .run_db(move |conn| store::user_by_id(conn, &id))
            .await?
    } else {
        None
    };
    let row = row.ok_or_else(|| ApiError::NotFound("user".into()))?;
    Ok(HttpResponse::Ok().json(UserView::from_row(row, show)))
}

// ---- assignments ----------------------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct AssignmentView {
    pub id: String,
    pub kind: String,
    pub user_id: String,
    /// Code of the community or street.
    pub target_code: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub assigned_by: Option<String>,
    pub ended_by: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAssignmentRequest {
    pub user_id: String,
    /// A community code (officers, party members, community staff) or a street code
    /// (supervisors).
    pub target_code: String,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndAssignmentRequest {
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListAssignmentsQuery {
    pub user_id: Option<String>,
    pub target_code: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Codes for target ids, communities and streets alike.
fn target_codes(conn: &mut DbConn, rows: &[AssignmentRow]) -> ApiResult<HashMap<String, String>> {
    let ids: Vec<String> = rows.iter().map(|r| r.target_id.clone()).collect();
    let mut codes: HashMap<String, String> = store::communities_by_ids(conn, &ids)?
        .into_iter()
        .map(|c| (c.id, c.code))
        .collect();
    for s in store::streets(conn)? {
        codes.insert(s.id, s.code);
    }
    Ok(codes)
}

fn assignment_view(row: AssignmentRow, codes: &HashMap<String, String>) -> AssignmentView {
    AssignmentView {
        target_code: codes.get(&row.target_id).cloned().unwrap_or_default(),
        id: row.id,
        kind: row.kind,
        user_id: row.user_id,
        started_at: rfc3339(row.started_at),
        ended_at: row.ended_at.map(rfc3339),
        assigned_by: row.assigned_by,
        ended_by: row.ended_by,
        reason: row.reason,
    }
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn create_assignment(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::http::extract::Json<CreateAssignmentRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let body = body.into_inner();
    let reason = body
        .reason
        .as_deref()
        .map(|r| parse_name("reason", r))
        .transpose()?;
    let code = parse_code("target_code", &body.target_code)?;
    let view = state
        .run_db(move |conn| -> ApiResult<AssignmentView> {
            let row = assign(conn, &body.user_id, &code, reason, Some(&user.id))?;
            let codes = target_codes(conn, std::slice::from_ref(&row))?;
            Ok(assignment_view(row, &codes))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn end_assignment(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: crate::http::extract::Json<EndAssignmentRequest>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin])?;
    let id = path.into_inner();
    let reason = parse_name("reason", &body.into_inner().reason)?;
    let view = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<AssignmentView> {
                let now = now_ms();
                if store::assignment_by_id(conn, &id)?.is_none() {
                    return Err(ApiError::NotFound("assignment".into()));
                }
                if !store::end_assignment(conn, &id, now, &user.id, &reason)? {
                    return Err(ApiError::Conflict(
                        "the assignment has already ended".into(),
                    ));
                }
                store::insert_audit(
                    conn,
                    &AuditRow {
                        id: new_id(),
                        actor_id: Some(user.id.clone()),
                        action: "assignment.end".into(),
                        entity: "assignment".into(),
                        entity_id: id.clone(),
                        detail: serde_json::json!({ "reason": reason }).to_string(),
                        at: now,
                    },
                )?;
                let row = store::assignment_by_id(conn, &id)?
                    .ok_or_else(|| ApiError::NotFound("assignment".into()))?;
                let codes = target_codes(conn, std::slice::from_ref(&row))?;
                Ok(assignment_view(row, &codes))
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_assignments(
    state: web::Data<AppState>,
    user: AuthUser,
    query: crate::http::extract::Query<ListAssignmentsQuery>,
) -> ApiResult<HttpResponse> {
    user.require(&[Role::Admin, Role::Supervisor])?;
    let q = query.into_inner();
    let (limit, after) = page_params(q.limit, q.cursor.as_deref())?;
    let page = state
        .run_db(move |conn| -> ApiResult<_> {
            let target = match q.target_code.as_deref() {
                None => None,
                Some(code) => Some(
                    store::community_by_code(conn, code)?
                        .map(|c| c.id)
                        .or(store::street_by_code(conn, code)?.map(|s| s.id))
                        .ok_or_else(|| {
                            ApiError::bad_field("target_code", "no such community or street")
                        })?,
                ),
            };
            let rows = store::assignment_history(
                conn,
                q.user_id.as_deref(),
                target.as_deref(),
                after.as_deref(),
                limit + 1,
            )?;
            let codes = target_codes(conn, &rows)?;
            Ok(make_page(
                rows,
                limit,
                |r| r.id.clone(),
                |r| assignment_view(r, &codes),
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

// ---- personnel list (人员清单) ---------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct PersonnelEntry {
    pub community_code: String,
    pub community_name: String,
    pub officers: Vec<UserView>,
    pub party_members: Vec<UserView>,
    pub community_staff: Vec<UserView>,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_personnel(
    state: web::Data<AppState>,
    user: AuthUser,
    query: crate::http::extract::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    if !user.role.can_read_organisation() {
        return Err(ApiError::Forbidden(format!(
            "the {} role may not read the personnel list",
            user.role
        )));
    }
    let q = query.into_inner();
    let (limit, after) = page_params(q.limit, q.cursor.as_deref())?;
    let show = user.role.sees_full_phone_numbers();
    let page = state
        .run_db(move |conn| -> ApiResult<_> {
            let only = match scope_of(conn, &user)? {
                Scope::All => None,
                Scope::Communities(ids) => Some(ids),
                Scope::Own => Some(Vec::new()),
            };
            let communities =
                store::list_communities(conn, only.as_deref(), None, after.as_deref(), limit + 1)?;
            let ids: Vec<String> = communities.iter().map(|c| c.id.clone()).collect();
            let assignments = store::current_assignments_to(conn, &ids)?;
            let user_ids: Vec<String> = assignments.iter().map(|a| a.user_id.clone()).collect();
            let mut users: HashMap<String, UserRow> = store::users_by_ids(conn, &user_ids)?
                .into_iter()
                .map(|u| (u.id.clone(), u))
                .collect();
            let mut by_community: HashMap<String, Vec<(String, UserRow)>> = HashMap::new();
            for a in assignments {
                if let Some(u) = users.get(&a.user_id).cloned() {
                    by_community
                        .entry(a.target_id)
                        .or_default()
                        .push((a.kind, u));
                }
            }
            users.clear();
            Ok(make_page(
                communities,
                limit,
                |c| c.code.clone(),
                |c| {
                    let mut entry = PersonnelEntry {
                        community_code: c.code,
                        community_name: c.name,
                        officers: Vec::new(),
                        party_members: Vec::new(),
                        community_staff: Vec::new(),
                    };
                    for (kind, u) in by_community.remove(&c.id).unwrap_or_default() {
                        let view = UserView::from_row(u, show);
                        match kind.as_str() {
                            "officer_community" => entry.officers.push(view),
                            "party_member_community" => entry.party_members.push(view),
                            _ => entry.community_staff.push(view),
                        }
                    }
                    entry
                },
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
