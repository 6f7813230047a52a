//! The supervisor's promise: the extract backlog (tarballs downloaded but not
//! yet extracted) never exceeds twice the extract capacity, even when
//! downloads are fast and extraction is slow.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde_json::json;
use tracing_subscriber::prelude::*;
use utoo_clone_actor::{CloneActor, SharedStrategy};
use utoo_extract_actor::{CacheEntry, Extract, ExtractActor, ExtractError};
use utoo_fetch_actor::{FetchActor, FetchError, FetchTarball, Tarball};
use utoo_install_trace::{chrome_trace, Fields, Recorder};
use utoo_npm_types::Platform;
use utoo_package_cache::CacheLayout;
use utoo_registry_client::{ClientConfig, RegistryClient};
use utoo_resolver_actor::{Project, ResolverActor};
use utoo_supervisor::{Actors, Install, Limits, LockfileSettings, Omit, Supervisor};
use utoo_test_registry::{Fixtures, TestRegistry};

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

#[actix::test]
async fn extract_backlog_stays_within_twice_the_extract_capacity() {
    // The supervisor runs on this thread: its queue samples are recorded.
    let (recorder, recording) = Recorder::new();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder));
    let fixtures = (0..PACKAGES).fold(Fixtures::new(), |f, i| {
        f.version(&format!("p{i}"), "1.0.0", |v| v)
    });
    let registry = TestRegistry::start(fixtures).unwrap();
    let dependencies: serde_json::Map<String, serde_json::Value> = (0..PACKAGES)
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
        inner: FetchActor::new(client.clone(), 64).start(),
        counters: counters.clone(),
    }
    .start();
    let extract = {
        let (cache, counters) = (cache.clone(), counters.clone());
        SyncArbiter::start(EXTRACT_CAPACITY, move || SlowExtract {
            inner: ExtractActor::new(cache.clone()),
            counters: counters.clone(),
        })
    };
    let clone = SyncArbiter::start(2, || CloneActor::new(SharedStrategy::default()));
    let limits = Limits {
        extract_capacity: EXTRACT_CAPACITY,
        clone_capacity: 2,
    };
    let actors = Actors {
        resolver: ResolverActor::new(client, 16).start().recipient(),
        fetch: fetch.recipient(),
        extract: extract.recipient(),
        clone: clone.clone().recipient(),
        link_bins: clone.recipient(),
    };
    let supervisor = Supervisor::new(actors, cache, limits).start();
    let report = supervisor
        .send(Install {
            project_dir: project_dir.clone(),
            package_json_text: package_json.to_string(),
            project: Project::from_package_json(&package_json, "app"),
            package_json,
            lockfile: None,
            registry: utoo_npm_types::Registries::new(registry.url()),
            node_version: || None,
            platform: Platform::current(),
            legacy_peer_deps: false,
            lockfile_only: false,
            frozen_lockfile: false,
            engine_strict: false,
            clean: false,
            package_lock: true,
            lockfile_settings: LockfileSettings {
                path: project_dir.join("package-lock.json"),
                version: 3,
                omit_registry_resolved: false,
                save: true,
                formatted: true,
            },
            omit: Omit::default(),
        })
        .await
        .unwrap()
        .unwrap();

    assert_eq!(report.added, PACKAGES);
    assert_eq!(counters.extracted.load(Ordering::SeqCst), PACKAGES);
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
    assert!(project_dir.join("node_modules/p0/package.json").is_file());

    // The trace shows the same: every extract-backlog sample within the bound in its metadata.
    let limits = Fields::from([("extract_capacity".to_string(), json!(EXTRACT_CAPACITY))]);
    let trace = chrome_trace(&recording.snapshot(), &limits);
    let capacity = trace["otherData"]["limits"]["extract_capacity"]
        .as_u64()
        .unwrap();
    let samples: Vec<u64> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "C" && e["name"] == "extract_backlog")
        .map(|e| e["args"]["depth"].as_u64().unwrap())
        .collect();
    assert!(
        samples.len() >= 2 * PACKAGES,
        "one sample per change, got {}",
        samples.len()
    );
    assert!(
        samples.iter().all(|&depth| depth <= 2 * capacity),
        "{samples:?}"
    );
    assert_eq!(samples.iter().max(), Some(&(2 * capacity)));
}
