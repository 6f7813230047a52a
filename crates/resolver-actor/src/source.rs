//! Packuments fetched from the registry, each name once, with picks cached
//! and the dependency closure prefetched ahead of the tree builder.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use nodejs_semver::Version;
use tokio::sync::{Notify, Semaphore};
use utoo_npm_types::{
    validate_package_name, GitSpec, Integrity, Manifest, NodeVersion, Packument, Registries, Spec,
};
use utoo_package_cache::{CacheLayout, PackumentCache, PackumentCacheError, PackumentPolicy};
use utoo_registry_client::{
    read_regular_file, HttpError, LocalReadError, RegistryClient, SizeLimits,
};

use crate::bundle::{bundled_packages, bundled_packages_in_entry, BundledPackage};
use crate::error::ResolveError;
use crate::load::ManifestSource;
use crate::packuments::{PackumentLoadError, PackumentLoader};
use crate::pick::pick_manifest;
use crate::tarball::{manifest_from_tarball, TarballError};
use crate::warning::Warning;

/// A packument, or why it could not be had, handed to every pick that waits
/// on it; each turns a failure into a [`ResolveError`] naming its own dependent.
type PackumentFuture = Shared<LocalBoxFuture<'static, Result<Arc<Packument>, PackumentLoadError>>>;

/// The running Node.js version, shared by every pick that waits for it.
type NodeVersionFuture = Shared<LocalBoxFuture<'static, Option<Version>>>;

fn load_error(failure: PackumentLoadError, name: &str, dependent: &str) -> ResolveError {
    match failure {
        PackumentLoadError::Http {
            source: HttpError::TooLarge { url, limit },
            ..
        } => ResolveError::PackumentTooLarge {
            name: name.to_string(),
            url,
            limit,
        },
        PackumentLoadError::Http { source, .. } => {
            http_error(name, dependent, source, |source| ResolveError::Registry {
                name: name.to_string(),
                source,
            })
        }
        PackumentLoadError::NotCached { .. } => ResolveError::NotCached {
            name: name.to_string(),
            wanted_by: dependent.to_string(),
        },
        PackumentLoadError::Malformed { url, source } => ResolveError::Malformed {
            name: name.to_string(),
            url,
            source,
        },
        PackumentLoadError::Stopped => ResolveError::Stopped,
    }
}

/// Settings of one resolution against a registry.
#[derive(Debug, Clone)]
pub struct RegistrySourceConfig {
    pub registry: Registries,
    /// Finds the running Node.js version, for `engines.node` when picking.
    pub node_version: NodeVersion,
    pub legacy_peer_deps: bool,
    /// Packument requests in flight at once.
    pub max_in_flight: usize,
    /// The largest packument, and the largest tarball read for its manifest.
    pub size_limits: SizeLimits,
    /// The project's folder: `file:` tarball paths are relative to it.
    pub project_dir: PathBuf,
    /// The package cache, where an extracted bundler shows what it bundles
    /// without a download.
    pub cache: Option<CacheLayout>,
    /// Where packuments are kept between installs, and how they are used.
    pub packument_cache: Option<(PackumentCache, PackumentPolicy)>,
}

pub struct RegistrySource {
    client: RegistryClient,
    loader: PackumentLoader,
    /// Cached packuments found damaged (and fetched again).
    damaged_cache: Rc<RefCell<Vec<PackumentCacheError>>>,
    config: RegistrySourceConfig,
    /// Started by the first pick that needs it; picks after it wait for it.
    node_version: OnceCell<NodeVersionFuture>,
    limit: Arc<Semaphore>,
    packuments: RefCell<HashMap<String, PackumentFuture>>,
    picks: RefCell<HashMap<(String, String), Arc<Manifest>>>,
    prefetched: RefCell<HashSet<(String, String)>>,
    /// Registry versions picked since the last [`RegistrySource::take_picked`].
    picked: RefCell<Vec<Arc<Manifest>>>,
    /// Woken when `picked` gains a version.
    newly_picked: Notify,
    /// What each bundler's tarball (by URL) ships, read once.
    bundles: RefCell<HashMap<String, Arc<Vec<BundledPackage>>>>,
    in_flight: Rc<Cell<u64>>,
}

