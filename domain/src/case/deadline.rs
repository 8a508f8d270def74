//! The handling deadline: the clock starts at dispatch and pauses while the case is
//! deferred (缓办). Pure arithmetic on UTC instants; the caller supplies "now", so tests
//! control the clock.

use chrono::{DateTime, TimeDelta, Utc};

use super::CaseStatus;
use crate::error::{DomainError, DomainResult};

/// A pause: when it started and, once resumed, when it ended.
pub type Pause = (DateTime<Utc>, Option<DateTime<Utc>>);

/// When a case dispatched at `dispatched_at` with `sla_hours` to handle it is due,
/// given its pauses (in any order; overlaps count once; time before dispatch does not
/// count). A pause that starts after the clock ran out does not rescue an overdue case.
/// While a pause that started in time is still open nothing is due, and the result is
/// [`DateTime::<Utc>::MAX_UTC`].
pub fn due_at(dispatched_at: DateTime<Utc>, sla_hours: u32, pauses: &[Pause]) -> DateTime<Utc> {
    let mut due = shift(dispatched_at, TimeDelta::hours(i64::from(sla_hours)));
    for (start, end) in merged(dispatched_at, pauses) {
        // Sorted and disjoint: once one starts after the clock ran out, all later do.
        if start >= due {
            break;
        }
        match end {
            Some(end) => due = shift(due, end - start),
            None => return DateTime::<Utc>::MAX_UTC,
        }
    }
    due
}

/// Was the work finished (or is it now) past `due`? Exactly at `due` is on time.
pub fn is_overdue(due: DateTime<Utc>, finished_or_now: DateTime<Utc>) -> bool {
    finished_or_now > due
}

fn shift(at: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(by)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Pauses clipped to start no earlier than dispatch, empty ones dropped, sorted and
/// merged so overlapping deferrals are not counted twice.
fn merged(dispatched_at: DateTime<Utc>, pauses: &[Pause]) -> Vec<Pause> {
    let mut clipped: Vec<Pause> = pauses
        .iter()
        .map(|&(start, end)| (start.max(dispatched_at), end))
        .filter(|&(start, end)| end.is_none_or(|end| end > start))
        .collect();
    clipped.sort_by_key(|&(start, _)| start);
    let mut out: Vec<Pause> = Vec::with_capacity(clipped.len());
    for (start, end) in clipped {
        match out.last_mut() {
            Some((_, last_end)) if last_end.is_none_or(|e| start <= e) => {
                *last_end = match (*last_end, end) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => out.push((start, end)),
        }
    }
    out
}

/// The handling clock of one case: starts at dispatch and pauses while deferred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    dispatched_at: DateTime<Utc>,
    sla_hours: u32,
    pauses: Vec<Pause>,
}

impl Clock {
    /// A clock started at dispatch, with the category's handling time.
    pub fn start(dispatched_at: DateTime<Utc>, sla_hours: u32) -> Self {
        Self {
            dispatched_at,
            sla_hours,
            pauses: Vec::new(),
        }
    }

    /// When the clock started.
    pub fn dispatched_at(&self) -> DateTime<Utc> {
        self.dispatched_at
    }

    /// The pauses so far, oldest first; the last may still be open.
    pub fn pauses(&self) -> &[Pause] {
        &self.pauses
    }

    /// Is the clock paused now?
    pub fn is_paused(&self) -> bool {
        self.pauses.last().is_some_and(|(_, end)| end.is_none())
    }

    /// Pause at `at` (the case is deferred).
    pub fn pause(&mut self, at: DateTime<Utc>) -> DomainResult<()> {
        if self.is_paused() {
            return Err(DomainError::conflict("the clock is already paused"));
        }
        let earliest = self
            .pauses
            .last()
            .and_then(|(_, end)| *end)
            .unwrap_or(self.dispatched_at);
        if at < earliest {
            return Err(DomainError::invalid(
                "at",
                "a pause cannot start before dispatch or before the last resume",
            ));
        }
        self.pauses.push((at, None));
        Ok(())
    }

    /// Resume at `at` (the deferred case resumes).
    pub fn resume(&mut self, at: DateTime<Utc>) -> DomainResult<()> {
        match self.pauses.last_mut() {
            Some((start, end @ None)) => {
                if at < *start {
                    return Err(DomainError::invalid(
                        "at",
                        "a pause cannot end before it started",
                    ));
                }
                *end = Some(at);
                Ok(())
            }
            _ => Err(DomainError::conflict("the clock is not paused")),
        }
    }

    /// The expected time, or `None` while a deferral stops the clock in time.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        let due = due_at(self.dispatched_at, self.sla_hours, &self.pauses);
        (due != DateTime::<Utc>::MAX_UTC).then_some(due)
    }

    /// Is the case overdue when finished at (or looked at at) `finished_or_now`?
    pub fn is_overdue(&self, finished_or_now: DateTime<Utc>) -> bool {
        self.due_at()
            .is_some_and(|due| is_overdue(due, finished_or_now))
    }
}

