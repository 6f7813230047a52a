//! `utoo update [<pkg>...]` (aliases `up`, `upgrade`), as npm 11's
//! `update`: the named packages (or everything) re-resolved to the newest
//! versions their ranges allow. Without names the lockfile is set aside
//! (arborist's update-all starts from an empty tree); with names, only the
//! named packages' entries are dropped from it, wherever they are, so
//! everything else stays as locked. package.json is left alone unless
//! `--save`, as in npm 11. `--latest` moves ranges as `install <pkg>@latest`.

use std::collections::BTreeSet;

use nodejs_semver::{Range, Version};
use serde_json::Value;
use utoo_lockfile::Lockfile;
use utoo_npm_types::{Packument, Spec};
use utoo_resolver_actor::pick_manifest;

use crate::edit::{self, SaveSettings};
use crate::packuments;

/// The fields `update --save` writes, as npm's save does.
const FIELDS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

/// `--latest` leaves peer ranges alone: they are what the project promises
/// its own dependents, not what it installs.
const INSTALLED_FIELDS: [&str; 3] = ["dependencies", "devDependencies", "optionalDependencies"];

/// The lockfile without the entries of `names` (none left when `names`
/// is empty: everything is resolved afresh).
pub(crate) fn prune_lockfile(lock: &Lockfile, names: &[String]) -> Option<Lockfile> {
    if names.is_empty() {
        return None;
    }
    let mut pruned = lock.clone();
    pruned.packages.retain(|path, _| {
        let name = path.rsplit_once("node_modules/").map(|(_, name)| name);
        !name.is_some_and(|name| names.iter().any(|n| n == name))
    });
    Some(pruned)
}

/// The project's registry dependencies that `names` select (all when empty):
/// `(name, spec)` from every dependency field.
fn direct_registry_deps(
    package_json: &Value,
    fields: &[&str],
    names: &[String],
) -> Vec<(String, String)> {
    let mut found = BTreeSet::new();
    for field in fields {
        let Some(deps) = package_json[field].as_object() else {
            continue;
        };
        for (name, spec) in deps {
            let Some(spec) = spec.as_str() else { continue };
            let registry = matches!(
                Spec::parse(name, spec),
                Ok(Spec::Range(_) | Spec::Tag(_) | Spec::Alias { .. })
            );
            if registry && (names.is_empty() || names.contains(name)) {
                found.insert((name.clone(), spec.to_string()));
            }
        }
    }
    found.into_iter().collect()
}

