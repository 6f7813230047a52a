//! Packages that ship dependencies inside their tarball
//! (`bundleDependencies`): placed from the tarball as npm 11 places them,
//! never fetched from the registry nor hoisted, and locked `inBundle`.

use std::fs;
use std::process::Command;

use serde_json::{json, Value};
use utoo_test_registry::{Fixtures, TestRegistry, VersionFixture};

use crate::support::{describe, stderr, Project};

/// `bund` bundles `inner@2.5.0` (the registry only has 2.0.0), which
/// bundles `deeper` in turn, and `deep@1.3.0`, a dependency of `inner` that
/// `bund` doesn't list; `other` is a plain dependency that wants `deep` too.
fn fixtures() -> Fixtures {
    let inner = VersionFixture::new("inner", "2.5.0")
        .dep("deep", "^1.0.0")
        .dep("deeper", "^1.0.0")
        .bundle("deeper")
        .bundled(VersionFixture::new("deeper", "1.0.1"))
        .bin("inner", "cli.js")
        .engine("node", ">=10");
    Fixtures::parse(
        "
        inner@2.0.0
        deep@1.0.0
        deeper@1.0.0
        other@1.0.0 deps(deep@^1)
        gone@1.0.0
        ",
    )
    .expect("fixture text parses")
    .version("bund", "1.0.0", |v| {
        v.dep("inner", "^2.1.0")
            .dep("other", "^1")
            .bundle("inner")
            .bundled(inner)
            .bundled(VersionFixture::new("deep", "1.3.0").license("ISC"))
    })
    .version("holey", "1.0.0", |v| v.dep("gone", "^1").bundle("gone"))
    .version("nat", "1.0.0", |v| {
        v.dep("native", "1.0.0").bundle("native").bundled(
            VersionFixture::new("native", "1.0.0")
                .script("postinstall", "node build.js")
                .file("build.js", "require('fs').writeFileSync('built', 'yes')"),
        )
    })
}

fn bund_project() -> Project {
    let registry = TestRegistry::start(fixtures()).expect("registry starts");
    Project::with_registry(
        registry,
        json!({"name": "app", "dependencies": {"bund": "1.0.0"}}),
    )
}

/// The lockfile npm 11.19.1 writes for [`bund_project`] against the same
/// registry (checked by running npm against it).
fn npm_lockfile(registry: &TestRegistry) -> Value {
    let registry_entry = |name: &str, extra: Value| {
        let mut entry = json!({
            "version": "1.0.0",
            "resolved": registry.tarball_url(name, "1.0.0"),
            "integrity": registry.integrity(name, "1.0.0").unwrap(),
            "license": "MIT",
        });
        for (key, value) in extra.as_object().unwrap() {
            entry[key] = value.clone();
        }
        entry
    };
    json!({
        "name": "app",
        "lockfileVersion": 3,
        "requires": true,
        "packages": {
            "": {"name": "app", "dependencies": {"bund": "1.0.0"}},
            "node_modules/bund": registry_entry("bund", json!({
                "bundleDependencies": ["inner"],
                "dependencies": {"inner": "^2.1.0", "other": "^1"},
            })),
            "node_modules/bund/node_modules/deep": {
                "version": "1.3.0", "inBundle": true, "license": "ISC",
            },
            "node_modules/bund/node_modules/inner": {
                "version": "2.5.0",
                "bundleDependencies": ["deeper"],
                "inBundle": true,
                "license": "MIT",
                "dependencies": {"deep": "^1.0.0", "deeper": "^1.0.0"},
                "bin": {"inner": "cli.js"},
                "engines": {"node": ">=10"},
            },
            "node_modules/bund/node_modules/inner/node_modules/deeper": {
                "version": "1.0.1", "inBundle": true, "license": "MIT",
            },
            "node_modules/deep": registry_entry("deep", json!({})),
            "node_modules/other": registry_entry("other", json!({"dependencies": {"deep": "^1"}})),
        }
    })
}

