use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use serde_json::Value;
use thiserror::Error;
use utoo_clone_actor::{CloneError, Strategy};
use utoo_extract_actor::ExtractError;
use utoo_fetch_actor::FetchError;
use utoo_lockfile::{Lockfile, LockfileError};
use utoo_npm_types::{NodeVersion, Platform, Registries};
use utoo_resolver_actor::{Project, ResolveError};

/// Which kinds of packages stay out of `node_modules` (npm's `--omit`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Omit {
    pub dev: bool,
    pub optional: bool,
    pub peer: bool,
}

/// Install one project. Replies when `node_modules` and the lockfile are written.
#[derive(Message)]
#[rtype(result = "Result<InstallReport, InstallError>")]
pub struct Install {
    pub project_dir: PathBuf,
    /// The project's `package.json`, parsed, and its text (for the lockfile's formatting).
    pub package_json: Value,
    pub package_json_text: String,
    pub project: Project,
    /// The lockfile as read, and its text (to tell whether it changed).
    pub lockfile: Option<(Arc<Lockfile>, String)>,
    pub registry: Registries,
    /// Finds the running Node.js version; called only if a version must be picked.
    pub node_version: NodeVersion,
    pub platform: Platform,
    pub legacy_peer_deps: bool,
    pub lockfile_only: bool,
    pub frozen_lockfile: bool,
    pub omit: Omit,
    /// Fail (instead of warning) when a package's `engines.node` excludes the running Node.js.
    pub engine_strict: bool,
    /// `utoo ci`: start from empty `node_modules` folders (the project's and
    /// its workspaces'), removed only once every check has passed.
    pub clean: bool,
    /// Write the lockfile (npm's `package-lock`; false writes none).
    pub package_lock: bool,
    /// Git dependencies whose `prepare` script runs when they are packed
    /// (the trusted ones; none with `--ignore-scripts`).
    pub prepare_git: HashSet<String>,
    /// Which lockfile, in which form.
    pub lockfile_settings: LockfileSettings,
}

/// Where and how the lockfile is written, as npm decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockfileSettings {
    /// `npm-shrinkwrap.json` when the project has one (read and written in
    /// preference, as npm does), else `package-lock.json`.
    pub path: PathBuf,
    /// The `lockfileVersion` written: npm's `lockfile-version`, else the
    /// version read when it is 2 or 3, else 3.
    pub version: u32,
    /// npm's `omit-lockfile-registry-resolved`: no `resolved` for packages
    /// that come from the registry.
    pub omit_registry_resolved: bool,
    /// False for npm's `save=false`: the lockfile is read but not written.
    pub save: bool,
    /// False for npm's `format-package-lock=false`: compact JSON.
    pub formatted: bool,
}

/// What an install did.
#[derive(Debug, Clone, Default)]
pub struct InstallReport {
    /// Packages placed in `node_modules`.
    pub added: usize,
    /// Packages removed from `node_modules` (no longer in the tree).
    pub removed: usize,
    /// Packages in the lockfile (some may not be installed here).
    pub locked: usize,
    pub packuments_requested: usize,
    pub tarballs_downloaded: usize,
    pub bytes_downloaded: u64,
    /// Packages found complete in the cache.
    pub cache_hits: usize,
    pub extract_capacity: usize,
    /// The most tarballs ever downloaded but not yet extracted at once.
    pub max_extract_backlog: usize,
    /// The most tarball requests ever in flight at once.
    pub max_downloads_in_flight: usize,
    /// Tarballs downloaded before resolution ended (as a lockfile or a
    /// first placement promised) that the final tree does not use.
    pub unused_downloads: usize,
    pub clone_strategy: Option<Strategy>,
    pub lockfile_written: bool,
    pub warnings: Vec<String>,
    /// Packages placed by this install (not those already in place), with
    /// the bundled packages that came in their tarballs.
    pub placed: Vec<PlacedPackage>,
}

/// A package this install put into `node_modules`.
#[derive(Debug, Clone)]
pub struct PlacedPackage {
    /// Install path relative to the project.
    pub path: String,
    pub name: String,
    pub version: String,
    pub optional: bool,
    pub has_install_script: bool,
    /// A git dependency packed without running its `prepare` script.
    pub git_unprepared: bool,
}

/// What failed in one package's life, with its cause.
#[derive(Debug, Error)]
pub enum StageError {
    #[error(transparent)]
    Fetch(FetchError),
    #[error(transparent)]
    Extract(ExtractError),
    #[error(transparent)]
    Clone(CloneError),
    #[error(transparent)]
    LinkBins(CloneError),
}

impl StageError {
    fn is_network(&self) -> bool {
        matches!(self, StageError::Fetch(error) if error.is_network())
    }

    fn is_disk(&self) -> bool {
        match self {
            StageError::Extract(error) => error.source.is_disk(),
            StageError::Clone(error) | StageError::LinkBins(error) => error.is_disk(),
            StageError::Fetch(_) => false,
        }
    }

    /// The stage, as a person would name it.
    pub fn stage(&self) -> &'static str {
        match self {
            StageError::Fetch(_) => "download",
            StageError::Extract(_) => "extract",
            StageError::Clone(_) => "link into node_modules",
            StageError::LinkBins(_) => "link bins",
        }
    }
}

/// Why an install failed. The query methods tell the network and the disk
/// apart from the project and its packages, for hints.
#[derive(Debug, Error)]
pub enum InstallError {
    /// Boxed: resolution errors are large, and results carry this one around.
    #[error(transparent)]
    Resolve(Box<ResolveError>),
    #[error("{package}: {} failed", source.stage())]
    Stage {
        package: String,
        /// Shared by every package waiting for the same tarball.
        #[source]
        source: Arc<StageError>,
    },
    #[error("{} is out of sync with package.json ({}); run `utoo install` to update it", path.display(), differences.join("; "))]
    FrozenLockfile {
        path: PathBuf,
        /// What differs, as npm says it (`Missing: a@1.0.0 from lock file`).
        differences: Vec<String>,
    },
    #[error(transparent)]
    Lockfile(#[from] LockfileError),
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to install into {0:?}: not a folder inside a node_modules of the project")]
    UnsafeInstallPath(String),
    #[error("the {0} actor stopped unexpectedly")]
    ActorStopped(&'static str),
    #[error("{0} (engine-strict)")]
    Engine(String),
    #[error("another install is already running in this supervisor")]
    Busy,
}

impl InstallError {
    /// The network or the registry failed: trying again later may work.
    pub fn is_network(&self) -> bool {
        match self {
            InstallError::Stage { source, .. } => source.is_network(),
            InstallError::Resolve(error) => error.is_network(),
            _ => false,
        }
    }

    /// The local disk failed (space, permissions, a read-only folder).
    pub fn is_disk(&self) -> bool {
        match self {
            InstallError::Stage { source, .. } => source.is_disk(),
            InstallError::Resolve(error) => error.is_disk(),
            InstallError::Io { .. } => true,
            InstallError::Lockfile(error) => error.is_io(),
            _ => false,
        }
    }
}

impl From<ResolveError> for InstallError {
    fn from(error: ResolveError) -> InstallError {
        InstallError::Resolve(Box::new(error))
    }
}
