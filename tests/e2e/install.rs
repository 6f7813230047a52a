use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_json::json;

use crate::support::{describe, stderr, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1) bin(aa=cli.js)
    bb@1.0.0
    bb@1.1.0
    @scope/tool@2.0.0 bin(scoped-tool=bin/run.js)
";

#[test]
fn fresh_install_places_packages_and_writes_npm_lockfile() {
    let project = Project::new(
        FIXTURES,
        json!({"name": "app", "version": "1.0.0", "dependencies": {"aa": "^1.0.0", "@scope/tool": "2"}}),
    );
    let stdout = project.install(&[]);
    assert!(stdout.starts_with("added 3 packages in "), "{stdout}");
    assert_eq!(
        project.installed(),
        ["@scope/tool@2.0.0", "aa@1.0.0", "bb@1.1.0"]
    );

    let lock = project.lockfile();
    assert_eq!(lock["lockfileVersion"], 3);
    assert_eq!(lock["requires"], true);
    assert_eq!(lock["packages"][""]["dependencies"]["aa"], "^1.0.0");
    let aa = &lock["packages"]["node_modules/aa"];
    assert_eq!(aa["version"], "1.0.0");
    assert_eq!(aa["resolved"], project.registry.tarball_url("aa", "1.0.0"));
    assert_eq!(
        aa["integrity"],
        project.registry.integrity("aa", "1.0.0").unwrap()
    );
    assert_eq!(aa["dependencies"]["bb"], "^1");
    assert_eq!(aa["bin"]["aa"], "cli.js");
    assert_eq!(aa["license"], "MIT");
    let keys: Vec<&String> = lock["packages"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "",
            "node_modules/@scope/tool",
            "node_modules/aa",
            "node_modules/bb"
        ]
    );
}

#[test]
fn bins_are_linked_executable_and_run() {
    let project = Project::new(
        FIXTURES,
        json!({"dependencies": {"aa": "1.0.0", "@scope/tool": "2.0.0"}}),
    );
    project.install(&[]);
    for (bin, expected) in [
        ("aa", "aa@1.0.0 aa"),
        ("scoped-tool", "@scope/tool@2.0.0 scoped-tool"),
    ] {
        let link = project.dir().join("node_modules/.bin").join(bin);
        let target = fs::canonicalize(&link).expect("bin link resolves");
        assert!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o111 == 0o111,
            "{bin} not executable"
        );
        let output = Command::new(&link).output().expect("bin runs");
        assert!(output.status.success(), "{}", describe(&output));
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), expected);
    }
    let link = fs::read_link(project.dir().join("node_modules/.bin/aa")).unwrap();
    assert_eq!(
        link.to_str(),
        Some("../aa/cli.js"),
        "npm-style relative link"
    );

    let stdout = project.install(&[]);
    assert!(stdout.starts_with("up to date in "), "{stdout}");
    let output = Command::new(project.dir().join("node_modules/.bin/aa"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "bins survive a no-op install: {}",
        describe(&output)
    );
}

#[test]
fn lockfile_only_resolves_without_downloading() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "^1"}}));
    let stdout = project.install(&["--lockfile-only"]);
    assert!(stdout.starts_with("locked 2 packages"), "{stdout}");
    assert_eq!(project.locked(), ["aa@1.0.0", "bb@1.1.0"]);
    assert!(!project.dir().join("node_modules").exists());
    assert_eq!(project.registry.tarball_requests(), 0);
}

#[test]
fn packuments_are_fetched_once_per_name() {
    let project = Project::new(
        "
        aa@1.0.0 deps(cc@^1)
        bb@1.0.0 deps(cc@^1.0.0)
        cc@1.0.0
        ",
        json!({"dependencies": {"aa": "1", "bb": "1", "cc": "1.0.0"}}),
    );
    project.install(&[]);
    for path in ["/aa", "/bb", "/cc"] {
        assert_eq!(project.registry.requests(path), 1, "{path}");
    }
}

#[test]
fn missing_package_fails_naming_it_and_writes_nothing() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1", "nope": "^1"}}));
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("package nope not found"),
        "{}",
        describe(&output)
    );
    assert!(!project.dir().join("package-lock.json").exists());
}

#[test]
fn version_that_does_not_exist_is_reported() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"bb": "^7"}}));
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no version of bb matches \"^7\""),
        "{}",
        describe(&output)
    );
}

#[test]
fn reinstall_removes_packages_no_longer_wanted() {
    let project = Project::new(
        FIXTURES,
        json!({"dependencies": {"aa": "1", "@scope/tool": "2"}}),
    );
    project.install(&[]);
    project.write_package_json(&json!({"dependencies": {"bb": "1.0.0"}}));
    project.install(&[]);
    assert_eq!(project.installed(), ["bb@1.0.0"]);
    assert!(!project.dir().join("node_modules/.bin/aa").exists());
    assert_eq!(project.locked(), ["bb@1.0.0"]);
}

#[test]
fn reinstall_keeps_what_is_already_in_place() {
    let fixtures = "
        aa@1.0.0 deps(bb@^1)
        bb@1.0.0
        bb@1.1.0
        cc@1.0.0
    ";
    let project = Project::new(
        fixtures,
        json!({"dependencies": {"aa": "1", "bb": "1.0.0"}}),
    );
    project.install(&[]);
    let hidden = project.dir().join("node_modules/.package-lock.json");
    assert!(hidden.is_file(), "npm's hidden lockfile is written");
    let marker = project.dir().join("node_modules/aa/left-alone.txt");
    fs::write(&marker, "untouched").unwrap();

    let stdout = project.install(&[]);
    assert!(stdout.starts_with("up to date in "), "{stdout}");
    assert!(
        marker.is_file(),
        "a package already in place is not placed again"
    );

    project.write_package_json(&json!({"dependencies": {"aa": "1", "bb": "1.1.0", "cc": "1"}}));
    let stdout = project.install(&[]);
    assert!(stdout.starts_with("added 2 packages"), "{stdout}");
    assert!(marker.is_file());
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.1.0", "cc@1.0.0"]);

    fs::remove_dir_all(project.dir().join("node_modules/cc")).unwrap();
    let stdout = project.install(&[]);
    assert!(
        stdout.starts_with("added 1 package in"),
        "a missing folder is placed again: {stdout}"
    );
}
