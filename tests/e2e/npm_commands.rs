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
    // As npm ci: what is missing, and what to run; not a flag never typed.
    let err = stderr(&output);
    assert!(
        err.contains("package-lock.json is out of sync with package.json")
            && err.contains("Missing: cc@1.0.0 from lock file")
            && err.contains("run `utoo install` to update it")
            && !err.contains("--frozen-lockfile"),
        "{err}"
    );
    // As npm ci: nothing is removed before every check has passed.
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
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

/// Runs `utoo install` with a fake `node` first on PATH that counts its
/// runs in `node-runs` and says it is v18.0.0.
fn install_with_fake_node(project: &Project, bin: &std::path::Path) -> std::process::Output {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    project.utoo_with(&["install"], |c| c.env("PATH", &path))
}

#[test]
fn node_is_asked_its_version_only_when_engines_need_it_and_once_per_binary() {
    use std::os::unix::fs::PermissionsExt;
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    let bin = project.home().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let runs = project.home().join("node-runs");
    let node = bin.join("node");
    let script = format!("#!/bin/sh\necho run >> {}\necho v18.0.0\n", runs.display());
    fs::write(&node, &script).unwrap();
    fs::set_permissions(&node, fs::Permissions::from_mode(0o755)).unwrap();
    let run_count = || fs::read_to_string(&runs).map_or(0, |text| text.lines().count());

    // No package declares engines.node: nothing to ask.
    let output = install_with_fake_node(&project, &bin);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(run_count(), 0);

    project.write_package_json(&json!({"dependencies": {"modern": "1"}}));
    let output = install_with_fake_node(&project, &bin);
    assert!(
        stderr(&output).contains("EBADENGINE modern@1.0.0 wants node >=99, this is node 18.0.0"),
        "{}",
        describe(&output)
    );
    assert_eq!(run_count(), 1);

    // The same binary again: its version is remembered.
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    let output = install_with_fake_node(&project, &bin);
    assert!(
        stderr(&output).contains("this is node 18.0.0"),
        "{}",
        describe(&output)
    );
    assert_eq!(run_count(), 1);

    // A replaced binary is asked again.
    fs::write(&node, script.replace("v18.0.0", "v19.1.0")).unwrap();
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    let output = install_with_fake_node(&project, &bin);
    assert!(
        stderr(&output).contains("this is node 19.1.0"),
        "{}",
        describe(&output)
    );
    assert_eq!(run_count(), 2);
}

const ADD: &str = "
    aa@1.0.0 deps(bb@^1)
    aa@1.2.0
    aa@2.0.0-beta.1 tag(next)
    bb@1.0.0
    cc@1.0.0
    dd@3.1.4
";

#[test]
fn add_saves_like_npm_and_keeps_the_formatting() {
    let project = Project::new(ADD, json!({}));
    fs::write(
        project.dir().join("package.json"),
        "{\n\t\"name\": \"app\",\n\t\"version\": \"1.0.0\"\n}\n",
    )
    .unwrap();
    project.install(&["cc"]);
    let text = fs::read_to_string(project.dir().join("package.json")).unwrap();
    assert_eq!(text, "{\n\t\"name\": \"app\",\n\t\"version\": \"1.0.0\",\n\t\"dependencies\": {\n\t\t\"cc\": \"^1.0.0\"\n\t}\n}\n");
    assert_eq!(project.installed(), ["cc@1.0.0"]);

    let output = project.utoo(&["add", "aa@~1.0.0", "-D"]);
    assert!(output.status.success(), "{}", describe(&output));
    let output = project.utoo(&["add", "dd", "-E", "-O"]);
    assert!(output.status.success(), "{}", describe(&output));
    let pkg: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(project.dir().join("package.json")).unwrap())
            .unwrap();
    assert_eq!(
        pkg["devDependencies"]["aa"], "~1.0.0",
        "a range is saved as typed"
    );
    assert_eq!(pkg["optionalDependencies"]["dd"], "3.1.4");
    assert_eq!(
        project.installed(),
        ["aa@1.0.0", "bb@1.0.0", "cc@1.0.0", "dd@3.1.4"]
    );
    let lock = project.lockfile();
    assert_eq!(
        lock["packages"][""]["devDependencies"]["aa"], "~1.0.0",
        "lockfile root matches package.json"
    );

    let output = project.utoo(&["add", "aa@next"]);
    assert!(output.status.success(), "{}", describe(&output));
    let pkg: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(project.dir().join("package.json")).unwrap())
            .unwrap();
    assert_eq!(
        pkg["dependencies"]["aa"], "^2.0.0-beta.1",
        "a tag saves ^version, moved out of devDependencies"
    );
    assert!(pkg["devDependencies"].get("aa").is_none());
}

