//! Every indicator, for every period kind and every grouping, equals a recomputation of
//! a seeded multi-month scenario written straight into the tables: cases through their
//! whole life (deferred, reworked, escalated to departments, closed, rated, reopened as
//! not fixed), whistles, visits against the twice-weekly rule, points and engagement
//! records. The expected figures are computed here from the scenario itself, by this
//! file's own reading of each definition, not by the server's code.
//!
//! `PATROL_INDICATOR_SEED` picks another scenario.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use diesel::prelude::*;
use patrol_api::commands::engagement::{EventRow, MeetingRow, SuggestionRow};
use patrol_api::commands::points::{ClaimRow, PointsRow};
use patrol_api::commands::visits::VisitRow;
use patrol_api::commands::whistles::WhistleRow;
use patrol_api::db::schema::{
    assignments, case_activities, cases, categories, communities, department_tasks, escalations,
    meetings, points_claims, points_entries, public_events, streets, suggestions, users, visits,
    whistles,
};
use patrol_api::db::store::{ActivityRow, CaseRow};
use patrol_tests::rng::SplitMix as Rng;
use patrol_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};

const HOUR: i64 = 3_600_000;
/// The 721 classes, service twice as likely.
const CLASSES: [&str; 4] = ["service", "service", "management", "enforcement"];
const DAY: i64 = 24 * HOUR;

/// Where a record belongs, as this test reads the groupings.
#[derive(Clone, Default)]
struct K {
    street: String,
    community: String,
    officer: String,
    departments: Vec<String>,
    category: String,
    source: String,
}

impl K {
    fn keys(&self, g: &str) -> Vec<String> {
        match g {
            "district" => vec![String::new()],
            "street" => vec![self.street.clone()],
            "community" => vec![self.community.clone()],
            "officer" => vec![self.officer.clone()],
            "department" if self.departments.is_empty() => vec![String::new()],
            "department" => self.departments.clone(),
            "category" => vec![self.category.clone()],
            "source" => vec![self.source.clone()],
            other => panic!("grouping {other}"),
        }
    }
}

struct Act {
    from: Option<&'static str>,
    to: &'static str,
    at: i64,
    rating: Option<u8>,
    class: Option<&'static str>,
}

struct Case {
    id: String,
    k: K,
    status: &'static str,
    outcome: Option<&'static str>,
    reporter: bool,
    created: i64,
    accepted: Option<i64>,
    close_due: Option<i64>,
    closed: Option<i64>,
    rework: i32,
    escalated: Option<i64>,
    assist: bool,
    acts: Vec<Act>,
}

struct Whistle {
    k: K,
    raised: Option<i64>,
    take_due: i64,
    taken: Option<i64>,
    rating: Option<u8>,
}

struct Visit {
    k: K,
    started: i64,
    status: &'static str,
    flags: Vec<&'static str>,
    class: &'static str,
}

struct Scenario {
    tz: Tz,
    now: i64,
    assigned_from: i64,
    /// The people and communities that owe twice-weekly visits.
    duty: Vec<K>,
    cases: Vec<Case>,
    whistles: Vec<Whistle>,
    visits: Vec<Visit>,
    /// (officer, recorded at, points).
    entries: Vec<(String, i64, i64)>,
    /// (officer, decided at, approved).
    claims: Vec<(String, Option<i64>, bool)>,
    /// (keys, held on, settled or attendance).
    meetings: Vec<(K, NaiveDate, i32)>,
    events: Vec<(K, NaiveDate, i32)>,
    /// (keys, received on, answered).
    suggestions: Vec<(K, NaiveDate, bool)>,
}

fn at(tz: Tz, y: i32, m: u32, d: u32) -> i64 {
    tz.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .single()
        .unwrap()
        .timestamp_millis()
}

fn date_of(tz: Tz, ms: i64) -> NaiveDate {
    Utc.timestamp_millis_opt(ms)
        .unwrap()
        .with_timezone(&tz)
        .date_naive()
}

struct Org {
    /// community id -> (code, street code)
    places: BTreeMap<String, (String, String)>,
    ids: BTreeMap<String, String>,
    categories: Vec<(String, String, bool)>,
    officers: Vec<String>,
    departments: Vec<String>,
    resident: String,
    staff: String,
    supervisor: String,
}

fn login_id(conn: &mut patrol_api::db::DbConn, login: &str) -> String {
    users::table
        .filter(users::login.eq(login))
        .select(users::id)
        .first(conn)
        .unwrap()
}

fn org(conn: &mut patrol_api::db::DbConn) -> Org {
    let places: BTreeMap<String, (String, String)> = communities::table
        .inner_join(streets::table)
        .select((communities::id, communities::code, streets::code))
        .load::<(String, String, String)>(conn)
        .unwrap()
        .into_iter()
        .map(|(id, c, s)| (id, (c, s)))
        .collect();
    let ids = places
        .iter()
        .map(|(id, (code, _))| (code.clone(), id.clone()))
        .collect();
    // The fixture's second category becomes an assist item (协助事项).
    diesel::update(categories::table.filter(categories::code.eq("illegal_parking")))
        .set(categories::kind.eq("assist"))
        .execute(conn)
        .unwrap();
    let categories = categories::table
        .select((categories::id, categories::code, categories::kind))
        .load::<(String, String, String)>(conn)
        .unwrap()
        .into_iter()
        .map(|(id, code, kind)| (id, code, kind == "assist"))
        .collect::<Vec<_>>();
    assert!(
        categories.iter().any(|c| c.2) && categories.iter().any(|c| !c.2),
        "the fixture has assist and key-item categories"
    );
    let officers = [
        patrol_tests::fixture::OFFICER,
        patrol_tests::fixture::OFFICER_C3,
        patrol_tests::fixture::PARTY,
    ]
    .iter()
    .map(|l| login_id(conn, l))
    .collect();
    let departments = patrol_tests::fixture::DEPARTMENTS
        .iter()
        .map(|(l, _)| login_id(conn, l))
        .collect();
    let resident = login_id(conn, patrol_tests::fixture::RESIDENT_PHONE);
    Org {
        places,
        ids,
        categories,
        officers,
        departments,
        resident,
        staff: login_id(conn, patrol_tests::fixture::STAFF),
        supervisor: login_id(conn, patrol_tests::fixture::SUPERVISOR),
    }
}

fn keys(org: &Org, community_code: &str, officer: Option<&str>) -> K {
    let id = &org.ids[community_code];
    K {
        street: org.places[id].1.clone(),
        community: community_code.to_owned(),
        officer: officer.unwrap_or_default().to_owned(),
        ..K::default()
    }
}

