//! Password hashing with argon2id at the OWASP parameters (19 MiB, t=2, p=1: the crate's
//! defaults). Hashing is slow on purpose, so it runs on the blocking pool behind a
//! semaphore: a login flood queues here instead of starving other requests.
//!
//! The semaphore also bounds memory: every hash in flight holds its own 19 MiB, so a
//! sign-in burst costs at most `permits × 19 MiB`, not `requests × 19 MiB` (see
//! [`default_concurrent_hashes`] for the size).

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::infra::error::ApiError;

/// A hash of a random password, verified against when the login is unknown, so an
/// unknown login costs the same time as a wrong password (no user enumeration by timing).
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(super::random_token(24).as_bytes())
        .ok()
        .map(|h| h.to_string())
});

/// Hashes and verifies passwords off the async workers, a bounded number at a time.
#[derive(Clone)]
pub struct PasswordHashing {
    gate: Arc<Semaphore>,
}

/// How long a request waits for a hashing slot before getting 503.
const HASH_QUEUE_WAIT: Duration = Duration::from_secs(5);

/// Concurrent hashes when `PATROL_CONCURRENT_HASHES` does not say: half the cores, at
/// least 1 and at most 4. A hash is pure CPU work, so more of them at once than there are
/// cores gives no more sign-ins per second, only more memory (19 MiB each) and slower
/// answers to everything else; half the cores leaves the rest serving. At 4 (76 MiB in
/// flight) one server already checks some 180 passwords a second, more than a district's
/// staff starting a shift; beyond that, add servers.
pub fn default_concurrent_hashes() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (cores / 2).clamp(1, 4)
}

impl PasswordHashing {
    /// At most `concurrent` hashes (at least one) run at once; the others wait their turn.
    pub fn new(concurrent: usize) -> Self {
        Self {
            gate: Arc::new(Semaphore::new(concurrent.max(1))),
        }
    }

    async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = tokio::time::timeout(HASH_QUEUE_WAIT, self.gate.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::Unavailable {
                retry_after_secs: 2,
            })?
            .map_err(ApiError::internal)?;
        let out = tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            out
        })
        .await
        .map_err(ApiError::internal)?;
        Ok(out)
    }

    /// The PHC string of a new password.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || hash_blocking(&password))
            .await?
            .map_err(|e| ApiError::Internal(e.into()))
    }

    /// Checks a password against a stored hash, or against the dummy hash when the
    /// account does not exist (the answer is then always `false`).
    pub async fn verify(&self, stored: Option<String>, password: String) -> Result<bool, ApiError> {
        self.run(move || match stored {
            Some(hash) => verify_blocking(&hash, &password),
            None => {
                if let Some(dummy) = DUMMY_HASH.as_deref() {
                    let _ = verify_blocking(dummy, &password);
                }
                false
            }
        })
        .await
    }
}

/// Hashes a password on the current thread (CLI and seeding).
pub fn hash_blocking(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

fn verify_blocking(stored: &str, password: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_the_semaphore_allows() {
        let hashing = PasswordHashing::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (hashing, running, most) = (hashing.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    hashing
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        for t in tasks {
            assert!(matches!(t.await, Ok(Ok(()))));
        }
        assert_eq!(most.load(Ordering::SeqCst), 2, "hashes in flight at once");
    }

    #[test]
    fn hashes_are_argon2id_at_owasp_parameters() {
        let hash = hash_blocking("correct horse").unwrap_or_default();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_blocking(&hash, "correct horse"));
        assert!(!verify_blocking(&hash, "wrong horse"));
        assert!(!verify_blocking("not a hash", "correct horse"));
    }
}
