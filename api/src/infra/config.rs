//! Configuration from the environment, with safe defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::db::{Backend, DatabaseUrl};

/// Everything the server needs to start. Built by [`Config::from_env`] in production and
/// directly by tests.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: String,
    pub jwt_secret: Vec<u8>,
    /// `iss` written into and required of every access token.
    pub jwt_issuer: String,
    /// `aud` written into and required of every access token.
    pub jwt_audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// How long after a refresh token was spent a retry still gets the same successor
    /// (the response to the first attempt may have been lost on a bad network).
    pub refresh_grace: Duration,
    pub pool_size: u32,
    pub json_limit_bytes: usize,
    pub limits: RateLimits,
    pub log_json: bool,
    /// Run background jobs in this process (every process may; runs are claimed once).
    pub run_jobs: bool,
    /// Where photo bytes are kept (`PATROL_BLOB_DIR`), and where partial chunked uploads
    /// are staged when the bytes go to object storage.
    pub blob_dir: PathBuf,
    /// S3-compatible object storage for photo bytes instead of `blob_dir`
    /// (`PATROL_BLOB_STORE=s3://bucket/prefix`, credentials and endpoint from `AWS_*`).
    pub blob_store_url: Option<String>,
    /// Largest photo accepted, in bytes (`PATROL_BLOB_MAX_BYTES`).
    pub blob_max_bytes: usize,
    /// Seed material of the Ed25519 key that signs exported ledger heads
    /// (`PATROL_LEDGER_KEY`); without it heads cannot be exported.
    pub ledger_key: Option<Vec<u8>>,
    /// The bearer token a scraper must send for `/metrics` (`PATROL_METRICS_TOKEN`);
    /// without one, metrics are not served.
    pub metrics_token: Option<String>,
    /// How visits are verified: geofence buffer, accuracy, dwell, speed, clock skew.
    pub visit_rules: patrol_domain::visit::VerificationRules,
    /// Follow-up window and residents' daily report quota.
    pub case_policy: patrol_domain::case::CasePolicy,
    /// Days the change log keeps every change; older ones are compacted to each record's
    /// latest state, and devices further behind reset.
    pub change_log_days: u32,
    /// Visits per officer, community and week, and their minimum spacing.
    pub compliance: patrol_domain::visit::CompliancePolicy,
}

/// Rate limits, per minute unless said otherwise.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Sign-in attempts per account from one client address.
    pub login_per_account: u32,
    /// Sign-in attempts per account from all addresses together.
    pub login_per_account_ceiling: u32,
    pub login_per_address: u32,
    pub register_per_phone_per_hour: u32,
    pub register_per_address_per_hour: u32,
    /// Concurrent password hashes; more wait briefly, then get 503.
    pub concurrent_hashes: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            login_per_account: 5,
            login_per_account_ceiling: 30,
            login_per_address: 30,
            register_per_phone_per_hour: 5,
            register_per_address_per_hour: 20,
            concurrent_hashes: 2,
        }
    }
}

