use std::thread;

use base64::Engine;
use sha2::{Digest, Sha512};
use utoo_test_registry::{
    Document, DocumentSource, FixtureError, Fixtures, Lookup, Server, StartError, Store, Tarball,
    TestRegistry, Traffic, INSTALL_V1_JSON,
};

use crate::client::{get, path_of, Connection};

const EXAMPLE: &str = r#"
    aa@1.0.0 deps(bb@^1, mm@1.0.0) bin(aa=cli.js)
    bb@1.0.0
    mm@1.0.0
    mm@2.0.0 latest
    host@1.0.0 deps(util@^1)
    plugin1@1.0.0 peer(host@^1)
    popt@1.0.0 peer(host@^1) peer-optional(host)
    winonly@1.0.0 os(win32) cpu(x64) deps(wdep@1)
    opt@1.0.0 optional(winonly@1, missing@1)
    dp@1.1.0 deprecated("use something else")
    en@1.1.0 engines(node=>=99)
    @scope/pkg@1.0.0
    inst@1.0.0 script(postinstall=node install.js) file(install.js=console.log(1))
"#;

fn example_registry() -> TestRegistry {
    TestRegistry::start(Fixtures::parse(EXAMPLE).unwrap()).unwrap()
}

fn sha512_integrity(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha512::digest(bytes))
    )
}

#[test]
fn packument_describes_every_version() {
    let registry = example_registry();
    let address = registry.server().address();
    let aa = get(address, "/aa");
    assert_eq!(aa.status, 200);
    assert_eq!(aa.header("content-type"), Some("application/json"));
    let aa = aa.json();
    assert_eq!(aa["name"], "aa");
    assert_eq!(aa["dist-tags"]["latest"], "1.0.0");
    let version = &aa["versions"]["1.0.0"];
    assert_eq!(version["dependencies"]["bb"], "^1");
    assert_eq!(version["bin"]["aa"], "cli.js");
    assert_eq!(version["license"], "MIT");
    assert_eq!(
        version["dist"]["tarball"],
        registry.tarball_url("aa", "1.0.0")
    );
    assert!(aa["modified"].is_string());

    let mm = get(address, "/mm").json();
    assert_eq!(mm["dist-tags"]["latest"], "2.0.0");
    let popt = get(address, "/popt").json();
    assert_eq!(
        popt["versions"]["1.0.0"]["peerDependenciesMeta"]["host"]["optional"],
        true
    );
    let winonly = get(address, "/winonly").json();
    assert_eq!(winonly["versions"]["1.0.0"]["os"][0], "win32");
    assert_eq!(winonly["versions"]["1.0.0"]["cpu"][0], "x64");
    let opt = get(address, "/opt").json();
    assert_eq!(
        opt["versions"]["1.0.0"]["optionalDependencies"]["missing"],
        "1"
    );
    let dp = get(address, "/dp").json();
    assert_eq!(dp["versions"]["1.1.0"]["deprecated"], "use something else");
    let en = get(address, "/en").json();
    assert_eq!(en["versions"]["1.1.0"]["engines"]["node"], ">=99");
    let inst = get(address, "/inst").json();
    assert_eq!(inst["versions"]["1.0.0"]["hasInstallScript"], true);
}

#[test]
fn served_tarball_matches_the_packument_integrity() {
    let registry = example_registry();
    let address = registry.server().address();
    for name in ["aa", "inst", "@scope/pkg"] {
        let packument = get(address, &format!("/{}", name.replace('/', "%2f"))).json();
        let dist = &packument["versions"]["1.0.0"]["dist"];
        let tarball_url = dist["tarball"].as_str().unwrap();
        assert!(tarball_url.starts_with(&registry.url()), "{tarball_url}");
        let tarball = get(address, path_of(tarball_url));
        assert_eq!(tarball.status, 200);
        assert_eq!(
            tarball.header("content-type"),
            Some("application/octet-stream")
        );
        let integrity = sha512_integrity(&tarball.body);
        assert_eq!(dist["integrity"], integrity);
        assert_eq!(registry.integrity(name, "1.0.0"), Some(integrity.as_str()));
        assert_eq!(dist["shasum"].as_str().unwrap().len(), 40);
    }
}

