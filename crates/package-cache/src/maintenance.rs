//! `utoo cache verify` and `utoo cache clean`: checking every entry against
//! its index, and emptying the cache, without ever following a symlink
//! found inside it and only once the folder is known to be utoo's cache.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;

use crate::{CacheLayout, SealedIndex};

/// What the cache folder may hold at its top: entries and staging.
/// What utoo keeps at the top of its cache: package entries, packuments,
/// the staging folder and the remembered Node.js version (the CLI's).
const TOP_LEVEL: [&str; 4] = ["packages", "packuments", "tmp", "node-version"];

#[derive(Debug, Error)]
pub enum MaintenanceError {
    #[error("{root:?} does not look like utoo's cache ({found:?} is not part of its layout); nothing was removed")]
    NotACache { root: PathBuf, found: String },
    #[error("can't read {path:?}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("can't remove {path:?}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// An entry that [`verify`] found broken and removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenEntry {
    /// `name@version`, from the entry's folder.
    pub label: String,
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Entries whose every file is as extracted.
    pub entries: usize,
    pub files: usize,
    pub bytes: u64,
    pub removed: Vec<BrokenEntry>,
}

#[derive(Debug, Default)]
pub struct CleanReport {
    /// Entries there were before the cache was emptied.
    pub entries: usize,
}

/// Checks every entry's files against its index; an entry with a missing,
/// changed or replaced file, or without a readable index, is moved into
/// the staging folder (one atomic rename, so no install ever sees half of
/// it) and deleted there. Symlinks where entries or their folders belong
/// are removed, never followed.
pub fn verify(cache: &CacheLayout) -> Result<VerifyReport, MaintenanceError> {
    let mut report = VerifyReport::default();
    if !check_layout(cache.root())? {
        return Ok(report);
    }
    for found in entries(cache)? {
        let problem = match &found {
            Found::Stray(_) => Some("not a folder of the cache's layout".to_string()),
            Found::Entry(dir) => match SealedIndex::read(dir) {
                Err(error) => Some(error.to_string()),
                Ok(sealed) => match sealed.check_all(dir) {
                    Err(damage) => Some(damage.to_string()),
                    Ok(()) => {
                        report.entries += 1;
                        report.files += sealed.index.files.len();
                        report.bytes += sealed.index.files.iter().map(|f| f.size).sum::<u64>();
                        None
                    }
                },
            },
        };
        if let Some(reason) = problem {
            let path = found.path().to_path_buf();
            remove(cache, &path)?;
            report.removed.push(BrokenEntry {
                label: label(cache, &path),
                path,
                reason,
            });
        }
    }
    Ok(report)
}

/// Empties the cache: checks that the folder has utoo's layout (nothing
/// but `packages/`, `packuments/`, `tmp/` and `node-version` at its top),
/// then moves `packages/` and `packuments/` into `tmp/`, each in one
/// rename, and deletes `tmp/`. Deleting never follows a
/// symlink: one inside the cache is removed, not what it points at.
pub fn clean(cache: &CacheLayout) -> Result<CleanReport, MaintenanceError> {
    if !check_layout(cache.root())? {
        return Ok(CleanReport::default());
    }
    let report = CleanReport {
        entries: entries(cache)?
            .iter()
            .filter(|f| matches!(f, Found::Entry(_)))
            .count(),
    };
    for folder in ["packages", "packuments", "node-version"] {
        let path = cache.root().join(folder);
        if fs::symlink_metadata(&path).is_ok() {
            remove(cache, &path)?;
        }
    }
    let staging = cache.staging_root();
    match fs::symlink_metadata(&staging) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(&staging),
        Ok(_) => fs::remove_file(&staging),
        Err(_) => Ok(()),
    }
    .map_err(|source| MaintenanceError::Remove {
        path: staging,
        source,
    })?;
    Ok(report)
}

/// Whether there is a cache at `root` (false: nothing to do), refusing a
/// folder that holds anything but what utoo keeps there ([`TOP_LEVEL`]).
fn check_layout(root: &Path) -> Result<bool, MaintenanceError> {
    let listing = match fs::read_dir(root) {
        Ok(listing) => listing,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(source) => {
            return Err(MaintenanceError::Read {
                path: root.to_path_buf(),
                source,
            })
        }
    };
    for item in listing {
        let item = item.map_err(|source| MaintenanceError::Read {
            path: root.to_path_buf(),
            source,
        })?;
        let name = item.file_name().to_string_lossy().into_owned();
        if !TOP_LEVEL.contains(&name.as_str()) {
            return Err(MaintenanceError::NotACache {
                root: root.to_path_buf(),
                found: name,
            });
        }
    }
    Ok(true)
}

enum Found {
    /// `packages/<name>/<version>-<hash>` or `packages/@scope/<name>/<version>-<hash>`.
    Entry(PathBuf),
    /// A file or symlink where only folders belong.
    Stray(PathBuf),
}

impl Found {
    fn path(&self) -> &Path {
        match self {
            Found::Entry(path) | Found::Stray(path) => path,
        }
    }
}

