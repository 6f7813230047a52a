//! The extract actor puts downloaded tarballs into utoo's global cache
//! (default `~/.cache/utoo`). It runs on blocking threads (an actix
//! `SyncArbiter`, one thread per unit of extract capacity). Each package is
//! unpacked into a staging folder, given its file index last (which marks it
//! complete, see `utoo-package-cache`), then renamed into place, so a
//! half-extracted entry is never seen; an entry without its index is redone,
//! and a complete one is extracted again only when it is found damaged.
//!
//! ```
//! use actix::SyncArbiter;
//! use utoo_extract_actor::{Extract, ExtractActor};
//! use utoo_package_cache::CacheLayout;
//!
//! # fn tarball() -> bytes::Bytes {
//! #     let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
//! #     let body = b"module.exports = 1;\n";
//! #     let mut header = tar::Header::new_gnu();
//! #     header.set_size(body.len() as u64);
//! #     header.set_mode(0o644);
//! #     builder.append_data(&mut header, "package/index.js", &body[..]).unwrap();
//! #     builder.into_inner().unwrap().finish().unwrap().into()
//! # }
//! #[actix::main]
//! async fn main() {
//!     let cache = tempfile::tempdir().unwrap();
//!     let layout = CacheLayout::new(cache.path());
//!     let extractor = {
//!         let layout = layout.clone();
//!         SyncArbiter::start(2, move || ExtractActor::new(layout.clone()))
//!     };
//!     let entry = extractor
//!         .send(Extract {
//!             name: "demo".into(),
//!             version: "1.0.0".into(),
//!             cache_key: "sha512-demo".into(),
//!             tarball: tarball(),
//!             replace_damaged: false,
//!         })
//!         .await
//!         .unwrap()
//!         .unwrap();
//!     assert!(entry.dir.join("index.js").is_file());
//!     assert!(CacheLayout::is_complete(&entry.dir));
//! }
//! ```

mod error;
mod inflate;
mod unpack;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;
use tempfile::TempDir;
use utoo_package_cache::{CacheLayout, EntryIndex, SealedIndex};
use utoo_telemetry::{queue, sample_queue, span};

pub use error::{ExtractError, UnpackError};
pub use unpack::{unpack, UnpackStats};

/// Unpack one package's tarball into the cache; replies with its folder.
#[derive(Debug, Message)]
#[rtype(result = "Result<CacheEntry, ExtractError>")]
pub struct Extract {
    pub name: String,
    pub version: String,
    /// What identifies this tarball: its integrity, or its URL when it has none.
    pub cache_key: String,
    pub tarball: Bytes,
    /// The entry was found damaged: replace it even though it is complete
    /// (unless it is intact again, repaired by another install).
    pub replace_damaged: bool,
}

/// A complete cache entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub dir: PathBuf,
    pub stats: UnpackStats,
    /// True when the entry was already complete and nothing was written.
    pub reused: bool,
}

/// One extract worker. Clones share the count of extractions in progress,
/// so start a `SyncArbiter` with `move || actor.clone()`.
#[derive(Debug, Clone)]
pub struct ExtractActor {
    cache: CacheLayout,
    active: Arc<AtomicU64>,
    max_unpacked_bytes: u64,
    /// The cores this process may use, asked once: each asking reads cgroup files.
    cores: usize,
}

/// The most one package may unpack to, unless set otherwise (1 GiB: the
/// largest packages on the npm registry unpack to a few hundred MB).
pub const DEFAULT_MAX_UNPACKED_BYTES: u64 = 1 << 30;

/// Counts an extraction in progress across the workers and reports each change.
struct Active<'a>(&'a AtomicU64);

