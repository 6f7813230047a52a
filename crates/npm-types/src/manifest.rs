use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lenient;

/// Where a version's tarball is and how to check it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Dist {
    #[serde(default)]
    pub tarball: String,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub integrity: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    pub shasum: Option<String>,
}

impl Dist {
    /// The integrity npm records: `dist.integrity`, else `sha1-…` made from `shasum`.
    pub fn lock_integrity(&self) -> Option<String> {
        if let Some(integrity) = &self.integrity {
            return Some(integrity.clone());
        }
        let shasum = self.shasum.as_deref()?;
        crate::Integrity::from_sha1_hex(shasum)
            .ok()
            .map(|i| i.to_string())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct PeerDependencyMeta {
    #[serde(default, deserialize_with = "lenient::flag")]
    pub optional: bool,
}

/// One version of a package, with the fields an installer needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub dependencies: BTreeMap<String, String>,
    pub optional_dependencies: BTreeMap<String, String>,
    pub peer_dependencies: BTreeMap<String, String>,
    pub peer_dependencies_meta: BTreeMap<String, PeerDependencyMeta>,
    pub bin: BTreeMap<String, String>,
    pub engines: BTreeMap<String, String>,
    pub os: Vec<String>,
    pub cpu: Vec<String>,
    pub libc: Vec<String>,
    pub license: Option<String>,
    pub deprecated: Option<String>,
    pub has_install_script: bool,
    pub funding: Option<Value>,
    /// `bundleDependencies` (or `bundledDependencies`) as written: a list of
    /// names, or `true` for every dependency.
    pub bundle_dependencies: Option<Value>,
    /// `workspaces` as written, which npm copies into the lockfile.
    pub workspaces: Option<Value>,
    /// `engines` written as something other than an object (old packages
    /// list `["node >= 0.2.0"]`): npm copies it into the lockfile as it is.
    pub engines_as_written: Option<Value>,
    pub dist: Dist,
}

/// The document shape: a raw `bin` and `scripts`, normalised into [`Manifest`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    #[serde(default, deserialize_with = "lenient::optional_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    version: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_map")]
    dependencies: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "lenient::string_map")]
    optional_dependencies: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "lenient::string_map")]
    peer_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    peer_dependencies_meta: Option<Value>,
    #[serde(default, deserialize_with = "lenient::raw_bin")]
    bin: Option<Value>,
    #[serde(default)]
    engines: Option<Value>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    os: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    cpu: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    libc: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_or_type")]
    license: Option<String>,
    #[serde(default, deserialize_with = "lenient::optional_string")]
    deprecated: Option<String>,
    #[serde(default, deserialize_with = "lenient::flag")]
    has_install_script: bool,
    #[serde(default, deserialize_with = "lenient::string_map")]
    scripts: BTreeMap<String, String>,
    #[serde(default)]
    funding: Option<Value>,
    #[serde(default)]
    bundle_dependencies: Option<Value>,
    #[serde(default)]
    bundled_dependencies: Option<Value>,
    #[serde(default)]
    workspaces: Option<Value>,
    #[serde(default, deserialize_with = "lenient::dist")]
    dist: Dist,
}

impl<'de> Deserialize<'de> for Manifest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawManifest::deserialize(d)?;
        Ok(Manifest::from_raw(raw))
    }
}

impl Manifest {
    fn from_raw(raw: RawManifest) -> Manifest {
        let name = raw.name.unwrap_or_default();
        let has_install_script = raw.has_install_script
            || ["preinstall", "install", "postinstall"]
                .iter()
                .any(|s| raw.scripts.contains_key(*s));
        let peer_dependencies_meta = match raw.peer_dependencies_meta {
            Some(Value::Object(map)) => map
                .into_iter()
                .filter_map(|(k, v)| serde_json::from_value(v).ok().map(|m| (k, m)))
                .collect(),
            _ => BTreeMap::new(),
        };
        let (engines, engines_as_written) = split_engines(raw.engines);
        Manifest {
            bin: lenient::normalise_bin(raw.bin, &name),
            name,
            version: raw.version.unwrap_or_default(),
            dependencies: raw.dependencies,
            optional_dependencies: raw.optional_dependencies,
            peer_dependencies: raw.peer_dependencies,
            peer_dependencies_meta,
            engines,
            engines_as_written,
            os: raw.os,
            cpu: raw.cpu,
            libc: raw.libc,
            license: raw.license,
            deprecated: raw.deprecated,
            has_install_script,
            funding: raw.funding.filter(|f| !f.is_null()),
            bundle_dependencies: raw
                .bundle_dependencies
                .or(raw.bundled_dependencies)
                .filter(|b| b.is_array() || *b == Value::Bool(true)),
            workspaces: raw.workspaces.filter(|w| !is_blank(w)),
            dist: raw.dist,
        }
    }

