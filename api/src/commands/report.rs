//! The monthly report (按月调度) of the district or one street: every indicator beside
//! last month's, the week-by-week trend of reports, the top categories, overdue cases,
//! people and communities at risk, the meetings and events held, and recurring
//! problems. Its figures are the indicator tables' own ([`super::indicators`]).

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use patrol_domain::case::CaseStatus;
use patrol_domain::indicators::report::{self, HOT_SPOT_MIN_CASES, Section};
use patrol_domain::indicators::{Family, Figure, Grouping, Period};
use patrol_domain::visit::{CompliancePolicy, IsoWeek, week_of};
use serde::Serialize;

use super::indicators::{self, Ask, FigureRow};
use crate::db::schema::{cases, categories, communities, meetings, public_events};
use crate::db::{DbConn, StoreError};

/// A ranked count with what it names.
#[derive(Debug, Clone, Serialize)]
pub struct Ranked {
    pub key: String,
    pub name: String,
    pub count: i64,
}

/// Someone or somewhere the supervisor should look at, and why.
#[derive(Debug, Clone, Serialize)]
pub struct AtRisk {
    pub key: String,
    pub name: String,
    pub why: String,
}

/// An open case past its closing deadline at the end of the month (or now).
#[derive(Debug, Clone, Serialize)]
pub struct OverdueCase {
    pub id: String,
    pub community: String,
    pub category: String,
    pub status: String,
    pub close_due_at: chrono::DateTime<Utc>,
}

/// A meeting or an event held in the month.
#[derive(Debug, Clone, Serialize)]
pub struct Held {
    pub day: String,
    pub community: String,
    pub kind: String,
    /// Problems settled (a meeting) or attendance (an event).
    pub count: i32,
}

/// Cases of one category recurring in one community in the month.
#[derive(Debug, Clone, Serialize)]
pub struct HotSpot {
    pub community: String,
    pub community_name: String,
    pub category: String,
    pub category_name: String,
    pub cases: i64,
}

/// Reports in one ISO week.
#[derive(Debug, Clone, Serialize)]
pub struct WeekCount {
    pub week: String,
    pub cases: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthlyReport {
    pub month: String,
    /// The street reported on; absent for the whole district (within the caller's scope).
    pub street: Option<Ranked>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_month: String,
    pub sections: Vec<Section>,
    /// Cases reported in each of the eight weeks up to the month's last.
    pub weekly_cases: Vec<WeekCount>,
    pub top_categories: Vec<Ranked>,
    pub overdue_cases: Vec<OverdueCase>,
    pub people_at_risk: Vec<AtRisk>,
    pub communities_at_risk: Vec<AtRisk>,
    pub meetings: Vec<Held>,
    pub events: Vec<Held>,
    pub hot_spots: Vec<HotSpot>,
    pub generated_at: chrono::DateTime<Utc>,
}

/// How many overdue cases the report lists (all are counted per community).
const OVERDUE_LISTED: usize = 50;

fn figure<'a>(row: Option<&'a FigureRow>, code: &str) -> Option<&'a Figure> {
    row?.figures.iter().find(|f| f.code == code)
}

