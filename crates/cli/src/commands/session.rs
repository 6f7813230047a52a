//! What `outdated` and `update` share: the project, its settings and
//! registry, and packuments loaded through the cache as installs load them.

use std::path::PathBuf;

use serde_json::Value;
use utoo_npm_types::Registries;
use utoo_package_cache::{CacheLayout, PackumentPolicy};
use utoo_registry_client::{ClientConfig, RegistryClient};
use utoo_resolver_actor::{PackumentLoader, Project};

use super::actual_tree::ActualTree;
use crate::config::NpmConfig;
use crate::install;
use crate::registry_args::RegistryArgs;

pub(crate) struct Session {
    pub(crate) dir: PathBuf,
    pub(crate) package_json: Value,
    pub(crate) project: Project,
    registries: Registries,
    cache: CacheLayout,
    policy: PackumentPolicy,
    http: ClientConfig,
}

impl Session {
    pub(crate) fn open(args: &RegistryArgs) -> anyhow::Result<Session> {
        let (dir, _) = args.project()?;
        let config = NpmConfig::load(&dir);
        let settings = args.settings(&config)?;
        let (_, package_json) = install::read_package_json(&dir)?;
        let project = Project::load(&dir, &package_json)?;
        Ok(Session {
            dir,
            package_json,
            project,
            registries: settings.registries,
            cache: CacheLayout::new(settings.cache_root),
            policy: settings.policy,
            http: settings.http,
        })
    }

    /// The running Node.js version (remembered in the cache folder).
    pub(crate) fn node_version(&self) -> Option<String> {
        crate::node::node_version(self.cache.root())
    }

    pub(crate) fn loader(&self) -> anyhow::Result<PackumentLoader> {
        let max_bytes = utoo_registry_client::SizeLimits::default().packument;
        Ok(PackumentLoader::new(
            RegistryClient::new(&self.http)?,
            self.registries.clone(),
            max_bytes,
        )
        .with_cache(self.cache.packuments(), self.policy))
    }

    /// The tree in `node_modules`.
    pub(crate) fn actual_tree(&self) -> anyhow::Result<ActualTree> {
        let workspaces: Vec<(String, &Value)> = self
            .project
            .workspaces
            .iter()
            .map(|w| (w.location.clone(), w.package_json.as_ref()))
            .collect();
        Ok(ActualTree::load(&self.dir, &self.package_json, &workspaces))
    }
}
