//! The one error type of the HTTP layer and its mapping to `application/problem+json`
//! (RFC 9457).
//!
//! Policy: 4xx bodies say what was wrong and, where one field is at fault, name it, so a
//! person can fix the request. 5xx bodies say only that the server failed; the whole
//! cause chain goes to the log with the request id. Nothing internal (SQL, driver
//! messages) is ever serialised to a client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use patrol_domain::DomainError;
use serde::Serialize;

use crate::db::StoreError;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be read (malformed JSON, unknown field, bad parameter).
    #[error("{detail}")]
    BadRequest {
        field: Option<String>,
        detail: String,
    },
    /// The request was read but a rule refused it.
    #[error("{0}")]
    Domain(#[from] DomainError),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The body is not of a type this route accepts (judged from its content).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A sync push skipped mutation ids: the client must send `expected` next.
    #[error("mutation ids must continue from {expected}; send mutation {expected} first")]
    MutationGap { expected: u64 },
    /// The client speaks an older protocol: it must update, keeping its queue.
    #[error("this app version is too old to sync; update it (your queued work is kept)")]
    UpgradeRequired,
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A transient failure: the client should retry after the given time.
    #[error("service temporarily unavailable")]
    Unavailable { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The problem document written for every error.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a sync gap: the mutation id the server expects next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_mutation_id: Option<u64>,
}

impl ApiError {
    /// Shorthand for a bad-request error about one field.
    pub fn bad_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: Some(field.into()),
            detail: detail.into(),
        }
    }

    /// Wraps an unexpected failure; its chain is logged, never sent.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(e))
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => ("bad-request", "The request could not be read"),
            ApiError::Domain(DomainError::Invalid { .. }) => {
                ("invalid", "The request breaks a rule")
            }
            ApiError::Domain(DomainError::NotFound { .. }) | ApiError::NotFound(_) => {
                ("not-found", "Not found")
            }
            ApiError::Domain(DomainError::Conflict { .. }) | ApiError::Conflict(_) => {
                ("conflict", "Conflicts with the current state")
            }
            ApiError::Domain(DomainError::Forbidden { .. }) | ApiError::Forbidden(_) => {
                ("forbidden", "Not allowed")
            }
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::PayloadTooLarge { .. } => ("payload-too-large", "Request body too large"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::Domain(DomainError::Limited { .. }) | ApiError::RateLimited { .. } => {
                ("rate-limited", "Too many requests")
            }
            ApiError::MutationGap { .. } => ("mutation-gap", "Mutation ids are not contiguous"),
            ApiError::UpgradeRequired => ("upgrade-required", "Update the app to sync"),
            ApiError::Unavailable { .. } => ("unavailable", "Temporarily unavailable"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            ApiError::BadRequest { field, .. } => field.clone(),
            ApiError::Domain(DomainError::Invalid { field, .. }) => Some(field.clone()),
            _ => None,
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let (slug, title) = self.kind();
        Problem {
            type_: format!("https://patrol.example/problems/{slug}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail: self.to_string(),
            field: self.field(),
            expected_mutation_id: match self {
                ApiError::MutationGap { expected } => Some(*expected),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Domain(DomainError::Invalid { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Domain(DomainError::NotFound { .. }) | ApiError::NotFound(_) => {
                StatusCode::NOT_FOUND
            }
            ApiError::Domain(DomainError::Conflict { .. }) | ApiError::Conflict(_) => {
                StatusCode::CONFLICT
            }
            ApiError::Domain(DomainError::Forbidden { .. }) | ApiError::Forbidden(_) => {
                StatusCode::FORBIDDEN
            }
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Domain(DomainError::Limited { .. }) | ApiError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::MutationGap { .. } => StatusCode::CONFLICT,
            ApiError::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(source) = self {
            let mut chain = source.to_string();
            let mut next = source.source();
            while let Some(cause) = next {
                chain.push_str(": ");
                chain.push_str(&cause.to_string());
                next = cause.source();
            }
            tracing::error!(error.chain = %chain, "request failed");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        match self {
            ApiError::RateLimited { retry_after_secs }
            | ApiError::Domain(DomainError::Limited {
                retry_after_secs, ..
            })
            | ApiError::Unavailable { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Unauthorized(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("record".into()),
            StoreError::Duplicate { constraint } => {
                tracing::debug!(db.constraint = %constraint, "unique violation");
                ApiError::Conflict("a record with the same unique key already exists".into())
            }
            StoreError::Unavailable(reason) => {
                tracing::warn!(error = %reason, "database unavailable");
                ApiError::Unavailable {
                    retry_after_secs: 1,
                }
            }
            other => ApiError::internal(other),
        }
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}
