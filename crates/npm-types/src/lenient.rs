//! Deserializers that accept the shapes old registry documents really have
//! and normalise them, so one odd field never fails a whole packument.

use std::collections::BTreeMap;

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::Dist;

/// An object of strings; anything else (arrays, numbers, null) becomes empty,
/// and entries whose values aren't strings are dropped.
pub(crate) fn string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    d.deserialize_any(StringMap)
}

/// A list of strings, or a single string, else empty.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_any(StringList)
}

/// A string, or the `type` of a `{type, url}` object (old `license` form).
pub(crate) fn string_or_type<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Object(map) => match map.get("type") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    })
}

/// A string; `true` (old `deprecated` form) and other shapes are dropped.
pub(crate) fn optional_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(MaybeString::deserialize(d)?.0)
}

/// A boolean; anything else is `false`.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(Flag)
}

/// `dist`, keeping its strings `tarball`, `integrity` and `shasum`; other
/// fields (signatures, counts) and other shapes are skipped.
pub(crate) fn dist<'de, D: Deserializer<'de>>(d: D) -> Result<Dist, D::Error> {
    d.deserialize_any(DistFields)
}

/// `dist` as [`dist`] reads it, with the three strings kept as their JSON
/// text (escapes and all), ready to be copied into a compact document.
#[derive(Default)]
pub(crate) struct RawDist<'a> {
    pub tarball: Option<&'a RawValue>,
    pub integrity: Option<&'a RawValue>,
    pub shasum: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for RawDist<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawDistFields)
    }
}

impl RawDist<'_> {
    /// The `dist` object [`dist`] gives, as compact JSON.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"tarball\":");
        write_raw(out, self.tarball, "\"\"");
        out.extend_from_slice(b",\"integrity\":");
        write_raw(out, self.integrity, "null");
        out.extend_from_slice(b",\"shasum\":");
        write_raw(out, self.shasum, "null");
        out.push(b'}');
    }
}

/// Appends `raw`'s text, or `absent` without one.
fn write_raw(out: &mut Vec<u8>, raw: Option<&RawValue>, absent: &str) {
    let text = raw.map_or(absent, RawValue::get);
    out.extend_from_slice(text.as_bytes());
}

/// Whether `scripts` has an install script (`preinstall`, `install` or
/// `postinstall` as a string), read as [`string_map`] reads `scripts`.
pub(crate) struct HasInstallScript(pub bool);

impl<'de> Deserialize<'de> for HasInstallScript {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(InstallScripts)
    }
}

/// A boolean as [`flag`] reads it.
pub(crate) struct Flagged(pub bool);

impl<'de> Deserialize<'de> for Flagged {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Flag).map(Flagged)
    }
}

// The visitors below read straight from the document: what they keep is
// copied once, and what they drop is skipped without being built.

/// A string, or `None` for any other JSON value.
struct MaybeString(Option<String>);

impl<'de> Deserialize<'de> for MaybeString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringOrNothing)
    }
}

/// Skips a value of any other shape than the one a visitor keeps, and
/// gives `$empty` for it.
macro_rules! skip_other_shapes {
    ($empty:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($empty)
        }
    };
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

struct StringOrNothing;

