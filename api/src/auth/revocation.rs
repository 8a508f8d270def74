//! Whether an access token's session is still live. Access tokens are JWTs that stay
//! valid until they expire; without this check a token kept working up to
//! [`crate::infra::config::Config::access_ttl`] after sign-out, a detected refresh-token
//! reuse or a password reset. Each server remembers its answer for a session briefly
//! ([`crate::infra::config::Config::session_check_ttl`]), so an authenticated request
//! costs one indexed lookup per session and period, not one per request; the server that
//! ends a session forgets it at once.

use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::infra::error::{ApiError, ApiResult};

/// Sessions remembered at most: a bound, so forged session ids cannot grow the cache.
const CAPACITY: usize = 20_000;

/// The sessions this server has looked up recently, with what it found.
pub struct LiveSessions {
    seen: Cache<String, (Instant, bool)>,
    ttl: Duration,
}

impl LiveSessions {
    pub fn new(ttl: Duration) -> Self {
        Self {
            seen: Cache::new(CAPACITY),
            ttl,
        }
    }

    /// Refuses a token whose session was signed out or revoked, or whose account was
    /// disabled. `look_up` asks the database ([`crate::db::store::session_is_live`]) when
    /// this server's memory of the session is missing or too old.
    pub async fn check<F, Fut>(&self, session_id: &str, look_up: F) -> ApiResult<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<bool>>,
    {
        let live = match self.seen.get(session_id) {
            Some((at, live)) if at.elapsed() < self.ttl => live,
            _ => {
                let live = look_up().await?;
                self.seen
                    .insert(session_id.to_owned(), (Instant::now(), live));
                live
            }
        };
        if live {
            Ok(())
        } else {
            Err(ApiError::Unauthorized(
                "this session has ended (signed out or revoked); sign in again".into(),
            ))
        }
    }

    /// Drops what this server remembers of a session it has just ended.
    pub fn forget(&self, session_id: &str) {
        self.seen.remove(session_id);
    }
}
