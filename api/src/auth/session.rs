//! Sign-in, token refresh with rotation and reuse detection, sign-out, and resident
//! self-registration with a one-time code.
//!
//! Refresh tokens are opaque random strings; only their SHA-256 is stored. Each use
//! spends the token and issues a successor in the same family. The successor is derived
//! from the spent token with the server key (HMAC), so a client that retries a refresh
//! whose response it lost, inside the grace window, gets the very same successor. A spent
//! token presented after the window, or after its successor was used, means someone else
//! has a copy: the whole family is revoked.

use hmac::{Hmac, Mac};
use patrol_domain::org::{check_password, parse_login, parse_name, parse_phone};
use patrol_domain::role::Role;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{random_token, sha256_hex};
use crate::db::ids::{new_id, now_ms};
use crate::db::store::{self, OtpRow, RefreshTokenRow, UserRow};
use crate::db::{StoreError, write_tx};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

/// What a successful sign-in or refresh returns.
#[derive(Debug, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
}

const OTP_TTL_MS: i64 = 10 * 60 * 1000;
const OTP_MAX_ATTEMPTS: i32 = 5;

fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("the login or password is wrong".into())
}

fn successor_of(secret: &[u8], token: &str) -> ApiResult<String> {
    use base64::Engine;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(ApiError::internal)?;
    mac.update(b"patrol refresh successor\0");
    mac.update(token.as_bytes());
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

fn refresh_row(
    family_id: &str,
    user_id: &str,
    token: &str,
    state: &AppState,
    now: i64,
) -> RefreshTokenRow {
    RefreshTokenRow {
        id: new_id(),
        family_id: family_id.to_owned(),
        user_id: user_id.to_owned(),
        token_hash: sha256_hex(token.as_bytes()),
        issued_at: now,
        expires_at: now + i64::try_from(state.cfg.refresh_ttl.as_millis()).unwrap_or(i64::MAX / 2),
        used_at: None,
        successor_id: None,
        revoked_at: None,
    }
}

fn role_of(user: &UserRow) -> ApiResult<Role> {
    user.role
        .parse::<Role>()
        .map_err(|e| ApiError::Internal(format!("stored role: {e}").into()))
}

/// Starts a new token family for a user who just proved who they are.
async fn start_session(state: &AppState, user: &UserRow) -> ApiResult<TokenPair> {
    let role = role_of(user)?;
    let refresh = random_token(32);
    let session_id = new_id();
    let row = refresh_row(&session_id, &user.id, &refresh, state, now_ms());
    state
        .run_db(move |conn| store::insert_refresh_token(conn, &row))
        .await?;
    Ok(TokenPair {
        access_token: state.jwt.issue(&user.id, role, &session_id)?,
        token_type: "Bearer",
        expires_in: state.jwt.ttl_secs(),
        refresh_token: refresh,
    })
}

/// Checks a login and password; rate limits apply before any hashing.
pub async fn login(
    state: &AppState,
    login: &str,
    password: String,
    address: &str,
) -> ApiResult<TokenPair> {
    let login = login.trim().to_ascii_lowercase();
    state.limiters.login(&login, address)?;
    let lookup = login.clone();
    let user = state
        .run_db(move |conn| store::user_by_login(conn, &lookup))
        .await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = state.hashing.verify(stored, password).await?;
    match user {
        Some(user) if ok && user.active => {
            tracing::info!(user.id = %user.id, "signed in");
            start_session(state, &user).await
        }
        _ => Err(bad_credentials()),
    }
}

enum RefreshOutcome {
    Rotated {
        user_id: String,
        session_id: String,
        token: String,
    },
    /// A spent token came back: the session (family) was revoked.
    Reused {
        session_id: String,
    },
    Invalid,
}

/// Rotates a refresh token.
pub async fn refresh(state: &AppState, token: String) -> ApiResult<TokenPair> {
    let secret = state.cfg.jwt_secret.clone();
    let grace_ms = i64::try_from(state.cfg.refresh_grace.as_millis()).unwrap_or(0);
    let ttl_ms = i64::try_from(state.cfg.refresh_ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let outcome = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<RefreshOutcome> {
                let now = now_ms();
                let Some(row) = store::refresh_token_by_hash(conn, &sha256_hex(token.as_bytes()))?
                else {
                    return Ok(RefreshOutcome::Invalid);
                };
                if row.revoked_at.is_some() || row.expires_at <= now {
                    return Ok(RefreshOutcome::Invalid);
                }
                let successor = successor_of(&secret, &token)?;
                if row.used_at.is_none() {
                    let next = RefreshTokenRow {
                        id: new_id(),
                        family_id: row.family_id.clone(),
                        user_id: row.user_id.clone(),
                        token_hash: sha256_hex(successor.as_bytes()),
                        issued_at: now,
                        expires_at: now + ttl_ms,
                        used_at: None,
                        successor_id: None,
                        revoked_at: None,
                    };
                    if store::spend_refresh_token(conn, &row.id, now, &next.id)? {
                        store::insert_refresh_token(conn, &next)?;
                        return Ok(RefreshOutcome::Rotated {
                            user_id: row.user_id,
                            session_id: row.family_id,
                            token: successor,
                        });
                    }
                }
                // Spent already: a retry inside the grace window gets the same successor,
                // as long as the successor itself is untouched.
                let row = store::refresh_token_by_id(conn, &row.id)?.ok_or(StoreError::NotFound)?;
                let used_at = row.used_at.unwrap_or(now);
                if now - used_at <= grace_ms
                    && let Some(next_id) = row.successor_id.as_deref()
                    && let Some(next) = store::refresh_token_by_id(conn, next_id)?
                    && next.used_at.is_none()
                    && next.revoked_at.is_none()
                {
                    return Ok(RefreshOutcome::Rotated {
                        user_id: row.user_id,
                        session_id: row.family_id,
                        token: successor,
                    });
                }
                store::revoke_refresh_family(conn, &row.family_id, now)?;
                Ok(RefreshOutcome::Reused {
                    session_id: row.family_id,
                })
            })
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated {
            user_id,
            session_id,
            token,
        } => {
            let uid = user_id.clone();
            let user = state
                .run_db(move |conn| store::user_by_id(conn, &uid))
                .await?
                .filter(|u| u.active)
                .ok_or_else(|| ApiError::Unauthorized("the account is disabled".into()))?;
            Ok(TokenPair {
                access_token: state.jwt.issue(&user_id, role_of(&user)?, &session_id)?,
                token_type: "Bearer",
                expires_in: state.jwt.ttl_secs(),
                refresh_token: token,
            })
        }
        RefreshOutcome::Reused { session_id } => {
            state.sessions.forget(&session_id);
            tracing::warn!("a spent refresh token was presented again: family revoked");
            Err(ApiError::Unauthorized(
                "this refresh token was already used; sign in again".into(),
            ))
        }
        RefreshOutcome::Invalid => Err(ApiError::Unauthorized(
            "the refresh token is invalid, expired or revoked; sign in again".into(),
        )),
    }
}

