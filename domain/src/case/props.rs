//! Random command sequences by random actors never leave the workflow graph.

use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::sample::Index;

use super::*;
use crate::role::Role;
use crate::seed::Class721;

const REPORTER: &str = "reporter";
const IDS: [&str; 7] = [
    "reporter", "off_a", "off_b", "dept_a", "dept_b", "staff", "boss",
];

fn any_actor() -> impl Strategy<Value = Actor> {
    let persona = prop::sample::select(vec![
        ("reporter", Role::Resident),
        ("off_a", Role::Officer),
        ("off_b", Role::Officer),
        ("dept_a", Role::Department),
        ("staff", Role::CommunityStaff),
        ("boss", Role::Supervisor),
        ("root", Role::Admin),
    ]);
    let random = (
        prop::sample::select(IDS.to_vec()),
        prop::sample::select(Role::ALL.to_vec()),
    );
    prop_oneof![3 => persona, 1 => random].prop_map(|(id, role)| Actor {
        user_id: id.to_owned(),
        role,
    })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![4 => Just("because".to_owned()), 1 => Just(String::new()), 1 => Just("  ".to_owned())]
}

/// Mostly people who can act on the case, sometimes anyone (or nobody).
fn handler() -> impl Strategy<Value = Handler> {
    let any_id = || prop::sample::select(IDS.to_vec()).prop_map(str::to_owned);
    let officer = prop::sample::select(vec!["off_a", "off_b"]).prop_map(str::to_owned);
    let department = prop_oneof![
        3 => prop::sample::select(vec!["dept_a", "dept_b"]).prop_map(str::to_owned),
        1 => any_id(),
    ];
    prop_oneof![
        4 => officer.prop_map(Handler::Officer),
        1 => any_id().prop_map(Handler::Officer),
        2 => prop::collection::vec(department, 0..3).prop_map(Handler::Departments),
    ]
}

fn evidence() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        3 => prop::collection::vec(Just("sha256:ab12".to_owned()), 1..3),
        1 => prop::collection::vec(text(), 0..3),
    ]
}

fn outcome() -> impl Strategy<Value = CloseOutcome> {
    prop::sample::select(CloseOutcome::ALL.to_vec())
}

/// One command of each kind, with random (sometimes bad) arguments.
fn one_of_each() -> impl Strategy<Value = Vec<CaseCommand>> {
    (
        (text(), handler(), evidence(), text()),
        (any::<bool>(), outcome(), text(), text(), text()),
        (0u8..=6, proptest::option::of(text()), text()),
    )
        .prop_map(
            |(
                (reason, to, evidence, note),
                (passed, outcome, verify_note, defer_reason, original_id),
                (rating, comment, not_fixed),
            )| {
                vec![
                    CaseCommand::Accept,
                    CaseCommand::Void { reason },
                    CaseCommand::Dispatch { to },
                    CaseCommand::Start,
                    CaseCommand::Resolve { evidence, note },
                    CaseCommand::Verify {
                        passed,
                        outcome,
                        note: verify_note,
                    },
                    CaseCommand::Defer {
                        reason: defer_reason,
                        resume_on: NaiveDate::from_ymd_opt(2025, 5, 1).unwrap_or_default(),
                    },
                    CaseCommand::Resume,
                    CaseCommand::MarkDuplicate { original_id },
                    CaseCommand::Evaluate { rating, comment },
                    CaseCommand::NotFixed { comment: not_fixed },
                    CaseCommand::Withdraw,
                ]
            },
        )
}

/// Which kinds of command a step draws from.
#[derive(Debug, Clone, Copy)]
enum Kinds {
    /// Any kind: most are refused as conflicts.
    All,
    /// Kinds valid from the current status.
    Valid,
    /// Valid kinds that do not end the case (void, duplicate, withdraw end it), so
    /// walks get deep into the workflow instead of stopping at `reported`.
    ValidOngoing,
}

/// Who issues a step's command.
#[derive(Debug, Clone)]
enum Who {
    /// A random actor (a persona, or a random id with a random role).
    Anyone(Actor),
    /// Whoever the case is dispatched to at that moment (else the fallback actor).
    Handler(Index, Actor),
    /// The case's reporter.
    Reporter,
}

/// One step of a walk: the generator never knows the rules, only which statuses a
/// command is issued from and who the handler and reporter are.
#[derive(Debug, Clone)]
struct Step {
    kinds: Kinds,
    pick: Index,
    commands: Vec<CaseCommand>,
    who: Who,
}

impl Step {
    fn command(&self, status: CaseStatus) -> &CaseCommand {
        let fits = |c: &CaseCommand, ongoing: bool| {
            c.valid_from().contains(&status)
                && !(ongoing
                    && matches!(
                        c,
                        CaseCommand::Void { .. }
                            | CaseCommand::MarkDuplicate { .. }
                            | CaseCommand::Withdraw
                    ))
        };
        let choose = |ongoing: bool| -> Vec<&CaseCommand> {
            self.commands.iter().filter(|c| fits(c, ongoing)).collect()
        };
        let mut pool = match self.kinds {
            Kinds::All => Vec::new(),
            Kinds::Valid => choose(false),
            Kinds::ValidOngoing => match choose(true) {
                ongoing if ongoing.is_empty() => choose(false),
                ongoing => ongoing,
            },
        };
        if pool.is_empty() {
            pool = self.commands.iter().collect();
        }
        pool[self.pick.index(pool.len())]
    }

