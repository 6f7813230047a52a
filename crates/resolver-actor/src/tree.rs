//! An arena of placed packages shaped like `node_modules`: each node lives in
//! its parent's `node_modules` and resolves names the way Node.js does, from
//! its own folder upwards.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use utoo_npm_types::{is_full_commit, GitReference, Manifest, Spec};

use crate::local::LocalPackage;
use crate::overrides::{Overrides, RuleId, ROOT_RULES};

pub type NodeId = usize;

pub const ROOT: NodeId = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Prod,
    Dev,
    Optional,
    Peer,
    PeerOptional,
}

impl EdgeKind {
    pub fn is_peer(self) -> bool {
        matches!(self, EdgeKind::Peer | EdgeKind::PeerOptional)
    }

    pub fn is_optional(self) -> bool {
        matches!(self, EdgeKind::Optional | EdgeKind::PeerOptional)
    }
}

/// One dependency a node declares.
#[derive(Debug, Clone)]
pub struct Edge {
    pub name: String,
    pub raw_spec: String,
    pub kind: EdgeKind,
    /// `None` when the spec is invalid or of a kind not supported yet.
    spec: Option<Spec>,
    /// For a folder or tarball on disk: its path from the project's folder.
    local: Option<String>,
    /// The override rules in force for the package this edge leads to.
    pub rule: RuleId,
    /// The spec an override gives this edge instead of `raw_spec`.
    overridden: Option<String>,
}

impl Edge {
    pub fn new(name: &str, raw_spec: &str, kind: EdgeKind) -> Edge {
        Edge {
            name: name.to_string(),
            raw_spec: raw_spec.to_string(),
            kind,
            spec: Spec::parse(name, raw_spec).ok(),
            local: None,
            rule: ROOT_RULES,
            overridden: None,
        }
    }

    /// Applies the overrides in force for the package declaring this edge.
    fn overridden_by(mut self, overrides: &Overrides, set: RuleId) -> Edge {
        if overrides.is_empty() {
            return self;
        }
        self.rule = overrides.edge_rule(set, &self.name, &self.raw_spec);
        self.overridden = overrides
            .spec_for(self.rule, &self.name)
            .map(str::to_string);
        let effective = self.overridden.as_deref().unwrap_or(&self.raw_spec);
        self.spec = Spec::parse(&self.name, effective).ok();
        self
    }

    /// Whether the spec names a folder or tarball on this machine.
    pub fn is_local(&self) -> bool {
        matches!(self.spec, Some(Spec::Directory(_) | Spec::TarballFile(_)))
    }

    /// Resolves a path spec against the folder of the package declaring it
    /// (`base`, relative to the project), as npm does; an override's path
    /// against the project's folder, where it was written.
    fn declared_in(mut self, base: &str) -> Edge {
        let base = if self.overridden.is_some() { "" } else { base };
        if let Some(Spec::Directory(path) | Spec::TarballFile(path)) = &self.spec {
            self.local = Some(join_location(base, path));
        }
        self
    }

    /// Whether an override replaced the declared spec.
    pub fn is_overridden(&self) -> bool {
        self.overridden.is_some()
    }

    /// The spec to ask a manifest source for: the override's if any, paths
    /// made relative to the project.
    pub fn source_spec(&self) -> String {
        match (&self.local, &self.overridden) {
            (Some(location), _) => format!("file:{location}"),
            (None, Some(spec)) => spec.clone(),
            (None, None) => self.raw_spec.clone(),
        }
    }

    /// The folder this edge links to, if it names one.
    pub fn directory(&self) -> Option<&str> {
        match self.spec {
            Some(Spec::Directory(_)) => self.local.as_deref(),
            _ => None,
        }
    }

