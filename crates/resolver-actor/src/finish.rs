//! Turns a built [`Tree`] into the result installers use: npm's dependency
//! flags, extraneous nodes pruned, and which packages go on disk.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use utoo_npm_collate::compare;
use utoo_npm_types::{Manifest, Platform};

use crate::edge::EdgeKind;
use crate::error::ResolveError;
use crate::tree::{NodeId, NodeMap, Tree, ROOT};
use crate::warning::Warning;

/// How a package of the tree gets where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageKind {
    /// Extracted from its tarball into `node_modules`.
    Tarball,
    /// A symlink to the folder at `target`, relative to the project.
    Link { target: String },
    /// A folder of its own (a workspace, or a `file:` dependency's folder),
    /// with its `package.json`.
    Folder { package_json: Arc<Value> },
    /// Shipped inside the tarball of the package it is nested in (its
    /// bundler): placed with the bundler's files.
    Bundled,
}

/// One package of the final tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPackage {
    /// Install path relative to the project, e.g. `node_modules/a/node_modules/b`.
    pub path: String,
    pub name: String,
    pub manifest: Arc<Manifest>,
    pub dev: bool,
    pub optional: bool,
    pub dev_optional: bool,
    pub peer: bool,
    /// False for optional packages this platform can't run (and what only they need):
    /// npm keeps them in the lockfile but not in `node_modules`.
    pub installable: bool,
    /// npm's `inBundle`: in some package's bundle, the project's own
    /// `bundleDependencies` included (those are still installed from the registry).
    pub in_bundle: bool,
    pub kind: PackageKind,
}

