use std::collections::BTreeMap;
use std::io::Write;

use bytes::Bytes;
use nodejs_semver::Version;
use serde::{de, Deserialize};
use serde_json::Value;
use thiserror::Error;

use crate::lenient;
use crate::version_fields::Versions;
use crate::Manifest;

#[derive(Debug, Error)]
#[error("malformed packument")]
pub struct PackumentError(#[from] serde_json::Error);

/// One published version, kept lean: what choosing a version needs is at
/// hand, the rest of the manifest is stored compactly and read back on demand.
/// (Full registry documents list thousands of versions; holding every one as
/// a parsed [`Manifest`] would cost hundreds of megabytes on large projects.)
#[derive(Debug, Clone)]
pub struct PackumentVersion {
    pub version: Version,
    pub deprecated: bool,
    /// `engines.node`, when given.
    pub node_engine: Option<Box<str>>,
    /// Its part of the packument's compact documents, shared by its versions.
    compact: Bytes,
}

impl PackumentVersion {
    fn new(version: Version, manifest: &Manifest) -> PackumentVersion {
        PackumentVersion {
            version,
            deprecated: manifest.deprecated.is_some(),
            node_engine: manifest.engines.get("node").map(|r| r.as_str().into()),
            compact: Bytes::from(manifest.to_compact_json()),
        }
    }

    /// The full manifest of this version.
    pub fn manifest(&self) -> Manifest {
        Manifest::from_slice(&self.compact).unwrap_or_default()
    }
}

/// A registry document listing every version of one package, reduced to
/// what an installer uses (readmes, times and maintainers are skipped while
/// parsing). Versions that aren't valid semver are left out, as npm does.
#[derive(Debug, Clone, Default)]
pub struct Packument {
    pub name: String,
    pub dist_tags: BTreeMap<String, String>,
    /// Sorted by version, lowest first.
    pub versions: Vec<PackumentVersion>,
}

#[derive(Deserialize)]
struct RawPackument<'a> {
    #[serde(default)]
    name: String,
    #[serde(
        rename = "dist-tags",
        default,
        deserialize_with = "lenient::string_map"
    )]
    dist_tags: BTreeMap<String, String>,
    #[serde(default, borrow)]
    versions: Versions<'a>,
}

impl Packument {
    pub fn from_slice(bytes: &[u8]) -> Result<Packument, PackumentError> {
        // Checked once here, the text's values are not checked again one by one.
        let text = std::str::from_utf8(bytes).map_err(<serde_json::Error as de::Error>::custom)?;
        let raw: RawPackument = serde_json::from_str(text)?;
        let mut buffer = raw.versions.buffer;
        // Held as long as the packument: without the room it grew into.
        buffer.shrink_to_fit();
        let buffer = Bytes::from(buffer);
        let mut versions: Vec<PackumentVersion> = raw
            .versions
            .by_key
            .into_values()
            .filter_map(|kept| {
                Some(PackumentVersion {
                    version: kept.version?,
                    deprecated: kept.deprecated,
                    node_engine: kept.node_engine,
                    compact: buffer.slice(kept.compact),
                })
            })
            .collect();
        versions.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(Packument {
            name: raw.name,
            dist_tags: raw.dist_tags,
            versions,
        })
    }

    pub fn from_manifests(
        name: String,
        dist_tags: BTreeMap<String, String>,
        manifests: impl IntoIterator<Item = Manifest>,
    ) -> Packument {
        let mut versions: Vec<PackumentVersion> = manifests
            .into_iter()
            .filter_map(|m| {
                Version::parse(&m.version)
                    .ok()
                    .map(|v| PackumentVersion::new(v, &m))
            })
            .collect();
        versions.sort_by(|a, b| a.version.cmp(&b.version));
        Packument {
            name,
            dist_tags,
            versions,
        }
    }

    /// This packument as compact JSON that [`Packument::from_slice`] reads
    /// back to the same packument: what utoo keeps of a registry document.
    pub fn to_compact_json(&self) -> Vec<u8> {
        let size = self.versions.iter().map(|v| v.compact.len() + 32).sum();
        let mut out = Vec::with_capacity(size);
        let string = |out: &mut Vec<u8>, text: &str| {
            out.extend_from_slice(Value::from(text).to_string().as_bytes());
        };
        out.extend_from_slice(b"{\"name\":");
        string(&mut out, &self.name);
        out.extend_from_slice(b",\"dist-tags\":{");
        for (index, (tag, version)) in self.dist_tags.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            string(&mut out, tag);
            out.push(b':');
            string(&mut out, version);
        }
        out.extend_from_slice(b"},\"versions\":{");
        for (index, version) in self.versions.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            // Semver versions have nothing to escape.
            let _ = write!(out, "\"{}\":", version.version);
            out.extend_from_slice(&version.compact);
        }
        out.extend_from_slice(b"}}");
        out
    }

    /// The entry of exactly `version`.
    pub fn version(&self, version: &str) -> Option<&PackumentVersion> {
        let wanted = Version::parse(version).ok()?;
        self.versions
            .binary_search_by(|v| v.version.cmp(&wanted))
            .ok()
            .map(|i| &self.versions[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_sorted_and_read_back_whole() {
        let doc = br#"{"name":"p","dist-tags":{"latest":"1.10.0"},"versions":{
            "1.10.0":{"name":"p","version":"1.10.0","dependencies":{"q":"^1"},"bin":"cli.js",
                      "engines":{"node":">=18"},"dist":{"tarball":"t10","integrity":"sha512-x"}},
            "1.9.0":{"name":"p","version":"1.9.0","deprecated":"old","dist":{"tarball":"t9"}},
            "garbage":{"name":"p","version":"garbage"}}}"#;
        let p = Packument::from_slice(doc).unwrap();
        let order: Vec<String> = p.versions.iter().map(|v| v.version.to_string()).collect();
        assert_eq!(order, ["1.9.0", "1.10.0"]);
        assert!(p.versions[0].deprecated);
        assert_eq!(p.versions[1].node_engine.as_deref(), Some(">=18"));
        let m = p.version("1.10.0").unwrap().manifest();
        assert_eq!(m.dependencies["q"], "^1");
        assert_eq!(m.bin["p"], "cli.js");
        assert_eq!(m.dist.integrity.as_deref(), Some("sha512-x"));

        let again = Packument::from_slice(&p.to_compact_json()).unwrap();
        assert_eq!(again.name, "p");
        assert_eq!(again.dist_tags, p.dist_tags);
        assert_eq!(again.to_compact_json(), p.to_compact_json());
        assert_eq!(
            again.version("1.10.0").unwrap().manifest().bin["p"],
            "cli.js"
        );
        assert!(again.versions[0].deprecated);
    }
}