/// Counts a packument request in flight for as long as it lives, and reports
/// each change as a queue-depth sample.
struct InFlight(Rc<Cell<u64>>);

impl InFlight {
    fn enter(counter: Rc<Cell<u64>>) -> InFlight {
        counter.set(counter.get() + 1);
        sample(counter.get());
        InFlight(counter)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
        sample(self.0.get());
    }
}

fn sample(depth: u64) {
    utoo_telemetry::sample_queue(utoo_telemetry::queue::PACKUMENTS_IN_FLIGHT, depth);
}

impl RegistrySource {
    pub fn new(client: RegistryClient, config: RegistrySourceConfig) -> Rc<RegistrySource> {
        let mut loader = PackumentLoader::new(
            client.clone(),
            config.registry.clone(),
            config.size_limits.packument,
        );
        if let Some((cache, policy)) = &config.packument_cache {
            loader = loader.with_cache(cache.clone(), *policy);
        }
        Rc::new(RegistrySource {
            client,
            loader,
            damaged_cache: Rc::default(),
            node_version: OnceCell::new(),
            limit: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            config,
            packuments: RefCell::new(HashMap::new()),
            picks: RefCell::new(HashMap::new()),
            prefetched: RefCell::new(HashSet::new()),
            picked: RefCell::new(Vec::new()),
            newly_picked: Notify::new(),
            bundles: RefCell::new(HashMap::new()),
            in_flight: Rc::new(Cell::new(0)),
        })
    }

    /// The running Node.js version, found on a blocking thread: starting
    /// `node` takes milliseconds in which this thread keeps receiving
    /// packuments.
    async fn node_version(&self) -> Option<Version> {
        let finding = self.node_version.get_or_init(|| {
            let probe = self.config.node_version.clone();
            async move {
                let found = match tokio::task::spawn_blocking(move || probe.find()).await {
                    Ok(found) => found?,
                    Err(stopped) if stopped.is_panic() => {
                        std::panic::resume_unwind(stopped.into_panic())
                    }
                    // The runtime is shutting down: nothing waits for the answer.
                    Err(_) => return None,
                };
                Version::parse(found.trim().trim_start_matches('v')).ok()
            }
            .boxed_local()
            .shared()
        });
        finding.clone().await
    }

    /// Seals the packuments fetched into the cache; returns the cache's
    /// problems, as warnings.
    pub async fn finish_cache_writes(&self) -> Vec<Warning> {
        let damaged = std::mem::take(&mut *self.damaged_cache.borrow_mut());
        damaged
            .into_iter()
            .chain(self.loader.finish().await)
            .map(Warning::PackumentCache)
            .collect()
    }

    /// Registry versions picked (by the builder or ahead of it, by the
    /// prefetcher) since the last call: most will be placed, so their
    /// downloads can start now.
    pub fn take_picked(&self) -> Vec<Arc<Manifest>> {
        std::mem::take(&mut self.picked.borrow_mut())
    }

    /// Waits until a version is picked that [`RegistrySource::take_picked`]
    /// has not given yet.
    pub async fn newly_picked(&self) {
        if self.picked.borrow().is_empty() {
            self.newly_picked.notified().await;
        }
    }

    /// How many distinct packuments were requested.
    pub fn packuments_requested(&self) -> usize {
        self.packuments.borrow().len()
    }

    fn packument(&self, name: &str) -> PackumentFuture {
        if let Some(existing) = self.packuments.borrow().get(name) {
            return existing.clone();
        }
        let loader = self.loader.clone();
        let limit = self.limit.clone();
        let name_owned = name.to_string();
        let in_flight = self.in_flight.clone();
        let damaged_cache = self.damaged_cache.clone();
        let future = async move {
            let _permit = limit
                .acquire_owned()
                .await
                .map_err(|_| PackumentLoadError::Stopped)?;
            let _counted = InFlight::enter(in_flight);
            let span = tracing::info_span!(utoo_telemetry::span::PACKUMENT, name = %name_owned, bytes = tracing::field::Empty);
            let loaded = loader.load(&name_owned).await?;
            span.record("bytes", loaded.bytes);
            damaged_cache.borrow_mut().extend(loaded.damaged);
            Ok(loaded.packument)
        }
        .boxed_local()
        .shared();
        self.packuments
            .borrow_mut()
            .insert(name.to_string(), future.clone());
        future
    }

