//! npm workspaces: members linked into the root's `node_modules`, their
//! dependencies hoisted as npm hoists them, one lockfile for all.

use std::fs;

use serde_json::{json, Value};

use crate::support::Project;

const FIXTURES: &str = "
    util@1.0.0
    util@2.0.0
    tool@1.0.0 bin(tool=cli.js)
    leftpad@1.0.0
";

fn write_member(project: &Project, location: &str, package_json: Value) {
    let folder = project.dir().join(location);
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join("package.json"), package_json.to_string()).unwrap();
    fs::write(folder.join("index.js"), "module.exports = __dirname;\n").unwrap();
}

fn monorepo() -> Project {
    let project = Project::new(
        FIXTURES,
        json!({
            "name": "mono",
            "workspaces": ["packages/*"],
            "devDependencies": {"tool": "1"},
        }),
    );
    write_member(
        &project,
        "packages/app",
        json!({"name": "@mono/app", "version": "1.0.0",
               "dependencies": {"@mono/lib": "^2.0.0", "util": "^2"}}),
    );
    write_member(
        &project,
        "packages/lib",
        json!({"name": "@mono/lib", "version": "2.1.0", "bin": {"lib-cli": "index.js"},
               "dependencies": {"util": "^1"}, "devDependencies": {"leftpad": "1"}}),
    );
    project
}

#[test]
fn members_are_linked_and_their_dependencies_hoisted() {
    let project = monorepo();
    project.install(&[]);
    let modules = project.dir().join("node_modules");
    assert_eq!(
        fs::read_link(modules.join("@mono/app")).unwrap().to_str(),
        Some("../../packages/app")
    );
    assert_eq!(
        fs::read_link(modules.join("@mono/lib")).unwrap().to_str(),
        Some("../../packages/lib")
    );
    // Members are handled in path order once the root's own tree is built
    // (checked with npm 11.19.1): app's util@2 takes the root, lib's util@1 nests.
    let version = |path: &str| -> Value {
        let text = fs::read_to_string(project.dir().join(path).join("package.json")).unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["version"].clone()
    };
    assert_eq!(version("node_modules/util"), "2.0.0");
    assert_eq!(version("packages/lib/node_modules/util"), "1.0.0");
    assert_eq!(version("node_modules/leftpad"), "1.0.0");
    assert!(modules.join(".bin/lib-cli").exists());
    assert!(modules.join(".bin/tool").exists());

    let lock = project.lockfile();
    let packages = &lock["packages"];
    assert_eq!(packages[""]["workspaces"], json!(["packages/*"]));
    assert_eq!(
        packages["node_modules/@mono/lib"],
        json!({"resolved": "packages/lib", "link": true})
    );
    assert_eq!(packages["packages/lib"]["name"], "@mono/lib");
    assert_eq!(packages["packages/lib"]["version"], "2.1.0");
    assert_eq!(
        packages["packages/lib"]["devDependencies"],
        json!({"leftpad": "1"})
    );
    assert_eq!(packages["node_modules/leftpad"]["dev"], true);
    assert_eq!(packages["node_modules/tool"]["dev"], true);
    assert!(packages["node_modules/util"].get("dev").is_none());
    assert_eq!(
        packages["packages/lib/node_modules/util"]["version"],
        "1.0.0"
    );
    // npm's hidden lockfile holds the members' folders too, as its lockfile does.
    let hidden = fs::read_to_string(modules.join(".package-lock.json")).unwrap();
    let hidden: Value = serde_json::from_str(&hidden).unwrap();
    assert_eq!(hidden["packages"]["packages/lib"], packages["packages/lib"]);
    assert_eq!(hidden["packages"]["packages/app"], packages["packages/app"]);
    assert!(hidden["packages"].get("").is_none());

    // Nothing changed: nothing to do. A member's new dependency is noticed.
    assert!(project.install(&[]).starts_with("up to date in "));
    write_member(
        &project,
        "packages/lib",
        json!({"name": "@mono/lib", "version": "2.1.0",
               "dependencies": {"util": "^1", "leftpad": "1"}}),
    );
    project.install(&[]);
    let lock = project.lockfile();
    assert!(lock["packages"]["node_modules/leftpad"]
        .get("dev")
        .is_none());
    assert!(
        project.dir().join("packages/lib/index.js").is_file(),
        "members are never touched"
    );
}

