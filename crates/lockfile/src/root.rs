//! The root entry `packages[""]`, copied from package.json as npm does after normalizing it
//! (`@npmcli/package-json`'s `normalize` steps, then arborist's `Shrinkwrap.metaFromNode`).

use serde_json::{Map, Value};

use crate::model::LockEntry;
use crate::read::{entry_from_map, is_blank};

/// package.json fields npm copies into a lockfile entry when they are neither falsy nor empty.
const COPIED_FIELDS: [&str; 16] = [
    "version",
    "dependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "optionalDependencies",
    "bundleDependencies",
    "acceptDependencies",
    "funding",
    "engines",
    "os",
    "cpu",
    "libc",
    "license",
    "bin",
    "deprecated",
    "workspaces",
];

const INSTALL_SCRIPTS: [&str; 3] = ["preinstall", "install", "postinstall"];

impl LockEntry {
    /// The root entry npm writes for a project with this package.json.
    ///
    /// `directories.bin` is not expanded: that needs the project's files.
    pub fn root_from_package_json(package_json: &Value) -> LockEntry {
        let Value::Object(package) = package_json else {
            return LockEntry::default();
        };
        let package = normalize(package.clone());
        let mut meta: Map<String, Value> = COPIED_FIELDS
            .into_iter()
            .filter_map(|key| {
                let value = package.get(key).filter(|value| !is_blank(value))?;
                Some((key.to_owned(), value.clone()))
            })
            .collect();
        if let Some(name) = package.get("name").filter(|name| is_truthy(name)) {
            meta.insert("name".to_owned(), name.clone());
        }
        if let Some(dev_dependencies) = package
            .get("devDependencies")
            .filter(|value| is_truthy(value))
        {
            meta.insert("devDependencies".to_owned(), dev_dependencies.clone());
        }
        if has_install_script(&package) {
            meta.insert("hasInstallScript".to_owned(), true.into());
        }
        entry_from_map(meta)
    }
}

fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Array(_) | Value::Object(_) => true,
        other => !is_blank(other),
    }
}

fn has_install_script(package: &Map<String, Value>) -> bool {
    let scripts = package.get("scripts").and_then(Value::as_object);
    package.get("hasInstallScript").is_some_and(is_truthy)
        || INSTALL_SCRIPTS.iter().any(|name| {
            scripts
                .and_then(|scripts| scripts.get(*name))
                .and_then(Value::as_str)
                .is_some_and(|script| !script.is_empty())
        })
}

/// The `@npmcli/package-json` normalize steps that change copied fields, in npm's order.
fn normalize(mut package: Map<String, Value>) -> Map<String, Value> {
    if !package.contains_key("bundleDependencies") {
        if let Some(bundled) = package.remove("bundledDependencies") {
            package.insert("bundleDependencies".to_owned(), bundled);
        }
    }
    normalize_bundle_dependencies(&mut package);
    dedupe_optional_dependencies(&mut package);
    if let Some(Value::String(url)) = package.get("funding").filter(|funding| is_truthy(funding)) {
        let funding = Value::Object(Map::from_iter([("url".to_owned(), url.as_str().into())]));
        package.insert("funding".to_owned(), funding);
    }
    let bin = package
        .get("bin")
        .and_then(|bin| normalize_bin(bin, package.get("name")));
    match bin {
        Some(bin) => package.insert("bin".to_owned(), Value::Object(bin)),
        None => package.remove("bin"),
    };
    package
}

/// `true` means "all dependencies", an object means its keys, `false` means none.
fn normalize_bundle_dependencies(package: &mut Map<String, Value>) {
    let normalized = match package.get("bundleDependencies") {
        None | Some(Value::Array(_)) => return,
        Some(Value::Bool(false)) => Value::Array(Vec::new()),
        Some(Value::Bool(true)) => keys(package.get("dependencies")),
        Some(names @ Value::Object(_)) => keys(Some(names)),
        Some(_) => {
            package.remove("bundleDependencies");
            return;
        }
    };
    package.insert("bundleDependencies".to_owned(), normalized);
}

fn keys(object: Option<&Value>) -> Value {
    let names = object
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|object| object.keys());
    Value::Array(names.map(|name| name.as_str().into()).collect())
}

/// Dependencies also listed as optional are only kept as optional.
fn dedupe_optional_dependencies(package: &mut Map<String, Value>) {
    let optional: Vec<String> = match package.get("optionalDependencies") {
        Some(Value::Object(optional)) => optional.keys().cloned().collect(),
        _ => return,
    };
    let Some(Value::Object(dependencies)) = package.get_mut("dependencies") else {
        return;
    };
    for name in &optional {
        dependencies.remove(name);
    }
    if dependencies.is_empty() {
        package.remove("dependencies");
    }
}

