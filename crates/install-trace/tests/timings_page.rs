//! The `--timings` page of a fixed recording, byte for byte. The recording
//! reaches every part of the page: supervisor phases, markers, an empty
//! stage, merged bars, more than 20 spans in a stage, a queue the page
//! doesn't know, a limit given as text and names that need escaping.
//!
//! When the page changes on purpose, write the new expectation with
//! `UTOO_WRITE_FIXTURE=1 cargo test -p utoo-install-trace --test timings_page`
//! and read its diff.

use std::path::Path;

use serde_json::{json, Value};
use utoo_install_trace::{
    timings_html, EventRecord, Fields, Recording, SpanRecord, TimingsSummary, QUEUE_TARGET,
};

const FIXTURE: &str = "tests/fixtures/timings.html";

fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.clone()))
        .collect()
}

fn span(name: &str, target: &str, start_us: u64, duration_us: u64, fields: Fields) -> SpanRecord {
    SpanRecord {
        name: name.into(),
        target: target.into(),
        thread: "worker".into(),
        start_us,
        duration_us,
        fields,
    }
}

fn event(name: &str, target: &str, at_us: u64, fields: Fields) -> EventRecord {
    EventRecord {
        name: name.into(),
        target: target.into(),
        thread: "main".into(),
        at_us,
        fields,
    }
}

fn recording() -> Recording {
    let mut recording = Recording::default();
    let spans = &mut recording.spans;
    spans.push(span("resolve", "utoo_supervisor", 0, 61_000, Fields::new()));
    spans.push(span(
        "install",
        "utoo_supervisor",
        0,
        187_400,
        Fields::new(),
    ));
    for i in 0..24u64 {
        let name = match i {
            7 => "<b>odd&co</b>".to_string(),
            _ => format!("@scope/pkg-{i}"),
        };
        let package = format!("{name}@1.{i}.0");
        let start = i * 2_300 + i % 3 * 700;
        let packument = fields(&[("name", json!(name)), ("bytes", json!(900 + i * 37))]);
        spans.push(span(
            "packument",
            "utoo_resolver_actor",
            start,
            8_000 + i % 5 * 3_100,
            packument,
        ));
        let bytes = 1_500 << (i % 9) | i;
        let fetch = fields(&[("package", json!(package)), ("bytes", json!(bytes))]);
        // Every fourth download is very short, to be merged with its row's next bar.
        let fetch_us = if i % 4 == 0 { 40 } else { 4_000 + bytes / 50 };
        spans.push(span(
            "fetch",
            "utoo_fetch_actor",
            start + 20_000,
            fetch_us,
            fetch,
        ));
        if i % 2 == 0 {
            let extract = fields(&[
                ("package", json!(package)),
                ("bytes", json!(bytes * 3)),
                ("files", json!(3 + i * 41)),
            ]);
            spans.push(span(
                "extract",
                "utoo_extract_actor",
                start + 60_000,
                1_200 + i * 90,
                extract,
            ));
        }
        if i % 6 == 0 {
            let link = fields(&[("package", json!(package))]);
            spans.push(span(
                "link_bins",
                "utoo_clone_actor",
                150_000 + i * 400,
                350,
                link,
            ));
        }
    }
    let events = &mut recording.events;
    let url = fields(&[("url", json!("/pkg-5/-/pkg-5-1.5.0.tgz"))]);
    for at in [31_000, 44_000] {
        events.push(event(
            "retrying request",
            "utoo_registry_client",
            at,
            url.clone(),
        ));
    }
    events.push(event("cache hit", "utoo_supervisor", 58_000, Fields::new()));
    events.push(event(
        "clone <fallback>",
        "utoo_clone_actor",
        151_000,
        Fields::new(),
    ));
    for step in 0..60u64 {
        let at = step * 3_100;
        for (queue, depth) in [
            ("packuments_in_flight", step % 7),
            ("downloads_in_flight", (step * 5) % 9),
            ("extract_backlog", (step * 3) % 5),
            ("mystery_queue", step % 4),
        ] {
            let sample = fields(&[("queue", json!(queue)), ("depth", json!(depth))]);
            events.push(event("sample", QUEUE_TARGET, at, sample));
        }
    }
    recording
}

fn summary() -> TimingsSummary {
    TimingsSummary {
        packages: 24,
        bytes_downloaded: 1_234_567,
        bytes_written: 3_703_701,
        cache_hits: 1,
        limits: fields(&[
            ("clone_capacity", json!(3)),
            ("clone_mode", json!("reflink & copy")),
            ("extract_capacity", json!(2)),
        ]),
        total_seconds: 0.1874,
    }
}

#[test]
fn the_page_of_a_fixed_recording_is_as_recorded_in_the_fixture() {
    let page = timings_html(&recording(), &summary());
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    if std::env::var_os("UTOO_WRITE_FIXTURE").is_some() {
        std::fs::write(&fixture, &page).unwrap();
    }
    let expected = std::fs::read_to_string(&fixture).unwrap();
    assert!(
        page == expected,
        "the page differs from {FIXTURE}; if that is intended, rewrite it with UTOO_WRITE_FIXTURE=1 and read the diff"
    );
}
