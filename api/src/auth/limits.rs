//! Rate limits on the unauthenticated, expensive routes (login, registration), checked
//! before any password is hashed. Limits are per process; with several servers the
//! effective limit is at most N times higher, which still stops a brute force.
//!
//! Sign-in follows OWASP's authentication guidance: the strict limit is per account *and*
//! client address, so a guessing flood from one place does not lock the real user out
//! from another; a looser ceiling per account still stops a guess spread over many
//! addresses.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::infra::config::RateLimits;
use crate::infra::error::ApiError;

/// The keyed limiters of one process.
pub struct Limiters {
    login_account_address: DefaultKeyedRateLimiter<String>,
    login_account: DefaultKeyedRateLimiter<String>,
    login_address: DefaultKeyedRateLimiter<String>,
    register_phone: DefaultKeyedRateLimiter<String>,
    register_address: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

fn quota(per: Duration, n: u32) -> Quota {
    let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(per / n.get())
        .unwrap_or_else(|| Quota::per_second(n))
        .allow_burst(n)
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

impl Limiters {
    pub fn new(cfg: &RateLimits) -> Self {
        Self {
            login_account_address: RateLimiter::keyed(quota(MINUTE, cfg.login_per_account)),
            login_account: RateLimiter::keyed(quota(MINUTE, cfg.login_per_account_ceiling)),
            login_address: RateLimiter::keyed(quota(MINUTE, cfg.login_per_address)),
            register_phone: RateLimiter::keyed(quota(HOUR, cfg.register_per_phone_per_hour)),
            register_address: RateLimiter::keyed(quota(HOUR, cfg.register_per_address_per_hour)),
            clock: DefaultClock::default(),
        }
    }

    fn check(&self, limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), ApiError> {
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

    /// One login attempt for `login` from `address`.
    pub fn login(&self, login: &str, address: &str) -> Result<(), ApiError> {
        self.check(&self.login_address, address)?;
        // The login cannot contain a newline (it is parsed before this), so the pair is
        // unambiguous.
        self.check(&self.login_account_address, &format!("{login}\n{address}"))?;
        self.check(&self.login_account, login)
    }

    /// One registration (code request) for `phone` from `address`.
    pub fn register(&self, phone: &str, address: &str) -> Result<(), ApiError> {
        self.check(&self.register_address, address)?;
        self.check(&self.register_phone, phone)
    }

    /// Drops keys whose buckets are full again, so memory stays bounded under a flood of
    /// distinct keys.
    pub fn shrink(&self) {
        for l in [
            &self.login_account_address,
            &self.login_account,
            &self.login_address,
            &self.register_phone,
            &self.register_address,
        ] {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_is_refused_after_the_account_quota_with_a_retry_time() {
        let l = Limiters::new(&RateLimits {
            login_per_account: 3,
            ..RateLimits::default()
        });
        for _ in 0..3 {
            assert!(l.login("li", "1.2.3.4").is_ok());
        }
        match l.login("li", "1.2.3.4") {
            Err(ApiError::RateLimited { retry_after_secs }) => assert!(retry_after_secs >= 1),
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(
            l.login("wang", "1.2.3.4").is_ok(),
            "other accounts unaffected"
        );
    }

    #[test]
    fn a_guessing_flood_from_one_address_leaves_the_account_open_from_another() {
        let l = Limiters::new(&RateLimits {
            login_per_account: 3,
            login_per_account_ceiling: 10,
            ..RateLimits::default()
        });
        for _ in 0..3 {
            assert!(l.login("li", "6.6.6.6").is_ok());
        }
        assert!(
            l.login("li", "6.6.6.6").is_err(),
            "the flooding address stops"
        );
        assert!(
            l.login("li", "10.0.0.7").is_ok(),
            "the real user still signs in"
        );
    }

    #[test]
    fn a_guess_spread_over_many_addresses_meets_the_account_ceiling() {
        let l = Limiters::new(&RateLimits {
            login_per_account: 3,
            login_per_account_ceiling: 10,
            login_per_address: 100,
            ..RateLimits::default()
        });
        let refused = (0..20)
            .filter(|i| l.login("li", &format!("10.0.{i}.1")).is_err())
            .count();
        assert_eq!(refused, 10, "the ceiling admits 10 attempts a minute");
    }
}
