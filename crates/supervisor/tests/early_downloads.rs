//! Downloads start before resolution ends: into an empty `node_modules`,
//! a lockfile's while the resolution still checks it, and in a fresh
//! resolution each registry version as soon as it is picked. A download
//! the final tree does without is counted, not placed. Into a
//! `node_modules` that does not exist, the lockfile's tree is placed
//! before resolution ends too: the resolution confirms it or replaces
//! what it no longer has, and a failed install takes `node_modules` back.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde_json::{json, Value};
use tracing_subscriber::prelude::*;
use utoo_clone_actor::{CloneActor, CloneError, ClonePackage, CloneStats, SharedStrategy};
use utoo_extract_actor::ExtractActor;
use utoo_fetch_actor::FetchActor;
use utoo_install_trace::{Recorder, RecordingHandle};
use utoo_lockfile::Lockfile;
use utoo_package_cache::CacheLayout;
use utoo_registry_client::{ClientConfig, RegistryClient};
use utoo_resolver_actor::ResolverActor;
use utoo_supervisor::{Actors, InstallError, InstallReport, Limits, Supervisor};
use utoo_test_registry::{Fault, Fixtures, NetworkShape, TestRegistry};

mod support;
use support::install_request;

/// The clone actor, with a `clone asked` span on the supervisor's thread
/// (where the trace is recorded) for each package it is asked to place.
struct TracedClone(Addr<CloneActor>);

impl Actor for TracedClone {
    type Context = Context<Self>;
}

impl Handler<ClonePackage> for TracedClone {
    type Result = ResponseFuture<Result<CloneStats, CloneError>>;

    fn handle(&mut self, msg: ClonePackage, _ctx: &mut Context<Self>) -> Self::Result {
        drop(tracing::info_span!("clone asked", package = %msg.package).entered());
        let clone = self.0.clone();
        Box::pin(async move { clone.send(msg).await.expect("the clone actor runs") })
    }
}

async fn install(
    registry: &TestRegistry,
    project_dir: &Path,
    cache: &CacheLayout,
    package_json: Value,
) -> (InstallReport, RecordingHandle) {
    let (report, recording) = try_install(registry, project_dir, cache, package_json, false).await;
    (report.unwrap(), recording)
}

async fn try_install(
    registry: &TestRegistry,
    project_dir: &Path,
    cache: &CacheLayout,
    package_json: Value,
    frozen_lockfile: bool,
) -> (Result<InstallReport, InstallError>, RecordingHandle) {
    let (recorder, recording) = Recorder::new();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder));
    let lock_path = project_dir.join("package-lock.json");
    let lockfile = std::fs::read_to_string(&lock_path).ok().map(|text| {
        let lock = Lockfile::parse(&text, &lock_path).unwrap();
        (Arc::new(lock), text)
    });
    let client = RegistryClient::new(&ClientConfig::default()).unwrap();
    let extract = {
        let cache = cache.clone();
        SyncArbiter::start(2, move || ExtractActor::new(cache.clone()))
    };
    let clone = SyncArbiter::start(2, || CloneActor::new(SharedStrategy::default()));
    let actors = Actors {
        resolver: ResolverActor::new(client.clone(), 16).start().recipient(),
        fetch: FetchActor::new(client, 16).start().recipient(),
        extract: extract.recipient(),
        clone: TracedClone(clone.clone()).start().recipient(),
        link_bins: clone.recipient(),
    };
    let limits = Limits {
        extract_capacity: 2,
        clone_capacity: 2,
        network_concurrency: 16,
    };
    let supervisor = Supervisor::new(actors, cache.clone(), limits).start();
    let mut request = install_request(project_dir, package_json, registry.url(), lockfile);
    request.frozen_lockfile = frozen_lockfile;
    let report = supervisor.send(request).await.unwrap();
    (report, recording)
}

/// When the span named `name` whose `field` is `value` started and ended, in µs.
fn span_time(recording: &RecordingHandle, name: &str, field: Option<(&str, &str)>) -> (u64, u64) {
    let span = recording
        .snapshot()
        .spans
        .into_iter()
        .find(|s| {
            s.name == name
                && field.is_none_or(|(key, value)| s.fields.get(key) == Some(&json!(value)))
        })
        .unwrap_or_else(|| panic!("no {name} span"));
    (span.start_us, span.start_us + span.duration_us)
}

