//! The state machine: case state, commands, the workflow graph, and `apply`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::checks::{
    require_desk, require_desk_or_first_contact, require_handler_or_colleague, require_reporter,
    require_verifier, required_evidence, required_text,
};
use super::{CaseStatus, CloseOutcome, Handler};
use crate::error::{DomainError, DomainResult};
use crate::role::Role;
use crate::seed::Class721;

/// What the state machine needs to know about a case. The caller loads it, passes it to
/// [`apply`], and persists what the [`Transition`] says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseState {
    /// The current status.
    pub status: CaseStatus,
    /// The account that reported it, if any (hotline calls and patrol finds may have none).
    pub reporter_id: Option<String>,
    /// Who first received it and owns it until closed or handed over (首接负责).
    pub first_contact_id: Option<String>,
    /// Who it is dispatched to; set from the first dispatch on.
    pub handler: Option<Handler>,
    /// How many times it went back for rework (返工).
    pub rework_count: u32,
    /// Who resolved it; cleared when it goes back for rework.
    pub resolved_by: Option<String>,
    /// Where a deferred case returns on resume; `Some` exactly while deferred.
    pub deferred_from: Option<CaseStatus>,
    /// Escalation tasks of departments (外循环) not yet done; the case cannot close until 0.
    pub open_department_tasks: u32,
    /// Escalated and waiting for the joint-meeting office's decision: it cannot close yet.
    #[serde(default)]
    pub escalation_pending: bool,
    /// Created and resolved on the spot by an officer (就地处置).
    pub self_handled: bool,
    /// Accounts currently assigned to the case's community: an officer among them may
    /// start and resolve it beside an officer handler (协同处置). The caller fills it.
    #[serde(default)]
    pub community_staff: Vec<String>,
    /// Is the reporter's follow-up window (rating, "not fixed") still open? The caller
    /// knows the time and the configured window; see [`follow_up_open`].
    #[serde(default)]
    pub follow_up_open: bool,
}

impl CaseState {
    /// With the joint-meeting office: awaiting its decision or departments' tasks.
    pub fn is_escalated(&self) -> bool {
        self.escalation_pending || self.open_department_tasks > 0
    }

    /// A "not fixed" from `actor` that files a new case linked to this one instead of
    /// reopening it: the reporter, after the follow-up window of a closed case.
    pub fn not_fixed_files_new_case(&self, actor: &Actor) -> bool {
        !self.follow_up_open
            && matches!(self.status, CaseStatus::Closed | CaseStatus::Evaluated)
            && self.reporter_id.as_deref() == Some(actor.user_id.as_str())
    }

    /// A freshly reported case.
    pub fn reported(reporter_id: Option<String>, first_contact_id: Option<String>) -> Self {
        Self {
            status: CaseStatus::Reported,
            reporter_id,
            first_contact_id,
            handler: None,
            rework_count: 0,
            resolved_by: None,
            deferred_from: None,
            open_department_tasks: 0,
            escalation_pending: false,
            self_handled: false,
            community_staff: Vec::new(),
            follow_up_open: false,
        }
    }
}

/// Who issues a command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// The account's user id.
    pub user_id: String,
    /// The account's role.
    pub role: Role,
}

/// A transition command (never a value merge). Online endpoints and the sync mutation
/// `issue.transition` carry it as JSON tagged by `command`, e.g.
/// `{"command":"void","reason":"not a real problem"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum CaseCommand {
    /// reported → accepted (立案).
    Accept,
    /// reported → voided (作废); the reason is required.
    Void {
        /// Why the report is dismissed.
        reason: String,
    },
    /// accepted | dispatched → dispatched (派遣; from dispatched it is a re-dispatch).
    Dispatch {
        /// The new handler.
        to: Handler,
    },
    /// dispatched → in_progress (处置), by the handler.
    Start,
    /// in_progress → resolved (处置反馈), by the handler, with evidence.
    Resolve {
        /// Photo hashes or notes; at least one, none blank.
        evidence: Vec<String>,
        /// Optional free text.
        note: String,
    },
    /// resolved → closed when `passed`, else → dispatched as rework (核查).
    Verify {
        /// Did the check find the problem handled?
        passed: bool,
        /// How it closes; ignored when the check fails.
        outcome: CloseOutcome,
        /// Optional when passed; required when the check fails (what is still wrong).
        note: String,
    },
    /// accepted | dispatched | in_progress → deferred (缓办).
    Defer {
        /// Why it waits; required.
        reason: String,
        /// When it is expected to resume; the caller checks it is not in the past.
        resume_on: NaiveDate,
    },
    /// deferred → the status it was deferred from.
    Resume,
    /// reported | accepted → duplicate of another case.
    MarkDuplicate {
        /// The case this one duplicates; required.
        original_id: String,
    },
    /// closed → evaluated, by the reporter (评价).
    Evaluate {
        /// 1 to 5.
        rating: u8,
        /// Optional comment.
        comment: Option<String>,
    },
    /// closed | evaluated → dispatched as rework, by the reporter ("not fixed"), while the
    /// follow-up window is open. After it, the caller files a new case linked to this one.
    NotFixed {
        /// What is still wrong; required.
        comment: String,
    },
    /// any open status → withdrawn, by the reporter. Wins over concurrent edits: a later
    /// command from a stale device meets `withdrawn` and is refused.
    Withdraw,
}

