//! Receiving photos by content hash (SYNC.md item 9): records reference a photo by its
//! SHA-256 and are accepted before the bytes arrive; the bytes are uploaded separately,
//! verified against the hash, stored once through a [`BlobStore`], and announced to sync
//! pulls as `available` in the same transaction as the `blobs` row.
//!
//! The bytes are stored durably *before* the row is inserted, so a row never points at
//! missing bytes; a crash in between leaves an unreferenced file that the next upload of
//! the same hash simply reuses.
//!
//! [`BlobStore`]: crate::infra::blobs::BlobStore

use std::io;

use actix_web::web::Bytes;
use diesel::prelude::*;
use patrol_domain::DomainError;
use serde::Serialize;

use crate::auth::AuthUser;
use crate::db::changes;
use crate::db::ids::now_ms;
use crate::db::schema::{blobs, photos};
use crate::db::store::PhotoRow;
use crate::db::{DbConn, StoreError, write_tx};
use crate::infra::blobs::*;
use crate::infra::error::{ApiError, ApiResult};
use crate::infra::state::AppState;

/// A stored blob, as the API describes it.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = blobs)]
pub struct BlobMeta {
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    #[serde(skip)]
    pub uploaded_by: Option<String>,
}

/// What a `PUT` achieved.
#[derive(Debug)]
pub enum PutOutcome {
    /// This upload stored the blob.
    Stored(BlobMeta),
    /// The blob was already stored; nothing was written.
    AlreadyStored(BlobMeta),
    /// A chunk was received; the upload continues at `offset`.
    Partial { offset: u64, total: u64 },
}

/// What `HEAD` reports.
#[derive(Debug)]
pub enum BlobStatus {
    Stored(BlobMeta),
    /// Not stored; the caller's chunked upload has this many bytes so far.
    Partial {
        offset: u64,
    },
    Missing,
}

fn invalid(reason: impl Into<String>) -> ApiError {
    ApiError::Domain(DomainError::invalid("body", reason))
}

fn unsupported() -> ApiError {
    ApiError::UnsupportedMediaType(format!(
        "only JPEG, PNG, WebP and HEIC/HEIF photos are accepted (judged by their content: {})",
        ACCEPTED_TYPES.join(", ")
    ))
}

async fn blocking<T, F>(f: F) -> ApiResult<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::storage)
}

fn meta_of(conn: &mut DbConn, hash: &str) -> Result<Option<BlobMeta>, StoreError> {
    Ok(blobs::table
        .find(hash)
        .select(BlobMeta::as_select())
        .first(conn)
        .optional()?)
}

/// Photo references waiting for (or showing) the blob `hash`.
pub fn photos_with_hash(conn: &mut DbConn, hash: &str) -> Result<Vec<PhotoRow>, StoreError> {
    Ok(photos::table
        .filter(photos::sha256.eq(hash))
        .order(photos::id)
        .select(PhotoRow::as_select())
        .load(conn)?)
}

/// Inserts the row of a blob whose bytes are durably stored, and announces every photo
/// referencing it as available, in one transaction. `false` when it was already recorded.
fn record_blob(conn: &mut DbConn, meta: &BlobMeta) -> Result<bool, StoreError> {
    write_tx(conn, |conn| {
        if meta_of(conn, &meta.sha256)?.is_some() {
            return Ok(false);
        }
        diesel::insert_into(blobs::table)
            .values((
                blobs::sha256.eq(&meta.sha256),
                blobs::size.eq(meta.size),
                blobs::content_type.eq(&meta.content_type),
                blobs::uploaded_by.eq(&meta.uploaded_by),
                blobs::created_at.eq(now_ms()),
            ))
            .execute(conn)?;
        for photo in photos_with_hash(conn, &meta.sha256)? {
            changes::photo_changed(conn, &photo, true)?;
        }
        Ok(true)
    })
}

