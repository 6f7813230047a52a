//! The clone actor materialises packages from the global cache at their
//! `node_modules` path, by reflink where the filesystem supports it, else
//! hardlink, else copy — probed once per actor (one cache/project filesystem
//! pair), not per file — and links each package's `bin` entries into the
//! right `node_modules/.bin` with exec bits set. It runs on blocking threads
//! (an actix `SyncArbiter`).
//!
//! A package is cloned from its cache entry's file index (`utoo-package-cache`),
//! checking each file against it first: a damaged entry is reported
//! ([`CloneError::is_damaged_entry`]) rather than linked. Bins are linked only
//! as plain names inside `.bin`, to targets inside their package.
//!
//! ```
//! use std::collections::BTreeMap;
//! use actix::SyncArbiter;
//! use utoo_clone_actor::{CloneActor, ClonePackage, LinkBins, SharedStrategy};
//! use utoo_package_cache::EntryIndex;
//!
//! #[actix::main]
//! async fn main() {
//!     let cache = tempfile::tempdir().unwrap();
//!     let project = tempfile::tempdir().unwrap();
//!     std::fs::write(cache.path().join("cli.js"), "#!/usr/bin/env node\n").unwrap();
//!     let mut index = EntryIndex::new("sha512-demo");
//!     index.add_file("cli.js", 20);
//!     index.write_into(cache.path()).unwrap();
//!     let worker = CloneActor::new(SharedStrategy::default());
//!     let cloner = SyncArbiter::start(2, move || worker.clone());
//!     let node_modules = project.path().join("node_modules");
//!     cloner
//!         .send(ClonePackage {
//!             package: "demo@1.0.0".into(),
//!             from: cache.path().into(),
//!             to: node_modules.join("demo"),
//!             check_files: true,
//!         })
//!         .await
//!         .unwrap()
//!         .unwrap();
//!     cloner
//!         .send(LinkBins {
//!             node_modules: node_modules.clone(),
//!             package: "demo".into(),
//!             bins: BTreeMap::from([("demo".to_string(), "cli.js".to_string())]),
//!         })
//!         .await
//!         .unwrap()
//!         .unwrap();
//!     assert!(node_modules.join(".bin/demo").exists());
//! }
//! ```

mod entry_dirs;
mod strategy;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use thiserror::Error;
use utoo_package_cache::{Damage, IndexError, IndexedFile, SealedIndex};
use utoo_telemetry::span;

pub use strategy::{SharedStrategy, Strategy};

use crate::entry_dirs::OpenDir;

/// Materialise the package whose cache entry is `from` at `to`, replacing
/// what was there.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<CloneStats, CloneError>")]
pub struct ClonePackage {
    /// `name@version`, for traces.
    pub package: String,
    /// A complete cache entry (with its file index).
    pub from: PathBuf,
    pub to: PathBuf,
    /// Check each file against the entry's index before linking it. The
    /// one who extracted the entry in the same install may skip it.
    pub check_files: bool,
}

/// Link a package's bins as `<node_modules>/.bin/<name>` → `../<package>/<path>`.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), CloneError>")]
pub struct LinkBins {
    pub node_modules: PathBuf,
    /// The package's folder below `node_modules`, e.g. `@scope/tool`.
    pub package: String,
    /// Bin name → path inside the package, already normalised: a name is one
    /// plain path component, a path is relative and never climbs with `..`.
    pub bins: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloneStats {
    pub files: u64,
    pub strategy: Option<Strategy>,
}

#[derive(Debug, Error)]
pub enum CloneError {
    #[error("placing {path:?}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the cache entry {entry:?} is damaged")]
    Damaged {
        entry: PathBuf,
        #[source]
        damage: Damage,
    },
    #[error("the cache entry {entry:?} has no usable file index")]
    Unindexed {
        entry: PathBuf,
        #[source]
        source: IndexError,
    },
    #[error("refusing to link bin {name:?} → {path:?} of {package:?}: names must be plain file names and paths must stay inside the package")]
    UnsafeBin {
        package: String,
        name: String,
        path: String,
    },
    #[error("{0:?} is not a folder; bins are linked only into a real .bin folder")]
    BinFolderNotADirectory(PathBuf),
}

impl CloneError {
    /// Whether the disk failed (space, permissions) while placing files.
    pub fn is_disk(&self) -> bool {
        matches!(self, CloneError::Io { .. })
    }

