//! The monthly report (按月调度): each figure beside last month's, and the rules that
//! pick what a supervisor must look at (top categories, people and communities at risk,
//! recurring problems).

use serde::Serialize;

use super::{Family, Figure, Indicator, Unit};

/// A figure with its definition and the same figure a period earlier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compared {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub unit: Unit,
    pub value: Option<f64>,
    pub numerator: i64,
    pub denominator: Option<u64>,
    pub previous: Option<f64>,
    /// Value minus the previous value (for shares, in points of the share); absent when
    /// either is.
    pub change: Option<f64>,
}

/// One family's figures of a district or street, beside the previous period's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub family: Family,
    pub name_zh: &'static str,
    pub figures: Vec<Compared>,
}

/// Puts each of the family's indicators beside its previous value. A figure missing
/// from a period (nothing counted) reads as zero for counts and absent otherwise.
pub fn compare(family: Family, current: &[Figure], previous: &[Figure]) -> Section {
    let value = |figures: &[Figure], ind: &Indicator| -> (Option<f64>, i64, Option<u64>) {
        match figures.iter().find(|f| f.code == ind.code) {
            Some(f) => (f.value, f.numerator, f.denominator),
            None if ind.unit == Unit::Count => (Some(0.0), 0, None),
            None => (None, 0, Some(0)),
        }
    };
    let figures = family
        .indicators()
        .iter()
        .map(|ind| {
            let (v, numerator, denominator) = value(current, ind);
            let (prev, _, _) = value(previous, ind);
            Compared {
                code: ind.code,
                name_zh: ind.name_zh,
                unit: ind.unit,
                value: v,
                numerator,
                denominator,
                previous: prev,
                change: v.zip(prev).map(|(a, b)| a - b),
            }
        })
        .collect();
    Section {
        family,
        name_zh: family.name_zh(),
        figures,
    }
}

/// A community is at risk when fewer than this share of its due cases closed on time.
pub const AT_RISK_ON_TIME_SHARE: f64 = 0.8;

/// Why a person is listed as at risk, in the report's words, if they are: a missed
/// twice-weekly week.
pub fn person_at_risk(compliance: &Figure) -> Option<String> {
    let judged = compliance.denominator.unwrap_or(0);
    let met = u64::try_from(compliance.numerator).unwrap_or(0);
    (judged > met).then(|| format!("{judged}周中{}周走访不足两次", judged - met))
}

/// Why a community is listed as at risk, if it is: on-time closing under
/// [`AT_RISK_ON_TIME_SHARE`], or any case overdue.
pub fn community_at_risk(on_time: &Figure, overdue: usize) -> Option<String> {
    let low = on_time.value.is_some_and(|v| v < AT_RISK_ON_TIME_SHARE);
    let mut why = Vec::new();
    if low {
        why.push(format!(
            "按期结案{}/{}，低于{:.0}%",
            on_time.numerator,
            on_time.denominator.unwrap_or(0),
            AT_RISK_ON_TIME_SHARE * 100.0
        ));
    }
    if overdue > 0 {
        why.push(format!("{overdue}件超期未结"));
    }
    (!why.is_empty()).then(|| why.join("；"))
}

/// A problem that recurs where it was reported: this many cases of one category in one
/// community in the month make it a hot spot.
pub const HOT_SPOT_MIN_CASES: u64 = 3;

#[cfg(test)]
mod tests {
    use super::super::definitions::*;
    use super::*;

    #[test]
    fn each_figure_stands_beside_last_period_with_its_change() {
        let now = [
            Figure::of(&CASES_ACCEPTED, 10, 0),
            Figure::of(&CLOSING_RATE, 3, 4),
        ];
        let before = [Figure::of(&CLOSING_RATE, 1, 2)];
        let s = compare(Family::Cases, &now, &before);
        assert_eq!(s.figures.len(), CASES.len());
        let get = |code| s.figures.iter().find(|f| f.code == code).unwrap();
        let accepted = get("cases_accepted");
        assert_eq!(
            (accepted.previous, accepted.change),
            (Some(0.0), Some(10.0))
        );
        let rate = get("closing_rate");
        assert_eq!(rate.change, Some(0.25));
        let p90 = get("handling_minutes_p90");
        assert_eq!((p90.value, p90.change), (None, None));
    }

    #[test]
    fn risk_says_why() {
        assert_eq!(
            person_at_risk(&Figure::of(&VISIT_COMPLIANCE_RATE, 4, 4)),
            None
        );
        assert!(
            person_at_risk(&Figure::of(&VISIT_COMPLIANCE_RATE, 3, 4))
                .unwrap()
                .starts_with("4周中1周")
        );
        let on_time = Figure::of(&ON_TIME_CLOSING_RATE, 7, 10);
        assert!(community_at_risk(&on_time, 0).unwrap().contains("7/10"));
        assert_eq!(
            community_at_risk(&Figure::of(&ON_TIME_CLOSING_RATE, 9, 10), 0),
            None
        );
        assert_eq!(
            community_at_risk(&Figure::of(&ON_TIME_CLOSING_RATE, 9, 10), 2).unwrap(),
            "2件超期未结"
        );
    }
}
