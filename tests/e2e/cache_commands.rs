//! `utoo cache verify` and `utoo cache clean`, including a tampered cache.

use std::fs;
use std::path::PathBuf;

use serde_json::json;

use crate::support::{describe, stderr, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1) file(data.txt=original)
    bb@1.0.0 file(lib.js=1)
    cc@1.0.0
";

fn entry(project: &Project, name: &str) -> PathBuf {
    let entries: Vec<PathBuf> = fs::read_dir(project.cache().join("packages").join(name))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries[0].clone()
}

#[test]
fn verify_reports_and_removes_entries_with_a_changed_or_missing_file() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1", "cc": "1"}}));
    project.install(&[]);
    let (aa, bb, cc) = (
        entry(&project, "aa"),
        entry(&project, "bb"),
        entry(&project, "cc"),
    );
    fs::write(aa.join("data.txt"), "tampered!").unwrap();
    fs::remove_file(bb.join("lib.js")).unwrap();

    let output = project.utoo(&["cache", "verify"]);
    assert!(output.status.success(), "{}", describe(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("Content verified: 1 entries ("), "{out}");
    assert!(out.contains("Content garbage-collected: 2"), "{out}");
    let err = stderr(&output);
    assert!(
        err.contains("warn: removed aa@1.0.0") && err.contains("data.txt"),
        "{err}"
    );
    assert!(
        err.contains("warn: removed bb@1.0.0") && err.contains("lib.js"),
        "{err}"
    );
    assert!(!aa.exists() && !bb.exists() && cc.join("package.json").is_file());
    // Nothing is left half-removed in the staging folder.
    let staging = project.cache().join("tmp");
    assert_eq!(fs::read_dir(&staging).map_or(0, |d| d.count()), 0);

    // The next install downloads the two again, and only them.
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.registry.reset_counts();
    project.install(&[]);
    assert_eq!(project.registry.tarball_requests(), 2);
    assert_eq!(
        fs::read_to_string(project.dir().join("node_modules/aa/data.txt")).unwrap(),
        "original"
    );
    let output = project.utoo(&["cache", "verify"]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Content garbage-collected: 0"),
        "{}",
        describe(&output)
    );
}

#[test]
fn clean_empties_the_cache_without_following_symlinks_out_of_it() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("precious.txt"), "keep me").unwrap();
    std::os::unix::fs::symlink(outside.path(), entry(&project, "aa").join("escape")).unwrap();
    std::os::unix::fs::symlink(outside.path(), project.cache().join("packages/zz")).unwrap();
    // Staging swapped for a link out: removals must not go through it.
    let staging = project.cache().join("tmp");
    let _ = fs::remove_dir_all(&staging);
    std::os::unix::fs::symlink(outside.path(), &staging).unwrap();

    let output = project.utoo(&["cache", "clean"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Removed 2 cached packages"),
        "{}",
        describe(&output)
    );
    assert_eq!(
        fs::read_to_string(outside.path().join("precious.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 1);
    assert_eq!(fs::read_dir(project.cache()).unwrap().count(), 0);
    // The project's own files are untouched.
    assert!(project.dir().join("node_modules/aa/data.txt").is_file());
}

#[test]
fn clean_refuses_a_folder_that_is_not_utoos_cache() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    let dir = project.dir();
    let output = project.utoo(&["cache", "clean", "--cache-dir", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains("does not look like utoo's cache") && err.contains("nothing was removed"),
        "{err}"
    );
    assert!(dir.join("package.json").is_file());
}
