//! The verified npm 11 cases of shared/npm-tree-rules.md §6, run through the
//! tree builder with in-memory packuments.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use utoo_npm_types::{Manifest, Packument, Platform, Spec};
use utoo_resolver_actor::{
    finish, pick_manifest, project_tree, BuildOptions, BundledPackage, ManifestSource, PackageKind,
    Project, ResolveError, TreeBuilder,
};

#[derive(Default)]
struct Memory {
    /// name → (latest, manifests)
    manifests: HashMap<String, (String, Vec<Manifest>)>,
    pinned_latest: Vec<String>,
}

impl Memory {
    /// `name@version` then `kind:dep@spec` words; kinds: dep, peer, peeropt, opt; `latest`, `deprecated`, `os:<os>`.
    /// Versions are listed in ascending order; the last is `latest` unless one says `latest`.
    fn with(mut self, line: &str) -> Self {
        let mut words = line.split_whitespace();
        let id = words.next().unwrap();
        let (name, version) = id.rsplit_once('@').unwrap();
        let mut m = Manifest {
            name: name.into(),
            version: version.into(),
            ..Manifest::default()
        };
        m.dist.tarball = format!("http://r/{name}/-/{name}-{version}.tgz");
        let mut latest = false;
        for word in words {
            let (kind, rest) = word.split_once(':').unwrap_or((word, ""));
            let dep = || {
                let (n, s) = rest.rsplit_once('@').unwrap();
                (n.to_string(), s.to_string())
            };
            match kind {
                "dep" => drop(m.dependencies.insert(dep().0, dep().1)),
                "opt" => drop(m.optional_dependencies.insert(dep().0, dep().1)),
                "peer" => drop(m.peer_dependencies.insert(dep().0, dep().1)),
                "peeropt" => {
                    m.peer_dependencies.insert(dep().0, dep().1);
                    m.peer_dependencies_meta.insert(
                        dep().0,
                        utoo_npm_types::PeerDependencyMeta { optional: true },
                    );
                }
                "os" => m.os.push(rest.into()),
                "latest" => latest = true,
                "deprecated" => m.deprecated = Some("old".into()),
                other => panic!("unknown fixture word {other}"),
            }
        }
        let entry = self.manifests.entry(name.into()).or_default();
        entry.1.push(m);
        if latest || !self.pinned_latest.iter().any(|n| n == name) {
            entry.0 = version.into();
        }
        if latest {
            self.pinned_latest.push(name.into());
        }
        self
    }
}

impl ManifestSource for Memory {
    async fn pick(
        &self,
        name: &str,
        spec: &str,
        dependent: &str,
    ) -> Result<Arc<Manifest>, ResolveError> {
        let not_found = || ResolveError::NotFound {
            name: name.into(),
            url: format!("memory:{name}"),
            wanted_by: dependent.into(),
        };
        let (latest, manifests) = self.manifests.get(name).ok_or_else(not_found)?;
        let dist_tags = BTreeMap::from([("latest".to_string(), latest.clone())]);
        let packument = Packument::from_manifests(name.into(), dist_tags, manifests.clone());
        let spec_parsed = Spec::parse(name, spec).map_err(|source| ResolveError::Spec {
            dependent: dependent.into(),
            source,
        })?;
        pick_manifest(&packument, &spec_parsed, None)
            .map(|m| Arc::new(m.manifest()))
            .ok_or_else(not_found)
    }

    /// These fixtures have no tarballs, so nothing is bundled.
    async fn bundle(&self, _bundler: &Manifest) -> Result<Arc<Vec<BundledPackage>>, ResolveError> {
        Ok(Arc::new(Vec::new()))
    }
}

fn linux() -> Platform {
    Platform {
        os: "linux".into(),
        cpu: "x64".into(),
        libc: Some("glibc".into()),
    }
}

