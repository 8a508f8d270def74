//! Field work rules: verifying a visit (走访核验) by stacking signals, twice-weekly
//! compliance (每周不少于2次) over ISO weeks in the district's time zone, and the 721 mix.
//!
//! Everything here is pure: times are parameters, never read from a clock, and the one
//! lookup verification needs (has this photo been used before?) is passed in as a
//! function. A visit that fails a check is never dropped: [`verify`] returns every
//! failure as a [`VisitFlag`], and a supervisor may still accept the visit.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, DomainResult};
use crate::geometry::{Boundary, LatLon};
use crate::seed::Class721;

/// The district time zone unless configured otherwise.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Asia::Shanghai;

/// Most location fixes one visit may carry (a fix every few seconds for an hour).
pub const MAX_FIXES: usize = 1_000;

/// Most photos one visit may carry.
pub const MAX_PHOTOS: usize = 30;

/// Two consecutive visits whose times overlap (or touch) are judged by distance alone:
/// farther apart than this is impossible whatever the speed.
pub const OVERLAP_MAX_DISTANCE_M: f64 = 1_000.0;

// ---------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------

/// One reason a visit failed verification. Flags stack; none means verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VisitFlag {
    /// No fix lies within the buffer (widened by the fix's accuracy) around the community.
    OutsideGeofence,
    /// Even the most accurate fix is less accurate than the configured maximum.
    LowAccuracy,
    /// The device reported a mock (simulated) location for at least one fix.
    MockLocation,
    /// A device time lies after the server received the visit, beyond the tolerance.
    FutureTime,
    /// The visit lasted less than the minimum dwell.
    TooShort,
    /// Reaching this visit from the officer's previous one needs an impossible speed.
    ImpossibleTravel,
    /// A photo was already used as evidence for an earlier visit.
    DuplicatePhoto,
    /// The visit is the same occasion as another visit of the same officer in the same
    /// community ([`same_occasion`]): the same visit sent again, perhaps with a fresh id
    /// or its fixes in another coordinate system. Recorded, never dropped; it counts and
    /// earns once, through the visit it repeats.
    DuplicateVisit,
    /// The community is not assigned to the officer.
    NotAssigned,
    /// The visit reached the server later than the sync window allows.
    LateSync,
}

impl VisitFlag {
    /// Every flag, in the order [`verify`] reports them.
    pub const ALL: [VisitFlag; 10] = [
        VisitFlag::OutsideGeofence,
        VisitFlag::LowAccuracy,
        VisitFlag::MockLocation,
        VisitFlag::FutureTime,
        VisitFlag::TooShort,
        VisitFlag::ImpossibleTravel,
        VisitFlag::DuplicatePhoto,
        VisitFlag::DuplicateVisit,
        VisitFlag::NotAssigned,
        VisitFlag::LateSync,
    ];

    /// The wire name, e.g. `OUTSIDE_GEOFENCE` (the same as serde writes).
    pub fn as_str(self) -> &'static str {
        match self {
            VisitFlag::OutsideGeofence => "OUTSIDE_GEOFENCE",
            VisitFlag::LowAccuracy => "LOW_ACCURACY",
            VisitFlag::MockLocation => "MOCK_LOCATION",
            VisitFlag::FutureTime => "FUTURE_TIME",
            VisitFlag::TooShort => "TOO_SHORT",
            VisitFlag::ImpossibleTravel => "IMPOSSIBLE_TRAVEL",
            VisitFlag::DuplicatePhoto => "DUPLICATE_PHOTO",
            VisitFlag::DuplicateVisit => "DUPLICATE_VISIT",
            VisitFlag::NotAssigned => "NOT_ASSIGNED",
            VisitFlag::LateSync => "LATE_SYNC",
        }
    }
}

impl fmt::Display for VisitFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VisitFlag {
    type Err = DomainError;

    fn from_str(s: &str) -> DomainResult<VisitFlag> {
        VisitFlag::ALL
            .into_iter()
            .find(|flag| flag.as_str() == s)
            .ok_or_else(|| DomainError::invalid("flag", format!("unknown visit flag \"{s}\"")))
    }
}

/// One position the phone recorded during a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationFix {
    /// Device time of the fix: evidence only, never trusted as the server's time.
    pub at: DateTime<Utc>,
    /// The position, already converted to WGS-84.
    pub point: LatLon,
    /// Horizontal accuracy radius in metres, as the platform reports it.
    pub accuracy_m: f64,
    /// The platform's mock-location flag, when the device reports one.
    pub mock: Option<bool>,
}

/// What an officer's phone sends as proof of a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitEvidence {
    /// Device time the visit started.
    pub started_at: DateTime<Utc>,
    /// Device time the visit ended.
    pub ended_at: DateTime<Utc>,
    /// Positions recorded during the visit.
    pub fixes: Vec<LocationFix>,
    /// SHA-256 of each photo, 64 lowercase hex digits.
    pub photo_hashes: Vec<String>,
    /// Server time the visit arrived (the only trusted time here).
    pub received_at: DateTime<Utc>,
}

/// The configurable thresholds of [`verify`].
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationRules {
    /// How far outside the community polygon a fix may lie (before its accuracy is added).
    pub geofence_buffer_m: f64,
    /// The best fix must be at least this accurate (a radius no larger than this).
    pub max_accuracy_m: f64,
    /// Shortest visit that counts.
    pub min_dwell: Duration,
    /// Fastest plausible travel between two visits (a car on an urban expressway).
    pub max_speed_kmh: f64,
    /// How far device clocks may run ahead of the server before times count as future.
    pub future_tolerance: Duration,
    /// A visit received more than this after it ended is late.
    pub late_sync_after: Duration,
}

impl Default for VerificationRules {
    /// 100 m buffer, 100 m accuracy, 5 min dwell, 120 km/h, 5 min clock skew, 7 days sync.
    fn default() -> Self {
        VerificationRules {
            geofence_buffer_m: 100.0,
            max_accuracy_m: 100.0,
            min_dwell: Duration::minutes(5),
            max_speed_kmh: 120.0,
            future_tolerance: Duration::minutes(5),
            late_sync_after: Duration::days(7),
        }
    }
}

impl VerificationRules {
    /// Checks the configuration: distances and speed finite and non-negative (speed
    /// positive), durations non-negative. Errors name the field.
    pub fn validate(&self) -> DomainResult<()> {
        let non_negative = [
            ("geofence_buffer_m", self.geofence_buffer_m),
            ("max_accuracy_m", self.max_accuracy_m),
        ];
        for (field, value) in non_negative {
            if !value.is_finite() || value < 0.0 {
                return Err(DomainError::invalid(
                    field,
                    format!("must be a finite number >= 0, got {value}"),
                ));
            }
        }
        if !self.max_speed_kmh.is_finite() || self.max_speed_kmh <= 0.0 {
            return Err(DomainError::invalid(
                "max_speed_kmh",
                format!("must be a finite number > 0, got {}", self.max_speed_kmh),
            ));
        }
        let durations = [
            ("min_dwell", self.min_dwell),
            ("future_tolerance", self.future_tolerance),
            ("late_sync_after", self.late_sync_after),
        ];
        for (field, value) in durations {
            if value < Duration::zero() {
                return Err(DomainError::invalid(field, "must not be negative"));
            }
        }
        Ok(())
    }
}

/// What [`verify`] needs to know beyond the evidence itself.
pub struct VerificationContext<'a> {
    /// The visited community's boundary.
    pub community: &'a Boundary,
    /// Whether the community is assigned to the officer at the visit's start.
    pub assigned: bool,
    /// The officer's previous visit by device time: when it ended and its location (as
    /// [`visit_location`] chose it).
    pub previous_visit: Option<(DateTime<Utc>, LatLon)>,
    /// Whether a photo hash was used as evidence before. It must not count this same
    /// visit's own earlier upload, or a re-sync would flag itself.
    pub photo_hashes_seen_before: &'a dyn Fn(&str) -> bool,
    /// Whether another visit of the same officer in the same community is the same
    /// occasion as this one ([`same_occasion`]).
    pub repeats_another_visit: bool,
}

