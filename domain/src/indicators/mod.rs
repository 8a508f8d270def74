//! The figures the bureau counts (指标), each defined once ([`definitions`]): its code,
//! its Chinese name, its formula and its unit. Responses, reports and documentation take
//! them from these definitions, and every figure is answered with its numerator and
//! denominator so a reader can check it. The rules that count them live in [`families`],
//! over facts the store reads from the raw records.
//!
//! Periods are calendar spans in the district's time zone: an ISO week (`2026-W49`), a
//! month (`2026-12`), a quarter (`2026-Q4`), a year (`2026`), or two days inclusive.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

use crate::visit::IsoWeek;
use crate::{DomainError, DomainResult};

pub mod definitions;
pub mod families;
pub mod report;

pub use definitions::*;
pub use families::*;

/// What a figure's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A number of things: the numerator.
    Count,
    /// Numerator over denominator, 0 to 1; absent when the denominator is 0.
    Share,
    /// A mean: numerator (a sum) over denominator (how many); absent when none.
    Mean,
    /// The 90th percentile (nearest rank) of the denominator's values: the numerator;
    /// absent when none.
    P90,
}

impl Unit {
    /// The wire name (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Share => "share",
            Unit::Mean => "mean",
            Unit::P90 => "p90",
        }
    }
}

/// One indicator's definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Indicator {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub formula: &'static str,
    pub unit: Unit,
}

/// One figure: the value with what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub code: &'static str,
    pub value: Option<f64>,
    pub numerator: i64,
    /// For shares, means and percentiles; absent for counts.
    pub denominator: Option<u64>,
    /// A count split by reason (unverified visits by reason code); a record with
    /// several reasons is in each of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<BTreeMap<&'static str, u64>>,
}

impl Figure {
    pub fn of(ind: &Indicator, numerator: i64, denominator: u64) -> Figure {
        let some = denominator > 0;
        let (value, denominator) = match ind.unit {
            Unit::Count => (Some(numerator as f64), None),
            Unit::Share | Unit::Mean => (
                some.then(|| numerator as f64 / denominator as f64),
                Some(denominator),
            ),
            Unit::P90 => (some.then_some(numerator as f64), Some(denominator)),
        };
        Figure {
            code: ind.code,
            value,
            numerator,
            denominator,
            parts: None,
        }
    }

    /// A count with its parts.
    pub fn with_parts(mut self, parts: BTreeMap<&'static str, u64>) -> Figure {
        self.parts = Some(parts);
        self
    }
}

/// A span of days, `from` inclusive, `until` exclusive, with the name it was asked by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub label: String,
    pub from: NaiveDate,
    pub until: NaiveDate,
}

/// A period as half-open UTC millisecond bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: i64,
    pub until: i64,
}

impl Span {
    pub fn holds(self, at: i64) -> bool {
        self.from <= at && at < self.until
    }

    pub fn holds_opt(self, at: Option<i64>) -> bool {
        at.is_some_and(|at| self.holds(at))
    }
}

impl Period {
    /// The last day in the period.
    pub fn last_day(&self) -> NaiveDate {
        self.until - Duration::days(1)
    }

    /// Its instants in `tz`: from the first day's start to the start of the day after.
    pub fn span(&self, tz: Tz) -> Span {
        let at = |d: NaiveDate| crate::visit::local_start_of_day(d, tz).timestamp_millis();
        Span {
            from: at(self.from),
            until: at(self.until),
        }
    }

    /// The period of the same kind just before this one (the month before a month, the
    /// week before a week, the same number of days before a span of days).
    pub fn previous(&self) -> Period {
        let label = self.label.as_str();
        let before = self.from - Duration::days(1);
        let named = if label.contains("-W") {
            let w = before.iso_week();
            Some(format!("{}-W{:02}", w.year(), w.week()))
        } else if label.contains("-Q") {
            Some(format!("{}-Q{}", before.year(), before.month0() / 3 + 1))
        } else if label.len() == 7 {
            Some(format!("{}-{:02}", before.year(), before.month()))
        } else if label.len() == 4 {
            Some(before.year().to_string())
        } else {
            None
        };
        named
            .and_then(|l| Period::parse(&l).ok())
            .unwrap_or_else(|| {
                let days = self.until - self.from;
                Period {
                    label: format!("{}..{}", self.from - days, before),
                    from: self.from - days,
                    until: self.from,
                }
            })
    }

