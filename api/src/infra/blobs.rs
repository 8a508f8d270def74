//! Where photo bytes are kept, by content hash: the [`BlobStore`]s, the staging area for
//! chunked uploads, and the checks on bytes (hash, type sniffing, metadata stripping).
//! Receiving an upload and announcing it to sync is the command in `commands::photos`.
//!
//! Bytes are always written durably (temporary file, fsync, rename) before they are
//! reported stored. Large photos may be uploaded in chunks (`Content-Range: bytes
//! start-end/total`); chunks are staged per (hash, uploader) on the server's local disk
//! until the last one arrives.
//!
//! Complete blobs live in a local directory ([`LocalDirStore`], the default) or, for
//! deployments that outgrow one machine, in S3-compatible object storage
//! ([`ObjectBlobStore`], through the `object_store` crate), chosen by `PATROL_BLOB_STORE`.

use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};

use crate::infra::error::ApiError;

/// Default largest photo accepted: 15 MiB.
pub const DEFAULT_MAX_BYTES: usize = 15 * 1024 * 1024;

/// The photo formats accepted, as sniffed from the bytes (HEIC is reported as HEIF).
pub const ACCEPTED_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/webp", "image/heif"];

/// A SHA-256 digest as 64 lowercase hex digits: the address of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobHash(String);

impl BlobHash {
    /// Parses a hash from a path; upper-case hex is accepted and normalised.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(ApiError::bad_field(
                "sha256",
                "sha256 must be 64 hexadecimal digits",
            ))
        }
    }

    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(hex::encode(Sha256::digest(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many leading bytes decide a photo's type. Whole or chunked, the same bytes are
/// judged by the same prefix, so every chunking of one upload ends the same way.
pub const SNIFF_BYTES: usize = 4096;

/// The accepted photo type of `bytes`, judged by the magic numbers in their first
/// [`SNIFF_BYTES`] only.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let head = bytes.get(..SNIFF_BYTES).unwrap_or(bytes);
    let mime = infer::get(head)?.mime_type();
    ACCEPTED_TYPES.into_iter().find(|t| *t == mime)
}

/// Whether a photo of `content_type` carries Exif or XMP metadata, either of which can
/// hold the position where it was taken. `photo` is read once, front to back, a block at
/// a time, so a photo is judged on disk without being held in memory. A JPEG's segments
/// are walked up to its image data (Exif and XMP live in APP1 segments, which come
/// before it); one that cannot be walked counts as carrying metadata. The other formats
/// are searched for their metadata tags (PNG `eXIf` and XMP `iTXt`, WebP `EXIF`/`XMP `
/// chunks, HEIF `Exif` items and XMP's MIME type): a rare false alarm asks for a
/// re-encoded photo, never lets a position through.
pub fn carries_metadata(content_type: &str, photo: impl Read) -> io::Result<bool> {
    let mut photo = io::BufReader::with_capacity(BLOCK, photo);
    match content_type {
        "image/jpeg" => jpeg_has_app1(&mut photo),
        "image/png" => contains_any(&mut photo, &[b"eXIf", b"XML:com.adobe.xmp"]),
        "image/webp" => contains_any(&mut photo, &[b"EXIF", b"XMP "]),
        _ => contains_any(&mut photo, &[b"Exif", b"application/rdf+xml"]),
    }
}

/// How much of a photo is read or written at a time.
const BLOCK: usize = 64 * 1024;

/// Reads exactly `buf.len()` bytes; `false` at the end of the input.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    match r.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Walks JPEG marker segments (ITU T.81, B.1.1) from SOI to the first scan (SOS) or EOI,
/// answering whether an APP1 segment is among them.
fn jpeg_has_app1(r: &mut impl BufRead) -> io::Result<bool> {
    const UNREADABLE: io::Result<bool> = Ok(true);
    let mut two = [0u8; 2];
    if !fill(r, &mut two)? || two != [0xFF, 0xD8] {
        return UNREADABLE;
    }
    loop {
        let mut byte = [0u8; 1];
        if !fill(r, &mut byte)? || byte[0] != 0xFF {
            return UNREADABLE;
        }
        // Any number of 0xFF fill bytes may precede a marker's code.
        while byte[0] == 0xFF {
            if !fill(r, &mut byte)? {
                return UNREADABLE;
            }
        }
        match byte[0] {
            0xE1 => return Ok(true),
            0xDA | 0xD9 => return Ok(false),
            0xD0..=0xD7 | 0x01 => continue,
            0x00 => return UNREADABLE,
            _ => {
                if !fill(r, &mut two)? {
                    return UNREADABLE;
                }
                let Some(body) = u16::from_be_bytes(two).checked_sub(2) else {
                    return UNREADABLE;
                };
                let skipped = io::copy(&mut r.by_ref().take(u64::from(body)), &mut io::sink())?;
                if skipped != u64::from(body) {
                    return UNREADABLE;
                }
            }
        }
    }
}

/// Whether any of `needles` occurs in `r`, reading a block at a time (a needle split
/// between two blocks is found too).
fn contains_any(r: &mut impl Read, needles: &[&[u8]]) -> io::Result<bool> {
    let keep = needles.iter().map(|n| n.len()).max().unwrap_or(1) - 1;
    let mut window = Vec::with_capacity(BLOCK + keep);
    let mut block = vec![0u8; BLOCK];
    loop {
        let n = r.read(&mut block)?;
        if n == 0 {
            return Ok(false);
        }
        window.extend_from_slice(&block[..n]);
        if needles
            .iter()
            .any(|needle| window.windows(needle.len()).any(|w| w == *needle))
        {
            return Ok(true);
        }
        let cut = window.len().saturating_sub(keep);
        window.drain(..cut);
    }
}

/// The SHA-256, length and first [`SNIFF_BYTES`] of a file, read a block at a time.
pub fn digest_file(path: &Path) -> io::Result<(BlobHash, u64, Vec<u8>)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut block = vec![0u8; BLOCK];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut block)?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
        let room = SNIFF_BYTES.saturating_sub(head.len()).min(n);
        head.extend_from_slice(&block[..room]);
        len += n as u64;
    }
    Ok((BlobHash(hex::encode(hasher.finalize())), len, head))
}

