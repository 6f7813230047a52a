use std::fs;

use serde_json::json;

use crate::support::Project;

const PLATFORM: &str = "
    optdeep@1.0.0 deps(util@1) optional(winonly@1, missing@1)
    util@1.0.0
    winonly@1.0.0 os(win32) deps(wdep@1)
    wdep@1.0.0
";

#[test]
fn optional_packages_for_other_platforms_are_locked_not_installed() {
    let project = Project::new(PLATFORM, json!({"dependencies": {"optdeep": "1"}}));
    let stdout = project.install(&[]);
    assert!(stdout.starts_with("added 2 packages"), "{stdout}");
    assert_eq!(project.installed(), ["optdeep@1.0.0", "util@1.0.0"]);
    assert_eq!(
        project.locked(),
        ["optdeep@1.0.0", "util@1.0.0", "wdep@1.0.0", "winonly@1.0.0"]
    );
    let lock = project.lockfile();
    assert_eq!(lock["packages"]["node_modules/winonly"]["optional"], true);
    assert_eq!(
        lock["packages"]["node_modules/winonly"]["os"],
        json!(["win32"])
    );
    assert_eq!(lock["packages"]["node_modules/wdep"]["optional"], true);
    assert_eq!(
        project.registry.requests("/winonly/-/winonly-1.0.0.tgz"),
        0,
        "never downloaded"
    );
}

const PEERS: &str = "
    host@1.0.0 deps(util@^1)
    host@2.0.0 deps(util@^2)
    util@1.0.0
    util@2.0.0
    plugin1@1.0.0 peer(host@^1)
    wplug1@1.0.0 deps(plugin1@1)
";

#[test]
fn peer_dependencies_are_installed_beside_their_dependent() {
    let project = Project::new(PEERS, json!({"dependencies": {"plugin1": "1"}}));
    project.install(&[]);
    assert_eq!(
        project.installed(),
        ["host@1.0.0", "plugin1@1.0.0", "util@1.0.0"]
    );
    let lock = project.lockfile();
    assert_eq!(lock["packages"]["node_modules/host"]["peer"], true);
    assert_eq!(lock["packages"]["node_modules/util"]["peer"], true);
    assert!(lock["packages"]["node_modules/plugin1"]
        .get("peer")
        .is_none());
}

#[test]
fn peers_nest_with_their_dependent_when_the_root_has_another_version() {
    let project = Project::new(
        PEERS,
        json!({"dependencies": {"host": "2.0.0", "wplug1": "1"}}),
    );
    project.install(&[]);
    assert_eq!(
        project.installed(),
        [
            "host@2.0.0",
            "util@2.0.0",
            "wplug1@1.0.0",
            "wplug1/host@1.0.0",
            "wplug1/plugin1@1.0.0",
            "wplug1/util@1.0.0"
        ]
    );
}

#[test]
fn legacy_peer_deps_from_flag_and_npmrc() {
    let project = Project::new(PEERS, json!({"dependencies": {"plugin1": "1"}}));
    project.install(&["--legacy-peer-deps"]);
    assert_eq!(project.installed(), ["plugin1@1.0.0"]);

    fs::remove_file(project.dir().join("package-lock.json")).unwrap();
    fs::write(project.dir().join(".npmrc"), "legacy-peer-deps=true\n").unwrap();
    project.install(&[]);
    assert_eq!(project.installed(), ["plugin1@1.0.0"]);
}

#[test]
fn omit_dev_and_production_keep_dev_packages_out_of_node_modules() {
    let fixtures = "
        aa@1.0.0 deps(bb@1)
        bb@1.0.0
        tool@1.0.0 deps(helper@1)
        helper@1.0.0
    ";
    for flags in [&["--omit", "dev"][..], &["--production"][..]] {
        let project = Project::new(
            fixtures,
            json!({"dependencies": {"aa": "1"}, "devDependencies": {"tool": "1"}}),
        );
        project.install(flags);
        assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"], "{flags:?}");
        assert_eq!(
            project.locked(),
            ["aa@1.0.0", "bb@1.0.0", "helper@1.0.0", "tool@1.0.0"]
        );
        assert_eq!(
            project.lockfile()["packages"]["node_modules/helper"]["dev"],
            true
        );
    }
}

#[test]
fn the_projects_own_peer_conflict_is_reported_not_mismatched() {
    let fixtures = format!("{PEERS}\nplugin2@1.0.0 peer(host@^2)\n");
    let project = Project::new(
        &fixtures,
        json!({"dependencies": {"host": "^1", "plugin2": "1"}}),
    );
    let output = project.utoo(&["install"]);
    assert!(
        !output.status.success(),
        "{}",
        crate::support::describe(&output)
    );
    let err = crate::support::stderr(&output);
    assert!(
        err.contains("ERESOLVE") && err.contains("host@^2") && err.contains("host@1.0.0"),
        "{err}"
    );
    assert!(!project.dir().join("node_modules").exists());
}