/// Resolves `deps` (name → spec) and lists `path@version` (with `!` for not
/// installed, and ` -> target` for a link).
fn resolve(memory: &Memory, deps: &[(&str, &str)], legacy_peer_deps: bool) -> Vec<String> {
    let package_json = serde_json::json!({
        "name": "root",
        "dependencies": deps.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect::<BTreeMap<_, _>>(),
    });
    let project = Project::from_package_json(&package_json, "root");
    let builder = TreeBuilder::new(
        project_tree(&project, legacy_peer_deps),
        memory,
        BuildOptions {
            legacy_peer_deps,
            project_dir: Default::default(),
        },
    );
    let (tree, warnings) = futures::executor::block_on(builder.build()).unwrap();
    let resolved = finish(tree, &linux(), warnings).unwrap();
    resolved
        .packages
        .iter()
        .map(|p| {
            let mark = if p.installable { "" } else { "!" };
            let peer = if p.peer { " peer" } else { "" };
            let link = match &p.kind {
                PackageKind::Link { target } => format!(" -> {target}"),
                _ => String::new(),
            };
            format!(
                "{mark}{}@{}{peer}{link}",
                p.path.replace("node_modules/", ""),
                p.manifest.version
            )
        })
        .collect()
}

#[test]
fn l1_queue_order_decides_which_version_is_hoisted() {
    let memory = Memory::default()
        .with("aa@1.0.0 dep:bb@1")
        .with("bb@1.0.0 dep:mm@1.0.0")
        .with("zz@1.0.0 dep:mm@2.0.0")
        .with("mm@1.0.0")
        .with("mm@2.0.0");
    assert_eq!(
        resolve(&memory, &[("aa", "1.0.0"), ("zz", "1.0.0")], false),
        [
            "aa@1.0.0",
            "bb@1.0.0",
            "mm@1.0.0",
            "zz@1.0.0",
            "zz/mm@2.0.0"
        ]
    );
    let renamed = Memory::default()
        .with("ab@1.0.0 dep:zzb@1")
        .with("zzb@1.0.0 dep:mm@1.0.0")
        .with("zz@1.0.0 dep:mm@2.0.0")
        .with("mm@1.0.0")
        .with("mm@2.0.0");
    assert_eq!(
        resolve(&renamed, &[("ab", "1.0.0"), ("zz", "1.0.0")], false),
        [
            "ab@1.0.0",
            "mm@2.0.0",
            "zz@1.0.0",
            "zzb@1.0.0",
            "zzb/mm@1.0.0"
        ]
    );
}

#[test]
fn l3_newer_version_replaces_when_all_dependents_accept_it() {
    let memory = Memory::default()
        .with("ee@1.0.0 latest")
        .with("ee@1.1.0")
        .with("ka@1.0.0 dep:ee@^1.0.0")
        .with("kb@1.0.0 dep:ee@^1.1.0")
        .with("ff@1.0.0")
        .with("ff@1.0.5")
        .with("ff@1.1.0")
        .with("ta@1.0.0 dep:ff@~1.0.0")
        .with("tb@1.0.0 dep:ff@^1.0.0");
    assert_eq!(
        resolve(&memory, &[("ka", "1.0.0"), ("kb", "1.0.0")], false),
        ["ee@1.1.0", "ka@1.0.0", "kb@1.0.0"]
    );
    assert_eq!(
        resolve(&memory, &[("ta", "1.0.0"), ("tb", "1.0.0")], false),
        ["ff@1.0.5", "ta@1.0.0", "tb@1.0.0"]
    );
}

#[test]
fn l4_conflicting_versions_nest_under_their_dependent() {
    let memory = Memory::default()
        .with("pa@1.0.0 dep:pb@^1")
        .with("pb@1.0.0")
        .with("pb@2.0.0");
    assert_eq!(
        resolve(&memory, &[("pa", "1.0.0"), ("pb", "1 || 2")], false),
        ["pa@1.0.0", "pa/pb@1.0.0", "pb@2.0.0"]
    );
}

fn peer_fixture() -> Memory {
    Memory::default()
        .with("host@1.0.0 dep:util@^1")
        .with("host@2.0.0 dep:util@^2")
        .with("util@1.0.0")
        .with("util@2.0.0")
        .with("plugin1@1.0.0 peer:host@^1")
        .with("wplug1@1.0.0 dep:plugin1@1")
        .with("popt@1.0.0 peeropt:host@^1")
}