#[test]
fn raw_tarballs_are_served_with_their_own_integrity() {
    let hostile = Tarball::new()
        .file(
            "package/package.json",
            r#"{"name":"evil","version":"1.0.0"}"#,
        )
        .file("package/../../escape.txt", "owned")
        .symlink("package/link", "/etc")
        .gzip()
        .unwrap();
    let fixtures = Fixtures::new().version("evil", "1.0.0", |v| v.raw_tarball(hostile.clone()));
    let registry = TestRegistry::start(fixtures).unwrap();
    let tarball = get(
        registry.server().address(),
        path_of(&registry.tarball_url("evil", "1.0.0")),
    );
    assert_eq!(tarball.body, hostile);
    assert_eq!(
        registry.integrity("evil", "1.0.0"),
        Some(sha512_integrity(&hostile).as_str())
    );
}

#[test]
fn scoped_packuments_answer_every_spelling() {
    let registry = example_registry();
    let address = registry.server().address();
    let bodies: Vec<Vec<u8>> = ["/@scope%2fpkg", "/@scope%2Fpkg", "/@scope/pkg"]
        .into_iter()
        .map(|path| {
            let response = get(address, path);
            assert_eq!(response.status, 200, "{path}");
            response.body
        })
        .collect();
    assert!(bodies.iter().all(|body| *body == bodies[0]));
    assert_eq!(registry.requests("/@scope/pkg"), 3);
    assert_eq!(registry.requests("/@scope%2fpkg"), 3);
    assert_eq!(
        registry.tarball_url("@scope/pkg", "1.0.0"),
        format!("{}@scope/pkg/-/pkg-1.0.0.tgz", registry.url())
    );
}

