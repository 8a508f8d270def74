//! Sign-in, refresh, sign-out, resident registration and "who am I".

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::auth::session::{self, REGISTRATION_CODE_TTL_SECS};
use crate::commands::scope::scope_of;
use crate::db::store;
use crate::http::handlers::people::UserView;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub phone: String,
    pub password: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RegisterResponse {
    pub status: &'static str,
    pub code_expires_in: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub phone: String,
    pub code: String,
}

/// The client address rate limits key on: the socket peer. A proxy in front should be
/// configured to rate-limit itself; trusting X-Forwarded-For would let anyone pick a key.
pub(crate) fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[tracing::instrument(skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: crate::http::extract::Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let pair = session::login(&state, &body.login, body.password, &client_address(&req)).await?;
    Ok(HttpResponse::Ok().json(pair))
}

#[tracing::instrument(skip_all)]
pub async fn refresh_token(
    state: web::Data<AppState>,
    body: crate::http::extract::Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let pair = session::refresh(&state, body.into_inner().refresh_token).await?;
    Ok(HttpResponse::Ok().json(pair))
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn logout(
    state: web::Data<AppState>,
    user: AuthUser,
    body: crate::http::extract::Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    session::logout(&state, &user.id, body.into_inner().refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[tracing::instrument(skip_all)]
pub async fn register_resident(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: crate::http::extract::Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    session::register(
        &state,
        &body.phone,
        body.password,
        body.display_name.as_deref(),
        &client_address(&req),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(RegisterResponse {
        status: "code_sent",
        code_expires_in: REGISTRATION_CODE_TTL_SECS,
    }))
}

#[tracing::instrument(skip_all)]
pub async fn verify_registration(
    state: web::Data<AppState>,
    body: crate::http::extract::Json<VerifyRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let pair = session::verify_registration(&state, &body.phone, &body.code).await?;
    Ok(HttpResponse::Created().json(pair))
}

#[derive(Debug, Serialize)]
pub struct MeResponse {
    pub user: UserView,
    /// Codes of the communities the caller covers (empty for residents and departments;
    /// every community for admins is not listed, see `all_communities`).
    pub communities: Vec<String>,
    pub all_communities: bool,
}

#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_me(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let me = state
        .run_db(move |conn| -> ApiResult<MeResponse> {
            let row = store::user_by_id(conn, &user.id)?
                .filter(|u| u.active)
                .ok_or_else(|| ApiError::Unauthorized("the account no longer exists".into()))?;
            let scope = scope_of(conn, &user)?;
            let (communities, all) = match scope {
                patrol_domain::role::Scope::All => (Vec::new(), true),
                patrol_domain::role::Scope::Own => (Vec::new(), false),
                patrol_domain::role::Scope::Communities(ids) => (
                    store::communities_by_ids(conn, &ids)?
                        .into_iter()
                        .map(|c| c.code)
                        .collect(),
                    false,
                ),
            };
            Ok(MeResponse {
                user: UserView::from_row(row, true),
                communities,
                all_communities: all,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(me))
}