/// Staff may read any photo; a resident only what they uploaded. `HEAD` and `GET` both
/// ask this, so neither tells a resident that someone else's photo exists.
fn may_read(user: &AuthUser, meta: &BlobMeta) -> bool {
    user.role.is_staff() || meta.uploaded_by.as_deref() == Some(user.id.as_str())
}

/// `HEAD`: stored and readable by the caller, partly uploaded by the caller, or missing.
pub async fn blob_status(
    state: &AppState,
    user: &AuthUser,
    hash: BlobHash,
) -> ApiResult<BlobStatus> {
    let key = hash.as_str().to_owned();
    let stored = state.run_db(move |conn| meta_of(conn, &key)).await?;
    if let Some(meta) = stored.filter(|m| may_read(user, m)) {
        return Ok(BlobStatus::Stored(meta));
    }
    let staging = state.blob_staging.clone();
    let uploader = user.id.clone();
    Ok(
        match blocking(move || staging.offset(&hash, &uploader)).await? {
            Some(offset) => BlobStatus::Partial { offset },
            None => BlobStatus::Missing,
        },
    )
}

/// `PUT`: a whole blob, or one chunk of a resumable upload.
pub async fn put_blob(
    state: &AppState,
    user: &AuthUser,
    hash: BlobHash,
    range: Option<ContentRange>,
    body: Bytes,
) -> ApiResult<PutOutcome> {
    let max = state.cfg.blob_max_bytes;
    let Some(range) = range else {
        return store_complete(state, user, hash, body).await;
    };
    if range.total > max as u64 {
        return Err(ApiError::PayloadTooLarge { limit: max });
    }
    if range.chunk_len() != body.len() as u64 {
        return Err(ApiError::bad_field(
            "Content-Range",
            format!(
                "Content-Range announces {} bytes but the body has {}",
                range.chunk_len(),
                body.len()
            ),
        ));
    }
    let key = hash.as_str().to_owned();
    if let Some(meta) = state.run_db(move |conn| meta_of(conn, &key)).await? {
        return Ok(PutOutcome::AlreadyStored(meta));
    }
    let staging = state.blob_staging.clone();
    let uploader = user.id.clone();
    let (h, u) = (hash.clone(), uploader.clone());
    let appended = blocking(move || staging.append(&h, &u, range.start, &body)).await?;
    let offset = match appended {
        Appended::Gap { offset } => {
            return Err(ApiError::Conflict(format!(
                "this upload continues at byte {offset}: send `Content-Range: bytes {offset}-…/{}` next",
                range.total
            )));
        }
        Appended::Mismatch { at } => {
            // Which of the two versions is right cannot be told: start over, so a correct
            // upload can still succeed (a final refusal would lose the photo).
            let staging = state.blob_staging.clone();
            let (h, u) = (hash.clone(), uploader.clone());
            blocking(move || staging.discard(&h, &u)).await?;
            return Err(ApiError::Conflict(format!(
                "this chunk disagrees with the bytes already received at byte {at}; the \
                 upload was discarded: start again at byte 0"
            )));
        }
        Appended::Offset(offset) => offset,
    };
    // Refuse a non-photo as soon as the bytes that decide its type have arrived (however
    // small the chunks), rather than after the whole upload.
    let prefix = SNIFF_BYTES as u64;
    if range.start < prefix && offset >= prefix && offset < range.total {
        let staging = state.blob_staging.clone();
        let (h, u) = (hash.clone(), uploader.clone());
        let head = blocking(move || staging.head(&h, &u, SNIFF_BYTES)).await?;
        if sniff(&head).is_none() {
            let staging = state.blob_staging.clone();
            let (h, u) = (hash.clone(), uploader.clone());
            blocking(move || staging.discard(&h, &u)).await?;
            return Err(unsupported());
        }
    }
    if offset < range.total {
        return Ok(PutOutcome::Partial {
            offset,
            total: range.total,
        });
    }
    let staging = state.blob_staging.clone();
    let (h, u) = (hash.clone(), uploader.clone());
    let bytes = blocking(move || staging.read(&h, &u)).await?;
    let outcome = if bytes.len() as u64 == range.total {
        store_complete(state, user, hash.clone(), Bytes::from(bytes)).await
    } else {
        Err(invalid(format!(
            "received {} bytes but the upload announced {}",
            bytes.len(),
            range.total
        )))
    };
    // Stored or refused for its content, the upload is over; after a transient failure
    // the client may retry the last chunk.
    if matches!(
        outcome,
        Ok(_) | Err(ApiError::Domain(_) | ApiError::UnsupportedMediaType(_))
    ) {
        let staging = state.blob_staging.clone();
        blocking(move || staging.discard(&hash, &uploader)).await?;
    }
    outcome
}

