//! A file in the data directory that `sogs-admin` replaces after every change it makes, so a
//! single server without Redis drops its caches on its very next request instead of when
//! entries age out.
//!
//! Redis carries invalidations between processes when it is configured; without it the only
//! other writer of a single server's database is the operator's CLI on the same machine, and
//! the data directory is the one place both already share. The CLI writes a new file and
//! renames it over the old one, so each change gives the marker a new inode: the server
//! notices with one `stat` per request, far cheaper than the signature check every request
//! pays anyway, and never by reading the database.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The marker's file name inside the data directory.
pub const FILE_NAME: &str = "admin-changes";

/// Where the marker of the data directory `data_dir` lives.
pub fn path_in(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Replaces the marker, telling a running server that the database changed behind it.
pub fn touch(data_dir: &Path) -> std::io::Result<()> {
    let target = path_in(data_dir);
    let fresh = data_dir.join(format!(".{FILE_NAME}.{}", std::process::id()));
    let stamp = format!("{:?}\n", std::time::SystemTime::now());
    std::fs::write(&fresh, stamp)?;
    std::fs::rename(&fresh, &target)
}

/// The server's side: remembers which version of the marker it last saw.
pub struct ChangeMarker {
    path: PathBuf,
    /// Inode and modification time (ns) of the marker last seen; 0 when there was none.
    seen_inode: AtomicU64,
    seen_mtime: AtomicU64,
}

impl ChangeMarker {
    pub fn new(data_dir: &Path) -> Self {
        let marker = Self {
            path: path_in(data_dir),
            seen_inode: AtomicU64::new(0),
            seen_mtime: AtomicU64::new(0),
        };
        // Changes made before this server started are in the database it reads anyway.
        marker.changed();
        marker
    }

    /// Whether the marker was replaced since the last call.
    pub fn changed(&self) -> bool {
        let (inode, mtime) = match std::fs::metadata(&self.path) {
            Ok(meta) => (
                meta.ino(),
                u64::try_from(meta.mtime())
                    .unwrap_or(0)
                    .wrapping_mul(1_000_000_000)
                    .wrapping_add(u64::try_from(meta.mtime_nsec()).unwrap_or(0)),
            ),
            Err(_) => (0, 0),
        };
        let old_inode = self.seen_inode.swap(inode, Ordering::AcqRel);
        let old_mtime = self.seen_mtime.swap(mtime, Ordering::AcqRel);
        old_inode != inode || old_mtime != mtime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_touch_is_seen_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let marker = ChangeMarker::new(dir.path());
        assert!(!marker.changed(), "no marker yet, nothing changed");
        touch(dir.path()).unwrap();
        assert!(marker.changed());
        assert!(!marker.changed());
        touch(dir.path()).unwrap();
        touch(dir.path()).unwrap();
        assert!(marker.changed());
        assert!(!marker.changed());
    }

    #[test]
    fn a_marker_older_than_the_server_is_not_a_change() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path()).unwrap();
        let marker = ChangeMarker::new(dir.path());
        assert!(!marker.changed());
    }
}
