//! Key order of npm's lockfile writer, `json-stringify-nice` with npm's preferred keys.

use std::cmp::Ordering;

use serde_json::{Map, Value};
use utoo_npm_collate::compare;

/// Keys npm puts first, in this order, at every level of the lockfile.
const PREFERRED_KEYS: [&str; 8] = [
    "name",
    "version",
    "lockfileVersion",
    "resolved",
    "integrity",
    "requires",
    "packages",
    "dependencies",
];

/// The entries of `object` in the order npm writes them: keys with non-object values (arrays
/// included) before keys with object values; in each group the preferred keys, then the rest
/// in `localeCompare(…, 'en')` order.
pub(crate) fn ordered_entries(object: &Map<String, Value>) -> Vec<(&str, &Value)> {
    let entries = object
        .iter()
        .map(|(key, value)| (key.as_str(), value))
        .collect();
    in_npm_order(entries, |value| value.is_object())
}

/// `entries` in the order [`ordered_entries`] gives, for values that are not (yet) JSON values.
pub(crate) fn in_npm_order<T>(
    mut entries: Vec<(&str, T)>,
    is_object: impl Fn(&T) -> bool,
) -> Vec<(&str, T)> {
    entries.sort_by(|(a_key, a_value), (b_key, b_value)| {
        is_object(a_value)
            .cmp(&is_object(b_value))
            .then_with(|| compare_keys(a_key, b_key))
    });
    // JavaScript objects enumerate array-index keys ("0", "42") first, ascending, whatever
    // order they were inserted in, so the sorted result is reordered once more when printed.
    let (mut indices, mut names): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|(key, _)| array_index(key).is_some());
    indices.sort_by_key(|(key, _)| array_index(key));
    indices.append(&mut names);
    indices
}

fn compare_keys(a: &str, b: &str) -> Ordering {
    let rank = |key: &str| {
        PREFERRED_KEYS
            .iter()
            .position(|preferred| *preferred == key)
    };
    match (rank(a), rank(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => compare(a, b),
    }
}

/// The value of a canonical array index (`0` to 2³² − 2, no leading zeros), as JavaScript defines it.
fn array_index(key: &str) -> Option<u32> {
    let canonical = !key.is_empty()
        && key.bytes().all(|byte| byte.is_ascii_digit())
        && (key == "0" || !key.starts_with('0'));
    if !canonical {
        return None;
    }
    key.parse::<u32>().ok().filter(|index| *index != u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(value: Value) -> Vec<String> {
        match value {
            Value::Object(object) => ordered_entries(&object)
                .into_iter()
                .map(|(key, _)| key.to_owned())
                .collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn typical_entry_order() {
        let entry = json!({
            "peerDependenciesMeta": {"a": {}}, "peerDependencies": {"a": "1"}, "optionalDependencies": {"a": "1"},
            "funding": {"url": "u"}, "engines": {"node": "1"}, "bin": {"a": "b"}, "dependencies": {"a": "1"},
            "peer": true, "os": ["linux"], "optional": true, "license": "MIT", "hasInstallScript": true,
            "devOptional": true, "dev": true, "deprecated": "no", "cpu": ["x64"], "integrity": "i",
            "resolved": "r", "version": "1.0.0",
        });
        assert_eq!(
            keys(entry),
            [
                "version",
                "resolved",
                "integrity",
                "cpu",
                "deprecated",
                "dev",
                "devOptional",
                "hasInstallScript",
                "license",
                "optional",
                "os",
                "peer",
                "dependencies",
                "bin",
                "engines",
                "funding",
                "optionalDependencies",
                "peerDependencies",
                "peerDependenciesMeta",
            ]
        );
    }

    #[test]
    fn package_paths_scopes_first_and_underscore_before_dash() {
        let packages = json!({
            "node_modules/string-width": {}, "node_modules/string_decoder": {}, "node_modules/zod": {},
            "node_modules/@types/node": {}, "node_modules/acorn": {}, "": {},
            "node_modules/acorn/node_modules/b": {},
        });
        assert_eq!(
            keys(packages),
            [
                "",
                "node_modules/@types/node",
                "node_modules/acorn",
                "node_modules/acorn/node_modules/b",
                "node_modules/string_decoder",
                "node_modules/string-width",
                "node_modules/zod",
            ]
        );
    }

    /// Expected order printed by `json-stringify-nice` under Node 20 with npm's key list.
    #[test]
    fn matches_json_stringify_nice() {
        let object = json!({
            "b": {}, "a": 1, "_x": 1, "-x": 1, "@s/x": 1, "Zed": 1, "zed": 1, "10": 1, "2": 1, "01": 1,
            "version": {}, "name": "x", "integrity": 1, "resolved": 1, "dependencies": [], "packages": {"b": 1},
            "x": null, "4294967295": 1, "4294967294": 1,
        });
        assert_eq!(
            keys(object),
            [
                "2",
                "10",
                "4294967294",
                "name",
                "resolved",
                "integrity",
                "dependencies",
                "_x",
                "-x",
                "@s/x",
                "01",
                "4294967295",
                "a",
                "x",
                "zed",
                "Zed",
                "version",
                "packages",
                "b",
            ]
        );
    }
}
