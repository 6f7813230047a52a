//! The resolver actor on its own, against a loopback registry: the hoisted
//! tree, one request per packument, `PackagePlaced` announcements, lockfile
//! reuse, and missing packages.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use serde_json::{json, Value};
use utoo_lockfile::Lockfile;
use utoo_npm_types::{NodeVersion, Platform};
use utoo_registry_client::{ClientConfig, RegistryClient};
use utoo_resolver_actor::{
    is_locked_as, lockfile_from_tree, PackagePlaced, Project, Resolution, Resolve, ResolveError,
    ResolvedTree, ResolverActor,
};
use utoo_test_registry::{Fault, Fixtures, TestRegistry};

/// Records every `PackagePlaced` as `name@version`.
struct Collector {
    seen: Arc<Mutex<Vec<String>>>,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<PackagePlaced> for Collector {
    type Result = ();

    fn handle(&mut self, msg: PackagePlaced, _ctx: &mut Context<Self>) {
        let id = format!("{}@{}", msg.manifest.name, msg.manifest.version);
        self.seen.lock().expect("collector lock").push(id);
    }
}

/// `aa` and `bb` share `dd`; `aa` wants `cc@1` and `bb` wants `cc@2`.
const CONFLICT: &str = "
    aa@1.0.0 deps(bb@1, cc@^1, dd@^1)
    bb@1.0.0 deps(cc@^2, dd@^1)
    cc@1.0.0
    cc@2.0.0
    dd@1.0.0
    dd@1.1.0
    ee@1.0.0
";

struct Setup {
    registry: Arc<TestRegistry>,
    resolver: Addr<ResolverActor>,
    placed: Arc<Mutex<Vec<String>>>,
    collector: Addr<Collector>,
}

impl Setup {
    fn new(fixtures: &str) -> Setup {
        let registry =
            TestRegistry::start(Fixtures::parse(fixtures).expect("fixtures")).expect("registry");
        let client = RegistryClient::new(&ClientConfig {
            base_delay: Duration::from_millis(10),
            ..Default::default()
        })
        .expect("HTTP client");
        let placed = Arc::new(Mutex::new(Vec::new()));
        let collector = Collector {
            seen: placed.clone(),
        }
        .start();
        Setup {
            registry: Arc::new(registry),
            resolver: ResolverActor::new(client, 8).start(),
            placed,
            collector,
        }
    }

    async fn resolve(
        &self,
        package_json: &Value,
        lockfile: Option<Lockfile>,
    ) -> Result<Resolution, ResolveError> {
        self.resolve_on_node(package_json, lockfile, NodeVersion::unknown())
            .await
    }

    async fn resolve_on_node(
        &self,
        package_json: &Value,
        lockfile: Option<Lockfile>,
        node_version: NodeVersion,
    ) -> Result<Resolution, ResolveError> {
        self.resolver
            .send(Resolve {
                project: Project::from_package_json(package_json, "app"),
                lockfile: lockfile.map(std::sync::Arc::new),
                registry: utoo_npm_types::Registries::new(self.registry.url()),
                node_version,
                legacy_peer_deps: false,
                platform: Platform::current(),
                notify: Some(self.collector.clone().recipient()),
            })
            .await
            .expect("resolver mailbox")
    }

