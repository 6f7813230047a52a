//! The flags of every command that reads packuments (`install` and its
//! aliases, `outdated`, `update`): where the project, the registry and the
//! cache are, and how the cache is used.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::config::{CacheFlags, NpmConfig};
use crate::install::{project_folder, registry_settings, workspace_root, RegistrySettings};

#[derive(clap::Args)]
pub(crate) struct RegistryArgs {
    /// Registry URL (else npm_config_registry, else .npmrc, else https://registry.npmjs.org/).
    #[arg(long)]
    pub registry: Option<String>,
    /// Global cache folder (else UTOO_CACHE_DIR, else ~/.cache/utoo).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Project folder (default: the nearest folder with a package.json,
    /// or the root of the workspace it is in).
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,
    /// Never touch the network: packuments and tarballs come from the cache,
    /// and a missing one is an error (npm's `offline`).
    #[arg(long)]
    pub offline: bool,
    /// Use cached packuments without asking the registry whether they are
    /// current; fetch only what the cache lacks (npm's `prefer-offline`).
    #[arg(long)]
    pub prefer_offline: bool,
    /// Ask the registry whether each cached packument is current: the
    /// default, and it overrides a `prefer-offline` setting.
    #[arg(long)]
    pub prefer_online: bool,
}

impl RegistryArgs {
    /// The project's folder, and the location of the workspace the current
    /// folder is in (none with `--prefix`).
    pub(crate) fn project(&self) -> anyhow::Result<(PathBuf, Option<String>)> {
        if let Some(dir) = &self.prefix {
            return Ok((dir.clone(), None));
        }
        let here = std::env::current_dir().context("reading the current folder")?;
        Ok(match workspace_root(&here) {
            Some((root, location)) => (root, Some(location)),
            None => (project_folder(&here), None),
        })
    }

    /// The registry and cache settings of these flags over `config`.
    pub(crate) fn settings(&self, config: &NpmConfig) -> anyhow::Result<RegistrySettings> {
        registry_settings(
            config,
            self.registry.clone(),
            self.cache_dir.clone(),
            CacheFlags {
                offline: self.offline,
                prefer_offline: self.prefer_offline,
                prefer_online: self.prefer_online,
            },
        )
    }
}
