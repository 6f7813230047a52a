//! The file index of a cache entry, and the check of a file against it.
//!
//! On disk the index is a list of NUL-terminated fields (paths can hold any
//! byte but NUL): `utoo-index-1`, the entry's key, then `d <path>` per
//! folder and `f <size> <path>` per file.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use thiserror::Error;

/// The index's file name inside an entry; written last, so it also marks the
/// entry complete.
pub const INDEX_FILE: &str = ".utoo-index";

const FORMAT: &[u8] = b"utoo-index-1";

/// What an entry holds, as extracted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryIndex {
    /// What identifies the tarball: its integrity, or its URL without one.
    pub key: String,
    /// Folders below the entry, each after its parent.
    pub dirs: Vec<PathBuf>,
    pub files: Vec<IndexedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedFile {
    /// Relative to the entry.
    pub path: PathBuf,
    pub size: u64,
}

/// An index as read back, with the moment it was written: no file of the
/// entry was written later, unless something changed it since.
#[derive(Debug, Clone)]
pub struct SealedIndex {
    pub index: EntryIndex,
    pub sealed_at: SystemTime,
}

/// What a check needs to know about a cached file, not following symlinks.
#[derive(Debug, Clone, Copy)]
pub struct FileFacts {
    pub is_file: bool,
    pub size: u64,
    pub modified: SystemTime,
}

/// How a cached file differs from its index.
#[derive(Debug, Error)]
pub enum Damage {
    #[error("{0:?} is missing")]
    Missing(PathBuf),
    #[error("{0:?} is no longer a regular file")]
    NotAFile(PathBuf),
    #[error("{path:?} changed size ({expected} bytes when extracted, {found} now)")]
    Resized {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    #[error("{0:?} was written to after extraction")]
    Modified(PathBuf),
    #[error("{0:?} can't be read")]
    Unreadable(PathBuf, #[source] io::Error),
}

#[derive(Debug, Error)]
pub enum IndexError {
    #[error("can't read the cache index {path:?}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the cache index {0:?} is malformed")]
    Malformed(PathBuf),
}

impl IndexError {
    /// Whether the index is there but unusable (the entry is damaged), as
    /// opposed to an error reading it.
    pub fn is_malformed(&self) -> bool {
        matches!(self, IndexError::Malformed(_))
    }
}

impl EntryIndex {
    pub fn new(key: impl Into<String>) -> EntryIndex {
        EntryIndex {
            key: key.into(),
            ..EntryIndex::default()
        }
    }

    pub fn add_dir(&mut self, path: impl Into<PathBuf>) {
        self.dirs.push(path.into());
    }

    pub fn add_file(&mut self, path: impl Into<PathBuf>, size: u64) {
        self.files.push(IndexedFile {
            path: path.into(),
            size,
        });
    }

    /// Writes the index into `entry_dir`; call it once every file is written.
    pub fn write_into(&self, entry_dir: &Path) -> io::Result<()> {
        let mut out = Vec::with_capacity(64 * (self.files.len() + self.dirs.len() + 1));
        let mut field = |bytes: &[u8]| {
            out.extend_from_slice(bytes);
            out.push(0);
        };
        field(FORMAT);
        field(self.key.as_bytes());
        for dir in &self.dirs {
            field(b"d");
            field(dir.as_os_str().as_bytes());
        }
        for file in &self.files {
            field(b"f");
            field(file.size.to_string().as_bytes());
            field(file.path.as_os_str().as_bytes());
        }
        let path = entry_dir.join(INDEX_FILE);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        file.write_all(&out)
    }

    fn parse(bytes: &[u8]) -> Option<EntryIndex> {
        let mut fields = bytes.strip_suffix(&[0])?.split(|&b| b == 0);
        if fields.next()? != FORMAT {
            return None;
        }
        let mut index = EntryIndex::new(std::str::from_utf8(fields.next()?).ok()?);
        while let Some(kind) = fields.next() {
            match kind {
                b"d" => index.add_dir(relative_path(fields.next()?)?),
                b"f" => {
                    let size = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
                    index.add_file(relative_path(fields.next()?)?, size);
                }
                _ => return None,
            }
        }
        Some(index)
    }
}

/// A path from the index; only plain relative paths are accepted, so a
/// tampered index can't make a reader reach outside the entry.
fn relative_path(bytes: &[u8]) -> Option<PathBuf> {
    let path = Path::new(OsStr::from_bytes(bytes));
    let plain = !bytes.is_empty()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    plain.then(|| path.to_path_buf())
}

/// The most room made up front for an index, whatever size the file
/// claims; a larger one (none is near it) grows as it is read.
const PREALLOCATED_MAX: usize = 16 << 20;

impl SealedIndex {
    /// Reads the index of `entry_dir`.
    pub fn read(entry_dir: &Path) -> Result<SealedIndex, IndexError> {
        let path = entry_dir.join(INDEX_FILE);
        let io_error = |source| IndexError::Io {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io_error)?;
        let meta = file.metadata().map_err(io_error)?;
        let sealed_at = meta.modified().map_err(io_error)?;
        // Read through `take`, sized by the `fstat` above: `File`'s own
        // `read_to_end` asks the size again (`fstat` and `lseek`).
        let size =
            usize::try_from(meta.len()).map_or(PREALLOCATED_MAX, |size| size.min(PREALLOCATED_MAX));
        let mut bytes = Vec::with_capacity(size + 1);
        file.take(u64::MAX)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        let index = EntryIndex::parse(&bytes).ok_or_else(|| IndexError::Malformed(path.clone()))?;
        Ok(SealedIndex { index, sealed_at })
    }

    /// Whether `file` is in `entry_dir` as it was extracted: still a regular
    /// file, of the same size, not written since the index was.
    pub fn check(&self, entry_dir: &Path, file: &IndexedFile) -> Result<(), Damage> {
        let facts = fs::symlink_metadata(entry_dir.join(&file.path)).and_then(|meta| {
            Ok(FileFacts {
                is_file: meta.is_file(),
                size: meta.len(),
                modified: meta.modified()?,
            })
        });
        self.check_facts(file, facts)
    }

    /// [`SealedIndex::check`] on what the caller found out about the file
    /// itself (e.g. with `fstatat` relative to the entry's open folder).
    pub fn check_facts(
        &self,
        file: &IndexedFile,
        facts: io::Result<FileFacts>,
    ) -> Result<(), Damage> {
        let facts = match facts {
            Ok(facts) => facts,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Damage::Missing(file.path.clone()))
            }
            Err(e) => return Err(Damage::Unreadable(file.path.clone(), e)),
        };
        if !facts.is_file {
            return Err(Damage::NotAFile(file.path.clone()));
        }
        if facts.size != file.size {
            return Err(Damage::Resized {
                path: file.path.clone(),
                expected: file.size,
                found: facts.size,
            });
        }
        match facts.modified <= self.sealed_at {
            true => Ok(()),
            false => Err(Damage::Modified(file.path.clone())),
        }
    }

