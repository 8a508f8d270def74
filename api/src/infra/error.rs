//! The one error type that handlers, sync and infrastructure return. Its mapping to HTTP
//! (`application/problem+json`, RFC 9457) is in `http::problem`, the one place that maps.
//!
//! Policy: 4xx bodies say what was wrong and, where one field is at fault, name it, so a
//! person can fix the request. 5xx bodies say only that the server failed; the whole
//! cause chain goes to the log with the request id. Nothing internal (SQL, driver
//! messages) is ever serialised to a client.

use patrol_domain::DomainError;

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
    /// The path exists but not with this method; `allow` lists the methods it has.
    #[error("this path answers only {allow}")]
    MethodNotAllowed { allow: String },
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
    /// The server lacks what this operation needs (an operator must configure it);
    /// retrying does not help until then.
    #[error("{0}")]
    NotConfigured(String),
    /// Readiness: this server cannot take work now (the reason says why).
    #[error("not ready: {0}")]
    NotReady(String),
    /// A transient failure: the client should retry after the given time.
    #[error("service temporarily unavailable")]
    Unavailable { retry_after_secs: u64 },
    /// The database's or the photo store's disk is full: nothing was written; the client
    /// keeps its data and retries after the given time.
    #[error(
        "the server's storage is full and nothing was written; keep your data and retry after {retry_after_secs} s"
    )]
    InsufficientStorage { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// Shorthand for a bad-request error about one field.
    pub fn bad_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: Some(field.into()),
            detail: detail.into(),
        }
    }

    /// A failure of the photo store: a full disk or quota is 507, any other I/O error a
    /// transient 503; both keep nothing and ask the client to retry.
    pub fn storage(e: std::io::Error) -> Self {
        use std::io::ErrorKind;
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        let full = matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded)
            || matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT));
        tracing::error!(error = %e, full, "photo store failure");
        if full {
            ApiError::InsufficientStorage {
                retry_after_secs: 60,
            }
        } else {
            ApiError::Unavailable {
                retry_after_secs: 5,
            }
        }
    }

    /// Wraps an unexpected failure; its chain is logged, never sent.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(e))
    }

    /// The input at fault, where one is.
    pub fn field(&self) -> Option<String> {
        match self {
            ApiError::BadRequest { field, .. } => field.clone(),
            ApiError::Domain(DomainError::Invalid { field, .. }) => Some(field.clone()),
            _ => None,
        }
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
            StoreError::Full(reason) => {
                tracing::error!(error = %reason, "database storage full");
                ApiError::InsufficientStorage {
                    retry_after_secs: 60,
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
