//! The frame every console page shares: the HTML shell and navigation, the security
//! headers, form reading, and errors as pages.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use maud::{DOCTYPE, Markup, html};
use patrol_domain::DomainError;
use serde::de::DeserializeOwned;

use super::assets;
use super::i18n::{Messages, ZH_CN};
use super::session::{CSRF_FIELD, Viewer};
use crate::db::StoreError;
use crate::infra::error::ApiError;

/// Only the console's own scripts and styles; no inline script, no framing, forms post
/// only back here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The catalogue pages speak.
pub fn words() -> &'static Messages {
    &ZH_CN
}

/// Which menu entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Today,
    Map,
    Cases,
    Points,
    None,
}

/// Why a console request failed, shown as a page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No live session: go and sign in.
    #[error("sign in first")]
    SignIn,
    /// A form without this session's token.
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError::Api(e.into())
    }
}

impl From<DomainError> for PageError {
    fn from(e: DomainError) -> Self {
        PageError::Api(e.into())
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn => StatusCode::SEE_OTHER,
            PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let w = words();
        let status = self.status_code();
        let (title, detail) = match self {
            PageError::SignIn => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/console/sign-in"))
                    .finish();
            }
            PageError::Csrf => (w.errors.forbidden, w.errors.csrf.to_owned()),
            PageError::Api(e) => {
                // The API's own answer logs server faults with their cause.
                let _ = e.error_response();
                let title = match status.as_u16() {
                    400 | 422 => w.errors.bad_request,
                    401 | 403 => w.errors.forbidden,
                    404 => w.errors.not_found,
                    409 => w.errors.conflict,
                    429 => w.errors.too_many,
                    503 => w.errors.unavailable,
                    _ => w.errors.internal,
                };
                let detail = if status.is_server_error() {
                    String::new()
                } else {
                    e.to_string()
                };
                (title, detail)
            }
        };
        let body = html! {
            h1 { (title) }
            @if !detail.is_empty() { p.detail { (detail) } }
            p { a href="/console/today" { (w.errors.back) } }
        };
        respond(status, &shell(w, None, title, Section::None, body))
    }
}

/// An HTML answer with the console's headers: its CSP, and never cached (pages carry
/// personal data and CSRF tokens).
pub fn respond(status: StatusCode, page: &Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(page.clone().into_string())
}

/// A page for a signed-in viewer.
pub fn page(viewer: &Viewer, title: &str, section: Section, body: Markup) -> HttpResponse {
    respond(
        StatusCode::OK,
        &shell(words(), Some(viewer), title, section, body),
    )
}

/// After a form: back to a page (POST, redirect, GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// The hidden CSRF field of a form.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf()); }
}

/// Reads a urlencoded form; a malformed one is a 400 naming what was wrong.
pub fn form<T: DeserializeOwned>(body: &[u8]) -> Result<T, PageError> {
    serde_urlencoded::from_bytes(body).map_err(|e| {
        PageError::Api(ApiError::BadRequest {
            field: None,
            detail: format!("the form could not be read: {e}"),
        })
    })
}

pub(super) fn shell(
    w: &Messages,
    viewer: Option<&Viewer>,
    title: &str,
    section: Section,
    body: Markup,
) -> Markup {
    let entries = [
        (Section::Today, "/console/today", w.nav.today),
        (Section::Map, "/console/map", w.nav.map),
        (Section::Cases, "/console/cases", w.nav.cases),
        (Section::Points, "/console/points", w.nav.points),
    ];
    html! {
        (DOCTYPE)
        html lang=(w.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // htmx must not inject its own <style>: the CSP allows none inline.
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false}"#;
                title { (title) " · " (w.product) }
                link rel="stylesheet" href=(assets::url("console.css"));
                script src=(assets::url("htmx.min.js")) defer {}
            }
            body hx-boost="true" {
                header.top {
                    span.brand { (w.product) }
                    @if let Some(v) = viewer {
                        nav aria-label=(w.nav.main_menu) {
                            ul {
                                @for (s, href, label) in entries {
                                    li {
                                        @if s == section {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                                li { a href="/console/report" { (w.nav.report) } }
                            }
                        }
                        form.signout method="post" action="/console/sign-out" {
                            (csrf_field(v))
                            span.who { (w.common.signed_in_as) "：" (v.display_name) }
                            button type="submit" { (w.nav.sign_out) }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}
