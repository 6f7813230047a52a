//! Every body has a limit: an announced `Content-Length` over it fails at
//! once, a body without one fails as soon as its bytes pass it, and neither
//! is retried.

use std::time::Duration;

use utoo_registry_client::{ClientConfig, HttpError, RegistryClient};
use utoo_test_registry::{Fault, Fixtures, TestRegistry};

const OCTETS: &str = "application/octet-stream";

fn registry() -> TestRegistry {
    TestRegistry::start(Fixtures::parse("aa@1.0.0").unwrap()).unwrap()
}

fn client() -> RegistryClient {
    RegistryClient::new(&ClientConfig {
        base_delay: Duration::from_millis(10),
        ..ClientConfig::default()
    })
    .unwrap()
}

fn served_length(registry: &TestRegistry, path: &str) -> u64 {
    registry.server().store().get(path).unwrap().body.len() as u64
}

#[tokio::test]
async fn an_endless_body_fails_once_it_passes_the_limit() {
    let registry = registry();
    let url = registry.tarball_url("aa", "1.0.0");
    let path = "/aa/-/aa-1.0.0.tgz";
    registry.inject(
        path,
        Fault::Endless {
            give_up_after: 256 << 20,
        },
        None,
    );
    let err = client().get(&url, OCTETS, None, 1 << 20).await.unwrap_err();
    assert!(
        matches!(&err, HttpError::TooLarge { url: u, limit } if *u == url && *limit == 1 << 20),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("{url}: the response is larger than 1 MB")
    );
    assert_eq!(registry.requests(path), 1, "not retried");
    assert!(
        registry.traffic().bytes_served < 32 << 20,
        "stopped reading: {:?}",
        registry.traffic()
    );
}

#[tokio::test]
async fn an_announced_length_over_the_limit_fails_before_the_body() {
    let registry = registry();
    let url = format!("{}aa", registry.url());
    let length = served_length(&registry, "/aa");
    let err = client()
        .get(&url, OCTETS, None, length - 1)
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::TooLarge { .. }), "{err:?}");
    assert_eq!(registry.requests("/aa"), 1, "not retried");
    let body = client().get(&url, OCTETS, None, length).await.unwrap();
    assert_eq!(
        body.len() as u64,
        length,
        "a body of exactly the limit is read"
    );
}