/// Verifies and stores a complete blob: bytes first, durably; then the row.
async fn store_complete(
    state: &AppState,
    user: &AuthUser,
    hash: BlobHash,
    bytes: Bytes,
) -> ApiResult<PutOutcome> {
    let actual = BlobHash::of(&bytes);
    if actual != hash {
        return Err(invalid(format!(
            "the body hashes to {}, not to the sha256 in the path; nothing was stored",
            actual.as_str()
        )));
    }
    let content_type = sniff(&bytes).ok_or_else(unsupported)?;
    // A photo's address is the hash of the bytes stored and served, so the server never
    // rewrites them: a photo that could tell where it was taken is refused, and the
    // device removes the metadata before hashing (docs/sync-protocol.md, "Photos").
    if carries_metadata(content_type, &bytes) {
        return Err(invalid(
            "the photo carries Exif or XMP metadata, which can hold where it was taken: \
             remove it on the device (re-encode the photo, or drop its metadata) and send \
             the cleaned bytes under their own SHA-256",
        ));
    }
    let key = hash.as_str().to_owned();
    if let Some(meta) = state.run_db(move |conn| meta_of(conn, &key)).await? {
        return Ok(PutOutcome::AlreadyStored(meta));
    }
    let meta = BlobMeta {
        sha256: hash.as_str().to_owned(),
        size: i64::try_from(bytes.len()).map_err(ApiError::internal)?,
        content_type: content_type.to_owned(),
        uploaded_by: Some(user.id.clone()),
    };
    let store = state.blob_store.clone();
    blocking(move || store.put(&hash, &bytes)).await?;
    let row = meta.clone();
    let recorded = state
        .run_db(move |conn| match record_blob(conn, &row) {
            // Another upload of the same bytes committed first.
            Err(StoreError::Duplicate { .. }) => Ok(false),
            other => other,
        })
        .await?;
    if recorded {
        tracing::info!(blob.sha256 = %meta.sha256, blob.size = meta.size, "blob stored");
        Ok(PutOutcome::Stored(meta))
    } else {
        let key = meta.sha256.clone();
        let stored = state.run_db(move |conn| meta_of(conn, &key)).await?;
        Ok(PutOutcome::AlreadyStored(stored.unwrap_or(meta)))
    }
}

/// `GET`: the bytes exactly as stored (they hash to their address) and their type. Staff may read any photo; a
/// resident only what they uploaded. Anything else is "not found", not "forbidden", so
/// a hash cannot be probed.
pub async fn get_blob(
    state: &AppState,
    user: &AuthUser,
    hash: BlobHash,
) -> ApiResult<(String, Bytes)> {
    let key = hash.as_str().to_owned();
    let meta = state
        .run_db(move |conn| meta_of(conn, &key))
        .await?
        .filter(|m| may_read(user, m))
        .ok_or_else(|| ApiError::NotFound("blob".into()))?;
    let store = state.blob_store.clone();
    let bytes = blocking(move || {
        store
            .get(&hash)?
            .ok_or_else(|| io::Error::other("blob row without stored bytes"))
    })
    .await?;
    Ok((meta.content_type, Bytes::from(bytes)))
}
