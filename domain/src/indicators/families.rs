//! The rules that count each family's indicators, over facts the store reads from the
//! raw records. A fact may be read because it touches the period in one way (a case
//! closed in it) and count for nothing else (it was reported earlier); groups whose
//! every figure is zero are left out, so the rows do not depend on what was read.

use std::collections::BTreeMap;

use crate::case::{CaseStatus, CloseOutcome};
use crate::seed::Class721;
use crate::visit::VisitFlag;

use super::definitions::*;
use super::{Figure, Grouping, Keys, Span, Table};

/// Sums per group key; each fact adds to every group it belongs to.
fn tally<'a, T: 'a, S: Default>(
    facts: impl IntoIterator<Item = (&'a Keys, &'a T)>,
    g: Grouping,
    mut add: impl FnMut(&mut S, &'a T),
) -> BTreeMap<String, S> {
    let mut groups: BTreeMap<String, S> = BTreeMap::new();
    for (keys, fact) in facts {
        for key in keys.keys(g) {
            add(groups.entry(key.to_owned()).or_default(), fact);
        }
    }
    groups
}

/// The table of figures per group, leaving out groups where nothing was counted.
fn table<S>(groups: BTreeMap<String, S>, figures: impl Fn(&S) -> Vec<Figure>) -> Table {
    groups
        .into_iter()
        .map(|(k, s)| (k, figures(&s)))
        .filter(|(_, f)| {
            f.iter()
                .any(|f| f.numerator != 0 || f.denominator.is_some_and(|d| d > 0))
        })
        .collect()
}

fn n(b: bool) -> u64 {
    u64::from(b)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The nearest-rank 90th percentile of `values` (sorted here); 0 when empty.
pub fn p90(values: &mut [i64]) -> i64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let rank = (values.len() * 9).div_ceil(10);
    values[rank.saturating_sub(1)]
}

/// What the case figures need to know about one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFact {
    pub keys: Keys,
    pub status: CaseStatus,
    pub outcome: Option<CloseOutcome>,
    pub created_at: i64,
    pub accepted_at: Option<i64>,
    pub close_due_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub rework_count: u32,
    /// Deferred (缓办) at some time.
    pub ever_deferred: bool,
    pub first_escalated_at: Option<i64>,
    /// Of an assist category (协助事项).
    pub assist: bool,
}

impl CaseFact {
    fn is_closed(&self) -> bool {
        matches!(self.status, CaseStatus::Closed | CaseStatus::Evaluated)
    }

    fn closed_in(&self, p: Span) -> bool {
        self.is_closed() && p.holds_opt(self.closed_at)
    }

    /// Closed, and by its closing deadline (exactly at the deadline is on time).
    fn closed_on_time(&self) -> bool {
        self.is_closed()
            && matches!((self.closed_at, self.close_due_at), (Some(c), Some(d)) if c <= d)
    }

    fn fixed_in(&self, p: Span) -> bool {
        self.closed_in(p) && self.outcome == Some(CloseOutcome::Fixed)
    }

    /// Whole minutes from report to close.
    fn minutes_to_close(&self) -> Option<i64> {
        self.closed_at
            .map(|c| (c - self.created_at).max(0) / 60_000)
    }
}

