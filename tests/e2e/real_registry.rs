//! Opt-in (`UTOO_E2E_REGISTRY=1`): an install from the real npm registry.

use std::process::Command;

use serde_json::json;

use crate::support::{describe, Project};

#[test]
#[ignore = "uses the real npm registry: UTOO_E2E_REGISTRY=1 cargo test -p utoo --test e2e -- --ignored"]
fn real_registry_install_runs_and_npm_accepts_it() {
    if std::env::var("UTOO_E2E_REGISTRY").as_deref() != Ok("1") {
        eprintln!("skipped: set UTOO_E2E_REGISTRY=1 to install from the real npm registry");
        return;
    }
    let project = Project::new(
        "",
        json!({"name": "real", "dependencies": {"is-odd": "3.0.1", "semver": "^7.6.0"}}),
    );
    let output = project.utoo_with(&["install"], |c| {
        c.env("npm_config_registry", "https://registry.npmjs.org/")
    });
    assert!(output.status.success(), "{}", describe(&output));
    let lock = project.lockfile();
    let semver = &lock["packages"]["node_modules/semver"];
    assert!(semver["resolved"]
        .as_str()
        .unwrap()
        .starts_with("https://registry.npmjs.org/semver/-/semver-7."));
    assert!(semver["integrity"].as_str().unwrap().starts_with("sha512-"));

    let ls = Command::new("npm")
        .args(["ls", "--all"])
        .current_dir(project.dir())
        .output()
        .unwrap();
    assert!(
        ls.status.success(),
        "npm ls found problems:\n{}",
        describe(&ls)
    );
    let run = Command::new(project.dir().join("node_modules/.bin/semver"))
        .arg("1.2.3")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "1.2.3");
}
