//! CSV exports (RFC 4180, UTF-8, a header row) of the records a supervisor works with,
//! within the caller's scope and with phone numbers masked for roles that may not see
//! them. Rows are read a page at a time by key, so an export of any size holds one page
//! in memory; each page is its own short read.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use patrol_domain::org::mask_phone;

use crate::db::schema::{
    assignments, case_activities, cases, categories, communities, diary_entries, meetings,
    points_entries, public_events, suggestions, users, visits,
};
use crate::db::{DbConn, StoreError};

/// The UTF-8 byte-order mark, for spreadsheets that need one to read UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Rows read per page.
pub const PAGE: i64 = 2_000;

/// What can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Cases,
    CaseActivities,
    Visits,
    Points,
    Suggestions,
    Meetings,
    Events,
    Diary,
}

impl ExportKind {
    pub const ALL: [ExportKind; 8] = [
        ExportKind::Cases,
        ExportKind::CaseActivities,
        ExportKind::Visits,
        ExportKind::Points,
        ExportKind::Suggestions,
        ExportKind::Meetings,
        ExportKind::Events,
        ExportKind::Diary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Cases => "cases",
            ExportKind::CaseActivities => "case_activities",
            ExportKind::Visits => "visits",
            ExportKind::Points => "points",
            ExportKind::Suggestions => "suggestions",
            ExportKind::Meetings => "meetings",
            ExportKind::Events => "events",
            ExportKind::Diary => "diary",
        }
    }

    pub fn parse(s: &str) -> Option<ExportKind> {
        ExportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The header row.
    pub fn header(self) -> &'static [&'static str] {
        match self {
            ExportKind::Cases => &[
                "id",
                "community",
                "category",
                "source",
                "status",
                "close_outcome",
                "reported_at",
                "accepted_at",
                "close_due_at",
                "closed_at",
                "rework_count",
                "rating",
                "reporter_phone",
                "description",
            ],
            ExportKind::CaseActivities => &[
                "id",
                "case_id",
                "community",
                "kind",
                "from_status",
                "to_status",
                "actor_role",
                "class_721",
                "recorded_at",
                "note",
            ],
            ExportKind::Visits => &[
                "id",
                "officer",
                "community",
                "started_at",
                "ended_at",
                "status",
                "flags",
                "class_721",
                "purpose",
            ],
            ExportKind::Points => &[
                "seq",
                "officer",
                "rule_code",
                "points",
                "source_kind",
                "source_id",
                "recorded_at",
                "note",
            ],
            ExportKind::Suggestions => &[
                "id",
                "community",
                "from",
                "from_name",
                "from_phone",
                "received_on",
                "body",
                "answer",
                "answered_at",
            ],
            ExportKind::Meetings => &[
                "id",
                "community",
                "kind",
                "held_on",
                "attendee_count",
                "settled_count",
                "topics",
                "author",
            ],
            ExportKind::Events => &[
                "id",
                "community",
                "kind",
                "held_on",
                "place",
                "attendance",
                "description",
                "author",
            ],
            ExportKind::Diary => &[
                "id",
                "author",
                "entry_date",
                "shift",
                "version",
                "signed_off_at",
                "body",
            ],
        }
    }
}

/// Who asks and over what.
#[derive(Debug, Clone)]
pub struct ExportAsk {
    pub kind: ExportKind,
    /// Community ids (a supervisor's scope), or all.
    pub only: Option<Vec<String>>,
    /// Half-open instants of the records' own time (reported, recorded, started...).
    pub from: i64,
    pub until: i64,
    /// The same days as `YYYY-MM-DD`, from inclusive, until exclusive (for records kept by day).
    pub days: (String, String),
    pub full_phones: bool,
    pub tz: Tz,
}

/// One page of rows after `after` (the last key of the page before), with the last
/// key of this page; `None` once there is nothing more.
pub type Page = (Vec<Vec<String>>, Option<String>);