/// The ideal tree, packages sorted by install path as npm sorts them.
#[derive(Debug, Default)]
pub struct ResolvedTree {
    pub packages: Vec<ResolvedPackage>,
    pub warnings: Vec<Warning>,
    /// The specs overrides gave dependencies, by the location of the
    /// package declaring them (`""` for the project): npm writes these in a
    /// version 2 lockfile's `requires`.
    pub overridden_specs: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Flags {
    extraneous: bool,
    dev: bool,
    optional: bool,
    dev_optional: bool,
    peer: bool,
}

const ALL_SET: Flags = Flags {
    extraneous: true,
    dev: true,
    optional: true,
    dev_optional: true,
    peer: true,
};

const NONE_SET: Flags = Flags {
    extraneous: false,
    dev: false,
    optional: false,
    dev_optional: false,
    peer: false,
};

/// arborist's calcDepFlags: every flag starts set and is cleared walking out from the root.
fn dep_flags(tree: &Tree) -> NodeMap<Flags> {
    let mut flags = tree.node_map(ALL_SET);
    flags[ROOT] = NONE_SET;
    let mut queue = vec![ROOT];
    while let Some(node) = queue.pop() {
        if !flags[node].extraneous {
            let mut up = tree.node(node).parent;
            while let Some(p) = up.filter(|&p| flags[p].extraneous) {
                flags[p].extraneous = false;
                up = tree.node(p).parent;
            }
        }
        let from = flags[node];
        for edge in &tree.node(node).edges {
            let Some(to) = tree.resolve(node, &edge.name) else {
                continue;
            };
            let (peer, optional, dev) = (
                edge.kind.is_peer(),
                edge.kind.is_optional(),
                edge.kind == EdgeKind::Dev,
            );
            // A target reached only through optional peer edges stays extraneous.
            let peer_optional = edge.kind == EdgeKind::PeerOptional;
            let target = &mut flags[to];
            let mut changed = false;
            let mut clear = |flag: &mut bool, when: bool| {
                if *flag && when {
                    *flag = false;
                    changed = true;
                }
            };
            clear(&mut target.extraneous, !from.extraneous && !peer_optional);
            clear(&mut target.dev, !from.dev && !dev);
            clear(&mut target.optional, !from.optional && !optional);
            clear(
                &mut target.dev_optional,
                !from.dev_optional && !from.dev && !from.optional && !dev && !optional,
            );
            clear(&mut target.peer, !from.peer && !peer);
            if changed {
                queue.push(to);
            }
        }
        // A link passes its flags on to the folder it points to.
        if let Some(target) = tree.node(node).link_target {
            let before = flags[target];
            let to = &mut flags[target];
            to.extraneous &= from.extraneous;
            to.dev &= from.dev;
            to.optional &= from.optional;
            to.dev_optional &= from.dev_optional;
            to.peer &= from.peer;
            if flags[target] != before {
                queue.push(target);
            }
        }
    }
    for f in flags.values_mut() {
        if f.dev_optional && (f.dev || f.optional) {
            f.dev_optional = false;
        }
    }
    flags
}

/// Nodes reachable from the root without going through an optional package
/// that this platform can't run; a non-optional one is an error.
fn installable(
    tree: &Tree,
    flags: &NodeMap<Flags>,
    platform: &Platform,
) -> Result<HashSet<NodeId>, ResolveError> {
    let mut reached = HashSet::from([ROOT]);
    let mut stack = vec![ROOT];
    while let Some(node) = stack.pop() {
        if let Some(target) = tree.node(node).link_target {
            if reached.insert(target) {
                stack.push(target);
            }
        }
        for edge in &tree.node(node).edges {
            let Some(to) = tree.resolve(node, &edge.name) else {
                continue;
            };
            if reached.contains(&to) {
                continue;
            }
            let m = &tree.node(to).manifest;
            if !platform.allows(&m.os, &m.cpu, &m.libc) {
                if flags[to].optional {
                    continue;
                }
                return Err(ResolveError::BadPlatform {
                    name: m.name.clone(),
                    version: m.version.clone(),
                    os: m.os.clone(),
                    cpu: m.cpu.clone(),
                });
            }
            reached.insert(to);
            stack.push(to);
        }
    }
    Ok(reached)
}

/// The nodes in some package's bundle (arborist's inBundle).
fn in_bundle(tree: &Tree) -> HashSet<NodeId> {
    let any_bundler = tree
        .live()
        .any(|id| !tree.node(id).manifest.bundled_names().is_empty());
    if !any_bundler {
        return HashSet::new();
    }
    tree.live()
        .filter(|&id| bundler(tree, id, &mut Vec::new()).is_some())
        .collect()
}

/// arborist's Node.getBundler: inside a bundled package, listed in its
/// parent's `bundleDependencies`, or a dependency of a package bundled by
/// its parent. `path` (shared by the whole walk, as in arborist) stops cycles.
fn bundler(tree: &Tree, id: NodeId, path: &mut Vec<NodeId>) -> Option<NodeId> {
    if path.contains(&id) {
        return None;
    }
    path.push(id);
    let node = tree.node(id);
    let parent = node.parent?;
    if let Some(found) = bundler(tree, parent, path) {
        return Some(found);
    }
    if tree
        .node(parent)
        .manifest
        .bundled_names()
        .contains(&node.name)
    {
        return Some(parent);
    }
    tree.edges_in(id)
        .into_iter()
        .find(|&from| bundler(tree, from, path) == Some(parent))
        .map(|_| parent)
}

/// Computes flags, drops extraneous nodes and lists the packages in npm's order.
pub fn finish(
    mut tree: Tree,
    platform: &Platform,
    warnings: Vec<Warning>,
) -> Result<ResolvedTree, ResolveError> {
    let flags = dep_flags(&tree);
    let extraneous: Vec<NodeId> = tree
        .live()
        .filter(|&id| id != ROOT && flags[id].extraneous)
        .collect();
    for id in extraneous {
        if !tree.node(id).removed {
            tree.remove(id);
        }
    }
    let flags = dep_flags(&tree);
    let installable = installable(&tree, &flags, platform)?;
    let in_bundle = in_bundle(&tree);
    let mut packages: Vec<ResolvedPackage> = tree
        .live()
        .filter(|&id| id != ROOT)
        .map(|id| {
            let node = tree.node(id);
            let f = flags[id];
            ResolvedPackage {
                path: tree.path(id),
                name: node.name.clone(),
                manifest: node.manifest.clone(),
                dev: f.dev,
                optional: f.optional,
                dev_optional: f.dev_optional,
                peer: f.peer,
                installable: installable.contains(&id),
                in_bundle: in_bundle.contains(&id),
                kind: match (&node.top, node.link_target) {
                    (Some(folder), _) => PackageKind::Folder {
                        package_json: folder.package_json.clone(),
                    },
                    (None, Some(target)) => PackageKind::Link {
                        target: tree.path(target),
                    },
                    (None, None) if node.bundled => PackageKind::Bundled,
                    (None, None) => PackageKind::Tarball,
                },
            }
        })
        .collect();
    packages.sort_by(|a, b| compare(&a.path, &b.path));
    let overridden_specs = tree
        .live()
        .filter_map(|id| {
            let specs: BTreeMap<String, String> = tree
                .node(id)
                .edges
                .iter()
                .filter_map(|edge| Some((edge.name.clone(), edge.overridden_spec()?.to_string())))
                .collect();
            (!specs.is_empty()).then(|| (tree.path(id), specs))
        })
        .collect();
    Ok(ResolvedTree {
        packages,
        warnings,
        overridden_specs,
    })
}
