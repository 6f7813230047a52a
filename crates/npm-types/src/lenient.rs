//! Deserializers that accept the shapes old registry documents really have
//! and normalise them, so one odd field never fails a whole packument.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An object of strings; anything else (arrays, numbers, null) becomes empty,
/// and entries whose values aren't strings are dropped.
pub(crate) fn string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(map) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                _ => None,
            })
            .collect(),
        _ => BTreeMap::new(),
    })
}

/// A list of strings, or a single string, else empty.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => vec![s],
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
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
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// A boolean; anything else is `false`.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(matches!(Value::deserialize(d)?, Value::Bool(true)))
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
