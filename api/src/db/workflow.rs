//! Rows and queries of the case workflow beyond the case itself: followers, escalations
//! to the joint-meeting office and their department tasks, and the case queries behind
//! lists, duplicate suggestions, rate limits and reports.

use diesel::prelude::*;
use patrol_domain::DomainError;
use patrol_domain::escalation::EscalationStatus;

use super::schema::*;
use super::store::CaseRow;
use super::{DbConn, StoreError, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = case_followers)]
pub struct FollowerRow {
    pub case_id: String,
    pub user_id: String,
    pub via_case_id: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = escalations, treat_none_as_null = true)]
pub struct EscalationRow {
    pub id: String,
    pub case_id: String,
    pub community_id: String,
    pub status: String,
    pub reason: String,
    pub raised_by: String,
    pub raised_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: Option<String>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = department_tasks, treat_none_as_null = true)]
pub struct TaskRow {
    pub id: String,
    pub escalation_id: String,
    pub case_id: String,
    pub department_id: String,
    pub status: String,
    pub instructions: String,
    pub assigned_by: String,
    pub assigned_at: i64,
    pub due_at: i64,
    pub done_by: Option<String>,
    pub done_at: Option<i64>,
    pub response: Option<String>,
    pub evidence: String,
}

// ---- followers ----------------------------------------------------------------------

