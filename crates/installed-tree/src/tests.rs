use std::fs;
use std::path::Path;

use crate::{load, EdgeKind, NodeKind, Tree, Workspace, ROOT};

fn write(project: &Path, dir: &str, json: &str) {
    fs::create_dir_all(project.join(dir)).unwrap();
    fs::write(project.join(dir).join("package.json"), json).unwrap();
}

/// The tree `npm ls` was checked against: an alias, a nested conflict, an
/// invalid and a missing dependency, an extraneous package, peers, a dev
/// dependency and a workspace.
fn demo() -> (tempfile::TempDir, Tree) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    write(
        p,
        ".",
        r#"{"name":"demo","version":"1.0.0","dependencies":{"aa":"^1.0.0","cc":"^2.0.0","miss":"^1.0.0","al":"npm:bb@^1"},"devDependencies":{"dd":"1.0.0"},"optionalDependencies":{"opt":"1"},"workspaces":["packages/*"]}"#,
    );
    write(
        p,
        "node_modules/aa",
        r#"{"name":"aa","version":"1.0.0","dependencies":{"bb":"^1.0.0","cc":"^1.0.0"}}"#,
    );
    write(
        p,
        "node_modules/bb",
        r#"{"name":"bb","version":"1.2.0","peerDependencies":{"pp":"1","po":"1"},"peerDependenciesMeta":{"po":{"optional":true}}}"#,
    );
    write(p, "node_modules/al", r#"{"name":"bb","version":"1.0.0"}"#);
    write(p, "node_modules/cc", r#"{"name":"cc","version":"1.0.0"}"#);
    write(
        p,
        "node_modules/aa/node_modules/cc",
        r#"{"name":"cc","version":"1.5.0"}"#,
    );
    write(
        p,
        "node_modules/dd",
        r#"{"name":"dd","version":"1.0.0","dependencies":{"bb":"^1"}}"#,
    );
    write(
        p,
        "node_modules/stray",
        r#"{"name":"stray","version":"3.0.0","dependencies":{"bb":"^1"}}"#,
    );
    write(
        p,
        "node_modules/@s/x",
        r#"{"name":"@s/x","version":"0.1.0"}"#,
    );
    write(
        p,
        "packages/wa",
        r#"{"name":"wa","version":"0.0.1","dependencies":{"aa":"^1","@s/x":"*"},"devDependencies":{"ee":"1"}}"#,
    );
    std::os::unix::fs::symlink("../packages/wa", p.join("node_modules/wa")).unwrap();
    let workspaces = [Workspace {
        name: "wa".into(),
        location: "packages/wa".into(),
    }];
    let tree = load(p, &workspaces).unwrap();
    (dir, tree)
}

fn node<'t>(tree: &'t Tree, location: &str) -> &'t crate::Node {
    &tree.nodes[tree.by_location(location).unwrap()]
}

#[test]
fn folders_links_and_their_targets_are_nodes() {
    let (_dir, tree) = demo();
    let locations: Vec<&str> = tree.nodes.iter().map(|n| n.location.as_str()).collect();
    assert_eq!(
        locations,
        [
            "",
            "node_modules/@s/x",
            "node_modules/aa",
            "node_modules/aa/node_modules/cc",
            "node_modules/al",
            "node_modules/bb",
            "node_modules/cc",
            "node_modules/dd",
            "node_modules/stray",
            "node_modules/wa",
            "packages/wa",
        ]
    );
    let link = node(&tree, "node_modules/wa");
    let target = tree.by_location("packages/wa").unwrap();
    assert_eq!(link.kind, NodeKind::Link(Some(target)));
    assert_eq!(link.resolved.as_deref(), Some("file:../packages/wa"));
    assert!(link.is_workspace && tree.nodes[target].is_workspace);
    assert_eq!(node(&tree, "node_modules/al").pkgid(), "al@npm:bb@1.0.0");
}

#[test]
fn edges_resolve_like_node_and_are_checked_like_npm() {
    let (_dir, tree) = demo();
    let root = tree.root();
    assert!(root.edges_out["cc"].is_invalid());
    assert!(root.edges_out["miss"].is_missing());
    assert!(!root.edges_out["opt"].is_missing(), "optional");
    assert!(root.edges_out["al"].valid, "alias checked on its range");
    assert_eq!(root.edges_out["wa"].kind, EdgeKind::Workspace);
    assert!(root.edges_out["wa"].valid);
    assert_eq!(root.edges_out["dd"].kind, EdgeKind::Dev);

    let aa = node(&tree, "node_modules/aa");
    let cc = aa.edges_out["cc"].to.unwrap();
    assert_eq!(tree.nodes[cc].location, "node_modules/aa/node_modules/cc");
    let bb = node(&tree, "node_modules/bb");
    assert!(bb.edges_out["pp"].is_missing());
    assert_eq!(bb.edges_out["po"].kind, EdgeKind::PeerOptional);
    assert!(!bb.edges_out["po"].is_missing());

    // The workspace resolves through its own node_modules, then the project's.
    let wa = node(&tree, "packages/wa");
    assert!(wa.edges_out["aa"].valid);
    assert!(
        wa.edges_out["ee"].is_missing(),
        "a top node's dev dependency"
    );
    assert!(!node(&tree, "node_modules/dd").edges_out.contains_key("ee"));
}

#[test]
fn flags_follow_calc_dep_flags() {
    let (_dir, tree) = demo();
    let flags = |location: &str| node(&tree, location).flags;
    assert!(flags("node_modules/stray").extraneous);
    assert!(!flags("node_modules/aa").extraneous && !flags("node_modules/aa").dev);
    assert!(flags("node_modules/dd").dev);
    assert!(!flags("node_modules/bb").dev, "also needed by aa");
    assert!(!flags("packages/wa").extraneous);
    assert!(
        !flags("node_modules/@s/x").extraneous,
        "needed by the workspace"
    );
    assert!(!tree.nodes[ROOT].flags.extraneous);
}

#[test]
fn a_broken_root_package_json_is_an_error_and_a_missing_one_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let tree = load(dir.path(), &[]).unwrap();
    assert_eq!(tree.nodes.len(), 1);
    fs::write(dir.path().join("package.json"), "{").unwrap();
    let error = load(dir.path(), &[]).unwrap_err();
    assert!(error.to_string().contains("package.json"), "{error}");
}

#[test]
fn a_link_out_of_the_project_is_named_after_its_folder_and_keeps_its_own_dependencies() {
    let base = tempfile::tempdir().unwrap();
    let project = base.path().join("app");
    write(
        base.path(),
        "app",
        r#"{"name":"app","dependencies":{"lib":"file:../lib2"}}"#,
    );
    write(
        base.path(),
        "lib2",
        r#"{"name":"lib","version":"0.3.0","dependencies":{"zz":"1"}}"#,
    );
    fs::create_dir_all(project.join("node_modules")).unwrap();
    std::os::unix::fs::symlink("../../lib2", project.join("node_modules/lib")).unwrap();
    let tree = load(&project, &[]).unwrap();
    let edge = &tree.root().edges_out["lib"];
    assert!(edge.valid, "the link points where the spec says");
    let target = tree.target(edge.to.unwrap()).unwrap();
    let lib = &tree.nodes[target];
    assert_eq!(lib.location, "../lib2");
    assert_eq!(lib.pkgid(), "lib2@npm:lib@0.3.0", "arborist's name for it");
    assert!(
        lib.edges_out["zz"].is_missing(),
        "not resolved through the project"
    );
}
