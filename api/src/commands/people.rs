//! Staff accounts and their assignments to communities and streets: the commands the
//! API, the CLI and the demo seeder share.

use patrol_domain::DomainError;
use patrol_domain::org::{parse_login, parse_name, parse_phone};
use patrol_domain::role::{AssignmentKind, Role};

use crate::db::ids::{new_id, now_ms};
use crate::db::store::{self, AssignmentRow, AuditRow, UserRow};
use crate::db::{DbConn, write_tx};
use crate::infra::error::{ApiError, ApiResult};

/// What creating a staff account needs, checked.
pub struct NewUser {
    pub login: String,
    pub role: Role,
    pub display_name: String,
    pub phone: Option<String>,
    pub department_name: Option<String>,
    /// The account is the district joint-meeting office (departments only).
    pub joint_office: bool,
    /// The account is the city hotline's integration account (departments only).
    pub hotline_intake: bool,
}

impl NewUser {
    pub fn parse(
        login: &str,
        role: &str,
        display_name: &str,
        phone: Option<&str>,
        department_name: Option<&str>,
    ) -> Result<Self, DomainError> {
        let role: Role = role.parse()?;
        if !role.is_staff() {
            return Err(DomainError::invalid(
                "role",
                "residents register themselves from the mini-app",
            ));
        }
        Ok(Self {
            login: parse_login(login)?,
            role,
            display_name: parse_name("display_name", display_name)?,
            phone: phone.map(|p| parse_phone("phone", p)).transpose()?,
            department_name: department_name
                .map(|d| parse_name("department_name", d))
                .transpose()?,
            joint_office: false,
            hotline_intake: false,
        })
    }

    /// Marks the account as the joint-meeting office, or not. Only a department account
    /// can be the office.
    pub fn joint_office(mut self, joint_office: bool) -> Result<Self, DomainError> {
        if joint_office && self.role != Role::Department {
            return Err(DomainError::invalid(
                "joint_office",
                "only a department account can be the joint-meeting office",
            ));
        }
        self.joint_office = joint_office;
        Ok(self)
    }

    /// Marks the account as the city hotline's integration account, or not. Only a
    /// department account can be it, and not the joint-meeting office as well.
    pub fn hotline_intake(mut self, hotline_intake: bool) -> Result<Self, DomainError> {
        if hotline_intake && (self.role != Role::Department || self.joint_office) {
            return Err(DomainError::invalid(
                "hotline_intake",
                "only a department account other than the joint-meeting office can be the \
                 hotline's integration account",
            ));
        }
        self.hotline_intake = hotline_intake;
        Ok(self)
    }
}

/// Inserts a staff account with an audit entry. Shared by the API and the CLI.
pub fn insert_staff(
    conn: &mut DbConn,
    new: NewUser,
    password_hash: String,
    actor: Option<&str>,
) -> ApiResult<UserRow> {
    // The office assigns tasks to departments by their name: an unnamed department would
    // be a task target nobody can tell apart.
    if new.role == Role::Department
        && !new.joint_office
        && !new.hotline_intake
        && new.department_name.is_none()
    {
        return Err(ApiError::Domain(DomainError::invalid(
            "department_name",
            "a department account names its department (or is the joint-meeting office, \
             with joint_office: true)",
        )));
    }
    let now = now_ms();
    let row = UserRow {
        id: new_id(),
        login: new.login,
        role: new.role.as_str().into(),
        display_name: new.display_name,
        phone: new.phone,
        password_hash,
        squad_id: None,
        department_name: new.department_name,
        joint_office: new.joint_office,
        hotline_intake: new.hotline_intake,
        active: true,
        created_by: actor.map(str::to_owned),
        created_at: now,
        updated_at: now,
    };
    write_tx(conn, |conn| -> ApiResult<()> {
        store::insert_user(conn, &row)?;
        store::insert_audit(
            conn,
            &AuditRow {
                id: new_id(),
                actor_id: actor.map(str::to_owned),
                action: "user.create".into(),
                entity: "user".into(),
                entity_id: row.id.clone(),
                detail: serde_json::json!({ "login": row.login, "role": row.role }).to_string(),
                at: now,
            },
        )?;
        Ok(())
    })
    .map_err(|e| match e {
        ApiError::Conflict(_) => {
            ApiError::Conflict("that login or phone number is already taken".into())
        }
        other => other,
    })?;
    Ok(row)
}

/// Resolves a community or street code to its id.
fn target_id(conn: &mut DbConn, kind: AssignmentKind, code: &str) -> ApiResult<String> {
    let found = if kind.targets_street() {
        store::street_by_code(conn, code)?.map(|s| s.id)
    } else {
        store::community_by_code(conn, code)?.map(|c| c.id)
    };
    found.ok_or_else(|| {
        ApiError::Domain(DomainError::invalid(
            "target_code",
            format!(
                "no {} with code {code:?}",
                if kind.targets_street() {
                    "street"
                } else {
                    "community"
                }
            ),
        ))
    })
}

/// Starts an assignment now. Shared by the API, the CLI and the demo seeder.
pub fn assign(
    conn: &mut DbConn,
    user_id: &str,
    target_code: &str,
    reason: Option<String>,
    actor: Option<&str>,
) -> ApiResult<AssignmentRow> {
    assign_from(conn, user_id, target_code, reason, actor, now_ms())
}

/// Starts an assignment that began at `started_at` (ms): the demo's pairings began
/// months ago, so yesterday's visits fall inside them.
pub fn assign_from(
    conn: &mut DbConn,
    user_id: &str,
    target_code: &str,
    reason: Option<String>,
    actor: Option<&str>,
    started_at: i64,
) -> ApiResult<AssignmentRow> {
    write_tx(conn, |conn| {
        let target = store::user_by_id(conn, user_id)?
            .filter(|u| u.active)
            .ok_or_else(|| {
                ApiError::Domain(DomainError::invalid("user_id", "no such active user"))
            })?;
        let role: Role = target.role.parse()?;
        let kind = AssignmentKind::for_role(role)?;
        let target_id = target_id(conn, kind, target_code)?;
        if store::current_assignments_of_user(conn, user_id)?
            .iter()
            .any(|a| a.target_id == target_id)
        {
            return Err(ApiError::Conflict(format!(
                "{} already covers {target_code}",
                target.login
            )));
        }
        let now = now_ms();
        let row = AssignmentRow {
            id: new_id(),
            kind: kind.as_str().into(),
            user_id: user_id.to_owned(),
            target_id,
            started_at: started_at.min(now),
            ended_at: None,
            assigned_by: actor.map(str::to_owned),
            ended_by: None,
            reason,
            created_at: now,
        };
        store::insert_assignment(conn, &row)?;
        store::insert_audit(
            conn,
            &AuditRow {
                id: new_id(),
                actor_id: actor.map(str::to_owned),
                action: "assignment.start".into(),
                entity: "assignment".into(),
                entity_id: row.id.clone(),
                detail: serde_json::json!({ "user_id": user_id, "target_code": target_code })
                    .to_string(),
                at: now,
            },
        )?;
        Ok(row)
    })
}
