//! Test fixtures shared by the case modules' unit tests: people, cases, commands.

use chrono::NaiveDate;

use super::*;
use crate::error::{DomainError, DomainResult};
use crate::role::Role;

pub(super) const REPORTER: &str = "res_1";
pub(super) const OFFICER: &str = "off_1";
pub(super) const OTHER_OFFICER: &str = "off_2";

pub(super) fn actor(id: &str, role: Role) -> Actor {
    Actor {
        user_id: id.into(),
        role,
    }
}
pub(super) fn reporter() -> Actor {
    actor(REPORTER, Role::Resident)
}
pub(super) fn officer() -> Actor {
    actor(OFFICER, Role::Officer)
}
pub(super) fn supervisor() -> Actor {
    actor("sup_1", Role::Supervisor)
}
pub(super) fn staff() -> Actor {
    actor("staff_1", Role::CommunityStaff)
}
pub(super) fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 4, 1).unwrap()
}

/// A consistent case in `status`: reported by a resident, first contact and handler
/// `off_1`, who also resolved it when it is past `in_progress`.
pub(super) fn case_in(status: CaseStatus) -> CaseState {
    use CaseStatus as S;
    let mut s = CaseState::reported(Some(REPORTER.into()), Some(OFFICER.into()));
    s.status = status;
    if matches!(
        status,
        S::Dispatched | S::InProgress | S::Resolved | S::Closed | S::Evaluated
    ) {
        s.handler = Some(Handler::Officer(OFFICER.into()));
    }
    if matches!(status, S::Resolved | S::Closed | S::Evaluated) {
        s.resolved_by = Some(OFFICER.into());
    }
    if status == S::Deferred {
        s.handler = Some(Handler::Officer(OFFICER.into()));
        s.deferred_from = Some(S::Dispatched);
    }
    s.follow_up_open = true;
    s
}
pub(super) fn deferred_from(from: CaseStatus) -> CaseState {
    let mut s = case_in(CaseStatus::Deferred);
    s.deferred_from = Some(from);
    s
}

pub(super) fn void() -> CaseCommand {
    CaseCommand::Void {
        reason: "not a real problem".into(),
    }
}
pub(super) fn dispatch(to: &str) -> CaseCommand {
    CaseCommand::Dispatch {
        to: Handler::Officer(to.into()),
    }
}
pub(super) fn resolve() -> CaseCommand {
    CaseCommand::Resolve {
        evidence: vec!["sha256:ab12".into()],
        note: "cleared".into(),
    }
}
pub(super) fn verify(passed: bool) -> CaseCommand {
    CaseCommand::Verify {
        passed,
        outcome: CloseOutcome::Fixed,
        note: "checked on site".into(),
    }
}
pub(super) fn defer() -> CaseCommand {
    CaseCommand::Defer {
        reason: "waiting for the property manager".into(),
        resume_on: date(),
    }
}
pub(super) fn duplicate() -> CaseCommand {
    CaseCommand::MarkDuplicate {
        original_id: "case_0".into(),
    }
}
pub(super) fn evaluate(rating: u8) -> CaseCommand {
    CaseCommand::Evaluate {
        rating,
        comment: Some("quick".into()),
    }
}
pub(super) fn not_fixed() -> CaseCommand {
    CaseCommand::NotFixed {
        comment: "the pile is back".into(),
    }
}

pub(super) fn assert_forbidden(r: DomainResult<Transition>, ctx: &str) {
    assert!(
        matches!(r, Err(DomainError::Forbidden { .. })),
        "{ctx}: expected forbidden, got {r:?}"
    );
}

pub(super) fn assert_conflict_naming(r: DomainResult<Transition>, status: CaseStatus, ctx: &str) {
    match r {
        Err(DomainError::Conflict { reason }) => assert!(
            reason.contains(&format!("current status: {}", status.as_str())),
            "{ctx}: {reason}"
        ),
        other => panic!("{ctx}: expected conflict, got {other:?}"),
    }
}
