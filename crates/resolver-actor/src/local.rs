//! Packages in folders of their own: the project's workspaces and the
//! folders `file:` dependencies link to.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use thiserror::Error;
use utoo_npm_types::{validate_package_name, InvalidPackageName, Manifest};

use crate::error::ResolveError;

/// Why a folder's `package.json` can't be used.
#[derive(Debug, Error)]
pub enum FolderError {
    #[error("cannot be read")]
    Read(#[source] std::io::Error),
    #[error("not valid JSON")]
    Json(#[source] serde_json::Error),
    #[error("must hold a JSON object")]
    NotAnObject,
    #[error("{name} links to the project itself")]
    LinksToProject { name: String },
}

/// Why the project's `workspaces` can't be used.
#[derive(Debug, Error)]
pub enum WorkspaceError {
    #[error("not a valid glob")]
    Pattern(#[source] glob::PatternError),
    #[error("its package.json has a bad name")]
    BadName(#[source] InvalidPackageName),
    #[error("two workspaces have this name: {first} and {second}")]
    DuplicateName { first: String, second: String },
}

/// A `package.json` in a folder of the project (or beside it).
#[derive(Debug, Clone)]
pub struct LocalPackage {
    /// The folder, relative to the project, with `/` separators.
    pub location: String,
    pub package_json: Arc<Value>,
    /// Its manifest; `dist.tarball` is `file:<location>`, which is how
    /// edges naming this folder recognise it.
    pub manifest: Arc<Manifest>,
    pub dev_dependencies: BTreeMap<String, String>,
}

impl LocalPackage {
    /// Reads `<project_dir>/<location>/package.json`.
    pub fn read(project_dir: &Path, location: &str) -> Result<LocalPackage, ResolveError> {
        let path = project_dir.join(location).join("package.json");
        let failed = |source| ResolveError::LocalPackage {
            path: path.display().to_string(),
            source,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| failed(FolderError::Read(e)))?;
        let package_json: Value =
            serde_json::from_str(&text).map_err(|e| failed(FolderError::Json(e)))?;
        if !package_json.is_object() {
            return Err(failed(FolderError::NotAnObject));
        }
        Ok(LocalPackage::from_package_json(location, package_json))
    }

    /// The package at `location` with this `package.json`; without a name,
    /// it takes its folder's name, as npm does.
    pub fn from_package_json(location: &str, package_json: Value) -> Self {
        let mut manifest: Manifest =
            serde_json::from_value(package_json.clone()).unwrap_or_default();
        if manifest.name.is_empty() {
            manifest.name = location.rsplit('/').next().unwrap_or(location).to_string();
        }
        manifest.dist.tarball = format!("file:{location}");
        LocalPackage {
            location: location.to_string(),
            dev_dependencies: dev_dependencies(&package_json),
            package_json: Arc::new(package_json),
            manifest: Arc::new(manifest),
        }
    }

    /// See [`Project::resolve_added_with`].
    pub fn resolve_added_with(&mut self, name: &str, spec: &str) {
        replace_spec(
            Arc::make_mut(&mut self.manifest),
            &mut self.dev_dependencies,
            name,
            spec,
        );
    }

    /// Inside the project: its dependencies are installed too.
    pub fn is_inside(&self) -> bool {
        is_inside_project(&self.location)
    }
}

/// Gives the dependency `name` the spec `spec` in whichever list holds it.
pub(crate) fn replace_spec(
    manifest: &mut Manifest,
    dev_dependencies: &mut BTreeMap<String, String>,
    name: &str,
    spec: &str,
) {
    for list in [
        &mut manifest.dependencies,
        &mut manifest.optional_dependencies,
        dev_dependencies,
    ] {
        if let Some(current) = list.get_mut(name) {
            *current = spec.to_string();
        }
    }
}

/// Whether a location relative to the project stays inside it.
pub(crate) fn is_inside_project(location: &str) -> bool {
    !location.starts_with("../") && !location.starts_with('/')
}

pub(crate) fn dev_dependencies(package_json: &Value) -> BTreeMap<String, String> {
    package_json
        .get("devDependencies")
        .and_then(Value::as_object)
        .map(|deps| {
            deps.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The root's `workspaces` globs (an array, or yarn's `{"packages": [...]}`).
fn workspace_patterns(package_json: &Value) -> Vec<String> {
    let list = match package_json.get("workspaces") {
        Some(Value::Object(object)) => object.get("packages"),
        other => other,
    };
    list.and_then(Value::as_array)
        .map(|patterns| {
            patterns
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn clean_pattern(pattern: &str) -> &str {
    pattern.trim_start_matches("./").trim_end_matches('/')
}

/// The workspaces of the project at `project_dir`: each folder matching a
/// glob that holds a `package.json`, outside `node_modules`, sorted by location.
pub fn find_workspaces(
    project_dir: &Path,
    package_json: &Value,
) -> Result<Vec<LocalPackage>, ResolveError> {
    let patterns = workspace_patterns(package_json);
    let (excluded, included): (Vec<&String>, Vec<&String>) =
        patterns.iter().partition(|p| p.starts_with('!'));
    let excluded: Vec<glob::Pattern> = excluded
        .iter()
        .filter_map(|p| glob::Pattern::new(clean_pattern(&p[1..])).ok())
        .collect();
    let mut locations = Vec::new();
    for pattern in included {
        let pattern = clean_pattern(pattern);
        let full = format!(
            "{}/{pattern}",
            glob::Pattern::escape(&project_dir.to_string_lossy())
        );
        let matches = glob::glob(&full).map_err(|e| ResolveError::Workspace {
            pattern: pattern.to_string(),
            source: WorkspaceError::Pattern(e),
        })?;
        for found in matches.flatten() {
            let Ok(relative) = found.strip_prefix(project_dir) else {
                continue;
            };
            let location = relative.to_string_lossy().replace('\\', "/");
            // Neither the project itself, nor outside it, nor installed packages.
            let usable = !location.is_empty()
                && !location
                    .split('/')
                    .any(|part| part == "node_modules" || part == "..");
            if usable && found.join("package.json").is_file() {
                locations.push(location);
            }
        }
    }
    locations.retain(|location| !excluded.iter().any(|p| p.matches(location)));
    locations.sort();
    locations.dedup();
    let members = locations
        .iter()
        .map(|location| LocalPackage::read(project_dir, location))
        .collect::<Result<Vec<_>, _>>()?;
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for member in &members {
        validate_package_name(&member.manifest.name).map_err(|e| ResolveError::Workspace {
            pattern: member.location.clone(),
            source: WorkspaceError::BadName(e),
        })?;
        if let Some(other) = names.insert(&member.manifest.name, &member.location) {
            return Err(ResolveError::Workspace {
                pattern: member.manifest.name.clone(),
                source: WorkspaceError::DuplicateName {
                    first: other.to_string(),
                    second: member.location.clone(),
                },
            });
        }
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, location: &str, package_json: Value) {
        std::fs::create_dir_all(dir.join(location)).unwrap();
        std::fs::write(
            dir.join(location).join("package.json"),
            package_json.to_string(),
        )
        .unwrap();
    }

    #[test]
    fn globs_find_members_with_a_package_json() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "packages/b",
            json!({"name": "b", "version": "1.0.0"}),
        );
        write(
            dir.path(),
            "packages/a",
            json!({"name": "@s/a", "devDependencies": {"x": "1"}}),
        );
        std::fs::create_dir_all(dir.path().join("packages/empty")).unwrap();
        write(dir.path(), "tools/t", json!({}));
        write(dir.path(), "packages/legacy", json!({"name": "legacy"}));
        let root = json!({"workspaces": ["packages/*", "./tools/t/", "!packages/legacy", "."]});
        let found = find_workspaces(dir.path(), &root).unwrap();
        let locations: Vec<&str> = found.iter().map(|m| m.location.as_str()).collect();
        assert_eq!(locations, ["packages/a", "packages/b", "tools/t"]);
        assert_eq!(found[0].manifest.name, "@s/a");
        assert_eq!(found[0].manifest.dist.tarball, "file:packages/a");
        assert_eq!(
            found[0].dev_dependencies.get("x").map(String::as_str),
            Some("1")
        );
        assert_eq!(found[2].manifest.name, "t");
        let yarn_style = json!({"workspaces": {"packages": ["packages/b"]}});
        assert_eq!(find_workspaces(dir.path(), &yarn_style).unwrap().len(), 1);
    }

    #[test]
    fn duplicate_names_and_bad_manifests_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "p/a", json!({"name": "same"}));
        write(dir.path(), "p/b", json!({"name": "same"}));
        let err = find_workspaces(dir.path(), &json!({"workspaces": ["p/*"]})).unwrap_err();
        let duplicate = ResolveError::Workspace {
            pattern: "same".into(),
            source: WorkspaceError::DuplicateName {
                first: "p/a".into(),
                second: "p/b".into(),
            },
        };
        assert_eq!(format!("{err:?}"), format!("{duplicate:?}"));
        write(dir.path(), "p/b", json!({"name": "../escape"}));
        let err = find_workspaces(dir.path(), &json!({"workspaces": ["p/*"]})).unwrap_err();
        assert!(
            matches!(
                &err,
                ResolveError::Workspace {
                    source: WorkspaceError::BadName(_),
                    ..
                }
            ),
            "{err}"
        );
        std::fs::write(dir.path().join("p/b/package.json"), "{oops").unwrap();
        let err = find_workspaces(dir.path(), &json!({"workspaces": ["p/*"]})).unwrap_err();
        assert!(err.to_string().contains("p/b/package.json"), "{err}");
    }
}
