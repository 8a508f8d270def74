//! The one mapping of [`ApiError`] to HTTP: status codes, headers and the
//! `application/problem+json` document (RFC 9457).
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

use crate::infra::error::ApiError;

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
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
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
            ApiError::NotReady(_) => ("not-ready", "Not ready"),
            ApiError::InsufficientStorage { .. } => ("storage-full", "Storage is full"),
            ApiError::NotConfigured(_) => ("not-configured", "Not configured on this server"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
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
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Domain(DomainError::Limited { .. }) | ApiError::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::MutationGap { .. } => StatusCode::CONFLICT,
            ApiError::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            ApiError::Unavailable { .. } | ApiError::NotConfigured(_) | ApiError::NotReady(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::InsufficientStorage { .. } => StatusCode::INSUFFICIENT_STORAGE,
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
            | ApiError::Unavailable { retry_after_secs }
            | ApiError::InsufficientStorage { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::NotReady(_) => {
                res.insert_header((header::RETRY_AFTER, "5"));
            }
            ApiError::Unauthorized(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::MethodNotAllowed { allow } => {
                if let Ok(value) = HeaderValue::from_str(allow) {
                    res.insert_header((header::ALLOW, value));
                }
            }
            _ => {}
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}
