//! Why a console request failed, and how it shows: as a page, never as JSON.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use maud::html;
use patrol_domain::DomainError;

use super::page::{Section, respond, shell, words};
use crate::db::StoreError;
use crate::infra::error::ApiError;

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
