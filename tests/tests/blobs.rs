//! Photos by content hash over HTTP: stored once however often and however concurrently
//! they are uploaded, verified against their hash, sniffed, limited in size, resumable,
//! announced to sync pulls when they arrive, and served without Exif location.
//!
//! Every scenario runs with photos in a local directory on SQLite and PostgreSQL, and in
//! S3-compatible object storage when `TEST_S3_URL` (`s3://bucket`, with the `AWS_*`
//! settings of the service) names a bucket, as CI does with a local moto server.

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use patrol_api::db::schema::blobs;
use patrol_api::db::{self, DatabaseUrl};
use patrol_tests::device::Device;
use patrol_tests::{Backend, TempDir, TestApp};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The photo size limit of these tests, small so the oversize case is cheap.
const MAX: usize = 64 * 1024;

/// Bytes of unreferenced photos one account may hold in these tests: three of `MAX`.
const QUOTA: u64 = 3 * MAX as u64 + 100;
/// New photos one account may store a day in these tests.
const PER_DAY: u32 = 8;

/// Runs a scenario on each backend with a fresh blob directory, and on SQLite with a fresh
/// prefix of an S3 bucket.
macro_rules! blob_scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let (app, stored) = super::spawn(patrol_tests::Backend::Sqlite, false).await.expect("sqlite");
                    super::$name(app, stored).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match super::spawn(patrol_tests::Backend::Postgres, false).await {
                        Some((app, stored)) => super::$name(app, stored).await,
                        None => eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run"),
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn s3() {
                    match super::spawn(patrol_tests::Backend::Sqlite, true).await {
                        Some((app, stored)) => super::$name(app, stored).await,
                        None => eprintln!("TEST_S3_URL not set: object storage variant not run"),
                    }
                }
            }
        )*
    };
}

/// Where a scenario's server keeps complete photos, for the scenario to look.
enum Stored {
    Dir(TempDir),
    Bucket {
        store: object_store::aws::AmazonS3,
        prefix: object_store::path::Path,
        /// Staging for chunked uploads.
        _dir: TempDir,
    },
}

impl Stored {
    /// The stored photos' names (their hashes), staging excluded.
    async fn names(&self) -> Vec<String> {
        match self {
            Stored::Dir(dir) => stored_files(&dir.0)
                .iter()
                .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect(),
            Stored::Bucket { store, prefix, .. } => {
                use futures_util::TryStreamExt;
                use object_store::ObjectStore;
                let found: Vec<object_store::ObjectMeta> =
                    store.list(Some(prefix)).try_collect().await.unwrap();
                found
                    .into_iter()
                    .filter_map(|m| m.location.filename().map(str::to_owned))
                    .collect()
            }
        }
    }

    /// Is `hash` stored where the server's layout puts it (`ab/cd/<hash>`)?
    async fn has(&self, hash: &str) -> bool {
        let shard = format!("{}/{}/{hash}", &hash[0..2], &hash[2..4]);
        match self {
            Stored::Dir(dir) => dir.0.join(&shard).is_file(),
            Stored::Bucket { store, prefix, .. } => {
                use object_store::ObjectStoreExt;
                let key = prefix
                    .clone()
                    .join(&hash[0..2])
                    .join(&hash[2..4])
                    .join(hash);
                store.head(&key).await.is_ok()
            }
        }
    }
}

async fn spawn(backend: Backend, s3: bool) -> Option<(TestApp, Stored)> {
    let dir = TempDir::new("patrol-blobs");
    let blob_dir = dir.0.clone();
    let (url, stored) = if s3 {
        let bucket = std::env::var("TEST_S3_URL").ok()?;
        let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_url(&bucket)
            .build()
            .expect("TEST_S3_URL and AWS_* name a bucket");
        let url = format!("{}/{prefix}", bucket.trim_end_matches('/'));
        let stored = Stored::Bucket {
            store,
            prefix: object_store::path::Path::from(prefix),
            _dir: dir,
        };
        (Some(url), stored)
    } else {
        (None, Stored::Dir(dir))
    };
    let app = TestApp::spawn_with(backend, move |cfg| {
        cfg.blob_dir = blob_dir;
        cfg.blob_store_url = url;
        cfg.blob_max_bytes = MAX;
        cfg.photo_quota.unreferenced_bytes = QUOTA;
        cfg.photo_quota.uploads_per_day = PER_DAY;
    })
    .await?;
    app.seed_fixture().await;
    Some((app, stored))
}

