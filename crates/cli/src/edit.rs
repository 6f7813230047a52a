//! `utoo install <spec>...` and `utoo uninstall <name>...`: the edits to
//! `package.json`, saved with its formatting, before the install runs.

use std::path::Path;

use anyhow::{bail, Context as _};
use serde_json::{Map, Value};
use utoo_lockfile::JsonFormat;
use utoo_npm_types::{validate_package_name, Registries, Spec};
use utoo_package_cache::{PackumentCache, PackumentPolicy};
use utoo_registry_client::{ClientConfig, HttpError, RegistryClient};
use utoo_resolver_actor::{pick_manifest, PackumentLoadError, PackumentLoader};

use crate::packuments;

/// Where `add` saves a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveTo {
    Dependencies,
    DevDependencies,
    OptionalDependencies,
}

impl SaveTo {
    fn key(self) -> &'static str {
        match self {
            SaveTo::Dependencies => "dependencies",
            SaveTo::DevDependencies => "devDependencies",
            SaveTo::OptionalDependencies => "optionalDependencies",
        }
    }
}

const DEPENDENCY_KEYS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

/// `name`, `name@spec`, `@scope/name@spec` → (name, spec).
pub(crate) fn split_spec(arg: &str) -> anyhow::Result<(String, Option<String>)> {
    let at = arg
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '@')
        .map(|(i, _)| i);
    let (name, spec) = match at {
        Some(i) => (&arg[..i], Some(arg[i + 1..].to_string())),
        None => (arg, None),
    };
    validate_package_name(name).with_context(|| format!("cannot add {arg:?}"))?;
    Ok((name.to_string(), spec))
}

/// How an added dependency is written into package.json, and how this
/// install resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddedSpec {
    pub saved: String,
    /// The version picked for a tag or exact version: npm locks what was
    /// asked for, even though the saved range would allow a newer one.
    pub resolved_as: String,
}

impl SaveSettings<'_> {
    /// Loads packuments from the registry and the cache as the resolver does.
    pub(crate) fn loader(&self) -> anyhow::Result<PackumentLoader> {
        Ok(PackumentLoader::new(
            RegistryClient::new(self.http)?,
            self.registries.clone(),
            self.max_packument_bytes,
        )
        .with_cache(self.packuments.clone(), self.policy))
    }
}

impl AddedSpec {
    fn as_typed(raw: &str) -> AddedSpec {
        AddedSpec {
            saved: raw.to_string(),
            resolved_as: raw.to_string(),
        }
    }
}

/// Where `install <spec>` looks versions up, and how it saves them.
pub(crate) struct SaveSettings<'a> {
    pub registries: &'a Registries,
    pub http: &'a ClientConfig,
    /// The packument cache and how it is used.
    pub packuments: &'a PackumentCache,
    pub policy: PackumentPolicy,
    pub max_packument_bytes: u64,
    /// npm's `save-prefix` (`^` unless set), or nothing with `save-exact`.
    pub prefix: &'a str,
    /// The cache folder, where the Node.js version is remembered.
    pub cache_root: &'a Path,
}

/// What npm writes into package.json for `name@spec`: a range as typed, else
/// the save prefix and the version the spec picks.
pub(crate) fn spec_to_save(
    name: &str,
    spec: Option<&str>,
    settings: &SaveSettings<'_>,
) -> anyhow::Result<AddedSpec> {
    let prefix = settings.prefix;
    let exact = prefix.is_empty();
    let raw = spec.unwrap_or("latest");
    let parsed = Spec::parse(name, raw)?;
    // Folders, tarballs, URLs and git specs are saved as given.
    if matches!(
        parsed,
        Spec::Directory(_) | Spec::TarballFile(_) | Spec::TarballUrl(_) | Spec::Git(_)
    ) {
        return Ok(AddedSpec::as_typed(raw));
    }
    let target = parsed.registry_name(name).to_string();
    let is_plain_range = matches!(&parsed, Spec::Range(_)) && !is_exact_version(raw);
    if is_plain_range && !exact {
        return Ok(AddedSpec::as_typed(raw));
    }
    let loader = settings.loader()?;
    let url = loader.url(&target);
    let loaded = packuments::load_all(&loader, std::slice::from_ref(&target))?.pop();
    let packument = match loaded.context("no packument loaded")? {
        Ok(packument) => packument,
        Err(PackumentLoadError::Http {
            source: HttpError::NotFound { .. },
            ..
        }) => {
            bail!("package {target} not found in the registry ({url} returned 404): check its name")
        }
        Err(PackumentLoadError::NotCached { .. }) => {
            bail!("{target} is not in the cache, and --offline fetches nothing: install once online (or with --prefer-offline) to cache it")
        }
        Err(error) => {
            return Err(error).with_context(|| format!("fetching the packument of {target}"))
        }
    };
    let Some(picked) = pick_manifest(&packument, &parsed, None) else {
        bail!("no version of {target} matches {raw:?}");
    };
    let with_prefix = |prefix: &str| match &parsed {
        Spec::Alias { name: real, .. } => format!("npm:{real}@{prefix}{}", picked.version),
        _ => format!("{prefix}{}", picked.version),
    };
    Ok(AddedSpec {
        saved: with_prefix(prefix),
        resolved_as: with_prefix(""),
    })
}

