//! Photos by content hash: `HEAD`, `PUT` and `GET /api/v1/blobs/{sha256}`.
//!
//! Resumable upload scheme (also in `openapi.yaml`):
//! - A `PUT` without `Content-Range` carries the whole photo.
//! - A `PUT` with `Content-Range: bytes start-end/total` (`end` inclusive) carries one
//!   chunk; chunks are staged per (hash, caller). The first chunk must start at 0.
//!   Until `total` bytes have arrived the answer is `202 Accepted` with header
//!   `Upload-Offset: <bytes received>` and body `{"sha256", "offset", "total"}`. A chunk
//!   that overlaps bytes already received (a retry) is accepted for its new part only, if
//!   the overlap agrees byte for byte (else `409`, and the staged upload is discarded); a
//!   chunk starting after the offset is refused with `409`. The type is sniffed from the
//!   first [`crate::infra::blobs::SNIFF_BYTES`] bytes once they have arrived (or at the end of a
//!   shorter upload), so any chunking of the same bytes ends the same way (`415` refuses).
//! - The chunk that completes the upload is answered like a whole `PUT`: the hash is
//!   verified (mismatch: `422`, the staged upload is discarded, nothing is stored), then
//!   `201` (stored now) or `200` (already stored).
//! - After an interruption, `HEAD` tells where to resume: `200` when the blob is stored;
//!   otherwise `404`, with `Upload-Offset` when the caller has an upload under way.
//!
//! We answer `202` rather than the `308 Resume Incomplete` of some storage services: 308
//! is a redirect status, and common HTTP clients (browsers' `fetch`, reqwest) treat it as
//! one.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;
use serde_json::json;
use std::io::Read;

use crate::auth::AuthUser;
use crate::commands::photos::{self, BlobStatus, PutOutcome};
use crate::infra::blobs::{BlobHash, ContentRange, Received};
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

/// Response header of chunked uploads: the bytes received so far.
pub const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");

/// `HEAD /api/v1/blobs/{sha256}`: 200 with `Content-Length` when stored, else 404.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn head_blob(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let hash = BlobHash::parse(&path)?;
    match photos::blob_status(&state, &user, hash).await? {
        BlobStatus::Stored(meta) => {
            // A body-less stream keeps our Content-Length: the body is never sent on HEAD.
            let empty =
                futures_util::stream::empty::<Result<web::Bytes, std::convert::Infallible>>();
            Ok(HttpResponse::Ok()
                .insert_header((header::CONTENT_TYPE, meta.content_type))
                .no_chunking(u64::try_from(meta.size).unwrap_or(0))
                .streaming(empty))
        }
        BlobStatus::Partial { offset } => {
            let mut res = ApiError::NotFound("blob".into()).error_response();
            res.headers_mut()
                .insert(UPLOAD_OFFSET, HeaderValue::from(offset));
            Ok(res)
        }
        BlobStatus::Missing => Err(ApiError::NotFound("blob".into())),
    }
}

/// `PUT /api/v1/blobs/{sha256}`: the whole photo or one chunk (see the module docs).
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn put_blob(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let hash = BlobHash::parse(&path)?;
    let range = req
        .headers()
        .get(header::CONTENT_RANGE)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_field("Content-Range", "Content-Range is not text"))
                .and_then(ContentRange::parse)
        })
        .transpose()?;
    let limit = state.cfg.blob_max_bytes;
    if let Some(r) = range
        && r.total > limit as u64
    {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let body = receive(&state, body, limit).await?;
    Ok(
        match photos::put_blob(&state, &user, hash, range, body).await? {
            PutOutcome::Stored(meta) => HttpResponse::Created().json(meta),
            PutOutcome::AlreadyStored(meta) => HttpResponse::Ok().json(meta),
            PutOutcome::Partial { offset, total } => HttpResponse::build(StatusCode::ACCEPTED)
                .insert_header((UPLOAD_OFFSET, offset))
                .json(json!({ "sha256": path.as_str().to_ascii_lowercase(), "offset": offset, "total": total })),
        },
    )
}

/// Bytes written to the spool file at a time: how much of an upload is in memory.
const SPOOL_BUFFER: usize = 256 * 1024;

/// Receives a request body into a spool file as it arrives (never whole in memory),
/// refusing it once it passes `limit` bytes.
async fn receive(state: &AppState, mut body: web::Payload, limit: usize) -> ApiResult<Received> {
    let staging = state.blob_staging.clone();
    let mut spool = state.run_io(move || staging.spool()).await?;
    let mut buffer = Vec::with_capacity(SPOOL_BUFFER);
    let mut received = 0usize;
    loop {
        let next = body.next().await;
        if let Some(chunk) = &next {
            let chunk = chunk.as_ref().map_err(|e| ApiError::BadRequest {
                field: None,
                detail: format!("the body could not be read: {e}"),
            })?;
            received += chunk.len();
            if received > limit {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            buffer.extend_from_slice(chunk);
        }
        if buffer.len() >= SPOOL_BUFFER || (next.is_none() && !buffer.is_empty()) {
            let full = std::mem::take(&mut buffer);
            let (back, mut emptied) = state
                .run_io(move || {
                    spool.write(&full)?;
                    Ok((spool, full))
                })
                .await?;
            spool = back;
            emptied.clear();
            buffer = emptied;
        }
        if next.is_none() {
            break;
        }
    }
    state.run_io(move || spool.finish()).await
}

/// `GET /api/v1/blobs/{sha256}`: the photo, the bytes its address is the hash of,
/// streamed from the store a block at a time.
#[tracing::instrument(skip_all, fields(user.id = %user.id))]
pub async fn get_blob(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let hash = BlobHash::parse(&path)?;
    let etag = format!("\"{}\"", hash.as_str());
    let (meta, reader) = photos::open_blob(&state, &user, hash).await?;
    let blocks = futures_util::stream::try_unfold(reader, |mut reader| async move {
        let (reader, block) = web::block(move || -> std::io::Result<_> {
            let mut block = vec![0u8; READ_BLOCK];
            let n = reader.read(&mut block)?;
            block.truncate(n);
            Ok((reader, block))
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok::<_, std::io::Error>((!block.is_empty()).then(|| (web::Bytes::from(block), reader)))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, meta.content_type))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .no_chunking(u64::try_from(meta.size).unwrap_or(0))
        .streaming(blocks))
}

/// Bytes read from the store per block of a download.
const READ_BLOCK: usize = 64 * 1024;
