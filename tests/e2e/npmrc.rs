use std::fs;

use serde_json::json;

use utoo_test_registry::TestRegistry;

use crate::support::{describe, registry, stderr, tls_registry, without_proxy_env, Project};

#[test]
fn scoped_registries_and_tokens_go_only_where_npmrc_says() {
    let corp = registry("@corp/tool@1.0.0 deps(shared@1)");
    let project = Project::new(
        "
        shared@1.0.0
        public@1.0.0
        ",
        json!({"dependencies": {"@corp/tool": "1", "public": "1"}}),
    );
    let corp_host = corp.url().trim_start_matches("http:").to_string();
    fs::write(
        project.dir().join(".npmrc"),
        format!(
            "@corp:registry={}\n{corp_host}:_authToken=${{CORP_TOKEN}}\n",
            corp.url()
        ),
    )
    .unwrap();
    let output = project.utoo_with(&["install", "-vv"], |c| c.env("CORP_TOKEN", "tok-123"));
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        project.installed(),
        ["@corp/tool@1.0.0", "public@1.0.0", "shared@1.0.0"]
    );
    assert_eq!(corp.requests("/@corp/tool"), 1);
    assert_eq!(project.registry.requests("/@corp/tool"), 0);

    let sent: Vec<(String, String)> = corp.authorizations();
    assert!(
        !sent.is_empty() && sent.iter().all(|(_, header)| header == "Bearer tok-123"),
        "{sent:?}"
    );
    assert!(
        project.registry.authorizations().is_empty(),
        "the token never goes to the other registry"
    );
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!logs.contains("tok-123"), "the token never appears in logs");
    let lock = fs::read_to_string(project.dir().join("package-lock.json")).unwrap();
    assert!(lock.contains(&corp.tarball_url("@corp/tool", "1.0.0")) && !lock.contains("tok-123"));
}

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@1)
    bb@1.0.0
";

fn project_with_npmrc(registry: TestRegistry, npmrc: &str) -> Project {
    let project = Project::with_registry(registry, json!({"dependencies": {"aa": "1"}}));
    fs::write(project.dir().join(".npmrc"), npmrc).unwrap();
    project
}

/// `registry.invalid` cannot resolve: only a proxy can reach it.
const UNREACHABLE: &str = "http://registry.invalid/";

#[test]
fn installs_through_the_npmrc_proxy_whose_credentials_stay_secret() {
    let registry = registry(FIXTURES);
    let with_credentials = registry.url().replace("http://", "http://user:s3cret@");
    let project = project_with_npmrc(registry, &format!("proxy={with_credentials}\n"));
    let output = project.utoo_with(&["install", "-vv"], |c| {
        without_proxy_env(c).env("npm_config_registry", UNREACHABLE)
    });
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);

    let proxied = project.registry.proxied_requests();
    assert!(
        proxied.contains(&"http://registry.invalid/aa".to_string())
            && proxied.contains(&project.registry.tarball_url("bb", "1.0.0")),
        "{proxied:?}"
    );
    assert_eq!(
        proxied.len(),
        project.registry.request_log().len(),
        "every request went through the proxy"
    );
    // base64("user:s3cret")
    let sent = project.registry.proxy_authorizations();
    assert!(
        !sent.is_empty() && sent.iter().all(|h| h == "Basic dXNlcjpzM2NyZXQ="),
        "{sent:?}"
    );
    assert!(!describe(&output).contains("s3cret"));
}

