//! Renders the `--timings` page of a simulated install in headless Chromium
//! (Debian's `chromium`) and checks that it loads without console errors.
//! The install's schedule is the supervisor's real `Pipeline`: the
//! simulation only decides how long each piece of work takes.
//!
//! The tests are ignored by a plain `cargo test`, which then works on a
//! machine without Chromium; `scripts/test` (and so CI) installs Chromium
//! and runs them, where a missing Chromium fails them:
//!
//! ```text
//! cargo test -p utoo-install-trace --test timings_render -- --ignored
//! ```
//!
//! Set `UTOO_TIMINGS_SCREENSHOT=<file.png>` to keep the screenshot;
//! docs/timings.png is made that way:
//!
//! ```text
//! UTOO_TIMINGS_SCREENSHOT=$PWD/docs/timings.png cargo test -p utoo-install-trace --test timings_render -- --ignored
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use tempfile::TempDir;
use utoo_clone_actor::CloneStats;
use utoo_extract_actor::{CacheEntry, UnpackStats};
use utoo_fetch_actor::Tarball;
use utoo_install_trace::{
    timings_html, EventRecord, Fields, Recording, SpanRecord, TimingsSummary, QUEUE_TARGET,
};
use utoo_supervisor::{CachedEntry, Command as Work, Download, Limits, Pipeline, PlannedPackage};
use utoo_telemetry::queue;

const CHROMIUM: &str = "/usr/bin/chromium";
const TIMEOUT: Duration = Duration::from_secs(120);
const EXTRACT_CAPACITY: usize = 4;
const CLONE_CAPACITY: usize = 3;
const PACKUMENTS_IN_FLIGHT: usize = 16;
const ODD_PACKAGE: &str = "<b>odd&co</b>@1.0.0";

/// A small deterministic random source (no dependency needed for this).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Waiting,
    Resolving,
    /// Resolved, and waiting for the pipeline.
    Resolved,
    Fetching,
    /// Downloaded, waiting for an extract worker.
    Downloaded,
    Extracting,
    /// In the cache, waiting for the pipeline.
    Extracted,
    /// Sent to the clone workers, waiting for one.
    CloneQueued,
    Cloning,
    Done,
}

struct Package {
    name: String,
    parent: Option<usize>,
    bytes: u64,
    files: u64,
    cached: bool,
    state: State,
    started: u64,
    ends: u64,
}

impl Package {
    fn id(&self) -> String {
        format!("{}@{}", self.name, self.version())
    }

    fn version(&self) -> String {
        format!("1.{}.0", self.bytes % 13)
    }

    fn planned(&self) -> PlannedPackage {
        PlannedPackage {
            path: format!("node_modules/{}", self.name),
            name: self.name.clone(),
            version: self.version(),
            download: Download {
                name: self.name.clone(),
                version: self.version(),
                url: format!("http://registry/{}.tgz", self.name),
                integrity: Some(format!("sha512-{}", self.name)),
                prepare: false,
            },
            bins: BTreeMap::new(),
            optional: false,
            has_install_script: false,
        }
    }
}

/// A millisecond-step simulation of an install: packuments ≤ 16 in flight
/// (each after its dependent's), extract and clone capacity worker threads,
/// and the supervisor's `Pipeline` deciding what starts when.
struct Simulation {
    now: u64,
    rng: Lcg,
    packages: Vec<Package>,
    pipeline: Pipeline,
    placing: bool,
    all_placed: bool,
    /// Packages waiting for an extract worker, and for a clone worker.
    extract_queue: VecDeque<usize>,
    clone_queue: VecDeque<usize>,
    recording: Recording,
    depths: [u64; 5],
}

fn span(name: &str, target: &str, start_ms: u64, duration_us: u64, fields: Fields) -> SpanRecord {
    SpanRecord {
        name: name.into(),
        target: target.into(),
        thread: format!("{target}-worker"),
        start_us: start_ms * 1000,
        duration_us,
        fields,
    }
}

fn event(name: &str, target: &str, at_us: u64, fields: Fields) -> EventRecord {
    EventRecord {
        name: name.into(),
        target: target.into(),
        thread: "main".into(),
        at_us,
        fields,
    }
}