/// Every entry under `packages/`, found without following any symlink.
fn entries(cache: &CacheLayout) -> Result<Vec<Found>, MaintenanceError> {
    let mut found = Vec::new();
    let packages = cache.root().join("packages");
    if !is_real_dir(&packages) {
        if fs::symlink_metadata(&packages).is_ok() {
            found.push(Found::Stray(packages));
        }
        return Ok(found);
    }
    for name in listing(&packages)? {
        if !is_real_dir(&name) {
            found.push(Found::Stray(name));
            continue;
        }
        let scoped = name
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('@'));
        let package_dirs = match scoped {
            true => listing(&name)?,
            false => vec![name],
        };
        for package in package_dirs {
            if !is_real_dir(&package) {
                found.push(Found::Stray(package));
                continue;
            }
            for entry in listing(&package)? {
                found.push(match is_real_dir(&entry) {
                    true => Found::Entry(entry),
                    false => Found::Stray(entry),
                });
            }
        }
    }
    Ok(found)
}

fn listing(dir: &Path) -> Result<Vec<PathBuf>, MaintenanceError> {
    let read_error = |source| MaintenanceError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = fs::read_dir(dir)
        .map_err(read_error)?
        .map(|item| item.map(|i| i.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error)?;
    paths.sort();
    Ok(paths)
}

/// A folder itself, not a symlink to one.
fn is_real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir())
}

/// Removes a folder by moving it into the staging folder first (atomic),
/// or unlinks a file or symlink.
fn remove(cache: &CacheLayout, path: &Path) -> Result<(), MaintenanceError> {
    let remove_error = |source| MaintenanceError::Remove {
        path: path.to_path_buf(),
        source,
    };
    if !is_real_dir(path) {
        return fs::remove_file(path).map_err(remove_error);
    }
    let staging = cache.staging_root();
    if !is_real_dir(&staging) {
        // A file or symlink named tmp/ would take the entry out of the cache.
        if fs::symlink_metadata(&staging).is_ok() {
            fs::remove_file(&staging).map_err(remove_error)?;
        }
        fs::create_dir_all(&staging).map_err(remove_error)?;
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let doomed = staging.join(format!("remove-{}-{nanos}", std::process::id()));
    fs::rename(path, &doomed).map_err(remove_error)?;
    fs::remove_dir_all(&doomed).map_err(remove_error)
}

/// `name@version` of an entry folder (`packages/@s/a/1.0.0-<hash>`).
fn label(cache: &CacheLayout, entry: &Path) -> String {
    let relative = entry
        .strip_prefix(cache.root().join("packages"))
        .unwrap_or(entry);
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.split_last() {
        Some((last, name)) if !name.is_empty() => {
            let version = last.rsplit_once('-').map_or(last.as_str(), |(v, _)| v);
            format!("{}@{version}", name.join("/"))
        }
        _ => relative.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EntryIndex;

    fn entry(cache: &CacheLayout, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = cache.entry_dir(name, "1.0.0", name);
        fs::create_dir_all(&dir).unwrap();
        let mut index = EntryIndex::new(name);
        for (path, text) in files {
            fs::write(dir.join(path), text).unwrap();
            index.add_file(*path, text.len() as u64);
        }
        index.write_into(&dir).unwrap();
        dir
    }

    #[test]
    fn verify_keeps_intact_entries_and_removes_damaged_ones() {
        let root = tempfile::tempdir().unwrap();
        let cache = CacheLayout::new(root.path());
        let good = entry(&cache, "@s/good", &[("a.js", "aa")]);
        let bad = entry(&cache, "bad", &[("b.js", "b")]);
        fs::remove_file(bad.join("b.js")).unwrap();
        let report = verify(&cache).unwrap();
        assert_eq!((report.entries, report.files, report.bytes), (1, 1, 2));
        assert_eq!(report.removed.len(), 1);
        assert_eq!(report.removed[0].label, "bad@1.0.0");
        assert!(
            report.removed[0].reason.contains("b.js"),
            "{:?}",
            report.removed
        );
        assert!(good.join("a.js").is_file());
        assert!(!bad.exists());
    }

    #[test]
    fn clean_refuses_a_folder_that_is_not_a_cache() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("notes.txt"), "mine").unwrap();
        let error = clean(&CacheLayout::new(root.path())).unwrap_err();
        assert!(
            matches!(error, MaintenanceError::NotACache { .. }),
            "{error}"
        );
        assert!(root.path().join("notes.txt").is_file());
    }

    #[test]
    fn clean_removes_symlinks_without_following_them() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("keep.txt"), "keep").unwrap();
        let cache = CacheLayout::new(root.path());
        let dir = entry(&cache, "a", &[("a.js", "a")]);
        std::os::unix::fs::symlink(outside.path(), dir.join("out")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("packages/link")).unwrap();
        let report = clean(&cache).unwrap();
        assert_eq!(report.entries, 1);
        assert!(outside.path().join("keep.txt").is_file());
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_cache_is_nothing_to_do() {
        let root = tempfile::tempdir().unwrap();
        let cache = CacheLayout::new(root.path().join("none"));
        assert_eq!(verify(&cache).unwrap().entries, 0);
        assert_eq!(clean(&cache).unwrap().entries, 0);
    }
}
