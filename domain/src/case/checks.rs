//! The checks `apply` makes after the status: who may act, and well-formed arguments.

use super::{Actor, CaseState, Handler};
use crate::error::{DomainError, DomainResult};
use crate::role::Role;

pub(super) fn is_desk(actor: &Actor) -> bool {
    matches!(actor.role, Role::Supervisor | Role::Admin)
}

pub(super) fn require_desk(actor: &Actor, what: &str) -> DomainResult<()> {
    if is_desk(actor) {
        Ok(())
    } else {
        Err(DomainError::forbidden(format!(
            "only a supervisor or an admin can {what}, not a {}",
            actor.role
        )))
    }
}

pub(super) fn require_desk_or_first_contact(
    state: &CaseState,
    actor: &Actor,
    what: &str,
) -> DomainResult<()> {
    let first_contact = actor.role == Role::Officer
        && state.first_contact_id.as_deref() == Some(actor.user_id.as_str());
    if is_desk(actor) || first_contact {
        Ok(())
    } else {
        Err(DomainError::forbidden(format!(
            "only a supervisor, an admin or the first-contact officer can {what}"
        )))
    }
}

/// The handler, or, when the handler is an officer, another officer assigned to the
/// case's community.
pub(super) fn require_handler_or_colleague(
    state: &CaseState,
    actor: &Actor,
    what: &str,
) -> DomainResult<()> {
    let handler = state.handler.as_ref().is_some_and(|h| h.includes(actor));
    let colleague = actor.role == Role::Officer
        && matches!(state.handler, Some(Handler::Officer(_)))
        && state.community_staff.contains(&actor.user_id);
    if handler || colleague {
        Ok(())
    } else {
        Err(DomainError::forbidden(format!(
            "only the officer or department the case is dispatched to, or another officer of \
             its community, can {what} it"
        )))
    }
}

pub(super) fn require_reporter(state: &CaseState, actor: &Actor, what: &str) -> DomainResult<()> {
    if state.reporter_id.as_deref() == Some(actor.user_id.as_str()) {
        Ok(())
    } else {
        Err(DomainError::forbidden(format!(
            "only the case's reporter can {what} it"
        )))
    }
}

/// 核查 is an independent check: a verifier who did the work would be marking their own
/// homework, which is exactly what the practice forbids.
pub(super) fn require_verifier(state: &CaseState, actor: &Actor) -> DomainResult<()> {
    if !matches!(
        actor.role,
        Role::Supervisor | Role::CommunityStaff | Role::Officer
    ) {
        return Err(DomainError::forbidden(format!(
            "only a supervisor, community staff or an officer can verify a case, not a {}",
            actor.role
        )));
    }
    if state.resolved_by.as_deref() == Some(actor.user_id.as_str()) {
        return Err(DomainError::forbidden(
            "the person who resolved a case cannot verify it",
        ));
    }
    if state
        .handler
        .as_ref()
        .is_some_and(|h| h.names(&actor.user_id))
    {
        return Err(DomainError::forbidden("a case's handler cannot verify it"));
    }
    Ok(())
}

pub(super) fn required_text<'a>(field: &str, value: &'a str) -> DomainResult<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        Err(DomainError::invalid(field, "required, must not be blank"))
    } else {
        Ok(value)
    }
}

