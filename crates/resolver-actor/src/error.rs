//! Why resolution fails. Every variant names the package (or file)
//! concerned; the cause, when there is one, is its `source()`, never
//! repeated in its own message.

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;

use thiserror::Error;
use utoo_git::GitError;
use utoo_npm_types::{InvalidPackageName, PackumentError, SpecError};
use utoo_registry_client::{format_size, HttpError, LocalReadError};

use crate::local::{FolderError, WorkspaceError};
use crate::overrides::OverrideError;
use crate::tarball::TarballError;

#[derive(Debug, Error)]
pub enum ResolveError {
    #[error(
        "package {name} not found in the registry ({url} returned 404), wanted by {wanted_by}"
    )]
    NotFound {
        name: String,
        url: String,
        wanted_by: String,
    },
    #[error("fetching the packument of {name} failed")]
    Registry {
        name: String,
        #[source]
        source: HttpError,
    },
    #[error("the packument of {name} from {url} is larger than {}, the limit for package metadata; raise --max-packument-size if it really is this large", format_size(*limit))]
    PackumentTooLarge {
        name: String,
        url: String,
        limit: u64,
    },
    /// Shared by every pick that waited on the packument.
    #[error("reading the packument of {name} from {url}")]
    Malformed {
        name: String,
        url: String,
        #[source]
        source: Arc<PackumentError>,
    },
    #[error("{name}: downloading its tarball failed")]
    Download {
        name: String,
        #[source]
        source: HttpError,
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
    #[error("no version of {name} matches {spec:?} (wanted by {dependent})")]
    NoMatchingVersion {
        name: String,
        spec: String,
        dependent: String,
    },
    #[error("wanted by {dependent}")]
    Spec {
        dependent: String,
        #[source]
        source: SpecError,
    },
    #[error("wanted by {dependent}")]
    InvalidName {
        dependent: String,
        #[source]
        source: InvalidPackageName,
    },
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
    /// A folder's `package.json` (a workspace, or a `file:` dependency).
    #[error("{path}")]
    LocalPackage {
        path: String,
        #[source]
        source: FolderError,
    },
    #[error("workspaces {pattern:?}")]
    Workspace {
        pattern: String,
        #[source]
        source: WorkspaceError,
    },
    /// A `file:` tarball, a tarball URL or a packed git commit.
    #[error("{name}: reading the tarball {location}")]
    Tarball {
        name: String,
        location: String,
        #[source]
        source: TarballError,
    },
    #[error("{name}: git dependency")]
    Git {
        name: String,
        #[source]
        source: GitError,
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
        source: InvalidPackageName,
    },
    #[error("overrides {key:?}")]
    Override {
        key: String,
        #[source]
        source: OverrideError,
    },
    /// `--offline`, and the packument was never cached.
    #[error("{name} (wanted by {wanted_by}) is not in the cache, and --offline fetches nothing: install once online (or with --prefer-offline) to cache it")]
    NotCached { name: String, wanted_by: String },
    /// `--offline`: a git reference is resolved with `git ls-remote`, which needs the network.
    #[error("{name}: the git dependency {spec} can't be resolved with --offline (resolving a git reference needs the network)")]
    GitOffline { name: String, spec: String },
    #[error("the resolver stopped before finishing")]
    Stopped,
}

impl ResolveError {
    /// The registry (or a tarball's server) could not be reached, or
    /// answered with an error other than 404: the network, a proxy or
    /// certificates are worth checking, and trying again may help.
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            ResolveError::Registry { .. } | ResolveError::Download { .. }
        )
    }

    /// The registry has no such package, or no version the spec accepts
    /// (npm's E404 and ETARGET): the name or range is worth checking.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ResolveError::NotFound { .. }
                | ResolveError::NoMatchingVersion { .. }
                | ResolveError::NotCached { .. }
        )
    }

    /// Something utoo was given can't be used: a dependency's spec or name,
    /// a folder's `package.json`, the workspaces, the lockfile or the
    /// overrides.
    pub fn is_user_input(&self) -> bool {
        matches!(
            self,
            ResolveError::Spec { .. }
                | ResolveError::InvalidName { .. }
                | ResolveError::LocalPackage { .. }
                | ResolveError::Workspace { .. }
                | ResolveError::LocalPathFromPackage { .. }
                | ResolveError::LockfilePath { .. }
                | ResolveError::Override { .. }
        )
    }

    /// A file on this machine could not be read (a folder's `package.json`
    /// or a `file:` tarball).
    pub fn is_disk(&self) -> bool {
        match self {
            ResolveError::LocalPackage { source, .. } => matches!(source, FolderError::Read(_)),
            ResolveError::Tarball { source, .. } => {
                matches!(source, TarballError::Read(LocalReadError::Io(_)))
            }
            _ => false,
        }
    }

    /// A package's own data is unusable: its packument or tarball is
    /// malformed or too large, or it can't run on this platform.
    pub fn is_bad_package(&self) -> bool {
        match self {
            ResolveError::Malformed { .. }
            | ResolveError::PackumentTooLarge { .. }
            | ResolveError::TarballTooLarge { .. }
            | ResolveError::NotARegistryTarball { .. }
            | ResolveError::BadPlatform { .. } => true,
            ResolveError::Tarball { source, .. } => !matches!(source, TarballError::Read(_)),
            _ => false,
        }
    }
}