#[test]
fn a_lockfile_with_workspaces_installs_without_the_registry() {
    let project = monorepo();
    project.install(&[]);
    let first = fs::read_to_string(project.dir().join("package-lock.json")).unwrap();
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    fs::remove_dir_all(project.dir().join("packages/lib/node_modules")).unwrap();
    project.registry.reset_counts();
    project.install(&["--frozen-lockfile"]);
    assert_eq!(project.registry.packument_requests(), 0);
    let second = fs::read_to_string(project.dir().join("package-lock.json")).unwrap();
    assert_eq!(first, second);
    assert!(project
        .dir()
        .join("packages/lib/node_modules/util/package.json")
        .is_file());
    assert!(project
        .dir()
        .join("node_modules/@mono/app/index.js")
        .is_file());

    // `utoo ci` starts from nothing, workspaces' node_modules included.
    let stray = project.dir().join("packages/lib/node_modules/stray");
    fs::create_dir_all(&stray).unwrap();
    let output = project.utoo(&["ci"]);
    assert!(
        output.status.success(),
        "{}",
        crate::support::describe(&output)
    );
    assert!(!stray.exists());
    assert!(project
        .dir()
        .join("packages/lib/node_modules/util/package.json")
        .is_file());
}

#[test]
fn two_members_with_one_name_are_an_error() {
    let project = monorepo();
    write_member(&project, "packages/copy", json!({"name": "@mono/lib"}));
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = crate::support::stderr(&output);
    assert!(
        err.contains("@mono/lib") && err.contains("packages/copy") && err.contains("packages/lib"),
        "{err}"
    );
}

#[test]
fn add_and_remove_in_one_workspace_or_all() {
    let project = monorepo();
    project.install(&[]);
    let root_before = fs::read_to_string(project.dir().join("package.json")).unwrap();
    project.install(&["leftpad@^1.0.0", "-w", "@mono/app"]);
    let member = |location: &str| -> Value {
        let text = fs::read_to_string(project.dir().join(location).join("package.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    assert_eq!(member("packages/app")["dependencies"]["leftpad"], "^1.0.0");
    assert_eq!(
        fs::read_to_string(project.dir().join("package.json")).unwrap(),
        root_before
    );
    let lock = project.lockfile();
    assert_eq!(
        lock["packages"]["packages/app"]["dependencies"]["leftpad"],
        "^1.0.0"
    );
    assert!(lock["packages"]["node_modules/leftpad"]
        .get("dev")
        .is_none());

    let output = project.utoo(&["uninstall", "leftpad", "--workspaces"]);
    assert!(
        output.status.success(),
        "{}",
        crate::support::describe(&output)
    );
    assert!(member("packages/app")["dependencies"]
        .get("leftpad")
        .is_none());
    assert!(member("packages/lib")["devDependencies"]
        .get("leftpad")
        .is_none());

    let output = project.utoo(&["install", "leftpad", "-w", "nope"]);
    assert!(!output.status.success());
    assert!(crate::support::stderr(&output).contains("no workspace named \"nope\""));
}

#[test]
fn a_member_is_added_at_its_version_and_members_run_their_scripts() {
    let project = monorepo();
    write_member(
        &project,
        "packages/lib",
        json!({"name": "@mono/lib", "version": "2.1.0",
               "scripts": {"postinstall": "node -e \"require('fs').writeFileSync('built', '')\""}}),
    );
    write_member(
        &project,
        "packages/app",
        json!({"name": "@mono/app", "version": "1.0.0"}),
    );
    project.install(&["@mono/lib", "-w", "packages/app"]);
    let text = fs::read_to_string(project.dir().join("packages/app/package.json")).unwrap();
    let app: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(app["dependencies"]["@mono/lib"], "^2.1.0");
    assert!(project.dir().join("packages/lib/built").is_file());

    fs::remove_file(project.dir().join("packages/lib/built")).unwrap();
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.install(&["--ignore-scripts"]);
    assert!(!project.dir().join("packages/lib/built").exists());
}

#[test]
fn inside_a_workspace_folder_the_whole_project_is_installed() {
    let project = monorepo();
    let app = project.dir().join("packages/app");
    let output = project.utoo_with(&["install", "leftpad@^1.0.0"], |c| c.current_dir(&app));
    assert!(
        output.status.success(),
        "{}",
        crate::support::describe(&output)
    );
    let text = fs::read_to_string(app.join("package.json")).unwrap();
    let manifest: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(manifest["dependencies"]["leftpad"], "^1.0.0");
    assert!(!app.join("package-lock.json").exists());
    assert!(project.dir().join("package-lock.json").is_file());
    assert!(project.dir().join("node_modules/@mono/lib").exists());
    assert_eq!(
        project.lockfile()["packages"]["packages/app"]["dependencies"]["leftpad"],
        "^1.0.0"
    );
}