    /// The ISO weeks that belong to the period and have ended by `now`: a week belongs
    /// to the period holding its Thursday (the rule months use for visit compliance), so
    /// a week is judged in exactly one month, quarter or year.
    pub fn finished_weeks(&self, now_ms: i64, tz: Tz) -> Vec<IsoWeek> {
        self.from
            .iter_days()
            .take_while(|d| *d < self.until)
            .filter(|d| d.weekday() == Weekday::Thu)
            .map(|thursday| {
                let w = thursday.iso_week();
                IsoWeek {
                    year: w.year(),
                    week: w.week(),
                }
            })
            .filter(|w| w.end_utc(tz).timestamp_millis() <= now_ms)
            .collect()
    }
    /// Reads `2026-W49`, `2026-12`, `2026-Q4` or `2026`.
    pub fn parse(s: &str) -> DomainResult<Period> {
        let bad = || {
            DomainError::invalid(
                "period",
                "must be an ISO week (2026-W49), a month (2026-12), a quarter (2026-Q4) or a year (2026)",
            )
        };
        let year = |y: &str| -> DomainResult<i32> {
            y.parse::<i32>()
                .ok()
                .filter(|n| y.len() == 4 && (2000..=2100).contains(n))
                .ok_or_else(bad)
        };
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).ok_or_else(bad);
        let (from, until) = match s.split_once('-') {
            None => {
                let y = year(s)?;
                (ymd(y, 1, 1)?, ymd(y + 1, 1, 1)?)
            }
            Some((y, rest)) => {
                let y = year(y)?;
                if let Some(w) = rest.strip_prefix('W') {
                    let w: u32 = w.parse().map_err(|_| bad())?;
                    let from = NaiveDate::from_isoywd_opt(y, w, Weekday::Mon).ok_or_else(bad)?;
                    (from, from + Duration::days(7))
                } else if let Some(q) = rest.strip_prefix('Q') {
                    let q: u32 = q
                        .parse()
                        .ok()
                        .filter(|q| (1..=4).contains(q))
                        .ok_or_else(bad)?;
                    let from = ymd(y, 3 * q - 2, 1)?;
                    let until = if q == 4 {
                        ymd(y + 1, 1, 1)?
                    } else {
                        ymd(y, 3 * q + 1, 1)?
                    };
                    (from, until)
                } else {
                    let m: u32 = rest
                        .parse()
                        .ok()
                        .filter(|m| (1..=12).contains(m) && rest.len() == 2)
                        .ok_or_else(bad)?;
                    let from = ymd(y, m, 1)?;
                    let until = if m == 12 {
                        ymd(y + 1, 1, 1)?
                    } else {
                        ymd(y, m + 1, 1)?
                    };
                    (from, until)
                }
            }
        };
        Ok(Period {
            label: s.to_owned(),
            from,
            until,
        })
    }

    /// Reads a month, `2026-11`, and nothing else.
    pub fn month(s: &str) -> DomainResult<Period> {
        let is_month = s.len() == 7 && s[5..].bytes().all(|b| b.is_ascii_digit());
        Period::parse(s)
            .ok()
            .filter(|_| is_month)
            .ok_or_else(|| DomainError::invalid("month", "must be a month, such as 2026-11"))
    }

    /// Two days, both inclusive; at most about ten years.
    pub fn between(from: NaiveDate, to: NaiveDate) -> DomainResult<Period> {
        if to < from {
            return Err(DomainError::invalid("to", "must not be before `from`"));
        }
        if (to - from).num_days() > 3700 {
            return Err(DomainError::invalid(
                "to",
                "a period spans at most ten years",
            ));
        }
        Ok(Period {
            label: format!("{from}..{to}"),
            from,
            until: to + Duration::days(1),
        })
    }
}

/// How figures are grouped. Not every family has every grouping ([`Family::groupings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    District,
    Street,
    Community,
    /// The staff member who recorded, handled or took the record up.
    Officer,
    /// The department a case's tasks went to (a case with tasks for two is in both;
    /// one with none, under the empty key).
    Department,
    /// The case's problem category.
    Category,
    /// How the case arrived.
    Source,
}

impl Grouping {
    pub const ALL: [Grouping; 7] = [
        Grouping::District,
        Grouping::Street,
        Grouping::Community,
        Grouping::Officer,
        Grouping::Department,
        Grouping::Category,
        Grouping::Source,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Grouping::District => "district",
            Grouping::Street => "street",
            Grouping::Community => "community",
            Grouping::Officer => "officer",
            Grouping::Department => "department",
            Grouping::Category => "category",
            Grouping::Source => "source",
        }
    }
}

impl std::str::FromStr for Grouping {
    type Err = DomainError;

    fn from_str(s: &str) -> DomainResult<Self> {
        Grouping::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "group",
                    "must be district, street, community, officer, department, category or source",
                )
            })
    }
}

