//! The tree in `node_modules` as arborist's `loadActual` sees it, for
//! `outdated`: each package folder with the dependencies its `package.json`
//! declares, and where Node.js would find each of them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// What kind of dependency an edge is, named as npm names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EdgeType {
    Prod,
    Dev,
    Optional,
    Peer,
}

impl EdgeType {
    pub(crate) fn field(self) -> &'static str {
        match self {
            EdgeType::Prod => "dependencies",
            EdgeType::Dev => "devDependencies",
            EdgeType::Optional => "optionalDependencies",
            EdgeType::Peer => "peerDependencies",
        }
    }
}

/// A package folder: the project, a workspace or an installed package.
#[derive(Debug)]
pub(crate) struct Node {
    /// Relative to the project, `/`-separated: `""` for the project,
    /// `packages/a` for a workspace, `node_modules/a/node_modules/b`.
    pub(crate) location: String,
    /// As arborist names nodes: by folder (a package by the folder it is
    /// installed in, so an alias by its own name; the project and its
    /// workspaces by their folders' names).
    pub(crate) name: String,
    /// The name in its `package.json`.
    pub(crate) package_name: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) is_workspace: bool,
    /// Dependencies by name: the spec and the field it came from; a name in
    /// two fields keeps the one arborist loads last.
    pub(crate) edges: BTreeMap<String, (String, EdgeType)>,
}

impl Node {
    fn top(location: &str, name: String, package_json: &Value, is_workspace: bool) -> Node {
        Node {
            location: location.to_string(),
            name,
            package_name: package_json["name"].as_str().map(str::to_string),
            version: package_json["version"].as_str().map(str::to_string),
            is_workspace,
            edges: edges(package_json, true),
        }
    }
}

impl Node {
    /// arborist's `pkgid`: `name@version`, or `name@npm:package@version`
    /// when the folder's name isn't the package's.
    pub(crate) fn pkgid(&self) -> String {
        let version = self.version.as_deref().unwrap_or_default();
        match &self.package_name {
            Some(package) if *package != self.name => {
                format!("{}@npm:{package}@{version}", self.name)
            }
            _ => format!("{}@{version}", self.name),
        }
    }
}

/// arborist's edge order: peer, then prod, then optional (and dev for top
/// nodes); a later field wins.
fn edges(package_json: &Value, top: bool) -> BTreeMap<String, (String, EdgeType)> {
    let mut fields = vec![EdgeType::Peer, EdgeType::Prod, EdgeType::Optional];
    if top {
        fields.push(EdgeType::Dev);
    }
    let mut edges = BTreeMap::new();
    for kind in fields {
        let Some(deps) = package_json[kind.field()].as_object() else {
            continue;
        };
        for (name, spec) in deps {
            if let Some(spec) = spec.as_str() {
                edges.insert(name.clone(), (spec.to_string(), kind));
            }
        }
    }
    edges
}

/// What a dependency leads to.
pub(crate) enum Resolved<'t> {
    Package(&'t Node),
    /// A symlink: a workspace or a `file:` folder, not a registry package.
    Link,
    Missing,
}

impl<'t> Resolved<'t> {
    pub(crate) fn package(&self) -> Option<&'t Node> {
        match self {
            Resolved::Package(node) => Some(node),
            Resolved::Link | Resolved::Missing => None,
        }
    }
}

pub(crate) struct ActualTree {
    pub(crate) dir: PathBuf,
    /// The project first, then its workspaces, then installed packages.
    pub(crate) nodes: Vec<Node>,
}

impl ActualTree {
    /// `workspaces`: `(location, package.json)` of each member.
    pub(crate) fn load(
        dir: &Path,
        package_json: &Value,
        workspaces: &[(String, &Value)],
    ) -> ActualTree {
        let root_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut nodes = vec![Node::top("", root_name, package_json, false)];
        for (location, member) in workspaces {
            let folder = location.rsplit('/').next().unwrap_or(location);
            nodes.push(Node::top(location, folder.to_string(), member, true));
        }
        let tops: Vec<String> = nodes.iter().map(|n| n.location.clone()).collect();
        for top in tops {
            walk(dir, &join(&top, "node_modules"), &mut nodes);
        }
        ActualTree {
            dir: dir.to_path_buf(),
            nodes,
        }
    }

    /// Where Node.js finds `name` from the folder at `from`: its own
    /// `node_modules`, then each one above it.
    pub(crate) fn resolve(&self, from: &str, name: &str) -> Resolved<'_> {
        let mut at = from.to_string();
        loop {
            let candidate = join(&join(&at, "node_modules"), name);
            if let Some(node) = self.nodes.iter().find(|n| n.location == candidate) {
                return Resolved::Package(node);
            }
            if is_link(&self.dir.join(&candidate)) {
                return Resolved::Link;
            }
            if at.is_empty() {
                return Resolved::Missing;
            }
            at = match at.rfind("/node_modules/") {
                Some(index) => at[..index].to_string(),
                None => String::new(),
            };
        }
    }
}

fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn join(base: &str, child: &str) -> String {
    match base.is_empty() {
        true => child.to_string(),
        false => format!("{base}/{child}"),
    }
}

/// Every real package folder under `node_modules` (at `location`), links
/// not followed, with the packages nested in each.
fn walk(dir: &Path, location: &str, nodes: &mut Vec<Node>) {
    let Ok(entries) = fs::read_dir(dir.join(location)) else {
        return;
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    for name in names {
        let path = join(location, &name);
        if name.starts_with('@') {
            let Ok(scoped) = fs::read_dir(dir.join(&path)) else {
                continue;
            };
            let mut inner: Vec<String> = scoped
                .filter_map(|e| e.ok())
                .map(|e| format!("{name}/{}", e.file_name().to_string_lossy()))
                .collect();
            inner.sort();
            for scoped_name in inner {
                add_package(dir, &join(location, &scoped_name), nodes);
            }
        } else {
            add_package(dir, &path, nodes);
        }
    }
}

fn add_package(dir: &Path, location: &str, nodes: &mut Vec<Node>) {
    let folder = dir.join(location);
    if is_link(&folder) {
        return;
    }
    let Ok(text) = fs::read_to_string(folder.join("package.json")) else {
        return;
    };
    let Ok(package_json) = serde_json::from_str::<Value>(&text) else {
        return;
    };
    // As arborist, a package is named by its folder (an alias's own name).
    let folder_name = location
        .rsplit_once("node_modules/")
        .map_or(location, |(_, n)| n);
    nodes.push(Node {
        location: location.to_string(),
        name: folder_name.to_string(),
        package_name: package_json["name"].as_str().map(str::to_string),
        version: package_json["version"].as_str().map(str::to_string),
        is_workspace: false,
        edges: edges(&package_json, false),
    });
    walk(dir, &join(location, "node_modules"), nodes);
}
