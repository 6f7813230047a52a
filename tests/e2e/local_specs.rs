//! Dependencies that aren't registry versions: `file:` folders (linked),
//! `file:` tarballs and tarball URLs.

use std::fs;

use serde_json::json;
use utoo_test_registry::Tarball;

use crate::support::{stderr, Project};

const FIXTURES: &str = "
    util@1.0.0
    util@2.0.0
    top@1.0.0 deps(util@^1)
";

fn write_folder(project: &Project, location: &str, package_json: serde_json::Value) {
    let folder = project.dir().join(location);
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join("package.json"), package_json.to_string()).unwrap();
    fs::write(folder.join("index.js"), "module.exports = 'local';\n").unwrap();
}

#[test]
fn file_folders_are_symlinked_and_their_dependencies_installed() {
    let project = Project::new(
        FIXTURES,
        json!({"dependencies": {"mine": "file:./libs/mine", "outside": "link:../outside"}}),
    );
    write_folder(
        &project,
        "libs/mine",
        json!({"name": "mine", "version": "0.1.0", "dependencies": {"util": "^2"}, "bin": "index.js"}),
    );
    write_folder(
        &project,
        "../outside",
        json!({"name": "other-name", "version": "3.0.0", "dependencies": {"top": "1"}}),
    );
    let stdout = project.install(&[]);
    assert!(stdout.starts_with("added 1 package"), "{stdout}");
    let modules = project.dir().join("node_modules");
    assert_eq!(
        fs::read_link(modules.join("mine")).unwrap().to_str(),
        Some("../libs/mine")
    );
    assert_eq!(
        fs::read_link(modules.join("outside")).unwrap().to_str(),
        Some("../../outside")
    );
    assert!(modules.join("util/package.json").is_file());
    assert!(
        modules.join(".bin/mine").exists(),
        "a linked folder's bins are linked"
    );
    // npm leaves a folder outside the project alone: its dependencies aren't installed.
    assert!(!modules.join("top").exists());

    let lock = project.lockfile();
    let packages = &lock["packages"];
    assert_eq!(
        packages["node_modules/mine"],
        json!({"resolved": "libs/mine", "link": true})
    );
    assert_eq!(
        packages["libs/mine"],
        json!({"version": "0.1.0", "dependencies": {"util": "^2"}, "bin": {"mine": "index.js"}})
    );
    assert_eq!(packages["../outside"]["name"], "other-name");
    assert_eq!(packages["node_modules/util"]["version"], "2.0.0");
    let keys: Vec<&String> = packages.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "",
            "../outside",
            "libs/mine",
            "node_modules/mine",
            "node_modules/outside",
            "node_modules/util"
        ]
    );

    // From the lockfile: nothing asked of the registry, and the same result.
    fs::remove_dir_all(&modules).unwrap();
    project.registry.reset_counts();
    project.install(&[]);
    assert_eq!(project.registry.packument_requests(), 0);
    assert!(modules.join("mine/index.js").is_file());
    assert!(modules.join("util/package.json").is_file());
}

#[test]
fn file_tarballs_and_tarball_urls_install_with_their_integrity() {
    let project = Project::new(FIXTURES, json!({}));
    let tarball = Tarball::new()
        .file(
            "package/package.json",
            r#"{"name":"packed","version":"1.2.3","dependencies":{"util":"^1"}}"#,
        )
        .file("package/index.js", "module.exports = 'packed';\n")
        .gzip()
        .unwrap();
    fs::create_dir_all(project.dir().join("vendor")).unwrap();
    fs::write(project.dir().join("vendor/packed-1.2.3.tgz"), &tarball).unwrap();
    let url = project.registry.tarball_url("top", "1.0.0");
    project.write_package_json(&json!({"dependencies": {
        "packed": "file:vendor/packed-1.2.3.tgz",
        "top": url,
    }}));
    project.install(&[]);
    let modules = project.dir().join("node_modules");
    assert!(modules.join("packed/index.js").is_file());
    assert!(modules.join("top/package.json").is_file());
    assert!(modules.join("util/package.json").is_file());
    let lock = project.lockfile();
    let packed = &lock["packages"]["node_modules/packed"];
    assert_eq!(packed["version"], "1.2.3");
    assert_eq!(packed["resolved"], "file:vendor/packed-1.2.3.tgz");
    assert!(packed["integrity"]
        .as_str()
        .is_some_and(|i| i.starts_with("sha512-")));
    assert_eq!(
        lock["packages"]["node_modules/top"]["resolved"],
        url.as_str()
    );
    assert_eq!(lock["packages"]["node_modules/util"]["version"], "1.0.0");

    // A changed tarball no longer matches the lockfile's integrity: refused.
    fs::remove_dir_all(&modules).unwrap();
    fs::remove_dir_all(project.cache()).unwrap();
    let changed = Tarball::new()
        .file(
            "package/package.json",
            r#"{"name":"packed","version":"1.2.3"}"#,
        )
        .gzip()
        .unwrap();
    fs::write(project.dir().join("vendor/packed-1.2.3.tgz"), changed).unwrap();
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("packed@1.2.3") && err.contains("vendor/packed-1.2.3.tgz"),
        "{err}"
    );
}

#[test]
fn missing_folders_and_bad_tarballs_name_the_path() {
    let project = Project::new(
        FIXTURES,
        json!({"dependencies": {"gone": "file:./nowhere"}}),
    );
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("nowhere/package.json"), "{err}");
    assert!(!project.dir().join("package-lock.json").exists());

    fs::write(project.dir().join("bad.tgz"), "not a tarball").unwrap();
    project.write_package_json(&json!({"dependencies": {"bad": "file:bad.tgz"}}));
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("bad.tgz") && err.contains("gzip"), "{err}");
}

#[test]
fn a_registry_package_may_not_depend_on_a_local_path() {
    let project = Project::new(
        "sneaky@1.0.0 deps(home@file:../../../../home)",
        json!({"dependencies": {"sneaky": "1"}}),
    );
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("sneaky@1.0.0") && err.contains("home@file:../../../../home"),
        "{err}"
    );
    assert!(!project.dir().join("node_modules").exists());
}

/// Checked with npm 11.19.1: a link's flags go on its folder's entry.
#[test]
fn a_dev_folder_link_flags_its_folder_entry_only() {
    let project = Project::new(
        FIXTURES,
        json!({"devDependencies": {"local": "file:./local"}}),
    );
    write_folder(
        &project,
        "local",
        json!({"name": "local", "version": "1.0.0"}),
    );
    project.install(&[]);
    let lock = project.lockfile();
    assert_eq!(
        lock["packages"]["node_modules/local"],
        json!({"resolved": "local", "link": true})
    );
    assert_eq!(
        lock["packages"]["local"],
        json!({"version": "1.0.0", "dev": true})
    );
    project.install(&["--omit", "dev"]);
    assert!(!project.dir().join("node_modules/local").exists());
}