/// The scenario: four months and a bit of work, July to early December 2026.
fn scenario(org: &Org, seed: u64, tz: Tz) -> Scenario {
    let mut rng = Rng(seed);
    let from = at(tz, 2026, 7, 1);
    let until = at(tz, 2026, 12, 1);
    let now = Utc::now().timestamp_millis();
    let communities: Vec<String> = org.ids.keys().cloned().collect();
    let sources = [
        "resident_app",
        "hotline",
        "whistle",
        "patrol_find",
        "community_meeting",
        "suggestion",
    ];
    let mut cases = Vec::new();
    for _ in 0..400 {
        let community = rng.pick(&communities);
        let handler = rng.chance(80).then(|| rng.pick(&org.officers));
        let (_, category, assist) = rng.pick(&org.categories);
        let source = rng.pick(&sources);
        let created = rng.between(from, until);
        let accepted = rng.chance(85).then(|| created + rng.between(0, 48 * HOUR));
        let close_due = accepted.map(|_| created + 72 * HOUR);
        let mut k = keys(org, &community, handler.as_deref());
        k.category = category;
        k.source = source.to_owned();
        if rng.chance(15) {
            let mut d: Vec<String> = org
                .departments
                .iter()
                .filter(|_| rng.chance(50))
                .cloned()
                .collect();
            if d.is_empty() {
                d.push(org.departments[0].clone());
            }
            k.departments = d;
        }
        let escalated = (!k.departments.is_empty()).then(|| created + 5 * HOUR);
        let class = |rng: &mut Rng| rng.chance(70).then(|| rng.pick(&CLASSES));
        let mut acts = Vec::new();
        let fate = if accepted.is_some() {
            rng.below(100)
        } else {
            0
        };
        let closed_at = created + rng.between(HOUR, 150 * HOUR);
        let outcome = rng.pick(&[
            "fixed",
            "fixed",
            "fixed",
            "not_our_responsibility",
            "cannot_be_fixed",
        ]);
        let (status, outcome, closed, reporter) = match fate {
            0..=19 => ("in_progress", None, None, rng.chance(50)),
            20..=29 => {
                acts.push(Act {
                    from: Some("in_progress"),
                    to: "deferred",
                    at: created + HOUR,
                    rating: None,
                    class: None,
                });
                ("deferred", None, None, rng.chance(50))
            }
            30..=69 => {
                if rng.chance(10) {
                    acts.push(Act {
                        from: Some("in_progress"),
                        to: "deferred",
                        at: created + HOUR / 2,
                        rating: None,
                        class: None,
                    });
                }
                acts.push(Act {
                    from: Some("resolved"),
                    to: "closed",
                    at: closed_at,
                    rating: None,
                    class: class(&mut rng),
                });
                ("closed", Some(outcome), Some(closed_at), rng.chance(50))
            }
            70..=89 => {
                acts.push(Act {
                    from: Some("resolved"),
                    to: "closed",
                    at: closed_at,
                    rating: None,
                    class: class(&mut rng),
                });
                acts.push(Act {
                    from: Some("closed"),
                    to: "evaluated",
                    at: closed_at + HOUR,
                    rating: Some(u8::try_from(1 + rng.below(5)).unwrap()),
                    class: None,
                });
                ("evaluated", Some(outcome), Some(closed_at), true)
            }
            _ => {
                acts.push(Act {
                    from: Some("resolved"),
                    to: "closed",
                    at: closed_at,
                    rating: None,
                    class: class(&mut rng),
                });
                acts.push(Act {
                    from: Some("closed"),
                    to: "dispatched",
                    at: closed_at + rng.between(HOUR, 400 * HOUR),
                    rating: None,
                    class: None,
                });
                ("dispatched", Some(outcome), Some(closed_at), true)
            }
        };
        if accepted.is_some() {
            acts.push(Act {
                from: Some("accepted"),
                to: "dispatched",
                at: created + 2 * HOUR,
                rating: None,
                class: class(&mut rng),
            });
        }
        cases.push(Case {
            id: uuid::Uuid::now_v7().to_string(),
            k,
            status,
            outcome,
            reporter,
            created,
            accepted,
            close_due,
            closed,
            rework: if rng.chance(30) {
                1 + i32::try_from(rng.below(2)).unwrap()
            } else {
                0
            },
            escalated,
            assist,
            acts,
        });
    }
    let mut whistles = Vec::new();
    for _ in 0..120 {
        let community = rng.pick(&communities);
        let raised = rng.chance(90).then(|| rng.between(from, until));
        let take_due = raised.unwrap_or(from) + 30 * 60_000;
        let taken = raised
            .filter(|_| rng.chance(75))
            .map(|r| r + rng.between(0, 60 * 60_000));
        let officer = taken.map(|_| rng.pick(&org.officers));
        let rating = taken
            .filter(|_| rng.chance(60))
            .map(|_| u8::try_from(1 + rng.below(5)).unwrap());
        whistles.push(Whistle {
            k: keys(org, &community, officer.as_deref()),
            raised,
            take_due,
            taken,
            rating,
        });
    }
    // Duty pairs as the fixture assigns them, from 1 June.
    let duty = vec![
        keys(org, "C1", Some(&org.officers[0])),
        keys(org, "C3", Some(&org.officers[1])),
        keys(org, "C1", Some(&org.officers[2])),
    ];
    let assigned_from = at(tz, 2026, 6, 1);
    let mut visits = Vec::new();
    let flags = [
        "OUTSIDE_GEOFENCE",
        "TOO_SHORT",
        "LOW_ACCURACY",
        "MOCK_LOCATION",
    ];
    let mut day = assigned_from;
    while day + DAY <= now {
        for pair in &duty {
            if !rng.chance(40) {
                continue;
            }
            let started = day + 10 * HOUR + rng.between(0, 6 * HOUR);
            let (status, flags) = match rng.below(100) {
                0..=79 => ("verified", vec![]),
                n => {
                    let f: Vec<&'static str> =
                        flags.iter().copied().filter(|_| rng.chance(50)).collect();
                    let f = if f.is_empty() { vec!["TOO_SHORT"] } else { f };
                    (if n < 92 { "flagged" } else { "accepted" }, f)
                }
            };
            let class = rng.pick(&CLASSES);
            visits.push(Visit {
                k: pair.clone(),
                started,
                status,
                flags,
                class,
            });
        }
        day += DAY;
    }
    // A few visits outside any assignment.
    for _ in 0..10 {
        visits.push(Visit {
            k: keys(org, "C2", Some(&org.officers[0])),
            started: rng.between(from, until),
            status: "flagged",
            flags: vec!["NOT_ASSIGNED"],
            class: "service",
        });
    }
    let entries = (0..90)
        .map(|_| {
            (
                rng.pick(&org.officers),
                rng.between(from, until),
                i64::try_from(rng.below(16)).unwrap() - 5,
            )
        })
        .collect();
    let claims = (0..40)
        .map(|_| {
            (
                rng.pick(&org.officers),
                rng.chance(80).then(|| rng.between(from, until)),
                rng.chance(60),
            )
        })
        .collect();
    let day_in = |rng: &mut Rng| date_of(tz, rng.between(from, until));
    let meetings = (0..25)
        .map(|_| {
            let c = rng.pick(&communities);
            (
                keys(org, &c, Some(&org.staff)),
                day_in(&mut rng),
                i32::try_from(rng.below(4)).unwrap(),
            )
        })
        .collect();
    let events = (0..15)
        .map(|_| {
            let c = rng.pick(&communities);
            (
                keys(org, &c, Some(&org.officers[0])),
                day_in(&mut rng),
                i32::try_from(rng.below(80)).unwrap(),
            )
        })
        .collect();
    let suggestions = (0..30)
        .map(|_| {
            let c = rng.pick(&communities);
            (
                keys(org, &c, Some(&org.staff)),
                day_in(&mut rng),
                rng.chance(60),
            )
        })
        .collect();
    Scenario {
        tz,
        now,
        assigned_from,
        duty,
        cases,
        whistles,
        visits,
        entries,
        claims,
        meetings,
        events,
        suggestions,
    }
}

