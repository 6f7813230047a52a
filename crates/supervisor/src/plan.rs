//! Which packages go where: the resolved tree minus what is omitted or
//! can't run here, each with the download it needs.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use nodejs_semver::{Range, Version};
use utoo_lockfile::{LockEntry, Lockfile};
use utoo_npm_types::{validate_package_name, NodeVersion, Registries};
use utoo_package_cache::CacheLayout;
use utoo_resolver_actor::{manifest_from_entry, PackageKind, ResolvedTree};

use crate::messages::{Install, Omit};

/// One package to place in `node_modules`.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// A symlink to place in `node_modules`: to a workspace or a `file:` folder,
/// or to an earlier copy of a package that breaks a dependency cycle.
#[derive(Debug, Clone)]
pub(crate) struct PlannedLink {
    /// Where the link goes, relative to the project.
    pub path: String,
    /// The folder it points to, relative to the project.
    pub target: String,
    pub name: String,
    pub version: String,
    pub bins: BTreeMap<String, String>,
}

impl PlannedLink {
    /// The link's contents: `target` relative to the folder holding the
    /// link, as Node's `path.relative` gives it (what npm writes).
    pub(crate) fn relative_target(&self) -> String {
        if self.target.starts_with('/') {
            return self.target.clone();
        }
        let holder: Vec<&str> = self.path.split('/').collect();
        let holder = &holder[..holder.len() - 1];
        let target: Vec<&str> = self.target.split('/').filter(|p| !p.is_empty()).collect();
        let shared = holder
            .iter()
            .zip(&target)
            .take_while(|(a, b)| a == b)
            .count();
        let mut parts = vec![".."; holder.len() - shared];
        parts.extend(&target[shared..]);
        parts.join("/")
    }

    /// Whether the link lives inside a package's folder (a link breaking a
    /// dependency cycle), which placing that package replaces.
    pub(crate) fn inside_package(&self) -> bool {
        parent_path(&self.path).is_some()
    }
}

/// A package shipped inside another's tarball: it arrives with its
/// bundler's files, and needs only its bins linked.
#[derive(Debug, Clone)]
pub(crate) struct PlannedBundled {
    pub path: String,
    /// The install path of the package whose tarball holds it.
    pub bundler: String,
    pub name: String,
    pub version: String,
    pub bins: BTreeMap<String, String>,
    pub optional: bool,
    pub has_install_script: bool,
}

/// Everything to put in place.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// Parents before the packages nested in them.
    pub packages: Vec<PlannedPackage>,
    pub links: Vec<PlannedLink>,
    pub bundled: Vec<PlannedBundled>,
}

/// What identifies one tarball in the cache, and where to get it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Download {
    pub name: String,
    pub version: String,
    pub url: String,
    pub integrity: Option<String>,
    /// A git dependency whose `prepare` script may run when it is packed.
    pub prepare: bool,
}

impl Download {
    /// The integrity; for a git dependency (which has none) its commit,
    /// and whether it was prepared, so that an unprepared copy never
    /// stands in for a prepared one or the other way round.
    pub fn cache_key(&self) -> Cow<'_, str> {
        match &self.integrity {
            Some(integrity) => Cow::Borrowed(integrity.as_str()),
            None if self.is_git() => {
                let how = if self.prepare {
                    "prepared"
                } else {
                    "unprepared"
                };
                Cow::Owned(format!("{} packed {how}", self.url))
            }
            None => Cow::Borrowed(&self.url),
        }
    }

    pub fn is_git(&self) -> bool {
        self.url.starts_with("git+") || self.url.starts_with("git://")
    }

    /// Its entry in `cache`, when the entry is complete.
    pub(crate) fn complete_entry(&self, cache: &CacheLayout) -> Option<CachedEntry> {
        let dir = cache.entry_dir(&self.name, &self.version, &self.cache_key());
        let size_hint = CacheLayout::index_len(&dir)?;
        Some(CachedEntry { dir, size_hint })
    }
}

/// A complete cache entry, as the pipeline schedules it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedEntry {
    pub dir: PathBuf,
    /// How long linking the entry may take, comparable between entries:
    /// the length of its file index. Entries ready at once are linked
    /// largest first, so that a large package doesn't start last and end
    /// the install alone. 0 when unknown.
    pub size_hint: u64,
}

/// The tarball URL npm would use when a lockfile doesn't record `resolved`.
pub fn default_tarball_url(registry: &str, name: &str, version: &str) -> String {
    let bare = name.rsplit('/').next().unwrap_or(name);
    format!(
        "{}/{name}/-/{bare}-{version}.tgz",
        registry.trim_end_matches('/')
    )
}

