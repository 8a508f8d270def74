//! Community whistles (社区吹哨、部门报到): community staff order help from city management,
//! city management takes the order (接单, 报到) within a deadline, and the community rates
//! the response. A pure state machine that the online endpoints and sync push both call.
//!
//! # Workflow
//!
//! ```text
//! raise        ─▶ pending_sign_off   (the community wants its lead's sign-off)
//!              ─▶ raised             (sign-off is off, or the lead raised it)
//! pending_sign_off ─sign_off approve─▶ raised
//!                  ─sign_off decline─▶ declined
//! raised ─take─▶ taken ─rate─▶ rated
//! pending_sign_off | raised ─withdraw─▶ withdrawn
//! ```
//!
//! `declined`, `rated` and `withdrawn` are final. The take deadline clock starts when the
//! whistle goes out to city management (`raised_at`), never at creation: time waiting for
//! the community's own sign-off is not city management's delay.
//!
//! # Who may do what
//!
//! | command | valid from | who |
//! |---|---|---|
//! | raise | — | community staff of the community (scope is the caller's check) |
//! | `sign_off` | pending_sign_off | the community's lead, and nobody else |
//! | `take` | raised | an officer or a supervisor (scope is the caller's check) |
//! | `rate` (1-5) | taken | community staff: the raiser or the lead; once |
//! | `withdraw` | pending_sign_off, raised | the raiser |
//!
//! A whistle waiting for sign-off in a community with no lead waits until an admin names
//! one: an offline raise is never refused for the community's configuration.
//!
//! # Order of checks
//!
//! As for cases: the command must be valid from the current status (else
//! [`DomainError::Conflict`] naming it), then the actor must be permitted (else
//! [`DomainError::Forbidden`]), then the arguments must be well formed (else
//! [`DomainError::Invalid`] naming the field).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::case::Actor;
use crate::role::Role;
use crate::{DomainError, DomainResult};

/// Minutes city management has to take a whistle unless the community says otherwise.
pub const DEFAULT_TAKE_MINUTES: i32 = 30;
/// The longest take deadline a community may set (one week).
pub const MAX_TAKE_MINUTES: i32 = 7 * 24 * 60;
/// Longest title accepted.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest description, note, reason or comment accepted.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Most cases one whistle may link.
pub const MAX_LINKED_CASES: usize = 20;

/// Where a whistle is. See the module docs for the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhistleStatus {
    /// Waits for the community lead's sign-off.
    PendingSignOff,
    /// The lead declined it. Final.
    Declined,
    /// Out to city management; the take deadline runs.
    Raised,
    /// City management took it (接单).
    Taken,
    /// The community rated the response. Final.
    Rated,
    /// Withdrawn by its raiser before it was taken. Final.
    Withdrawn,
}

impl WhistleStatus {
    /// Every status, in workflow order.
    pub const ALL: [WhistleStatus; 6] = [
        WhistleStatus::PendingSignOff,
        WhistleStatus::Declined,
        WhistleStatus::Raised,
        WhistleStatus::Taken,
        WhistleStatus::Rated,
        WhistleStatus::Withdrawn,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            WhistleStatus::PendingSignOff => "pending_sign_off",
            WhistleStatus::Declined => "declined",
            WhistleStatus::Raised => "raised",
            WhistleStatus::Taken => "taken",
            WhistleStatus::Rated => "rated",
            WhistleStatus::Withdrawn => "withdrawn",
        }
    }

    /// Is this a status no command leaves?
    pub fn is_final(self) -> bool {
        matches!(
            self,
            WhistleStatus::Declined | WhistleStatus::Rated | WhistleStatus::Withdrawn
        )
    }

    fn words(self) -> String {
        self.as_str().replace('_', " ")
    }
}

impl fmt::Display for WhistleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WhistleStatus {
    type Err = DomainError;

