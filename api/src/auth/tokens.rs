//! Access tokens: short-lived HS256 JWTs carrying the account id and role.

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use patrol_domain::role::Role;
use serde::{Deserialize, Serialize};

use crate::infra::config::Config;
use crate::infra::error::ApiError;

/// The claims we issue and require. Every one is mandatory; `exp` and `iat` must be
/// numbers (a string `exp` fails to deserialise and the token is refused).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    /// The session (refresh-token family) the token was issued for: signing out or
    /// revoking it ends the token too ([`super::revocation`]).
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// Signing and verification keys with the validation rules, built once at start-up.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(cfg: &Config) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[cfg.jwt_issuer.as_str()]);
        validation.set_audience(&[cfg.jwt_audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(&cfg.jwt_secret),
            decoding: DecodingKey::from_secret(&cfg.jwt_secret),
            validation,
            issuer: cfg.jwt_issuer.clone(),
            audience: cfg.jwt_audience.clone(),
            ttl_secs: i64::try_from(cfg.access_ttl.as_secs()).unwrap_or(900),
        }
    }

    /// Lifetime of an access token, in seconds.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Issues an access token for an account's session.
    pub fn issue(&self, user_id: &str, role: Role, session_id: &str) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            sid: session_id.to_owned(),
            iat: now,
            exp: now + self.ttl_secs,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(ApiError::internal)
    }

    /// Verifies signature, algorithm, expiry, issuer and audience.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::debug!(error = %e, "access token refused");
                ApiError::Unauthorized("the access token is invalid or expired".into())
            })
    }
}