pub(crate) fn is_exact_version(raw: &str) -> bool {
    nodejs_semver::Version::parse(raw.trim().trim_start_matches('=').trim_start_matches('v'))
        .is_ok()
}

/// Adds (or moves) dependencies into `save_to`, sorted as npm sorts them.
pub(crate) fn add_dependencies(
    package_json: &mut Value,
    additions: &[(String, String)],
    save_to: SaveTo,
) {
    let Some(object) = package_json.as_object_mut() else {
        return;
    };
    for (name, _) in additions {
        for key in DEPENDENCY_KEYS.iter().filter(|k| **k != save_to.key()) {
            if let Some(Value::Object(deps)) = object.get_mut(*key) {
                deps.shift_remove(name);
            }
        }
    }
    let deps = object
        .entry(save_to.key())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(deps) = deps {
        for (name, spec) in additions {
            deps.insert(name.clone(), Value::String(spec.clone()));
        }
        let mut sorted: Vec<(String, Value)> = std::mem::take(deps).into_iter().collect();
        sorted.sort_by(|(a, _), (b, _)| utoo_npm_collate::compare(a, b));
        deps.extend(sorted);
    }
}

/// Removes `names` from every dependency list; false if none was listed.
pub(crate) fn remove_dependencies(package_json: &mut Value, names: &[String]) -> bool {
    let mut removed = false;
    if let Some(object) = package_json.as_object_mut() {
        for key in DEPENDENCY_KEYS {
            if let Some(Value::Object(deps)) = object.get_mut(key) {
                for name in names {
                    removed |= deps.shift_remove(name).is_some();
                }
            }
        }
    }
    removed
}

/// `package_json` in the indentation and line endings of `original`.
pub(crate) fn format_like(original: &str, package_json: &Value) -> anyhow::Result<String> {
    let format = JsonFormat::detect(original);
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(format.indent.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(package_json, &mut serializer)?;
    let mut text = String::from_utf8(out)?;
    if format.newline != "\n" {
        text = text.replace('\n', &format.newline);
    }
    if original.ends_with('\n') || original.is_empty() {
        text.push_str(&format.newline);
    }
    Ok(text)
}

/// Refuses, before anything is installed, to replace a package.json that
/// has no write permission (npm fails with EACCES there): a rename would
/// replace it even so.
pub(crate) fn check_writable(project_dir: &Path) -> anyhow::Result<()> {
    let path = project_dir.join("package.json");
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        // A package.json this install starts.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if meta.permissions().readonly() {
        bail!(
            "{} is read-only (EACCES), so the change can't be saved; make it writable (chmod u+w) and run again",
            path.display()
        );
    }
    Ok(())
}

/// Writes package.json through a temporary file and a rename.
pub(crate) fn save(project_dir: &Path, text: &str) -> anyhow::Result<()> {
    let path = project_dir.join("package.json");
    utoo_atomic_write::write_atomic(&path, text)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn specs_split_at_the_version_not_the_scope() {
        assert_eq!(split_spec("lodash").unwrap(), ("lodash".into(), None));
        assert_eq!(
            split_spec("@s/x@^1").unwrap(),
            ("@s/x".into(), Some("^1".into()))
        );
        assert_eq!(
            split_spec("a@npm:b@2").unwrap(),
            ("a".into(), Some("npm:b@2".into()))
        );
        assert!(split_spec("Bad Name").is_err());
    }

    #[test]
    fn adding_moves_between_lists_and_sorts() {
        let mut pkg =
            json!({"name": "p", "devDependencies": {"b": "1"}, "dependencies": {"z": "1"}});
        add_dependencies(
            &mut pkg,
            &[("b".into(), "^2.0.0".into()), ("a".into(), "^1.0.0".into())],
            SaveTo::Dependencies,
        );
        assert_eq!(
            pkg["dependencies"],
            json!({"a": "^1.0.0", "b": "^2.0.0", "z": "1"})
        );
        assert_eq!(pkg["devDependencies"], json!({}));
        let keys: Vec<&String> = pkg["dependencies"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b", "z"]);
        assert!(remove_dependencies(&mut pkg, &["z".into()]));
        assert!(!remove_dependencies(&mut pkg, &["nope".into()]));
    }

    #[test]
    fn formatting_is_kept() {
        let original = "{\r\n\t\"name\": \"p\",\r\n\t\"version\": \"1.0.0\"\r\n}\r\n";
        let value: Value = serde_json::from_str(original).unwrap();
        assert_eq!(format_like(original, &value).unwrap(), original);
        let two = "{\n  \"b\": 1,\n  \"a\": 2\n}";
        assert_eq!(
            format_like(two, &serde_json::from_str(two).unwrap()).unwrap(),
            two
        );
    }
}