    fn from_str(s: &str) -> DomainResult<Self> {
        WhistleStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let choices: Vec<_> = WhistleStatus::ALL.iter().map(|v| v.as_str()).collect();
                DomainError::invalid(
                    "status",
                    format!(
                        "unknown status {s:?}; expected one of {}",
                        choices.join(", ")
                    ),
                )
            })
    }
}

/// A community's whistle settings, as configured by an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunityRules {
    /// The community's lead (a community staff account), who signs whistles off.
    pub lead_id: Option<String>,
    /// Must the lead sign a whistle off before it goes out?
    pub sign_off_required: bool,
    /// Minutes city management has to take a raised whistle.
    pub take_minutes: i32,
}

impl Default for CommunityRules {
    fn default() -> Self {
        Self {
            lead_id: None,
            sign_off_required: true,
            take_minutes: DEFAULT_TAKE_MINUTES,
        }
    }
}

/// Checks the take deadline an admin sets.
pub fn check_take_minutes(minutes: i64) -> DomainResult<i32> {
    i32::try_from(minutes)
        .ok()
        .filter(|m| (1..=MAX_TAKE_MINUTES).contains(m))
        .ok_or_else(|| {
            DomainError::invalid(
                "take_minutes",
                format!("must be 1 to {MAX_TAKE_MINUTES} minutes"),
            )
        })
}

/// A new whistle as the rules let it start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    pub status: WhistleStatus,
    pub title: String,
    pub description: String,
    /// The lead, when the lead raised it themself (their raise is their sign-off).
    pub signed_off_by: Option<String>,
    /// When it went out to city management; `None` while it waits for sign-off.
    pub raised_at: Option<DateTime<Utc>>,
    pub take_due_at: Option<DateTime<Utc>>,
}

fn text(field: &str, raw: &str, max: usize, required: bool) -> DomainResult<String> {
    let t = raw.trim();
    if required && t.is_empty() {
        return Err(DomainError::invalid(field, "must not be blank"));
    }
    if t.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(t.to_owned())
}

/// Who raises whistles: community staff only.
pub fn may_raise(role: Role) -> DomainResult<()> {
    if role == Role::CommunityStaff {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            "only community staff raise whistles",
        ))
    }
}

/// Raises a whistle in a community whose staff the actor is (the caller checks scope).
pub fn raise(
    actor: &Actor,
    rules: &CommunityRules,
    title: &str,
    description: &str,
    now: DateTime<Utc>,
) -> DomainResult<Raised> {
    may_raise(actor.role)?;
    let title = text("title", title, MAX_TITLE_CHARS, true)?;
    let description = text("description", description, MAX_TEXT_CHARS, false)?;
    let by_lead = rules.lead_id.as_deref() == Some(actor.user_id.as_str());
    if rules.sign_off_required && !by_lead {
        return Ok(Raised {
            status: WhistleStatus::PendingSignOff,
            title,
            description,
            signed_off_by: None,
            raised_at: None,
            take_due_at: None,
        });
    }
    Ok(Raised {
        status: WhistleStatus::Raised,
        title,
        description,
        signed_off_by: (rules.sign_off_required && by_lead).then(|| actor.user_id.clone()),
        raised_at: Some(now),
        take_due_at: Some(take_due(now, rules.take_minutes)),
    })
}

/// What the state machine needs to know about a whistle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhistleState {
    pub status: WhistleStatus,
    pub raised_by: String,
    /// The community's lead now (it may have changed since the raise).
    pub lead_id: Option<String>,
    /// The community's take deadline now, used when a sign-off sends it out.
    pub take_minutes: i32,
    pub take_due_at: Option<DateTime<Utc>>,
}

