use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::tree::{Flags, Node, NodeId, NodeKind, Tree, ROOT};
use crate::{edges, flags, TreeError};

/// A workspace of the project: its name and its folder, relative to the project.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub name: String,
    pub location: String,
}

/// Reads the tree installed in `project_dir` from its folders, as npm's
/// `loadActual` does, without following links out of `node_modules`
/// folders except to load what they point at. `resolved` values come from
/// npm's hidden lockfile (`node_modules/.package-lock.json`), else
/// `package-lock.json`, when they record the version on disk.
pub fn load(project_dir: &Path, workspaces: &[Workspace]) -> Result<Tree, TreeError> {
    let root_dir = fs::canonicalize(project_dir).map_err(|source| TreeError::Project {
        path: project_dir.to_path_buf(),
        source,
    })?;
    let package = read_root_manifest(&root_dir)?;
    let folder_name = root_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = package
        .get("name")
        .and_then(Value::as_str)
        .map_or(folder_name, str::to_string);
    let mut loader = Loader {
        root_dir: root_dir.clone(),
        nodes: Vec::new(),
        by_realpath: HashMap::new(),
        resolved: recorded_resolved(&root_dir),
    };
    loader.add(Node {
        name,
        location: String::new(),
        path: root_dir.clone(),
        package,
        resolved: None,
        kind: NodeKind::Root,
        parent: None,
        fs_parent: None,
        children: BTreeMap::new(),
        edges_out: BTreeMap::new(),
        edges_in: Vec::new(),
        links_in: Vec::new(),
        is_workspace: false,
        flags: Flags {
            dev: false,
            optional: false,
            dev_optional: false,
            peer: false,
            extraneous: false,
        },
    });
    loader.load_children(ROOT);
    loader.load_link_targets();
    let mut tree = Tree {
        nodes: loader.nodes,
    };
    mark_workspaces(&mut tree, &root_dir, workspaces);
    edges::build(&mut tree, workspaces);
    flags::calculate(&mut tree);
    Ok(tree)
}

fn read_root_manifest(root_dir: &Path) -> Result<Value, TreeError> {
    let path = root_dir.join("package.json");
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|source| TreeError::RootManifest {
            path: path.clone(),
            source,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Value::Object(Default::default())),
        Err(source) => Err(TreeError::Read { path, source }),
    }
}