#[test]
fn l5_peers_are_installed_beside_their_dependent() {
    let memory = peer_fixture();
    assert_eq!(
        resolve(&memory, &[("plugin1", "1.0.0")], false),
        ["host@1.0.0 peer", "plugin1@1.0.0", "util@1.0.0 peer"]
    );
    assert_eq!(
        resolve(&memory, &[("host", "2.0.0"), ("wplug1", "1.0.0")], false),
        [
            "host@2.0.0",
            "util@2.0.0",
            "wplug1@1.0.0",
            "wplug1/host@1.0.0 peer",
            "wplug1/plugin1@1.0.0",
            "wplug1/util@1.0.0 peer",
        ]
    );
}

fn resolve_error(memory: &Memory, deps: &[(&str, &str)]) -> ResolveError {
    let package_json = serde_json::json!({
        "name": "root",
        "dependencies": deps.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect::<BTreeMap<_, _>>(),
    });
    let project = Project::from_package_json(&package_json, "root");
    let options = BuildOptions {
        legacy_peer_deps: false,
        project_dir: Default::default(),
    };
    let builder = TreeBuilder::new(project_tree(&project, false), memory, options);
    futures::executor::block_on(builder.build()).expect_err("resolution must fail")
}

#[test]
fn l5_l6_the_projects_own_peer_conflicts_are_eresolve() {
    let memory = peer_fixture().with("plugin2@1.0.0 peer:host@^2");
    let err = resolve_error(&memory, &[("host", "^1"), ("plugin2", "1.0.0")]);
    assert!(matches!(err, ResolveError::PeerConflict { .. }), "{err}");
    assert!(err.to_string().contains("host@^2"), "{err}");
    let err = resolve_error(&memory, &[("popt", "1.0.0"), ("host", "2.0.0")]);
    assert!(matches!(err, ResolveError::PeerConflict { .. }), "{err}");
}

#[test]
fn l6_optional_peers_are_not_installed_and_legacy_skips_peers() {
    let memory = peer_fixture();
    assert_eq!(
        resolve(&memory, &[("popt", "1.0.0")], false),
        ["popt@1.0.0"]
    );
    assert_eq!(
        resolve(&memory, &[("plugin1", "1.0.0")], true),
        ["plugin1@1.0.0"]
    );
}

#[test]
fn l7_optional_platform_mismatch_is_locked_but_not_installed() {
    let memory = Memory::default()
        .with("optdeep@1.0.0 dep:util@1 opt:winonly@1 opt:missing@1")
        .with("util@1.0.0")
        .with("winonly@1.0.0 os:win32 dep:wdep@1")
        .with("wdep@1.0.0");
    assert_eq!(
        resolve(&memory, &[("optdeep", "1.0.0")], false),
        [
            "optdeep@1.0.0",
            "util@1.0.0",
            "!wdep@1.0.0",
            "!winonly@1.0.0"
        ]
    );
}

#[test]
fn cycles_resolve() {
    let memory = Memory::default()
        .with("ca@1.0.0 dep:cb@1")
        .with("cb@1.0.0 dep:ca@1");
    assert_eq!(
        resolve(&memory, &[("ca", "1")], false),
        ["ca@1.0.0", "cb@1.0.0"]
    );
}

/// Checked with npm 11.19.1: `a@1 → b@1 → a@2 → b@2 → a@1` can't be
/// flattened, and the deepest `a@1` needs `b@1`, which `b@2` (its parent)
/// shadows. npm links `b` there to the earlier `b@1` (arborist's PlaceDep,
/// "unresolvable dependency nesting loops") instead of nesting forever;
/// `npm ls` finds the tree valid.
#[test]
fn a_cycle_through_conflicting_versions_links_to_the_earlier_copy() {
    let memory = Memory::default()
        .with("a@1.0.0 dep:b@1")
        .with("a@2.0.0 dep:b@2")
        .with("b@1.0.0 dep:a@2")
        .with("b@2.0.0 dep:a@1");
    assert_eq!(
        resolve(&memory, &[("a", "1")], false),
        [
            "a@1.0.0",
            "b@1.0.0",
            "b/a@2.0.0",
            "b/b@2.0.0",
            "b/b/a@1.0.0",
            "b/b/b@1.0.0 -> node_modules/b",
        ]
    );
}

