//! The supervisor actor: a thin dispatcher between the [`Pipeline`] (what
//! to start), the other actors (who do it) and the install
//! [`transaction`](crate::transaction) (what happens before and after).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::oneshot;
use utoo_clone_actor::{ClonePackage, LinkBins};
use utoo_extract_actor::Extract;
use utoo_fetch_actor::FetchTarball;
use utoo_npm_types::{Manifest, Platform};
use utoo_package_cache::CacheLayout;
use utoo_resolver_actor::{PackagePlaced, Resolution, Resolve};
use utoo_telemetry::span;

use crate::messages::{Install, InstallError, InstallReport, StageError};
use crate::node_modules::{is_install_path, remove_any};
use crate::pipeline::{Command, Gauges, Limits, Pipeline};
use crate::plan::{download_for, locked_packages, optional_only, Download, PlannedPackage};
use crate::transaction::{self, Checked, InPlace, Prepare, Prepared, Transaction};

/// The actors a supervisor drives, as recipients so that tools (and tests)
/// can put their own in between.
pub struct Actors {
    pub resolver: Recipient<Resolve>,
    pub fetch: Recipient<FetchTarball>,
    pub extract: Recipient<Extract>,
    pub clone: Recipient<ClonePackage>,
    pub link_bins: Recipient<LinkBins>,
}

/// Messages waiting in the supervisor's mailbox before senders must wait.
pub const SUPERVISOR_MAILBOX: usize = 256;

/// The one install a supervisor owns.
struct Run {
    request: Arc<Install>,
    responder: oneshot::Sender<Result<InstallReport, InstallError>>,
    pipeline: Pipeline,
    /// Set once resolution is prepared.
    transaction: Option<Transaction>,
    /// The lockfile's packages, placed before resolution ends into a
    /// `node_modules` that did not exist: this install's own, to take back
    /// if the install fails.
    placing_early: Option<Arc<Vec<PlannedPackage>>>,
    /// The resolved tree, to place once the early placing has stopped.
    to_place_once_stopped: Option<Checked>,
    /// The error to answer with once the early placing has stopped and
    /// `node_modules` is taken back.
    failure: Option<InstallError>,
    /// Versions (by name) that the lockfile has only as optional packages:
    /// whether one is installed here depends on the packages that need it,
    /// so its download waits for the resolution's plan.
    optional_only: HashMap<String, Vec<String>>,
    report: InstallReport,
    /// The gauges as last sampled into the trace.
    sampled: Gauges,
    /// Open for the whole install, and for resolution: they end when dropped.
    _install_span: tracing::Span,
    resolve_span: Option<tracing::Span>,
}

impl Run {
    /// Reports each queue depth that changed (drawn as a counter track).
    fn sample_gauges(&mut self) {
        let now = self.pipeline.gauges();
        for ((queue, depth), (_, before)) in now.named().into_iter().zip(self.sampled.named()) {
            if depth != before {
                utoo_telemetry::sample_queue(queue, depth as u64);
            }
        }
        self.sampled = now;
    }
}

/// The supervisor actor: owns one install at a time. Accepts [`Install`]
/// (from the CLI) and [`PackagePlaced`] (from the resolver); sends `Resolve`,
/// `FetchTarball`, `Extract`, `ClonePackage` and `LinkBins`.
pub struct Supervisor {
    actors: Actors,
    cache: CacheLayout,
    limits: Limits,
    platform: Platform,
    run: Option<Run>,
}

impl Supervisor {
    pub fn new(actors: Actors, cache: CacheLayout, limits: Limits) -> Supervisor {
        Supervisor {
            actors,
            cache,
            limits,
            platform: Platform::current(),
            run: None,
        }
    }

    fn fail(&mut self, error: InstallError, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        tracing::debug!(%error, "install failed");
        if run.placing_early.is_some() {
            // The first error is the one answered.
            if run.failure.is_none() {
                run.failure = Some(error);
                run.pipeline.stop_placing();
                self.dispatch(ctx);
            }
            return;
        }
        if let Some(run) = self.run.take() {
            let _ = run.responder.send(Err(error));
        }
    }

