//! The install's schedule, with no actors and no I/O: events go in (a
//! tarball is wanted, a download, an extraction or a clone finished), and
//! [`Pipeline::next_commands`] says what to start now (fetch this, extract
//! this, clone this, everything is placed). Its bounds are the supervisor's
//! promises:
//! - the extract backlog (tarballs downloaded and not yet extracted) never
//!   exceeds twice the extract capacity. The pipeline owns that many
//!   [`BodyPermits`]; a download reads its body only holding one (the fetch
//!   actor waits for it with the response's headers in and its body
//!   unread), and the pipeline lets go of it when the tarball's extraction
//!   ends. So bodies being read plus the backlog stay within the bound,
//!   while requests in flight are bounded only by the network concurrency;
//! - clones outstanding never exceed twice the clone capacity.
//!
//! Into an empty `node_modules`, placing can start before resolution ends
//! ([`Pipeline::place_early`]): the lockfile's tree is cloned while the
//! resolution checks it. The resolution then either confirms it
//! ([`Pipeline::start_placing`] goes on from there) or not: placing stops
//! ([`Pipeline::stop_placing`]), and once the clones under way end
//! ([`Command::PlacingStopped`]) the supervisor sorts out what to keep.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use utoo_clone_actor::{CloneError, CloneStats};
use utoo_extract_actor::{CacheEntry, ExtractError};
use utoo_fetch_actor::{BodyPermit, BodyPermits, FetchError, Tarball};
use utoo_telemetry::queue;

use crate::causes::causes;
use crate::clone_queue::{CloneQueue, EntryStatus};
use crate::messages::{InstallError, InstallReport, PlacedPackage, StageError};
use crate::plan::{CachedEntry, Download, PlannedPackage};

/// Capacities of the blocking stages (threads of their `SyncArbiter`s).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub extract_capacity: usize,
    pub clone_capacity: usize,
    /// Tarball requests in flight at most (their bodies wait for a permit).
    pub network_concurrency: usize,
}

impl Limits {
    /// Tarball bodies being read plus tarballs waiting for extraction never
    /// exceed this, so the extract backlog stays within twice the extract
    /// capacity.
    pub fn max_extract_backlog(&self) -> usize {
        2 * self.extract_capacity.max(1)
    }

    fn max_downloads_in_flight(&self) -> usize {
        self.network_concurrency.max(1)
    }

    fn max_clones_queued(&self) -> usize {
        2 * self.clone_capacity.max(1)
    }
}

/// Work the pipeline wants started.
#[derive(Debug)]
pub enum Command {
    Fetch(Download),
    Extract {
        download: Download,
        tarball: Bytes,
        /// The cache entry was found damaged: replace it.
        replace_damaged: bool,
    },
    Clone {
        package: PlannedPackage,
        from: PathBuf,
        /// False when this install extracted the entry: its files were
        /// just written, so the clone doesn't check them again.
        check_files: bool,
    },
    /// Every package is in place or skipped: bins and lockfiles can follow.
    AllPlaced,
    /// Placing was stopped and no clone is under way any more.
    PlacingStopped,
}

/// The queue depths a trace draws as counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gauges {
    pub downloads_in_flight: usize,
    pub extract_backlog: usize,
    pub clones_queued: usize,
}

impl Gauges {
    pub fn named(&self) -> [(&'static str, usize); 3] {
        [
            (queue::DOWNLOADS_IN_FLIGHT, self.downloads_in_flight),
            (queue::EXTRACT_BACKLOG, self.extract_backlog),
            (queue::CLONES_QUEUED, self.clones_queued),
        ]
    }
}

#[derive(Debug, Clone)]
enum EntryState {
    Queued,
    Fetching,
    Extracting,
    Ready(CachedEntry),
    Failed(Arc<StageError>),
}

/// The schedule of one install.
pub struct Pipeline {
    limits: Limits,
    entries: HashMap<String, EntryState>,
    fetch_queue: VecDeque<Download>,
    extract_queue: VecDeque<Command>,
    downloads_in_flight: usize,
    /// Tarballs downloaded and not yet extracted (queued or being extracted).
    extract_backlog: usize,
    /// What a download needs to read its body: [`Limits::max_extract_backlog`] of them.
    body_permits: BodyPermits,
    /// The permits of the tarballs in the backlog, by cache key.
    held_permits: HashMap<String, BodyPermit>,
    /// Cache keys this install extracted.
    extracted_here: HashSet<String>,
    /// Cache keys downloaded before resolution ended: some may turn out unneeded.
    fetched_early: HashSet<String>,
    resolved: bool,
    /// Packages to clone; `None` until placing starts.
    clone_queue: Option<CloneQueue>,
    /// What [`Pipeline::place_early`] queued, until the resolution confirms it.
    early: Option<EarlyPlacing>,
    /// No new clone starts: placing was stopped.
    stopping: bool,
    stop_announced: bool,
    clones_in_flight: usize,
    /// Cache keys whose entry was found damaged, to be extracted again.
    damaged: HashSet<String>,
    /// Packages cloned again after their entry was repaired: a second
    /// damage is fatal rather than a loop.
    recloned: HashSet<String>,
    /// Packages in place, kept or cloned.
    placed: Vec<PlannedPackage>,
    all_placed_announced: bool,
    report: InstallReport,
}

impl Pipeline {
    pub fn new(limits: Limits) -> Pipeline {
        Pipeline {
            limits,
            entries: HashMap::new(),
            fetch_queue: VecDeque::new(),
            extract_queue: VecDeque::new(),
            downloads_in_flight: 0,
            extract_backlog: 0,
            body_permits: BodyPermits::new(limits.max_extract_backlog()),
            held_permits: HashMap::new(),
            extracted_here: HashSet::new(),
            fetched_early: HashSet::new(),
            resolved: false,
            clone_queue: None,
            early: None,
            stopping: false,
            stop_announced: false,
            clones_in_flight: 0,
            damaged: HashSet::new(),
            recloned: HashSet::new(),
            placed: Vec::new(),
            all_placed_announced: false,
            report: InstallReport::default(),
        }
    }

