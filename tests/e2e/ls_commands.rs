//! `utoo ls` and `utoo why`: the installed tree as `npm ls` / `npm explain`
//! (npm 11.19.1) print it. Every expected text below is npm's output on the
//! same installed project, with the project's folder and the registry's
//! address replaced.

use std::fs;

use serde_json::{json, Value};

use crate::support::{describe, stderr, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1.0.0, cc@^1.0.0)
    bb@1.2.0
    cc@1.0.0
    cc@2.0.0
    dd@1.0.0 deps(bb@^1)
";

/// `app` with an alias, a dev dependency, a nested conflict and a
/// workspace, installed by utoo.
fn installed() -> Project {
    let project = Project::new(
        FIXTURES,
        json!({"name": "app", "version": "1.0.0", "workspaces": ["packages/*"],
               "dependencies": {"aa": "^1.0.0", "cc": "^2.0.0", "al": "npm:bb@^1"},
               "devDependencies": {"dd": "1.0.0"}}),
    );
    let workspace = project.dir().join("packages/wa");
    fs::create_dir_all(&workspace).unwrap();
    let manifest =
        json!({"name": "wa", "version": "0.1.0", "dependencies": {"aa": "^1", "cc": "^1"}});
    fs::write(workspace.join("package.json"), manifest.to_string()).unwrap();
    project.install(&[]);
    project
}

