//! The supervisor's promise: the extract backlog (tarballs downloaded but not
//! yet extracted) never exceeds twice the extract capacity, even when
//! downloads are fast and extraction is slow; and that bound does not cap
//! the requests in flight against a slow registry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde_json::json;
use tracing_subscriber::prelude::*;
use utoo_clone_actor::{CloneActor, SharedStrategy};
use utoo_extract_actor::{CacheEntry, Extract, ExtractActor, ExtractError};
use utoo_fetch_actor::{FetchActor, FetchError, FetchTarball, Tarball};
use utoo_install_trace::{chrome_trace, Fields, Recorder, RecordingHandle};
use utoo_package_cache::CacheLayout;
use utoo_registry_client::{ClientConfig, RegistryClient};
use utoo_resolver_actor::ResolverActor;
use utoo_supervisor::{Actors, InstallReport, Limits, Supervisor};
use utoo_test_registry::{Fixtures, NetworkShape, TestRegistry};

mod support;
use support::install_request;

const PACKAGES: usize = 40;
const EXTRACT_CAPACITY: usize = 2;

/// Downloads completed and extractions completed, as seen by the actors
/// themselves, and the largest difference ever observed between them.
#[derive(Default)]
struct Counters {
    downloaded: AtomicUsize,
    extracted: AtomicUsize,
    max_backlog: AtomicUsize,
}

impl Counters {
    fn observe(&self) {
        let backlog = self
            .downloaded
            .load(Ordering::SeqCst)
            .saturating_sub(self.extracted.load(Ordering::SeqCst));
        self.max_backlog.fetch_max(backlog, Ordering::SeqCst);
    }
}

/// Forwards to the real fetch actor and counts finished downloads.
struct CountingFetch {
    inner: Addr<FetchActor>,
    counters: Arc<Counters>,
}

impl Actor for CountingFetch {
    type Context = Context<Self>;
}

impl Handler<FetchTarball> for CountingFetch {
    type Result = ResponseFuture<Result<Tarball, FetchError>>;

    fn handle(&mut self, msg: FetchTarball, _ctx: &mut Context<Self>) -> Self::Result {
        let inner = self.inner.clone();
        let counters = self.counters.clone();
        Box::pin(async move {
            let result = inner.send(msg).await.map_err(|_| FetchError::Stopped)?;
            counters.downloaded.fetch_add(1, Ordering::SeqCst);
            counters.observe();
            result
        })
    }
}

/// The real extractor, made slow.
struct SlowExtract {
    inner: ExtractActor,
    counters: Arc<Counters>,
}

impl Actor for SlowExtract {
    type Context = SyncContext<Self>;
}

impl Handler<Extract> for SlowExtract {
    type Result = Result<CacheEntry, ExtractError>;

    fn handle(&mut self, msg: Extract, _ctx: &mut SyncContext<Self>) -> Self::Result {
        std::thread::sleep(Duration::from_millis(30));
        let result = self.inner.extract(&msg);
        self.counters.extracted.fetch_add(1, Ordering::SeqCst);
        result
    }
}

fn registry_of(packages: usize, shape: NetworkShape) -> TestRegistry {
    let fixtures = (0..packages).fold(Fixtures::new(), |f, i| {
        f.version(&format!("p{i}"), "1.0.0", |v| v)
    });
    TestRegistry::start_shaped(fixtures, shape).unwrap()
}