    /// The names shipped inside this package's tarball, as npm reads
    /// `bundleDependencies`: the listed names, or with `true` every
    /// dependency.
    pub fn bundled_names(&self) -> Vec<String> {
        match &self.bundle_dependencies {
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::Bool(true)) => self.dependencies.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Parses a `package.json` (or one version object of a packument).
    pub fn from_slice(bytes: &[u8]) -> serde_json::Result<Manifest> {
        serde_json::from_slice(bytes)
    }

    /// This manifest as compact JSON that [`Manifest::from_slice`] reads back whole.
    pub fn to_compact_json(&self) -> Vec<u8> {
        let compact = CompactManifest {
            name: &self.name,
            version: &self.version,
            dependencies: &self.dependencies,
            optional_dependencies: &self.optional_dependencies,
            peer_dependencies: &self.peer_dependencies,
            peer_dependencies_meta: &self.peer_dependencies_meta,
            bin: &self.bin,
            engines: match &self.engines_as_written {
                Some(written) => Engines::AsWritten(written),
                None => Engines::Map(&self.engines),
            },
            os: &self.os,
            cpu: &self.cpu,
            libc: &self.libc,
            license: self.license.as_deref().filter(|s| !s.is_empty()),
            deprecated: self.deprecated.as_deref().filter(|s| !s.is_empty()),
            has_install_script: self.has_install_script,
            funding: self.funding.as_ref().filter(|v| !is_blank(v)),
            bundle_dependencies: self.bundle_dependencies.as_ref().filter(|v| !is_blank(v)),
            workspaces: self.workspaces.as_ref().filter(|v| !is_blank(v)),
            dist: &self.dist,
        };
        serde_json::to_vec(&compact).unwrap_or_default()
    }

    /// Whether the `peerDependenciesMeta` marks the peer `name` optional.
    pub fn is_optional_peer(&self, name: &str) -> bool {
        self.peer_dependencies_meta
            .get(name)
            .is_some_and(|meta| meta.optional)
    }
}

/// Values npm leaves out of a lockfile: null, false, empty strings, arrays and objects.
fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) | Value::Bool(true) => false,
    }
}

/// `engines` as an object of strings, or else as written (when it is not blank).
pub(crate) fn split_engines(engines: Option<Value>) -> (BTreeMap<String, String>, Option<Value>) {
    match engines {
        Some(Value::Object(map)) if map.values().all(Value::is_string) => (
            map.into_iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
                .collect(),
            None,
        ),
        other => (BTreeMap::new(), other.filter(|e| !is_blank(e))),
    }
}

