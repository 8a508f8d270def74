//! Liveness, readiness, metrics and the contract.

use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;

use crate::infra::error::ApiResult;
use crate::infra::state::AppState;

/// The contract, compiled in so the served copy always matches the server.
pub const OPENAPI_YAML: &str = include_str!("../../../../openapi.yaml");

/// The process is up.
pub async fn get_healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database answers.
pub async fn get_readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state
        .run_db(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(crate::db::StoreError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}

/// Prometheus text exposition.
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// The OpenAPI document.
pub async fn get_openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}
