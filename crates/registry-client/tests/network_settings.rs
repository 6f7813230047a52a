//! TLS trust (`cafile`, `ca`, `strict-ssl`) and proxies against loopback
//! registries.

use std::fs;

use utoo_registry_client::{ClientConfig, HttpError, ProxyConfig, RegistryClient, SizeLimits};
use utoo_test_registry::{Fixtures, TestRegistry};

const JSON: &str = "application/json";

fn https_registry() -> TestRegistry {
    TestRegistry::start_tls(Fixtures::parse("aa@1.0.0").unwrap()).unwrap()
}

fn http_registry() -> TestRegistry {
    TestRegistry::start(Fixtures::parse("aa@1.0.0").unwrap()).unwrap()
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

async fn get(config: &ClientConfig, url: &str) -> Result<serde_json::Value, HttpError> {
    let body = RegistryClient::new(config)?
        .get(url, JSON, None, SizeLimits::default().packument)
        .await?;
    Ok(serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn a_self_signed_registry_is_trusted_through_cafile_only() {
    let registry = https_registry();
    let url = format!("{}aa", registry.url());
    assert!(url.starts_with("https://127.0.0.1:"));

    let err = get(&ClientConfig::default(), &url).await.unwrap_err();
    assert!(matches!(err, HttpError::Certificate { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&url) && text.contains("cafile"), "{text}");
    assert_eq!(registry.requests("/aa"), 0);

    let dir = tempfile::tempdir().unwrap();
    let cafile = dir.path().join("ca.pem");
    // Another certificate first: every certificate of the file is trusted.
    let other = https_registry();
    let bundle = format!(
        "{}{}",
        other.certificate_pem().unwrap(),
        registry.certificate_pem().unwrap()
    );
    fs::write(&cafile, bundle).unwrap();
    let config = ClientConfig {
        ca_file: Some(cafile),
        ..ClientConfig::default()
    };
    assert_eq!(get(&config, &url).await.unwrap()["name"], "aa");
    assert_eq!(registry.requests("/aa"), 1);
}

#[tokio::test]
async fn inline_ca_and_strict_ssl_false_also_reach_it() {
    let registry = https_registry();
    let url = format!("{}aa", registry.url());
    let inline = ClientConfig {
        ca_pem: registry.certificate_pem().map(str::to_string),
        ..ClientConfig::default()
    };
    assert_eq!(get(&inline, &url).await.unwrap()["name"], "aa");
    let lax = ClientConfig {
        strict_ssl: false,
        ..ClientConfig::default()
    };
    assert_eq!(get(&lax, &url).await.unwrap()["name"], "aa");
    assert_eq!(registry.requests("/aa"), 2);
}

#[test]
fn a_bad_cafile_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let not_pem = dir.path().join("not.pem");
    fs::write(&not_pem, "hello\n").unwrap();
    for (path, why) in [(missing, "cannot be read"), (not_pem, "no PEM certificate")] {
        let config = ClientConfig {
            ca_file: Some(path.clone()),
            ..ClientConfig::default()
        };
        let err = RegistryClient::new(&config).unwrap_err();
        let text = with_causes(&err);
        assert!(matches!(err, HttpError::CaFile { .. }), "{err:?}");
        assert!(
            text.contains(&path.display().to_string()) && text.contains(why),
            "{text}"
        );
    }
    let inline = ClientConfig {
        ca_pem: Some("garbage".to_string()),
        ..ClientConfig::default()
    };
    assert!(matches!(
        RegistryClient::new(&inline),
        Err(HttpError::Ca(_))
    ));
}

#[tokio::test]
async fn http_requests_go_through_the_proxy_with_its_credentials() {
    let proxy = http_registry();
    let proxy_url = proxy.url().replace("http://", "http://user:s3cret@");
    let config = ClientConfig {
        proxy: Some(ProxyConfig {
            http: Some(proxy_url),
            ..ProxyConfig::default()
        }),
        ..ClientConfig::default()
    };
    let packument = get(&config, "http://registry.invalid/aa").await.unwrap();
    assert_eq!(packument["name"], "aa");
    assert_eq!(proxy.proxied_requests(), ["http://registry.invalid/aa"]);
    // base64("user:s3cret")
    assert_eq!(proxy.proxy_authorizations(), ["Basic dXNlcjpzM2NyZXQ="]);
}

#[tokio::test]
async fn no_proxy_hosts_go_direct() {
    let proxy = http_registry();
    let registry = http_registry();
    let config = ClientConfig {
        proxy: Some(ProxyConfig {
            http: Some(proxy.url()),
            https: None,
            no_proxy: vec!["example.org".to_string(), "127.0.0.1".to_string()],
        }),
        ..ClientConfig::default()
    };
    let url = format!("{}aa", registry.url());
    assert_eq!(get(&config, &url).await.unwrap()["name"], "aa");
    assert_eq!(registry.requests("/aa"), 1);
    assert!(registry.proxied_requests().is_empty());
    assert_eq!(proxy.traffic().requests, 0);
}

#[tokio::test]
async fn a_proxy_that_fails_leaves_its_credentials_out_of_the_error() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let config = ClientConfig {
        attempts: 1,
        proxy: Some(ProxyConfig {
            http: Some(format!("http://user:s3cret@{closed}")),
            ..ProxyConfig::default()
        }),
        ..ClientConfig::default()
    };
    let err = get(&config, "http://registry.invalid/aa")
        .await
        .unwrap_err();
    let text = format!("{} {err:?}", with_causes(&err));
    assert!(text.contains("http://registry.invalid/aa"), "{text}");
    assert!(
        text.contains(&format!(
            "the request through proxy http://***@{closed}/ failed"
        )),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
}
