//! An arena of placed packages shaped like `node_modules`: each node lives in
//! its parent's `node_modules` and resolves names the way Node.js does, from
//! its own folder upwards.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::{Index, IndexMut};
use std::sync::Arc;

use utoo_npm_types::Manifest;

use crate::edge::{package_edges, Edge};
use crate::local::LocalPackage;
use crate::overrides::{Overrides, RuleId, ROOT_RULES};

/// A node of one [`Tree`]; removed nodes keep their id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(usize);

pub(crate) const ROOT: NodeId = NodeId(0);

/// A value for every node of a tree, removed ones included.
pub(crate) struct NodeMap<T>(Vec<T>);

impl<T> NodeMap<T> {
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.0.iter_mut()
    }
}

impl<T> Index<NodeId> for NodeMap<T> {
    type Output = T;

    fn index(&self, id: NodeId) -> &T {
        &self.0[id.0]
    }
}

impl<T> IndexMut<NodeId> for NodeMap<T> {
    fn index_mut(&mut self, id: NodeId) -> &mut T {
        &mut self.0[id.0]
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub manifest: Arc<Manifest>,
    pub parent: Option<NodeId>,
    pub children: BTreeMap<String, NodeId>,
    pub edges: Vec<Edge>,
    pub removed: bool,
    /// For a link in `node_modules`: the node it points to.
    pub link_target: Option<NodeId>,
    /// For a package outside any `node_modules` (a workspace, or a folder
    /// some `file:` dependency links to): that folder's package.
    pub top: Option<LocalPackage>,
    /// Where a top node inside the project resolves names after its own
    /// `node_modules`: the root.
    pub fs_parent: Option<NodeId>,
    /// The override rules in force for its dependencies.
    pub overrides: RuleId,
    /// Shipped inside its bundler's tarball (arborist's inDepBundle): placed
    /// with the bundler's files, never fetched, never built.
    pub bundled: bool,
}

impl Node {
    fn new(name: &str, manifest: Arc<Manifest>, parent: Option<NodeId>, edges: Vec<Edge>) -> Node {
        Node {
            name: name.to_string(),
            manifest,
            parent,
            children: BTreeMap::new(),
            edges,
            removed: false,
            link_target: None,
            top: None,
            fs_parent: None,
            overrides: ROOT_RULES,
            bundled: false,
        }
    }

    pub fn edge(&self, name: &str) -> Option<&Edge> {
        self.edges.iter().find(|e| e.name == name)
    }

    pub fn version(&self) -> &str {
        &self.manifest.version
    }

    /// arborist's Node.matches: whether this node, placed as `name`, is the
    /// same package as `manifest` — by integrity when both have one, else by
    /// resolved URL, else by package name and version.
    pub fn matches(&self, name: &str, manifest: &Manifest) -> bool {
        if self.name != name {
            return false;
        }
        let (ours, theirs) = (&self.manifest.dist, &manifest.dist);
        if let (Some(a), Some(b)) = (ours.lock_integrity(), theirs.lock_integrity()) {
            return a == b;
        }
        if !ours.tarball.is_empty() && !theirs.tarball.is_empty() {
            return ours.tarball == theirs.tarball;
        }
        self.manifest.name == manifest.name && self.manifest.version == manifest.version
    }
}

#[derive(Debug, Clone)]
pub struct Tree {
    nodes: Vec<Node>,
    /// Nodes declaring an edge on each name, to find a node's dependents.
    dependents: HashMap<String, Vec<NodeId>>,
    overrides: Arc<Overrides>,
}

impl Tree {
    pub fn new(root_manifest: Arc<Manifest>, root_edges: Vec<Edge>, overrides: Overrides) -> Tree {
        let mut tree = Tree {
            nodes: Vec::new(),
            dependents: HashMap::new(),
            overrides: Arc::new(overrides),
        };
        let name = root_manifest.name.clone();
        tree.push(Node::new(&name, root_manifest, None, root_edges));
        tree
    }

