use std::fs;

use serde_json::json;

use crate::support::{describe, registry, stderr, Project};

#[test]
fn version_and_help() {
    let project = Project::new("", json!({}));
    let version = project.utoo(&["--version"]);
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("utoo "));
    let help = project.utoo(&["install", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--registry",
        "--cache-dir",
        "--lockfile-only",
        "--frozen-lockfile",
        "--ignore-scripts",
        "--omit",
        "--production",
        "--legacy-peer-deps",
    ] {
        assert!(text.contains(flag), "help lacks {flag}");
    }
    assert!(
        project.utoo(&["i", "--help"]).status.success(),
        "`i` is an alias of install"
    );
}

#[test]
fn no_package_json_is_a_clear_error() {
    let project = Project::new("", json!({}));
    fs::remove_file(project.dir().join("package.json")).unwrap();
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no package.json"),
        "{}",
        describe(&output)
    );
}

#[test]
fn malformed_package_json_names_line_and_column() {
    let project = Project::new("", json!({}));
    fs::write(
        project.dir().join("package.json"),
        "{\n  \"dependencies\": {\n    \"a\": 1,,\n  }\n}\n",
    )
    .unwrap();
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("package.json is not valid JSON (line 3, column"),
        "{}",
        describe(&output)
    );
}

#[test]
fn registry_precedence_flag_env_project_npmrc() {
    let fixtures = "aa@1.0.0";
    let right = registry(fixtures);
    let wrong = registry(fixtures);
    let project = Project::with_registry(registry(fixtures), json!({"dependencies": {"aa": "1"}}));

    // --registry beats npm_config_registry (set by the harness to project.registry).
    project.install(&["--registry", &right.url(), "--lockfile-only"]);
    assert_eq!(right.requests("/aa"), 1);
    assert_eq!(project.registry.requests("/aa"), 0);

    // The project's .npmrc beats the user's; the environment beats both.
    fs::write(
        project.dir().join(".npmrc"),
        format!("registry={}\n", right.url()),
    )
    .unwrap();
    fs::write(
        project.home().join(".npmrc"),
        format!("registry={}\n", wrong.url()),
    )
    .unwrap();
    fs::remove_file(project.dir().join("package-lock.json")).unwrap();
    let output = project.utoo_with(&["install", "--lockfile-only"], |c| {
        c.env_remove("npm_config_registry")
    });
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(right.requests("/aa"), 2);
    assert_eq!(wrong.requests("/aa"), 0);

    fs::remove_file(project.dir().join("package-lock.json")).unwrap();
    project.install(&["--lockfile-only"]);
    assert_eq!(
        project.registry.requests("/aa"),
        1,
        "npm_config_registry beats .npmrc files"
    );
}

#[test]
fn unsupported_spec_kinds_fail_naming_the_dependency() {
    let project = Project::new(
        "aa@1.0.0",
        json!({"dependencies": {"aa": "1", "remote": "gist:11081aaa281"}}),
    );
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("remote@gist:11081aaa281") && err.contains("not supported yet"),
        "{err}"
    );
}
