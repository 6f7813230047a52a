//! Between trees and `package-lock.json`: a lockfile as the starting tree,
//! and a resolved tree written back as npm 11 writes it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use utoo_lockfile::{LockEntry, Lockfile, PeerDependencyMeta as LockPeerMeta};
use utoo_npm_types::{safe_bins, validate_package_name, Dist, Manifest, PeerDependencyMeta};

use crate::edge::{package_edges, Edge, EdgeKind};
use crate::error::ResolveError;
use crate::finish::{PackageKind, ResolvedPackage, ResolvedTree};
use crate::local::{is_inside_project, LocalPackage};
use crate::overrides::ROOT_RULES;
use crate::project::Project;
use crate::tree::{NodeId, Tree, ROOT};

/// The root node for `project`, with its dependencies of every kind (dev
/// included), and its workspaces linked into its `node_modules`.
pub fn project_tree(project: &Project, legacy_peer_deps: bool) -> Tree {
    let root = Arc::new(project.manifest.clone());
    let is_workspace = |name: &str| project.workspaces.iter().any(|w| w.manifest.name == name);
    // A workspace's own edge wins over the root's dependency of that name, as in arborist.
    let mut edges: Vec<Edge> =
        package_edges(&root, Some(&project.dev_dependencies), legacy_peer_deps)
            .into_iter()
            .filter(|edge| !is_workspace(&edge.name))
            .collect();
    for member in &project.workspaces {
        let spec = format!("file:{}", member.location);
        edges.push(Edge::new(&member.manifest.name, &spec, EdgeKind::Prod));
    }
    edges.sort_by(|a, b| a.name.cmp(&b.name));
    let mut tree = Tree::new(root, edges, project.overrides.clone());
    for member in &project.workspaces {
        add_folder(&mut tree, member, legacy_peer_deps);
    }
    tree
}

/// Adds a folder's top node and links it into the root's `node_modules`.
fn add_folder(tree: &mut Tree, folder: &LocalPackage, legacy_peer_deps: bool) -> NodeId {
    let id = tree.add_top(folder.clone(), legacy_peer_deps);
    tree.add_link(ROOT, &folder.manifest.name, id);
    id
}

/// The tree a lockfile describes, under the root of `project` as it is now.
/// Folders are read as they are now; entries this version can't use
/// (entries without a version, links it can't follow) are left out. A
/// package path whose last part is not a package name (`node_modules/../x`,
/// `node_modules/.bin`) is an error: a lockfile is input from strangers.
pub fn tree_from_lockfile(
    project: &Project,
    lock: &Lockfile,
    legacy_peer_deps: bool,
) -> Result<Tree, ResolveError> {
    let mut tree = project_tree(project, legacy_peer_deps);
    let mut ids: HashMap<String, NodeId> = HashMap::from([(String::new(), ROOT)]);
    for member in &project.workspaces {
        if let Some(id) = tree.top_at(&member.location) {
            ids.insert(member.location.clone(), id);
        }
    }
    // Root links to folders inside the project: their nested packages are locked too.
    for (path, entry) in &lock.packages {
        let (Some(name), Some(target)) = (path.strip_prefix("node_modules/"), &entry.resolved)
        else {
            continue;
        };
        if !entry.link
            || !is_inside_project(target)
            || ids.contains_key(target)
            || name.contains("node_modules/")
        {
            continue;
        }
        if let Ok(folder) = LocalPackage::read(&project.dir, target) {
            let id = add_folder(&mut tree, &folder, legacy_peer_deps);
            ids.insert(target.clone(), id);
        }
    }
    let mut paths: Vec<(&String, &LockEntry)> = lock
        .packages
        .iter()
        .filter(|(path, entry)| !path.is_empty() && !entry.link && entry.version.is_some())
        .collect();
    paths.sort_by_key(|(path, _)| path.matches("node_modules/").count());
    for (path, entry) in paths {
        let Some((parent_path, name)) = path.rsplit_once("node_modules/") else {
            continue;
        };
        validate_lock_path(path, name)?;
        let parent_path = parent_path.trim_end_matches('/');
        let Some(&parent) = ids.get(parent_path) else {
            continue;
        };
        let manifest = Arc::new(manifest_from_entry(name, entry));
        let id = if entry.in_bundle && in_package_bundle(&tree, parent) {
            tree.add_bundled(parent, name, manifest, legacy_peer_deps)
        } else {
            let edges = package_edges(&manifest, None, legacy_peer_deps);
            tree.add(parent, name, manifest, edges, ROOT_RULES)
        };
        ids.insert(path.clone(), id);
    }
    add_cycle_links(&mut tree, lock, &ids)?;
    tree.propagate_overrides();
    Ok(tree)
}