impl Simulation {
    fn new(count: usize) -> Simulation {
        let mut rng = Lcg(7);
        let packages = (0..count)
            .map(|i| {
                let bytes = 1500 << rng.below(11) | rng.below(1000);
                Package {
                    name: match i % 5 {
                        0 => format!("@scope{}/pkg-{i}", i % 3),
                        _ => format!("pkg-{i}"),
                    },
                    parent: (i >= 8).then(|| rng.below(i as u64) as usize),
                    bytes,
                    files: 3 + bytes / 4000,
                    cached: rng.below(7) == 0,
                    state: State::Waiting,
                    started: 0,
                    ends: 0,
                }
            })
            .collect();
        let limits = Limits {
            extract_capacity: EXTRACT_CAPACITY,
            clone_capacity: CLONE_CAPACITY,
            network_concurrency: 4 * EXTRACT_CAPACITY,
        };
        Simulation {
            now: 0,
            rng,
            packages,
            pipeline: Pipeline::new(limits),
            placing: false,
            all_placed: false,
            extract_queue: VecDeque::new(),
            clone_queue: VecDeque::new(),
            recording: Recording::default(),
            depths: [0; 5],
        }
    }

    fn count(&self, states: &[State]) -> usize {
        self.packages
            .iter()
            .filter(|p| states.contains(&p.state))
            .count()
    }

    fn index_of(&self, name: &str) -> usize {
        self.packages
            .iter()
            .position(|p| p.name == name)
            .expect("a simulated package")
    }

    fn begin(&mut self, i: usize, state: State, duration_ms: u64) {
        let package = &mut self.packages[i];
        package.state = state;
        package.started = self.now;
        package.ends = self.now + duration_ms.max(1);
    }

    /// Records the finished work's span and tells the pipeline.
    fn finish(&mut self, i: usize) {
        // A download reads its body only with a permit: without one it waits.
        let mut permit = None;
        if self.packages[i].state == State::Fetching {
            permit = self.pipeline.body_permits().try_acquire();
            if permit.is_none() {
                self.packages[i].ends += 1;
                return;
            }
        }
        let rng_us = self.rng.below(900);
        let package = &mut self.packages[i];
        let duration_us = (package.ends - package.started) * 1000 - rng_us;
        let id = package.id();
        let planned = package.planned();
        let (name, target, next, fields) = match package.state {
            State::Resolving => (
                "packument",
                "utoo_resolver_actor",
                State::Resolved,
                json!({"name": package.name, "bytes": package.bytes / 3 + 900}),
            ),
            State::Fetching => (
                "fetch",
                "utoo_fetch_actor",
                State::Downloaded,
                json!({"package": id, "bytes": package.bytes}),
            ),
            State::Extracting => (
                "extract",
                "utoo_extract_actor",
                State::Extracted,
                json!({"package": id, "bytes": package.bytes * 3, "files": package.files}),
            ),
            _ => (
                "clone",
                "utoo_clone_actor",
                State::Done,
                json!({"package": id, "files": package.files}),
            ),
        };
        package.state = next;
        let (cached, files) = (package.cached, package.files);
        let fields = serde_json::from_value(fields).unwrap();
        let record = span(name, target, package.started, duration_us, fields);
        self.recording.spans.push(record);
        let told = match next {
            State::Resolved => {
                let entry = cached.then(|| CachedEntry {
                    dir: PathBuf::from("/cache/hit"),
                    size_hint: files,
                });
                if cached {
                    let fields = Fields::from([("package".to_string(), json!(id))]);
                    let hit = event("cache hit", "utoo_supervisor", self.now * 1000, fields);
                    self.recording.events.push(hit);
                    self.packages[i].state = State::Extracted;
                }
                self.pipeline.want(planned.download, entry);
                Ok(())
            }
            // The extract worker reports the download's tarball done.
            State::Downloaded => {
                let tarball = Tarball {
                    bytes: bytes::Bytes::from_static(b"tgz"),
                    permit,
                };
                self.pipeline.fetched(planned.download, Ok(tarball))
            }
            State::Extracted => {
                let entry = CacheEntry {
                    dir: PathBuf::from(format!("/cache/{}", planned.name)),
                    stats: UnpackStats::default(),
                    reused: false,
                };
                self.pipeline.extracted(&planned.download, Ok(entry))
            }
            _ => {
                let stats = CloneStats {
                    files,
                    strategy: None,
                };
                self.pipeline.cloned(planned, Ok(stats))
            }
        };
        told.expect("the simulated work succeeds");
    }

