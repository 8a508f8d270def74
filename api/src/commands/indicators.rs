//! Reads the facts each family of indicators counts from the raw records, for a period
//! and a scope, and hands them to the rules in [`patrol_domain::indicators`]. Only what
//! touches the period is read: a case accepted, due, closed or escalated in it, a visit
//! started in it, and so on.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use patrol_domain::case::{CaseSource, CaseStatus};
use patrol_domain::indicators::{
    self, CaseFact, EngagementFact, Family, Figure, Grouping, Keys, Period, PointsFact,
    ResidentFact, Span, Table, VisitFact, WhistleFact,
};
use patrol_domain::seed::{CategoryKind, Class721};
use patrol_domain::visit::{CompliancePolicy, VisitFlag};
use serde::Serialize;

use crate::db::schema::{
    assignments, case_activities, cases, categories, communities, department_tasks, escalations,
    meetings, points_claims, points_entries, public_events, streets, suggestions, users, visits,
    whistles,
};
use crate::db::{DbConn, StoreError};

/// One group's figures.
#[derive(Debug, Clone, Serialize)]
pub struct FigureRow {
    /// Street or community code, officer or department id, category code or source;
    /// empty for the district (and for records with no such key).
    pub key: String,
    pub name: String,
    pub figures: Vec<Figure>,
}

/// What the figures are asked over.
pub struct Ask<'a> {
    pub period: &'a Period,
    pub group: Grouping,
    /// Community ids (a supervisor's scope), or all.
    pub only: Option<&'a [String]>,
    pub policy: &'a CompliancePolicy,
    pub now_ms: i64,
}

/// Each community's code and its street's code, by community id.
struct Places(BTreeMap<String, (String, String)>);

impl Places {
    fn load(conn: &mut DbConn) -> Result<Places, StoreError> {
        Ok(Places(
            communities::table
                .inner_join(streets::table)
                .select((communities::id, communities::code, streets::code))
                .load::<(String, String, String)>(conn)?
                .into_iter()
                .map(|(id, code, street)| (id, (code, street)))
                .collect(),
        ))
    }

    /// The keys of a record in `community_id` by `officer`, unless outside the scope.
    fn keys(&self, ask: &Ask<'_>, community_id: &str, officer: Option<&str>) -> Option<Keys> {
        if ask
            .only
            .is_some_and(|ids| !ids.iter().any(|c| c == community_id))
        {
            return None;
        }
        let (community, street) = self.0.get(community_id)?;
        Some(Keys {
            street: street.clone(),
            community: community.clone(),
            officer: officer.unwrap_or_default().to_owned(),
            ..Keys::default()
        })
    }
}

/// The family's figures by the asked grouping, one row per group with its name.
pub fn table(
    conn: &mut DbConn,
    family: Family,
    ask: &Ask<'_>,
) -> Result<Vec<FigureRow>, StoreError> {
    let tz = crate::db::store::district_tz(conn)?;
    let span = ask.period.span(tz);
    let places = Places::load(conn)?;
    let g = ask.group;
    let t: Table = match family {
        Family::Cases => indicators::cases(&case_facts(conn, ask, span, &places)?, span, g),
        Family::Residents => {
            indicators::residents(&resident_facts(conn, ask, span, &places)?, span, g)
        }
        Family::Whistles => {
            indicators::whistles(&whistle_facts(conn, ask, span, &places)?, span, g)
        }
        Family::Visits => indicators::visits(&visit_facts(conn, ask, span, tz, &places)?, span, g),
        Family::Points => indicators::points(&points_facts(conn, ask, span)?, span, g),
        Family::Engagement => {
            indicators::engagement(&engagement_facts(conn, ask, span, &places)?, g)
        }
    };
    let names = group_names(conn, g)?;
    Ok(t.into_iter()
        .map(|(key, figures)| FigureRow {
            name: names.get(&key).cloned().unwrap_or_default(),
            key,
            figures,
        })
        .collect())
}

fn corrupt(e: patrol_domain::DomainError) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// `col` in the span: from inclusive, until exclusive.
macro_rules! within {
    ($col:expr, $span:expr) => {
        $col.ge($span.from).and($col.lt($span.until))
    };
}

