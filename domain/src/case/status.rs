//! The wire vocabulary of a case: its status, source, closing outcome and handler.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Actor;
use crate::error::{DomainError, DomainResult};
use crate::role::Role;

/// Where a case is in its workflow. See the module docs for the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Received, not yet accepted (上报).
    Reported,
    /// Accepted as a case (立案).
    Accepted,
    /// Dismissed with a reason (作废). Final.
    Voided,
    /// Sent to an officer or to departments (派遣).
    Dispatched,
    /// Being handled (处置).
    InProgress,
    /// The handler reports it done, with evidence (处置反馈); awaits verification.
    Resolved,
    /// Verified and closed (结案).
    Closed,
    /// The reporter has rated the outcome (评价).
    Evaluated,
    /// Put on hold with a reason and a resume date (缓办); the deadline clock pauses.
    Deferred,
    /// The same problem as another case, which the reporter now follows. Final.
    Duplicate,
    /// Withdrawn by its reporter. Final.
    Withdrawn,
}

impl CaseStatus {
    /// Every status, in workflow order.
    pub const ALL: [CaseStatus; 11] = [
        CaseStatus::Reported,
        CaseStatus::Accepted,
        CaseStatus::Voided,
        CaseStatus::Dispatched,
        CaseStatus::InProgress,
        CaseStatus::Resolved,
        CaseStatus::Closed,
        CaseStatus::Evaluated,
        CaseStatus::Deferred,
        CaseStatus::Duplicate,
        CaseStatus::Withdrawn,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Reported => "reported",
            CaseStatus::Accepted => "accepted",
            CaseStatus::Voided => "voided",
            CaseStatus::Dispatched => "dispatched",
            CaseStatus::InProgress => "in_progress",
            CaseStatus::Resolved => "resolved",
            CaseStatus::Closed => "closed",
            CaseStatus::Evaluated => "evaluated",
            CaseStatus::Deferred => "deferred",
            CaseStatus::Duplicate => "duplicate",
            CaseStatus::Withdrawn => "withdrawn",
        }
    }

    /// Does the case still await work? Open cases can be withdrawn by their reporter.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            CaseStatus::Reported
                | CaseStatus::Accepted
                | CaseStatus::Dispatched
                | CaseStatus::InProgress
                | CaseStatus::Resolved
                | CaseStatus::Deferred
        )
    }

    /// Is this a status no command leaves (voided, duplicate, withdrawn)?
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseStatus::Voided | CaseStatus::Duplicate | CaseStatus::Withdrawn
        )
    }

    /// The status as a person would say it, for error messages.
    pub(super) fn words(self) -> String {
        self.as_str().replace('_', " ")
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CaseStatus {
    type Err = DomainError;

    fn from_str(s: &str) -> DomainResult<Self> {
        parse_wire(&CaseStatus::ALL, |c| c.as_str(), "status", s)
    }
}

/// How a case arrived (问题发现渠道).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseSource {
    /// A resident, shop or property manager reported it in the mini-app.
    ResidentApp,
    /// Staff entered a call to the supervision hotline.
    Hotline,
    /// A community whistle (社区吹哨).
    Whistle,
    /// An officer found it on patrol.
    PatrolFind,
    /// Settled in a community meeting before any complaint (未诉先办).
    CommunityMeeting,
    /// A resident suggestion ("woodpecker", 啄木鸟).
    Suggestion,
}

impl CaseSource {
    /// Every source.
    pub const ALL: [CaseSource; 6] = [
        CaseSource::ResidentApp,
        CaseSource::Hotline,
        CaseSource::Whistle,
        CaseSource::PatrolFind,
        CaseSource::CommunityMeeting,
        CaseSource::Suggestion,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseSource::ResidentApp => "resident_app",
            CaseSource::Hotline => "hotline",
            CaseSource::Whistle => "whistle",
            CaseSource::PatrolFind => "patrol_find",
            CaseSource::CommunityMeeting => "community_meeting",
            CaseSource::Suggestion => "suggestion",
        }
    }

    /// The Chinese name reports give it.
    pub fn name_zh(self) -> &'static str {
        match self {
            CaseSource::ResidentApp => "群众上报",
            CaseSource::Hotline => "12345热线",
            CaseSource::Whistle => "社区吹哨",
            CaseSource::PatrolFind => "巡查发现",
            CaseSource::CommunityMeeting => "议事会（未诉先办）",
            CaseSource::Suggestion => "意见建议",
        }
    }
}

impl fmt::Display for CaseSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CaseSource {
    type Err = DomainError;

    fn from_str(s: &str) -> DomainResult<Self> {
        parse_wire(&CaseSource::ALL, |c| c.as_str(), "source", s)
    }
}