/// Adds a follower unless they already follow the case.
pub fn follow(conn: &mut DbConn, row: &FollowerRow) -> StoreResult<()> {
    let n: i64 = case_followers::table
        .filter(case_followers::case_id.eq(&row.case_id))
        .filter(case_followers::user_id.eq(&row.user_id))
        .count()
        .get_result(conn)?;
    if n == 0 {
        diesel::insert_into(case_followers::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn follows(conn: &mut DbConn, case_id: &str, user_id: &str) -> StoreResult<bool> {
    let n: i64 = case_followers::table
        .filter(case_followers::case_id.eq(case_id))
        .filter(case_followers::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

// ---- escalations and department tasks ----------------------------------------------

pub fn insert_escalation(conn: &mut DbConn, row: &EscalationRow) -> StoreResult<()> {
    diesel::insert_into(escalations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn update_escalation(conn: &mut DbConn, row: &EscalationRow) -> StoreResult<()> {
    diesel::update(escalations::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn escalation_by_id(conn: &mut DbConn, id: &str) -> StoreResult<Option<EscalationRow>> {
    Ok(escalations::table
        .find(id)
        .select(EscalationRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn escalations_of_case(conn: &mut DbConn, case_id: &str) -> StoreResult<Vec<EscalationRow>> {
    Ok(escalations::table
        .filter(escalations::case_id.eq(case_id))
        .order(escalations::raised_at)
        .select(EscalationRow::as_select())
        .load(conn)?)
}

/// Escalations, newest first, optionally of one status and limited to communities.
pub fn list_escalations(
    conn: &mut DbConn,
    status: Option<&str>,
    communities: Option<&[String]>,
    limit: i64,
) -> StoreResult<Vec<EscalationRow>> {
    let mut q = escalations::table
        .select(EscalationRow::as_select())
        .order((escalations::raised_at.desc(), escalations::id))
        .limit(limit)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(escalations::status.eq(s.to_owned()));
    }
    if let Some(c) = communities {
        q = q.filter(escalations::community_id.eq_any(c.to_vec()));
    }
    Ok(q.load(conn)?)
}

pub fn insert_task(conn: &mut DbConn, row: &TaskRow) -> StoreResult<()> {
    diesel::insert_into(department_tasks::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn update_task(conn: &mut DbConn, row: &TaskRow) -> StoreResult<()> {
    diesel::update(department_tasks::table.find(&row.id))
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn task_by_id(conn: &mut DbConn, id: &str) -> StoreResult<Option<TaskRow>> {
    Ok(department_tasks::table
        .find(id)
        .select(TaskRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn tasks_of_case(conn: &mut DbConn, case_id: &str) -> StoreResult<Vec<TaskRow>> {
    Ok(department_tasks::table
        .filter(department_tasks::case_id.eq(case_id))
        .order((department_tasks::assigned_at, department_tasks::id))
        .select(TaskRow::as_select())
        .load(conn)?)
}

pub fn tasks_of_escalation(conn: &mut DbConn, escalation_id: &str) -> StoreResult<Vec<TaskRow>> {
    Ok(department_tasks::table
        .filter(department_tasks::escalation_id.eq(escalation_id))
        .order(department_tasks::id)
        .select(TaskRow::as_select())
        .load(conn)?)
}

/// A department's tasks (or all, for `None`), optionally of one status, oldest due first.
pub fn list_tasks(
    conn: &mut DbConn,
    department_id: Option<&str>,
    status: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<TaskRow>> {
    let mut q = department_tasks::table
        .select(TaskRow::as_select())
        .order((department_tasks::due_at, department_tasks::id))
        .limit(limit)
        .into_boxed();
    if let Some(d) = department_id {
        q = q.filter(department_tasks::department_id.eq(d.to_owned()));
    }
    if let Some(s) = status {
        q = q.filter(department_tasks::status.eq(s.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// Tasks assigned in `[from, to)` (ms), for the department report.
pub fn tasks_assigned_between(conn: &mut DbConn, from: i64, to: i64) -> StoreResult<Vec<TaskRow>> {
    Ok(department_tasks::table
        .filter(department_tasks::assigned_at.ge(from))
        .filter(department_tasks::assigned_at.lt(to))
        .order(department_tasks::id)
        .select(TaskRow::as_select())
        .load(conn)?)
}

pub fn open_task_count(conn: &mut DbConn, case_id: &str) -> StoreResult<i64> {
    Ok(department_tasks::table
        .filter(department_tasks::case_id.eq(case_id))
        .filter(department_tasks::status.eq("open"))
        .count()
        .get_result(conn)?)
}

pub fn has_task_on(conn: &mut DbConn, case_id: &str, department_id: &str) -> StoreResult<bool> {
    let n: i64 = department_tasks::table
        .filter(department_tasks::case_id.eq(case_id))
        .filter(department_tasks::department_id.eq(department_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

// ---- case queries -------------------------------------------------------------------

/// Statuses in which a case is still being worked on (a duplicate candidate).
pub const OPEN_STATUSES: [&str; 6] = [
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "resolved",
    "deferred",
];

/// Open cases of a category inside a lat/lon box, except `except_id`.
pub fn open_cases_in_box(
    conn: &mut DbConn,
    category_id: &str,
    (min_lat, min_lon): (f64, f64),
    (max_lat, max_lon): (f64, f64),
    except_id: &str,
) -> StoreResult<Vec<CaseRow>> {
    Ok(cases::table
        .filter(cases::category_id.eq(category_id))
        .filter(cases::status.eq_any(OPEN_STATUSES))
        .filter(cases::lat.between(min_lat, max_lat))
        .filter(cases::lon.between(min_lon, max_lon))
        .filter(cases::id.ne(except_id))
        .select(CaseRow::as_select())
        .load(conn)?)
}

/// How many cases `user_id` reported since `since` (ms).
pub fn reports_by_since(conn: &mut DbConn, user_id: &str, since: i64) -> StoreResult<i64> {
    Ok(cases::table
        .filter(cases::reporter_id.eq(user_id))
        .filter(cases::created_at.ge(since))
        .count()
        .get_result(conn)?)
}

/// Filters of the case list.
#[derive(Debug, Default, Clone)]
pub struct CaseFilter {
    /// Only these communities (`None`: all).
    pub communities: Option<Vec<String>>,
    /// With `communities`: also the cases this person reported, filed, owns as first
    /// contact or handles, wherever they are.
    pub or_person: Option<String>,
    /// Only cases reported by, or followed by, this person.
    pub involving: Option<String>,
    /// Only cases with a task for this department.
    pub department: Option<String>,
    pub status: Option<String>,
    pub category_id: Option<String>,
    pub source: Option<String>,
    /// Only cases still open (see [`OPEN_STATUSES`]).
    pub open_only: bool,
    /// Created in `[from, to)` (ms).
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
}

/// Cases matching `f`, newest first, after the `(created_at, id)` of the last page.
pub fn list_cases(
    conn: &mut DbConn,
    f: &CaseFilter,
    after: Option<(i64, String)>,
    limit: i64,
) -> StoreResult<Vec<CaseRow>> {
    let mut q = cases::table
        .select(CaseRow::as_select())
        .order((cases::created_at.desc(), cases::id.desc()))
        .limit(limit)
        .into_boxed();
    match (&f.communities, &f.or_person) {
        (Some(c), Some(p)) => {
            q = q.filter(
                cases::community_id
                    .eq_any(c.clone())
                    .or(cases::reporter_id.eq(p.clone()))
                    .or(cases::created_by.eq(p.clone()))
                    .or(cases::first_contact_id.eq(p.clone()))
                    .or(cases::handler_id.eq(p.clone())),
            );
        }
        (Some(c), None) => q = q.filter(cases::community_id.eq_any(c.clone())),
        _ => {}
    }
    if let Some(u) = &f.involving {
        let followed = case_followers::table
            .filter(case_followers::user_id.eq(u.clone()))
            .select(case_followers::case_id);
        q = q.filter(
            cases::reporter_id
                .eq(u.clone())
                .or(cases::id.eq_any(followed)),
        );
    }
    if let Some(d) = &f.department {
        let tasked = department_tasks::table
            .filter(department_tasks::department_id.eq(d.clone()))
            .select(department_tasks::case_id);
        q = q.filter(cases::id.eq_any(tasked));
    }
    if let Some(s) = &f.status {
        q = q.filter(cases::status.eq(s.clone()));
    }
    if f.open_only {
        q = q.filter(cases::status.eq_any(OPEN_STATUSES));
    }
    if let Some(c) = &f.category_id {
        q = q.filter(cases::category_id.eq(c.clone()));
    }
    if let Some(s) = &f.source {
        q = q.filter(cases::source.eq(s.clone()));
    }
    if let Some(t) = f.created_from {
        q = q.filter(cases::created_at.ge(t));
    }
    if let Some(t) = f.created_to {
        q = q.filter(cases::created_at.lt(t));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            cases::created_at
                .lt(at)
                .or(cases::created_at.eq(at).and(cases::id.lt(id))),
        );
    }
    Ok(q.load(conn)?)
}

/// Ids of cases escalated since `since` (ms) or later.
pub fn escalated_case_ids(
    conn: &mut DbConn,
    since: i64,
) -> StoreResult<std::collections::HashSet<String>> {
    Ok(escalations::table
        .filter(escalations::raised_at.ge(since))
        .select(escalations::case_id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

impl EscalationRow {
    /// The stored status, parsed.
    pub fn status(&self) -> StoreResult<EscalationStatus> {
        self.status
            .parse()
            .map_err(|e: DomainError| StoreError::Corrupt(e.to_string()))
    }
}