/// A request body written to a private file under the staging directory as it arrives,
/// and hashed on the way: no upload is ever held whole in memory.
pub struct Spool {
    file: std::fs::File,
    received: Received,
    hasher: Sha256,
}

impl Spool {
    /// Appends the next bytes of the body.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.hasher.update(bytes);
        let room = SNIFF_BYTES
            .saturating_sub(self.received.head.len())
            .min(bytes.len());
        self.received.head.extend_from_slice(&bytes[..room]);
        self.received.len += bytes.len() as u64;
        Ok(())
    }

    /// The whole body, received.
    pub fn finish(mut self) -> io::Result<Received> {
        self.file.flush()?;
        self.received.hash = BlobHash(hex::encode(self.hasher.finalize()));
        Ok(self.received)
    }
}

/// Bytes received into a file: a spooled request body (removed when dropped), or a
/// chunked upload's staged file once complete (kept until the upload is discarded, so a
/// transient failure lets the client retry its last chunk).
#[derive(Debug)]
pub struct Received {
    path: PathBuf,
    /// The bytes' SHA-256 and length.
    pub hash: BlobHash,
    pub len: u64,
    /// The first [`SNIFF_BYTES`], which decide the type.
    pub head: Vec<u8>,
    owned: bool,
}

impl Received {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the bytes for reading from the start.
    pub fn open(&self) -> io::Result<std::fs::File> {
        std::fs::File::open(&self.path)
    }
}

