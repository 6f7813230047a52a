//! Which packages go where: the resolved tree minus what is omitted or
//! can't run here, each with the download it needs.

use std::collections::BTreeMap;

use nodejs_semver::{Range, Version};
use utoo_npm_types::Registries;
use utoo_resolver_actor::{ResolvedPackage, ResolvedTree};

use crate::messages::Omit;

/// One package to place in `node_modules`.
#[derive(Debug, Clone)]
pub struct PlannedPackage {
    /// Install path relative to the project, e.g. `node_modules/a/node_modules/b`.
    pub path: String,
    pub name: String,
    pub version: String,
    pub download: Download,
    pub bins: BTreeMap<String, String>,
    pub optional: bool,
    pub has_install_script: bool,
}

/// What identifies one tarball in the cache, and where to get it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Download {
    pub name: String,
    pub version: String,
    pub url: String,
    pub integrity: Option<String>,
}

impl Download {
    pub fn cache_key(&self) -> &str {
        self.integrity.as_deref().unwrap_or(&self.url)
    }
}

/// The tarball URL npm would use when a lockfile doesn't record `resolved`.
pub fn default_tarball_url(registry: &str, name: &str, version: &str) -> String {
    let bare = name.rsplit('/').next().unwrap_or(name);
    format!(
        "{}/{name}/-/{bare}-{version}.tgz",
        registry.trim_end_matches('/')
    )
}

pub fn download_for(registries: &Registries, manifest: &utoo_npm_types::Manifest) -> Download {
    let url = if manifest.dist.tarball.is_empty() {
        default_tarball_url(
            registries.for_package(&manifest.name),
            &manifest.name,
            &manifest.version,
        )
    } else {
        manifest.dist.tarball.clone()
    };
    Download {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        url,
        integrity: manifest.dist.lock_integrity(),
    }
}

/// npm's omit rules: `devOptional` packages go only when both dev and optional are omitted.
fn omitted(package: &ResolvedPackage, omit: Omit) -> bool {
    (omit.dev && package.dev)
        || (omit.optional && package.optional)
        || (omit.peer && package.peer)
        || (omit.dev && omit.optional && package.dev_optional)
}

/// The packages to place, parents before the packages nested in them.
pub fn plan(tree: &ResolvedTree, registries: &Registries, omit: Omit) -> Vec<PlannedPackage> {
    tree.packages
        .iter()
        .filter(|p| p.installable && !omitted(p, omit))
        .map(|p| PlannedPackage {
            path: p.path.clone(),
            name: p.name.clone(),
            version: p.manifest.version.clone(),
            download: download_for(registries, &p.manifest),
            bins: p.manifest.bin.clone(),
            optional: p.optional,
            has_install_script: p.manifest.has_install_script,
        })
        .collect()
}

/// Packages whose `engines.node` the running Node.js doesn't satisfy (npm's EBADENGINE).
pub fn engine_mismatches(tree: &ResolvedTree, node_version: &str) -> Vec<String> {
    let Ok(node) = Version::parse(node_version.trim().trim_start_matches('v')) else {
        return Vec::new();
    };
    tree.packages
        .iter()
        .filter(|p| p.installable)
        .filter_map(|p| {
            let wanted = p.manifest.engines.get("node")?;
            let range = Range::parse(wanted).ok()?;
            (!range.satisfies_with_prerelease(&node, true)).then(|| {
                format!(
                    "{}@{} wants node {wanted}, this is node {node}",
                    p.name, p.manifest.version
                )
            })
        })
        .collect()
}

/// The package folder a nested package lives in, if any.
pub fn parent_path(path: &str) -> Option<&str> {
    path.rsplit_once("/node_modules/").map(|(parent, _)| parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_urls_follow_npm_layout() {
        assert_eq!(
            default_tarball_url("https://r.example/", "@s/x", "1.0.0"),
            "https://r.example/@s/x/-/x-1.0.0.tgz"
        );
    }

    #[test]
    fn parents_of_nested_packages() {
        assert_eq!(
            parent_path("node_modules/a/node_modules/@s/b"),
            Some("node_modules/a")
        );
        assert_eq!(parent_path("node_modules/@s/b"), None);
    }
}