    /// Checks every file of the entry.
    pub fn check_all(&self, entry_dir: &Path) -> Result<(), Damage> {
        self.index
            .files
            .iter()
            .try_for_each(|file| self.check(entry_dir, file))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn entry() -> (tempfile::TempDir, SealedIndex) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("lib")).unwrap();
        fs::write(dir.path().join("lib/a.js"), "a").unwrap();
        fs::write(dir.path().join("odd\nname"), "bb").unwrap();
        let mut index = EntryIndex::new("sha512-x");
        index.add_dir("lib");
        index.add_file("lib/a.js", 1);
        index.add_file("odd\nname", 2);
        index.write_into(dir.path()).unwrap();
        let sealed = SealedIndex::read(dir.path()).unwrap();
        assert_eq!(sealed.index, index);
        (dir, sealed)
    }

    #[test]
    fn an_untouched_entry_passes() {
        let (dir, sealed) = entry();
        sealed.check_all(dir.path()).unwrap();
    }

    #[test]
    fn missing_resized_replaced_and_rewritten_files_are_damage() {
        let (dir, sealed) = entry();
        let a = &sealed.index.files[0];
        fs::remove_file(dir.path().join("lib/a.js")).unwrap();
        assert!(matches!(
            sealed.check(dir.path(), a),
            Err(Damage::Missing(_))
        ));
        fs::create_dir(dir.path().join("lib/a.js")).unwrap();
        assert!(matches!(
            sealed.check(dir.path(), a),
            Err(Damage::NotAFile(_))
        ));
        fs::remove_dir(dir.path().join("lib/a.js")).unwrap();
        fs::write(dir.path().join("lib/a.js"), "ab").unwrap();
        assert!(matches!(
            sealed.check(dir.path(), a),
            Err(Damage::Resized { .. })
        ));

        // Same size, written later: an in-place edit.
        let file = OpenOptions::new()
            .write(true)
            .open(dir.path().join("odd\nname"))
            .unwrap();
        file.set_modified(sealed.sealed_at + Duration::from_secs(1))
            .unwrap();
        let odd = &sealed.index.files[1];
        assert!(matches!(
            sealed.check(dir.path(), odd),
            Err(Damage::Modified(_))
        ));
    }

    #[test]
    fn indexes_that_reach_outside_the_entry_are_malformed() {
        for path in ["../x", "/etc/passwd", "a/../../b", ""] {
            let dir = tempfile::tempdir().unwrap();
            let mut index = EntryIndex::new("k");
            index.add_file(path, 1);
            index.write_into(dir.path()).unwrap();
            let error = SealedIndex::read(dir.path()).unwrap_err();
            assert!(error.is_malformed(), "{path}: {error}");
        }
    }
}
