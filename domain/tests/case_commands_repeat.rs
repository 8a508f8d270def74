//! The protocol's rule for workflow commands, over every status command: a command whose
//! effect is already the case's state adds no second transition. Sent twice (a retry, a
//! second device), the second is recognised as a repeat by whoever could have issued the
//! first, and no accepted command ever leaves the state as it was.

// Tests panic on purpose: an unexpected answer must fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use patrol_domain::case::{
    Actor, CaseCommand, CaseState, CaseStatus, CloseOutcome, Handler, apply, is_repeat, next_state,
};
use patrol_domain::role::Role;
use proptest::prelude::*;

const DEFERRABLE: [CaseStatus; 3] = [
    CaseStatus::Accepted,
    CaseStatus::Dispatched,
    CaseStatus::InProgress,
];

const PEOPLE: [&str; 4] = ["officer_1", "officer_2", "resident_1", "leader_1"];

fn person() -> impl Strategy<Value = String> {
    prop::sample::select(&PEOPLE[..]).prop_map(str::to_owned)
}

fn handler() -> impl Strategy<Value = Handler> {
    prop_oneof![
        person().prop_map(Handler::Officer),
        Just(Handler::Departments(vec!["dept_1".into()])),
        Just(Handler::Departments(vec!["dept_1".into(), "dept_2".into()])),
    ]
}

fn status() -> impl Strategy<Value = CaseStatus> {
    prop::sample::select(&CaseStatus::ALL[..])
}

fn state() -> impl Strategy<Value = CaseState> {
    (
        (
            status(),
            prop::option::of(person()),
            prop::option::of(person()),
        ),
        (
            prop::option::of(handler()),
            0u32..3,
            prop::option::of(person()),
            // Only the statuses a deferral can start from (see `Defer`).
            prop::option::of(prop::sample::select(&DEFERRABLE[..])),
        ),
        (
            0u32..2,
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(person(), 0..3),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (status, reporter_id, first_contact_id),
                (handler, rework_count, resolved_by, deferred_from),
                (open_department_tasks, escalation_pending, self_handled, staff, follow_up_open),
            )| CaseState {
                status,
                reporter_id,
                first_contact_id,
                handler,
                rework_count,
                resolved_by,
                deferred_from,
                open_department_tasks,
                escalation_pending,
                self_handled,
                community_staff: staff,
                follow_up_open,
            },
        )
}

fn actor() -> impl Strategy<Value = Actor> {
    (person(), prop::sample::select(&Role::ALL[..]))
        .prop_map(|(user_id, role)| Actor { user_id, role })
}

/// Every status command, with a few choices of arguments.
fn command() -> impl Strategy<Value = CaseCommand> {
    let outcome = prop::sample::select(&CloseOutcome::ALL[..]);
    prop_oneof![
        Just(CaseCommand::Accept),
        Just(CaseCommand::Void {
            reason: "not a real problem".into()
        }),
        handler().prop_map(|to| CaseCommand::Dispatch { to }),
        Just(CaseCommand::Start),
        Just(CaseCommand::Resolve {
            evidence: vec!["cleared".into()],
            note: String::new()
        }),
        (any::<bool>(), outcome).prop_map(|(passed, outcome)| CaseCommand::Verify {
            passed,
            outcome,
            note: "checked on site".into()
        }),
        Just(CaseCommand::Defer {
            reason: "waiting for parts".into(),
            resume_on: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()
        }),
        Just(CaseCommand::Resume),
        Just(CaseCommand::MarkDuplicate {
            original_id: "case_0".into()
        }),
        (1u8..=5).prop_map(|rating| CaseCommand::Evaluate {
            rating,
            comment: None
        }),
        Just(CaseCommand::NotFixed {
            comment: "still there".into()
        }),
        Just(CaseCommand::Withdraw),
    ]
}

/// A command that moves the case on to a further step each time it is taken: its effect
/// is never "already the case's state".
fn is_new_decision(cmd: &CaseCommand) -> bool {
    matches!(
        cmd,
        CaseCommand::Verify { passed: false, .. } | CaseCommand::NotFixed { .. }
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn an_accepted_command_always_changes_the_case(s in state(), cmd in command(), who in actor()) {
        if let Ok(t) = apply(&s, &cmd, &who) {
            prop_assert_ne!(next_state(&s, &t), s, "{:?} by {:?} took {:?} without effect", cmd, who, t);
        }
    }

    #[test]
    fn a_status_command_sent_twice_is_a_repeat_the_second_time(
        s in state(),
        cmd in command(),
        who in actor(),
    ) {
        if let Ok(t) = apply(&s, &cmd, &who) {
            let after = next_state(&s, &t);
            if is_new_decision(&cmd) {
                prop_assert!(!is_repeat(&after, &cmd, &who));
            } else {
                prop_assert!(
                    apply(&after, &cmd, &who).is_err(),
                    "{:?} by {:?} applies a second time from {:?}", cmd, who, after.status
                );
                prop_assert!(
                    is_repeat(&after, &cmd, &who),
                    "{:?} by {:?} is not recognised as a repeat at {:?}", cmd, who, after.status
                );
            }
        }
    }

    #[test]
    fn a_repeat_is_recognised_only_where_the_command_no_longer_applies(
        s in state(),
        cmd in command(),
        who in actor(),
    ) {
        if is_repeat(&s, &cmd, &who) {
            prop_assert!(apply(&s, &cmd, &who).is_err());
        }
    }
}
