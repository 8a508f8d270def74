//! Escalation to the district joint-meeting office (外循环) as commands: an officer's or a
//! supervisor's escalation (also a sync mutation, so it works offline), the office's
//! decision (department tasks or a decline), and a department completing its task. Rules
//! live in `patrol_domain::escalation`; this module loads, checks scope and persists.

use chrono::Utc;
use patrol_domain::DomainError;
use patrol_domain::case::CaseStatus;
use patrol_domain::escalation::{self, Decision, EscalationStatus};
use patrol_domain::role::Role;
use serde::Deserialize;
use serde_json::{Value, json};

use patrol_sync::protocol::CaseEscalateArgs;

use crate::commands::cases::{Access, load_for};
use crate::commands::context::{Applied, CommandResult, Ctx, at_ms};
use crate::db::changes;
use crate::db::ids::{new_id, now_ms};
use crate::db::store;
use crate::db::workflow::{self, EscalationRow, TaskRow};
use crate::db::{DbConn, StoreError};

/// The office's answer: `departments` (logins of department accounts) to assign, or a
/// `decline_reason`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideArgs {
    #[serde(default)]
    pub departments: Vec<String>,
    #[serde(default)]
    pub instructions: String,
    pub due_hours: Option<u32>,
    pub decline_reason: Option<String>,
}

/// A department's answer to its task.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteArgs {
    pub response: String,
    #[serde(default)]
    pub evidence: Vec<String>,
}

fn refuse<T>(e: DomainError) -> CommandResult<T> {
    Ok(Err(e))
}

fn note_on_case(
    conn: &mut DbConn,
    ctx: &Ctx,
    case_id: &str,
    kind: &str,
    note: &str,
    evidence: Value,
) -> Result<(), StoreError> {
    let c = store::case_by_id(conn, case_id)?
        .ok_or_else(|| StoreError::Corrupt(format!("no case {case_id}")))?;
    crate::commands::cases::add_note(conn, ctx, &c, kind, note, evidence)
}