/// Installs `p0`..`p{packages}` from `registry` through the real actors,
/// with extraction made slow; the trace is recorded on this thread, where
/// the supervisor runs.
async fn install(
    registry: &TestRegistry,
    packages: usize,
    limits: Limits,
) -> (InstallReport, Arc<Counters>, RecordingHandle) {
    let (recorder, recording) = Recorder::new();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder));
    let dependencies: serde_json::Map<String, serde_json::Value> = (0..packages)
        .map(|i| (format!("p{i}"), json!("1.0.0")))
        .collect();
    let package_json = json!({"name": "app", "dependencies": dependencies});
    let scratch = tempfile::tempdir().unwrap();
    let project_dir = scratch.path().join("app");
    std::fs::create_dir_all(&project_dir).unwrap();
    let cache = CacheLayout::new(scratch.path().join("cache"));
    let counters = Arc::new(Counters::default());

    let client = RegistryClient::new(&ClientConfig::default()).unwrap();
    let fetch = CountingFetch {
        inner: FetchActor::new(client.clone(), limits.network_concurrency).start(),
        counters: counters.clone(),
    }
    .start();
    let extract = {
        let (cache, counters) = (cache.clone(), counters.clone());
        SyncArbiter::start(limits.extract_capacity, move || SlowExtract {
            inner: ExtractActor::new(cache.clone()),
            counters: counters.clone(),
        })
    };
    let clone = SyncArbiter::start(2, || CloneActor::new(SharedStrategy::default()));
    let actors = Actors {
        // Every packument requested at once, so that the versions, announced
        // as they are picked, all come within one round trip.
        resolver: ResolverActor::new(client, 64).start().recipient(),
        fetch: fetch.recipient(),
        extract: extract.recipient(),
        clone: clone.clone().recipient(),
        link_bins: clone.recipient(),
    };
    let supervisor = Supervisor::new(actors, cache, limits).start();
    let report = supervisor
        .send(install_request(
            &project_dir,
            package_json,
            registry.url(),
            None,
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.added, packages);
    assert_eq!(counters.extracted.load(Ordering::SeqCst), packages);
    assert!(project_dir.join("node_modules/p0/package.json").is_file());
    (report, counters, recording)
}

/// The depths the trace's counter track `queue` was sampled at.
fn samples(recording: &RecordingHandle, queue: &str, extract_capacity: usize) -> Vec<u64> {
    let limits = Fields::from([("extract_capacity".to_string(), json!(extract_capacity))]);
    let trace = chrome_trace(&recording.snapshot(), &limits);
    assert_eq!(
        trace["otherData"]["limits"]["extract_capacity"].as_u64(),
        Some(extract_capacity as u64)
    );
    trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "C" && e["name"] == queue)
        .map(|e| e["args"]["depth"].as_u64().unwrap())
        .collect()
}

#[actix::test]
async fn extract_backlog_stays_within_twice_the_extract_capacity() {
    let registry = registry_of(PACKAGES, NetworkShape::default());
    let limits = Limits {
        extract_capacity: EXTRACT_CAPACITY,
        clone_capacity: 2,
        network_concurrency: 64,
    };
    let (report, counters, recording) = install(&registry, PACKAGES, limits).await;

    let bound = 2 * EXTRACT_CAPACITY;
    let observed = counters.max_backlog.load(Ordering::SeqCst);
    assert!(
        observed <= bound,
        "backlog reached {observed}, bound {bound}"
    );
    assert!(
        report.max_extract_backlog <= bound,
        "supervisor saw {}",
        report.max_extract_backlog
    );
    // Fast downloads against slow extraction must fill the backlog: the bound is what held it.
    assert_eq!(report.max_extract_backlog, bound);

    // The trace shows the same: every extract-backlog sample within the bound in its metadata.
    let samples = samples(&recording, "extract_backlog", EXTRACT_CAPACITY);
    assert!(
        samples.len() >= 2 * PACKAGES,
        "one sample per change, got {}",
        samples.len()
    );
    assert!(
        samples.iter().all(|&depth| depth <= bound as u64),
        "{samples:?}"
    );
    assert_eq!(samples.iter().max(), Some(&(bound as u64)));
}

#[actix::test]
async fn the_backlog_bound_does_not_cap_requests_in_flight() {
    const MANY: usize = 48;
    const CONCURRENCY: usize = 32;
    // Each response starts 300 ms after its request: only overlapping
    // requests make this install fast.
    let shape = NetworkShape {
        latency: Duration::from_millis(300),
        bytes_per_second: None,
    };
    let registry = registry_of(MANY, shape);
    let limits = Limits {
        extract_capacity: EXTRACT_CAPACITY,
        clone_capacity: 2,
        network_concurrency: CONCURRENCY,
    };
    let (report, counters, recording) = install(&registry, MANY, limits).await;

    assert_eq!(report.max_downloads_in_flight, CONCURRENCY);
    let in_flight = samples(&recording, "downloads_in_flight", EXTRACT_CAPACITY);
    assert_eq!(in_flight.iter().max(), Some(&(CONCURRENCY as u64)));
    let bound = 2 * EXTRACT_CAPACITY;
    assert!(counters.max_backlog.load(Ordering::SeqCst) <= bound);
    assert!(report.max_extract_backlog <= bound);
    let backlog = samples(&recording, "extract_backlog", EXTRACT_CAPACITY);
    assert!(
        backlog.iter().all(|&depth| depth <= bound as u64),
        "{backlog:?}"
    );
}
