//! What the supervisor tests that run whole installs share.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use utoo_lockfile::Lockfile;
use utoo_npm_types::{NodeVersion, Platform, Registries};
use utoo_resolver_actor::Project;
use utoo_supervisor::{Install, LockfileSettings, Omit};

/// An install of `package_json` (project `app`) into `project_dir` from
/// the registry at `registry_url`, starting from `lockfile` if any, with
/// npm's defaults for everything else.
pub(crate) fn install_request(
    project_dir: &Path,
    package_json: Value,
    registry_url: String,
    lockfile: Option<(Arc<Lockfile>, String)>,
) -> Install {
    Install {
        project_dir: project_dir.to_path_buf(),
        package_json_text: package_json.to_string(),
        project: Project::from_package_json(&package_json, "app"),
        package_json,
        lockfile,
        registry: Registries::new(registry_url),
        node_version: NodeVersion::unknown(),
        platform: Platform::current(),
        legacy_peer_deps: false,
        lockfile_only: false,
        frozen_lockfile: false,
        engine_strict: false,
        clean: false,
        package_lock: true,
        lockfile_settings: LockfileSettings {
            path: project_dir.join("package-lock.json"),
            version: 3,
            omit_registry_resolved: false,
            save: true,
            formatted: true,
        },
        omit: Omit::default(),
        prepare_git: Default::default(),
    }
}
