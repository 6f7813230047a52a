//! Every failure a person meets on the command line is one `error:` line
//! that never repeats its own cause, with a hint where the network or the
//! disk is at fault.

use std::fs;

use serde_json::json;
use utoo_test_registry::{Fault, Fixtures, TestRegistry};

use crate::support::{describe, stderr, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1)
    bb@1.0.0
";

/// The one `error:` line of a failed run, checked for repeated text: no
/// two parts of its `a: b: c` chain are the same, and no long part (a
/// cause's message) appears twice anywhere in the line.
fn error_line(output: &std::process::Output) -> String {
    assert!(!output.status.success(), "{}", describe(output));
    let err = stderr(output);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line:\n{err}");
    let line = lines[0].to_string();
    let parts: Vec<&str> = line.split(": ").collect();
    for (i, part) in parts.iter().enumerate() {
        assert!(
            !parts[i + 1..].contains(part),
            "{part:?} is repeated in {line:?}"
        );
        if part.len() >= 20 {
            assert_eq!(
                line.matches(part).count(),
                1,
                "{part:?} is repeated in {line:?}"
            );
        }
    }
    line
}

#[test]
fn an_unreachable_registry_is_one_line_and_a_network_hint() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    let output = project.utoo_with(&["install"], |c| {
        c.env("npm_config_registry", "http://127.0.0.1:9/")
            .env("npm_config_fetch_retries", "1")
            .env("npm_config_fetch_retry_mintimeout", "10")
    });
    let line = error_line(&output);
    assert!(line.contains("http://127.0.0.1:9/aa"), "{line}");
    let err = stderr(&output);
    assert!(
        err.contains("hint: the registry could not be reached"),
        "{err}"
    );
    // The retry is logged only under -v, not as a log line for everyone.
    assert!(!err.contains("retrying request"), "{err}");
}

#[test]
fn a_tarball_that_fails_its_integrity_check_names_it_once() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project
        .registry
        .inject("/bb/-/bb-1.0.0.tgz", Fault::Corrupt, None);
    let line = error_line(&project.utoo(&["install"]));
    assert!(
        line.contains("bb@1.0.0: download failed") && line.contains("integrity mismatch"),
        "{line}"
    );
}

#[test]
fn a_corrupt_tarball_names_the_package_and_the_cause_once() {
    let fixtures =
        Fixtures::new().version("evil", "1.0.0", |v| v.raw_tarball(b"not gzip".to_vec()));
    let registry = TestRegistry::start(fixtures).expect("registry starts");
    let project = Project::with_registry(registry, json!({"dependencies": {"evil": "1"}}));
    let line = error_line(&project.utoo(&["install"]));
    assert!(
        line.contains("evil@1.0.0: extract failed") && line.contains("corrupt gzip"),
        "{line}"
    );
}

#[test]
fn a_disk_failure_is_one_line_and_a_disk_hint() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    // A file where the node_modules folder belongs (root ignores permissions).
    fs::write(project.dir().join("node_modules"), "not a folder").unwrap();
    let output = project.utoo(&["install"]);
    let line = error_line(&output);
    assert!(line.contains("node_modules"), "{line}");
    assert!(stderr(&output).contains("hint: writing to disk failed"));
}

#[test]
fn lockfile_and_manifest_mistakes_are_one_line_without_hints() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"nope": "1"}}));
    let output = project.utoo(&["install"]);
    let line = error_line(&output);
    assert!(line.contains("nope"), "{line}");
    assert!(!stderr(&output).contains("hint:"));

    project.write_package_json(&json!({"dependencies": {"aa": "1"}}));
    fs::write(project.dir().join("package-lock.json"), "{ not json").unwrap();
    let line = error_line(&project.utoo(&["install"]));
    assert!(line.contains("package-lock.json"), "{line}");
}

#[test]
fn adding_a_name_the_registry_lacks_says_so_plainly() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    let before = fs::read_to_string(project.dir().join("package.json")).unwrap();
    let line = error_line(&project.utoo(&["install", "typo-pkg"]));
    assert!(
        line.contains("package typo-pkg not found in the registry")
            && line.contains("check its name"),
        "{line}"
    );
    assert_eq!(
        fs::read_to_string(project.dir().join("package.json")).unwrap(),
        before
    );
}

#[test]
fn a_registry_that_is_not_a_url_fails_at_once() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    let started = std::time::Instant::now();
    let output = project.utoo(&["install", "--registry", "notaurl"]);
    let line = error_line(&output);
    assert!(line.contains("\"notaurl\" is not an http(s) URL"), "{line}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(project.registry.packument_requests(), 0);
}

#[test]
fn dependencies_that_are_not_an_object_are_an_error_naming_the_field() {
    let project = Project::new(FIXTURES, json!({"dependencies": ["aa"]}));
    let line = error_line(&project.utoo(&["install"]));
    assert!(
        line.contains("\"dependencies\" must be an object") && line.contains("not an array"),
        "{line}"
    );
    assert!(!project.dir().join("node_modules").exists());
    assert!(!project.dir().join("package-lock.json").exists());
}
