use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use nodejs_semver::{Range, Version};
use serde_json::Value;
use utoo_npm_types::{GitReference, Spec};

use crate::load::Workspace;
use crate::tree::{Edge, EdgeKind, Node, NodeId, NodeKind, Tree, ROOT};

/// Gives every package its dependency edges, resolved as Node.js resolves
/// them and checked against their specs, and fills in `edges_in`.
pub(crate) fn build(tree: &mut Tree, workspaces: &[Workspace]) {
    for id in 0..tree.nodes.len() {
        if tree.nodes[id].is_link() {
            continue;
        }
        let mut edges = declared_edges(&tree.nodes[id]);
        if id == ROOT {
            for workspace in workspaces {
                let spec = format!(
                    "file:{}",
                    tree.root().path.join(&workspace.location).display()
                );
                edges.insert(workspace.name.clone(), (spec, EdgeKind::Workspace));
            }
        }
        let mut resolved = BTreeMap::new();
        for (name, (spec, kind)) in edges {
            let to = tree.resolve(id, &name);
            let valid = to.is_some_and(|to| is_valid(tree, to, &name, &spec, id));
            resolved.insert(
                name.clone(),
                Edge {
                    name,
                    spec,
                    kind,
                    to,
                    valid,
                },
            );
        }
        tree.nodes[id].edges_out = resolved;
    }
    for id in 0..tree.nodes.len() {
        let targets: Vec<(NodeId, String)> = tree.nodes[id]
            .edges_out
            .values()
            .filter_map(|edge| Some((edge.to?, edge.name.clone())))
            .collect();
        for (to, name) in targets {
            tree.nodes[to].edges_in.push((id, name));
        }
    }
}

/// A package's dependencies and their kinds, as arborist loads them: peer,
/// then prod, then optional, then (for the project and link targets) dev,
/// a later kind replacing an earlier one for the same name.
fn declared_edges(node: &Node) -> BTreeMap<String, (String, EdgeKind)> {
    let package = &node.package;
    let mut edges = BTreeMap::new();
    let optional_peer = |name: &str| {
        package
            .get("peerDependenciesMeta")
            .and_then(|meta| meta.get(name))
            .and_then(|meta| meta.get("optional"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    for (name, spec) in dependency_map(package, "peerDependencies") {
        let kind = match optional_peer(&name) {
            true => EdgeKind::PeerOptional,
            false => EdgeKind::Peer,
        };
        edges.insert(name, (spec, kind));
    }
    let mut kinds = vec![
        ("dependencies", EdgeKind::Prod),
        ("optionalDependencies", EdgeKind::Optional),
    ];
    if node.parent.is_none() {
        kinds.push(("devDependencies", EdgeKind::Dev));
    }
    for (field, kind) in kinds {
        for (name, spec) in dependency_map(package, field) {
            edges.insert(name, (spec, kind));
        }
    }
    edges
}

fn dependency_map(package: &Value, field: &str) -> Vec<(String, String)> {
    package
        .get(field)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, spec)| Some((name.clone(), spec.as_str()?.to_string())))
        .collect()
}

/// Whether the node `to` satisfies `spec` for the dependent `from`, as
/// arborist's depValid decides.
fn is_valid(tree: &Tree, to: NodeId, name: &str, spec: &str, from: NodeId) -> bool {
    let child = &tree.nodes[to];
    let from_dir = &tree.nodes[from].path;
    let trimmed = spec.trim();
    if trimmed.is_empty() || trimmed == "*" {
        return true;
    }
    match Spec::parse(name, trimmed) {
        Ok(Spec::Alias { spec, .. }) => satisfies(child, &spec),
        Ok(spec) => match spec {
            Spec::Directory(folder) => link_points_at(tree, child, &from_dir.join(folder)),
            Spec::TarballFile(file) => {
                !child.is_link()
                    && child
                        .resolved
                        .as_deref()
                        .and_then(|r| r.strip_prefix("file:"))
                        .is_some_and(|resolved| {
                            same_path(&tree.root().path.join(resolved), &from_dir.join(&file))
                        })
            }
            Spec::TarballUrl(url) => child.resolved.as_deref() == Some(url.as_str()),
            Spec::Git(git) => {
                let resolved = child.resolved.as_deref().unwrap_or_default();
                let (repository, commit) = resolved.split_once('#').unwrap_or((resolved, ""));
                repository == git.repository
                    && match &git.reference {
                        GitReference::Semver(range) => version_in(child, range),
                        GitReference::Named(reference)
                            if utoo_npm_types::is_full_commit(reference) =>
                        {
                            commit == reference
                        }
                        _ => true,
                    }
            }
            other => satisfies(child, &other),
        },
        // A spec npm can't parse is satisfied by nothing.
        Err(_) => false,
    }
}

fn satisfies(child: &Node, spec: &Spec) -> bool {
    match spec {
        Spec::Range(range) => version_in(child, range),
        // A tag can't be checked offline: npm accepts any registry download.
        Spec::Tag(_) => child
            .resolved
            .as_deref()
            .is_some_and(|r| r.starts_with("https://") || r.starts_with("http://")),
        _ => false,
    }
}

fn version_in(child: &Node, range: &Range) -> bool {
    child
        .version()
        .and_then(|v| Version::parse(v).ok())
        .is_some_and(|v| range.satisfies(&v))
}

fn link_points_at(tree: &Tree, child: &Node, folder: &Path) -> bool {
    match child.kind {
        NodeKind::Link(Some(target)) => same_path(&tree.nodes[target].path, folder),
        _ => false,
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    let real = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    real(a) == real(b) || normalize(a) == normalize(b)
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