/// Longest deadline a category may set: a year.
pub const MAX_HOURS: u32 = 24 * 366;

/// A category's deadlines in hours: 立案 (accept) from the report, 处置 (handle) and
/// 结案 (close, which includes verification) from the first dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub accept: u32,
    pub handle: u32,
    pub close: u32,
}

impl Hours {
    /// A category's deadlines when only its handling time is given: a day to accept,
    /// two more days after handling to verify and close.
    pub fn with_defaults(handle: u32) -> Hours {
        Hours {
            accept: 24,
            handle,
            close: handle.saturating_add(48),
        }
    }

    /// Each within 1 h to a year; closing never before handling.
    pub fn validate(&self) -> DomainResult<()> {
        for (field, h) in [
            ("accept_hours", self.accept),
            ("sla_hours", self.handle),
            ("close_hours", self.close),
        ] {
            if !(1..=MAX_HOURS).contains(&h) {
                return Err(DomainError::invalid(
                    field,
                    format!("must be between 1 and {MAX_HOURS} hours"),
                ));
            }
        }
        if self.close < self.handle {
            return Err(DomainError::invalid(
                "close_hours",
                "closing includes verification, so it cannot be due before handling \
                 (close_hours must be at least sla_hours)",
            ));
        }
        Ok(())
    }
}

/// One status change of a case, at the server's time.
pub type Step = (CaseStatus, CaseStatus, DateTime<Utc>);

/// When each step of a case is due. Handling and closing are `None` before the first
/// dispatch and while a deferral stops the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dues {
    pub accept: DateTime<Utc>,
    pub handle: Option<DateTime<Utc>>,
    pub close: Option<DateTime<Utc>>,
}

/// The deadlines of a case reported at `reported_at`, first dispatched at
/// `dispatched_at`, with these status changes (in order): each stay in `deferred`
/// pauses the clock.
pub fn dues(
    hours: Hours,
    reported_at: DateTime<Utc>,
    dispatched_at: Option<DateTime<Utc>>,
    steps: &[Step],
) -> Dues {
    let mut pauses: Vec<Pause> = Vec::new();
    for &(from, to, at) in steps {
        if from == CaseStatus::Deferred
            && let Some((_, end @ None)) = pauses.last_mut()
        {
            *end = Some(at);
        }
        if to == CaseStatus::Deferred {
            pauses.push((at, None));
        }
    }
    let running = |hours: u32| {
        dispatched_at
            .map(|d| due_at(d, hours, &pauses))
            .filter(|due| *due != DateTime::<Utc>::MAX_UTC)
    };
    Dues {
        accept: shift(reported_at, TimeDelta::hours(i64::from(hours.accept))),
        handle: running(hours.handle),
        close: running(hours.close),
    }
}

/// Is a step due at `due` late, finished at `done` or still open at `now`?
pub fn late(due: Option<DateTime<Utc>>, done: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    due.is_some_and(|due| is_overdue(due, done.unwrap_or(now)))
}

/// When each step of a case was due and done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub accept_due: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub handle_due: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub close_due: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When a case that left the workflow (closed, voided, withdrawn...) stopped: its
    /// unfinished steps stop counting there.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Which steps of a case are (or were) late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lateness {
    pub accept: bool,
    pub handle: bool,
    pub close: bool,
}

impl Lateness {
    pub fn any(&self) -> bool {
        self.accept || self.handle || self.close
    }
}

