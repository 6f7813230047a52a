use serde_json::json;

use super::slowest::{slowest, SLOWEST};
use super::svg::pack_rows;
use super::text::escape;
use super::{timings_html, TimingsSummary};
use crate::recorder::{EventRecord, Fields, Recording, SpanRecord, QUEUE_TARGET};

fn span(name: &str, package: &str, start_us: u64, duration_us: u64) -> SpanRecord {
    let target = match name {
        "packument" => "utoo_resolver_actor",
        "fetch" => "utoo_fetch_actor",
        "extract" => "utoo_extract_actor",
        _ => "utoo_clone_actor",
    };
    let key = if name == "packument" {
        "name"
    } else {
        "package"
    };
    SpanRecord {
        name: name.into(),
        target: target.into(),
        thread: "t".into(),
        start_us,
        duration_us,
        fields: Fields::from([
            (key.to_string(), json!(package)),
            ("bytes".to_string(), json!(1000)),
        ]),
    }
}

fn queue_sample(queue: &str, at_us: u64, depth: u64) -> EventRecord {
    EventRecord {
        name: "sample".into(),
        target: QUEUE_TARGET.into(),
        thread: "t".into(),
        at_us,
        fields: Fields::from([
            ("queue".to_string(), json!(queue)),
            ("depth".to_string(), json!(depth)),
        ]),
    }
}

fn summary() -> TimingsSummary {
    TimingsSummary {
        packages: 3712,
        bytes_downloaded: 52_428_800,
        bytes_written: 1536,
        cache_hits: 17,
        limits: Fields::from([("extract_capacity".to_string(), json!(4))]),
        total_seconds: 12.5,
    }
}

/// `count` spans per stage, staggered so that they overlap, with queue samples.
fn synthetic(count: u64) -> Recording {
    let mut recording = Recording::default();
    for i in 0..count {
        let package = format!("pkg-{i}@1.0.{i}");
        let start = i * 300;
        recording.spans.push(span(
            "packument",
            &format!("pkg-{i}"),
            start,
            2_000 + i % 7 * 500,
        ));
        recording
            .spans
            .push(span("fetch", &package, start + 3_000, 5_000 + i % 13 * 900));
        recording.spans.push(span(
            "extract",
            &package,
            start + 9_000,
            1_000 + i % 5 * 300,
        ));
        recording
            .events
            .push(queue_sample("extract_backlog", start, i % 9));
        recording
            .events
            .push(queue_sample("downloads_in_flight", start + 7, i % 17));
    }
    recording
}

#[test]
fn escapes_markup_and_quotes() {
    assert_eq!(
        escape("<a href=\"x\">&'b'</a>"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;b&#39;&lt;/a&gt;"
    );
    assert_eq!(escape("@scope/ok-1.0"), "@scope/ok-1.0");
}

#[test]
fn package_names_from_the_recording_are_escaped_in_the_page() {
    let mut recording = synthetic(3);
    recording.spans.push(span(
        "fetch",
        "<img src=x onerror=alert(1)>@1.0.0",
        0,
        99_000,
    ));
    let page = timings_html(&recording, &summary());
    assert!(!page.contains("<img"));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;@1.0.0"));
}

#[test]
fn slowest_picks_the_longest_twenty_longest_first() {
    let spans: Vec<SpanRecord> = (0..50)
        .map(|i| span("fetch", &format!("p{i}"), i, (i * 37) % 50))
        .collect();
    let refs: Vec<&SpanRecord> = spans.iter().collect();
    let picked: Vec<u64> = slowest(&refs, SLOWEST)
        .iter()
        .map(|&i| refs[i].duration_us)
        .collect();
    let expected: Vec<u64> = (30..50).rev().collect();
    assert_eq!(picked, expected);
    assert_eq!(slowest(&refs[..3], SLOWEST).len(), 3);
}

#[test]
fn overlapping_spans_are_packed_into_rows() {
    let spans = [
        span("fetch", "a", 0, 10),
        span("fetch", "b", 5, 10),
        span("fetch", "c", 12, 3),
    ];
    let refs: Vec<&SpanRecord> = spans.iter().collect();
    assert_eq!(pack_rows(&refs), (vec![0, 1, 0], 2));
}

#[test]
fn page_has_totals_stages_queues_and_tables() {
    let page = timings_html(&synthetic(40), &summary());
    for needle in [
        "3,712",
        "50.0 MiB",
        "1.5 KiB",
        "12.50 s",
        ">17<",
        "extract capacity",
    ] {
        assert!(page.contains(needle), "missing {needle}");
    }
    for id in [
        "stage-resolve",
        "stage-fetch",
        "stage-extract",
        "stage-clone",
        "slowest-fetch",
        "queues",
    ] {
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "missing section {id}"
        );
    }
    assert!(page.contains("No <code>clone</code> spans recorded."));
    assert!(page.contains("2 × extract capacity = 8"));
    assert!(page.contains("stroke-dasharray"));
    assert_eq!(page.matches("<tr><td>").count(), 3 * SLOWEST);
}

#[test]
fn page_is_self_contained() {
    let page = timings_html(&synthetic(40), &summary());
    assert!(!page.contains("<script"));
    assert!(!page.contains("http://") && !page.contains("https://"));
}

#[test]
fn an_empty_recording_still_renders() {
    let page = timings_html(&Recording::default(), &TimingsSummary::default());
    assert!(page.contains("No queue samples recorded."));
    assert!(page.ends_with("</html>\n"));
}

#[test]
fn ten_thousand_spans_stay_under_two_megabytes() {
    let recording = synthetic(3_400);
    assert!(recording.spans.len() >= 10_000);
    let page = timings_html(&recording, &summary());
    assert!(page.len() < 2_000_000, "page is {} bytes", page.len());
}