fn write_package(dir: &std::path::Path, location: &str, package_json: serde_json::Value) {
    let folder = dir.join(location);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("package.json"), package_json.to_string()).unwrap();
}

/// Checked against npm 11.19.1 with the same shape of project (real packages
/// of these names and versions): members are linked, their dependencies
/// hoisted to the root unless they conflict, and only after the root's own
/// tree is complete (so `b`'s and `is-odd`'s `is-number@6` wins the root);
/// folders outside the project are linked but their dependencies are left alone.
#[test]
fn workspaces_and_file_folders_are_linked_as_npm_does() {
    let memory = Memory::default()
        .with("is-number@6.0.0")
        .with("is-number@7.0.0")
        .with("is-odd@3.0.1 dep:is-number@^6.0.0")
        .with("kind-of@6.0.3")
        .with("is-buffer@1.1.6")
        .with("isarray@1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let package_json = serde_json::json!({
        "name": "ws-root",
        "workspaces": ["packages/*"],
        "dependencies": {"local": "file:./local", "ext": "file:../ext-pkg"},
        "devDependencies": {"is-odd": "3.0.1"},
    });
    write_package(&root, "", package_json.clone());
    write_package(
        &root,
        "packages/a",
        serde_json::json!({
            "name": "@m/a", "version": "1.0.0",
            "dependencies": {"is-number": "^7.0.0", "b": "^1.0.0"},
            "devDependencies": {"kind-of": "^6.0.0"},
        }),
    );
    write_package(
        &root,
        "packages/b",
        serde_json::json!({
            "name": "b", "version": "1.0.0", "dependencies": {"is-number": "^6.0.0"},
        }),
    );
    write_package(
        &root,
        "local",
        serde_json::json!({
            "name": "local", "version": "0.1.0", "dependencies": {"is-buffer": "^1.1.0"},
        }),
    );
    write_package(
        dir.path(),
        "ext-pkg",
        serde_json::json!({
            "name": "ext", "version": "2.0.0", "dependencies": {"isarray": "^1.0.0"},
        }),
    );
    let project = Project::load(&root, &package_json).unwrap();
    let options = BuildOptions {
        legacy_peer_deps: false,
        project_dir: root.clone(),
    };
    let builder = TreeBuilder::new(project_tree(&project, false), &memory, options);
    let (tree, warnings) = futures::executor::block_on(builder.build()).unwrap();
    let resolved = finish(tree, &linux(), warnings).unwrap();
    let listed: Vec<String> = resolved
        .packages
        .iter()
        .map(|p| {
            let kind = match &p.kind {
                PackageKind::Tarball => String::new(),
                PackageKind::Link { target } => format!(" -> {target}"),
                PackageKind::Folder { .. } => " (folder)".to_string(),
                PackageKind::Bundled => " (bundled)".to_string(),
            };
            let dev = if p.dev { " dev" } else { "" };
            format!("{}@{}{kind}{dev}", p.path, p.manifest.version)
        })
        .collect();
    assert_eq!(
        listed,
        [
            "../ext-pkg@2.0.0 (folder)",
            "local@0.1.0 (folder)",
            "node_modules/@m/a@1.0.0 -> packages/a",
            "node_modules/b@1.0.0 -> packages/b",
            "node_modules/ext@2.0.0 -> ../ext-pkg",
            "node_modules/is-buffer@1.1.6",
            "node_modules/is-number@6.0.0",
            "node_modules/is-odd@3.0.1 dev",
            "node_modules/kind-of@6.0.3 dev",
            "node_modules/local@0.1.0 -> local",
            "packages/a@1.0.0 (folder)",
            "packages/a/node_modules/is-number@7.0.0",
            "packages/b@1.0.0 (folder)",
        ]
    );
}