/// Each category's code and whether it is an assist item (协助事项), by id.
fn categories_by_id(conn: &mut DbConn) -> Result<BTreeMap<String, (String, bool)>, StoreError> {
    Ok(categories::table
        .select((categories::id, categories::code, categories::kind))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, code, kind)| (id, (code, kind == CategoryKind::Assist.as_str())))
        .collect())
}

/// Cases accepted, due, closed or first escalated in the period, with their keys.
fn case_facts(
    conn: &mut DbConn,
    ask: &Ask<'_>,
    span: Span,
    places: &Places,
) -> Result<Vec<CaseFact>, StoreError> {
    let first_escalated: BTreeMap<String, i64> = escalations::table
        .select((escalations::case_id, escalations::raised_at))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .fold(BTreeMap::new(), |mut m, (case, at)| {
            let e = m.entry(case).or_insert(at);
            *e = (*e).min(at);
            m
        });
    let escalated_in: Vec<String> = first_escalated
        .iter()
        .filter(|(_, at)| span.holds(**at))
        .map(|(id, _)| id.clone())
        .collect();
    type Row = (
        String,
        String,
        Option<String>,
        String,
        String,
        String,
        Option<String>,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        i32,
    );
    let mut rows: Vec<Row> = Vec::new();
    // Escalated cases are few; the rest are found by their own instants.
    for chunk in escalated_in.chunks(500).map(Some).chain([None]) {
        let mut q = cases::table
            .select((
                cases::id,
                cases::community_id,
                cases::handler_id,
                cases::category_id,
                cases::source,
                cases::status,
                cases::close_outcome,
                cases::created_at,
                cases::accepted_at,
                cases::close_due_at,
                cases::closed_at,
                cases::rework_count,
            ))
            .into_boxed();
        q = match chunk {
            Some(ids) => q.filter(cases::id.eq_any(ids.to_vec())),
            None => q.filter(
                within!(cases::accepted_at, span)
                    .or(within!(cases::close_due_at, span))
                    .or(within!(cases::closed_at, span)),
            ),
        };
        rows.extend(q.load::<Row>(conn)?);
    }
    let deferred: BTreeSet<String> = case_activities::table
        .filter(case_activities::to_status.eq(CaseStatus::Deferred.as_str()))
        .select(case_activities::case_id)
        .distinct()
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let departments = departments_of(conn)?;
    let kinds = categories_by_id(conn)?;
    let mut seen = BTreeSet::new();
    let mut facts = Vec::with_capacity(rows.len());
    for (
        id,
        community,
        handler,
        category,
        source,
        status,
        outcome,
        created_at,
        accepted_at,
        close_due_at,
        closed_at,
        rework,
    ) in rows
    {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(mut keys) = places.keys(ask, &community, handler.as_deref()) else {
            continue;
        };
        let (code, assist) = kinds.get(&category).cloned().unwrap_or_default();
        keys.category = code;
        keys.source = source;
        keys.departments = departments.get(&id).cloned().unwrap_or_default();
        facts.push(CaseFact {
            status: status.parse().map_err(corrupt)?,
            outcome: outcome
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(corrupt)?,
            created_at,
            accepted_at,
            close_due_at,
            closed_at,
            rework_count: u32::try_from(rework).unwrap_or(0),
            ever_deferred: deferred.contains(&id),
            first_escalated_at: first_escalated.get(&id).copied(),
            assist,
            keys,
        });
    }
    Ok(facts)
}

