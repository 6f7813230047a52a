use std::fs;

use serde_json::json;

use crate::support::{describe, stderr, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1)
    bb@1.0.0
    cc@1.0.0
    modern@1.0.0 engines(node=>=99)
";

#[test]
fn ci_installs_cleanly_from_the_lockfile_and_refuses_drift() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    let output = project.utoo(&["ci"]);
    assert!(!output.status.success(), "ci needs a lockfile");
    assert!(
        stderr(&output).contains("no package-lock.json"),
        "{}",
        describe(&output)
    );

    project.install(&[]);
    let stray = project.dir().join("node_modules/stray.txt");
    fs::write(&stray, "x").unwrap();
    project.registry.reset_counts();
    let output = project.utoo(&["ci"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(!stray.exists(), "node_modules is removed first");
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
    assert_eq!(project.registry.packument_requests(), 0);

    project.write_package_json(&json!({"dependencies": {"aa": "1", "cc": "1"}}));
    let output = project.utoo(&["ci"]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains("out of date"),
        "{}",
        describe(&output)
    );
}

#[test]
fn engines_mismatch_warns_or_fails_with_engine_strict() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"modern": "1"}}));
    let output = project.utoo(&["install"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains("EBADENGINE modern@1.0.0 wants node >=99"),
        "{}",
        describe(&output)
    );

    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    let output = project.utoo(&["install", "--engine-strict"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("engine-strict"),
        "{}",
        describe(&output)
    );
    fs::write(project.dir().join(".npmrc"), "engine-strict=true\n").unwrap();
    assert!(
        !project.utoo(&["install"]).status.success(),
        ".npmrc engine-strict"
    );
}
