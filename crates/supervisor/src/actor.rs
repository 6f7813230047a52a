use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix::prelude::*;
use tokio::sync::oneshot;
use utoo_clone_actor::{ClonePackage, LinkBins};
use utoo_extract_actor::Extract;
use utoo_fetch_actor::FetchTarball;
use utoo_lockfile::{write_atomic, JsonFormat, Lockfile};
use utoo_npm_types::Platform;
use utoo_package_cache::CacheLayout;
use utoo_resolver_actor::{lockfile_from_tree, PackagePlaced, Resolution, Resolve, ResolverActor};

use crate::clone_queue::{CloneQueue, EntryStatus};
use crate::messages::{Install, InstallError, InstallReport, PlacedPackage, Stage};
use crate::node_modules::{
    hidden_lockfile, is_install_path, keep_what_is_in_place, place_links, Placement,
    HIDDEN_LOCKFILE,
};
use crate::plan::{
    download_for, engine_mismatches, parent_path, plan, Download, PlannedLink, PlannedPackage,
};

/// The actors a supervisor drives. Fetch, extract and clone are taken as
/// recipients so that tools (and tests) can put their own in between.
pub struct Actors {
    pub resolver: Addr<ResolverActor>,
    pub fetch: Recipient<FetchTarball>,
    pub extract: Recipient<Extract>,
    pub clone: Recipient<ClonePackage>,
    pub link_bins: Recipient<LinkBins>,
}

/// Capacities of the blocking stages (threads of their `SyncArbiter`s).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub extract_capacity: usize,
    pub clone_capacity: usize,
}

impl Limits {
    /// Downloads in flight plus tarballs waiting for extraction never exceed this,
    /// so the extract backlog stays within twice the extract capacity.
    pub fn max_extract_backlog(&self) -> usize {
        2 * self.extract_capacity.max(1)
    }

    fn max_clones_queued(&self) -> usize {
        2 * self.clone_capacity.max(1)
    }
}

/// Reports a queue's new depth (drawn as a counter track in traces).
fn sample(queue: &'static str, depth: usize) {
    tracing::info!(target: "utoo::queue", queue, depth = depth as u64);
}

/// Messages waiting in the supervisor's mailbox before senders must wait.
pub const SUPERVISOR_MAILBOX: usize = 256;

#[derive(Debug, Clone)]
enum EntryState {
    Queued,
    Fetching,
    Extracting,
    Ready(PathBuf),
    Failed(Stage, String),
}