/// When the clone actor was asked to place `package`, each time.
fn clones_started(recording: &RecordingHandle, package: &str) -> Vec<u64> {
    recording
        .snapshot()
        .spans
        .into_iter()
        .filter(|s| s.name == "clone asked" && s.fields.get("package") == Some(&json!(package)))
        .map(|s| s.start_us)
        .collect()
}

fn installed_version(project_dir: &Path, name: &str) -> String {
    let path = project_dir
        .join("node_modules")
        .join(name)
        .join("package.json");
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    manifest["version"].as_str().unwrap().to_string()
}

/// A project locked at `aa@1.0.0` and `bb@1.0.0`, installed once so that
/// both are cached, with `node_modules` then removed; from then on the
/// registry answers `slow_path` 500 ms late.
struct Locked {
    registry: TestRegistry,
    cache: CacheLayout,
    project_dir: std::path::PathBuf,
    _scratch: tempfile::TempDir,
}

async fn locked_project(slow_path: &str) -> Locked {
    let fixtures = Fixtures::parse("aa@1.0.0\naa@2.0.0\nbb@1.0.0\ncc@1.0.0").unwrap();
    let registry = TestRegistry::start(fixtures).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let cache = CacheLayout::new(scratch.path().join("cache"));
    let project_dir = scratch.path().join("app");
    std::fs::create_dir_all(&project_dir).unwrap();
    let locked = json!({"name": "app", "dependencies": {"aa": "1.0.0", "bb": "1.0.0"}});
    install(&registry, &project_dir, &cache, locked).await;
    std::fs::remove_dir_all(project_dir.join("node_modules")).unwrap();
    registry.inject(slow_path, Fault::Delay(Duration::from_millis(500)), None);
    Locked {
        registry,
        cache,
        project_dir,
        _scratch: scratch,
    }
}

/// The locked project with `cc` added, which the lockfile lacks.
fn wants_cc() -> Value {
    json!({"name": "app", "dependencies": {"aa": "1.0.0", "bb": "1.0.0", "cc": "1.0.0"}})
}

#[actix::test]
async fn a_lockfiles_tree_is_placed_while_resolution_checks_it_and_kept_when_confirmed() {
    // Resolving cc waits for its packument; the locked aa and bb stay as they are.
    let Locked {
        registry,
        cache,
        project_dir,
        ..
    } = &locked_project("/cc").await;
    let (report, recording) = install(registry, project_dir, cache, wants_cc()).await;

    let (_, resolved_at) = span_time(&recording, "resolve", None);
    for package in ["aa@1.0.0", "bb@1.0.0"] {
        let started = clones_started(&recording, package);
        assert_eq!(started.len(), 1, "{package} is placed once: {started:?}");
        assert!(
            started[0] < resolved_at,
            "{package} was placed at {} µs, resolution ended at {resolved_at} µs",
            started[0]
        );
    }
    assert_eq!(clones_started(&recording, "cc@1.0.0").len(), 1);
    assert_eq!(report.added, 3);
    assert_eq!(installed_version(project_dir, "cc"), "1.0.0");
}

#[actix::test]
async fn a_package_placed_early_that_the_resolution_replaces_is_placed_again() {
    let Locked {
        registry,
        cache,
        project_dir,
        ..
    } = &locked_project("/aa").await;
    let wants_aa_2 = json!({"name": "app", "dependencies": {"aa": "2.0.0", "bb": "1.0.0"}});
    let (report, recording) = install(registry, project_dir, cache, wants_aa_2).await;

    let (_, resolved_at) = span_time(&recording, "resolve", None);
    let (aa_1_placed, _) = span_time(&recording, "clone asked", Some(("package", "aa@1.0.0")));
    assert!(
        aa_1_placed < resolved_at,
        "the locked aa@1.0.0 was placed early"
    );
    assert_eq!(installed_version(project_dir, "aa"), "2.0.0");
    assert_eq!(clones_started(&recording, "bb@1.0.0").len(), 1, "bb stays");
    let placed: Vec<String> = report
        .placed
        .iter()
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect();
    assert_eq!(placed.len(), 2, "{placed:?}");
    assert!(placed.contains(&"aa@2.0.0".to_string()) && placed.contains(&"bb@1.0.0".to_string()));
    assert_eq!((report.added, report.removed), (2, 0));
}