    /// Feeds one event to the pipeline, then starts what it asks for.
    fn on_event(
        &mut self,
        ctx: &mut Context<Self>,
        event: impl FnOnce(&mut Pipeline) -> Result<(), InstallError>,
    ) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        match event(&mut run.pipeline) {
            Ok(()) => self.dispatch(ctx),
            Err(error) => self.fail(error, ctx),
        }
    }

    fn dispatch(&mut self, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let commands = run.pipeline.next_commands();
        run.sample_gauges();
        let failing = run.failure.is_some();
        for command in commands {
            if failing && !matches!(command, Command::PlacingStopped) {
                continue;
            }
            match command {
                Command::Fetch(download) => self.fetch(download, ctx),
                Command::Extract {
                    download,
                    tarball,
                    replace_damaged,
                } => self.extract(download, tarball, replace_damaged, ctx),
                Command::Clone {
                    package,
                    from,
                    check_files,
                } => self.clone_package(package, from, check_files, ctx),
                Command::AllPlaced => self.finish_placing(ctx),
                Command::PlacingStopped => self.placing_stopped(ctx),
            }
        }
    }

    fn fetch(&mut self, download: Download, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_ref() else {
            return;
        };
        let request = FetchTarball {
            name: download.name.clone(),
            version: download.version.clone(),
            url: download.url.clone(),
            integrity: download.integrity.clone(),
            body_permits: Some(run.pipeline.body_permits().clone()),
            prepare: download.prepare,
        };
        let sent = self.actors.fetch.send(request);
        ctx.spawn(
            sent.into_actor(self)
                .map(move |reply, act, ctx| match reply {
                    Ok(result) => act.on_event(ctx, |p| p.fetched(download, result)),
                    Err(_) => act.fail(InstallError::ActorStopped("fetch"), ctx),
                }),
        );
    }

    fn extract(
        &mut self,
        download: Download,
        tarball: bytes::Bytes,
        replace_damaged: bool,
        ctx: &mut Context<Self>,
    ) {
        let request = Extract {
            name: download.name.clone(),
            version: download.version.clone(),
            cache_key: download.cache_key().to_string(),
            tarball,
            replace_damaged,
        };
        let sent = self.actors.extract.send(request);
        ctx.spawn(
            sent.into_actor(self)
                .map(move |reply, act, ctx| match reply {
                    Ok(result) => act.on_event(ctx, |p| p.extracted(&download, result)),
                    Err(_) => act.fail(InstallError::ActorStopped("extract"), ctx),
                }),
        );
    }

    fn clone_package(
        &mut self,
        package: PlannedPackage,
        from: PathBuf,
        check_files: bool,
        ctx: &mut Context<Self>,
    ) {
        let Some(run) = self.run.as_ref() else {
            return;
        };
        let request = ClonePackage {
            package: format!("{}@{}", package.name, package.version),
            from,
            to: run.request.project_dir.join(&package.path),
            check_files,
        };
        let sent = self.actors.clone.send(request);
        ctx.spawn(
            sent.into_actor(self)
                .map(move |reply, act, ctx| match reply {
                    Ok(result) => act.on_event(ctx, |p| p.cloned(package, result)),
                    Err(_) => act.fail(InstallError::ActorStopped("clone"), ctx),
                }),
        );
    }

    fn resolved(&mut self, resolution: Resolution, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        run.resolve_span = None;
        let request = Arc::clone(&run.request);
        let cache = self.cache.clone();
        let early = run.placing_early.clone();
        let prepare = tokio::task::spawn_blocking(move || {
            transaction::prepare(
                &request,
                resolution,
                &cache,
                early.as_deref().map(Vec::as_slice),
            )
        });
        ctx.spawn(
            prepare
                .into_actor(self)
                .map(|joined, act, ctx| match joined {
                    Ok(Ok(Prepare::Prepared(prepared))) => act.prepared(prepared, ctx),
                    Ok(Ok(Prepare::StopEarlyPlacing(checked))) => {
                        act.stop_early_placing(checked, ctx)
                    }
                    Ok(Err(error)) => act.fail(error, ctx),
                    Err(_) => act.fail(InstallError::ActorStopped("supervisor"), ctx),
                }),
        );
    }

    /// The resolved tree is not the one placed early: placing stops, and
    /// once no clone is under way, what stays is sorted out.
    fn stop_early_placing(&mut self, checked: Checked, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        tracing::info!("the resolved tree differs from the lockfile's: placing again");
        run.to_place_once_stopped = Some(checked);
        run.pipeline.stop_placing();
        self.dispatch(ctx);
    }

    /// No clone is under way any more: either `node_modules` is taken back
    /// (the install failed), or placing starts again from what is in place.
    fn placing_stopped(&mut self, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        if run.failure.is_some() {
            return self.take_back_node_modules(ctx);
        }
        let Some(checked) = run.to_place_once_stopped.take() else {
            return;
        };
        let request = Arc::clone(&run.request);
        let cache = self.cache.clone();
        let placed = run.pipeline.placed_packages().to_vec();
        let place = tokio::task::spawn_blocking(move || {
            transaction::place(&request, checked, &cache, InPlace::PlacedEarly(&placed))
        });
        ctx.spawn(place.into_actor(self).map(|joined, act, ctx| match joined {
            Ok(Ok(prepared)) => act.prepared(prepared, ctx),
            Ok(Err(error)) => act.fail(error, ctx),
            Err(_) => act.fail(InstallError::ActorStopped("supervisor"), ctx),
        }));
    }

    /// The install failed after placing into a `node_modules` that did not
    /// exist: it is removed before the error is answered.
    fn take_back_node_modules(&mut self, ctx: &mut Context<Self>) {
        let Some(mut run) = self.run.take() else {
            return;
        };
        let Some(error) = run.failure.take() else {
            return;
        };
        let node_modules = run.request.project_dir.join("node_modules");
        let removal = tokio::task::spawn_blocking(move || remove_any(&node_modules));
        ctx.spawn(removal.into_actor(self).map(move |removed, _act, _ctx| {
            if let Ok(Err(removal_error)) = removed {
                tracing::warn!(%removal_error, "could not remove the node_modules this install began");
            }
            let _ = run.responder.send(Err(error));
        }));
    }

    fn prepared(&mut self, prepared: Prepared, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        run.report.packuments_requested = prepared.packuments_requested;
        run.report.locked = prepared.locked;
        run.report.removed = prepared.removed;
        run.report.warnings.extend(prepared.warnings);
        run.transaction = Some(prepared.transaction);
        if run.request.lockfile_only {
            return self.commit(ctx);
        }
        let mut to_place = Vec::with_capacity(prepared.to_place.len());
        for (package, cached) in prepared.to_place {
            run.pipeline.want(package.download.clone(), cached);
            to_place.push(package);
        }
        self.on_event(ctx, |p| p.start_placing(prepared.kept, to_place));
    }

    /// Every package is in place: links inside packages, bins, then commit.
    fn finish_placing(&mut self, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let Some(transaction) = run.transaction.as_mut() else {
            return;
        };
        let placed = run.pipeline.placed_packages();
        match transaction::link_links_inside_packages(&run.request, &transaction.links, placed) {
            Ok(changed) => transaction.bins_need_linking |= changed,
            Err(error) => return self.fail(error, ctx),
        }
        if !transaction.bins_need_linking {
            return self.commit(ctx);
        }
        let requests = transaction::bin_requests(
            &run.request,
            placed,
            &transaction.links,
            &transaction.bundled,
        );
        let recipient = self.actors.link_bins.clone();
        let work = async move {
            for (package, request) in requests {
                match recipient.send(request).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        return Err(InstallError::Stage {
                            package,
                            source: Arc::new(StageError::LinkBins(error)),
                        })
                    }
                    Err(_) => return Err(InstallError::ActorStopped("clone")),
                }
            }
            Ok(())
        };
        ctx.spawn(work.into_actor(self).map(|result, act, ctx| match result {
            Ok(()) => act.commit(ctx),
            Err(error) => act.fail(error, ctx),
        }));
    }

    /// Writes the lockfiles (on a blocking thread) and answers the install.
    fn commit(&mut self, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let Some(transaction) = run.transaction.take() else {
            return;
        };
        let request = Arc::clone(&run.request);
        let placed = run.pipeline.placed_packages().to_vec();
        let any_skipped = run.pipeline.any_skipped();
        let bundled = transaction.bundled.clone();
        let write = tokio::task::spawn_blocking(move || {
            transaction::commit(&request, transaction, &placed, any_skipped)
        });
        let extract_capacity = self.limits.extract_capacity;
        ctx.spawn(write.into_actor(self).map(move |joined, act, _ctx| {
            let Some(mut run) = act.run.take() else {
                return;
            };
            let written = match joined {
                Ok(written) => written,
                Err(_) => Err(InstallError::ActorStopped("supervisor")),
            };
            let mut report = run.pipeline.take_report();
            let with_bundlers = transaction::bundled_placed(&bundled, &report.placed);
            report.placed.extend(with_bundlers);
            report.packuments_requested = run.report.packuments_requested;
            report.locked = run.report.locked;
            report.removed = run.report.removed;
            report.warnings.splice(0..0, run.report.warnings.drain(..));
            report.extract_capacity = extract_capacity;
            let _ = run
                .responder
                .send(written.map(|lockfile_written| InstallReport {
                    lockfile_written,
                    ..report
                }));
        }));
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(SUPERVISOR_MAILBOX);
    }
}