/// What [`Manifest::to_compact_json`] writes: every field, blank ones left out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CompactManifest<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    version: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    dependencies: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    optional_dependencies: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    peer_dependencies: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    peer_dependencies_meta: &'a BTreeMap<String, PeerDependencyMeta>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    bin: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Engines::is_empty")]
    engines: Engines<'a>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    os: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    cpu: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    libc: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    license: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deprecated: Option<&'a str>,
    #[serde(skip_serializing_if = "is_false")]
    has_install_script: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    funding: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bundle_dependencies: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspaces: Option<&'a Value>,
    dist: &'a Dist,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Engines<'a> {
    AsWritten(&'a Value),
    Map(&'a BTreeMap<String, String>),
}

impl Engines<'_> {
    fn is_empty(&self) -> bool {
        match self {
            Engines::AsWritten(value) => is_blank(value),
            Engines::Map(map) => map.is_empty(),
        }
    }
}

fn is_false(flag: &bool) -> bool {
    !flag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_round_trips() {
        let m = Manifest::from_slice(
            br#"{"name":"@s/p","version":"1.0.0","dependencies":{"a":"^1"},"optionalDependencies":{"o":"1"},
            "peerDependencies":{"h":"^2"},"peerDependenciesMeta":{"h":{"optional":true}},"bin":{"p":"./cli.js"},
            "engines":{"node":">=18"},"os":["linux"],"cpu":["x64"],"libc":["glibc"],"license":"MIT",
            "deprecated":"no","scripts":{"install":"x"},"funding":{"url":"u"},"bundleDependencies":["a"],
            "workspaces":["w/*"],
            "dist":{"tarball":"t","integrity":"sha512-i","shasum":"s"}}"#,
        )
        .unwrap();
        assert_eq!(Manifest::from_slice(&m.to_compact_json()).unwrap(), m);
    }

    #[test]
    fn bundled_names_as_npm_reads_them() {
        let read = |json: &str| {
            Manifest::from_slice(json.as_bytes())
                .unwrap()
                .bundled_names()
        };
        assert_eq!(
            read(r#"{"dependencies":{"a":"1"},"bundleDependencies":["a"]}"#),
            ["a"]
        );
        assert_eq!(
            read(r#"{"dependencies":{"a":"1","b":"1"},"bundledDependencies":true}"#),
            ["a", "b"]
        );
        assert!(read(r#"{"dependencies":{"a":"1"},"bundleDependencies":false}"#).is_empty());
        assert!(read(r#"{"bundleDependencies":"a"}"#).is_empty());
    }

    #[test]
    fn odd_old_fields_are_tolerated() {
        let m = Manifest::from_slice(
            br#"{"name":"old","version":"0.1.0","engines":["node >=0.4"],
            "license":{"type":"BSD","url":"x"},"deprecated":true,"dependencies":[],
            "os":"linux","scripts":{"postinstall":"node x"},"bin":"./cli.js",
            "dist":{"tarball":"t","shasum":"aa"}}"#,
        )
        .unwrap();
        assert!(m.engines.is_empty());
        assert_eq!(
            m.engines_as_written,
            Some(serde_json::json!(["node >=0.4"]))
        );
        assert_eq!(Manifest::from_slice(&m.to_compact_json()).unwrap(), m);
        assert_eq!(m.license.as_deref(), Some("BSD"));
        assert_eq!(m.deprecated, None);
        assert!(m.dependencies.is_empty());
        assert_eq!(m.os, ["linux"]);
        assert!(m.has_install_script);
        assert_eq!(m.bin["old"], "cli.js");
    }

    #[test]
    fn fields_of_the_wrong_shape_are_skipped_not_fatal() {
        let m = Manifest::from_slice(
            br#"{"name":"odd","version":"1.0.0",
            "dependencies":{"a":"^1","b":2,"c":{"x":[1,{"y":null}]},"a":"^2"},
            "optionalDependencies":"nope","peerDependencies":[["x"]],
            "os":[1,"linux",{"no":true},"darwin"],"cpu":{"x64":true},"libc":null,
            "hasInstallScript":"yes","deprecated":{"why":"old"},
            "dist":{"tarball":"t","signatures":[{"keyid":"k","sig":"s"}],"fileCount":3,
                    "integrity":["not","a","string"],"shasum":"aa"}}"#,
        )
        .unwrap();
        assert_eq!(m.dependencies.len(), 1);
        assert_eq!(m.dependencies["a"], "^2");
        assert!(m.optional_dependencies.is_empty() && m.peer_dependencies.is_empty());
        assert_eq!(m.os, ["linux", "darwin"]);
        assert!(m.cpu.is_empty() && m.libc.is_empty());
        assert!(!m.has_install_script);
        assert_eq!(m.deprecated, None);
        assert_eq!(m.dist.tarball, "t");
        assert_eq!(m.dist.integrity, None);
        assert_eq!(m.dist.shasum.as_deref(), Some("aa"));
        assert_eq!(Manifest::from_slice(&m.to_compact_json()).unwrap(), m);

        let no_dist = Manifest::from_slice(br#"{"name":"x","dist":"t"}"#).unwrap();
        assert_eq!(no_dist.dist, Dist::default());
    }

    #[test]
    fn shasum_becomes_sha1_integrity() {
        let dist = Dist {
            tarball: String::new(),
            integrity: None,
            shasum: Some("a94a8fe5ccb19ba61c4c0873d391e987982fbbd3".into()),
        };
        assert_eq!(
            dist.lock_integrity().as_deref(),
            Some("sha1-qUqP5cyxm6YcTAhz05Hph5gvu9M=")
        );
    }
}
