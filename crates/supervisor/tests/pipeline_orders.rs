//! The pipeline on its own, with no actors, threads or sleeps: many
//! installs, each with its events in a different random order (packages
//! announced, downloads, extractions and clones finishing, a damaged cache
//! entry), and after every event the bounds hold.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;
use utoo_clone_actor::{CloneError, CloneStats};
use utoo_extract_actor::{CacheEntry, UnpackStats};
use utoo_fetch_actor::Tarball;
use utoo_package_cache::Damage;
use utoo_supervisor::{CachedEntry, Command, Download, Limits, Pipeline, PlannedPackage};

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
}

impl Run {
    fn take_commands(&mut self) {
        for command in self.pipeline.next_commands() {
            match command {
                Command::Fetch(download) => self.in_flight.push(InFlight::Fetch(download)),
                Command::Extract { download, .. } => {
                    self.in_flight.push(InFlight::Extract(download))
                }
                Command::Clone { package, .. } => self.in_flight.push(InFlight::Clone(package)),
                Command::AllPlaced => self.all_placed += 1,
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

fn install_in_random_order(seed: u64, limits: Limits) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut run = Run {
        limits,
        pipeline: Pipeline::new(limits),
        in_flight: Vec::new(),
        all_placed: 0,
        damaged_once: false,
    };
    let mut to_announce = packages();
    // Some tarballs are in the cache already.
    let cached = |p: &PlannedPackage| {
        (p.download.cache_key().ends_with('7')).then(|| CachedEntry {
            dir: PathBuf::from("/cache/hit"),
            size_hint: p.path.len() as u64,
        })
    };
    let mut resolved = false;
    let mut steps = 0;
    while run.all_placed == 0 {
        steps += 1;
        assert!(steps < 10_000, "seed {seed}: the pipeline stalled");
        let announce = !to_announce.is_empty() && (run.in_flight.is_empty() || rng.below(3) == 0);
        if announce {
            let next = to_announce.remove(rng.below(to_announce.len()));
            let dir = cached(&next);
            run.pipeline.want(next.download, dir);
        } else if to_announce.is_empty()
            && !resolved
            && (run.in_flight.is_empty() || rng.below(4) == 0)
        {
            // Resolution ends: every package is wanted again with its cache state, then placed.
            resolved = true;
            let all = packages();
            for package in &all {
                run.pipeline.want(package.download.clone(), cached(package));
            }
            run.pipeline
                .start_placing(Vec::new(), all)
                .expect("placing starts");
        } else if !run.in_flight.is_empty() {
            let work = run.in_flight.swap_remove(rng.below(run.in_flight.len()));
            run.finish(work);
        }
        run.take_commands();
    }
    assert_eq!(run.all_placed, 1, "seed {seed}");
    assert!(
        run.in_flight.is_empty(),
        "seed {seed}: work left after all placed"
    );
    let report = run.pipeline.take_report();
    assert_eq!(report.added, packages().len(), "seed {seed}");
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

#[test]
fn the_backlog_bound_holds_in_every_order_of_events() {
    for (extract_capacity, clone_capacity, network_concurrency) in
        [(1, 1, 1), (2, 2, 16), (4, 2, 3), (8, 3, 64)]
    {
        let limits = Limits {
            extract_capacity,
            clone_capacity,
            network_concurrency,
        };
        for seed in 0..300 {
            install_in_random_order(seed, limits);
        }
    }
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