/// Checks the shape of the evidence, before anything is stored: `ended_at` not before
/// `started_at`; 1 to [`MAX_FIXES`] fixes, each with a valid WGS-84 point and a finite
/// accuracy >= 0; at most [`MAX_PHOTOS`] photos, each hash 64 lowercase hex digits and
/// none repeated. Plausibility (geofence, clocks, speed) is [`verify`]'s job and never
/// rejects a visit.
pub fn validate_evidence(e: &VisitEvidence) -> DomainResult<()> {
    if e.ended_at < e.started_at {
        return Err(DomainError::invalid(
            "ended_at",
            format!(
                "{} is before started_at {}",
                e.ended_at.to_rfc3339(),
                e.started_at.to_rfc3339()
            ),
        ));
    }
    if e.fixes.is_empty() {
        return Err(DomainError::invalid(
            "fixes",
            "a visit needs at least one location fix",
        ));
    }
    if e.fixes.len() > MAX_FIXES {
        return Err(DomainError::invalid(
            "fixes",
            format!("{} fixes; at most {MAX_FIXES} are accepted", e.fixes.len()),
        ));
    }
    for (i, fix) in e.fixes.iter().enumerate() {
        LatLon::parse(
            fix.point.lat,
            fix.point.lon,
            crate::geometry::Crs::Wgs84,
            &format!("fixes[{i}].point."),
        )?;
        if !fix.accuracy_m.is_finite() || fix.accuracy_m < 0.0 {
            return Err(DomainError::invalid(
                format!("fixes[{i}].accuracy_m"),
                format!("must be a finite number >= 0, got {}", fix.accuracy_m),
            ));
        }
    }
    if e.photo_hashes.len() > MAX_PHOTOS {
        return Err(DomainError::invalid(
            "photo_hashes",
            format!(
                "{} photos; at most {MAX_PHOTOS} are accepted",
                e.photo_hashes.len()
            ),
        ));
    }
    for (i, hash) in e.photo_hashes.iter().enumerate() {
        let well_formed =
            hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !well_formed {
            return Err(DomainError::invalid(
                format!("photo_hashes[{i}]"),
                "expected a SHA-256 as 64 lowercase hex digits",
            ));
        }
        if let Some(j) = e.photo_hashes[..i].iter().position(|h| h == hash) {
            return Err(DomainError::invalid(
                format!("photo_hashes[{i}]"),
                format!("repeats photo_hashes[{j}]"),
            ));
        }
    }
    Ok(())
}

/// The accuracy a fix is judged by where a radius is needed: a broken value (NaN,
/// negative) counts as unknown, i.e. infinitely inaccurate.
fn usable_accuracy(fix: &LocationFix) -> f64 {
    if fix.accuracy_m.is_finite() && fix.accuracy_m >= 0.0 {
        fix.accuracy_m
    } else {
        f64::INFINITY
    }
}

/// The visit's single representative position: its most accurate fix (the first of
/// equals). Store it with the visit; it is what the next visit's
/// [`VerificationContext::previous_visit`] should carry.
pub fn visit_location(e: &VisitEvidence) -> Option<LatLon> {
    best_fix(e).map(|fix| fix.point)
}

fn best_fix(e: &VisitEvidence) -> Option<&LocationFix> {
    e.fixes.iter().fold(None, |best, fix| match best {
        Some(b) if usable_accuracy(b) <= usable_accuracy(fix) => Some(b),
        _ => Some(fix),
    })
}

/// Verifies a visit by stacking independent signals. Returns every failed check, in
/// [`VisitFlag::ALL`] order, each at most once; empty means verified. Never fails, even
/// on evidence [`validate_evidence`] would reject.
///
/// - `OUTSIDE_GEOFENCE`: no fix lies within `geofence_buffer_m` + its own accuracy of
///   the community polygon (a fix with a broken accuracy gets no accuracy allowance).
/// - `LOW_ACCURACY`: the best fix's accuracy exceeds `max_accuracy_m` (or there is none).
/// - `MOCK_LOCATION`: any fix reports `mock = true`; an unreported flag is not suspicion.
/// - `FUTURE_TIME`: start, end or any fix is later than `received_at + future_tolerance`.
/// - `TOO_SHORT`: `ended_at - started_at < min_dwell`.
/// - `IMPOSSIBLE_TRAVEL`: from the previous visit's location to this visit's
///   [`visit_location`], over the time from the previous end to this start, is faster
///   than `max_speed_kmh`; when that time is zero or negative (overlapping visits),
///   farther than [`OVERLAP_MAX_DISTANCE_M`].
/// - `DUPLICATE_PHOTO`: any photo hash was seen before.
/// - `DUPLICATE_VISIT`: [`VerificationContext::repeats_another_visit`].
/// - `NOT_ASSIGNED`: the community is not assigned to the officer.
/// - `LATE_SYNC`: `received_at - ended_at > late_sync_after`.
pub fn verify(
    e: &VisitEvidence,
    ctx: &VerificationContext<'_>,
    rules: &VerificationRules,
) -> Vec<VisitFlag> {
    let mut flags = Vec::new();

    let inside = e.fixes.iter().any(|fix| {
        let allowance = match usable_accuracy(fix) {
            a if a.is_finite() => a,
            _ => 0.0,
        };
        ctx.community.distance_m(&fix.point) <= rules.geofence_buffer_m + allowance
    });
    if !inside {
        flags.push(VisitFlag::OutsideGeofence);
    }

    let best = best_fix(e);
    if best.is_none_or(|fix| usable_accuracy(fix) > rules.max_accuracy_m) {
        flags.push(VisitFlag::LowAccuracy);
    }

    if e.fixes.iter().any(|fix| fix.mock == Some(true)) {
        flags.push(VisitFlag::MockLocation);
    }

    // Compared as differences so that no timestamp arithmetic can overflow.
    let in_future = |t: DateTime<Utc>| t - e.received_at > rules.future_tolerance;
    if in_future(e.started_at)
        || in_future(e.ended_at)
        || e.fixes.iter().any(|fix| in_future(fix.at))
    {
        flags.push(VisitFlag::FutureTime);
    }

    if e.ended_at - e.started_at < rules.min_dwell {
        flags.push(VisitFlag::TooShort);
    }

    if let (Some((previous_end, previous_at)), Some(here)) = (ctx.previous_visit, best) {
        let distance_m = previous_at.distance_m(&here.point);
        let gap = e.started_at - previous_end;
        let impossible = if gap > Duration::zero() {
            let hours = gap.num_milliseconds() as f64 / 3_600_000.0;
            (distance_m / 1_000.0) / hours > rules.max_speed_kmh
        } else {
            distance_m > OVERLAP_MAX_DISTANCE_M
        };
        if impossible {
            flags.push(VisitFlag::ImpossibleTravel);
        }
    }

    if e.photo_hashes
        .iter()
        .any(|hash| (ctx.photo_hashes_seen_before)(hash))
    {
        flags.push(VisitFlag::DuplicatePhoto);
    }

    if ctx.repeats_another_visit {
        flags.push(VisitFlag::DuplicateVisit);
    }

    if !ctx.assigned {
        flags.push(VisitFlag::NotAssigned);
    }

    if e.received_at - e.ended_at > rules.late_sync_after {
        flags.push(VisitFlag::LateSync);
    }

    flags
}

// ---------------------------------------------------------------------------------------
// One piece of work: duplicates and the visit award
// ---------------------------------------------------------------------------------------

/// When a visit happened, as duplicate detection and the award rule compare visits of
/// one officer in one community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitSpan {
    /// Device start time.
    pub started_at: DateTime<Utc>,
    /// Device end time.
    pub ended_at: DateTime<Utc>,
    /// Device times of the visit's location fixes.
    pub fix_times: Vec<DateTime<Utc>>,
}

impl VisitSpan {
    /// The span of a visit's evidence.
    pub fn of(e: &VisitEvidence) -> VisitSpan {
        VisitSpan {
            started_at: e.started_at,
            ended_at: e.ended_at,
            fix_times: e.fixes.iter().map(|f| f.at).collect(),
        }
    }
}

/// Are two visits of the same officer in the same community one occasion? Yes when their
/// times overlap or touch (`[started_at, ended_at]` closed: nobody is on two visits of one
/// community at once, and one that ends as the other starts is one visit), or when they
/// share a fix time (the same fix sent again under other visit times). Where the fixes
/// lie does not matter, so the same place re-sent in another coordinate system is the
/// same visit too.
pub fn same_occasion(a: &VisitSpan, b: &VisitSpan) -> bool {
    let overlap = a.started_at <= b.ended_at && b.started_at <= a.ended_at;
    overlap || a.fix_times.iter().any(|t| b.fix_times.contains(t))
}

/// Does `visit` earn the visit award, given the visits of the same officer × community
/// that already earned it? One award per piece of work, whatever the number of records:
/// not when it is the same occasion as one of them ([`same_occasion`]), nor when it
/// starts within `policy.min_spacing` of one of them in the same ISO week (in `tz`),
/// which is exactly when compliance would count it once with that one. The caller
/// holds the officer's lock so two copies cannot both find the window free.
pub fn earns_visit_award(
    visit: &VisitSpan,
    earned: &[VisitSpan],
    policy: &CompliancePolicy,
    tz: Tz,
) -> bool {
    let week = week_of(visit.started_at, tz);
    !earned.iter().any(|other| {
        let too_close = policy.min_spacing.is_some_and(|spacing| {
            week_of(other.started_at, tz) == week
                && (visit.started_at - other.started_at).abs() < spacing
        });
        too_close || same_occasion(visit, other)
    })
}

// ---------------------------------------------------------------------------------------
// Weeks and compliance
// ---------------------------------------------------------------------------------------

/// An ISO 8601 week (Monday to Sunday), written `2026-W48`.
///
/// Build one with [`IsoWeek::new`], [`FromStr`] or [`week_of`], which all validate: the
/// year is 1..=9999 and the week exists in it (some years have 53 weeks, most 52).
/// Serialised as its string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IsoWeek {
    /// ISO week-numbering year (differs from the calendar year around 1 January).
    pub year: i32,
    /// Week number, 1..=52 or 53.
    pub week: u32,
}

