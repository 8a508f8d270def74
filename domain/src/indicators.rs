//! The figures the bureau counts (指标), each defined once here: its code, its Chinese
//! name, its formula and its unit. Responses, reports and documentation take them from
//! these definitions, and every figure is answered with its numerator and denominator
//! so a reader can check it.
//!
//! Periods are calendar spans in the district's time zone: an ISO week (`2026-W49`), a
//! month (`2026-12`), a quarter (`2026-Q4`), a year (`2026`), or two days inclusive.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, Weekday};
use serde::Serialize;

use crate::{DomainError, DomainResult};

/// What a figure counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A number of things.
    Count,
    /// Numerator over denominator, 0 to 1; absent when the denominator is 0.
    Share,
}

/// One indicator's definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Indicator {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub formula: &'static str,
    pub unit: Unit,
}

pub const MEETINGS_HELD: Indicator = Indicator {
    code: "meetings_held",
    name_zh: "召开议事协调会",
    formula: "meetings held in the period (议事会, 协调会, 恳谈会)",
    unit: Unit::Count,
};
pub const PROBLEMS_SETTLED_AT_MEETINGS: Indicator = Indicator {
    code: "problems_settled_at_meetings",
    name_zh: "会上解决问题",
    formula: "problems the period's meetings list as settled",
    unit: Unit::Count,
};
pub const SOLVED_BEFORE_COMPLAINT: Indicator = Indicator {
    code: "solved_before_complaint",
    name_zh: "未诉先办",
    formula: "cases reported from a meeting (source community_meeting) in the period and closed as fixed",
    unit: Unit::Count,
};
pub const EVENTS_HELD: Indicator = Indicator {
    code: "events_held",
    name_zh: "开展宣传服务活动",
    formula: "public events held in the period (open days, face-to-face, legal publicity)",
    unit: Unit::Count,
};
pub const EVENT_ATTENDANCE: Indicator = Indicator {
    code: "event_attendance",
    name_zh: "活动参与人次",
    formula: "sum of the attendance of the period's public events",
    unit: Unit::Count,
};
pub const SUGGESTIONS_RECEIVED: Indicator = Indicator {
    code: "suggestions_received",
    name_zh: "收集意见建议",
    formula: "suggestions received in the period",
    unit: Unit::Count,
};
pub const SUGGESTIONS_ANSWER_RATE: Indicator = Indicator {
    code: "suggestions_answer_rate",
    name_zh: "意见建议答复率",
    formula: "suggestions received in the period and answered / suggestions received in the period",
    unit: Unit::Share,
};

/// The engagement indicators, in the order reports show them.
pub const ENGAGEMENT: [Indicator; 7] = [
    MEETINGS_HELD,
    PROBLEMS_SETTLED_AT_MEETINGS,
    SOLVED_BEFORE_COMPLAINT,
    EVENTS_HELD,
    EVENT_ATTENDANCE,
    SUGGESTIONS_RECEIVED,
    SUGGESTIONS_ANSWER_RATE,
];

/// One figure: the value with what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    pub code: &'static str,
    pub value: Option<f64>,
    pub numerator: u64,
    /// For shares; absent for counts.
    pub denominator: Option<u64>,
}

impl Figure {
    fn of(ind: &Indicator, numerator: u64, denominator: u64) -> Figure {
        match ind.unit {
            Unit::Count => Figure {
                code: ind.code,
                value: Some(numerator as f64),
                numerator,
                denominator: None,
            },
            Unit::Share => Figure {
                code: ind.code,
                value: (denominator > 0).then(|| numerator as f64 / denominator as f64),
                numerator,
                denominator: Some(denominator),
            },
        }
    }
}

/// A span of days, `from` inclusive, `until` exclusive, with the name it was asked by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub label: String,
    pub from: NaiveDate,
    pub until: NaiveDate,
}

impl Period {
    /// The last day in the period.
    pub fn last_day(&self) -> NaiveDate {
        self.until - Duration::days(1)
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

/// How figures are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    District,
    Street,
    Community,
    Officer,
}

impl std::str::FromStr for Grouping {
    type Err = DomainError;

    fn from_str(s: &str) -> DomainResult<Self> {
        match s {
            "district" => Ok(Grouping::District),
            "street" => Ok(Grouping::Street),
            "community" => Ok(Grouping::Community),
            "officer" => Ok(Grouping::Officer),
            _ => Err(DomainError::invalid(
                "group",
                "must be district, street, community or officer",
            )),
        }
    }
}

/// Where a record belongs, for every grouping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub street: String,
    pub community: String,
    /// The staff member who recorded or handled it.
    pub officer: String,
}

impl Keys {
    pub fn key(&self, g: Grouping) -> &str {
        match g {
            Grouping::District => "",
            Grouping::Street => &self.street,
            Grouping::Community => &self.community,
            Grouping::Officer => &self.officer,
        }
    }
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

/// The engagement figures of each group, in [`ENGAGEMENT`] order.
pub fn engagement(facts: &[(Keys, EngagementFact)], g: Grouping) -> BTreeMap<String, Vec<Figure>> {
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
    let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
    for (keys, fact) in facts {
        let s = groups.entry(keys.key(g).to_owned()).or_default();
        match fact {
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
                s.answered += u64::from(*answered);
            }
            EngagementFact::MeetingCase { fixed } => s.fixed += u64::from(*fixed),
        }
    }
    groups
        .into_iter()
        .map(|(k, s)| {
            (
                k,
                vec![
                    Figure::of(&MEETINGS_HELD, s.meetings, 0),
                    Figure::of(&PROBLEMS_SETTLED_AT_MEETINGS, s.settled, 0),
                    Figure::of(&SOLVED_BEFORE_COMPLAINT, s.fixed, 0),
                    Figure::of(&EVENTS_HELD, s.events, 0),
                    Figure::of(&EVENT_ATTENDANCE, s.attendance, 0),
                    Figure::of(&SUGGESTIONS_RECEIVED, s.suggestions, 0),
                    Figure::of(&SUGGESTIONS_ANSWER_RATE, s.answered, s.suggestions),
                ],
            )
        })
        .collect()
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
    }

    #[test]
    fn engagement_figures_sum_per_group_with_their_shares() {
        let k = |street: &str, community: &str| Keys {
            street: street.into(),
            community: community.into(),
            officer: "o".into(),
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
