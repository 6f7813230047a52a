//! The packs in the packument folder, read as one: a later pack's entry
//! for a URL replaces an earlier one's. Packs are named by the time they
//! were started (fixed-width nanoseconds, then the process id), so their
//! names sort in the order they were written.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::pack::{read_index, PackEntry, PackProblem, PackWriter, EXTENSION};
use super::{CachedPackument, PackumentCacheError};

/// More packs than this, and the install that wrote the last one merges
/// them all into one.
pub(crate) const MAX_PACKS: usize = 8;
/// A temporary pack this old was left by an install that stopped.
const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Where one URL's packument is found.
#[derive(Debug)]
struct Location {
    file: Arc<File>,
    path: Arc<Path>,
    entry: PackEntry,
}

/// The entries of every readable pack, each kept open.
#[derive(Debug, Default)]
pub(crate) struct Packs {
    entries: HashMap<String, Location>,
}

impl Packs {
    /// Reads the index of every pack in `dir`. A damaged pack is removed
    /// (nothing could ever read it) and reported; a pack that can't be
    /// read is reported and left alone.
    pub(crate) fn open(dir: &Path) -> (Packs, Vec<PackumentCacheError>) {
        let mut packs = Packs::default();
        let mut problems = Vec::new();
        let paths = match pack_paths(dir) {
            Ok(paths) => paths,
            Err(source) => {
                let path = dir.to_path_buf();
                return (packs, vec![PackumentCacheError::Read { path, source }]);
            }
        };
        for path in paths {
            match open_pack(&path) {
                Ok(Some((file, entries))) => packs.insert(file, path, entries),
                Ok(None) => {}
                Err(problem) => problems.push(reported(path, problem)),
            }
        }
        (packs, problems)
    }

    fn insert(&mut self, file: File, path: PathBuf, entries: Vec<PackEntry>) {
        let (file, path): (Arc<File>, Arc<Path>) = (Arc::new(file), path.into());
        for entry in entries {
            let location = Location {
                file: file.clone(),
                path: path.clone(),
                entry,
            };
            self.entries.insert(location.entry.url.clone(), location);
        }
    }

    pub(crate) fn contains(&self, url: &str) -> bool {
        self.entries.contains_key(url)
    }

    pub(crate) fn read(&self, url: &str) -> Result<Option<CachedPackument>, PackumentCacheError> {
        let Some(location) = self.entries.get(url) else {
            return Ok(None);
        };
        let body = read_body(&location.file, &location.entry).map_err(|source| {
            PackumentCacheError::Read {
                path: location.path.to_path_buf(),
                source,
            }
        })?;
        Ok(Some(CachedPackument {
            validators: location.entry.validators.clone(),
            body,
            file: location.path.to_path_buf(),
        }))
    }
}

fn read_body(file: &File, entry: &PackEntry) -> io::Result<Vec<u8>> {
    let mut body = vec![0; entry.len as usize];
    file.read_exact_at(&mut body, entry.offset)?;
    Ok(body)
}

/// The pack's entries, `None` when it vanished (merged away) meanwhile.
/// A damaged pack is removed before it is reported.
fn open_pack(path: &Path) -> Result<Option<(File, Vec<PackEntry>)>, PackProblem> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PackProblem::Io(e)),
    };
    match read_index(&file) {
        Ok(entries) => Ok(Some((file, entries))),
        Err(PackProblem::Damaged(problem)) => {
            let _ = fs::remove_file(path);
            Err(PackProblem::Damaged(problem))
        }
        Err(io) => Err(io),
    }
}

fn reported(path: PathBuf, problem: PackProblem) -> PackumentCacheError {
    match problem {
        PackProblem::Io(source) => PackumentCacheError::Read { path, source },
        PackProblem::Damaged(problem) => PackumentCacheError::DamagedPack { path, problem },
    }
}

/// The packs in `dir`, oldest first: regular files named `*.pack` (a
/// symlink there is not followed). A missing folder holds none.
fn pack_paths(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut paths = Vec::new();
    for entry in listing {
        let entry = entry?;
        let path = entry.path();
        let is_pack = path.extension().is_some_and(|e| e == EXTENSION);
        if is_pack && entry.file_type()?.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// A pack name no earlier pack has: when it was started, then the process.
pub(crate) fn new_pack_path(dir: &Path) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    dir.join(format!("{nanos:020}-{}.{EXTENSION}", std::process::id()))
}

/// When `dir` holds more than [`MAX_PACKS`] packs, merges them into one
/// that keeps each URL's latest entry, then removes them. An install
/// sealing its pack meanwhile is not merged, and its pack sorts after the
/// merged one. Temporary packs left by stopped installs are removed too.
pub(crate) fn merge_if_many(dir: &Path) -> Result<(), PackumentCacheError> {
    let failed = |source| PackumentCacheError::Write {
        path: dir.to_path_buf(),
        source,
    };
    let paths = pack_paths(dir).map_err(failed)?;
    let Some(newest) = paths.last().filter(|_| paths.len() > MAX_PACKS) else {
        return Ok(());
    };
    // Named after the newest merged pack, so it sorts just before any pack
    // sealed after the listing.
    let merged_path = newest.with_extension(format!("merged.{EXTENSION}"));
    let mut packs = Packs::default();
    for path in &paths {
        // A pack that can't be read is left for the installs that read it to report.
        if let Ok(Some((file, entries))) = open_pack(path) {
            packs.insert(file, path.clone(), entries);
        }
    }
    let mut writer = PackWriter::create(dir).map_err(failed)?;
    let mut locations: Vec<&Location> = packs.entries.values().collect();
    locations.sort_by(|a, b| a.entry.url.cmp(&b.entry.url));
    for location in locations {
        let entry = &location.entry;
        let body = read_body(&location.file, entry).map_err(failed)?;
        writer
            .add(&entry.url, &entry.validators, &body)
            .map_err(failed)?;
    }
    writer.seal(&merged_path).map_err(failed)?;
    for path in paths.iter().filter(|path| **path != merged_path) {
        let _ = fs::remove_file(path);
    }
    remove_abandoned_temporaries(dir);
    Ok(())
}

fn remove_abandoned_temporaries(dir: &Path) {
    let Ok(listing) = fs::read_dir(dir) else {
        return;
    };
    for entry in listing.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let temporary = name.starts_with(".pack-") && name.ends_with(".tmp");
        let abandoned = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified.elapsed().is_ok_and(|age| age > ABANDONED_AFTER));
        if temporary && abandoned && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}
