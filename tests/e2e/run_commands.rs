//! `utoo run` (`test`, `start`) and `utoo exec`, as npm runs scripts and bins.

use std::fs;

use serde_json::{json, Value};

use crate::support::{describe, stderr, Project};

/// `tool` prints its arguments, `|`-separated, so a test sees how they arrived.
const FIXTURES: &str = r##"
    tool@1.0.0 bin(tool=cli.js) file(cli.js="#!/usr/bin/env node\nconsole.log('tool ' + process.argv.slice(2).join('|'))\n")
"##;

fn project(scripts: Value) -> Project {
    let project = Project::new(
        FIXTURES,
        json!({"name": "app", "version": "1.0.0", "dependencies": {"tool": "1"}, "scripts": scripts}),
    );
    project.install(&[]);
    project
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn run_runs_pre_and_post_scripts_with_npms_banner_and_environment() {
    let project = project(json!({
        "pretest": "echo pre",
        "test": "echo $npm_lifecycle_event $npm_package_name@$npm_package_version",
        "posttest": "echo post",
    }));
    let output = project.utoo(&["run", "test"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        stdout(&output),
        "\n> app@1.0.0 pretest\n> echo pre\n\npre\n\
         \n> app@1.0.0 test\n> echo $npm_lifecycle_event $npm_package_name@$npm_package_version\n\ntest app@1.0.0\n\
         \n> app@1.0.0 posttest\n> echo post\n\npost\n"
    );
    let output = project.utoo(&["run", "test", "--ignore-scripts"]);
    assert_eq!(
        stdout(&output).matches("\n> ").count(),
        2,
        "{}",
        describe(&output)
    );
    // `utoo test` is `utoo run test`.
    let output = project.utoo(&["test"]);
    assert!(stdout(&output).contains("test app@1.0.0\n") && stdout(&output).contains("post\n"));
}

#[test]
fn run_passes_arguments_quoted_and_finds_the_projects_bins() {
    let project = project(json!({"build": "echo $npm_lifecycle_script > script.txt; tool --fast"}));
    let output = project.utoo(&["run", "build", "--", "a", "b c", "$HOME", "it's"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        stdout(&output),
        "\n> app@1.0.0 build\n> echo $npm_lifecycle_script > script.txt; tool --fast a b c $HOME it's\n\n\
         tool --fast|a|b c|$HOME|it's\n"
    );
    // As npm: the script's own text, without the arguments.
    assert_eq!(
        fs::read_to_string(project.dir().join("script.txt")).unwrap(),
        "echo $npm_lifecycle_script > script.txt; tool --fast\n"
    );
}

#[test]
fn run_exits_with_the_scripts_status_and_skips_the_post_script() {
    let project = project(json!({"fail": "exit 7", "postfail": "echo post > post.txt"}));
    let output = project.utoo(&["run", "fail"]);
    assert_eq!(output.status.code(), Some(7), "{}", describe(&output));
    assert!(!project.dir().join("post.txt").exists());
}

#[test]
fn a_missing_script_is_an_error_unless_if_present() {
    let project = project(json!({"build": "tool"}));
    let output = project.utoo(&["run", "nope"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("error: missing script: \"nope\""),
        "{}",
        describe(&output)
    );
    let output = project.utoo(&["run", "nope", "--if-present"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(stdout(&output), "");
}

#[test]
fn run_without_a_script_lists_them_as_npm_does() {
    let project = project(json!({"test": "jest", "build": "tsc", "pretest": "lint"}));
    let output = project.utoo(&["run"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        stdout(&output),
        "Lifecycle scripts included in app@1.0.0:\n  test\n    jest\n  pretest\n    lint\n\
         available via `utoo run`:\n  build\n    tsc\n"
    );
    let output = project.utoo(&["run", "--json"]);
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        listed,
        json!({"test": "jest", "build": "tsc", "pretest": "lint"})
    );
}

#[test]
fn start_without_a_script_runs_server_js() {
    let project = project(json!({}));
    fs::write(
        project.dir().join("server.js"),
        "console.log('serving ' + process.env.npm_lifecycle_event)\n",
    )
    .unwrap();
    let output = project.utoo(&["start"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stdout(&output).ends_with("> node server.js\n\nserving start\n"),
        "{}",
        describe(&output)
    );
}

fn monorepo() -> Project {
    let project = Project::new(
        FIXTURES,
        json!({"name": "root", "version": "1.0.0", "workspaces": ["packages/*"],
               "dependencies": {"tool": "1"}}),
    );
    for (name, script) in [("wa", "tool from-$npm_package_name"), ("wb", "exit 3")] {
        let dir = project.dir().join("packages").join(name);
        fs::create_dir_all(&dir).unwrap();
        let package_json = json!({"name": name, "version": "0.1.0", "scripts": {"build": script}});
        fs::write(dir.join("package.json"), package_json.to_string()).unwrap();
    }
    project.install(&[]);
    project
}

#[test]
fn run_in_workspaces_by_name_by_folder_or_all_with_root_bins_on_path() {
    let project = monorepo();
    let output = project.utoo(&["run", "build", "-w", "wa"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stdout(&output)
            .ends_with("> wa@0.1.0 build\n> tool from-$npm_package_name\n\ntool from-wa\n"),
        "{}",
        describe(&output)
    );
    let output = project.utoo(&["run", "build", "-w", "packages/wb"]);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));

    // Every workspace runs; the last failure is the exit status.
    let output = project.utoo(&["run", "build", "--workspaces"]);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    assert!(stdout(&output).contains("tool from-wa\n"));

    // In a workspace's folder, its own script runs.
    let output = project.utoo_with(&["run", "build"], |c| {
        c.current_dir(project.dir().join("packages/wa"))
    });
    assert!(
        stdout(&output).ends_with("tool from-wa\n"),
        "{}",
        describe(&output)
    );

    let output = project.utoo(&["run", "nope", "--workspaces", "--if-present"]);
    assert!(output.status.success(), "{}", describe(&output));
    let output = project.utoo(&["run", "build", "-w", "nobody"]);
    assert!(
        stderr(&output).contains("no workspace named \"nobody\""),
        "{}",
        describe(&output)
    );
}

#[test]
fn exec_runs_a_bin_of_the_project_with_its_arguments() {
    let project = project(json!({}));
    let output = project.utoo(&["exec", "tool", "--", "-x", "b c"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(stdout(&output), "tool -x|b c\n");
    // From a subfolder, the project's bins are still found (as npm: on PATH).
    fs::create_dir_all(project.dir().join("src")).unwrap();
    let output = project.utoo_with(&["x", "tool", "sub"], |c| {
        c.current_dir(project.dir().join("src"))
    });
    assert_eq!(stdout(&output), "tool sub\n", "{}", describe(&output));
}

#[test]
fn exec_of_a_missing_bin_names_it_and_downloads_nothing() {
    let project = project(json!({}));
    project.registry.reset_counts();
    let output = project.utoo(&["exec", "cowsay", "hi"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains("no bin named \"cowsay\"") && err.contains("never downloads"),
        "{err}"
    );
    assert_eq!(project.registry.packument_requests(), 0);
    assert_eq!(project.registry.tarball_requests(), 0);
}

#[test]
fn an_interrupt_leaves_utoo_waiting_for_the_script_and_its_status() {
    let project = project(json!({"slow": "sleep 1; echo finished"}));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_utoo"))
        .args(["run", "slow"])
        .current_dir(project.dir())
        .env("HOME", project.home())
        .env("UTOO_CACHE_DIR", project.cache())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Only utoo gets this one; the script runs on, and utoo waits for it.
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        stdout(&output).ends_with("finished\n"),
        "{}",
        describe(&output)
    );
}
