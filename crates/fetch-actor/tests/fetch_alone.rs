//! The fetch actor on its own, against a loopback registry: verified
//! downloads, integrity failures, retries, 404s and the in-flight bound.

use std::time::{Duration, Instant};

use actix::{Actor, Addr};
use bytes::Bytes;
use futures::future::join_all;
use utoo_fetch_actor::{BodyPermits, FetchActor, FetchError, FetchTarball, Tarball};
use utoo_registry_client::{ClientConfig, HttpError, RegistryClient};
use utoo_test_registry::{Fault, Fixtures, TestRegistry};

fn client() -> RegistryClient {
    RegistryClient::new(&ClientConfig {
        base_delay: Duration::from_millis(10),
        ..Default::default()
    })
    .expect("HTTP client")
}

fn registry(fixtures: &str) -> TestRegistry {
    TestRegistry::start(Fixtures::parse(fixtures).expect("fixtures")).expect("registry")
}

fn fetcher(max_in_flight: usize) -> Addr<FetchActor> {
    FetchActor::new(client(), max_in_flight).start()
}

/// The server path of `name@version`'s tarball, e.g. `/aa/-/aa-1.0.0.tgz`.
fn tarball_path(registry: &TestRegistry, name: &str, version: &str) -> String {
    let url = registry.tarball_url(name, version);
    let base = registry.url();
    url.strip_prefix(base.trim_end_matches('/'))
        .expect("tarball URL below the registry")
        .to_string()
}

/// The exact bytes the registry serves for `name@version`.
fn served(registry: &TestRegistry, name: &str, version: &str) -> Bytes {
    registry
        .server()
        .store()
        .get(&tarball_path(registry, name, version))
        .expect("published tarball")
        .body
}

fn fetch(
    registry: &TestRegistry,
    name: &str,
    version: &str,
    integrity: Option<&str>,
) -> FetchTarball {
    FetchTarball {
        name: name.to_string(),
        version: version.to_string(),
        url: registry.tarball_url(name, version),
        integrity: integrity.map(str::to_string),
        body_permits: None,
        prepare: false,
    }
}

/// The error and its causes, as the CLI prints them.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text = format!("{text}: {next}");
        cause = next.source();
    }
    text
}

async fn send(actor: &Addr<FetchActor>, msg: FetchTarball) -> Result<Tarball, FetchError> {
    actor.send(msg).await.expect("fetch actor mailbox")
}

const TWO: &str = "aa@1.0.0 deps(bb@^1)\nbb@1.0.0";

#[actix::test]
async fn downloads_and_verifies_the_served_tarball() {
    let registry = registry(TWO);
    let actor = fetcher(4);
    let integrity = registry.integrity("aa", "1.0.0").expect("integrity");

    let tarball = send(&actor, fetch(&registry, "aa", "1.0.0", Some(integrity)))
        .await
        .expect("verified download");

    assert!(!tarball.bytes.is_empty());
    assert_eq!(tarball.bytes, served(&registry, "aa", "1.0.0"));
    assert_ne!(tarball.bytes, served(&registry, "bb", "1.0.0"));
    assert_eq!(
        registry.requests(&tarball_path(&registry, "aa", "1.0.0")),
        1
    );
}

#[actix::test]
async fn without_integrity_nothing_is_verified() {
    let registry = registry(TWO);
    let actor = fetcher(4);

    let tarball = send(&actor, fetch(&registry, "bb", "1.0.0", None))
        .await
        .expect("unverified download");

    assert_eq!(tarball.bytes, served(&registry, "bb", "1.0.0"));
}

#[actix::test]
async fn wrong_integrity_is_a_mismatch_naming_the_package() {
    let registry = registry(TWO);
    let actor = fetcher(4);
    let other = registry.integrity("bb", "1.0.0").expect("integrity");

    let err = send(&actor, fetch(&registry, "aa", "1.0.0", Some(other)))
        .await
        .expect_err("the integrity belongs to another package");

    let FetchError::Http {
        name,
        version,
        source,
    } = &err
    else {
        panic!("expected FetchError::Http, got {err:?}");
    };
    assert_eq!((name.as_str(), version.as_str()), ("aa", "1.0.0"));
    assert!(
        matches!(source, HttpError::Integrity { .. }),
        "expected an integrity error, got {source:?}"
    );
    let message = with_causes(&err);
    assert!(message.contains("integrity mismatch"), "{message}");
    assert!(message.contains("aa@1.0.0"), "{message}");
    // A mismatch is final: the same bytes would come back.
    assert_eq!(
        registry.requests(&tarball_path(&registry, "aa", "1.0.0")),
        1
    );
}

