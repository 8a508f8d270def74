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
use std::sync::Arc;

use diesel::prelude::*;
use patrol_domain::DomainError;
use serde::Serialize;

use crate::auth::AuthUser;
use crate::db::ids::now_ms;
use crate::db::schema::{blobs, photos};
use crate::db::store::PhotoRow;
use crate::db::{DbConn, StoreError, write_tx};
use crate::db::{changes, store};
use crate::infra::blobs::*;
use crate::infra::config::PhotoQuota;
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
                blobs::touched_at.eq(now_ms()),
            ))
            .execute(conn)?;
        for photo in photos_with_hash(conn, &meta.sha256)? {
            changes::photo_changed(conn, &photo, true)?;
        }
        Ok(true)
    })
}

/// What an account holds in the photo store and has stored lately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of its photos that no record references.
    pub unreferenced_bytes: u64,
    /// New photos it stored in the last 24 hours.
    pub stored_last_day: u64,
}

const DAY_MS: i64 = 24 * 3600 * 1000;

/// An account's [`Usage`] at `now`.
pub fn usage_of(conn: &mut DbConn, user_id: &str, now: i64) -> Result<Usage, StoreError> {
    use diesel::dsl::{exists, not};
    // Bounded by the quotas themselves: at most a day's uploads per day of grace.
    let sizes: Vec<i64> = blobs::table
        .filter(blobs::uploaded_by.eq(user_id))
        .filter(not(exists(
            photos::table.filter(photos::sha256.eq(blobs::sha256)),
        )))
        .select(blobs::size)
        .load(conn)?;
    let stored_last_day: i64 = blobs::table
        .filter(blobs::uploaded_by.eq(user_id))
        .filter(blobs::created_at.gt(now - DAY_MS))
        .count()
        .get_result(conn)?;
    Ok(Usage {
        unreferenced_bytes: sizes.iter().map(|s| u64::try_from(*s).unwrap_or(0)).sum(),
        stored_last_day: u64::try_from(stored_last_day).unwrap_or(0),
    })
}

/// The stored blob `hash`, marked as wanted now (see [`store::touch_blob`]), if stored.
fn touch_stored(conn: &mut DbConn, hash: &str) -> Result<Option<BlobMeta>, StoreError> {
    if store::touch_blob(conn, hash, now_ms())? {
        meta_of(conn, hash)
    } else {
        Ok(None)
    }
}

/// Refuses a new photo that would take the caller over its quota ([`check_quota`]).
async fn enforce_quota(
    state: &AppState,
    user: &AuthUser,
    hash: &BlobHash,
    size: u64,
) -> ApiResult<()> {
    let (uid, key) = (user.id.clone(), hash.as_str().to_owned());
    let (usage, referenced) = state
        .run_db(move |conn| -> Result<_, StoreError> {
            Ok((usage_of(conn, &uid, now_ms())?, is_referenced(conn, &key)?))
        })
        .await?;
    let staging = state.blob_staging.clone();
    let (h, u) = (hash.clone(), user.id.clone());
    let staged = state.run_io(move || staging.staged_bytes(&u, &h)).await?;
    Ok(check_quota(
        &state.cfg.photo_quota,
        usage,
        staged,
        size,
        referenced,
    )?)
}

/// Whether a record references `hash` (its photo is awaited).
fn is_referenced(conn: &mut DbConn, hash: &str) -> Result<bool, StoreError> {
    use diesel::dsl::exists;
    Ok(diesel::select(exists(photos::table.filter(photos::sha256.eq(hash)))).get_result(conn)?)
}