impl Drop for Received {
    fn drop(&mut self) {
        if self.owned {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Where blob bytes live. Methods block: call them on the blocking pool.
pub trait BlobStore: Send + Sync {
    /// The stored size of a blob, or `None` when it is not stored.
    fn len(&self, hash: &BlobHash) -> io::Result<Option<u64>>;

    /// Whether a blob is stored.
    fn exists(&self, hash: &BlobHash) -> io::Result<bool> {
        Ok(self.len(hash)?.is_some())
    }

    /// A blob's bytes, or `None` when it is not stored.
    fn get(&self, hash: &BlobHash) -> io::Result<Option<Vec<u8>>>;

    /// Opens a blob for reading, or `None` when it is not stored.
    fn open(&self, hash: &BlobHash) -> io::Result<Option<Box<dyn Read + Send>>> {
        Ok(self
            .get(hash)?
            .map(|bytes| Box::new(io::Cursor::new(bytes)) as Box<dyn Read + Send>))
    }

    /// Stores the `len` bytes of the file `src` durably as `hash`, leaving `src` as it
    /// was. Idempotent: storing the same hash again is harmless, also concurrently. The
    /// caller has verified that the bytes hash to `hash`.
    fn put_file(&self, hash: &BlobHash, src: &Path, len: u64) -> io::Result<()>;

    /// Deletes a blob; deleting one that is not stored is not an error.
    fn delete(&self, hash: &BlobHash) -> io::Result<()>;
}

/// A [`BlobStore`] in a local directory, sharded as `ab/cd/<hash>` so no directory
/// grows too large.
#[derive(Debug, Clone)]
pub struct LocalDirStore {
    root: PathBuf,
}

impl LocalDirStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The file a blob is stored in.
    pub fn path_of(&self, hash: &BlobHash) -> PathBuf {
        let h = hash.as_str();
        self.root.join(&h[0..2]).join(&h[2..4]).join(h)
    }
}

impl BlobStore for LocalDirStore {
    fn len(&self, hash: &BlobHash) -> io::Result<Option<u64>> {
        match std::fs::metadata(self.path_of(hash)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn get(&self, hash: &BlobHash) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path_of(hash)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn open(&self, hash: &BlobHash) -> io::Result<Option<Box<dyn Read + Send>>> {
        match std::fs::File::open(self.path_of(hash)) {
            Ok(f) => Ok(Some(Box::new(f))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn put_file(&self, hash: &BlobHash, src: &Path, len: u64) -> io::Result<()> {
        let path = self.path_of(hash);
        // Files only ever appear by rename, so one of the right size is complete.
        if self.len(hash)? == Some(len) {
            return Ok(());
        }
        let dir = path
            .parent()
            .ok_or_else(|| io::Error::other("blob path has no directory"))?;
        std::fs::create_dir_all(dir)?;
        // A private temporary name per writer: concurrent uploads of the same hash each
        // write their own file, and the renames replace identical content atomically.
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            hash.as_str(),
            uuid::Uuid::new_v4().simple()
        ));
        let written = std::fs::copy(src, &tmp)
            .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written?;
        sync_dir(dir)
    }

    fn delete(&self, hash: &BlobHash) -> io::Result<()> {
        match std::fs::remove_file(self.path_of(hash)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A [`BlobStore`] in object storage: `s3://bucket/prefix` with the usual `AWS_*`
/// settings from the environment (`AWS_ENDPOINT` for MinIO and other S3-compatible
/// services). Keys are sharded like [`LocalDirStore`]'s paths. An object PUT is atomic,
/// so concurrent uploads of one hash leave one complete object.
#[derive(Debug)]
pub struct ObjectBlobStore {
    store: Arc<dyn object_store::ObjectStore>,
    prefix: object_store::path::Path,
    /// The store is async and [`BlobStore`] methods run on the blocking pool: they wait on
    /// a small runtime of the store's own, independent of the HTTP workers' runtimes.
    runtime: Option<tokio::runtime::Runtime>,
}

impl ObjectBlobStore {
    /// Opens the store a URL names.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(format!(
                "{url}: only s3:// URLs are supported (local storage is PATROL_BLOB_DIR)"
            ));
        };
        let prefix = rest.split_once('/').map_or("", |(_, p)| p);
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_url(url)
            .build()
            .map_err(|e| format!("{url}: {e}"))?;
        Self::new(Arc::new(store), prefix)
    }

    /// A store under `prefix` of any `object_store` backend.
    pub fn new(store: Arc<dyn object_store::ObjectStore>, prefix: &str) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("patrol-blobs")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the object storage runtime: {e}"))?;
        Ok(Self {
            store,
            prefix: object_store::path::Path::from(prefix.trim_matches('/')),
            runtime: Some(runtime),
        })
    }

    fn wait<T>(&self, f: impl Future<Output = object_store::Result<T>>) -> io::Result<Option<T>> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| io::Error::other("object storage is shut down"))?;
        not_found_as_none(runtime.block_on(f))
    }

    fn key(&self, hash: &BlobHash) -> object_store::path::Path {
        let h = hash.as_str();
        self.prefix.clone().join(&h[0..2]).join(&h[2..4]).join(h)
    }
}

fn not_found_as_none<T>(r: object_store::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(io::Error::other(e)),
    }
}

