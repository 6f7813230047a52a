//! Placing a dependency in the tree, as arborist's place-dep does: as high
//! as it goes without a conflict, keeping or replacing what is there, then
//! the peers it brings.

mod can_place;
mod dedupe;

use std::sync::Arc;

use utoo_npm_types::Manifest;

use crate::edge::{package_edges, Edge, EdgeKind};
use crate::error::ResolveError;
use crate::load::DepBundle;
use crate::local::LocalPackage;
use crate::overrides::RuleId;
use crate::queue::{problem_edges, SkippedOptional};
use crate::tree::{NodeId, Tree, ROOT};
use crate::warning::Warning;
use can_place::{deepest_nesting_target, CanPlace, Decision};
use dedupe::dedupe_below;

/// One dependency to place (arborist's PlaceDep options).
pub(crate) struct PlaceDep<'a> {
    /// The node whose edge it meets.
    pub from: NodeId,
    pub edge: &'a Edge,
    pub dep: &'a DepBundle,
    /// Where the search for a target starts, before moving above nodes
    /// that have it as a peer: `from`, or for a peer, where its
    /// dependent's search started.
    pub start: NodeId,
    /// The peer set's packages placed on the way here (arborist's peerPath).
    pub peer_path: &'a [String],
    /// Whether a conflict is the project's own (arborist's isMine): an
    /// error (ERESOLVE) rather than a warning.
    pub mine: bool,
}

impl<'a> PlaceDep<'a> {
    /// `dep` for `from`'s `edge`.
    pub(crate) fn new(tree: &Tree, from: NodeId, edge: &'a Edge, dep: &'a DepBundle) -> Self {
        PlaceDep {
            from,
            edge,
            dep,
            start: from,
            peer_path: &[],
            mine: is_mine(tree, from, edge),
        }
    }
}

/// What placing did besides changing the tree, for the builder to follow up.
#[derive(Default)]
pub(crate) struct Followups {
    /// Nodes to build: packages placed, and dependents of replaced ones
    /// that now have problem edges.
    pub to_build: Vec<NodeId>,
    /// Folders linked to, whose own dependencies come once the queue is empty.
    pub folders: Vec<NodeId>,
    /// Packages placed, so their downloads can start.
    pub manifests: Vec<Arc<Manifest>>,
    pub warnings: Vec<Warning>,
}

/// Places dependencies in a tree.
pub(crate) struct Placer<'t> {
    pub tree: &'t mut Tree,
    pub skipped: &'t SkippedOptional,
    pub legacy_peer_deps: bool,
    pub followups: Followups,
}

