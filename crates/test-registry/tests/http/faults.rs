use std::io::ErrorKind;
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest, Sha512};
use utoo_test_registry::{Fault, Fixtures, PathMatch, TestRegistry};

use crate::client::{get, path_of, Connection};

fn registry() -> TestRegistry {
    TestRegistry::start(Fixtures::parse("aa@1.0.0\nbb@1.0.0\n@s/cc@1.0.0").unwrap()).unwrap()
}

fn tarball_path(registry: &TestRegistry, name: &str) -> String {
    path_of(&registry.tarball_url(name, "1.0.0")).to_owned()
}

#[test]
fn status_fault_applies_the_given_number_of_times() {
    let registry = registry();
    let address = registry.server().address();
    registry.inject("/aa", Fault::Status(503), Some(2));
    let mut connection = Connection::open(address);
    let first = connection.get("/aa").unwrap();
    assert_eq!(first.status, 503);
    assert_eq!(first.json()["error"], "Service unavailable");
    assert_eq!(connection.get("/aa").unwrap().status, 503);
    assert_eq!(connection.get("/aa").unwrap().status, 200);
    assert_eq!(get(address, "/bb").status, 200);
    assert_eq!(registry.requests("/aa"), 3);
}

#[test]
fn unlimited_faults_last_until_cleared() {
    let registry = registry();
    let address = registry.server().address();
    registry.inject("/aa", Fault::Status(404), None);
    for _ in 0..3 {
        assert_eq!(get(address, "/aa").status, 404);
    }
    registry.clear_faults();
    assert_eq!(get(address, "/aa").status, 200);
}

#[test]
fn prefix_faults_cover_every_matching_path() {
    let registry = registry();
    let address = registry.server().address();
    registry.inject(PathMatch::prefix("/@s/cc/-/"), Fault::Status(500), Some(1));
    registry.inject(PathMatch::prefix("/aa"), Fault::Status(502), None);
    assert_eq!(get(address, "/@s%2fcc").status, 200);
    assert_eq!(get(address, &tarball_path(&registry, "@s/cc")).status, 500);
    assert_eq!(get(address, &tarball_path(&registry, "@s/cc")).status, 200);
    assert_eq!(get(address, "/aa").status, 502);
    assert_eq!(get(address, &tarball_path(&registry, "aa")).status, 502);
}

#[test]
fn too_many_requests_carries_retry_after() {
    let registry = registry();
    registry.inject(
        "/aa",
        Fault::TooManyRequests {
            retry_after_seconds: 7,
        },
        Some(1),
    );
    let response = get(registry.server().address(), "/aa");
    assert_eq!(response.status, 429);
    assert_eq!(response.header("retry-after"), Some("7"));
}

#[test]
fn delay_postpones_a_normal_response() {
    let registry = registry();
    registry.inject("/aa", Fault::Delay(Duration::from_millis(300)), Some(1));
    let started = Instant::now();
    let response = get(registry.server().address(), "/aa");
    assert_eq!(response.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.json()["name"], "aa");
}

#[test]
fn truncate_announces_the_full_length_then_closes() {
    let registry = registry();
    let path = tarball_path(&registry, "aa");
    registry.inject(path.as_str(), Fault::Truncate { bytes: 10 }, Some(1));
    let mut connection = Connection::open(registry.server().address());
    connection.send("GET", &path, &[]);
    let head = connection.read_head().unwrap();
    assert_eq!(head.status, 200);
    assert!(head.content_length() > 10);
    let (body, end) = connection.read_rest();
    assert_eq!(body.len(), 10);
    assert!(end.is_ok(), "closed cleanly: {end:?}");
    assert_eq!(get(registry.server().address(), &path).status, 200);
}

#[test]
fn reset_closes_without_a_response() {
    let registry = registry();
    registry.inject("/aa", Fault::Reset, Some(1));
    let mut connection = Connection::open(registry.server().address());
    connection.send("GET", "/aa", &[]);
    let (received, end) = connection.read_rest();
    assert!(received.is_empty());
    assert_eq!(end.unwrap_err().kind(), ErrorKind::ConnectionReset);
}

