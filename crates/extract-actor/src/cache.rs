//! Where packages live in the global cache, and when an entry is complete.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Written last into a finished entry; an entry without it is redone.
pub const COMPLETE_MARKER: &str = ".utoo-complete";

/// The layout of a cache folder:
/// `packages/<name>/<version>-<hash of integrity>/` for entries,
/// `tmp/` for extractions in progress.
#[derive(Debug, Clone)]
pub struct CacheLayout {
    root: PathBuf,
}

impl CacheLayout {
    pub fn new(root: impl Into<PathBuf>) -> CacheLayout {
        CacheLayout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of `name@version`; `key` is its integrity (or tarball URL when there is none),
    /// so a republished tarball never reuses a stale entry.
    pub fn entry_dir(&self, name: &str, version: &str, key: &str) -> PathBuf {
        let digest = Sha256::digest(key.as_bytes());
        let short = hex::encode(&digest[..8]);
        self.root
            .join("packages")
            .join(name)
            .join(format!("{version}-{short}"))
    }

    /// Whether `entry_dir` holds a finished extraction.
    pub fn is_complete(entry_dir: &Path) -> bool {
        entry_dir.join(COMPLETE_MARKER).is_file()
    }

    /// Where extractions in progress are staged (same filesystem, so renames are atomic).
    pub fn staging_root(&self) -> PathBuf {
        self.root.join("tmp")
    }
}