impl Drop for ObjectBlobStore {
    fn drop(&mut self) {
        // The server may drop its state inside an async context, where a runtime must
        // not block to shut down.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl BlobStore for ObjectBlobStore {
    fn len(&self, hash: &BlobHash) -> io::Result<Option<u64>> {
        let key = self.key(hash);
        Ok(self.wait(self.store.head(&key))?.map(|m| m.size))
    }

    fn get(&self, hash: &BlobHash) -> io::Result<Option<Vec<u8>>> {
        let key = self.key(hash);
        let bytes = self.wait(async {
            match self.store.get(&key).await {
                Ok(r) => r.bytes().await,
                Err(e) => Err(e),
            }
        })?;
        Ok(bytes.map(|b| b.to_vec()))
    }

    /// One PUT of the whole photo (at most the size limit), read from the file just
    /// before it is sent: object PUTs are atomic, multipart uploads are not.
    fn put_file(&self, hash: &BlobHash, src: &Path, len: u64) -> io::Result<()> {
        if self.len(hash)? == Some(len) {
            return Ok(());
        }
        let key = self.key(hash);
        let payload = object_store::PutPayload::from(std::fs::read(src)?);
        self.wait(self.store.put(&key, payload)).map(|_| ())
    }

    fn delete(&self, hash: &BlobHash) -> io::Result<()> {
        let key = self.key(hash);
        self.wait(self.store.delete(&key)).map(|_| ())
    }
}

/// Makes a rename inside `dir` survive a power cut.
fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Partial chunked uploads, one file per (hash, uploader), on this server's disk.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    /// Appends are read-check-write; one at a time keeps a retried chunk that races its
    /// original from being written twice.
    lock: Mutex<()>,
}

/// The result of appending a chunk.
#[derive(Debug, PartialEq, Eq)]
pub enum Appended {
    /// Bytes received so far (the next chunk starts here).
    Offset(u64),
    /// The chunk starts after the bytes received so far.
    Gap { offset: u64 },
    /// The chunk overlaps bytes already received and disagrees with them from `at` on;
    /// nothing was written.
    Mismatch { at: u64 },
}

