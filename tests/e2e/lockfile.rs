use std::fs;

use serde_json::json;
use utoo_test_registry::{Fixtures, TestRegistry};

use crate::support::{describe, stderr, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1)
    bb@1.0.0
    cc@1.0.0
";

#[test]
fn install_from_lockfile_requests_no_packument() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    fs::remove_dir_all(project.cache()).unwrap();
    project.registry.reset_counts();

    project.install(&[]);
    assert_eq!(
        project.registry.packument_requests(),
        0,
        "{:?}",
        project.registry.request_log()
    );
    assert_eq!(project.registry.tarball_requests(), 2);
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
}

#[test]
fn frozen_lockfile_fails_on_drift_and_leaves_files_alone() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    project.install(&["--frozen-lockfile"]);
    let before = fs::read_to_string(project.dir().join("package-lock.json")).unwrap();

    project.write_package_json(&json!({"dependencies": {"aa": "1", "cc": "1"}}));
    let output = project.utoo(&["install", "--frozen-lockfile"]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains("out of sync with package.json")
            && stderr(&output).contains("Missing: cc@1.0.0 from lock file"),
        "{}",
        describe(&output)
    );
    assert_eq!(
        fs::read_to_string(project.dir().join("package-lock.json")).unwrap(),
        before
    );
    assert!(!project.dir().join("node_modules/cc").exists());
}

#[test]
fn stale_lockfile_keeps_versions_that_still_satisfy() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    // bb 1.5.0 is published later; the locked 1.0.0 still satisfies ^1 and stays.
    let newer = crate::support::registry(&format!("{FIXTURES}\nbb@1.5.0\n"));
    project.write_package_json(&json!({"dependencies": {"aa": "1", "cc": "1"}}));
    project.install(&["--registry", &newer.url()]);
    assert_eq!(project.locked(), ["aa@1.0.0", "bb@1.0.0", "cc@1.0.0"]);
    assert_eq!(
        newer.requests("/aa"),
        0,
        "aa's locked entry still satisfies"
    );
    assert_eq!(newer.requests("/cc"), 1);
}

#[test]
fn npm_written_lockfiles_are_read() {
    let project = Project::new(
        FIXTURES,
        json!({"name": "app", "dependencies": {"aa": "1"}}),
    );
    let url = |n: &str| project.registry.tarball_url(n, "1.0.0");
    let integrity = |n: &str| project.registry.integrity(n, "1.0.0").unwrap().to_string();
    // A v2 lockfile as npm 7/8 write it: a legacy "dependencies" section beside "packages".
    let lock = json!({
        "name": "app", "lockfileVersion": 2, "requires": true,
        "packages": {
            "": {"name": "app", "dependencies": {"aa": "1"}},
            "node_modules/aa": {"version": "1.0.0", "resolved": url("aa"), "integrity": integrity("aa"), "dependencies": {"bb": "^1"}},
            "node_modules/bb": {"version": "1.0.0", "resolved": url("bb"), "integrity": integrity("bb")}
        },
        "dependencies": {"aa": {"version": "1.0.0"}, "bb": {"version": "1.0.0"}}
    });
    fs::write(
        project.dir().join("package-lock.json"),
        serde_json::to_string_pretty(&lock).unwrap(),
    )
    .unwrap();
    project.install(&[]);
    assert_eq!(project.registry.packument_requests(), 0);
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
    assert_eq!(
        project.lockfile()["lockfileVersion"],
        2,
        "kept at v2, as npm does"
    );
    assert!(project.lockfile()["dependencies"]["aa"]["requires"].is_object());
}

#[test]
fn lockfile_without_resolved_uses_registry_layout() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"bb": "1"}}));
    let lock = json!({
        "lockfileVersion": 3, "requires": true,
        "packages": {"": {"dependencies": {"bb": "1"}}, "node_modules/bb": {"version": "1.0.0"}}
    });
    fs::write(
        project.dir().join("package-lock.json"),
        serde_json::to_string(&lock).unwrap(),
    )
    .unwrap();
    project.install(&[]);
    assert_eq!(project.installed(), ["bb@1.0.0"]);
    assert_eq!(project.registry.requests("/bb/-/bb-1.0.0.tgz"), 1);
}

