//! The timeline: the supervisor's phases, then a chart of bars per stage.

use std::collections::BTreeMap;

use crate::chrome::actor_of;
use crate::recorder::{EventRecord, Recording, SpanRecord, QUEUE_TARGET};

use super::slowest::{slowest, SLOWEST};
use super::svg::{
    bars_path, end_of, markers_path, pack_rows, slowest_bars, time_axis, Scale, AXIS_H, MARKER_H,
    SVG_W,
};
use super::text::{escape, field_u64, fmt_bytes, fmt_count, fmt_ms};

/// One row of the pipeline: the spans named `span` and the events whose
/// target belongs to `actor` (drawn as markers).
pub(super) struct Stage {
    pub(super) id: &'static str,
    pub(super) title: &'static str,
    pub(super) span: &'static str,
    pub(super) actor: Option<&'static str>,
    pub(super) color: &'static str,
}

pub(super) const STAGES: [Stage; 5] = [
    Stage {
        id: "resolve",
        title: "Resolve (packuments)",
        span: "packument",
        actor: Some("resolver"),
        color: "#4a7fc1",
    },
    Stage {
        id: "fetch",
        title: "Fetch",
        span: "fetch",
        actor: Some("fetch"),
        color: "#e0892b",
    },
    Stage {
        id: "extract",
        title: "Extract",
        span: "extract",
        actor: Some("extract"),
        color: "#4f9a3a",
    },
    Stage {
        id: "clone",
        title: "Clone",
        span: "clone",
        actor: Some("clone"),
        color: "#8a6cc4",
    },
    Stage {
        id: "link-bins",
        title: "Link bins",
        span: "link_bins",
        actor: None,
        color: "#c0588f",
    },
];

fn percentile(sorted: &[u64], pct: usize) -> u64 {
    match sorted.len() {
        0 => 0,
        len => sorted[(len - 1) * pct / 100],
    }
}

struct StageStats {
    count: usize,
    median_us: u64,
    p95_us: u64,
    busy_us: u64,
    bytes: Option<u64>,
    files: Option<u64>,
}

fn stage_stats(spans: &[&SpanRecord]) -> StageStats {
    let mut durations: Vec<u64> = spans.iter().map(|s| s.duration_us).collect();
    durations.sort_unstable();
    let sum = |key| {
        let values: Vec<u64> = spans
            .iter()
            .filter_map(|s| field_u64(&s.fields, key))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    };
    StageStats {
        count: spans.len(),
        median_us: percentile(&durations, 50),
        p95_us: percentile(&durations, 95),
        busy_us: durations.iter().sum(),
        bytes: sum("bytes"),
        files: sum("files"),
    }
}

