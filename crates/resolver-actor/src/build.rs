//! Builds npm's hoisted ideal tree, following arborist's build-ideal-tree,
//! place-dep and can-place-dep: the shallowest pending node is handled
//! next, its problem edges are loaded (with their peer sets), then each
//! dependency is placed as high as it goes without a conflict.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use futures::future::join_all;
use nodejs_semver::Version;
use utoo_npm_collate::compare;
use utoo_npm_types::{validate_package_name, Manifest};

use crate::error::ResolveError;
use crate::local::LocalPackage;
use crate::overrides::RuleId;
use crate::tree::{package_edges, Edge, EdgeKind, NodeId, Tree, ROOT};

/// Where the builder gets the manifest a spec selects.
pub trait ManifestSource {
    fn pick(
        &self,
        name: &str,
        spec: &str,
        dependent: &str,
    ) -> impl Future<Output = Result<Arc<Manifest>, ResolveError>>;
}

/// A dependency about to be placed, with the peers that must come along.
#[derive(Debug, Clone)]
struct DepBundle {
    manifest: Arc<Manifest>,
    peers: Vec<DepBundle>,
    /// For a `file:` folder: placed as a link to it.
    folder: Option<LocalPackage>,
}

impl DepBundle {
    fn peer(&self, name: &str) -> Option<&DepBundle> {
        self.peers.iter().find(|p| p.manifest.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Ok,
    Keep,
    Replace,
    Conflict,
}

struct QueueEntry {
    depth: usize,
    path: String,
    id: NodeId,
}

impl Ord for QueueEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.depth
            .cmp(&other.depth)
            .then_with(|| compare(&self.path, &other.path))
            .then_with(|| self.id.cmp(&other.id))
    }
}

impl PartialOrd for QueueEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for QueueEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for QueueEntry {}

pub struct BuildOptions {
    pub legacy_peer_deps: bool,
    /// The project's folder, where `file:` folders are read.
    pub project_dir: PathBuf,
}

/// The tree builder's state while it works.
pub struct TreeBuilder<'s, S> {
    pub tree: Tree,
    source: &'s S,
    legacy_peer_deps: bool,
    project_dir: PathBuf,
    queue: BTreeSet<QueueEntry>,
    /// Workspaces and linked folders inside the project, handled once the
    /// queue is empty (arborist's resolveLinks), each once.
    pending_tops: Vec<NodeId>,
    seen_tops: HashSet<NodeId>,
    queued: HashSet<NodeId>,
    /// Optional edges whose package could not be loaded: left out, as npm does.
    failed_optional: HashSet<(NodeId, String)>,
    pub warnings: Vec<String>,
    /// Packages placed since the last [`TreeBuilder::take_placed`].
    placed: Vec<Arc<Manifest>>,
}

impl<'s, S: ManifestSource> TreeBuilder<'s, S> {
    /// Starts from `tree` (just the root, or the tree a lockfile describes).
    pub fn new(tree: Tree, source: &'s S, options: BuildOptions) -> Self {
        TreeBuilder {
            tree,
            source,
            legacy_peer_deps: options.legacy_peer_deps,
            project_dir: options.project_dir,
            queue: BTreeSet::new(),
            pending_tops: Vec::new(),
            seen_tops: HashSet::new(),
            queued: HashSet::new(),
            failed_optional: HashSet::new(),
            warnings: Vec::new(),
            placed: Vec::new(),
        }
    }

    /// Queues every node of the starting tree that has a problem edge.
    pub fn start(&mut self) {
        let with_problems: Vec<NodeId> = self
            .tree
            .live()
            .filter(|&id| !self.problem_edges(id).is_empty())
            .collect();
        for id in with_problems {
            match &self.tree.node(id).top {
                Some(_) => self.pending_tops.push(id),
                None => self.enqueue(id),
            }
        }
    }

    /// Handles the next pending node; `false` once the tree is complete.
    pub async fn step(&mut self) -> Result<bool, ResolveError> {
        if self.queue.is_empty() {
            for top in std::mem::take(&mut self.pending_tops) {
                let inside = self
                    .tree
                    .node(top)
                    .top
                    .as_ref()
                    .is_some_and(LocalPackage::is_inside);
                if inside && self.seen_tops.insert(top) {
                    self.enqueue(top);
                }
            }
        }
        let Some(entry) = self.queue.pop_first() else {
            return Ok(false);
        };
        self.queued.remove(&entry.id);
        if !self.tree.node(entry.id).removed {
            self.build_node(entry.id).await?;
        }
        Ok(true)
    }