impl<'de> Visitor<'de> for StringOrNothing {
    type Value = MaybeString;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<MaybeString, E> {
        Ok(MaybeString(Some(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<MaybeString, E> {
        Ok(MaybeString(Some(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<MaybeString, A::Error> {
        skip_seq(seq).map(|()| MaybeString(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MaybeString, A::Error> {
        skip_map(map).map(|()| MaybeString(None))
    }

    skip_other_shapes!(MaybeString(None));
}

struct StringMap;

impl<'de> Visitor<'de> for StringMap {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((key, MaybeString(value))) = map.next_entry::<String, MaybeString>()? {
            // A repeated key counts as its last value, as in a parsed object.
            match value {
                Some(value) => out.insert(key, value),
                None => out.remove(&key),
            };
        }
        Ok(out)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| BTreeMap::new())
    }

    skip_other_shapes!(BTreeMap::new());
}

struct StringList;

impl<'de> Visitor<'de> for StringList {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(vec![v.to_owned()])
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(MaybeString(item)) = seq.next_element()? {
            out.extend(item);
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map).map(|()| Vec::new())
    }

    skip_other_shapes!(Vec::new());
}

struct Flag;

impl<'de> Visitor<'de> for Flag {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        skip_seq(seq).map(|()| false)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        skip_map(map).map(|()| false)
    }
}

struct DistFields;

impl<'de> Visitor<'de> for DistFields {
    type Value = Dist;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dist, A::Error> {
        let mut dist = Dist::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let field = match key.as_ref() {
                "tarball" => {
                    dist.tarball = map.next_value::<MaybeString>()?.0.unwrap_or_default();
                    continue;
                }
                "integrity" => &mut dist.integrity,
                "shasum" => &mut dist.shasum,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *field = map.next_value::<MaybeString>()?.0;
        }
        Ok(dist)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Dist, E> {
        Ok(Dist::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Dist, A::Error> {
        skip_seq(seq).map(|()| Dist::default())
    }

    skip_other_shapes!(Dist::default());
}

struct RawDistFields;

impl<'de> Visitor<'de> for RawDistFields {
    type Value = RawDist<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawDist<'de>, A::Error> {
        let mut dist = RawDist::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let field = match key.as_ref() {
                "tarball" => &mut dist.tarball,
                "integrity" => &mut dist.integrity,
                "shasum" => &mut dist.shasum,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let raw: &RawValue = map.next_value()?;
            *field = raw.get().starts_with('"').then_some(raw);
        }
        Ok(dist)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<RawDist<'de>, E> {
        Ok(RawDist::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawDist<'de>, A::Error> {
        skip_seq(seq).map(|()| RawDist::default())
    }

    skip_other_shapes!(RawDist::default());
}

struct InstallScripts;

impl<'de> Visitor<'de> for InstallScripts {
    type Value = HasInstallScript;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        const INSTALL: [&str; 3] = ["preinstall", "install", "postinstall"];
        // A repeated key counts as its last value, as in a parsed object.
        let mut strings = [false; INSTALL.len()];
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match INSTALL.iter().position(|name| *name == key) {
                Some(index) => strings[index] = map.next_value::<MaybeString>()?.0.is_some(),
                None => map.next_value::<IgnoredAny>().map(drop)?,
            }
        }
        Ok(HasInstallScript(strings.contains(&true)))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(HasInstallScript(false))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| HasInstallScript(false))
    }

    skip_other_shapes!(HasInstallScript(false));
}

/// `bin` as npm normalises it: a string becomes `{<unscoped name>: path}`,
/// leading `./` is stripped from paths, and unsafe names are dropped.
pub(crate) fn raw_bin<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(match value {
        Value::String(_) | Value::Object(_) => Some(value),
        _ => None,
    })
}

pub(crate) fn normalise_bin(raw: Option<Value>, package_name: &str) -> BTreeMap<String, String> {
    let entries: BTreeMap<String, String> = match raw {
        Some(Value::String(path)) => {
            let bare = package_name.rsplit('/').next().unwrap_or(package_name);
            BTreeMap::from([(bare.to_string(), path)])
        }
        Some(Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(path) => Some((k, path)),
                _ => None,
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    safe_bins(&entries)
}

/// A bin map as npm-normalize-package-bin leaves it, whatever its source
/// (a packument, a tarball, a lockfile): each name becomes its last path
/// part, and paths that climb out of the package with `..` are dropped.
pub fn safe_bins(bins: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    bins.iter()
        .filter_map(|(name, path)| {
            let name = name.rsplit('/').next().unwrap_or(name).to_string();
            let path = normalise_bin_path(path)?;
            let safe_name = !name.is_empty() && name != "." && name != ".." && !name.contains('\\');
            safe_name.then_some((name, path))
        })
        .collect()
}

/// Joins the path's parts again without `.` and refuses anything climbing out with `..`.
fn normalise_bin_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bin_string_uses_unscoped_name() {
        let bin = normalise_bin(Some(json!("./bin/cli.js")), "@scope/tool");
        assert_eq!(
            bin,
            BTreeMap::from([("tool".to_string(), "bin/cli.js".to_string())])
        );
    }

    #[test]
    fn bins_from_any_source_keep_only_base_names_inside_the_package() {
        let locked = BTreeMap::from([
            (
                "../../../outside/victim.txt".to_string(),
                "cli.js".to_string(),
            ),
            ("/abs/name".to_string(), "./bin/x.js".to_string()),
            ("ok".to_string(), "../../../outside/secret".to_string()),
            ("..".to_string(), "cli.js".to_string()),
        ]);
        assert_eq!(
            safe_bins(&locked),
            BTreeMap::from([
                ("name".to_string(), "bin/x.js".to_string()),
                ("victim.txt".to_string(), "cli.js".to_string()),
            ])
        );
    }

    #[test]
    fn bin_paths_cannot_escape() {
        let bin = normalise_bin(
            Some(json!({"a": "../../etc/passwd", "b": "x/../y.js"})),
            "p",
        );
        assert_eq!(bin, BTreeMap::from([("b".to_string(), "y.js".to_string())]));
    }
}