impl Handler<Install> for Supervisor {
    type Result = ResponseFuture<Result<InstallReport, InstallError>>;

    fn handle(&mut self, msg: Install, ctx: &mut Context<Self>) -> Self::Result {
        if self.run.is_some() {
            return Box::pin(async { Err(InstallError::Busy) });
        }
        if needs_node_version(&msg) {
            msg.node_version.find_ahead();
        }
        let (responder, answer) = oneshot::channel();
        let resolve = Resolve {
            project: msg.project.clone(),
            lockfile: msg.lockfile.as_ref().map(|(lock, _)| Arc::clone(lock)),
            registry: msg.registry.clone(),
            node_version: msg.node_version.clone(),
            legacy_peer_deps: msg.legacy_peer_deps,
            platform: msg.platform.clone(),
            notify: (!msg.lockfile_only).then(|| ctx.address().recipient()),
        };
        self.platform = msg.platform.clone();
        let optional_only = match &msg.lockfile {
            Some((lock, _)) if !msg.lockfile_only => optional_only(lock),
            _ => HashMap::new(),
        };
        self.run = Some(Run {
            request: Arc::new(msg),
            responder,
            pipeline: Pipeline::new(self.limits),
            transaction: None,
            placing_early: None,
            to_place_once_stopped: None,
            failure: None,
            optional_only,
            report: InstallReport::default(),
            sampled: Gauges::default(),
            _install_span: tracing::info_span!(span::INSTALL),
            resolve_span: Some(tracing::info_span!(span::RESOLVE)),
        });
        let sent = self.actors.resolver.send(resolve);
        self.start_from_lockfile(ctx);
        ctx.spawn(sent.into_actor(self).map(|reply, act, ctx| match reply {
            Ok(Ok(resolution)) => act.resolved(resolution, ctx),
            Ok(Err(error)) => act.fail(error.into(), ctx),
            Err(_) => act.fail(InstallError::ActorStopped("resolver"), ctx),
        }));
        Box::pin(async move {
            answer
                .await
                .unwrap_or(Err(InstallError::ActorStopped("supervisor")))
        })
    }
}