/// The state of the one install a supervisor owns.
struct Run {
    request: Install,
    responder: Option<oneshot::Sender<Result<InstallReport, InstallError>>>,
    entries: HashMap<String, EntryState>,
    fetch_queue: VecDeque<Download>,
    downloads_in_flight: usize,
    /// Tarballs downloaded and not yet extracted (queued or being extracted).
    extract_backlog: usize,
    /// Packages to clone; `None` until resolution ends.
    clone_queue: Option<CloneQueue>,
    /// Cache keys whose entry was found damaged, to be extracted again.
    damaged: HashSet<String>,
    /// Packages cloned again after their entry was repaired: a second
    /// damage is fatal rather than a loop.
    recloned: HashSet<String>,
    clones_in_flight: usize,
    /// Packages in place, kept or cloned.
    placed: Vec<PlannedPackage>,
    /// Links to workspaces and `file:` folders, in place once resolved;
    /// links inside package folders (breaking dependency cycles) once all
    /// packages are.
    links: Vec<PlannedLink>,
    new_lockfile: Option<String>,
    /// The new lockfile and the hidden lockfile expected once all is placed,
    /// to record what ends up in `node_modules`.
    installed_lock: Option<(Lockfile, String)>,
    /// False when `node_modules` was already as planned: its bins are too.
    bins_need_linking: bool,
    /// True when the hidden lockfile on disk already records the plan.
    hidden_lockfile_current: bool,
    report: InstallReport,
    /// Open for the whole install, and for resolution: they end when dropped.
    _install_span: tracing::Span,
    resolve_span: Option<tracing::Span>,
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
        if let Some(mut run) = self.run.take() {
            tracing::debug!(%error, "install failed");
            if let Some(responder) = run.responder.take() {
                let _ = responder.send(Err(error));
            }
        }
    }

    /// Makes sure the cache will hold `download`.
    fn want(&mut self, download: Download) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let key = download.cache_key().to_string();
        if run.entries.contains_key(&key) {
            return;
        }
        let dir = self
            .cache
            .entry_dir(&download.name, &download.version, &key);
        if CacheLayout::is_complete(&dir) {
            tracing::info!(package = %format!("{}@{}", download.name, download.version), "cache hit");
            run.report.cache_hits += 1;
            run.entries.insert(key, EntryState::Ready(dir));
        } else {
            run.entries.insert(key, EntryState::Queued);
            run.fetch_queue.push_back(download);
        }
    }

    /// Starts whatever work the limits allow.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        let max_backlog = self.limits.max_extract_backlog();
        while let Some(run) = self.run.as_mut() {
            if run.downloads_in_flight + run.extract_backlog >= max_backlog {
                break;
            }
            let Some(download) = run.fetch_queue.pop_front() else {
                break;
            };
            self.start_fetch(download, ctx);
        }
        self.start_clones(ctx);
    }

    fn start_fetch(&mut self, download: Download, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        run.downloads_in_flight += 1;
        sample("downloads_in_flight", run.downloads_in_flight);
        run.entries
            .insert(download.cache_key().to_string(), EntryState::Fetching);
        let request = FetchTarball {
            name: download.name.clone(),
            version: download.version.clone(),
            url: download.url.clone(),
            integrity: download.integrity.clone(),
        };
        let sent = self.actors.fetch.send(request);
        ctx.spawn(sent.into_actor(self).map(move |result, act, ctx| {
            act.fetched(download, result, ctx);
        }));
    }

    fn fetched(
        &mut self,
        download: Download,
        result: Result<
            Result<utoo_fetch_actor::Tarball, utoo_fetch_actor::FetchError>,
            MailboxError,
        >,
        ctx: &mut Context<Self>,
    ) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        run.downloads_in_flight -= 1;
        sample("downloads_in_flight", run.downloads_in_flight);
        let key = download.cache_key().to_string();
        match result {
            Ok(Ok(tarball)) => {
                run.extract_backlog += 1;
                sample("extract_backlog", run.extract_backlog);
                run.report.max_extract_backlog =
                    run.report.max_extract_backlog.max(run.extract_backlog);
                run.report.tarballs_downloaded += 1;
                run.report.bytes_downloaded += tarball.bytes.len() as u64;
                run.entries.insert(key.clone(), EntryState::Extracting);
                let request = Extract {
                    name: download.name.clone(),
                    version: download.version.clone(),
                    replace_damaged: run.damaged.contains(&key),
                    cache_key: key,
                    tarball: tarball.bytes,
                };
                let sent = self.actors.extract.send(request);
                ctx.spawn(sent.into_actor(self).map(move |result, act, ctx| {
                    act.extracted(download, result, ctx);
                }));
            }
            Ok(Err(error)) => {
                let state = EntryState::Failed(Stage::Fetch, error.to_string());
                if let Err(error) = entry_changed(run, key, state) {
                    return self.fail(error);
                }
            }
            Err(_) => return self.fail(InstallError::ActorStopped("fetch")),
        }
        self.pump(ctx);
    }

    fn extracted(
        &mut self,
        download: Download,
        result: Result<
            Result<utoo_extract_actor::CacheEntry, utoo_extract_actor::ExtractError>,
            MailboxError,
        >,
        ctx: &mut Context<Self>,
    ) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        run.extract_backlog -= 1;
        sample("extract_backlog", run.extract_backlog);
        let key = download.cache_key().to_string();
        let state = match result {
            Ok(Ok(entry)) => EntryState::Ready(entry.dir),
            Ok(Err(error)) => EntryState::Failed(Stage::Extract, error.to_string()),
            Err(_) => return self.fail(InstallError::ActorStopped("extract")),
        };
        if let Err(error) = entry_changed(run, key, state) {
            return self.fail(error);
        }
        self.pump(ctx);
    }

    fn resolved(
        &mut self,
        result: Result<Result<Resolution, utoo_resolver_actor::ResolveError>, MailboxError>,
        ctx: &mut Context<Self>,
    ) {
        let resolution = match result {
            Ok(Ok(resolution)) => resolution,
            Ok(Err(error)) => return self.fail(error.into()),
            Err(_) => return self.fail(InstallError::ActorStopped("resolver")),
        };
        let Some(run) = self.run.as_mut() else {
            return;
        };
        run.resolve_span = None;
        let request = &run.request;
        run.report.packuments_requested = resolution.packuments_requested;
        run.report
            .warnings
            .extend(resolution.tree.warnings.iter().map(ToString::to_string));
        run.report.locked = resolution.tree.packages.len();
        let (lockfile, text) = tracing::info_span!("lockfile").in_scope(|| {
            let lockfile =
                lockfile_from_tree(&request.package_json, &request.project, &resolution.tree);
            let text = lockfile.to_json(&JsonFormat::detect(&request.package_json_text));
            (lockfile, text)
        });
        if request.frozen_lockfile
            && !same_lock(
                request.lockfile.as_ref().map(|(lock, _)| &**lock),
                &lockfile,
            )
        {
            let path = request.project_dir.join("package-lock.json");
            return self.fail(InstallError::FrozenLockfile { path });
        }
        run.new_lockfile = Some(text);
        if request.lockfile_only {
            return self.finish();
        }
        if let Some(node) = (request.node_version)() {
            let mismatches = engine_mismatches(&resolution.tree, &node);
            if request.engine_strict && !mismatches.is_empty() {
                return self.fail(InstallError::Engine(mismatches.join("; ")));
            }
            run.report
                .warnings
                .extend(mismatches.into_iter().map(|m| format!("EBADENGINE {m}")));
        }
        let request = &run.request;
        let planned = plan(
            &resolution.tree,
            &request.registry,
            &request.project_dir,
            request.omit,
        );
        if let Some(unsafe_path) = planned
            .packages
            .iter()
            .map(|p| &p.path)
            .chain(planned.links.iter().map(|l| &l.path))
            .find(|path| !is_install_path(path))
        {
            return self.fail(InstallError::UnsafeInstallPath(unsafe_path.clone()));
        }
        let node_modules = request.project_dir.join("node_modules");
        let _check = tracing::info_span!("check node_modules").entered();
        let expected_hidden = hidden_lockfile(&lockfile, &planned.packages, &planned.links);
        // A link inside a package's folder goes in once that package is placed.
        let outer_links: Vec<PlannedLink> = planned
            .links
            .iter()
            .filter(|link| !link.inside_package())
            .cloned()
            .collect();
        let placement = keep_what_is_in_place(
            &node_modules,
            planned.packages,
            &planned.links,
            &expected_hidden,
        )
        .and_then(|placement| {
            let links_changed = place_links(&request.project_dir, &outer_links)?;
            Ok((placement, links_changed))
        });
        let (placement, links_changed) = match placement {
            Ok(placed) => placed,
            Err(source) => {
                return self.fail(InstallError::Io {
                    path: node_modules,
                    source,
                })
            }
        };
        let Placement {
            kept,
            to_place,
            changed,
            hidden_current,
        } = placement;
        run.bins_need_linking = changed || links_changed;
        run.links = planned.links;
        run.hidden_lockfile_current = hidden_current;
        run.installed_lock = Some((lockfile, expected_hidden));
        let mut queue = CloneQueue::new(kept.iter().map(|p| p.path.clone()));
        run.placed.extend(kept);
        for package in &to_place {
            self.want(package.download.clone());
        }
        let Some(run) = self.run.as_mut() else {
            return;
        };
        for package in to_place {
            if let Err(error) = queue.add(package, |key| entry_status(&run.entries, key)) {
                return self.fail(error);
            }
        }
        run.clone_queue = Some(queue);
        self.pump(ctx);
    }

    /// Clones what the queue has ready, within the clone bound; links bins
    /// (or finishes) once everything is in place.
    fn start_clones(&mut self, ctx: &mut Context<Self>) {
        let max_queued = self.limits.max_clones_queued();
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let Some(queue) = run.clone_queue.as_mut() else {
            return;
        };
        let mut to_start = Vec::new();
        while run.clones_in_flight + to_start.len() < max_queued {
            match queue.next_ready() {
                Some(next) => to_start.push(next),
                None => break,
            }
        }
        let all_done = queue.is_done() && to_start.is_empty() && run.clones_in_flight == 0;
        run.report.warnings.append(&mut queue.warnings);
        let project_dir = run.request.project_dir.clone();
        for (package, dir) in to_start {
            self.start_clone(package, dir, &project_dir, ctx);
        }
        if all_done {
            let link_bins = match self.place_links_inside_packages() {
                Ok(link_bins) => link_bins,
                Err(error) => return self.fail(error),
            };
            if link_bins {
                self.link_bins(ctx);
            } else {
                self.finish();
            }
        }
    }

    /// Places the links that live inside package folders, now that those
    /// folders are in place (not in one that failed); true if bins need linking.
    fn place_links_inside_packages(&mut self) -> Result<bool, InstallError> {
        let Some(run) = self.run.as_mut() else {
            return Ok(false);
        };
        let placed: HashSet<&str> = run.placed.iter().map(|p| p.path.as_str()).collect();
        let inside: Vec<PlannedLink> = run
            .links
            .iter()
            .filter(|link| parent_path(&link.path).is_some_and(|p| placed.contains(p)))
            .cloned()
            .collect();
        let project_dir = &run.request.project_dir;
        let changed = place_links(project_dir, &inside).map_err(|source| InstallError::Io {
            path: project_dir.join("node_modules"),
            source,
        })?;
        run.bins_need_linking |= changed;
        Ok(run.bins_need_linking)
    }

    fn start_clone(
        &mut self,
        package: PlannedPackage,
        from: PathBuf,
        project_dir: &Path,
        ctx: &mut Context<Self>,
    ) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        run.clones_in_flight += 1;
        sample("clones_queued", run.clones_in_flight);
        let request = ClonePackage {
            package: format!("{}@{}", package.name, package.version),
            from,
            to: project_dir.join(&package.path),
        };
        let sent = self.actors.clone.send(request);
        ctx.spawn(sent.into_actor(self).map(move |result, act, ctx| {
            act.cloned(package, result, ctx);
        }));
    }

    fn cloned(
        &mut self,
        package: PlannedPackage,
        result: Result<
            Result<utoo_clone_actor::CloneStats, utoo_clone_actor::CloneError>,
            MailboxError,
        >,
        ctx: &mut Context<Self>,
    ) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        run.clones_in_flight -= 1;
        sample("clones_queued", run.clones_in_flight);
        match result {
            Ok(Ok(stats)) => {
                run.report.added += 1;
                run.report.placed.push(PlacedPackage {
                    path: package.path.clone(),
                    name: package.name.clone(),
                    version: package.version.clone(),
                    optional: package.optional,
                    has_install_script: package.has_install_script,
                });
                run.report.clone_strategy = run.report.clone_strategy.or(stats.strategy);
                let placed = match run.clone_queue.as_mut() {
                    Some(queue) => {
                        queue.placed(&package.path, |key| entry_status(&run.entries, key))
                    }
                    None => Ok(()),
                };
                run.placed.push(package);
                if let Err(error) = placed {
                    return self.fail(error);
                }
            }
            Ok(Err(error)) if error.is_damaged_entry() => {
                if let Err(error) = self.repair_entry(package, &error) {
                    return self.fail(error);
                }
            }
            Ok(Err(error)) if package.optional => {
                run.report.warnings.push(format!(
                    "skipping optional {}@{}: {error}",
                    package.name, package.version
                ));
                if let Some(queue) = run.clone_queue.as_mut() {
                    queue.skip(package.path.clone());
                }
            }
            Ok(Err(error)) => {
                return self.fail(InstallError::Stage {
                    package: format!("{}@{}", package.name, package.version),
                    stage: Stage::Clone,
                    cause: error.to_string(),
                })
            }
            Err(_) => return self.fail(InstallError::ActorStopped("clone")),
        }
        self.pump(ctx);
    }

    /// A package's cache entry turned out damaged while it was cloned: the
    /// entry is fetched and extracted again (once per install), and the
    /// package waits for it, as npm refetches a corrupted cache entry.
    fn repair_entry(
        &mut self,
        package: PlannedPackage,
        error: &utoo_clone_actor::CloneError,
    ) -> Result<(), InstallError> {
        let Some(run) = self.run.as_mut() else {
            return Ok(());
        };
        let label = format!("{}@{}", package.name, package.version);
        let key = package.download.cache_key().to_string();
        let damage = causes(error);
        if !run.recloned.insert(package.path.clone()) {
            return Err(InstallError::Stage {
                package: label,
                stage: Stage::Clone,
                cause: format!("{error}: {damage}"),
            });
        }
        if run.damaged.insert(key.clone()) {
            run.report.warnings.push(format!(
                "the cached copy of {label} is damaged ({damage}); downloading it again"
            ));
            self.want_again(package.download.clone());
        }
        let Some(run) = self.run.as_mut() else {
            return Ok(());
        };
        match run.clone_queue.as_mut() {
            Some(queue) => queue.retry(package, |key| entry_status(&run.entries, key)),
            None => Ok(()),
        }
    }

    /// Queues a download even though the cache has an entry for it.
    fn want_again(&mut self, download: Download) {
        if let Some(run) = self.run.as_mut() {
            run.entries
                .insert(download.cache_key().to_string(), EntryState::Queued);
            run.fetch_queue.push_back(download);
        }
    }

    /// Links bins once every package is in place; the first package (in
    /// install-path order) to claim a name in a `.bin` folder keeps it.
    fn link_bins(&mut self, ctx: &mut Context<Self>) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let mut placed: Vec<(&str, String, &BTreeMap<String, String>)> = run
            .placed
            .iter()
            .map(|p| {
                (
                    p.path.as_str(),
                    format!("{}@{}", p.name, p.version),
                    &p.bins,
                )
            })
            .chain(run.links.iter().map(|l| {
                (
                    l.path.as_str(),
                    format!("{}@{}", l.name, l.version),
                    &l.bins,
                )
            }))
            .filter(|(_, _, bins)| !bins.is_empty())
            .collect();
        placed.sort_by(|a, b| utoo_npm_collate::compare(a.0, b.0));
        let mut claimed: HashMap<PathBuf, HashSet<String>> = HashMap::new();
        let mut requests = Vec::new();
        for (path, package, bins) in placed {
            let (node_modules, folder) = match path.rsplit_once("node_modules/") {
                Some((prefix, folder)) => (
                    run.request.project_dir.join(prefix).join("node_modules"),
                    folder.to_string(),
                ),
                None => continue,
            };
            let names = claimed.entry(node_modules.clone()).or_default();
            let bins: BTreeMap<String, String> = bins
                .iter()
                .filter(|(name, _)| names.insert((*name).clone()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            requests.push((
                package,
                LinkBins {
                    node_modules,
                    package: folder,
                    bins,
                },
            ));
        }
        let recipient = self.actors.link_bins.clone();
        let work = async move {
            for (package, request) in requests {
                match recipient.send(request).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        return Err(InstallError::Stage {
                            package,
                            stage: Stage::LinkBins,
                            cause: error.to_string(),
                        })
                    }
                    Err(_) => return Err(InstallError::ActorStopped("clone")),
                }
            }
            Ok(())
        };
        ctx.spawn(work.into_actor(self).map(|result, act, _ctx| match result {
            Ok(()) => act.finish(),
            Err(error) => act.fail(error),
        }));
    }

    /// Writes the lockfile (when it changed) and answers the install.
    fn finish(&mut self) {
        let Some(mut run) = self.run.take() else {
            return;
        };
        let written = write_lockfiles(&mut run);
        run.report.extract_capacity = self.limits.extract_capacity;
        if let Some(responder) = run.responder.take() {
            let _ = responder.send(written.map(|()| run.report));
        }
    }
}