/// The case figures of `p` by `g`, in [`CASES`] order.
pub fn cases(facts: &[CaseFact], p: Span, g: Grouping) -> Table {
    #[derive(Default)]
    struct Sums {
        accepted: u64,
        due: u64,
        deferred: u64,
        closed: u64,
        closed_on_time: u64,
        judged: u64,
        judged_closed: u64,
        judged_on_time: u64,
        reworked: u64,
        minutes: Vec<i64>,
        fixed: u64,
        fixed_in_community: u64,
        escalated: u64,
        assists: u64,
    }
    let groups = tally(facts.iter().map(|f| (&f.keys, f)), g, |s: &mut Sums, c| {
        s.accepted += n(p.holds_opt(c.accepted_at));
        if p.holds_opt(c.close_due_at) {
            s.due += 1;
            s.deferred += n(c.ever_deferred);
            if !c.ever_deferred {
                s.judged += 1;
                s.judged_closed += n(c.is_closed());
                s.judged_on_time += n(c.closed_on_time());
            }
        }
        if c.closed_in(p) {
            s.closed += 1;
            s.closed_on_time += n(c.closed_on_time());
            s.reworked += n(c.rework_count > 0);
            s.minutes.extend(c.minutes_to_close());
        }
        if c.fixed_in(p) {
            s.fixed += 1;
            s.fixed_in_community += n(c.first_escalated_at.is_none());
            s.assists += n(c.assist);
        }
        s.escalated += n(p.holds_opt(c.first_escalated_at));
    });
    table(groups, |s| {
        let count = s.minutes.len() as u64;
        let mut minutes = s.minutes.clone();
        vec![
            Figure::of(&CASES_ACCEPTED, signed(s.accepted), 0),
            Figure::of(&CASES_DUE, signed(s.due), 0),
            Figure::of(&CASES_DEFERRED, signed(s.deferred), 0),
            Figure::of(&CASES_CLOSED, signed(s.closed), 0),
            Figure::of(&CASES_CLOSED_ON_TIME, signed(s.closed_on_time), 0),
            Figure::of(&CLOSING_RATE, signed(s.judged_closed), s.judged),
            Figure::of(&ON_TIME_CLOSING_RATE, signed(s.judged_on_time), s.judged),
            Figure::of(&REWORK_RATE, signed(s.reworked), s.closed),
            Figure::of(&HANDLING_MINUTES_MEAN, s.minutes.iter().sum(), count),
            Figure::of(&HANDLING_MINUTES_P90, p90(&mut minutes), count),
            Figure::of(&SOLVED_IN_COMMUNITY, signed(s.fixed_in_community), 0),
            Figure::of(
                &SOLVED_AFTER_ESCALATION,
                signed(s.fixed - s.fixed_in_community),
                0,
            ),
            Figure::of(
                &SOLVED_IN_COMMUNITY_SHARE,
                signed(s.fixed_in_community),
                s.fixed,
            ),
            Figure::of(&CASES_ESCALATED, signed(s.escalated), 0),
            Figure::of(&ASSISTS, signed(s.assists), 0),
        ]
    })
}

/// What the residents' figures need to know about one case with a reporter: when it
/// was closed, reopened as not fixed, and rated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentFact {
    pub keys: Keys,
    pub closings: Vec<i64>,
    pub reopenings: Vec<i64>,
    /// When, and how many stars (1 to 5).
    pub ratings: Vec<(i64, u8)>,
}

/// A rating of 4 or 5 stars is satisfied (满意).
pub fn satisfied(stars: u8) -> bool {
    stars >= 4
}

/// The residents' figures of `p` by `g`, in [`RESIDENTS`] order.
pub fn residents(facts: &[ResidentFact], p: Span, g: Grouping) -> Table {
    #[derive(Default)]
    struct Sums {
        ratings: u64,
        satisfied: u64,
        stars: u64,
        closed: u64,
        reopened: u64,
    }
    let groups = tally(facts.iter().map(|f| (&f.keys, f)), g, |s: &mut Sums, r| {
        for &(at, stars) in &r.ratings {
            if p.holds(at) {
                s.ratings += 1;
                s.satisfied += n(satisfied(stars));
                s.stars += u64::from(stars);
            }
        }
        if r.closings.iter().any(|&at| p.holds(at)) {
            s.closed += 1;
            s.reopened += n(r.reopenings.iter().any(|&at| p.holds(at)));
        }
    });
    table(groups, |s| {
        vec![
            Figure::of(&RATINGS, signed(s.ratings), 0),
            Figure::of(&SATISFACTION_RATE, signed(s.satisfied), s.ratings),
            Figure::of(&MEAN_RATING, signed(s.stars), s.ratings),
            Figure::of(&NOT_FIXED_REOPEN_RATE, signed(s.reopened), s.closed),
        ]
    })
}