/// `npm ls --all` in the project, when npm is on the PATH (it is in CI).
fn assert_npm_ls_is_clean(project: &Project) {
    let Ok(ls) = Command::new("npm")
        .args(["ls", "--all"])
        .current_dir(project.dir())
        .output()
    else {
        eprintln!("npm is not installed: `npm ls` not run");
        return;
    };
    assert!(ls.status.success(), "npm ls: {}", describe(&ls));
}

fn bundle_requests(registry: &TestRegistry) -> usize {
    ["/inner", "/deeper", "/inner/-/inner-2.0.0.tgz"]
        .iter()
        .map(|path| registry.requests(path))
        .sum()
}

#[test]
fn bundled_dependencies_come_from_the_bundlers_tarball_as_npm_places_them() {
    let project = bund_project();
    project.install(&[]);

    assert_eq!(project.lockfile(), npm_lockfile(&project.registry));
    assert_eq!(
        project.installed(),
        [
            "bund@1.0.0",
            "bund/deep@1.3.0",
            "bund/inner@2.5.0",
            "bund/inner/deeper@1.0.1",
            "deep@1.0.0",
            "other@1.0.0",
        ]
    );
    assert_eq!(
        bundle_requests(&project.registry),
        0,
        "bundled packages are never fetched"
    );
    // npm links a bundled package's bins in the node_modules it is in.
    let bin = project
        .dir()
        .join("node_modules/bund/node_modules/.bin/inner");
    assert_eq!(
        fs::read_link(&bin).expect("the bundled bin is linked"),
        std::path::Path::new("../inner/cli.js")
    );
    assert!(!project.dir().join("node_modules/.bin/inner").exists());
    assert!(
        project.unmet_dependencies().is_empty(),
        "{:?}",
        project.unmet_dependencies()
    );
    assert_npm_ls_is_clean(&project);
}

#[test]
fn a_lockfile_with_bundled_entries_installs_them_from_the_bundler_and_stays_as_it_is() {
    let project = bund_project();
    project.install(&[]);
    let written = fs::read_to_string(project.dir().join("package-lock.json")).unwrap();
    let bund_tarball = "/bund/-/bund-1.0.0.tgz";
    let before = (
        project.registry.requests("/bund"),
        project.registry.requests(bund_tarball),
    );

    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    fs::remove_dir_all(project.cache()).unwrap();
    project.install(&[]);

    let after = fs::read_to_string(project.dir().join("package-lock.json")).unwrap();
    assert_eq!(after, written, "the lockfile is rewritten unchanged");
    assert_eq!(
        project.registry.requests("/bund"),
        before.0,
        "no packument asked for"
    );
    assert_eq!(
        project.registry.requests(bund_tarball),
        before.1 + 1,
        "the bundler's tarball is fetched once, to place it"
    );
    assert_eq!(bundle_requests(&project.registry), 0);
    let deeper = "node_modules/bund/node_modules/inner/node_modules/deeper/package.json";
    assert!(project.dir().join(deeper).is_file());
    assert_npm_ls_is_clean(&project);

    let ci = project.utoo(&["ci"]);
    assert!(ci.status.success(), "{}", describe(&ci));
    assert!(project.dir().join(deeper).is_file());
    assert_eq!(bundle_requests(&project.registry), 0);
}

#[test]
fn lockfile_only_reads_the_bundlers_tarball_for_what_it_ships() {
    let project = bund_project();
    project.install(&["--lockfile-only"]);
    assert_eq!(project.lockfile(), npm_lockfile(&project.registry));
    assert!(!project.dir().join("node_modules").exists());
    assert_eq!(bundle_requests(&project.registry), 0);
}