/// Where a record belongs, for every grouping. Records that are not cases leave the
/// case-only keys empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    pub street: String,
    pub community: String,
    /// The staff member who recorded, handled or took it up; empty when nobody.
    pub officer: String,
    pub departments: Vec<String>,
    pub category: String,
    pub source: String,
}

impl Keys {
    /// The groups the record counts in under `g`: one, or one per department.
    pub fn keys(&self, g: Grouping) -> Vec<&str> {
        match g {
            Grouping::District => vec![""],
            Grouping::Street => vec![&self.street],
            Grouping::Community => vec![&self.community],
            Grouping::Officer => vec![&self.officer],
            Grouping::Department if self.departments.is_empty() => vec![""],
            Grouping::Department => self.departments.iter().map(String::as_str).collect(),
            Grouping::Category => vec![&self.category],
            Grouping::Source => vec![&self.source],
        }
    }
}

/// The families of indicators, each answered as one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Cases,
    Whistles,
    Residents,
    Visits,
    Points,
    Engagement,
}

impl Family {
    pub const ALL: [Family; 6] = [
        Family::Cases,
        Family::Whistles,
        Family::Residents,
        Family::Visits,
        Family::Points,
        Family::Engagement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Cases => "cases",
            Family::Whistles => "whistles",
            Family::Residents => "residents",
            Family::Visits => "visits",
            Family::Points => "points",
            Family::Engagement => "engagement",
        }
    }

    /// The Chinese heading a report gives the family.
    pub fn name_zh(self) -> &'static str {
        match self {
            Family::Cases => "案件办理",
            Family::Whistles => "吹哨报到",
            Family::Residents => "群众评价",
            Family::Visits => "进社区走访",
            Family::Points => "积分管理",
            Family::Engagement => "议事与服务",
        }
    }

    /// The family's indicators, in the order tables and reports show them.
    pub fn indicators(self) -> &'static [Indicator] {
        match self {
            Family::Cases => &CASES,
            Family::Whistles => &WHISTLES,
            Family::Residents => &RESIDENTS,
            Family::Visits => &VISITS,
            Family::Points => &POINTS,
            Family::Engagement => &ENGAGEMENT,
        }
    }

    /// The groupings its records can be split by: only cases know departments,
    /// categories and sources; points belong to people, not places.
    pub fn groupings(self) -> &'static [Grouping] {
        use Grouping::*;
        match self {
            Family::Cases | Family::Residents => &Grouping::ALL,
            Family::Whistles | Family::Visits | Family::Engagement => {
                &[District, Street, Community, Officer]
            }
            Family::Points => &[District, Officer],
        }
    }

    /// `g`, if the family can be grouped by it.
    pub fn grouping(self, g: Grouping) -> DomainResult<Grouping> {
        if self.groupings().contains(&g) {
            return Ok(g);
        }
        let names: Vec<&str> = self.groupings().iter().map(|g| g.as_str()).collect();
        Err(DomainError::invalid(
            "group",
            format!(
                "{} figures group by {}, not by {}",
                self.as_str(),
                names.join(", "),
                g.as_str()
            ),
        ))
    }
}

impl std::str::FromStr for Family {
    type Err = DomainError;

    fn from_str(s: &str) -> DomainResult<Self> {
        Family::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "family",
                    "must be cases, whistles, residents, visits, points or engagement",
                )
            })
    }
}

/// Figures per group key, in the family's indicator order.
pub type Table = BTreeMap<String, Vec<Figure>>;