/// Breaks the tree the three ways npm reports: a missing dependency (and a
/// missing optional one), an invalid version and an extraneous package.
fn break_it(project: &Project) {
    let mut package_json: Value =
        serde_json::from_str(&fs::read_to_string(project.dir().join("package.json")).unwrap())
            .unwrap();
    package_json["dependencies"]["miss"] = json!("^1.0.0");
    package_json["optionalDependencies"] = json!({"opt": "1"});
    project.write_package_json(&package_json);
    // A new file, not a write through the hard link into the cache.
    let cc = project.dir().join("node_modules/cc/package.json");
    fs::remove_file(&cc).unwrap();
    fs::write(&cc, r#"{"name":"cc","version":"3.0.0"}"#).unwrap();
    let stray = project.dir().join("node_modules/stray");
    fs::create_dir_all(&stray).unwrap();
    fs::write(
        stray.join("package.json"),
        r#"{"name":"stray","version":"3.0.0","dependencies":{"bb":"^1"}}"#,
    )
    .unwrap();
}

/// Output with the project folder and registry address as npm's were.
fn normalized(project: &Project, bytes: &[u8]) -> String {
    let dir = project.dir();
    let real = fs::canonicalize(&dir).unwrap();
    String::from_utf8_lossy(bytes)
        .replace(&real.display().to_string(), "/tmp/lsreal")
        .replace(&dir.display().to_string(), "/tmp/lsreal")
        .replace(project.registry.url().trim_end_matches('/'), "REG")
}

#[test]
fn ls_prints_a_healthy_tree_as_npm() {
    let project = installed();
    let output = project.utoo(&["ls"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        normalized(&project, &output.stdout),
        "app@1.0.0 /tmp/lsreal
├── aa@1.0.0
├── al@npm:bb@1.2.0
├── cc@2.0.0
├── dd@1.0.0
└─┬ wa@0.1.0 -> ./packages/wa
  ├── aa@1.0.0 deduped
  └── cc@1.0.0

"
    );
    let output = project.utoo(&["list", "--all"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        normalized(&project, &output.stdout),
        "app@1.0.0 /tmp/lsreal
├─┬ aa@1.0.0
│ ├── bb@1.2.0
│ └── cc@1.0.0
├── al@npm:bb@1.2.0
├── cc@2.0.0
├─┬ dd@1.0.0
│ └── bb@1.2.0 deduped
└─┬ wa@0.1.0 -> ./packages/wa
  ├── aa@1.0.0 deduped
  └── cc@1.0.0

"
    );
}

#[test]
fn ls_reports_missing_invalid_and_extraneous_packages_as_npm() {
    let project = installed();
    break_it(&project);
    let output = project.utoo(&["ls"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert_eq!(
        normalized(&project, &output.stdout),
        "app@1.0.0 /tmp/lsreal
├── aa@1.0.0
├── al@npm:bb@1.2.0
├── cc@3.0.0 invalid: \"^2.0.0\" from the root project
├── dd@1.0.0
├── UNMET DEPENDENCY miss@^1.0.0
├── UNMET OPTIONAL DEPENDENCY opt@1
├── stray@3.0.0 extraneous
└─┬ wa@0.1.0 -> ./packages/wa
  ├── aa@1.0.0 deduped
  └── cc@1.0.0

"
    );
    assert_eq!(
        normalized(&project, &output.stderr),
        "error: invalid: cc@3.0.0 /tmp/lsreal/node_modules/cc
error: missing: miss@^1.0.0, required by app@1.0.0
error: extraneous: stray@3.0.0 /tmp/lsreal/node_modules/stray
"
    );

    // Only the paths to the named package; its problem still fails.
    let output = project.utoo(&["ls", "cc"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert_eq!(
        normalized(&project, &output.stdout),
        "app@1.0.0 /tmp/lsreal
├─┬ aa@1.0.0
│ └── cc@1.0.0
├── cc@3.0.0 invalid: \"^2.0.0\" from the root project
└─┬ wa@0.1.0 -> ./packages/wa
  └── cc@1.0.0

"
    );
    let output = project.utoo(&["ls", "--parseable", "cc"]);
    assert_eq!(
        normalized(&project, &output.stdout),
        "/tmp/lsreal/node_modules/cc
/tmp/lsreal/node_modules/aa/node_modules/cc
/tmp/lsreal/packages/wa/node_modules/cc
"
    );
    let output = project.utoo(&["ls", "nothere"]);
    assert_eq!(output.status.code(), Some(1), "nothing matched");
    assert_eq!(
        normalized(&project, &output.stdout),
        "app@1.0.0 /tmp/lsreal\n└── (empty)\n\n"
    );
}

#[test]
fn extraneous_packages_alone_do_not_fail_ls() {
    let project = installed();
    let stray = project.dir().join("node_modules/stray");
    fs::create_dir_all(&stray).unwrap();
    fs::write(
        stray.join("package.json"),
        r#"{"name":"stray","version":"3.0.0"}"#,
    )
    .unwrap();
    let output = project.utoo(&["ls"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("├── stray@3.0.0 extraneous\n"));
    assert_eq!(stderr(&output), "");
}

#[test]
fn ls_json_has_npms_shape() {
    let project = installed();
    break_it(&project);
    let output = project.utoo(&["ls", "--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let text = normalized(&project, &output.stdout);
    let listed: Value = serde_json::from_str(&text).unwrap();
    let expected = json!({
      "version": "1.0.0",
      "name": "app",
      "problems": [
        "invalid: cc@3.0.0 /tmp/lsreal/node_modules/cc",
        "missing: miss@^1.0.0, required by app@1.0.0",
        "extraneous: stray@3.0.0 /tmp/lsreal/node_modules/stray"
      ],
      "dependencies": {
        "aa": {"version": "1.0.0", "resolved": "REG/aa/-/aa-1.0.0.tgz", "overridden": false},
        "al": {"version": "1.2.0", "resolved": "REG/bb/-/bb-1.2.0.tgz", "overridden": false},
        "cc": {
          "version": "3.0.0",
          "overridden": false,
          "invalid": "\"^2.0.0\" from the root project",
          "problems": ["invalid: cc@3.0.0 /tmp/lsreal/node_modules/cc"]
        },
        "dd": {"version": "1.0.0", "resolved": "REG/dd/-/dd-1.0.0.tgz", "overridden": false},
        "miss": {
          "required": "^1.0.0",
          "missing": true,
          "problems": ["missing: miss@^1.0.0, required by app@1.0.0"]
        },
        "opt": {},
        "stray": {
          "version": "3.0.0",
          "overridden": false,
          "extraneous": true,
          "problems": ["extraneous: stray@3.0.0 /tmp/lsreal/node_modules/stray"]
        },
        "wa": {
          "version": "0.1.0",
          "resolved": "file:../packages/wa",
          "overridden": false,
          "dependencies": {
            "aa": {"version": "1.0.0"},
            "cc": {"version": "1.0.0", "resolved": "REG/cc/-/cc-1.0.0.tgz", "overridden": false}
          }
        }
      },
      "error": {
        "code": "ELSPROBLEMS",
        "summary": "invalid: cc@3.0.0 /tmp/lsreal/node_modules/cc\nmissing: miss@^1.0.0, required by app@1.0.0\nextraneous: stray@3.0.0 /tmp/lsreal/node_modules/stray",
        "detail": ""
      }
    });
    assert_eq!(listed, expected, "{text}");
    // npm's key order, not only its content.
    let keys: Vec<&String> = listed.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["version", "name", "problems", "dependencies", "error"]
    );
}

#[test]
fn ls_in_a_workspace_folder_shows_that_workspace() {
    let project = installed();
    let output = project.utoo_with(&["ls"], |c| {
        c.current_dir(project.dir().join("packages/wa"))
    });
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        normalized(&project, &output.stdout),
        "app@1.0.0 /tmp/lsreal
└─┬ wa@0.1.0 -> ./packages/wa
  ├── aa@1.0.0
  └── cc@1.0.0

"
    );
}

#[test]
fn ls_before_any_install_lists_every_dependency_as_unmet() {
    let project = Project::new(
        FIXTURES,
        json!({"name": "app", "dependencies": {"aa": "1"}}),
    );
    let output = project.utoo(&["ls"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        normalized(&project, &output.stdout),
        "app@ /tmp/lsreal\n└── UNMET DEPENDENCY aa@1\n\n"
    );
    assert_eq!(project.registry.packument_requests(), 0, "no network");
}

#[test]
fn why_explains_each_copy_up_to_the_project_as_npm() {
    let project = installed();
    break_it(&project);
    let output = project.utoo(&["why", "bb"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        normalized(&project, &output.stdout),
        "al@1.2.0
node_modules/al
  al@\"npm:bb@^1\" from the root project

bb@1.2.0
node_modules/bb
  bb@\"^1.0.0\" from aa@1.0.0
  node_modules/aa
    aa@\"^1\" from wa@0.1.0
    packages/wa
      wa@0.1.0
      node_modules/wa
        workspace packages/wa from the root project
    aa@\"^1.0.0\" from the root project
  bb@\"^1\" from dd@1.0.0
  node_modules/dd
    dev dd@\"1.0.0\" from the root project
  bb@\"^1\" from stray@3.0.0
  node_modules/stray
"
    );
    let output = project.utoo(&["explain", "stray"]);
    assert_eq!(
        normalized(&project, &output.stdout),
        "stray@3.0.0 extraneous\nnode_modules/stray\n"
    );
    let output = project.utoo(&["why", "node_modules/aa/node_modules/cc", "--json"]);
    let explained: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(explained[0]["location"], "node_modules/aa/node_modules/cc");
    assert_eq!(explained[0]["dependents"][0]["from"]["name"], "aa");
    assert_eq!(explained[0]["dev"], false);
    let output = project.utoo(&["why", "dd", "--json"]);
    let explained: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(explained[0]["dev"], true, "{explained}");
    assert_eq!(explained[0]["dependents"][0]["type"], "dev");
}

#[test]
fn why_of_a_package_not_installed_is_an_error() {
    let project = installed();
    let output = project.utoo(&["why", "nothere"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: no dependencies found matching nothere\n"
    );
}

#[test]
fn ls_shows_a_git_dependency_with_its_commit_as_npm() {
    let project = Project::new(FIXTURES, json!({}));
    let repo = project.dir().join("../repo");
    fs::create_dir_all(&repo).unwrap();
    fs::write(
        repo.join("package.json"),
        r#"{"name":"g","version":"1.0.0"}"#,
    )
    .unwrap();
    let git = |args: &[&str]| {
        let output = std::process::Command::new("git")
            .args(["-c", "user.email=t@t", "-c", "user.name=t"])
            .args(args)
            .current_dir(&repo)
            .output()
            .expect("git runs");
        assert!(output.status.success(), "{}", describe(&output));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "1.0.0"]);
    let commit = git(&["rev-parse", "HEAD"]);
    let url = format!("git+file://{}", repo.canonicalize().unwrap().display());
    project
        .write_package_json(&json!({"name": "gp", "version": "1.0.0", "dependencies": {"g": url}}));
    project.install(&[]);
    let output = project.utoo(&["ls"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        normalized(&project, &output.stdout),
        format!("gp@1.0.0 /tmp/lsreal\n└── g@1.0.0 ({url}#{commit})\n\n")
    );
}
