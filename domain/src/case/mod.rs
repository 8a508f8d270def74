//! Cases (problem reports, 案件) and their workflow, as a pure state machine that the
//! online endpoints and the offline sync module both call: a status change is always a
//! validated command ([`CaseCommand`]) checked by [`apply`] against the current
//! [`CaseState`], never a merged value (`../shared/SYNC.md` §8).
//!
//! # Workflow (数字城管)
//!
//! ```text
//! main line      reported ─accept─▶ accepted ─dispatch─▶ dispatched ─start─▶ in_progress
//!                in_progress ─resolve─▶ resolved ─verify passed─▶ closed ─evaluate─▶ evaluated
//! re-dispatch    dispatched ─dispatch─▶ dispatched
//! rework (返工)  resolved ─verify failed─▶ dispatched
//!                closed | evaluated ─not_fixed─▶ dispatched
//! dismissal      reported | accepted | dispatched | in_progress | deferred ─void─▶ voided
//!                reported | accepted ─mark_duplicate─▶ duplicate
//! deferral       accepted | dispatched | in_progress ─defer─▶ deferred ─resume─▶ where it was
//! withdrawal     any open status ─withdraw─▶ withdrawn
//! ```
//!
//! [`allowed_transitions`] is the graph as data; a property test proves that no sequence of
//! commands ever leaves it. `voided`, `duplicate` and `withdrawn` are final.
//!
//! # Who may do what
//!
//! The practice separates the command centre (受理、立案、派遣、结案 by supervisors), the
//! handling unit (处置) and an independent check (核查). Admin stands in for the command
//! centre on desk actions only; nobody checks their own work.
//!
//! | command | valid from | who |
//! |---|---|---|
//! | `accept` (立案) | reported | supervisor, admin, or the officer who is the case's first contact (首接负责) |
//! | `void` (作废, 撤件) | any open status before resolution | supervisor, admin |
//! | `mark_duplicate` | reported, accepted | supervisor, admin, or the first-contact officer |
//! | `dispatch` (派遣) | accepted, dispatched | supervisor, admin |
//! | `start` (处置) | dispatched | the handler: the officer it is dispatched to, or a listed department account; beside an officer handler, another officer of the case's community (协同处置) |
//! | `resolve` (处置反馈) | in_progress | as `start` |
//! | `verify` (核查) | resolved | supervisor, community staff or officer who neither resolved the case nor is its handler |
//! | `defer` (缓办) | accepted, dispatched, in_progress | supervisor, admin |
//! | `resume` | deferred | supervisor, admin |
//! | `evaluate` (评价) | closed | the reporter |
//! | `not_fixed` | closed, evaluated | the reporter |
//! | `withdraw` | any open status | the reporter |
//!
//! Voiding is kept from first-contact officers on purpose: accepting a report only moves
//! it forward, but dismissing one is where a complaint can disappear, so it takes a leader.
//! A leader may still void after dispatch (a report found false or outside the remit);
//! work done offline meanwhile is rejected with the current state and kept as activity.
//!
//! The officers of a community work it as a team: when a case is dispatched to one of
//! them, a colleague who is there may start or resolve it, recorded as the resolver (so
//! neither may verify it). Points for the outcome still go to the handler.
//! Scope (is this officer assigned to the case's community?) is the caller's check.
//!
//! # Order of checks
//!
//! 1. the command must be valid from the current status, else [`DomainError::Conflict`]
//!    naming the current status (the sync client shows it and stops retrying);
//! 2. the actor must be permitted, else [`DomainError::Forbidden`];
//! 3. the arguments must be well formed, else [`DomainError::Invalid`] naming the field;
//! 4. remaining state rules (open department tasks, the follow-up window), else `Conflict`.
//!
//! The handling deadline clock lives in [`deadline`].

mod checks;
pub mod deadline;
#[cfg(test)]
mod fixtures;
mod handover;
#[cfg(test)]
mod props;
mod status;
mod workflow;

pub use handover::check_handover;
pub use status::{CaseSource, CaseStatus, CloseOutcome, Handler};
pub use workflow::{
    Actor, CaseCommand, CaseState, Transition, allowed_transitions, apply, is_allowed, is_repeat,
    next_state, offered, points_rule, self_handled,
};

use crate::error::{DomainError, DomainResult};

/// District-wide case rules (configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CasePolicy {
    /// Days after closing in which the reporter may rate or say "not fixed".
    pub follow_up_days: u32,
    /// Reports one resident may file per day (district time).
    pub resident_daily_reports: u32,
}

impl Default for CasePolicy {
    fn default() -> Self {
        Self {
            follow_up_days: 7,
            resident_daily_reports: 10,
        }
    }
}

impl CasePolicy {
    /// May a resident who filed `today` reports today file another? `secs_to_midnight`
    /// is when the quota frees up.
    pub fn check_daily_quota(&self, today: u64, secs_to_midnight: u64) -> DomainResult<()> {
        if today >= u64::from(self.resident_daily_reports) {
            return Err(DomainError::Limited {
                reason: format!(
                    "you have filed {today} reports today, the daily limit; \
                     you can report again after midnight"
                ),
                retry_after_secs: secs_to_midnight.max(1),
            });
        }
        Ok(())
    }
}