/// npm's bin normalization: a string names the package's own command, an array lists paths,
/// and every command name and path is made relative and free of `..`.
fn normalize_bin(bin: &Value, name: Option<&Value>) -> Option<Map<String, Value>> {
    let commands: Map<String, Value> = match bin {
        Value::String(path) if !path.is_empty() => {
            let name = name
                .and_then(Value::as_str)
                .filter(|name| !name.is_empty())?;
            Map::from_iter([(name.to_owned(), path.as_str().into())])
        }
        Value::Array(paths) => paths
            .iter()
            .filter_map(Value::as_str)
            .map(|path| (basename(path).to_owned(), path.into()))
            .collect(),
        Value::Object(commands) => commands.clone(),
        _ => return None,
    };
    let mut normalized = Map::new();
    for (command, path) in commands {
        let Some(path) = path.as_str() else { continue };
        let command = secure_path(&command);
        let command = basename(&command);
        let path = secure_path(path);
        if !command.is_empty() && !path.is_empty() {
            normalized.insert(command.to_owned(), path.into());
        }
    }
    (!normalized.is_empty()).then_some(normalized)
}

/// `path.join('.', path.join('/', p))` with `\` and `:` turned into `/`: a relative path that
/// cannot leave the package; empty when nothing is left.
fn secure_path(path: &str) -> String {
    let unixified = path.replace(['\\', ':'], "/");
    let mut segments: Vec<&str> = Vec::new();
    for segment in unixified.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    if segments.is_empty() {
        return String::new();
    }
    let trailing_slash = if unixified.ends_with('/') { "/" } else { "" };
    format!("{}{trailing_slash}", segments.join("/"))
}

/// Node's `path.posix.basename`.
fn basename(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secure_paths_match_node() {
        assert_eq!(secure_path("./bin/cli.js"), "bin/cli.js");
        assert_eq!(secure_path("../../etc/passwd"), "etc/passwd");
        assert_eq!(secure_path("bin\\win.cmd"), "bin/win.cmd");
        assert_eq!(secure_path("c:/x"), "c/x");
        assert_eq!(secure_path("dir/"), "dir/");
        assert_eq!(secure_path("./"), "");
        assert_eq!(basename("a/b/"), "b");
        assert_eq!(basename("b"), "b");
    }

    #[test]
    fn bin_forms() {
        let bin = |bin: Value, name: Value| normalize_bin(&bin, Some(&name)).map(Value::Object);
        assert_eq!(
            bin(json!("./cli.js"), json!("tool")),
            Some(json!({"tool": "cli.js"}))
        );
        assert_eq!(bin(json!("./cli.js"), Value::Null), None);
        assert_eq!(
            bin(json!(["./bin/a.js", "b"]), Value::Null),
            Some(json!({"a.js": "bin/a.js", "b": "b"}))
        );
        assert_eq!(
            bin(json!({"../x": "./x.js", "y": 1, "z": "./"}), Value::Null),
            Some(json!({"x": "x.js"}))
        );
        assert_eq!(bin(json!({}), Value::Null), None);
    }

    #[test]
    fn normalizes_like_package_json() {
        let entry = LockEntry::root_from_package_json(&json!({
            "name": "app",
            "version": "",
            "license": {"type": "MIT", "url": "https://x"},
            "dependencies": {"a": "1", "b": "1"},
            "optionalDependencies": {"b": "1"},
            "bundledDependencies": true,
            "funding": "https://fund.example",
            "scripts": {"install": "node-gyp rebuild", "test": "x"},
            "engines": ["node >= 0.4"],
            "directories": {"bin": "bin"},
        }));
        assert_eq!(entry.name.as_deref(), Some("app"));
        assert_eq!(entry.version, None);
        assert_eq!(entry.license.as_deref(), Some("MIT"));
        assert_eq!(Vec::from_iter(entry.dependencies.keys()), ["a"]);
        assert_eq!(Vec::from_iter(entry.optional_dependencies.keys()), ["b"]);
        assert_eq!(entry.bundle_dependencies, Some(json!(["a", "b"])));
        assert_eq!(entry.funding, Some(json!({"url": "https://fund.example"})));
        assert!(entry.has_install_script);
        assert_eq!(entry.dev_dependencies, None);
        assert_eq!(entry.other.get("engines"), Some(&json!(["node >= 0.4"])));
        assert!(entry.bin.is_empty());
    }

    #[test]
    fn non_string_scripts_do_not_count() {
        let entry = LockEntry::root_from_package_json(&json!({"scripts": {"postinstall": true}}));
        assert!(!entry.has_install_script);
        assert!(
            LockEntry::root_from_package_json(&json!({"hasInstallScript": true}))
                .has_install_script
        );
    }
}