/// The report of `month` over the communities in `only` (a street, a scope), or all.
pub fn monthly(
    conn: &mut DbConn,
    month: &Period,
    street: Option<Ranked>,
    only: Option<&[String]>,
    policy: &CompliancePolicy,
) -> Result<MonthlyReport, StoreError> {
    let now = crate::db::ids::now_ms();
    let previous = month.previous();
    let ask = |period, group| Ask {
        period,
        group,
        only,
        policy,
        now_ms: now,
    };
    let mut sections = Vec::new();
    for family in Family::ALL {
        let current = indicators::table(conn, family, &ask(month, Grouping::District))?;
        let before = indicators::table(conn, family, &ask(&previous, Grouping::District))?;
        let figures =
            |rows: &[FigureRow]| rows.first().map(|r| r.figures.clone()).unwrap_or_default();
        sections.push(report::compare(
            family,
            &figures(&current),
            &figures(&before),
        ));
    }
    let by_category = indicators::table(conn, Family::Cases, &ask(month, Grouping::Category))?;
    let mut top_categories: Vec<Ranked> = by_category
        .iter()
        .filter_map(|r| {
            let n = figure(Some(r), "cases_accepted")?.numerator;
            (n > 0).then(|| Ranked {
                key: r.key.clone(),
                name: r.name.clone(),
                count: n,
            })
        })
        .collect();
    top_categories.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    top_categories.truncate(5);

    let tz = crate::db::store::district_tz(conn)?;
    let span = month.span(tz);
    let names = community_names(conn)?;
    let category_names: BTreeMap<String, (String, String)> = categories::table
        .select((categories::id, categories::code, categories::name_zh))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect();
    let in_scope =
        |community_id: &str| only.is_none_or(|ids| ids.iter().any(|c| c == community_id));

    // Open past the closing deadline as the month ended (or now, for this month).
    let cutoff = span.until.min(now);
    let open: Vec<&str> = CaseStatus::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.as_str())
        .collect();
    let overdue_rows: Vec<(String, String, String, String, i64)> = cases::table
        .filter(cases::status.eq_any(&open))
        .filter(cases::close_due_at.lt(cutoff))
        .filter(cases::created_at.lt(span.until))
        .order(cases::close_due_at.asc())
        .select((
            cases::id,
            cases::community_id,
            cases::category_id,
            cases::status,
            cases::close_due_at.assume_not_null(),
        ))
        .load(conn)?;
    let mut overdue_per_community: BTreeMap<String, usize> = BTreeMap::new();
    let mut overdue_cases = Vec::new();
    for (id, community, category, status, due) in overdue_rows {
        if !in_scope(&community) {
            continue;
        }
        let code = names
            .get(&community)
            .map(|n| n.0.clone())
            .unwrap_or_default();
        *overdue_per_community.entry(code.clone()).or_default() += 1;
        if overdue_cases.len() < OVERDUE_LISTED {
            overdue_cases.push(OverdueCase {
                id,
                community: code,
                category: category_names
                    .get(&category)
                    .map(|c| c.1.clone())
                    .unwrap_or_default(),
                status,
                close_due_at: Utc.timestamp_millis_opt(due).single().unwrap_or_default(),
            });
        }
    }

    let by_officer = indicators::table(conn, Family::Visits, &ask(month, Grouping::Officer))?;
    let people_at_risk = by_officer
        .iter()
        .filter_map(|r| {
            let why = report::person_at_risk(figure(Some(r), "visit_compliance_rate")?)?;
            Some(AtRisk {
                key: r.key.clone(),
                name: r.name.clone(),
                why,
            })
        })
        .collect();
    let by_community = indicators::table(conn, Family::Cases, &ask(month, Grouping::Community))?;
    let rows: BTreeMap<&str, &FigureRow> =
        by_community.iter().map(|r| (r.key.as_str(), r)).collect();
    let mut communities_at_risk = Vec::new();
    for (id, (code, name)) in &names {
        if !in_scope(id) {
            continue;
        }
        let none = Figure::of(&patrol_domain::indicators::ON_TIME_CLOSING_RATE, 0, 0);
        let on_time =
            figure(rows.get(code.as_str()).copied(), "on_time_closing_rate").unwrap_or(&none);
        let overdue = overdue_per_community.get(code).copied().unwrap_or(0);
        if let Some(why) = report::community_at_risk(on_time, overdue) {
            communities_at_risk.push(AtRisk {
                key: code.clone(),
                name: name.clone(),
                why,
            });
        }
    }

    let (from_day, until_day) = (month.from.to_string(), month.until.to_string());
    // (day, community id, kind, count) rows of the scope, as the report lists them.
    let held = |rows: Vec<(String, String, String, i32)>| -> Vec<Held> {
        rows.into_iter()
            .filter(|m| in_scope(&m.1))
            .map(|(day, c, kind, count)| Held {
                day,
                community: names.get(&c).map(|n| n.0.clone()).unwrap_or_default(),
                kind,
                count,
            })
            .collect()
    };
    let meetings = held(
        meetings::table
            .filter(meetings::held_on.ge(&from_day))
            .filter(meetings::held_on.lt(&until_day))
            .order((meetings::held_on, meetings::id))
            .select((
                meetings::held_on,
                meetings::community_id,
                meetings::kind,
                meetings::settled_count,
            ))
            .load(conn)?,
    );
    let events = held(
        public_events::table
            .filter(public_events::held_on.ge(&from_day))
            .filter(public_events::held_on.lt(&until_day))
            .order((public_events::held_on, public_events::id))
            .select((
                public_events::held_on,
                public_events::community_id,
                public_events::kind,
                public_events::attendance,
            ))
            .load(conn)?,
    );

    // Reports per week, and per community and category, from their report time.
    let weeks = trend_weeks(month, tz);
    let trend_from = weeks
        .first()
        .map_or(span.from, |w| w.start_utc(tz).timestamp_millis());
    let reported: Vec<(String, String, i64)> = cases::table
        .filter(cases::created_at.ge(trend_from.min(span.from)))
        .filter(cases::created_at.lt(span.until))
        .select((cases::community_id, cases::category_id, cases::created_at))
        .load(conn)?;
    let mut per_week: BTreeMap<IsoWeek, i64> = weeks.iter().map(|w| (*w, 0)).collect();
    let mut per_place: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (community, category, at) in reported {
        if !in_scope(&community) {
            continue;
        }
        let t = Utc.timestamp_millis_opt(at).single().unwrap_or_default();
        if let Some(n) = per_week.get_mut(&week_of(t, tz)) {
            *n += 1;
        }
        if span.holds(at) {
            *per_place.entry((community, category)).or_default() += 1;
        }
    }
    let mut hot_spots: Vec<HotSpot> = per_place
        .into_iter()
        .filter(|(_, n)| u64::try_from(*n).unwrap_or(0) >= HOT_SPOT_MIN_CASES)
        .map(|((community, category), n)| {
            let (code, name) = names.get(&community).cloned().unwrap_or_default();
            let (cat_code, cat_name) = category_names.get(&category).cloned().unwrap_or_default();
            HotSpot {
                community: code,
                community_name: name,
                category: cat_code,
                category_name: cat_name,
                cases: n,
            }
        })
        .collect();
    hot_spots.sort_by(|a, b| b.cases.cmp(&a.cases).then(a.community.cmp(&b.community)));

    Ok(MonthlyReport {
        month: month.label.clone(),
        street,
        from: month.from,
        to: month.last_day(),
        previous_month: previous.label,
        sections,
        weekly_cases: per_week
            .into_iter()
            .map(|(w, cases)| WeekCount {
                week: w.to_string(),
                cases,
            })
            .collect(),
        top_categories,
        overdue_cases,
        people_at_risk,
        communities_at_risk,
        meetings,
        events,
        hot_spots,
        generated_at: Utc.timestamp_millis_opt(now).single().unwrap_or_default(),
    })
}

/// The eight weeks up to the month's last (a week is the month's if its Thursday is).
fn trend_weeks(month: &Period, tz: chrono_tz::Tz) -> Vec<IsoWeek> {
    let mut last_thursday = month.last_day();
    while chrono::Datelike::weekday(&last_thursday) != chrono::Weekday::Thu {
        last_thursday -= chrono::Duration::days(1);
    }
    (0..8)
        .rev()
        .map(|back| {
            let day = last_thursday - chrono::Duration::weeks(back);
            let noon = day.and_hms_opt(12, 0, 0).unwrap_or_default();
            let t = tz
                .from_local_datetime(&noon)
                .earliest()
                .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
            week_of(t, tz)
        })
        .collect()
}

/// Each community's code and name, by id.
fn community_names(conn: &mut DbConn) -> Result<BTreeMap<String, (String, String)>, StoreError> {
    Ok(communities::table
        .select((communities::id, communities::code, communities::name))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, code, name)| (id, (code, name)))
        .collect())
}
