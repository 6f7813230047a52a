//! arborist's can-place-dep: whether a dependency, with the peers it
//! brings, may go in a target's `node_modules`.

use nodejs_semver::Version;
use utoo_npm_types::Manifest;

use crate::edge::{Edge, EdgeKind};
use crate::load::DepBundle;
use crate::tree::{NodeId, Tree, ROOT};

/// What may happen at a target (arborist's OK, KEEP, REPLACE, CONFLICT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// Nothing of that name is there: add the dependency.
    Add,
    /// What is there already serves: keep it.
    Keep,
    /// Replace what is there.
    Replace,
    Conflict,
}

/// A dependency to check against targets (arborist's CanPlaceDep options).
pub(super) struct CanPlace<'a> {
    pub edge: &'a Edge,
    pub dep: &'a DepBundle,
    /// The dependent whose edge is being met; `None` for a peer checked
    /// ahead of placing its dependent.
    pub from: Option<NodeId>,
    /// The peer set's packages placed on the way here (arborist's peerPath).
    pub peer_path: &'a [String],
    /// Replace an older version that every dependent accepts (arborist's preferDedupe).
    pub prefer_dedupe: bool,
}

impl CanPlace<'_> {
    /// The decision at `target` for the dependency with its peers, and for
    /// the dependency alone.
    pub(super) fn at(&self, tree: &Tree, target: NodeId) -> (Decision, Decision) {
        let name = self.edge.name.as_str();
        let node = tree.node(target);
        let current = node.children.get(name).copied();
        let target_edge = node.edge(name);
        if target != ROOT && target_edge.is_some_and(|e| e.kind.is_peer()) {
            return (Decision::Conflict, Decision::Conflict);
        }
        let own_edge = Some(target) == self.from;
        let accepted = |e: &Edge| e.accepts(&self.dep.manifest);
        if current.is_none() && !own_edge && target_edge.is_some_and(|e| !accepted(e)) {
            return (Decision::Conflict, Decision::Conflict);
        }
        let alone = match current {
            Some(current) => self.with_current(tree, target, current),
            None => self.without_current(tree, target),
        };
        match alone {
            Decision::Conflict | Decision::Keep => (alone, alone),
            _ => (self.with_peers(tree, target, alone), alone),
        }
    }

    /// arborist's canPlaceDep when the target has a package of that name.
    fn with_current(&self, tree: &Tree, target: NodeId, current: NodeId) -> Decision {
        let (edge, dep) = (self.edge, &self.dep.manifest);
        let current_manifest = &tree.node(current).manifest;
        if current_manifest.name == dep.name
            && current_manifest.version == dep.version
            && edge.accepts(current_manifest)
        {
            return Decision::Keep;
        }
        let newer_or_same = match (
            Version::parse(&dep.version),
            Version::parse(&current_manifest.version),
        ) {
            (Ok(new), Ok(cur)) => new >= cur,
            _ => false,
        };
        let replaceable = can_replace(tree, current, dep);
        if newer_or_same && replaceable {
            return Decision::Replace;
        }
        if edge.accepts(current_manifest) {
            return Decision::Keep;
        }
        if self.prefer_dedupe && !newer_or_same && replaceable {
            return Decision::Replace;
        }
        let deepest = self
            .from
            .map(|from| deepest_nesting_target(tree, from, &edge.name));
        if deepest != Some(target) {
            return Decision::Conflict;
        }
        if !edge.kind.is_peer() && self.from == Some(target) {
            return Decision::Replace;
        }
        Decision::Conflict
    }

    /// arborist's canPlaceDep when the target has none: a conflict only if
    /// the dependency would shadow a package that dependents below want.
    fn without_current(&self, tree: &Tree, target: NodeId) -> Decision {
        if Some(target) == self.from {
            return Decision::Add;
        }
        let name = self.edge.name.as_str();
        let Some(shadowed) = tree.resolve(target, name) else {
            return Decision::Add;
        };
        let shadowed_manifest = &tree.node(shadowed).manifest;
        let breaks_a_dependent = tree.edges_in(shadowed).into_iter().any(|dependent| {
            tree.is_descendant_of(dependent, target)
                && tree
                    .node(dependent)
                    .edge(name)
                    .is_some_and(|e| e.accepts(shadowed_manifest) && !e.accepts(&self.dep.manifest))
        });
        match breaks_a_dependent {
            true => Decision::Conflict,
            false => Decision::Add,
        }
    }

    /// The dependency's peers must fit at (or above) the same target.
    fn with_peers(&self, tree: &Tree, target: NodeId, alone: Decision) -> Decision {
        let dep = &self.dep.manifest;
        let mut path = self.peer_path.to_vec();
        path.push(dep.name.clone());
        for (peer_name, spec) in &dep.peer_dependencies {
            if dep.is_optional_peer(peer_name)
                || self.peer_path.contains(peer_name)
                || *peer_name == dep.name
            {
                continue;
            }
            let Some(peer) = self.dep.peer(peer_name) else {
                continue;
            };
            let peer_edge = Edge::new(peer_name, spec, EdgeKind::Peer);
            let only_self = DepBundle::alone(peer.manifest.clone());
            let check = CanPlace {
                edge: &peer_edge,
                dep: &only_self,
                from: None,
                peer_path: &path,
                prefer_dedupe: true,
            };
            let peer_target = deepest_nesting_target(tree, target, peer_name);
            if check.at(tree, peer_target).0 == Decision::Conflict {
                return Decision::Conflict;
            }
        }
        alone
    }
}

/// The deepest place `name` may go when starting at `start`: above any
/// node that has it as a peer.
pub(super) fn deepest_nesting_target(tree: &Tree, start: NodeId, name: &str) -> NodeId {
    tree.ancestry(start)
        .find(|&t| t == ROOT || !tree.node(t).edge(name).is_some_and(|e| e.kind.is_peer()))
        .unwrap_or(ROOT)
}

/// Whether every dependent of `current` (outside what only it needs)
/// accepts `replacement`.
pub(super) fn can_replace(tree: &Tree, current: NodeId, replacement: &Manifest) -> bool {
    let own = tree.exclusive_deps(current);
    let name = &tree.node(current).name;
    tree.edges_in(current).into_iter().all(|from| {
        own.contains(&from)
            || tree
                .node(from)
                .edge(name)
                .is_none_or(|e| e.accepts(replacement))
    })
}