/// A command on an existing whistle. Online endpoints and sync mutations build it; JSON
/// tagged by `command`, e.g. `{"command":"rate","rating":5,"comment":"快"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum WhistleCommand {
    /// pending_sign_off → raised (approve) or declined (a reason is required).
    SignOff {
        approve: bool,
        reason: Option<String>,
    },
    /// raised → taken (接单).
    Take { note: Option<String> },
    /// taken → rated; 1 to 5.
    Rate {
        rating: i64,
        comment: Option<String>,
    },
    /// pending_sign_off | raised → withdrawn.
    Withdraw,
}

impl WhistleCommand {
    fn valid_from(&self) -> &'static [WhistleStatus] {
        use WhistleStatus as S;
        match self {
            WhistleCommand::SignOff { .. } => &[S::PendingSignOff],
            WhistleCommand::Take { .. } => &[S::Raised],
            WhistleCommand::Rate { .. } => &[S::Taken],
            WhistleCommand::Withdraw => &[S::PendingSignOff, S::Raised],
        }
    }

    fn verb(&self) -> &'static str {
        match self {
            WhistleCommand::SignOff { .. } => "sign off",
            WhistleCommand::Take { .. } => "take",
            WhistleCommand::Rate { .. } => "rate",
            WhistleCommand::Withdraw => "withdraw",
        }
    }
}

/// What an applied command changes besides the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The lead approved: the whistle goes out now and the deadline clock starts.
    Approved {
        raised_at: DateTime<Utc>,
        take_due_at: DateTime<Utc>,
    },
    /// The lead declined, with a reason.
    Declined { reason: String },
    /// City management took it; `late` when after the deadline.
    Taken { late: bool, note: Option<String> },
    /// The community rated the response.
    Rated {
        rating: i32,
        comment: Option<String>,
    },
    /// The raiser withdrew it.
    Withdrawn,
}

/// An applied command: from, to, and what else changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: WhistleStatus,
    pub to: WhistleStatus,
    pub effect: Effect,
}

fn optional_text(field: &str, raw: &Option<String>) -> DomainResult<Option<String>> {
    Ok(raw
        .as_deref()
        .map(|r| text(field, r, MAX_TEXT_CHARS, false))
        .transpose()?
        .filter(|t| !t.is_empty()))
}

/// Checks `cmd` by `actor` against `state` at `now` and says what changes. Pure: on error
/// the caller changes nothing. See the module docs for the table and order of checks.
pub fn apply(
    state: &WhistleState,
    cmd: &WhistleCommand,
    actor: &Actor,
    now: DateTime<Utc>,
) -> DomainResult<Transition> {
    use WhistleStatus as S;
    let from = state.status;
    if !cmd.valid_from().contains(&from) {
        return Err(DomainError::conflict(format!(
            "cannot {} a whistle that is {} (current status: {})",
            cmd.verb(),
            from.words(),
            from.as_str()
        )));
    }
    let is_lead = actor.role == Role::CommunityStaff
        && state.lead_id.as_deref() == Some(actor.user_id.as_str());
    let is_raiser = actor.user_id == state.raised_by;
    match cmd {
        WhistleCommand::SignOff { approve, reason } => {
            if !is_lead {
                return Err(DomainError::forbidden(
                    "only the community's lead signs whistles off",
                ));
            }
            if *approve {
                Ok(Transition {
                    from,
                    to: S::Raised,
                    effect: Effect::Approved {
                        raised_at: now,
                        take_due_at: take_due(now, state.take_minutes),
                    },
                })
            } else {
                let reason = optional_text("reason", reason)?.ok_or_else(|| {
                    DomainError::invalid("reason", "a declined whistle needs a reason")
                })?;
                Ok(Transition {
                    from,
                    to: S::Declined,
                    effect: Effect::Declined { reason },
                })
            }
        }
        WhistleCommand::Take { note } => {
            if !matches!(actor.role, Role::Officer | Role::Supervisor) {
                return Err(DomainError::forbidden(
                    "only city-management officers and supervisors take whistles",
                ));
            }
            let note = optional_text("note", note)?;
            let late = state.take_due_at.is_some_and(|due| is_late(due, now));
            Ok(Transition {
                from,
                to: S::Taken,
                effect: Effect::Taken { late, note },
            })
        }
        WhistleCommand::Rate { rating, comment } => {
            if actor.role != Role::CommunityStaff || !(is_raiser || is_lead) {
                return Err(DomainError::forbidden(
                    "the whistle's raiser or the community's lead rates the response",
                ));
            }
            let rating = i32::try_from(*rating)
                .ok()
                .filter(|r| (1..=5).contains(r))
                .ok_or_else(|| DomainError::invalid("rating", "must be 1 to 5"))?;
            let comment = optional_text("comment", comment)?;
            Ok(Transition {
                from,
                to: S::Rated,
                effect: Effect::Rated { rating, comment },
            })
        }
        WhistleCommand::Withdraw => {
            if !is_raiser {
                return Err(DomainError::forbidden(
                    "only the raiser withdraws a whistle",
                ));
            }
            Ok(Transition {
                from,
                to: S::Withdrawn,
                effect: Effect::Withdrawn,
            })
        }
    }
}

