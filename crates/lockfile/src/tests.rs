//! Whole-file behaviour against lockfiles written by npm 11.19.1 (see `tests/fixtures`).

use std::fs;
use std::path::Path;

use serde_json::{json, Value};

use crate::{write_atomic, JsonFormat, LockEntry, Lockfile, LockfileError, PeerDependencyMeta};

const REGISTRY_PACKAGE: &str = include_str!("../tests/fixtures/registry/package.json");
const REGISTRY_V3: &str = include_str!("../tests/fixtures/registry/package-lock.v3.json");
const REGISTRY_V2: &str = include_str!("../tests/fixtures/registry/package-lock.v2.json");
const WORKSPACES_LOCK_V2: &str =
    include_str!("../tests/fixtures/workspaces-tabs-crlf/package-lock.v2.json");
const LEGACY_V2: &str = include_str!("../tests/fixtures/legacy/package-lock.v2.json");
const LEGACY_V2_OMIT_RESOLVED: &str =
    include_str!("../tests/fixtures/legacy/package-lock.v2.omit-resolved.json");
const OVERRIDES_V2: &str = include_str!("../tests/fixtures/overrides/package-lock.v2.json");
const WORKSPACES_PACKAGE: &str =
    include_str!("../tests/fixtures/workspaces-tabs-crlf/package.json");
const WORKSPACES_LOCK: &str =
    include_str!("../tests/fixtures/workspaces-tabs-crlf/package-lock.json");
const WORKSPACE_PACKAGES: [(&str, &str); 4] = [
    (
        "packages/dash",
        include_str!("../tests/fixtures/workspaces-tabs-crlf/packages/dash/package.json"),
    ),
    (
        "packages/num",
        include_str!("../tests/fixtures/workspaces-tabs-crlf/packages/num/package.json"),
    ),
    (
        "packages/scoped",
        include_str!("../tests/fixtures/workspaces-tabs-crlf/packages/scoped/package.json"),
    ),
    (
        "packages/under",
        include_str!("../tests/fixtures/workspaces-tabs-crlf/packages/under/package.json"),
    ),
];

fn parse(text: &str) -> Lockfile {
    Lockfile::parse(text, Path::new("package-lock.json")).expect("fixture parses")
}