    async fn pick_uncached(
        &self,
        name: &str,
        raw_spec: &str,
        dependent: &str,
    ) -> Result<Arc<Manifest>, ResolveError> {
        validate_package_name(name).map_err(|source| ResolveError::InvalidName {
            dependent: dependent.to_string(),
            source,
        })?;
        let spec = Spec::parse(name, raw_spec).map_err(|source| ResolveError::Spec {
            dependent: dependent.to_string(),
            source,
        })?;
        match &spec {
            Spec::TarballFile(location) => return self.local_tarball(name, location),
            Spec::TarballUrl(url) => return self.remote_tarball(name, url, dependent).await,
            Spec::Git(_) if self.loader.policy() == PackumentPolicy::CachedOnly => {
                return Err(ResolveError::GitOffline {
                    name: name.to_string(),
                    spec: raw_spec.to_string(),
                })
            }
            Spec::Git(git) => return git_manifest(name, git.clone()).await,
            _ => {}
        }
        let registry_name = spec.registry_name(name);
        let packument = self
            .packument(registry_name)
            .await
            .map_err(|failure| load_error(failure, registry_name, dependent))?;
        // Node.js is asked its version only for a packument whose versions declare engines.
        let declares_engines = packument.versions.iter().any(|v| v.node_engine.is_some());
        let node = match declares_engines {
            true => self.node_version().await,
            false => None,
        };
        let picked = pick_manifest(&packument, &spec, node.as_ref()).ok_or_else(|| {
            ResolveError::NoMatchingVersion {
                name: name.to_string(),
                spec: raw_spec.to_string(),
                dependent: dependent.to_string(),
            }
        })?;
        let manifest = picked.manifest();
        check_registry_tarball(registry_name, &manifest)?;
        Ok(Arc::new(manifest))
    }

    /// A `file:` tarball; `location` is relative to the project.
    fn local_tarball(&self, name: &str, location: &str) -> Result<Arc<Manifest>, ResolveError> {
        let failed = |source: TarballError| ResolveError::Tarball {
            name: name.to_string(),
            location: location.to_string(),
            source,
        };
        let path = self.config.project_dir.join(location);
        let bytes = match read_regular_file(&path, self.config.size_limits.tarball) {
            Ok(bytes) => bytes,
            Err(LocalReadError::TooLarge { limit }) => {
                return Err(ResolveError::TarballTooLarge {
                    name: name.to_string(),
                    location: location.to_string(),
                    limit,
                })
            }
            Err(other) => return Err(failed(other.into())),
        };
        manifest_from_tarball(&bytes, &format!("file:{location}"))
            .map(Arc::new)
            .map_err(failed)
    }

    async fn remote_tarball(
        &self,
        name: &str,
        url: &str,
        dependent: &str,
    ) -> Result<Arc<Manifest>, ResolveError> {
        let max_bytes = self.config.size_limits.tarball;
        let bytes = self
            .client
            .get(url, "application/octet-stream", None, max_bytes)
            .await
            .map_err(|err| match err {
                HttpError::TooLarge { url, limit } => ResolveError::TarballTooLarge {
                    name: name.to_string(),
                    location: url,
                    limit,
                },
                other => http_error(name, dependent, other, |source| ResolveError::Download {
                    name: name.to_string(),
                    source,
                }),
            })?;
        manifest_from_tarball(&bytes, url)
            .map(Arc::new)
            .map_err(|source| ResolveError::Tarball {
                name: name.to_string(),
                location: url.to_string(),
                source,
            })
    }

