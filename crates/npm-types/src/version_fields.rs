//! The versions of a packument as the registry wrote them, each made compact
//! while it is read: the fields a [`Manifest`](crate::Manifest) reads are
//! copied as written into one buffer, so reading a version's copy gives the
//! manifest the original gives, without building a manifest for every
//! version (an install uses a handful of a packument's versions, often
//! hundreds) or holding the document's fields version by version.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use nodejs_semver::Version;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::lenient::{self, Flagged, HasInstallScript, RawDist};
use crate::manifest::split_engines;

/// Fields a manifest reads as written.
const COPIED: [&str; 17] = [
    "name",
    "version",
    "dependencies",
    "optionalDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bin",
    "engines",
    "os",
    "cpu",
    "libc",
    "license",
    "deprecated",
    "funding",
    "bundleDependencies",
    "bundledDependencies",
    "workspaces",
];

/// Fields a manifest reads and that are written back normalised: `dist`
/// keeps three of its fields, and `scripts` only tells whether there is an
/// install script.
const NORMALISED: [&str; 3] = ["dist", "scripts", "hasInstallScript"];

/// A packument's `versions` object: each version's compact document in
/// `buffer`, by the key it was listed under (a repeated key counts once,
/// with its last value, as in a parsed object).
#[derive(Default)]
pub(crate) struct Versions<'a> {
    pub by_key: BTreeMap<Cow<'a, str>, CompactVersion>,
    pub buffer: Vec<u8>,
}

/// A version as a packument keeps it: what choosing a version needs, and
/// where its compact document is in the buffer.
pub(crate) struct CompactVersion {
    /// `None` when the version is missing or not valid semver.
    pub version: Option<Version>,
    pub deprecated: bool,
    pub node_engine: Option<Box<str>>,
    pub compact: Range<usize>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Versions<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(VersionsVisitor)
    }
}

struct VersionsVisitor;

impl<'de> Visitor<'de> for VersionsVisitor {
    type Value = Versions<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of versions")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut versions = Versions::default();
        while let Some(Key(key)) = map.next_key()? {
            let version = map.next_value_seed(CompactSeed(&mut versions.buffer))?;
            versions.by_key.insert(key, version);
        }
        Ok(versions)
    }
}

/// Reads one version object, appending its compact document to the buffer.
struct CompactSeed<'b>(&'b mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for CompactSeed<'_> {
    type Value = CompactVersion;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<CompactVersion, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CompactSeed<'_> {
    type Value = CompactVersion;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a version object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CompactVersion, A::Error> {
        let out = self.0;
        let start = out.len();
        out.push(b'{');
        let mut seen = [false; COPIED.len() + NORMALISED.len()];
        let mut kept = CompactVersion {
            version: None,
            deprecated: false,
            node_engine: None,
            compact: 0..0,
        };
        let (mut dist, mut install_script) = (None, false);
        while let Some(Key(key)) = map.next_key()? {
            let key = key.as_ref();
            let Some(index) = COPIED.iter().chain(&NORMALISED).position(|k| *k == key) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            // A manifest with a field written twice is refused, so a version
            // object with one is too.
            if std::mem::replace(&mut seen[index], true) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            match key {
                "dist" => dist = Some(map.next_value::<RawDist>()?),
                "scripts" => install_script |= map.next_value::<HasInstallScript>()?.0,
                "hasInstallScript" => install_script |= map.next_value::<Flagged>()?.0,
                _ => {
                    let raw: &RawValue = map.next_value()?;
                    match key {
                        "version" => kept.version = semver(raw).map_err(de::Error::custom)?,
                        "deprecated" => kept.deprecated = raw.get().starts_with('"'),
                        "engines" => {
                            let engines = Option::<Value>::deserialize(&mut reader(raw))
                                .map_err(de::Error::custom)?;
                            kept.node_engine = split_engines(engines)
                                .0
                                .get("node")
                                .map(|r| r.as_str().into());
                        }
                        _ => {}
                    }
                    field(out, start, key, raw.get().as_bytes());
                }
            }
        }
        if let Some(dist) = dist {
            field(out, start, "dist", b"");
            dist.write(out);
        }
        if install_script {
            field(out, start, "hasInstallScript", b"true");
        }
        out.push(b'}');
        kept.compact = start..out.len();
        Ok(kept)
    }
}