pub(crate) fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn path(hash: &str) -> String {
    format!("/api/v1/blobs/{hash}")
}

/// A JPEG as a phone writes it: SOI, JFIF, an Exif segment with a GPS position, a comment
/// that makes each photo distinct (`filler` bytes long), a quantisation table, EOI.
fn jpeg_with_gps(salt: &str, filler: usize) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    let exif = b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude=36.6051N;GPSLongitude=101.8023E";
    b.extend_from_slice(&[0xFF, 0xE1]);
    b.extend_from_slice(&u16::try_from(exif.len() + 2).unwrap().to_be_bytes());
    b.extend_from_slice(exif);
    let mut comment = salt.as_bytes().to_vec();
    comment.resize(filler.max(salt.len()), b'.');
    b.extend_from_slice(&[0xFF, 0xFE]);
    b.extend_from_slice(&u16::try_from(comment.len() + 2).unwrap().to_be_bytes());
    b.extend_from_slice(&comment);
    b.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x04, 0x00, 0x01, 0xFF, 0xD9]);
    b
}

/// The same photo as a device sends it: its metadata removed before hashing.
pub(crate) fn jpeg(salt: &str, filler: usize) -> Vec<u8> {
    let mut b = jpeg_with_gps(salt, filler);
    let at = b.windows(2).position(|w| w == [0xFF, 0xE1]).unwrap();
    let len = usize::from(u16::from_be_bytes([b[at + 2], b[at + 3]]));
    b.drain(at..at + 2 + len);
    b
}

/// A PNG signature and header chunk, padded to `len` bytes.
fn png(salt: &str, len: usize) -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde".to_vec();
    b.extend_from_slice(salt.as_bytes());
    b.resize(len.max(b.len()), 0);
    b
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every file under the blob directory except partial uploads.
fn stored_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "uploads") {
                    walk(&p, out);
                }
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