/// When a whistle raised at `raised_at` must be taken by.
pub fn take_due(raised_at: DateTime<Utc>, minutes: i32) -> DateTime<Utc> {
    raised_at + Duration::minutes(i64::from(minutes))
}

/// Is a take at `taken_at` late for a deadline `due`? Exactly at the deadline is on time.
pub fn is_late(due: DateTime<Utc>, taken_at: DateTime<Utc>) -> bool {
    taken_at > due
}

/// Is a whistle overdue at `now`: out to city management, untaken, past its deadline?
pub fn is_overdue(
    status: WhistleStatus,
    take_due_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    status == WhistleStatus::Raised && take_due_at.is_some_and(|due| now > due)
}

/// What the figures need to know about one whistle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhistleFacts {
    pub status: WhistleStatus,
    /// Set once it went out to city management.
    pub raised_at: Option<DateTime<Utc>>,
    /// Set once taken: whether the take was late.
    pub taken_late: Option<bool>,
    pub rating: Option<i32>,
}

/// The whistle figures of a set of whistles.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WhistleStats {
    /// Went out to city management (withdrawn ones excluded: the community took them back).
    pub raised: u32,
    /// Taken by city management.
    pub taken: u32,
    /// Taken within the deadline.
    pub taken_on_time: u32,
    /// Rated by the community.
    pub rated: u32,
    /// taken / raised; `None` when nothing was raised.
    pub response_rate: Option<f64>,
    /// taken on time / raised; `None` when nothing was raised.
    pub on_time_rate: Option<f64>,
    /// Mean rating; `None` when nothing was rated.
    pub average_rating: Option<f64>,
}

