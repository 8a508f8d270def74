//! Escalation to the district joint-meeting office (外循环, 提交区联席办): an officer or a
//! supervisor hands a problem the community cannot solve to the office, which answers
//! with one task per department involved (or declines, with a reason). The case cannot
//! close until every task is done; each department's response time is reported apart.
//!
//! The joint-meeting office and the departments it coordinates are both `department`
//! accounts: the office is the one marked as such (`joint_office`), and every other one
//! names its department.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::case::CaseStatus;
use crate::error::{DomainError, DomainResult};
use crate::role::Role;

/// Where an escalation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationStatus {
    /// Waiting for the joint-meeting office.
    Pending,
    /// The office created department tasks; some are still open.
    Tasked,
    /// The office declined it; the case stays with the community.
    Declined,
    /// Every department task is done.
    Done,
    /// The case was withdrawn or dismissed while escalated.
    Cancelled,
}

impl EscalationStatus {
    pub const ALL: [EscalationStatus; 5] = [
        EscalationStatus::Pending,
        EscalationStatus::Tasked,
        EscalationStatus::Declined,
        EscalationStatus::Done,
        EscalationStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EscalationStatus::Pending => "pending",
            EscalationStatus::Tasked => "tasked",
            EscalationStatus::Declined => "declined",
            EscalationStatus::Done => "done",
            EscalationStatus::Cancelled => "cancelled",
        }
    }

    /// Still waiting for the office or for departments.
    pub fn is_open(self) -> bool {
        matches!(self, EscalationStatus::Pending | EscalationStatus::Tasked)
    }
}

impl std::str::FromStr for EscalationStatus {
    type Err = DomainError;
    fn from_str(s: &str) -> DomainResult<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "status",
                    format!("unknown status {s:?}; expected pending, tasked, declined, done or cancelled"),
                )
            })
    }
}

/// Longest reason or response text.
pub const MAX_TEXT: usize = 2000;
/// Most departments one escalation can involve.
pub const MAX_DEPARTMENTS: usize = 20;
/// Default time a department has to answer its task, in hours.
pub const DEFAULT_TASK_HOURS: u32 = 72;

fn text(field: &str, raw: &str) -> DomainResult<String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(DomainError::invalid(field, "required, must not be blank"));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {MAX_TEXT} characters"),
        ));
    }
    Ok(t.to_owned())
}

/// May `role` escalate a case in `status`? `open_escalation` says whether the case is
/// already with the office. Returns the trimmed reason. Scope is the caller's check.
pub fn check_escalate(
    role: Role,
    status: CaseStatus,
    open_escalation: bool,
    reason: &str,
) -> DomainResult<String> {
    if !matches!(role, Role::Officer | Role::Supervisor) {
        return Err(DomainError::forbidden(format!(
            "only an officer or a supervisor escalates a case, not a {role}"
        )));
    }
    if !matches!(
        status,
        CaseStatus::Accepted | CaseStatus::Dispatched | CaseStatus::InProgress
    ) {
        return Err(DomainError::conflict(format!(
            "only an accepted case that is not yet resolved can be escalated (current status: {})",
            status.as_str()
        )));
    }
    if open_escalation {
        return Err(DomainError::conflict(
            "the case is already with the joint-meeting office",
        ));
    }
    text("reason", reason)
}

/// The office's answer to a pending escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// One task per department (user ids), due `hours` after assignment.
    Assign {
        departments: Vec<String>,
        instructions: String,
        hours: u32,
    },
    /// Not for the office: the case stays with the community.
    Decline { reason: String },
}

