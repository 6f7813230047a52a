//! Where packages live in the global cache, and when an entry is complete.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::index::INDEX_FILE;
use crate::packument::PackumentCache;

/// The layout of a cache folder:
/// `packages/<name>/<version>-<hash of integrity>/` for entries,
/// `tmp/` for extractions in progress, `packuments/` for registry documents.
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
    /// Names and versions come from packages: anything but a plain folder
    /// name in them becomes `_`, so an entry can't land outside the cache.
    pub fn entry_dir(&self, name: &str, version: &str, key: &str) -> PathBuf {
        let digest = Sha256::digest(key.as_bytes());
        let short = hex::encode(&digest[..8]);
        let mut dir = self.root.join("packages");
        for part in name.split('/') {
            dir.push(plain_folder_name(part));
        }
        dir.join(format!("{}-{short}", plain_folder_name(version)))
    }

    /// Whether `entry_dir` holds a finished extraction: its index, written
    /// last, is there. Whether its files are still as extracted is checked
    /// file by file when they are linked ([`crate::SealedIndex::check`]).
    pub fn is_complete(entry_dir: &Path) -> bool {
        CacheLayout::index_len(entry_dir).is_some()
    }

    /// The length of a complete entry's file index; `None` when the entry
    /// isn't complete. It grows with the entry's files, so it tells which
    /// entries take longest to link.
    pub fn index_len(entry_dir: &Path) -> Option<u64> {
        let metadata = fs::metadata(entry_dir.join(INDEX_FILE)).ok()?;
        metadata.is_file().then_some(metadata.len())
    }

    /// The packuments kept between installs.
    pub fn packuments(&self) -> PackumentCache {
        PackumentCache::new(self.root.join("packuments"))
    }

    /// Where extractions in progress are staged (same filesystem, so renames are atomic).
    pub fn staging_root(&self) -> PathBuf {
        self.root.join("tmp")
    }
}

fn plain_folder_name(part: &str) -> String {
    let plain: String = part
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || "-._+@~".contains(c) {
                true => c,
                false => '_',
            },
        )
        .collect();
    match plain.as_str() {
        "" | "." | ".." => "_".to_string(),
        _ => plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_stay_inside_the_cache() {
        let cache = CacheLayout::new(PathBuf::from("/c"));
        assert_eq!(
            cache.entry_dir("@s/a", "1.0.0-beta.1", "k").parent(),
            Some(Path::new("/c/packages/@s/a"))
        );
        let escaping = cache.entry_dir("../x", "1.0.0/../../../y", "k");
        assert!(escaping.starts_with("/c/packages/_/x/"), "{escaping:?}");
        let parent_dir = std::path::Component::ParentDir;
        assert!(
            !escaping.components().any(|c| c == parent_dir),
            "{escaping:?}"
        );
        assert_eq!(escaping.parent(), Some(Path::new("/c/packages/_/x")));
    }
}
