//! A supervisor's work queue over HTTP: the audit lists of `commands::audit`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use patrol_domain::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::AuthUser;
use crate::commands::audit::{self, Page, PageStart, Period};
use crate::commands::diary::DiaryEntryView;
use crate::commands::points::{ClaimView, PointsRow};
use crate::commands::visits::VisitView;
use crate::db::ids::rfc3339;
use crate::db::store::{self, ConflictRow};
use crate::db::{DbConn, StoreError};
use crate::http::extract::Query;
use crate::http::handlers::cases::ctx;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

/// One page of a list as clients see it.
#[derive(Debug, Serialize)]
pub struct PageView<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last.
    pub next: Option<String>,
}

fn view<R, T>(page: Page<R>, f: impl FnMut(R) -> T) -> PageView<T> {
    PageView {
        items: page.items.into_iter().map(f).collect(),
        next: page.next,
    }
}

/// The community id of a community code, or a 400 naming the parameter.
fn community_id(conn: &mut DbConn, code: Option<&str>) -> ApiResult<Option<String>> {
    code.map(|code| {
        store::community_by_code(conn, code)?
            .map(|c| c.id)
            .ok_or_else(|| ApiError::bad_field("community", format!("no community {code:?}")))
    })
    .transpose()
}

fn period(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Period {
    Period {
        from: from.map(|t| t.timestamp_millis()),
        to: to.map(|t| t.timestamp_millis()),
    }
}

/// Runs one audit list in a read of its own and answers its page.
async fn list<T: Serialize + Send + 'static>(
    state: web::Data<AppState>,
    user: AuthUser,
    f: impl FnOnce(&mut DbConn, &crate::commands::context::Ctx) -> ApiResult<PageView<T>>
    + Send
    + 'static,
) -> ApiResult<HttpResponse> {
    let st = state.clone();
    let page = state
        .run_db(move |conn| -> ApiResult<PageView<T>> {
            let ctx = ctx(conn, &st, &user)?;
            f(conn, &ctx)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Where a page starts; a bad `after` or `limit` is a malformed request (400).
fn page_start(after: Option<&str>, limit: Option<i64>) -> ApiResult<PageStart> {
    PageStart::parse(after, limit).map_err(|e| match e {
        DomainError::Invalid { field, reason } => ApiError::bad_field(field, reason),
        other => ApiError::Domain(other),
    })
}

fn answered<T>(r: Result<Result<T, DomainError>, StoreError>) -> ApiResult<T> {
    Ok(r??)
}

// ---- points claims ----------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsQuery {
    pub status: Option<String>,
    pub officer_id: Option<String>,
    /// Community code: the claims of the people working there.
    pub community: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

/// Points claims for audit (`status=pending` is the queue), newest first.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_points_claims(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ClaimsQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let start = page_start(q.after.as_deref(), q.limit)?;
    list(state, user, move |conn, ctx| {
        let f = audit::ClaimFilter {
            status: q.status,
            officer_id: q.officer_id,
            community_id: community_id(conn, q.community.as_deref())?,
            filed: period(q.from, q.to),
        };
        Ok(view(
            answered(audit::claims(conn, ctx, &f, &start))?,
            ClaimView::from,
        ))
    })
    .await
}

// ---- the points ledger -------------------------------------------------------------

/// A ledger entry as clients see it.
#[derive(Debug, Serialize)]
pub struct PointsEntryView {
    pub seq: i64,
    pub id: String,
    pub officer_id: String,
    pub rule_code: String,
    pub points: i32,
    pub source_kind: String,
    pub source_id: String,
    /// The entry this one reverses, if it is a reversal.
    pub reverses_seq: Option<i64>,
    pub actor_id: Option<String>,
    pub note: String,
    pub recorded_at: String,
    pub hash: String,
}

impl From<PointsRow> for PointsEntryView {
    fn from(r: PointsRow) -> Self {
        Self {
            seq: r.seq,
            id: r.id,
            officer_id: r.officer_id,
            rule_code: r.rule_code,
            points: r.points,
            source_kind: r.source_kind,
            source_id: r.source_id,
            reverses_seq: r.reverses_seq,
            actor_id: r.actor_id,
            note: r.note,
            recorded_at: rfc3339(r.recorded_at),
            hash: r.hash,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    pub officer_id: Option<String>,
    /// Community code: the entries of the people working there.
    pub community: Option<String>,
    pub rule_code: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

/// The points ledger of an officer, of a community's people, or of the caller's scope.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_points_entries(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<LedgerQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let start = page_start(q.after.as_deref(), q.limit)?;
    list(state, user, move |conn, ctx| {
        let f = audit::LedgerFilter {
            officer_id: q.officer_id,
            community_id: community_id(conn, q.community.as_deref())?,
            rule_code: q.rule_code,
            recorded: period(q.from, q.to),
        };
        Ok(view(
            answered(audit::ledger(conn, ctx, &f, &start))?,
            PointsEntryView::from,
        ))
    })
    .await
}

// ---- the duty diary ----------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiaryQuery {
    pub author_id: Option<String>,
    pub community: Option<String>,
    /// `false`: the entries awaiting sign-off.
    pub signed_off: Option<bool>,
    /// First entry date, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last entry date, `YYYY-MM-DD`, inclusive.
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

/// The current version of each diary entry, newest first.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_diary_entries(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<DiaryQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let start = page_start(q.after.as_deref(), q.limit)?;
    list(state, user, move |conn, ctx| {
        let f = audit::DiaryFilter {
            author_id: q.author_id,
            community_id: community_id(conn, q.community.as_deref())?,
            signed_off: q.signed_off,
            from_date: q.from,
            to_date: q.to,
        };
        Ok(view(answered(audit::diary(conn, ctx, &f, &start))?, |r| {
            DiaryEntryView::from_row(&r)
        }))
    })
    .await
}

// ---- visits ------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitsQuery {
    /// `flagged`: the visits awaiting a supervisor's decision.
    pub status: Option<String>,
    pub officer_id: Option<String>,
    pub community: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

/// Visits, newest first.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_visits(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<VisitsQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let start = page_start(q.after.as_deref(), q.limit)?;
    list(state, user, move |conn, ctx| {
        let f = audit::VisitFilter {
            status: q.status,
            officer_id: q.officer_id,
            community_id: community_id(conn, q.community.as_deref())?,
            started: period(q.from, q.to),
            id: None,
        };
        Ok(view(answered(audit::visits(conn, ctx, &f, &start))?, |r| {
            VisitView::from_row(&r)
        }))
    })
    .await
}

// ---- sync conflicts ----------------------------------------------------------------

/// A recorded conflict as an auditor sees it.
#[derive(Debug, Serialize)]
pub struct ConflictRecordView {
    pub id: String,
    pub kind: String,
    pub entity: String,
    pub entity_id: String,
    pub community_id: Option<String>,
    /// The person it concerns (who sent the refused or overridden change).
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub mutation_id: Option<i64>,
    pub detail: Value,
    pub created_at: String,
}

impl From<ConflictRow> for ConflictRecordView {
    fn from(r: ConflictRow) -> Self {
        Self {
            detail: serde_json::from_str(&r.detail).unwrap_or(Value::Null),
            id: r.id,
            kind: r.kind,
            entity: r.entity,
            entity_id: r.entity_id,
            community_id: r.community_id,
            user_id: r.user_id,
            client_id: r.client_id,
            mutation_id: r.mutation_id,
            created_at: rfc3339(r.created_at),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictsQuery {
    pub kind: Option<String>,
    pub entity: Option<String>,
    pub user_id: Option<String>,
    pub community: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

/// Recorded sync conflicts, newest first.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_conflicts(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ConflictsQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let start = page_start(q.after.as_deref(), q.limit)?;
    list(state, user, move |conn, ctx| {
        let f = audit::ConflictFilter {
            kind: q.kind,
            entity: q.entity,
            user_id: q.user_id,
            community_id: community_id(conn, q.community.as_deref())?,
            recorded: period(q.from, q.to),
        };
        Ok(view(
            answered(audit::conflicts(conn, ctx, &f, &start))?,
            ConflictRecordView::from,
        ))
    })
    .await
}