fn time(tz: Tz, ms: Option<i64>) -> String {
    ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn phone(p: Option<String>, full: bool) -> String {
    p.map(|p| if full { p } else { mask_phone(&p) })
        .unwrap_or_default()
}

fn codes(conn: &mut DbConn) -> Result<BTreeMap<String, String>, StoreError> {
    Ok(communities::table
        .select((communities::id, communities::code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

fn names(conn: &mut DbConn) -> Result<BTreeMap<String, String>, StoreError> {
    Ok(users::table
        .select((users::id, users::display_name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// The next page of `ask` after `after`.
pub fn page(conn: &mut DbConn, ask: &ExportAsk, after: Option<&str>) -> Result<Page, StoreError> {
    let tz = ask.tz;
    let after = after.unwrap_or("").to_owned();
    let rows: Vec<Vec<String>> = match ask.kind {
        ExportKind::Cases => {
            let mut q = cases::table
                .inner_join(categories::table.on(categories::id.eq(cases::category_id)))
                .inner_join(communities::table.on(communities::id.eq(cases::community_id)))
                .filter(cases::created_at.ge(ask.from))
                .filter(cases::created_at.lt(ask.until))
                .filter(cases::id.gt(&after))
                .order(cases::id)
                .limit(PAGE)
                .select((
                    (
                        cases::id,
                        communities::code,
                        categories::code,
                        cases::source,
                        cases::status,
                        cases::close_outcome,
                        cases::created_at,
                        cases::accepted_at,
                        cases::close_due_at,
                        cases::closed_at,
                    ),
                    (
                        cases::rework_count,
                        cases::rating,
                        cases::reporter_anonymous,
                        cases::reporter_id,
                        cases::description,
                    ),
                ))
                .into_boxed();
            if let Some(ids) = &ask.only {
                q = q.filter(cases::community_id.eq_any(ids.clone()));
            }
            type Head = (
                String,
                String,
                String,
                String,
                String,
                Option<String>,
                i64,
                Option<i64>,
                Option<i64>,
                Option<i64>,
            );
            type Tail = (i32, Option<i32>, bool, Option<String>, String);
            let rows = q.load::<(Head, Tail)>(conn)?;
            let reporters: Vec<String> = rows.iter().filter_map(|(_, t)| t.3.clone()).collect();
            let phones: BTreeMap<String, String> = users::table
                .filter(users::id.eq_any(&reporters))
                .select((users::id, users::phone.assume_not_null()))
                .filter(users::phone.is_not_null())
                .load::<(String, String)>(conn)?
                .into_iter()
                .collect();
            rows.into_iter()
                .map(|(h, t)| {
                    let reporter = if t.2 {
                        None
                    } else {
                        t.3.and_then(|id| phones.get(&id).cloned())
                    };
                    vec![
                        h.0,
                        h.1,
                        h.2,
                        h.3,
                        h.4,
                        h.5.unwrap_or_default(),
                        time(tz, Some(h.6)),
                        time(tz, h.7),
                        time(tz, h.8),
                        time(tz, h.9),
                        t.0.to_string(),
                        t.1.map(|r| r.to_string()).unwrap_or_default(),
                        phone(reporter, ask.full_phones),
                        t.4,
                    ]
                })
                .collect()
        }
        ExportKind::CaseActivities => {
            let mut q = case_activities::table
                .inner_join(cases::table)
                .inner_join(communities::table.on(communities::id.eq(cases::community_id)))
                .filter(case_activities::recorded_at.ge(ask.from))
                .filter(case_activities::recorded_at.lt(ask.until))
                .filter(case_activities::id.gt(&after))
                .order(case_activities::id)
                .limit(PAGE)
                .select((
                    case_activities::id,
                    case_activities::case_id,
                    communities::code,
                    case_activities::kind,
                    case_activities::from_status,
                    case_activities::to_status,
                    case_activities::actor_role,
                    case_activities::class_721,
                    case_activities::recorded_at,
                    case_activities::note,
                ))
                .into_boxed();
            if let Some(ids) = &ask.only {
                q = q.filter(cases::community_id.eq_any(ids.clone()));
            }
            type Row = (
                String,
                String,
                String,
                String,
                Option<String>,
                Option<String>,
                String,
                Option<String>,
                i64,
                String,
            );
            q.load::<Row>(conn)?
                .into_iter()
                .map(|r| {
                    vec![
                        r.0,
                        r.1,
                        r.2,
                        r.3,
                        r.4.unwrap_or_default(),
                        r.5.unwrap_or_default(),
                        r.6,
                        r.7.unwrap_or_default(),
                        time(tz, Some(r.8)),
                        r.9,
                    ]
                })
                .collect()
        }
        ExportKind::Visits => {
            let mut q = visits::table
                .filter(visits::started_at.ge(ask.from))
                .filter(visits::started_at.lt(ask.until))
                .filter(visits::id.gt(&after))
                .order(visits::id)
                .limit(PAGE)
                .select((
                    visits::id,
                    visits::officer_id,
                    visits::community_id,
                    visits::started_at,
                    visits::ended_at,
                    visits::status,
                    visits::flags,
                    visits::class_721,
                    visits::purpose,
                ))
                .into_boxed();
            if let Some(ids) = &ask.only {
                q = q.filter(visits::community_id.eq_any(ids.clone()));
            }
            type Row = (
                String,
                String,
                String,
                i64,
                i64,
                String,
                String,
                String,
                String,
            );
            let rows = q.load::<Row>(conn)?;
            let (codes, names) = (codes(conn)?, names(conn)?);
            rows.into_iter()
                .map(|r| {
                    let flags: Vec<String> = serde_json::from_str(&r.6).unwrap_or_default();
                    vec![
                        r.0,
                        names.get(&r.1).cloned().unwrap_or(r.1),
                        codes.get(&r.2).cloned().unwrap_or_default(),
                        time(tz, Some(r.3)),
                        time(tz, Some(r.4)),
                        r.5,
                        flags.join(" "),
                        r.7,
                        r.8,
                    ]
                })
                .collect()
        }
        ExportKind::Points => {
            let after_seq: i64 = after.parse().unwrap_or(i64::MIN);
            let mut q = points_entries::table
                .filter(points_entries::recorded_at.ge(ask.from))
                .filter(points_entries::recorded_at.lt(ask.until))
                .filter(points_entries::seq.gt(after_seq))
                .order(points_entries::seq)
                .limit(PAGE)
                .select((
                    points_entries::seq,
                    points_entries::officer_id,
                    points_entries::rule_code,
                    points_entries::points,
                    points_entries::source_kind,
                    points_entries::source_id,
                    points_entries::recorded_at,
                    points_entries::note,
                ))
                .into_boxed();
            if let Some(ids) = &ask.only {
                // Points belong to people: those ever assigned to the scope's communities.
                let people = assignments::table
                    .filter(assignments::target_id.eq_any(ids.clone()))
                    .select(assignments::user_id);
                q = q.filter(points_entries::officer_id.eq_any(people));
            }
            type Row = (i64, String, String, i32, String, String, i64, String);
            let rows = q.load::<Row>(conn)?;
            let names = names(conn)?;
            rows.into_iter()
                .map(|r| {
                    vec![
                        r.0.to_string(),
                        names.get(&r.1).cloned().unwrap_or(r.1),
                        r.2,
                        r.3.to_string(),
                        r.4,
                        r.5,
                        time(tz, Some(r.6)),
                        r.7,
                    ]
                })
                .collect()
        }
        ExportKind::Suggestions => {
            let mut q = suggestions::table
                .inner_join(communities::table)
                .filter(suggestions::received_on.ge(&ask.days.0))
                .filter(suggestions::received_on.lt(&ask.days.1))
                .filter(suggestions::id.gt(&after))
                .order(suggestions::id)
                .limit(PAGE)
                .select((
                    suggestions::id,
                    communities::code,
                    suggestions::from_kind,
                    suggestions::from_name,
                    suggestions::from_phone,
                    suggestions::received_on,
                    suggestions::body,
                    suggestions::answer,
                    suggestions::answered_at,
                ))
                .into_boxed();
            if let Some(ids) = &ask.only {
                q = q.filter(suggestions::community_id.eq_any(ids.clone()));
            }
            type Row = (
                String,
                String,
                String,
                String,
                Option<String>,
                String,
                String,
                Option<String>,
                Option<i64>,
            );
            q.load::<Row>(conn)?
                .into_iter()
                .map(|r| {
                    vec![
                        r.0,
                        r.1,
                        r.2,
                        r.3,
                        phone(r.4, ask.full_phones),
                        r.5,
                        r.6,
                        r.7.unwrap_or_default(),
                        time(tz, r.8),
                    ]
                })
                .collect()
        }
        ExportKind::Meetings => {
            let mut q = meetings::table
                .filter(meetings::held_on.ge(&ask.days.0))
                .filter(meetings::held_on.lt(&ask.days.1))
                .filter(meetings::id.gt(&after))
                .order(meetings::id)
                .limit(PAGE)
                .select((
                    meetings::id,
                    meetings::community_id,
                    meetings::kind,
                    meetings::held_on,
                    meetings::attendee_count,
                    meetings::settled_count,
                    meetings::topics,
                    meetings::author_id,
                ))
                .into_boxed();
            if let Some(ids) = &ask.only {
                q = q.filter(meetings::community_id.eq_any(ids.clone()));
            }
            type Row = (String, String, String, String, i32, i32, String, String);
            let rows = q.load::<Row>(conn)?;
            let (codes, names) = (codes(conn)?, names(conn)?);
            rows.into_iter()
                .map(|r| {
                    let topics: Vec<String> = serde_json::from_str(&r.6).unwrap_or_default();
                    vec![
                        r.0,
                        codes.get(&r.1).cloned().unwrap_or_default(),
                        r.2,
                        r.3,
                        r.4.to_string(),
                        r.5.to_string(),
                        topics.join("；"),
                        names.get(&r.7).cloned().unwrap_or(r.7),
                    ]
                })
                .collect()
        }
        ExportKind::Events => {
            let mut q = public_events::table
                .filter(public_events::held_on.ge(&ask.days.0))
                .filter(public_events::held_on.lt(&ask.days.1))
                .filter(public_events::id.gt(&after))
                .order(public_events::id)
                .limit(PAGE)
                .select((
                    public_events::id,
                    public_events::community_id,
                    public_events::kind,
                    public_events::held_on,
                    public_events::place,
                    public_events::attendance,
                    public_events::description,
                    public_events::author_id,
                ))
                .into_boxed();
            if let Some(ids) = &ask.only {
                q = q.filter(public_events::community_id.eq_any(ids.clone()));
            }
            type Row = (String, String, String, String, String, i32, String, String);
            let rows = q.load::<Row>(conn)?;
            let (codes, names) = (codes(conn)?, names(conn)?);
            rows.into_iter()
                .map(|r| {
                    vec![
                        r.0,
                        codes.get(&r.1).cloned().unwrap_or_default(),
                        r.2,
                        r.3,
                        r.4,
                        r.5.to_string(),
                        r.6,
                        names.get(&r.7).cloned().unwrap_or(r.7),
                    ]
                })
                .collect()
        }
        ExportKind::Diary => {
            let mut q = diary_entries::table
                .filter(diary_entries::current.eq(true))
                .filter(diary_entries::entry_date.ge(&ask.days.0))
                .filter(diary_entries::entry_date.lt(&ask.days.1))
                .filter(diary_entries::id.gt(&after))
                .order(diary_entries::id)
                .limit(PAGE)
                .select((
                    diary_entries::id,
                    diary_entries::author_id,
                    diary_entries::entry_date,
                    diary_entries::shift,
                    diary_entries::version,
                    diary_entries::signed_off_at,
                    diary_entries::body,
                ))
                .into_boxed();
            if let Some(ids) = &ask.only {
                // A diary is its author's: those ever assigned to the scope's communities.
                let people = assignments::table
                    .filter(assignments::target_id.eq_any(ids.clone()))
                    .select(assignments::user_id);
                q = q.filter(diary_entries::author_id.eq_any(people));
            }
            type Row = (String, String, String, String, i32, Option<i64>, String);
            let rows = q.load::<Row>(conn)?;
            let names = names(conn)?;
            rows.into_iter()
                .map(|r| {
                    vec![
                        r.0,
                        names.get(&r.1).cloned().unwrap_or(r.1),
                        r.2,
                        r.3,
                        r.4.to_string(),
                        time(tz, r.5),
                        r.6,
                    ]
                })
                .collect()
        }
    };
    let last = (i64::try_from(rows.len()).unwrap_or(0) == PAGE)
        .then(|| rows.last().and_then(|r| r.first().cloned()))
        .flatten();
    Ok((rows, last))
}

/// CSV bytes of `rows` (RFC 4180: quoted where needed, CRLF line ends).
pub fn csv_bytes(rows: &[Vec<String>]) -> Result<Vec<u8>, StoreError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for r in rows {
        w.write_record(r)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    }
    w.into_inner()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}