impl IsoWeek {
    /// Validates that the week exists.
    pub fn new(year: i32, week: u32) -> DomainResult<IsoWeek> {
        if !(1..=9999).contains(&year) {
            return Err(DomainError::invalid(
                "week",
                format!("year {year} is outside 1..=9999"),
            ));
        }
        if week == 0 || NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).is_none() {
            return Err(DomainError::invalid(
                "week",
                format!("{year} has no ISO week {week}"),
            ));
        }
        Ok(IsoWeek { year, week })
    }

    /// The Monday that starts the week. A week built by struct literal that does not
    /// exist is counted on from week 1 (2027-W53 is 2028-W01); a year chrono cannot
    /// represent saturates to the earliest or latest date.
    pub fn monday(self) -> NaiveDate {
        let year = self
            .year
            .clamp(NaiveDate::MIN.year() + 1, NaiveDate::MAX.year() - 1);
        let first = NaiveDate::from_isoywd_opt(year, 1, Weekday::Mon).unwrap_or(NaiveDate::MIN);
        let offset = Days::new(7 * u64::from(self.week.saturating_sub(1)));
        first.checked_add_days(offset).unwrap_or(NaiveDate::MAX)
    }

    /// The instant the week starts: Monday 00:00 local time in `tz`.
    pub fn start_utc(self, tz: Tz) -> DateTime<Utc> {
        local_start_of_day(self.monday(), tz)
    }

    /// The instant the week ends, exclusive: the next Monday 00:00 local time, so weeks
    /// are half-open intervals `[start_utc, end_utc)` that tile time.
    pub fn end_utc(self, tz: Tz) -> DateTime<Utc> {
        let next = self
            .monday()
            .checked_add_days(Days::new(7))
            .unwrap_or(NaiveDate::MAX);
        local_start_of_day(next, tz)
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

impl FromStr for IsoWeek {
    type Err = DomainError;

    /// Accepts exactly `YYYY-Www`, e.g. `2026-W48`.
    fn from_str(s: &str) -> DomainResult<IsoWeek> {
        let malformed = || {
            DomainError::invalid(
                "week",
                format!("\"{s}\" is not an ISO week; expected YYYY-Www, e.g. 2026-W48"),
            )
        };
        let (year, week) = s.split_once("-W").ok_or_else(malformed)?;
        let digits =
            |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(week, 2) {
            return Err(malformed());
        }
        let year = year.parse().map_err(|_| malformed())?;
        let week = week.parse().map_err(|_| malformed())?;
        IsoWeek::new(year, week)
    }
}

impl TryFrom<String> for IsoWeek {
    type Error = DomainError;

    fn try_from(s: String) -> DomainResult<IsoWeek> {
        s.parse()
    }
}

impl From<IsoWeek> for String {
    fn from(w: IsoWeek) -> String {
        w.to_string()
    }
}

/// The ISO week `at` falls in, in local time in `tz`: a visit at Sunday 23:59 in
/// Asia/Shanghai belongs to that week although it is Sunday afternoon in UTC, and Monday
/// 00:00 local starts the next week.
pub fn week_of(at: DateTime<Utc>, tz: Tz) -> IsoWeek {
    let w = at.with_timezone(&tz).date_naive().iso_week();
    IsoWeek {
        year: w.year(),
        week: w.week(),
    }
}

/// The ISO weeks a calendar month (`year`, `month` 1-12, in `tz`) judges as of `now`,
/// each with whether it is still running.
///
/// The rule for weeks that straddle two months is the ISO rule for years applied to
/// months: **a week belongs to the month holding its Thursday** (so every week belongs
/// to exactly one month, and a month holds four or five weeks). Of those, only weeks
/// that have started by `now` are judged: weeks that have ended are final, and the
/// current week comes last, marked running (`true`). Weeks still to come are left out.
/// An impossible month holds no weeks.
pub fn month_weeks(year: i32, month: u32, now: DateTime<Utc>, tz: Tz) -> Vec<(IsoWeek, bool)> {
    let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
        return Vec::new();
    };
    first
        .iter_days()
        .take_while(|d| d.month() == month)
        .filter(|d| d.weekday() == Weekday::Thu)
        .map(|thursday| {
            let w = thursday.iso_week();
            IsoWeek {
                year: w.year(),
                week: w.week(),
            }
        })
        .filter(|w| w.start_utc(tz) <= now)
        .map(|w| (w, now < w.end_utc(tz)))
        .collect()
}

/// The first instant of a local calendar day. Where a daylight-saving jump skips
/// midnight (America/Santiago, for one) the day starts at the first local time that
/// exists; where midnight happens twice, at the earlier one.
pub(crate) fn local_start_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    // Real gaps are at most a few hours and in quarter-hour steps.
    (0..=96)
        .filter_map(|quarter| midnight.checked_add_signed(Duration::minutes(15 * quarter)))
        .find_map(|local| tz.from_local_datetime(&local).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// How many visits a week needs and whether close visits count once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompliancePolicy {
    /// Verified visits a full week needs (the report's "not fewer than 2").
    pub min_visits: u32,
    /// Visits that start closer than this to the last counted one count once (so two
    /// visits ten minutes apart are one visit), and earn once
    /// ([`earns_visit_award`]). `None`: only visits that are the same occasion
    /// ([`same_occasion`]) count once.
    pub min_spacing: Option<Duration>,
}

/// The default minimum spacing between counted visits: two hours, start to start. A
/// round of a community (stairwells, shops, the property office) takes an hour or so;
/// two visits are two occasions when a morning and an afternoon, not a stop for tea.
pub const DEFAULT_MIN_SPACING: Duration = Duration::hours(2);

impl Default for CompliancePolicy {
    /// Two visits a week, at least [`DEFAULT_MIN_SPACING`] apart.
    fn default() -> Self {
        CompliancePolicy {
            min_visits: 2,
            min_spacing: Some(DEFAULT_MIN_SPACING),
        }
    }
}

/// A visit as compliance sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountedVisit {
    /// The visit's id.
    pub id: String,
    /// Device start time (the time the visit is placed in a week by).
    pub started_at: DateTime<Utc>,
    /// Device end time.
    pub ended_at: DateTime<Utc>,
    /// No flags, or a supervisor accepted it.
    pub verified: bool,
}

/// Why a visit of the week did not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Exclusion {
    /// The visit is flagged and no supervisor accepted it.
    NotVerified,
    /// The visit started within the minimum spacing of a counted one.
    TooCloseToPrevious {
        /// The counted visit it is too close to.
        previous_id: String,
    },
    /// The visit's times overlap a counted one: the same visit, counted once (even when
    /// a supervisor accepted the copy).
    OverlapsPrevious {
        /// The counted visit it overlaps.
        previous_id: String,
    },
}

/// One officer × community × week: what counted, what did not and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekCompliance {
    /// The week judged.
    pub week: IsoWeek,
    /// Ids of the visits that count, by start time.
    pub counted: Vec<String>,
    /// Visits of the week that do not count, by start time, with the reason.
    pub excluded: Vec<(String, Exclusion)>,
    /// Visits the week needs; 0 when the officer was not responsible that week.
    pub required: u32,
    /// `counted.len() >= required`.
    pub compliant: bool,
}

/// Judges one officer × community × week against `policy.min_visits` (a whole week of
/// assignment; see [`assigned_week_compliance`] otherwise).
///
/// Only visits starting within `[week.start_utc(tz), week.end_utc(tz))` are considered;
/// others are ignored, not excluded. They are taken in start order (ties by id); a visit
/// whose times overlap or touch the last *counted* visit is excluded as
/// [`Exclusion::OverlapsPrevious`] (verified or not: it is the same visit); an
/// unverified visit is excluded as [`Exclusion::NotVerified`]; with a minimum spacing, a
/// verified visit starting less than the spacing after the last *counted* visit is
/// excluded as [`Exclusion::TooCloseToPrevious`] (an excluded visit never moves the
/// reference point, so a string of visits every few minutes counts once per spacing).
pub fn week_compliance(
    week: IsoWeek,
    visits: &[CountedVisit],
    policy: &CompliancePolicy,
    tz: Tz,
) -> WeekCompliance {
    let (start, end) = (week.start_utc(tz), week.end_utc(tz));
    let mut in_week: Vec<&CountedVisit> = visits
        .iter()
        .filter(|v| start <= v.started_at && v.started_at < end)
        .collect();
    in_week.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));

    let mut counted: Vec<&CountedVisit> = Vec::new();
    let mut excluded = Vec::new();
    for visit in in_week {
        if let Some(last) = counted.last()
            && visit.started_at <= last.ended_at
        {
            excluded.push((
                visit.id.clone(),
                Exclusion::OverlapsPrevious {
                    previous_id: last.id.clone(),
                },
            ));
            continue;
        }
        if !visit.verified {
            excluded.push((visit.id.clone(), Exclusion::NotVerified));
            continue;
        }
        let too_close_to = match (policy.min_spacing, counted.last()) {
            (Some(spacing), Some(last)) if visit.started_at - last.started_at < spacing => {
                Some(last.id.clone())
            }
            _ => None,
        };
        match too_close_to {
            Some(previous_id) => excluded.push((
                visit.id.clone(),
                Exclusion::TooCloseToPrevious { previous_id },
            )),
            None => counted.push(visit),
        }
    }

    let counted: Vec<String> = counted.into_iter().map(|v| v.id.clone()).collect();
    let required = policy.min_visits;
    WeekCompliance {
        week,
        compliant: counted.len() >= required as usize,
        counted,
        excluded,
        required,
    }
}