/// Writes the scenario into the tables, as the server's own commands would have left them.
fn write(conn: &mut patrol_api::db::DbConn, org: &Org, s: &Scenario) {
    let cid = |k: &K| org.ids[&k.community].clone();
    let category_id = |code: &str| {
        org.categories
            .iter()
            .find(|c| c.1 == code)
            .unwrap()
            .0
            .clone()
    };
    diesel::update(assignments::table)
        .set(assignments::started_at.eq(s.assigned_from))
        .execute(conn)
        .unwrap();
    for c in &s.cases {
        let row = CaseRow {
            id: c.id.clone(),
            community_id: cid(&c.k),
            grid_cell_id: None,
            category_id: category_id(&c.k.category),
            source: c.k.source.clone(),
            status: c.status.into(),
            close_outcome: c.outcome.map(Into::into),
            description: "场景".into(),
            description_rev: 1,
            notes: String::new(),
            notes_rev: 0,
            lat: 36.605,
            lon: 101.805,
            reporter_id: c.reporter.then(|| org.resident.clone()),
            reporter_anonymous: false,
            first_contact_id: None,
            handler_id: (!c.k.officer.is_empty()).then(|| c.k.officer.clone()),
            priority: "normal".into(),
            handle_due_at: None,
            resolved_by: None,
            rework_count: c.rework,
            deferred_from: (c.status == "deferred").then(|| "in_progress".into()),
            duplicate_of: None,
            self_handled: false,
            class_721: "service".into(),
            observed_at: None,
            observed_at_suspect: false,
            created_by: None,
            created_at: c.created,
            updated_at: c.closed.unwrap_or(c.created),
            version: 1,
            accept_due_at: Some(c.created + 2 * HOUR),
            close_due_at: c.close_due,
            accepted_at: c.accepted,
            dispatched_at: c.accepted,
            resolved_at: c.closed,
            closed_at: c.closed,
            rating: c.acts.iter().find_map(|a| a.rating.map(i32::from)),
            follow_up_of: None,
        };
        diesel::insert_into(cases::table)
            .values(&row)
            .execute(conn)
            .unwrap();
        for a in &c.acts {
            let act = ActivityRow {
                id: uuid::Uuid::now_v7().to_string(),
                case_id: c.id.clone(),
                actor_id: (!c.k.officer.is_empty()).then(|| c.k.officer.clone()),
                actor_role: "officer".into(),
                kind: "transition".into(),
                from_status: a.from.map(Into::into),
                to_status: Some(a.to.into()),
                note: String::new(),
                evidence: json!({"evidence": [], "rating": a.rating}).to_string(),
                class_721: a.class.map(Into::into),
                observed_at: None,
                recorded_at: a.at,
            };
            diesel::insert_into(case_activities::table)
                .values(&act)
                .execute(conn)
                .unwrap();
        }
        if let Some(raised) = c.escalated {
            let esc = uuid::Uuid::now_v7().to_string();
            diesel::insert_into(escalations::table)
                .values((
                    escalations::id.eq(&esc),
                    escalations::case_id.eq(&c.id),
                    escalations::community_id.eq(cid(&c.k)),
                    escalations::status.eq("tasked"),
                    escalations::reason.eq("场景"),
                    escalations::raised_by.eq(&org.staff),
                    escalations::raised_at.eq(raised),
                    escalations::updated_at.eq(raised),
                ))
                .execute(conn)
                .unwrap();
            for d in &c.k.departments {
                diesel::insert_into(department_tasks::table)
                    .values((
                        department_tasks::id.eq(uuid::Uuid::now_v7().to_string()),
                        department_tasks::escalation_id.eq(&esc),
                        department_tasks::case_id.eq(&c.id),
                        department_tasks::department_id.eq(d),
                        department_tasks::status.eq("done"),
                        department_tasks::instructions.eq("场景"),
                        department_tasks::assigned_by.eq(&org.supervisor),
                        department_tasks::assigned_at.eq(raised),
                        department_tasks::due_at.eq(raised + DAY),
                        department_tasks::evidence.eq("[]"),
                    ))
                    .execute(conn)
                    .unwrap();
            }
        }
    }
    for w in &s.whistles {
        let row = WhistleRow {
            id: uuid::Uuid::now_v7().to_string(),
            community_id: cid(&w.k),
            raised_by: org.staff.clone(),
            title: "哨".into(),
            description: "场景".into(),
            status: match (w.raised, w.taken) {
                (None, _) => "pending_sign_off",
                (Some(_), None) => "raised",
                (Some(_), Some(_)) => "taken",
            }
            .into(),
            signed_off_by: w.raised.map(|_| org.staff.clone()),
            signed_off_at: w.raised,
            decline_reason: None,
            raised_at: w.raised,
            take_due_at: w.raised.map(|_| w.take_due),
            taken_by: (!w.k.officer.is_empty()).then(|| w.k.officer.clone()),
            taken_at: w.taken,
            taken_late: w.taken.map(|t| t > w.take_due),
            response_note: None,
            rating: w.rating.map(i32::from),
            rating_comment: None,
            rated_by: w.rating.map(|_| org.staff.clone()),
            rated_at: w.rating.and(w.taken),
            observed_at: None,
            created_at: w.raised.unwrap_or(w.take_due),
            updated_at: w.raised.unwrap_or(w.take_due),
            version: 1,
        };
        diesel::insert_into(whistles::table)
            .values(&row)
            .execute(conn)
            .unwrap();
    }
    for v in &s.visits {
        let row = VisitRow {
            id: uuid::Uuid::now_v7().to_string(),
            officer_id: v.k.officer.clone(),
            community_id: cid(&v.k),
            started_at: v.started,
            ended_at: v.started + 30 * 60_000,
            received_at: v.started + HOUR,
            fixes: "[]".into(),
            lat: None,
            lon: None,
            photo_hashes: "[]".into(),
            met: "[]".into(),
            purpose: "走访".into(),
            notes: String::new(),
            class_721: v.class.into(),
            flags: json!(v.flags).to_string(),
            status: v.status.into(),
            accepted_by: (v.status == "accepted").then(|| org.supervisor.clone()),
            accepted_reason: (v.status == "accepted").then(|| "核实".into()),
            accepted_at: (v.status == "accepted").then_some(v.started + DAY),
            client_id: None,
            mutation_id: None,
            created_at: v.started + HOUR,
        };
        diesel::insert_into(visits::table)
            .values(&row)
            .execute(conn)
            .unwrap();
    }
    for (i, (officer, at, points)) in s.entries.iter().enumerate() {
        let row = PointsRow {
            seq: 1_000_000 + i64::try_from(i).unwrap(),
            id: uuid::Uuid::now_v7().to_string(),
            officer_id: officer.clone(),
            rule_code: "scenario".into(),
            points: i32::try_from(*points).unwrap(),
            source_kind: "scenario".into(),
            source_id: format!("s{i}"),
            reverses_seq: None,
            actor_id: None,
            note: String::new(),
            recorded_at: *at,
            prev_hash: String::new(),
            hash: String::new(),
        };
        diesel::insert_into(points_entries::table)
            .values(&row)
            .execute(conn)
            .unwrap();
    }
    for (i, (officer, decided, approved)) in s.claims.iter().enumerate() {
        let row = ClaimRow {
            id: uuid::Uuid::now_v7().to_string(),
            officer_id: officer.clone(),
            rule_code: "scenario".into(),
            points: 3,
            note: String::new(),
            claimed_by: officer.clone(),
            status: match (decided, approved) {
                (None, _) => "pending",
                (Some(_), true) => "approved",
                (Some(_), false) => "rejected",
            }
            .into(),
            decided_by: decided.map(|_| org.supervisor.clone()),
            decided_reason: None,
            decided_at: *decided,
            created_at: decided.unwrap_or(s.assigned_from),
            source_kind: "scenario".into(),
            source_id: format!("c{i}"),
        };
        diesel::insert_into(points_claims::table)
            .values(&row)
            .execute(conn)
            .unwrap();
    }
    let t = s.assigned_from;
    for (k, day, settled) in &s.meetings {
        let row = MeetingRow {
            id: uuid::Uuid::now_v7().to_string(),
            community_id: cid(k),
            author_id: k.officer.clone(),
            kind: "council".into(),
            held_on: day.to_string(),
            attendee_count: 10,
            participants: "[]".into(),
            topics: "[]".into(),
            settled: "[]".into(),
            settled_count: *settled,
            observed_at: None,
            created_at: t,
            updated_at: t,
            version: 1,
        };
        diesel::insert_into(meetings::table)
            .values(&row)
            .execute(conn)
            .unwrap();
    }
    for (k, day, attendance) in &s.events {
        let row = EventRow {
            id: uuid::Uuid::now_v7().to_string(),
            community_id: cid(k),
            author_id: k.officer.clone(),
            kind: "open_day".into(),
            held_on: day.to_string(),
            place: "广场".into(),
            attendance: *attendance,
            description: String::new(),
            photo_hashes: "[]".into(),
            observed_at: None,
            created_at: t,
            updated_at: t,
            version: 1,
        };
        diesel::insert_into(public_events::table)
            .values(&row)
            .execute(conn)
            .unwrap();
    }
    for (k, day, answered) in &s.suggestions {
        let row = SuggestionRow {
            id: uuid::Uuid::now_v7().to_string(),
            community_id: cid(k),
            author_id: k.officer.clone(),
            from_kind: "resident".into(),
            from_name: "居民".into(),
            from_phone: None,
            body: "建议".into(),
            received_on: day.to_string(),
            answer: answered.then(|| "已答复".into()),
            answered_by: answered.then(|| org.staff.clone()),
            answered_at: answered.then_some(t),
            observed_at: None,
            created_at: t,
            updated_at: t,
            version: 1,
        };
        diesel::insert_into(suggestions::table)
            .values(&row)
            .execute(conn)
            .unwrap();
    }
}