/// Closings, "not fixed" reopenings and ratings in the period of cases with a reporter.
fn resident_facts(
    conn: &mut DbConn,
    ask: &Ask<'_>,
    span: Span,
    places: &Places,
) -> Result<Vec<ResidentFact>, StoreError> {
    let judged = [CaseStatus::Closed.as_str(), CaseStatus::Evaluated.as_str()];
    /// (case, from status, to status, evidence, recorded at)
    type Row = (String, Option<String>, Option<String>, String, i64);
    let rows: Vec<Row> = case_activities::table
        .filter(case_activities::kind.eq("transition"))
        .filter(within!(case_activities::recorded_at, span))
        .filter(
            case_activities::to_status
                .eq_any(judged)
                .or(case_activities::from_status
                    .eq_any(judged)
                    .and(case_activities::to_status.eq(CaseStatus::Dispatched.as_str()))),
        )
        .select((
            case_activities::case_id,
            case_activities::from_status,
            case_activities::to_status,
            case_activities::evidence,
            case_activities::recorded_at,
        ))
        .load(conn)?;
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
    let departments = departments_of(conn)?;
    let kinds = categories_by_id(conn)?;
    let mut cases_of: BTreeMap<String, Keys> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        for (id, community, handler, category, source) in cases::table
            .filter(cases::id.eq_any(chunk.to_vec()))
            .filter(cases::reporter_id.is_not_null())
            .select((
                cases::id,
                cases::community_id,
                cases::handler_id,
                cases::category_id,
                cases::source,
            ))
            .load::<(String, String, Option<String>, String, String)>(conn)?
        {
            if let Some(mut keys) = places.keys(ask, &community, handler.as_deref()) {
                keys.category = kinds
                    .get(&category)
                    .map(|k| k.0.clone())
                    .unwrap_or_default();
                keys.source = source;
                keys.departments = departments.get(&id).cloned().unwrap_or_default();
                cases_of.insert(id, keys);
            }
        }
    }
    let mut facts: BTreeMap<String, ResidentFact> = BTreeMap::new();
    for (id, from, to, evidence, at) in rows {
        let Some(keys) = cases_of.get(&id) else {
            continue;
        };
        let f = facts.entry(id).or_insert_with(|| ResidentFact {
            keys: keys.clone(),
            closings: Vec::new(),
            reopenings: Vec::new(),
            ratings: Vec::new(),
        });
        match (from.as_deref(), to.as_deref()) {
            (_, Some("closed")) => f.closings.push(at),
            (_, Some("evaluated")) => {
                let stars = serde_json::from_str::<serde_json::Value>(&evidence)
                    .ok()
                    .and_then(|v| v["rating"].as_u64())
                    .and_then(|r| u8::try_from(r).ok());
                if let Some(stars) = stars {
                    f.ratings.push((at, stars));
                }
            }
            _ => f.reopenings.push(at),
        }
    }
    Ok(facts.into_values().collect())
}

/// The departments each case had tasks for.
fn departments_of(conn: &mut DbConn) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (case, dept) in department_tasks::table
        .select((department_tasks::case_id, department_tasks::department_id))
        .load::<(String, String)>(conn)?
    {
        out.entry(case).or_default().insert(dept);
    }
    Ok(out
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect())
}

/// Whistles raised in the period; the officer is the one who took it up.
fn whistle_facts(
    conn: &mut DbConn,
    ask: &Ask<'_>,
    span: Span,
    places: &Places,
) -> Result<Vec<WhistleFact>, StoreError> {
    /// (community, taken by, raised at, take due at, taken at, rating)
    type Row = (
        String,
        Option<String>,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i32>,
    );
    let rows: Vec<Row> = whistles::table
        .filter(within!(whistles::raised_at, span))
        .select((
            whistles::community_id,
            whistles::taken_by,
            whistles::raised_at.assume_not_null(),
            whistles::take_due_at,
            whistles::taken_at,
            whistles::rating,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(community, taken_by, raised_at, take_due_at, taken_at, rating)| {
                Some(WhistleFact {
                    keys: places.keys(ask, &community, taken_by.as_deref())?,
                    raised_at,
                    take_due_at,
                    taken_at,
                    rating: rating.and_then(|r| u8::try_from(r).ok()),
                })
            },
        )
        .collect())
}

