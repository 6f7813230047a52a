use std::collections::BTreeSet;
use std::fs;

use serde_json::{json, Value};

use crate::support::{describe, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1, cc@1) bin(aa=cli.js)
    bb@1.0.0
    cc@1.0.0
";

fn read_trace(project: &Project, name: &str) -> Value {
    let text = fs::read_to_string(project.dir().join(name)).expect("trace written");
    serde_json::from_str(&text).expect("trace is JSON")
}

fn events(trace: &Value) -> &Vec<Value> {
    trace["traceEvents"].as_array().expect("traceEvents array")
}

/// `name@version` of every X span of one stage.
fn packages_in(trace: &Value, stage: &str) -> BTreeSet<String> {
    events(trace)
        .iter()
        .filter(|e| {
            e["ph"] == "X"
                && e["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(&format!("{stage} ")))
        })
        .filter_map(|e| e["args"]["package"].as_str().map(str::to_string))
        .collect()
}

fn cache_hits(trace: &Value) -> BTreeSet<String> {
    events(trace)
        .iter()
        .filter(|e| e["ph"] == "i" && e["name"] == "cache hit")
        .filter_map(|e| e["args"]["package"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn trace_has_actor_tracks_queue_counters_and_a_span_per_package_and_stage() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&["--trace", "trace.json"]);
    let trace = read_trace(&project, "trace.json");

    let tracks: Vec<&str> = events(&trace)
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    for actor in ["supervisor", "resolver", "fetch", "extract", "clone"] {
        assert!(
            tracks.iter().any(|t| t.starts_with(actor)),
            "no {actor} track in {tracks:?}"
        );
    }
    let counters: BTreeSet<&str> = events(&trace)
        .iter()
        .filter(|e| e["ph"] == "C")
        .filter_map(|e| e["name"].as_str())
        .collect();
    for queue in [
        "packuments_in_flight",
        "downloads_in_flight",
        "extract_backlog",
        "extracts_active",
        "clones_queued",
    ] {
        assert!(
            counters.contains(queue),
            "no {queue} counter in {counters:?}"
        );
    }
    let limits = &trace["otherData"]["limits"];
    for limit in ["download_capacity", "extract_capacity", "clone_capacity"] {
        assert!(
            limits[limit].as_u64().is_some_and(|n| n > 0),
            "{limit} missing: {limits}"
        );
    }
    let installed: BTreeSet<String> = ["aa@1.0.0", "bb@1.0.0", "cc@1.0.0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for stage in ["fetch", "extract", "clone"] {
        assert_eq!(packages_in(&trace, stage), installed, "{stage} spans");
    }
    let fetch = events(&trace)
        .iter()
        .find(|e| e["name"] == "fetch aa@1.0.0")
        .unwrap();
    assert!(
        fetch["args"]["bytes"].as_u64().is_some_and(|b| b > 0),
        "bytes recorded: {fetch}"
    );

    // A second install from a warm cache: cache hits stand in for fetch and extract.
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.install(&["--trace", "warm.json"]);
    let warm = read_trace(&project, "warm.json");
    assert_eq!(cache_hits(&warm), installed);
    assert!(packages_in(&warm, "fetch").is_empty());
    assert_eq!(packages_in(&warm, "clone"), installed);
}

#[test]
fn trace_is_written_when_the_install_fails() {
    let project = Project::new(
        FIXTURES,
        json!({"dependencies": {"aa": "1", "missing": "1"}}),
    );
    let output = project.utoo(&["install", "--trace", "failed.json"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let trace = read_trace(&project, "failed.json");
    assert!(events(&trace).iter().any(|e| e["name"] == "packument"));
}

#[test]
fn silent_prints_nothing_and_verbose_logs_retries_and_utoo_events_only() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    let output = project.utoo(&["install", "--silent"]);
    assert!(output.status.success());
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "{}",
        describe(&output)
    );

    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    fs::remove_dir_all(project.cache()).unwrap();
    project.registry.inject(
        "/bb/-/bb-1.0.0.tgz",
        utoo_test_registry::Fault::Status(502),
        Some(1),
    );
    let output = project.utoo(&["install", "-v"]);
    assert!(output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("retrying request") && stderr.contains("HTTP 502"),
        "{stderr}"
    );
    assert!(
        stderr.contains("extract_backlog"),
        "-v shows utoo's own events below warnings: {stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "log lines written to a pipe carry colour codes: {stderr:?}"
    );
    // utoo logs nothing at debug here, so any debug line would be hyper's,
    // rustls' or another crate's, which -v leaves out.
    assert!(
        !stderr.contains("DEBUG"),
        "-v shows other crates' debug logs: {stderr}"
    );
}

#[test]
fn timings_page_is_written_and_self_contained() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&["--timings"]);
    let page = fs::read_to_string(project.dir().join("utoo-timings.html"))
        .expect("utoo-timings.html written");
    assert!(
        page.starts_with("<!DOCTYPE html>") || page.starts_with("<!doctype html>"),
        "{}",
        &page[..40]
    );
    for package in ["aa@1.0.0", "bb@1.0.0", "cc@1.0.0"] {
        assert!(page.contains(package), "{package} missing from the page");
    }
    assert!(
        !page.contains("<script src") && !page.contains("<link"),
        "no external resources"
    );
}