    fn take_placed(&self) -> Vec<String> {
        std::mem::take(&mut *self.placed.lock().expect("collector lock"))
    }
}

/// `(path, version)` of every package, in the tree's order.
fn layout(tree: &ResolvedTree) -> Vec<(String, String)> {
    tree.packages
        .iter()
        .map(|p| (p.path.clone(), p.manifest.version.clone()))
        .collect()
}

fn expected_layout() -> Vec<(String, String)> {
    [
        ("node_modules/aa", "1.0.0"),
        ("node_modules/bb", "1.0.0"),
        ("node_modules/bb/node_modules/cc", "2.0.0"),
        ("node_modules/cc", "1.0.0"),
        ("node_modules/dd", "1.1.0"),
    ]
    .iter()
    .map(|(path, version)| (path.to_string(), version.to_string()))
    .collect()
}

#[actix::test]
async fn resolves_a_hoisted_tree_with_a_nested_conflict() {
    let setup = Setup::new(CONFLICT);
    let package_json = json!({"name": "app", "version": "1.0.0", "dependencies": {"aa": "^1.0.0"}});

    let resolution = setup
        .resolve(&package_json, None)
        .await
        .expect("resolution");

    assert_eq!(layout(&resolution.tree), expected_layout());
    assert!(
        resolution.tree.warnings.is_empty(),
        "{:?}",
        resolution.tree.warnings
    );
    for package in &resolution.tree.packages {
        assert!(
            !package.dev && !package.optional && !package.peer && package.installable,
            "{package:?}"
        );
    }
    // Each packument exactly once, `ee` (not needed) never.
    for name in ["aa", "bb", "cc", "dd"] {
        assert_eq!(setup.registry.requests(&format!("/{name}")), 1, "/{name}");
    }
    assert_eq!(setup.registry.requests("/ee"), 0);
    assert_eq!(setup.registry.packument_requests(), 4);
    assert_eq!(setup.registry.tarball_requests(), 0);
    assert_eq!(resolution.packuments_requested, 4);
}

#[actix::test]
async fn every_package_of_the_tree_is_announced() {
    let setup = Setup::new(CONFLICT);
    let package_json = json!({"name": "app", "dependencies": {"aa": "^1.0.0"}});

    let resolution = setup
        .resolve(&package_json, None)
        .await
        .expect("resolution");

    let placed: BTreeSet<String> = setup.take_placed().into_iter().collect();
    let in_tree: BTreeSet<String> = resolution
        .tree
        .packages
        .iter()
        .map(|p| format!("{}@{}", p.manifest.name, p.manifest.version))
        .collect();
    assert_eq!(in_tree.len(), 5);
    assert!(
        in_tree.is_subset(&placed),
        "not announced: {:?}",
        in_tree.difference(&placed).collect::<Vec<_>>()
    );
}

#[actix::test]
async fn a_satisfying_lockfile_needs_no_packuments() {
    let setup = Setup::new(CONFLICT);
    let package_json = json!({"name": "app", "version": "1.0.0", "dependencies": {"aa": "^1.0.0"}});
    let first = setup
        .resolve(&package_json, None)
        .await
        .expect("resolution");
    let project = Project::from_package_json(&package_json, "app");
    let lockfile = lockfile_from_tree(&package_json, &project, &first.tree);
    setup.registry.reset_counts();

    let again = setup
        .resolve(&package_json, Some(lockfile))
        .await
        .expect("resolution from the lockfile");

    assert_eq!(setup.registry.packument_requests(), 0);
    assert_eq!(again.packuments_requested, 0);
    assert_eq!(layout(&again.tree), layout(&first.tree));
    let flags = |tree: &ResolvedTree| -> Vec<(bool, bool, bool)> {
        tree.packages
            .iter()
            .map(|p| (p.dev, p.optional, p.peer))
            .collect()
    };
    assert_eq!(flags(&again.tree), flags(&first.tree));
    for (locked, fresh) in again.tree.packages.iter().zip(&first.tree.packages) {
        assert_eq!(locked.manifest.dist.tarball, fresh.manifest.dist.tarball);
        assert_eq!(
            locked.manifest.dist.integrity,
            fresh.manifest.dist.integrity
        );
    }
}

/// `is_locked_as` tells without building a lockfile what comparing with
/// the one `lockfile_from_tree` builds tells: any field of any entry, an
/// entry more or less, or a top-level field makes them differ.
#[actix::test]
async fn a_lockfile_is_locked_as_its_tree_only_when_all_of_it_is_the_same() {
    let setup = Setup::new(CONFLICT);
    let package_json = json!({"name": "app", "version": "1.0.0", "dependencies": {"aa": "^1.0.0"}});
    let project = Project::from_package_json(&package_json, "app");
    let resolution = setup
        .resolve(&package_json, None)
        .await
        .expect("resolution");
    let tree = &resolution.tree;
    let locked = lockfile_from_tree(&package_json, &project, tree);
    assert!(is_locked_as(&locked, &package_json, &project, tree));
    let nested = "node_modules/bb/node_modules/cc";
    assert!(
        locked.packages.contains_key(nested),
        "{:?}",
        locked.packages.keys()
    );

    type Change = fn(&mut Lockfile);
    let changes: [(&str, Change); 6] = [
        ("an entry's integrity", |lock| {
            lock.packages
                .get_mut("node_modules/bb/node_modules/cc")
                .unwrap()
                .integrity = None;
        }),
        ("an entry's flag", |lock| {
            lock.packages.get_mut("node_modules/dd").unwrap().dev = true;
        }),
        ("an entry less", |lock| {
            lock.packages.remove("node_modules/bb/node_modules/cc");
        }),
        ("an entry more", |lock| {
            let extra = lock.packages["node_modules/dd"].clone();
            lock.packages.insert("node_modules/zz".to_string(), extra);
        }),
        ("the root entry", |lock| {
            lock.packages.get_mut("").unwrap().dependencies.clear();
        }),
        ("a top-level field", |lock| {
            lock.other.insert("extra".to_string(), json!(true));
        }),
    ];
    for (change, make) in changes {
        let mut changed = locked.clone();
        make(&mut changed);
        assert_ne!(changed, locked, "{change}");
        assert!(
            !is_locked_as(&changed, &package_json, &project, tree),
            "{change} went unnoticed"
        );
    }
    let mut other_version = locked.clone();
    other_version.lockfile_version = 2;
    assert!(
        is_locked_as(&other_version, &package_json, &project, tree),
        "the version is the caller's to compare"
    );
}

/// The link npm makes to break `a@1 → b@1 → a@2 → b@2 → a@1` is read back
/// from the lockfile like any package: nothing needs fetching again.
#[actix::test]
async fn a_locked_cycle_link_needs_no_packuments() {
    let setup = Setup::new(
        "
        a@1.0.0 deps(b@1)
        a@2.0.0 deps(b@2)
        b@1.0.0 deps(a@2)
        b@2.0.0 deps(a@1)
        ",
    );
    let package_json = json!({"name": "app", "dependencies": {"a": "1"}});
    let first = setup
        .resolve(&package_json, None)
        .await
        .expect("resolution");
    let project = Project::from_package_json(&package_json, "app");
    let lockfile = lockfile_from_tree(&package_json, &project, &first.tree);
    let locked = lockfile.clone();
    let link = "node_modules/b/node_modules/b/node_modules/b";
    assert!(
        lockfile.packages.get(link).is_some_and(|entry| entry.link),
        "{:?}",
        lockfile.packages.keys()
    );
    setup.registry.reset_counts();

    let again = setup
        .resolve(&package_json, Some(lockfile))
        .await
        .expect("resolution from the lockfile");

    assert_eq!(setup.registry.packument_requests(), 0);
    assert_eq!(
        lockfile_from_tree(&package_json, &project, &again.tree),
        locked
    );
}

#[actix::test]
async fn a_lockfile_missing_a_new_dependency_fetches_only_that_one() {
    let setup = Setup::new(CONFLICT);
    let before = json!({"name": "app", "dependencies": {"aa": "^1.0.0"}});
    let first = setup.resolve(&before, None).await.expect("resolution");
    let lockfile = lockfile_from_tree(
        &before,
        &Project::from_package_json(&before, "app"),
        &first.tree,
    );
    setup.registry.reset_counts();
    let after = json!({"name": "app", "dependencies": {"aa": "^1.0.0", "ee": "^1.0.0"}});

    let again = setup
        .resolve(&after, Some(lockfile))
        .await
        .expect("resolution");

    assert_eq!(setup.registry.request_log(), ["/ee"]);
    let mut expected = expected_layout();
    expected.push(("node_modules/ee".to_string(), "1.0.0".to_string()));
    assert_eq!(layout(&again.tree), expected);
}

#[actix::test]
async fn a_missing_dependency_is_not_found_by_name() {
    let setup = Setup::new(CONFLICT);
    let package_json = json!({"name": "app", "dependencies": {"aa": "^1.0.0", "nope": "^1.0.0"}});

    let err = setup
        .resolve(&package_json, None)
        .await
        .expect_err("nope is not published");

    match &err {
        ResolveError::NotFound { name, url, .. } => {
            assert_eq!(name, "nope");
            assert!(url.ends_with("/nope"), "{url}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(err.to_string().contains("nope"), "{err}");
    assert_eq!(setup.registry.requests("/nope"), 1, "a 404 is not retried");
}

#[actix::test]
async fn a_missing_transitive_dependency_is_not_found_by_name() {
    let setup = Setup::new("aa@1.0.0 deps(gone@^2)");
    let package_json = json!({"name": "app", "dependencies": {"aa": "1.0.0"}});

    let err = setup
        .resolve(&package_json, None)
        .await
        .expect_err("gone is not published");

    assert!(
        matches!(&err, ResolveError::NotFound { name, .. } if name == "gone"),
        "{err:?}"
    );
}

#[actix::test]
async fn no_matching_version_names_the_package_and_the_dependent() {
    let setup = Setup::new(CONFLICT);
    let package_json = json!({"name": "app", "dependencies": {"cc": "^5.0.0"}});

    let err = setup
        .resolve(&package_json, None)
        .await
        .expect_err("no cc@^5");

    match &err {
        ResolveError::NoMatchingVersion {
            name,
            spec,
            dependent,
        } => {
            assert_eq!(name, "cc");
            assert_eq!(spec, "^5.0.0");
            assert!(dependent.contains("root"), "{dependent}");
        }
        other => panic!("expected NoMatchingVersion, got {other:?}"),
    }
}

#[actix::test]
async fn a_missing_optional_dependency_is_skipped_with_a_warning() {
    let setup = Setup::new(
        "
        host@1.0.0 optional(ghost@^1) deps(dd@^1)
        dd@1.0.0
        ",
    );
    let package_json = json!({"name": "app", "dependencies": {"host": "^1.0.0"}});

    let resolution = setup
        .resolve(&package_json, None)
        .await
        .expect("an optional 404 is not fatal");

    let paths: Vec<String> = layout(&resolution.tree)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(paths, ["node_modules/dd", "node_modules/host"]);
    assert_eq!(
        resolution.tree.warnings.len(),
        1,
        "{:?}",
        resolution.tree.warnings
    );
    let warning = resolution.tree.warnings[0].to_string();
    assert!(warning.contains("ghost"), "{warning}");
    assert!(warning.contains("404"), "{warning}");
}

#[actix::test]
async fn a_root_optional_dependency_that_is_missing_is_skipped() {
    let setup = Setup::new("dd@1.0.0");
    let package_json = json!({
        "name": "app",
        "dependencies": {"dd": "^1.0.0"},
        "optionalDependencies": {"ghost": "^1.0.0"}
    });

    let resolution = setup
        .resolve(&package_json, None)
        .await
        .expect("an optional 404 is not fatal");

    assert_eq!(
        layout(&resolution.tree),
        [("node_modules/dd".to_string(), "1.0.0".to_string())]
    );
    assert!(
        resolution
            .tree
            .warnings
            .iter()
            .any(|w| w.to_string().contains("ghost")),
        "{:?}",
        resolution.tree.warnings
    );
}

#[actix::test]
async fn a_transient_packument_failure_is_retried() {
    let setup = Setup::new(CONFLICT);
    setup.registry.inject("/bb", Fault::Status(503), Some(1));
    let package_json = json!({"name": "app", "dependencies": {"aa": "^1.0.0"}});

    let resolution = setup
        .resolve(&package_json, None)
        .await
        .expect("resolution");

    assert_eq!(layout(&resolution.tree), expected_layout());
    assert_eq!(setup.registry.requests("/bb"), 2);
    assert_eq!(setup.registry.requests("/aa"), 1);
}

/// `aa` brings `en` (which declares `engines.node`) and `bb`; `bb` brings
/// `cc`, so `cc` is asked for only once `bb`'s packument has been read.
const ENGINES: &str = "
    aa@1.0.0 deps(en@^1, bb@^1)
    en@1.0.0 engines(node=>=99)
    en@1.1.0
    bb@1.0.0 deps(cc@^1)
    cc@1.0.0
";

#[actix::test]
async fn packuments_are_read_while_node_is_asked_its_version() {
    let setup = Setup::new(ENGINES);
    // `en` arrives first, and its pick asks for Node.js's version.
    setup
        .registry
        .inject("/bb", Fault::Delay(Duration::from_millis(200)), None);
    let registry = setup.registry.clone();
    let waited_for_cc = Arc::new(Mutex::new(None));
    let outcome = waited_for_cc.clone();
    // A slow `node`: it answers once `cc` was asked for, or gives up.
    let node = NodeVersion::new(move || {
        let started = std::time::Instant::now();
        while registry.requests("/cc") == 0 && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        *outcome.lock().expect("outcome lock") = Some(registry.requests("/cc") > 0);
        Some("v20.0.0".to_string())
    });
    let package_json = json!({"name": "app", "dependencies": {"aa": "^1.0.0"}});

    let resolution = setup
        .resolve_on_node(&package_json, None, node)
        .await
        .expect("resolution");

    assert_eq!(
        *waited_for_cc.lock().expect("outcome lock"),
        Some(true),
        "bb's packument was read while node was being asked"
    );
    let en = resolution
        .tree
        .packages
        .iter()
        .find(|p| p.path == "node_modules/en");
    assert_eq!(en.map(|p| p.manifest.version.as_str()), Some("1.1.0"));
}

#[actix::test]
async fn one_resolution_runs_at_a_time_and_the_mailbox_bounds_the_rest() {
    const FLOOD: usize = 10_000;
    let setup = Setup::new(CONFLICT);
    setup.registry.inject("/aa", Fault::Stall, None);
    let request = || Resolve {
        project: Project::from_package_json(&json!({"dependencies": {"aa": "1"}}), "app"),
        lockfile: None,
        registry: utoo_npm_types::Registries::new(setup.registry.url()),
        node_version: utoo_npm_types::NodeVersion::unknown(),
        legacy_peer_deps: false,
        platform: Platform::current(),
        notify: None,
    };

    let mut accepted = 0;
    while accepted < FLOOD && setup.resolver.try_send(request()).is_ok() {
        accepted += 1;
        tokio::task::yield_now().await;
    }
    actix::clock::sleep(Duration::from_millis(200)).await;

    assert!(
        accepted <= 1 + utoo_resolver_actor::RESOLVER_MAILBOX + 1,
        "{accepted} of {FLOOD} resolutions accepted"
    );
    assert_eq!(
        setup.registry.requests("/aa"),
        1,
        "only the first resolution started"
    );
    assert!(setup.resolver.try_send(request()).is_err());
}

/// A step of the builder waits for all of a package's dependencies. What
/// was picked meanwhile is announced at once, so its download can start
/// while a slow packument keeps the step waiting.
#[actix::test]
async fn a_version_is_announced_when_picked_not_when_its_step_ends() {
    let setup = Setup::new(
        "
        aa@1.0.0
        bb@1.0.0
        ",
    );
    let slow = Duration::from_millis(1500);
    setup.registry.inject("/bb", Fault::Delay(slow), None);
    let package_json = json!({"name": "app", "dependencies": {"aa": "1", "bb": "1"}});
    let started = std::time::Instant::now();
    let aa_announced = async {
        while !setup
            .placed
            .lock()
            .expect("collector lock")
            .contains(&"aa@1.0.0".to_string())
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        started.elapsed()
    };

    let (resolution, aa_announced) = tokio::join!(setup.resolve(&package_json, None), aa_announced);

    resolution.expect("resolution");
    assert!(started.elapsed() >= slow);
    assert!(
        aa_announced < slow / 2,
        "aa was announced after {aa_announced:?}, with bb's packument delayed by {slow:?}"
    );
}
