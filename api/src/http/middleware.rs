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

/// The headers OWASP's REST security guidance asks of every API answer, each unless the
/// handler chose its own: no MIME sniffing, no framing, no active content, and no
/// caching of answers that may carry personal data or credentials.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    use actix_web::http::header;
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(res)
}

/// Any path no route matches.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("route".into()))
}

/// The label of a request's method: one of a closed set, so that made-up methods
/// (`XQWERTY /x`) cannot mint new series.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The label of a request's route: a template of the server's route tables, or
/// `unmatched`. Never the raw path, which would make one series per id or per probe.
fn route_label(templates: &[&'static str], pattern: Option<String>) -> &'static str {
    pattern
        .and_then(|p| templates.iter().find(|t| **t == p))
        .map_or("unmatched", |t| t)
}

/// Middleware: counts and times every request by method and route template, both from
/// closed sets, so the number of series is bounded by the route table whatever arrives.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if let Some(state) = state {
        let route = route_label(&state.route_templates, res.request().match_pattern());
        let status = res.status().as_u16().to_string();
        state
            .metrics
            .observe_request(method, route, &status, started.elapsed().as_secs_f64());
    }
    Ok(res)
}
