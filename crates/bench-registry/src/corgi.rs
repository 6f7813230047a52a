//! The two packument forms a snapshot stores: the full document as fetched
//! (tarball URLs pointed at the snapshot registry) and the abbreviated
//! ("corgi") form the public registry sends for
//! `Accept: application/vnd.npm.install-v1+json`, derived here because the
//! mirror these machines use only ever sends full documents.

use serde_json::{Map, Value};
use thiserror::Error;

/// What tarball URLs are stored as; the server replaces it with its own
/// `http://127.0.0.1:<port>/` when it serves a document.
pub const REGISTRY_PLACEHOLDER: &str = "http://utoo-bench-registry.invalid/";

/// Per-version fields the abbreviated form keeps (as the public registry
/// does, plus `license`, which npm records in its lockfile).
const CORGI_VERSION_FIELDS: &[&str] = &[
    "name",
    "version",
    "deprecated",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bundleDependencies",
    "bundledDependencies",
    "acceptDependencies",
    "bin",
    "directories",
    "engines",
    "os",
    "cpu",
    "libc",
    "funding",
    "license",
    "_hasShrinkwrap",
    "dist",
];

/// Lifecycle scripts that make the registry set `hasInstallScript`.
const INSTALL_SCRIPTS: &[&str] = &["preinstall", "install", "postinstall"];

#[derive(Debug, Error)]
pub enum CorgiError {
    #[error("the packument is not a JSON object")]
    NotAnObject,
    #[error("the packument has no `versions` object")]
    NoVersions,
}

/// The abbreviated form of a full packument: `name`, `modified`,
/// `dist-tags` and, per version, the fields installers read.
pub fn abbreviate(full: &Value) -> Result<Value, CorgiError> {
    let document = full.as_object().ok_or(CorgiError::NotAnObject)?;
    let versions = document
        .get("versions")
        .and_then(Value::as_object)
        .ok_or(CorgiError::NoVersions)?;
    let mut corgi = Map::new();
    if let Some(name) = document.get("name") {
        corgi.insert("name".into(), name.clone());
    }
    let modified = document
        .get("time")
        .and_then(|time| time.get("modified"))
        .or_else(|| document.get("modified"));
    if let Some(modified) = modified {
        corgi.insert("modified".into(), modified.clone());
    }
    if let Some(tags) = document.get("dist-tags") {
        corgi.insert("dist-tags".into(), tags.clone());
    }
    let versions = versions
        .iter()
        .map(|(version, manifest)| (version.clone(), abbreviate_version(manifest)))
        .collect();
    corgi.insert("versions".into(), Value::Object(versions));
    Ok(Value::Object(corgi))
}

fn abbreviate_version(manifest: &Value) -> Value {
    let Some(manifest) = manifest.as_object() else {
        return manifest.clone();
    };
    let mut corgi = Map::new();
    for field in CORGI_VERSION_FIELDS {
        if let Some(value) = manifest.get(*field) {
            corgi.insert((*field).to_owned(), value.clone());
        }
    }
    let scripted = manifest
        .get("scripts")
        .and_then(Value::as_object)
        .is_some_and(|scripts| INSTALL_SCRIPTS.iter().any(|s| scripts.contains_key(*s)));
    let flagged = manifest
        .get("hasInstallScript")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if scripted || flagged {
        corgi.insert("hasInstallScript".into(), Value::Bool(true));
    }
    Value::Object(corgi)
}

/// Points every version's `dist.tarball` at `registry` (ending in `/`):
/// `<registry><name>/-/<file>`, `<file>` being the original URL's last
/// segment. Returns where each version's tarball was and is now.
pub fn rewrite_tarballs(full: &mut Value, registry: &str) -> Vec<TarballLocation> {
    let name = full
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let Some(versions) = full.get_mut("versions").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let mut locations = Vec::with_capacity(versions.len());
    for (version, manifest) in versions.iter_mut() {
        let Some(tarball) = manifest
            .get_mut("dist")
            .and_then(|dist| dist.get_mut("tarball"))
        else {
            continue;
        };
        let original = tarball.as_str().unwrap_or_default().to_owned();
        let file = tarball_file_name(&name, version, &original);
        let path = format!("{name}/-/{file}");
        *tarball = Value::String(format!("{registry}{path}"));
        locations.push(TarballLocation {
            version: version.clone(),
            original,
            path,
        });
    }
    locations
}