/// The figures of a set of whistles. Only whistles that went out to city management
/// count; one withdrawn before it was taken is the community's choice, not a miss.
pub fn stats<'a>(whistles: impl IntoIterator<Item = &'a WhistleFacts>) -> WhistleStats {
    let mut s = WhistleStats::default();
    let mut rating_sum = 0i64;
    for w in whistles {
        let counted = w.raised_at.is_some()
            && matches!(
                w.status,
                WhistleStatus::Raised | WhistleStatus::Taken | WhistleStatus::Rated
            );
        if !counted {
            continue;
        }
        s.raised += 1;
        if let Some(late) = w.taken_late {
            s.taken += 1;
            if !late {
                s.taken_on_time += 1;
            }
        }
        if let Some(r) = w.rating {
            s.rated += 1;
            rating_sum += i64::from(r);
        }
    }
    let ratio = |n: u32, d: u32| (d > 0).then(|| f64::from(n) / f64::from(d));
    s.response_rate = ratio(s.taken, s.raised);
    s.on_time_rate = ratio(s.taken_on_time, s.raised);
    s.average_rating = (s.rated > 0).then(|| rating_sum as f64 / f64::from(s.rated));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
    }

    fn actor(id: &str, role: Role) -> Actor {
        Actor {
            user_id: id.into(),
            role,
        }
    }

    fn state(status: WhistleStatus) -> WhistleState {
        WhistleState {
            status,
            raised_by: "raiser".into(),
            lead_id: Some("lead".into()),
            take_minutes: 30,
            take_due_at: Some(t0() + Duration::minutes(30)),
        }
    }

    fn sign_off(approve: bool, reason: Option<&str>) -> WhistleCommand {
        WhistleCommand::SignOff {
            approve,
            reason: reason.map(str::to_owned),
        }
    }

    fn rate(r: i64) -> WhistleCommand {
        WhistleCommand::Rate {
            rating: r,
            comment: None,
        }
    }

    #[test]
    fn a_raise_waits_for_sign_off_unless_it_is_off_or_the_lead_raises_it() {
        let rules = CommunityRules {
            lead_id: Some("lead".into()),
            ..CommunityRules::default()
        };
        let staff = actor("raiser", Role::CommunityStaff);
        let lead = actor("lead", Role::CommunityStaff);
        let r = raise(&staff, &rules, " 楼道杂物 ", "", t0()).unwrap();
        assert_eq!(r.status, WhistleStatus::PendingSignOff);
        assert_eq!(r.title, "楼道杂物");
        assert_eq!((r.raised_at, r.take_due_at), (None, None));

        let r = raise(&lead, &rules, "x", "", t0()).unwrap();
        assert_eq!(r.status, WhistleStatus::Raised);
        assert_eq!(r.signed_off_by.as_deref(), Some("lead"));
        assert_eq!(r.take_due_at, Some(t0() + Duration::minutes(30)));

        let off = CommunityRules {
            sign_off_required: false,
            take_minutes: 45,
            ..rules.clone()
        };
        let r = raise(&staff, &off, "x", "", t0()).unwrap();
        assert_eq!(r.status, WhistleStatus::Raised);
        assert_eq!(r.signed_off_by, None);
        assert_eq!(r.raised_at, Some(t0()));
        assert_eq!(r.take_due_at, Some(t0() + Duration::minutes(45)));

        // No lead yet: the whistle waits for one rather than being refused.
        let leaderless = CommunityRules::default();
        assert_eq!(
            raise(&staff, &leaderless, "x", "", t0()).unwrap().status,
            WhistleStatus::PendingSignOff
        );
    }

    #[test]
    fn only_community_staff_raise_and_a_title_is_needed() {
        let rules = CommunityRules::default();
        for role in Role::ALL {
            let r = raise(&actor("a", role), &rules, "x", "", t0());
            assert_eq!(r.is_ok(), role == Role::CommunityStaff, "{role}");
        }
        let staff = actor("a", Role::CommunityStaff);
        let field = |r: DomainResult<Raised>| match r {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(field(raise(&staff, &rules, "  ", "", t0())), "title");
        assert_eq!(
            field(raise(&staff, &rules, &"长".repeat(201), "", t0())),
            "title"
        );
        assert_eq!(
            field(raise(&staff, &rules, "x", &"长".repeat(4001), t0())),
            "description"
        );
    }

    #[test]
    fn every_command_is_valid_only_from_its_listed_statuses() {
        use WhistleStatus as S;
        // (command, actor, statuses it applies from, where it leads)
        let rows: Vec<(WhistleCommand, Actor, Vec<S>, S)> = vec![
            (
                sign_off(true, None),
                actor("lead", Role::CommunityStaff),
                vec![S::PendingSignOff],
                S::Raised,
            ),
            (
                sign_off(false, Some("不属于城管职责")),
                actor("lead", Role::CommunityStaff),
                vec![S::PendingSignOff],
                S::Declined,
            ),
            (
                WhistleCommand::Take { note: None },
                actor("o", Role::Officer),
                vec![S::Raised],
                S::Taken,
            ),
            (
                rate(4),
                actor("raiser", Role::CommunityStaff),
                vec![S::Taken],
                S::Rated,
            ),
            (
                WhistleCommand::Withdraw,
                actor("raiser", Role::CommunityStaff),
                vec![S::PendingSignOff, S::Raised],
                S::Withdrawn,
            ),
        ];
        for (cmd, who, valid, to) in rows {
            for from in WhistleStatus::ALL {
                let r = apply(&state(from), &cmd, &who, t0());
                if valid.contains(&from) {
                    assert_eq!(r.map(|t| t.to), Ok(to), "{cmd:?} from {from}");
                } else {
                    match r {
                        Err(DomainError::Conflict { reason }) => assert!(
                            reason.contains(&format!("current status: {from}")),
                            "{reason}"
                        ),
                        other => panic!("{cmd:?} from {from}: {other:?}"),
                    }
                }
            }
        }
        for s in WhistleStatus::ALL {
            let stuck = [
                sign_off(true, None),
                WhistleCommand::Take { note: None },
                rate(5),
                WhistleCommand::Withdraw,
            ]
            .iter()
            .all(|c| !c.valid_from().contains(&s));
            assert_eq!(stuck, s.is_final(), "{s}");
        }
    }

    #[test]
    fn only_the_lead_signs_off_and_a_decline_needs_a_reason() {
        let pending = state(WhistleStatus::PendingSignOff);
        for who in [
            actor("raiser", Role::CommunityStaff),
            actor("other", Role::CommunityStaff),
            actor("s", Role::Supervisor),
            actor("admin", Role::Admin),
            // The lead's id under another role is not the lead.
            actor("lead", Role::Officer),
        ] {
            assert!(
                matches!(
                    apply(&pending, &sign_off(true, None), &who, t0()),
                    Err(DomainError::Forbidden { .. })
                ),
                "{who:?}"
            );
        }
        let lead = actor("lead", Role::CommunityStaff);
        assert!(matches!(
            apply(&pending, &sign_off(false, Some("  ")), &lead, t0()),
            Err(DomainError::Invalid { field, .. }) if field == "reason"
        ));
        let later = t0() + Duration::hours(2);
        let t = apply(&pending, &sign_off(true, None), &lead, later).unwrap();
        assert_eq!(
            t.effect,
            Effect::Approved {
                raised_at: later,
                take_due_at: later + Duration::minutes(30)
            }
        );
        let mut leaderless = pending.clone();
        leaderless.lead_id = None;
        assert!(apply(&leaderless, &sign_off(true, None), &lead, t0()).is_err());
    }

    #[test]
    fn officers_and_supervisors_take_and_a_take_after_the_deadline_is_late() {
        let raised = state(WhistleStatus::Raised);
        let due = t0() + Duration::minutes(30);
        let take = WhistleCommand::Take {
            note: Some("马上到".into()),
        };
        for role in Role::ALL {
            let r = apply(&raised, &take, &actor("x", role), due);
            assert_eq!(
                r.is_ok(),
                matches!(role, Role::Officer | Role::Supervisor),
                "{role}"
            );
        }
        let officer = actor("o", Role::Officer);
        let late = |at| match apply(&raised, &take, &officer, at).unwrap().effect {
            Effect::Taken { late, .. } => late,
            other => panic!("{other:?}"),
        };
        assert!(!late(t0()));
        assert!(!late(due), "exactly at the deadline is on time");
        assert!(late(due + Duration::milliseconds(1)));
    }

    #[test]
    fn the_raiser_or_the_lead_rates_once_from_one_to_five() {
        let taken = state(WhistleStatus::Taken);
        let raiser = actor("raiser", Role::CommunityStaff);
        let lead = actor("lead", Role::CommunityStaff);
        for r in 1..=5 {
            assert!(apply(&taken, &rate(r), &raiser, t0()).is_ok());
        }
        assert!(apply(&taken, &rate(3), &lead, t0()).is_ok());
        for bad in [0, 6, -1, i64::MAX] {
            assert!(matches!(
                apply(&taken, &rate(bad), &raiser, t0()),
                Err(DomainError::Invalid { field, .. }) if field == "rating"
            ));
        }
        for who in [
            actor("other", Role::CommunityStaff),
            actor("o", Role::Officer),
            actor("raiser", Role::Officer),
        ] {
            assert!(matches!(
                apply(&taken, &rate(5), &who, t0()),
                Err(DomainError::Forbidden { .. })
            ));
        }
        // Once: a rated whistle is final; before the take it is too early.
        for s in [WhistleStatus::Rated, WhistleStatus::Raised] {
            assert!(matches!(
                apply(&state(s), &rate(5), &raiser, t0()),
                Err(DomainError::Conflict { .. })
            ));
        }
    }

    #[test]
    fn only_the_raiser_withdraws() {
        let raised = state(WhistleStatus::Raised);
        assert!(
            apply(
                &raised,
                &WhistleCommand::Withdraw,
                &actor("raiser", Role::CommunityStaff),
                t0()
            )
            .is_ok()
        );
        assert!(matches!(
            apply(
                &raised,
                &WhistleCommand::Withdraw,
                &actor("lead", Role::CommunityStaff),
                t0()
            ),
            Err(DomainError::Forbidden { .. })
        ));
    }

    #[test]
    fn overdue_means_raised_untaken_and_past_the_deadline() {
        let due = Some(t0());
        let after = t0() + Duration::seconds(1);
        assert!(is_overdue(WhistleStatus::Raised, due, after));
        assert!(!is_overdue(WhistleStatus::Raised, due, t0()));
        assert!(!is_overdue(WhistleStatus::Taken, due, after));
        assert!(!is_overdue(WhistleStatus::PendingSignOff, None, after));
    }

    #[test]
    fn take_minutes_are_checked() {
        assert_eq!(check_take_minutes(30), Ok(30));
        assert!(check_take_minutes(0).is_err());
        assert!(check_take_minutes(i64::from(MAX_TAKE_MINUTES) + 1).is_err());
        assert!(check_take_minutes(i64::MAX).is_err());
    }

    #[test]
    fn stats_count_only_whistles_that_went_out() {
        use WhistleStatus as S;
        let f = |status, raised: bool, late: Option<bool>, rating: Option<i32>| WhistleFacts {
            status,
            raised_at: raised.then(t0),
            taken_late: late,
            rating,
        };
        let set = [
            f(S::Rated, true, Some(false), Some(5)),
            f(S::Rated, true, Some(true), Some(2)),
            f(S::Taken, true, Some(false), None),
            f(S::Raised, true, None, None),
            // Not counted: never went out, or taken back by the community.
            f(S::PendingSignOff, false, None, None),
            f(S::Declined, false, None, None),
            f(S::Withdrawn, true, None, None),
        ];
        let s = stats(&set);
        assert_eq!((s.raised, s.taken, s.taken_on_time, s.rated), (4, 3, 2, 2));
        assert_eq!(s.response_rate, Some(0.75));
        assert_eq!(s.on_time_rate, Some(0.5));
        assert_eq!(s.average_rating, Some(3.5));
        let empty = stats(&[]);
        assert_eq!(empty.raised, 0);
        assert_eq!(
            (
                empty.response_rate,
                empty.on_time_rate,
                empty.average_rating
            ),
            (None, None, None)
        );
    }

    #[test]
    fn statuses_round_trip_through_their_wire_names() {
        for s in WhistleStatus::ALL {
            assert_eq!(s.as_str().parse::<WhistleStatus>(), Ok(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::json!(s.as_str()))
            );
        }
        assert!("open".parse::<WhistleStatus>().is_err());
    }
}