/// npm installs nothing for a dependency listed in `bundleDependencies`
/// that the tarball lacks (and `npm ls` then reports it missing).
#[test]
fn a_bundled_dependency_missing_from_the_tarball_is_not_fetched() {
    let registry = TestRegistry::start(fixtures()).expect("registry starts");
    let project = Project::with_registry(
        registry,
        json!({"name": "app", "dependencies": {"holey": "1.0.0"}}),
    );
    let output = project.utoo(&["install"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains("warn: holey@1.0.0 bundles gone but its tarball lacks it"),
        "{}",
        describe(&output)
    );
    assert_eq!(project.locked(), ["holey@1.0.0"]);
    assert_eq!(project.installed(), ["holey@1.0.0"]);
    assert_eq!(project.registry.requests("/gone"), 0);
}

/// The project's own `bundleDependencies` only matter when packing: they
/// install from the registry as usual, and npm marks them `inBundle`.
#[test]
fn the_projects_own_bundle_installs_from_the_registry() {
    let registry = TestRegistry::start(fixtures()).expect("registry starts");
    let project = Project::with_registry(
        registry,
        json!({"name": "app", "dependencies": {"other": "1.0.0"}, "bundleDependencies": ["other"]}),
    );
    project.install(&[]);
    let lock = project.lockfile();
    assert_eq!(lock["packages"][""]["bundleDependencies"], json!(["other"]));
    for path in ["node_modules/other", "node_modules/deep"] {
        let entry = &lock["packages"][path];
        assert_eq!(entry["inBundle"], true, "{path}: {entry}");
        assert!(entry["resolved"].is_string(), "{path}: {entry}");
    }
    assert_eq!(project.installed(), ["deep@1.0.0", "other@1.0.0"]);

    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.install(&[]);
    assert_eq!(project.installed(), ["deep@1.0.0", "other@1.0.0"]);
    assert_npm_ls_is_clean(&project);
}

/// A lockfile that lacks a bundler's bundle (written by an installer that
/// ignored `bundleDependencies`) gets it back from the bundler's tarball.
#[test]
fn a_lockfile_without_the_bundle_gets_it_from_the_tarball() {
    let project = bund_project();
    project.install(&["--lockfile-only"]);
    let mut lock = project.lockfile();
    let packages = lock["packages"].as_object_mut().unwrap();
    packages.retain(|path, _| !path.starts_with("node_modules/bund/node_modules/"));
    packages.insert(
        "node_modules/inner".to_string(),
        json!({"version": "2.0.0", "resolved": project.registry.tarball_url("inner", "2.0.0"),
               "integrity": project.registry.integrity("inner", "2.0.0").unwrap()}),
    );
    fs::write(
        project.dir().join("package-lock.json"),
        serde_json::to_string_pretty(&lock).unwrap(),
    )
    .unwrap();

    project.install(&[]);
    assert_eq!(project.lockfile(), npm_lockfile(&project.registry));
    assert!(!project.dir().join("node_modules/inner").exists());
    assert_npm_ls_is_clean(&project);
}

/// npm rebuilds a bundle with its bundler: a trusted bundled package's
/// install script runs in its folder inside the bundler.
#[test]
fn a_trusted_bundled_package_runs_its_install_script() {
    let registry = TestRegistry::start(fixtures()).expect("registry starts");
    let project = Project::with_registry(
        registry,
        json!({"name": "app", "dependencies": {"nat": "1.0.0"}, "trustedDependencies": ["native"]}),
    );
    project.install(&[]);
    let built = project
        .dir()
        .join("node_modules/nat/node_modules/native/built");
    assert_eq!(fs::read_to_string(built).expect("the script ran"), "yes");
    let entry = &project.lockfile()["packages"]["node_modules/nat/node_modules/native"];
    assert_eq!(entry["hasInstallScript"], true, "{entry}");
    assert_eq!(entry["inBundle"], true, "{entry}");
}

/// With the bundler extracted in the cache, resolving reads its bundle
/// there: no download at all. (On a cold cache the resolver downloads the
/// bundler's tarball to read it, and the fetch actor once more to place it.)
#[test]
fn a_cached_bundler_shows_its_bundle_without_a_download() {
    let project = bund_project();
    project.install(&[]);
    let tarball = "/bund/-/bund-1.0.0.tgz";
    assert_eq!(project.registry.requests(tarball), 2);

    fs::remove_file(project.dir().join("package-lock.json")).unwrap();
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.install(&[]);
    assert_eq!(project.registry.requests(tarball), 2);
    assert_eq!(project.lockfile(), npm_lockfile(&project.registry));
    assert_eq!(project.installed().len(), 6);
}
