use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::LockfileError;
use crate::model::{LockEntry, Lockfile, PeerDependencyMeta};

impl Lockfile {
    /// Parses the text of a `package-lock.json` (v2 or v3); `path` is only used in errors.
    ///
    /// v2's legacy `dependencies` section is ignored: it duplicates `packages`.
    pub fn parse(text: &str, path: &Path) -> Result<Lockfile, LockfileError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: Value = serde_json::from_str(text).map_err(|source| LockfileError::Json {
            path: path.to_owned(),
            line: source.line(),
            column: source.column(),
            source,
        })?;
        let Value::Object(fields) = value else {
            return Err(invalid(
                path,
                "the top level is not a JSON object".to_owned(),
            ));
        };
        let version = fields.get("lockfileVersion").and_then(version_number);
        let lockfile_version = match version {
            Some(version) if version >= 2 && fields.contains_key("packages") => version,
            _ => {
                return Err(LockfileError::Unsupported {
                    path: path.to_owned(),
                    version,
                })
            }
        };

        let mut lockfile = Lockfile {
            lockfile_version,
            ..Lockfile::default()
        };
        for (key, value) in fields {
            match (key.as_str(), value) {
                ("packages", packages) => lockfile.packages = read_packages(packages, path)?,
                ("name", Value::String(name)) => lockfile.name = Some(name),
                ("version", Value::String(version)) => lockfile.version = Some(version),
                // npm rewrites these itself; `dependencies` is v2's legacy copy of `packages`.
                ("lockfileVersion" | "requires" | "dependencies", _) => {}
                (_, value) => {
                    lockfile.other.insert(key, value);
                }
            }
        }
        Ok(lockfile)
    }

    /// The `lockfileVersion` a lockfile's text declares, read without
    /// building its packages; `None` when it declares none or isn't JSON.
    pub fn declared_version(text: &str) -> Option<u32> {
        #[derive(Deserialize)]
        struct Declared {
            #[serde(rename = "lockfileVersion")]
            version: Option<Value>,
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let declared: Declared = serde_json::from_str(text).ok()?;
        declared.version.as_ref().and_then(version_number)
    }

    /// Reads and parses a lockfile; `Ok(None)` when the file does not exist.
    pub fn read(path: &Path) -> Result<Option<Lockfile>, LockfileError> {
        match fs::read_to_string(path) {
            Ok(text) => Lockfile::parse(&text, path).map(Some),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(LockfileError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

fn invalid(path: &Path, reason: String) -> LockfileError {
    LockfileError::Invalid {
        path: path.to_owned(),
        reason,
    }
}

fn version_number(value: &Value) -> Option<u32> {
    value
        .as_u64()
        .and_then(|version| u32::try_from(version).ok())
}

fn read_packages(value: Value, path: &Path) -> Result<BTreeMap<String, LockEntry>, LockfileError> {
    let Value::Object(packages) = value else {
        return Err(invalid(path, "`packages` is not an object".to_owned()));
    };
    packages
        .into_iter()
        .map(|(location, entry)| match entry {
            Value::Object(fields) => Ok((location, entry_from_map(fields))),
            _ => Err(invalid(
                path,
                format!("packages[{location:?}] is not an object"),
            )),
        })
        .collect()
}

/// Builds an entry from a lockfile (or package.json) object. Known fields with an unexpected
/// shape are kept in `other` so that they are written back unchanged.
pub(crate) fn entry_from_map(fields: Map<String, Value>) -> LockEntry {
    let mut entry = LockEntry::default();
    for (key, value) in fields {
        if let Err(unread) = read_field(&mut entry, &key, value) {
            entry.other.insert(key, unread);
        }
    }
    entry
}

/// Stores a known field; gives the value back when the key is unknown or the value has an unexpected shape.
fn read_field(entry: &mut LockEntry, key: &str, value: Value) -> Result<(), Value> {
    match key {
        "name" => entry.name = known(value, string)?,
        "version" => entry.version = known(value, string)?,
        "resolved" => entry.resolved = known(value, string)?,
        "integrity" => entry.integrity = known(value, string)?,
        "license" => entry.license = known(value, license)?,
        "deprecated" => entry.deprecated = known(value, string)?,
        "link" => entry.link = known(value, flag)?,
        "dev" => entry.dev = known(value, flag)?,
        "optional" => entry.optional = known(value, flag)?,
        "devOptional" => entry.dev_optional = known(value, flag)?,
        "peer" => entry.peer = known(value, flag)?,
        "extraneous" => entry.extraneous = known(value, flag)?,
        "inBundle" => entry.in_bundle = known(value, flag)?,
        "hasInstallScript" => entry.has_install_script = known(value, flag)?,
        "hasShrinkwrap" => entry.has_shrinkwrap = known(value, flag)?,
        "dependencies" => entry.dependencies = known(value, string_map)?,
        // Unlike the other maps, an empty `devDependencies` is written back as `{}`.
        "devDependencies" => {
            entry.dev_dependencies = match value {
                Value::Object(_) => Some(string_map(value)?),
                _ => known(value, Err)?,
            }
        }
        "optionalDependencies" => entry.optional_dependencies = known(value, string_map)?,
        "peerDependencies" => entry.peer_dependencies = known(value, string_map)?,
        "peerDependenciesMeta" => entry.peer_dependencies_meta = known(value, peer_meta)?,
        "bin" => entry.bin = known(value, string_map)?,
        "engines" => entry.engines = known(value, string_map)?,
        "os" => entry.os = known(value, string_list)?,
        "cpu" => entry.cpu = known(value, string_list)?,
        "libc" => entry.libc = known(value, string_list)?,
        "funding" => entry.funding = known(value, any)?,
        "bundleDependencies" => entry.bundle_dependencies = known(value, any)?,
        "workspaces" => entry.workspaces = known(value, any)?,
        _ => return Err(value),
    }
    Ok(())
}

/// Converts a known field; values npm would not write at all (`false`, `""`, `{}`…) mean "absent".
fn known<T: Default>(value: Value, convert: fn(Value) -> Result<T, Value>) -> Result<T, Value> {
    if is_blank(&value) {
        Ok(T::default())
    } else {
        convert(value)
    }
}

/// True for values npm leaves out of a lockfile entry: JavaScript falsy values and empty objects or arrays.
pub(crate) fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(value) => !value,
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
    }
}

fn string(value: Value) -> Result<Option<String>, Value> {
    match value {
        Value::String(text) => Ok(Some(text)),
        other => Err(other),
    }
}

fn flag(value: Value) -> Result<bool, Value> {
    match value {
        Value::Bool(flag) => Ok(flag),
        other => Err(other),
    }
}

fn any(value: Value) -> Result<Option<Value>, Value> {
    Ok(Some(value))
}

/// `license` as a string, or the old `{"type": "MIT", "url": …}` form, of which npm keeps the type.
fn license(value: Value) -> Result<Option<String>, Value> {
    match value {
        Value::String(license) => Ok(Some(license)),
        Value::Object(ref fields) => match fields.get("type") {
            Some(Value::String(kind)) => Ok(Some(kind.clone())),
            _ => Err(value),
        },
        other => Err(other),
    }
}

fn string_map(value: Value) -> Result<BTreeMap<String, String>, Value> {
    match value {
        Value::Object(fields) if fields.values().all(Value::is_string) => Ok(fields
            .into_iter()
            .filter_map(|(key, value)| match value {
                Value::String(value) => Some((key, value)),
                _ => None,
            })
            .collect()),
        other => Err(other),
    }
}

fn string_list(value: Value) -> Result<Vec<String>, Value> {
    match value {
        Value::Array(items) if items.iter().all(Value::is_string) => Ok(items
            .into_iter()
            .filter_map(|item| match item {
                Value::String(item) => Some(item),
                _ => None,
            })
            .collect()),
        other => Err(other),
    }
}

fn peer_meta(value: Value) -> Result<BTreeMap<String, PeerDependencyMeta>, Value> {
    let well_formed = |meta: &Value| {
        meta.as_object()
            .is_some_and(|fields| matches!(fields.get("optional"), None | Some(Value::Bool(_))))
    };
    match value {
        Value::Object(metas) if metas.values().all(well_formed) => Ok(metas
            .into_iter()
            .filter_map(|(name, meta)| match meta {
                Value::Object(mut other) => {
                    let optional = other
                        .remove("optional")
                        .and_then(|optional| optional.as_bool());
                    Some((name, PeerDependencyMeta { optional, other }))
                }
                _ => None,
            })
            .collect()),
        other => Err(other),
    }
}
