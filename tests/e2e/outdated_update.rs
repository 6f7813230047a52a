//! `utoo outdated` and `utoo update`. The expected outputs, exit statuses,
//! lockfile versions and package.json edits are npm 11.19.1's, recorded by
//! running npm against a loopback registry with these same packages (a
//! project that installed aa@1.0.0, dd@1.0.0 and ee@3.0.0 before aa@1.1.0,
//! aa@2.0.0, bb@1.0.1 and dd@1.2.0 were published). npm names the project
//! in "Depended by" after its folder (`project` here), not package.json.

use std::fs;

use serde_json::{json, Value};
use utoo_test_registry::Fixtures;

use crate::support::{describe, stderr, Project};

const BEFORE: &str = "
    aa@1.0.0 deps(bb@^1.0.0)
    bb@1.0.0
    dd@1.0.0
    ee@3.0.0
";

const AFTER: &str = "
    aa@1.0.0 deps(bb@^1.0.0)
    aa@1.1.0 deps(bb@^1.0.0)
    aa@2.0.0
    bb@1.0.0
    bb@1.0.1
    dd@1.0.0
    dd@1.2.0
    ee@3.0.0
";

fn package_json() -> Value {
    json!({
        "name": "proj",
        "version": "1.0.0",
        "dependencies": {"aa": "^1.0.0", "ee": "^3.0.0"},
        "devDependencies": {"dd": "^1.0.0"}
    })
}

