use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use utoo_npm_types::Manifest;

use crate::error::ResolveError;
use crate::local::{dev_dependencies, find_workspaces, replace_spec, LocalPackage};
use crate::overrides::Overrides;

/// The project being installed, read from its `package.json`.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// Name, version and the dependency kinds a published package also has.
    pub manifest: Manifest,
    pub dev_dependencies: BTreeMap<String, String>,
    /// The project's folder: `file:` paths are relative to it.
    pub dir: PathBuf,
    /// Its workspaces, sorted by location.
    pub workspaces: Vec<LocalPackage>,
    /// Its `overrides` (or yarn `resolutions`).
    pub overrides: Overrides,
}

impl Project {
    /// Reads the fields npm uses from a parsed `package.json`; a project
    /// without a name takes its folder's name, as npm does.
    pub fn from_package_json(package_json: &Value, folder_name: &str) -> Project {
        let mut manifest: Manifest =
            serde_json::from_value(package_json.clone()).unwrap_or_default();
        if manifest.name.is_empty() {
            manifest.name = folder_name.to_string();
        }
        Project {
            manifest,
            dev_dependencies: dev_dependencies(package_json),
            dir: PathBuf::new(),
            workspaces: Vec::new(),
            overrides: Overrides::default(),
        }
    }

    /// For the install that adds `name`, resolves it with `spec` (what was
    /// asked for) rather than the range saved in `package.json`, as npm does:
    /// `add ms@2.0.0` saves `^2.0.0` and locks 2.0.0.
    pub fn resolve_added_with(&mut self, name: &str, spec: &str) {
        replace_spec(&mut self.manifest, &mut self.dev_dependencies, name, spec);
    }

    /// The project in `dir`, with the workspaces its `workspaces` globs find
    /// and its overrides.
    pub fn load(dir: &Path, package_json: &Value) -> Result<Project, ResolveError> {
        let folder_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Project {
            dir: dir.to_path_buf(),
            workspaces: find_workspaces(dir, package_json)?,
            overrides: Overrides::from_package_json(package_json)?,
            ..Project::from_package_json(package_json, &folder_name)
        })
    }
}