/// Visits required of an officer in `week` for an assignment running from
/// `assigned_from` until `assigned_until` (exclusive; `None` = still assigned).
///
/// The rule, for mid-week reassignment: the weekly minimum is prorated over the **full
/// local days** (in `tz`) of the week the assignment covers, rounded **up**:
/// `required = ceil(min_visits × full_days / 7)`.
///
/// - A day counts only if the officer was assigned from its local 00:00 to the next
///   local 00:00; a partly covered day neither requires nor forgives anything, so a
///   hand-over at 15:00 on Thursday gives Thursday to nobody. That errs towards the
///   officer for a single afternoon, and the day's visits still count when verified.
/// - Rounding up keeps the report's "not fewer than" spirit: with the default minimum
///   of 2, three full days or fewer (1 to 3) need 1 visit and four or more need 2, i.e.
///   one visit per three and a half days, which is the weekly rate itself.
/// - No full day covered: 0, and the week is not judged for that officer.
///
/// When a community changes hands mid-week both officers are judged, each for their
/// share, so the community is never left without a requirement.
pub fn required_visits(
    week: IsoWeek,
    assigned_from: DateTime<Utc>,
    assigned_until: Option<DateTime<Utc>>,
    policy: &CompliancePolicy,
    tz: Tz,
) -> u32 {
    let monday = week.monday();
    let full_days = (0..7u64)
        .filter(|&d| {
            let (Some(day), Some(next)) = (
                monday.checked_add_days(Days::new(d)),
                monday.checked_add_days(Days::new(d + 1)),
            ) else {
                return false;
            };
            let (day_start, day_end) = (local_start_of_day(day, tz), local_start_of_day(next, tz));
            assigned_from <= day_start && assigned_until.is_none_or(|until| until >= day_end)
        })
        .count() as u64;
    let required = (u64::from(policy.min_visits) * full_days).div_ceil(7);
    u32::try_from(required).unwrap_or(u32::MAX)
}

/// [`week_compliance`] for an assignment that may not cover the whole week: the same
/// counting, with `required` from [`required_visits`]. Visits outside the assignment
/// are not removed here: verification flags them `NOT_ASSIGNED`, so they count only if
/// a supervisor accepted them.
pub fn assigned_week_compliance(
    week: IsoWeek,
    visits: &[CountedVisit],
    assigned_from: DateTime<Utc>,
    assigned_until: Option<DateTime<Utc>>,
    policy: &CompliancePolicy,
    tz: Tz,
) -> WeekCompliance {
    let mut result = week_compliance(week, visits, policy, tz);
    result.required = required_visits(week, assigned_from, assigned_until, policy, tz);
    result.compliant = result.counted.len() >= result.required as usize;
    result
}

// ---------------------------------------------------------------------------------------
// The 721 mix
// ---------------------------------------------------------------------------------------

/// The 721 method's target shares: service, management, enforcement.
pub const TARGET_721: (f64, f64, f64) = (0.7, 0.2, 0.1);

/// Counts of actions by 721 class, for any scope (officer, community, street, month).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mix721 {
    service: u32,
    management: u32,
    enforcement: u32,
}

impl Mix721 {
    /// Counts one action.
    pub fn add(&mut self, class: Class721) {
        let slot = match class {
            Class721::Service => &mut self.service,
            Class721::Management => &mut self.management,
            Class721::Enforcement => &mut self.enforcement,
        };
        *slot = slot.saturating_add(1);
    }

    /// Adds another scope's counts (e.g. communities into their street).
    pub fn merge(&mut self, other: Mix721) {
        self.service = self.service.saturating_add(other.service);
        self.management = self.management.saturating_add(other.management);
        self.enforcement = self.enforcement.saturating_add(other.enforcement);
    }

    /// Service actions counted.
    pub fn service(&self) -> u32 {
        self.service
    }

    /// Management actions counted.
    pub fn management(&self) -> u32 {
        self.management
    }

    /// Enforcement actions counted.
    pub fn enforcement(&self) -> u32 {
        self.enforcement
    }

    /// All actions counted.
    pub fn total(&self) -> u64 {
        u64::from(self.service) + u64::from(self.management) + u64::from(self.enforcement)
    }

    /// Shares of service, management and enforcement as fractions summing to 1;
    /// `(0, 0, 0)` when nothing was counted.
    pub fn shares(&self) -> (f64, f64, f64) {
        let total = self.total();
        if total == 0 {
            return (0.0, 0.0, 0.0);
        }
        let total = total as f64;
        (
            f64::from(self.service) / total,
            f64::from(self.management) / total,
            f64::from(self.enforcement) / total,
        )
    }

    /// Each share minus its [`TARGET_721`] share, as fractions (+0.05 = five percentage
    /// points above target). `None` when nothing was counted: an empty scope is neither
    /// on nor off target.
    pub fn deviation_from_target(&self) -> Option<(f64, f64, f64)> {
        if self.total() == 0 {
            return None;
        }
        let (s, m, e) = self.shares();
        Some((s - TARGET_721.0, m - TARGET_721.1, e - TARGET_721.2))
    }
}

impl Extend<Class721> for Mix721 {
    fn extend<I: IntoIterator<Item = Class721>>(&mut self, iter: I) {
        for class in iter {
            self.add(class);
        }
    }
}