impl CaseCommand {
    /// The wire name of the command (the `command` tag).
    pub fn name(&self) -> &'static str {
        match self {
            CaseCommand::Accept => "accept",
            CaseCommand::Void { .. } => "void",
            CaseCommand::Dispatch { .. } => "dispatch",
            CaseCommand::Start => "start",
            CaseCommand::Resolve { .. } => "resolve",
            CaseCommand::Verify { .. } => "verify",
            CaseCommand::Defer { .. } => "defer",
            CaseCommand::Resume => "resume",
            CaseCommand::MarkDuplicate { .. } => "mark_duplicate",
            CaseCommand::Evaluate { .. } => "evaluate",
            CaseCommand::NotFixed { .. } => "not_fixed",
            CaseCommand::Withdraw => "withdraw",
        }
    }

    /// The statuses this command may be issued from.
    pub fn valid_from(&self) -> &'static [CaseStatus] {
        use CaseStatus as S;
        match self {
            CaseCommand::Accept => &[S::Reported],
            CaseCommand::Void { .. } => &[
                S::Reported,
                S::Accepted,
                S::Dispatched,
                S::InProgress,
                S::Deferred,
            ],
            CaseCommand::MarkDuplicate { .. } => &[S::Reported, S::Accepted],
            CaseCommand::Dispatch { .. } => &[S::Accepted, S::Dispatched],
            CaseCommand::Start => &[S::Dispatched],
            CaseCommand::Resolve { .. } => &[S::InProgress],
            CaseCommand::Verify { .. } => &[S::Resolved],
            CaseCommand::Defer { .. } => &[S::Accepted, S::Dispatched, S::InProgress],
            CaseCommand::Resume => &[S::Deferred],
            CaseCommand::Evaluate { .. } => &[S::Closed],
            CaseCommand::NotFixed { .. } => &[S::Closed, S::Evaluated],
            CaseCommand::Withdraw => &[
                S::Reported,
                S::Accepted,
                S::Dispatched,
                S::InProgress,
                S::Resolved,
                S::Deferred,
            ],
        }
    }

    /// What the command does, for "cannot … a case that is …" messages.
    fn verb(&self) -> &'static str {
        match self {
            CaseCommand::Accept => "accept",
            CaseCommand::Void { .. } => "void",
            CaseCommand::Dispatch { .. } => "dispatch",
            CaseCommand::Start => "start",
            CaseCommand::Resolve { .. } => "resolve",
            CaseCommand::Verify { .. } => "verify",
            CaseCommand::Defer { .. } => "defer",
            CaseCommand::Resume => "resume",
            CaseCommand::MarkDuplicate { .. } => "mark as duplicate",
            CaseCommand::Evaluate { .. } => "evaluate",
            CaseCommand::NotFixed { .. } => "report \"not fixed\" on",
            CaseCommand::Withdraw => "withdraw",
        }
    }
}

/// Is `cmd` a repeat of a step the case already took, that `actor` could have taken
/// itself? Two phones resolving the same case offline both mean "resolved": the second
/// succeeds without a second transition (its evidence is still kept). Someone who could
/// not have issued the command gets the usual conflict instead.
pub fn is_repeat(state: &CaseState, cmd: &CaseCommand, actor: &Actor) -> bool {
    use CaseStatus as S;
    let target = match cmd {
        CaseCommand::Accept => S::Accepted,
        CaseCommand::Void { .. } => S::Voided,
        CaseCommand::Dispatch { to } if state.handler.as_ref() == Some(to) => S::Dispatched,
        CaseCommand::Start => S::InProgress,
        CaseCommand::Resolve { .. } => S::Resolved,
        CaseCommand::Verify { passed: true, .. } => S::Closed,
        CaseCommand::Defer { .. } => S::Deferred,
        CaseCommand::MarkDuplicate { .. } => S::Duplicate,
        CaseCommand::Evaluate { .. } => S::Evaluated,
        CaseCommand::Withdraw => S::Withdrawn,
        // Resumed: the case is back where it was deferred from.
        CaseCommand::Resume
            if matches!(state.status, S::Accepted | S::Dispatched | S::InProgress) =>
        {
            state.status
        }
        // A dispatch to someone else, a failed check and "not fixed" are new decisions:
        // each is a further step (a new handler, one more rework), never a state already
        // reached.
        _ => return false,
    };
    state.status == target
        && cmd.valid_from().iter().any(|&from| {
            let mut before = state.clone();
            before.status = from;
            if from == S::Deferred {
                before.deferred_from = Some(target);
            }
            apply(&before, cmd, actor).is_ok()
        })
}

