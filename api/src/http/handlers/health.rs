//! Liveness, readiness, metrics and the contract.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::connection::SimpleConnection;

use crate::auth::sha256_hex;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

/// The contract, compiled in so the served copy always matches the server.
pub const OPENAPI_YAML: &str = include_str!("../../../../openapi.yaml");

/// The process is up.
pub async fn get_healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database answers and storage takes writes: the disks this server writes to have
/// room, and after a write was refused for a full disk, a probe write succeeds again.
pub async fn get_readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state
        .run_db(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(crate::db::StoreError::from)
        })
        .await?;
    if let Some(problem) = state.storage.low_space() {
        return Err(ApiError::NotReady(problem.to_string()));
    }
    if state.storage.refused_lately() {
        match state.run_db(crate::db::store::probe_write).await {
            Ok(()) => state.storage.mark_writable(),
            Err(_) => {
                return Err(ApiError::NotReady(
                    crate::infra::storage::StorageProblem::WritesRefused.to_string(),
                ));
            }
        }
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}

/// Prometheus text exposition, for a scraper that sends the configured bearer token.
/// Metrics describe the deployment (routes, load, failures), so they are not public.
pub async fn get_metrics(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let Some(expected) = &state.cfg.metrics_token else {
        return Err(ApiError::NotFound(
            "metrics (set PATROL_METRICS_TOKEN to serve them)".into(),
        ));
    };
    let sent = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compared as digests, so the time taken says nothing about the token's bytes.
    if sha256_hex(sent.as_bytes()) != sha256_hex(expected.as_bytes()) {
        return Err(ApiError::Unauthorized(
            "send the metrics token as Authorization: Bearer <token>".into(),
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&state.pool)))
}

/// The OpenAPI document.
pub async fn get_openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}
