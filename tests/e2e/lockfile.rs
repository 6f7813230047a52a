use std::fs;

use serde_json::json;

use crate::support::{describe, stderr, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1)
    bb@1.0.0
    cc@1.0.0
";

#[test]
fn install_from_lockfile_requests_no_packument() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    fs::remove_dir_all(project.cache()).unwrap();
    project.registry.reset_counts();

    project.install(&[]);
    assert_eq!(
        project.registry.packument_requests(),
        0,
        "{:?}",
        project.registry.request_log()
    );
    assert_eq!(project.registry.tarball_requests(), 2);
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
}

#[test]
fn frozen_lockfile_fails_on_drift_and_leaves_files_alone() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    project.install(&["--frozen-lockfile"]);
    let before = fs::read_to_string(project.dir().join("package-lock.json")).unwrap();

    project.write_package_json(&json!({"dependencies": {"aa": "1", "cc": "1"}}));
    let output = project.utoo(&["install", "--frozen-lockfile"]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains("out of sync with package.json")
            && stderr(&output).contains("Missing: cc@1.0.0 from lock file"),
        "{}",
        describe(&output)
    );
    assert_eq!(
        fs::read_to_string(project.dir().join("package-lock.json")).unwrap(),
        before
    );
    assert!(!project.dir().join("node_modules/cc").exists());
}

#[test]
fn stale_lockfile_keeps_versions_that_still_satisfy() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    // bb 1.5.0 is published later; the locked 1.0.0 still satisfies ^1 and stays.
    let newer = crate::support::registry(&format!("{FIXTURES}\nbb@1.5.0\n"));
    project.write_package_json(&json!({"dependencies": {"aa": "1", "cc": "1"}}));
    project.install(&["--registry", &newer.url()]);
    assert_eq!(project.locked(), ["aa@1.0.0", "bb@1.0.0", "cc@1.0.0"]);
    assert_eq!(
        newer.requests("/aa"),
        0,
        "aa's locked entry still satisfies"
    );
    assert_eq!(newer.requests("/cc"), 1);
}

#[test]
fn npm_written_lockfiles_are_read() {
    let project = Project::new(
        FIXTURES,
        json!({"name": "app", "dependencies": {"aa": "1"}}),
    );
    let url = |n: &str| project.registry.tarball_url(n, "1.0.0");
    let integrity = |n: &str| project.registry.integrity(n, "1.0.0").unwrap().to_string();
    // A v2 lockfile as npm 7/8 write it: a legacy "dependencies" section beside "packages".
    let lock = json!({
        "name": "app", "lockfileVersion": 2, "requires": true,
        "packages": {
            "": {"name": "app", "dependencies": {"aa": "1"}},
            "node_modules/aa": {"version": "1.0.0", "resolved": url("aa"), "integrity": integrity("aa"), "dependencies": {"bb": "^1"}},
            "node_modules/bb": {"version": "1.0.0", "resolved": url("bb"), "integrity": integrity("bb")}
        },
        "dependencies": {"aa": {"version": "1.0.0"}, "bb": {"version": "1.0.0"}}
    });
    fs::write(
        project.dir().join("package-lock.json"),
        serde_json::to_string_pretty(&lock).unwrap(),
    )
    .unwrap();
    project.install(&[]);
    assert_eq!(project.registry.packument_requests(), 0);
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
    assert_eq!(project.lockfile()["lockfileVersion"], 3, "rewritten as v3");
}

#[test]
fn lockfile_without_resolved_uses_registry_layout() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"bb": "1"}}));
    let lock = json!({
        "lockfileVersion": 3, "requires": true,
        "packages": {"": {"dependencies": {"bb": "1"}}, "node_modules/bb": {"version": "1.0.0"}}
    });
    fs::write(
        project.dir().join("package-lock.json"),
        serde_json::to_string(&lock).unwrap(),
    )
    .unwrap();
    project.install(&[]);
    assert_eq!(project.installed(), ["bb@1.0.0"]);
    assert_eq!(project.registry.requests("/bb/-/bb-1.0.0.tgz"), 1);
}

#[test]
fn malformed_lockfile_names_file_line_and_column() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"bb": "1"}}));
    fs::write(
        project.dir().join("package-lock.json"),
        "{\n  \"lockfileVersion\": 3,\n  oops\n}",
    )
    .unwrap();
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("package-lock.json") && err.contains("line 3"),
        "{err}"
    );
}
