//! What the closure needs from a packument, read leniently from its JSON
//! (registry documents carry decades of odd shapes: `engines` as arrays,
//! `deprecated: true`, `os` as a string); fields of unexpected types are
//! treated as absent.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One package's versions and dist-tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageDoc {
    pub name: String,
    pub dist_tags: BTreeMap<String, String>,
    /// By version string as published.
    pub versions: BTreeMap<String, VersionInfo>,
}

/// One version: its dependencies and what picking or fetching it needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: String,
    pub dependencies: BTreeMap<String, String>,
    pub optional_dependencies: BTreeMap<String, String>,
    pub peer_dependencies: BTreeMap<String, String>,
    pub deprecated: bool,
    /// `engines.node`, when a string.
    pub node_engine: Option<String>,
    pub os: Vec<String>,
    pub cpu: Vec<String>,
    pub tarball: String,
    pub integrity: Option<String>,
    pub shasum: Option<String>,
}

impl PackageDoc {
    pub fn from_value(document: &Value) -> PackageDoc {
        let versions = document
            .get("versions")
            .and_then(Value::as_object)
            .map(|versions| {
                versions
                    .iter()
                    .filter_map(|(version, manifest)| {
                        let manifest = manifest.as_object()?;
                        Some((
                            version.clone(),
                            VersionInfo::from_manifest(version, manifest),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        PackageDoc {
            name: string(document.get("name")).unwrap_or_default(),
            dist_tags: string_map(document.get("dist-tags")),
            versions,
        }
    }

    pub fn from_slice(bytes: &[u8]) -> serde_json::Result<PackageDoc> {
        let document: Value = serde_json::from_slice(bytes)?;
        Ok(PackageDoc::from_value(&document))
    }
}

impl VersionInfo {
    fn from_manifest(version: &str, manifest: &Map<String, Value>) -> VersionInfo {
        let dist = manifest.get("dist");
        VersionInfo {
            version: version.to_owned(),
            dependencies: string_map(manifest.get("dependencies")),
            optional_dependencies: string_map(manifest.get("optionalDependencies")),
            peer_dependencies: string_map(manifest.get("peerDependencies")),
            deprecated: manifest
                .get("deprecated")
                .and_then(Value::as_str)
                .is_some_and(|message| !message.is_empty()),
            node_engine: string(manifest.get("engines").and_then(|e| e.get("node"))),
            os: string_list(manifest.get("os")),
            cpu: string_list(manifest.get("cpu")),
            tarball: string(dist.and_then(|d| d.get("tarball"))).unwrap_or_default(),
            integrity: string(dist.and_then(|d| d.get("integrity"))),
            shasum: string(dist.and_then(|d| d.get("shasum"))),
        }
    }
}

fn string(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

/// An object's string-valued entries; anything else is empty.
fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// A string list, or a single string as a one-element list.
fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(single)) => vec![single.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn odd_shapes_are_tolerated() {
        let doc = PackageDoc::from_value(&json!({
            "name": "old",
            "dist-tags": {"latest": "0.1.0", "bad": 3},
            "versions": {
                "0.1.0": {
                    "dependencies": [],
                    "optionalDependencies": {"a": "^1", "b": null},
                    "engines": ["node >=0.4"],
                    "deprecated": true,
                    "os": "linux",
                    "dist": {"tarball": "t", "shasum": "aa"}
                },
                "0.2.0": "not an object"
            }
        }));
        assert_eq!(doc.dist_tags.len(), 1);
        assert_eq!(doc.versions.len(), 1);
        let v = &doc.versions["0.1.0"];
        assert!(v.dependencies.is_empty());
        assert_eq!(v.optional_dependencies.len(), 1);
        assert_eq!(v.node_engine, None);
        assert!(!v.deprecated);
        assert_eq!(v.os, ["linux"]);
        assert_eq!(v.shasum.as_deref(), Some("aa"));
    }
}