/// `update --save`: each selected dependency's spec becomes the save prefix
/// and the version its range now picks, as arborist's reify saves it: exact
/// versions are kept, and so is a range that `^<version>` would widen
/// (`~1.0.0`, `1.x <1.2.3`). Returns whether anything changed.
pub(crate) fn save_wanted(
    package_json: &mut Value,
    names: &[String],
    settings: &SaveSettings<'_>,
) -> anyhow::Result<bool> {
    let deps = direct_registry_deps(package_json, &FIELDS, names);
    let specs: Vec<(String, String, Spec)> = deps
        .into_iter()
        .filter(|(_, spec)| !edit::is_exact_version(spec))
        .filter_map(|(name, raw)| Spec::parse(&name, &raw).ok().map(|s| (name, raw, s)))
        .collect();
    let targets: Vec<String> = specs
        .iter()
        .map(|(name, _, spec)| spec.registry_name(name).to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let loader = settings.loader()?;
    let loaded = packuments::load_all(&loader, &targets)?;
    let node = crate::node::node_version(settings.cache_root)
        .and_then(|v| Version::parse(v.trim_start_matches('v')).ok());
    let mut changed = false;
    for (name, raw, spec) in &specs {
        let target = spec.registry_name(name);
        let Ok(index) = targets.binary_search_by(|t| t.as_str().cmp(target)) else {
            continue;
        };
        let Ok(packument) = &loaded[index] else {
            continue;
        };
        let Some(saved) = new_spec(packument, raw, spec, settings.prefix, node.as_ref()) else {
            continue;
        };
        for field in FIELDS {
            if let Some(Value::Object(deps)) = package_json.get_mut(field) {
                if let Some(old) = deps.get_mut(name) {
                    changed |= old.as_str() != Some(saved.as_str());
                    *old = Value::String(saved.clone());
                }
            }
        }
    }
    Ok(changed)
}

fn new_spec(
    packument: &Packument,
    raw: &str,
    spec: &Spec,
    prefix: &str,
    node: Option<&Version>,
) -> Option<String> {
    let version = pick_manifest(packument, spec, node)?.version.to_string();
    let prefixed = format!("{prefix}{version}");
    let (range_raw, range_spec, alias_of) = match spec {
        Spec::Alias { name, spec } => (
            raw.rsplit_once('@').map_or(raw, |(_, range)| range),
            spec.as_ref(),
            Some(name),
        ),
        _ => (raw, spec, None),
    };
    let keeps_range = match range_spec {
        Spec::Range(range) if range_raw.trim() != "*" => Range::parse(&prefixed)
            .map(|wider| !range.allows_all(&wider))
            .unwrap_or(true),
        _ => false,
    };
    let saved = match keeps_range {
        true => range_raw.to_string(),
        false => prefixed,
    };
    Some(match alias_of {
        Some(real) => format!("npm:{real}@{saved}"),
        None => saved,
    })
}

/// `update --latest`: each selected dependency's spec becomes what
/// `install <name>@latest` saves, in the field it is already in.
pub(crate) fn save_latest(
    package_json: &mut Value,
    names: &[String],
    settings: &SaveSettings<'_>,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut resolve_with = Vec::new();
    for (name, raw) in direct_registry_deps(package_json, &INSTALLED_FIELDS, names) {
        let latest = match Spec::parse(&name, &raw) {
            Ok(Spec::Alias { name: real, .. }) => format!("npm:{real}@latest"),
            _ => "latest".to_string(),
        };
        let added = edit::spec_to_save(&name, Some(&latest), settings)?;
        if added.resolved_as != added.saved {
            resolve_with.push((name.clone(), added.resolved_as));
        }
        for field in INSTALLED_FIELDS {
            if let Some(Value::Object(deps)) = package_json.get_mut(field) {
                if let Some(old) = deps.get_mut(&name) {
                    *old = Value::String(added.saved.clone());
                }
            }
        }
    }
    Ok(resolve_with)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_arborists_save_rule() {
        let doc = br#"{"name":"aa","dist-tags":{"latest":"2.0.0"},"versions":{
            "1.0.0":{"name":"aa","version":"1.0.0"},"1.0.1":{"name":"aa","version":"1.0.1"},
            "1.1.0":{"name":"aa","version":"1.1.0"},"2.0.0":{"name":"aa","version":"2.0.0"}}}"#;
        let packument = Packument::from_slice(doc).unwrap();
        let saved = |raw: &str| {
            let spec = Spec::parse("aa", raw).unwrap();
            new_spec(&packument, raw, &spec, "^", None)
        };
        assert_eq!(saved("^1.0.0").as_deref(), Some("^1.1.0"));
        assert_eq!(saved("1.x").as_deref(), Some("^1.1.0"));
        assert_eq!(saved("~1.0.0").as_deref(), Some("~1.0.0"));
        assert_eq!(saved("*").as_deref(), Some("^2.0.0"));
        assert_eq!(saved("latest").as_deref(), Some("^2.0.0"));
        assert_eq!(saved(">=1.0.0 <1.1.0").as_deref(), Some(">=1.0.0 <1.1.0"));
        let alias = Spec::parse("x", "npm:aa@^1.0.0").unwrap();
        assert_eq!(
            new_spec(&packument, "npm:aa@^1.0.0", &alias, "^", None).as_deref(),
            Some("npm:aa@^1.1.0")
        );
    }
}