/// Writes `package-lock.json` when it changed, and the hidden lockfile that
/// records what `node_modules` now holds (so the next install keeps it).
fn write_lockfiles(run: &mut Run) -> Result<(), InstallError> {
    let project_dir = run.request.project_dir.clone();
    if let Some(text) = &run.new_lockfile {
        let unchanged = run
            .request
            .lockfile
            .as_ref()
            .is_some_and(|(_, old)| old == text);
        if !unchanged {
            write_atomic(&project_dir.join("package-lock.json"), text)?;
            run.report.lockfile_written = true;
        }
    }
    if let Some((mut installed, expected)) = run.installed_lock.take() {
        // Optional packages that failed are missing from what was expected.
        let any_skipped = run
            .clone_queue
            .as_ref()
            .is_some_and(CloneQueue::any_skipped);
        let text = if !any_skipped {
            expected
        } else {
            let placed: HashSet<&str> = run
                .placed
                .iter()
                .map(|p| p.path.as_str())
                .chain(run.links.iter().map(|l| l.path.as_str()))
                .collect();
            installed
                .packages
                .retain(|path, _| placed.contains(path.as_str()));
            installed.to_json(&JsonFormat::default())
        };
        let node_modules = project_dir.join("node_modules");
        let path = node_modules.join(HIDDEN_LOCKFILE);
        // The file was read before placing: rewrite it only when it didn't
        // match the plan, or optional failures changed what is in place.
        if any_skipped || !run.hidden_lockfile_current {
            std::fs::create_dir_all(&node_modules).map_err(|source| InstallError::Io {
                path: node_modules.clone(),
                source,
            })?;
            write_atomic(&path, &text)?;
        }
    }
    if !run.request.lockfile_only {
        let lockfile_text = run.new_lockfile.as_deref().unwrap_or_default();
        let node_modules = project_dir.join("node_modules");
        crate::state::record(
            &node_modules,
            &crate::state::fingerprint(&run.request, lockfile_text),
        )
        .map_err(|source| InstallError::Io {
            path: node_modules,
            source,
        })?;
    }
    Ok(())
}

