//! Whether this server can write: free space on the local disks it writes to, and what
//! its last writes met. Readiness (`/readyz`) reports it, so a load balancer stops
//! sending work to a server whose disk is full instead of letting every write fail.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use crate::db::ids::now_ms;

/// How long a refused write keeps the server "not ready" unless a probe write succeeds.
const FULL_FOR_MS: i64 = 60_000;

/// What this server has seen of its storage.
pub struct StorageHealth {
    /// Local directories whose filesystems must keep `min_free` bytes: the SQLite file's
    /// and the photo directory's.
    watched: Vec<PathBuf>,
    min_free: u64,
    /// When a write last failed for a full disk (0: never).
    full_at: AtomicI64,
}

/// Why the server is not ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageProblem {
    /// A filesystem the server writes to has less than the minimum free.
    LowSpace { path: PathBuf, available: u64 },
    /// A write failed for a full disk lately.
    WritesRefused,
}

impl std::fmt::Display for StorageProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageProblem::LowSpace { path, available } => write!(
                f,
                "only {available} bytes are free where {} is kept",
                path.display()
            ),
            StorageProblem::WritesRefused => {
                write!(f, "writes were refused lately because storage is full")
            }
        }
    }
}

impl StorageHealth {
    pub fn new(watched: Vec<PathBuf>, min_free: u64) -> Self {
        Self {
            watched,
            min_free,
            full_at: AtomicI64::new(0),
        }
    }

    /// Records a write refused for a full disk.
    pub fn mark_full(&self) {
        self.full_at.store(now_ms(), Ordering::Relaxed);
    }

    /// Records that a write succeeded: the disk has room again.
    pub fn mark_writable(&self) {
        self.full_at.store(0, Ordering::Relaxed);
    }

    /// Whether a write failed for a full disk in the last minute.
    pub fn refused_lately(&self) -> bool {
        let at = self.full_at.load(Ordering::Relaxed);
        at != 0 && now_ms() - at < FULL_FOR_MS
    }

    /// The first watched filesystem with too little free space, if any. A directory that
    /// cannot be examined (not created yet) is skipped: it is judged once it exists.
    pub fn low_space(&self) -> Option<StorageProblem> {
        self.watched.iter().find_map(|path| {
            let available = available_bytes(path)?;
            (available < self.min_free).then(|| StorageProblem::LowSpace {
                path: path.clone(),
                available,
            })
        })
    }
}

/// Bytes an unprivileged writer may still use on the filesystem holding `path` (or its
/// nearest existing ancestor).
fn available_bytes(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let stat = rustix::fs::statvfs(existing).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_write_makes_storage_unhealthy_until_a_write_succeeds() {
        let health = StorageHealth::new(Vec::new(), 0);
        assert!(!health.refused_lately());
        health.mark_full();
        assert!(health.refused_lately());
        health.mark_writable();
        assert!(!health.refused_lately());
    }

    #[test]
    fn free_space_below_the_minimum_is_reported() {
        let dir = std::env::temp_dir();
        assert_eq!(StorageHealth::new(vec![dir.clone()], 0).low_space(), None);
        let problem = StorageHealth::new(vec![dir.join("not/yet/there")], u64::MAX).low_space();
        assert!(
            matches!(problem, Some(StorageProblem::LowSpace { .. })),
            "{problem:?}"
        );
    }
}
