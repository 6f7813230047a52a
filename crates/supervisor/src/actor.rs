//! The supervisor actor: a thin dispatcher between the [`Pipeline`] (what
//! to start), the other actors (who do it) and the install
//! [`transaction`](crate::transaction) (what happens before and after).

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
use crate::pipeline::{Command, Gauges, Limits, Pipeline};
use crate::plan::{download_for, locked_downloads, Download, PlannedPackage};
use crate::transaction::{self, Prepared, Transaction};

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

    fn fail(&mut self, error: InstallError) {
        if let Some(run) = self.run.take() {
            tracing::debug!(%error, "install failed");
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
            Err(error) => self.fail(error),
        }
    }

    fn dispatch(&mut self, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let commands = run.pipeline.next_commands();
        run.sample_gauges();
        for command in commands {
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
                    Err(_) => act.fail(InstallError::ActorStopped("fetch")),
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
                    Err(_) => act.fail(InstallError::ActorStopped("extract")),
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
                    Err(_) => act.fail(InstallError::ActorStopped("clone")),
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
        let prepare =
            tokio::task::spawn_blocking(move || transaction::prepare(&request, resolution, &cache));
        ctx.spawn(
            prepare
                .into_actor(self)
                .map(|joined, act, ctx| match joined {
                    Ok(Ok(prepared)) => act.prepared(prepared, ctx),
                    Ok(Err(error)) => act.fail(error),
                    Err(_) => act.fail(InstallError::ActorStopped("supervisor")),
                }),
        );
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
            Err(error) => return self.fail(error),
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
            Err(error) => act.fail(error),
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
        self.run = Some(Run {
            request: Arc::new(msg),
            responder,
            pipeline: Pipeline::new(self.limits),
            transaction: None,
            report: InstallReport::default(),
            sampled: Gauges::default(),
            _install_span: tracing::info_span!(span::INSTALL),
            resolve_span: Some(tracing::info_span!(span::RESOLVE)),
        });
        let sent = self.actors.resolver.send(resolve);
        self.want_locked_downloads(ctx);
        ctx.spawn(sent.into_actor(self).map(|reply, act, ctx| match reply {
            Ok(Ok(resolution)) => act.resolved(resolution, ctx),
            Ok(Err(error)) => act.fail(error.into()),
            Err(_) => act.fail(InstallError::ActorStopped("resolver")),
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
    /// Into an empty `node_modules`, a lockfile's packages are all to be
    /// placed: their downloads start now, while resolution checks the
    /// lockfile, rather than when it ends. One the resolution then drops
    /// is counted as an unused download.
    fn want_locked_downloads(&mut self, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_ref() else {
            return;
        };
        let request = Arc::clone(&run.request);
        let Some((lock, _)) = &request.lockfile else {
            return;
        };
        let into_empty = request.clean || !request.project_dir.join("node_modules").exists();
        if request.lockfile_only || !into_empty {
            return;
        }
        for manifest in locked_downloads(lock, request.omit) {
            self.want_placed(&manifest);
        }
        self.dispatch(ctx);
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
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let request = &run.request;
        let download = download_for(
            &request.registry,
            &request.project_dir,
            &request.prepare_git,
            manifest,
        );
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