    fn finish_due(&mut self) {
        let busy = [
            State::Resolving,
            State::Fetching,
            State::Extracting,
            State::Cloning,
        ];
        for i in 0..self.packages.len() {
            let package = &self.packages[i];
            if busy.contains(&package.state) && package.ends == self.now {
                self.finish(i);
            }
        }
    }

    fn start_packuments(&mut self) {
        while self.count(&[State::Resolving]) < PACKUMENTS_IN_FLIGHT {
            let resolved = |p: &Package| p.state >= State::Resolved;
            let ready = |p: &Package| {
                p.state == State::Waiting
                    && p.parent
                        .is_none_or(|parent| resolved(&self.packages[parent]))
            };
            let Some(i) = self.packages.iter().position(ready) else {
                return;
            };
            let duration = self.rng.between(30, 180) + self.rng.below(8) * self.rng.below(60);
            self.begin(i, State::Resolving, duration);
        }
    }

    /// Once every packument is in, the supervisor starts placing.
    fn start_placing(&mut self) {
        if self.placing || self.count(&[State::Waiting, State::Resolving]) > 0 {
            return;
        }
        self.placing = true;
        let all = self.packages.iter().map(Package::planned).collect();
        self.pipeline
            .start_placing(Vec::new(), all)
            .expect("placing starts");
    }

    /// Starts what the pipeline asks for, as the supervisor does.
    fn dispatch(&mut self) {
        for work in self.pipeline.next_commands() {
            match work {
                Work::Fetch(download) => {
                    let i = self.index_of(&download.name);
                    let duration = self.rng.between(15, 240) + self.packages[i].bytes / 16_000;
                    self.begin(i, State::Fetching, duration);
                }
                Work::Extract { download, .. } => {
                    self.extract_queue.push_back(self.index_of(&download.name));
                }
                Work::Clone { package, .. } => {
                    let i = self.index_of(&package.name);
                    self.packages[i].state = State::CloneQueued;
                    self.clone_queue.push_back(i);
                }
                Work::AllPlaced => self.all_placed = true,
                Work::PlacingStopped => panic!("this install never stops placing"),
            }
        }
    }

    /// The extract and clone actors' worker threads take queued work.
    fn start_workers(&mut self) {
        while self.count(&[State::Extracting]) < EXTRACT_CAPACITY {
            let Some(i) = self.extract_queue.pop_front() else {
                break;
            };
            let duration = self.rng.between(4, 30) + self.packages[i].bytes / 20_000;
            self.begin(i, State::Extracting, duration);
        }
        while self.count(&[State::Cloning]) < CLONE_CAPACITY {
            let Some(i) = self.clone_queue.pop_front() else {
                break;
            };
            let duration = self.rng.between(1, 8) + self.packages[i].files / 25;
            self.begin(i, State::Cloning, duration);
        }
    }

    fn sample_queues(&mut self) {
        let gauges = self.pipeline.gauges();
        let depths = [
            (queue::PACKUMENTS_IN_FLIGHT, self.count(&[State::Resolving])),
            (queue::DOWNLOADS_IN_FLIGHT, gauges.downloads_in_flight),
            (queue::EXTRACT_BACKLOG, gauges.extract_backlog),
            (queue::EXTRACTS_ACTIVE, self.count(&[State::Extracting])),
            (queue::CLONES_QUEUED, gauges.clones_queued),
        ];
        for ((name, depth), last) in depths.into_iter().zip(&mut self.depths) {
            let depth = depth as u64;
            if depth != *last {
                *last = depth;
                let fields = json!({"queue": name, "depth": depth});
                let fields = serde_json::from_value(fields).unwrap();
                let sample = event("sample", QUEUE_TARGET, self.now * 1000, fields);
                self.recording.events.push(sample);
            }
        }
    }