    /// Packages placed since the last call, so their downloads can start.
    pub fn take_placed(&mut self) -> Vec<Arc<Manifest>> {
        std::mem::take(&mut self.placed)
    }

    /// Runs [`TreeBuilder::step`] until the tree is complete.
    pub async fn build(mut self) -> Result<(Tree, Vec<String>), ResolveError> {
        self.start();
        while self.step().await? {}
        Ok((self.tree, self.warnings))
    }

    fn enqueue(&mut self, id: NodeId) {
        if self.queued.insert(id) {
            self.queue.insert(QueueEntry {
                depth: self.tree.depth(id),
                path: self.tree.path(id),
                id,
            });
        }
    }

    fn problem_edges(&self, id: NodeId) -> Vec<Edge> {
        let node = self.tree.node(id);
        let mut problems: Vec<Edge> = node
            .edges
            .iter()
            .filter(|edge| match self.tree.edge_target_valid(id, edge) {
                None => {
                    edge.kind != EdgeKind::PeerOptional
                        && !self.failed_optional.contains(&(id, edge.name.clone()))
                }
                Some(valid) => !valid,
            })
            .cloned()
            .collect();
        problems.sort_by(|a, b| compare(&a.name, &b.name));
        problems
    }

    /// `name@version`, then the chain of dependents that led to it, up to the root.
    fn describe(&self, id: NodeId) -> String {
        let mut chain = Vec::new();
        let mut at = id;
        while at != ROOT && !chain.contains(&at) {
            chain.push(at);
            // Any one dependent shows why the package is there.
            match self.tree.edges_in(at).into_iter().min() {
                Some(dependent) => at = dependent,
                None => break,
            }
        }
        let mut names: Vec<String> = chain
            .iter()
            .map(|&n| format!("{}@{}", self.tree.node(n).name, self.tree.node(n).version()))
            .collect();
        names.push("the root project".to_string());
        names.join(" ← ")
    }