/// Expected figures: group key -> indicator code -> (numerator, denominator, parts).
type Expected =
    BTreeMap<String, BTreeMap<String, (i64, Option<u64>, Option<BTreeMap<String, u64>>)>>;

/// Sums per group, then the figures; groups where nothing counted left out.
#[derive(Default, Clone)]
struct Sums(BTreeMap<&'static str, i64>, BTreeMap<String, u64>, Vec<i64>);

impl Sums {
    fn add(&mut self, what: &'static str, n: i64) {
        *self.0.entry(what).or_default() += n;
    }
    fn get(&self, what: &str) -> i64 {
        self.0.get(what).copied().unwrap_or(0)
    }
}

fn tally<'a, T: 'a>(
    items: impl IntoIterator<Item = (&'a K, &'a T)>,
    g: &str,
    mut f: impl FnMut(&mut Sums, &'a T),
) -> BTreeMap<String, Sums> {
    let mut out: BTreeMap<String, Sums> = BTreeMap::new();
    for (k, t) in items {
        for key in k.keys(g) {
            f(out.entry(key).or_default(), t);
        }
    }
    out
}

/// `(code, numerator, denominator)`: a count when the denominator is `None`.
type Line = (&'static str, i64, Option<i64>);

fn finish(groups: BTreeMap<String, Sums>, lines: impl Fn(&Sums) -> Vec<Line>) -> Expected {
    groups
        .into_iter()
        .filter_map(|(key, s)| {
            let figures: BTreeMap<_, _> = lines(&s)
                .into_iter()
                .map(|(code, num, den)| {
                    let parts = (code == "visits_unverified").then(|| s.1.clone());
                    (
                        code.to_owned(),
                        (num, den.map(|d| u64::try_from(d).unwrap()), parts),
                    )
                })
                .collect();
            let counted = figures
                .values()
                .any(|(n, d, _)| *n != 0 || d.is_some_and(|d| d > 0));
            counted.then_some((key, figures))
        })
        .collect()
}

fn expected(
    s: &Scenario,
    family: &str,
    span: (i64, i64),
    weeks: &[(i64, i64)],
    g: &str,
) -> Expected {
    let inside = |t: i64| span.0 <= t && t < span.1;
    let inside_opt = |t: Option<i64>| t.is_some_and(inside);
    match family {
        "cases" => {
            let groups = tally(s.cases.iter().map(|c| (&c.k, c)), g, |x, c| {
                let is_closed = matches!(c.status, "closed" | "evaluated");
                let closed_in = is_closed && inside_opt(c.closed);
                let on_time =
                    is_closed && matches!((c.closed, c.close_due), (Some(a), Some(d)) if a <= d);
                let deferred = c.acts.iter().any(|a| a.to == "deferred");
                x.add("accepted", i64::from(inside_opt(c.accepted)));
                if inside_opt(c.close_due) {
                    x.add("due", 1);
                    x.add("deferred", i64::from(deferred));
                    if !deferred {
                        x.add("judged", 1);
                        x.add("judged_closed", i64::from(is_closed));
                        x.add("judged_on_time", i64::from(on_time));
                    }
                }
                if closed_in {
                    x.add("closed", 1);
                    x.add("on_time", i64::from(on_time));
                    x.add("reworked", i64::from(c.rework > 0));
                    x.2.push((c.closed.unwrap() - c.created) / 60_000);
                    if c.outcome == Some("fixed") {
                        x.add("fixed", 1);
                        x.add("fixed_here", i64::from(c.escalated.is_none()));
                        x.add("assists", i64::from(c.assist));
                    }
                }
                x.add("escalated", i64::from(inside_opt(c.escalated)));
            });
            finish(groups, |x| {
                let mut m = x.2.clone();
                m.sort_unstable();
                let n = i64::try_from(m.len()).unwrap();
                let p90 = if m.is_empty() {
                    0
                } else {
                    m[(m.len() * 9).div_ceil(10) - 1]
                };
                vec![
                    ("cases_accepted", x.get("accepted"), None),
                    ("cases_due", x.get("due"), None),
                    ("cases_deferred", x.get("deferred"), None),
                    ("cases_closed", x.get("closed"), None),
                    ("cases_closed_on_time", x.get("on_time"), None),
                    (
                        "closing_rate",
                        x.get("judged_closed"),
                        Some(x.get("judged")),
                    ),
                    (
                        "on_time_closing_rate",
                        x.get("judged_on_time"),
                        Some(x.get("judged")),
                    ),
                    ("rework_rate", x.get("reworked"), Some(x.get("closed"))),
                    ("handling_minutes_mean", m.iter().sum(), Some(n)),
                    ("handling_minutes_p90", p90, Some(n)),
                    ("solved_in_community", x.get("fixed_here"), None),
                    (
                        "solved_after_escalation",
                        x.get("fixed") - x.get("fixed_here"),
                        None,
                    ),
                    (
                        "solved_in_community_share",
                        x.get("fixed_here"),
                        Some(x.get("fixed")),
                    ),
                    ("cases_escalated", x.get("escalated"), None),
                    ("assists", x.get("assists"), None),
                ]
            })
        }
        "residents" => {
            let reported = s.cases.iter().filter(|c| c.reporter);
            let groups = tally(reported.map(|c| (&c.k, c)), g, |x, c| {
                for a in &c.acts {
                    if let (Some(r), true) = (a.rating, inside(a.at)) {
                        x.add("ratings", 1);
                        x.add("satisfied", i64::from(r >= 4));
                        x.add("stars", i64::from(r));
                    }
                }
                let closed = c.acts.iter().any(|a| a.to == "closed" && inside(a.at));
                let reopened = c.acts.iter().any(|a| {
                    a.to == "dispatched"
                        && matches!(a.from, Some("closed" | "evaluated"))
                        && inside(a.at)
                });
                if closed {
                    x.add("closed", 1);
                    x.add("reopened", i64::from(reopened));
                }
            });
            finish(groups, |x| {
                vec![
                    ("ratings", x.get("ratings"), None),
                    (
                        "satisfaction_rate",
                        x.get("satisfied"),
                        Some(x.get("ratings")),
                    ),
                    ("mean_rating", x.get("stars"), Some(x.get("ratings"))),
                    (
                        "not_fixed_reopen_rate",
                        x.get("reopened"),
                        Some(x.get("closed")),
                    ),
                ]
            })
        }
        "whistles" => {
            let raised = s.whistles.iter().filter(|w| inside_opt(w.raised));
            let groups = tally(raised.map(|w| (&w.k, w)), g, |x, w| {
                x.add("received", 1);
                x.add("taken", i64::from(w.taken.is_some()));
                x.add(
                    "on_time",
                    i64::from(w.taken.is_some_and(|t| t <= w.take_due)),
                );
                if let Some(r) = w.rating {
                    x.add("rated", 1);
                    x.add("stars", i64::from(r));
                }
            });
            finish(groups, |x| {
                vec![
                    ("whistles_received", x.get("received"), None),
                    ("whistles_taken", x.get("taken"), None),
                    ("whistles_taken_on_time", x.get("on_time"), None),
                    (
                        "whistle_response_rate",
                        x.get("on_time"),
                        Some(x.get("received")),
                    ),
                    ("whistle_mean_rating", x.get("stars"), Some(x.get("rated"))),
                ]
            })
        }
        "visits" => {
            enum F<'a> {
                Visit(&'a Visit),
                Action(&'a str),
                Week(bool),
            }
            let mut facts: Vec<(K, F<'_>)> = Vec::new();
            for v in s.visits.iter().filter(|v| inside(v.started)) {
                facts.push((v.k.clone(), F::Visit(v)));
                facts.push((v.k.clone(), F::Action(v.class)));
            }
            for c in &s.cases {
                for a in c.acts.iter().filter(|a| inside(a.at)) {
                    if let (Some(class), false) = (a.class, c.k.officer.is_empty()) {
                        let k = K {
                            departments: vec![],
                            ..c.k.clone()
                        };
                        facts.push((k, F::Action(class)));
                    }
                }
            }
            for &(start, end) in weeks {
                for pair in &s.duty {
                    let counted = s
                        .visits
                        .iter()
                        .filter(|v| {
                            v.k.officer == pair.officer
                                && v.k.community == pair.community
                                && start <= v.started
                                && v.started < end
                                && v.status != "flagged"
                        })
                        .count();
                    facts.push((pair.clone(), F::Week(counted >= 2)));
                }
            }
            let groups = tally(facts.iter().map(|(k, f)| (k, f)), g, |x, f| match f {
                F::Visit(v) => {
                    x.add("visits", 1);
                    if !v.flags.is_empty() {
                        x.add("unverified", 1);
                        for flag in &v.flags {
                            *x.1.entry((*flag).to_owned()).or_default() += 1;
                        }
                    }
                }
                F::Action(class) => x.add(
                    match *class {
                        "service" => "service",
                        "management" => "management",
                        _ => "enforcement",
                    },
                    1,
                ),
                F::Week(ok) => {
                    x.add("weeks", 1);
                    x.add("compliant", i64::from(*ok));
                }
            });
            finish(groups, |x| {
                let tagged = x.get("service") + x.get("management") + x.get("enforcement");
                vec![
                    ("visits_recorded", x.get("visits"), None),
                    ("visits_unverified", x.get("unverified"), None),
                    (
                        "visit_compliance_rate",
                        x.get("compliant"),
                        Some(x.get("weeks")),
                    ),
                    ("mix_service_share", x.get("service"), Some(tagged)),
                    ("mix_management_share", x.get("management"), Some(tagged)),
                    ("mix_enforcement_share", x.get("enforcement"), Some(tagged)),
                ]
            })
        }
        "points" => {
            let mut facts: Vec<(K, (bool, i64, bool))> = Vec::new();
            for (o, _, p) in s.entries.iter().filter(|e| inside(e.1)) {
                facts.push((
                    K {
                        officer: o.clone(),
                        ..K::default()
                    },
                    (true, *p, false),
                ));
            }
            for (o, _, approved) in s.claims.iter().filter(|c| inside_opt(c.1)) {
                facts.push((
                    K {
                        officer: o.clone(),
                        ..K::default()
                    },
                    (false, 0, *approved),
                ));
            }
            let groups = tally(
                facts.iter().map(|(k, f)| (k, f)),
                g,
                |x, &(entry, p, ok)| {
                    if entry {
                        x.add("points", p);
                        x.add("entries", 1);
                    } else {
                        x.add("decided", 1);
                        x.add("approved", i64::from(ok));
                    }
                },
            );
            finish(groups, |x| {
                vec![
                    ("points_awarded", x.get("points"), None),
                    ("points_entries", x.get("entries"), None),
                    ("claims_audited", x.get("decided"), None),
                    (
                        "claims_approval_rate",
                        x.get("approved"),
                        Some(x.get("decided")),
                    ),
                ]
            })
        }
        "engagement" => {
            let day_in = |d: &NaiveDate| {
                let t =
                    s.tz.from_local_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
                        .unwrap();
                inside(t.timestamp_millis())
            };
            let mut facts: Vec<(K, (&str, i64))> = Vec::new();
            for (k, _, n) in s.meetings.iter().filter(|m| day_in(&m.1)) {
                facts.push((k.clone(), ("meeting", i64::from(*n))));
            }
            for (k, _, n) in s.events.iter().filter(|m| day_in(&m.1)) {
                facts.push((k.clone(), ("event", i64::from(*n))));
            }
            for (k, _, answered) in s.suggestions.iter().filter(|m| day_in(&m.1)) {
                facts.push((k.clone(), ("suggestion", i64::from(*answered))));
            }
            for c in s
                .cases
                .iter()
                .filter(|c| c.k.source == "community_meeting" && inside(c.created))
            {
                let fixed =
                    matches!(c.status, "closed" | "evaluated") && c.outcome == Some("fixed");
                // Meeting cases are keyed by their reporter, whom the scenario leaves empty.
                let k = K {
                    officer: String::new(),
                    ..c.k.clone()
                };
                facts.push((k, ("meeting_case", i64::from(fixed))));
            }
            let groups = tally(
                facts.iter().map(|(k, f)| (k, f)),
                g,
                |x, &(what, n)| match what {
                    "meeting" => {
                        x.add("meetings", 1);
                        x.add("settled", n);
                    }
                    "event" => {
                        x.add("events", 1);
                        x.add("attendance", n);
                    }
                    "suggestion" => {
                        x.add("suggestions", 1);
                        x.add("answered", n);
                    }
                    _ => x.add("fixed", n),
                },
            );
            finish(groups, |x| {
                vec![
                    ("meetings_held", x.get("meetings"), None),
                    ("problems_settled_at_meetings", x.get("settled"), None),
                    ("solved_before_complaint", x.get("fixed"), None),
                    ("events_held", x.get("events"), None),
                    ("event_attendance", x.get("attendance"), None),
                    ("suggestions_received", x.get("suggestions"), None),
                    (
                        "suggestions_answer_rate",
                        x.get("answered"),
                        Some(x.get("suggestions")),
                    ),
                ]
            })
        }
        other => panic!("family {other}"),
    }
}

/// What the server answered, in the same shape.
fn answered(body: &Value) -> Expected {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let figures = row["figures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let num = f["numerator"].as_i64().unwrap();
                    let den = f["denominator"].as_u64();
                    // A value always follows from its numerator and denominator.
                    if let Some(d) = den.filter(|d| *d > 0) {
                        let v = f["value"].as_f64().unwrap();
                        let want = if f["code"] == "handling_minutes_p90" {
                            num as f64
                        } else {
                            num as f64 / d as f64
                        };
                        assert!((v - want).abs() < 1e-9, "{f}");
                    }
                    let parts = f.get("parts").map(|p| {
                        p.as_object()
                            .unwrap()
                            .iter()
                            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
                            .collect()
                    });
                    (f["code"].as_str().unwrap().to_owned(), (num, den, parts))
                })
                .collect();
            (row["key"].as_str().unwrap().to_owned(), figures)
        })
        .collect()
}

/// (query, first day, day after the last).
fn periods() -> Vec<(String, NaiveDate, NaiveDate)> {
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    let mut out: Vec<(String, NaiveDate, NaiveDate)> = ["07", "08", "09", "10", "11"]
        .iter()
        .map(|m| {
            let from = d(&format!("2026-{m}-01"));
            let until = if *m == "11" {
                d("2026-12-01")
            } else {
                from.checked_add_months(chrono::Months::new(1)).unwrap()
            };
            (format!("period=2026-{m}"), from, until)
        })
        .collect();
    out.push(("period=2026-Q3".into(), d("2026-07-01"), d("2026-10-01")));
    out.push(("period=2026".into(), d("2026-01-01"), d("2027-01-01")));
    out.push(("period=2026-W40".into(), d("2026-09-28"), d("2026-10-05")));
    out.push((
        "from=2026-08-15&to=2026-10-20".into(),
        d("2026-08-15"),
        d("2026-10-21"),
    ));
    out
}

/// Finished ISO weeks whose Thursday is in `[from, until)` and that fall in the
/// assignments, as half-open instants.
fn weeks(s: &Scenario, from: NaiveDate, until: NaiveDate) -> Vec<(i64, i64)> {
    from.iter_days()
        .take_while(|d| *d < until)
        .filter(|d| d.weekday() == Weekday::Thu)
        .map(|thu| {
            let monday = thu - Duration::days(3);
            let start = at(s.tz, monday.year(), monday.month(), monday.day());
            (start, start + 7 * DAY)
        })
        .filter(|&(start, end)| end <= s.now && start >= s.assigned_from)
        .collect()
}

/// The fixture with the seeded scenario written into it.
async fn seeded(app: &TestApp) -> (Scenario, u64) {
    app.seed_fixture().await;
    let seed: u64 = std::env::var("PATROL_INDICATOR_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_207);
    let url = app.db.url().to_owned();
    let scenario = tokio::task::spawn_blocking(move || {
        let pool =
            patrol_api::db::connect(&patrol_api::db::DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
        let mut conn = pool.get().unwrap();
        let org = org(&mut conn);
        let s = scenario(&org, seed, chrono_tz::Asia::Shanghai);
        write(&mut conn, &org, &s);
        s
    })
    .await
    .unwrap();
    (scenario, seed)
}

async fn every_indicator_equals_a_recomputation_for_every_grouping(app: TestApp) {
    let (scenario, seed) = seeded(&app).await;
    let admin = app.login_as("admin").await;
    let families = app.get("/api/v1/indicators").token(&admin).send().await;
    assert_eq!(families.status, 200, "{}", families.text);
    let mut compared = 0;
    let mut nonempty = BTreeSet::new();
    for family in families.body.as_array().unwrap() {
        let name = family["family"].as_str().unwrap();
        for g in family["groupings"].as_array().unwrap() {
            let g = g.as_str().unwrap();
            for (query, from, until) in periods() {
                let span = (
                    at(scenario.tz, from.year(), from.month(), from.day()),
                    at(scenario.tz, until.year(), until.month(), until.day()),
                );
                let res = app
                    .get(&format!("/api/v1/indicators/{name}?{query}&group={g}"))
                    .token(&admin)
                    .send()
                    .await;
                assert_eq!(res.status, 200, "{name} {query} {g}: {}", res.text);
                let want = expected(&scenario, name, span, &weeks(&scenario, from, until), g);
                let got = answered(&res.body);
                assert_eq!(got, want, "seed {seed}: {name} by {g} for {query}");
                if !want.is_empty() {
                    nonempty.insert(format!("{name}/{g}"));
                }
                compared += 1;
            }
        }
    }
    assert_eq!(
        compared,
        28 * periods().len(),
        "every family x grouping x period"
    );
    assert_eq!(
        nonempty.len(),
        28,
        "every table had figures to compare: {nonempty:?}"
    );
    // A supervisor sees their street's communities (C1, C2), figured the same way.
    let leader = app.login_as("supervisor").await;
    for family in ["cases", "whistles", "visits", "engagement"] {
        let path = format!("/api/v1/indicators/{family}?period=2026&group=community");
        let all = app.get(&path).token(&admin).send().await;
        let scoped = app.get(&path).token(&leader).send().await;
        assert_eq!(scoped.status, 200, "{}", scoped.text);
        let mut want = answered(&all.body);
        want.remove("C3");
        assert!(!want.is_empty());
        assert_eq!(answered(&scoped.body), want, "{family}");
    }
}

async fn indicators_refuse_what_they_cannot_answer(app: TestApp) {
    app.seed_fixture().await;
    let admin = app.login_as("admin").await;
    let res = app
        .get("/api/v1/indicators/points?period=2026-12&group=community")
        .token(&admin)
        .send()
        .await;
    assert_eq!(res.status, 400, "{}", res.text);
    assert!(
        res.text
            .contains("points figures group by district, officer"),
        "{}",
        res.text
    );
    let res = app
        .get("/api/v1/indicators/weather?period=2026-12")
        .token(&admin)
        .send()
        .await;
    assert_eq!(res.status, 404, "{}", res.text);
    let res = app
        .get("/api/v1/indicators/cases?period=2026-12&from=2026-12-01&to=2026-12-02")
        .token(&admin)
        .send()
        .await;
    assert_eq!(res.status, 400, "{}", res.text);
}

/// The figures of one report section by code: (value, numerator, denominator).
fn section(report: &Value, family: &str) -> BTreeMap<String, Value> {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["family"] == family)
        .unwrap()["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap().to_owned(), f.clone()))
        .collect()
}

async fn the_monthly_report_renders_for_an_empty_and_a_busy_month(app: TestApp) {
    let (scenario, _) = seeded(&app).await;
    let admin = app.login_as("admin").await;
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/reports");
    std::fs::create_dir_all(&out).unwrap();
    for (month, busy) in [("2026-09", true), ("2026-03", false)] {
        let res = app
            .get(&format!("/api/v1/reports/monthly?month={month}"))
            .token(&admin)
            .send()
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        let report = res.body;
        // Each section is the family's district figures, beside last month's.
        let previous = report["previous_month"].as_str().unwrap().to_owned();
        for family in [
            "cases",
            "whistles",
            "residents",
            "visits",
            "points",
            "engagement",
        ] {
            let figures = section(&report, family);
            for (period, field) in [(month, "numerator"), (previous.as_str(), "previous")] {
                let table = app
                    .get(&format!("/api/v1/indicators/{family}?period={period}"))
                    .token(&admin)
                    .send()
                    .await;
                let district = answered(&table.body);
                let row = district.get("").cloned().unwrap_or_default();
                for (code, f) in &figures {
                    let want = row.get(code);
                    if field == "numerator" {
                        assert_eq!(
                            f["numerator"].as_i64().unwrap(),
                            want.map_or(0, |w| w.0),
                            "{month} {code}"
                        );
                    } else if let (Some(w), Some(p)) = (want, f["previous"].as_f64()) {
                        let v = match (w.1, code.as_str()) {
                            (Some(d), c) if d > 0 && c != "handling_minutes_p90" => {
                                w.0 as f64 / d as f64
                            }
                            _ => w.0 as f64,
                        };
                        assert!((p - v).abs() < 1e-9, "{month} previous {code}: {p} vs {v}");
                    }
                }
            }
        }
        let cases = section(&report, "cases");
        let weekly: i64 = report["weekly_cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["cases"].as_i64().unwrap())
            .sum();
        assert_eq!(report["weekly_cases"].as_array().unwrap().len(), 8);
        if busy {
            assert!(cases["cases_accepted"]["numerator"].as_i64().unwrap() > 20);
            assert!(weekly > 20, "the trend has the month's reports");
            assert!(!report["top_categories"].as_array().unwrap().is_empty());
            assert!(
                !report["meetings"].as_array().unwrap().is_empty()
                    || !report["events"].as_array().unwrap().is_empty()
            );
            // Reports per community and category agree with the scenario's hot spots.
            let span = (at(scenario.tz, 2026, 9, 1), at(scenario.tz, 2026, 10, 1));
            let mut per: BTreeMap<(String, String), i64> = BTreeMap::new();
            for c in scenario
                .cases
                .iter()
                .filter(|c| span.0 <= c.created && c.created < span.1)
            {
                *per.entry((c.k.community.clone(), c.k.category.clone()))
                    .or_default() += 1;
            }
            let want: BTreeSet<(String, String, i64)> = per
                .into_iter()
                .filter(|(_, n)| *n >= 3)
                .map(|((c, k), n)| (c, k, n))
                .collect();
            let got: BTreeSet<(String, String, i64)> = report["hot_spots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h["community"].as_str().unwrap().to_owned(),
                        h["category"].as_str().unwrap().to_owned(),
                        h["cases"].as_i64().unwrap(),
                    )
                })
                .collect();
            assert!(!want.is_empty());
            assert_eq!(got, want);
        } else {
            assert_eq!(cases["cases_accepted"]["numerator"], 0);
            assert_eq!(weekly, 0);
            assert!(report["hot_spots"].as_array().unwrap().is_empty());
        }
        // The printed document shows the same numbers.
        let page = app
            .get(&format!("/api/v1/reports/monthly/print?month={month}"))
            .token(&admin)
            .send()
            .await;
        assert_eq!(page.status, 200);
        let html = page.text;
        assert!(html.starts_with("<!doctype html>") && html.contains("lang=\"zh-CN\""));
        assert!(html.contains("月度调度报告") && html.contains("@media print"));
        assert_eq!(
            html.matches("<svg").count(),
            3,
            "trend, categories and the 721 mix"
        );
        assert!(
            !html
                .replace("http://www.w3.org/2000/svg", "")
                .contains("http")
                && !html.contains("<script")
                && !html.contains("<link"),
            "the document fetches nothing"
        );
        for s in report["sections"].as_array().unwrap() {
            for f in s["figures"].as_array().unwrap() {
                let value = f["value"]
                    .as_f64()
                    .map_or_else(String::new, |v| v.to_string());
                let den = f["denominator"]
                    .as_u64()
                    .map_or_else(String::new, |d| d.to_string());
                let row = format!(
                    "<tr data-code=\"{}\" data-value=\"{value}\" data-numerator=\"{}\" data-denominator=\"{den}\">",
                    f["code"].as_str().unwrap(),
                    f["numerator"]
                );
                assert!(html.contains(&row), "{month}: {row}");
            }
        }
        std::fs::write(
            out.join(format!("monthly-{month}-{:?}.html", app.backend)),
            &html,
        )
        .unwrap();
    }
    // One street; a supervisor may not ask for another's.
    let res = app
        .get("/api/v1/reports/monthly?month=2026-09&street=S2")
        .token(&admin)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["street"]["key"], "S2");
    let leader = app.login_as("supervisor").await;
    let res = app
        .get("/api/v1/reports/monthly?month=2026-09&street=S2")
        .token(&leader)
        .send()
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    for bad in ["month=2026-9", "month=2026-Q3", "month=2026-09&street=NOPE"] {
        let res = app
            .get(&format!("/api/v1/reports/monthly?{bad}"))
            .token(&admin)
            .send()
            .await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text);
    }
}

/// Rows of a CSV body (after an optional byte-order mark), header first.
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "RFC 4180 lines end in CRLF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the body ends with a line end"
    );
    rows
}

