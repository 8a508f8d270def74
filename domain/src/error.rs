//! The one error type of the domain crate.
//!
//! Policy: every variant carries what a person needs to fix the request (`field` and
//! `reason` for invalid input, the current state for a conflict). The API maps variants
//! to HTTP statuses in one place; nothing here knows about HTTP.

use thiserror::Error;

/// A rule of the domain refused an input or an action.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// An input value breaks a rule; `field` names it as the client sent it.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The thing does not exist, or the caller may not know that it does.
    #[error("{what} not found")]
    NotFound { what: String },
    /// The action clashes with the current state (e.g. an impossible transition).
    #[error("{reason}")]
    Conflict { reason: String },
    /// The caller's role or scope does not allow the action.
    #[error("{reason}")]
    Forbidden { reason: String },
    /// A quota is used up (e.g. a resident's reports for the day); it frees up after
    /// `retry_after_secs`.
    #[error("{reason}")]
    Limited {
        reason: String,
        retry_after_secs: u64,
    },
}

impl DomainError {
    /// Shorthand for [`DomainError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`DomainError::NotFound`].
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// Shorthand for [`DomainError::Conflict`].
    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::Conflict {
            reason: reason.into(),
        }
    }

    /// Shorthand for [`DomainError::Forbidden`].
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden {
            reason: reason.into(),
        }
    }
}

/// Result alias for domain rules.
pub type DomainResult<T> = Result<T, DomainError>;