/// The lateness of each step at `now`. A closed case counts as handled when it closed.
pub fn lateness(p: &Progress, now: DateTime<Utc>) -> Lateness {
    let done = |at: Option<DateTime<Utc>>| at.or(p.finished_at);
    Lateness {
        accept: late(p.accept_due, done(p.accepted_at), now),
        handle: late(p.handle_due, done(p.resolved_at.or(p.closed_at)), now),
        close: late(p.close_due, done(p.closed_at), now),
    }
}

/// The end of the reporter's follow-up window (rating, "not fixed") of a case closed
/// at `closed_at`.
pub fn follow_up_until(closed_at: DateTime<Utc>, window_days: u32) -> DateTime<Utc> {
    shift(closed_at, TimeDelta::days(i64::from(window_days)))
}

/// Is the follow-up window still open at `now`? Exactly at the end it still is.
pub fn follow_up_open(closed_at: DateTime<Utc>, window_days: u32, now: DateTime<Utc>) -> bool {
    now <= follow_up_until(closed_at, window_days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, day, hour, minute, 0).unwrap()
    }

    #[test]
    fn finished_one_minute_late_is_overdue_and_exactly_at_due_is_on_time() {
        let due = due_at(t(3, 9, 0), 24, &[]);
        assert_eq!(due, t(4, 9, 0));
        let cases = [
            (t(4, 8, 59), false),
            (t(4, 9, 0), false),
            (t(4, 9, 1), true),
        ];
        for (finished, overdue) in cases {
            assert_eq!(is_overdue(due, finished), overdue, "{finished}");
        }
    }

    const HOURS: Hours = Hours {
        accept: 2,
        handle: 24,
        close: 48,
    };

    #[test]
    fn dues_start_at_the_first_dispatch_and_pause_while_deferred() {
        use CaseStatus as S;
        let reported = t(3, 8, 0);
        let none = dues(
            HOURS,
            reported,
            None,
            &[(S::Reported, S::Accepted, t(3, 8, 30))],
        );
        assert_eq!(none.accept, t(3, 10, 0));
        assert_eq!(
            (none.handle, none.close),
            (None, None),
            "no clock before dispatch"
        );

        let mut steps = vec![
            (S::Reported, S::Accepted, t(3, 8, 30)),
            (S::Accepted, S::Dispatched, t(3, 9, 0)),
            (S::Dispatched, S::Deferred, t(3, 10, 0)),
        ];
        let dispatched = Some(t(3, 9, 0));
        let paused = dues(HOURS, reported, dispatched, &steps);
        assert_eq!(
            (paused.handle, paused.close),
            (None, None),
            "stopped while deferred"
        );

        steps.push((S::Deferred, S::Dispatched, t(3, 13, 0)));
        // A re-dispatch does not restart the clock.
        steps.push((S::Dispatched, S::Dispatched, t(3, 14, 0)));
        let resumed = dues(HOURS, reported, dispatched, &steps);
        assert_eq!(resumed.handle, Some(t(4, 12, 0)), "24 h plus the 3 h pause");
        assert_eq!(resumed.close, Some(t(5, 12, 0)));
        assert!(!late(resumed.handle, Some(t(4, 12, 0)), t(9, 0, 0)));
        assert!(late(resumed.handle, Some(t(4, 12, 1)), t(9, 0, 0)));
        assert!(late(resumed.handle, None, t(4, 12, 1)), "open and past due");
        assert!(!late(None, None, t(9, 0, 0)), "no due, never late");
    }

    #[test]
    fn category_hours_are_checked() {
        assert!(HOURS.validate().is_ok());
        let bad = [
            (Hours { accept: 0, ..HOURS }, "accept_hours"),
            (
                Hours {
                    handle: MAX_HOURS + 1,
                    close: MAX_HOURS + 1,
                    ..HOURS
                },
                "sla_hours",
            ),
            (Hours { close: 23, ..HOURS }, "close_hours"),
        ];
        for (h, field) in bad {
            match h.validate() {
                Err(DomainError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{h:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn lateness_stops_when_a_step_is_done_or_the_case_left_the_workflow() {
        let p = Progress {
            accept_due: Some(t(3, 10, 0)),
            accepted_at: Some(t(3, 9, 0)),
            handle_due: Some(t(4, 9, 0)),
            close_due: Some(t(5, 9, 0)),
            ..Progress::default()
        };
        let open = lateness(&p, t(4, 9, 1));
        assert_eq!((open.accept, open.handle, open.close), (false, true, false));
        assert!(open.any());
        // Closed before the handling due: handled on time, whatever the resolution says.
        let closed = Progress {
            closed_at: Some(t(4, 8, 0)),
            ..p
        };
        assert!(!lateness(&closed, t(9, 0, 0)).any());
        // Withdrawn before any due: nothing more becomes late afterwards.
        let gone = Progress {
            finished_at: Some(t(3, 9, 30)),
            ..p
        };
        assert!(!lateness(&gone, t(9, 0, 0)).any());
    }

    #[test]
    fn the_follow_up_window_includes_its_last_instant() {
        assert!(follow_up_open(t(3, 9, 0), 7, t(10, 9, 0)));
        assert!(!follow_up_open(t(3, 9, 0), 7, t(10, 9, 1)));
    }

    #[test]
    fn deferral_pauses_the_clock() {
        let mut clock = Clock::start(t(3, 9, 0), 24);
        clock.pause(t(3, 12, 0)).unwrap();
        assert!(clock.is_paused());
        assert_eq!(clock.due_at(), None);
        assert!(
            !clock.is_overdue(t(20, 0, 0)),
            "a paused clock never runs out"
        );
        clock.resume(t(5, 12, 0)).unwrap();
        // Paused 48 hours, so due 48 hours later than without the deferral.
        assert_eq!(clock.due_at(), Some(t(6, 9, 0)));
        assert!(!clock.is_overdue(t(6, 9, 0)));
        assert!(clock.is_overdue(t(6, 9, 1)));
    }

    #[test]
    fn pauses_are_clipped_merged_and_ignored_after_the_clock_ran_out() {
        let start = t(3, 9, 0);
        let cases: [(&str, Vec<Pause>, DateTime<Utc>); 6] = [
            ("no pauses", vec![], t(4, 9, 0)),
            (
                "before dispatch counts nothing",
                vec![(t(1, 0, 0), Some(t(3, 9, 0)))],
                t(4, 9, 0),
            ),
            (
                "straddling dispatch counts from dispatch",
                vec![(t(3, 8, 0), Some(t(3, 10, 0)))],
                t(4, 10, 0),
            ),
            (
                "overlapping pauses count once, in any order",
                vec![
                    (t(3, 12, 0), Some(t(3, 15, 0))),
                    (t(3, 10, 0), Some(t(3, 13, 0))),
                ],
                t(4, 14, 0),
            ),
            (
                "a pause after the deadline does not rescue the case",
                vec![(t(4, 10, 0), Some(t(6, 0, 0)))],
                t(4, 9, 0),
            ),
            (
                "an open pause after the deadline leaves it due",
                vec![(t(4, 9, 0), None)],
                t(4, 9, 0),
            ),
        ];
        for (name, pauses, want) in cases {
            assert_eq!(due_at(start, 24, &pauses), want, "{name}");
        }
        assert_eq!(
            due_at(start, 24, &[(t(3, 10, 0), None)]),
            DateTime::<Utc>::MAX_UTC,
            "an open pause in time stops the clock"
        );
    }

    #[test]
    fn clock_refuses_pausing_twice_and_resuming_when_running() {
        let mut clock = Clock::start(t(3, 9, 0), 8);
        assert!(matches!(
            clock.resume(t(3, 10, 0)),
            Err(DomainError::Conflict { .. })
        ));
        assert!(matches!(
            clock.pause(t(3, 8, 0)),
            Err(DomainError::Invalid { .. })
        ));
        clock.pause(t(3, 10, 0)).unwrap();
        assert!(matches!(
            clock.pause(t(3, 11, 0)),
            Err(DomainError::Conflict { .. })
        ));
        assert!(matches!(
            clock.resume(t(3, 9, 30)),
            Err(DomainError::Invalid { .. })
        ));
        clock.resume(t(3, 11, 0)).unwrap();
        assert_eq!(clock.pauses().len(), 1);
        assert_eq!(clock.due_at(), Some(t(3, 18, 0)));
    }
}