/// What the whistle figures need to know about one raised whistle. Its keys' officer
/// is the one who took it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhistleFact {
    pub keys: Keys,
    pub raised_at: i64,
    pub take_due_at: Option<i64>,
    pub taken_at: Option<i64>,
    pub rating: Option<u8>,
}

impl WhistleFact {
    /// Taken up by its deadline (exactly at it is on time); with no deadline, taken.
    fn taken_on_time(&self) -> bool {
        match (self.taken_at, self.take_due_at) {
            (Some(t), Some(d)) => t <= d,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// The whistle figures of `p` by `g`, in [`WHISTLES`] order.
pub fn whistles(facts: &[WhistleFact], p: Span, g: Grouping) -> Table {
    #[derive(Default)]
    struct Sums {
        received: u64,
        taken: u64,
        on_time: u64,
        rated: u64,
        stars: u64,
    }
    let raised = facts.iter().filter(|w| p.holds(w.raised_at));
    let groups = tally(raised.map(|f| (&f.keys, f)), g, |s: &mut Sums, w| {
        s.received += 1;
        s.taken += n(w.taken_at.is_some());
        s.on_time += n(w.taken_on_time());
        if let Some(r) = w.rating {
            s.rated += 1;
            s.stars += u64::from(r);
        }
    });
    table(groups, |s| {
        vec![
            Figure::of(&WHISTLES_RECEIVED, signed(s.received), 0),
            Figure::of(&WHISTLES_TAKEN, signed(s.taken), 0),
            Figure::of(&WHISTLES_TAKEN_ON_TIME, signed(s.on_time), 0),
            Figure::of(&WHISTLE_RESPONSE_RATE, signed(s.on_time), s.received),
            Figure::of(&WHISTLE_MEAN_RATING, signed(s.stars), s.rated),
        ]
    })
}

/// A record the visit figures count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitFact {
    /// A visit: when it started and the reasons it failed verification (none: verified).
    Visit {
        started_at: i64,
        flags: Vec<VisitFlag>,
    },
    /// An action tagged for the 721 mix: a visit, or a case action that carries a class.
    Action { at: i64, class: Class721 },
    /// One officer x community x week of the period that required visits, as judged by
    /// the twice-weekly rule.
    Week { compliant: bool },
}

/// The visit figures of `p` by `g`, in [`VISITS`] order. Weeks are given already
/// chosen for the period ([`super::Period::finished_weeks`]).
pub fn visits(facts: &[(Keys, VisitFact)], p: Span, g: Grouping) -> Table {
    #[derive(Default)]
    struct Sums {
        visits: u64,
        unverified: u64,
        reasons: BTreeMap<&'static str, u64>,
        weeks: u64,
        compliant: u64,
        mix: [u64; 3],
    }
    let groups = tally(
        facts.iter().map(|(k, f)| (k, f)),
        g,
        |s: &mut Sums, f| match f {
            VisitFact::Visit { started_at, flags } if p.holds(*started_at) => {
                s.visits += 1;
                if !flags.is_empty() {
                    s.unverified += 1;
                    for flag in flags {
                        *s.reasons.entry(flag.as_str()).or_default() += 1;
                    }
                }
            }
            VisitFact::Visit { .. } => {}
            VisitFact::Action { at, class } if p.holds(*at) => {
                let slot = match class {
                    Class721::Service => 0,
                    Class721::Management => 1,
                    Class721::Enforcement => 2,
                };
                s.mix[slot] += 1;
            }
            VisitFact::Action { .. } => {}
            VisitFact::Week { compliant } => {
                s.weeks += 1;
                s.compliant += n(*compliant);
            }
        },
    );
    table(groups, |s| {
        let tagged: u64 = s.mix.iter().sum();
        vec![
            Figure::of(&VISITS_RECORDED, signed(s.visits), 0),
            Figure::of(&VISITS_UNVERIFIED, signed(s.unverified), 0).with_parts(s.reasons.clone()),
            Figure::of(&VISIT_COMPLIANCE_RATE, signed(s.compliant), s.weeks),
            Figure::of(&MIX_SERVICE, signed(s.mix[0]), tagged),
            Figure::of(&MIX_MANAGEMENT, signed(s.mix[1]), tagged),
            Figure::of(&MIX_ENFORCEMENT, signed(s.mix[2]), tagged),
        ]
    })
}

/// A record the points figures count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointsFact {
    /// A ledger entry (a reversal carries negative points).
    Entry { at: i64, points: i64 },
    /// A claim a supervisor decided.
    Claim { decided_at: i64, approved: bool },
}

/// The points figures of `p` by `g`, in [`POINTS`] order.
pub fn points(facts: &[(Keys, PointsFact)], p: Span, g: Grouping) -> Table {
    #[derive(Default)]
    struct Sums {
        points: i64,
        entries: u64,
        decided: u64,
        approved: u64,
    }
    let groups = tally(
        facts.iter().map(|(k, f)| (k, f)),
        g,
        |s: &mut Sums, f| match *f {
            PointsFact::Entry { at, points } if p.holds(at) => {
                s.points += points;
                s.entries += 1;
            }
            PointsFact::Claim {
                decided_at,
                approved,
            } if p.holds(decided_at) => {
                s.decided += 1;
                s.approved += n(approved);
            }
            _ => {}
        },
    );
    table(groups, |s| {
        vec![
            Figure::of(&POINTS_AWARDED, s.points, 0),
            Figure::of(&POINTS_ENTRIES, signed(s.entries), 0),
            Figure::of(&CLAIMS_AUDITED, signed(s.decided), 0),
            Figure::of(&CLAIMS_APPROVAL_RATE, signed(s.approved), s.decided),
        ]
    })
}

/// One engagement record in the period, reduced to what the figures count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngagementFact {
    Meeting {
        settled: u64,
    },
    Event {
        attendance: u64,
    },
    Suggestion {
        answered: bool,
    },
    /// A case reported from a meeting in the period.
    MeetingCase {
        fixed: bool,
    },
}