impl Config {
    /// Defaults for everything but the database and the secret.
    pub fn new(database_url: DatabaseUrl, jwt_secret: Vec<u8>) -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            jwt_secret,
            jwt_issuer: "patrol".into(),
            jwt_audience: "patrol-api".into(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_grace: Duration::from_secs(30),
            pool_size: 10,
            json_limit_bytes: 256 * 1024,
            limits: RateLimits::default(),
            log_json: false,
            run_jobs: true,
            ledger_key: None,
            metrics_token: None,
            visit_rules: patrol_domain::visit::VerificationRules::default(),
            case_policy: patrol_domain::case::CasePolicy::default(),
            change_log_days: 90,
            compliance: patrol_domain::visit::CompliancePolicy::default(),
            blob_dir: default_blob_dir(&database_url),
            blob_store_url: None,
            blob_max_bytes: crate::infra::blobs::DEFAULT_MAX_BYTES,
            database_url,
        }
    }

    /// Reads `DATABASE_URL`, `PATROL_BIND`, `PATROL_JWT_SECRET`, `PATROL_LOG_FORMAT`,
    /// `PATROL_POOL_SIZE`, `PATROL_JOBS`, `PATROL_BLOB_DIR`, `PATROL_BLOB_STORE`,
    /// `PATROL_BLOB_MAX_BYTES`, `PATROL_METRICS_TOKEN`,
    /// `PATROL_FOLLOW_UP_DAYS`, `PATROL_RESIDENT_DAILY_REPORTS` and `PATROL_CHANGE_LOG_DAYS`.
    /// Without a secret on SQLite, one is generated and kept beside the database file
    /// (mode 0600); PostgreSQL deployments run several servers, which must share a
    /// secret, so there it is required.
    pub fn from_env() -> anyhow::Result<Self> {
        let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://patrol.db".into());
        let database_url = DatabaseUrl::parse(&url).map_err(|e| anyhow::anyhow!("{e}"))?;
        let secret = match std::env::var("PATROL_JWT_SECRET") {
            Ok(s) if s.len() >= 32 => s.into_bytes(),
            Ok(_) => bail!("PATROL_JWT_SECRET must be at least 32 characters"),
            Err(_) => match database_url.backend {
                Backend::Sqlite => local_secret(
                    Path::new(&database_url.target),
                    ".jwt-secret",
                    "PATROL_JWT_SECRET",
                )?,
                Backend::Postgres => bail!(
                    "PATROL_JWT_SECRET is required on PostgreSQL: every server of the \
                     deployment must sign tokens with the same secret"
                ),
            },
        };
        // The points ledger's signing key lives outside the database, so whoever can
        // rewrite the database cannot re-sign a rewritten history.
        let ledger_key = match std::env::var("PATROL_LEDGER_KEY") {
            Ok(k) if k.len() >= 32 => Some(k.into_bytes()),
            Ok(_) => bail!("PATROL_LEDGER_KEY must be at least 32 characters"),
            Err(_) => match database_url.backend {
                Backend::Sqlite => Some(local_secret(
                    Path::new(&database_url.target),
                    ".ledger-key",
                    "PATROL_LEDGER_KEY",
                )?),
                Backend::Postgres => None,
            },
        };
        let mut cfg = Config::new(database_url, secret);
        cfg.ledger_key = ledger_key;
        cfg.metrics_token = match std::env::var("PATROL_METRICS_TOKEN") {
            Ok(t) if t.len() >= 24 => Some(t),
            Ok(_) => bail!("PATROL_METRICS_TOKEN must be at least 24 characters"),
            Err(_) => None,
        };
        if let Ok(bind) = std::env::var("PATROL_BIND") {
            cfg.bind = bind;
        }
        cfg.log_json = std::env::var("PATROL_LOG_FORMAT").is_ok_and(|v| v == "json");
        if let Ok(size) = std::env::var("PATROL_POOL_SIZE") {
            cfg.pool_size = size.parse().context("PATROL_POOL_SIZE must be a number")?;
        }
        if let Ok(jobs) = std::env::var("PATROL_JOBS") {
            cfg.run_jobs = jobs != "off";
        }
        if let Ok(dir) = std::env::var("PATROL_BLOB_DIR") {
            cfg.blob_dir = PathBuf::from(dir);
        }
        cfg.blob_store_url = std::env::var("PATROL_BLOB_STORE")
            .ok()
            .filter(|u| !u.is_empty());
        if let Ok(days) = std::env::var("PATROL_FOLLOW_UP_DAYS") {
            cfg.case_policy.follow_up_days = days
                .parse()
                .context("PATROL_FOLLOW_UP_DAYS must be a number of days")?;
        }
        if let Ok(n) = std::env::var("PATROL_RESIDENT_DAILY_REPORTS") {
            cfg.case_policy.resident_daily_reports = n
                .parse()
                .context("PATROL_RESIDENT_DAILY_REPORTS must be a number")?;
        }
        if let Ok(days) = std::env::var("PATROL_CHANGE_LOG_DAYS") {
            cfg.change_log_days = days
                .parse()
                .ok()
                .filter(|d| *d > 0)
                .context("PATROL_CHANGE_LOG_DAYS must be a positive number of days")?;
        }
        if let Ok(max) = std::env::var("PATROL_BLOB_MAX_BYTES") {
            cfg.blob_max_bytes = max
                .parse()
                .context("PATROL_BLOB_MAX_BYTES must be a number of bytes")?;
        }
        Ok(cfg)
    }
}

/// Photos beside a SQLite database (`<dir of the db>/blobs`); `./patrol-blobs` on
/// PostgreSQL, whose servers should share a directory or set `PATROL_BLOB_DIR`.
fn default_blob_dir(url: &DatabaseUrl) -> PathBuf {
    match url.backend {
        Backend::Sqlite => Path::new(&url.target)
            .parent()
            .map(|d| d.join("blobs"))
            .unwrap_or_else(|| PathBuf::from("blobs")),
        Backend::Postgres => PathBuf::from("patrol-blobs"),
    }
}

/// A secret file kept beside a SQLite database: `<db><suffix>`, e.g. `patrol.db.jwt-secret`.
fn secret_path(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    db.with_file_name(name)
}

/// Reads the secret kept beside the database, creating it (mode 0600) on first start.
/// `env` names the variable that would have set it, for the log.
fn local_secret(db: &Path, suffix: &str, env: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let path = secret_path(db, suffix);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(existing.as_bytes().to_vec());
        }
        bail!("{} is shorter than 32 characters", path.display());
    }
    let secret = crate::auth::random_token(48);
    // Write a private temporary file, then link it into place: the link fails if another
    // process won the race, and nobody ever reads a half-written secret.
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            "{env} is not set: generated a secret and kept it beside the database"
        ),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return local_secret(db, suffix, env);
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
    Ok(secret.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_file_sits_beside_the_database() {
        assert_eq!(
            secret_path(Path::new("/var/lib/patrol.db"), ".jwt-secret"),
            PathBuf::from("/var/lib/patrol.db.jwt-secret")
        );
        assert_eq!(
            secret_path(Path::new("patrol.db"), ".jwt-secret"),
            PathBuf::from("patrol.db.jwt-secret")
        );
    }
}