/// The semver version a raw `version` value gives: `None` when it is not
/// a string or not valid semver.
fn semver(raw: &RawValue) -> serde_json::Result<Option<Version>> {
    let text = raw.get();
    let plain = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.contains('\\'));
    let version = match plain {
        Some(plain) => Version::parse(plain).ok(),
        None => lenient::optional_string(&mut reader(raw))?
            .and_then(|written| Version::parse(&written).ok()),
    };
    Ok(version)
}

fn reader(raw: &RawValue) -> serde_json::Deserializer<serde_json::de::StrRead<'_>> {
    serde_json::Deserializer::from_str(raw.get())
}

/// Appends `"key":value` to the object begun at `start` (keys here are
/// plain ASCII names).
fn field(out: &mut Vec<u8>, start: usize, key: &str, value: &[u8]) {
    if out.len() > start + 1 {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(value);
}

/// An object key, borrowed from the document unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Manifest;

    fn compact(version_object: &str) -> serde_json::Result<(CompactVersion, Vec<u8>)> {
        let mut buffer = b"[".to_vec();
        let mut reader = serde_json::Deserializer::from_str(version_object);
        let kept = CompactSeed(&mut buffer).deserialize(&mut reader)?;
        let compact = buffer[kept.compact.clone()].to_vec();
        Ok((kept, compact))
    }

    #[test]
    fn the_copy_reads_back_as_the_original_manifest() {
        let objects = [
            r#"{"name":"p","version":"1.0.0","hasInstallScript":false,"scripts":{"postinstall":"x","test":"y"},
                "dependencies":{"a":"^1","b":2},"bin":"./cli.js","engines":["node >= 0.4"],"readme":"long",
                "dist":{"tarball":"t","integrity":"sha512-i","signatures":[{"keyid":"k","sig":"s"}]},
                "bundledDependencies":["a"],"_id":"p@1.0.0","license":{"type":"MIT"},"deprecated":true}"#,
            r#"{"name":"@s/q","version":"2.0.0-rc.1","engines":{"node":">=18","npm":">=9"},"os":"linux",
                "peerDependenciesMeta":{"r":{"optional":true}},"hasInstallScript":true,"deprecated":"use r",
                "funding":{"url":"u"},"workspaces":["w/*"],"dist":{"tarball":"t2","shasum":"aa"},
                "\u0064ependencies":{"escaped":"key"}}"#,
            r#"{"version":"3.0.0"}"#,
            r#"{"version":"4.0.\u0030","dist":{"tarball":"http:\/\/r\/t.tgz","integrity":7,"integrity":"sha512-\u0041","shasum":"a","shasum":null},
                "scripts":{"install":"x","install":false,"preinstall":["y"]}}"#,
            r#"{"version":"5.0.0","dist":"odd","scripts":{"postinstall":"z"},"hasInstallScript":"yes"}"#,
        ];
        for object in objects {
            let original = Manifest::from_slice(object.as_bytes()).unwrap();
            let (kept, text) = compact(object).unwrap();
            assert_eq!(Manifest::from_slice(&text).unwrap(), original, "{object}");
            assert_eq!(kept.version.unwrap().to_string(), original.version);
            assert_eq!(kept.deprecated, original.deprecated.is_some());
            assert_eq!(
                kept.node_engine.as_deref(),
                original.engines.get("node").map(String::as_str)
            );
        }
    }

    #[test]
    fn a_field_written_twice_is_refused_as_a_manifest_would_be() {
        let twice = r#"{"version":"1.0.0","dependencies":{"a":"1"},"dependencies":{"b":"1"}}"#;
        assert!(Manifest::from_slice(twice.as_bytes()).is_err());
        assert!(compact(twice).is_err());
        assert!(compact(r#"{"version":"1.0.0","readme":"a","readme":"b"}"#).is_ok());
    }
}