    /// Whether the cache entry, not the project, is at fault: fetching and
    /// extracting the package again repairs it.
    pub fn is_damaged_entry(&self) -> bool {
        matches!(
            self,
            CloneError::Damaged { .. } | CloneError::Unindexed { .. }
        )
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> CloneError + '_ {
    move |source| CloneError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Workers cloned from one `CloneActor` (`SyncArbiter::start(n, move ||
/// actor.clone())`) share its strategy and know of each other's clones: a
/// package with many files is placed by several threads only while no
/// other clone is under way.
#[derive(Clone)]
pub struct CloneActor {
    strategy: SharedStrategy,
    /// Clones under way across the workers.
    active: Arc<AtomicUsize>,
    /// The cores this process may use, asked once: each asking reads cgroup files.
    cores: usize,
}

impl CloneActor {
    pub fn new(strategy: SharedStrategy) -> CloneActor {
        CloneActor {
            strategy,
            active: Arc::new(AtomicUsize::new(0)),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Threads one clone may place its files with: every core while it is
    /// the only clone under way, else its own.
    fn spare_placers(&self) -> usize {
        match self.active.load(Ordering::SeqCst) {
            1 => self.cores,
            _ => 1,
        }
    }

    /// Creates the package's folder and the entry's folders, parents first,
    /// then places each file once it has checked that the file is as
    /// extracted; all relative to the two open folders. A package with
    /// many files is placed by several threads.
    fn clone_entry(
        &self,
        from: &Path,
        to: &Path,
        check_files: bool,
        stats: &mut CloneStats,
    ) -> Result<(), CloneError> {
        let sealed = SealedIndex::read(from).map_err(|source| CloneError::Unindexed {
            entry: from.to_path_buf(),
            source,
        })?;
        let source = OpenDir::open(from).map_err(io_error(from))?;
        let target = OpenDir::create(to).map_err(io_error(to))?;
        for dir in &sealed.index.dirs {
            target
                .make_dir(dir)
                .map_err(|e| io_error(&to.join(dir))(e))?;
        }
        let folders = Folders {
            from,
            to,
            source: &source,
            target: &target,
        };
        let files = &sealed.index.files;
        let place = |batch: &[IndexedFile]| self.place_files(batch, &sealed, &folders, check_files);
        let threads = self
            .spare_placers()
            .min(files.len() / FILES_PER_THREAD)
            .max(1);
        let placed = if threads == 1 {
            place(files)?
        } else {
            std::thread::scope(|scope| {
                let mut chunks = files.chunks(files.len().div_ceil(threads));
                let first = chunks.next().unwrap_or_default();
                let others: Vec<_> = chunks
                    .map(|chunk| scope.spawn(move || place(chunk)))
                    .collect();
                let mut placed = place(first);
                for other in others {
                    // A panic in a placer is a bug: it is passed on, not caught.
                    let theirs = other
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    placed = placed.and_then(|ours| theirs.map(|theirs| ours.or(theirs)));
                }
                placed
            })?
        };
        stats.files += files.len() as u64;
        stats.strategy = placed.or(stats.strategy);
        Ok(())
    }

    /// Checks (when asked) and places `files`; says how the last was placed.
    fn place_files(
        &self,
        files: &[IndexedFile],
        sealed: &SealedIndex,
        folders: &Folders,
        check_files: bool,
    ) -> Result<Option<Strategy>, CloneError> {
        let mut strategy = None;
        for file in files {
            if check_files {
                sealed
                    .check_facts(file, folders.source.facts(&file.path))
                    .map_err(|damage| CloneError::Damaged {
                        entry: folders.from.to_path_buf(),
                        damage,
                    })?;
            }
            let placed = match self.strategy.get() {
                Some(Strategy::Hardlink) => folders
                    .source
                    .link_to(&file.path, folders.target)
                    .map(|()| Strategy::Hardlink),
                _ => self
                    .strategy
                    .place(&folders.from.join(&file.path), &folders.to.join(&file.path)),
            };
            strategy = Some(placed.map_err(|e| io_error(&folders.to.join(&file.path))(e))?);
        }
        Ok(strategy)
    }
}

/// Below this many files per thread, a package's files are placed by one thread.
const FILES_PER_THREAD: usize = 128;

/// A cache entry's folder and the package's, by path and open.
struct Folders<'a> {
    from: &'a Path,
    to: &'a Path,
    source: &'a OpenDir,
    target: &'a OpenDir,
}

impl Actor for CloneActor {
    type Context = SyncContext<Self>;
}

impl Handler<ClonePackage> for CloneActor {
    type Result = Result<CloneStats, CloneError>;

    fn handle(&mut self, msg: ClonePackage, _ctx: &mut SyncContext<Self>) -> Self::Result {
        let span =
            tracing::info_span!(span::CLONE, package = %msg.package, files = tracing::field::Empty);
        let _entered = span.enter();
        let mut stats = CloneStats {
            files: 0,
            strategy: self.strategy.get(),
        };
        self.active.fetch_add(1, Ordering::SeqCst);
        let cloned = self.clone_entry(&msg.from, &msg.to, msg.check_files, &mut stats);
        self.active.fetch_sub(1, Ordering::SeqCst);
        cloned?;
        span.record("files", stats.files);
        Ok(stats)
    }
}

/// Whether `path` is relative and made of plain parts only (no `..`, `.`, root).
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

fn is_plain_name(name: &str) -> bool {
    is_plain_relative(name) && !name.contains('/')
}

impl Handler<LinkBins> for CloneActor {
    type Result = Result<(), CloneError>;

    fn handle(&mut self, msg: LinkBins, _ctx: &mut SyncContext<Self>) -> Self::Result {
        let _span = tracing::info_span!(span::LINK_BINS, package = %msg.package).entered();
        for (name, path) in &msg.bins {
            if !is_plain_name(name) || !is_plain_relative(path) || !is_plain_relative(&msg.package)
            {
                return Err(CloneError::UnsafeBin {
                    package: msg.package.clone(),
                    name: name.clone(),
                    path: path.clone(),
                });
            }
        }
        let bin_dir = msg.node_modules.join(".bin");
        fs::create_dir_all(&bin_dir).map_err(io_error(&bin_dir))?;
        // A `.bin` that is a link could lead the links anywhere.
        if !fs::symlink_metadata(&bin_dir)
            .map_err(io_error(&bin_dir))?
            .is_dir()
        {
            return Err(CloneError::BinFolderNotADirectory(bin_dir));
        }
        let package_dir = msg.node_modules.join(&msg.package);
        let real_package_dir = fs::canonicalize(&package_dir).ok();
        for (name, path) in &msg.bins {
            let target = real_package_dir
                .as_deref()
                .and_then(|package| file_inside(package, &package_dir.join(path)));
            let Some((target, meta)) = target else {
                tracing::warn!(package = %msg.package, bin = %name, "bin target {path} is missing or outside the package; not linked");
                continue;
            };
            let mode = meta.permissions().mode();
            if mode & 0o111 != 0o111 {
                let mut permissions = meta.permissions();
                permissions.set_mode(mode | 0o111);
                fs::set_permissions(&target, permissions).map_err(io_error(&target))?;
            }
            let link = bin_dir.join(name);
            if fs::symlink_metadata(&link).is_ok() {
                fs::remove_file(&link).map_err(io_error(&link))?;
            }
            let relative = Path::new("..").join(&msg.package).join(path);
            symlink(&relative, &link).map_err(io_error(&link))?;
        }
        Ok(())
    }
}

/// The real path of `path` and its metadata, if it exists and, once every
/// symlink is followed, is a file still inside the package whose real
/// folder is `real_package_dir`.
fn file_inside(real_package_dir: &Path, path: &Path) -> Option<(PathBuf, fs::Metadata)> {
    let target = fs::canonicalize(path).ok()?;
    let meta = fs::metadata(&target).ok()?;
    (target.starts_with(real_package_dir) && meta.is_file()).then_some((target, meta))
}
