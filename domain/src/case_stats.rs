//! The bureau's case figures for a period: how cases arrived, how they closed (only
//! `fixed` counts as fixed), how many closed on time, how often work was redone, and how
//! reporters rated the result.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::case::{CaseSource, CaseStatus, CloseOutcome, deadline};

/// What the figures need to know about one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFacts {
    pub source: CaseSource,
    pub status: CaseStatus,
    pub outcome: Option<CloseOutcome>,
    pub rework_count: u32,
    pub rating: Option<u8>,
    pub progress: deadline::Progress,
    pub escalated: bool,
}

/// Figures over a set of cases, as of `now`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseStats {
    pub reported: u32,
    /// Reports per source (resident app, hotline, whistle, patrol find, ...).
    pub by_source: BTreeMap<&'static str, u32>,
    /// Closed or evaluated.
    pub closed: u32,
    /// Closed as fixed: the only outcome counted as solved.
    pub fixed: u32,
    pub not_our_responsibility: u32,
    pub cannot_be_fixed: u32,
    /// Closed by their closing deadline.
    pub closed_on_time: u32,
    /// Closed on time over closed.
    pub on_time_close_rate: Option<f64>,
    /// Resolved after the handling deadline, or still unresolved past it.
    pub handled_late: u32,
    /// Still open and past a deadline (accepting, handling or closing) now.
    pub open_overdue: u32,
    /// Cases sent back at least once, and the number of times in all (返工).
    pub reworked_cases: u32,
    pub rework_total: u32,
    pub escalated: u32,
    pub rated: u32,
    pub mean_rating: Option<f64>,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The figures of `cases` at `now`.
pub fn case_stats(cases: &[CaseFacts], now: DateTime<Utc>) -> CaseStats {
    let mut by_source = BTreeMap::new();
    for c in cases {
        *by_source.entry(c.source.as_str()).or_insert(0u32) += 1;
    }
    let closed: Vec<&CaseFacts> = cases
        .iter()
        .filter(|c| matches!(c.status, CaseStatus::Closed | CaseStatus::Evaluated))
        .collect();
    let outcome = |o: CloseOutcome| count(closed.iter().filter(|c| c.outcome == Some(o)).count());
    let late = |c: &CaseFacts| deadline::lateness(&c.progress, now);
    let closed_on_time = count(
        closed
            .iter()
            .filter(|c| c.progress.close_due.is_some() && !late(c).close)
            .count(),
    );
    let ratings: Vec<u8> = cases.iter().filter_map(|c| c.rating).collect();
    let rework_total: u32 = cases.iter().map(|c| c.rework_count).sum();
    CaseStats {
        reported: count(cases.len()),
        by_source,
        closed: count(closed.len()),
        fixed: outcome(CloseOutcome::Fixed),
        not_our_responsibility: outcome(CloseOutcome::NotOurResponsibility),
        cannot_be_fixed: outcome(CloseOutcome::CannotBeFixed),
        closed_on_time,
        on_time_close_rate: (!closed.is_empty())
            .then(|| f64::from(closed_on_time) / f64::from(count(closed.len()))),
        handled_late: count(cases.iter().filter(|c| late(c).handle).count()),
        open_overdue: count(
            cases
                .iter()
                .filter(|c| c.status.is_open() && late(c).any())
                .count(),
        ),
        reworked_cases: count(cases.iter().filter(|c| c.rework_count > 0).count()),
        rework_total,
        escalated: count(cases.iter().filter(|c| c.escalated).count()),
        rated: count(ratings.len()),
        mean_rating: (!ratings.is_empty()).then(|| {
            f64::from(ratings.iter().map(|r| u32::from(*r)).sum::<u32>())
                / f64::from(count(ratings.len()))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap() + chrono::TimeDelta::hours(h)
    }

    fn case(status: CaseStatus) -> CaseFacts {
        CaseFacts {
            source: CaseSource::ResidentApp,
            status,
            outcome: None,
            rework_count: 0,
            rating: None,
            progress: deadline::Progress {
                handle_due: Some(t(24)),
                close_due: Some(t(72)),
                ..deadline::Progress::default()
            },
            escalated: false,
        }
    }

    #[test]
    fn only_fixed_counts_as_fixed_and_lateness_is_by_deadline() {
        let closed = |outcome, closed_at: i64, resolved_at: i64| {
            let mut c = case(CaseStatus::Closed);
            c.outcome = Some(outcome);
            c.progress.closed_at = Some(t(closed_at));
            c.progress.resolved_at = Some(t(resolved_at));
            c
        };
        let cases = [
            closed(CloseOutcome::Fixed, 72, 24), // exactly on time
            closed(CloseOutcome::NotOurResponsibility, 73, 25), // both a little late
            closed(CloseOutcome::CannotBeFixed, 10, 5),
            CaseFacts {
                rating: Some(4),
                rework_count: 2,
                ..closed(CloseOutcome::Fixed, 50, 20)
            },
            CaseFacts {
                source: CaseSource::Hotline,
                escalated: true,
                ..case(CaseStatus::InProgress)
            },
            CaseFacts {
                rating: Some(1),
                ..case(CaseStatus::Dispatched)
            },
        ];
        let s = case_stats(&cases, t(30));
        assert_eq!(s.reported, 6);
        assert_eq!(s.by_source.get("hotline"), Some(&1));
        assert_eq!(s.by_source.get("resident_app"), Some(&5));
        assert_eq!(
            (
                s.closed,
                s.fixed,
                s.not_our_responsibility,
                s.cannot_be_fixed
            ),
            (4, 2, 1, 1)
        );
        assert_eq!(s.closed_on_time, 3);
        assert_eq!(s.on_time_close_rate, Some(0.75));
        // One closed case resolved late; two open ones past their handling due at t(30).
        assert_eq!(s.handled_late, 3);
        assert_eq!(s.open_overdue, 2);
        assert_eq!((s.reworked_cases, s.rework_total, s.escalated), (1, 2, 1));
        assert_eq!((s.rated, s.mean_rating), (2, Some(2.5)));
    }

    #[test]
    fn no_cases_no_rates() {
        let s = case_stats(&[], t(0));
        assert_eq!(
            (s.reported, s.on_time_close_rate, s.mean_rating),
            (0, None, None)
        );
    }
}