/// Visits started in the period, the period's tagged actions, and each officer x
/// community x finished week of the period judged by the twice-weekly rule.
fn visit_facts(
    conn: &mut DbConn,
    ask: &Ask<'_>,
    span: Span,
    tz: chrono_tz::Tz,
    places: &Places,
) -> Result<Vec<(Keys, VisitFact)>, StoreError> {
    let mut facts = Vec::new();
    let rows: Vec<(String, String, i64, String, String)> = visits::table
        .filter(within!(visits::started_at, span))
        .select((
            visits::officer_id,
            visits::community_id,
            visits::started_at,
            visits::flags,
            visits::class_721,
        ))
        .load(conn)?;
    for (officer, community, started_at, flags, class) in rows {
        let Some(keys) = places.keys(ask, &community, Some(&officer)) else {
            continue;
        };
        let flags: Vec<VisitFlag> = serde_json::from_str::<Vec<String>>(&flags)
            .unwrap_or_default()
            .iter()
            .filter_map(|f| f.parse().ok())
            .collect();
        if let Ok(class) = class.parse::<Class721>() {
            facts.push((
                keys.clone(),
                VisitFact::Action {
                    at: started_at,
                    class,
                },
            ));
        }
        facts.push((keys, VisitFact::Visit { started_at, flags }));
    }
    let acts: Vec<(Option<String>, String, Option<String>, i64)> = case_activities::table
        .inner_join(cases::table)
        .filter(within!(case_activities::recorded_at, span))
        .filter(case_activities::class_721.is_not_null())
        .select((
            case_activities::actor_id,
            cases::community_id,
            case_activities::class_721,
            case_activities::recorded_at,
        ))
        .load(conn)?;
    for (actor, community, class, at) in acts {
        let (Some(actor), Some(Ok(class))) = (actor, class.map(|c| c.parse::<Class721>())) else {
            continue;
        };
        if let Some(keys) = places.keys(ask, &community, Some(&actor)) {
            facts.push((keys, VisitFact::Action { at, class }));
        }
    }
    let street_of: BTreeMap<&str, &str> = places
        .0
        .values()
        .map(|(c, s)| (c.as_str(), s.as_str()))
        .collect();
    for week in ask.period.finished_weeks(ask.now_ms, tz) {
        for row in crate::commands::visits::compliance(conn, week, tz, ask.policy, ask.only, None)?
        {
            if row.required == 0 {
                continue;
            }
            let keys = Keys {
                street: street_of
                    .get(row.community_code.as_str())
                    .map(|s| (*s).to_owned())
                    .unwrap_or_default(),
                community: row.community_code,
                officer: row.officer_id,
                ..Keys::default()
            };
            facts.push((
                keys,
                VisitFact::Week {
                    compliant: row.compliant,
                },
            ));
        }
    }
    Ok(facts)
}

/// Ledger entries recorded and claims decided in the period. Points belong to people:
/// a scoped supervisor sees those of the people assigned to their communities.
fn points_facts(
    conn: &mut DbConn,
    ask: &Ask<'_>,
    span: Span,
) -> Result<Vec<(Keys, PointsFact)>, StoreError> {
    let people: Option<BTreeSet<String>> = match ask.only {
        None => None,
        Some(ids) => Some(
            assignments::table
                .filter(assignments::target_id.eq_any(ids.to_vec()))
                .filter(assignments::started_at.lt(span.until))
                .filter(
                    assignments::ended_at
                        .is_null()
                        .or(assignments::ended_at.gt(span.from)),
                )
                .select(assignments::user_id)
                .load::<String>(conn)?
                .into_iter()
                .collect(),
        ),
    };
    let keys = |officer: String| -> Option<Keys> {
        if people.as_ref().is_some_and(|p| !p.contains(&officer)) {
            return None;
        }
        Some(Keys {
            officer,
            ..Keys::default()
        })
    };
    let mut facts = Vec::new();
    for (officer, points, at) in points_entries::table
        .filter(within!(points_entries::recorded_at, span))
        .select((
            points_entries::officer_id,
            points_entries::points,
            points_entries::recorded_at,
        ))
        .load::<(String, i32, i64)>(conn)?
    {
        if let Some(k) = keys(officer) {
            facts.push((
                k,
                PointsFact::Entry {
                    at,
                    points: i64::from(points),
                },
            ));
        }
    }
    for (officer, status, decided_at) in points_claims::table
        .filter(within!(points_claims::decided_at, span))
        .select((
            points_claims::officer_id,
            points_claims::status,
            points_claims::decided_at.assume_not_null(),
        ))
        .load::<(String, String, i64)>(conn)?
    {
        if let Some(k) = keys(officer) {
            facts.push((
                k,
                PointsFact::Claim {
                    decided_at,
                    approved: status == "approved",
                },
            ));
        }
    }
    Ok(facts)
}

