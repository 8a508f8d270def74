//! Sync endpoints: push queued mutations, pull changes.

use actix_web::{HttpResponse, web};
use patrol_sync::protocol::{PROTOCOL_VERSION, PullRequest, PushRequest};

use crate::auth::AuthUser;
use crate::http::extract::Json;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;
use crate::sync::{pull, push};

#[tracing::instrument(skip_all, fields(user.id = %user.id, sync.batch_len = body.0.mutations.len()))]
pub async fn push_mutations(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<PushRequest, false>,
) -> ApiResult<HttpResponse> {
    let req = body.into_inner();
    if req.protocol_version < PROTOCOL_VERSION {
        return Err(ApiError::UpgradeRequired);
    }
    let st = state.clone();
    let answer = state
        .run_db(move |conn| push::push(conn, &st, &user, &req))
        .await?;
    match answer {
        Ok(response) => {
            state.metrics.observe_push(
                response
                    .results
                    .iter()
                    .map(|r| (r.outcome.as_str(), r.conflict.is_some())),
            );
            Ok(HttpResponse::Ok().json(response))
        }
        Err(push::PushStop::Gap { expected }) => Err(ApiError::MutationGap { expected }),
        Err(push::PushStop::ForeignClient) => Err(ApiError::Forbidden(
            "this client id belongs to another account".into(),
        )),
    }
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn pull_changes(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<PullRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.into_inner();
    if req.protocol_version < PROTOCOL_VERSION {
        return Err(ApiError::UpgradeRequired);
    }
    let key = state.cfg.jwt_secret.clone();
    let page = state
        .run_db(move |conn| pull::pull(conn, &key, &user, &req))
        .await?;
    state.metrics.observe_pull(page.changes.len());
    Ok(HttpResponse::Ok().json(page))
}
