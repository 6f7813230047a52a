//! The pipeline on its own, with no actors, threads or sleeps: many
//! installs, each with its events in a different random order (packages
//! announced, downloads, extractions and clones finishing, a damaged cache
//! entry), and after every event the bounds hold. Some place a lockfile's
//! tree before resolution ends, which the resolution confirms or replaces.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use bytes::Bytes;
use utoo_clone_actor::{CloneError, CloneStats};
use utoo_extract_actor::{CacheEntry, UnpackStats};
use utoo_fetch_actor::Tarball;
use utoo_package_cache::Damage;
use utoo_supervisor::{
    parent_path, CachedEntry, Command, Download, Limits, Pipeline, PlannedPackage,
};

/// A tiny deterministic generator (xorshift64*), so a failing seed replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

fn package(path: &str, key: &str) -> PlannedPackage {
    let name = path
        .rsplit("node_modules/")
        .next()
        .unwrap_or(path)
        .to_string();
    PlannedPackage {
        path: path.to_string(),
        name: name.clone(),
        version: "1.0.0".into(),
        download: Download {
            name,
            version: "1.0.0".into(),
            url: format!("http://registry/{key}.tgz"),
            integrity: Some(format!("sha512-{key}")),
            prepare: false,
        },
        bins: BTreeMap::new(),
        optional: false,
        has_install_script: false,
    }
}

/// 40 top-level packages, 20 nested in them, and 10 sharing a tarball with
/// a top-level one (the same package at two paths).
fn packages() -> Vec<PlannedPackage> {
    let mut all: Vec<PlannedPackage> = (0..40)
        .map(|i| package(&format!("node_modules/p{i}"), &format!("k{i}")))
        .collect();
    for i in 0..20 {
        all.push(package(
            &format!("node_modules/p{i}/node_modules/q{i}"),
            &format!("n{i}"),
        ));
    }
    for i in 0..10 {
        all.push(package(
            &format!("node_modules/p{}/node_modules/p{i}", i + 20),
            &format!("k{i}"),
        ));
    }
    all
}

/// Where placing starts.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// When resolution ends.
    Resolved,
    /// Before, from a lockfile whose tree the resolution keeps, adding
    /// the packages sharing a tarball.
    LockfileConfirmed,
    /// Before, from a stale lockfile: the resolution wants p5 at another
    /// version and no longer has `stale` (with what is nested in it).
    LockfileReplaced,
}

impl Start {
    fn early_packages(self) -> Vec<PlannedPackage> {
        match self {
            Start::Resolved => Vec::new(),
            Start::LockfileConfirmed => packages().into_iter().take(60).collect(),
            Start::LockfileReplaced => {
                let mut early = packages();
                early[5] = package("node_modules/p5", "old5");
                early.push(package("node_modules/stale", "s"));
                early.push(package("node_modules/stale/node_modules/q1", "n1"));
                early
            }
        }
    }
}

enum InFlight {
    Fetch(Download),
    Extract(Download),
    Clone(PlannedPackage),
}

struct Run {
    limits: Limits,
    pipeline: Pipeline,
    in_flight: Vec<InFlight>,
    all_placed: usize,
    damaged_once: bool,
    /// Placing was stopped and has not been announced stopped yet.
    stopping: bool,
    placing_stopped: usize,
    clones_by_path: HashMap<String, usize>,
    /// Cache keys whose download started.
    fetched: HashSet<String>,
}

impl Run {
    fn take_commands(&mut self) {
        for command in self.pipeline.next_commands() {
            match command {
                Command::Fetch(download) => {
                    self.fetched.insert(download.cache_key().into_owned());
                    self.in_flight.push(InFlight::Fetch(download))
                }
                Command::Extract { download, .. } => {
                    self.in_flight.push(InFlight::Extract(download))
                }
                Command::Clone { package, .. } => {
                    assert!(
                        !self.stopping,
                        "{} cloned after placing stopped",
                        package.path
                    );
                    *self.clones_by_path.entry(package.path.clone()).or_default() += 1;
                    self.in_flight.push(InFlight::Clone(package));
                }
                Command::AllPlaced => self.all_placed += 1,
                Command::PlacingStopped => {
                    assert!(self.stopping);
                    let cloning = self
                        .in_flight
                        .iter()
                        .any(|w| matches!(w, InFlight::Clone(_)));
                    assert!(!cloning, "placing announced stopped with a clone under way");
                    self.stopping = false;
                    self.placing_stopped += 1;
                }
            }
        }
        self.check_bounds();
    }