/// The engagement figures of each group, in [`ENGAGEMENT`] order; the facts are the
/// period's already (records held on a day of it).
pub fn engagement(facts: &[(Keys, EngagementFact)], g: Grouping) -> Table {
    #[derive(Default)]
    struct Sums {
        meetings: u64,
        settled: u64,
        fixed: u64,
        events: u64,
        attendance: u64,
        suggestions: u64,
        answered: u64,
    }
    let groups = tally(
        facts.iter().map(|(k, f)| (k, f)),
        g,
        |s: &mut Sums, f| match f {
            EngagementFact::Meeting { settled } => {
                s.meetings += 1;
                s.settled += settled;
            }
            EngagementFact::Event { attendance } => {
                s.events += 1;
                s.attendance += attendance;
            }
            EngagementFact::Suggestion { answered } => {
                s.suggestions += 1;
                s.answered += n(*answered);
            }
            EngagementFact::MeetingCase { fixed } => s.fixed += n(*fixed),
        },
    );
    table(groups, |s| {
        vec![
            Figure::of(&MEETINGS_HELD, signed(s.meetings), 0),
            Figure::of(&PROBLEMS_SETTLED_AT_MEETINGS, signed(s.settled), 0),
            Figure::of(&SOLVED_BEFORE_COMPLAINT, signed(s.fixed), 0),
            Figure::of(&EVENTS_HELD, signed(s.events), 0),
            Figure::of(&EVENT_ATTENDANCE, signed(s.attendance), 0),
            Figure::of(&SUGGESTIONS_RECEIVED, signed(s.suggestions), 0),
            Figure::of(&SUGGESTIONS_ANSWER_RATE, signed(s.answered), s.suggestions),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::super::Family;
    use super::*;

    const DAY: i64 = 86_400_000;
    const P: Span = Span {
        from: 10 * DAY,
        until: 20 * DAY,
    };

    fn keys(community: &str) -> Keys {
        Keys {
            street: "S1".into(),
            community: community.into(),
            officer: "o1".into(),
            departments: Vec::new(),
            category: "garbage".into(),
            source: "resident_app".into(),
        }
    }

    fn figure<'a>(t: &'a Table, key: &str, code: &str) -> &'a Figure {
        t[key].iter().find(|f| f.code == code).unwrap()
    }

    fn case() -> CaseFact {
        CaseFact {
            keys: keys("C1"),
            status: CaseStatus::Closed,
            outcome: Some(CloseOutcome::Fixed),
            created_at: 11 * DAY,
            accepted_at: Some(11 * DAY),
            close_due_at: Some(15 * DAY),
            closed_at: Some(14 * DAY),
            rework_count: 0,
            ever_deferred: false,
            first_escalated_at: None,
            assist: false,
        }
    }

    #[test]
    fn deferred_cases_leave_the_closing_rates_denominator() {
        let facts = vec![
            case(),
            // Closed late, after a rework.
            CaseFact {
                closed_at: Some(16 * DAY),
                rework_count: 1,
                ..case()
            },
            // Due in the period, deferred, still open: due and deferred, not judged.
            CaseFact {
                status: CaseStatus::Deferred,
                outcome: None,
                closed_at: None,
                ever_deferred: true,
                ..case()
            },
            // Due in the period, open: judged, not closed.
            CaseFact {
                status: CaseStatus::InProgress,
                outcome: None,
                closed_at: None,
                ..case()
            },
            // Reopened as not fixed: its old closing no longer counts as closed.
            CaseFact {
                status: CaseStatus::Dispatched,
                ..case()
            },
            // Reported and due before the period, closed in it after escalation.
            CaseFact {
                created_at: 2 * DAY,
                accepted_at: Some(2 * DAY),
                close_due_at: Some(5 * DAY),
                closed_at: Some(12 * DAY),
                first_escalated_at: Some(4 * DAY),
                assist: true,
                ..case()
            },
        ];
        let t = cases(&facts, P, Grouping::District);
        let f = |code| figure(&t, "", code);
        assert_eq!(f("cases_accepted").numerator, 5);
        assert_eq!(f("cases_due").numerator, 5);
        assert_eq!(f("cases_deferred").numerator, 1);
        assert_eq!(f("cases_closed").numerator, 3);
        assert_eq!(f("cases_closed_on_time").numerator, 1);
        let rate = f("closing_rate");
        assert_eq!((rate.numerator, rate.denominator), (2, Some(4)));
        let on_time = f("on_time_closing_rate");
        assert_eq!((on_time.numerator, on_time.denominator), (1, Some(4)));
        assert_eq!(f("rework_rate").numerator, 1);
        // Minutes to close: 3 days, 5 days, 10 days.
        let mean = f("handling_minutes_mean");
        assert_eq!(mean.numerator, 18 * 24 * 60);
        assert_eq!(mean.value, Some(6.0 * 24.0 * 60.0));
        assert_eq!(f("handling_minutes_p90").numerator, 10 * 24 * 60);
        assert_eq!(f("solved_in_community").numerator, 2);
        assert_eq!(f("solved_after_escalation").numerator, 1);
        assert_eq!(
            f("cases_escalated").numerator,
            0,
            "escalated before the period"
        );
        assert_eq!(f("assists").numerator, 1);
        let codes: Vec<&str> = t[""].iter().map(|f| f.code).collect();
        let defined: Vec<&str> = Family::Cases.indicators().iter().map(|i| i.code).collect();
        assert_eq!(codes, defined);
    }

    #[test]
    fn groups_where_nothing_counted_are_left_out() {
        let outside = CaseFact {
            created_at: 30 * DAY,
            accepted_at: None,
            close_due_at: None,
            closed_at: None,
            status: CaseStatus::Reported,
            outcome: None,
            ..case()
        };
        let t = cases(
            &[
                case(),
                CaseFact {
                    keys: keys("C2"),
                    ..outside
                },
            ],
            P,
            Grouping::Community,
        );
        assert_eq!(t.keys().collect::<Vec<_>>(), ["C1"]);
    }

    #[test]
    fn the_p90_is_the_nearest_rank() {
        assert_eq!(p90(&mut []), 0);
        assert_eq!(p90(&mut [7]), 7);
        let mut v: Vec<i64> = (1..=10).rev().collect();
        assert_eq!(p90(&mut v), 9);
        let mut v: Vec<i64> = (1..=11).collect();
        assert_eq!(p90(&mut v), 10);
    }

    #[test]
    fn ratings_and_reopenings_count_in_their_period() {
        let r = ResidentFact {
            keys: keys("C1"),
            closings: vec![12 * DAY, 16 * DAY],
            reopenings: vec![13 * DAY],
            ratings: vec![(12 * DAY, 2), (17 * DAY, 5), (25 * DAY, 5)],
        };
        let other = ResidentFact {
            keys: keys("C1"),
            closings: vec![11 * DAY],
            reopenings: vec![],
            ratings: vec![(11 * DAY, 4)],
        };
        let t = residents(&[r, other], P, Grouping::District);
        let f = |code| figure(&t, "", code);
        assert_eq!(f("ratings").numerator, 3);
        let sat = f("satisfaction_rate");
        assert_eq!((sat.numerator, sat.denominator), (2, Some(3)));
        assert_eq!(f("mean_rating").value, Some(11.0 / 3.0));
        let reopen = f("not_fixed_reopen_rate");
        assert_eq!((reopen.numerator, reopen.denominator), (1, Some(2)));
    }

    #[test]
    fn whistles_count_by_the_period_they_were_raised_in() {
        let w = |raised: i64, taken: Option<i64>, rating| WhistleFact {
            keys: keys("C1"),
            raised_at: raised * DAY,
            take_due_at: Some(raised * DAY + 1000),
            taken_at: taken.map(|t| raised * DAY + t),
            rating,
        };
        let facts = [
            w(11, Some(1000), Some(5)),
            w(12, Some(1001), Some(3)),
            w(13, None, None),
            w(25, Some(0), Some(1)),
        ];
        let t = whistles(&facts, P, Grouping::Street);
        let f = |code| figure(&t, "S1", code);
        assert_eq!(f("whistles_received").numerator, 3);
        assert_eq!(f("whistles_taken").numerator, 2);
        assert_eq!(f("whistles_taken_on_time").numerator, 1);
        assert_eq!(f("whistle_response_rate").denominator, Some(3));
        assert_eq!(f("whistle_mean_rating").value, Some(4.0));
    }

    #[test]
    fn visit_figures_split_unverified_visits_by_reason() {
        let k = keys("C1");
        let facts = vec![
            (
                k.clone(),
                VisitFact::Visit {
                    started_at: 11 * DAY,
                    flags: vec![],
                },
            ),
            (
                k.clone(),
                VisitFact::Visit {
                    started_at: 12 * DAY,
                    flags: vec![VisitFlag::OutsideGeofence, VisitFlag::TooShort],
                },
            ),
            (
                k.clone(),
                VisitFact::Visit {
                    started_at: 13 * DAY,
                    flags: vec![VisitFlag::TooShort],
                },
            ),
            (
                k.clone(),
                VisitFact::Visit {
                    started_at: 21 * DAY,
                    flags: vec![VisitFlag::TooShort],
                },
            ),
            (
                k.clone(),
                VisitFact::Action {
                    at: 11 * DAY,
                    class: Class721::Service,
                },
            ),
            (
                k.clone(),
                VisitFact::Action {
                    at: 12 * DAY,
                    class: Class721::Enforcement,
                },
            ),
            (k.clone(), VisitFact::Week { compliant: true }),
            (k.clone(), VisitFact::Week { compliant: false }),
        ];
        let t = visits(&facts, P, Grouping::Community);
        let f = |code| figure(&t, "C1", code);
        assert_eq!(f("visits_recorded").numerator, 3);
        let unverified = f("visits_unverified");
        assert_eq!(unverified.numerator, 2);
        let parts = unverified.parts.as_ref().unwrap();
        assert_eq!(parts["TOO_SHORT"], 2);
        assert_eq!(parts["OUTSIDE_GEOFENCE"], 1);
        let c = f("visit_compliance_rate");
        assert_eq!((c.numerator, c.denominator), (1, Some(2)));
        assert_eq!(f("mix_service_share").value, Some(0.5));
        assert_eq!(f("mix_management_share").value, Some(0.0));
    }

    #[test]
    fn points_sum_with_their_reversals() {
        let k = keys("C1");
        let facts = vec![
            (
                k.clone(),
                PointsFact::Entry {
                    at: 11 * DAY,
                    points: 5,
                },
            ),
            (
                k.clone(),
                PointsFact::Entry {
                    at: 12 * DAY,
                    points: -5,
                },
            ),
            (
                k.clone(),
                PointsFact::Entry {
                    at: 2 * DAY,
                    points: 9,
                },
            ),
            (
                k.clone(),
                PointsFact::Claim {
                    decided_at: 13 * DAY,
                    approved: true,
                },
            ),
            (
                k.clone(),
                PointsFact::Claim {
                    decided_at: 14 * DAY,
                    approved: false,
                },
            ),
        ];
        let t = points(&facts, P, Grouping::Officer);
        let f = |code| figure(&t, "o1", code);
        assert_eq!(f("points_awarded").numerator, 0);
        assert_eq!(f("points_entries").numerator, 2);
        let rate = f("claims_approval_rate");
        assert_eq!(
            (rate.numerator, rate.denominator, rate.value),
            (1, Some(2), Some(0.5))
        );
    }

    #[test]
    fn engagement_figures_sum_per_group_with_their_shares() {
        let k = |street: &str, community: &str| Keys {
            street: street.into(),
            community: community.into(),
            officer: "o".into(),
            ..Keys::default()
        };
        let facts = vec![
            (k("S1", "C1"), EngagementFact::Meeting { settled: 2 }),
            (k("S1", "C2"), EngagementFact::Meeting { settled: 0 }),
            (k("S1", "C1"), EngagementFact::Event { attendance: 40 }),
            (k("S1", "C1"), EngagementFact::Suggestion { answered: true }),
            (
                k("S1", "C2"),
                EngagementFact::Suggestion { answered: false },
            ),
            (k("S1", "C1"), EngagementFact::MeetingCase { fixed: true }),
            (k("S1", "C1"), EngagementFact::MeetingCase { fixed: false }),
        ];
        let by_street = engagement(&facts, Grouping::Street);
        let s1 = &by_street["S1"];
        let value = |code: &str| s1.iter().find(|f| f.code == code).unwrap().clone();
        assert_eq!(value("meetings_held").value, Some(2.0));
        assert_eq!(value("problems_settled_at_meetings").numerator, 2);
        assert_eq!(value("solved_before_complaint").numerator, 1);
        assert_eq!(value("event_attendance").value, Some(40.0));
        let rate = value("suggestions_answer_rate");
        assert_eq!(
            (rate.numerator, rate.denominator, rate.value),
            (1, Some(2), Some(0.5))
        );
        let by_community = engagement(&facts, Grouping::Community);
        assert_eq!(by_community.len(), 2);
        assert_eq!(
            by_community["C2"]
                .iter()
                .find(|f| f.code == "suggestions_answer_rate")
                .unwrap()
                .value,
            Some(0.0)
        );
        assert!(engagement(&[], Grouping::District).is_empty());
        assert_eq!(Figure::of(&SUGGESTIONS_ANSWER_RATE, 0, 0).value, None);
    }

    #[test]
    fn every_engagement_figure_comes_from_a_definition_in_order() {
        let facts = vec![(
            Keys {
                street: "S".into(),
                community: "C".into(),
                officer: "o".into(),
                ..Keys::default()
            },
            EngagementFact::Meeting { settled: 1 },
        )];
        let codes: Vec<&str> = engagement(&facts, Grouping::District)[""]
            .iter()
            .map(|f| f.code)
            .collect();
        let defined: Vec<&str> = ENGAGEMENT.iter().map(|i| i.code).collect();
        assert_eq!(codes, defined);
    }
}
