//! The dependency graph a lockfile's `packages` section describes: which
//! packages are in which `node_modules` folder, and which dependents each
//! package serves (arborist's `children` and `edgesIn`).

use std::collections::{BTreeMap, HashMap};

use crate::model::{LockEntry, Lockfile};
use crate::spec::SpecKind;

pub(crate) struct LockTree<'a> {
    pub(crate) packages: &'a BTreeMap<String, LockEntry>,
    overridden_specs: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// Child locations (in `node_modules`) of each location, by name.
    pub(crate) children: HashMap<&'a str, Vec<(&'a str, &'a str)>>,
    /// The dependents of each location: their location and spec for it.
    pub(crate) edges_in: HashMap<String, Vec<(&'a str, &'a str)>>,
}

impl<'a> LockTree<'a> {
    pub(crate) fn new(lockfile: &'a Lockfile) -> Self {
        let packages = &lockfile.packages;
        let mut children: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
        for location in packages.keys() {
            if let Some((parent, name)) = split_location(location) {
                children.entry(parent).or_default().push((name, location));
            }
        }
        let mut tree = LockTree {
            packages,
            overridden_specs: &lockfile.overridden_specs,
            children,
            edges_in: HashMap::new(),
        };
        let mut edges_in: HashMap<String, Vec<(&str, &str)>> = HashMap::new();
        for (location, entry) in packages.iter().filter(|(_, entry)| !entry.link) {
            for (name, spec, _) in tree.edges_out(location, entry) {
                if let Some(target) = tree.resolve(location, name) {
                    edges_in.entry(target).or_default().push((location, spec));
                }
            }
        }
        tree.edges_in = edges_in;
        tree
    }

    /// The package's dependency edges as arborist loads them — peer, then
    /// prod, then optional, then (for a project, workspace or linked folder)
    /// dev, a later kind replacing an earlier one of the same name — with
    /// the spec an override gave each, and whether each is a peer edge.
    pub(crate) fn edges_out(
        &self,
        location: &str,
        entry: &'a LockEntry,
    ) -> Vec<(&'a str, &'a str, bool)> {
        let mut edges: BTreeMap<&str, (&str, bool)> = BTreeMap::new();
        let is_top = location.is_empty() || !location.contains("node_modules/");
        let kinds = [
            (Some(&entry.peer_dependencies), true),
            (Some(&entry.dependencies), false),
            (Some(&entry.optional_dependencies), false),
            (entry.dev_dependencies.as_ref().filter(|_| is_top), false),
        ];
        for (deps, peer) in kinds {
            for (name, spec) in deps.into_iter().flatten() {
                edges.insert(name, (spec, peer));
            }
        }
        let overridden = self.overridden_specs.get(location);
        edges
            .into_iter()
            .map(|(name, (spec, peer))| {
                let spec = overridden
                    .and_then(|specs| specs.get(name))
                    .map_or(spec, String::as_str);
                (name, spec, peer)
            })
            .collect()
    }

    /// Locations of the packages every dependent asks for from the registry
    /// (a version, range, tag or `npm:` alias): arborist's `isRegistryDependency`.
    pub(crate) fn registry_dependencies(&self) -> Vec<&'a str> {
        self.packages
            .keys()
            .filter(|location| {
                self.edges_in.get(location.as_str()).is_some_and(|edges| {
                    edges
                        .iter()
                        .all(|(_, spec)| SpecKind::of(spec) == SpecKind::Registry)
                })
            })
            .map(String::as_str)
            .collect()
    }

    /// Where `name` required from `from` is found: its own `node_modules`, then
    /// each enclosing one up to the root's.
    fn resolve(&self, from: &str, name: &str) -> Option<String> {
        let mut at = from;
        loop {
            let candidate = match at {
                "" => format!("node_modules/{name}"),
                _ => format!("{at}/node_modules/{name}"),
            };
            if self.packages.contains_key(&candidate) {
                return Some(candidate);
            }
            if at.is_empty() {
                return None;
            }
            at = split_location(at).map_or("", |(parent, _)| parent);
        }
    }
}

/// `node_modules/a/node_modules/@s/b` → (`node_modules/a`, `@s/b`); `None`
/// for a location outside any `node_modules` (the root, a workspace).
pub(crate) fn split_location(location: &str) -> Option<(&str, &str)> {
    let (parent, name) = location.rsplit_once("node_modules/")?;
    Some((parent.strip_suffix('/').unwrap_or(parent), name))
}

pub(crate) fn name_of(location: &str) -> &str {
    split_location(location).map_or(location, |(_, name)| name)
}
