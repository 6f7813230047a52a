//! After a package is placed, copies of it deeper in the same subtree that
//! it now serves are removed (arborist's pruneDedupable and canDedupe).

use nodejs_semver::Version;

use super::can_place::can_replace;
use crate::tree::{NodeId, Tree, ROOT};

/// Prunes the other copies of `name` below `target`, and their children,
/// where `placed` (at `target`) serves their dependents.
pub(super) fn dedupe_below(tree: &mut Tree, target: NodeId, name: &str, placed: NodeId) {
    let duplicates: Vec<NodeId> = same_name_nodes(tree, name)
        .into_iter()
        .filter(|&n| n != placed && tree.is_descendant_of(n, target))
        .collect();
    for dup in duplicates {
        let kids: Vec<NodeId> = tree.node(dup).children.values().copied().collect();
        prune_dedupable(tree, dup);
        for kid in kids {
            prune_dedupable(tree, kid);
        }
    }
}

/// Packages (not folders or links) placed as `name`.
fn same_name_nodes(tree: &Tree, name: &str) -> Vec<NodeId> {
    tree.live()
        .filter(|&id| {
            let node = tree.node(id);
            id != ROOT && node.name == name && node.top.is_none() && node.link_target.is_none()
        })
        .collect()
}

/// Removes a node (with what only it needed) when whatever its dependents
/// would resolve to without it serves them as well.
fn prune_dedupable(tree: &mut Tree, id: NodeId) {
    if tree.node(id).removed || !can_dedupe(tree, id) {
        return;
    }
    for dep in tree.exclusive_deps(id) {
        if !tree.node(dep).removed {
            tree.remove(dep);
        }
    }
}

/// Never a package from a bundle: the bundler ships it as it is.
fn can_dedupe(tree: &Tree, id: NodeId) -> bool {
    if tree.node(id).bundled {
        return false;
    }
    let Some(parent) = tree.node(id).parent else {
        return false;
    };
    let Some(grandparent) = tree.node(parent).parent else {
        return false;
    };
    if tree.edges_in(id).is_empty() {
        return true;
    }
    let node = tree.node(id);
    let Some(other) = tree.resolve(grandparent, &node.name) else {
        return false;
    };
    let other = &tree.node(other).manifest;
    if other.name == node.manifest.name && other.version == node.version() {
        return true;
    }
    if !can_replace(tree, id, other) {
        return false;
    }
    match (
        Version::parse(&other.version),
        Version::parse(node.version()),
    ) {
        (Ok(other), Ok(this)) => other > this,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use utoo_npm_types::Manifest;

    use super::*;
    use crate::edge::{Edge, EdgeKind};
    use crate::overrides::{Overrides, ROOT_RULES};

    fn manifest(name: &str, version: &str, deps: &[(&str, &str)]) -> Arc<Manifest> {
        Arc::new(Manifest {
            name: name.into(),
            version: version.into(),
            dependencies: deps
                .iter()
                .map(|(n, s)| (n.to_string(), s.to_string()))
                .collect(),
            ..Manifest::default()
        })
    }

    #[test]
    fn a_bundled_copy_is_never_deduped() {
        let root_edges = vec![
            Edge::new("b", "1", EdgeKind::Prod),
            Edge::new("x", "^1", EdgeKind::Prod),
        ];
        let mut tree = Tree::new(
            manifest("root", "1.0.0", &[]),
            root_edges,
            Overrides::default(),
        );
        let bundler = tree.add(
            ROOT,
            "b",
            manifest("b", "1.0.0", &[]),
            Vec::new(),
            ROOT_RULES,
        );
        let inner = manifest("in", "1.0.0", &[("x", "^1")]);
        tree.add_bundled(bundler, "in", inner, false);
        let bundled_x = tree.add_bundled(bundler, "x", manifest("x", "1.0.0", &[]), false);
        let placed = tree.add(
            ROOT,
            "x",
            manifest("x", "1.5.0", &[]),
            Vec::new(),
            ROOT_RULES,
        );
        dedupe_below(&mut tree, ROOT, "x", placed);
        assert!(!tree.node(bundled_x).removed);
    }
}