    fn check_bounds(&self) {
        let gauges = self.pipeline.gauges();
        let bound = self.limits.max_extract_backlog();
        let in_memory = self.pipeline.body_permits().in_use();
        assert!(
            gauges.extract_backlog <= in_memory && in_memory <= bound,
            "{gauges:?}, {in_memory} bodies in memory, over {bound}"
        );
        assert!(gauges.downloads_in_flight <= self.limits.network_concurrency);
        assert!(gauges.clones_queued <= 2 * self.limits.clone_capacity);
        let fetching = self
            .in_flight
            .iter()
            .filter(|w| matches!(w, InFlight::Fetch(_)))
            .count();
        let extracting = self
            .in_flight
            .iter()
            .filter(|w| matches!(w, InFlight::Extract(_)))
            .count();
        assert_eq!(fetching, gauges.downloads_in_flight);
        assert_eq!(extracting, gauges.extract_backlog);
    }

    /// Finishes one piece of work, or gives it back when it is a download
    /// that can't read its body yet; the first clone of `p3` finds its
    /// cache entry damaged.
    fn finish(&mut self, work: InFlight) {
        let result = match work {
            InFlight::Fetch(download) => match self.pipeline.body_permits().try_acquire() {
                Some(permit) => {
                    let tarball = Tarball {
                        bytes: Bytes::from_static(b"tarball"),
                        permit: Some(permit),
                    };
                    self.pipeline.fetched(download, Ok(tarball))
                }
                None => {
                    self.in_flight.push(InFlight::Fetch(download));
                    Ok(())
                }
            },
            InFlight::Extract(download) => {
                let entry = CacheEntry {
                    dir: PathBuf::from(format!("/cache/{}", download.cache_key())),
                    stats: UnpackStats::default(),
                    reused: false,
                };
                self.pipeline.extracted(&download, Ok(entry))
            }
            InFlight::Clone(package) if package.path == "node_modules/p3" && !self.damaged_once => {
                self.damaged_once = true;
                let error = CloneError::Damaged {
                    entry: PathBuf::from("/cache/k3"),
                    damage: Damage::Missing(PathBuf::from("index.js")),
                };
                self.pipeline.cloned(package, Err(error))
            }
            InFlight::Clone(package) => {
                let stats = CloneStats {
                    files: 1,
                    strategy: None,
                };
                self.pipeline.cloned(package, Ok(stats))
            }
        };
        result.expect("no failure in this run");
    }
}

/// The final tree's packages that the early placing left as wanted: at
/// their path, from the same tarball, under a parent kept too.
fn kept(placed_early: &[PlannedPackage], wanted: &[PlannedPackage]) -> Vec<PlannedPackage> {
    let placed: HashMap<&str, &PlannedPackage> =
        placed_early.iter().map(|p| (p.path.as_str(), p)).collect();
    let mut kept_paths = HashSet::new();
    let mut kept = Vec::new();
    for package in wanted {
        let same = placed.get(package.path.as_str()) == Some(&package);
        let parent_kept = parent_path(&package.path).is_none_or(|p| kept_paths.contains(p));
        if same && parent_kept {
            kept_paths.insert(package.path.clone());
            kept.push(package.clone());
        }
    }
    kept
}