/// Revokes the family of `token` if it belongs to `user_id`. Unknown tokens are ignored:
/// signing out is idempotent.
pub async fn logout(state: &AppState, user_id: &str, token: String) -> ApiResult<()> {
    let user_id = user_id.to_owned();
    let ended = state
        .run_db(move |conn| -> ApiResult<Option<String>> {
            if let Some(row) = store::refresh_token_by_hash(conn, &sha256_hex(token.as_bytes()))?
                && row.user_id == user_id
            {
                store::revoke_refresh_family(conn, &row.family_id, now_ms())?;
                return Ok(Some(row.family_id));
            }
            Ok(None)
        })
        .await?;
    if let Some(session_id) = ended {
        state.sessions.forget(&session_id);
    }
    Ok(())
}

/// What waits in a registration challenge until the phone is verified.
#[derive(Serialize, Deserialize)]
struct PendingRegistration {
    password_hash: String,
    display_name: String,
}

/// Seconds a registration code stays valid.
pub const REGISTRATION_CODE_TTL_SECS: i64 = OTP_TTL_MS / 1000;

/// Starts a resident registration: checks the input, hashes the password, stores a
/// challenge and sends a code. A phone that already has an account gets no code (and
/// the caller learns nothing from the answer).
pub async fn register(
    state: &AppState,
    phone: &str,
    password: String,
    display_name: Option<&str>,
    address: &str,
) -> ApiResult<()> {
    if !state.codes.configured() {
        return Err(ApiError::NotConfigured(
            "no code sender configured: residents cannot register until the server has an SMS \
             gateway (PATROL_SMS_URL)"
                .into(),
        ));
    }
    let phone = parse_phone("phone", phone)?;
    check_password(&password)?;
    let display_name = match display_name {
        Some(name) => parse_name("display_name", name)?,
        None => "居民".to_owned(),
    };
    state.limiters.register(&phone, address)?;
    let password_hash = state.hashing.hash(password).await?;
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let now = now_ms();
    let challenge = OtpRow {
        id: new_id(),
        phone: phone.clone(),
        purpose: "register".into(),
        code_hash: sha256_hex(code.as_bytes()),
        payload: serde_json::to_string(&PendingRegistration {
            password_hash,
            display_name,
        })
        .map_err(ApiError::internal)?,
        attempts: 0,
        created_at: now,
        expires_at: now + OTP_TTL_MS,
        consumed_at: None,
    };
    let lookup = phone.clone();
    let exists = state
        .run_db(move |conn| -> ApiResult<bool> {
            if store::user_by_phone(conn, &lookup)?.is_some() {
                return Ok(true);
            }
            store::insert_otp(conn, &challenge)?;
            Ok(false)
        })
        .await?;
    if !exists {
        state.codes.send(&phone, &code).await.map_err(|e| {
            tracing::error!(error = %e, "one-time code not sent");
            ApiError::Unavailable {
                retry_after_secs: 30,
            }
        })?;
    }
    Ok(())
}