/// `case.escalate`: the officer or supervisor hands the case to the joint-meeting office.
pub fn escalate(
    conn: &mut DbConn,
    ctx: &Ctx,
    args: &CaseEscalateArgs,
) -> CommandResult<EscalationRow> {
    let c = match load_for(conn, ctx, &args.case_id, Access::Read)? {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    let status: CaseStatus = c
        .status
        .parse()
        .map_err(|e: DomainError| StoreError::Corrupt(e.to_string()))?;
    let open = workflow::escalations_of_case(conn, &c.id)?
        .iter()
        .any(|e| e.status().is_ok_and(EscalationStatus::is_open));
    let reason = match escalation::check_escalate(ctx.actor.role, status, open, &args.reason) {
        Ok(r) => r,
        Err(e) => return refuse(e),
    };
    let now = now_ms();
    let row = EscalationRow {
        id: new_id(),
        case_id: c.id.clone(),
        community_id: c.community_id.clone(),
        status: EscalationStatus::Pending.as_str().into(),
        reason: reason.clone(),
        raised_by: ctx.actor.user_id.clone(),
        raised_at: now,
        decided_by: None,
        decided_at: None,
        decision_note: None,
        updated_at: now,
    };
    workflow::insert_escalation(conn, &row)?;
    changes::escalation_changed(conn, &row)?;
    crate::commands::cases::add_note(
        conn,
        ctx,
        &c,
        "escalated",
        &reason,
        json!({ "escalation_id": row.id }),
    )?;
    Ok(Ok(Applied {
        record: row,
        conflict: None,
    }))
}

/// The office decides a pending escalation: one task per department, or a decline.
pub fn decide(
    conn: &mut DbConn,
    ctx: &Ctx,
    escalation_id: &str,
    args: &DecideArgs,
) -> CommandResult<(EscalationRow, Vec<TaskRow>)> {
    let Some(found) = workflow::escalation_by_id(conn, escalation_id)? else {
        return refuse(DomainError::not_found(format!(
            "escalation {escalation_id}"
        )));
    };
    // One decision per escalation, and none on a case that is no longer open.
    store::lock_row(conn, store::LockTable::Cases, &found.case_id)?;
    let Some(mut e) = workflow::escalation_by_id(conn, escalation_id)? else {
        return Err(StoreError::NotFound);
    };
    let case_open = store::case_by_id(conn, &e.case_id)?
        .and_then(|c| c.status.parse::<CaseStatus>().ok())
        .is_some_and(CaseStatus::is_open);
    if !case_open && e.status()? == EscalationStatus::Pending {
        return refuse(DomainError::conflict(
            "the case was closed or dismissed meanwhile; nothing to assign",
        ));
    }
    let decision = match (&args.decline_reason, args.departments.is_empty()) {
        (Some(reason), true) => Decision::Decline {
            reason: reason.clone(),
        },
        (Some(_), false) => {
            return refuse(DomainError::invalid(
                "decline_reason",
                "either list departments or decline, not both",
            ));
        }
        (None, _) => {
            // Departments are named by login; resolve to department accounts.
            let mut ids = Vec::with_capacity(args.departments.len());
            for (i, login) in args.departments.iter().enumerate() {
                match store::user_by_login(conn, &login.trim().to_lowercase())? {
                    Some(u)
                        if u.active && u.role == Role::Department.as_str() && !u.joint_office =>
                    {
                        ids.push(u.id)
                    }
                    _ => {
                        return refuse(DomainError::invalid(
                            format!("departments[{i}]"),
                            format!("{login:?} is not an active department account"),
                        ));
                    }
                }
            }
            Decision::Assign {
                departments: ids,
                instructions: args.instructions.clone(),
                hours: args.due_hours.unwrap_or(escalation::DEFAULT_TASK_HOURS),
            }
        }
    };
    let decision = match escalation::check_decision(ctx.joint_office, e.status()?, decision) {
        Ok(d) => d,
        Err(err) => return refuse(err),
    };
    let now = now_ms();
    let mut tasks = Vec::new();
    match decision {
        Decision::Assign {
            departments,
            instructions,
            hours,
        } => {
            let due = escalation::task_due(at_ms(now), hours).timestamp_millis();
            for department_id in departments {
                let t = TaskRow {
                    id: new_id(),
                    escalation_id: e.id.clone(),
                    case_id: e.case_id.clone(),
                    department_id,
                    status: "open".into(),
                    instructions: instructions.clone(),
                    assigned_by: ctx.actor.user_id.clone(),
                    assigned_at: now,
                    due_at: due,
                    done_by: None,
                    done_at: None,
                    response: None,
                    evidence: "[]".into(),
                };
                workflow::insert_task(conn, &t)?;
                changes::task_changed(conn, &t, &e.community_id)?;
                tasks.push(t);
            }
            e.status = EscalationStatus::Tasked.as_str().into();
            e.decision_note = Some(instructions);
        }
        Decision::Decline { reason } => {
            e.status = EscalationStatus::Declined.as_str().into();
            e.decision_note = Some(reason);
        }
    }
    e.decided_by = Some(ctx.actor.user_id.clone());
    e.decided_at = Some(now);
    e.updated_at = now;
    workflow::update_escalation(conn, &e)?;
    changes::escalation_changed(conn, &e)?;
    note_on_case(
        conn,
        ctx,
        &e.case_id,
        "escalation_decided",
        e.decision_note.as_deref().unwrap_or(""),
        json!({ "escalation_id": e.id, "status": e.status,
                "tasks": tasks.iter().map(|t| &t.department_id).collect::<Vec<_>>() }),
    )?;
    Ok(Ok(Applied {
        record: (e, tasks),
        conflict: None,
    }))
}

/// A department completes its task; the escalation is done when every task is.
pub fn complete_task(
    conn: &mut DbConn,
    ctx: &Ctx,
    task_id: &str,
    args: &CompleteArgs,
) -> CommandResult<TaskRow> {
    let Some(found) =
        workflow::task_by_id(conn, task_id)?.filter(|t| t.department_id == ctx.actor.user_id)
    else {
        return refuse(DomainError::not_found(format!("task {task_id}")));
    };
    // Tasks of one case complete one at a time, so the last one sees all the others done.
    store::lock_row(conn, store::LockTable::Cases, &found.case_id)?;
    let Some(mut t) = workflow::task_by_id(conn, task_id)? else {
        return Err(StoreError::NotFound);
    };
    let response = match escalation::check_complete(
        &ctx.actor.user_id,
        &t.department_id,
        t.status == "open",
        &args.response,
    )
    .and_then(|r| crate::commands::cases::check_evidence(&args.evidence).map(|()| r))
    {
        Ok(r) => r,
        Err(e) => return refuse(e),
    };
    let Some(mut e) = workflow::escalation_by_id(conn, &t.escalation_id)? else {
        return Err(StoreError::Corrupt(format!(
            "task {} has no escalation",
            t.id
        )));
    };
    let now = now_ms();
    t.status = "done".into();
    t.done_by = Some(ctx.actor.user_id.clone());
    t.done_at = Some(now);
    t.response = Some(response.clone());
    t.evidence = json!(args.evidence).to_string();
    workflow::update_task(conn, &t)?;
    changes::task_changed(conn, &t, &e.community_id)?;
    let all_done = workflow::tasks_of_escalation(conn, &e.id)?
        .iter()
        .all(|t| t.status != "open");
    if all_done {
        e.status = EscalationStatus::Done.as_str().into();
        e.updated_at = now;
        workflow::update_escalation(conn, &e)?;
        changes::escalation_changed(conn, &e)?;
    }
    note_on_case(
        conn,
        ctx,
        &t.case_id,
        "department_task_done",
        &response,
        json!({ "task_id": t.id, "evidence": args.evidence, "late": now > t.due_at }),
    )?;
    Ok(Ok(Applied {
        record: t,
        conflict: None,
    }))
}

/// Per-department response figures for tasks assigned in `[from, to)`.
pub fn department_report(
    conn: &mut DbConn,
    (from, to): (i64, i64),
) -> Result<Vec<(store::UserRow, escalation::DepartmentStats)>, StoreError> {
    let tasks = workflow::tasks_assigned_between(conn, from, to)?;
    let mut by_department: std::collections::BTreeMap<String, Vec<escalation::TaskTimes>> =
        std::collections::BTreeMap::new();
    for t in &tasks {
        by_department
            .entry(t.department_id.clone())
            .or_default()
            .push(escalation::TaskTimes {
                assigned_at: at_ms(t.assigned_at),
                due_at: at_ms(t.due_at),
                done_at: t.done_at.map(at_ms),
                cancelled: t.status == "cancelled",
            });
    }
    let now = Utc::now();
    let mut out = Vec::new();
    for (id, times) in by_department {
        if let Some(u) = store::user_by_id(conn, &id)? {
            out.push((u, escalation::department_stats(&times, now)));
        }
    }
    Ok(out)
}
