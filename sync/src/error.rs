//! The one error type of the sync crate.

use thiserror::Error;

/// Why a sync request or a mutation could not be taken as sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SyncError {
    /// A mutation's name is not one this server knows.
    #[error("unknown mutation {name:?}")]
    UnknownMutation { name: String },
    /// A mutation's arguments are malformed; `field` names the argument.
    #[error("{field}: {reason}")]
    InvalidArgs { field: String, reason: String },
    /// A batch breaks the protocol (ids not contiguous, too large, wrong version).
    #[error("{0}")]
    Protocol(String),
    /// The cursor was not issued by this server, or was altered.
    #[error("the sync cursor is invalid")]
    BadCursor,
}

/// Result alias for the sync crate.
pub type SyncResult<T> = Result<T, SyncError>;