    /// Reads what `bundler`'s tarball ships: from its cache entry when the
    /// cache has it intact, else a registry or URL tarball is downloaded
    /// (its integrity checked), a `file:` one read from disk; a packed git
    /// commit carries no `node_modules`.
    async fn read_bundle(&self, bundler: &Manifest) -> Result<Vec<BundledPackage>, ResolveError> {
        if let Some(entry) = self.cached_entry(bundler) {
            let cached = tokio::task::spawn_blocking(move || bundled_packages_in_entry(&entry))
                .await
                .map_err(|_| ResolveError::Stopped)?;
            if let Some(packages) = cached {
                return Ok(packages);
            }
        }
        let name = &bundler.name;
        let url = self.tarball_url(bundler);
        let failed = |source: TarballError| ResolveError::Tarball {
            name: name.clone(),
            location: url.clone(),
            source,
        };
        let max_bytes = self.config.size_limits.tarball;
        let bytes = if let Some(location) = url.strip_prefix("file:") {
            let path = self.config.project_dir.join(location);
            read_regular_file(&path, max_bytes).map_err(|err| failed(err.into()))?
        } else if url.starts_with("http://") || url.starts_with("https://") {
            let integrity = bundler
                .dist
                .lock_integrity()
                .and_then(|sri| Integrity::parse(&sri).ok());
            self.client
                .get(
                    &url,
                    "application/octet-stream",
                    integrity.as_ref(),
                    max_bytes,
                )
                .await
                .map_err(|err| match err {
                    HttpError::TooLarge { url, limit } => ResolveError::TarballTooLarge {
                        name: name.clone(),
                        location: url,
                        limit,
                    },
                    source => ResolveError::Download {
                        name: name.clone(),
                        source,
                    },
                })?
                .to_vec()
        } else {
            return Ok(Vec::new());
        };
        tokio::task::spawn_blocking(move || bundled_packages(&bytes))
            .await
            .map_err(|_| ResolveError::Stopped)?
            .map_err(failed)
    }

    /// The complete cache entry of a registry package, if the cache has one.
    fn cached_entry(&self, manifest: &Manifest) -> Option<PathBuf> {
        let cache = self.config.cache.as_ref()?;
        let integrity = manifest.dist.lock_integrity()?;
        let entry = cache.entry_dir(&manifest.name, &manifest.version, &integrity);
        CacheLayout::is_complete(&entry).then_some(entry)
    }

    /// Where `manifest`'s tarball is: `dist.tarball`, else npm's layout on
    /// the package's registry.
    fn tarball_url(&self, manifest: &Manifest) -> String {
        if !manifest.dist.tarball.is_empty() {
            return manifest.dist.tarball.clone();
        }
        let name = &manifest.name;
        let bare = name.rsplit('/').next().unwrap_or(name);
        let registry = self.config.registry.for_package(name);
        format!(
            "{}/{name}/-/{bare}-{}.tgz",
            registry.trim_end_matches('/'),
            manifest.version
        )
    }

    /// Fetches, ahead of need, what `name@spec` and its dependencies will ask
    /// for; only registry specs (paths are relative to their dependent).
    fn prefetch(self: &Rc<Self>, name: &str, raw_spec: &str) {
        let from_registry = matches!(
            Spec::parse(name, raw_spec),
            Ok(Spec::Range(_) | Spec::Tag(_) | Spec::Alias { .. })
        );
        if !from_registry {
            return;
        }
        let key = (name.to_string(), raw_spec.to_string());
        if !self.prefetched.borrow_mut().insert(key) {
            return;
        }
        let this = self.clone();
        let (name, raw_spec) = (name.to_string(), raw_spec.to_string());
        actix::spawn(async move {
            // Errors surface when the builder asks for the same pick.
            let _ = this.pick(&name, &raw_spec, "prefetch").await;
        });
    }

    /// What the package ships in its tarball is never asked for.
    fn prefetch_dependencies(self: &Rc<Self>, manifest: &Manifest) {
        let peers = (!self.config.legacy_peer_deps).then_some(&manifest.peer_dependencies);
        let bundled = manifest.bundled_names();
        let all = manifest
            .dependencies
            .iter()
            .chain(&manifest.optional_dependencies)
            .chain(peers.into_iter().flatten())
            .filter(|(name, _)| !bundled.contains(name));
        for (name, spec) in all {
            self.prefetch(name, spec);
        }
    }
}