/// Meetings, events and suggestions of the period's days, and the cases meetings
/// reported in it. Engagement records are few (dozens a community a month).
fn engagement_facts(
    conn: &mut DbConn,
    ask: &Ask<'_>,
    span: Span,
    places: &Places,
) -> Result<Vec<(Keys, EngagementFact)>, StoreError> {
    let (from, until) = (ask.period.from.to_string(), ask.period.until.to_string());
    let mut facts: Vec<(Keys, EngagementFact)> = Vec::new();
    let mut add = |community_id: &str, officer: Option<&str>, fact: EngagementFact| {
        if let Some(keys) = places.keys(ask, community_id, officer) {
            facts.push((keys, fact));
        }
    };
    let rows: Vec<(String, String, i32)> = meetings::table
        .filter(meetings::held_on.ge(&from))
        .filter(meetings::held_on.lt(&until))
        .select((
            meetings::community_id,
            meetings::author_id,
            meetings::settled_count,
        ))
        .load(conn)?;
    for (c, o, settled) in rows {
        let settled = u64::try_from(settled).unwrap_or(0);
        add(&c, Some(&o), EngagementFact::Meeting { settled });
    }
    let rows: Vec<(String, String, i32)> = public_events::table
        .filter(public_events::held_on.ge(&from))
        .filter(public_events::held_on.lt(&until))
        .select((
            public_events::community_id,
            public_events::author_id,
            public_events::attendance,
        ))
        .load(conn)?;
    for (c, o, attendance) in rows {
        let attendance = u64::try_from(attendance).unwrap_or(0);
        add(&c, Some(&o), EngagementFact::Event { attendance });
    }
    let rows: Vec<(String, String, Option<i64>)> = suggestions::table
        .filter(suggestions::received_on.ge(&from))
        .filter(suggestions::received_on.lt(&until))
        .select((
            suggestions::community_id,
            suggestions::author_id,
            suggestions::answered_at,
        ))
        .load(conn)?;
    for (c, o, answered) in rows {
        let answered = answered.is_some();
        add(&c, Some(&o), EngagementFact::Suggestion { answered });
    }
    let rows: Vec<(String, Option<String>, String, Option<String>)> = cases::table
        .filter(cases::source.eq(CaseSource::CommunityMeeting.as_str()))
        .filter(within!(cases::created_at, span))
        .select((
            cases::community_id,
            cases::created_by,
            cases::status,
            cases::close_outcome,
        ))
        .load(conn)?;
    for (c, o, status, outcome) in rows {
        let closed = status
            .parse::<CaseStatus>()
            .is_ok_and(|s| matches!(s, CaseStatus::Closed | CaseStatus::Evaluated));
        let fixed =
            closed && outcome.as_deref() == Some(patrol_domain::case::CloseOutcome::Fixed.as_str());
        add(&c, o.as_deref(), EngagementFact::MeetingCase { fixed });
    }
    Ok(facts)
}

/// Names of each group key: street and community codes to names, officer and
/// department ids to their names, category codes and sources to their Chinese names.
fn group_names(conn: &mut DbConn, g: Grouping) -> Result<BTreeMap<String, String>, StoreError> {
    use patrol_domain::role::Role;
    Ok(match g {
        Grouping::District => BTreeMap::new(),
        Grouping::Street => streets::table
            .select((streets::code, streets::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect(),
        Grouping::Community => communities::table
            .select((communities::code, communities::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect(),
        Grouping::Officer => users::table
            .filter(users::role.ne(Role::Resident.as_str()))
            .select((users::id, users::display_name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect(),
        Grouping::Department => users::table
            .filter(users::role.eq(Role::Department.as_str()))
            .select((users::id, users::department_name, users::display_name))
            .load::<(String, Option<String>, String)>(conn)?
            .into_iter()
            .map(|(id, dept, name)| (id, dept.unwrap_or(name)))
            .collect(),
        Grouping::Category => categories::table
            .select((categories::code, categories::name_zh))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect(),
        Grouping::Source => CaseSource::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), s.name_zh().to_owned()))
            .collect(),
    })
}
