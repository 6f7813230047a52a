use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

/// A node's index in [`Tree::nodes`].
pub type NodeId = usize;

/// An installed tree: the project, the packages in its `node_modules`
/// folders, the links there and the folders they point at.
#[derive(Debug)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// The project itself is always node 0.
pub const ROOT: NodeId = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// The project.
    Root,
    /// A package folder inside a `node_modules`.
    Package,
    /// A symlink inside a `node_modules`; `None` when it points nowhere.
    Link(Option<NodeId>),
    /// A folder a link points at (a workspace, a `file:` folder): a top
    /// node with no `node_modules` parent, as arborist's fsChildren.
    LinkTarget,
}

#[derive(Debug)]
pub struct Node {
    /// The name it is installed under (its folder in `node_modules`); for
    /// a link target, its folder's name; for the root, its package name
    /// (else its folder's name).
    pub name: String,
    /// Relative to the project, `/`-separated: `""` for the root,
    /// `node_modules/a/node_modules/b`, `packages/a`, `../lib`.
    pub location: String,
    /// Where it is on disk (for a link: the link itself).
    pub path: PathBuf,
    /// Its `package.json` (`{}` when there is none or it doesn't parse).
    pub package: Value,
    /// Where it came from, as npm's hidden lockfile records it.
    pub resolved: Option<String>,
    pub kind: NodeKind,
    /// The package whose `node_modules` holds this one.
    pub parent: Option<NodeId>,
    /// For a link target inside the project: the project, whose
    /// `node_modules` it resolves names through after its own.
    pub fs_parent: Option<NodeId>,
    /// Packages and links in its `node_modules`, by name.
    pub children: BTreeMap<String, NodeId>,
    /// Its dependencies, by name.
    pub edges_out: BTreeMap<String, Edge>,
    /// The edges that resolve to it: (dependent, dependency name).
    pub edges_in: Vec<(NodeId, String)>,
    /// The links that point at it.
    pub links_in: Vec<NodeId>,
    pub is_workspace: bool,
    pub flags: Flags,
}

/// npm's dependency flags (arborist's calcDepFlags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    pub dev: bool,
    pub optional: bool,
    pub dev_optional: bool,
    pub peer: bool,
    pub extraneous: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Prod,
    Dev,
    Optional,
    Peer,
    PeerOptional,
    Workspace,
}

impl EdgeKind {
    /// The name npm gives it (`npm explain --json`'s `type`).
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Prod => "prod",
            EdgeKind::Dev => "dev",
            EdgeKind::Optional => "optional",
            EdgeKind::Peer => "peer",
            EdgeKind::PeerOptional => "peerOptional",
            EdgeKind::Workspace => "workspace",
        }
    }

    pub fn is_optional(self) -> bool {
        matches!(self, EdgeKind::Optional | EdgeKind::PeerOptional)
    }

    pub fn is_peer(self) -> bool {
        matches!(self, EdgeKind::Peer | EdgeKind::PeerOptional)
    }
}

/// A dependency of a node, and what it resolves to.
#[derive(Debug, Clone)]
pub struct Edge {
    pub name: String,
    pub spec: String,
    pub kind: EdgeKind,
    pub to: Option<NodeId>,
    /// Whether `to` satisfies `spec` (false when there is no `to`).
    pub valid: bool,
}

impl Edge {
    /// Nothing satisfies it, and it is required.
    pub fn is_missing(&self) -> bool {
        self.to.is_none() && !self.kind.is_optional()
    }

    /// Something is found, but it doesn't satisfy the spec.
    pub fn is_invalid(&self) -> bool {
        self.to.is_some() && !self.valid
    }
}

impl Node {
    pub fn version(&self) -> Option<&str> {
        self.package.get("version").and_then(Value::as_str)
    }

    /// The name in its `package.json`.
    pub fn package_name(&self) -> Option<&str> {
        self.package.get("name").and_then(Value::as_str)
    }

    pub fn is_link(&self) -> bool {
        matches!(self.kind, NodeKind::Link(_))
    }

    /// npm's pkgid: `name@version`, `alias@npm:real@version` for an alias.
    pub fn pkgid(&self) -> String {
        let version = self.version().unwrap_or_default();
        match self.package_name() {
            Some(real) if real != self.name && self.kind != NodeKind::Root => {
                format!("{}@npm:{real}@{version}", self.name)
            }
            _ => format!("{}@{version}", self.name),
        }
    }
}

impl Tree {
    pub fn root(&self) -> &Node {
        &self.nodes[ROOT]
    }

    /// The node a link points at, or the node itself.
    pub fn target(&self, id: NodeId) -> Option<NodeId> {
        match self.nodes[id].kind {
            NodeKind::Link(target) => target,
            _ => Some(id),
        }
    }

    /// Node.js's lookup of `name` from `id`: its own `node_modules`, then
    /// each parent's (or, for a link target, the project's).
    pub fn resolve(&self, id: NodeId, name: &str) -> Option<NodeId> {
        let mut current = Some(id);
        while let Some(node) = current.map(|id| &self.nodes[id]) {
            if let Some(found) = node.children.get(name) {
                return Some(*found);
            }
            current = node.parent.or(node.fs_parent);
        }
        None
    }

    /// Every node whose `package.json` name is `name`, by location.
    pub fn by_package_name(&self, name: &str) -> Vec<NodeId> {
        (0..self.nodes.len())
            .filter(|id| self.nodes[*id].package_name() == Some(name))
            .collect()
    }

    /// The node at a location (`node_modules/a`, `packages/b`).
    pub fn by_location(&self, location: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.location == location)
    }
}