fn stage_meta(stats: &StageStats, rows: usize, markers: &[&EventRecord]) -> String {
    let mut parts = vec![
        format!("{} spans", fmt_count(stats.count as u64)),
        format!("at most {rows} at once"),
        format!("median {} ms", fmt_ms(stats.median_us)),
        format!("p95 {} ms", fmt_ms(stats.p95_us)),
        format!("busy {:.2} s", stats.busy_us as f64 / 1e6),
    ];
    if let Some(bytes) = stats.bytes {
        parts.push(fmt_bytes(bytes));
    }
    if let Some(files) = stats.files {
        parts.push(format!("{} files", fmt_count(files)));
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for event in markers {
        *counts.entry(event.name.as_str()).or_default() += 1;
    }
    for (name, n) in counts {
        parts.push(format!(
            "<span style=\"color:#d03b3b\">▼</span> {n} × {}",
            escape(name)
        ));
    }
    format!("<p class=\"meta\">{}</p>", parts.join(" · "))
}

fn render_stage(
    stage: &Stage,
    spans: &[&SpanRecord],
    markers: &[&EventRecord],
    scale: &Scale,
) -> String {
    let heading = format!(
        "<h3 id=\"stage-{}\" style=\"border-color:{}\">{}</h3>",
        stage.id, stage.color, stage.title
    );
    if spans.is_empty() {
        return format!(
            "{heading}<p class=\"meta\">No <code>{}</code> spans recorded.</p>",
            stage.span
        );
    }
    let (rows, row_count) = pack_rows(spans);
    let row_h = (240.0 / row_count as f64).clamp(1.0, 10.0);
    let stroke = if row_h >= 3.0 { row_h - 1.0 } else { row_h };
    let top = if markers.is_empty() {
        0.0
    } else {
        MARKER_H + 1.0
    };
    let plot_h = row_count as f64 * row_h;
    let layout = (top, row_h);
    let picked = slowest(spans, SLOWEST);
    let meta = stage_meta(&stage_stats(spans), row_count, markers);
    format!(
        "{heading}{meta}<svg width=\"{SVG_W}\" height=\"{:.0}\" role=\"img\" aria-label=\"{} timeline\">{}{}<path d=\"{}\" stroke=\"{}\" stroke-width=\"{stroke:.1}\" shape-rendering=\"crispEdges\"/>{}</svg>",
        top + plot_h + AXIS_H,
        stage.title,
        time_axis(scale, top, plot_h),
        if markers.is_empty() { String::new() } else { markers_path(markers, scale) },
        bars_path(spans, &rows, row_count, scale, layout),
        stage.color,
        slowest_bars(spans, &rows, &picked, scale, layout),
    )
}

/// The supervisor's phases (`resolve`, `install`) as labelled bars.
fn render_phases(spans: &[&SpanRecord], scale: &Scale) -> String {
    if spans.is_empty() {
        return String::new();
    }
    let (rows, row_count) = pack_rows(spans);
    let row_h = 18.0;
    let mut bars = String::new();
    for (span, row) in spans.iter().zip(&rows) {
        let x = scale.x(span.start_us);
        let w = (scale.x(end_of(span)) - x).max(0.5);
        let y = *row as f64 * row_h;
        let label = format!(
            "{} {:.2} s",
            escape(&span.name),
            span.duration_us as f64 / 1e6
        );
        bars.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#c9d3df\"><title>{label}</title></rect><text x=\"{:.1}\" y=\"{:.1}\">{label}</text>",
            y + 1.0,
            row_h - 2.0,
            x + 4.0,
            y + 13.0
        ));
    }
    let plot_h = row_count as f64 * row_h;
    format!(
        "<h3 id=\"stage-phases\">Phases</h3><svg width=\"{SVG_W}\" height=\"{:.0}\" role=\"img\" aria-label=\"phases\">{}{bars}</svg>",
        plot_h + AXIS_H,
        time_axis(scale, 0.0, plot_h)
    )
}

pub(super) fn spans_named<'a>(recording: &'a Recording, name: &str) -> Vec<&'a SpanRecord> {
    let mut spans: Vec<&SpanRecord> = recording.spans.iter().filter(|s| s.name == name).collect();
    spans.sort_by_key(|s| (s.start_us, s.duration_us));
    spans
}

fn is_marker(event: &EventRecord, actor: Option<&str>) -> bool {
    event.target != QUEUE_TARGET && actor == Some(actor_of(&event.target).0)
}

pub(super) fn render_timeline(recording: &Recording, scale: &Scale) -> String {
    let mut phases: Vec<&SpanRecord> = recording
        .spans
        .iter()
        .filter(|s| actor_of(&s.target).0 == "supervisor")
        .collect();
    phases.sort_by_key(|s| (s.start_us, s.duration_us));
    let mut out = String::from("<section id=\"timeline\"><h2>Timeline</h2>");
    out.push_str(&render_phases(&phases, scale));
    for stage in &STAGES {
        let spans = spans_named(recording, stage.span);
        let markers: Vec<&EventRecord> = recording
            .events
            .iter()
            .filter(|e| is_marker(e, stage.actor))
            .collect();
        out.push_str(&render_stage(stage, &spans, &markers, scale));
    }
    out.push_str("</section>");
    out
}