fn install_in_random_order(seed: u64, limits: Limits, start: Start) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut run = Run {
        limits,
        pipeline: Pipeline::new(limits),
        in_flight: Vec::new(),
        all_placed: 0,
        damaged_once: false,
        stopping: false,
        placing_stopped: 0,
        clones_by_path: HashMap::new(),
        fetched: HashSet::new(),
    };
    let mut to_announce = packages();
    // Some tarballs are in the cache already.
    let cached = |p: &PlannedPackage| {
        (p.download.cache_key().ends_with('7')).then(|| CachedEntry {
            dir: PathBuf::from("/cache/hit"),
            size_hint: p.path.len() as u64,
        })
    };
    let early = start.early_packages();
    if !early.is_empty() {
        for package in &early {
            run.pipeline.want(package.download.clone(), cached(package));
        }
        run.pipeline
            .place_early(early.clone())
            .expect("placing starts");
        run.take_commands();
    }
    let mut resolved = false;
    let mut steps = 0;
    while run.all_placed == 0 {
        steps += 1;
        assert!(steps < 10_000, "seed {seed}: the pipeline stalled");
        if run.placing_stopped == 1 && !resolved {
            // The supervisor sorts out what stays, then places the rest.
            resolved = true;
            let all = packages();
            let kept = kept(run.pipeline.placed_packages(), &all);
            let to_place = all.into_iter().filter(|p| !kept.contains(p)).collect();
            run.pipeline
                .start_placing(kept, to_place)
                .expect("placing starts again");
            run.take_commands();
            continue;
        }
        let announce = !to_announce.is_empty() && (run.in_flight.is_empty() || rng.below(3) == 0);
        if announce {
            let next = to_announce.remove(rng.below(to_announce.len()));
            let dir = cached(&next);
            run.pipeline.want(next.download, dir);
        } else if to_announce.is_empty()
            && !resolved
            && !run.stopping
            && (run.in_flight.is_empty() || rng.below(4) == 0)
        {
            // Resolution ends: every package is wanted again with its cache state, then placed.
            let all = packages();
            for package in &all {
                run.pipeline.want(package.download.clone(), cached(package));
            }
            if let Start::LockfileReplaced = start {
                run.stopping = true;
                run.pipeline.stop_placing();
            } else {
                resolved = true;
                run.pipeline
                    .start_placing(Vec::new(), all)
                    .expect("placing starts");
            }
        } else if !run.in_flight.is_empty() {
            let work = run.in_flight.swap_remove(rng.below(run.in_flight.len()));
            run.finish(work);
        }
        run.take_commands();
    }
    assert_eq!(run.all_placed, 1, "seed {seed}");
    // Only a download the tree does without may still be under way.
    let used: HashSet<String> = packages()
        .iter()
        .map(|p| p.download.cache_key().into_owned())
        .collect();
    let left_over = run.in_flight.iter().all(|work| match work {
        InFlight::Fetch(download) | InFlight::Extract(download) => {
            !used.contains(download.cache_key().as_ref())
        }
        InFlight::Clone(_) => false,
    });
    assert!(left_over, "seed {seed}: work left after all placed");
    let placed: HashSet<String> = run
        .pipeline
        .placed_packages()
        .iter()
        .map(|p| p.path.clone())
        .collect();
    let wanted = packages();
    assert_eq!(
        placed,
        wanted.iter().map(|p| p.path.clone()).collect(),
        "seed {seed}: what is in place is the tree"
    );
    if let Start::LockfileConfirmed = start {
        for (path, clones) in &run.clones_by_path {
            let expected = if path == "node_modules/p3" { 2 } else { 1 };
            assert_eq!(
                *clones, expected,
                "seed {seed}: {path} cloned {clones} times"
            );
        }
    }
    let report = run.pipeline.take_report();
    assert_eq!(report.added, wanted.len(), "seed {seed}");
    assert_eq!(
        report.unused_downloads,
        run.fetched.difference(&used).count(),
        "seed {seed}"
    );
    assert!(
        report.placed.iter().all(|p| placed.contains(&p.path)),
        "seed {seed}: a package placed early and taken back is not reported placed"
    );
    assert!(report.max_extract_backlog <= limits.max_extract_backlog());
    assert_eq!(
        report.warnings.len(),
        1,
        "seed {seed}: {:?}",
        report.warnings
    );
    assert!(
        report.warnings[0].contains("p3@1.0.0 is damaged"),
        "{:?}",
        report.warnings
    );
}

/// Extract capacity, clone capacity and network concurrency, from one of
/// each to more requests in flight than anything else.
const LIMITS: [(usize, usize, usize); 4] = [(1, 1, 1), (2, 2, 16), (4, 2, 3), (8, 3, 64)];