    /// Whether the tarball with this cache key is already wanted.
    pub fn knows(&self, cache_key: &str) -> bool {
        self.entries.contains_key(cache_key)
    }

    /// Makes sure the cache will hold `download`; `cached` is its complete
    /// cache entry, when the cache has one.
    pub fn want(&mut self, download: Download, cached: Option<CachedEntry>) {
        let key = download.cache_key().to_string();
        if self.entries.contains_key(&key) {
            return;
        }
        match cached {
            Some(entry) => {
                tracing::info!(package = %format!("{}@{}", download.name, download.version), "cache hit");
                self.report.cache_hits += 1;
                self.entries.insert(key, EntryState::Ready(entry));
            }
            None => {
                self.entries.insert(key, EntryState::Queued);
                self.fetch_queue.push_back(download);
            }
        }
    }

    /// Starts cloning `packages` (each already [`Pipeline::want`]ed; parents
    /// before the packages nested in them) into an empty `node_modules`
    /// before resolution ends. Their failed downloads fail nothing until
    /// [`Pipeline::start_placing`] confirms that they are wanted.
    pub fn place_early(&mut self, packages: Vec<PlannedPackage>) -> Result<(), InstallError> {
        let mut queue = CloneQueue::ahead_of_resolution();
        let mut early = EarlyPlacing::default();
        for package in packages {
            early.paths.insert(package.path.clone());
            early.keys.insert(package.download.cache_key().into_owned());
            queue.add(package, |key| entry_status(&self.entries, key))?;
        }
        self.clone_queue = Some(queue);
        self.early = Some(early);
        Ok(())
    }

    /// No new clone starts; [`Command::PlacingStopped`] follows once the
    /// clones under way have ended, also when placing was stopped and
    /// announced before (the install then failed while sorting out what
    /// stays). Then [`Pipeline::start_placing`] can start again from what
    /// is in place.
    pub fn stop_placing(&mut self) {
        self.stopping = true;
        self.stop_announced = false;
    }

    /// Resolution has ended: `kept` packages are in place already, and
    /// `to_place` (each already [`Pipeline::want`]ed; parents before the
    /// packages nested in them) are to be cloned. When placing started
    /// early and was not stopped, the resolution confirms it: `kept` is
    /// empty, and of `to_place` only packages at paths not placed early
    /// are added.
    pub fn start_placing(
        &mut self,
        kept: Vec<PlannedPackage>,
        to_place: Vec<PlannedPackage>,
    ) -> Result<(), InstallError> {
        self.resolved = true;
        let early = self.early.take();
        let mut needed: HashSet<String> = to_place
            .iter()
            .chain(&kept)
            .map(|p| p.download.cache_key().into_owned())
            .collect();
        if let (Some(early), false) = (&early, self.stopping) {
            needed.extend(early.keys.iter().cloned());
        }
        self.fetch_queue.retain(|download| {
            let keep = needed.contains(download.cache_key().as_ref());
            if !keep {
                self.entries.remove(download.cache_key().as_ref());
            }
            keep
        });
        self.report.unused_downloads = self
            .fetched_early
            .iter()
            .filter(|key| !needed.contains(*key))
            .count();
        match (early, self.clone_queue.as_mut()) {
            (Some(early), Some(queue)) if !self.stopping => {
                for package in to_place
                    .into_iter()
                    .filter(|p| !early.paths.contains(&p.path))
                {
                    queue.add(package, |key| entry_status(&self.entries, key))?;
                }
                queue.confirm()
            }
            _ => self.restart_placing(kept, to_place),
        }
    }

