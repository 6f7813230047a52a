//! The legacy `dependencies` section of a lockfile version 2, built from the
//! `packages` section as arborist's `Shrinkwrap#buildLegacyLockfile` builds it
//! from the tree: one nested object per `node_modules` folder, each package
//! with how it was asked for (`version`, `resolved`, `integrity`, `from` for
//! git), its flags, `bundled` when a dependency bundles it, the ranges it
//! `requires` (peers left out) and its own nested `dependencies`.

use serde_json::{Map, Value};
use utoo_npm_collate::compare;

use crate::edges::{name_of, split_location, LockTree};
use crate::model::{LockEntry, Lockfile};
use crate::spec::{relative_file_spec, SpecKind};

/// The `dependencies` section npm writes beside `packages` for `lockfile`;
/// `None` when nothing is installed in the project's `node_modules` (npm then
/// writes no section).
pub(crate) fn legacy_dependencies(lockfile: &Lockfile) -> Option<Value> {
    let tree = LockTree::new(lockfile);
    tree.children_of("", &[])
}

impl<'a> LockTree<'a> {
    /// The legacy entries of the packages in `location`'s `node_modules`,
    /// leaving out any whose folder is already on the way down (a cycle of links).
    fn children_of(&self, location: &str, path: &[&str]) -> Option<Value> {
        let kids = self.children.get(location)?;
        let mut kid_path = path.to_vec();
        kid_path.push(location);
        let dependencies: Map<String, Value> = kids
            .iter()
            .filter(|(_, kid)| !path.contains(&self.realpath(kid)))
            .map(|(name, kid)| ((*name).to_owned(), self.entry(kid, &kid_path)))
            .collect();
        (!dependencies.is_empty()).then_some(Value::Object(dependencies))
    }

    /// A link's folder, or the location itself.
    fn realpath(&self, location: &'a str) -> &'a str {
        match &self.packages[location] {
            LockEntry {
                link: true,
                resolved: Some(target),
                ..
            } => target,
            _ => location,
        }
    }

    fn entry(&self, location: &str, path: &[&str]) -> Value {
        let node = &self.packages[location];
        let realpath = self.realpath(location);
        let mut lock = Map::new();
        let resolved_kind = node.resolved.as_deref().map(SpecKind::of);
        // npm's `spec`: how a dependent asked for it, else its `resolved` as
        // if asked for from the project.
        let spec = match self.chosen_edge_in(location) {
            Some((from, spec)) => Some((from, spec, format!("{}@{spec}", name_of(location)))),
            None => node.resolved.as_deref().map(|r| ("", r, r.to_owned())),
        };
        let spec_kind = spec.as_ref().map(|(_, text, _)| SpecKind::of(text));
        let is = |kind: Option<SpecKind>, wanted: SpecKind| kind == Some(wanted);

        let version = match &spec {
            _ if node.link => Some(format!("file:{realpath}")),
            Some((from, text, _)) if is(spec_kind, SpecKind::File) => {
                Some(relative_file_spec(from, text))
            }
            Some((_, text, _)) if is(spec_kind, SpecKind::Remote) => Some((*text).to_owned()),
            _ if is(spec_kind, SpecKind::Git) || is(resolved_kind, SpecKind::Git) => {
                if let Some((_, _, raw)) = &spec {
                    lock.insert("from".to_owned(), raw.as_str().into());
                }
                node.resolved.clone()
            }
            _ => match (&node.name, &node.version) {
                (Some(name), Some(version)) => Some(format!("npm:{name}@{version}")),
                _ => node.version.clone(),
            },
        };
        if let Some(version) = version {
            lock.insert("version".to_owned(), version.into());
        }
        if node.in_bundle && self.bundler(location) != Some("") {
            lock.insert("bundled".to_owned(), true.into());
        }
        let not_fetched_by_spec = |kind: Option<SpecKind>| {
            !matches!(
                kind,
                Some(SpecKind::Git | SpecKind::File | SpecKind::Directory)
            )
        };
        if let Some(resolved) = node.resolved.as_ref().filter(|_| {
            !node.link
                && not_fetched_by_spec(resolved_kind)
                && not_fetched_by_spec(spec_kind)
                && !is(spec_kind, SpecKind::Remote)
        }) {
            lock.insert("resolved".to_owned(), resolved.as_str().into());
        }
        if let Some(integrity) = &node.integrity {
            lock.insert("integrity".to_owned(), integrity.as_str().into());
        }
        if node.extraneous {
            lock.insert("extraneous".to_owned(), true.into());
        } else if !node.link {
            for (flag, set) in [
                ("peer", node.peer),
                (
                    "devOptional",
                    node.dev_optional && !node.dev && !node.optional,
                ),
                ("dev", node.dev),
                ("optional", node.optional),
            ] {
                if set {
                    lock.insert(flag.to_owned(), true.into());
                }
            }
        }
        if let Some(target) = self.packages.get(realpath) {
            let edges = self.edges_out(realpath, target);
            if !edges.is_empty() {
                let requires: Map<String, Value> = edges
                    .into_iter()
                    .filter(|(_, _, peer)| !peer)
                    .map(|(name, spec, _)| {
                        let spec = match spec.starts_with("file:") {
                            true => relative_file_spec(realpath, spec),
                            false => spec.to_owned(),
                        };
                        (name.to_owned(), spec.into())
                    })
                    .collect();
                lock.insert("requires".to_owned(), Value::Object(requires));
            }
        }
        if let Some(dependencies) = self.children_of(realpath, path) {
            lock.insert("dependencies".to_owned(), dependencies);
        }
        Value::Object(lock)
    }

    /// The edge npm takes as "where this package came from": the dependent
    /// with the fewest `node_modules` in its location, then by name.
    fn chosen_edge_in(&self, location: &str) -> Option<(&'a str, &'a str)> {
        let depth = |from: &str| from.matches("node_modules").count();
        let last_part = |from: &'a str| from.rsplit("node_modules").next().unwrap_or(from);
        self.edges_in
            .get(location)?
            .iter()
            .min_by(|(a, _), (b, _)| {
                depth(a)
                    .cmp(&depth(b))
                    .then_with(|| compare(last_part(a), last_part(b)))
            })
            .copied()
    }

    /// The outermost of the packages that bundle `location` (`""` for the
    /// project itself): the first enclosing package not itself bundled.
    fn bundler(&self, location: &str) -> Option<&'a str> {
        let mut at = split_location(location)?.0;
        while let Some(parent) = self.packages.get_key_value(at) {
            if !parent.1.in_bundle {
                return Some(parent.0.as_str());
            }
            at = split_location(at)?.0;
        }
        Some("")
    }
}