    /// npm's dep-valid for registry specs: `*` and `""` accept anything,
    /// tags accept any registry package, ranges use loose semver, and an
    /// alias needs the package it names.
    pub fn accepts(&self, package: &Manifest) -> bool {
        let raw = self.overridden.as_deref().unwrap_or(&self.raw_spec).trim();
        if raw.is_empty() || raw == "*" {
            return true;
        }
        match &self.spec {
            Some(Spec::Tag(_)) => true,
            Some(Spec::Alias { name, spec }) => {
                *name == package.name
                    && (matches!(**spec, Spec::Tag(_)) || spec.accepts(&package.version))
            }
            Some(Spec::Directory(_) | Spec::TarballFile(_)) => {
                self.local.as_ref().is_some_and(|location| {
                    package.dist.tarball.strip_prefix("file:") == Some(location)
                })
            }
            Some(Spec::TarballUrl(url)) => package.dist.tarball == *url,
            Some(Spec::Git(git)) => {
                let Some(commit) = package
                    .dist
                    .tarball
                    .strip_prefix(git.repository.as_str())
                    .and_then(|rest| rest.strip_prefix('#'))
                else {
                    return false;
                };
                match &git.reference {
                    GitReference::Named(named) if is_full_commit(named) => {
                        commit.eq_ignore_ascii_case(named)
                    }
                    GitReference::Semver(range) => {
                        Spec::Range(range.clone()).accepts(&package.version)
                    }
                    _ => true,
                }
            }
            Some(spec) => spec.accepts(&package.version),
            None => false,
        }
    }
}