    /// Placing from what is in place: `kept`, nothing else this install
    /// placed so far.
    fn restart_placing(
        &mut self,
        kept: Vec<PlannedPackage>,
        to_place: Vec<PlannedPackage>,
    ) -> Result<(), InstallError> {
        self.stopping = false;
        self.stop_announced = false;
        let kept_paths: HashSet<&str> = kept.iter().map(|p| p.path.as_str()).collect();
        self.report
            .placed
            .retain(|p| kept_paths.contains(p.path.as_str()));
        self.report.added = self.report.placed.len();
        let mut queue = CloneQueue::new(kept_paths.iter().map(|p| p.to_string()));
        self.placed = kept;
        for package in to_place {
            queue.add(package, |key| entry_status(&self.entries, key))?;
        }
        self.clone_queue = Some(queue);
        Ok(())
    }

    /// The permits a [`Command::Fetch`] must read its body under.
    pub fn body_permits(&self) -> &BodyPermits {
        &self.body_permits
    }

    pub fn fetched(
        &mut self,
        download: Download,
        result: Result<Tarball, FetchError>,
    ) -> Result<(), InstallError> {
        self.downloads_in_flight -= 1;
        let key = download.cache_key().to_string();
        match result {
            Ok(Tarball {
                bytes: tarball,
                permit,
            }) => {
                if let Some(permit) = permit {
                    self.held_permits.insert(key.clone(), permit);
                }
                self.extract_backlog += 1;
                self.report.max_extract_backlog =
                    self.report.max_extract_backlog.max(self.extract_backlog);
                self.report.tarballs_downloaded += 1;
                self.report.bytes_downloaded += tarball.len() as u64;
                self.entries.insert(key.clone(), EntryState::Extracting);
                self.extract_queue.push_back(Command::Extract {
                    download,
                    tarball,
                    replace_damaged: self.damaged.contains(&key),
                });
                Ok(())
            }
            Err(error) => {
                self.entry_changed(key, EntryState::Failed(StageError::Fetch(error).into()))
            }
        }
    }

    pub fn extracted(
        &mut self,
        download: &Download,
        result: Result<CacheEntry, ExtractError>,
    ) -> Result<(), InstallError> {
        self.extract_backlog -= 1;
        self.held_permits.remove(download.cache_key().as_ref());
        let state = match result {
            Ok(entry) => {
                // An entry found complete instead (another install wrote it) is checked.
                if !entry.reused {
                    self.extracted_here
                        .insert(download.cache_key().into_owned());
                }
                // Entries extracted here become ready one by one as their
                // extractions end, which orders them already.
                EntryState::Ready(CachedEntry {
                    dir: entry.dir,
                    size_hint: 0,
                })
            }
            Err(error) => EntryState::Failed(StageError::Extract(error).into()),
        };
        self.entry_changed(download.cache_key().to_string(), state)
    }

    pub fn cloned(
        &mut self,
        package: PlannedPackage,
        result: Result<CloneStats, CloneError>,
    ) -> Result<(), InstallError> {
        self.clones_in_flight -= 1;
        let error = match result {
            Ok(stats) => return self.placed(package, stats),
            Err(error) => error,
        };
        if error.is_damaged_entry() {
            return self.repair_entry(package, error);
        }
        let error = Arc::new(StageError::Clone(error));
        if !package.optional {
            return Err(InstallError::Stage {
                package: format!("{}@{}", package.name, package.version),
                source: error,
            });
        }
        self.report.warnings.push(format!(
            "skipping optional {}@{}: {}",
            package.name,
            package.version,
            crate::causes::with_causes(&error)
        ));
        if let Some(queue) = self.clone_queue.as_mut() {
            queue.skip(package.path);
        }
        Ok(())
    }

    fn placed(&mut self, package: PlannedPackage, stats: CloneStats) -> Result<(), InstallError> {
        self.report.added += 1;
        self.report.placed.push(PlacedPackage {
            path: package.path.clone(),
            name: package.name.clone(),
            version: package.version.clone(),
            optional: package.optional,
            has_install_script: package.has_install_script,
            git_unprepared: package.download.is_git() && !package.download.prepare,
        });
        self.report.clone_strategy = self.report.clone_strategy.or(stats.strategy);
        let entries = &self.entries;
        let result = match self.clone_queue.as_mut() {
            Some(queue) => queue.placed(&package.path, |key| entry_status(entries, key)),
            None => Ok(()),
        };
        self.placed.push(package);
        result
    }