#[test]
fn a_failing_proxy_names_the_url_but_not_its_credentials() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let project = project_with_npmrc(
        registry(FIXTURES),
        &format!("proxy=http://user:s3cret@{closed}/\nfetch-retries=0\n"),
    );
    let output = project.utoo_with(&["install", "-vv"], |c| {
        without_proxy_env(c).env("npm_config_registry", UNREACHABLE)
    });
    assert!(!output.status.success(), "{}", describe(&output));
    let text = describe(&output);
    assert!(text.contains("http://registry.invalid/aa"), "{text}");
    assert!(
        text.contains(&format!("through proxy http://***@{closed}/")),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");

    let bad = project_with_npmrc(
        registry(FIXTURES),
        "proxy=socks5://user:s3cret@127.0.0.1:1080\n",
    );
    let output = bad.utoo_with(&["install"], without_proxy_env);
    let text = describe(&output);
    assert!(
        !output.status.success() && text.contains("invalid proxy URL"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
}

#[test]
fn noproxy_hosts_bypass_the_proxy() {
    let proxy = registry(FIXTURES);
    let project = project_with_npmrc(
        registry(FIXTURES),
        &format!(
            "proxy={}\nhttps-proxy={}\nnoproxy=localhost, 127.0.0.1\n",
            proxy.url(),
            proxy.url()
        ),
    );
    let output = project.utoo_with(&["install"], without_proxy_env);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
    assert_eq!(proxy.traffic().requests, 0);
    assert!(project.registry.proxied_requests().is_empty());
    assert_eq!(project.registry.requests("/aa"), 1);
}

#[test]
fn environment_proxies_apply_without_npmrc_keys() {
    let proxy = registry(FIXTURES);
    let project = Project::with_registry(registry(FIXTURES), json!({"dependencies": {"aa": "1"}}));
    let output = project.utoo_with(&["install"], |c| {
        without_proxy_env(c)
            .env("HTTP_PROXY", proxy.url())
            .env("npm_config_registry", UNREACHABLE)
    });
    assert!(output.status.success(), "{}", describe(&output));
    assert!(proxy
        .proxied_requests()
        .contains(&"http://registry.invalid/aa".to_string()));
}

#[test]
fn a_self_signed_registry_needs_cafile_or_strict_ssl_false() {
    let untrusted = project_with_npmrc(tls_registry(FIXTURES), "");
    let url = format!("{}aa", untrusted.registry.url());
    assert!(url.starts_with("https://"));
    let output = untrusted.utoo_with(&["install"], without_proxy_env);
    let text = stderr(&output);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        text.contains(&url) && text.contains("certificate is not trusted"),
        "{text}"
    );

    let registry = tls_registry(FIXTURES);
    let cafile = tempfile::tempdir().unwrap();
    let pem = cafile.path().join("registry-ca.pem");
    fs::write(&pem, registry.certificate_pem().unwrap()).unwrap();
    let trusted = project_with_npmrc(registry, &format!("cafile={}\n", pem.display()));
    let output = trusted.utoo_with(&["install"], without_proxy_env);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(trusted.installed(), ["aa@1.0.0", "bb@1.0.0"]);
    assert_eq!(
        trusted.registry.tarball_requests(),
        2,
        "tarballs over HTTPS too"
    );

    let lax = project_with_npmrc(tls_registry(FIXTURES), "strict-ssl=false\n");
    let output = lax.utoo_with(&["install"], without_proxy_env);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(lax.installed(), ["aa@1.0.0", "bb@1.0.0"]);
}

#[test]
fn a_missing_cafile_is_named() {
    let project = project_with_npmrc(registry(FIXTURES), "cafile=/nonexistent/corp-ca.pem\n");
    let output = project.utoo_with(&["install"], without_proxy_env);
    let text = stderr(&output);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        text.contains("cafile /nonexistent/corp-ca.pem: cannot be read"),
        "{text}"
    );
}

#[test]
fn npm_settings_utoo_ignores_are_named_in_a_warning() {
    let project = project_with_npmrc(
        registry(FIXTURES),
        "install-links=true\ntag=latest\nlegacy-peer-deps=true\n",
    );
    let output = project.utoo_with(&["install"], |c| {
        c.env("npm_config_install_strategy", "nested")
    });
    assert!(output.status.success(), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains("warn: the npm setting install-links=true is not supported by utoo")
            && err.contains("install-strategy=nested")
            && !err.contains("tag=")
            && !err.contains("legacy-peer-deps"),
        "{err}"
    );
}