/// `base/path` with `.` and `..` worked out, relative to the project (an
/// absolute `path` stays absolute).
pub fn join_location(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let absolute = path.starts_with('/');
    let start = if absolute { "" } else { base };
    for part in start.split('/').chain(path.split('/')) {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
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

/// The edges npm gives a package: peers (unless legacy), then dependencies,
/// then optional ones; a name listed twice keeps the kind loaded last.
pub fn package_edges(
    manifest: &Manifest,
    dev: Option<&BTreeMap<String, String>>,
    legacy_peer_deps: bool,
) -> Vec<Edge> {
    let mut by_name: BTreeMap<String, Edge> = BTreeMap::new();
    let mut add = |deps: &BTreeMap<String, String>, kind: &dyn Fn(&str) -> EdgeKind| {
        for (name, spec) in deps {
            by_name.insert(name.clone(), Edge::new(name, spec, kind(name)));
        }
    };
    if !legacy_peer_deps {
        add(&manifest.peer_dependencies, &|name| {
            if manifest.is_optional_peer(name) {
                EdgeKind::PeerOptional
            } else {
                EdgeKind::Peer
            }
        });
    }
    add(&manifest.dependencies, &|_| EdgeKind::Prod);
    add(&manifest.optional_dependencies, &|_| EdgeKind::Optional);
    if let Some(dev) = dev {
        add(dev, &|_| EdgeKind::Dev);
    }
    by_name.into_values().collect()
}

#[derive(Debug, Clone)]
pub struct Tree {
    pub nodes: Vec<Node>,
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
        let id = self.nodes.len();
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
            self.nodes[parent].children.insert(node.name.clone(), id);
        }
        self.nodes.push(node);
        // Paths in specs are relative to the declaring package's folder.
        if self.nodes[id].edges.iter().any(Edge::is_local) {
            let base = self.path(id);
            let edges = std::mem::take(&mut self.nodes[id].edges);
            self.nodes[id].edges = edges.into_iter().map(|e| e.declared_in(&base)).collect();
        }
        id
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
        if let Some(old) = self.nodes[parent].children.get(name).copied() {
            self.remove(old);
        }
        self.push(Node {
            overrides,
            ..Node::new(name, manifest, Some(parent), edges)
        })
    }

    /// Gives the nodes of a tree read from a lockfile the override rules of
    /// the edges that lead to them, walking out from the root.
    pub fn propagate_overrides(&mut self) {
        if self.overrides.is_empty() {
            return;
        }
        let mut queue: Vec<NodeId> = self
            .live()
            .filter(|&id| id == ROOT || self.nodes[id].top.is_some())
            .collect();
        let mut seen: std::collections::HashSet<NodeId> = queue.iter().copied().collect();
        while let Some(id) = queue.pop() {
            let edges = self.nodes[id].edges.clone();
            for edge in edges {
                let Some(to) = self.resolve(id, &edge.name) else {
                    continue;
                };
                if !seen.insert(to) {
                    continue;
                }
                if edge.rule != ROOT_RULES && self.nodes[to].overrides == ROOT_RULES {
                    self.set_overrides(to, edge.rule);
                }
                queue.push(to);
            }
        }
    }

    fn set_overrides(&mut self, id: NodeId, rule: RuleId) {
        let overrides = self.overrides.clone();
        let node = &mut self.nodes[id];
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
            self.nodes[id]
                .top
                .as_ref()
                .is_some_and(|top| top.location == location)
        })
    }

    /// Adds `parent/node_modules/<name>` as a symlink to `target`.
    pub fn add_link(&mut self, parent: NodeId, name: &str, target: NodeId) -> NodeId {
        if let Some(old) = self.nodes[parent].children.get(name).copied() {
            self.remove(old);
        }
        let manifest = self.nodes[target].manifest.clone();
        self.push(Node {
            link_target: Some(target),
            ..Node::new(name, manifest, Some(parent), Vec::new())
        })
    }

    /// Detaches a node and everything in its `node_modules`.
    pub fn remove(&mut self, id: NodeId) {
        if let Some(parent) = self.nodes[id].parent {
            let name = self.nodes[id].name.clone();
            if self.nodes[parent].children.get(&name) == Some(&id) {
                self.nodes[parent].children.remove(&name);
            }
        }
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            self.nodes[n].removed = true;
            stack.extend(self.nodes[n].children.values().copied());
        }
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    pub fn live(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len()).filter(|&id| !self.nodes[id].removed)
    }

    /// Node.js resolution: the node's own `node_modules`, then each ancestor's.
    pub fn resolve(&self, from: NodeId, name: &str) -> Option<NodeId> {
        self.ancestry(from)
            .find_map(|id| self.nodes[id].children.get(name).copied())
    }

    /// arborist's depth: folders of `node_modules` above the node (top nodes are 0).
    pub fn depth(&self, id: NodeId) -> usize {
        std::iter::successors(Some(id), |&n| self.nodes[n].parent).count() - 1
    }

    /// The node itself, then each folder names resolve from, up to the root.
    pub fn ancestry(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(Some(id), move |&n| {
            self.nodes[n].parent.or(self.nodes[n].fs_parent)
        })
    }

    pub fn is_descendant_of(&self, id: NodeId, ancestor: NodeId) -> bool {
        self.ancestry(id).any(|n| n == ancestor)
    }

    /// The install path npm uses as the lockfile key (`""` for the root).
    pub fn path(&self, id: NodeId) -> String {
        let node = &self.nodes[id];
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
                    .filter(|&id| !self.nodes[id].removed)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Edges (as dependent ids) that currently resolve to `target`.
    pub fn edges_in(&self, target: NodeId) -> Vec<NodeId> {
        let name = &self.nodes[target].name;
        self.dependents_on(name)
            .into_iter()
            .filter(|&from| self.resolve(from, name) == Some(target))
            .collect()
    }

    /// Whether `from`'s edge on `name` is met (npm's `edge.valid && edge.to`,
    /// with a peer found inside the dependent's own folder counting as unmet).
    pub fn edge_target_valid(&self, from: NodeId, edge: &Edge) -> Option<bool> {
        let to = self.resolve(from, &edge.name)?;
        let peer_local = edge.kind.is_peer() && from != ROOT && self.nodes[to].parent == Some(from);
        Some(!peer_local && edge.accepts(&self.nodes[to].manifest))
    }

    /// The node plus the dependencies only it (directly or not) needs:
    /// arborist's gatherDepSet, used to remove a node with what it brought.
    pub fn exclusive_deps(&self, start: NodeId) -> Vec<NodeId> {
        let mut set: Vec<NodeId> = vec![start];
        let mut index = 0;
        while index < set.len() {
            let node = set[index];
            for edge in &self.nodes[node].edges {
                if let Some(to) = self.resolve(node, &edge.name) {
                    if to != start
                        && !set.contains(&to)
                        && self.edge_target_valid(node, edge) == Some(true)
                    {
                        set.push(to);
                    }
                }
            }
            index += 1;
        }
        loop {
            let outside = set.iter().position(|&dep| {
                dep != start
                    && self.edges_in(dep).iter().any(|from| {
                        !set.contains(from)
                            && self.nodes[*from]
                                .edge(&self.nodes[dep].name)
                                .is_some_and(|e| e.accepts(&self.nodes[dep].manifest))
                    })
            });
            match outside {
                Some(pos) => {
                    set.remove(pos);
                }
                None => return set,
            }
        }
    }
}