    /// A package's cache entry turned out damaged while it was cloned: the
    /// entry is fetched and extracted again (once per install), and the
    /// package waits for it, as npm refetches a corrupted cache entry.
    fn repair_entry(
        &mut self,
        package: PlannedPackage,
        error: CloneError,
    ) -> Result<(), InstallError> {
        let label = format!("{}@{}", package.name, package.version);
        if !self.recloned.insert(package.path.clone()) {
            return Err(InstallError::Stage {
                package: label,
                source: Arc::new(StageError::Clone(error)),
            });
        }
        let key = package.download.cache_key().to_string();
        if self.damaged.insert(key.clone()) {
            self.report.warnings.push(format!(
                "the cached copy of {label} is damaged ({}); downloading it again",
                causes(&error)
            ));
            self.entries.insert(key, EntryState::Queued);
            self.fetch_queue.push_back(package.download.clone());
        }
        let entries = &self.entries;
        match self.clone_queue.as_mut() {
            Some(queue) => queue.retry(package, |key| entry_status(entries, key)),
            None => Ok(()),
        }
    }

    /// Records a cache entry's new state and lets the clone queue know.
    fn entry_changed(&mut self, key: String, state: EntryState) -> Result<(), InstallError> {
        if let Some(queue) = self.clone_queue.as_mut() {
            match &state {
                EntryState::Ready(entry) => queue.entry_ready(&key, entry),
                EntryState::Failed(error) => queue.entry_failed(&key, error)?,
                _ => {}
            }
        }
        self.entries.insert(key, state);
        Ok(())
    }

    /// Everything the bounds allow to start now.
    pub fn next_commands(&mut self) -> Vec<Command> {
        let mut commands: Vec<Command> = self.extract_queue.drain(..).collect();
        while self.downloads_in_flight < self.limits.max_downloads_in_flight() {
            let Some(download) = self.fetch_queue.pop_front() else {
                break;
            };
            self.downloads_in_flight += 1;
            if !self.resolved {
                self.fetched_early.insert(download.cache_key().to_string());
            }
            self.report.max_downloads_in_flight = self
                .report
                .max_downloads_in_flight
                .max(self.downloads_in_flight);
            self.entries
                .insert(download.cache_key().to_string(), EntryState::Fetching);
            commands.push(Command::Fetch(download));
        }
        if self.stopping {
            if self.clones_in_flight == 0 && !self.stop_announced {
                self.stop_announced = true;
                commands.push(Command::PlacingStopped);
            }
            return commands;
        }
        let Some(queue) = self.clone_queue.as_mut() else {
            return commands;
        };
        while self.clones_in_flight < self.limits.max_clones_queued() {
            let Some((package, from)) = queue.next_ready() else {
                break;
            };
            self.clones_in_flight += 1;
            let check_files = !self
                .extracted_here
                .contains(package.download.cache_key().as_ref());
            commands.push(Command::Clone {
                package,
                from,
                check_files,
            });
        }
        self.report.warnings.append(&mut queue.warnings);
        // Before resolution ends, an early queue placing all it has is not the whole tree.
        if self.resolved
            && queue.is_done()
            && self.clones_in_flight == 0
            && !self.all_placed_announced
        {
            self.all_placed_announced = true;
            commands.push(Command::AllPlaced);
        }
        commands
    }

    pub fn gauges(&self) -> Gauges {
        Gauges {
            downloads_in_flight: self.downloads_in_flight,
            extract_backlog: self.extract_backlog,
            clones_queued: self.clones_in_flight,
        }
    }

    /// Packages in place (kept or cloned), for linking bins.
    pub fn placed_packages(&self) -> &[PlannedPackage] {
        &self.placed
    }

    /// Whether an optional package failed, so `node_modules` lacks it.
    pub fn any_skipped(&self) -> bool {
        self.clone_queue
            .as_ref()
            .is_some_and(CloneQueue::any_skipped)
    }

    /// What the pipeline counted; taken once, when the install ends.
    pub fn take_report(&mut self) -> InstallReport {
        std::mem::take(&mut self.report)
    }
}

/// The packages [`Pipeline::place_early`] queued.
#[derive(Default)]
struct EarlyPlacing {
    paths: HashSet<String>,
    /// Their cache keys, which the resolution then needs.
    keys: HashSet<String>,
}

fn entry_status<'a>(entries: &'a HashMap<String, EntryState>, key: &str) -> EntryStatus<'a> {
    match entries.get(key) {
        Some(EntryState::Ready(entry)) => EntryStatus::Ready(entry),
        Some(EntryState::Failed(error)) => EntryStatus::Failed(error),
        _ => EntryStatus::Pending,
    }
}
