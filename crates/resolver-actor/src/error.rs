use thiserror::Error;
use utoo_npm_types::{InvalidPackageName, SpecError};
use utoo_registry_client::format_size;

/// Why resolution failed; every variant names the package concerned.
#[derive(Debug, Clone, Error)]
pub enum ResolveError {
    #[error(
        "package {name} not found in the registry ({url} returned 404), wanted by {wanted_by}"
    )]
    NotFound {
        name: String,
        url: String,
        wanted_by: String,
    },
    #[error("fetching the packument of {name} failed: {reason}")]
    Registry {
        name: String,
        url: String,
        reason: String,
    },
    #[error("the packument of {name} from {url} is larger than {}, the limit for package metadata; raise --max-packument-size if it really is this large", format_size(*limit))]
    PackumentTooLarge {
        name: String,
        url: String,
        limit: u64,
    },
    #[error("{name}: the tarball {location} is larger than {}, the limit per package; raise --max-package-size if the package really is this large", format_size(*limit))]
    TarballTooLarge {
        name: String,
        location: String,
        limit: u64,
    },
    #[error("the registry gives {name}@{version} the tarball {url}: a registry package is only downloaded over http(s), never read from a local path")]
    NotARegistryTarball {
        name: String,
        version: String,
        url: String,
    },
    #[error("the packument of {name} from {url} is malformed: {reason}")]
    Malformed {
        name: String,
        url: String,
        reason: String,
    },
    #[error("no version of {name} matches {spec:?} (wanted by {dependent})")]
    NoMatchingVersion {
        name: String,
        spec: String,
        dependent: String,
    },
    #[error("{0} (wanted by {1})")]
    Spec(SpecError, String),
    #[error("{0} (wanted by {1})")]
    InvalidName(InvalidPackageName, String),
    #[error("peer dependency conflict (ERESOLVE): {dependent} wants {name}@{spec}, but {found} is required by the project")]
    PeerConflict {
        name: String,
        spec: String,
        dependent: String,
        found: String,
    },
    #[error("{name}@{version} is not supported on this platform (EBADPLATFORM): wants os {os:?} cpu {cpu:?}")]
    BadPlatform {
        name: String,
        version: String,
        os: Vec<String>,
        cpu: Vec<String>,
    },
    #[error("{path}: {reason}")]
    LocalPackage { path: String, reason: String },
    #[error("workspaces {pattern:?}: {reason}")]
    Workspace { pattern: String, reason: String },
    #[error("{name}: reading the tarball {location}: {reason}")]
    Tarball {
        name: String,
        location: String,
        reason: String,
    },
    #[error("{name}: git dependency {repository}: {reason}")]
    Git {
        name: String,
        repository: String,
        reason: String,
    },
    #[error("{dependent} depends on {name}@{spec}: only the project and its workspaces may depend on local paths")]
    LocalPathFromPackage {
        name: String,
        spec: String,
        dependent: String,
    },
    #[error("package-lock.json: the entry {path:?} is not a package folder inside a node_modules")]
    LockfilePath {
        path: String,
        #[source]
        reason: InvalidPackageName,
    },
    #[error("overrides {key:?}: {reason}")]
    Override { key: String, reason: String },
    #[error("the resolver stopped before finishing")]
    Stopped,
}

impl ResolveError {
    /// Whether fetching from the registry failed, rather than the project
    /// or a package being wrong.
    pub fn is_network(&self) -> bool {
        matches!(self, ResolveError::Registry { .. })
    }

    /// Names who asked for the package, when the error doesn't yet.
    pub fn wanted_by(self, dependent: &str) -> ResolveError {
        match self {
            ResolveError::NotFound {
                name,
                url,
                wanted_by,
            } if wanted_by.is_empty() => ResolveError::NotFound {
                name,
                url,
                wanted_by: dependent.to_string(),
            },
            other => other,
        }
    }
}
