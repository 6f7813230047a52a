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

/// A small workspaces monorepo from the real registry: utoo's lockfile is
/// the one npm writes for the same folders, byte for byte.
#[test]
#[ignore = "uses the real npm registry and npm: UTOO_E2E_REGISTRY=1 cargo test -p utoo --test e2e -- --ignored"]
fn real_registry_workspaces_lock_as_npm_does() {
    if std::env::var("UTOO_E2E_REGISTRY").as_deref() != Ok("1") {
        eprintln!("skipped: set UTOO_E2E_REGISTRY=1 to install from the real npm registry");
        return;
    }
    let members = [
        (
            "packages/app",
            json!({"name": "@mono/app", "version": "1.0.0",
                   "dependencies": {"@mono/lib": "^2.0.0", "is-number": "^7.0.0"}}),
        ),
        (
            "packages/lib",
            json!({"name": "@mono/lib", "version": "2.1.0",
                   "dependencies": {"is-number": "^6.0.0"}, "devDependencies": {"kind-of": "^6.0.0"}}),
        ),
    ];
    let root = json!({"name": "mono", "workspaces": ["packages/*"], "devDependencies": {"is-odd": "3.0.1"}});
    let write_all = |dir: &std::path::Path| {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("package.json"), root.to_string()).unwrap();
        for (location, manifest) in &members {
            std::fs::create_dir_all(dir.join(location)).unwrap();
            std::fs::write(
                dir.join(location).join("package.json"),
                manifest.to_string(),
            )
            .unwrap();
        }
    };
    let project = Project::new("", root.clone());
    write_all(&project.dir());
    let output = project.utoo_with(&["install"], |c| {
        c.env("npm_config_registry", "https://registry.npmjs.org/")
    });
    assert!(output.status.success(), "{}", describe(&output));

    let npm_dir = project.dir().join("../npm");
    write_all(&npm_dir);
    let empty_config = project.dir().join("../empty-npmrc");
    std::fs::write(&empty_config, "").unwrap();
    let npm = Command::new("npm")
        .args([
            "install",
            "--package-lock-only",
            "--ignore-scripts",
            "--userconfig",
        ])
        .arg(&empty_config)
        .current_dir(&npm_dir)
        .output()
        .unwrap();
    assert!(npm.status.success(), "{}", describe(&npm));
    let ours = std::fs::read_to_string(project.dir().join("package-lock.json")).unwrap();
    let theirs = std::fs::read_to_string(npm_dir.join("package-lock.json")).unwrap();
    assert_eq!(ours, theirs);
    let ls = Command::new("npm")
        .args(["ls", "--all"])
        .current_dir(project.dir())
        .output()
        .unwrap();
    assert!(ls.status.success(), "{}", describe(&ls));
}