pub(super) fn required_evidence(evidence: &[String]) -> DomainResult<Vec<String>> {
    if evidence.is_empty() {
        return Err(DomainError::invalid(
            "evidence",
            "at least one photo hash or note is required",
        ));
    }
    evidence
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let e = e.trim();
            if e.is_empty() {
                Err(DomainError::invalid(
                    "evidence",
                    format!("entry {} is blank", i + 1),
                ))
            } else {
                Ok(e.to_owned())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::fixtures::*;
    use crate::case::{CaseCommand, CaseStatus, CloseOutcome, apply, next_state};

    #[test]
    fn roles_not_in_the_table_are_refused() {
        use CaseStatus as S;
        let dept = |id: &str| actor(id, Role::Department);
        let mut by_departments = case_in(S::Dispatched);
        by_departments.handler = Some(Handler::Departments(vec!["dept_a".into()]));
        let cases: Vec<(&str, CaseState, CaseCommand, Actor)> = vec![
            (
                "resident accepts",
                case_in(S::Reported),
                CaseCommand::Accept,
                reporter(),
            ),
            (
                "community staff accepts",
                case_in(S::Reported),
                CaseCommand::Accept,
                staff(),
            ),
            (
                "officer who is not first contact accepts",
                case_in(S::Reported),
                CaseCommand::Accept,
                actor(OTHER_OFFICER, Role::Officer),
            ),
            (
                "party member with the first contact's id accepts",
                case_in(S::Reported),
                CaseCommand::Accept,
                actor(OFFICER, Role::PartyMember),
            ),
            (
                "first-contact officer voids",
                case_in(S::Reported),
                void(),
                officer(),
            ),
            (
                "resident marks duplicate",
                case_in(S::Reported),
                duplicate(),
                reporter(),
            ),
            (
                "officer dispatches",
                case_in(S::Accepted),
                dispatch(OFFICER),
                officer(),
            ),
            (
                "community staff dispatches",
                case_in(S::Accepted),
                dispatch(OFFICER),
                staff(),
            ),
            (
                "department dispatches",
                case_in(S::Accepted),
                dispatch(OFFICER),
                dept("d"),
            ),
            (
                "another officer starts",
                case_in(S::Dispatched),
                CaseCommand::Start,
                actor(OTHER_OFFICER, Role::Officer),
            ),
            (
                "supervisor starts",
                case_in(S::Dispatched),
                CaseCommand::Start,
                supervisor(),
            ),
            (
                "unlisted department starts",
                by_departments.clone(),
                CaseCommand::Start,
                dept("dept_b"),
            ),
            (
                "an officer with a listed department's id starts",
                by_departments,
                CaseCommand::Start,
                actor("dept_a", Role::Officer),
            ),
            (
                "supervisor resolves",
                case_in(S::InProgress),
                resolve(),
                supervisor(),
            ),
            (
                "resident verifies",
                case_in(S::Resolved),
                verify(true),
                reporter(),
            ),
            (
                "party member verifies",
                case_in(S::Resolved),
                verify(true),
                actor("pm", Role::PartyMember),
            ),
            (
                "admin verifies",
                case_in(S::Resolved),
                verify(true),
                actor("adm", Role::Admin),
            ),
            (
                "department verifies",
                case_in(S::Resolved),
                verify(true),
                dept("d"),
            ),
            ("officer defers", case_in(S::Dispatched), defer(), officer()),
            (
                "officer resumes",
                case_in(S::Deferred),
                CaseCommand::Resume,
                officer(),
            ),
            (
                "supervisor evaluates",
                case_in(S::Closed),
                evaluate(5),
                supervisor(),
            ),
            (
                "another resident evaluates",
                case_in(S::Closed),
                evaluate(5),
                actor("res_2", Role::Resident),
            ),
            (
                "handler says not fixed",
                case_in(S::Closed),
                not_fixed(),
                officer(),
            ),
            (
                "supervisor withdraws",
                case_in(S::Accepted),
                CaseCommand::Withdraw,
                supervisor(),
            ),
        ];
        for (name, state, cmd, who) in cases {
            assert_forbidden(apply(&state, &cmd, &who), name);
        }
    }

    #[test]
    fn another_officer_of_the_community_may_start_and_resolve_beside_the_handler() {
        use CaseStatus as S;
        let mut state = case_in(S::Dispatched);
        state.community_staff = vec![OFFICER.into(), OTHER_OFFICER.into(), "staff_1".into()];
        let colleague = actor(OTHER_OFFICER, Role::Officer);
        let t = apply(&state, &CaseCommand::Start, &colleague).unwrap();
        let state = next_state(&state, &t);
        let t = apply(&state, &resolve(), &colleague).unwrap();
        assert_eq!(t.resolved_by.as_deref(), Some(OTHER_OFFICER));
        let resolved = next_state(&state, &t);
        assert_eq!(
            resolved.handler,
            Some(Handler::Officer(OFFICER.into())),
            "the case stays the handler's"
        );
        // Neither the resolver nor the handler may check the work.
        for who in [colleague.clone(), officer()] {
            assert_forbidden(apply(&resolved, &verify(true), &who), "self-check");
        }
        // Community staff of the same community are not officers; an officer elsewhere
        // is not a colleague; a department's case has no officer colleagues.
        let mut in_progress = case_in(S::InProgress);
        in_progress.community_staff = vec!["staff_1".into()];
        assert_forbidden(apply(&in_progress, &resolve(), &staff()), "staff");
        assert_forbidden(apply(&in_progress, &resolve(), &colleague), "elsewhere");
        in_progress.community_staff = vec![OTHER_OFFICER.into()];
        in_progress.handler = Some(Handler::Departments(vec!["dept_1".into()]));
        assert_forbidden(apply(&in_progress, &resolve(), &colleague), "department's");
    }

    #[test]
    fn a_leader_may_void_until_the_case_is_resolved() {
        use CaseStatus as S;
        for from in [
            S::Reported,
            S::Accepted,
            S::Dispatched,
            S::InProgress,
            S::Deferred,
        ] {
            let t = apply(&case_in(from), &void(), &supervisor()).unwrap();
            assert_eq!(t.to, S::Voided);
            assert_forbidden(apply(&case_in(from), &void(), &officer()), "officer voids");
        }
        for from in [S::Resolved, S::Closed, S::Evaluated] {
            assert_conflict_naming(apply(&case_in(from), &void(), &supervisor()), from, "late");
        }
    }

    #[test]
    fn verification_by_the_resolver_or_the_handler_is_refused() {
        let state = case_in(CaseStatus::Resolved);
        assert_forbidden(apply(&state, &verify(true), &officer()), "resolver");
        assert_forbidden(
            apply(&state, &verify(false), &officer()),
            "resolver fails it",
        );

        // Resolved by one person but handled by another: neither may verify.
        let mut state = case_in(CaseStatus::Resolved);
        state.handler = Some(Handler::Officer(OTHER_OFFICER.into()));
        let other = actor(OTHER_OFFICER, Role::Officer);
        assert_forbidden(apply(&state, &verify(true), &other), "handler");
        assert_forbidden(apply(&state, &verify(true), &officer()), "resolver");

        // Any other officer, supervisor or community staff may.
        for who in [actor("off_3", Role::Officer), supervisor(), staff()] {
            let t = apply(&state, &verify(true), &who).unwrap();
            assert_eq!(t.to, CaseStatus::Closed, "{}", who.role);
        }
    }

    #[test]
    fn failed_verification_needs_a_note() {
        let cmd = CaseCommand::Verify {
            passed: false,
            outcome: CloseOutcome::Fixed,
            note: " ".into(),
        };
        let err = apply(&case_in(CaseStatus::Resolved), &cmd, &supervisor()).unwrap_err();
        assert!(matches!(err, DomainError::Invalid { field, .. } if field == "note"));
    }

    #[test]
    fn evaluation_is_by_the_reporter_only_and_rates_one_to_five() {
        let closed = case_in(CaseStatus::Closed);
        for rating in 1..=5u8 {
            let t = apply(&closed, &evaluate(rating), &reporter()).unwrap();
            assert_eq!((t.to, t.rating), (CaseStatus::Evaluated, Some(rating)));
        }
        for rating in [0u8, 6, 255] {
            let err = apply(&closed, &evaluate(rating), &reporter()).unwrap_err();
            assert!(
                matches!(&err, DomainError::Invalid { field, .. } if field == "rating"),
                "{rating}: {err:?}"
            );
        }
        for who in [
            officer(),
            supervisor(),
            staff(),
            actor("res_2", Role::Resident),
        ] {
            assert_forbidden(apply(&closed, &evaluate(5), &who), who.role.as_str());
        }
        let mut anonymous = closed.clone();
        anonymous.reporter_id = None;
        assert_forbidden(apply(&anonymous, &evaluate(5), &reporter()), "no reporter");

        let t = apply(&closed, &evaluate(5), &reporter()).unwrap();
        let evaluated = next_state(&closed, &t);
        let r = apply(&evaluated, &evaluate(1), &reporter());
        assert_conflict_naming(r, CaseStatus::Evaluated, "evaluating twice");
    }

    #[test]
    fn bad_arguments_name_the_field() {
        use CaseStatus as S;
        let cases: Vec<(CaseState, CaseCommand, Actor, &str)> = vec![
            (
                case_in(S::Reported),
                CaseCommand::Void {
                    reason: "  ".into(),
                },
                supervisor(),
                "reason",
            ),
            (
                case_in(S::Accepted),
                CaseCommand::Defer {
                    reason: String::new(),
                    resume_on: date(),
                },
                supervisor(),
                "reason",
            ),
            (
                case_in(S::InProgress),
                CaseCommand::Resolve {
                    evidence: vec![],
                    note: "done".into(),
                },
                officer(),
                "evidence",
            ),
            (
                case_in(S::InProgress),
                CaseCommand::Resolve {
                    evidence: vec!["sha256:ab".into(), " ".into()],
                    note: String::new(),
                },
                officer(),
                "evidence",
            ),
            (case_in(S::Closed), evaluate(0), reporter(), "rating"),
            (
                case_in(S::Closed),
                CaseCommand::NotFixed {
                    comment: String::new(),
                },
                reporter(),
                "comment",
            ),
            (
                case_in(S::Reported),
                CaseCommand::MarkDuplicate {
                    original_id: " ".into(),
                },
                supervisor(),
                "original_id",
            ),
            (case_in(S::Accepted), dispatch(""), supervisor(), "to"),
            (
                case_in(S::Accepted),
                CaseCommand::Dispatch {
                    to: Handler::Departments(vec![]),
                },
                supervisor(),
                "to",
            ),
            (
                case_in(S::Accepted),
                CaseCommand::Dispatch {
                    to: Handler::Departments(vec!["d".into(), "d".into()]),
                },
                supervisor(),
                "to",
            ),
        ];
        for (state, cmd, who, want) in cases {
            match apply(&state, &cmd, &who) {
                Err(DomainError::Invalid { field, .. }) => assert_eq!(field, want, "{cmd:?}"),
                other => panic!("{cmd:?}: expected invalid {want}, got {other:?}"),
            }
        }
    }

    #[test]
    fn dispatch_to_departments_lets_only_listed_departments_work_on_it() {
        let state = case_in(CaseStatus::Accepted);
        let to = Handler::Departments(vec!["dept_a".into(), "dept_b".into()]);
        let t = apply(
            &state,
            &CaseCommand::Dispatch { to: to.clone() },
            &supervisor(),
        )
        .unwrap();
        let state = next_state(&state, &t);
        assert_eq!(state.handler, Some(to));
        let t = apply(
            &state,
            &CaseCommand::Start,
            &actor("dept_b", Role::Department),
        )
        .unwrap();
        let state = next_state(&state, &t);
        let t = apply(&state, &resolve(), &actor("dept_a", Role::Department)).unwrap();
        assert_eq!(t.resolved_by.as_deref(), Some("dept_a"));
        let state = next_state(&state, &t);
        // A department that handled it cannot turn around as an officer and check it.
        assert_forbidden(
            apply(&state, &verify(true), &actor("dept_b", Role::Officer)),
            "handling department",
        );
    }
}