    fn push(&mut self, mut node: Node) -> NodeId {
        let id = NodeId(self.nodes.len());
        let overrides = self.overrides.clone();
        node.edges = std::mem::take(&mut node.edges)
            .into_iter()
            .map(|edge| edge.overridden_by(&overrides, node.overrides))
            .collect();
        for edge in &node.edges {
            self.dependents
                .entry(edge.name.clone())
                .or_default()
                .push(id);
        }
        if let Some(parent) = node.parent {
            self.node_mut(parent).children.insert(node.name.clone(), id);
        }
        self.nodes.push(node);
        // Paths in specs are relative to the declaring package's folder.
        if self.node(id).edges.iter().any(Edge::is_local) {
            let base = self.path(id);
            let edges = std::mem::take(&mut self.node_mut(id).edges);
            self.node_mut(id).edges = edges.into_iter().map(|e| e.declared_in(&base)).collect();
        }
        id
    }

    /// A value for every node, all `value` to start with.
    pub(crate) fn node_map<T: Clone>(&self, value: T) -> NodeMap<T> {
        NodeMap(vec![value; self.nodes.len()])
    }

    /// Adds `manifest` as `parent/node_modules/<name>`, replacing whatever
    /// was there; `overrides` are the rules in force for its dependencies.
    pub fn add(
        &mut self,
        parent: NodeId,
        name: &str,
        manifest: Arc<Manifest>,
        edges: Vec<Edge>,
        overrides: RuleId,
    ) -> NodeId {
        if let Some(old) = self.node(parent).children.get(name).copied() {
            self.remove(old);
        }
        self.push(Node {
            overrides,
            ..Node::new(name, manifest, Some(parent), edges)
        })
    }

    /// Adds `parent/node_modules/<name>` as a package shipped inside its
    /// bundler's tarball, replacing whatever was there.
    pub fn add_bundled(
        &mut self,
        parent: NodeId,
        name: &str,
        manifest: Arc<Manifest>,
        legacy_peer_deps: bool,
    ) -> NodeId {
        if let Some(old) = self.node(parent).children.get(name).copied() {
            self.remove(old);
        }
        let edges = package_edges(&manifest, None, legacy_peer_deps);
        self.push(Node {
            bundled: true,
            ..Node::new(name, manifest, Some(parent), edges)
        })
    }

    /// Whether `id` is a package that bundles dependencies whose bundle is
    /// not in the tree yet (placed from the registry, or read from a
    /// lockfile that lacks it).
    pub(crate) fn needs_bundle(&self, id: NodeId) -> bool {
        let node = self.node(id);
        id != ROOT
            && node.top.is_none()
            && node.link_target.is_none()
            && !node.bundled
            && !node.manifest.bundled_names().is_empty()
            && !node.children.values().any(|&kid| self.node(kid).bundled)
    }

    /// Gives the nodes of a tree read from a lockfile the override rules of
    /// the edges that lead to them, walking out from the root.
    pub fn propagate_overrides(&mut self) {
        if self.overrides.is_empty() {
            return;
        }
        let mut queue: Vec<NodeId> = self
            .live()
            .filter(|&id| id == ROOT || self.node(id).top.is_some())
            .collect();
        let mut seen: HashSet<NodeId> = queue.iter().copied().collect();
        while let Some(id) = queue.pop() {
            let edges = self.node(id).edges.clone();
            for edge in edges {
                let Some(to) = self.resolve(id, &edge.name) else {
                    continue;
                };
                if !seen.insert(to) {
                    continue;
                }
                if edge.rule != ROOT_RULES && self.node(to).overrides == ROOT_RULES {
                    self.set_overrides(to, edge.rule);
                }
                queue.push(to);
            }
        }
    }

    fn set_overrides(&mut self, id: NodeId, rule: RuleId) {
        let overrides = self.overrides.clone();
        let node = self.node_mut(id);
        node.overrides = rule;
        node.edges = std::mem::take(&mut node.edges)
            .into_iter()
            .map(|edge| edge.overridden_by(&overrides, rule))
            .collect();
    }

    /// Adds a package that lives in its own folder (a workspace, or a
    /// `file:` target), with its dependencies (devDependencies included).
    /// Inside the project, it resolves names up to the root.
    pub fn add_top(&mut self, folder: LocalPackage, legacy_peer_deps: bool) -> NodeId {
        let edges = package_edges(
            &folder.manifest,
            Some(&folder.dev_dependencies),
            legacy_peer_deps,
        );
        let fs_parent = folder.is_inside().then_some(ROOT);
        let manifest = folder.manifest.clone();
        let name = manifest.name.clone();
        self.push(Node {
            top: Some(folder),
            fs_parent,
            ..Node::new(&name, manifest, None, edges)
        })
    }