#[test]
fn malformed_lockfile_names_file_line_and_column() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"bb": "1"}}));
    fs::write(
        project.dir().join("package-lock.json"),
        "{\n  \"lockfileVersion\": 3,\n  oops\n}",
    )
    .unwrap();
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("package-lock.json") && err.contains("line 3"),
        "{err}"
    );
}

/// The registry of the cases npm 11.19.1 was run against by hand to write
/// the files in `tests/e2e/npm_written/`: `npm install --registry <it>
/// --userconfig <empty file> --ignore-scripts` in a folder with [`APP`] (or
/// [`APP_ADDED`]) as package.json, the registry's address then replaced by
/// `{registry}`. `old` has the old array form of `engines` and a
/// `workspaces` list, which npm copies into its lockfile entry.
fn npm_case_registry() -> TestRegistry {
    let fixtures = Fixtures::parse(
        "
        aa@1.0.0 deps(bb@^1)
        bb@1.0.0
        bb@2.0.0
        cc@1.0.0 deps(bb@^2)
        pp@1.0.0 peer(aa@^1)
        oo@1.0.0
        dd@1.0.0 deps(ee@1)
        ee@1.0.0
        win@1.0.0 os(win32)
        ",
    )
    .expect("fixture text parses")
    .extend(Fixtures::new().version("old", "1.0.0", |v| {
        v.field("engines", json!(["node >= 0.8"]))
            .field("workspaces", json!(["packages/*"]))
    }));
    TestRegistry::start(fixtures).expect("registry starts")
}

const APP: &str = r#"{
  "name": "app",
  "version": "1.0.0",
  "dependencies": {
    "aa": "^1",
    "al": "npm:bb@1",
    "cc": "1",
    "old": "1",
    "pp": "1"
  },
  "optionalDependencies": {
    "oo": "1",
    "win": "1"
  },
  "devDependencies": {
    "dd": "1"
  }
}
"#;

/// [`APP`] with `ee` (until then only a dev dependency's) as a dependency.
const APP_ADDED: &str = r#"{
  "name": "app",
  "version": "1.0.0",
  "dependencies": {
    "aa": "^1",
    "al": "npm:bb@1",
    "cc": "1",
    "old": "1",
    "pp": "1",
    "ee": "1"
  },
  "optionalDependencies": {
    "oo": "1",
    "win": "1"
  },
  "devDependencies": {
    "dd": "1"
  }
}
"#;

/// A file npm wrote in one of the cases of [`npm_case_registry`].
fn npm_wrote(project: &Project, text: &str) -> String {
    text.replace("{registry}", project.registry.url().trim_end_matches('/'))
}

fn npm_case(package_json: &str, files: &[(&str, &str)]) -> Project {
    let project = Project::with_registry(npm_case_registry(), json!({}));
    fs::write(project.dir().join("package.json"), package_json).unwrap();
    for (name, text) in files {
        fs::write(project.dir().join(name), npm_wrote(&project, text)).unwrap();
    }
    project
}

