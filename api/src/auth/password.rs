//! Password hashing with argon2id at the OWASP parameters (19 MiB, t=2, p=1: the crate's
//! defaults). Hashing is slow on purpose, so it runs on the blocking pool behind a
//! semaphore: a login flood queues here instead of starving other requests.

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

impl PasswordHashing {
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
