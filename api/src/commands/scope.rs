//! The caller's scope, from their role and current assignments.

use patrol_domain::role::{AssignmentKind, Role, Scope};

use crate::auth::AuthUser;
use crate::db::store::CommunityRow;
use crate::db::{DbConn, StoreResult, store};
use crate::infra::error::{ApiError, ApiResult};

/// What `user` may see of the organisation right now.
pub fn scope_of(conn: &mut DbConn, user: &AuthUser) -> StoreResult<Scope> {
    Ok(match user.role {
        Role::Admin => Scope::All,
        Role::Resident | Role::Department => Scope::Own,
        Role::Officer | Role::PartyMember | Role::CommunityStaff => Scope::Communities(
            store::current_assignments_of_user(conn, &user.id)?
                .into_iter()
                .filter(|a| a.kind != AssignmentKind::LeaderStreet.as_str())
                .map(|a| a.target_id)
                .collect(),
        ),
        Role::Supervisor => {
            let streets: Vec<String> = store::current_assignments_of_user(conn, &user.id)?
                .into_iter()
                .filter(|a| a.kind == AssignmentKind::LeaderStreet.as_str())
                .map(|a| a.target_id)
                .collect();
            Scope::Communities(store::community_ids_of_streets(conn, &streets)?)
        }
    })
}

/// Does `scope` cover the person `user_id`: everyone for `All`; for communities, when one
/// of the person's current community assignments lies in them (a supervisor covers the
/// officers and party members of their streets); nobody for `Own`.
pub fn covers_person(conn: &mut DbConn, scope: &Scope, user_id: &str) -> StoreResult<bool> {
    Ok(match scope {
        Scope::All => true,
        Scope::Own => false,
        Scope::Communities(ids) => store::current_assignments_of_user(conn, user_id)?
            .into_iter()
            .any(|a| a.kind != AssignmentKind::LeaderStreet.as_str() && ids.contains(&a.target_id)),
    })
}

/// Reads a community the caller may see, or 404.
pub fn visible_community(
    conn: &mut DbConn,
    user: &AuthUser,
    code: &str,
) -> ApiResult<CommunityRow> {
    let row = store::community_by_code(conn, code)?;
    let scope = scope_of(conn, user)?;
    let visible = match (&row, user.role) {
        (None, _) => false,
        // Residents and departments see the organisation's shape (to report and route
        // cases), never its people; the community itself is public.
        (Some(_), Role::Resident | Role::Department) => true,
        (Some(r), _) => scope.includes_community(&r.id),
    };
    match row {
        Some(r) if visible => Ok(r),
        _ => Err(ApiError::NotFound(format!("community {code}"))),
    }
}
