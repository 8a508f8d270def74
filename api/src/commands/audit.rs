//! What supervisors audit (督导): scoped, filterable, paginated lists of points claims,
//! ledger entries, duty-diary entries, visits and recorded sync conflicts.
//!
//! Who sees what is decided here once, for every list: an administrator sees everything, a
//! supervisor (街道分管领导) the officers and party members working in the communities of
//! their streets, an officer or party member their own records; nobody else audits.

use diesel::prelude::*;
use patrol_domain::DomainError;
use patrol_domain::role::{AssignmentKind, Role, Scope};

use crate::commands::context::Ctx;
use crate::commands::diary::DiaryRow;
use crate::commands::points::{ClaimRow, PointsRow};
use crate::commands::visits::VisitRow;
use crate::db::schema::{
    assignments, conflicts, diary_entries, points_claims, points_entries, users, visits,
};
use crate::db::store::ConflictRow;
use crate::db::{DbConn, StoreError};

/// Most rows one page holds.
pub const MAX_PAGE: i64 = 200;

/// Where a page starts: after the `(key, id)` of the previous page's last row, newest
/// first. On the wire it is `"{key}_{id}"`, the `next` of the previous page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageStart {
    pub after: Option<(i64, String)>,
    pub limit: i64,
}

impl PageStart {
    /// Reads `after` and `limit` as a client sends them (default 50 rows).
    pub fn parse(after: Option<&str>, limit: Option<i64>) -> Result<Self, DomainError> {
        let limit = limit.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(DomainError::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = after
            .map(|a| {
                a.split_once('_')
                    .and_then(|(k, id)| Some((k.parse::<i64>().ok()?, id.to_owned())))
                    .filter(|(_, id)| !id.is_empty())
                    .ok_or_else(|| {
                        DomainError::invalid("after", "pass the `next` of the previous page")
                    })
            })
            .transpose()?;
        Ok(Self { after, limit })
    }
}

/// One page of rows and where the next one starts (`None` on the last page).
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

fn page_of<T>(rows: Vec<T>, start: &PageStart, key: impl Fn(&T) -> (i64, &str)) -> Page<T> {
    let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= start.limit;
    let next = full
        .then(|| rows.last().map(key))
        .flatten()
        .map(|(k, id)| format!("{k}_{id}"));
    Page { items: rows, next }
}

/// Whose records the caller may audit.
#[derive(Debug, Clone, PartialEq)]
pub enum Audience {
    /// An administrator: everyone.
    All,
    /// A supervisor: the officers and party members currently working in these
    /// communities (their streets' communities), and the communities themselves.
    Streets {
        communities: Vec<String>,
        people: Vec<String>,
    },
    /// An officer or party member: their own records only.
    Own(String),
}

impl Audience {
    /// The people whose records a list may show, narrowed to `person` when asked; `None`
    /// when everyone's may be shown.
    fn people(&self, person: Option<&str>) -> Result<Option<Vec<String>>, DomainError> {
        match (self, person) {
            (Audience::All, None) => Ok(None),
            (Audience::All, Some(p)) => Ok(Some(vec![p.to_owned()])),
            (Audience::Streets { people, .. }, None) => Ok(Some(people.clone())),
            (Audience::Streets { people, .. }, Some(p)) if people.iter().any(|x| x == p) => {
                Ok(Some(vec![p.to_owned()]))
            }
            (Audience::Streets { .. }, Some(p)) => Err(DomainError::forbidden(format!(
                "{p} does not work in a community of your streets"
            ))),
            (Audience::Own(me), None) => Ok(Some(vec![me.clone()])),
            (Audience::Own(me), Some(p)) if p == me => Ok(Some(vec![me.clone()])),
            (Audience::Own(_), Some(_)) => Err(DomainError::forbidden(
                "you may see only your own records; a supervisor of your street sees others'",
            )),
        }
    }