/// The outcome of an accepted command: the edge taken and everything the caller must
/// persist, including the activity entry's text and evidence. Feed it to [`next_state`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// Status before.
    pub from: CaseStatus,
    /// Status after.
    pub to: CaseStatus,
    /// The case goes back for rework (返工); `rework_count` grows by one.
    pub rework: bool,
    /// The 721 tag of the activity entry. Always `service` here: the workflow never
    /// implies `enforcement`; the caller may retag what the officer actually did.
    pub class_721: Class721,
    /// The new handler, when this transition (a dispatch) sets one.
    pub handler: Option<Handler>,
    /// Who resolved the case, when this transition is the resolution.
    pub resolved_by: Option<String>,
    /// Where a deferral returns to, when this transition is a deferral.
    pub deferred_from: Option<CaseStatus>,
    /// The expected resume date, when this transition is a deferral.
    pub resume_on: Option<NaiveDate>,
    /// How the case closed, when verification passed.
    pub outcome: Option<CloseOutcome>,
    /// The reporter's rating, when this is an evaluation.
    pub rating: Option<u8>,
    /// The case this one duplicates, when marked duplicate.
    pub original_id: Option<String>,
    /// Reason, note or comment for the activity entry, trimmed; `None` when empty.
    pub note: Option<String>,
    /// Evidence of a resolution (photo hashes or notes).
    pub evidence: Vec<String>,
    /// The withdrawal wins over open escalation tasks: the caller cancels them.
    pub cancel_department_tasks: bool,
}

impl Transition {
    fn edge(from: CaseStatus, to: CaseStatus) -> Self {
        Self {
            from,
            to,
            rework: false,
            class_721: Class721::Service,
            handler: None,
            resolved_by: None,
            deferred_from: None,
            resume_on: None,
            outcome: None,
            rating: None,
            original_id: None,
            note: None,
            evidence: Vec::new(),
            cancel_department_tasks: false,
        }
    }

    fn with_note(mut self, note: &str) -> Self {
        let note = note.trim();
        self.note = (!note.is_empty()).then(|| note.to_owned());
        self
    }
}

const GRAPH: &[(CaseStatus, CaseStatus)] = {
    use CaseStatus as S;
    &[
        (S::Reported, S::Accepted),
        (S::Reported, S::Voided),
        (S::Reported, S::Duplicate),
        (S::Reported, S::Withdrawn),
        (S::Accepted, S::Dispatched),
        (S::Accepted, S::Deferred),
        (S::Accepted, S::Duplicate),
        (S::Accepted, S::Withdrawn),
        (S::Accepted, S::Voided),
        (S::Dispatched, S::Dispatched),
        (S::Dispatched, S::InProgress),
        (S::Dispatched, S::Deferred),
        (S::Dispatched, S::Withdrawn),
        (S::Dispatched, S::Voided),
        (S::InProgress, S::Resolved),
        (S::InProgress, S::Deferred),
        (S::InProgress, S::Withdrawn),
        (S::InProgress, S::Voided),
        (S::Resolved, S::Closed),
        (S::Resolved, S::Dispatched),
        (S::Resolved, S::Withdrawn),
        (S::Closed, S::Evaluated),
        (S::Closed, S::Dispatched),
        (S::Evaluated, S::Dispatched),
        (S::Deferred, S::Accepted),
        (S::Deferred, S::Dispatched),
        (S::Deferred, S::InProgress),
        (S::Deferred, S::Withdrawn),
        (S::Deferred, S::Voided),
    ]
};

/// The workflow graph: every `(from, to)` edge a command can take.
pub fn allowed_transitions() -> &'static [(CaseStatus, CaseStatus)] {
    GRAPH
}

/// Is `(from, to)` an edge of the workflow graph?
pub fn is_allowed(from: CaseStatus, to: CaseStatus) -> bool {
    GRAPH.contains(&(from, to))
}