fn read(project: &Project, name: &str) -> String {
    fs::read_to_string(project.dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const V2_LOCK: &str = include_str!("npm_written/v2/package-lock.json");

#[test]
fn committed_v2_lockfile_is_left_byte_for_byte() {
    let project = npm_case(APP, &[("package-lock.json", V2_LOCK)]);
    project.install(&[]);
    assert_eq!(
        read(&project, "package-lock.json"),
        npm_wrote(&project, V2_LOCK)
    );
    assert_eq!(
        read(&project, "node_modules/.package-lock.json"),
        npm_wrote(
            &project,
            include_str!("npm_written/v2/hidden-package-lock.json")
        ),
        "the hidden lockfile is v3, as npm writes it"
    );
}

#[test]
fn v2_lockfile_gets_the_changes_npm_makes() {
    let project = npm_case(APP_ADDED, &[("package-lock.json", V2_LOCK)]);
    project.install(&[]);
    assert_eq!(
        read(&project, "package-lock.json"),
        npm_wrote(
            &project,
            include_str!("npm_written/v2/package-lock.added.json")
        )
    );
}

#[test]
fn lockfile_version_2_is_written_as_npm_writes_it() {
    let project = npm_case(APP, &[]);
    project.install(&["--lockfile-version", "2"]);
    assert_eq!(
        read(&project, "package-lock.json"),
        npm_wrote(&project, V2_LOCK)
    );
}

#[test]
fn fresh_lockfile_keeps_old_engines_and_workspaces_as_npm() {
    let project = npm_case(APP, &[]);
    project.install(&[]);
    assert_eq!(
        read(&project, "package-lock.json"),
        npm_wrote(
            &project,
            include_str!("npm_written/fresh/package-lock.json")
        )
    );
    let old = &project.lockfile()["packages"]["node_modules/old"];
    assert_eq!(old["engines"], json!(["node >= 0.8"]));
    assert_eq!(old["workspaces"], json!(["packages/*"]));
}

#[test]
fn omit_lockfile_registry_resolved_from_npmrc_as_npm() {
    let project = npm_case(APP, &[(".npmrc", "omit-lockfile-registry-resolved=true\n")]);
    project.install(&[]);
    let lock = read(&project, "package-lock.json");
    assert!(!lock.contains("\"resolved\""), "{lock}");
    assert_eq!(
        lock,
        include_str!("npm_written/omit-resolved/package-lock.json")
    );
    assert_eq!(
        read(&project, "node_modules/.package-lock.json"),
        include_str!("npm_written/omit-resolved/hidden-package-lock.json")
    );
    assert_eq!(project.installed().len(), 10, "{:?}", project.installed());
}

const SHRINKWRAP: &str = include_str!("npm_written/shrinkwrap/npm-shrinkwrap.json");

#[test]
fn npm_shrinkwrap_is_read_and_updated_in_place() {
    let project = npm_case(APP_ADDED, &[("npm-shrinkwrap.json", SHRINKWRAP)]);
    project.install(&[]);
    assert_eq!(
        read(&project, "npm-shrinkwrap.json"),
        npm_wrote(
            &project,
            include_str!("npm_written/shrinkwrap/npm-shrinkwrap.added.json")
        )
    );
    assert!(
        !project.dir().join("package-lock.json").exists(),
        "npm writes no second lockfile"
    );
}

#[test]
fn npm_shrinkwrap_wins_over_package_lock() {
    let stale = "{\"lockfileVersion\": 3, \"packages\": {}}\n";
    let project = npm_case(
        APP_ADDED,
        &[
            ("npm-shrinkwrap.json", SHRINKWRAP),
            ("package-lock.json", stale),
        ],
    );
    project.install(&[]);
    assert_eq!(
        read(&project, "package-lock.json"),
        stale,
        "left alone, as npm does"
    );
    assert_eq!(
        read(&project, "npm-shrinkwrap.json"),
        npm_wrote(
            &project,
            include_str!("npm_written/shrinkwrap/npm-shrinkwrap.added.json")
        )
    );
}

/// npm 11.19.1 with `--no-save`: node_modules and its hidden lockfile, no
/// package-lock.json, package.json untouched.
#[test]
fn save_false_writes_neither_package_json_nor_lockfile() {
    let project = npm_case(APP, &[]);
    project.install(&["--no-save", "ee@1"]);
    assert_eq!(read(&project, "package.json"), APP);
    assert!(!project.dir().join("package-lock.json").exists());
    assert!(project
        .dir()
        .join("node_modules/.package-lock.json")
        .is_file());
    assert!(project.dir().join("node_modules/ee").is_dir());
    let output = project.utoo_with(&["install"], |c| c.env("npm_config_save", "false"));
    assert!(output.status.success(), "{}", describe(&output));
    assert!(!project.dir().join("package-lock.json").exists());
}

/// As npm 11.19.1 writes it (see crates/lockfile's overrides fixture):
/// `packages` keeps the declared range, the legacy section the override's.
#[test]
fn v2_requires_show_what_overrides_gave() {
    let project = Project::new(
        "
        aa@1.0.0 deps(bb@^1)
        bb@1.0.0
        bb@1.1.0
        ",
        json!({"dependencies": {"aa": "1"}, "overrides": {"bb": "1.0.0"}}),
    );
    project.install(&["--lockfile-version", "2"]);
    let lock = project.lockfile();
    assert_eq!(
        lock["packages"]["node_modules/aa"]["dependencies"]["bb"],
        "^1"
    );
    assert_eq!(lock["dependencies"]["aa"]["requires"]["bb"], "1.0.0");
    assert_eq!(lock["dependencies"]["bb"]["version"], "1.0.0");
    // Kept on the next install, read back from the lockfile.
    let before = read(&project, "package-lock.json");
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.install(&[]);
    assert_eq!(read(&project, "package-lock.json"), before);
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
}

/// npm 11.19.1 writes its hidden lockfile in package.json's indentation and
/// line endings too (seen on tests/projects/webpack-v2, indented with tabs).
#[test]
fn hidden_lockfile_is_formatted_like_package_json() {
    let project = Project::new(FIXTURES, json!({}));
    fs::write(
        project.dir().join("package.json"),
        "{\r\n\t\"name\": \"app\",\r\n\t\"dependencies\": {\"bb\": \"1\"}\r\n}\r\n",
    )
    .unwrap();
    project.install(&[]);
    let hidden = read(&project, "node_modules/.package-lock.json");
    assert!(
        hidden.starts_with("{\r\n\t\"name\": \"app\",\r\n")
            && hidden.contains("\r\n\t\t\"node_modules/bb\": {\r\n\t\t\t\"version\": \"1.0.0\",")
            && hidden.ends_with("}\r\n"),
        "{hidden:?}"
    );
}

#[test]
fn lockfile_version_3_converts_a_v2_lockfile_as_npm() {
    let project = npm_case(APP, &[("package-lock.json", V2_LOCK)]);
    let output = project.utoo_with(&["install"], |c| c.env("npm_config_lockfile_version", "3"));
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        read(&project, "package-lock.json"),
        npm_wrote(
            &project,
            include_str!("npm_written/fresh/package-lock.json")
        )
    );

    fs::write(project.dir().join(".npmrc"), "lockfile-version=4\n").unwrap();
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("lockfile-version=4") && stderr(&output).contains("1, 2 or 3"),
        "{}",
        describe(&output)
    );
}

