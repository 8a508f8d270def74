//! Middleware around every request: the request id, metrics by route template, and the
//! answer for paths no route matches.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use crate::infra::error::ApiError;
use crate::infra::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Echoes the caller's `X-Request-Id` (or a new one) on the response and in the logs.
pub async fn request_id(
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

/// Any path no route matches.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("route".into()))
}

/// Middleware: counts and times every request by its route template (never the raw
/// path, which would make one series per id).
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if let Some(state) = state {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let status = res.status().as_u16().to_string();
        state
            .metrics
            .observe_request(&method, &route, &status, started.elapsed().as_secs_f64());
    }
    Ok(res)
}
