//! The resolver actor: turns a project's `package.json` (and lockfile, if
//! any) into npm's hoisted `node_modules` tree.
//!
//! It fetches abbreviated packuments (each name once, the dependency closure
//! prefetched ahead of need), picks versions as npm-pick-manifest does, and
//! places packages as arborist does, in a deterministic order whatever order
//! responses arrive in. Each package is announced with [`PackagePlaced`] as
//! soon as its place is known, so downloads can start while resolution goes on.
//!
//! ```no_run
//! use actix::Actor;
//! use utoo_npm_types::{Platform, Registries, NPM_REGISTRY};
//! use utoo_registry_client::{ClientConfig, RegistryClient};
//! use utoo_resolver_actor::{Project, Resolve, ResolverActor};
//!
//! #[actix::main]
//! async fn main() {
//!     let client = RegistryClient::new(&ClientConfig::default()).unwrap();
//!     let resolver = ResolverActor::new(client, 32).start();
//!     let package_json = serde_json::json!({"dependencies": {"is-odd": "3.0.1"}});
//!     let resolution = resolver
//!         .send(Resolve {
//!             project: Project::from_package_json(&package_json, "demo"),
//!             lockfile: None,
//!             registry: Registries::new(NPM_REGISTRY),
//!             node_version: utoo_npm_types::NodeVersion::unknown(),
//!             legacy_peer_deps: false,
//!             platform: Platform::current(),
//!             notify: None,
//!         })
//!         .await
//!         .unwrap()
//!         .unwrap();
//!     for package in &resolution.tree.packages {
//!         println!("{} {}", package.path, package.manifest.version);
//!     }
//! }
//! ```

mod actor;
mod build;
mod bundle;
mod edge;
mod error;
mod finish;
mod load;
mod local;
mod lock;
mod overrides;
mod packuments;
mod pick;
mod place;
mod project;
mod queue;
mod source;
mod tarball;
mod tree;
mod warning;

pub use actor::{PackagePlaced, Resolution, Resolve, ResolverActor, RESOLVER_MAILBOX};
pub use build::{BuildOptions, TreeBuilder};
pub use bundle::BundledPackage;
pub use edge::{Edge, EdgeKind};
pub use error::ResolveError;
pub use finish::{finish, PackageKind, ResolvedPackage, ResolvedTree};
pub use load::ManifestSource;
pub use local::{find_workspaces, FolderError, LocalPackage, WorkspaceError};
pub use lock::{
    is_locked_as, lockfile_from_tree, manifest_from_entry, project_tree, tree_from_lockfile,
};
pub use overrides::{OverrideError, Overrides};
pub use packuments::{Loaded, PackumentLoadError, PackumentLoader};
pub use pick::pick_manifest;
pub use project::Project;
pub use tarball::TarballError;
pub use tree::{NodeId, Tree};
pub use warning::Warning;
