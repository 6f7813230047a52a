use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The lockfile version npm 11 writes unless told otherwise (and always for the hidden lockfile).
pub const LOCKFILE_VERSION: u32 = 3;

/// A `package-lock.json`.
///
/// Map fields are `BTreeMap`s for convenient lookups; their order is irrelevant because
/// [`Lockfile::to_json`](crate::Lockfile::to_json) sorts every object the way npm does.
#[derive(Debug, Clone, PartialEq)]
pub struct Lockfile {
    pub name: Option<String>,
    pub version: Option<String>,
    /// The version read from disk, and the one [`Lockfile::to_json`](crate::Lockfile::to_json)
    /// writes: 3, 2 (with the legacy `dependencies` section npm 6 reads, built from
    /// `packages`) or 1 (that section alone).
    pub lockfile_version: u32,
    /// Entries by install path relative to the project (`""` is the root project,
    /// `node_modules/a/node_modules/b` a nested package, `packages/x` a workspace).
    pub packages: BTreeMap<String, LockEntry>,
    /// Unknown top-level fields; npm keeps them when it rewrites the file.
    pub other: Map<String, Value>,
    /// Specs that `overrides` gave dependencies, by the location of the package declaring
    /// them (`""` for the project): not in the file, but what npm writes in version 2's
    /// `requires` and judges `resolved` by, instead of the declared specs.
    pub overridden_specs: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for Lockfile {
    fn default() -> Self {
        Lockfile {
            name: None,
            version: None,
            lockfile_version: LOCKFILE_VERSION,
            packages: BTreeMap::new(),
            other: Map::new(),
            overridden_specs: BTreeMap::new(),
        }
    }
}

/// One entry of the `packages` section.
///
/// `false`, empty strings and empty collections are not written (npm omits them), except
/// `dev_dependencies: Some(empty)`, which npm copies verbatim into the root entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LockEntry {
    /// Only set when the package name differs from its folder (aliases, workspaces) and on the root.
    pub name: Option<String>,
    pub version: Option<String>,
    pub resolved: Option<String>,
    pub integrity: Option<String>,
    pub link: bool,
    pub dev: bool,
    pub optional: bool,
    /// Needed by a dev dependency and by an optional one; only written when neither `dev` nor `optional` is set.
    pub dev_optional: bool,
    pub peer: bool,
    /// When set, npm writes no other flag.
    pub extraneous: bool,
    pub in_bundle: bool,
    pub has_install_script: bool,
    pub has_shrinkwrap: bool,
    pub license: Option<String>,
    pub deprecated: Option<String>,
    pub dependencies: BTreeMap<String, String>,
    /// Only the root entry has these.
    pub dev_dependencies: Option<BTreeMap<String, String>>,
    pub optional_dependencies: BTreeMap<String, String>,
    pub peer_dependencies: BTreeMap<String, String>,
    pub peer_dependencies_meta: BTreeMap<String, PeerDependencyMeta>,
    pub bin: BTreeMap<String, String>,
    pub engines: BTreeMap<String, String>,
    pub os: Vec<String>,
    pub cpu: Vec<String>,
    pub libc: Vec<String>,
    pub funding: Option<Value>,
    pub bundle_dependencies: Option<Value>,
    pub workspaces: Option<Value>,
    /// Unknown fields, and known fields whose value has an unexpected shape
    /// (e.g. `engines` as an array), kept as found.
    pub other: Map<String, Value>,
}

/// An entry of `peerDependenciesMeta`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeerDependencyMeta {
    /// `None` when the field is absent; npm writes an explicit `false` back.
    pub optional: Option<bool>,
    pub other: Map<String, Value>,
}

impl PeerDependencyMeta {
    pub fn is_optional(&self) -> bool {
        self.optional == Some(true)
    }
}