fn every_limit(run: impl Fn(Limits)) {
    for (extract_capacity, clone_capacity, network_concurrency) in LIMITS {
        run(Limits {
            extract_capacity,
            clone_capacity,
            network_concurrency,
        });
    }
}

#[test]
fn the_backlog_bound_holds_in_every_order_of_events() {
    every_limit(|limits| {
        for seed in 0..300 {
            install_in_random_order(seed, limits, Start::Resolved);
        }
    });
}

#[test]
fn placing_a_lockfiles_tree_early_keeps_the_bounds_and_places_the_resolved_tree() {
    every_limit(|limits| {
        for seed in 0..200 {
            install_in_random_order(seed, limits, Start::LockfileConfirmed);
            install_in_random_order(seed, limits, Start::LockfileReplaced);
        }
    });
}

#[test]
fn placing_stopped_again_after_it_was_announced_is_announced_again() {
    let limits = Limits {
        extract_capacity: 1,
        clone_capacity: 1,
        network_concurrency: 1,
    };
    let mut pipeline = Pipeline::new(limits);
    let early = package("node_modules/a", "ka");
    let entry = CachedEntry {
        dir: PathBuf::from("/cache/ka"),
        size_hint: 1,
    };
    pipeline.want(early.download.clone(), Some(entry));
    pipeline.place_early(vec![early]).unwrap();
    let stopped = |pipeline: &mut Pipeline| {
        pipeline
            .next_commands()
            .iter()
            .filter(|c| matches!(c, Command::PlacingStopped))
            .count()
    };
    let Some(Command::Clone { package, .. }) = pipeline.next_commands().pop() else {
        panic!("the cached package is cloned at once");
    };
    pipeline.stop_placing();
    assert_eq!(stopped(&mut pipeline), 0, "a clone is under way");
    let stats = CloneStats {
        files: 1,
        strategy: None,
    };
    pipeline.cloned(package, Ok(stats)).unwrap();
    assert_eq!(stopped(&mut pipeline), 1);
    assert_eq!(stopped(&mut pipeline), 0, "announced once");
    // The install fails while what stays is sorted out: stopped again.
    pipeline.stop_placing();
    assert_eq!(stopped(&mut pipeline), 1);
}

#[test]
fn entries_this_install_extracted_are_cloned_without_checking_their_files_again() {
    let limits = Limits {
        extract_capacity: 2,
        clone_capacity: 2,
        network_concurrency: 4,
    };
    let mut pipeline = Pipeline::new(limits);
    let fresh = package("node_modules/fresh", "k-fresh");
    let cached = package("node_modules/cached", "k-cached");
    pipeline.want(fresh.download.clone(), None);
    pipeline.want(
        cached.download.clone(),
        Some(CachedEntry {
            dir: PathBuf::from("/cache/k-cached"),
            size_hint: 1,
        }),
    );
    for command in pipeline.next_commands() {
        let Command::Fetch(download) = command else {
            panic!("only the fresh package is fetched");
        };
        let tarball = Tarball {
            bytes: Bytes::from_static(b"tarball"),
            permit: pipeline.body_permits().try_acquire(),
        };
        pipeline.fetched(download, Ok(tarball)).unwrap();
    }
    for command in pipeline.next_commands() {
        let Command::Extract { download, .. } = command else {
            panic!("the fetched package is extracted");
        };
        let entry = CacheEntry {
            dir: PathBuf::from("/cache/k-fresh"),
            stats: UnpackStats::default(),
            reused: false,
        };
        pipeline.extracted(&download, Ok(entry)).unwrap();
    }
    pipeline
        .start_placing(Vec::new(), vec![fresh, cached])
        .unwrap();
    let checks: BTreeMap<String, bool> = pipeline
        .next_commands()
        .into_iter()
        .filter_map(|command| match command {
            Command::Clone {
                package,
                check_files,
                ..
            } => Some((package.path, check_files)),
            _ => None,
        })
        .collect();
    assert_eq!(
        checks,
        BTreeMap::from([
            ("node_modules/cached".to_string(), true),
            ("node_modules/fresh".to_string(), false),
        ])
    );
}
