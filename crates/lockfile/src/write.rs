use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::edges::LockTree;
use crate::error::LockfileError;
use crate::format::JsonFormat;
use crate::legacy::legacy_dependencies;
use crate::model::{LockEntry, Lockfile, PeerDependencyMeta, LOCKFILE_VERSION};
use crate::order::in_npm_order;
use crate::read::is_blank;
use crate::stringify::stringify_lockfile;

impl Lockfile {
    /// The lockfile as npm 11 writes it in its [`Lockfile::lockfile_version`]: keys in npm's
    /// order, values npm would not write left out, and a trailing newline. Version 3 has the
    /// `packages` section, version 1 the legacy `dependencies` tree, version 2 both.
    pub fn to_json(&self, format: &JsonFormat) -> String {
        self.print(format, self.lockfile_version, |_| true)
    }

    /// The text [`Lockfile::to_json`] gives once the entries at locations `keep` refuses are
    /// removed and the version is set to 3, without copying the lockfile (npm's hidden
    /// lockfile is this lockfile's installed part).
    pub fn to_json_v3_keeping(&self, format: &JsonFormat, keep: impl Fn(&str) -> bool) -> String {
        self.print(format, LOCKFILE_VERSION, keep)
    }

    fn print(&self, format: &JsonFormat, version: u32, keep: impl Fn(&str) -> bool) -> String {
        let mut top = self.other.clone();
        insert_string(&mut top, "name", &self.name);
        insert_string(&mut top, "version", &self.version);
        top.insert("lockfileVersion".to_owned(), version.into());
        top.insert("requires".to_owned(), true.into());
        let packages = (version >= 2).then(|| {
            let kept = self
                .packages
                .iter()
                .filter(|(location, _)| keep(location))
                .map(|(location, entry)| (location.as_str(), entry))
                .collect();
            in_npm_order(kept, |_| true)
        });
        if version < LOCKFILE_VERSION {
            if let Some(dependencies) = legacy_dependencies(self) {
                top.insert("dependencies".to_owned(), dependencies);
            }
        }
        stringify_lockfile(&top, packages, format)
    }

    /// Leaves out `resolved` where npm's `omit-lockfile-registry-resolved` does: on every
    /// package that all its dependents ask for from the registry. Tarball URLs, files and git
    /// keep theirs.
    pub fn omit_registry_resolved(&mut self) {
        let registry: Vec<String> = LockTree::new(self)
            .registry_dependencies()
            .into_iter()
            .map(str::to_owned)
            .collect();
        for location in registry {
            if let Some(entry) = self.packages.get_mut(&location) {
                entry.resolved = None;
            }
        }
    }
}

impl LockEntry {
    pub(crate) fn to_map(&self) -> Map<String, Value> {
        let mut map = self.other.clone();
        insert_string(&mut map, "name", &self.name);
        insert_string(&mut map, "version", &self.version);
        insert_string(&mut map, "resolved", &self.resolved);
        insert_string(&mut map, "integrity", &self.integrity);
        insert_string(&mut map, "license", &self.license);
        insert_string(&mut map, "deprecated", &self.deprecated);
        insert_flag(&mut map, "link", self.link);
        // npm writes `extraneous` alone; `devOptional` only says "both" when neither flag is set.
        if self.extraneous {
            insert_flag(&mut map, "extraneous", true);
        } else {
            insert_flag(&mut map, "peer", self.peer);
            insert_flag(&mut map, "dev", self.dev);
            insert_flag(&mut map, "optional", self.optional);
            insert_flag(
                &mut map,
                "devOptional",
                self.dev_optional && !self.dev && !self.optional,
            );
        }
        insert_flag(&mut map, "inBundle", self.in_bundle);
        insert_flag(&mut map, "hasInstallScript", self.has_install_script);
        insert_flag(&mut map, "hasShrinkwrap", self.has_shrinkwrap);
        insert_strings(&mut map, "dependencies", &self.dependencies);
        if let Some(dev_dependencies) = &self.dev_dependencies {
            map.insert("devDependencies".to_owned(), string_map(dev_dependencies));
        }
        insert_strings(
            &mut map,
            "optionalDependencies",
            &self.optional_dependencies,
        );
        insert_strings(&mut map, "peerDependencies", &self.peer_dependencies);
        if !self.peer_dependencies_meta.is_empty() {
            let metas = self
                .peer_dependencies_meta
                .iter()
                .map(|(name, meta)| (name.clone(), Value::Object(meta.to_map())))
                .collect();
            map.insert("peerDependenciesMeta".to_owned(), Value::Object(metas));
        }
        insert_strings(&mut map, "bin", &self.bin);
        insert_strings(&mut map, "engines", &self.engines);
        insert_list(&mut map, "os", &self.os);
        insert_list(&mut map, "cpu", &self.cpu);
        insert_list(&mut map, "libc", &self.libc);
        insert_value(&mut map, "funding", &self.funding);
        insert_value(&mut map, "bundleDependencies", &self.bundle_dependencies);
        insert_value(&mut map, "workspaces", &self.workspaces);
        map
    }
}

impl PeerDependencyMeta {
    fn to_map(&self) -> Map<String, Value> {
        let mut map = self.other.clone();
        if let Some(optional) = self.optional {
            map.insert("optional".to_owned(), optional.into());
        }
        map
    }
}

fn insert_string(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(value) = value.as_ref().filter(|value| !value.is_empty()) {
        map.insert(key.to_owned(), value.as_str().into());
    }
}

fn insert_flag(map: &mut Map<String, Value>, key: &str, value: bool) {
    if value {
        map.insert(key.to_owned(), true.into());
    }
}

fn insert_strings(map: &mut Map<String, Value>, key: &str, value: &BTreeMap<String, String>) {
    if !value.is_empty() {
        map.insert(key.to_owned(), string_map(value));
    }
}

fn string_map(value: &BTreeMap<String, String>) -> Value {
    Value::Object(
        value
            .iter()
            .map(|(key, value)| (key.clone(), value.as_str().into()))
            .collect(),
    )
}

fn insert_list(map: &mut Map<String, Value>, key: &str, value: &[String]) {
    if !value.is_empty() {
        map.insert(key.to_owned(), value.into());
    }
}

fn insert_value(map: &mut Map<String, Value>, key: &str, value: &Option<Value>) {
    if let Some(value) = value.as_ref().filter(|value| !is_blank(value)) {
        map.insert(key.to_owned(), value.clone());
    }
}

/// Replaces `path` with `contents` with [`utoo_atomic_write::write_atomic`]:
/// readers see the old file or the new one, never a truncated one, and the
/// file keeps its permissions and owner. A symlinked `path` has its target
/// replaced.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), LockfileError> {
    utoo_atomic_write::write_atomic(path, contents).map_err(|source| LockfileError::Write {
        path: path.to_owned(),
        source,
    })
}
