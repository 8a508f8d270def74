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
    /// How long one server trusts its last look at a session: a token of a session signed
    /// out on another server of the deployment stops working at most this much later (on
    /// the server that signed it out, at once).
    pub session_check_ttl: Duration,
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
    /// What one account may keep waiting in the photo store, and how long.
    pub photo_quota: PhotoQuota,
    /// Below this many free bytes on the disk of the SQLite file or the photo directory,
    /// the server reports itself not ready (`PATROL_MIN_FREE_BYTES`).
    pub min_free_bytes: u64,
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
    /// How residents' one-time codes are sent.
    pub code_sender: CodeSenderConfig,
}

/// Limits on photos no record references yet. Records are pushed before their photos,
/// so a photo normally has a reference by the time it arrives; bytes without one are
/// either on their way to a record or abandoned, and an account may not pile them up.
#[derive(Debug, Clone)]
pub struct PhotoQuota {
    /// Bytes of unreferenced photos (and partial uploads) one account may hold
    /// (`PATROL_PHOTO_QUOTA_BYTES`).
    pub unreferenced_bytes: u64,
    /// New photos one account may store in 24 hours (`PATROL_PHOTO_UPLOADS_PER_DAY`).
    pub uploads_per_day: u32,
    /// How long an unreferenced photo is kept before the clean-up job deletes it
    /// (`PATROL_PHOTO_GRACE_HOURS`).
    pub unreferenced_grace: Duration,
    /// How long a partial chunked upload may sit untouched before it is deleted.
    pub partial_grace: Duration,
}

/// Defaults of [`PhotoQuota`] and of the free-space floor, shared with their flags.
const DEFAULT_PHOTO_QUOTA_BYTES: u64 = 64 * 1024 * 1024;
const DEFAULT_PHOTO_UPLOADS_PER_DAY: u32 = 300;
const DEFAULT_PHOTO_GRACE_HOURS: u64 = 7 * 24;
const DEFAULT_MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