/// The download of a package; a `file:` tarball (relative to the project)
/// becomes a `file://` URL. A git dependency named in `prepare_git` is
/// prepared when packed.
pub(crate) fn download_for(
    registries: &Registries,
    project_dir: &Path,
    prepare_git: &HashSet<String>,
    manifest: &utoo_npm_types::Manifest,
) -> Download {
    let url = if let Some(location) = manifest.dist.tarball.strip_prefix("file:") {
        format!("file://{}", project_dir.join(location).display())
    } else if manifest.dist.tarball.is_empty() {
        default_tarball_url(
            registries.for_package(&manifest.name),
            &manifest.name,
            &manifest.version,
        )
    } else {
        manifest.dist.tarball.clone()
    };
    let mut download = Download {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        url,
        integrity: manifest.dist.lock_integrity(),
        prepare: false,
    };
    download.prepare = download.is_git() && prepare_git.contains(&manifest.name);
    download
}

/// The packages of `lock` that an install into an empty `node_modules`
/// places, as the lockfile has them: those inside a `node_modules`, with
/// a valid name, neither links nor bundled (they come in their bundler's
/// tarball), nor omitted, nor unable to run on this platform.
pub(crate) fn locked_packages(lock: &Lockfile, request: &Install) -> Vec<PlannedPackage> {
    let omit = request.omit;
    lock.packages
        .iter()
        .filter_map(|(path, entry)| {
            let folder = downloaded_folder(path, entry)?;
            let omitted = omitted(
                omit,
                entry.dev,
                entry.optional,
                entry.peer,
                entry.dev_optional,
            );
            if omitted || validate_package_name(folder).is_err() {
                return None;
            }
            let manifest = manifest_from_entry(folder, entry);
            validate_package_name(&manifest.name).ok()?;
            if !request
                .platform
                .allows(&manifest.os, &manifest.cpu, &manifest.libc)
            {
                return None;
            }
            let download = download_for(
                &request.registry,
                &request.project_dir,
                &request.prepare_git,
                &manifest,
            );
            Some(PlannedPackage {
                path: path.clone(),
                name: folder.to_string(),
                version: manifest.version,
                download,
                bins: manifest.bin,
                optional: entry.optional,
                has_install_script: manifest.has_install_script,
            })
        })
        .collect()
}

/// The versions of each package that `lock` has only as optional packages
/// (no entry of the same name and version is required): whether one is
/// installed here depends on the packages that need it.
pub(crate) fn optional_only(lock: &Lockfile) -> HashMap<String, Vec<String>> {
    let downloaded = lock.packages.iter().filter_map(|(path, entry)| {
        let folder = downloaded_folder(path, entry)?;
        let name = entry.name.as_deref().unwrap_or(folder);
        Some((name, entry.version.as_deref()?, entry.optional))
    });
    let mut optional: HashMap<String, Vec<String>> = HashMap::new();
    let mut required = Vec::new();
    for (name, version, is_optional) in downloaded {
        match is_optional {
            true => optional
                .entry(name.to_string())
                .or_default()
                .push(version.to_string()),
            false => required.push((name, version)),
        }
    }
    for (name, version) in required {
        if let Some(versions) = optional.get_mut(name) {
            versions.retain(|v| v != version);
        }
    }
    optional.retain(|_, versions| !versions.is_empty());
    optional
}

/// The folder a locked package is downloaded into; `None` for the project,
/// workspaces, links, packages inside a bundle (they come in their
/// bundler's tarball) and entries without a version.
fn downloaded_folder<'a>(path: &'a str, entry: &LockEntry) -> Option<&'a str> {
    let (_, folder) = path.rsplit_once("node_modules/")?;
    let downloaded = !entry.link && !entry.in_bundle && entry.version.is_some();
    downloaded.then_some(folder)
}

/// npm's omit rules, for a package with these flags: `devOptional`
/// packages go only when both dev and optional are omitted.
fn omitted(omit: Omit, dev: bool, optional: bool, peer: bool, dev_optional: bool) -> bool {
    (omit.dev && dev)
        || (omit.optional && optional)
        || (omit.peer && peer)
        || (omit.dev && omit.optional && dev_optional)
}