/// How a verified case was closed. The three are reported separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseOutcome {
    /// The problem is gone.
    Fixed,
    /// Closed because it is not city management's responsibility.
    NotOurResponsibility,
    /// Closed because it cannot be fixed.
    CannotBeFixed,
}

impl CloseOutcome {
    /// Every outcome.
    pub const ALL: [CloseOutcome; 3] = [
        CloseOutcome::Fixed,
        CloseOutcome::NotOurResponsibility,
        CloseOutcome::CannotBeFixed,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseOutcome::Fixed => "fixed",
            CloseOutcome::NotOurResponsibility => "not_our_responsibility",
            CloseOutcome::CannotBeFixed => "cannot_be_fixed",
        }
    }

    /// Does this outcome count as a solved problem in the figures? Only `fixed` does: the
    /// other two closings must never inflate the "problems solved" count.
    pub fn counts_as_fixed(self) -> bool {
        matches!(self, CloseOutcome::Fixed)
    }
}

impl fmt::Display for CloseOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CloseOutcome {
    type Err = DomainError;

    fn from_str(s: &str) -> DomainResult<Self> {
        parse_wire(&CloseOutcome::ALL, |c| c.as_str(), "outcome", s)
    }
}

/// Who a case is dispatched to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handler {
    /// One officer, by user id.
    Officer(String),
    /// One or more departments, by the user id of each department's account.
    Departments(Vec<String>),
}

impl Handler {
    /// Is `actor` the handler (or one of the handling departments)?
    pub fn includes(&self, actor: &Actor) -> bool {
        match self {
            Handler::Officer(id) => actor.role == Role::Officer && *id == actor.user_id,
            Handler::Departments(ids) => {
                actor.role == Role::Department && ids.contains(&actor.user_id)
            }
        }
    }

    /// Is this user id the handler or one of the handling departments, whatever the role?
    pub(super) fn names(&self, user_id: &str) -> bool {
        match self {
            Handler::Officer(id) => id == user_id,
            Handler::Departments(ids) => ids.iter().any(|d| d == user_id),
        }
    }

    pub(super) fn validate(&self) -> DomainResult<()> {
        match self {
            Handler::Officer(id) if id.trim().is_empty() => {
                Err(DomainError::invalid("to", "the officer's user id is blank"))
            }
            Handler::Officer(_) => Ok(()),
            Handler::Departments(ids) if ids.is_empty() => Err(DomainError::invalid(
                "to",
                "dispatch to departments needs at least one department",
            )),
            Handler::Departments(ids) => {
                for (i, id) in ids.iter().enumerate() {
                    if id.trim().is_empty() {
                        return Err(DomainError::invalid(
                            "to",
                            format!("department {} has a blank id", i + 1),
                        ));
                    }
                    if ids[..i].contains(id) {
                        return Err(DomainError::invalid(
                            "to",
                            format!("department {id:?} is listed twice"),
                        ));
                    }
                }
                Ok(())
            }
        }
    }
}

fn parse_wire<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    field: &str,
    s: &str,
) -> DomainResult<T> {
    all.iter().copied().find(|v| name(*v) == s).ok_or_else(|| {
        let choices: Vec<_> = all.iter().map(|v| name(*v)).collect();
        DomainError::invalid(
            field,
            format!(
                "unknown {field} {s:?}; expected one of {}",
                choices.join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::fixtures::*;
    use crate::case::{CaseCommand, apply};

    #[test]
    fn only_fixed_counts_as_fixed_and_each_outcome_is_recorded() {
        for outcome in CloseOutcome::ALL {
            assert_eq!(outcome.counts_as_fixed(), outcome == CloseOutcome::Fixed);
            let cmd = CaseCommand::Verify {
                passed: true,
                outcome,
                note: String::new(),
            };
            let t = apply(&case_in(CaseStatus::Resolved), &cmd, &supervisor()).unwrap();
            assert_eq!((t.outcome, t.note), (Some(outcome), None));
        }
    }

    #[test]
    fn wire_names_round_trip_and_unknown_names_name_the_field() {
        for s in CaseStatus::ALL {
            assert_eq!(s.as_str().parse::<CaseStatus>(), Ok(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        for s in CaseSource::ALL {
            assert_eq!(s.as_str().parse::<CaseSource>(), Ok(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        for o in CloseOutcome::ALL {
            assert_eq!(o.as_str().parse::<CloseOutcome>(), Ok(o));
            assert_eq!(
                serde_json::to_value(o).unwrap(),
                serde_json::json!(o.as_str())
            );
        }
        let cases = [
            ("status", "open".parse::<CaseStatus>().err()),
            ("source", "email".parse::<CaseSource>().err()),
            ("outcome", "gone".parse::<CloseOutcome>().err()),
        ];
        for (want, err) in cases {
            match err {
                Some(DomainError::Invalid { field, .. }) => assert_eq!(field, want),
                other => panic!("{want}: {other:?}"),
            }
        }
    }
}
