//! The clone actor materialises packages from the global cache at their
//! `node_modules` path, by reflink where the filesystem supports it, else
//! hardlink, else copy — probed once per actor (one cache/project filesystem
//! pair), not per file — and links each package's `bin` entries into the
//! right `node_modules/.bin` with exec bits set. It runs on blocking threads
//! (an actix `SyncArbiter`).
//!
//! ```
//! use std::collections::BTreeMap;
//! use actix::SyncArbiter;
//! use utoo_clone_actor::{CloneActor, ClonePackage, LinkBins, SharedStrategy};
//!
//! #[actix::main]
//! async fn main() {
//!     let cache = tempfile::tempdir().unwrap();
//!     let project = tempfile::tempdir().unwrap();
//!     std::fs::write(cache.path().join("cli.js"), "#!/usr/bin/env node\n").unwrap();
//!     let strategy = SharedStrategy::default();
//!     let cloner = SyncArbiter::start(2, move || CloneActor::new(strategy.clone()));
//!     let node_modules = project.path().join("node_modules");
//!     cloner
//!         .send(ClonePackage {
//!             package: "demo@1.0.0".into(),
//!             from: cache.path().into(),
//!             to: node_modules.join("demo"),
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

mod strategy;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use actix::prelude::*;
use thiserror::Error;

pub use strategy::{SharedStrategy, Strategy};

/// The cache's own bookkeeping files, not part of any package.
const SKIPPED_NAMES: &[&str] = &[".utoo-complete"];

/// Materialise the package folder `from` at `to`, replacing what was there.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<CloneStats, CloneError>")]
pub struct ClonePackage {
    /// `name@version`, for traces.
    pub package: String,
    pub from: PathBuf,
    pub to: PathBuf,
}

/// Link a package's bins as `<node_modules>/.bin/<name>` → `../<package>/<path>`.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), CloneError>")]
pub struct LinkBins {
    pub node_modules: PathBuf,
    /// The package's folder below `node_modules`, e.g. `@scope/tool`.
    pub package: String,
    /// Bin name → path inside the package, already normalised.
    pub bins: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloneStats {
    pub files: u64,
    pub strategy: Option<Strategy>,
}

#[derive(Debug, Error)]
pub enum CloneError {
    #[error("placing {path:?}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> CloneError + '_ {
    move |source| CloneError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub struct CloneActor {
    strategy: SharedStrategy,
}

impl CloneActor {
    pub fn new(strategy: SharedStrategy) -> CloneActor {
        CloneActor { strategy }
    }

    fn clone_tree(&self, from: &Path, to: &Path, stats: &mut CloneStats) -> Result<(), CloneError> {
        fs::create_dir_all(to).map_err(io_error(to))?;
        for entry in fs::read_dir(from).map_err(io_error(from))? {
            let entry = entry.map_err(io_error(from))?;
            let name = entry.file_name();
            if SKIPPED_NAMES.iter().any(|s| name == *s) {
                continue;
            }
            let source = entry.path();
            let target = to.join(&name);
            let kind = entry.file_type().map_err(io_error(&source))?;
            if kind.is_dir() {
                self.clone_tree(&source, &target, stats)?;
            } else if kind.is_file() {
                let used = self
                    .strategy
                    .place(&source, &target)
                    .map_err(io_error(&target))?;
                stats.strategy = Some(used);
                stats.files += 1;
            }
        }
        Ok(())
    }
}

impl Actor for CloneActor {
    type Context = SyncContext<Self>;
}

impl Handler<ClonePackage> for CloneActor {
    type Result = Result<CloneStats, CloneError>;

    fn handle(&mut self, msg: ClonePackage, _ctx: &mut SyncContext<Self>) -> Self::Result {
        let span =
            tracing::info_span!("clone", package = %msg.package, files = tracing::field::Empty);
        let _entered = span.enter();
        match fs::symlink_metadata(&msg.to) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(&msg.to).map_err(io_error(&msg.to))?,
            Ok(_) => fs::remove_file(&msg.to).map_err(io_error(&msg.to))?,
            Err(_) => {}
        }
        let mut stats = CloneStats {
            files: 0,
            strategy: self.strategy.get(),
        };
        self.clone_tree(&msg.from, &msg.to, &mut stats)?;
        span.record("files", stats.files);
        Ok(stats)
    }
}

impl Handler<LinkBins> for CloneActor {
    type Result = Result<(), CloneError>;

    fn handle(&mut self, msg: LinkBins, _ctx: &mut SyncContext<Self>) -> Self::Result {
        let _span = tracing::info_span!("link_bins", package = %msg.package).entered();
        let bin_dir = msg.node_modules.join(".bin");
        fs::create_dir_all(&bin_dir).map_err(io_error(&bin_dir))?;
        for (name, path) in &msg.bins {
            let target = msg.node_modules.join(&msg.package).join(path);
            let Ok(meta) = fs::metadata(&target) else {
                tracing::warn!(package = %msg.package, bin = %name, "bin target {path} is missing; not linked");
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