enum VerifyOutcome {
    Created(Box<UserRow>),
    WrongCode,
    Taken,
}

/// Completes a registration with the code sent to the phone and signs the resident in.
pub async fn verify_registration(
    state: &AppState,
    phone: &str,
    code: &str,
) -> ApiResult<TokenPair> {
    let phone = parse_phone("phone", phone)?;
    let code = code.trim().to_owned();
    let outcome = state
        .run_db(move |conn| {
            write_tx(conn, |conn| -> ApiResult<VerifyOutcome> {
                let now = now_ms();
                let Some(challenge) = store::latest_otp(conn, &phone, "register")? else {
                    return Ok(VerifyOutcome::WrongCode);
                };
                if challenge.expires_at <= now || challenge.attempts >= OTP_MAX_ATTEMPTS {
                    return Ok(VerifyOutcome::WrongCode);
                }
                if challenge.code_hash != sha256_hex(code.as_bytes()) {
                    store::count_otp_attempt(conn, &challenge.id)?;
                    return Ok(VerifyOutcome::WrongCode);
                }
                if !store::consume_otp(conn, &challenge.id, now)? {
                    return Ok(VerifyOutcome::WrongCode);
                }
                let pending: PendingRegistration = serde_json::from_str(&challenge.payload)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let login = parse_login(&phone)?;
                let user = UserRow {
                    id: new_id(),
                    login,
                    role: Role::Resident.as_str().into(),
                    display_name: pending.display_name,
                    phone: Some(phone.clone()),
                    password_hash: pending.password_hash,
                    squad_id: None,
                    department_name: None,
                    joint_office: false,
                    hotline_intake: false,
                    active: true,
                    created_by: None,
                    created_at: now,
                    updated_at: now,
                };
                match store::insert_user(conn, &user) {
                    Ok(()) => Ok(VerifyOutcome::Created(Box::new(user))),
                    Err(StoreError::Duplicate { .. }) => Ok(VerifyOutcome::Taken),
                    Err(e) => Err(e.into()),
                }
            })
        })
        .await?;
    match outcome {
        VerifyOutcome::Created(user) => {
            tracing::info!(user.id = %user.id, "resident registered");
            start_session(state, &user).await
        }
        VerifyOutcome::WrongCode => Err(ApiError::Domain(patrol_domain::DomainError::invalid(
            "code",
            "the code is wrong or expired; request a new one",
        ))),
        VerifyOutcome::Taken => Err(ApiError::Conflict(
            "an account with this phone number already exists; sign in instead".into(),
        )),
    }
}