    async fn build_node(&mut self, id: NodeId) -> Result<(), ResolveError> {
        let problems = self.problem_edges(id);
        if problems.is_empty() {
            return Ok(());
        }
        let dependent = self.describe(id);
        let own_edges = self.tree.node(id).edges.clone();
        // Paths on this machine are the project's to name, not a downloaded package's.
        let may_use_paths = id == ROOT || self.tree.node(id).top.is_some();
        let loads = problems.iter().map(|edge| async {
            if edge.is_local() && !may_use_paths && !edge.is_overridden() {
                return Err(ResolveError::LocalPathFromPackage {
                    name: edge.name.clone(),
                    spec: edge.raw_spec.clone(),
                    dependent: dependent.clone(),
                });
            }
            match edge.directory() {
                Some(location) => self
                    .load_folder(&edge.name, location)
                    .map(|folder| DepBundle {
                        manifest: folder.manifest.clone(),
                        peers: Vec::new(),
                        folder: Some(folder),
                    }),
                None => self.load_bundle(edge, &own_edges, &dependent).await,
            }
        });
        let bundles = join_all(loads).await;
        for (edge, bundle) in problems.iter().zip(bundles) {
            if self.tree.node(id).removed {
                break;
            }
            if self.tree.edge_target_valid(id, edge) == Some(true) {
                continue;
            }
            match bundle {
                Ok(bundle) => {
                    let mine = self.is_mine(id, edge);
                    self.place(id, edge, &bundle, None, &[], mine)?;
                }
                Err(err) if edge.kind.is_optional() => {
                    self.warnings
                        .push(format!("skipping optional dependency {}: {err}", edge.name));
                    self.failed_optional.insert((id, edge.name.clone()));
                }
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// The package in a `file:` folder: the tree's node for it, else read from disk.
    fn load_folder(&self, name: &str, location: &str) -> Result<LocalPackage, ResolveError> {
        validate_package_name(name).map_err(|e| ResolveError::InvalidName(e, location.into()))?;
        if location.is_empty() {
            return Err(ResolveError::LocalPackage {
                path: format!("file:{location}"),
                reason: format!("{name} links to the project itself"),
            });
        }
        let known = self
            .tree
            .top_at(location)
            .and_then(|id| self.tree.node(id).top.clone());
        match known {
            Some(folder) => Ok(folder),
            None => LocalPackage::read(&self.project_dir, location),
        }
    }

    /// Loads a dependency and, recursively, the peers it brings (arborist's loadPeerSet).
    async fn load_bundle(
        &self,
        edge: &Edge,
        dependent_edges: &[Edge],
        dependent: &str,
    ) -> Result<DepBundle, ResolveError> {
        let manifest = self
            .source
            .pick(&edge.name, &edge.source_spec(), dependent)
            .await?;
        let mut bundle = DepBundle {
            manifest,
            peers: Vec::new(),
            folder: None,
        };
        if self.legacy_peer_deps {
            return Ok(bundle);
        }
        let mut pending = vec![bundle.manifest.clone()];
        let mut seen: HashSet<String> = HashSet::from([edge.name.clone()]);
        while let Some(owner) = pending.pop() {
            let mut peers: Vec<(&String, &String)> = owner
                .peer_dependencies
                .iter()
                .filter(|(name, _)| !owner.is_optional_peer(name))
                .collect();
            peers.sort_by(|a, b| compare(a.0, b.0));
            for (name, spec) in peers {
                if !seen.insert(name.clone()) {
                    continue;
                }
                let who = format!("{}@{} (peer)", owner.name, owner.version);
                // The dependent's own edge on the peer is preferred when it fits.
                let preferred = dependent_edges
                    .iter()
                    .find(|e| &e.name == name && !e.kind.is_peer());
                let manifest = match preferred {
                    Some(own) => {
                        let candidate = self.source.pick(name, &own.source_spec(), &who).await?;
                        let peer_edge = Edge::new(name, spec, EdgeKind::Peer);
                        if peer_edge.accepts(&candidate) {
                            candidate
                        } else {
                            self.source.pick(name, spec, &who).await?
                        }
                    }
                    None => self.source.pick(name, spec, &who).await?,
                };
                pending.push(manifest.clone());
                bundle.peers.push(DepBundle {
                    manifest,
                    peers: Vec::new(),
                    folder: None,
                });
            }
        }
        let all_peers = bundle.peers.clone();
        for peer in &mut bundle.peers {
            peer.peers = all_peers
                .iter()
                .filter(|p| p.manifest.name != peer.manifest.name)
                .cloned()
                .collect();
        }
        Ok(bundle)
    }

    fn edges_for(&self, manifest: &Manifest) -> Vec<Edge> {
        package_edges(manifest, None, self.legacy_peer_deps)
    }

    /// The deepest place `name` may go when starting at `start`: above any
    /// node that has it as a peer.
    fn deepest_nesting_target(&self, start: NodeId, name: &str) -> NodeId {
        self.tree
            .ancestry(start)
            .find(|&t| {
                t == ROOT
                    || !self
                        .tree
                        .node(t)
                        .edge(name)
                        .is_some_and(|e| e.kind.is_peer())
            })
            .unwrap_or(ROOT)
    }

    /// Whether a conflict placing for `from`'s `edge` is the project's own
    /// (arborist's isMine): the root or a workspace asked, or asked for the
    /// peer's dependent.
    fn is_mine(&self, from: NodeId, edge: &Edge) -> bool {
        if from == ROOT
            || self
                .tree
                .node(from)
                .top
                .as_ref()
                .is_some_and(LocalPackage::is_inside)
        {
            return true;
        }
        edge.kind.is_peer()
            && self.tree.edges_in(from).into_iter().any(|dependent| {
                dependent == ROOT
                    && self
                        .tree
                        .node(ROOT)
                        .edge(&self.tree.node(from).name)
                        .is_some_and(|e| !e.kind.is_peer())
            })
    }

    /// The project's own unresolvable conflict is an error (ERESOLVE), as with npm.
    fn peer_conflict_error(&self, from: NodeId, edge: &Edge, dep: &Manifest) -> ResolveError {
        let blocking = dep.peer_dependencies.iter().find_map(|(peer, spec)| {
            let found = self.tree.resolve(ROOT, peer)?;
            let found = &self.tree.node(found).manifest;
            let peer_edge = Edge::new(peer, spec, EdgeKind::Peer);
            (!peer_edge.accepts(found)).then(|| {
                (
                    peer.clone(),
                    spec.clone(),
                    format!("{}@{}", found.name, found.version),
                )
            })
        });
        let (name, spec, found) = blocking.unwrap_or_else(|| {
            let found = self
                .tree
                .resolve(ROOT, &edge.name)
                .map(|n| format!("{}@{}", self.tree.node(n).name, self.tree.node(n).version()))
                .unwrap_or_else(|| "another version".to_string());
            (edge.name.clone(), edge.raw_spec.clone(), found)
        });
        ResolveError::PeerConflict {
            name,
            spec,
            dependent: format!("{}@{} (for {})", dep.name, dep.version, self.describe(from)),
            found,
        }
    }

    /// Places `bundle` for `from`'s `edge` (PlaceDep), then its peers.
    /// `mine` says whether a conflict here is the project's own (an error).
    fn place(
        &mut self,
        from: NodeId,
        edge: &Edge,
        bundle: &DepBundle,
        parent_start: Option<NodeId>,
        peer_path: &[String],
        mine: bool,
    ) -> Result<(), ResolveError> {
        let name = edge.name.as_str();
        let start = self.deepest_nesting_target(parent_start.unwrap_or(from), name);
        let mut chosen: Option<(NodeId, Decision)> = None;
        let mut chosen_self: Option<(NodeId, Decision)> = None;
        let targets: Vec<NodeId> = self.tree.ancestry(start).collect();
        for target in targets {
            let target_edge = self.tree.node(target).edge(name);
            if target != ROOT && target_edge.is_some_and(|e| e.kind.is_peer()) {
                continue;
            }
            let (decision, self_decision) =
                self.can_place(target, Some(from), edge, bundle, peer_path, false);
            if self_decision != Decision::Conflict {
                chosen_self = Some((target, self_decision));
            }
            if decision == Decision::Conflict {
                break;
            }
            chosen = Some((target, decision));
        }
        if chosen.is_none() && mine {
            return Err(self.peer_conflict_error(from, edge, &bundle.manifest));
        }
        let (target, decision) = match chosen.or(chosen_self) {
            Some(choice) => {
                if chosen.is_none() {
                    self.warn_peer_conflict(from, edge, &bundle.manifest);
                }
                choice
            }
            None => {
                self.warn_peer_conflict(from, edge, &bundle.manifest);
                return Ok(());
            }
        };
        if decision == Decision::Keep {
            return Ok(());
        }
        if let Some(folder) = &bundle.folder {
            self.link_folder(target, name, folder);
            return Ok(());
        }
        let manifest = &bundle.manifest;
        if let Some(earlier) = self.earlier_copy(target, name, manifest) {
            self.tree.add_link(target, name, earlier);
            return Ok(());
        }

        let placed = self.replace_or_add(target, name, manifest.clone(), edge.rule);
        self.placed.push(manifest.clone());
        self.enqueue(placed);

        let duplicates: Vec<NodeId> = self
            .same_name_nodes(name)
            .into_iter()
            .filter(|&n| n != placed && self.tree.is_descendant_of(n, target))
            .collect();
        for dup in duplicates {
            let kids: Vec<NodeId> = self.tree.node(dup).children.values().copied().collect();
            self.prune_dedupable(dup);
            for kid in kids {
                self.prune_dedupable(kid);
            }
        }

        let peer_edges: Vec<Edge> = self
            .tree
            .node(placed)
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Peer)
            .cloned()
            .collect();
        let mut path = peer_path.to_vec();
        path.push(manifest.name.clone());
        for peer_edge in peer_edges {
            if self.tree.node(placed).removed
                || self.tree.edge_target_valid(placed, &peer_edge) == Some(true)
            {
                continue;
            }
            if let Some(peer) = bundle
                .peer(&peer_edge.name)
                .filter(|p| peer_edge.accepts(&p.manifest))
            {
                let peer = peer.clone();
                self.place(placed, &peer_edge, &peer, Some(start), &path, mine)?;
            }
        }
        Ok(())
    }

    /// arborist's PlaceDep on unresolvable nesting loops (`a@1 → b@1 → a@2 →
    /// b@2 → a@1 → …`): when the target or one of its ancestors (not a top
    /// node) is the very package being placed, npm links to that earlier copy
    /// instead of nesting another one below it.
    fn earlier_copy(&self, target: NodeId, name: &str, manifest: &Manifest) -> Option<NodeId> {
        self.tree.ancestry(target).find(|&p| {
            let node = self.tree.node(p);
            p != ROOT && node.top.is_none() && node.matches(name, manifest)
        })
    }

    /// Links `target/node_modules/<name>` to a folder; a folder inside the
    /// project has its own dependencies installed later.
    fn link_folder(&mut self, target: NodeId, name: &str, folder: &LocalPackage) {
        let top = match self.tree.top_at(&folder.location) {
            Some(top) => top,
            None => self.tree.add_top(folder.clone(), self.legacy_peer_deps),
        };
        self.tree.add_link(target, name, top);
        self.pending_tops.push(top);
    }

    fn same_name_nodes(&self, name: &str) -> Vec<NodeId> {
        self.tree
            .live()
            .filter(|&id| {
                let node = self.tree.node(id);
                id != ROOT && node.name == name && node.top.is_none() && node.link_target.is_none()
            })
            .collect()
    }

    fn warn_peer_conflict(&mut self, from: NodeId, edge: &Edge, dep: &Manifest) {
        let message = format!(
            "could not place {}@{} for {} ({} {}): conflicting peer dependency",
            dep.name,
            dep.version,
            self.describe(from),
            edge.name,
            edge.raw_spec
        );
        self.warnings.push(message);
    }

    /// Puts `manifest` at `target/node_modules/<name>`. A replaced node hands
    /// its own `node_modules` to the newcomer, loses the deps only it needed,
    /// and its dependents are checked again.
    fn replace_or_add(
        &mut self,
        target: NodeId,
        name: &str,
        manifest: Arc<Manifest>,
        rule: RuleId,
    ) -> NodeId {
        let edges = self.edges_for(&manifest);
        let old = self.tree.node(target).children.get(name).copied();
        let Some(old) = old else {
            return self.tree.add(target, name, manifest, edges, rule);
        };
        let old_edges = self.tree.node(old).edges.clone();
        let mut orphans = Vec::new();
        for old_edge in &old_edges {
            if edges.iter().any(|e| e.name == old_edge.name) {
                continue;
            }
            if let Some(to) = self.tree.resolve(old, &old_edge.name) {
                orphans.extend(self.tree.exclusive_deps(to));
            }
        }
        let dependents = self.tree.edges_in(old);
        let kids: Vec<(String, NodeId)> = self
            .tree
            .node(old)
            .children
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        self.tree.nodes[old].children.clear();
        let placed = self.tree.add(target, name, manifest, edges, rule);
        for (kid_name, kid) in kids {
            self.tree.nodes[kid].parent = Some(placed);
            self.tree.nodes[placed].children.insert(kid_name, kid);
        }
        for orphan in orphans {
            if orphan != placed && !self.tree.node(orphan).removed {
                self.tree.remove(orphan);
            }
        }
        for dependent in dependents {
            if !self.tree.node(dependent).removed && !self.problem_edges(dependent).is_empty() {
                self.enqueue(dependent);
            }
        }
        placed
    }

    /// Removes a node (with what only it needed) when whatever its dependents
    /// would resolve to without it serves them as well (arborist's canDedupe).
    fn prune_dedupable(&mut self, id: NodeId) {
        if self.tree.node(id).removed || !self.can_dedupe(id) {
            return;
        }
        for dep in self.tree.exclusive_deps(id) {
            if !self.tree.node(dep).removed {
                self.tree.remove(dep);
            }
        }
    }

    fn can_dedupe(&self, id: NodeId) -> bool {
        let Some(parent) = self.tree.node(id).parent else {
            return false;
        };
        let Some(grandparent) = self.tree.node(parent).parent else {
            return false;
        };
        let edges_in = self.tree.edges_in(id);
        if edges_in.is_empty() {
            return true;
        }
        let node = self.tree.node(id);
        let Some(other) = self.tree.resolve(grandparent, &node.name) else {
            return false;
        };
        let other_manifest = self.tree.node(other).manifest.clone();
        let other_version = other_manifest.version.clone();
        if other_manifest.name == node.manifest.name && other_version == node.version() {
            return true;
        }
        if !self.can_replace(id, &other_manifest) {
            return false;
        }
        match (
            Version::parse(&other_version),
            Version::parse(node.version()),
        ) {
            (Ok(other), Ok(this)) => other > this,
            _ => false,
        }
    }

    /// Whether every dependent of `current` (outside what only it needs) accepts `version`.
    fn can_replace(&self, current: NodeId, replacement: &Manifest) -> bool {
        let own = self.tree.exclusive_deps(current);
        let name = self.tree.node(current).name.clone();
        self.tree.edges_in(current).into_iter().all(|from| {
            own.contains(&from)
                || self
                    .tree
                    .node(from)
                    .edge(&name)
                    .is_none_or(|e| e.accepts(replacement))
        })
    }

    /// CanPlaceDep: returns (decision for the dep with its peers, decision for the dep alone).
    fn can_place(
        &self,
        target: NodeId,
        from: Option<NodeId>,
        edge: &Edge,
        bundle: &DepBundle,
        peer_path: &[String],
        prefer_dedupe: bool,
    ) -> (Decision, Decision) {
        let dep = &bundle.manifest;
        let name = edge.name.as_str();
        let node = self.tree.node(target);
        let current = node.children.get(name).copied();
        let target_edge = node.edge(name);
        if target != ROOT && target_edge.is_some_and(|e| e.kind.is_peer()) {
            return (Decision::Conflict, Decision::Conflict);
        }
        let own_edge = Some(target) == from;
        if current.is_none() && !own_edge && target_edge.is_some_and(|e| !e.accepts(dep)) {
            return (Decision::Conflict, Decision::Conflict);
        }
        let alone = match current {
            Some(current) => self.check_current(target, from, edge, dep, current, prefer_dedupe),
            None => self.check_no_current(target, from, dep, name),
        };
        match alone {
            Decision::Conflict | Decision::Keep => (alone, alone),
            _ => (
                self.can_place_peers(target, bundle, peer_path, alone),
                alone,
            ),
        }
    }

    fn check_current(
        &self,
        target: NodeId,
        from: Option<NodeId>,
        edge: &Edge,
        dep: &Manifest,
        current: NodeId,
        prefer_dedupe: bool,
    ) -> Decision {
        let current_manifest = self.tree.node(current).manifest.clone();
        let current_version = current_manifest.version.clone();
        if current_manifest.name == dep.name
            && current_version == dep.version
            && edge.accepts(&current_manifest)
        {
            return Decision::Keep;
        }
        let newer_or_same = match (
            Version::parse(&dep.version),
            Version::parse(&current_version),
        ) {
            (Ok(new), Ok(cur)) => new >= cur,
            _ => false,
        };
        let replaceable = self.can_replace(current, dep);
        if newer_or_same && replaceable {
            return Decision::Replace;
        }
        if edge.accepts(&current_manifest) {
            return Decision::Keep;
        }
        if prefer_dedupe && !newer_or_same && replaceable {
            return Decision::Replace;
        }
        let deepest = from.map(|f| self.deepest_nesting_target(f, &edge.name));
        if deepest != Some(target) {
            return Decision::Conflict;
        }
        if !edge.kind.is_peer() && from == Some(target) {
            return Decision::Replace;
        }
        Decision::Conflict
    }

    fn check_no_current(
        &self,
        target: NodeId,
        from: Option<NodeId>,
        dep: &Manifest,
        name: &str,
    ) -> Decision {
        if Some(target) == from {
            return Decision::Ok;
        }
        if let Some(shadowed) = self.tree.resolve(target, name) {
            let shadowed_manifest = self.tree.node(shadowed).manifest.clone();
            for dependent in self.tree.edges_in(shadowed) {
                if !self.tree.is_descendant_of(dependent, target) {
                    continue;
                }
                if let Some(dep_edge) = self.tree.node(dependent).edge(name) {
                    if dep_edge.accepts(&shadowed_manifest) && !dep_edge.accepts(dep) {
                        return Decision::Conflict;
                    }
                }
            }
        }
        Decision::Ok
    }

    /// The dep's peers must fit at (or above) the same target.
    fn can_place_peers(
        &self,
        target: NodeId,
        bundle: &DepBundle,
        peer_path: &[String],
        state: Decision,
    ) -> Decision {
        let dep = &bundle.manifest;
        for (peer_name, spec) in &dep.peer_dependencies {
            if dep.is_optional_peer(peer_name)
                || peer_path.contains(peer_name)
                || *peer_name == dep.name
            {
                continue;
            }
            let Some(peer) = bundle.peer(peer_name) else {
                continue;
            };
            let peer_edge = Edge::new(peer_name, spec, EdgeKind::Peer);
            let peer_target = self.deepest_nesting_target(target, peer_name);
            let mut path = peer_path.to_vec();
            path.push(dep.name.clone());
            let only_self = DepBundle {
                manifest: peer.manifest.clone(),
                peers: Vec::new(),
                folder: None,
            };
            let (decision, _) =
                self.can_place(peer_target, None, &peer_edge, &only_self, &path, true);
            if decision == Decision::Conflict {
                return Decision::Conflict;
            }
        }
        state
    }
}