impl<'a> Active<'a> {
    fn enter(counter: &'a AtomicU64) -> Active<'a> {
        let depth = counter.fetch_add(1, Ordering::SeqCst) + 1;
        sample_queue(queue::EXTRACTS_ACTIVE, depth);
        Active(counter)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        let depth = self.0.fetch_sub(1, Ordering::SeqCst).saturating_sub(1);
        sample_queue(queue::EXTRACTS_ACTIVE, depth);
    }
}

impl ExtractActor {
    pub fn new(cache: CacheLayout) -> ExtractActor {
        ExtractActor {
            cache,
            active: Arc::new(AtomicU64::new(0)),
            max_unpacked_bytes: DEFAULT_MAX_UNPACKED_BYTES,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Refuses packages that unpack to more than `bytes`.
    pub fn with_max_unpacked_bytes(mut self, bytes: u64) -> ExtractActor {
        self.max_unpacked_bytes = bytes;
        self
    }

    /// Threads one extraction may write its files with: every core while
    /// it is the only extraction under way, else its own.
    fn spare_writers(&self) -> usize {
        match self.active.load(Ordering::SeqCst) {
            1 => self.cores,
            _ => 1,
        }
    }

    /// Does the work of one [`Extract`] message on the calling thread.
    pub fn extract(&self, msg: &Extract) -> Result<CacheEntry, ExtractError> {
        let _active = Active::enter(&self.active);
        let package = format!("{}@{}", msg.name, msg.version);
        let span = tracing::info_span!(
            span::EXTRACT,
            package = %package,
            bytes = tracing::field::Empty,
            files = tracing::field::Empty
        );
        let _entered = span.enter();
        let entry = self.extract_entry(msg);
        if let Ok(entry) = &entry {
            span.record("bytes", entry.stats.bytes);
            span.record("files", entry.stats.files);
        }
        entry.map_err(|source| ExtractError {
            name: msg.name.clone(),
            version: msg.version.clone(),
            source,
        })
    }

    fn extract_entry(&self, msg: &Extract) -> Result<CacheEntry, UnpackError> {
        let dir = self
            .cache
            .entry_dir(&msg.name, &msg.version, &msg.cache_key);
        if is_usable(&dir, msg.replace_damaged) {
            return Ok(CacheEntry {
                dir,
                stats: UnpackStats::default(),
                reused: true,
            });
        }
        let staging_root = self.cache.staging_root();
        let io_err = |path: &PathBuf| {
            let path = path.clone();
            move |e: io::Error| UnpackError::Io(path, e)
        };
        let staging = staging_dir(&staging_root).map_err(io_err(&staging_root))?;
        let mut index = EntryIndex::new(msg.cache_key.as_str());
        let stats = unpack(
            &msg.tarball,
            staging.path(),
            self.max_unpacked_bytes,
            &mut index,
            || self.spare_writers(),
        )?;
        index
            .write_into(staging.path())
            .map_err(io_err(&staging.path().to_path_buf()))?;
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(io_err(&parent.to_path_buf()))?;
        }
        let ours = self.publish(staging, &dir, msg.replace_damaged)?;
        Ok(CacheEntry {
            dir,
            stats,
            reused: !ours,
        })
    }

    /// Renames the staged entry to `dir`; says whether ours is the one in
    /// place. A usable entry found there was finished by another install
    /// meanwhile and may be in use, so it stays and ours is dropped. Anything
    /// else there (an extraction that died before its index, a damaged entry
    /// being replaced) is moved aside first.
    fn publish(
        &self,
        staging: TempDir,
        dir: &Path,
        replace_damaged: bool,
    ) -> Result<bool, UnpackError> {
        let mut attempts = 0;
        loop {
            let Err(e) = fs::rename(staging.path(), dir) else {
                // The staged folder is the entry now, not to be deleted.
                let _entry = staging.keep();
                return Ok(true);
            };
            let occupied = fs::symlink_metadata(dir).is_ok();
            if !occupied || attempts == PUBLISH_ATTEMPTS {
                return Err(UnpackError::Io(dir.to_path_buf(), e));
            }
            if is_usable(dir, replace_damaged) {
                return Ok(false);
            }
            self.move_aside(dir)?;
            attempts += 1;
        }
    }

    /// Moves `dir` into a staging folder that is deleted on return (renames
    /// are atomic, so no install sees it half deleted).
    fn move_aside(&self, dir: &Path) -> Result<(), UnpackError> {
        let staging_root = self.cache.staging_root();
        let discarded = tempfile::Builder::new()
            .prefix("discard-")
            .tempdir_in(&staging_root)
            .map_err(|e| UnpackError::Io(staging_root, e))?;
        match fs::rename(dir, discarded.path().join("entry")) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(UnpackError::Io(dir.to_path_buf(), e))
            }
            _ => Ok(()),
        }
    }
}

/// How often publishing moves aside an unusable entry that another install
/// put back in its place before it gives up.
const PUBLISH_ATTEMPTS: usize = 3;

/// A new folder in `staging_root` to extract into, removed on drop so that
/// a failed extraction leaves nothing behind. `staging_root` is made only
/// when it is missing, not probed before every extraction.
fn staging_dir(staging_root: &Path) -> io::Result<TempDir> {
    let make = || {
        tempfile::Builder::new()
            .prefix("extract-")
            .tempdir_in(staging_root)
    };
    match make() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(staging_root)?;
            make()
        }
        made => made,
    }
}

/// Whether the entry at `dir` may be linked from: complete and, when a
/// damaged entry is being replaced, intact (another install repaired it).
fn is_usable(dir: &Path, replace_damaged: bool) -> bool {
    CacheLayout::is_complete(dir) && (!replace_damaged || is_intact(dir))
}

/// Whether every file of a complete entry is as extracted.
fn is_intact(dir: &Path) -> bool {
    SealedIndex::read(dir).is_ok_and(|sealed| sealed.check_all(dir).is_ok())
}

impl Actor for ExtractActor {
    type Context = SyncContext<Self>;
}

impl Handler<Extract> for ExtractActor {
    type Result = Result<CacheEntry, ExtractError>;

    fn handle(&mut self, msg: Extract, _ctx: &mut SyncContext<Self>) -> Self::Result {
        self.extract(&msg)
    }
}
