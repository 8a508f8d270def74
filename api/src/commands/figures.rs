//! Figures the bureau counts, computed from the raw records: the 721 mix of actions
//! (service / management / enforcement) per officer, community or street and month, and
//! the month's case figures, and each person's weeks beside their points. The bureau's
//! indicators for any period are read in [`crate::commands::indicators`].

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use patrol_domain::seed::Class721;
use patrol_domain::visit::{Mix721, TARGET_721};
use serde::Serialize;

use crate::db::schema::{case_activities, cases, communities, streets, users, visits};
use crate::db::{DbConn, StoreError};

/// How the mix is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixGroup {
    Officer,
    Community,
    Street,
}

impl std::str::FromStr for MixGroup {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "officer" => Ok(MixGroup::Officer),
            "community" => Ok(MixGroup::Community),
            "street" => Ok(MixGroup::Street),
            _ => Err("must be officer, community or street".into()),
        }
    }
}

/// One group's mix in a month, against the 70/20/10 target.
#[derive(Debug, Clone, Serialize)]
pub struct MixRow {
    /// Officer id, community code or street code.
    pub key: String,
    pub name: String,
    pub service: u32,
    pub management: u32,
    pub enforcement: u32,
    pub total: u64,
    /// Shares of service, management, enforcement (0 when nothing was counted).
    pub shares: [f64; 3],
    /// Share minus target for each class; `null` when nothing was counted.
    pub deviation: Option<[f64; 3]>,
    pub target: [f64; 3],
}

/// A month as half-open UTC millisecond bounds, with the zone it was counted in.
pub type MonthBounds = ((i64, i64), Tz);

/// A requested month (`YYYY-MM`, or the current month) as UTC bounds in the district's
/// time zone, with the zone. `None` when the month is malformed.
pub fn requested_month(
    conn: &mut DbConn,
    month: Option<&str>,
) -> Result<Option<MonthBounds>, StoreError> {
    let tz = crate::db::store::district_tz(conn)?;
    let month = month.map_or_else(
        || Utc::now().with_timezone(&tz).format("%Y-%m").to_string(),
        str::to_owned,
    );
    Ok(month_bounds(&month, tz).map(|b| (b, tz)))
}

/// The month `YYYY-MM` as a half-open UTC interval in the district's time zone.
pub fn month_bounds(month: &str, tz: Tz) -> Option<(i64, i64)> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    let at = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .earliest()
            .map(|t| t.with_timezone(&Utc).timestamp_millis())
    };
    Some((at(first)?, at(next)?))
}

