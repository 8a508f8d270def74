//! The duty diary online: write, read the history, comment, sign off.

use actix_web::{HttpResponse, web};
use patrol_sync::protocol::DiaryWriteArgs;
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::commands::diary::{self, DiaryEntryView};
use crate::http::extract::Json;
use crate::http::handlers::cases::{ctx, run};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn write_diary(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<DiaryWriteArgs>,
) -> ApiResult<HttpResponse> {
    let args = body.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<DiaryEntryView> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| diary::write(conn, &ctx, &args))?;
            Ok(DiaryEntryView::from_row(&applied.record))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_diary_history(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let st = state.clone();
    let history = state
        .run_db(move |conn| -> ApiResult<_> {
            let ctx = ctx(conn, &st, &user)?;
            diary::history(conn, &ctx, &id)?
                .ok_or_else(|| ApiError::NotFound(format!("diary entry {id}")))
        })
        .await?;
    Ok(HttpResponse::Ok().json(history))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn sign_off_diary(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let st = state.clone();
    let view = state
        .run_db(move |conn| -> ApiResult<DiaryEntryView> {
            let ctx = ctx(conn, &st, &user)?;
            let applied = run(conn, |conn| diary::sign_off(conn, &ctx, &id))?;
            Ok(DiaryEntryView::from_row(&applied.record))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    pub text: String,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn comment_diary(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<CommentRequest>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let text = body.into_inner().text;
    let st = state.clone();
    let comment = state
        .run_db(move |conn| -> ApiResult<_> {
            let ctx = ctx(conn, &st, &user)?;
            Ok(run(conn, |conn| diary::comment(conn, &ctx, &id, &text))?.record)
        })
        .await?;
    Ok(HttpResponse::Created().json(comment))
}