/// Check `cmd` by `actor` against `state` and say what changes. Pure: nothing is modified;
/// on error the caller changes nothing (and, for sync, records the rejection). See the
/// module docs for the role table and the order of checks.
pub fn apply(state: &CaseState, cmd: &CaseCommand, actor: &Actor) -> DomainResult<Transition> {
    use CaseStatus as S;
    let from = state.status;
    if !cmd.valid_from().contains(&from) {
        return Err(DomainError::conflict(format!(
            "cannot {} a case that is {} (current status: {})",
            cmd.verb(),
            from.words(),
            from.as_str()
        )));
    }
    match cmd {
        CaseCommand::Accept => {
            require_desk_or_first_contact(state, actor, "accept a case")?;
            Ok(Transition::edge(from, S::Accepted))
        }
        CaseCommand::Void { reason } => {
            require_desk(actor, "void a case")?;
            let reason = required_text("reason", reason)?;
            let mut t = Transition::edge(from, S::Voided).with_note(reason);
            t.cancel_department_tasks = state.is_escalated();
            Ok(t)
        }
        CaseCommand::MarkDuplicate { original_id } => {
            require_desk_or_first_contact(state, actor, "mark a case as duplicate")?;
            let original_id = required_text("original_id", original_id)?;
            let mut t = Transition::edge(from, S::Duplicate);
            t.original_id = Some(original_id.to_owned());
            t.cancel_department_tasks = state.is_escalated();
            Ok(t)
        }
        CaseCommand::Dispatch { to } => {
            require_desk(actor, "dispatch a case")?;
            to.validate()?;
            // A re-dispatch to the handler it already has is no new decision.
            if from == S::Dispatched && state.handler.as_ref() == Some(to) {
                return Err(DomainError::conflict(
                    "the case is already dispatched to this handler (current status: dispatched)",
                ));
            }
            let mut t = Transition::edge(from, S::Dispatched);
            t.handler = Some(to.clone());
            Ok(t)
        }
        CaseCommand::Start => {
            require_handler_or_colleague(state, actor, "start work on")?;
            Ok(Transition::edge(from, S::InProgress))
        }
        CaseCommand::Resolve { evidence, note } => {
            require_handler_or_colleague(state, actor, "resolve")?;
            let evidence = required_evidence(evidence)?;
            let mut t = Transition::edge(from, S::Resolved).with_note(note);
            t.resolved_by = Some(actor.user_id.clone());
            t.evidence = evidence;
            Ok(t)
        }
        CaseCommand::Verify {
            passed,
            outcome,
            note,
        } => {
            require_verifier(state, actor)?;
            if *passed {
                // Escalated cases (外循环) close only once every department has answered.
                if state.escalation_pending {
                    return Err(DomainError::conflict(
                        "cannot close the case: it is with the joint-meeting office, which has \
                         not yet decided (current status: resolved)",
                    ));
                }
                if state.open_department_tasks > 0 {
                    return Err(DomainError::conflict(format!(
                        "cannot close the case: {} department task(s) are still open",
                        state.open_department_tasks
                    )));
                }
                let mut t = Transition::edge(from, S::Closed).with_note(note);
                t.outcome = Some(*outcome);
                Ok(t)
            } else {
                let note = required_text("note", note)?;
                rework(state, from).map(|t| t.with_note(note))
            }
        }
        CaseCommand::Defer { reason, resume_on } => {
            require_desk(actor, "defer a case")?;
            let reason = required_text("reason", reason)?;
            let mut t = Transition::edge(from, S::Deferred).with_note(reason);
            t.deferred_from = Some(from);
            t.resume_on = Some(*resume_on);
            Ok(t)
        }
        CaseCommand::Resume => {
            require_desk(actor, "resume a case")?;
            match state.deferred_from {
                Some(back) if is_allowed(from, back) => Ok(Transition::edge(from, back)),
                Some(back) => Err(DomainError::conflict(format!(
                    "cannot resume a case deferred from {} (current status: {})",
                    back.words(),
                    from.as_str()
                ))),
                None => Err(DomainError::conflict(format!(
                    "cannot resume: the case does not record where it was deferred from \
                     (current status: {})",
                    from.as_str()
                ))),
            }
        }
        CaseCommand::Evaluate { rating, comment } => {
            require_reporter(state, actor, "evaluate")?;
            if !state.follow_up_open {
                return Err(DomainError::conflict(format!(
                    "the follow-up window has closed; the case can no longer be rated \
                     (current status: {})",
                    from.as_str()
                )));
            }
            if !(1..=5).contains(rating) {
                return Err(DomainError::invalid(
                    "rating",
                    format!("rating must be from 1 to 5, got {rating}"),
                ));
            }
            let mut t = Transition::edge(from, S::Evaluated)
                .with_note(comment.as_deref().unwrap_or_default());
            t.rating = Some(*rating);
            Ok(t)
        }
        CaseCommand::NotFixed { comment } => {
            require_reporter(state, actor, "report \"not fixed\" on")?;
            let comment = required_text("comment", comment)?;
            if !state.follow_up_open {
                return Err(DomainError::conflict(format!(
                    "the follow-up window has closed; report a new case linked to this one \
                     (current status: {})",
                    from.as_str()
                )));
            }
            rework(state, from).map(|t| t.with_note(comment))
        }
        CaseCommand::Withdraw => {
            require_reporter(state, actor, "withdraw")?;
            let mut t = Transition::edge(from, S::Withdrawn);
            t.cancel_department_tasks = state.is_escalated();
            Ok(t)
        }
    }
}

/// The commands `actor` may issue on a case in `state` now, by wire name: what a screen
/// offers as buttons. Each is asked of [`apply`] itself with stand-in arguments, so the
/// offer cannot drift from the rules; a refusal of the stand-in argument (`Invalid`)
/// still offers the command, since the person will supply the real one.
pub fn offered(state: &CaseState, actor: &Actor) -> Vec<&'static str> {
    const ANY: &str = "\u{0}offered";
    let far = NaiveDate::MAX;
    let samples = [
        CaseCommand::Accept,
        CaseCommand::Dispatch {
            to: Handler::Officer(ANY.into()),
        },
        CaseCommand::Start,
        CaseCommand::Resolve {
            evidence: vec![ANY.into()],
            note: String::new(),
        },
        CaseCommand::Verify {
            passed: false,
            outcome: CloseOutcome::Fixed,
            note: ANY.into(),
        },
        CaseCommand::Defer {
            reason: ANY.into(),
            resume_on: far,
        },
        CaseCommand::Resume,
        CaseCommand::MarkDuplicate {
            original_id: ANY.into(),
        },
        CaseCommand::Void { reason: ANY.into() },
        CaseCommand::Evaluate {
            rating: 5,
            comment: None,
        },
        CaseCommand::NotFixed {
            comment: ANY.into(),
        },
        CaseCommand::Withdraw,
    ];
    samples
        .iter()
        .filter(|cmd| {
            matches!(
                apply(state, cmd, actor),
                Ok(_) | Err(DomainError::Invalid { .. })
            )
        })
        .map(CaseCommand::name)
        .collect()
}