#[test]
fn reset_mid_body_sends_part_of_the_body_first() {
    let registry = registry();
    let path = tarball_path(&registry, "aa");
    registry.inject(path.as_str(), Fault::ResetMidBody, Some(1));
    let mut connection = Connection::open(registry.server().address());
    connection.send("GET", &path, &[]);
    let head = connection.read_head().unwrap();
    assert_eq!(head.status, 200);
    let (body, end) = connection.read_rest();
    assert!(body.len() < head.content_length());
    assert_eq!(end.unwrap_err().kind(), ErrorKind::ConnectionReset);
}

#[test]
fn stall_never_answers_until_shutdown() {
    let registry = registry();
    registry.inject("/aa", Fault::Stall, None);
    let mut connection = Connection::open(registry.server().address());
    connection.set_read_timeout(Duration::from_millis(300));
    connection.send("GET", "/aa", &[]);
    let error = connection.read_head().unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{error:?}"
    );
    assert_eq!(get(registry.server().address(), "/bb").status, 200);
    let started = Instant::now();
    drop(registry);
    assert!(started.elapsed() < Duration::from_secs(5));
    connection.set_read_timeout(Duration::from_secs(5));
    let (received, _) = connection.read_rest();
    assert!(received.is_empty());
}

#[test]
fn corrupt_flips_bytes_so_integrity_fails() {
    let registry = registry();
    let path = tarball_path(&registry, "aa");
    registry.inject(path.as_str(), Fault::Corrupt, Some(1));
    let address = registry.server().address();
    let corrupted = get(address, &path);
    let intact = get(address, &path);
    assert_eq!(corrupted.status, 200);
    assert_eq!(corrupted.body.len(), intact.body.len());
    assert_ne!(corrupted.body, intact.body);
    let integrity = |bytes: &[u8]| {
        format!(
            "sha512-{}",
            base64::engine::general_purpose::STANDARD.encode(Sha512::digest(bytes))
        )
    };
    let expected = registry.integrity("aa", "1.0.0").unwrap();
    assert_ne!(integrity(&corrupted.body), expected);
    assert_eq!(integrity(&intact.body), expected);
}

#[test]
fn endless_streams_chunks_without_a_length_until_it_gives_up() {
    let registry = registry();
    let path = tarball_path(&registry, "aa");
    registry.inject(
        path.as_str(),
        Fault::Endless {
            give_up_after: 1 << 20,
        },
        Some(1),
    );
    let mut connection = Connection::open(registry.server().address());
    connection.send("GET", &path, &[]);
    let head = connection.read_head().unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    assert_eq!(head.header("content-length"), None);
    let (body, end) = connection.read_rest();
    assert!(end.is_ok(), "{end:?}");
    assert!(body.len() > 1 << 20 && body.ends_with(b"\r\n0\r\n\r\n"));
    assert!(body.starts_with(b"10000\r\n\0\0"));
    assert_eq!(registry.traffic().bytes_served, 1 << 20);
}

#[test]
fn endless_stops_when_the_client_hangs_up() {
    let registry = registry();
    registry.inject(
        "/aa",
        Fault::Endless {
            give_up_after: u64::MAX,
        },
        Some(1),
    );
    let mut connection = Connection::open(registry.server().address());
    connection.send("GET", "/aa", &[]);
    assert_eq!(connection.read_head().unwrap().status, 200);
    drop(connection);
    let started = Instant::now();
    let mut served = registry.traffic().bytes_served;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = registry.traffic().bytes_served;
        if now == served {
            break;
        }
        served = now;
        assert!(started.elapsed() < Duration::from_secs(5), "still sending");
    }
    assert_eq!(get(registry.server().address(), "/bb").status, 200);
}

#[test]
fn faults_can_be_added_while_serving_on_a_live_connection() {
    let registry = registry();
    let mut connection = Connection::open(registry.server().address());
    assert_eq!(connection.get("/aa").unwrap().status, 200);
    registry.inject("/aa", Fault::Status(500), Some(1));
    assert_eq!(connection.get("/aa").unwrap().status, 500);
    assert_eq!(connection.get("/aa").unwrap().status, 200);
}