    fn run(mut self) -> (Recording, TimingsSummary) {
        while !self.all_placed {
            self.finish_due();
            self.start_packuments();
            self.start_placing();
            self.dispatch();
            self.start_workers();
            self.sample_queues();
            self.now += 1;
            assert!(self.now < 1_000_000, "the simulation is stuck");
        }
        assert_eq!(self.count(&[State::Done]), self.packages.len());
        self.add_supervisor_spans_and_incidents();
        let summary = self.summary();
        (self.recording, summary)
    }

    fn add_supervisor_spans_and_incidents(&mut self) {
        let resolved_ms = self.last_end_ms("packument");
        let spans = &mut self.recording.spans;
        spans.push(span(
            "resolve",
            "utoo_supervisor",
            0,
            resolved_ms * 1000,
            Fields::new(),
        ));
        let mut at = self.now;
        for package in self.packages.iter().step_by(9) {
            let fields = Fields::from([("package".to_string(), json!(package.id()))]);
            let duration = 300 + package.bytes % 2500;
            spans.push(span("link_bins", "utoo_clone_actor", at, duration, fields));
            at += 3;
        }
        spans.push(span(
            "install",
            "utoo_supervisor",
            0,
            at * 1000,
            Fields::new(),
        ));
        let fetch_at = self.last_end_ms("fetch") / 3;
        let fields = Fields::from([("url".to_string(), json!("/pkg-5/-/pkg-5-1.5.0.tgz"))]);
        for delay in [0, 40] {
            let retry = event(
                "retrying request",
                "utoo_registry_client",
                (fetch_at + delay) * 1000,
                fields.clone(),
            );
            self.recording.events.push(retry);
        }
        let fallback = event(
            "clone fallback",
            "utoo_clone_actor",
            (self.now - 30) * 1000,
            Fields::new(),
        );
        self.recording.events.push(fallback);
        self.now = at;
    }

    fn last_end_ms(&self, name: &str) -> u64 {
        let spans = self.recording.spans.iter().filter(|s| s.name == name);
        spans
            .map(|s| (s.start_us + s.duration_us) / 1000)
            .max()
            .unwrap_or(0)
    }

    fn summary(&self) -> TimingsSummary {
        let fetched = self.packages.iter().filter(|p| !p.cached);
        TimingsSummary {
            packages: self.packages.len(),
            bytes_downloaded: fetched.clone().map(|p| p.bytes).sum(),
            bytes_written: fetched.map(|p| p.bytes * 3).sum(),
            cache_hits: self.packages.iter().filter(|p| p.cached).count(),
            limits: serde_json::from_value(json!({
                "download_capacity": 64,
                "extract_capacity": EXTRACT_CAPACITY,
                "clone_capacity": CLONE_CAPACITY,
            }))
            .unwrap(),
            total_seconds: self.now as f64 / 1000.0,
        }
    }
}

fn simulated_install() -> (Recording, TimingsSummary) {
    Simulation::new(360).run()
}

struct ChromiumRun {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    dir: TempDir,
}

impl ChromiumRun {
    /// Lines where Chromium reports the page's console output or an uncaught exception.
    fn console_lines(&self) -> Vec<&str> {
        let stderr = self.stderr.lines();
        stderr
            .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
            .collect()
    }
}

fn chromium() -> &'static Path {
    let path = Path::new(CHROMIUM);
    assert!(
        path.exists(),
        "{CHROMIUM} is missing: install Debian's chromium (scripts/test does) to render the timings page"
    );
    path
}

/// Loads `html` from a file in headless Chromium with a fresh profile, with
/// `action` (e.g. `--dump-dom`) naming what to do with it; `{dir}` in
/// `action` becomes the run's temporary folder.
fn run_chromium(html: &str, action: &[&str]) -> ChromiumRun {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("utoo-timings.html");
    fs::write(&page, html).unwrap();
    let out = |name: &str| Stdio::from(File::create(dir.path().join(name)).unwrap());
    let profile = format!("--user-data-dir={}", dir.path().join("profile").display());
    let folder = dir.path().display().to_string();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
        ])
        .args([
            "--disable-quic",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
        ])
        .args(["--enable-logging=stderr", "--v=0", &profile])
        .args(action.iter().map(|a| a.replace("{dir}", &folder)))
        .arg(format!("file://{}", page.display()))
        .stdout(out("stdout"))
        .stderr(out("stderr"))
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("chromium did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |name: &str| fs::read_to_string(dir.path().join(name)).unwrap();
    ChromiumRun {
        status,
        stdout: read("stdout"),
        stderr: read("stderr"),
        dir,
    }
}