/// A failed GET of `name`'s packument or tarball that `dependent` wants: a
/// 404 says the package is missing, anything else is `failed`.
fn http_error(
    name: &str,
    dependent: &str,
    err: HttpError,
    failed: impl FnOnce(HttpError) -> ResolveError,
) -> ResolveError {
    match err {
        HttpError::NotFound { url } => ResolveError::NotFound {
            name: name.to_string(),
            url,
            wanted_by: dependent.to_string(),
        },
        other => failed(other),
    }
}

/// A registry never serves local files: a version whose `dist.tarball` is
/// not an http(s) URL (`file:///dev/zero`, `file:../x.tgz`) is refused
/// before anything could read it from disk. Empty means the registry's
/// default layout.
fn check_registry_tarball(name: &str, manifest: &Manifest) -> Result<(), ResolveError> {
    let url = &manifest.dist.tarball;
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    let remote =
        scheme.is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"));
    if url.is_empty() || remote {
        return Ok(());
    }
    Err(ResolveError::NotARegistryTarball {
        name: name.to_string(),
        version: manifest.version.clone(),
        url: url.clone(),
    })
}

/// A git dependency's manifest: its reference resolved to a commit, and the
/// `package.json` of that commit packed, unprepared (as npm reads it from
/// the checkout). npm records no integrity for these.
async fn git_manifest(name: &str, git: GitSpec) -> Result<Arc<Manifest>, ResolveError> {
    let packed = tokio::task::spawn_blocking(move || {
        let commit = utoo_git::resolve_commit(&git)?;
        let resolved = git.resolved(&commit);
        utoo_git::pack(&resolved, None).map(|bytes| (resolved, bytes))
    })
    .await
    .map_err(|_| ResolveError::Stopped)?;
    let (resolved, bytes) = packed.map_err(|source| ResolveError::Git {
        name: name.to_string(),
        source,
    })?;
    let mut manifest =
        manifest_from_tarball(&bytes, &resolved).map_err(|source| ResolveError::Tarball {
            name: name.to_string(),
            location: resolved.clone(),
            source,
        })?;
    manifest.dist.integrity = None;
    Ok(Arc::new(manifest))
}

impl ManifestSource for Rc<RegistrySource> {
    async fn pick(
        &self,
        name: &str,
        spec: &str,
        dependent: &str,
    ) -> Result<Arc<Manifest>, ResolveError> {
        let key = (name.to_string(), spec.to_string());
        if let Some(hit) = self.picks.borrow().get(&key) {
            return Ok(hit.clone());
        }
        let manifest = self.pick_uncached(name, spec, dependent).await?;
        let from_registry = matches!(
            Spec::parse(name, spec),
            Ok(Spec::Range(_) | Spec::Tag(_) | Spec::Alias { .. })
        );
        if from_registry && !self.picks.borrow().contains_key(&key) {
            self.picked.borrow_mut().push(manifest.clone());
            self.newly_picked.notify_one();
        }
        let manifest = self
            .picks
            .borrow_mut()
            .entry(key.clone())
            .or_insert(manifest)
            .clone();
        self.prefetched.borrow_mut().insert(key);
        self.prefetch_dependencies(&manifest);
        Ok(manifest)
    }

    async fn bundle(&self, bundler: &Manifest) -> Result<Arc<Vec<BundledPackage>>, ResolveError> {
        let url = self.tarball_url(bundler);
        if let Some(known) = self.bundles.borrow().get(&url) {
            return Ok(known.clone());
        }
        let packages = Arc::new(self.read_bundle(bundler).await?);
        self.bundles.borrow_mut().insert(url, packages.clone());
        Ok(packages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_versions_download_over_http_only() {
        let with_tarball = |url: &str| {
            let mut manifest = Manifest::default();
            manifest.dist.tarball = url.to_string();
            check_registry_tarball("p", &manifest)
        };
        for url in ["", "https://r/p/-/p-1.0.0.tgz", "HTTP://r/p.tgz"] {
            assert!(with_tarball(url).is_ok(), "{url}");
        }
        for url in [
            "file:///dev/zero",
            "file:../p.tgz",
            "/dev/zero",
            "git+ssh://h/r",
        ] {
            let err = with_tarball(url).unwrap_err();
            assert!(
                matches!(&err, ResolveError::NotARegistryTarball { url: u, .. } if u == url),
                "{err}"
            );
        }
    }
}
