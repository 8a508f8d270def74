//! Shared application state and `run_db`, the only way handlers reach the database.

use std::sync::Arc;

use actix_web::web;
use tracing::Instrument;

use crate::auth::limits::Limiters;
use crate::auth::password::PasswordHashing;
use crate::auth::revocation::LiveSessions;
use crate::auth::tokens::JwtKeys;
use crate::db::locator::LocatorCache;
use crate::db::{DbConn, Pool, StoreError};
use crate::infra::blobs::{BlobStore, Staging};
use crate::infra::config::Config;
use crate::infra::error::ApiError;
use crate::infra::metrics::Metrics;
use crate::infra::otp::CodeSender;
use crate::infra::storage::StorageHealth;

/// What every handler can reach.
pub struct AppState {
    pub cfg: Config,
    pub pool: Pool,
    pub jwt: JwtKeys,
    /// Which sessions' access tokens are still good.
    pub sessions: LiveSessions,
    pub limiters: Limiters,
    pub hashing: PasswordHashing,
    pub codes: Arc<dyn CodeSender>,
    pub locator: LocatorCache,
    pub metrics: Metrics,
    /// Where photo bytes are stored.
    pub blob_store: Arc<dyn BlobStore>,
    /// Chunked uploads under way on this server.
    pub blob_staging: Arc<Staging>,
    /// Whether this server's storage takes writes (readiness).
    pub storage: StorageHealth,
    /// Every route template the server registers: the closed set metrics label by.
    pub route_templates: Vec<&'static str>,
}

impl AppState {
    /// Runs `f` with a pooled connection on the blocking pool: r2d2 and diesel block, and
    /// an actix worker must never wait on them. Pool exhaustion becomes 503.
    pub async fn run_db<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let result = web::block(move || {
            let _entered = span.enter();
            let mut conn = pool
                .get()
                .map_err(|e| ApiError::from(StoreError::from(e)))?;
            f(&mut conn).map_err(Into::into)
        })
        .instrument(tracing::Span::current())
        .await
        .map_err(ApiError::internal)?;
        self.note(result)
    }

    /// Runs photo-store or staging I/O on the blocking pool; a storage failure becomes
    /// 503 or, for a full disk, 507 (remembered for readiness).
    pub async fn run_io<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> std::io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let result = web::block(f).await.map_err(ApiError::internal)?;
        self.note(result.map_err(ApiError::storage))
    }

    /// Passes a result on, remembering a write refused for a full disk (readiness).
    pub fn note<T>(&self, result: Result<T, ApiError>) -> Result<T, ApiError> {
        if let Err(ApiError::InsufficientStorage { .. }) = &result {
            self.storage.mark_full();
        }
        result
    }
}
