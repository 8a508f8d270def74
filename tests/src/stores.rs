//! A photo store that fails on demand as a full or a broken disk does, in front of a real
//! one: for the scenarios that fill the store and free it again.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use patrol_api::infra::blobs::{BlobHash, BlobStore, LocalDirStore};

/// Stores as asked.
pub const WORKING: u8 = 0;
/// Refuses every write with "no space left".
pub const FULL: u8 = 1;
/// Refuses every write with an I/O error.
pub const BROKEN: u8 = 2;

/// A real local store whose writes fail while `state` says so.
pub struct Fillable {
    pub inner: LocalDirStore,
    pub state: Arc<AtomicU8>,
}

impl Fillable {
    /// A store in `dir`, working, and the switch that fills or breaks it.
    pub fn new(dir: &Path) -> (Fillable, Arc<AtomicU8>) {
        let state = Arc::new(AtomicU8::new(WORKING));
        let store = Fillable {
            inner: LocalDirStore::new(dir),
            state: state.clone(),
        };
        (store, state)
    }
}

impl BlobStore for Fillable {
    fn len(&self, hash: &BlobHash) -> io::Result<Option<u64>> {
        self.inner.len(hash)
    }

    fn get(&self, hash: &BlobHash) -> io::Result<Option<Vec<u8>>> {
        self.inner.get(hash)
    }

    fn put_file(&self, hash: &BlobHash, src: &Path, len: u64) -> io::Result<()> {
        match self.state.load(Ordering::SeqCst) {
            FULL => Err(io::Error::from(io::ErrorKind::StorageFull)),
            BROKEN => Err(io::Error::other("input/output error")),
            _ => self.inner.put_file(hash, src, len),
        }
    }

    fn delete(&self, hash: &BlobHash) -> io::Result<()> {
        self.inner.delete(hash)
    }
}
