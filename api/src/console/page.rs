//! The frame every console page shares: the HTML shell and navigation, the security
//! headers, form reading, and errors as pages.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use maud::{DOCTYPE, Markup, html};
use serde::de::DeserializeOwned;

use super::assets;
use super::i18n::{Messages, ZH_CN};
use crate::infra::error::ApiError;

/// The hidden field of every form that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// What the frame shows of the signed-in person.
#[derive(Debug, Clone, Copy)]
pub struct Chrome<'a> {
    pub name: &'a str,
    /// The session's CSRF token, for the sign-out form.
    pub csrf: &'a str,
}

/// Only the console's own scripts and styles; no inline script, no framing, forms post
/// only back here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"responseHandling":[{"code":"204","swap":false},{"code":"...","swap":true,"error":false}]}"#;

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
    Visits,
    Whistles,
    Diary,
    None,
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
pub fn page(viewer: Chrome<'_>, title: &str, section: Section, body: Markup) -> HttpResponse {
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
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// Reads a urlencoded form; a malformed one is a 400 naming what was wrong.
pub fn form<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_urlencoded::from_bytes(body).map_err(|e| ApiError::BadRequest {
        field: None,
        detail: format!("the form could not be read: {e}"),
    })
}

pub(super) fn shell(
    w: &Messages,
    viewer: Option<Chrome<'_>>,
    title: &str,
    section: Section,
    body: Markup,
) -> Markup {
    let entries = [
        (Section::Today, "/console/today", w.nav.today),
        (Section::Map, "/console/map", w.nav.map),
        (Section::Cases, "/console/cases", w.nav.cases),
        (Section::Points, "/console/points", w.nav.points),
        (Section::Visits, "/console/visits", w.nav.visits),
        (Section::Whistles, "/console/whistles", w.nav.whistles),
        (Section::Diary, "/console/diary", w.nav.diary),
    ];
    html! {
        (DOCTYPE)
        html lang=(w.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // htmx must not inject its own <style> (the CSP allows none inline), and
                // must show refusals (4xx/5xx pages) as it shows any other page.
                meta name="htmx-config" content=(HTMX_CONFIG);
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
                        form.signout method="post" action="/console/sign-out" hx-boost="false" {
                            (csrf_field(v.csrf))
                            span.who { (w.common.signed_in_as) "：" (v.name) }
                            button type="submit" { (w.nav.sign_out) }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}