/// npm 11.19.1 resolves with full registry documents (arborist's
/// `#fetchManifest` asks for `fullMetadata`) and so copies a dependency's
/// `workspaces` into its entry (`old` above). The abbreviated document the
/// real registry gives utoo lacks it: utoo reads it from the package's
/// `package.json` once installed. Here only the tarball's package.json has it.
#[test]
fn workspaces_missing_from_the_packument_are_read_from_the_package() {
    let manifest = r#"{"name": "wsd", "version": "1.0.0", "workspaces": ["lib/*"]}"#;
    let registry = TestRegistry::start(
        Fixtures::new().version("wsd", "1.0.0", |v| v.file("package.json", manifest)),
    )
    .expect("registry starts");
    let project = Project::with_registry(registry, json!({"dependencies": {"wsd": "1"}}));
    project.install(&[]);
    let entry =
        |lock: &serde_json::Value| lock["packages"]["node_modules/wsd"]["workspaces"].clone();
    assert_eq!(entry(&project.lockfile()), json!(["lib/*"]));
    let hidden = read(&project, "node_modules/.package-lock.json");
    assert_eq!(
        entry(&serde_json::from_str(&hidden).unwrap()),
        json!(["lib/*"])
    );

    // An entry kept from a lockfile stays as that lockfile has it, as with npm.
    let without = read(&project, "package-lock.json")
        .replace(",\n      \"workspaces\": [\n        \"lib/*\"\n      ]", "");
    assert!(!without.contains("lib/*"), "{without}");
    fs::write(project.dir().join("package-lock.json"), &without).unwrap();
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.install(&[]);
    assert_eq!(read(&project, "package-lock.json"), without);
}
