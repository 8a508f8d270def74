//! Signing in and out of the console.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use patrol_domain::role::Role;
use serde::Deserialize;

use super::error::PageError;
use super::page::{self, Section, see_other, words};
use super::session::{self, FORM_COOKIE, SESSION_COOKIE, Viewer};
use crate::auth::session as auth_session;
use crate::http::handlers::auth::client_address;
use crate::infra::error::ApiError;
use crate::infra::state::AppState;

/// `GET /console/`: today's page, or the sign-in form.
pub async fn home() -> HttpResponse {
    see_other("/console/today")
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    /// Set after signing out, to say so.
    pub signed_out: Option<u8>,
}

/// `GET /console/sign-in`.
pub async fn sign_in_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<SignInQuery>,
) -> Result<HttpResponse, PageError> {
    if let Some(c) = req.cookie(SESSION_COOKIE)
        && session::viewer_of(&state, c.value().to_owned())
            .await?
            .is_some()
    {
        return Ok(see_other("/console/today"));
    }
    let notice = query.signed_out.map(|_| words().sign_in.signed_out);
    Ok(form(&req, StatusCode::OK, notice))
}

fn form(req: &HttpRequest, status: StatusCode, notice: Option<&str>) -> HttpResponse {
    let w = words();
    let (token, cookie) = session::form_token(req);
    let body = html! {
        div.signin {
            h1 { (w.sign_in.title) }
            @if let Some(n) = notice { p.detail role="alert" { (n) } }
            form method="post" action="/console/sign-in" hx-boost="false" {
                input type="hidden" name=(session::CSRF_FIELD) value=(token);
                label { (w.sign_in.login) input name="login" autocomplete="username" required; }
                label {
                    (w.sign_in.password)
                    input name="password" type="password" autocomplete="current-password" required;
                }
                button type="submit" { (w.sign_in.submit) }
            }
            p.muted { (w.sign_in.residents_elsewhere) }
        }
    };
    let mut res = page::respond(
        status,
        &page::shell(w, None, w.sign_in.title, Section::None, body),
    );
    if let Some(c) = cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    pub login: String,
    pub password: String,
    pub csrf: Option<String>,
}

/// `POST /console/sign-in`: the API's sign-in (same rate limits), then the cookie.
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let f: SignInForm = page::form(&body)?;
    session::check_form_token(&req, f.csrf.as_deref())?;
    let pair = match auth_session::login(&state, &f.login, f.password, &client_address(&req)).await
    {
        Ok(pair) => pair,
        Err(ApiError::Unauthorized(_)) => {
            return Ok(form(
                &req,
                StatusCode::UNAUTHORIZED,
                Some(words().sign_in.wrong),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let viewer = session::viewer_of(&state, pair.refresh_token.clone()).await?;
    if viewer
        .as_ref()
        .is_none_or(|v| v.user.role == Role::Resident)
    {
        // Residents have the mini-app; their fresh session ends here.
        if let Some(v) = viewer {
            auth_session::logout(&state, &v.user.id, pair.refresh_token).await?;
        }
        return Ok(form(
            &req,
            StatusCode::FORBIDDEN,
            Some(words().sign_in.residents_elsewhere),
        ));
    }
    let ttl = i64::try_from(state.cfg.refresh_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let mut res = see_other("/console/today");
    res.add_cookie(&session::session_cookie(&req, pair.refresh_token, ttl))
        .map_err(ApiError::internal)?;
    res.add_cookie(&session::removal(&req, FORM_COOKIE))
        .map_err(ApiError::internal)?;
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    pub csrf: Option<String>,
}

/// `POST /console/sign-out`: ends the session on the server, then the cookie.
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let f: CsrfOnly = page::form(&body)?;
    viewer.check_csrf(&state.cfg.jwt_secret, f.csrf.as_deref())?;
    if let Some(c) = req.cookie(SESSION_COOKIE) {
        auth_session::logout(&state, &viewer.user.id, c.value().to_owned()).await?;
    }
    let mut res = see_other("/console/sign-in?signed_out=1");
    res.add_cookie(&session::removal(&req, SESSION_COOKIE))
        .map_err(ApiError::internal)?;
    Ok(res)
}
