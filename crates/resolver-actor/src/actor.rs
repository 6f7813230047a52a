use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use actix::prelude::*;
use utoo_lockfile::Lockfile;
use utoo_npm_types::{Manifest, NodeVersion, Platform, Registries};
use utoo_package_cache::{CacheLayout, PackumentCache, PackumentPolicy};
use utoo_registry_client::{RegistryClient, SizeLimits};

use crate::build::{BuildOptions, TreeBuilder};
use crate::error::ResolveError;
use crate::finish::{finish, ResolvedTree};
use crate::lock::{project_tree, tree_from_lockfile};
use crate::project::Project;
use crate::source::{RegistrySource, RegistrySourceConfig};
use crate::tree::Tree;
use crate::warning::Warning;

/// Sent to the `notify` recipient as soon as a registry version is picked
/// (by the tree builder, or ahead of it by the prefetcher) and when a
/// package is placed, so its download can start while resolution goes on.
/// A picked version the tree ends up without (another copy satisfied its
/// dependents) was downloaded for nothing: the supervisor counts those.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct PackagePlaced {
    pub manifest: Arc<Manifest>,
}

/// Resolve one project. Replies with the ideal tree.
#[derive(Message)]
#[rtype(result = "Result<Resolution, ResolveError>")]
pub struct Resolve {
    pub project: Project,
    /// A lockfile to start from: what still satisfies is kept, and nothing
    /// is fetched when everything does.
    pub lockfile: Option<Arc<Lockfile>>,
    pub registry: Registries,
    /// Finds the running Node.js version (for `engines.node`); called at most
    /// once, and only if a version must be picked.
    pub node_version: NodeVersion,
    pub legacy_peer_deps: bool,
    pub platform: Platform,
    pub notify: Option<Recipient<PackagePlaced>>,
}

#[derive(Debug)]
pub struct Resolution {
    pub tree: ResolvedTree,
    /// Distinct packuments requested (0 when a lockfile satisfied the project).
    pub packuments_requested: usize,
}

/// The resolver actor. Messages it accepts: [`Resolve`]; it sends
/// [`PackagePlaced`] to the recipient given in each request.
pub struct ResolverActor {
    client: RegistryClient,
    max_in_flight: usize,
    size_limits: SizeLimits,
    cache: Option<CacheLayout>,
    packument_cache: Option<(PackumentCache, PackumentPolicy)>,
}

/// Resolve requests waiting while one resolution runs; further senders wait.
pub const RESOLVER_MAILBOX: usize = 4;

impl ResolverActor {
    pub fn new(client: RegistryClient, max_in_flight: usize) -> ResolverActor {
        ResolverActor {
            client,
            max_in_flight,
            size_limits: SizeLimits::default(),
            cache: None,
            packument_cache: None,
        }
    }

    /// Reads what a bundler ships from its cache entry, when the cache has
    /// it, instead of downloading its tarball.
    pub fn with_cache(mut self, cache: CacheLayout) -> ResolverActor {
        self.cache = Some(cache);
        self
    }

    /// Keeps packuments in `cache` between resolutions, used as `policy` says.
    pub fn with_packument_cache(
        mut self,
        cache: PackumentCache,
        policy: PackumentPolicy,
    ) -> ResolverActor {
        self.packument_cache = Some((cache, policy));
        self
    }

    /// Refuses packuments and tarballs (read for their manifest) larger than these.
    pub fn with_size_limits(mut self, limits: SizeLimits) -> ResolverActor {
        self.size_limits = limits;
        self
    }
}

impl Actor for ResolverActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(RESOLVER_MAILBOX);
    }
}

impl Handler<Resolve> for ResolverActor {
    /// One resolution at a time: the actor takes the next `Resolve` only
    /// when this one ends, so its mailbox really bounds the requests.
    type Result = AtomicResponse<Self, Result<Resolution, ResolveError>>;

    fn handle(&mut self, msg: Resolve, _ctx: &mut Context<Self>) -> Self::Result {
        let source = RegistrySource::new(
            self.client.clone(),
            RegistrySourceConfig {
                registry: msg.registry.clone(),
                node_version: msg.node_version.clone(),
                legacy_peer_deps: msg.legacy_peer_deps,
                max_in_flight: self.max_in_flight,
                size_limits: self.size_limits,
                project_dir: msg.project.dir.clone(),
                cache: self.cache.clone(),
                packument_cache: self.packument_cache.clone(),
            },
        );
        AtomicResponse::new(Box::pin(resolve(msg, source).into_actor(self)))
    }
}

async fn resolve(msg: Resolve, source: Rc<RegistrySource>) -> Result<Resolution, ResolveError> {
    let built = build_tree(&msg, &source).await;
    // Sealed even when resolution fails, so a retry revalidates instead of
    // fetching every packument again.
    let cache_warnings = source.finish_cache_writes().await;
    let (tree, mut warnings) = built?;
    warnings.extend(cache_warnings);
    let tree = finish(tree, &msg.platform, warnings)?;
    Ok(Resolution {
        tree,
        packuments_requested: source.packuments_requested(),
    })
}

async fn build_tree(
    msg: &Resolve,
    source: &Rc<RegistrySource>,
) -> Result<(Tree, Vec<Warning>), ResolveError> {
    let start = match &msg.lockfile {
        Some(lock) => tree_from_lockfile(&msg.project, lock, msg.legacy_peer_deps)?,
        None => project_tree(&msg.project, msg.legacy_peer_deps),
    };
    let options = BuildOptions {
        legacy_peer_deps: msg.legacy_peer_deps,
        project_dir: msg.project.dir.clone(),
    };
    let mut builder = TreeBuilder::new(start, source, options);
    builder.start();
    loop {
        let more = announcing_picks(builder.step(), source, msg.notify.as_ref()).await?;
        let placed = source
            .take_picked()
            .into_iter()
            .chain(builder.take_placed());
        announce(placed, msg.notify.as_ref()).await?;
        if !more {
            break;
        }
    }
    Ok(builder.into_parts())
}

/// Runs one step of the builder, announcing the versions picked meanwhile
/// as they are picked: a step can wait for many packuments (the project's
/// own dependencies, on a slow network for seconds), and the downloads of
/// what the prefetcher picked need not wait with it.
async fn announcing_picks(
    step: impl Future<Output = Result<bool, ResolveError>>,
    source: &RegistrySource,
    notify: Option<&Recipient<PackagePlaced>>,
) -> Result<bool, ResolveError> {
    let Some(notify) = notify else {
        return step.await;
    };
    let mut step = std::pin::pin!(step);
    loop {
        tokio::select! {
            biased;
            more = &mut step => return more,
            () = source.newly_picked() => announce(source.take_picked(), Some(notify)).await?,
        }
    }
}

async fn announce(
    manifests: impl IntoIterator<Item = Arc<Manifest>>,
    notify: Option<&Recipient<PackagePlaced>>,
) -> Result<(), ResolveError> {
    let Some(notify) = notify else {
        return Ok(());
    };
    for manifest in manifests {
        notify
            .send(PackagePlaced { manifest })
            .await
            .map_err(|_| ResolveError::Stopped)?;
    }
    Ok(())
}