/// Installed before the newer versions were published.
fn project() -> Project {
    let mut project = Project::new(BEFORE, package_json());
    project.install(&[]);
    project
        .registry
        .republish(&Fixtures::parse(AFTER).unwrap())
        .unwrap();
    project
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn package_json_text(project: &Project) -> Value {
    serde_json::from_str(&fs::read_to_string(project.dir().join("package.json")).unwrap()).unwrap()
}

#[test]
fn outdated_prints_npms_table_and_exits_with_1() {
    let project = project();
    let output = project.utoo(&["outdated"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert_eq!(
        stdout(&output),
        "\
Package  Current  Wanted  Latest  Location         Depended by
aa         1.0.0   1.1.0   2.0.0  node_modules/aa  project
dd         1.0.0   1.2.0   1.2.0  node_modules/dd  project
"
    );

    let output = project.utoo(&["outdated", "--all"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert_eq!(
        stdout(&output),
        "\
Package  Current  Wanted  Latest  Location         Depended by
aa         1.0.0   1.1.0   2.0.0  node_modules/aa  project
bb         1.0.0   1.0.1   1.0.1  node_modules/bb  aa
dd         1.0.0   1.2.0   1.2.0  node_modules/dd  project
"
    );

    // A name selects that package wherever it is, by its dependents.
    let output = project.utoo(&["outdated", "bb"]);
    assert_eq!(
        stdout(&output),
        "\
Package  Current  Wanted  Latest  Location         Depended by
bb         1.0.0   1.0.1   1.0.1  node_modules/bb  aa
"
    );

    let output = project.utoo(&["outdated", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let node_modules = project.dir().join("node_modules");
    let expected = json!({
        "aa": {
            "current": "1.0.0",
            "wanted": "1.1.0",
            "latest": "2.0.0",
            "dependent": "project",
            "location": node_modules.join("aa").display().to_string()
        },
        "dd": {
            "current": "1.0.0",
            "wanted": "1.2.0",
            "latest": "1.2.0",
            "dependent": "project",
            "location": node_modules.join("dd").display().to_string()
        }
    });
    assert_eq!(
        stdout(&output),
        serde_json::to_string_pretty(&expected).unwrap() + "\n"
    );

    let output = project.utoo(&["outdated", "--parseable", "--all"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let at = |name: &str| node_modules.join(name).display().to_string();
    assert_eq!(
        stdout(&output),
        format!(
            "{}:aa@1.1.0:aa@1.0.0:aa@2.0.0:project\n\
             {}:bb@1.0.1:bb@1.0.0:bb@1.0.1:aa\n\
             {}:dd@1.2.0:dd@1.0.0:dd@1.2.0:project\n",
            at("aa"),
            at("bb"),
            at("dd")
        )
    );

    // Nothing outdated: no output, exit status 0; the JSON form prints `{}`.
    let output = project.utoo(&["outdated", "ee"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(stdout(&output), "");
    let output = project.utoo(&["outdated", "ee", "--json"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(stdout(&output), "{}\n");
}

#[test]
fn outdated_shows_missing_dependencies_and_works_offline() {
    let project = project();
    fs::remove_dir_all(project.dir().join("node_modules/aa")).unwrap();
    let output = project.utoo(&["outdated"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert_eq!(
        stdout(&output),
        "\
Package  Current  Wanted  Latest  Location         Depended by
aa       MISSING   1.1.0   2.0.0  -                project
dd         1.0.0   1.2.0   1.2.0  node_modules/dd  project
"
    );

    // The packuments it read are cached: --offline answers the same.
    project.registry.reset_counts();
    let offline = project.utoo(&["outdated", "--offline"]);
    assert_eq!(stdout(&offline), stdout(&output), "{}", describe(&offline));
    assert_eq!(project.registry.traffic().requests, 0);
}

#[test]
fn update_re_resolves_within_ranges_and_leaves_package_json_alone() {
    let project = project();
    let before = fs::read_to_string(project.dir().join("package.json")).unwrap();
    project.utoo_checked(&["update"]);
    assert_eq!(
        project.locked(),
        ["aa@1.1.0", "bb@1.0.1", "dd@1.2.0", "ee@3.0.0"]
    );
    assert_eq!(
        project.installed(),
        ["aa@1.1.0", "bb@1.0.1", "dd@1.2.0", "ee@3.0.0"]
    );
    assert_eq!(
        fs::read_to_string(project.dir().join("package.json")).unwrap(),
        before
    );
    assert_eq!(project.lockfile()["packages"][""], package_json_entry());
    let output = project.utoo(&["outdated"]);
    assert_eq!(
        stdout(&output),
        "\
Package  Current  Wanted  Latest  Location         Depended by
aa         1.1.0   1.1.0   2.0.0  node_modules/aa  project
"
    );
}

/// The lockfile's root entry: package.json's, unchanged.
fn package_json_entry() -> Value {
    json!({
        "name": "proj",
        "version": "1.0.0",
        "dependencies": {"aa": "^1.0.0", "ee": "^3.0.0"},
        "devDependencies": {"dd": "^1.0.0"}
    })
}

#[test]
fn update_of_named_packages_changes_only_those() {
    let project = project();
    project.utoo_checked(&["update", "aa"]);
    assert_eq!(
        project.locked(),
        ["aa@1.1.0", "bb@1.0.0", "dd@1.0.0", "ee@3.0.0"]
    );
    project.utoo_checked(&["up", "bb"]);
    assert_eq!(
        project.locked(),
        ["aa@1.1.0", "bb@1.0.1", "dd@1.0.0", "ee@3.0.0"]
    );
    assert_eq!(project.installed().len(), 4);
    assert_eq!(package_json_text(&project), package_json());
}

#[test]
fn update_save_writes_the_new_ranges_as_npm_does() {
    let project = project();
    project.utoo_checked(&["upgrade", "aa", "--save"]);
    let mut expected = package_json();
    expected["dependencies"]["aa"] = json!("^1.1.0");
    assert_eq!(package_json_text(&project), expected);
    assert_eq!(
        project.locked(),
        ["aa@1.1.0", "bb@1.0.0", "dd@1.0.0", "ee@3.0.0"]
    );

    project.utoo_checked(&["update", "--save"]);
    expected["devDependencies"]["dd"] = json!("^1.2.0");
    assert_eq!(package_json_text(&project), expected);
    assert_eq!(
        project.locked(),
        ["aa@1.1.0", "bb@1.0.1", "dd@1.2.0", "ee@3.0.0"]
    );
    // The lockfile's root entry follows package.json.
    assert_eq!(
        project.lockfile()["packages"][""]["devDependencies"]["dd"],
        "^1.2.0"
    );
    assert_eq!(
        project.lockfile()["packages"][""]["dependencies"]["aa"],
        "^1.1.0"
    );
}

#[test]
fn update_latest_moves_ranges_as_install_latest_does() {
    let project = project();
    project.utoo_checked(&["update", "--latest"]);
    let mut expected = package_json();
    expected["dependencies"]["aa"] = json!("^2.0.0");
    expected["devDependencies"]["dd"] = json!("^1.2.0");
    assert_eq!(package_json_text(&project), expected);
    // aa@2 no longer depends on bb: it is gone.
    assert_eq!(project.locked(), ["aa@2.0.0", "dd@1.2.0", "ee@3.0.0"]);
    assert_eq!(project.installed(), ["aa@2.0.0", "dd@1.2.0", "ee@3.0.0"]);
    let output = project.utoo(&["outdated"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(stdout(&output), "");
}

#[test]
fn update_offline_fails_clearly_when_a_packument_is_missing() {
    let project = project();
    fs::remove_dir_all(project.cache().join("packuments")).unwrap();
    let output = project.utoo(&["update", "--offline"]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains("is not in the cache, and --offline fetches nothing"),
        "{}",
        describe(&output)
    );
    assert_eq!(
        project.locked(),
        ["aa@1.0.0", "bb@1.0.0", "dd@1.0.0", "ee@3.0.0"],
        "the lockfile is untouched"
    );
}

impl Project {
    fn utoo_checked(&self, args: &[&str]) {
        let output = self.utoo(args);
        assert!(output.status.success(), "{args:?}: {}", describe(&output));
    }
}

#[test]
fn outdated_names_workspace_dependents_as_npm_does() {
    let mut project = Project::new(
        BEFORE,
        json!({"name": "root", "workspaces": ["packages/*"]}),
    );
    let member = project.dir().join("packages/folder-a");
    fs::create_dir_all(&member).unwrap();
    fs::write(
        member.join("package.json"),
        r#"{"name":"wsa","version":"0.1.0","dependencies":{"dd":"^1.0.0"}}"#,
    )
    .unwrap();
    project.install(&[]);
    project
        .registry
        .republish(&Fixtures::parse(AFTER).unwrap())
        .unwrap();
    // npm shows a workspace by its folder's name, and its package name
    // when that differs.
    let output = project.utoo(&["outdated"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert_eq!(
        stdout(&output),
        "\
Package  Current  Wanted  Latest  Location         Depended by
dd         1.0.0   1.2.0   1.2.0  node_modules/dd  folder-a@npm:wsa@0.1.0
"
    );
    let output = project.utoo(&["outdated", "--json"]);
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["dd"]["dependent"], "folder-a");
}

#[test]
fn outdated_offline_names_the_packument_it_lacks() {
    let project = project();
    fs::remove_dir_all(project.cache().join("packuments")).unwrap();
    let output = project.utoo(&["outdated", "--offline"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        stderr(&output).starts_with("error: checking whether aa is outdated: ")
            && stderr(&output)
                .contains("aa is not cached, and the cache alone may be used (--offline)"),
        "{}",
        describe(&output)
    );
    assert_eq!(stdout(&output), "");
}