/// Whether the lockfile already shows that the engines check will need
/// the Node.js version (a locked package declares `engines.node`).
fn needs_node_version(request: &Install) -> bool {
    let Some((lock, _)) = &request.lockfile else {
        return false;
    };
    !request.lockfile_only
        && lock
            .packages
            .values()
            .any(|entry| entry.engines.contains_key("node"))
}

impl Supervisor {
    /// With a lockfile, into an empty `node_modules`, its packages are all
    /// to be placed: their downloads start now, while resolution checks the
    /// lockfile, rather than when it ends. One the resolution then drops is
    /// counted as an unused download. When `node_modules` does not exist
    /// (rather than `utoo ci` emptying it later), the packages in it are
    /// placed now too.
    fn start_from_lockfile(&mut self, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let request = Arc::clone(&run.request);
        let Some((lock, _)) = &request.lockfile else {
            return;
        };
        let node_modules = request.project_dir.join("node_modules");
        let absent = matches!(fs::symlink_metadata(&node_modules), Err(e) if e.kind() == io::ErrorKind::NotFound);
        if request.lockfile_only || !(absent || request.clean) {
            return;
        }
        // Optional packages wait for the resolution: whether one can be
        // installed here depends on the packages that need it, which the
        // resolution finds.
        let required: Vec<PlannedPackage> = locked_packages(lock, &request)
            .into_iter()
            .filter(|p| !p.optional)
            .collect();
        for package in &required {
            self.want(package.download.clone());
        }
        if !absent {
            return self.dispatch(ctx);
        }
        // So do packages in workspaces' own `node_modules`.
        let early: Vec<PlannedPackage> = required
            .into_iter()
            .filter(|p| p.path.starts_with("node_modules/") && is_install_path(&p.path))
            .collect();
        let Some(run) = self.run.as_mut() else {
            return;
        };
        run.placing_early = Some(Arc::new(early.clone()));
        self.on_event(ctx, |pipeline| pipeline.place_early(early));
    }

    /// Makes sure the cache will hold a package the resolution placed.
    fn want_placed(&mut self, manifest: &Manifest) {
        // Packages this platform can't run are locked but never downloaded.
        if !self
            .platform
            .allows(&manifest.os, &manifest.cpu, &manifest.libc)
        {
            return;
        }
        let Some(run) = self.run.as_ref() else {
            return;
        };
        let held_back = run
            .optional_only
            .get(&manifest.name)
            .is_some_and(|versions| versions.contains(&manifest.version));
        if held_back {
            return;
        }
        let request = &run.request;
        let download = download_for(
            &request.registry,
            &request.project_dir,
            &request.prepare_git,
            manifest,
        );
        self.want(download);
    }

    /// Makes sure the cache will hold `download`.
    fn want(&mut self, download: Download) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        if run.pipeline.knows(&download.cache_key()) {
            return;
        }
        let cached = download.complete_entry(&self.cache);
        run.pipeline.want(download, cached);
    }
}

impl Handler<PackagePlaced> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: PackagePlaced, ctx: &mut Context<Self>) {
        self.want_placed(&msg.manifest);
        self.dispatch(ctx);
    }
}