async fn exports_are_scoped_masked_and_quoted(app: TestApp) {
    let (scenario, _) = seeded(&app).await;
    let admin = app.login_as("admin").await;
    let leader = app.login_as("supervisor").await;
    let path = "/api/v1/exports/cases?from=2026-07-01&to=2026-11-30";
    let res = app.get(path).token(&admin).send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.header("content-type").unwrap().starts_with("text/csv"));
    assert!(
        res.header("content-disposition")
            .unwrap()
            .contains("cases-2026-07-01_2026-11-30.csv")
    );
    let rows = csv_rows(&res.text);
    assert_eq!(rows[0][0], "id");
    assert_eq!(rows.len() - 1, scenario.cases.len(), "every case once");
    let ids: BTreeSet<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids.len(), scenario.cases.len());
    let phone_col = rows[0].iter().position(|h| h == "reporter_phone").unwrap();
    let with_reporter = scenario.cases.iter().filter(|c| c.reporter).count();
    let phones: Vec<&str> = rows[1..]
        .iter()
        .map(|r| r[phone_col].as_str())
        .filter(|p| !p.is_empty())
        .collect();
    assert_eq!(phones.len(), with_reporter);
    assert!(
        phones
            .iter()
            .all(|p| *p == patrol_tests::fixture::RESIDENT_PHONE),
        "admins see whole numbers"
    );
    // A supervisor: their streets only, numbers masked; with a byte-order mark on request.
    let res = app
        .get(&format!("{path}&bom=true"))
        .token(&leader)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.text.starts_with('\u{feff}'));
    let rows = csv_rows(&res.text);
    let community = rows[0].iter().position(|h| h == "community").unwrap();
    let outside_c3 = scenario
        .cases
        .iter()
        .filter(|c| c.k.community != "C3")
        .count();
    assert_eq!(rows.len() - 1, outside_c3);
    assert!(rows[1..].iter().all(|r| r[community] != "C3"));
    for r in &rows[1..] {
        let p = &r[phone_col];
        assert!(
            p.is_empty() || (p.contains('*') && p != patrol_tests::fixture::RESIDENT_PHONE),
            "{p}"
        );
    }
    // Text with commas, quotes and line breaks survives the round trip.
    let officer = app.login_as("officer").await;
    let tricky = "漏水, 楼道\"3\"单元\n二楼";
    let res = app
        .post("/api/v1/cases")
        .token(&officer)
        .json(
            json!({"case_id": uuid::Uuid::now_v7().to_string(), "category_code": "garbage_pile",
            "description": tricky, "lat": 36.605, "lon": 101.805}),
        )
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let today = Utc::now().with_timezone(&scenario.tz).date_naive();
    let res = app
        .get(&format!("/api/v1/exports/cases?from={today}&to={today}"))
        .token(&admin)
        .send()
        .await;
    let rows = csv_rows(&res.text);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].last().unwrap(), tricky);
    // Every kind answers with its header; unknown kinds are 404, bad days 400.
    for kind in [
        "case_activities",
        "visits",
        "points",
        "suggestions",
        "meetings",
        "events",
    ] {
        let res = app
            .get(&format!(
                "/api/v1/exports/{kind}?from=2026-07-01&to=2026-11-30"
            ))
            .token(&leader)
            .send()
            .await;
        assert_eq!(res.status, 200, "{kind}: {}", res.text);
        assert!(csv_rows(&res.text).len() > 1, "{kind} has rows");
    }
    let res = app
        .get("/api/v1/exports/diary?from=2026-07-01&to=2026-11-30")
        .token(&leader)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(csv_rows(&res.text)[0][0], "id");
    // An indicator table as CSV: one line per group and indicator, the JSON's numbers.
    let q = "/api/v1/indicators/cases?period=2026-Q3&group=community";
    let json_table = app.get(q).token(&admin).send().await;
    let res = app
        .get(&format!("{q}&format=csv&bom=true"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.text.starts_with('\u{feff}'));
    let lines = csv_rows(&res.text);
    assert_eq!(
        lines[0],
        [
            "key",
            "name",
            "code",
            "indicator",
            "unit",
            "value",
            "numerator",
            "denominator"
        ]
    );
    let want: Vec<(String, String, String)> = json_table.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["figures"].as_array().unwrap().iter().map(move |f| {
                (
                    r["key"].as_str().unwrap().to_owned(),
                    f["code"].as_str().unwrap().to_owned(),
                    f["numerator"].to_string(),
                )
            })
        })
        .collect();
    let got: Vec<(String, String, String)> = lines[1..]
        .iter()
        .map(|l| (l[0].clone(), l[2].clone(), l[6].clone()))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    let res = app
        .get(&format!("{q}&format=xml"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(res.status, 400);
    let res = app
        .get("/api/v1/exports/weather?from=2026-07-01&to=2026-11-30")
        .token(&admin)
        .send()
        .await;
    assert_eq!(res.status, 404);
    let res = app
        .get("/api/v1/exports/cases?from=2026-07-02&to=2026-07-01")
        .token(&admin)
        .send()
        .await;
    assert_eq!(res.status, 400);
}

/// 100,000 cases stream out a page at a time: the body arrives in many chunks, never
/// built whole, and holds every row once.
async fn a_hundred_thousand_rows_stream_in_pages(app: TestApp) {
    app.seed_fixture().await;
    let url = app.db.url().to_owned();
    let total = 100_000usize;
    tokio::task::spawn_blocking(move || {
        let pool =
            patrol_api::db::connect(&patrol_api::db::DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
        let mut conn = pool.get().unwrap();
        let community: String = communities::table
            .select(communities::id)
            .first(&mut conn)
            .unwrap();
        let category: String = categories::table
            .select(categories::id)
            .first(&mut conn)
            .unwrap();
        let t0 = at(chrono_tz::Asia::Shanghai, 2026, 10, 1);
        // One statement both backends read, so seeding takes a moment, not a minute.
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) \
             INSERT INTO cases (id, community_id, category_id, source, status, description, \
             description_rev, notes, notes_rev, lat, lon, reporter_anonymous, priority, \
             rework_count, self_handled, class_721, observed_at_suspect, created_at, updated_at, \
             version) SELECT 'c' || i, '{community}', '{category}', 'patrol_find', 'reported', \
             '第' || i || '件', 1, '', 0, 36.605, 101.805, FALSE, 'normal', 0, FALSE, 'service', \
             FALSE, {t0} + i * 1000, {t0}, 1 FROM n",
            last = total - 1,
        );
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    })
    .await
    .unwrap();
    let admin = app.login_as("admin").await;
    let mut res = app
        .client
        .get(format!(
            "{}/api/v1/exports/cases?from=2026-10-01&to=2026-10-31",
            app.base
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.content_length().is_none(),
        "streamed, not sized up front"
    );
    let (mut chunks, mut bytes, mut lines, mut largest) = (0usize, 0usize, 0usize, 0usize);
    let mut last = Vec::new();
    while let Some(chunk) = res.chunk().await.unwrap() {
        chunks += 1;
        bytes += chunk.len();
        largest = largest.max(chunk.len());
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        last = chunk.to_vec();
    }
    assert_eq!(lines, total + 1, "the header and every row");
    let pages = total / usize::try_from(patrol_api::commands::exports::PAGE).unwrap();
    assert!(chunks >= pages, "{chunks} chunks for {pages} pages");
    assert!(
        largest < bytes / 10,
        "no chunk holds much of the body ({largest} of {bytes} bytes)"
    );
    assert!(
        String::from_utf8_lossy(&last).contains("c99999,"),
        "rows in key order"
    );
}

on_both_backends!(
    exports_are_scoped_masked_and_quoted,
    a_hundred_thousand_rows_stream_in_pages,
    every_indicator_equals_a_recomputation_for_every_grouping,
    the_monthly_report_renders_for_an_empty_and_a_busy_month,
    indicators_refuse_what_they_cannot_answer,
);