/// A package folder's manifest; a missing or broken one reads as `{}`, as
/// arborist keeps such a node (it then satisfies no dependency).
fn read_manifest(dir: &Path) -> Value {
    fs::read_to_string(dir.join("package.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(Default::default()))
}

/// `location -> (version, resolved)` as npm's hidden lockfile records them,
/// else `package-lock.json` (npm falls back on it too); a missing or broken
/// file records nothing, as both are only records of the folders.
fn recorded_resolved(root_dir: &Path) -> HashMap<String, (String, String)> {
    let mut recorded = lockfile_resolved(&root_dir.join("package-lock.json"));
    recorded.extend(lockfile_resolved(
        &root_dir.join("node_modules/.package-lock.json"),
    ));
    recorded
}

fn lockfile_resolved(path: &Path) -> HashMap<String, (String, String)> {
    let text = fs::read_to_string(path);
    let Some(lock) = text
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    else {
        return HashMap::new();
    };
    lock.get("packages")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(location, entry)| {
            let resolved = entry.get("resolved")?.as_str()?.to_string();
            let version = entry.get("version")?.as_str()?.to_string();
            Some((location.clone(), (version, resolved)))
        })
        .collect()
}

struct Loader {
    root_dir: PathBuf,
    nodes: Vec<Node>,
    by_realpath: HashMap<PathBuf, NodeId>,
    resolved: HashMap<String, (String, String)>,
}

impl Loader {
    fn add(&mut self, node: Node) -> NodeId {
        let id = self.nodes.len();
        if !node.is_link() {
            self.by_realpath.insert(node.path.clone(), id);
        }
        if let Some(parent) = node.parent {
            self.nodes[parent].children.insert(node.name.clone(), id);
        }
        self.nodes.push(node);
        id
    }

    fn location_of(&self, path: &Path) -> String {
        relative_location(&self.root_dir, path)
    }

    /// The packages and links in `<node>/node_modules`, recursively.
    fn load_children(&mut self, parent: NodeId) {
        let node_modules = self.nodes[parent].path.join("node_modules");
        for (name, path) in package_folders(&node_modules) {
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let location = self.location_of(&path);
            let is_link = meta.file_type().is_symlink();
            if !is_link && !meta.is_dir() {
                continue;
            }
            let package = match is_link {
                true => Value::Object(Default::default()),
                false => read_manifest(&path),
            };
            // A record of another version than the folder holds is stale.
            let resolved = self
                .resolved
                .get(&location)
                .filter(|(version, _)| {
                    package.get("version").and_then(Value::as_str) == Some(version)
                })
                .map(|(_, resolved)| resolved.clone());
            let id = self.add(Node {
                name,
                location,
                path,
                package,
                resolved,
                kind: match is_link {
                    true => NodeKind::Link(None),
                    false => NodeKind::Package,
                },
                parent: Some(parent),
                fs_parent: None,
                children: BTreeMap::new(),
                edges_out: BTreeMap::new(),
                edges_in: Vec::new(),
                links_in: Vec::new(),
                is_workspace: false,
                flags: all_flags(),
            });
            if !is_link {
                self.load_children(id);
            }
        }
    }

    /// Points each link at its target, loading the targets (and what their
    /// own `node_modules` hold) that aren't in the tree yet.
    fn load_link_targets(&mut self) {
        let mut next = 0;
        while next < self.nodes.len() {
            let id = next;
            next += 1;
            if !self.nodes[id].is_link() {
                continue;
            }
            let Ok(real) = fs::canonicalize(&self.nodes[id].path) else {
                continue;
            };
            let target = match self.by_realpath.get(&real) {
                Some(existing) => *existing,
                None => self.add_link_target(real.clone()),
            };
            self.nodes[id].kind = NodeKind::Link(Some(target));
            self.nodes[id].package = self.nodes[target].package.clone();
            self.nodes[id].resolved = Some(format!(
                "file:{}",
                relative_location(
                    self.nodes[id].path.parent().unwrap_or(&self.root_dir),
                    &real
                )
            ));
            self.nodes[target].links_in.push(id);
        }
    }

    fn add_link_target(&mut self, real: PathBuf) -> NodeId {
        let package = read_manifest(&real);
        let name = name_from_folder(&real);
        let inside_project = real.starts_with(&self.root_dir);
        let id = self.add(Node {
            name,
            location: self.location_of(&real),
            path: real,
            package,
            resolved: None,
            kind: NodeKind::LinkTarget,
            parent: None,
            fs_parent: inside_project.then_some(ROOT),
            children: BTreeMap::new(),
            edges_out: BTreeMap::new(),
            edges_in: Vec::new(),
            links_in: Vec::new(),
            is_workspace: false,
            flags: all_flags(),
        });
        self.load_children(id);
        id
    }
}

/// A folder's name as arborist derives it: `@scope/name` inside a scope
/// folder, else the last component.
fn name_from_folder(path: &Path) -> String {
    let last = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let scope = path
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|scope| scope.starts_with('@'));
    match scope {
        Some(scope) => format!("{scope}/{last}"),
        None => last,
    }
}

fn all_flags() -> Flags {
    Flags {
        dev: true,
        optional: true,
        dev_optional: true,
        peer: true,
        extraneous: true,
    }
}

/// `(name, path)` of each package folder or link in a `node_modules`
/// (`@scope/name` inside scope folders), by name; dot entries are npm's own.
fn package_folders(node_modules: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for (name, path) in sorted_entries(node_modules) {
        if name.starts_with('@') && path.is_dir() && !path.is_symlink() {
            for (inner, inner_path) in sorted_entries(&path) {
                found.push((format!("{name}/{inner}"), inner_path));
            }
        } else {
            found.push((name, path));
        }
    }
    found
}

fn sorted_entries(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut entries: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    entries.sort();
    entries
}

/// `to` relative to `from`, `/`-separated (`../lib`, `packages/a`, `""`).
pub(crate) fn relative_location(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let ups = std::iter::repeat_n("..".to_string(), from.len() - common);
    let downs = to[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    ups.chain(downs).collect::<Vec<_>>().join("/")
}

fn mark_workspaces(tree: &mut Tree, root_dir: &Path, workspaces: &[Workspace]) {
    for workspace in workspaces {
        let real = fs::canonicalize(root_dir.join(&workspace.location))
            .unwrap_or_else(|_| root_dir.join(&workspace.location));
        for id in 0..tree.nodes.len() {
            let node = &tree.nodes[id];
            let points_there = match node.kind {
                NodeKind::LinkTarget => node.path == real,
                NodeKind::Link(Some(target)) => tree.nodes[target].path == real,
                _ => false,
            };
            if points_there {
                tree.nodes[id].is_workspace = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_locations_climb_and_descend() {
        let at = |a: &str, b: &str| relative_location(Path::new(a), Path::new(b));
        assert_eq!(at("/p", "/p/packages/a"), "packages/a");
        assert_eq!(at("/p/node_modules", "/p/packages/a"), "../packages/a");
        assert_eq!(at("/p", "/lib"), "../lib");
        assert_eq!(at("/p", "/p"), "");
    }
}
