//! What `outdated` and `update` share: the project, its settings and
//! registry, and packuments loaded through the cache as installs load them.

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::Value;
use utoo_npm_types::Registries;
use utoo_package_cache::{CacheLayout, PackumentPolicy};
use utoo_registry_client::{ClientConfig, RegistryClient};
use utoo_resolver_actor::{PackumentLoader, Project};

use super::actual_tree::ActualTree;
use crate::config::{CacheFlags, NpmConfig};
use crate::install;

/// The registry and cache flags of commands that read packuments.
#[derive(clap::Args)]
pub(crate) struct RegistryArgs {
    /// Registry URL (else npm_config_registry, else .npmrc, else https://registry.npmjs.org/).
    #[arg(long)]
    registry: Option<String>,
    /// Global cache folder (else UTOO_CACHE_DIR, else ~/.cache/utoo).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Project folder (default: the nearest folder with a package.json).
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
    /// Use cached packuments only; a missing one is an error.
    #[arg(long)]
    offline: bool,
    /// Use cached packuments without revalidating them.
    #[arg(long)]
    prefer_offline: bool,
    /// Revalidate cached packuments (the default; overrides a prefer-offline setting).
    #[arg(long)]
    prefer_online: bool,
}

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
        let dir = match &args.prefix {
            Some(dir) => dir.clone(),
            None => {
                let here = std::env::current_dir().context("reading the current folder")?;
                install::workspace_root(&here)
                    .map(|(root, _)| root)
                    .unwrap_or_else(|| install::project_folder(&here))
            }
        };
        let config = NpmConfig::load(&dir);
        let settings = install::registry_settings(
            &config,
            args.registry.clone(),
            args.cache_dir.clone(),
            CacheFlags {
                offline: args.offline,
                prefer_offline: args.prefer_offline,
                prefer_online: args.prefer_online,
            },
        )?;
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