/// The causes below an error's own message, joined as `a: b`.
fn causes(error: &dyn std::error::Error) -> String {
    std::iter::successors(error.source(), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

fn entry_status<'a>(entries: &'a HashMap<String, EntryState>, key: &str) -> EntryStatus<'a> {
    match entries.get(key) {
        Some(EntryState::Ready(dir)) => EntryStatus::Ready(dir),
        Some(EntryState::Failed(stage, cause)) => EntryStatus::Failed(*stage, cause),
        _ => EntryStatus::Pending,
    }
}

/// Records a cache entry's new state and lets the clone queue know.
fn entry_changed(run: &mut Run, key: String, state: EntryState) -> Result<(), InstallError> {
    if let Some(queue) = run.clone_queue.as_mut() {
        match &state {
            EntryState::Ready(dir) => queue.entry_ready(&key, dir),
            EntryState::Failed(stage, cause) => queue.entry_failed(&key, *stage, cause)?,
            _ => {}
        }
    }
    run.entries.insert(key, state);
    Ok(())
}

/// Whether two lockfiles lock the same packages at the same versions for the same root.
fn same_lock(old: Option<&Lockfile>, new: &Lockfile) -> bool {
    let Some(old) = old else {
        return false;
    };
    let signature = |lock: &Lockfile| {
        lock.packages
            .iter()
            .map(|(path, e)| {
                let root_deps = path.is_empty().then(|| {
                    (
                        e.dependencies.clone(),
                        e.dev_dependencies.clone().unwrap_or_default(),
                        e.optional_dependencies.clone(),
                        e.peer_dependencies.clone(),
                    )
                });
                (
                    path.clone(),
                    e.version.clone(),
                    e.integrity.clone(),
                    root_deps,
                )
            })
            .collect::<Vec<_>>()
    };
    signature(old) == signature(new)
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
        let (responder, answer) = oneshot::channel();
        let resolve = Resolve {
            project: msg.project.clone(),
            lockfile: msg.lockfile.as_ref().map(|(lock, _)| Arc::clone(lock)),
            registry: msg.registry.clone(),
            node_version: msg.node_version,
            legacy_peer_deps: msg.legacy_peer_deps,
            platform: msg.platform.clone(),
            notify: (!msg.lockfile_only).then(|| ctx.address().recipient()),
        };
        self.platform = msg.platform.clone();
        self.run = Some(Run {
            request: msg,
            responder: Some(responder),
            entries: HashMap::new(),
            fetch_queue: VecDeque::new(),
            downloads_in_flight: 0,
            extract_backlog: 0,
            clone_queue: None,
            damaged: HashSet::new(),
            recloned: HashSet::new(),
            clones_in_flight: 0,
            placed: Vec::new(),
            links: Vec::new(),
            new_lockfile: None,
            installed_lock: None,
            bins_need_linking: true,
            hidden_lockfile_current: false,
            report: InstallReport::default(),
            _install_span: tracing::info_span!("install"),
            resolve_span: Some(tracing::info_span!("resolve")),
        });
        let sent = self.actors.resolver.send(resolve);
        ctx.spawn(
            sent.into_actor(self)
                .map(|result, act, ctx| act.resolved(result, ctx)),
        );
        Box::pin(async move {
            answer
                .await
                .unwrap_or(Err(InstallError::ActorStopped("supervisor")))
        })
    }
}

impl Handler<PackagePlaced> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: PackagePlaced, ctx: &mut Context<Self>) {
        let manifest = &msg.manifest;
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
        let download = download_for(&run.request.registry, &run.request.project_dir, manifest);
        self.want(download);
        self.pump(ctx);
    }
}