#[test]
fn uninstall_removes_from_manifest_lockfile_and_node_modules_only() {
    let project = Project::new(ADD, json!({"dependencies": {"aa": "1.0.0", "cc": "1"}}));
    project.install(&[]);
    let marker = project.dir().join("node_modules/cc/kept.txt");
    fs::write(&marker, "kept").unwrap();
    let output = project.utoo(&["uninstall", "aa"]);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("removed 2 packages in "),
        "as npm: {stdout}"
    );
    assert_eq!(project.installed(), ["cc@1.0.0"]);
    assert_eq!(project.locked(), ["cc@1.0.0"]);
    assert!(marker.is_file(), "unchanged packages are not reinstalled");
    let pkg: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(project.dir().join("package.json")).unwrap())
            .unwrap();
    assert_eq!(pkg["dependencies"], json!({"cc": "1"}));
    for alias in ["remove", "rm", "un"] {
        assert!(project.utoo(&[alias, "--help"]).status.success(), "{alias}");
    }
}

#[test]
fn a_failed_add_leaves_package_json_alone() {
    let project = Project::new(ADD, json!({"dependencies": {"cc": "1"}}));
    let before = fs::read_to_string(project.dir().join("package.json")).unwrap();
    let output = project.utoo(&["add", "nope"]);
    assert!(!output.status.success());
    assert_eq!(
        fs::read_to_string(project.dir().join("package.json")).unwrap(),
        before
    );
}

fn saved(project: &Project, name: &str) -> String {
    let pkg: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(project.dir().join("package.json")).unwrap())
            .unwrap();
    pkg["dependencies"][name]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn save_exact_and_save_prefix_from_npmrc_shape_what_add_saves() {
    let project = Project::new(ADD, json!({"name": "app"}));
    fs::write(project.dir().join(".npmrc"), "save-exact=true\n").unwrap();
    project.install(&["cc"]);
    assert_eq!(saved(&project, "cc"), "1.0.0");

    fs::write(project.dir().join(".npmrc"), "save-prefix=~\n").unwrap();
    project.install(&["dd"]);
    assert_eq!(saved(&project, "dd"), "~3.1.4");
    project.install(&["aa@1.2.0", "-E"]);
    assert_eq!(saved(&project, "aa"), "1.2.0", "-E still wins");
}

#[test]
fn package_lock_false_writes_no_lockfile() {
    let project = Project::new(ADD, json!({"dependencies": {"cc": "1"}}));
    fs::write(project.dir().join(".npmrc"), "package-lock=false\n").unwrap();
    project.install(&[]);
    assert_eq!(project.installed(), ["cc@1.0.0"]);
    assert!(!project.dir().join("package-lock.json").exists());

    fs::remove_file(project.dir().join(".npmrc")).unwrap();
    project.install(&["--no-package-lock", "dd"]);
    assert_eq!(project.installed(), ["cc@1.0.0", "dd@3.1.4"]);
    assert!(!project.dir().join("package-lock.json").exists());
}

#[test]
fn install_a_package_without_package_json_starts_one() {
    let project = Project::new(ADD, json!({}));
    fs::remove_file(project.dir().join("package.json")).unwrap();

    project.install(&["cc"]);

    let pkg: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(project.dir().join("package.json")).unwrap())
            .unwrap();
    assert_eq!(pkg, json!({"dependencies": {"cc": "^1.0.0"}}));
    assert_eq!(project.installed(), ["cc@1.0.0"]);
}

#[test]
fn run_in_a_subfolder_it_installs_the_project_above() {
    let project = Project::new(ADD, json!({"dependencies": {"cc": "1"}}));
    let src = project.dir().join("src/deep");
    fs::create_dir_all(&src).unwrap();

    let output = project.utoo_with(&["install"], |c| c.current_dir(&src));

    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(project.installed(), ["cc@1.0.0"]);
    assert!(project.dir().join("package-lock.json").is_file());
    assert!(!src.join("node_modules").exists() && !src.join("package.json").exists());
}