#[actix::test]
async fn a_failed_install_takes_back_the_node_modules_it_began() {
    // A frozen install fails once cc is resolved, 500 ms after aa and bb were placed.
    let Locked {
        registry,
        cache,
        project_dir,
        ..
    } = &locked_project("/cc").await;
    let (result, recording) = try_install(registry, project_dir, cache, wants_cc(), true).await;

    let error = result.unwrap_err();
    assert!(
        matches!(error, InstallError::FrozenLockfile { .. }),
        "{error}"
    );
    assert_eq!(
        clones_started(&recording, "aa@1.0.0").len(),
        1,
        "aa was placed"
    );
    assert!(
        !project_dir.join("node_modules").exists(),
        "the node_modules this install began is gone"
    );
}

#[actix::test]
async fn a_lockfiles_downloads_start_before_resolution_ends_and_unused_ones_are_counted() {
    let fixtures = Fixtures::parse("aa@1.0.0\naa@2.0.0\nbb@1.0.0").unwrap();
    // Each response starts 300 ms after its request.
    let shape = NetworkShape {
        latency: Duration::from_millis(300),
        bytes_per_second: None,
    };
    let registry = TestRegistry::start_shaped(fixtures, shape).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let project_dir = scratch.path().join("app");
    std::fs::create_dir_all(&project_dir).unwrap();
    let first_cache = CacheLayout::new(scratch.path().join("first-cache"));
    let old = json!({"name": "app", "dependencies": {"aa": "1.0.0", "bb": "1.0.0"}});
    let (report, _) = install(&registry, &project_dir, &first_cache, old).await;
    assert_eq!(report.unused_downloads, 0);

    // The lockfile still has aa@1.0.0, but package.json now wants aa@2: the
    // resolution asks for aa's packument (300 ms) and drops the locked aa.
    std::fs::remove_dir_all(project_dir.join("node_modules")).unwrap();
    let cache = CacheLayout::new(scratch.path().join("cache"));
    let new = json!({"name": "app", "dependencies": {"aa": "2.0.0", "bb": "1.0.0"}});
    let (report, recording) = install(&registry, &project_dir, &cache, new).await;

    assert_eq!(report.unused_downloads, 1, "the locked aa@1.0.0");
    assert!(project_dir.join("node_modules/aa/package.json").is_file());
    let installed =
        std::fs::read_to_string(project_dir.join("node_modules/aa/package.json")).unwrap();
    assert!(installed.contains("\"2.0.0\""), "{installed}");
    let (_, resolved_at) = span_time(&recording, "resolve", None);
    let (bb_fetch_started, _) = span_time(&recording, "fetch", Some(("package", "bb@1.0.0")));
    assert!(
        bb_fetch_started < resolved_at,
        "bb's download started at {bb_fetch_started} µs, resolution ended at {resolved_at} µs"
    );
}

#[actix::test]
async fn a_version_downloads_once_picked_and_one_the_tree_does_without_is_counted() {
    let fixtures = Fixtures::parse("a@1.0.0 deps(c@^1)\nb@1.0.0\nc@1.0.0\nc@1.5.0").unwrap();
    let registry = TestRegistry::start(fixtures).unwrap();
    // While the root's step waits for b, the prefetcher picks a's c@^1
    // (1.5.0); the root's own c@1.0.0 then satisfies a, so 1.5.0 is unused.
    registry.inject("/b", Fault::Delay(Duration::from_millis(500)), None);
    let scratch = tempfile::tempdir().unwrap();
    let project_dir = scratch.path().join("app");
    std::fs::create_dir_all(&project_dir).unwrap();
    let cache = CacheLayout::new(scratch.path().join("cache"));
    let package_json =
        json!({"name": "app", "dependencies": {"a": "1.0.0", "b": "1.0.0", "c": "1.0.0"}});
    let (report, recording) = install(&registry, &project_dir, &cache, package_json).await;

    assert_eq!(
        report.unused_downloads, 1,
        "c@1.5.0, picked for a, never placed"
    );
    let c = std::fs::read_to_string(project_dir.join("node_modules/c/package.json")).unwrap();
    assert!(c.contains("\"1.0.0\""), "{c}");
    assert!(!project_dir.join("node_modules/a/node_modules/c").exists());
    let (picked_fetch, _) = span_time(&recording, "fetch", Some(("package", "c@1.5.0")));
    let (_, resolved_at) = span_time(&recording, "resolve", None);
    assert!(picked_fetch < resolved_at);
}
