use std::fs;
use std::path::PathBuf;

use serde_json::json;
use utoo_test_registry::Fault;

use crate::support::{describe, stderr, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1) file(data.txt=original)
    bb@1.0.0
";

fn cache_entries(project: &Project, name: &str) -> Vec<PathBuf> {
    fs::read_dir(project.cache().join("packages").join(name))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn warm_cache_makes_no_tarball_requests() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    assert_eq!(project.registry.tarball_requests(), 2);
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.registry.reset_counts();
    project.install(&[]);
    assert_eq!(project.registry.tarball_requests(), 0);
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
}

/// `helper` is optional, needed only by `plat`, which this machine can't
/// run: locked, but never placed, so an install from the lockfile has no
/// reason to download it.
#[test]
fn an_install_from_the_lockfile_downloads_no_optional_package_it_does_not_place() {
    let fixtures = "
        aa@1.0.0 optional(plat@1)
        plat@1.0.0 cpu(wasm32) deps(helper@^1)
        helper@1.0.0
    ";
    let project = Project::new(fixtures, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    let lockfile = fs::read_to_string(project.dir().join("package-lock.json")).unwrap();
    assert!(lockfile.contains("\"node_modules/helper\""), "{lockfile}");
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    fs::remove_dir_all(project.cache()).unwrap();
    project.registry.reset_counts();

    project.install(&[]);
    assert_eq!(project.installed(), ["aa@1.0.0"]);
    assert_eq!(project.registry.requests("/helper/-/helper-1.0.0.tgz"), 0);
    assert_eq!(project.registry.tarball_requests(), 1);
}

#[test]
fn cache_entry_without_its_index_is_redone() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    let entries = cache_entries(&project, "aa");
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    fs::remove_file(entry.join(".utoo-index")).unwrap();
    fs::remove_file(entry.join("data.txt")).unwrap();
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.registry.reset_counts();

    project.install(&[]);
    assert_eq!(
        project.registry.requests("/aa/-/aa-1.0.0.tgz"),
        1,
        "redownloaded"
    );
    assert_eq!(
        project.registry.requests("/bb/-/bb-1.0.0.tgz"),
        0,
        "complete entry reused"
    );
    assert!(entry.join(".utoo-index").is_file());
    assert_eq!(
        fs::read_to_string(project.dir().join("node_modules/aa/data.txt")).unwrap(),
        "original"
    );
}

#[test]
fn transient_failures_are_retried() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.registry.inject("/aa", Fault::Status(503), Some(1));
    project
        .registry
        .inject("/bb/-/bb-1.0.0.tgz", Fault::Truncate { bytes: 10 }, Some(1));
    project.registry.inject(
        "/aa/-/aa-1.0.0.tgz",
        Fault::TooManyRequests {
            retry_after_seconds: 0,
        },
        Some(1),
    );
    project.install(&[]);
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
    assert_eq!(project.registry.requests("/aa"), 2);
    assert_eq!(project.registry.requests("/bb/-/bb-1.0.0.tgz"), 2);
}

#[test]
fn integrity_mismatch_fails_and_caches_nothing() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project
        .registry
        .inject("/bb/-/bb-1.0.0.tgz", Fault::Corrupt, None);
    let output = project.utoo(&["install"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains("bb@1.0.0") && err.contains("integrity mismatch"),
        "{err}"
    );
    assert!(cache_entries(&project, "bb").is_empty());
    assert!(!project.dir().join("package-lock.json").exists());
}