fn parse_err(text: &str) -> LockfileError {
    Lockfile::parse(text, Path::new("/project/package-lock.json")).expect_err("parse fails")
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

#[test]
fn registry_v3_round_trips_byte_for_byte() {
    let lockfile = parse(REGISTRY_V3);
    assert_eq!(lockfile.lockfile_version, 3);
    assert_eq!(lockfile.packages.len(), 32);
    let esbuild = &lockfile.packages["node_modules/esbuild"];
    assert!(esbuild.dev && esbuild.has_install_script && !esbuild.optional);
    assert_eq!(esbuild.bin["esbuild"], "bin/esbuild");
    let linux = &lockfile.packages["node_modules/@esbuild/linux-x64"];
    assert!(linux.dev && linux.optional);
    assert_eq!(
        (linux.os.as_slice(), linux.cpu.as_slice()),
        (&["linux".to_owned()][..], &["x64".to_owned()][..])
    );

    assert_eq!(
        lockfile.to_json(&JsonFormat::detect(REGISTRY_PACKAGE)),
        REGISTRY_V3
    );
}

#[test]
fn registry_v2_round_trips_byte_for_byte_and_converts_to_v3() {
    let mut lockfile = parse(REGISTRY_V2);
    assert_eq!(lockfile.lockfile_version, 2);
    assert!(
        lockfile.other.is_empty(),
        "the legacy section is not kept as read"
    );
    assert_eq!(lockfile.to_json(&JsonFormat::default()), REGISTRY_V2);
    lockfile.lockfile_version = 3;
    assert_eq!(lockfile.to_json(&JsonFormat::default()), REGISTRY_V3);
}

#[test]
fn the_kept_part_of_a_v2_lockfile_is_written_as_v3_without_the_rest() {
    let lockfile = parse(REGISTRY_V2);
    let kept = |location: &str| location.contains("esbuild");
    let text = lockfile.to_json_v3_keeping(&JsonFormat::default(), kept);

    let mut expected = parse(REGISTRY_V3);
    expected.packages.retain(|location, _| kept(location));
    assert!(expected.packages.len() > 1 && expected.packages.len() < 32);
    assert_eq!(text, expected.to_json(&JsonFormat::default()));
    assert_eq!(parse(&text), expected);
}

/// Written by npm 11.19.1 (`npm install --package-lock-only --lockfile-version 2`): nested
/// `dependencies`, `requires` without peers, an `npm:` alias, a tarball URL and a `file:`
/// tarball (saved as asked for, without `resolved`), dev and optional flags.
#[test]
fn legacy_section_matches_npm() {
    let lockfile = parse(LEGACY_V2);
    assert_eq!(lockfile.to_json(&JsonFormat::default()), LEGACY_V2);
}

/// Links to workspaces and folders become `file:` versions with their folder's `requires`
/// (`{}` when it only has peers); tabs and CRLF are kept.
#[test]
fn workspaces_v2_round_trips_byte_for_byte() {
    let lockfile = parse(WORKSPACES_LOCK_V2);
    assert_eq!(lockfile.lockfile_version, 2);
    assert_eq!(
        lockfile.to_json(&JsonFormat::detect(WORKSPACES_PACKAGE)),
        WORKSPACES_LOCK_V2
    );
}

/// npm's `omit-lockfile-registry-resolved` drops `resolved` in both sections for registry
/// packages only: the tarball URL and the `file:` tarball keep theirs.
#[test]
fn omitting_registry_resolved_matches_npm() {
    let mut lockfile = parse(LEGACY_V2);
    lockfile.omit_registry_resolved();
    assert_eq!(
        lockfile.to_json(&JsonFormat::default()),
        LEGACY_V2_OMIT_RESOLVED
    );
    assert_eq!(
        lockfile.packages["node_modules/left-pad"]
            .resolved
            .as_deref(),
        Some("https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz")
    );
}

#[test]
fn version_1_writes_only_the_legacy_section() {
    let mut lockfile = parse(LEGACY_V2);
    lockfile.lockfile_version = 1;
    let written = json_of(&lockfile.to_json(&JsonFormat::default()));
    let legacy = json_of(LEGACY_V2);
    assert_eq!(written["lockfileVersion"], 1);
    assert!(written.get("packages").is_none());
    assert_eq!(written["dependencies"], legacy["dependencies"]);
}

#[test]
fn workspaces_with_tabs_and_crlf_round_trip_byte_for_byte() {
    let format = JsonFormat::detect(WORKSPACES_PACKAGE);
    assert_eq!(
        (format.indent.as_str(), format.newline.as_str()),
        ("\t", "\r\n")
    );
    let lockfile = parse(WORKSPACES_LOCK);

    let under = &lockfile.packages["packages/under"];
    assert_eq!(under.other.get("engines"), Some(&json!(["node >= 0.4"])));
    assert_eq!(
        under.peer_dependencies_meta["ws-dash"].optional,
        Some(false)
    );
    assert!(lockfile.packages["node_modules/ws_under"].link);
    assert_eq!(
        lockfile.packages["local-dir"].other.get("os"),
        Some(&json!("linux"))
    );
    assert_eq!(
        lockfile.packages[""].dev_dependencies,
        Some(Default::default())
    );

    assert_eq!(lockfile.to_json(&format), WORKSPACES_LOCK);
}

#[test]
fn root_entries_match_what_npm_copied_from_package_json() {
    let lockfile = parse(WORKSPACES_LOCK);
    let root = LockEntry::root_from_package_json(&json_of(WORKSPACES_PACKAGE));
    assert_eq!(root, lockfile.packages[""]);
    // Workspace entries hold the same fields (their names differ from their folders).
    for (location, package_json) in WORKSPACE_PACKAGES {
        let entry = LockEntry::root_from_package_json(&json_of(package_json));
        assert_eq!(entry, lockfile.packages[location], "{location}");
    }

    let registry = parse(REGISTRY_V3);
    let root = LockEntry::root_from_package_json(&json_of(REGISTRY_PACKAGE));
    assert_eq!(root, registry.packages[""]);
}

#[test]
fn flags_follow_npm() {
    let mut lockfile = Lockfile::default();
    let flagged = |dev, optional, dev_optional, peer, extraneous| LockEntry {
        version: Some("1.0.0".to_owned()),
        dev,
        optional,
        dev_optional,
        peer,
        extraneous,
        ..LockEntry::default()
    };
    lockfile.packages.extend([
        (
            "node_modules/both".to_owned(),
            flagged(true, true, true, true, false),
        ),
        (
            "node_modules/dev-optional".to_owned(),
            flagged(false, false, true, false, false),
        ),
        (
            "node_modules/extraneous".to_owned(),
            flagged(true, false, false, true, true),
        ),
    ]);
    let json = json_of(&lockfile.to_json(&JsonFormat::default()));
    assert_eq!(
        json["packages"],
        json!({
            "node_modules/both": {"version": "1.0.0", "dev": true, "optional": true, "peer": true},
            "node_modules/dev-optional": {"version": "1.0.0", "devOptional": true},
            "node_modules/extraneous": {"version": "1.0.0", "extraneous": true},
        })
    );
    let text = lockfile.to_json(&JsonFormat::default());
    assert!(text.contains(
        "\"node_modules/both\": {\n      \"version\": \"1.0.0\",\n      \"dev\": true,\n      \"optional\": true,\n      \"peer\": true\n    }"
    ));
}

#[test]
fn empty_lockfile_and_compact_output() {
    let lockfile = Lockfile {
        name: Some("app".to_owned()),
        ..Lockfile::default()
    };
    assert_eq!(
        lockfile.to_json(&JsonFormat::default()),
        "{\n  \"name\": \"app\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {}\n}\n"
    );
    let compact = JsonFormat {
        indent: String::new(),
        newline: "\n".to_owned(),
    };
    assert_eq!(
        lockfile.to_json(&compact),
        "{\"name\":\"app\",\"lockfileVersion\":3,\"requires\":true,\"packages\":{}}"
    );
}

#[test]
fn lenient_about_field_shapes() {
    let lockfile = parse(
        r#"{
          "lockfileVersion": 3,
          "custom": {"kept": 1.0},
          "packages": {
            "node_modules/old": {
              "version": "0.1.0",
              "engines": ["node >= 0.4"],
              "license": {"type": "BSD", "url": "http://x"},
              "funding": "https://fund.example",
              "dependencies": {"a": "1", "b": null},
              "peerDependenciesMeta": {"p": {"optional": true, "note": "x"}},
              "os": "linux",
              "dev": "yes",
              "optional": false,
              "cpu": [],
              "bundleDependencies": true,
              "deprecated": null,
              "weird": {"z": [], "a": 0}
            }
          }
        }"#,
    );
    let old = &lockfile.packages["node_modules/old"];
    assert_eq!(old.license.as_deref(), Some("BSD"));
    assert_eq!(old.funding, Some(json!("https://fund.example")));
    assert!(old.dependencies.is_empty() && old.bin.is_empty() && old.engines.is_empty());
    assert_eq!(
        old.peer_dependencies_meta["p"],
        PeerDependencyMeta {
            optional: Some(true),
            other: serde_json::Map::from_iter([("note".to_owned(), json!("x"))]),
        }
    );
    assert_eq!(
        Value::Object(old.other.clone()),
        json!({
            "engines": ["node >= 0.4"], "dependencies": {"a": "1", "b": null}, "os": "linux", "dev": "yes",
            "weird": {"z": [], "a": 0},
        })
    );
    assert_eq!(lockfile.other.get("custom"), Some(&json!({"kept": 1.0})));

    let written = lockfile.to_json(&JsonFormat::default());
    assert_eq!(
        written,
        r#"{
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "node_modules/old": {
      "version": "0.1.0",
      "bundleDependencies": true,
      "dev": "yes",
      "engines": [
        "node >= 0.4"
      ],
      "funding": "https://fund.example",
      "license": "BSD",
      "os": "linux",
      "dependencies": {
        "a": "1",
        "b": null
      },
      "peerDependenciesMeta": {
        "p": {
          "note": "x",
          "optional": true
        }
      },
      "weird": {
        "a": 0,
        "z": []
      }
    }
  },
  "custom": {
    "kept": 1
  }
}
"#
    );
    assert_eq!(parse(&written).to_json(&JsonFormat::default()), written);
}

