//! The extractor of [`AuthUser`]: a handler that takes one requires a valid bearer token. Tokens are read
//! from the `Authorization` header only; a token in the query string would end up in
//! access logs and browser history, so it is not looked for.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::auth::AuthUser;
use crate::infra::error::ApiError;
use crate::infra::state::AppState;

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::Internal("application state missing".into()))?
                .clone();
            let (user, session_id) = authenticate(&req, &state)?;
            let (sid, uid) = (session_id.clone(), user.id.clone());
            let look_up = || {
                state.run_db(move |conn| {
                    crate::db::store::session_is_live(conn, &sid, &uid, crate::db::ids::now_ms())
                })
            };
            state.sessions.check(&session_id, look_up).await?;
            Ok(user)
        })
    }
}

/// The caller a well-signed, unexpired token names, and the token's session.
fn authenticate(req: &HttpRequest, state: &AppState) -> Result<(AuthUser, String), ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("send an Authorization: Bearer token".into()))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })?;
    let claims = state.jwt.verify(token)?;
    Ok((
        AuthUser {
            id: claims.sub,
            role: claims.role,
        },
        claims.sid,
    ))
}
