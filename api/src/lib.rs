//! The patrol HTTP server: configuration, persistence, authentication, handlers and the
//! background jobs, assembled by [`Application::build`].

/// The allocator of every binary that links the server: mimalloc, not glibc's malloc.
///
/// Measured with `cargo bench -p patrol-tests --bench memory` (32 phones on the demo):
/// under glibc the server reached 2 GiB and kept 1.5 GiB after 30 s idle. Each argon2
/// hash allocates 19 MiB on whichever blocking thread runs it; glibc gives threads their
/// own arenas (up to 8 per core), raises its mmap threshold to 19 MiB after the first
/// such block is freed, and from then on keeps every freed block inside its arena,
/// where it is neither returned nor reused by the other arenas. Request and upload
/// buffers fragment the same arenas. mimalloc serves such large blocks from their own
/// mappings and returns freed memory to the system after a short delay, so memory
/// follows the load back down. Alternatives weighed: jemalloc (several minutes of C on
/// CI's two cores), glibc tunables or `malloc_trim` (need `unsafe` or a wrapper process).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod auth;
pub mod cli;
pub mod commands;
pub mod console;
pub mod db;
pub mod http;
pub mod infra;
pub mod jobs;
pub mod sync;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::auth::limits::Limiters;
use crate::auth::password::PasswordHashing;
use crate::auth::tokens::JwtKeys;
use crate::db::locator::LocatorCache;
use crate::infra::config::Config;
use crate::infra::metrics::Metrics;
use crate::infra::otp::CodeSender;
use crate::infra::state::AppState;

/// A built server, bound to its port, with its background jobs.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Opens the database, runs migrations and binds (port 0 picks a free port).
    pub fn build(cfg: Config, codes: Arc<dyn CodeSender>) -> anyhow::Result<Self> {
        Self::build_with_store(cfg, codes, None)
    }

    /// Like [`Application::build`], with the photo store given instead of configured
    /// (tests put a failing store in front of a real one).
    pub fn build_with_store(
        cfg: Config,
        codes: Arc<dyn CodeSender>,
        blob_store: Option<Arc<dyn infra::blobs::BlobStore>>,
    ) -> anyhow::Result<Self> {
        let pool = db::connect(&cfg.database_url, cfg.pool_size)?;
        {
            let mut conn = pool.get()?;
            let applied = db::migrate(&mut conn)?;
            if applied > 0 {
                tracing::info!(db.migrations = applied, "migrations applied");
            }
            db::store::ensure_server_epoch(&mut conn)?;
        }
        let blob_store: Arc<dyn infra::blobs::BlobStore> = match (blob_store, &cfg.blob_store_url) {
            (Some(given), _) => given,
            (None, Some(url)) => Arc::new(
                infra::blobs::ObjectBlobStore::from_url(url)
                    .map_err(|e| anyhow::anyhow!("PATROL_BLOB_STORE: {e}"))?,
            ),
            (None, None) => Arc::new(infra::blobs::LocalDirStore::new(&cfg.blob_dir)),
        };
        let listener = TcpListener::bind(&cfg.bind)?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            jwt: JwtKeys::new(&cfg),
            sessions: crate::auth::revocation::LiveSessions::new(cfg.session_check_ttl),
            limiters: Limiters::new(&cfg.limits),
            hashing: PasswordHashing::new(cfg.limits.concurrent_hashes),
            codes,
            locator: LocatorCache::default(),
            metrics: Metrics::new()?,
            blob_store,
            blob_staging: Arc::new(infra::blobs::Staging::new(cfg.blob_dir.join("uploads"))),
            storage: infra::storage::StorageHealth::new(watched_dirs(&cfg), cfg.min_free_bytes),
            pool,
            route_templates: console::all_routes().map(|(_, path)| *path).collect(),
            cfg,
        });
        let app_state = state.clone();
        let cfg_for_threads = (state.cfg.pool_size, state.cfg.limits.concurrent_hashes);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .wrap(from_fn(http::middleware::security_headers))
                .wrap(from_fn(http::middleware::track))
                .wrap(from_fn(http::middleware::request_id))
                .configure(http::routes::configure)
                .configure(console::configure)
                .default_service(web::to(http::middleware::not_found))
        })
        .listen(listener)?
        // Blocking work is database calls (at most `pool_size` at once anyway), photo I/O
        // and password hashes (gated): more threads than that only queue, and each keeps
        // its own stack and allocator cache. Actix's default is 512 per worker; on the
        // memory benchmark, 110 threads under load held a third of the peak.
        .worker_max_blocking_threads(blocking_threads(&cfg_for_threads))
        .shutdown_timeout(20)
        .run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops (SIGINT/SIGTERM: graceful shutdown), running the
    /// background jobs beside it.
    pub async fn run(self) -> std::io::Result<()> {
        let tending = tokio::spawn(jobs::tend_forever(self.state.clone()));
        let jobs = if self.state.cfg.run_jobs {
            Some(tokio::spawn(jobs::run_forever(self.state.clone())))
        } else {
            None
        };
        let result = self.server.await;
        tending.abort();
        if let Some(jobs) = jobs {
            jobs.abort();
        }
        result
    }
}

/// Blocking threads per HTTP worker: the database pool's connections, the password
/// hashes allowed at once and a few for photo I/O.
fn blocking_threads((pool_size, hashes): &(u32, usize)) -> usize {
    usize::try_from(*pool_size).unwrap_or(10) + hashes + 4
}

/// The local directories whose disks this server writes to: the SQLite file's and the
/// photo directory (complete photos, or staged chunks when photos go to object storage).
fn watched_dirs(cfg: &Config) -> Vec<std::path::PathBuf> {
    let mut dirs = vec![cfg.blob_dir.clone()];
    if cfg.database_url.backend == db::Backend::Sqlite
        && let Some(parent) = std::path::Path::new(&cfg.database_url.target).parent()
    {
        dirs.push(parent.to_path_buf());
    }
    dirs
}