impl Default for PhotoQuota {
    fn default() -> Self {
        Self {
            unreferenced_bytes: DEFAULT_PHOTO_QUOTA_BYTES,
            uploads_per_day: DEFAULT_PHOTO_UPLOADS_PER_DAY,
            unreferenced_grace: Duration::from_secs(DEFAULT_PHOTO_GRACE_HOURS * 3600),
            partial_grace: Duration::from_secs(24 * 3600),
        }
    }
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
    /// Concurrent password hashes (19 MiB of memory each); more wait briefly, then get
    /// 503. `PATROL_CONCURRENT_HASHES`, by default half the cores from 1 to 4.
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
            concurrent_hashes: crate::auth::password::default_concurrent_hashes(),
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
            session_check_ttl: Duration::from_secs(10),
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
            photo_quota: PhotoQuota::default(),
            min_free_bytes: DEFAULT_MIN_FREE_BYTES,
            code_sender: CodeSenderConfig::None,
            database_url,
        }
    }

    /// Reads every setting from the environment alone (see [`Settings`]).
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_settings(&Settings::from_env()?)
    }

    /// Builds the configuration from the settings the command line and the environment
    /// gave. Without a secret on SQLite, one is generated and kept beside the database
    /// file (mode 0600); PostgreSQL deployments run several servers, which must share a
    /// secret, so there it is required.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Self> {
        let database_url =
            DatabaseUrl::parse(&s.database_url).map_err(|e| anyhow::anyhow!("{e}"))?;
        let secret = match &s.jwt_secret {
            Some(s) if s.len() >= 32 => s.clone().into_bytes(),
            Some(_) => bail!("PATROL_JWT_SECRET must be at least 32 characters"),
            None => match database_url.backend {
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
        let ledger_key = match &s.ledger_key {
            Some(k) if k.len() >= 32 => Some(k.clone().into_bytes()),
            Some(_) => bail!("PATROL_LEDGER_KEY must be at least 32 characters"),
            None => match database_url.backend {
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
        cfg.metrics_token = match &s.metrics_token {
            Some(t) if t.len() >= 24 => Some(t.clone()),
            Some(_) => bail!("PATROL_METRICS_TOKEN must be at least 24 characters"),
            None => None,
        };
        cfg.bind = s.bind.clone();
        cfg.log_json = s.log_format == "json";
        cfg.pool_size = s.pool_size;
        if let Some(n) = s.concurrent_hashes {
            if n == 0 {
                bail!("PATROL_CONCURRENT_HASHES must be at least 1");
            }
            cfg.limits.concurrent_hashes = n;
        }
        cfg.run_jobs = s.jobs != "off";
        if let Some(dir) = &s.blob_dir {
            cfg.blob_dir = PathBuf::from(dir);
        }
        cfg.blob_store_url = s.blob_store.clone().filter(|u| !u.is_empty());
        cfg.case_policy.follow_up_days = s.follow_up_days;
        cfg.case_policy.resident_daily_reports = s.resident_daily_reports;
        if s.change_log_days == 0 {
            bail!("PATROL_CHANGE_LOG_DAYS must be a positive number of days");
        }
        cfg.change_log_days = s.change_log_days;
        cfg.blob_max_bytes = s.blob_max_bytes;
        if s.photo_grace_hours == 0 {
            bail!("PATROL_PHOTO_GRACE_HOURS must be a positive number of hours");
        }
        cfg.min_free_bytes = s.min_free_bytes;
        cfg.photo_quota = PhotoQuota {
            unreferenced_bytes: s.photo_quota_bytes,
            uploads_per_day: s.photo_uploads_per_day,
            unreferenced_grace: Duration::from_secs(s.photo_grace_hours * 3600),
            ..PhotoQuota::default()
        };
        cfg.code_sender = CodeSenderConfig::from_settings(s)?;
        Ok(cfg)
    }
}

/// Every setting of the server, each from a flag or its environment variable (the flag
/// wins). `patrol serve --help` lists them.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// The database: `sqlite://PATH` (an absolute path is `sqlite:///var/lib/patrol.db`),
    /// `postgres://...` or `postgresql://...`; any other scheme is refused. (Its value is
    /// not shown here: a URL may carry a password.)
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://patrol.db",
        hide_env_values = true,
        global = true
    )]
    pub database_url: String,
    /// The listen address (`host:port`).
    #[arg(
        long,
        env = "PATROL_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,
    /// Secret that signs access tokens, at least 32 characters. On SQLite without it, one
    /// is generated beside the database; required on PostgreSQL. Prefer the variable: a
    /// flag shows in the process list.
    #[arg(long, env = "PATROL_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// Seeds the key that signs exported points-ledger heads, at least 32 characters
    /// (generated beside a SQLite database).
    #[arg(long, env = "PATROL_LEDGER_KEY", hide_env_values = true, global = true)]
    pub ledger_key: Option<String>,
    /// Bearer token a Prometheus scraper sends for /metrics (at least 24 characters);
    /// unset, metrics are not served.
    #[arg(
        long,
        env = "PATROL_METRICS_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub metrics_token: Option<String>,
    /// `text` or `json` logs.
    #[arg(long, env = "PATROL_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
    /// Database connections per server.
    #[arg(long, env = "PATROL_POOL_SIZE", default_value_t = 10, global = true)]
    pub pool_size: u32,
    /// Password hashes run at once (each holds 19 MiB while it runs; sign-ins beyond wait
    /// their turn) [default: half the cores, from 1 to 4].
    #[arg(long, env = "PATROL_CONCURRENT_HASHES", global = true)]
    pub concurrent_hashes: Option<usize>,
    /// `off` stops this server from running background jobs.
    #[arg(long, env = "PATROL_JOBS", default_value = "on", global = true)]
    pub jobs: String,
    /// Where photo bytes are kept [default: beside the SQLite file, or ./patrol-blobs].
    #[arg(long, env = "PATROL_BLOB_DIR", global = true)]
    pub blob_dir: Option<String>,
    /// `s3://bucket/prefix`: keep photo bytes in S3-compatible storage (credentials,
    /// region and endpoint from the usual `AWS_*` variables).
    #[arg(long, env = "PATROL_BLOB_STORE", global = true)]
    pub blob_store: Option<String>,
    /// Largest photo accepted, in bytes.
    #[arg(long, env = "PATROL_BLOB_MAX_BYTES", default_value_t = crate::infra::blobs::DEFAULT_MAX_BYTES, global = true)]
    pub blob_max_bytes: usize,
    /// Bytes of photos no record references yet that one account may hold.
    #[arg(long, env = "PATROL_PHOTO_QUOTA_BYTES", default_value_t = DEFAULT_PHOTO_QUOTA_BYTES, global = true)]
    pub photo_quota_bytes: u64,
    /// New photos one account may store in 24 hours.
    #[arg(
        long,
        env = "PATROL_PHOTO_UPLOADS_PER_DAY",
        default_value_t = DEFAULT_PHOTO_UPLOADS_PER_DAY,
        global = true
    )]
    pub photo_uploads_per_day: u32,
    /// Free bytes below which the server reports itself not ready (on the disks of the
    /// SQLite file and the photo directory).
    #[arg(long, env = "PATROL_MIN_FREE_BYTES", default_value_t = DEFAULT_MIN_FREE_BYTES, global = true)]
    pub min_free_bytes: u64,
    /// Hours a photo no record references is kept before it is deleted.
    #[arg(
        long,
        env = "PATROL_PHOTO_GRACE_HOURS",
        default_value_t = DEFAULT_PHOTO_GRACE_HOURS,
        global = true
    )]
    pub photo_grace_hours: u64,
    /// Days after closing in which a reporter may rate a case or say "not fixed".
    #[arg(
        long,
        env = "PATROL_FOLLOW_UP_DAYS",
        default_value_t = 7,
        global = true
    )]
    pub follow_up_days: u32,
    /// Reports one resident may file online per district day.
    #[arg(
        long,
        env = "PATROL_RESIDENT_DAILY_REPORTS",
        default_value_t = 10,
        global = true
    )]
    pub resident_daily_reports: u32,
    /// Days the sync change log keeps every change before compaction.
    #[arg(
        long,
        env = "PATROL_CHANGE_LOG_DAYS",
        default_value_t = 90,
        global = true
    )]
    pub change_log_days: u32,
    /// How residents' one-time codes are sent: `http` (an SMS gateway, the default when
    /// PATROL_SMS_URL is set) or `log` (written to the log: development only; also what
    /// `serve --demo` uses without a gateway). Unset and without a gateway, registration
    /// answers 503.
    #[arg(long, env = "PATROL_SMS_SENDER", global = true)]
    pub sms_sender: Option<String>,
    /// The SMS gateway's endpoint: the server POSTs `{"to", "text"}` JSON to it.
    #[arg(long, env = "PATROL_SMS_URL", hide_env_values = true, global = true)]
    pub sms_url: Option<String>,
    /// Bearer token for the SMS gateway.
    #[arg(long, env = "PATROL_SMS_TOKEN", hide_env_values = true, global = true)]
    pub sms_token: Option<String>,
    /// User name for the SMS gateway (HTTP basic authentication, with PATROL_SMS_PASSWORD).
    #[arg(long, env = "PATROL_SMS_USER", global = true)]
    pub sms_user: Option<String>,
    /// Password for the SMS gateway.
    #[arg(
        long,
        env = "PATROL_SMS_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub sms_password: Option<String>,
    /// The message; `{code}` is replaced by the code and `{minutes}` by its lifetime.
    #[arg(long, env = "PATROL_SMS_TEMPLATE", default_value = DEFAULT_SMS_TEMPLATE, global = true)]
    pub sms_template: String,
}