#[actix::test]
async fn a_corrupted_body_fails_its_integrity_check() {
    let registry = registry(TWO);
    let actor = fetcher(4);
    let path = tarball_path(&registry, "aa", "1.0.0");
    registry.inject(path.as_str(), Fault::Corrupt, Some(1));
    let integrity = registry.integrity("aa", "1.0.0").expect("integrity");

    let err = send(&actor, fetch(&registry, "aa", "1.0.0", Some(integrity)))
        .await
        .expect_err("corrupted bytes must not pass");

    assert!(
        matches!(
            &err,
            FetchError::Http {
                source: HttpError::Integrity { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[actix::test]
async fn an_unreadable_integrity_fails_before_any_request() {
    let registry = registry(TWO);
    let actor = fetcher(4);

    let err = send(
        &actor,
        fetch(&registry, "aa", "1.0.0", Some("md5-nonsense")),
    )
    .await
    .expect_err("unreadable integrity");

    match &err {
        FetchError::BadIntegrity {
            name,
            version,
            integrity,
        } => {
            assert_eq!((name.as_str(), version.as_str()), ("aa", "1.0.0"));
            assert_eq!(integrity, "md5-nonsense");
        }
        other => panic!("expected BadIntegrity, got {other:?}"),
    }
    assert_eq!(registry.tarball_requests(), 0);
}

#[actix::test]
async fn a_transient_503_is_retried() {
    let registry = registry(TWO);
    let actor = fetcher(4);
    let path = tarball_path(&registry, "aa", "1.0.0");
    registry.inject(path.as_str(), Fault::Status(503), Some(1));
    let integrity = registry.integrity("aa", "1.0.0").expect("integrity");

    let tarball = send(&actor, fetch(&registry, "aa", "1.0.0", Some(integrity)))
        .await
        .expect("the retry succeeds");

    assert_eq!(tarball.bytes, served(&registry, "aa", "1.0.0"));
    assert_eq!(registry.requests(&path), 2);
}

#[actix::test]
async fn a_truncated_body_is_retried() {
    let registry = registry(TWO);
    let actor = fetcher(4);
    let path = tarball_path(&registry, "aa", "1.0.0");
    registry.inject(path.as_str(), Fault::Truncate { bytes: 10 }, Some(1));
    let integrity = registry.integrity("aa", "1.0.0").expect("integrity");

    let tarball = send(&actor, fetch(&registry, "aa", "1.0.0", Some(integrity)))
        .await
        .expect("the retry succeeds");

    assert_eq!(tarball.bytes, served(&registry, "aa", "1.0.0"));
    assert_eq!(registry.requests(&path), 2);
}

#[actix::test]
async fn a_404_fails_at_once_and_says_so() {
    let registry = registry(TWO);
    let actor = fetcher(4);

    let err = send(&actor, fetch(&registry, "zz", "9.9.9", None))
        .await
        .expect_err("nothing published there");

    assert!(
        matches!(
            &err,
            FetchError::Http {
                source: HttpError::NotFound { .. },
                ..
            }
        ),
        "{err:?}"
    );
    let message = with_causes(&err);
    assert!(message.contains("404"), "{message}");
    assert!(message.contains("zz@9.9.9"), "{message}");
    assert_eq!(
        registry.requests(&tarball_path(&registry, "zz", "9.9.9")),
        1
    );
}

#[actix::test]
async fn at_most_max_in_flight_downloads_run_at_once() {
    const DELAY: Duration = Duration::from_millis(150);
    let names = ["p1", "p2", "p3", "p4", "p5", "p6"];
    let fixtures: Vec<String> = names.iter().map(|n| format!("{n}@1.0.0")).collect();
    let registry = registry(&fixtures.join("\n"));
    for name in names {
        let path = tarball_path(&registry, name, "1.0.0");
        registry.inject(path.as_str(), Fault::Delay(DELAY), None);
    }
    let actor = fetcher(2);

    let started = Instant::now();
    let downloads = join_all(names.iter().map(|name| {
        let integrity = registry.integrity(name, "1.0.0").expect("integrity");
        send(&actor, fetch(&registry, name, "1.0.0", Some(integrity)))
    }));
    // No download can finish before DELAY has passed since the first request
    // arrived, so halfway there only the first two may have been sent.
    let early_look = async {
        actix::clock::sleep(DELAY / 2).await;
        registry.tarball_requests()
    };
    let (results, arrived_early) = futures::join!(downloads, early_look);
    let elapsed = started.elapsed();

    for (name, result) in names.iter().zip(results) {
        let tarball = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(tarball.bytes, served(&registry, name, "1.0.0"));
    }
    assert!(
        arrived_early <= 2,
        "{arrived_early} requests in flight with max_in_flight = 2"
    );
    // Three waves of two, each held DELAY by the server.
    assert!(elapsed >= DELAY * 3, "6 downloads took only {elapsed:?}");
    assert_eq!(registry.tarball_requests(), 6);
}

#[actix::test]
async fn an_endless_body_fails_at_the_limit_naming_package_url_and_limit() {
    let registry = registry(TWO);
    let path = tarball_path(&registry, "aa", "1.0.0");
    registry.inject(
        path.as_str(),
        Fault::Endless {
            give_up_after: 64 << 20,
        },
        None,
    );
    let actor = FetchActor::new(client(), 4)
        .with_max_tarball_bytes(1 << 20)
        .start();
    let err = send(&actor, fetch(&registry, "aa", "1.0.0", None))
        .await
        .expect_err("over the limit");
    assert!(
        matches!(&err, FetchError::TooLarge { limit, .. } if *limit == 1 << 20),
        "{err:?}"
    );
    let text = err.to_string();
    let url = registry.tarball_url("aa", "1.0.0");
    assert!(
        text.contains("aa@1.0.0") && text.contains(&url) && text.contains("1 MB"),
        "{text}"
    );
    assert_eq!(registry.requests(&path), 1, "not retried");
    assert!(registry.traffic().bytes_served < 32 << 20);
}

#[actix::test]
async fn local_tarballs_are_regular_files_within_the_limit() {
    let actor = FetchActor::new(client(), 4)
        .with_max_tarball_bytes(1 << 20)
        .start();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.tgz");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(2 << 20)
        .unwrap();
    let small = dir.path().join("small.tgz");
    std::fs::write(&small, b"tgz").unwrap();
    let local = |path: &std::path::Path| FetchTarball {
        name: "evil".into(),
        version: "1.0.0".into(),
        url: format!("file://{}", path.display()),
        integrity: None,
        body_permits: None,
        prepare: false,
    };

    let err = send(&actor, local(std::path::Path::new("/dev/zero")))
        .await
        .expect_err("a device");
    assert!(
        with_causes(&err)
            .contains("evil@1.0.0 from /dev/zero: it is a character device, not a regular file"),
        "{err}"
    );
    let err = send(&actor, local(dir.path())).await.expect_err("a folder");
    assert!(with_causes(&err).contains("directory"), "{err}");
    let err = send(&actor, local(&big)).await.expect_err("too large");
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
    let read = send(&actor, local(&small)).await.expect("a small file");
    assert_eq!(&read.bytes[..], b"tgz");
}

#[actix::test]
async fn a_flood_waits_in_the_bounded_mailbox_and_then_in_the_sender() {
    const MAX_IN_FLIGHT: usize = 4;
    const FLOOD: usize = 10_000;
    let registry = registry("slow@1.0.0");
    let path = tarball_path(&registry, "slow", "1.0.0");
    registry.inject(path.as_str(), Fault::Stall, None);
    let actor = fetcher(MAX_IN_FLIGHT);

    // Each message is offered without waiting; the actor gets a turn after
    // each, so it takes every message it is willing to take.
    let mut accepted = 0;
    while accepted < FLOOD {
        if actor
            .try_send(fetch(&registry, "slow", "1.0.0", None))
            .is_err()
        {
            break;
        }
        accepted += 1;
        tokio::task::yield_now().await;
    }
    actix::clock::sleep(Duration::from_millis(200)).await;

    assert!(
        accepted <= MAX_IN_FLIGHT + utoo_fetch_actor::FETCH_MAILBOX + 1,
        "{accepted} of {FLOOD} messages accepted"
    );
    assert_eq!(registry.tarball_requests(), MAX_IN_FLIGHT);
    let refused = actor.try_send(fetch(&registry, "slow", "1.0.0", None));
    assert!(
        refused.is_err(),
        "the sender is held back while the mailbox is full"
    );
}

#[actix::test]
async fn a_body_is_read_only_once_a_permit_is_free() {
    let registry = registry(TWO);
    let actor = fetcher(4);
    let permits = BodyPermits::new(1);
    let with_permits = |name: &str| FetchTarball {
        body_permits: Some(permits.clone()),
        ..fetch(&registry, name, "1.0.0", registry.integrity(name, "1.0.0"))
    };

    let first = send(&actor, with_permits("aa")).await.unwrap();
    assert!(first.permit.is_some());
    assert_eq!(permits.in_use(), 1);

    // The second request goes out at once, but its body waits for the permit.
    let second = actor.send(with_permits("bb"));
    let mut second = Box::pin(second);
    let waited = tokio::time::timeout(Duration::from_millis(300), &mut second).await;
    assert!(
        waited.is_err(),
        "the second body was read while the permit was held"
    );
    assert_eq!(
        registry.requests(&tarball_path(&registry, "bb", "1.0.0")),
        1
    );

    drop(first);
    let second = second.await.expect("fetch actor mailbox").unwrap();
    assert_eq!(second.bytes, served(&registry, "bb", "1.0.0"));
    assert_eq!(permits.in_use(), 1);
    drop(second);
    assert_eq!(permits.in_use(), 0);
}