#[test]
fn malformed_json_names_file_line_and_column() {
    let error = parse_err("{\n  \"lockfileVersion\": 3,\n  \"packages\": {,}\n}\n");
    assert!(
        matches!(
            error,
            LockfileError::Json {
                line: 3,
                column: 16,
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("/project/package-lock.json"), "{message}");
    assert!(message.contains("line 3, column 16"), "{message}");
    assert!(std::error::Error::source(&error).is_some());
}

#[test]
fn v1_and_missing_packages_are_unsupported() {
    let v1 = r#"{"name": "a", "lockfileVersion": 1, "requires": true, "dependencies": {}}"#;
    let error = parse_err(v1);
    assert!(
        matches!(
            error,
            LockfileError::Unsupported {
                version: Some(1),
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("/project/package-lock.json") && message.contains("lockfileVersion 1"),
        "{message}"
    );
    assert!(message.contains("not supported"), "{message}");

    let no_packages = parse_err(r#"{"lockfileVersion": 3}"#);
    assert!(matches!(
        no_packages,
        LockfileError::Unsupported {
            version: Some(3),
            ..
        }
    ));
    let no_version = parse_err(r#"{"packages": {}}"#);
    assert!(matches!(
        no_version,
        LockfileError::Unsupported { version: None, .. }
    ));
}

#[test]
fn structurally_invalid_lockfiles_are_errors() {
    assert!(matches!(parse_err("[]"), LockfileError::Invalid { .. }));
    assert!(matches!(
        parse_err(r#"{"lockfileVersion": 3, "packages": []}"#),
        LockfileError::Invalid { .. }
    ));
    let error = parse_err(r#"{"lockfileVersion": 3, "packages": {"node_modules/a": 1}}"#);
    assert!(error.to_string().contains("node_modules/a"), "{error}");
}

#[test]
fn byte_order_mark_is_ignored() {
    let lockfile = parse("\u{feff}{\"lockfileVersion\": 2, \"packages\": {}}");
    assert_eq!(lockfile.lockfile_version, 2);
}

#[test]
fn read_returns_none_for_missing_file() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("package-lock.json");
    assert!(Lockfile::read(&path).expect("no error").is_none());
    fs::write(&path, REGISTRY_V3).expect("write fixture");
    let lockfile = Lockfile::read(&path)
        .expect("no error")
        .expect("file exists");
    assert_eq!(lockfile.name.as_deref(), Some("lockfile-fixture"));

    let error = Lockfile::read(directory.path()).expect_err("a directory is not a lockfile");
    assert!(matches!(error, LockfileError::Read { .. }), "{error:?}");
}

/// The writing itself is `utoo-atomic-write`'s, and tested there.
#[test]
fn write_atomic_writes_and_names_the_file_it_could_not_write() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("package-lock.json");
    write_atomic(&path, REGISTRY_V3).expect("write");
    assert_eq!(fs::read_to_string(&path).expect("read back"), REGISTRY_V3);

    let missing_directory = directory.path().join("missing").join("package-lock.json");
    let error = write_atomic(&missing_directory, "x").expect_err("no such directory");
    assert!(
        matches!(&error, LockfileError::Write { path, .. } if *path == missing_directory),
        "{error:?}"
    );
}

/// arborist writes `bundled` for `inDepBundle` nodes: packages a dependency bundles, not
/// those the project bundles itself (nor their dependencies).
#[test]
fn legacy_section_marks_what_dependencies_bundle() {
    let entry = |in_bundle: bool| LockEntry {
        version: Some("1.0.0".to_owned()),
        in_bundle,
        ..LockEntry::default()
    };
    let mut lockfile = Lockfile {
        lockfile_version: 2,
        ..Lockfile::default()
    };
    lockfile.packages.extend([
        ("node_modules/own".to_owned(), entry(true)),
        ("node_modules/own/node_modules/deep".to_owned(), entry(true)),
        ("node_modules/dep".to_owned(), entry(false)),
        (
            "node_modules/dep/node_modules/inner".to_owned(),
            entry(true),
        ),
        (
            "node_modules/dep/node_modules/inner/node_modules/leaf".to_owned(),
            entry(true),
        ),
    ]);
    let written = json_of(&lockfile.to_json(&JsonFormat::default()));
    let legacy = &written["dependencies"];
    assert_eq!(legacy["own"].get("bundled"), None);
    assert_eq!(legacy["own"]["dependencies"]["deep"].get("bundled"), None);
    let inner = &legacy["dep"]["dependencies"]["inner"];
    assert_eq!(inner["bundled"], json!(true));
    assert_eq!(inner["dependencies"]["leaf"]["bundled"], json!(true));
    assert_eq!(
        written["packages"]["node_modules/own"]["inBundle"],
        json!(true)
    );
}

/// npm 11.19.1 with `"overrides": {"is-number": "3.0.0"}`: `packages` keeps the declared
/// `^3.0.0`, the legacy `requires` has the override's spec.
#[test]
fn legacy_requires_have_the_specs_overrides_gave() {
    let mut lockfile = parse(OVERRIDES_V2);
    let without = lockfile.to_json(&JsonFormat::default());
    assert_ne!(
        without, OVERRIDES_V2,
        "the declared spec is not what npm wrote"
    );
    lockfile.overridden_specs.insert(
        "node_modules/is-odd".to_owned(),
        [("is-number".to_owned(), "3.0.0".to_owned())].into(),
    );
    assert_eq!(lockfile.to_json(&JsonFormat::default()), OVERRIDES_V2);
}

#[test]
fn the_declared_version_is_read_as_parse_reads_it() {
    let declared = |text: &str| Lockfile::declared_version(text);
    assert_eq!(
        declared("\u{feff}{\"lockfileVersion\": 2, \"packages\": {}}"),
        Some(2)
    );
    assert_eq!(
        declared(r#"{"name": "a", "lockfileVersion": 1, "dependencies": {}}"#),
        Some(1)
    );
    assert_eq!(declared(r#"{"packages": {}}"#), None);
    assert_eq!(declared(r#"{"lockfileVersion": "3"}"#), None);
    assert_eq!(declared(r#"{"lockfileVersion": 3"#), None);
    assert_eq!(declared("[]"), None);
}