/// The text of a registration code message unless `PATROL_SMS_TEMPLATE` says otherwise.
pub const DEFAULT_SMS_TEMPLATE: &str =
    "【城管进社区】您的注册验证码为{code}，{minutes}分钟内有效。";

impl Settings {
    /// The settings from the environment alone, as if no flag were given.
    pub fn from_env() -> anyhow::Result<Self> {
        #[derive(clap::Parser)]
        struct EnvOnly {
            #[command(flatten)]
            settings: Settings,
        }
        use clap::Parser;
        Ok(EnvOnly::try_parse_from(["patrol"])?.settings)
    }
}

/// How one-time codes leave the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSenderConfig {
    /// None configured: registration answers 503.
    None,
    /// Written to the log (`PATROL_SMS_SENDER=log`, or `serve --demo` without a gateway).
    Log,
    /// Posted to an HTTP SMS gateway.
    Http(SmsGateway),
}

/// An HTTP SMS gateway.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsGateway {
    pub url: String,
    pub token: Option<String>,
    /// HTTP basic authentication: user and password.
    pub basic: Option<(String, String)>,
    pub template: String,
}

impl std::fmt::Debug for SmsGateway {
    // Credentials never reach a log through a debug print of the configuration.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsGateway")
            .field("url", &self.url)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

impl CodeSenderConfig {
    fn from_settings(s: &Settings) -> anyhow::Result<Self> {
        let gateway = || -> anyhow::Result<SmsGateway> {
            let url =
                s.sms_url.clone().filter(|u| !u.is_empty()).context(
                    "PATROL_SMS_SENDER=http needs PATROL_SMS_URL, the gateway's endpoint",
                )?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                bail!("PATROL_SMS_URL must be an http:// or https:// URL");
            }
            if !s.sms_template.contains("{code}") {
                bail!("PATROL_SMS_TEMPLATE must contain {{code}}");
            }
            let basic = match (&s.sms_user, &s.sms_password) {
                (Some(u), Some(p)) => Some((u.clone(), p.clone())),
                (None, None) => None,
                _ => bail!("PATROL_SMS_USER and PATROL_SMS_PASSWORD go together"),
            };
            Ok(SmsGateway {
                url,
                token: s.sms_token.clone().filter(|t| !t.is_empty()),
                basic,
                template: s.sms_template.clone(),
            })
        };
        Ok(match s.sms_sender.as_deref() {
            Some("log") => CodeSenderConfig::Log,
            Some("http") => CodeSenderConfig::Http(gateway()?),
            Some(other) => bail!("PATROL_SMS_SENDER must be http or log, not {other:?}"),
            None if s.sms_url.as_deref().is_some_and(|u| !u.is_empty()) => {
                CodeSenderConfig::Http(gateway()?)
            }
            None => CodeSenderConfig::None,
        })
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