fn assert_clean(run: &ChromiumRun) {
    assert!(
        run.status.success(),
        "chromium failed: {}\n{}",
        run.status,
        run.stderr
    );
    assert!(
        run.console_lines().is_empty(),
        "the page logged to the console:\n{}",
        run.stderr
    );
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[1..4], b"PNG", "not a PNG");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[test]
#[ignore = "needs Chromium: cargo test -p utoo-install-trace --test timings_render -- --ignored"]
fn the_page_renders_in_headless_chromium_without_console_errors() {
    let (mut recording, summary) = simulated_install();
    let fields = Fields::from([
        ("package".to_string(), json!(ODD_PACKAGE)),
        ("bytes".to_string(), json!(1)),
    ]);
    recording
        .spans
        .push(span("fetch", "utoo_fetch_actor", 5, 900_000, fields));
    let run = run_chromium(&timings_html(&recording, &summary), &["--dump-dom"]);
    assert_clean(&run);
    let dom = &run.stdout;
    let totals = [
        format!("{:.2} s", summary.total_seconds),
        format!("<b>{}</b><span>packages</span>", summary.packages),
        format!("<b>{}</b><span>cache hits</span>", summary.cache_hits),
        mib(summary.bytes_downloaded),
        mib(summary.bytes_written),
    ];
    for needle in totals.iter().map(String::as_str).chain([
        "Resolve (packuments)</h3>",
        "Fetch</h3>",
        "Extract</h3>",
        "Clone</h3>",
    ]) {
        assert!(dom.contains(needle), "the rendered page lacks {needle:?}");
    }
    for heading in [
        "Totals",
        "Timeline",
        "Queues",
        "Slowest 20 packages per stage",
    ] {
        assert!(
            dom.contains(&format!("{heading}</h2>")),
            "the rendered page lacks the {heading} section"
        );
    }
    assert!(
        dom.contains("&lt;b&gt;odd&amp;co&lt;/b&gt;@1.0.0"),
        "the odd package name is not shown as text"
    );
    assert!(
        !dom.contains("<b>odd"),
        "the odd package name became markup"
    );
}

#[test]
#[ignore = "needs Chromium: cargo test -p utoo-install-trace --test timings_render -- --ignored"]
fn console_errors_are_detected() {
    let (recording, summary) = simulated_install();
    let broken = timings_html(&recording, &summary)
        .replace("</body>", "<script>notAFunction(</script></body>");
    let run = run_chromium(&broken, &["--dump-dom"]);
    assert!(
        run.status.success(),
        "chromium failed: {}\n{}",
        run.status,
        run.stderr
    );
    assert!(
        run.console_lines()
            .iter()
            .any(|l| l.contains("Uncaught SyntaxError")),
        "a broken script went unnoticed:\n{}",
        run.stderr
    );
}

#[test]
#[ignore = "needs Chromium: cargo test -p utoo-install-trace --test timings_render -- --ignored"]
fn a_screenshot_of_the_page_is_1400_pixels_wide() {
    let (recording, summary) = simulated_install();
    let action = [
        "--screenshot={dir}/timings.png",
        "--window-size=1400,3000",
        "--hide-scrollbars",
    ];
    let run = run_chromium(&timings_html(&recording, &summary), &action);
    assert_clean(&run);
    let shot: PathBuf = run.dir.path().join("timings.png");
    let png = fs::read(&shot).unwrap();
    assert_eq!(png_size(&png).0, 1400);
    assert!(
        png.len() > 50_000,
        "the screenshot looks blank ({} bytes)",
        png.len()
    );
    if let Some(keep) = std::env::var_os("UTOO_TIMINGS_SCREENSHOT") {
        fs::copy(&shot, keep).unwrap();
    }
}