/// Where one version's tarball was and where the snapshot serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarballLocation {
    pub version: String,
    pub original: String,
    /// `<name>/-/<file>.tgz`, relative to the registry root.
    pub path: String,
}

/// The last segment of `url` when it looks like a tarball file, else npm's
/// `<unscoped name>-<version>.tgz`.
fn tarball_file_name(name: &str, version: &str, url: &str) -> String {
    let last = url.rsplit('/').next().unwrap_or_default();
    let last = last.split(['?', '#']).next().unwrap_or_default();
    let safe =
        !last.is_empty() && last != ".." && last.ends_with(".tgz") && !last.contains(['%', '\\']);
    if safe {
        return last.to_owned();
    }
    let unscoped = name.rsplit_once('/').map_or(name, |(_, bare)| bare);
    format!("{unscoped}-{version}.tgz")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn full() -> Value {
        json!({
            "_id": "@s/p",
            "name": "@s/p",
            "dist-tags": {"latest": "1.0.0"},
            "time": {"modified": "2024-01-01T00:00:00.000Z", "1.0.0": "2023-01-01"},
            "readme": "long text",
            "versions": {
                "1.0.0": {
                    "name": "@s/p",
                    "version": "1.0.0",
                    "description": "dropped",
                    "readme": "dropped",
                    "scripts": {"test": "x", "postinstall": "node i.js"},
                    "dependencies": {"a": "^1"},
                    "peerDependencies": {"b": "*"},
                    "peerDependenciesMeta": {"b": {"optional": true}},
                    "license": "MIT",
                    "engines": {"node": ">=18"},
                    "dist": {
                        "tarball": "https://registry.npmjs.org/@s/p/-/p-1.0.0.tgz",
                        "integrity": "sha512-x",
                        "shasum": "00"
                    }
                },
                "0.1.0": {
                    "name": "@s/p",
                    "version": "0.1.0",
                    "scripts": {"test": "x"},
                    "dist": {"tarball": "https://r.example/weird/path"}
                }
            }
        })
    }

    #[test]
    fn abbreviation_keeps_install_fields_only() {
        let corgi = abbreviate(&full()).unwrap();
        let keys: Vec<&str> = corgi
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["name", "modified", "dist-tags", "versions"]);
        assert_eq!(corgi["modified"], "2024-01-01T00:00:00.000Z");
        let v1 = &corgi["versions"]["1.0.0"];
        assert_eq!(v1["hasInstallScript"], true);
        assert_eq!(v1["dependencies"]["a"], "^1");
        assert_eq!(v1["peerDependenciesMeta"]["b"]["optional"], true);
        assert_eq!(v1["license"], "MIT");
        assert_eq!(v1["dist"]["integrity"], "sha512-x");
        assert!(v1.get("description").is_none() && v1.get("scripts").is_none());
        assert!(corgi["versions"]["0.1.0"].get("hasInstallScript").is_none());
    }

    #[test]
    fn abbreviation_needs_versions() {
        assert!(matches!(
            abbreviate(&json!({"name": "x"})),
            Err(CorgiError::NoVersions)
        ));
        assert!(matches!(
            abbreviate(&json!([])),
            Err(CorgiError::NotAnObject)
        ));
    }

    #[test]
    fn tarballs_point_at_the_registry() {
        let mut doc = full();
        let mut locations = rewrite_tarballs(&mut doc, REGISTRY_PLACEHOLDER);
        locations.sort_by(|a, b| a.version.cmp(&b.version));
        assert_eq!(locations[1].path, "@s/p/-/p-1.0.0.tgz");
        assert_eq!(locations[0].path, "@s/p/-/p-0.1.0.tgz");
        assert_eq!(
            doc["versions"]["1.0.0"]["dist"]["tarball"],
            "http://utoo-bench-registry.invalid/@s/p/-/p-1.0.0.tgz"
        );
        assert_eq!(
            locations[1].original,
            "https://registry.npmjs.org/@s/p/-/p-1.0.0.tgz"
        );
    }
}