/// Checks the office's decision on an escalation in `status`. `is_office` says whether
/// the actor is the joint-meeting office. Department ids are checked here for shape
/// (non-empty, distinct); the caller checks each is a department account.
pub fn check_decision(
    is_office: bool,
    status: EscalationStatus,
    decision: Decision,
) -> DomainResult<Decision> {
    if !is_office {
        return Err(DomainError::forbidden(
            "only the district joint-meeting office assigns or declines an escalation",
        ));
    }
    if status != EscalationStatus::Pending {
        return Err(DomainError::conflict(format!(
            "the escalation was already decided (current status: {})",
            status.as_str()
        )));
    }
    match decision {
        Decision::Assign {
            departments,
            instructions,
            hours,
        } => {
            if departments.is_empty() || departments.len() > MAX_DEPARTMENTS {
                return Err(DomainError::invalid(
                    "departments",
                    format!("list 1 to {MAX_DEPARTMENTS} departments"),
                ));
            }
            for (i, d) in departments.iter().enumerate() {
                if departments[..i].contains(d) {
                    return Err(DomainError::invalid(
                        "departments",
                        format!("{d:?} is listed twice"),
                    ));
                }
            }
            if !(1..=crate::case::deadline::MAX_HOURS).contains(&hours) {
                return Err(DomainError::invalid(
                    "due_hours",
                    format!(
                        "must be between 1 and {} hours",
                        crate::case::deadline::MAX_HOURS
                    ),
                ));
            }
            Ok(Decision::Assign {
                departments,
                instructions: text("instructions", &instructions)?,
                hours,
            })
        }
        Decision::Decline { reason } => Ok(Decision::Decline {
            reason: text("reason", &reason)?,
        }),
    }
}

/// When a task assigned at `at` for `hours` is due.
pub fn task_due(at: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
    at.checked_add_signed(TimeDelta::hours(i64::from(hours)))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// May `actor_id` (a department account) complete a task assigned to `department_id`
/// that is `open`? Returns the trimmed response.
pub fn check_complete(
    actor_id: &str,
    department_id: &str,
    open: bool,
    response: &str,
) -> DomainResult<String> {
    if actor_id != department_id {
        return Err(DomainError::forbidden(
            "only the department the task is assigned to can complete it",
        ));
    }
    if !open {
        return Err(DomainError::conflict(
            "the task is no longer open (current status: done or cancelled)",
        ));
    }
    text("response", response)
}

/// One department task, for reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskTimes {
    pub assigned_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub cancelled: bool,
}

/// How one department answered its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DepartmentStats {
    /// Tasks assigned (cancelled ones excluded).
    pub assigned: u32,
    pub done: u32,
    pub done_on_time: u32,
    /// Still open and past due at `now`.
    pub open_overdue: u32,
    /// Mean hours from assignment to done, over done tasks.
    pub mean_response_hours: Option<f64>,
    /// Done on time over assigned.
    pub on_time_rate: Option<f64>,
}