/// The reference page of every indicator (`docs/indicators.md`), written from the
/// definitions so the documentation cannot drift from what the server counts.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Indicators (指标)\n\nWritten from `domain/src/indicators/definitions.rs` by \
         `reference_markdown`; a unit test fails when this page and the definitions differ \
         (`PATROL_WRITE_DOCS=1 cargo test -p patrol-domain indicators` rewrites it).\n\n\
         `GET /api/v1/indicators/{family}` answers each family for a period and a grouping; \
         every figure carries its numerator and denominator. \"In the period\" means an \
         instant in the period's half-open span in the district's time zone.\n",
    );
    for f in Family::ALL {
        let groupings: Vec<&str> = f.groupings().iter().map(|g| g.as_str()).collect();
        out.push_str(&format!(
            "\n## {} (`{}`)\n\nGroupings: {}.\n\n| code | 名称 | unit | formula |\n|---|---|---|---|\n",
            f.name_zh(),
            f.as_str(),
            groupings.join(", ")
        ));
        for i in f.indicators() {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                i.code,
                i.name_zh,
                i.unit.as_str(),
                i.formula
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_of_every_kind_are_calendar_spans() {
        let p = Period::parse("2026-12").unwrap();
        assert_eq!((p.from, p.until), (day("2026-12-01"), day("2027-01-01")));
        let p = Period::parse("2026-W49").unwrap();
        assert_eq!((p.from, p.until), (day("2026-11-30"), day("2026-12-07")));
        let p = Period::parse("2026-Q4").unwrap();
        assert_eq!((p.from, p.until), (day("2026-10-01"), day("2027-01-01")));
        let p = Period::parse("2026").unwrap();
        assert_eq!(
            (p.from, p.last_day()),
            (day("2026-01-01"), day("2026-12-31"))
        );
        let p = Period::between(day("2026-12-01"), day("2026-12-01")).unwrap();
        assert_eq!(p.until, day("2026-12-02"));
        for bad in [
            "2026-13",
            "2026-W54",
            "2026-Q5",
            "26",
            "2026-1",
            "x",
            "2026-12-01",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert!(Period::between(day("2026-12-02"), day("2026-12-01")).is_err());
        assert_eq!(Period::month("2026-11").unwrap().until, day("2026-12-01"));
        for not_a_month in ["2026-Q3", "2026-W45", "2026", "2026-1", "2026-13"] {
            assert!(Period::month(not_a_month).is_err(), "{not_a_month}");
        }
    }

    #[test]
    fn the_previous_period_is_of_the_same_kind() {
        let prev = |s: &str| Period::parse(s).unwrap().previous().label;
        assert_eq!(prev("2026-01"), "2025-12");
        assert_eq!(prev("2026-12"), "2026-11");
        assert_eq!(prev("2026-W01"), "2025-W52");
        assert_eq!(prev("2026-W49"), "2026-W48");
        assert_eq!(prev("2026-Q1"), "2025-Q4");
        assert_eq!(prev("2026-Q3"), "2026-Q2");
        assert_eq!(prev("2026"), "2025");
        let span = Period::between(day("2026-12-01"), day("2026-12-10")).unwrap();
        let p = span.previous();
        assert_eq!(
            (p.from, p.last_day()),
            (day("2026-11-21"), day("2026-11-30"))
        );
    }

    #[test]
    fn a_week_belongs_to_the_period_holding_its_thursday_and_counts_once_ended() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let later = day("2030-01-01")
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        // 2026-12: Thursdays 3, 10, 17, 24, 31; W53 (Mon 28 Dec) belongs to December.
        let weeks = Period::parse("2026-12").unwrap().finished_weeks(later, tz);
        let names: Vec<String> = weeks.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            names,
            ["2026-W49", "2026-W50", "2026-W51", "2026-W52", "2026-W53"]
        );
        // November holds W48 (Thursday 26 Nov), not W49 (Thursday 3 Dec).
        let nov = Period::parse("2026-11").unwrap().finished_weeks(later, tz);
        assert_eq!(nov.last().unwrap().to_string(), "2026-W48");
        // A week still running is not judged.
        let mid = day("2026-12-09")
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        let running = Period::parse("2026-12").unwrap().finished_weeks(mid, tz);
        assert_eq!(running.len(), 1);
    }

    #[test]
    fn groupings_a_family_does_not_have_are_refused_by_name() {
        assert!(Family::Cases.grouping(Grouping::Department).is_ok());
        let e = Family::Points.grouping(Grouping::Community).unwrap_err();
        assert!(
            e.to_string()
                .contains("points figures group by district, officer"),
            "{e}"
        );
        assert!("nonsense".parse::<Family>().is_err());
        for f in Family::ALL {
            assert_eq!(f.as_str().parse::<Family>().unwrap(), f);
            assert!(f.groupings().contains(&Grouping::District));
        }
    }

    #[test]
    fn the_reference_page_is_written_from_the_definitions() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/indicators.md");
        let want = reference_markdown();
        if std::env::var_os("PATROL_WRITE_DOCS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/indicators.md differs from the definitions; rerun with PATROL_WRITE_DOCS=1"
        );
        for f in Family::ALL {
            for i in f.indicators() {
                assert!(want.contains(i.code));
            }
        }
    }

    #[test]
    fn a_case_for_two_departments_counts_in_both() {
        let k = Keys {
            departments: vec!["d1".into(), "d2".into()],
            ..Keys::default()
        };
        assert_eq!(k.keys(Grouping::Department), ["d1", "d2"]);
        assert_eq!(Keys::default().keys(Grouping::Department), [""]);
    }
}