/// Refuses a new photo of `size` bytes that would take an account over its quota:
/// photos a day, and bytes that no record references (`staged` counts its partial
/// uploads too). The answer is 429 with `Retry-After`, so a device keeps the photo and
/// tries again: once its records are pushed, the photo is referenced and no longer counts.
pub fn check_quota(
    quota: &PhotoQuota,
    usage: Usage,
    staged: u64,
    size: u64,
    referenced: bool,
) -> Result<(), DomainError> {
    if usage.stored_last_day >= u64::from(quota.uploads_per_day) {
        return Err(DomainError::Limited {
            reason: format!(
                "this account stored {} photos in the last 24 hours, the most allowed; \
                 keep the photos and retry later",
                quota.uploads_per_day
            ),
            retry_after_secs: 3600,
        });
    }
    if !referenced && usage.unreferenced_bytes + staged + size > quota.unreferenced_bytes {
        return Err(DomainError::Limited {
            reason: format!(
                "this account holds {} bytes of photos that no record references, and at \
                 most {} are allowed: push the records that use these photos first, then \
                 upload them",
                usage.unreferenced_bytes + staged,
                quota.unreferenced_bytes
            ),
            retry_after_secs: 60,
        });
    }
    Ok(())
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
        match state
            .run_io(move || staging.offset(&hash, &uploader))
            .await?
        {
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
    body: Received,
) -> ApiResult<PutOutcome> {
    let max = state.cfg.blob_max_bytes;
    let body = Arc::new(body);
    let Some(range) = range else {
        return store_complete(state, user, hash, body).await;
    };
    if range.total > max as u64 {
        return Err(ApiError::PayloadTooLarge { limit: max });
    }
    if range.chunk_len() != body.len {
        return Err(ApiError::bad_field(
            "Content-Range",
            format!(
                "Content-Range announces {} bytes but the body has {}",
                range.chunk_len(),
                body.len
            ),
        ));
    }
    let key = hash.as_str().to_owned();
    if let Some(meta) = state.run_db(move |conn| touch_stored(conn, &key)).await? {
        return Ok(PutOutcome::AlreadyStored(meta));
    }
    let staging = state.blob_staging.clone();
    let uploader = user.id.clone();
    let (h, u) = (hash.clone(), uploader.clone());
    // A new upload is judged against the quota before any byte is staged.
    if range.start == 0
        && state
            .run_io(move || staging.offset(&h, &u))
            .await?
            .is_none()
    {
        enforce_quota(state, user, &hash, range.total).await?;
    }
    let staging = state.blob_staging.clone();
    let (h, u) = (hash.clone(), uploader.clone());
    let chunk = body.clone();
    let appended = state
        .run_io(move || staging.append(&h, &u, range.start, &chunk))
        .await?;
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
            state.run_io(move || staging.discard(&h, &u)).await?;
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
        let head = state
            .run_io(move || staging.head(&h, &u, SNIFF_BYTES))
            .await?;
        if sniff(&head).is_none() {
            let staging = state.blob_staging.clone();
            let (h, u) = (hash.clone(), uploader.clone());
            state.run_io(move || staging.discard(&h, &u)).await?;
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
    let whole = state.run_io(move || staging.complete(&h, &u)).await?;
    let outcome = if whole.len == range.total {
        store_complete(state, user, hash.clone(), Arc::new(whole)).await
    } else {
        Err(invalid(format!(
            "received {} bytes but the upload announced {}",
            whole.len, range.total
        )))
    };
    // Stored or refused for its content, the upload is over; after a transient failure
    // the client may retry the last chunk.
    if matches!(
        outcome,
        Ok(_) | Err(ApiError::Domain(_) | ApiError::UnsupportedMediaType(_))
    ) {
        let staging = state.blob_staging.clone();
        state
            .run_io(move || staging.discard(&hash, &uploader))
            .await?;
    }
    outcome
}

/// Verifies and stores a complete blob: bytes first, durably; then the row. The bytes
/// are read from their file a block at a time, never held whole in memory.
async fn store_complete(
    state: &AppState,
    user: &AuthUser,
    hash: BlobHash,
    bytes: Arc<Received>,
) -> ApiResult<PutOutcome> {
    if bytes.hash != hash {
        return Err(invalid(format!(
            "the body hashes to {}, not to the sha256 in the path; nothing was stored",
            bytes.hash.as_str()
        )));
    }
    let content_type = sniff(&bytes.head).ok_or_else(unsupported)?;
    // A photo's address is the hash of the bytes stored and served, so the server never
    // rewrites them: a photo that could tell where it was taken is refused, and the
    // device removes the metadata before hashing (docs/sync-protocol.md, "Photos").
    let photo = bytes.clone();
    if state
        .run_io(move || carries_metadata(content_type, photo.open()?))
        .await?
    {
        return Err(invalid(
            "the photo carries Exif or XMP metadata, which can hold where it was taken: \
             remove it on the device (re-encode the photo, or drop its metadata) and send \
             the cleaned bytes under their own SHA-256",
        ));
    }
    let key = hash.as_str().to_owned();
    if let Some(meta) = state.run_db(move |conn| touch_stored(conn, &key)).await? {
        // Heals bytes lost after their row was written (`put_file` skips what is there).
        let store = state.blob_store.clone();
        state
            .run_io(move || store.put_file(&hash, bytes.path(), bytes.len))
            .await?;
        return Ok(PutOutcome::AlreadyStored(meta));
    }
    enforce_quota(state, user, &hash, bytes.len).await?;
    let meta = BlobMeta {
        sha256: hash.as_str().to_owned(),
        size: i64::try_from(bytes.len).map_err(ApiError::internal)?,
        content_type: content_type.to_owned(),
        uploaded_by: Some(user.id.clone()),
    };
    let store = state.blob_store.clone();
    state
        .run_io(move || store.put_file(&hash, bytes.path(), bytes.len))
        .await?;
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

/// `GET`: the bytes exactly as stored (they hash to their address), opened for reading,
/// with their type and size. Staff may read any photo; a resident only what they
/// uploaded. Anything else is "not found", not "forbidden", so a hash cannot be probed.
pub async fn open_blob(
    state: &AppState,
    user: &AuthUser,
    hash: BlobHash,
) -> ApiResult<(BlobMeta, Box<dyn io::Read + Send>)> {
    let key = hash.as_str().to_owned();
    let meta = state
        .run_db(move |conn| meta_of(conn, &key))
        .await?
        .filter(|m| may_read(user, m))
        .ok_or_else(|| ApiError::NotFound("blob".into()))?;
    let store = state.blob_store.clone();
    let reader = state
        .run_io(move || {
            store
                .open(&hash)?
                .ok_or_else(|| io::Error::other("blob row without stored bytes"))
        })
        .await?;
    Ok((meta, reader))
}

/// Deletes, at most `batch` at a time, photos that no record references and that nobody
/// uploaded again or referenced since `cutoff`. Each deletion is one transaction that
/// re-checks both conditions on the row and deletes the bytes before it commits, so an
/// upload or a reference racing it either comes first (and the photo stays) or waits
/// and finds the photo gone (and stores or awaits it anew). Returns how many went.
pub fn purge_unreferenced(
    conn: &mut DbConn,
    store: &dyn BlobStore,
    cutoff: i64,
    batch: i64,
) -> ApiResult<usize> {
    use diesel::dsl::{exists, not};
    let candidates: Vec<String> = blobs::table
        .filter(blobs::touched_at.lt(cutoff))
        .filter(not(exists(
            photos::table.filter(photos::sha256.eq(blobs::sha256)),
        )))
        .order(blobs::touched_at)
        .select(blobs::sha256)
        .limit(batch)
        .load(conn)?;
    let mut purged = 0;
    for key in candidates {
        let hash = BlobHash::parse(&key)?;
        purged += write_tx(conn, |conn| -> ApiResult<usize> {
            let n = diesel::delete(
                blobs::table
                    .filter(blobs::sha256.eq(&key))
                    .filter(blobs::touched_at.lt(cutoff))
                    .filter(not(exists(
                        photos::table.filter(photos::sha256.eq(blobs::sha256)),
                    ))),
            )
            .execute(conn)?;
            if n == 1 {
                store.delete(&hash).map_err(ApiError::storage)?;
            }
            Ok(n)
        })?;
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(unreferenced_bytes: u64, stored_last_day: u64) -> Usage {
        Usage {
            unreferenced_bytes,
            stored_last_day,
        }
    }

    #[test]
    fn the_quota_counts_unreferenced_and_staged_bytes_and_photos_a_day() {
        let quota = PhotoQuota {
            unreferenced_bytes: 100,
            uploads_per_day: 3,
            ..PhotoQuota::default()
        };
        assert!(check_quota(&quota, usage(60, 0), 0, 40, false).is_ok());
        let over = check_quota(&quota, usage(60, 0), 0, 41, false);
        assert!(matches!(
            over,
            Err(DomainError::Limited {
                retry_after_secs: 60,
                ..
            })
        ));
        assert!(
            check_quota(&quota, usage(60, 0), 1, 40, false).is_err(),
            "staged count"
        );
        assert!(
            check_quota(&quota, usage(60, 0), 50, 41, true).is_ok(),
            "awaited photo"
        );
        let day = check_quota(&quota, usage(0, 3), 0, 1, true);
        assert!(matches!(
            day,
            Err(DomainError::Limited {
                retry_after_secs: 3600,
                ..
            })
        ));
        assert!(check_quota(&quota, usage(0, 2), 0, 1, true).is_ok());
    }
}
