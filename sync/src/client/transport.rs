//! How the engine reaches the server. Blocking on purpose: a simulation drives every
//! engine step by step, so a run is a pure function of its seed.

use crate::protocol::{PullRequest, PullResponse, PushRequest, PushResponse};

/// Why a request did not produce a usable answer. Each variant asks for a different
/// reaction, so none of them is "just an error".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The request or its response was lost; the server may or may not have acted.
    /// Retrying the same mutation ids is always safe.
    #[error("network failure: {0}")]
    Network(String),
    /// `401`: the access token expired. Refresh it and replay the same ids; never drop.
    #[error("unauthorized")]
    Unauthorized,
    /// `429` or any `5xx` (`503` unavailable, `507` photo store full, `500`): wait this
    /// many seconds (the server's `Retry-After`, else 1) and try again; nothing is dropped.
    #[error("retry after {0} s")]
    RetryAfter(u64),
    /// `409`: the first unapplied id the server expects.
    #[error("mutation gap: server expects {expected}")]
    Gap { expected: u64 },
    /// `426`: this app is too old. Keep the queue and stop until updated.
    #[error("upgrade required")]
    UpgradeRequired,
    /// Any other 4xx: a permanent refusal. Keep the queue and surface it.
    #[error("rejected by the server: {0}")]
    Rejected(String),
}

impl TransportError {
    /// What an HTTP answer that is not `200` means for the engine: `status`, the body (a
    /// problem document) and the `Retry-After` seconds (1 when absent).
    pub fn from_status(status: u16, body: &str, retry_after: u64) -> TransportError {
        match status {
            401 => TransportError::Unauthorized,
            409 => match serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["expected_mutation_id"].as_u64())
            {
                Some(expected) => TransportError::Gap { expected },
                None => TransportError::Rejected(body.to_owned()),
            },
            426 => TransportError::UpgradeRequired,
            429 | 500..=599 => TransportError::RetryAfter(retry_after.max(1)),
            _ => TransportError::Rejected(format!("{status}: {body}")),
        }
    }
}

/// A way to send the two sync requests.
pub trait Transport {
    /// `POST /api/v1/sync/push`.
    fn push(&mut self, req: &PushRequest) -> Result<PushResponse, TransportError>;
    /// `POST /api/v1/sync/pull`.
    fn pull(&mut self, req: &PullRequest) -> Result<PullResponse, TransportError>;
    /// `PUT /api/v1/blobs/{sha256}` with a photo's bytes; `Ok` once the server has them
    /// (`201` stored, `200` it already had them).
    fn put_blob(&mut self, sha256: &str, bytes: &[u8]) -> Result<(), TransportError>;
    /// Gets a fresh access token after a `401`. The default does nothing, for transports
    /// without tokens.
    fn refresh_auth(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
}
