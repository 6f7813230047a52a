//! The JSON a fixture version turns into: its `package.json` and its entry in
//! the packument's `versions`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::fixture::VersionFixture;
use crate::tarball::Dist;

const INSTALL_SCRIPTS: [&str; 3] = ["preinstall", "install", "postinstall"];

pub(crate) fn package_json(fixture: &VersionFixture) -> Map<String, Value> {
    let mut manifest = Map::new();
    manifest.insert("name".into(), json!(fixture.name));
    manifest.insert("version".into(), json!(fixture.version));
    manifest.insert("main".into(), json!("index.js"));
    manifest.insert("license".into(), json!(fixture.license));
    insert_map(&mut manifest, "dependencies", &fixture.dependencies);
    insert_map(
        &mut manifest,
        "optionalDependencies",
        &fixture.optional_dependencies,
    );
    insert_map(
        &mut manifest,
        "peerDependencies",
        &fixture.peer_dependencies,
    );
    if !fixture.optional_peers.is_empty() {
        let meta: Map<String, Value> = fixture
            .optional_peers
            .iter()
            .map(|name| (name.clone(), json!({ "optional": true })))
            .collect();
        manifest.insert("peerDependenciesMeta".into(), Value::Object(meta));
    }
    insert_map(&mut manifest, "devDependencies", &fixture.dev_dependencies);
    insert_map(&mut manifest, "bin", &fixture.bin);
    insert_map(&mut manifest, "scripts", &fixture.scripts);
    insert_list(&mut manifest, "os", &fixture.os);
    insert_list(&mut manifest, "cpu", &fixture.cpu);
    insert_map(&mut manifest, "engines", &fixture.engines);
    insert_list(
        &mut manifest,
        "bundleDependencies",
        &fixture.bundle_dependencies,
    );
    manifest.extend(fixture.fields.clone());
    manifest
}

/// The manifest plus what the registry adds: `deprecated`,
/// `hasInstallScript` and `dist`.
pub(crate) fn packument_version(fixture: &VersionFixture, dist: &Dist, tarball_url: &str) -> Value {
    let mut manifest = package_json(fixture);
    if let Some(message) = &fixture.deprecated {
        manifest.insert("deprecated".into(), json!(message));
    }
    if INSTALL_SCRIPTS
        .iter()
        .any(|event| fixture.scripts.contains_key(*event))
    {
        manifest.insert("hasInstallScript".into(), json!(true));
    }
    manifest.insert(
        "dist".into(),
        json!({
            "tarball": tarball_url,
            "integrity": dist.integrity,
            "shasum": dist.shasum,
        }),
    );
    Value::Object(manifest)
}

fn insert_map(manifest: &mut Map<String, Value>, key: &str, entries: &BTreeMap<String, String>) {
    if !entries.is_empty() {
        manifest.insert(key.into(), json!(entries));
    }
}

fn insert_list(manifest: &mut Map<String, Value>, key: &str, entries: &[String]) {
    if !entries.is_empty() {
        manifest.insert(key.into(), json!(entries));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_left_out() {
        let manifest = package_json(&VersionFixture::new("aa", "1.0.0"));
        let keys: Vec<&str> = manifest.keys().map(String::as_str).collect();
        assert_eq!(keys, ["name", "version", "main", "license"]);
        assert_eq!(manifest["license"], "MIT");
    }

    #[test]
    fn packument_version_flags_install_scripts_and_optional_peers() {
        let fixture = VersionFixture::new("aa", "1.0.0")
            .peer_dep("host", "^1")
            .optional_peer("host")
            .script("install", "node-gyp rebuild")
            .deprecated("gone");
        let dist = Dist::of(b"tgz");
        let version = packument_version(&fixture, &dist, "http://x/aa/-/aa-1.0.0.tgz");
        assert_eq!(version["hasInstallScript"], true);
        assert_eq!(version["deprecated"], "gone");
        assert_eq!(version["peerDependenciesMeta"]["host"]["optional"], true);
        assert_eq!(version["dist"]["integrity"], json!(dist.integrity));
        let test_only = VersionFixture::new("bb", "1.0.0").script("test", "jest");
        let version = packument_version(&test_only, &dist, "u");
        assert!(version.get("hasInstallScript").is_none());
    }
}
