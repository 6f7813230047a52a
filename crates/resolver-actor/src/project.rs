use std::collections::BTreeMap;

use serde_json::Value;
use utoo_npm_types::Manifest;

/// The project being installed, read from its `package.json`.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// Name, version and the dependency kinds a published package also has.
    pub manifest: Manifest,
    pub dev_dependencies: BTreeMap<String, String>,
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
        let dev_dependencies = package_json
            .get("devDependencies")
            .and_then(Value::as_object)
            .map(|deps| {
                deps.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Project {
            manifest,
            dev_dependencies,
        }
    }
}