/// The state after `t`, which [`apply`] returned for this same `state`. Everything the
/// workflow tracks follows from the transition alone, so replaying stored transitions
/// rebuilds the state.
pub fn next_state(state: &CaseState, t: &Transition) -> CaseState {
    let mut next = state.clone();
    next.status = t.to;
    if let Some(handler) = &t.handler {
        next.handler = Some(handler.clone());
    }
    if t.rework {
        next.rework_count = next.rework_count.saturating_add(1);
        next.resolved_by = None;
    }
    if let Some(by) = &t.resolved_by {
        next.resolved_by = Some(by.clone());
    }
    // Only a deferral sets it; every other edge leaves or never was in `deferred`.
    next.deferred_from = t.deferred_from;
    if t.cancel_department_tasks {
        next.open_department_tasks = 0;
        next.escalation_pending = false;
    }
    next
}

/// The points rule (see the points ledger) a transition earns the officer handling the
/// case, if any: a case closed as fixed earns `case_resolved_on_time` or costs
/// `case_overdue` by its handling deadline; work sent back (a failed check or "not
/// fixed") costs `rework`; the reporter's rating of 4 or 5 earns `resident_rating_good`.
/// Closing as "not our responsibility" or "cannot be fixed" earns nothing.
pub fn points_rule(t: &Transition, handled_late: bool) -> Option<&'static str> {
    if t.rework {
        return Some("rework");
    }
    match t.to {
        CaseStatus::Closed if t.outcome == Some(CloseOutcome::Fixed) => Some(if handled_late {
            "case_overdue"
        } else {
            "case_resolved_on_time"
        }),
        CaseStatus::Evaluated if t.rating.is_some_and(|r| r >= 4) => Some("resident_rating_good"),
        _ => None,
    }
}

/// 就地处置: an officer creates and resolves a small problem in one step. The case starts
/// `resolved` with the officer as first contact, handler and resolver, so it still needs
/// a verification by someone else. A patrol find has no reporter to rate it.
pub fn self_handled(actor: &Actor, evidence: &[String]) -> DomainResult<CaseState> {
    if actor.role != Role::Officer {
        return Err(DomainError::forbidden(format!(
            "only an officer can handle a problem on the spot, not a {}",
            actor.role
        )));
    }
    required_evidence(evidence)?;
    Ok(CaseState {
        status: CaseStatus::Resolved,
        reporter_id: None,
        first_contact_id: Some(actor.user_id.clone()),
        handler: Some(Handler::Officer(actor.user_id.clone())),
        rework_count: 0,
        resolved_by: Some(actor.user_id.clone()),
        deferred_from: None,
        open_department_tasks: 0,
        escalation_pending: false,
        self_handled: true,
        community_staff: Vec::new(),
        follow_up_open: false,
    })
}