    /// The top node for `location`, if there is one.
    pub fn top_at(&self, location: &str) -> Option<NodeId> {
        self.live().find(|&id| {
            self.node(id)
                .top
                .as_ref()
                .is_some_and(|top| top.location == location)
        })
    }

    /// Adds `parent/node_modules/<name>` as a symlink to `target`.
    pub fn add_link(&mut self, parent: NodeId, name: &str, target: NodeId) -> NodeId {
        if let Some(old) = self.node(parent).children.get(name).copied() {
            self.remove(old);
        }
        let manifest = self.node(target).manifest.clone();
        self.push(Node {
            link_target: Some(target),
            ..Node::new(name, manifest, Some(parent), Vec::new())
        })
    }

    /// Detaches a node and everything in its `node_modules`.
    pub fn remove(&mut self, id: NodeId) {
        if let Some(parent) = self.node(id).parent {
            let name = self.node(id).name.clone();
            if self.node(parent).children.get(&name) == Some(&id) {
                self.node_mut(parent).children.remove(&name);
            }
        }
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            self.node_mut(n).removed = true;
            stack.extend(self.node(n).children.values().copied());
        }
    }

    /// Like [`Tree::add`], but the package replaced hands its own
    /// `node_modules` over to the newcomer.
    pub fn replace(
        &mut self,
        parent: NodeId,
        name: &str,
        manifest: Arc<Manifest>,
        edges: Vec<Edge>,
        overrides: RuleId,
    ) -> NodeId {
        let old = self.node(parent).children.get(name).copied();
        if let Some(old) = old {
            // The old package's bundle goes with it: the newcomer brings its own.
            let bundle: Vec<NodeId> = self
                .node(old)
                .children
                .values()
                .copied()
                .filter(|&kid| self.node(kid).bundled)
                .collect();
            for kid in bundle {
                self.remove(kid);
            }
        }
        let kids = match old {
            Some(old) => std::mem::take(&mut self.node_mut(old).children),
            None => BTreeMap::new(),
        };
        let placed = self.add(parent, name, manifest, edges, overrides);
        for (kid_name, kid) in kids {
            self.node_mut(kid).parent = Some(placed);
            self.node_mut(placed).children.insert(kid_name, kid);
        }
        placed
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.0]
    }

    pub fn live(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len())
            .map(NodeId)
            .filter(|&id| !self.node(id).removed)
    }

    /// Node.js resolution: the node's own `node_modules`, then each ancestor's.
    pub fn resolve(&self, from: NodeId, name: &str) -> Option<NodeId> {
        self.ancestry(from)
            .find_map(|id| self.node(id).children.get(name).copied())
    }

    /// arborist's depth: folders of `node_modules` above the node (top nodes are 0).
    pub fn depth(&self, id: NodeId) -> usize {
        std::iter::successors(Some(id), |&n| self.node(n).parent).count() - 1
    }

    /// The node itself, then each folder names resolve from, up to the root.
    pub fn ancestry(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(Some(id), move |&n| {
            self.node(n).parent.or(self.node(n).fs_parent)
        })
    }

    pub fn is_descendant_of(&self, id: NodeId, ancestor: NodeId) -> bool {
        self.ancestry(id).any(|n| n == ancestor)
    }

    /// The install path npm uses as the lockfile key (`""` for the root).
    pub fn path(&self, id: NodeId) -> String {
        let node = &self.node(id);
        if let Some(top) = &node.top {
            return top.location.clone();
        }
        match node.parent {
            None => String::new(),
            Some(parent) => {
                let parent_path = self.path(parent);
                let prefix = if parent_path.is_empty() { "" } else { "/" };
                format!("{parent_path}{prefix}node_modules/{}", node.name)
            }
        }
    }

    /// Live nodes declaring an edge on `name`.
    pub fn dependents_on(&self, name: &str) -> Vec<NodeId> {
        self.dependents
            .get(name)
            .map(|ids| {
                ids.iter()
                    .copied()
                    .filter(|&id| !self.node(id).removed)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Edges (as dependent ids) that currently resolve to `target`.
    pub fn edges_in(&self, target: NodeId) -> Vec<NodeId> {
        let name = &self.node(target).name;
        self.dependents_on(name)
            .into_iter()
            .filter(|&from| self.resolve(from, name) == Some(target))
            .collect()
    }

    /// Whether `from`'s edge on `name` is met (npm's `edge.valid && edge.to`,
    /// with a peer found inside the dependent's own folder counting as unmet).
    pub fn edge_target_valid(&self, from: NodeId, edge: &Edge) -> Option<bool> {
        let to = self.resolve(from, &edge.name)?;
        let peer_local = edge.kind.is_peer() && from != ROOT && self.node(to).parent == Some(from);
        Some(!peer_local && edge.accepts(&self.node(to).manifest))
    }

    /// The node plus the dependencies only it (directly or not) needs:
    /// arborist's gatherDepSet, used to remove a node with what it brought.
    pub fn exclusive_deps(&self, start: NodeId) -> Vec<NodeId> {
        let mut set: Vec<NodeId> = vec![start];
        let mut members: HashSet<NodeId> = HashSet::from([start]);
        let mut index = 0;
        while index < set.len() {
            let node = set[index];
            for edge in &self.node(node).edges {
                if let Some(to) = self.resolve(node, &edge.name) {
                    if to != start
                        && !members.contains(&to)
                        && self.edge_target_valid(node, edge) == Some(true)
                    {
                        members.insert(to);
                        set.push(to);
                    }
                }
            }
            index += 1;
        }
        // Who depends on each dep (with an edge it accepts) does not change
        // while the set shrinks, so it is found once.
        let dependents: Vec<(NodeId, Vec<NodeId>)> = set[1..]
            .iter()
            .map(|&dep| {
                let target = self.node(dep);
                let from = self.edges_in(dep).into_iter().filter(|&from| {
                    self.node(from)
                        .edge(&target.name)
                        .is_some_and(|e| e.accepts(&target.manifest))
                });
                (dep, from.collect())
            })
            .collect();
        // Drop each dep that something outside the set needs, until none
        // is: the order of removals doesn't change where this ends.
        let mut changed = true;
        while changed {
            changed = false;
            for (dep, from) in &dependents {
                if members.contains(dep) && from.iter().any(|from| !members.contains(from)) {
                    members.remove(dep);
                    changed = true;
                }
            }
        }
        set.retain(|dep| members.contains(dep));
        set
    }

    /// `name@version`, then the chain of dependents that led to it, up to the root.
    pub fn describe(&self, id: NodeId) -> String {
        let mut chain = Vec::new();
        let mut at = id;
        while at != ROOT && !chain.contains(&at) {
            chain.push(at);
            // Any one dependent shows why the package is there.
            match self.edges_in(at).into_iter().min() {
                Some(dependent) => at = dependent,
                None => break,
            }
        }
        let mut names: Vec<String> = chain.iter().map(|&n| self.name_at_version(n)).collect();
        names.push("the root project".to_string());
        names.join(" ← ")
    }

    /// `name@version` of the node's package.
    pub fn name_at_version(&self, id: NodeId) -> String {
        format!("{}@{}", self.node(id).name, self.node(id).version())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(name: &str, version: &str) -> Arc<Manifest> {
        Arc::new(Manifest {
            name: name.into(),
            version: version.into(),
            ..Manifest::default()
        })
    }

    #[test]
    fn a_replaced_bundler_takes_its_bundle_with_it() {
        let mut tree = Tree::new(manifest("root", "1.0.0"), Vec::new(), Overrides::default());
        let old = tree.add(ROOT, "b", manifest("b", "1.0.0"), Vec::new(), ROOT_RULES);
        let bundled = tree.add_bundled(old, "in", manifest("in", "9.0.0"), false);
        let nested = tree.add(old, "x", manifest("x", "1.0.0"), Vec::new(), ROOT_RULES);
        let placed = tree.replace(ROOT, "b", manifest("b", "2.0.0"), Vec::new(), ROOT_RULES);
        assert!(tree.node(bundled).removed);
        assert_eq!(tree.resolve(placed, "in"), None);
        assert_eq!(tree.resolve(placed, "x"), Some(nested));
        assert!(!tree.node(nested).removed);
    }
}