#[test]
fn unknown_paths_get_a_json_404() {
    let registry = example_registry();
    for path in ["/nope", "/aa/-/aa-9.9.9.tgz", "/"] {
        let response = get(registry.server().address(), path);
        assert_eq!(response.status, 404);
        assert_eq!(response.body, br#"{"error":"Not found"}"#);
        assert_eq!(response.header("content-type"), Some("application/json"));
    }
}

#[test]
fn install_v1_accept_header_gets_its_content_type() {
    let registry = example_registry();
    let mut connection = Connection::open(registry.server().address());
    connection.send(
        "GET",
        "/aa",
        &["Accept: application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"],
    );
    let corgi = connection.read_response().unwrap();
    assert_eq!(
        corgi.header("content-type"),
        Some("application/vnd.npm.install-v1+json")
    );
    let full = connection.get("/aa").unwrap();
    assert_eq!(full.header("content-type"), Some("application/json"));
    assert_eq!(corgi.body, full.body);
}

#[test]
fn keep_alive_serves_two_requests_on_one_connection() {
    let registry = example_registry();
    let mut connection = Connection::open(registry.server().address());
    let first = connection.get("/aa").unwrap();
    let second = connection
        .get(path_of(&registry.tarball_url("aa", "1.0.0")))
        .unwrap();
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(first.header("connection"), Some("keep-alive"));
    assert_eq!(registry.request_log(), ["/aa", "/aa/-/aa-1.0.0.tgz"]);
}

#[test]
fn head_requests_get_headers_only() {
    let registry = example_registry();
    let mut connection = Connection::open(registry.server().address());
    connection.send("HEAD", "/aa", &[]);
    let head = connection.read_head().unwrap();
    assert_eq!(head.status, 200);
    assert!(head.content_length() > 0);
    let next = connection.get("/bb").unwrap();
    assert_eq!(next.json()["name"], "bb");
}

#[test]
fn other_methods_are_not_allowed_and_garbage_is_a_bad_request() {
    let registry = example_registry();
    let mut connection = Connection::open(registry.server().address());
    connection.send("DELETE", "/aa", &[]);
    assert_eq!(connection.read_response().unwrap().status, 405);
    assert_eq!(connection.get("/aa").unwrap().status, 200);

    let mut garbage = Connection::open(registry.server().address());
    garbage.send("NOT", "A REQUEST", &[]);
    let response = garbage.read_response().unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(response.header("connection"), Some("close"));
}

#[test]
fn counts_requests_by_path_and_kind() {
    let registry = example_registry();
    let address = registry.server().address();
    get(address, "/aa");
    get(address, "/aa");
    get(address, "/bb?write=true");
    get(address, path_of(&registry.tarball_url("bb", "1.0.0")));
    assert_eq!(registry.requests("/aa"), 2);
    assert_eq!(registry.requests("/bb"), 1);
    assert_eq!(registry.packument_requests(), 3);
    assert_eq!(registry.tarball_requests(), 1);
    assert_eq!(
        registry.request_log(),
        ["/aa", "/aa", "/bb?write=true", "/bb/-/bb-1.0.0.tgz"]
    );
    assert_eq!(registry.traffic().requests, 4);
    registry.reset_counts();
    assert_eq!(registry.requests("/aa"), 0);
    assert_eq!(registry.packument_requests(), 0);
    assert!(registry.request_log().is_empty());
}

#[test]
fn serves_many_concurrent_connections() {
    let registry = example_registry();
    let address = registry.server().address();
    let workers: Vec<_> = (0..64)
        .map(|_| thread::spawn(move || get(address, "/aa").status))
        .collect();
    for worker in workers {
        assert_eq!(worker.join().unwrap(), 200);
    }
    assert_eq!(registry.requests("/aa"), 64);
}

#[test]
fn serves_a_store_and_reports_traffic() {
    let store: Store = [
        (
            "/left-pad".to_owned(),
            Document::json(r#"{"name":"left-pad"}"#),
        ),
        (
            "/left-pad/-/left-pad-1.3.0.tgz".to_owned(),
            Document::tarball(vec![7u8; 1000]),
        ),
    ]
    .into_iter()
    .collect();
    let server = Server::start(store).unwrap();
    assert!(server.url().starts_with("http://127.0.0.1:") && server.url().ends_with('/'));
    let address = server.address();
    assert_eq!(get(address, "/left-pad").body, br#"{"name":"left-pad"}"#);
    assert_eq!(
        get(address, "/left-pad/-/left-pad-1.3.0.tgz").body.len(),
        1000
    );
    server
        .store()
        .insert("/late", Document::new("text/plain", "added while running"));
    let late = get(address, "/late");
    assert_eq!(late.header("content-type"), Some("text/plain"));
    assert_eq!(
        server.traffic(),
        Traffic {
            requests: 3,
            bytes_served: 19 + 1000 + 19
        }
    );
}

/// Serves `/@s/p` in both packument forms, pointing back at the server.
struct TwoForms;

impl DocumentSource for TwoForms {
    fn load(&self, lookup: &Lookup<'_>) -> Option<Document> {
        if lookup.path != "/@s/p" {
            return None;
        }
        let body = format!(
            r#"{{"short":{},"url":"{}"}}"#,
            lookup.abbreviated, lookup.base_url
        );
        Some(if lookup.abbreviated {
            Document::new(INSTALL_V1_JSON, body)
        } else {
            Document::json(body)
        })
    }
}

#[test]
fn a_document_source_serves_both_forms_and_misses_are_logged() {
    let server = Server::start(Store::with_source(TwoForms)).unwrap();
    let address = server.address();
    let full = get(address, "/@s%2fp");
    assert_eq!(full.header("content-type"), Some("application/json"));
    assert_eq!(full.json()["short"], false);
    assert_eq!(full.json()["url"], server.url());
    let mut connection = Connection::open(address);
    connection.send(
        "GET",
        "/@s%2Fp",
        &["Accept: application/vnd.npm.install-v1+json; q=1.0, */*"],
    );
    let short = connection.read_response().unwrap();
    assert_eq!(short.header("content-type"), Some(INSTALL_V1_JSON));
    assert_eq!(short.json()["short"], true);
    assert_eq!(get(address, "/missing").status, 404);
    assert_eq!(server.not_found_log(), ["/missing"]);
    server.reset_counts();
    assert!(server.not_found_log().is_empty());
}

#[test]
fn dropping_the_registry_stops_the_server() {
    let registry = example_registry();
    let address = registry.server().address();
    let mut idle = Connection::open(address);
    assert_eq!(idle.get("/aa").unwrap().status, 200);
    drop(registry);
    let (_, end) = idle.read_rest();
    assert!(end.is_ok() || end.unwrap_err().kind() == std::io::ErrorKind::ConnectionReset);
    assert!(std::net::TcpStream::connect(address).is_err());
}

#[test]
fn invalid_builder_fixtures_fail_to_start() {
    let error = TestRegistry::start(Fixtures::new().version("aa", "latest", |v| v)).unwrap_err();
    assert!(matches!(
        error,
        StartError::Fixture(FixtureError::InvalidVersion { .. })
    ));
}

#[test]
fn absolute_form_requests_are_served_and_recorded_as_proxied() {
    let registry = example_registry();
    let mut connection = Connection::open(registry.server().address());
    connection.send(
        "GET",
        "http://registry.invalid/aa",
        &["Proxy-Authorization: Basic dXNlcjpzZWNyZXQ="],
    );
    let aa = connection.read_response().unwrap();
    assert_eq!(aa.status, 200);
    assert_eq!(aa.json()["name"], "aa");
    let tarball = registry.tarball_url("aa", "1.0.0");
    assert_eq!(connection.get(&tarball).unwrap().status, 200);
    assert_eq!(connection.get("/bb").unwrap().status, 200);
    assert_eq!(
        registry.proxied_requests(),
        ["http://registry.invalid/aa", tarball.as_str()]
    );
    assert_eq!(registry.proxy_authorizations(), ["Basic dXNlcjpzZWNyZXQ="]);
    assert_eq!(registry.requests("/aa"), 1);
    assert_eq!(registry.tarball_requests(), 1);
}

#[test]
fn a_shaped_server_adds_its_latency_and_caps_its_bandwidth() {
    use std::time::{Duration, Instant};
    use utoo_test_registry::NetworkShape;

    let store = Store::new();
    store.insert(
        "/big",
        Document::new("application/octet-stream", vec![7u8; 200_000]),
    );
    store.insert("/small", Document::new("application/json", "{}"));
    // 40 ms a request; 8 Mbit/s is 1,000,000 bytes a second.
    let server = Server::start_shaped(store, 0, NetworkShape::new(40, 8)).unwrap();
    assert_eq!(server.shape(), NetworkShape::new(40, 8));

    let started = Instant::now();
    assert_eq!(get(server.address(), "/small").status, 200);
    let small = started.elapsed();
    let started = Instant::now();
    let big = get(server.address(), "/big");
    let elapsed = started.elapsed();

    assert!(small >= Duration::from_millis(40), "{small:?}");
    assert_eq!(big.body.len(), 200_000);
    assert!(elapsed >= Duration::from_millis(240), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn conditional_requests_get_304_without_a_body() {
    let mut registry = example_registry();
    let address = registry.server().address();
    let first = get(address, "/aa");
    let etag = first.header("etag").unwrap().to_owned();
    let last_modified = first.header("last-modified").unwrap().to_owned();
    assert!(etag.starts_with('"') && last_modified.ends_with(" GMT"));
    assert_eq!(get(address, "/aa/-/aa-1.0.0.tgz").header("etag"), None);
    registry.reset_counts();

    let mut connection = Connection::open(address);
    for header in [
        format!("If-None-Match: {etag}"),
        format!("If-Modified-Since: {last_modified}"),
    ] {
        connection.send("GET", "/aa", &[&header]);
        let response = connection.read_response().unwrap();
        assert_eq!(response.status, 304, "{header}");
        assert!(response.body.is_empty());
        assert_eq!(response.header("etag"), Some(etag.as_str()));
    }
    // A stale tag wins over a matching date: the document is sent.
    let stale = [
        "If-None-Match: \"stale\"".to_string(),
        format!("If-Modified-Since: {last_modified}"),
    ];
    connection.send("GET", "/aa", &[&stale[0], &stale[1]]);
    assert_eq!(connection.read_response().unwrap().status, 200);
    assert_eq!(registry.not_modified_log(), ["/aa", "/aa"]);
    assert_eq!(registry.conditional_requests().len(), 3);
    assert_eq!(registry.traffic().bytes_served, first.body.len() as u64);

    // Republished, the document has new validators.
    registry
        .republish(&Fixtures::parse("aa@1.0.0\naa@1.1.0").unwrap())
        .unwrap();
    connection.send("GET", "/aa", &[&format!("If-None-Match: {etag}")]);
    let changed = connection.read_response().unwrap();
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    assert_eq!(changed.json()["dist-tags"]["latest"], "1.1.0");
}
