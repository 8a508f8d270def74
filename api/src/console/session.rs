//! Console sessions: the same accounts, sign-in rate limits and server-side sessions as
//! the API. Signing in starts a session (a refresh-token family) whose opaque token is
//! the cookie; only its SHA-256 is stored, so the database never holds a usable cookie.
//! Signing out revokes the family, so a copied cookie dies with it.
//!
//! Every form carries a CSRF token: an HMAC of the session id under the server key
//! (the synchroniser-token pattern without a table). The sign-in form, which has no
//! session yet, uses a double-submit cookie instead. `SameSite=Strict` is the second
//! lock on both.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use hmac::{Hmac, Mac};
use patrol_domain::role::Role;
use sha2::Sha256;

use super::error::PageError;
pub use super::page::CSRF_FIELD;
use super::page::Chrome;
use crate::auth::{AuthUser, random_token, sha256_hex};
use crate::db::ids::now_ms;
use crate::db::store;
use crate::infra::error::ApiError;
use crate::infra::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "patrol_console";
/// The double-submit cookie of the sign-in form.
pub const FORM_COOKIE: &str = "patrol_console_form";

/// The person a console request is for.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: AuthUser,
    pub display_name: String,
    /// The session (refresh family) id.
    pub session_id: String,
    csrf: String,
}

impl Viewer {
    /// The token this session's forms carry.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// What the page frame shows of this person.
    pub fn chrome(&self) -> Chrome<'_> {
        Chrome {
            name: &self.display_name,
            csrf: &self.csrf,
        }
    }

    /// Refuses a form whose token is not this session's.
    pub fn check_csrf(&self, secret: &[u8], sent: Option<&str>) -> Result<(), PageError> {
        let sent = sent
            .and_then(|s| hex::decode(s).ok())
            .ok_or(PageError::Csrf)?;
        // The MAC's own comparison is constant-time.
        csrf_mac(secret, &self.session_id)?
            .verify_slice(&sent)
            .map_err(|_| PageError::Csrf)
    }
}

fn csrf_mac(secret: &[u8], session_id: &str) -> Result<Hmac<Sha256>, ApiError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(ApiError::internal)?;
    mac.update(b"patrol console csrf\0");
    mac.update(session_id.as_bytes());
    Ok(mac)
}

/// The CSRF token of a session: HMAC-SHA256(server key, purpose ‖ session id).
fn csrf_of(secret: &[u8], session_id: &str) -> Result<String, ApiError> {
    Ok(hex::encode(
        csrf_mac(secret, session_id)?.finalize().into_bytes(),
    ))
}

/// Is the request served over HTTPS (directly or behind a proxy that says so)? Cookies
/// are then `Secure`; a proxy that lies only weakens its own users' cookies.
fn is_https(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

fn cookie<'a>(req: &HttpRequest, name: &'a str, value: String, max_age_secs: i64) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(is_https(req))
        .max_age(CookieDuration::seconds(max_age_secs))
        .finish()
}

/// The session cookie for a fresh sign-in.
pub fn session_cookie<'a>(req: &HttpRequest, token: String, ttl_secs: i64) -> Cookie<'a> {
    cookie(req, SESSION_COOKIE, token, ttl_secs)
}

/// A cookie that removes `name`.
pub fn removal(req: &HttpRequest, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(req, name, String::new(), 0);
    c.make_removal();
    c
}

/// The sign-in form's double-submit token: the cookie's when it has one, else new.
pub fn form_token(req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    match req.cookie(FORM_COOKIE) {
        Some(c) if c.value().len() >= 32 => (c.value().to_owned(), None),
        _ => {
            let token = random_token(32);
            let c = cookie(req, FORM_COOKIE, token.clone(), 3600);
            (token, Some(c))
        }
    }
}

/// Checks the sign-in form's token against its cookie.
pub fn check_form_token(req: &HttpRequest, sent: Option<&str>) -> Result<(), PageError> {
    match (req.cookie(FORM_COOKIE), sent) {
        // Digests compared, not the tokens: the comparison's timing tells nothing useful.
        (Some(c), Some(sent))
            if c.value().len() >= 32
                && sha256_hex(c.value().as_bytes()) == sha256_hex(sent.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(PageError::Csrf),
    }
}

/// The session a cookie names, if it is live: unrevoked, unexpired, unspent, and its
/// person active and allowed in the console (residents have their own page).
pub(super) async fn viewer_of(
    state: &AppState,
    token: String,
) -> Result<Option<Viewer>, PageError> {
    let found = state
        .run_db(move |conn| -> Result<_, ApiError> {
            let Some(row) = store::refresh_token_by_hash(conn, &sha256_hex(token.as_bytes()))?
            else {
                return Ok(None);
            };
            if row.revoked_at.is_some() || row.used_at.is_some() || row.expires_at <= now_ms() {
                return Ok(None);
            }
            Ok(store::user_by_id(conn, &row.user_id)?
                .filter(|u| u.active)
                .map(|u| (u, row.family_id)))
        })
        .await?;
    let Some((user, session_id)) = found else {
        return Ok(None);
    };
    let role: Role = user
        .role
        .parse()
        .map_err(|e| ApiError::Internal(format!("stored role: {e}").into()))?;
    Ok(Some(Viewer {
        csrf: csrf_of(&state.cfg.jwt_secret, &session_id)?,
        user: AuthUser { id: user.id, role },
        display_name: user.display_name,
        session_id,
    }))
}

impl FromRequest for Viewer {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::Internal("application state missing".into()))?
                .clone();
            let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
                return Err(PageError::SignIn);
            };
            let viewer = viewer_of(&state, token).await?.ok_or(PageError::SignIn)?;
            if viewer.user.role == Role::Resident {
                return Err(PageError::Api(ApiError::Forbidden(
                    "the console is for staff; residents report from the mini-app".into(),
                )));
            }
            Ok(viewer)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_per_session_and_keyed() {
        let a = csrf_of(b"key-one", "s1").expect("mac");
        assert_eq!(a, csrf_of(b"key-one", "s1").expect("mac"));
        assert_ne!(a, csrf_of(b"key-one", "s2").expect("mac"));
        assert_ne!(a, csrf_of(b"key-two", "s1").expect("mac"));
    }
}