/// The packages and links to place.
pub(crate) fn plan(
    tree: &ResolvedTree,
    registries: &Registries,
    project_dir: &Path,
    prepare_git: &HashSet<String>,
    omit: Omit,
) -> Plan {
    let mut plan = Plan::default();
    for p in tree
        .packages
        .iter()
        .filter(|p| p.installable && !omitted(omit, p.dev, p.optional, p.peer, p.dev_optional))
    {
        match &p.kind {
            PackageKind::Tarball => plan.packages.push(PlannedPackage {
                path: p.path.clone(),
                name: p.name.clone(),
                version: p.manifest.version.clone(),
                download: download_for(registries, project_dir, prepare_git, &p.manifest),
                bins: p.manifest.bin.clone(),
                optional: p.optional,
                has_install_script: p.manifest.has_install_script,
            }),
            PackageKind::Link { target } => plan.links.push(PlannedLink {
                path: p.path.clone(),
                target: target.clone(),
                name: p.name.clone(),
                version: p.manifest.version.clone(),
                bins: p.manifest.bin.clone(),
            }),
            PackageKind::Bundled => plan.bundled.push(PlannedBundled {
                path: p.path.clone(),
                bundler: bundler_of(tree, &p.path),
                name: p.name.clone(),
                version: p.manifest.version.clone(),
                bins: p.manifest.bin.clone(),
                optional: p.optional,
                has_install_script: p.manifest.has_install_script,
            }),
            PackageKind::Folder { .. } => {}
        }
    }
    plan
}

/// The nearest package above `path` that is not itself bundled.
fn bundler_of(tree: &ResolvedTree, path: &str) -> String {
    let mut at = path;
    while let Some(parent) = parent_path(at) {
        let bundled = tree
            .packages
            .iter()
            .any(|p| p.path == parent && p.kind == PackageKind::Bundled);
        if !bundled {
            return parent.to_string();
        }
        at = parent;
    }
    at.to_string()
}

/// Packages whose `engines.node` the running Node.js doesn't satisfy
/// (npm's EBADENGINE). Node.js is asked its version only if a package has
/// such a range.
pub(crate) fn engine_mismatches(tree: &ResolvedTree, node_version: &NodeVersion) -> Vec<String> {
    let mut ranges = tree
        .packages
        .iter()
        .filter(|p| p.installable)
        .filter_map(|p| {
            let wanted = p.manifest.engines.get("node")?;
            Some((p, wanted, Range::parse(wanted).ok()?))
        })
        .peekable();
    if ranges.peek().is_none() {
        return Vec::new();
    }
    let Some(node) = node_version
        .find()
        .and_then(|found| Version::parse(found.trim().trim_start_matches('v')).ok())
    else {
        return Vec::new();
    };
    ranges
        .filter_map(|(p, wanted, range)| {
            (!range.satisfies_with_prerelease(&node, true)).then(|| {
                format!(
                    "{}@{} wants node {wanted}, this is node {node}",
                    p.name, p.manifest.version
                )
            })
        })
        .collect()
}

/// The package folder (itself in a `node_modules`) a nested package lives
/// in, if any. Packages in a workspace's own `node_modules` have none.
pub fn parent_path(path: &str) -> Option<&str> {
    path.rsplit_once("/node_modules/")
        .map(|(parent, _)| parent)
        .filter(|parent| parent.split('/').any(|part| part == "node_modules"))
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
        assert_eq!(parent_path("packages/a/node_modules/b"), None);
        assert_eq!(
            parent_path("packages/a/node_modules/b/node_modules/c"),
            Some("packages/a/node_modules/b")
        );
    }

    #[test]
    fn links_point_back_up_to_their_folder() {
        let link = |path: &str, target: &str| PlannedLink {
            path: path.into(),
            target: target.into(),
            name: String::new(),
            version: String::new(),
            bins: BTreeMap::new(),
        };
        assert_eq!(
            link("node_modules/@m/a", "packages/a").relative_target(),
            "../../packages/a"
        );
        assert_eq!(link("node_modules/e", "../e").relative_target(), "../../e");
        assert_eq!(link("node_modules/e", "/srv/e").relative_target(), "/srv/e");
        assert_eq!(
            link("packages/a/node_modules/l", "local").relative_target(),
            "../../../local"
        );
        assert_eq!(
            link("packages/a/node_modules/l", "packages/l").relative_target(),
            "../../l"
        );
        // npm's link to an earlier copy, breaking a dependency cycle.
        let cycle = link(
            "node_modules/b/node_modules/b/node_modules/b",
            "node_modules/b",
        );
        assert_eq!(cycle.relative_target(), "../../..");
        assert!(cycle.inside_package());
        assert!(!link("node_modules/@m/a", "packages/a").inside_package());
        assert!(!link("packages/a/node_modules/l", "local").inside_package());
    }

    #[test]
    fn file_tarballs_download_from_disk() {
        let mut manifest = utoo_npm_types::Manifest::default();
        manifest.dist.tarball = "file:vendor/t.tgz".into();
        let download = download_for(
            &Registries::new("https://r/"),
            Path::new("/p"),
            &HashSet::new(),
            &manifest,
        );
        assert_eq!(download.url, "file:///p/vendor/t.tgz");
    }
}
