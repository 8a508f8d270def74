//! Meetings, public events and suggestions online: record, list, answer. Each write is the
//! command sync push also runs (`commands::engagement`).

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use patrol_domain::DomainError;
use patrol_sync::protocol::{
    EventRecordArgs, MeetingRecordArgs, SuggestionAnswerArgs, SuggestionRecordArgs,
};
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::commands::context::Ctx;
use crate::commands::engagement::{self, EngagementFilter, EventView, MeetingView, SuggestionView};
use crate::db::{DbConn, store};
use crate::http::extract::{Json, Query};
use crate::http::handlers::audit::PageView;
use crate::http::handlers::cases::{ctx, run};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngagementQuery {
    /// A community code.
    pub community: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Suggestions only.
    pub answered: Option<bool>,
    pub after: Option<String>,
    pub limit: Option<i64>,
}

impl EngagementQuery {
    fn filter(self, conn: &mut DbConn) -> ApiResult<EngagementFilter> {
        let mut f =
            EngagementFilter::page(self.after.as_deref(), self.limit).map_err(|e| match e {
                DomainError::Invalid { field, reason } => ApiError::bad_field(field, reason),
                other => ApiError::Domain(other),
            })?;
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(ApiError::bad_field("from", "must not be after `to`"));
        }
        f.community_id = self
            .community
            .as_deref()
            .map(|code| {
                store::community_by_code(conn, code)?
                    .map(|c| c.id)
                    .ok_or_else(|| {
                        ApiError::bad_field("community", format!("no community {code:?}"))
                    })
            })
            .transpose()?;
        f.from = self.from;
        f.to = self.to;
        f.answered = self.answered;
        Ok(f)
    }
}

/// Runs a command online in its own transaction and answers the record's view.
async fn write<T: Serialize + Send + 'static>(
    state: web::Data<AppState>,
    user: AuthUser,
    f: impl FnOnce(&mut DbConn, &Ctx) -> ApiResult<T> + Send + 'static,
) -> ApiResult<HttpResponse> {
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<T> {
            let ctx = ctx(conn, &st, &user)?;
            f(conn, &ctx)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn record_meeting(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<MeetingRecordArgs>,
) -> ApiResult<HttpResponse> {
    let args = body.into_inner();
    write(state, user, move |conn, ctx| {
        let r = run(conn, |conn| engagement::record_meeting(conn, ctx, &args))?.record;
        Ok(MeetingView::of(&r, &args.community_code))
    })
    .await
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn record_event(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<EventRecordArgs>,
) -> ApiResult<HttpResponse> {
    let args = body.into_inner();
    write(state, user, move |conn, ctx| {
        let r = run(conn, |conn| engagement::record_event(conn, ctx, &args))?.record;
        Ok(EventView::of(&r, &args.community_code))
    })
    .await
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn record_suggestion(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<SuggestionRecordArgs>,
) -> ApiResult<HttpResponse> {
    let args = body.into_inner();
    let full = user.role.sees_full_phone_numbers();
    write(state, user, move |conn, ctx| {
        let r = run(conn, |conn| engagement::record_suggestion(conn, ctx, &args))?.record;
        Ok(SuggestionView::of(&r, &args.community_code, full))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub answer: String,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn answer_suggestion(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<AnswerRequest>,
) -> ApiResult<HttpResponse> {
    let args = SuggestionAnswerArgs {
        suggestion_id: path.into_inner(),
        answer: body.into_inner().answer,
    };
    let full = user.role.sees_full_phone_numbers();
    write(state, user, move |conn, ctx| {
        let r = run(conn, |conn| engagement::answer_suggestion(conn, ctx, &args))?.record;
        let code = engagement::community_code(conn, &r.community_id)?;
        Ok(SuggestionView::of(&r, &code, full))
    })
    .await
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_meetings(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<EngagementQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    write(state, user, move |conn, ctx| {
        let f = q.filter(conn)?;
        let rows = engagement::meetings_page(conn, ctx, &f)??;
        let next = f.next(
            rows.len(),
            rows.last()
                .map(|(r, _)| (r.held_on.as_str(), r.id.as_str())),
        );
        Ok(PageView {
            items: rows
                .iter()
                .map(|(r, code)| MeetingView::of(r, code))
                .collect(),
            next,
        })
    })
    .await
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_events(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<EngagementQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    write(state, user, move |conn, ctx| {
        let f = q.filter(conn)?;
        let rows = engagement::events_page(conn, ctx, &f)??;
        let next = f.next(
            rows.len(),
            rows.last()
                .map(|(r, _)| (r.held_on.as_str(), r.id.as_str())),
        );
        Ok(PageView {
            items: rows
                .iter()
                .map(|(r, code)| EventView::of(r, code))
                .collect(),
            next,
        })
    })
    .await
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn list_suggestions(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<EngagementQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let full = user.role.sees_full_phone_numbers();
    write(state, user, move |conn, ctx| {
        let f = q.filter(conn)?;
        let rows = engagement::suggestions_page(conn, ctx, &f)??;
        let next = f.next(
            rows.len(),
            rows.last()
                .map(|(r, _)| (r.received_on.as_str(), r.id.as_str())),
        );
        Ok(PageView {
            items: rows
                .iter()
                .map(|(r, code)| SuggestionView::of(r, code, full))
                .collect(),
            next,
        })
    })
    .await
}