/// The mix of every tagged action in `[from, until)`: visits by their class and case
/// activities that carry one. `only` limits to communities (a supervisor's scope),
/// `officer` to one person.
pub fn mix_721(
    conn: &mut DbConn,
    (from, until): (i64, i64),
    group: MixGroup,
    only: Option<&[String]>,
    officer: Option<&str>,
) -> Result<Vec<MixRow>, StoreError> {
    // (officer id, community id, class) for every action in the month.
    let mut actions: Vec<(String, String, String)> = visits::table
        .filter(visits::started_at.ge(from))
        .filter(visits::started_at.lt(until))
        .select((visits::officer_id, visits::community_id, visits::class_721))
        .load(conn)?;
    let acts: Vec<(Option<String>, String, Option<String>)> = case_activities::table
        .inner_join(cases::table)
        .filter(case_activities::recorded_at.ge(from))
        .filter(case_activities::recorded_at.lt(until))
        .filter(case_activities::class_721.is_not_null())
        .select((
            case_activities::actor_id,
            cases::community_id,
            case_activities::class_721,
        ))
        .load(conn)?;
    actions.extend(acts.into_iter().filter_map(|(a, c, k)| Some((a?, c, k?))));
    let community_rows: Vec<(String, String, String, String, String)> = communities::table
        .inner_join(streets::table)
        .select((
            communities::id,
            communities::code,
            communities::name,
            streets::code,
            streets::name,
        ))
        .load(conn)?;
    let community: BTreeMap<String, (String, String, String, String)> = community_rows
        .into_iter()
        .map(|(id, code, name, sc, sn)| (id, (code, name, sc, sn)))
        .collect();
    let mut mixes: BTreeMap<String, (String, Mix721)> = BTreeMap::new();
    for (actor, community_id, class) in actions {
        if only.is_some_and(|ids| !ids.contains(&community_id))
            || officer.is_some_and(|o| o != actor)
        {
            continue;
        }
        let Ok(class) = class.parse::<Class721>() else {
            continue;
        };
        let Some((code, name, street_code, street_name)) = community.get(&community_id) else {
            continue;
        };
        let (key, label) = match group {
            MixGroup::Officer => (actor.clone(), String::new()),
            MixGroup::Community => (code.clone(), name.clone()),
            MixGroup::Street => (street_code.clone(), street_name.clone()),
        };
        mixes
            .entry(key)
            .or_insert_with(|| (label, Mix721::default()))
            .1
            .add(class);
    }
    if group == MixGroup::Officer {
        let ids: Vec<String> = mixes.keys().cloned().collect();
        let names: BTreeMap<String, String> = users::table
            .filter(users::id.eq_any(&ids))
            .select((users::id, users::display_name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        for (id, (label, _)) in mixes.iter_mut() {
            *label = names.get(id).cloned().unwrap_or_default();
        }
    }
    Ok(mixes
        .into_iter()
        .map(|(key, (name, m))| {
            let (s, g, e) = m.shares();
            MixRow {
                key,
                name,
                service: m.service(),
                management: m.management(),
                enforcement: m.enforcement(),
                total: m.total(),
                shares: [s, g, e],
                deviation: m.deviation_from_target().map(|(a, b, c)| [a, b, c]),
                target: [TARGET_721.0, TARGET_721.1, TARGET_721.2],
            }
        })
        .collect())
}

/// The bureau's case figures for cases reported in `[from, until)`, optionally only in
/// some communities (a supervisor's scope).
pub fn case_figures(
    conn: &mut DbConn,
    (from, until): (i64, i64),
    only: Option<Vec<String>>,
) -> Result<patrol_domain::case_stats::CaseStats, StoreError> {
    use patrol_domain::case_stats::{CaseFacts, case_stats};

    use crate::db::workflow::{self, CaseFilter};

    let filter = CaseFilter {
        communities: only,
        created_from: Some(from),
        created_to: Some(until),
        ..CaseFilter::default()
    };
    let rows = workflow::list_cases(conn, &filter, None, i64::MAX)?;
    let escalated = workflow::escalated_case_ids(conn, from)?;
    let corrupt = |e: patrol_domain::DomainError| StoreError::Corrupt(e.to_string());
    let facts = rows
        .iter()
        .map(|c| {
            Ok(CaseFacts {
                source: c.source.parse().map_err(corrupt)?,
                status: c.status.parse().map_err(corrupt)?,
                outcome: c
                    .close_outcome
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .map_err(corrupt)?,
                rework_count: u32::try_from(c.rework_count).unwrap_or(0),
                rating: c.rating.and_then(|r| u8::try_from(r).ok()),
                progress: crate::commands::cases::progress_of(c),
                escalated: escalated.contains(&c.id),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(case_stats(&facts, Utc::now()))
}

/// Puts each person's twice-weekly record beside their points for the month
/// `[from, until)` (in `tz`), as of `now`: the month's weeks by
/// [`patrol_domain::visit::month_weeks`] (a week belongs to the month holding its
/// Thursday; weeks still to come are left out), each judged with `policy`; the current
/// week is listed, marked running, but not in the totals. So a supervisor sees when the
/// two lines disagree.
pub fn add_performance(
    conn: &mut DbConn,
    rows: &mut [crate::commands::points::Balance],
    (from, _until): (i64, i64),
    tz: Tz,
    policy: &patrol_domain::visit::CompliancePolicy,
    now: chrono::DateTime<Utc>,
) -> Result<(), StoreError> {
    let first = Utc
        .timestamp_millis_opt(from)
        .single()
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive();
    let weeks = patrol_domain::visit::month_weeks(first.year(), first.month(), now, tz);
    for b in rows.iter_mut() {
        for &(week, running) in &weeks {
            let mut judgement = crate::commands::points::WeekJudgement {
                week: week.to_string(),
                running,
                judged: 0,
                compliant: 0,
            };
            for c in crate::commands::visits::compliance(
                conn,
                week,
                tz,
                policy,
                None,
                Some(&b.officer_id),
            )? {
                if c.required > 0 {
                    judgement.judged += 1;
                    judgement.compliant += u32::from(c.compliant);
                }
            }
            if !running {
                b.weeks_judged += judgement.judged;
                b.weeks_compliant += judgement.compliant;
            }
            b.weeks.push(judgement);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_local_calendar_months() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let (from, until) = month_bounds("2026-12", tz).unwrap();
        // 2026-12-01 00:00 +08:00 is 2026-11-30 16:00 UTC.
        assert_eq!(
            from,
            Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0)
                .unwrap()
                .timestamp_millis()
        );
        assert_eq!(
            until,
            Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0)
                .unwrap()
                .timestamp_millis()
        );
        assert!(month_bounds("2026-13", tz).is_none());
        assert!(month_bounds("nonsense", tz).is_none());
    }
}
