//! Git dependencies, against a repository the test creates (no public host).

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::support::{stderr, Project};

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.email=t@t", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", stderr(&output));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Commits `version` of package `g` (depending on `util` from the registry) and tags it.
fn release(repo: &Path, version: &str) -> String {
    let manifest = json!({"name": "g", "version": version, "dependencies": {"util": "^1"}});
    fs::write(repo.join("package.json"), manifest.to_string()).unwrap();
    fs::write(
        repo.join("index.js"),
        format!("module.exports = '{version}';\n"),
    )
    .unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", version]);
    git(repo, &["tag", &format!("v{version}")]);
    git(repo, &["rev-parse", "HEAD"])
}

#[test]
fn git_dependencies_are_pinned_to_a_commit() {
    let project = Project::new("util@1.0.0", json!({}));
    let repo = project.dir().join("../repo");
    fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    release(&repo, "1.0.0");
    let wanted = release(&repo, "1.1.0");
    release(&repo, "2.0.0");
    let url = format!("git+file://{}", repo.canonicalize().unwrap().display());
    let spec = format!("{url}#semver:^1.0.0");
    project.write_package_json(&json!({"dependencies": {"g": spec}}));
    project.install(&[]);
    let index = project.dir().join("node_modules/g/index.js");
    assert_eq!(
        fs::read_to_string(&index).unwrap(),
        "module.exports = '1.1.0';\n"
    );
    assert!(project
        .dir()
        .join("node_modules/util/package.json")
        .is_file());
    let lock = project.lockfile();
    let entry = &lock["packages"]["node_modules/g"];
    assert_eq!(entry["version"], "1.1.0");
    assert_eq!(entry["resolved"], format!("{url}#{wanted}"));
    assert!(entry.get("integrity").is_none(), "npm records none for git");

    // The lockfile pins the commit: a newer matching tag changes nothing.
    release_on_branch(&repo);
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.registry.reset_counts();
    project.install(&["--frozen-lockfile"]);
    assert_eq!(
        fs::read_to_string(&index).unwrap(),
        "module.exports = '1.1.0';\n"
    );
    assert_eq!(project.registry.packument_requests(), 0);
}

/// Adds a 1.5.0 tag on a side branch, so `semver:^1.0.0` would now pick it.
fn release_on_branch(repo: &Path) {
    git(repo, &["checkout", "-q", "-b", "side", "v1.1.0"]);
    release(repo, "1.5.0");
}

#[test]
fn a_missing_reference_names_the_repository() {
    let project = Project::new("util@1.0.0", json!({}));
    let repo = project.dir().join("../repo");
    fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    release(&repo, "1.0.0");
    let url = format!("git+file://{}", repo.canonicalize().unwrap().display());
    project.write_package_json(&json!({"dependencies": {"g": format!("{url}#nope")}}));
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains(&url) && err.contains("\"nope\""), "{err}");
    assert!(!project.dir().join("package-lock.json").exists());
}
