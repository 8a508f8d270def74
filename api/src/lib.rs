//! The patrol HTTP server: configuration, persistence, authentication, handlers and the
//! background jobs, assembled by [`Application::build`].

pub mod auth;
pub mod blobs;
pub mod cases;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod diary;
pub mod error;
pub mod escalations;
pub mod extract;
pub mod handlers;
pub mod ids;
pub mod jobs;
pub mod metrics;
pub mod org;
pub mod otp;
pub mod points;
pub mod reports;
pub mod routes;
pub mod sim;
pub mod state;
pub mod sync;
pub mod visits;
pub mod whistles;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpServer, web};

use crate::auth::limits::Limiters;
use crate::auth::password::PasswordHashing;
use crate::auth::tokens::JwtKeys;
use crate::config::Config;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::org::locator::LocatorCache;
use crate::otp::CodeSender;
use crate::state::AppState;

/// A built server, bound to its port, with its background jobs.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Echoes the caller's `X-Request-Id` (or a new one) on the response and in the logs.
async fn request_id(
    req: ServiceRequest,
    next: Next<impl actix_web::body::MessageBody>,
) -> Result<ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!(
        "http",
        request.id = %id,
        http.method = %req.method(),
        http.path = %req.path()
    );
    let mut res = {
        let _guard = span.enter();
        tracing::debug!("request");
        drop(_guard);
        tracing::Instrument::instrument(next.call(req), span.clone()).await?
    };
    let status = res.status().as_u16();
    span.in_scope(|| tracing::info!(http.status = status, "response"));
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("route".into()))
}

impl Application {
    /// Opens the database, runs migrations and binds (port 0 picks a free port).
    pub fn build(cfg: Config, codes: Arc<dyn CodeSender>) -> anyhow::Result<Self> {
        let pool = db::connect(&cfg.database_url, cfg.pool_size)?;
        {
            let mut conn = pool.get()?;
            let applied = db::migrate(&mut conn)?;
            if applied > 0 {
                tracing::info!(db.migrations = applied, "migrations applied");
            }
            jobs::ensure_server_epoch(&mut conn)?;
        }
        let blob_store: Arc<dyn blobs::BlobStore> = match &cfg.blob_store_url {
            Some(url) => Arc::new(
                blobs::ObjectBlobStore::from_url(url)
                    .map_err(|e| anyhow::anyhow!("PATROL_BLOB_STORE: {e}"))?,
            ),
            None => Arc::new(blobs::LocalDirStore::new(&cfg.blob_dir)),
        };
        let listener = TcpListener::bind(&cfg.bind)?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            jwt: JwtKeys::new(&cfg),
            limiters: Limiters::new(&cfg.limits),
            hashing: PasswordHashing::new(cfg.limits.concurrent_hashes),
            codes,
            locator: LocatorCache::default(),
            metrics: Metrics::new()?,
            blob_store,
            blob_staging: Arc::new(blobs::Staging::new(cfg.blob_dir.join("uploads"))),
            pool,
            cfg,
        });
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .wrap(from_fn(metrics::track))
                .wrap(from_fn(request_id))
                .configure(routes::configure)
                .default_service(web::to(not_found))
        })
        .listen(listener)?
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
        let jobs = if self.state.cfg.run_jobs {
            Some(tokio::spawn(jobs::run_forever(self.state.clone())))
        } else {
            None
        };
        let result = self.server.await;
        if let Some(jobs) = jobs {
            jobs.abort();
        }
        result
    }
}