impl Staging {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            lock: Mutex::new(()),
        }
    }

    fn path(&self, hash: &BlobHash, uploader: &str) -> PathBuf {
        self.dir
            .join(format!("{}-{}.part", hash.as_str(), Self::who(uploader)))
    }

    fn who(uploader: &str) -> String {
        uploader
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect()
    }

    /// The staged files, with their names.
    fn entries(&self) -> io::Result<Vec<(String, std::fs::Metadata)>> {
        let dir = match std::fs::read_dir(&self.dir) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in dir {
            let entry = entry?;
            if let (Some(name), Ok(meta)) = (entry.file_name().to_str(), entry.metadata()) {
                out.push((name.to_owned(), meta));
            }
        }
        Ok(out)
    }

    /// Bytes of this uploader's partial uploads, other than of `except`.
    pub fn staged_bytes(&self, uploader: &str, except: &BlobHash) -> io::Result<u64> {
        let suffix = format!("-{}.part", Self::who(uploader));
        Ok(self
            .entries()?
            .into_iter()
            .filter(|(name, _)| name.ends_with(&suffix) && !name.starts_with(except.as_str()))
            .map(|(_, meta)| meta.len())
            .sum())
    }

    /// Deletes partial uploads nobody has added to for `grace`; returns how many.
    pub fn sweep(&self, grace: std::time::Duration) -> io::Result<usize> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| io::Error::other("staging lock poisoned"))?;
        let mut removed = 0;
        for (name, meta) in self.entries()? {
            let idle = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .unwrap_or_default();
            // Partial uploads, and bodies a crash left half-received.
            let staged = name.ends_with(".part") || name.starts_with(".spool-");
            if staged && idle >= grace {
                match std::fs::remove_file(self.dir.join(&name)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => removed += 1,
                }
            }
        }
        Ok(removed)
    }

    /// Bytes received so far of this uploader's upload of `hash`, if one is under way.
    pub fn offset(&self, hash: &BlobHash, uploader: &str) -> io::Result<Option<u64>> {
        match std::fs::metadata(self.path(hash, uploader)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A new file to receive a request body into ([`Spool`]).
    pub fn spool(&self) -> io::Result<Spool> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self
            .dir
            .join(format!(".spool-{}", uuid::Uuid::new_v4().simple()));
        let file = std::fs::File::create_new(&path)?;
        Ok(Spool {
            file,
            hasher: Sha256::new(),
            received: Received {
                path,
                hash: BlobHash(String::new()),
                len: 0,
                head: Vec::with_capacity(SNIFF_BYTES),
                owned: true,
            },
        })
    }

    /// Appends the chunk that starts at byte `start`. A chunk overlapping bytes already
    /// received (a retry whose answer was lost) contributes only its new part, once its
    /// overlap agrees byte for byte with what was received. Both files are read a block
    /// at a time.
    pub fn append(
        &self,
        hash: &BlobHash,
        uploader: &str,
        start: u64,
        chunk: &Received,
    ) -> io::Result<Appended> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| io::Error::other("staging lock poisoned"))?;
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(hash, uploader);
        let offset = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        if start > offset {
            return Ok(Appended::Gap { offset });
        }
        let end = start + chunk.len;
        let overlap = (offset - start).min(chunk.len);
        let mut incoming = chunk.open()?;
        if overlap > 0 {
            let mut received = std::fs::File::open(&path)?;
            received.seek(SeekFrom::Start(start))?;
            let (mut a, mut b) = (vec![0u8; BLOCK], vec![0u8; BLOCK]);
            let mut compared = 0u64;
            while compared < overlap {
                let n = usize::try_from((overlap - compared).min(BLOCK as u64))
                    .map_err(io::Error::other)?;
                received.read_exact(&mut a[..n])?;
                incoming.read_exact(&mut b[..n])?;
                if let Some(i) = a[..n].iter().zip(&b[..n]).position(|(x, y)| x != y) {
                    return Ok(Appended::Mismatch {
                        at: start + compared + i as u64,
                    });
                }
                compared += n as u64;
            }
        }
        if end <= offset {
            return Ok(Appended::Offset(offset));
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        io::copy(&mut incoming, &mut file)?;
        file.sync_data()?;
        Ok(Appended::Offset(end))
    }

    /// The first `len` bytes received (fewer if fewer arrived).
    pub fn head(&self, hash: &BlobHash, uploader: &str, len: usize) -> io::Result<Vec<u8>> {
        let mut head = Vec::with_capacity(len);
        std::fs::File::open(self.path(hash, uploader))?
            .take(len as u64)
            .read_to_end(&mut head)?;
        Ok(head)
    }

    /// A complete upload's bytes, hashed, for storing; the staged file stays until the
    /// upload is discarded.
    pub fn complete(&self, hash: &BlobHash, uploader: &str) -> io::Result<Received> {
        let path = self.path(hash, uploader);
        let (actual, len, head) = digest_file(&path)?;
        Ok(Received {
            path,
            hash: actual,
            len,
            head,
            owned: false,
        })
    }

    /// Forgets an upload (finished or refused).
    pub fn discard(&self, hash: &BlobHash, uploader: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(hash, uploader)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A `Content-Range: bytes start-end/total` header of a chunked upload (`end` inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    pub start: u64,
    pub end: u64,
    pub total: u64,
}

impl ContentRange {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let bad = || {
            ApiError::bad_field(
                "Content-Range",
                "Content-Range must be `bytes start-end/total` with start <= end < total",
            )
        };
        let rest = s.trim().strip_prefix("bytes ").ok_or_else(bad)?;
        let (range, total) = rest.split_once('/').ok_or_else(bad)?;
        let (start, end) = range.split_once('-').ok_or_else(bad)?;
        let num = |v: &str| v.trim().parse::<u64>().map_err(|_| bad());
        let r = Self {
            start: num(start)?,
            end: num(end)?,
            total: num(total)?,
        };
        if r.start > r.end || r.end >= r.total {
            return Err(bad());
        }
        Ok(r)
    }

    /// The number of bytes the chunk carries.
    pub fn chunk_len(&self) -> u64 {
        self.end - self.start + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(staging: &Staging, bytes: &[u8]) -> Received {
        let mut spool = staging.spool().unwrap();
        spool.write(bytes).unwrap();
        spool.finish().unwrap()
    }

    fn put(store: &dyn BlobStore, hash: &BlobHash, bytes: &[u8]) {
        let src = std::env::temp_dir().join(format!("patrol-src-{}", uuid::Uuid::new_v4()));
        std::fs::write(&src, bytes).unwrap();
        store.put_file(hash, &src, bytes.len() as u64).unwrap();
        assert_eq!(
            std::fs::read(&src).unwrap(),
            bytes,
            "the source is left as it was"
        );
        std::fs::remove_file(&src).unwrap();
    }

    /// SOI, APP0 JFIF, APP1 Exif with a GPS tag name in it, a quantisation table, EOI.
    fn jpeg_with_exif() -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        b.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
        b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        let exif = b"Exif\0\0MM\0*GPSLatitude 36.6";
        b.extend_from_slice(&[0xFF, 0xE1, 0x00, (exif.len() + 2) as u8]);
        b.extend_from_slice(exif);
        b.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x04, 0x00, 0x01]);
        b.extend_from_slice(&[0xFF, 0xD9]);
        b
    }

    #[test]
    fn hashes_parse_only_as_64_hex_digits() {
        let upper = "A".repeat(64);
        assert_eq!(BlobHash::parse(&upper).unwrap().as_str(), "a".repeat(64));
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(65)] {
            assert!(BlobHash::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            BlobHash::of(b"").as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn only_photo_types_are_sniffed() {
        assert_eq!(sniff(&jpeg_with_exif()), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(
            sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            Some("image/heif")
        );
        assert_eq!(sniff(b"GIF89a\0\0"), None);
        assert_eq!(sniff(b"%PDF-1.7"), None);
        assert_eq!(sniff(b"hello"), None);
    }

    #[test]
    fn metadata_is_found_in_each_format() {
        let with = jpeg_with_exif();
        let exif = b"Exif\0\0MM\0*GPSLatitude 36.6";
        let at = with.windows(exif.len()).position(|w| w == exif).unwrap() - 4;
        let mut without = with.clone();
        without.drain(at..at + 4 + exif.len());
        assert!(carries_metadata("image/jpeg", &with[..]).unwrap());
        assert!(!carries_metadata("image/jpeg", &without[..]).unwrap());
        assert!(carries_metadata("image/jpeg", &b"\xFF\xD8 broken"[..]).unwrap());
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";
        let mut png_exif = png.to_vec();
        png_exif.extend_from_slice(b"\0\0\0\x04eXIfMM\0*");
        assert!(!carries_metadata("image/png", &png[..]).unwrap());
        assert!(carries_metadata("image/png", &png_exif[..]).unwrap());
        assert!(carries_metadata("image/webp", &b"RIFF\0\0\0\0WEBPEXIF"[..]).unwrap());
        assert!(!carries_metadata("image/webp", &b"RIFF\0\0\0\0WEBPVP8 "[..]).unwrap());
        assert!(carries_metadata("image/heif", &b"ftypheic infe Exif"[..]).unwrap());
    }

    #[test]
    fn a_tag_across_two_blocks_is_found_and_a_spool_hashes_what_it_wrote() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.resize(BLOCK - 2, 0);
        png.extend_from_slice(b"eXIf");
        png.resize(3 * BLOCK, 0);
        assert!(carries_metadata("image/png", &png[..]).unwrap());
        png.truncate(BLOCK - 2);
        png.resize(3 * BLOCK, 0);
        assert!(!carries_metadata("image/png", &png[..]).unwrap());

        let dir = std::env::temp_dir().join(format!("patrol-spool-{}", uuid::Uuid::new_v4()));
        let staging = Staging::new(&dir);
        let mut spool = staging.spool().unwrap();
        for part in png.chunks(10_000) {
            spool.write(part).unwrap();
        }
        let received = spool.finish().unwrap();
        assert_eq!(received.hash, BlobHash::of(&png));
        assert_eq!(received.len, png.len() as u64);
        assert_eq!(received.head, png[..SNIFF_BYTES]);
        assert_eq!(digest_file(received.path()).unwrap().0, received.hash);
        let path = received.path().to_owned();
        drop(received);
        assert!(!path.exists(), "a spooled body is removed once handled");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn content_ranges_parse_strictly() {
        assert_eq!(
            ContentRange::parse("bytes 0-9/30").unwrap(),
            ContentRange {
                start: 0,
                end: 9,
                total: 30
            }
        );
        for bad in [
            "bytes 5-4/30",
            "bytes 0-30/30",
            "bytes */30",
            "0-9/30",
            "bytes 0-9/x",
        ] {
            assert!(ContentRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_store_keys_are_sharded_under_the_prefix_and_puts_idempotent() {
        use object_store::ObjectStore;
        let memory = Arc::new(object_store::memory::InMemory::new());
        let store = ObjectBlobStore::new(memory.clone(), "/photos/").unwrap();
        let bytes = jpeg_with_exif();
        let hash = BlobHash::of(&bytes);
        assert_eq!(store.len(&hash).unwrap(), None);
        assert_eq!(store.get(&hash).unwrap(), None);
        put(&store, &hash, &bytes);
        put(&store, &hash, &bytes);
        assert_eq!(store.len(&hash).unwrap(), Some(bytes.len() as u64));
        assert_eq!(store.get(&hash).unwrap().unwrap(), bytes);
        let h = hash.as_str();
        let keys: Vec<String> = store
            .runtime
            .as_ref()
            .unwrap()
            .block_on(async {
                use futures_util::TryStreamExt;
                memory
                    .list(None)
                    .map_ok(|m| m.location.to_string())
                    .try_collect()
                    .await
            })
            .unwrap();
        assert_eq!(keys, vec![format!("photos/{}/{}/{h}", &h[0..2], &h[2..4])]);
        assert!(ObjectBlobStore::from_url("https://example.com/x").is_err());
    }

    #[test]
    fn local_store_is_sharded_and_idempotent() {
        let dir = std::env::temp_dir().join(format!("patrol-blob-{}", uuid::Uuid::new_v4()));
        let store = LocalDirStore::new(&dir);
        let bytes = jpeg_with_exif();
        let hash = BlobHash::of(&bytes);
        assert!(!store.exists(&hash).unwrap());
        put(&store, &hash, &bytes);
        put(&store, &hash, &bytes);
        let h = hash.as_str();
        assert!(dir.join(&h[0..2]).join(&h[2..4]).join(h).is_file());
        assert_eq!(store.len(&hash).unwrap(), Some(bytes.len() as u64));
        assert_eq!(store.get(&hash).unwrap().unwrap(), bytes);
        let files = std::fs::read_dir(dir.join(&h[0..2]).join(&h[2..4]))
            .unwrap()
            .count();
        assert_eq!(files, 1, "no temporary files left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn staged_bytes_are_counted_per_uploader_and_idle_uploads_swept() {
        let dir = std::env::temp_dir().join(format!("patrol-stage-{}", uuid::Uuid::new_v4()));
        let staging = Staging::new(&dir);
        let (a, b) = (BlobHash::of(b"a"), BlobHash::of(b"b"));
        staging
            .append(&a, "user-1", 0, &chunk(&staging, b"0123"))
            .unwrap();
        staging
            .append(&b, "user-1", 0, &chunk(&staging, b"012"))
            .unwrap();
        staging
            .append(&a, "user-2", 0, &chunk(&staging, b"01"))
            .unwrap();
        assert_eq!(
            staging.staged_bytes("user-1", &BlobHash::of(b"c")).unwrap(),
            7
        );
        assert_eq!(
            staging.staged_bytes("user-1", &a).unwrap(),
            3,
            "but this upload"
        );
        assert_eq!(staging.staged_bytes("user-2", &b).unwrap(), 2);
        assert_eq!(
            staging.sweep(std::time::Duration::from_secs(3600)).unwrap(),
            0
        );
        assert_eq!(staging.offset(&a, "user-1").unwrap(), Some(4));
        assert_eq!(staging.sweep(std::time::Duration::ZERO).unwrap(), 3);
        assert_eq!(staging.offset(&a, "user-1").unwrap(), None);
        assert_eq!(staging.staged_bytes("user-1", &b).unwrap(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn staging_appends_in_order_and_tolerates_retried_chunks() {
        let dir = std::env::temp_dir().join(format!("patrol-stage-{}", uuid::Uuid::new_v4()));
        let staging = Staging::new(&dir);
        let hash = BlobHash::of(b"0123456789");
        assert_eq!(staging.offset(&hash, "u").unwrap(), None);
        assert_eq!(
            staging
                .append(&hash, "u", 0, &chunk(&staging, b"0123"))
                .unwrap(),
            Appended::Offset(4)
        );
        assert_eq!(
            staging
                .append(&hash, "u", 6, &chunk(&staging, b"6789"))
                .unwrap(),
            Appended::Gap { offset: 4 }
        );
        assert_eq!(
            staging
                .append(&hash, "u", 0, &chunk(&staging, b"0123"))
                .unwrap(),
            Appended::Offset(4)
        );
        assert_eq!(
            staging
                .append(&hash, "u", 2, &chunk(&staging, b"234567"))
                .unwrap(),
            Appended::Offset(8)
        );
        assert_eq!(
            staging
                .append(&hash, "u", 8, &chunk(&staging, b"89"))
                .unwrap(),
            Appended::Offset(10)
        );
        assert_eq!(
            std::fs::read(staging.complete(&hash, "u").unwrap().path()).unwrap(),
            b"0123456789"
        );
        staging.discard(&hash, "u").unwrap();
        assert_eq!(staging.offset(&hash, "u").unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn staging_refuses_an_overlapping_chunk_that_disagrees_and_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("patrol-stage-{}", uuid::Uuid::new_v4()));
        let staging = Staging::new(&dir);
        let hash = BlobHash::of(b"0123456789");
        staging
            .append(&hash, "u", 0, &chunk(&staging, b"0123"))
            .unwrap();
        assert_eq!(
            staging
                .append(&hash, "u", 2, &chunk(&staging, b"2x45"))
                .unwrap(),
            Appended::Mismatch { at: 3 }
        );
        assert_eq!(
            staging
                .append(&hash, "u", 1, &chunk(&staging, b"13"))
                .unwrap(),
            Appended::Mismatch { at: 2 }
        );
        assert_eq!(
            std::fs::read(staging.complete(&hash, "u").unwrap().path()).unwrap(),
            b"0123"
        );
        assert_eq!(
            staging
                .append(&hash, "u", 3, &chunk(&staging, b"3456"))
                .unwrap(),
            Appended::Offset(7)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_type_is_judged_by_the_first_bytes_only() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.resize(SNIFF_BYTES, 0);
        let mut longer = png.clone();
        longer.extend_from_slice(b"GIF89a and anything else");
        assert_eq!(sniff(&png), Some("image/png"));
        assert_eq!(sniff(&longer), sniff(&png));
        assert_eq!(sniff(&png[..3]), None, "too short to tell");
    }
}