/// An error followed by its causes, joined by ": " as the CLI prints errors.
pub(crate) struct WithCauses<'e>(pub &'e ResolveError);

impl fmt::Display for WithCauses<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use utoo_npm_types::{validate_package_name, Packument};

    use super::*;

    fn io_error() -> io::Error {
        io::Error::new(io::ErrorKind::NotFound, "No such file or directory")
    }

    fn http_error() -> HttpError {
        HttpError::Network {
            url: "http://r/aa".into(),
            attempts: 3,
            cause: utoo_registry_client::NetworkFailure::ShortBody {
                received: 10,
                announced: 20,
            },
        }
    }

    fn bad_name() -> InvalidPackageName {
        validate_package_name("../x").unwrap_err()
    }

    /// One error of every variant; the match names them all, so a new
    /// variant can't be left out.
    fn one_of_each() -> Vec<ResolveError> {
        let name = || "aa".to_string();
        let all = vec![
            ResolveError::NotFound {
                name: name(),
                url: "http://r/aa".into(),
                wanted_by: "the root project".into(),
            },
            ResolveError::Registry {
                name: name(),
                source: http_error(),
            },
            ResolveError::PackumentTooLarge {
                name: name(),
                url: "http://r/aa".into(),
                limit: 1 << 20,
            },
            ResolveError::Malformed {
                name: name(),
                url: "http://r/aa".into(),
                source: Arc::new(Packument::from_slice(b"{oops").unwrap_err()),
            },
            ResolveError::Download {
                name: name(),
                source: http_error(),
            },
            ResolveError::TarballTooLarge {
                name: name(),
                location: "aa.tgz".into(),
                limit: 1 << 20,
            },
            ResolveError::NotARegistryTarball {
                name: name(),
                version: "1.0.0".into(),
                url: "file:///dev/zero".into(),
            },
            ResolveError::NoMatchingVersion {
                name: name(),
                spec: "^7".into(),
                dependent: "the root project".into(),
            },
            ResolveError::Spec {
                dependent: "the root project".into(),
                source: SpecError::Invalid {
                    name: name(),
                    spec: "%%".into(),
                },
            },
            ResolveError::InvalidName {
                dependent: "the root project".into(),
                source: bad_name(),
            },
            ResolveError::PeerConflict {
                name: "host".into(),
                spec: "^2".into(),
                dependent: "plugin@1.0.0".into(),
                found: "host@1.0.0".into(),
            },
            ResolveError::BadPlatform {
                name: name(),
                version: "1.0.0".into(),
                os: vec!["darwin".into()],
                cpu: vec![],
            },
            ResolveError::LocalPackage {
                path: "/p/nowhere/package.json".into(),
                source: FolderError::Read(io_error()),
            },
            ResolveError::LocalPackage {
                path: "/p/bad/package.json".into(),
                source: FolderError::Json(serde_json::from_str::<u8>("{oops").unwrap_err()),
            },
            ResolveError::Workspace {
                pattern: "[".into(),
                source: WorkspaceError::Pattern(glob::Pattern::new("[").unwrap_err()),
            },
            ResolveError::Tarball {
                name: name(),
                location: "vendor/aa.tgz".into(),
                source: TarballError::Read(LocalReadError::Io(io_error())),
            },
            ResolveError::Tarball {
                name: name(),
                location: "vendor/aa.tgz".into(),
                source: TarballError::BadName(bad_name()),
            },
            ResolveError::Git {
                name: name(),
                source: GitError::NoSuchReference {
                    repository: "git+file:///srv/aa.git".into(),
                    wanted: "tag \"nope\"".into(),
                },
            },
            ResolveError::LocalPathFromPackage {
                name: name(),
                spec: "file:../x".into(),
                dependent: "bb@1.0.0".into(),
            },
            ResolveError::LockfilePath {
                path: "node_modules/../x".into(),
                source: bad_name(),
            },
            ResolveError::Override {
                key: "leaf".into(),
                source: OverrideError::Conflict {
                    name: "leaf".into(),
                    own: "^2".into(),
                },
            },
            ResolveError::NotCached {
                name: name(),
                wanted_by: "the root project".into(),
            },
            ResolveError::GitOffline {
                name: name(),
                spec: "github:a/b".into(),
            },
            ResolveError::Stopped,
        ];
        let covered: std::collections::BTreeSet<usize> = all
            .iter()
            .map(|error| match error {
                ResolveError::NotFound { .. } => 0,
                ResolveError::Registry { .. } => 1,
                ResolveError::PackumentTooLarge { .. } => 2,
                ResolveError::Malformed { .. } => 3,
                ResolveError::Download { .. } => 4,
                ResolveError::TarballTooLarge { .. } => 5,
                ResolveError::NotARegistryTarball { .. } => 6,
                ResolveError::NoMatchingVersion { .. } => 7,
                ResolveError::Spec { .. } => 8,
                ResolveError::InvalidName { .. } => 9,
                ResolveError::PeerConflict { .. } => 10,
                ResolveError::BadPlatform { .. } => 11,
                ResolveError::LocalPackage { .. } => 12,
                ResolveError::Workspace { .. } => 13,
                ResolveError::Tarball { .. } => 14,
                ResolveError::Git { .. } => 15,
                ResolveError::LocalPathFromPackage { .. } => 16,
                ResolveError::LockfilePath { .. } => 17,
                ResolveError::Override { .. } => 18,
                ResolveError::NotCached { .. } => 19,
                ResolveError::GitOffline { .. } => 20,
                ResolveError::Stopped => 21,
            })
            .collect();
        assert_eq!(covered.len(), 22, "every variant is listed");
        all
    }

    #[test]
    fn causes_are_sources_never_repeated_in_the_message() {
        for error in one_of_each() {
            let error = anyhow::Error::from(error);
            let printed = format!("{error:#}");
            let links: Vec<String> = error.chain().map(ToString::to_string).collect();
            assert_eq!(printed, links.join(": "));
            for (i, link) in links.iter().enumerate() {
                for cause in &links[i + 1..] {
                    assert!(!link.contains(cause.as_str()), "{printed}");
                }
            }
        }
    }

    #[test]
    fn the_cli_sees_the_whole_chain() {
        let printed = |index: usize| {
            let error = one_of_each()
                .into_iter()
                .nth(index)
                .map(anyhow::Error::from);
            error.map(|error| format!("{error:#}")).unwrap_or_default()
        };
        assert_eq!(
            printed(1),
            "fetching the packument of aa failed: http://r/aa: no answer after 3 attempts: \
             the body was 10 bytes, 20 announced"
        );
        let malformed = printed(3);
        assert!(
            malformed.starts_with(
                "reading the packument of aa from http://r/aa: malformed packument: key must be a string"
            ),
            "{malformed}"
        );
    }

    #[test]
    fn queries_tell_the_network_the_disk_the_package_and_the_input_apart() {
        let kinds = |error: &ResolveError| {
            [
                error.is_network(),
                error.is_not_found(),
                error.is_user_input(),
                error.is_disk(),
                error.is_bad_package(),
            ]
        };
        let expected = [
            [false, true, false, false, false],  // NotFound
            [true, false, false, false, false],  // Registry
            [false, false, false, false, true],  // PackumentTooLarge
            [false, false, false, false, true],  // Malformed
            [true, false, false, false, false],  // Download
            [false, false, false, false, true],  // TarballTooLarge
            [false, false, false, false, true],  // NotARegistryTarball
            [false, true, false, false, false],  // NoMatchingVersion
            [false, false, true, false, false],  // Spec
            [false, false, true, false, false],  // InvalidName
            [false, false, false, false, false], // PeerConflict
            [false, false, false, false, true],  // BadPlatform
            [false, false, true, true, false],   // LocalPackage: unreadable
            [false, false, true, false, false],  // LocalPackage: bad JSON
            [false, false, true, false, false],  // Workspace
            [false, false, false, true, false],  // Tarball: unreadable
            [false, false, false, false, true],  // Tarball: bad name inside
            [false, false, false, false, false], // Git
            [false, false, true, false, false],  // LocalPathFromPackage
            [false, false, true, false, false],  // LockfilePath
            [false, false, true, false, false],  // Override
            [false, true, false, false, false],  // NotCached
            [false, false, false, false, false], // GitOffline
            [false, false, false, false, false], // Stopped
        ];
        let errors = one_of_each();
        assert_eq!(errors.len(), expected.len());
        for (error, expected) in errors.iter().zip(expected) {
            assert_eq!(kinds(error), expected, "{error:?}");
        }
    }
}
