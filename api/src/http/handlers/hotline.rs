//! Hotline intake (12345) over HTTP: the hotline's integration account transfers tickets
//! (idempotent on the ticket number), staff record the answer, both read the ticket.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::commands::hotline::{self, TicketArgs, TicketView};
use crate::http::extract::Json;
use crate::http::handlers::cases::{ctx, run};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn take_in_ticket(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<TicketArgs>,
) -> ApiResult<HttpResponse> {
    let args = std::sync::Arc::new(body.into_inner());
    let attempt = |state: web::Data<AppState>, user: AuthUser, args: std::sync::Arc<TicketArgs>| {
        let st = state.clone();
        async move {
            state
                .run_db(move |conn| -> ApiResult<(TicketView, bool)> {
                    let ctx = ctx(conn, &st, &user)?;
                    let t = run(conn, |conn| hotline::take_in(conn, &ctx, &args))?.record;
                    Ok((TicketView::of(&t.ticket, &t.case.status), t.created))
                })
                .await
        }
    };
    // Two transfers of a new ticket racing each other meet on its case's key: the one
    // that lost finds the ticket on a second try.
    let (view, created) = match attempt(state.clone(), user.clone(), args.clone()).await {
        Err(ApiError::Conflict(_)) => attempt(state, user, args).await?,
        other => other?,
    };
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_ticket(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let no = path.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<TicketView> {
            let ctx = ctx(conn, &st, &user)?;
            hotline::read(conn, &ctx, &no)?
                .map(|(t, status)| TicketView::of(&t, &status))
                .ok_or_else(|| ApiError::NotFound(format!("hotline ticket {no}")))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub answer: String,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn answer_ticket(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<AnswerRequest>,
) -> ApiResult<HttpResponse> {
    let no = path.into_inner();
    let text = body.into_inner().answer;
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<TicketView> {
            let ctx = ctx(conn, &st, &user)?;
            let t = run(conn, |conn| hotline::answer(conn, &ctx, &no, &text))?.record;
            Ok(TicketView::of(&t.ticket, &t.case.status))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
