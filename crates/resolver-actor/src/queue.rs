//! What the tree builder still has to do: nodes with problem edges,
//! handled shallowest first, then in npm's order of their paths, as in
//! arborist's build-ideal-tree.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};

use utoo_npm_collate::compare;

use crate::edge::{Edge, EdgeKind};
use crate::tree::{NodeId, Tree, ROOT};

/// Nodes waiting to be built, each at most once at a time.
#[derive(Default)]
pub(crate) struct Queue {
    entries: BTreeSet<Entry>,
    queued: HashSet<NodeId>,
}

impl Queue {
    pub(crate) fn push(&mut self, tree: &Tree, id: NodeId) {
        if self.queued.insert(id) {
            self.entries.insert(Entry {
                depth: tree.depth(id),
                path: tree.path(id),
                id,
            });
        }
    }

    pub(crate) fn pop(&mut self) -> Option<NodeId> {
        let entry = self.entries.pop_first()?;
        self.queued.remove(&entry.id);
        Some(entry.id)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

struct Entry {
    depth: usize,
    path: String,
    id: NodeId,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.depth
            .cmp(&other.depth)
            .then_with(|| compare(&self.path, &other.path))
            .then_with(|| self.id.cmp(&other.id))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

/// Optional edges whose package could not be loaded: left out, as npm
/// does, and no longer problems.
#[derive(Default)]
pub(crate) struct SkippedOptional(HashSet<(NodeId, String)>);

impl SkippedOptional {
    pub(crate) fn insert(&mut self, id: NodeId, name: &str) {
        self.0.insert((id, name.to_string()));
    }

    fn contains(&self, id: NodeId, name: &str) -> bool {
        self.0.contains(&(id, name.to_string()))
    }
}

/// arborist's problemEdges: the node's edges that are missing (unless
/// optional peers, or skipped) or not met, sorted by name.
/// A package's bundled dependencies are never problems: they come from its
/// tarball, whatever is there. The project's own `bundleDependencies` (and
/// a folder's) matter only when packing, so theirs are installed as usual.
/// Packages from a bundle are never built.
pub(crate) fn problem_edges(tree: &Tree, id: NodeId, skipped: &SkippedOptional) -> Vec<Edge> {
    let node = tree.node(id);
    if node.bundled {
        return Vec::new();
    }
    let bundled = match node.top {
        None if id != ROOT => node.manifest.bundled_names(),
        _ => Vec::new(),
    };
    let mut problems: Vec<Edge> = node
        .edges
        .iter()
        .filter(|edge| !bundled.contains(&edge.name))
        .filter(|edge| match tree.edge_target_valid(id, edge) {
            None => edge.kind != EdgeKind::PeerOptional && !skipped.contains(id, &edge.name),
            Some(valid) => !valid,
        })
        .cloned()
        .collect();
    problems.sort_by(|a, b| compare(&a.name, &b.name));
    problems
}