    /// The communities a list may show, narrowed to `community` when asked; `None` when
    /// every community may be shown. For an officer this is not a limit: their own
    /// records are shown wherever they were made.
    fn communities(&self, community: Option<&str>) -> Result<Option<Vec<String>>, DomainError> {
        match (self, community) {
            (Audience::Streets { communities, .. }, Some(c))
                if !communities.iter().any(|x| x == c) =>
            {
                Err(DomainError::forbidden(
                    "this community is not in your streets",
                ))
            }
            (Audience::Streets { communities, .. }, None) => Ok(Some(communities.clone())),
            (_, Some(c)) => Ok(Some(vec![c.to_owned()])),
            (_, None) => Ok(None),
        }
    }
}

/// Whose records `ctx`'s actor may audit, or why they may not.
pub fn audience(conn: &mut DbConn, ctx: &Ctx) -> Result<Result<Audience, DomainError>, StoreError> {
    let a = &ctx.actor;
    Ok(match (a.role, &ctx.scope) {
        (Role::Admin, _) => Ok(Audience::All),
        (Role::Supervisor, Scope::Communities(ids)) => Ok(Audience::Streets {
            people: people_working_in(conn, ids)?,
            communities: ids.clone(),
        }),
        (Role::Officer | Role::PartyMember, _) => Ok(Audience::Own(a.user_id.clone())),
        _ => Err(DomainError::forbidden(
            "audit lists are for supervisors, administrators and the officers themselves",
        )),
    })
}

/// Officers and party members with a current assignment in one of `communities`.
fn people_working_in(conn: &mut DbConn, communities: &[String]) -> Result<Vec<String>, StoreError> {
    let assigned = assignments::table
        .filter(assignments::target_id.eq_any(communities.to_vec()))
        .filter(assignments::ended_at.is_null())
        .filter(assignments::kind.ne(AssignmentKind::LeaderStreet.as_str()))
        .select(assignments::user_id);
    Ok(users::table
        .filter(users::id.eq_any(assigned))
        .filter(users::role.eq_any([Role::Officer.as_str(), Role::PartyMember.as_str()]))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

/// Ms since the epoch bounds `[from, to)`; either end open.
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

// ---- points claims ----------------------------------------------------------------

#[derive(Debug, Default)]
pub struct ClaimFilter {
    /// `pending`, `approved` or `rejected`.
    pub status: Option<String>,
    pub officer_id: Option<String>,
    /// Claims of the people currently working in this community.
    pub community_id: Option<String>,
    pub filed: Period,
}

/// Points claims, newest first.
pub fn claims(
    conn: &mut DbConn,
    ctx: &Ctx,
    f: &ClaimFilter,
    start: &PageStart,
) -> Result<Result<Page<ClaimRow>, DomainError>, StoreError> {
    if let Some(s) = &f.status
        && !matches!(s.as_str(), "pending" | "approved" | "rejected")
    {
        return Ok(Err(DomainError::invalid(
            "status",
            "must be pending, approved or rejected",
        )));
    }
    let people = match people_filter(
        conn,
        ctx,
        f.officer_id.as_deref(),
        f.community_id.as_deref(),
    )? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let mut q = points_claims::table
        .select(ClaimRow::as_select())
        .order((points_claims::created_at.desc(), points_claims::id.desc()))
        .limit(start.limit)
        .into_boxed();
    if let Some(p) = people {
        q = q.filter(points_claims::officer_id.eq_any(p));
    }
    if let Some(s) = &f.status {
        q = q.filter(points_claims::status.eq(s.clone()));
    }
    if let Some(t) = f.filed.from {
        q = q.filter(points_claims::created_at.ge(t));
    }
    if let Some(t) = f.filed.to {
        q = q.filter(points_claims::created_at.lt(t));
    }
    if let Some((k, id)) = start.after.clone() {
        q = q.filter(
            points_claims::created_at.lt(k).or(points_claims::created_at
                .eq(k)
                .and(points_claims::id.lt(id))),
        );
    }
    let rows = q.load(conn)?;
    Ok(Ok(page_of(rows, start, |r| (r.created_at, r.id.as_str()))))
}

/// The people a person-keyed list (claims, ledger, diary) shows: the audience, narrowed
/// to one person and/or to the people working in one community.
fn people_filter(
    conn: &mut DbConn,
    ctx: &Ctx,
    person: Option<&str>,
    community: Option<&str>,
) -> Result<Result<Option<Vec<String>>, DomainError>, StoreError> {
    let audience = match audience(conn, ctx)? {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    let mut people = match audience.people(person) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(c) = community {
        if let Err(e) = audience.communities(Some(c)) {
            return Ok(Err(e));
        }
        let there = people_working_in(conn, &[c.to_owned()])?;
        people = Some(match people {
            Some(p) => p.into_iter().filter(|x| there.contains(x)).collect(),
            None => there,
        });
    }
    Ok(Ok(people))
}

// ---- the points ledger -------------------------------------------------------------

#[derive(Debug, Default)]
pub struct LedgerFilter {
    pub officer_id: Option<String>,
    pub community_id: Option<String>,
    pub rule_code: Option<String>,
    pub recorded: Period,
}

/// Ledger entries, newest first (by their place in the chain).
pub fn ledger(
    conn: &mut DbConn,
    ctx: &Ctx,
    f: &LedgerFilter,
    start: &PageStart,
) -> Result<Result<Page<PointsRow>, DomainError>, StoreError> {
    let people = match people_filter(
        conn,
        ctx,
        f.officer_id.as_deref(),
        f.community_id.as_deref(),
    )? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let mut q = points_entries::table
        .select(PointsRow::as_select())
        .order(points_entries::seq.desc())
        .limit(start.limit)
        .into_boxed();
    if let Some(p) = people {
        q = q.filter(points_entries::officer_id.eq_any(p));
    }
    if let Some(r) = &f.rule_code {
        q = q.filter(points_entries::rule_code.eq(r.clone()));
    }
    if let Some(t) = f.recorded.from {
        q = q.filter(points_entries::recorded_at.ge(t));
    }
    if let Some(t) = f.recorded.to {
        q = q.filter(points_entries::recorded_at.lt(t));
    }
    if let Some((seq, _)) = &start.after {
        q = q.filter(points_entries::seq.lt(*seq));
    }
    let rows = q.load(conn)?;
    Ok(Ok(page_of(rows, start, |r| (r.seq, r.id.as_str()))))
}

// ---- the duty diary ----------------------------------------------------------------

#[derive(Debug, Default)]
pub struct DiaryFilter {
    pub author_id: Option<String>,
    pub community_id: Option<String>,
    /// `Some(false)`: awaiting sign-off; `Some(true)`: signed off.
    pub signed_off: Option<bool>,
    /// Entry dates `YYYY-MM-DD`, inclusive.
    pub from_date: Option<String>,
    pub to_date: Option<String>,
}

/// The current version of each diary entry, newest first.
pub fn diary(
    conn: &mut DbConn,
    ctx: &Ctx,
    f: &DiaryFilter,
    start: &PageStart,
) -> Result<Result<Page<DiaryRow>, DomainError>, StoreError> {
    for (field, d) in [("from", &f.from_date), ("to", &f.to_date)] {
        if let Some(d) = d
            && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
        {
            return Ok(Err(DomainError::invalid(
                field,
                "must be a date YYYY-MM-DD",
            )));
        }
    }
    let people = match people_filter(conn, ctx, f.author_id.as_deref(), f.community_id.as_deref())?
    {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let mut q = diary_entries::table
        .select(DiaryRow::as_select())
        .filter(diary_entries::current.eq(true))
        .order((diary_entries::created_at.desc(), diary_entries::id.desc()))
        .limit(start.limit)
        .into_boxed();
    if let Some(p) = people {
        q = q.filter(diary_entries::author_id.eq_any(p));
    }
    match f.signed_off {
        Some(true) => q = q.filter(diary_entries::signed_off_by.is_not_null()),
        Some(false) => q = q.filter(diary_entries::signed_off_by.is_null()),
        None => {}
    }
    if let Some(d) = &f.from_date {
        q = q.filter(diary_entries::entry_date.ge(d.clone()));
    }
    if let Some(d) = &f.to_date {
        q = q.filter(diary_entries::entry_date.le(d.clone()));
    }
    if let Some((k, id)) = start.after.clone() {
        q = q.filter(
            diary_entries::created_at.lt(k).or(diary_entries::created_at
                .eq(k)
                .and(diary_entries::id.lt(id))),
        );
    }
    let rows = q.load(conn)?;
    Ok(Ok(page_of(rows, start, |r| (r.created_at, r.id.as_str()))))
}

// ---- visits ------------------------------------------------------------------------

#[derive(Debug, Default)]
pub struct VisitFilter {
    /// `verified`, `flagged` or `accepted`.
    pub status: Option<String>,
    pub officer_id: Option<String>,
    pub community_id: Option<String>,
    pub started: Period,
    /// One visit, by id (the console's visit page), under the same scope.
    pub id: Option<String>,
}

/// Visits, newest first.
pub fn visits(
    conn: &mut DbConn,
    ctx: &Ctx,
    f: &VisitFilter,
    start: &PageStart,
) -> Result<Result<Page<VisitRow>, DomainError>, StoreError> {
    if let Some(s) = &f.status
        && !matches!(s.as_str(), "verified" | "flagged" | "accepted")
    {
        return Ok(Err(DomainError::invalid(
            "status",
            "must be verified, flagged or accepted",
        )));
    }
    let audience = match audience(conn, ctx)? {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    // A supervisor sees every visit made in their streets, whoever made it; an officer
    // sees their own, wherever they were made.
    let narrowed = match &audience {
        Audience::Streets { .. } => audience
            .communities(f.community_id.as_deref())
            .map(|places| (f.officer_id.clone().map(|p| vec![p]), places)),
        _ => audience
            .people(f.officer_id.as_deref())
            .and_then(|people| Ok((people, audience.communities(f.community_id.as_deref())?))),
    };
    let (people, places) = match narrowed {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    let mut q = visits::table
        .select(VisitRow::as_select())
        .order((visits::started_at.desc(), visits::id.desc()))
        .limit(start.limit)
        .into_boxed();
    if let Some(p) = people {
        q = q.filter(visits::officer_id.eq_any(p));
    }
    if let Some(c) = places {
        q = q.filter(visits::community_id.eq_any(c));
    }
    if let Some(s) = &f.status {
        q = q.filter(visits::status.eq(s.clone()));
    }
    if let Some(id) = &f.id {
        q = q.filter(visits::id.eq(id.clone()));
    }
    if let Some(t) = f.started.from {
        q = q.filter(visits::started_at.ge(t));
    }
    if let Some(t) = f.started.to {
        q = q.filter(visits::started_at.lt(t));
    }
    if let Some((k, id)) = start.after.clone() {
        q = q.filter(
            visits::started_at
                .lt(k)
                .or(visits::started_at.eq(k).and(visits::id.lt(id))),
        );
    }
    let rows = q.load(conn)?;
    Ok(Ok(page_of(rows, start, |r| (r.started_at, r.id.as_str()))))
}

// ---- sync conflicts ----------------------------------------------------------------

#[derive(Debug, Default)]
pub struct ConflictFilter {
    pub kind: Option<String>,
    pub entity: Option<String>,
    pub user_id: Option<String>,
    pub community_id: Option<String>,
    pub recorded: Period,
}

/// Recorded conflicts, newest first: a supervisor's are those of their streets'
/// communities and of the people working there; an officer's their own.
pub fn conflicts(
    conn: &mut DbConn,
    ctx: &Ctx,
    f: &ConflictFilter,
    start: &PageStart,
) -> Result<Result<Page<ConflictRow>, DomainError>, StoreError> {
    let audience = match audience(conn, ctx)? {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    let mut q = conflicts::table
        .select(ConflictRow::as_select())
        .order((conflicts::created_at.desc(), conflicts::id.desc()))
        .limit(start.limit)
        .into_boxed();
    match &audience {
        Audience::All => {}
        Audience::Streets {
            communities,
            people,
        } => {
            q = q.filter(
                conflicts::community_id
                    .eq_any(communities.clone())
                    .or(conflicts::user_id.eq_any(people.clone())),
            );
        }
        Audience::Own(me) => q = q.filter(conflicts::user_id.eq(me.clone())),
    }
    if let Some(p) = &f.user_id {
        if let Audience::Own(me) = &audience
            && p != me
        {
            return Ok(Err(DomainError::forbidden(
                "you may see only your own conflicts",
            )));
        }
        q = q.filter(conflicts::user_id.eq(p.clone()));
    }
    if let Some(c) = &f.community_id {
        if let Err(e) = audience.communities(Some(c)) {
            return Ok(Err(e));
        }
        q = q.filter(conflicts::community_id.eq(c.clone()));
    }
    if let Some(k) = &f.kind {
        q = q.filter(conflicts::kind.eq(k.clone()));
    }
    if let Some(e) = &f.entity {
        q = q.filter(conflicts::entity.eq(e.clone()));
    }
    if let Some(t) = f.recorded.from {
        q = q.filter(conflicts::created_at.ge(t));
    }
    if let Some(t) = f.recorded.to {
        q = q.filter(conflicts::created_at.lt(t));
    }
    if let Some((k, id)) = start.after.clone() {
        q = q.filter(
            conflicts::created_at
                .lt(k)
                .or(conflicts::created_at.eq(k).and(conflicts::id.lt(id))),
        );
    }
    let rows = q.load(conn)?;
    Ok(Ok(page_of(rows, start, |r| (r.created_at, r.id.as_str()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_start_reads_what_the_last_page_gave() {
        let s = PageStart::parse(Some("1700000000000_ab-cd"), Some(10)).unwrap();
        assert_eq!(s.after, Some((1_700_000_000_000, "ab-cd".to_owned())));
        assert_eq!(s.limit, 10);
        assert_eq!(PageStart::parse(None, None).unwrap().limit, 50);
        for bad in ["x_1", "12", "12_", "_a"] {
            assert!(PageStart::parse(Some(bad), None).is_err(), "{bad}");
        }
        assert!(PageStart::parse(None, Some(0)).is_err());
        assert!(PageStart::parse(None, Some(MAX_PAGE + 1)).is_err());
    }

    #[test]
    fn an_officer_sees_only_their_own_and_a_supervisor_only_their_streets() {
        let own = Audience::Own("me".into());
        assert_eq!(own.people(None).unwrap(), Some(vec!["me".to_owned()]));
        assert!(own.people(Some("other")).is_err());
        let streets = Audience::Streets {
            communities: vec!["c1".into()],
            people: vec!["o1".into(), "o2".into()],
        };
        assert_eq!(
            streets.people(Some("o2")).unwrap(),
            Some(vec!["o2".to_owned()])
        );
        assert!(streets.people(Some("o3")).is_err());
        assert!(streets.communities(Some("c2")).is_err());
        assert_eq!(
            streets.communities(None).unwrap(),
            Some(vec!["c1".to_owned()])
        );
        assert_eq!(Audience::All.people(None).unwrap(), None);
    }

    #[test]
    fn the_next_page_starts_after_the_last_row_of_a_full_page() {
        let start = PageStart {
            after: None,
            limit: 2,
        };
        let full = page_of(vec![(5, "b"), (4, "a")], &start, |r| (r.0, r.1));
        assert_eq!(full.next.as_deref(), Some("4_a"));
        let last = page_of(vec![(5, "b")], &start, |r| (r.0, r.1));
        assert_eq!(last.next, None);
    }
}