/// Whether an `inBundle` entry under `parent` came in a package's tarball:
/// its parent is a bundler or itself bundled. Entries in the project's own
/// bundle (under the root or a folder) are installed from the registry.
fn in_package_bundle(tree: &Tree, parent: NodeId) -> bool {
    let node = tree.node(parent);
    parent != ROOT
        && node.top.is_none()
        && (node.bundled || !node.manifest.bundled_names().is_empty())
}

/// Links npm made inside `node_modules` to an earlier copy of a package, to
/// break a dependency cycle (see `place::earlier_copy`).
fn add_cycle_links(
    tree: &mut Tree,
    lock: &Lockfile,
    ids: &HashMap<String, NodeId>,
) -> Result<(), ResolveError> {
    for (path, entry) in lock.packages.iter().filter(|(_, entry)| entry.link) {
        let Some(&target) = entry.resolved.as_ref().and_then(|r| ids.get(r)) else {
            continue;
        };
        let Some((parent_path, name)) = path.rsplit_once("node_modules/") else {
            continue;
        };
        validate_lock_path(path, name)?;
        let Some(&parent) = ids.get(parent_path.trim_end_matches('/')) else {
            continue;
        };
        // Links to folders (tops) are the project's own, handled above.
        if target != ROOT && tree.node(target).top.is_none() {
            tree.add_link(parent, name, target);
        }
    }
    Ok(())
}

/// A package path's last part must be a package name.
fn validate_lock_path(path: &str, name: &str) -> Result<(), ResolveError> {
    validate_package_name(name).map_err(|source| ResolveError::LockfilePath {
        path: path.to_string(),
        source,
    })
}

/// The manifest a lockfile entry describes, for the package in folder `folder_name`.
pub fn manifest_from_entry(folder_name: &str, entry: &LockEntry) -> Manifest {
    Manifest {
        name: entry
            .name
            .clone()
            .unwrap_or_else(|| folder_name.to_string()),
        version: entry.version.clone().unwrap_or_default(),
        dependencies: entry.dependencies.clone(),
        optional_dependencies: entry.optional_dependencies.clone(),
        peer_dependencies: entry.peer_dependencies.clone(),
        peer_dependencies_meta: entry
            .peer_dependencies_meta
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    PeerDependencyMeta {
                        optional: v.is_optional(),
                    },
                )
            })
            .collect(),
        bin: safe_bins(&entry.bin),
        engines: entry.engines.clone(),
        os: entry.os.clone(),
        cpu: entry.cpu.clone(),
        libc: entry.libc.clone(),
        license: entry.license.clone(),
        deprecated: entry.deprecated.clone(),
        has_install_script: entry.has_install_script,
        funding: entry.funding.clone(),
        bundle_dependencies: entry.bundle_dependencies.clone(),
        workspaces: entry.workspaces.clone(),
        engines_as_written: entry.other.get("engines").cloned(),
        dist: Dist {
            tarball: entry.resolved.clone().unwrap_or_default(),
            integrity: entry.integrity.clone(),
            shasum: None,
        },
    }
}

/// The lockfile npm 11 would write for `tree`.
pub fn lockfile_from_tree(
    package_json: &Value,
    project: &Project,
    tree: &ResolvedTree,
) -> Lockfile {
    let mut lock = lockfile_without_packages(package_json, project, tree);
    lock.packages.extend(
        tree.packages
            .iter()
            .map(|package| (package.path.clone(), locked_entry(package))),
    );
    lock
}

