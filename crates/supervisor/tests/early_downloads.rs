//! Downloads start before resolution ends: into an empty `node_modules`,
//! a lockfile's while the resolution still checks it, and in a fresh
//! resolution each registry version as soon as it is picked. A download
//! the final tree does without is counted, not placed.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use serde_json::{json, Value};
use tracing_subscriber::prelude::*;
use utoo_clone_actor::{CloneActor, SharedStrategy};
use utoo_extract_actor::ExtractActor;
use utoo_fetch_actor::FetchActor;
use utoo_install_trace::{Recorder, RecordingHandle};
use utoo_lockfile::Lockfile;
use utoo_package_cache::CacheLayout;
use utoo_registry_client::{ClientConfig, RegistryClient};
use utoo_resolver_actor::ResolverActor;
use utoo_supervisor::{Actors, InstallReport, Limits, Supervisor};
use utoo_test_registry::{Fault, Fixtures, NetworkShape, TestRegistry};

mod support;
use support::install_request;

async fn install(
    registry: &TestRegistry,
    project_dir: &Path,
    cache: &CacheLayout,
    package_json: Value,
) -> (InstallReport, RecordingHandle) {
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
        clone: clone.clone().recipient(),
        link_bins: clone.recipient(),
    };
    let limits = Limits {
        extract_capacity: 2,
        clone_capacity: 2,
        network_concurrency: 16,
    };
    let supervisor = Supervisor::new(actors, cache.clone(), limits).start();
    let report = supervisor
        .send(install_request(
            project_dir,
            package_json,
            registry.url(),
            lockfile,
        ))
        .await
        .unwrap()
        .unwrap();
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