/// Back to the same handler as rework (返工).
fn rework(state: &CaseState, from: CaseStatus) -> DomainResult<Transition> {
    if state.handler.is_none() {
        return Err(DomainError::conflict(format!(
            "cannot send the case back for rework: it has no handler (current status: {})",
            from.as_str()
        )));
    }
    let mut t = Transition::edge(from, CaseStatus::Dispatched);
    t.rework = true;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::fixtures::*;
    use std::collections::HashSet;

    #[test]
    fn offered_commands_follow_the_rules() {
        use CaseStatus as S;
        assert_eq!(
            offered(&case_in(S::Reported), &supervisor()),
            ["accept", "mark_duplicate", "void"]
        );
        assert_eq!(
            offered(&case_in(S::Resolved), &supervisor()),
            ["verify"],
            "a supervisor verifies a resolved case"
        );
        assert_eq!(
            offered(&case_in(S::Dispatched), &officer()),
            ["start"],
            "the handler starts; dispatching is the desk's"
        );
        assert!(offered(&case_in(S::Dispatched), &staff()).is_empty());
        assert_eq!(
            offered(&case_in(S::Closed), &reporter()),
            ["evaluate", "not_fixed"]
        );
        let mut late = case_in(S::Closed);
        late.follow_up_open = false;
        assert!(offered(&late, &reporter()).is_empty());
        // Every offer is one `apply` accepts with real arguments, for every status.
        for status in CaseStatus::ALL {
            for actor in [supervisor(), officer(), reporter(), staff()] {
                for name in offered(&case_in(status), &actor) {
                    assert!(
                        status.is_open() || matches!(name, "evaluate" | "not_fixed"),
                        "{name} offered on a {status:?} case"
                    );
                }
            }
        }
    }

    /// One permitted (state, command, actor) per edge of the graph.
    fn one_per_edge() -> Vec<(CaseState, CaseCommand, Actor, CaseStatus, bool)> {
        use CaseStatus as S;
        vec![
            (
                case_in(S::Reported),
                CaseCommand::Accept,
                supervisor(),
                S::Accepted,
                false,
            ),
            (case_in(S::Reported), void(), supervisor(), S::Voided, false),
            (case_in(S::Accepted), void(), supervisor(), S::Voided, false),
            (
                case_in(S::Dispatched),
                void(),
                supervisor(),
                S::Voided,
                false,
            ),
            (
                case_in(S::InProgress),
                void(),
                supervisor(),
                S::Voided,
                false,
            ),
            (case_in(S::Deferred), void(), supervisor(), S::Voided, false),
            (
                case_in(S::Reported),
                duplicate(),
                officer(),
                S::Duplicate,
                false,
            ),
            (
                case_in(S::Reported),
                CaseCommand::Withdraw,
                reporter(),
                S::Withdrawn,
                false,
            ),
            (
                case_in(S::Accepted),
                dispatch(OFFICER),
                supervisor(),
                S::Dispatched,
                false,
            ),
            (
                case_in(S::Accepted),
                defer(),
                supervisor(),
                S::Deferred,
                false,
            ),
            (
                case_in(S::Accepted),
                duplicate(),
                supervisor(),
                S::Duplicate,
                false,
            ),
            (
                case_in(S::Accepted),
                CaseCommand::Withdraw,
                reporter(),
                S::Withdrawn,
                false,
            ),
            (
                case_in(S::Dispatched),
                dispatch(OTHER_OFFICER),
                supervisor(),
                S::Dispatched,
                false,
            ),
            (
                case_in(S::Dispatched),
                CaseCommand::Start,
                officer(),
                S::InProgress,
                false,
            ),
            (
                case_in(S::Dispatched),
                defer(),
                actor("adm", Role::Admin),
                S::Deferred,
                false,
            ),
            (
                case_in(S::Dispatched),
                CaseCommand::Withdraw,
                reporter(),
                S::Withdrawn,
                false,
            ),
            (
                case_in(S::InProgress),
                resolve(),
                officer(),
                S::Resolved,
                false,
            ),
            (
                case_in(S::InProgress),
                defer(),
                supervisor(),
                S::Deferred,
                false,
            ),
            (
                case_in(S::InProgress),
                CaseCommand::Withdraw,
                reporter(),
                S::Withdrawn,
                false,
            ),
            (
                case_in(S::Resolved),
                verify(true),
                staff(),
                S::Closed,
                false,
            ),
            (
                case_in(S::Resolved),
                verify(false),
                supervisor(),
                S::Dispatched,
                true,
            ),
            (
                case_in(S::Resolved),
                CaseCommand::Withdraw,
                reporter(),
                S::Withdrawn,
                false,
            ),
            (
                case_in(S::Closed),
                evaluate(5),
                reporter(),
                S::Evaluated,
                false,
            ),
            (
                case_in(S::Closed),
                not_fixed(),
                reporter(),
                S::Dispatched,
                true,
            ),
            (
                case_in(S::Evaluated),
                not_fixed(),
                reporter(),
                S::Dispatched,
                true,
            ),
            (
                deferred_from(S::Accepted),
                CaseCommand::Resume,
                supervisor(),
                S::Accepted,
                false,
            ),
            (
                deferred_from(S::Dispatched),
                CaseCommand::Resume,
                supervisor(),
                S::Dispatched,
                false,
            ),
            (
                deferred_from(S::InProgress),
                CaseCommand::Resume,
                supervisor(),
                S::InProgress,
                false,
            ),
            (
                case_in(S::Deferred),
                CaseCommand::Withdraw,
                reporter(),
                S::Withdrawn,
                false,
            ),
        ]
    }

    /// A command of each kind, with valid arguments.
    fn every_command() -> Vec<CaseCommand> {
        vec![
            CaseCommand::Accept,
            void(),
            dispatch(OFFICER),
            CaseCommand::Start,
            resolve(),
            verify(true),
            defer(),
            CaseCommand::Resume,
            duplicate(),
            evaluate(4),
            not_fixed(),
            CaseCommand::Withdraw,
        ]
    }

    #[test]
    fn every_allowed_edge_is_taken_by_a_permitted_actor() {
        for (state, cmd, who, to, rework) in one_per_edge() {
            let ctx = format!("{} from {} by {}", cmd.name(), state.status, who.role);
            let t = apply(&state, &cmd, &who).unwrap_or_else(|e| panic!("{ctx}: {e:?}"));
            assert_eq!(
                (t.from, t.to, t.rework),
                (state.status, to, rework),
                "{ctx}"
            );
            assert_eq!(t.class_721, Class721::Service, "{ctx}");
            assert_eq!(next_state(&state, &t).status, to, "{ctx}");
        }
    }

    #[test]
    fn the_edge_table_covers_the_graph_exactly() {
        let taken: HashSet<_> = one_per_edge()
            .into_iter()
            .map(|(s, _, _, to, _)| (s.status, to))
            .collect();
        let graph: HashSet<_> = allowed_transitions().iter().copied().collect();
        assert_eq!(taken, graph);
        assert_eq!(
            graph.len(),
            allowed_transitions().len(),
            "no edge listed twice"
        );
    }

    #[test]
    fn every_command_valid_from_lists_only_graph_edges() {
        for (state, cmd, who, _, _) in one_per_edge() {
            for &from in cmd.valid_from() {
                let mut s = state.clone();
                s.status = from;
                if let Ok(t) = apply(&s, &cmd, &who) {
                    assert!(is_allowed(t.from, t.to), "{} from {from}", cmd.name());
                }
            }
        }
    }

    #[test]
    fn a_command_from_the_wrong_status_is_a_conflict_naming_the_current_status() {
        for status in CaseStatus::ALL {
            for cmd in every_command() {
                if cmd.valid_from().contains(&status) {
                    continue;
                }
                let state = case_in(status);
                // Every kind of actor gets the same answer: the status is checked first.
                for who in [reporter(), officer(), supervisor(), staff()] {
                    let ctx = format!("{} from {status} by {}", cmd.name(), who.role);
                    assert_conflict_naming(apply(&state, &cmd, &who), status, &ctx);
                }
            }
        }
    }

    #[test]
    fn resolving_a_closed_case_says_so_plainly() {
        let err = apply(&case_in(CaseStatus::Closed), &resolve(), &officer()).unwrap_err();
        assert_eq!(
            err,
            DomainError::conflict("cannot resolve a case that is closed (current status: closed)")
        );
    }

    #[test]
    fn a_repeated_step_is_recognised_only_for_someone_who_could_have_taken_it() {
        use CaseStatus as S;
        let mut resolved = case_in(S::Resolved);
        resolved.community_staff = vec![OFFICER.into(), OTHER_OFFICER.into()];
        assert!(is_repeat(&resolved, &resolve(), &officer()), "the handler");
        assert!(
            is_repeat(&resolved, &resolve(), &actor(OTHER_OFFICER, Role::Officer)),
            "a colleague"
        );
        assert!(!is_repeat(&resolved, &resolve(), &reporter()), "a resident");
        assert!(!is_repeat(&resolved, &resolve(), &supervisor()), "the desk");
        assert!(
            !is_repeat(&case_in(S::InProgress), &resolve(), &officer()),
            "not yet"
        );
        assert!(
            !is_repeat(&resolved, &verify(true), &supervisor()),
            "not idempotent"
        );
        let withdrawn = case_in(S::Withdrawn);
        assert!(is_repeat(&withdrawn, &CaseCommand::Withdraw, &reporter()));
        assert!(!is_repeat(&withdrawn, &CaseCommand::Withdraw, &officer()));
        assert!(is_repeat(&case_in(S::Voided), &void(), &supervisor()));
    }

    #[test]
    fn failed_verification_counts_rework_and_goes_back_to_the_handler() {
        let mut state = case_in(CaseStatus::Resolved);
        for round in 1..=2u32 {
            let t = apply(&state, &verify(false), &supervisor()).unwrap();
            assert!(t.rework);
            assert_eq!(t.outcome, None, "a failed check closes nothing");
            state = next_state(&state, &t);
            assert_eq!(state.status, CaseStatus::Dispatched);
            assert_eq!(state.rework_count, round);
            assert_eq!(state.resolved_by, None);
            assert_eq!(state.handler, Some(Handler::Officer(OFFICER.into())));
            for cmd in [CaseCommand::Start, resolve()] {
                let t = apply(&state, &cmd, &officer()).unwrap();
                state = next_state(&state, &t);
            }
            assert_eq!(state.status, CaseStatus::Resolved);
        }
        let t = apply(&state, &verify(true), &staff()).unwrap();
        let state = next_state(&state, &t);
        assert_eq!((state.status, state.rework_count), (CaseStatus::Closed, 2));
    }

    #[test]
    fn escalation_with_three_departments_closes_only_after_all_three_and_a_verification() {
        let mut state = case_in(CaseStatus::Resolved);
        state.open_department_tasks = 3;
        for open in (1..=3u32).rev() {
            state.open_department_tasks = open;
            match apply(&state, &verify(true), &supervisor()) {
                Err(DomainError::Conflict { reason }) => {
                    assert!(reason.contains(&open.to_string()), "{reason}")
                }
                other => panic!("{open} open: expected conflict, got {other:?}"),
            }
        }
        // A failed check is still allowed while departments work: it sends it back.
        let t = apply(&state, &verify(false), &supervisor()).unwrap();
        assert_eq!(t.to, CaseStatus::Dispatched);

        state.open_department_tasks = 0;
        state.escalation_pending = true;
        assert!(matches!(
            apply(&state, &verify(true), &supervisor()),
            Err(DomainError::Conflict { .. })
        ));
        state.escalation_pending = false;
        let t = apply(&state, &verify(true), &supervisor()).unwrap();
        assert_eq!(t.to, CaseStatus::Closed);
    }

    #[test]
    fn withdraw_wins_over_concurrent_edits() {
        for status in CaseStatus::ALL.into_iter().filter(|s| s.is_open()) {
            let mut state = case_in(status);
            state.open_department_tasks = 2;
            let t = apply(&state, &CaseCommand::Withdraw, &reporter()).unwrap();
            assert!(t.cancel_department_tasks, "{status}");
            let withdrawn = next_state(&state, &t);
            assert_eq!(withdrawn.status, CaseStatus::Withdrawn);
            assert_eq!(withdrawn.open_department_tasks, 0);
            assert_eq!(withdrawn.deferred_from, None);
            // A stale device's edit arriving afterwards meets the withdrawal: no resurrection.
            for cmd in every_command() {
                for who in [officer(), supervisor(), staff(), reporter()] {
                    let ctx = format!("{} after withdraw from {status}", cmd.name());
                    let r = apply(&withdrawn, &cmd, &who);
                    assert_conflict_naming(r, CaseStatus::Withdrawn, &ctx);
                }
            }
        }
    }

    #[test]
    fn withdraw_is_refused_once_the_case_is_finished() {
        use CaseStatus as S;
        for status in [
            S::Closed,
            S::Evaluated,
            S::Voided,
            S::Duplicate,
            S::Withdrawn,
        ] {
            let r = apply(&case_in(status), &CaseCommand::Withdraw, &reporter());
            assert_conflict_naming(r, status, &format!("withdraw from {status}"));
        }
    }

    #[test]
    fn points_follow_the_outcome_the_deadline_rework_and_the_rating() {
        let resolved = case_in(CaseStatus::Resolved);
        let close = |outcome| {
            apply(
                &resolved,
                &CaseCommand::Verify {
                    passed: true,
                    outcome,
                    note: String::new(),
                },
                &supervisor(),
            )
            .unwrap()
        };
        assert_eq!(
            points_rule(&close(CloseOutcome::Fixed), false),
            Some("case_resolved_on_time")
        );
        assert_eq!(
            points_rule(&close(CloseOutcome::Fixed), true),
            Some("case_overdue")
        );
        assert_eq!(
            points_rule(&close(CloseOutcome::CannotBeFixed), false),
            None
        );
        let back = apply(&resolved, &verify(false), &supervisor()).unwrap();
        assert_eq!(points_rule(&back, false), Some("rework"));
        let closed = case_in(CaseStatus::Closed);
        let good = apply(&closed, &evaluate(4), &reporter()).unwrap();
        let poor = apply(&closed, &evaluate(3), &reporter()).unwrap();
        assert_eq!(points_rule(&good, false), Some("resident_rating_good"));
        assert_eq!(points_rule(&poor, false), None);
    }

    #[test]
    fn not_fixed_reopens_as_rework_inside_the_window_only() {
        for status in [CaseStatus::Closed, CaseStatus::Evaluated] {
            let state = case_in(status);
            let t = apply(&state, &not_fixed(), &reporter()).unwrap();
            let next = next_state(&state, &t);
            assert_eq!(
                (next.status, next.rework_count),
                (CaseStatus::Dispatched, 1)
            );
            assert_eq!(next.handler, state.handler, "back to the same handler");
            assert_eq!(t.note.as_deref(), Some("the pile is back"));

            let mut late = state.clone();
            late.follow_up_open = false;
            let r = apply(&late, &not_fixed(), &reporter());
            assert_conflict_naming(r, status, "outside the window");
            let r = apply(&late, &evaluate(4), &reporter());
            assert_conflict_naming(r, status, "rating outside the window");
        }
    }

    #[test]
    fn deferral_remembers_where_it_came_from_and_resume_returns_there() {
        use CaseStatus as S;
        for from in [S::Accepted, S::Dispatched, S::InProgress] {
            let state = case_in(from);
            let t = apply(&state, &defer(), &supervisor()).unwrap();
            assert_eq!(t.resume_on, Some(date()));
            let deferred = next_state(&state, &t);
            assert_eq!(deferred.deferred_from, Some(from));
            let r = apply(&deferred, &defer(), &supervisor());
            assert_conflict_naming(r, S::Deferred, "deferring twice");
            let t = apply(&deferred, &CaseCommand::Resume, &supervisor()).unwrap();
            let resumed = next_state(&deferred, &t);
            assert_eq!((resumed.status, resumed.deferred_from), (from, None));
            assert_eq!(resumed.handler, state.handler);
        }
    }

    #[test]
    fn resume_without_a_recorded_origin_is_a_conflict() {
        let mut state = case_in(CaseStatus::Deferred);
        state.deferred_from = None;
        let r = apply(&state, &CaseCommand::Resume, &supervisor());
        assert_conflict_naming(r, CaseStatus::Deferred, "no origin");
        state.deferred_from = Some(CaseStatus::Closed);
        let r = apply(&state, &CaseCommand::Resume, &supervisor());
        assert_conflict_naming(r, CaseStatus::Deferred, "impossible origin");
    }

    #[test]
    fn a_self_handled_case_starts_resolved_and_still_needs_someone_else_to_verify() {
        let state = self_handled(&officer(), &["sha256:ff".into()]).unwrap();
        assert_eq!(state.status, CaseStatus::Resolved);
        assert!(state.self_handled);
        assert_eq!(state.first_contact_id.as_deref(), Some(OFFICER));
        assert_forbidden(
            apply(&state, &verify(true), &officer()),
            "self-verification",
        );
        let t = apply(&state, &verify(true), &supervisor()).unwrap();
        assert_eq!(next_state(&state, &t).status, CaseStatus::Closed);

        assert!(matches!(
            self_handled(&staff(), &["x".into()]),
            Err(DomainError::Forbidden { .. })
        ));
        assert!(matches!(
            self_handled(&officer(), &[]),
            Err(DomainError::Invalid { field, .. }) if field == "evidence"
        ));
    }

    #[test]
    fn commands_travel_as_json_tagged_by_command() {
        let cmd: CaseCommand =
            serde_json::from_str(r#"{"command":"void","reason":"not a real problem"}"#).unwrap();
        assert_eq!(cmd, void());
        for cmd in every_command() {
            let json = serde_json::to_value(&cmd).unwrap();
            assert_eq!(json["command"], cmd.name());
            assert_eq!(serde_json::from_value::<CaseCommand>(json).unwrap(), cmd);
        }
    }

    #[test]
    fn open_and_final_statuses_partition_with_closed_and_evaluated() {
        use CaseStatus as S;
        for s in CaseStatus::ALL {
            let leaves = GRAPH.iter().any(|&(from, _)| from == s);
            assert_eq!(!leaves, s.is_final(), "{s}");
            assert_eq!(
                s.is_open(),
                !s.is_final() && !matches!(s, S::Closed | S::Evaluated),
                "{s}"
            );
        }
    }
}