impl Placer<'_> {
    /// Places the dependency, then its peers.
    pub(crate) fn place(&mut self, request: &PlaceDep<'_>) -> Result<(), ResolveError> {
        let name = request.edge.name.as_str();
        let start = deepest_nesting_target(self.tree, request.start, name);
        let Some((target, decision)) = self.choose_target(request, start)? else {
            return Ok(());
        };
        if decision == Decision::Keep {
            return Ok(());
        }
        if let Some(folder) = &request.dep.folder {
            self.link_folder(target, name, folder);
            return Ok(());
        }
        let manifest = &request.dep.manifest;
        if let Some(earlier) = earlier_copy(self.tree, target, name, manifest) {
            self.tree.add_link(target, name, earlier);
            return Ok(());
        }
        let placed = self.replace_or_add(target, name, manifest.clone(), request.edge.rule);
        self.followups.manifests.push(manifest.clone());
        self.followups.to_build.push(placed);
        dedupe_below(self.tree, target, name, placed);
        self.place_peers(request, placed, start)
    }

    /// Walking up from `start` until a conflict, the highest target where
    /// the dependency and its peers fit; failing that, with a warning, the
    /// last where it fits alone (or none). A conflict of the project's own
    /// is an error.
    fn choose_target(
        &mut self,
        request: &PlaceDep<'_>,
        start: NodeId,
    ) -> Result<Option<(NodeId, Decision)>, ResolveError> {
        let name = request.edge.name.as_str();
        let check = CanPlace {
            edge: request.edge,
            dep: request.dep,
            from: Some(request.from),
            peer_path: request.peer_path,
            prefer_dedupe: false,
        };
        let mut chosen = None;
        let mut chosen_alone = None;
        for target in self.tree.ancestry(start) {
            let target_edge = self.tree.node(target).edge(name);
            if target != ROOT && target_edge.is_some_and(|e| e.kind.is_peer()) {
                continue;
            }
            let (decision, alone) = check.at(self.tree, target);
            if alone != Decision::Conflict {
                chosen_alone = Some((target, alone));
            }
            if decision == Decision::Conflict {
                break;
            }
            chosen = Some((target, decision));
        }
        if chosen.is_some() {
            return Ok(chosen);
        }
        if request.mine {
            return Err(peer_conflict_error(self.tree, request));
        }
        self.followups.warnings.push(Warning::PeerConflict {
            package: format!(
                "{}@{}",
                request.dep.manifest.name, request.dep.manifest.version
            ),
            dependent: self.tree.describe(request.from),
            name: request.edge.name.clone(),
            spec: request.edge.raw_spec.clone(),
        });
        Ok(chosen_alone)
    }

    /// Places the peers of the package just `placed` that its edges still miss.
    fn place_peers(
        &mut self,
        request: &PlaceDep<'_>,
        placed: NodeId,
        start: NodeId,
    ) -> Result<(), ResolveError> {
        let peer_edges: Vec<Edge> = self
            .tree
            .node(placed)
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Peer)
            .cloned()
            .collect();
        let mut path = request.peer_path.to_vec();
        path.push(request.dep.manifest.name.clone());
        for peer_edge in &peer_edges {
            if self.tree.node(placed).removed
                || self.tree.edge_target_valid(placed, peer_edge) == Some(true)
            {
                continue;
            }
            let Some(peer) = request
                .dep
                .peer(&peer_edge.name)
                .filter(|p| peer_edge.accepts(&p.manifest))
            else {
                continue;
            };
            self.place(&PlaceDep {
                from: placed,
                edge: peer_edge,
                dep: peer,
                start,
                peer_path: &path,
                mine: request.mine,
            })?;
        }
        Ok(())
    }

    /// Puts `manifest` at `target/node_modules/<name>`. A replaced node
    /// hands its own `node_modules` to the newcomer, loses the deps only it
    /// needed, and its dependents are checked again.
    fn replace_or_add(
        &mut self,
        target: NodeId,
        name: &str,
        manifest: Arc<Manifest>,
        rule: RuleId,
    ) -> NodeId {
        let edges = package_edges(&manifest, None, self.legacy_peer_deps);
        let Some(old) = self.tree.node(target).children.get(name).copied() else {
            return self.tree.add(target, name, manifest, edges, rule);
        };
        let orphans: Vec<NodeId> = self
            .tree
            .node(old)
            .edges
            .iter()
            .filter(|old_edge| !edges.iter().any(|e| e.name == old_edge.name))
            .filter_map(|old_edge| self.tree.resolve(old, &old_edge.name))
            .flat_map(|to| self.tree.exclusive_deps(to))
            .collect();
        let dependents = self.tree.edges_in(old);
        let placed = self.tree.replace(target, name, manifest, edges, rule);
        for orphan in orphans {
            if orphan != placed && !self.tree.node(orphan).removed {
                self.tree.remove(orphan);
            }
        }
        for dependent in dependents {
            if !self.tree.node(dependent).removed
                && !problem_edges(self.tree, dependent, self.skipped).is_empty()
            {
                self.followups.to_build.push(dependent);
            }
        }
        placed
    }

    /// Links `target/node_modules/<name>` to a folder; a folder inside the
    /// project has its own dependencies installed later.
    fn link_folder(&mut self, target: NodeId, name: &str, folder: &LocalPackage) {
        let top = match self.tree.top_at(&folder.location) {
            Some(top) => top,
            None => self.tree.add_top(folder.clone(), self.legacy_peer_deps),
        };
        self.tree.add_link(target, name, top);
        self.followups.folders.push(top);
    }
}

/// Whether a conflict placing for `from`'s `edge` is the project's own
/// (arborist's isMine): the root or a workspace asked, or asked for the
/// peer's dependent.
fn is_mine(tree: &Tree, from: NodeId, edge: &Edge) -> bool {
    let node = tree.node(from);
    if from == ROOT || node.top.as_ref().is_some_and(LocalPackage::is_inside) {
        return true;
    }
    edge.kind.is_peer()
        && tree.edges_in(from).into_iter().any(|dependent| {
            dependent == ROOT
                && tree
                    .node(ROOT)
                    .edge(&node.name)
                    .is_some_and(|e| !e.kind.is_peer())
        })
}

/// arborist's PlaceDep on unresolvable nesting loops (`a@1 → b@1 → a@2 →
/// b@2 → a@1 → …`): when the target or one of its ancestors (not a top
/// node) is the very package being placed, npm links to that earlier copy
/// instead of nesting another one below it.
fn earlier_copy(tree: &Tree, target: NodeId, name: &str, manifest: &Manifest) -> Option<NodeId> {
    tree.ancestry(target).find(|&p| {
        let node = tree.node(p);
        p != ROOT && node.top.is_none() && node.matches(name, manifest)
    })
}

/// The project's own unresolvable conflict is an error (ERESOLVE), as with
/// npm: it names the peer that blocks, else the dependency itself.
fn peer_conflict_error(tree: &Tree, request: &PlaceDep<'_>) -> ResolveError {
    let (edge, dep) = (request.edge, &request.dep.manifest);
    let blocking = dep.peer_dependencies.iter().find_map(|(peer, spec)| {
        let found = &tree.node(tree.resolve(ROOT, peer)?).manifest;
        let peer_edge = Edge::new(peer, spec, EdgeKind::Peer);
        (!peer_edge.accepts(found)).then(|| {
            let found = format!("{}@{}", found.name, found.version);
            (peer.clone(), spec.clone(), found)
        })
    });
    let (name, spec, found) = blocking.unwrap_or_else(|| {
        let found = tree
            .resolve(ROOT, &edge.name)
            .map(|n| tree.name_at_version(n))
            .unwrap_or_else(|| "another version".to_string());
        (edge.name.clone(), edge.raw_spec.clone(), found)
    });
    ResolveError::PeerConflict {
        name,
        spec,
        dependent: format!(
            "{}@{} (for {})",
            dep.name,
            dep.version,
            tree.describe(request.from)
        ),
        found,
    }
}