/// Whether `lockfile` has the entries and fields [`lockfile_from_tree`]
/// gives `tree`, found entry by entry without building that lockfile: it
/// takes megabytes, and a warm install whose lockfile is unchanged would
/// hold two. The lockfile version is not compared: the caller sets it.
pub fn is_locked_as(
    lockfile: &Lockfile,
    package_json: &Value,
    project: &Project,
    tree: &ResolvedTree,
) -> bool {
    let expected = lockfile_without_packages(package_json, project, tree);
    let Lockfile {
        name,
        version,
        lockfile_version: _,
        packages,
        other,
        overridden_specs,
    } = lockfile;
    let paths: HashSet<&str> = tree.packages.iter().map(|p| p.path.as_str()).collect();
    expected.name == *name
        && expected.version == *version
        && expected.other == *other
        && expected.overridden_specs == *overridden_specs
        && expected.packages.get("") == packages.get("")
        && packages.len() == paths.len() + 1
        && tree
            .packages
            .iter()
            .all(|package| packages.get(&package.path) == Some(&locked_entry(package)))
}

/// The lockfile's fields and root entry, without the tree's packages.
fn lockfile_without_packages(
    package_json: &Value,
    project: &Project,
    tree: &ResolvedTree,
) -> Lockfile {
    let mut lock = Lockfile {
        name: Some(project.manifest.name.clone()),
        version: package_json
            .get("version")
            .and_then(Value::as_str)
            .map(str::to_string),
        overridden_specs: tree.overridden_specs.clone(),
        ..Lockfile::default()
    };
    lock.packages.insert(
        String::new(),
        LockEntry::root_from_package_json(package_json),
    );
    lock
}

/// A package's entry.
fn locked_entry(package: &ResolvedPackage) -> LockEntry {
    match &package.kind {
        PackageKind::Tarball | PackageKind::Bundled => entry_from_package(package),
        // npm puts a link's flags on the folder's entry, not the link's.
        PackageKind::Link { target } => LockEntry {
            resolved: Some(target.clone()),
            link: true,
            ..LockEntry::default()
        },
        PackageKind::Folder { package_json } => folder_entry(package, package_json),
    }
}

/// A folder's entry: its `package.json` as for the root, `name` only when
/// it differs from the folder's name.
fn folder_entry(package: &ResolvedPackage, package_json: &Value) -> LockEntry {
    let mut entry = LockEntry::root_from_package_json(package_json);
    let folder_name = package.path.rsplit('/').next().unwrap_or(&package.path);
    if entry.name.as_deref() == Some(folder_name) {
        entry.name = None;
    }
    entry.dev = package.dev;
    entry.optional = package.optional;
    entry.dev_optional = package.dev_optional;
    entry.peer = package.peer;
    entry
}

fn entry_from_package(package: &ResolvedPackage) -> LockEntry {
    let m = &package.manifest;
    let funding = m.funding.clone().map(|f| match f {
        Value::String(url) => serde_json::json!({ "url": url }),
        other => other,
    });
    let other = m
        .engines_as_written
        .iter()
        .map(|engines| ("engines".to_string(), engines.clone()))
        .collect();
    LockEntry {
        name: (m.name != package.name).then(|| m.name.clone()),
        version: Some(m.version.clone()),
        resolved: (!m.dist.tarball.is_empty()).then(|| m.dist.tarball.clone()),
        integrity: m.dist.lock_integrity(),
        dev: package.dev,
        optional: package.optional,
        dev_optional: package.dev_optional,
        peer: package.peer,
        has_install_script: m.has_install_script,
        license: m.license.clone(),
        deprecated: m.deprecated.clone(),
        dependencies: m.dependencies.clone(),
        optional_dependencies: m.optional_dependencies.clone(),
        peer_dependencies: m.peer_dependencies.clone(),
        peer_dependencies_meta: m
            .peer_dependencies_meta
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    LockPeerMeta {
                        optional: Some(v.optional),
                        ..LockPeerMeta::default()
                    },
                )
            })
            .collect(),
        bin: m.bin.clone(),
        engines: m.engines.clone(),
        os: m.os.clone(),
        cpu: m.cpu.clone(),
        libc: m.libc.clone(),
        funding,
        in_bundle: package.in_bundle,
        bundle_dependencies: m.bundle_dependencies.clone(),
        workspaces: m.workspaces.clone(),
        other,
        ..LockEntry::default()
    }
}