/// Rows in `blobs` for `hash`, read straight from the database.
async fn rows(app: &TestApp, hash: &str) -> i64 {
    let url = app.db.url().to_owned();
    let hash = hash.to_owned();
    tokio::task::spawn_blocking(move || {
        let pool = db::connect(&DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
        let mut conn = pool.get().unwrap();
        blobs::table
            .filter(blobs::sha256.eq(hash))
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap()
    })
    .await
    .unwrap()
}

pub(crate) async fn put(app: &TestApp, token: &str, hash: &str, bytes: &[u8]) -> patrol_tests::Res {
    app.put(&path(hash))
        .token(token)
        .raw("application/octet-stream", bytes.to_vec())
        .send()
        .await
}

async fn head(app: &TestApp, token: &str, hash: &str) -> patrol_tests::Res {
    app.req(Method::HEAD, &path(hash)).token(token).send().await
}

async fn the_same_photo_uploaded_twice_and_concurrently_is_stored_once(
    app: TestApp,
    stored: Stored,
) {
    let officer = app.login_as("officer").await;
    let photo = png("twice", 2000);
    let hash = sha(&photo);
    assert_eq!(head(&app, &officer, &hash).await.status, 404);

    let first = put(&app, &officer, &hash, &photo).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(
        first.body,
        json!({"sha256": hash, "size": 2000, "content_type": "image/png"})
    );
    let again = put(&app, &officer, &hash, &photo).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body, first.body, "the same answer");
    let found = head(&app, &officer, &hash).await;
    assert_eq!(found.status, 200);
    assert_eq!(found.header("content-length"), Some("2000"));

    // Another photo, uploaded by five phones at once.
    let photo = png("concurrent", 3000);
    let hash = sha(&photo);
    let mut handles = Vec::new();
    for _ in 0..5 {
        let (client, url, token, body) = (
            app.client.clone(),
            format!("{}{}", app.base, path(&hash)),
            officer.clone(),
            photo.clone(),
        );
        handles.push(tokio::spawn(async move {
            let r = client
                .put(url)
                .bearer_auth(token)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut created = 0;
    for h in handles {
        let (status, body) = h.await.unwrap();
        assert!(matches!(status, 200 | 201), "{status}: {body}");
        assert_eq!(body["sha256"], hash.as_str());
        created += usize::from(status == 201);
    }
    assert_eq!(created, 1, "exactly one upload stored it");
    assert_eq!(rows(&app, &hash).await, 1);
    let names = stored.names().await;
    assert_eq!(
        names.len(),
        2,
        "one object per photo, nothing temporary: {names:?}"
    );
    assert!(names.contains(&hash));
    assert!(stored.has(&hash).await);
}

async fn a_photo_with_one_flipped_byte_is_refused_and_nothing_is_stored(
    app: TestApp,
    stored: Stored,
) {
    let officer = app.login_as("officer").await;
    let photo = jpeg("flipped", 500);
    let hash = sha(&photo);
    let mut damaged = photo.clone();
    damaged[300] ^= 0x01;
    let res = put(&app, &officer, &hash, &damaged).await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert_eq!(head(&app, &officer, &hash).await.status, 404);
    assert_eq!(rows(&app, &hash).await, 0);
    assert!(stored.names().await.is_empty());
    // The intact photo is then accepted.
    assert_eq!(put(&app, &officer, &hash, &photo).await.status, 201);
}

fn report(case_id: &str) -> Value {
    json!({"case_id": case_id, "category_code": "garbage_pile", "description": "垃圾堆放在楼道口", "lat": 36.605, "lon": 101.802})
}

/// The statuses a phone's replica holds for the photo rows of `hash`.
pub(crate) fn photo_statuses(phone: &Device, hash: &str) -> Vec<Value> {
    phone
        .all("photo")
        .into_iter()
        .filter(|p| p["sha256"] == hash)
        .map(|p| p["status"].clone())
        .collect()
}

async fn a_photo_recorded_before_its_bytes_becomes_available_on_pull(
    app: TestApp,
    _stored: Stored,
) {
    let officer = app.login_as("officer").await;
    let photo = jpeg("field", 800);
    let hash = sha(&photo);
    let mut phone = Device::new(&officer);
    let case_id = uuid::Uuid::now_v7().to_string();
    phone.queue("case.report", report(&case_id));
    phone.queue(
        "case.comment",
        json!({"case_id": case_id, "text": "现场照片", "photos": [hash]}),
    );
    let pushed = phone.push(&app).await;
    assert_eq!(pushed.status, 200, "{}", pushed.text);
    phone.pull_all(&app).await;
    let status_of = |phone: &Device| photo_statuses(phone, &hash);
    assert_eq!(status_of(&phone), vec![json!("awaiting_upload")]);

    let res = put(&app, &officer, &hash, &photo).await;
    assert_eq!(res.status, 201, "{}", res.text);
    phone.pull_all(&app).await;
    assert_eq!(status_of(&phone), vec![json!("available")]);

    // A second phone starting from scratch sees it available too.
    let mut other = Device::new(&officer);
    other.pull_all(&app).await;
    assert_eq!(status_of(&other), vec![json!("available")]);
}

async fn get_raw(app: &TestApp, token: &str, hash: &str) -> (u16, String, Vec<u8>) {
    let r = app
        .client
        .get(format!("{}{}", app.base, path(hash)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

async fn a_photo_that_could_tell_where_it_was_taken_is_refused_and_every_download_verifies(
    app: TestApp,
    _stored: Stored,
) {
    let resident = app.login_as("resident").await;
    let officer = app.login_as("officer").await;
    // As the camera wrote it: refused, and nothing of it is kept.
    let original = jpeg_with_gps("resident", 600);
    assert!(contains(&original, b"GPSLatitude"));
    let original_hash = sha(&original);
    let res = put(&app, &resident, &original_hash, &original).await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert!(
        res.body["detail"].as_str().unwrap().contains("metadata"),
        "{}",
        res.text
    );
    let res = app
        .req(Method::HEAD, &path(&original_hash))
        .token(&resident)
        .send()
        .await;
    assert_eq!(res.status, 404, "nothing stored");
    // A PNG with an eXIf chunk too.
    let mut tagged = png("tagged", 100);
    tagged.extend_from_slice(b"\0\0\0\x04eXIfMM\0*");
    let res = put(&app, &resident, &sha(&tagged), &tagged).await;
    assert_eq!(res.status, 422, "{}", res.text);

    // Cleaned on the device: stored, and served as the very bytes its address names.
    let photo = jpeg("resident", 600);
    let hash = sha(&photo);
    let res = put(&app, &resident, &hash, &photo).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["content_type"], "image/jpeg");
    let res = app.get(&path(&hash)).token(&resident).send().await;
    assert_eq!(res.status, 200);
    for token in [&resident, &officer] {
        let (status, ct, bytes) = get_raw(&app, token, &hash).await;
        assert_eq!((status, ct.as_str()), (200, "image/jpeg"));
        assert_eq!(
            sha(&bytes),
            hash,
            "the download verifies against its address"
        );
        assert_eq!(bytes, photo);
    }

    // A resident sees only their own uploads; staff see every photo.
    let other = png("officer's", 100);
    let other_hash = sha(&other);
    assert_eq!(put(&app, &officer, &other_hash, &other).await.status, 201);
    let res = app.get(&path(&other_hash)).token(&resident).send().await;
    assert_eq!(res.status, 404);
    let (status, ct, bytes) = get_raw(&app, &officer, &other_hash).await;
    assert_eq!((status, ct.as_str()), (200, "image/png"));
    assert_eq!(bytes, other, "non-JPEG photos are served as stored");
    let missing = "0".repeat(64);
    assert_eq!(
        app.get(&path(&missing)).token(&officer).send().await.status,
        404
    );
}

async fn non_photos_and_oversize_photos_are_refused(app: TestApp, stored: Stored) {
    let officer = app.login_as("officer").await;
    for not_a_photo in [
        b"just some text, not a photo".to_vec(),
        b"GIF89a\x01\0\x01\0\0\0\0;".to_vec(),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(),
    ] {
        let hash = sha(&not_a_photo);
        let res = app
            .put(&path(&hash))
            .token(&officer)
            .raw("image/jpeg", not_a_photo)
            .send()
            .await;
        assert_eq!(res.status, 415, "{}", res.text);
        assert_eq!(head(&app, &officer, &hash).await.status, 404);
    }

    let big = png("big", MAX + 1);
    let hash = sha(&big);
    let res = put(&app, &officer, &hash, &big).await;
    assert_eq!(res.status, 413, "{}", res.text);
    let res = app
        .put(&path(&hash))
        .token(&officer)
        .header("content-range", &format!("bytes 0-99/{}", MAX + 1))
        .raw("application/octet-stream", big[..100].to_vec())
        .send()
        .await;
    assert_eq!(res.status, 413, "{}", res.text);
    assert_eq!(head(&app, &officer, &hash).await.status, 404);
    assert!(stored.names().await.is_empty());

    let res = put(&app, &officer, "not-a-hash", b"x").await;
    assert_eq!(res.status, 400, "{}", res.text);
}

async fn put_chunk(
    app: &TestApp,
    token: &str,
    hash: &str,
    bytes: &[u8],
    range: std::ops::Range<usize>,
) -> patrol_tests::Res {
    app.put(&path(hash))
        .token(token)
        .header(
            "content-range",
            &format!("bytes {}-{}/{}", range.start, range.end - 1, bytes.len()),
        )
        .raw("application/octet-stream", bytes[range].to_vec())
        .send()
        .await
}

async fn a_resumable_upload_in_three_chunks_completes_and_verifies(app: TestApp, stored: Stored) {
    let officer = app.login_as("officer").await;
    let photo = jpeg("large", 30_000);
    let total = photo.len();
    let hash = sha(&photo);
    let (a, b) = (total / 3, 2 * total / 3);

    let res = put_chunk(&app, &officer, &hash, &photo, 0..a).await;
    assert_eq!(res.status, 202, "{}", res.text);
    assert_eq!(res.header("upload-offset"), Some(a.to_string().as_str()));
    assert_eq!(
        res.body,
        json!({"sha256": hash, "offset": a, "total": total})
    );

    // The connection drops; the phone asks where to resume.
    let probe = head(&app, &officer, &hash).await;
    assert_eq!(probe.status, 404);
    assert_eq!(probe.header("upload-offset"), Some(a.to_string().as_str()));
    // Another user's upload of the same photo is separate.
    let leader = app.login_as("supervisor").await;
    assert_eq!(
        head(&app, &leader, &hash).await.header("upload-offset"),
        None
    );

    // Skipping ahead is refused; a retried chunk is harmless.
    let res = put_chunk(&app, &officer, &hash, &photo, b..total).await;
    assert_eq!(res.status, 409, "{}", res.text);
    let res = put_chunk(&app, &officer, &hash, &photo, a..b).await;
    assert_eq!(res.status, 202, "{}", res.text);
    assert_eq!(res.body["offset"], b);
    let res = put_chunk(&app, &officer, &hash, &photo, a..b).await;
    assert_eq!(res.status, 202, "{}", res.text);
    assert_eq!(res.body["offset"], b);

    let res = put_chunk(&app, &officer, &hash, &photo, b..total).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"sha256": hash, "size": total, "content_type": "image/jpeg"})
    );
    let found = head(&app, &officer, &hash).await;
    assert_eq!(found.status, 200);
    assert_eq!(
        found.header("content-length"),
        Some(total.to_string().as_str())
    );
    assert_eq!(found.header("upload-offset"), None);
    let (status, _, bytes) = get_raw(&app, &officer, &hash).await;
    assert_eq!(status, 200);
    assert!(contains(&bytes, b"large"));
    assert!(!contains(&bytes, b"GPSLatitude"));
    assert_eq!(rows(&app, &hash).await, 1);

    // A chunked upload whose bytes do not match its hash is refused at the end, and
    // neither stored nor left half-done.
    let other = jpeg("other", 20_000);
    let mut damaged = other.clone();
    damaged[15_000] ^= 0x80;
    let hash = sha(&other);
    let res = put_chunk(&app, &officer, &hash, &damaged, 0..10_000).await;
    assert_eq!(res.status, 202, "{}", res.text);
    let res = put_chunk(&app, &officer, &hash, &damaged, 10_000..damaged.len()).await;
    assert_eq!(res.status, 422, "{}", res.text);
    let probe = head(&app, &officer, &hash).await;
    assert_eq!(probe.status, 404);
    assert_eq!(probe.header("upload-offset"), None);
    assert_eq!(rows(&app, &hash).await, 0);
    assert_eq!(stored.names().await.len(), 1, "only the verified photo");
}

/// `HEAD` answers a resident exactly as `GET` does: another person's photo is "not
/// found", with neither its size nor its type.
async fn head_tells_a_resident_no_more_than_get_does(app: TestApp, _stored: Stored) {
    let resident = app.login_as("resident").await;
    let officer = app.login_as("officer").await;
    let theirs = png("an officer's evidence", 900);
    let theirs_hash = sha(&theirs);
    assert_eq!(put(&app, &officer, &theirs_hash, &theirs).await.status, 201);
    let head_res = head(&app, &resident, &theirs_hash).await;
    let get_res = app.get(&path(&theirs_hash)).token(&resident).send().await;
    assert_eq!((head_res.status, get_res.status), (404, 404));
    assert_ne!(head_res.header("content-length"), Some("900"));
    assert_ne!(head_res.header("content-type"), Some("image/png"));
    assert_eq!(head(&app, &officer, &theirs_hash).await.status, 200);

    let own = png("the resident's own", 700);
    let own_hash = sha(&own);
    assert_eq!(put(&app, &resident, &own_hash, &own).await.status, 201);
    let res = head(&app, &resident, &own_hash).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-length"), Some("700"));
}

impl Stored {
    /// A store over the same bytes the server keeps, for running the clean-up job.
    fn store(&self) -> Box<dyn patrol_api::infra::blobs::BlobStore> {
        match self {
            Stored::Dir(dir) => Box::new(patrol_api::infra::blobs::LocalDirStore::new(&dir.0)),
            Stored::Bucket { store, prefix, .. } => Box::new(
                patrol_api::infra::blobs::ObjectBlobStore::new(
                    std::sync::Arc::new(store.clone()),
                    prefix.as_ref(),
                )
                .unwrap(),
            ),
        }
    }
}

/// Runs the photo clean-up job as a server would at `at` (ms), with the default grace.
async fn purge_photos_at(app: &TestApp, stored: &Stored, at: i64) -> Option<usize> {
    let url = app.db.url().to_owned();
    let store = stored.store();
    tokio::task::spawn_blocking(move || {
        let pool = db::connect(&DatabaseUrl::parse(&url).unwrap(), 1).unwrap();
        let mut conn = pool.get().unwrap();
        let grace = patrol_api::infra::config::PhotoQuota::default().unreferenced_grace;
        patrol_api::jobs::run_photo_purge(&mut conn, "test", at, grace, store.as_ref()).unwrap()
    })
    .await
    .unwrap()
}

/// An account may hold only so many bytes of photos that no record references, and store
/// only so many new photos a day (issue 16, item 7); photos a record awaits are always
/// taken. Refusals are 429 with `Retry-After`, so a device keeps the photo. The clean-up
/// job deletes unreferenced photos once their grace period is over, bytes and row, and
/// keeps every photo a record references.
async fn photo_quotas_hold_and_abandoned_photos_are_cleaned_up(app: TestApp, stored: Stored) {
    let resident = app.login_as("resident").await;
    let photos: Vec<Vec<u8>> = (0..5).map(|i| png(&format!("loose {i}"), MAX)).collect();
    for p in &photos[..3] {
        assert_eq!(put(&app, &resident, &sha(p), p).await.status, 201);
    }
    let res = put(&app, &resident, &sha(&photos[3]), &photos[3]).await;
    assert_eq!(res.status, 429, "{}", res.text);
    assert_eq!(res.header("retry-after"), Some("60"));
    assert!(res.text.contains("no record references"), "{}", res.text);
    // Nor can the quota be dodged by a chunked upload: it is refused before staging.
    let res = put_chunk(&app, &resident, &sha(&photos[4]), &photos[4], 0..100).await;
    assert_eq!(res.status, 429, "{}", res.text);
    assert_eq!(
        head(&app, &resident, &sha(&photos[4]))
            .await
            .header("upload-offset"),
        None
    );
    assert!(!stored.has(&sha(&photos[3])).await);
    // Uploading a stored photo again takes no quota.
    assert_eq!(
        put(&app, &resident, &sha(&photos[0]), &photos[0])
            .await
            .status,
        200
    );
    // Another account has its own quota.
    let officer = app.login_as("officer").await;
    assert_eq!(
        put(&app, &officer, &sha(&photos[3]), &photos[3])
            .await
            .status,
        201
    );

    // A photo a record awaits is taken over the byte quota: the device pushed first.
    let awaited = png("awaited", MAX);
    let mut phone = Device::new(&resident);
    let case_id = uuid::Uuid::now_v7().to_string();
    let mut body = report(&case_id);
    body["photos"] = json!([sha(&awaited)]);
    phone.queue("case.report", body);
    let pushed = phone.push(&app).await;
    assert_eq!(
        pushed.body["results"][0]["outcome"], "applied",
        "{}",
        pushed.text
    );
    assert_eq!(
        put(&app, &resident, &sha(&awaited), &awaited).await.status,
        201
    );

    // Photos a day: the officer's second to eighth new photos are taken, the ninth not.
    for i in 1..PER_DAY {
        let p = png(&format!("day {i}"), 100);
        let mut phone = Device::new(&officer);
        let case_id = uuid::Uuid::now_v7().to_string();
        let mut body = report(&case_id);
        body["photos"] = json!([sha(&p)]);
        phone.queue("case.report", body);
        phone.push(&app).await;
        assert_eq!(
            put(&app, &officer, &sha(&p), &p).await.status,
            201,
            "photo {i}"
        );
    }
    let p = png("one too many", 100);
    let res = put(&app, &officer, &sha(&p), &p).await;
    assert_eq!(res.status, 429, "{}", res.text);
    assert_eq!(res.header("retry-after"), Some("3600"));
    assert!(res.text.contains("last 24 hours"), "{}", res.text);

    // The clean-up: within the grace period nothing goes; after it, exactly the photos no
    // record references (three of the resident's, one of the officer's), bytes and rows.
    let now = patrol_api::db::ids::now_ms();
    let grace = i64::try_from(
        patrol_api::infra::config::PhotoQuota::default()
            .unreferenced_grace
            .as_millis(),
    )
    .unwrap();
    let hour = 3_600_000;
    assert_eq!(
        purge_photos_at(&app, &stored, now + grace - 2 * hour).await,
        Some(0)
    );
    assert_eq!(
        purge_photos_at(&app, &stored, now + grace + 2 * hour).await,
        Some(4)
    );
    assert_eq!(
        purge_photos_at(&app, &stored, now + grace + 2 * hour).await,
        None,
        "one server runs each period"
    );
    for p in &photos[..4] {
        assert!(!stored.has(&sha(p)).await);
        assert_eq!(rows(&app, &sha(p)).await, 0);
    }
    assert!(stored.has(&sha(&awaited)).await, "a referenced photo stays");
    assert_eq!(get_raw(&app, &resident, &sha(&awaited)).await.0, 200);
    // The resident's quota is free again.
    assert_eq!(
        put(&app, &resident, &sha(&photos[4]), &photos[4])
            .await
            .status,
        201
    );
}

blob_scenarios!(
    photo_quotas_hold_and_abandoned_photos_are_cleaned_up,
    head_tells_a_resident_no_more_than_get_does,
    the_same_photo_uploaded_twice_and_concurrently_is_stored_once,
    a_photo_with_one_flipped_byte_is_refused_and_nothing_is_stored,
    a_photo_recorded_before_its_bytes_becomes_available_on_pull,
    a_photo_that_could_tell_where_it_was_taken_is_refused_and_every_download_verifies,
    non_photos_and_oversize_photos_are_refused,
    a_resumable_upload_in_three_chunks_completes_and_verifies,
);