    fn actor(&self, state: &CaseState) -> Actor {
        let person = |user_id: &str, role| Actor {
            user_id: user_id.to_owned(),
            role,
        };
        match &self.who {
            Who::Anyone(actor) => actor.clone(),
            Who::Reporter => person(REPORTER, Role::Resident),
            Who::Handler(i, fallback) => match &state.handler {
                Some(Handler::Officer(id)) => person(id, Role::Officer),
                Some(Handler::Departments(ids)) if !ids.is_empty() => {
                    person(&ids[i.index(ids.len())], Role::Department)
                }
                _ => fallback.clone(),
            },
        }
    }
}

fn step() -> impl Strategy<Value = Step> {
    let kinds = prop_oneof![
        1 => Just(Kinds::All),
        1 => Just(Kinds::Valid),
        3 => Just(Kinds::ValidOngoing),
    ];
    let who = prop_oneof![
        6 => any_actor().prop_map(Who::Anyone),
        2 => (any::<Index>(), any_actor()).prop_map(|(i, a)| Who::Handler(i, a)),
        1 => Just(Who::Reporter),
    ];
    (kinds, any::<Index>(), one_of_each(), who).prop_map(|(kinds, pick, commands, who)| Step {
        kinds,
        pick,
        commands,
        who,
    })
}

fn walk() -> impl Strategy<Value = (u32, Vec<Step>)> {
    (
        prop_oneof![3 => Just(0u32), 1 => 1u32..3],
        // Up to 40, mostly long: the deep end of the workflow needs many steps.
        prop_oneof![
            1 => prop::collection::vec(step(), 0..=40),
            3 => prop::collection::vec(step(), 30..=40),
        ],
    )
}

fn fresh(open_department_tasks: u32) -> CaseState {
    let mut s = CaseState::reported(Some(REPORTER.into()), Some("off_a".into()));
    s.open_department_tasks = open_department_tasks;
    s.follow_up_open = true;
    s
}

/// Run a walk, checking every invariant on the way; returns the edges taken.
fn run(tasks: u32, steps: &[Step]) -> Result<Vec<(CaseStatus, CaseStatus)>, TestCaseError> {
    let mut state = fresh(tasks);
    let mut path = vec![state.status];
    let mut edges = Vec::new();
    let mut reworks = 0u32;
    for step in steps {
        let cmd = step.command(state.status);
        let actor = step.actor(&state);
        let before = state.clone();
        match apply(&state, cmd, &actor) {
            Ok(t) => {
                prop_assert_eq!(t.from, state.status);
                prop_assert!(is_allowed(t.from, t.to), "{:?} -> {:?}", t.from, t.to);
                prop_assert!(cmd.valid_from().contains(&t.from));
                prop_assert_ne!(t.class_721, Class721::Enforcement);
                if t.to == CaseStatus::Closed {
                    prop_assert_eq!(state.open_department_tasks, 0);
                    prop_assert_ne!(state.resolved_by.as_deref(), Some(actor.user_id.as_str()));
                }
                if t.rework {
                    reworks += 1;
                }
                state = next_state(&state, &t);
                prop_assert_eq!(state.status, t.to);
                path.push(state.status);
                edges.push((t.from, t.to));
            }
            Err(_) => prop_assert_eq!(&state, &before),
        }
        prop_assert_eq!(state.status, *path.last().unwrap_or(&CaseStatus::Reported));
        prop_assert_eq!(
            state.deferred_from.is_some(),
            state.status == CaseStatus::Deferred
        );
        match state.status {
            CaseStatus::Resolved | CaseStatus::Closed | CaseStatus::Evaluated => {
                prop_assert!(state.resolved_by.is_some())
            }
            CaseStatus::Reported
            | CaseStatus::Accepted
            | CaseStatus::Dispatched
            | CaseStatus::InProgress
            | CaseStatus::Deferred => prop_assert!(state.resolved_by.is_none()),
            _ => {}
        }
        if matches!(
            state.status,
            CaseStatus::Dispatched
                | CaseStatus::InProgress
                | CaseStatus::Resolved
                | CaseStatus::Closed
                | CaseStatus::Evaluated
        ) {
            prop_assert!(state.handler.is_some());
        }
    }
    for pair in path.windows(2) {
        prop_assert!(is_allowed(pair[0], pair[1]), "{:?}", path);
    }
    prop_assert_eq!(state.rework_count, reworks);
    Ok(edges)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_command_sequences_only_walk_the_workflow_graph((tasks, steps) in walk()) {
        run(tasks, &steps)?;
    }
}

#[test]
fn random_walks_reach_every_edge_of_the_graph() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::HashMap;

    // Guards the property test above: a generator that never got past `reported`
    // would pass it vacuously. Same generator, fixed seed, so the result is stable.
    let mut runner = TestRunner::deterministic();
    let strategy = walk();
    let mut taken: HashMap<(CaseStatus, CaseStatus), u32> = HashMap::new();
    for _ in 0..1000 {
        let (tasks, steps) = strategy.new_tree(&mut runner).unwrap().current();
        for edge in run(tasks, &steps).unwrap() {
            *taken.entry(edge).or_default() += 1;
        }
    }
    let rare: Vec<_> = allowed_transitions()
        .iter()
        .map(|e| (e, taken.get(e).copied().unwrap_or(0)))
        .filter(|&(_, n)| n < 3)
        .collect();
    assert!(rare.is_empty(), "edges taken fewer than 3 times: {rare:?}");
}