impl FromIterator<Class721> for Mix721 {
    fn from_iter<I: IntoIterator<Item = Class721>>(iter: I) -> Self {
        let mut mix = Mix721::default();
        mix.extend(iter);
        mix
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use geo::{LineString, Polygon};
    use std::collections::HashSet;

    // ---- verification fixtures ----

    /// A community of about 450 m × 550 m in Xining.
    fn community() -> Boundary {
        let (lon0, lat0, size) = (101.78, 36.62, 0.005);
        Boundary::from_polygon(Polygon::new(
            LineString::from(vec![
                (lon0, lat0),
                (lon0 + size, lat0),
                (lon0 + size, lat0 + size),
                (lon0, lat0 + size),
                (lon0, lat0),
            ]),
            vec![],
        ))
        .unwrap()
    }

    const CENTRE: LatLon = LatLon {
        lat: 36.6225,
        lon: 101.7825,
    };

    /// `metres` due east of the community's east edge, at mid height.
    fn east_of_edge(metres: f64) -> LatLon {
        let edge = LatLon {
            lat: 36.6225,
            lon: 101.785,
        };
        // Metres per degree of longitude at this latitude, refined against the geodesic.
        let per_degree = edge.distance_m(&LatLon {
            lat: edge.lat,
            lon: edge.lon + 0.01,
        }) / 0.01;
        LatLon {
            lat: edge.lat,
            lon: edge.lon + metres / per_degree,
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hash(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn fix(at: &str, point: LatLon, accuracy_m: f64) -> LocationFix {
        LocationFix {
            at: t(at),
            point,
            accuracy_m,
            mock: Some(false),
        }
    }

    /// A visit that passes every check: 20 minutes in the middle of the community,
    /// synced five minutes after it ended.
    fn clean() -> VisitEvidence {
        VisitEvidence {
            started_at: t("2026-11-24T02:00:00Z"),
            ended_at: t("2026-11-24T02:20:00Z"),
            fixes: vec![fix("2026-11-24T02:05:00Z", CENTRE, 15.0)],
            photo_hashes: vec![hash('a')],
            received_at: t("2026-11-24T02:25:00Z"),
        }
    }

    struct Case {
        name: &'static str,
        evidence: VisitEvidence,
        assigned: bool,
        previous: Option<(DateTime<Utc>, LatLon)>,
        seen: Vec<String>,
        repeats: bool,
        expected: Vec<VisitFlag>,
    }

    fn case(name: &'static str, expected: &[VisitFlag]) -> Case {
        Case {
            name,
            evidence: clean(),
            assigned: true,
            previous: None,
            seen: vec![hash('f')],
            repeats: false,
            expected: expected.to_vec(),
        }
    }

    fn run(c: &Case) -> Vec<VisitFlag> {
        let boundary = community();
        let seen: HashSet<&str> = c.seen.iter().map(String::as_str).collect();
        let seen_before = |h: &str| seen.contains(h);
        let ctx = VerificationContext {
            community: &boundary,
            assigned: c.assigned,
            previous_visit: c.previous,
            photo_hashes_seen_before: &seen_before,
            repeats_another_visit: c.repeats,
        };
        verify(&c.evidence, &ctx, &VerificationRules::default())
    }

    fn north(from: LatLon, km: f64) -> LatLon {
        // One degree of latitude is about 111 km; the tests leave wide margins.
        LatLon {
            lat: from.lat + km / 111.0,
            lon: from.lon,
        }
    }

    fn verification_cases() -> Vec<Case> {
        use VisitFlag::*;
        let mut cases = Vec::new();

        cases.push(case("a clean visit has no flags", &[]));

        let mut c = case(
            "a fix two kilometres away is outside the geofence",
            &[OutsideGeofence],
        );
        c.evidence.fixes[0].point = east_of_edge(2_000.0);
        cases.push(c);

        let mut c = case(
            "a fix 150 m out with 30 m accuracy is outside the geofence",
            &[OutsideGeofence],
        );
        c.evidence.fixes[0].point = east_of_edge(150.0);
        c.evidence.fixes[0].accuracy_m = 30.0;
        cases.push(c);

        let mut c = case("a fix 150 m out with 60 m accuracy counts as inside", &[]);
        c.evidence.fixes[0].point = east_of_edge(150.0);
        c.evidence.fixes[0].accuracy_m = 60.0;
        cases.push(c);

        let mut c = case("a fix 90 m out within the buffer counts as inside", &[]);
        c.evidence.fixes[0].point = east_of_edge(90.0);
        c.evidence.fixes[0].accuracy_m = 0.0;
        cases.push(c);

        let mut c = case("one fix inside among fixes outside is enough", &[]);
        c.evidence
            .fixes
            .insert(0, fix("2026-11-24T02:01:00Z", east_of_edge(3_000.0), 10.0));
        cases.push(c);

        let mut c = case("a fix with 150 m accuracy is low accuracy", &[LowAccuracy]);
        c.evidence.fixes[0].accuracy_m = 150.0;
        cases.push(c);

        let mut c = case("one accurate fix among vague ones is enough", &[]);
        c.evidence.fixes[0].accuracy_m = 150.0;
        c.evidence
            .fixes
            .push(fix("2026-11-24T02:10:00Z", CENTRE, 20.0));
        cases.push(c);

        let mut c = case("accuracy exactly at the maximum passes", &[]);
        c.evidence.fixes[0].accuracy_m = 100.0;
        cases.push(c);

        let mut c = case(
            "a fix reported as mocked is a mock location",
            &[MockLocation],
        );
        c.evidence
            .fixes
            .push(fix("2026-11-24T02:10:00Z", CENTRE, 20.0));
        c.evidence.fixes[1].mock = Some(true);
        cases.push(c);

        let mut c = case("an unreported mock flag is not suspicious", &[]);
        c.evidence.fixes[0].mock = None;
        cases.push(c);

        let mut c = case(
            "an end ten minutes after arrival is future time",
            &[FutureTime],
        );
        c.evidence.ended_at = t("2026-11-24T02:35:00Z");
        cases.push(c);

        let mut c = case(
            "a fix fifteen minutes after arrival is future time",
            &[FutureTime],
        );
        c.evidence.fixes[0].at = t("2026-11-24T02:40:00Z");
        cases.push(c);

        let mut c = case("a clock four minutes ahead is tolerated", &[]);
        c.evidence.ended_at = t("2026-11-24T02:29:00Z");
        cases.push(c);

        let mut c = case("a four-minute visit is too short", &[TooShort]);
        c.evidence.ended_at = t("2026-11-24T02:04:00Z");
        c.evidence.fixes[0].at = t("2026-11-24T02:02:00Z");
        cases.push(c);

        let mut c = case("a visit of exactly the minimum dwell is long enough", &[]);
        c.evidence.ended_at = t("2026-11-24T02:05:00Z");
        cases.push(c);

        let mut c = case(
            "fifty kilometres in ten minutes is impossible travel",
            &[ImpossibleTravel],
        );
        c.previous = Some((t("2026-11-24T01:50:00Z"), north(CENTRE, 50.0)));
        cases.push(c);

        let mut c = case("five kilometres in ten minutes is plausible", &[]);
        c.previous = Some((t("2026-11-24T01:50:00Z"), north(CENTRE, 5.0)));
        cases.push(c);

        let mut c = case(
            "overlapping visits two kilometres apart are impossible travel",
            &[ImpossibleTravel],
        );
        c.previous = Some((t("2026-11-24T02:05:00Z"), north(CENTRE, 2.0)));
        cases.push(c);

        let mut c = case(
            "overlapping visits half a kilometre apart are plausible",
            &[],
        );
        c.previous = Some((t("2026-11-24T02:00:00Z"), north(CENTRE, 0.5)));
        cases.push(c);

        let mut c = case(
            "a photo used before is a duplicate photo",
            &[DuplicatePhoto],
        );
        c.evidence.photo_hashes.push(hash('f'));
        cases.push(c);

        let mut c = case("a visit without photos is not a duplicate", &[]);
        c.evidence.photo_hashes.clear();
        cases.push(c);

        let mut c = case(
            "the same occasion as another visit is a duplicate visit",
            &[DuplicateVisit],
        );
        c.repeats = true;
        cases.push(c);

        let mut c = case(
            "a community not assigned is flagged not assigned",
            &[NotAssigned],
        );
        c.assigned = false;
        cases.push(c);

        let mut c = case(
            "a visit received eight days after it ended is late sync",
            &[LateSync],
        );
        c.evidence.received_at = t("2026-12-02T02:20:00Z");
        cases.push(c);

        let mut c = case(
            "a visit received exactly seven days after it ended is in time",
            &[],
        );
        c.evidence.received_at = t("2026-12-01T02:20:00Z");
        cases.push(c);

        let mut c = case(
            "several failures stack in declaration order",
            &[MockLocation, TooShort, NotAssigned],
        );
        c.assigned = false;
        c.evidence.ended_at = t("2026-11-24T02:01:00Z");
        c.evidence.fixes[0].mock = Some(true);
        cases.push(c);

        let mut c = case(
            "evidence without fixes is flagged rather than dropped",
            &[OutsideGeofence, LowAccuracy],
        );
        c.evidence.fixes.clear();
        cases.push(c);

        let mut c = case(
            "a fix with a broken accuracy gets no allowance and counts as inaccurate",
            &[OutsideGeofence, LowAccuracy],
        );
        c.evidence.fixes[0].point = east_of_edge(150.0);
        c.evidence.fixes[0].accuracy_m = f64::NAN;
        cases.push(c);

        cases
    }

    #[test]
    fn each_verification_fixture_is_flagged_exactly_as_specified() {
        for c in verification_cases() {
            assert_eq!(run(&c), c.expected, "{}", c.name);
        }
    }

    #[test]
    fn every_flag_has_a_fixture_that_raises_it_alone() {
        let cases = verification_cases();
        for flag in VisitFlag::ALL {
            assert!(
                cases.iter().any(|c| c.expected == [flag]),
                "no single-flag fixture for {flag}"
            );
        }
    }

    #[test]
    fn flags_serialise_as_their_screaming_snake_case_names_and_parse_back() {
        for flag in VisitFlag::ALL {
            let json = serde_json::to_string(&flag).unwrap();
            assert_eq!(json, format!("\"{}\"", flag.as_str()));
            assert_eq!(flag.as_str().parse::<VisitFlag>().unwrap(), flag);
            assert_eq!(
                serde_json::from_str::<VisitFlag>(&json).unwrap(),
                flag,
                "{flag}"
            );
        }
        assert_eq!(VisitFlag::OutsideGeofence.as_str(), "OUTSIDE_GEOFENCE");
        assert!("outside_geofence".parse::<VisitFlag>().is_err());
    }

    #[test]
    fn visit_location_is_the_most_accurate_fix() {
        let mut e = clean();
        e.fixes
            .push(fix("2026-11-24T02:06:00Z", north(CENTRE, 0.1), 5.0));
        e.fixes
            .push(fix("2026-11-24T02:07:00Z", north(CENTRE, 0.2), 5.0));
        assert_eq!(visit_location(&e), Some(north(CENTRE, 0.1)));
        e.fixes.clear();
        assert_eq!(visit_location(&e), None);
    }

    #[test]
    fn default_rules_are_valid_and_broken_rules_name_their_field() {
        assert_eq!(VerificationRules::default().validate(), Ok(()));
        let cases: [(&str, Breaks<VerificationRules>); 4] = [
            ("geofence_buffer_m", |r| r.geofence_buffer_m = -1.0),
            ("max_accuracy_m", |r| r.max_accuracy_m = f64::NAN),
            ("max_speed_kmh", |r| r.max_speed_kmh = 0.0),
            ("min_dwell", |r| r.min_dwell = Duration::minutes(-1)),
        ];
        for (field, breaks) in cases {
            let mut rules = VerificationRules::default();
            breaks(&mut rules);
            match rules.validate() {
                Err(DomainError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    // ---- structural validation ----

    /// A change that breaks one rule of a valid value.
    type Breaks<T> = fn(&mut T);

    #[test]
    fn structurally_broken_evidence_is_refused_with_the_field_named() {
        let cases: Vec<(&str, Breaks<VisitEvidence>)> = vec![
            ("ended_at", |e| e.ended_at = t("2026-11-24T01:59:59Z")),
            ("fixes", |e| e.fixes.clear()),
            ("fixes", |e| {
                let f = e.fixes[0].clone();
                e.fixes = vec![f; MAX_FIXES + 1];
            }),
            ("fixes[0].accuracy_m", |e| e.fixes[0].accuracy_m = f64::NAN),
            ("fixes[0].accuracy_m", |e| e.fixes[0].accuracy_m = -1.0),
            ("fixes[0].accuracy_m", |e| {
                e.fixes[0].accuracy_m = f64::INFINITY
            }),
            ("fixes[0].point.lat", |e| e.fixes[0].point.lat = 91.0),
            ("fixes[0].point.lon", |e| e.fixes[0].point.lon = f64::NAN),
            ("photo_hashes", |e| {
                e.photo_hashes = (0..=MAX_PHOTOS).map(|i| format!("{i:064x}")).collect();
            }),
            ("photo_hashes[0]", |e| e.photo_hashes[0] = hash('A')),
            ("photo_hashes[0]", |e| e.photo_hashes[0] = hash('g')),
            ("photo_hashes[0]", |e| e.photo_hashes[0] = "abc".to_owned()),
            ("photo_hashes[1]", |e| e.photo_hashes.push(hash('a'))),
        ];
        for (field, breaks) in cases {
            let mut e = clean();
            breaks(&mut e);
            match validate_evidence(&e) {
                Err(DomainError::Invalid { field: f, reason }) => {
                    assert_eq!(f, field, "{reason}")
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn well_formed_evidence_is_accepted_even_when_it_will_be_flagged() {
        let mut e = clean();
        assert_eq!(validate_evidence(&e), Ok(()));
        e.ended_at = e.started_at;
        e.fixes[0].point = east_of_edge(5_000.0);
        e.fixes[0].accuracy_m = 0.0;
        e.photo_hashes = (0..MAX_PHOTOS).map(|i| format!("{i:064x}")).collect();
        assert_eq!(validate_evidence(&e), Ok(()));
    }

    // ---- weeks ----

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    fn w(year: i32, week: u32) -> IsoWeek {
        IsoWeek::new(year, week).unwrap()
    }

    #[test]
    fn instants_fall_in_the_local_iso_week() {
        let cases = [
            // Sunday 23:59 in Shanghai is Sunday 15:59 UTC: still that week.
            ("2026-11-29T23:59:00+08:00", SHANGHAI, w(2026, 48)),
            // Monday 00:00 in Shanghai is Sunday 16:00 UTC: already the next week.
            ("2026-11-30T00:00:00+08:00", SHANGHAI, w(2026, 49)),
            // The same Monday instant judged in UTC is still Sunday.
            ("2026-11-30T00:00:00+08:00", chrono_tz::UTC, w(2026, 48)),
            ("2026-11-23T00:00:00+08:00", SHANGHAI, w(2026, 48)),
            // 2026 starts on a Thursday, so it has a week 53 running into 2027.
            ("2026-12-28T00:00:00+08:00", SHANGHAI, w(2026, 53)),
            ("2027-01-01T12:00:00+08:00", SHANGHAI, w(2026, 53)),
            ("2027-01-03T23:59:00+08:00", SHANGHAI, w(2026, 53)),
            ("2027-01-04T00:00:00+08:00", SHANGHAI, w(2027, 1)),
            // 1 January 2026 is in 2026-W01, 30 December 2024 in 2025-W01.
            ("2026-01-01T00:30:00+08:00", SHANGHAI, w(2026, 1)),
            ("2025-12-28T23:00:00+08:00", SHANGHAI, w(2025, 52)),
            ("2024-12-30T08:00:00+08:00", SHANGHAI, w(2025, 1)),
        ];
        for (at, tz, expected) in cases {
            assert_eq!(week_of(t(at), tz), expected, "{at} in {tz}");
        }
    }

    #[test]
    fn weeks_are_half_open_local_intervals() {
        let week = w(2026, 48);
        assert_eq!(week.start_utc(SHANGHAI), t("2026-11-22T16:00:00Z"));
        assert_eq!(week.end_utc(SHANGHAI), t("2026-11-29T16:00:00Z"));
        assert_eq!(week.end_utc(SHANGHAI), w(2026, 49).start_utc(SHANGHAI));
        assert_eq!(week_of(week.start_utc(SHANGHAI), SHANGHAI), week);
        assert_eq!(
            week_of(week.end_utc(SHANGHAI), SHANGHAI),
            w(2026, 49),
            "the end is exclusive"
        );
        assert_eq!(
            w(2026, 53).end_utc(SHANGHAI),
            w(2027, 1).start_utc(SHANGHAI)
        );
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_at_its_first_real_instant() {
        // Chile moved clocks from 00:00 to 01:00 on Sunday 8 September 2024.
        let santiago = chrono_tz::America::Santiago;
        let day = NaiveDate::from_ymd_opt(2024, 9, 8).unwrap();
        assert_eq!(local_start_of_day(day, santiago), t("2024-09-08T04:00:00Z"));
    }

    #[test]
    fn iso_weeks_print_and_parse_as_year_dash_w_week() {
        let ok = [
            ("2026-W48", w(2026, 48)),
            ("2026-W05", w(2026, 5)),
            ("2026-W53", w(2026, 53)),
            ("2020-W53", w(2020, 53)),
            ("2027-W01", w(2027, 1)),
        ];
        for (s, week) in ok {
            assert_eq!(s.parse::<IsoWeek>().unwrap(), week, "{s}");
            assert_eq!(week.to_string(), s);
            let json = serde_json::to_string(&week).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<IsoWeek>(&json).unwrap(), week);
        }
        // 2027 and 2025 have only 52 weeks.
        let bad = [
            "2027-W53",
            "2025-W53",
            "2026-W54",
            "2026-W00",
            "2026-48",
            "2026-W4",
            "26-W48",
            "2026-W+4",
            "0000-W01",
            "2026-W48x",
            "",
        ];
        for s in bad {
            assert!(s.parse::<IsoWeek>().is_err(), "{s} should be refused");
            assert!(
                serde_json::from_str::<IsoWeek>(&format!("\"{s}\"")).is_err(),
                "{s}"
            );
        }
    }

    #[test]
    fn a_week_that_does_not_exist_is_counted_on_from_week_one() {
        let bogus = IsoWeek {
            year: 2027,
            week: 53,
        };
        assert_eq!(bogus.start_utc(SHANGHAI), w(2028, 1).start_utc(SHANGHAI));
    }

    // ---- compliance ----

    /// A five-minute visit.
    fn visit(id: &str, at: &str, verified: bool) -> CountedVisit {
        CountedVisit {
            id: id.to_owned(),
            started_at: t(at),
            ended_at: t(at) + Duration::minutes(5),
            verified,
        }
    }

    fn no_spacing() -> CompliancePolicy {
        CompliancePolicy {
            min_visits: 2,
            min_spacing: None,
        }
    }

    fn spaced(minutes: i64) -> CompliancePolicy {
        CompliancePolicy {
            min_visits: 2,
            min_spacing: Some(Duration::minutes(minutes)),
        }
    }

    struct WeekCase {
        name: &'static str,
        visits: Vec<CountedVisit>,
        policy: CompliancePolicy,
        counted: Vec<&'static str>,
        excluded: Vec<(&'static str, Exclusion)>,
        compliant: bool,
    }

    fn too_close(previous: &str) -> Exclusion {
        Exclusion::TooCloseToPrevious {
            previous_id: previous.to_owned(),
        }
    }

    fn overlaps(previous: &str) -> Exclusion {
        Exclusion::OverlapsPrevious {
            previous_id: previous.to_owned(),
        }
    }

    #[test]
    fn weekly_compliance_counts_verified_spaced_visits_of_the_local_week() {
        let cases = vec![
            WeekCase {
                name: "two verified visits on Monday and Thursday comply",
                visits: vec![
                    visit("a", "2026-11-23T09:00:00+08:00", true),
                    visit("b", "2026-11-26T15:00:00+08:00", true),
                ],
                policy: CompliancePolicy::default(),
                counted: vec!["a", "b"],
                excluded: vec![],
                compliant: true,
            },
            WeekCase {
                name: "a community with no visits does not comply",
                visits: vec![],
                policy: CompliancePolicy::default(),
                counted: vec![],
                excluded: vec![],
                compliant: false,
            },
            WeekCase {
                name: "an unverified visit is excluded and the week falls short",
                visits: vec![
                    visit("a", "2026-11-23T09:00:00+08:00", true),
                    visit("b", "2026-11-26T15:00:00+08:00", false),
                ],
                policy: CompliancePolicy::default(),
                counted: vec!["a"],
                excluded: vec![("b", Exclusion::NotVerified)],
                compliant: false,
            },
            WeekCase {
                name: "visits ten minutes apart count twice without spacing",
                visits: vec![
                    visit("b", "2026-11-25T10:10:00+08:00", true),
                    visit("a", "2026-11-25T10:00:00+08:00", true),
                ],
                policy: no_spacing(),
                counted: vec!["a", "b"],
                excluded: vec![],
                compliant: true,
            },
            WeekCase {
                name: "visits ten minutes apart count once with a one hour spacing",
                visits: vec![
                    visit("b", "2026-11-25T10:10:00+08:00", true),
                    visit("a", "2026-11-25T10:00:00+08:00", true),
                ],
                policy: spaced(60),
                counted: vec!["a"],
                excluded: vec![("b", too_close("a"))],
                compliant: false,
            },
            WeekCase {
                name: "spacing is measured from the last counted visit",
                visits: vec![
                    visit("a", "2026-11-25T10:00:00+08:00", true),
                    visit("b", "2026-11-25T10:40:00+08:00", true),
                    visit("c", "2026-11-25T11:00:00+08:00", true),
                    visit("d", "2026-11-25T11:30:00+08:00", true),
                ],
                policy: spaced(60),
                counted: vec!["a", "c"],
                excluded: vec![("b", too_close("a")), ("d", too_close("c"))],
                compliant: true,
            },
            WeekCase {
                name: "an unverified visit does not move the spacing reference",
                visits: vec![
                    visit("a", "2026-11-25T10:00:00+08:00", false),
                    visit("b", "2026-11-25T10:10:00+08:00", true),
                    visit("c", "2026-11-25T10:20:00+08:00", true),
                ],
                policy: spaced(60),
                counted: vec!["b"],
                excluded: vec![("a", Exclusion::NotVerified), ("c", too_close("b"))],
                compliant: false,
            },
            WeekCase {
                name: "visits ten minutes apart count once by the default spacing",
                visits: vec![
                    visit("b", "2026-11-25T10:10:00+08:00", true),
                    visit("a", "2026-11-25T10:00:00+08:00", true),
                ],
                policy: CompliancePolicy::default(),
                counted: vec!["a"],
                excluded: vec![("b", too_close("a"))],
                compliant: false,
            },
            WeekCase {
                name: "overlapping copies count once even without spacing, accepted or not",
                visits: vec![
                    CountedVisit {
                        ended_at: t("2026-11-25T10:30:00+08:00"),
                        ..visit("a", "2026-11-25T10:00:00+08:00", true)
                    },
                    visit("copy", "2026-11-25T10:00:00+08:00", true),
                    visit("flagged", "2026-11-25T10:29:00+08:00", false),
                    visit("touching", "2026-11-25T10:30:00+08:00", true),
                    visit("later", "2026-11-26T10:00:00+08:00", true),
                ],
                policy: no_spacing(),
                counted: vec!["a", "later"],
                excluded: vec![
                    ("copy", overlaps("a")),
                    ("flagged", overlaps("a")),
                    ("touching", overlaps("a")),
                ],
                compliant: true,
            },
            WeekCase {
                name: "sunday 23:59 local counts and monday 00:00 local does not",
                visits: vec![
                    visit("mon", "2026-11-23T00:00:00+08:00", true),
                    visit("sun", "2026-11-29T23:59:00+08:00", true),
                    visit("next", "2026-11-30T00:00:00+08:00", true),
                    visit("before", "2026-11-22T23:59:59+08:00", true),
                ],
                policy: CompliancePolicy::default(),
                counted: vec!["mon", "sun"],
                excluded: vec![],
                compliant: true,
            },
            WeekCase {
                name: "a minimum of zero is met by no visits",
                visits: vec![],
                policy: CompliancePolicy {
                    min_visits: 0,
                    min_spacing: None,
                },
                counted: vec![],
                excluded: vec![],
                compliant: true,
            },
        ];
        for c in cases {
            let got = week_compliance(w(2026, 48), &c.visits, &c.policy, SHANGHAI);
            assert_eq!(got.week, w(2026, 48), "{}", c.name);
            assert_eq!(got.counted, c.counted, "{}", c.name);
            let excluded: Vec<(String, Exclusion)> = c
                .excluded
                .into_iter()
                .map(|(id, why)| (id.to_owned(), why))
                .collect();
            assert_eq!(got.excluded, excluded, "{}", c.name);
            assert_eq!(got.required, c.policy.min_visits, "{}", c.name);
            assert_eq!(got.compliant, c.compliant, "{}", c.name);
        }
    }

    #[test]
    fn the_year_boundary_week_collects_visits_from_both_calendar_years() {
        let visits = [
            visit("dec", "2026-12-31T10:00:00+08:00", true),
            visit("jan", "2027-01-03T23:59:00+08:00", true),
            visit("w01", "2027-01-04T00:00:00+08:00", true),
        ];
        let policy = CompliancePolicy::default();
        let w53 = week_compliance(w(2026, 53), &visits, &policy, SHANGHAI);
        assert_eq!(w53.counted, ["dec", "jan"]);
        assert!(w53.compliant);
        let w01 = week_compliance(w(2027, 1), &visits, &policy, SHANGHAI);
        assert_eq!(w01.counted, ["w01"]);
        assert!(!w01.compliant);
    }

    #[test]
    fn exclusions_serialise_with_a_reason_tag() {
        let json = serde_json::to_value(too_close("a")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"reason": "TOO_CLOSE_TO_PREVIOUS", "previous_id": "a"})
        );
        let json = serde_json::to_value(Exclusion::NotVerified).unwrap();
        assert_eq!(json, serde_json::json!({"reason": "NOT_VERIFIED"}));
    }

    // ---- reassignment ----

    #[test]
    fn the_requirement_is_prorated_over_full_local_days_and_rounded_up() {
        let week = w(2026, 48); // Monday 23 to Sunday 29 November 2026
        let default = CompliancePolicy::default();
        let three = CompliancePolicy {
            min_visits: 3,
            min_spacing: None,
        };
        let cases: [(&str, &str, Option<&str>, &CompliancePolicy, u32); 13] = [
            (
                "assigned all week",
                "2026-01-01T00:00:00+08:00",
                None,
                &default,
                2,
            ),
            (
                "assigned from Monday 00:00",
                "2026-11-23T00:00:00+08:00",
                None,
                &default,
                2,
            ),
            (
                "four days from Thursday",
                "2026-11-26T00:00:00+08:00",
                None,
                &default,
                2,
            ),
            (
                "three days from Friday",
                "2026-11-27T00:00:00+08:00",
                None,
                &default,
                1,
            ),
            (
                "Thursday 09:00 leaves three full days",
                "2026-11-26T09:00:00+08:00",
                None,
                &default,
                1,
            ),
            (
                "only Sunday",
                "2026-11-29T00:00:00+08:00",
                None,
                &default,
                1,
            ),
            (
                "Sunday afternoon is no full day",
                "2026-11-29T15:00:00+08:00",
                None,
                &default,
                0,
            ),
            (
                "Monday and Tuesday",
                "2026-11-01T00:00:00+08:00",
                Some("2026-11-25T00:00:00+08:00"),
                &default,
                1,
            ),
            (
                "until Thursday 00:00",
                "2026-11-01T00:00:00+08:00",
                Some("2026-11-26T00:00:00+08:00"),
                &default,
                1,
            ),
            (
                "until Friday 00:00",
                "2026-11-01T00:00:00+08:00",
                Some("2026-11-27T00:00:00+08:00"),
                &default,
                2,
            ),
            (
                "assigned after the week",
                "2026-12-01T00:00:00+08:00",
                None,
                &default,
                0,
            ),
            (
                "ended before the week",
                "2026-11-01T00:00:00+08:00",
                Some("2026-11-23T00:00:00+08:00"),
                &default,
                0,
            ),
            (
                "five days of a three-visit week",
                "2026-11-25T00:00:00+08:00",
                None,
                &three,
                3,
            ),
        ];
        for (name, from, until, policy, expected) in cases {
            let got = required_visits(week, t(from), until.map(t), policy, SHANGHAI);
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn full_days_are_local_days_not_utc_days() {
        // Friday 00:00 UTC is Friday 08:00 in Shanghai: Friday is not fully covered there.
        let from = t("2026-11-27T00:00:00Z");
        let policy = CompliancePolicy::default();
        assert_eq!(
            required_visits(w(2026, 48), from, None, &policy, SHANGHAI),
            1
        );
        let sat_sun = CompliancePolicy {
            min_visits: 7,
            min_spacing: None,
        };
        assert_eq!(
            required_visits(w(2026, 48), from, None, &sat_sun, SHANGHAI),
            2
        );
        assert_eq!(
            required_visits(w(2026, 48), from, None, &sat_sun, chrono_tz::UTC),
            3
        );
    }

    #[test]
    fn a_mid_week_handover_judges_each_officer_on_their_share() {
        let handover = t("2026-11-26T00:00:00+08:00"); // Thursday
        let visits_old = [visit("o1", "2026-11-24T10:00:00+08:00", true)];
        let visits_new = [visit("n1", "2026-11-27T10:00:00+08:00", true)];
        let policy = CompliancePolicy::default();
        let week = w(2026, 48);

        let old = assigned_week_compliance(
            week,
            &visits_old,
            t("2026-01-01T00:00:00+08:00"),
            Some(handover),
            &policy,
            SHANGHAI,
        );
        assert_eq!((old.required, old.compliant), (1, true));

        let new = assigned_week_compliance(week, &visits_new, handover, None, &policy, SHANGHAI);
        assert_eq!((new.required, new.compliant), (2, false));
        assert_eq!(new.counted, ["n1"]);
    }

    // ---- one piece of work ----

    fn span(from: &str, to: &str, fixes: &[&str]) -> VisitSpan {
        VisitSpan {
            started_at: t(from),
            ended_at: t(to),
            fix_times: fixes.iter().map(|f| t(f)).collect(),
        }
    }

    #[test]
    fn the_same_occasion_is_overlapping_times_or_a_shared_fix() {
        let a = span(
            "2026-11-24T10:00:00+08:00",
            "2026-11-24T10:20:00+08:00",
            &["2026-11-24T10:05:00+08:00"],
        );
        let cases = [
            ("the same times", a.clone(), true),
            (
                "inside it",
                span(
                    "2026-11-24T10:05:00+08:00",
                    "2026-11-24T10:06:00+08:00",
                    &[],
                ),
                true,
            ),
            (
                "starting as it ends",
                span(
                    "2026-11-24T10:20:00+08:00",
                    "2026-11-24T10:40:00+08:00",
                    &[],
                ),
                true,
            ),
            (
                "the same fix under other times",
                span(
                    "2026-11-24T12:00:00+08:00",
                    "2026-11-24T12:20:00+08:00",
                    &["2026-11-24T10:05:00+08:00"],
                ),
                true,
            ),
            (
                "a minute after it ends",
                span(
                    "2026-11-24T10:21:00+08:00",
                    "2026-11-24T10:40:00+08:00",
                    &[],
                ),
                false,
            ),
            (
                "the day before",
                span(
                    "2026-11-23T10:00:00+08:00",
                    "2026-11-23T10:20:00+08:00",
                    &[],
                ),
                false,
            ),
        ];
        for (name, b, want) in cases {
            assert_eq!(same_occasion(&a, &b), want, "{name}");
            assert_eq!(same_occasion(&b, &a), want, "{name}, reversed");
        }
    }

    #[test]
    fn a_visit_earns_once_per_officer_community_and_window() {
        let earned = [span(
            "2026-11-24T10:00:00+08:00",
            "2026-11-24T10:20:00+08:00",
            &[],
        )];
        let policy = CompliancePolicy::default(); // two hours
        let cases = [
            (
                "a copy",
                "2026-11-24T10:00:00+08:00",
                "2026-11-24T10:20:00+08:00",
                &policy,
                false,
            ),
            (
                "an hour later",
                "2026-11-24T11:00:00+08:00",
                "2026-11-24T11:20:00+08:00",
                &policy,
                false,
            ),
            (
                "an hour earlier",
                "2026-11-24T09:00:00+08:00",
                "2026-11-24T09:20:00+08:00",
                &policy,
                false,
            ),
            (
                "two hours later",
                "2026-11-24T12:00:00+08:00",
                "2026-11-24T12:20:00+08:00",
                &policy,
                true,
            ),
            (
                "the next day",
                "2026-11-25T10:00:00+08:00",
                "2026-11-25T10:20:00+08:00",
                &policy,
                true,
            ),
        ];
        for (name, from, to, policy, want) in cases {
            assert_eq!(
                earns_visit_award(&span(from, to, &[]), &earned, policy, SHANGHAI),
                want,
                "{name}"
            );
        }
        assert!(
            earns_visit_award(&earned[0], &[], &policy, SHANGHAI),
            "the first earns"
        );
        // Without spacing only the same occasion is one piece of work.
        let none = no_spacing();
        let later = span(
            "2026-11-24T10:30:00+08:00",
            "2026-11-24T10:50:00+08:00",
            &[],
        );
        assert!(earns_visit_award(&later, &earned, &none, SHANGHAI));
        assert!(!earns_visit_award(&earned[0], &earned, &none, SHANGHAI));
        // The spacing window stops at the week's end, as compliance's count does.
        let sunday = [span(
            "2026-11-29T23:00:00+08:00",
            "2026-11-29T23:20:00+08:00",
            &[],
        )];
        let monday = span(
            "2026-11-30T00:30:00+08:00",
            "2026-11-30T00:50:00+08:00",
            &[],
        );
        assert!(earns_visit_award(&monday, &sunday, &policy, SHANGHAI));
    }

    // ---- a month's weeks ----

    #[test]
    fn a_month_judges_the_weeks_whose_thursday_it_holds_that_have_started() {
        let at = |s: &str| t(s);
        let weeks = |ws: &[(i32, u32, bool)]| -> Vec<(IsoWeek, bool)> {
            ws.iter()
                .map(|&(y, n, running)| (w(y, n), running))
                .collect()
        };
        type Case = (&'static str, i32, u32, &'static str, Vec<(IsoWeek, bool)>);
        let cases: [Case; 7] = [
            (
                "early December: only week 49 (Nov 30 - Dec 6, Thursday Dec 3), running",
                2026,
                12,
                "2026-12-06T09:00:00+08:00",
                weeks(&[(2026, 49, true)]),
            ),
            (
                "November seen from December: weeks 45-48, all ended; week 44 is October's",
                2026,
                11,
                "2026-12-06T09:00:00+08:00",
                weeks(&[
                    (2026, 45, false),
                    (2026, 46, false),
                    (2026, 47, false),
                    (2026, 48, false),
                ]),
            ),
            (
                "mid November: the ended weeks and the running one, none to come",
                2026,
                11,
                "2026-11-18T09:00:00+08:00",
                weeks(&[(2026, 45, false), (2026, 46, false), (2026, 47, true)]),
            ),
            (
                "the last instant of a week leaves it running",
                2026,
                11,
                "2026-11-08T23:59:59+08:00",
                weeks(&[(2026, 45, true)]),
            ),
            (
                "Monday 00:00 local ends the week before",
                2026,
                11,
                "2026-11-09T00:00:00+08:00",
                weeks(&[(2026, 45, false), (2026, 46, true)]),
            ),
            (
                "week 53 of 2026 (Thursday Dec 31) is December's, not January's",
                2027,
                1,
                "2027-01-31T12:00:00+08:00",
                weeks(&[
                    (2027, 1, false),
                    (2027, 2, false),
                    (2027, 3, false),
                    (2027, 4, true),
                ]),
            ),
            (
                "a month still to come judges nothing",
                2027,
                2,
                "2026-12-06T09:00:00+08:00",
                vec![],
            ),
        ];
        for (name, year, month, now, want) in cases {
            assert_eq!(month_weeks(year, month, at(now), SHANGHAI), want, "{name}");
        }
        let december = month_weeks(2026, 12, at("2027-01-10T00:00:00+08:00"), SHANGHAI);
        assert_eq!(december.last(), Some(&(w(2026, 53), false)));
        assert_eq!(december.len(), 5);
        assert!(month_weeks(2026, 13, at("2026-12-06T09:00:00+08:00"), SHANGHAI).is_empty());
    }

    // ---- 721 mix ----

    type Shares = (f64, f64, f64);

    fn close(a: (f64, f64, f64), b: (f64, f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-12 && (a.2 - b.2).abs() < 1e-12
    }

    #[test]
    fn the_721_mix_reports_shares_and_deviation_from_target() {
        use Class721::*;
        let cases: [(&str, Vec<Class721>, Shares, Option<Shares>); 4] = [
            ("nothing recorded", vec![], (0.0, 0.0, 0.0), None),
            (
                "exactly on target",
                [vec![Service; 7], vec![Management; 2], vec![Enforcement]].concat(),
                (0.7, 0.2, 0.1),
                Some((0.0, 0.0, 0.0)),
            ),
            (
                "service only",
                vec![Service; 3],
                (1.0, 0.0, 0.0),
                Some((0.3, -0.2, -0.1)),
            ),
            (
                "half enforcement",
                vec![Service, Enforcement],
                (0.5, 0.0, 0.5),
                Some((-0.2, -0.2, 0.4)),
            ),
        ];
        for (name, actions, shares, deviation) in cases {
            let mix: Mix721 = actions.iter().copied().collect();
            assert_eq!(mix.total(), actions.len() as u64, "{name}");
            assert!(close(mix.shares(), shares), "{name}: {:?}", mix.shares());
            match (mix.deviation_from_target(), deviation) {
                (None, None) => {}
                (Some(got), Some(want)) => assert!(close(got, want), "{name}: {got:?}"),
                (got, want) => panic!("{name}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn mixes_merge_into_the_same_counts_as_one_recount() {
        use Class721::*;
        let raw = [
            Service,
            Management,
            Service,
            Enforcement,
            Service,
            Management,
        ];
        let mut street = Mix721::default();
        for community in raw.chunks(2) {
            street.merge(community.iter().copied().collect());
        }
        let recount: Mix721 = raw.into_iter().collect();
        assert_eq!(street, recount);
        assert_eq!(
            (street.service(), street.management(), street.enforcement()),
            (3, 2, 1)
        );
    }
}