/// Response statistics of one department's tasks at `now`.
pub fn department_stats(tasks: &[TaskTimes], now: DateTime<Utc>) -> DepartmentStats {
    let live: Vec<&TaskTimes> = tasks.iter().filter(|t| !t.cancelled).collect();
    let done: Vec<(&TaskTimes, DateTime<Utc>)> = live
        .iter()
        .filter_map(|t| t.done_at.map(|d| (*t, d)))
        .collect();
    let assigned = u32::try_from(live.len()).unwrap_or(u32::MAX);
    let done_on_time =
        u32::try_from(done.iter().filter(|(t, d)| *d <= t.due_at).count()).unwrap_or(u32::MAX);
    let open_overdue = u32::try_from(
        live.iter()
            .filter(|t| t.done_at.is_none() && now > t.due_at)
            .count(),
    )
    .unwrap_or(u32::MAX);
    #[allow(clippy::cast_precision_loss)] // counts and millisecond spans fit an f64 well
    let mean_response_hours = (!done.is_empty()).then(|| {
        let total_ms: i64 = done
            .iter()
            .map(|(t, d)| (*d - t.assigned_at).num_milliseconds())
            .sum();
        total_ms as f64 / done.len() as f64 / 3_600_000.0
    });
    DepartmentStats {
        assigned,
        done: u32::try_from(done.len()).unwrap_or(u32::MAX),
        done_on_time,
        open_overdue,
        mean_response_hours,
        on_time_rate: (assigned > 0).then(|| f64::from(done_on_time) / f64::from(assigned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap() + TimeDelta::hours(i64::from(h))
    }

    #[test]
    fn only_officers_and_supervisors_escalate_open_unresolved_cases_once() {
        assert_eq!(
            check_escalate(
                Role::Officer,
                CaseStatus::InProgress,
                false,
                "  needs the water company "
            ),
            Ok("needs the water company".into())
        );
        assert!(matches!(
            check_escalate(Role::Resident, CaseStatus::InProgress, false, "x"),
            Err(DomainError::Forbidden { .. })
        ));
        for s in [
            CaseStatus::Reported,
            CaseStatus::Resolved,
            CaseStatus::Closed,
        ] {
            assert!(matches!(
                check_escalate(Role::Supervisor, s, false, "x"),
                Err(DomainError::Conflict { .. })
            ));
        }
        assert!(matches!(
            check_escalate(Role::Officer, CaseStatus::Dispatched, true, "x"),
            Err(DomainError::Conflict { .. })
        ));
        assert!(matches!(
            check_escalate(Role::Officer, CaseStatus::Dispatched, false, "  "),
            Err(DomainError::Invalid { .. })
        ));
    }

    #[test]
    fn only_the_office_decides_once_with_distinct_departments() {
        let assign = |d: &[&str]| Decision::Assign {
            departments: d.iter().map(|s| (*s).to_owned()).collect(),
            instructions: "fix the main".into(),
            hours: 48,
        };
        assert!(check_decision(true, EscalationStatus::Pending, assign(&["a", "b"])).is_ok());
        assert!(matches!(
            check_decision(false, EscalationStatus::Pending, assign(&["a"])),
            Err(DomainError::Forbidden { .. })
        ));
        assert!(matches!(
            check_decision(true, EscalationStatus::Tasked, assign(&["a"])),
            Err(DomainError::Conflict { .. })
        ));
        for bad in [assign(&[]), assign(&["a", "a"])] {
            assert!(matches!(
                check_decision(true, EscalationStatus::Pending, bad),
                Err(DomainError::Invalid { .. })
            ));
        }
        assert!(matches!(
            check_decision(
                true,
                EscalationStatus::Pending,
                Decision::Decline { reason: " ".into() }
            ),
            Err(DomainError::Invalid { .. })
        ));
    }

    #[test]
    fn only_the_assigned_department_completes_an_open_task() {
        assert!(check_complete("d1", "d1", true, "done").is_ok());
        assert!(matches!(
            check_complete("d2", "d1", true, "done"),
            Err(DomainError::Forbidden { .. })
        ));
        assert!(matches!(
            check_complete("d1", "d1", false, "done"),
            Err(DomainError::Conflict { .. })
        ));
    }

    #[test]
    fn department_stats_count_on_time_late_and_open_overdue() {
        let task = |assigned: u32, due: u32, done: Option<u32>, cancelled| TaskTimes {
            assigned_at: t(assigned),
            due_at: t(due),
            done_at: done.map(t),
            cancelled,
        };
        let tasks = [
            task(0, 10, Some(10), false), // on time, exactly at due: 10 h
            task(0, 10, Some(12), false), // late: 12 h
            task(0, 10, None, false),     // open, overdue at 20
            task(15, 40, None, false),    // open, not yet due
            task(0, 1, None, true),       // cancelled: not counted
        ];
        let s = department_stats(&tasks, t(20));
        assert_eq!(
            (s.assigned, s.done, s.done_on_time, s.open_overdue),
            (4, 2, 1, 1)
        );
        assert_eq!(s.mean_response_hours, Some(11.0));
        assert_eq!(s.on_time_rate, Some(0.25));
        let none = department_stats(&[], t(0));
        assert_eq!((none.mean_response_hours, none.on_time_rate), (None, None));
    }
}
