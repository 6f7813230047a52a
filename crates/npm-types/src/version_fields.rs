//! One version of a packument as the registry wrote it. The fields a
//! [`Manifest`](crate::Manifest) reads are copied as written into a compact
//! document, so reading the copy gives the manifest the original gives,
//! without building a manifest for every version while a packument is read
//! (an install uses a handful of a packument's versions, often hundreds).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::lenient;
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

/// A version object's fields, in order, each as its raw JSON text.
pub(crate) struct VersionFields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

/// A version as a packument keeps it: what choosing a version needs, and
/// the compact document its manifest is read from.
pub(crate) struct CompactVersion {
    pub version: String,
    pub deprecated: bool,
    pub node_engine: Option<Box<str>>,
    pub compact: Vec<u8>,
}

impl VersionFields<'_> {
    pub(crate) fn compact(&self) -> serde_json::Result<CompactVersion> {
        let mut out = Vec::with_capacity(
            self.0
                .iter()
                .map(|(k, v)| k.len() + v.get().len() + 4)
                .sum(),
        );
        out.push(b'{');
        let mut seen = [false; COPIED.len() + NORMALISED.len()];
        let mut kept = CompactVersion {
            version: String::new(),
            deprecated: false,
            node_engine: None,
            compact: Vec::new(),
        };
        let (mut dist, mut install_script) = (None, false);
        for (key, raw) in &self.0 {
            let key = key.as_ref();
            let Some(index) = COPIED.iter().chain(&NORMALISED).position(|k| *k == key) else {
                continue;
            };
            // A manifest with a field written twice is refused, so a version
            // object with one is too.
            if std::mem::replace(&mut seen[index], true) {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            match key {
                "dist" => dist = Some(lenient::dist(&mut reader(raw))?),
                "scripts" => {
                    let scripts = lenient::string_map(&mut reader(raw))?;
                    install_script |= ["preinstall", "install", "postinstall"]
                        .iter()
                        .any(|s| scripts.contains_key(*s));
                }
                "hasInstallScript" => install_script |= lenient::flag(&mut reader(raw))?,
                _ => {
                    match key {
                        "version" => {
                            kept.version =
                                lenient::optional_string(&mut reader(raw))?.unwrap_or_default()
                        }
                        "deprecated" => {
                            kept.deprecated = lenient::optional_string(&mut reader(raw))?.is_some()
                        }
                        "engines" => {
                            let engines = Option::<Value>::deserialize(&mut reader(raw))?;
                            kept.node_engine = split_engines(engines)
                                .0
                                .get("node")
                                .map(|r| r.as_str().into());
                        }
                        _ => {}
                    }
                    field(&mut out, key, raw.get().as_bytes());
                }
            }
        }
        if let Some(dist) = dist {
            field(&mut out, "dist", &serde_json::to_vec(&dist)?);
        }
        if install_script {
            field(&mut out, "hasInstallScript", b"true");
        }
        out.push(b'}');
        kept.compact = out;
        Ok(kept)
    }
}

fn reader(raw: &RawValue) -> serde_json::Deserializer<serde_json::de::StrRead<'_>> {
    serde_json::Deserializer::from_str(raw.get())
}

/// Appends `"key":value` (keys here are plain ASCII names).
fn field(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    if out.len() > 1 {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(value);
}

impl<'de: 'a, 'a> Deserialize<'de> for VersionFields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = VersionFields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a version object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::new();
        while let Some((Key(key), raw)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
            fields.push((key, raw));
        }
        Ok(VersionFields(fields))
    }
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

    fn compact(version_object: &str) -> serde_json::Result<CompactVersion> {
        serde_json::from_str::<VersionFields>(version_object)?.compact()
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
        ];
        for object in objects {
            let original = Manifest::from_slice(object.as_bytes()).unwrap();
            let kept = compact(object).unwrap();
            assert_eq!(
                Manifest::from_slice(&kept.compact).unwrap(),
                original,
                "{object}"
            );
            assert_eq!(kept.version, original.version);
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
