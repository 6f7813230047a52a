//! `utoo install --timings`: a [`Recording`] as one self-contained HTML page
//! in the spirit of cargo's `--timings`. Everything is computed here and
//! inlined (CSS and SVG, no script, nothing fetched): a timeline per stage,
//! the queue depths over time, the slowest packages per stage and the totals.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::chrome::actor_of;
use crate::recorder::{EventRecord, Fields, Recording, SpanRecord, QUEUE_TARGET};

/// The totals the installer knows better than the recording does.
#[derive(Debug, Clone, Default)]
pub struct TimingsSummary {
    pub packages: usize,
    pub bytes_downloaded: u64,
    pub bytes_written: u64,
    pub cache_hits: usize,
    /// Download, extract and clone capacity (as given to `chrome_trace`).
    pub limits: Fields,
    pub total_seconds: f64,
}

/// One row of the pipeline: the spans named `span` and the events whose
/// target belongs to `actor` (drawn as markers).
struct Stage {
    id: &'static str,
    title: &'static str,
    span: &'static str,
    actor: Option<&'static str>,
    color: &'static str,
}

const STAGES: [Stage; 5] = [
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

const QUEUE_COLORS: [(&str, &str); 5] = [
    ("packuments_in_flight", "#4a7fc1"),
    ("downloads_in_flight", "#e0892b"),
    ("extract_backlog", "#d03b3b"),
    ("extracts_active", "#4f9a3a"),
    ("clones_queued", "#8a6cc4"),
];
const SPARE_COLORS: [&str; 4] = ["#777777", "#b39500", "#16a0a0", "#a05a2c"];

const SLOWEST: usize = 20;
const GUTTER: f64 = 56.0;
const PLOT_W: f64 = 1160.0;
const SVG_W: f64 = GUTTER + PLOT_W + 24.0;
const AXIS_H: f64 = 18.0;
const MARKER_H: f64 = 9.0;
const QUEUE_PLOT_H: f64 = 220.0;

const STYLE: &str = "\
body{font:13px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;\
max-width:1240px;margin:20px auto;padding:0 16px}\
h1{font-size:20px;margin:0 0 12px}\
h2{font-size:16px;margin:26px 0 8px;padding-bottom:3px;border-bottom:1px solid #ddd}\
h3{font-size:14px;margin:14px 0 2px;padding-left:6px;border-left:4px solid #999}\
.cards{display:flex;flex-wrap:wrap;gap:8px}\
.card{border:1px solid #ddd;border-radius:6px;padding:5px 12px;min-width:100px}\
.card b{display:block;font-size:18px}.card span{color:#666;font-size:12px}\
.meta{color:#555;margin:0 0 4px}\
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0 0 4px}\
.swatch{display:inline-block;width:16px;height:0;border-top:3px solid;vertical-align:middle;margin-right:5px}\
svg{display:block}svg text{font-size:11px;fill:#555}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:6px 24px}\
table{border-collapse:collapse;width:100%}\
th,td{padding:1px 6px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}\
th{color:#555;font-weight:600}\
.name{text-align:left;max-width:300px;overflow:hidden;text-overflow:ellipsis}\
code{font-size:12px}";

/// Escapes text for HTML content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The package a span is about: `package` ("name@version") or, for
/// packuments, `name`.
fn package_of(span: &SpanRecord) -> &str {
    ["package", "name"]
        .iter()
        .find_map(|key| span.fields.get(*key).and_then(Value::as_str))
        .unwrap_or("")
}

fn field_u64(fields: &Fields, key: &str) -> Option<u64> {
    fields.get(key).and_then(Value::as_u64)
}

fn end_of(span: &SpanRecord) -> u64 {
    span.start_us.saturating_add(span.duration_us)
}

fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn fmt_ms(us: u64) -> String {
    format!("{:.1}", us as f64 / 1000.0)
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Maps recording time onto the shared x axis, so that all charts line up.
struct Scale {
    end_us: f64,
}

impl Scale {
    fn of(recording: &Recording) -> Scale {
        let spans = recording.spans.iter().map(end_of);
        let events = recording.events.iter().map(|e| e.at_us);
        let end = spans.chain(events).max().unwrap_or(0).max(1);
        Scale { end_us: end as f64 }
    }

    fn x(&self, us: u64) -> f64 {
        GUTTER + us as f64 / self.end_us * PLOT_W
    }
}

fn tick_label(ms: f64, step_ms: f64) -> String {
    if step_ms >= 1000.0 {
        format!("{:.0} s", ms / 1000.0)
    } else if step_ms >= 100.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if step_ms >= 1.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// Vertical grid lines over `top..top + height` and time labels below them.
fn time_axis(scale: &Scale, top: f64, height: f64) -> String {
    let end_ms = scale.end_us / 1000.0;
    let step = nice_step((end_ms / 10.0).max(0.1));
    let bottom = top + height;
    let mut grid = String::new();
    let mut labels = String::new();
    let mut k = 0.0;
    while k * step <= end_ms {
        let ms = k * step;
        let x = scale.x((ms * 1000.0) as u64);
        grid.push_str(&format!("M{x:.1} {top:.1}V{bottom:.1}"));
        labels.push_str(&format!(
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            bottom + 13.0,
            tick_label(ms, step)
        ));
        k += 1.0;
    }
    format!("<path d=\"{grid}\" stroke=\"#e4e4e4\"/>{labels}")
}

/// Assigns each span (sorted by start) the first row free at its start.
fn pack_rows(spans: &[&SpanRecord]) -> (Vec<usize>, usize) {
    let mut row_ends: Vec<u64> = Vec::new();
    let mut rows = Vec::with_capacity(spans.len());
    for span in spans {
        let row = match row_ends.iter().position(|&end| end <= span.start_us) {
            Some(row) => row,
            None => {
                row_ends.push(0);
                row_ends.len() - 1
            }
        };
        row_ends[row] = end_of(span);
        rows.push(row);
    }
    let count = row_ends.len();
    (rows, count)
}

/// Indices of the `n` longest spans, longest first (ties: earlier first).
fn slowest(spans: &[&SpanRecord], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (spans[a], spans[b]);
        b.duration_us
            .cmp(&a.duration_us)
            .then(a.start_us.cmp(&b.start_us))
            .then_with(|| package_of(a).cmp(package_of(b)))
    });
    order.truncate(n);
    order
}

fn percentile(sorted: &[u64], pct: usize) -> u64 {
    match sorted.len() {
        0 => 0,
        len => sorted[(len - 1) * pct / 100],
    }
}

/// One path for all bars of a stage: a horizontal stroke per bar, with bars
/// less than a quarter pixel apart merged so that big installs stay small.
fn bars_path(
    spans: &[&SpanRecord],
    rows: &[usize],
    row_count: usize,
    scale: &Scale,
    layout: (f64, f64),
) -> String {
    let (top, row_h) = layout;
    let mut by_row: Vec<Vec<(f64, f64)>> = vec![Vec::new(); row_count];
    for (span, &row) in spans.iter().zip(rows) {
        let x0 = scale.x(span.start_us);
        let x1 = scale.x(end_of(span)).max(x0 + 0.5);
        // A pixel of gap keeps back-to-back bars apart; narrower ones merge.
        let x1 = if x1 - x0 >= 3.0 { x1 - 1.0 } else { x1 };
        let bars = &mut by_row[row];
        match bars.last_mut() {
            Some(last) if x0 <= last.1 + 0.25 => last.1 = last.1.max(x1),
            _ => bars.push((x0, x1)),
        }
    }
    let mut d = String::new();
    for (row, bars) in by_row.iter().enumerate() {
        let y = top + (row as f64 + 0.5) * row_h;
        for (x0, x1) in bars {
            d.push_str(&format!("M{x0:.1} {y:.1}h{:.1}", x1 - x0));
        }
    }
    d
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

/// Outlined, hoverable copies of the slowest bars, drawn over the others.
fn slowest_bars(
    spans: &[&SpanRecord],
    rows: &[usize],
    picked: &[usize],
    scale: &Scale,
    layout: (f64, f64),
) -> String {
    let (top, row_h) = layout;
    let mut out = String::new();
    for &i in picked {
        let span = spans[i];
        let x = scale.x(span.start_us);
        let w = (scale.x(end_of(span)) - x).max(0.5);
        let y = top + rows[i] as f64 * row_h;
        out.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{row_h:.1}\" fill-opacity=\"0\" stroke=\"#000\" stroke-opacity=\"0.65\" stroke-width=\"1\"><title>{} · {} ms</title></rect>",
            escape(package_of(span)),
            fmt_ms(span.duration_us)
        ));
    }
    out
}

fn markers_path(markers: &[&EventRecord], scale: &Scale) -> String {
    let d: String = markers
        .iter()
        .map(|e| format!("M{:.1} {MARKER_H:.0}l-3.5 -7h7z", scale.x(e.at_us)))
        .collect();
    format!("<path d=\"{d}\" fill=\"#d03b3b\"/>")
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

fn spans_named<'a>(recording: &'a Recording, name: &str) -> Vec<&'a SpanRecord> {
    let mut spans: Vec<&SpanRecord> = recording.spans.iter().filter(|s| s.name == name).collect();
    spans.sort_by_key(|s| (s.start_us, s.duration_us));
    spans
}

fn is_marker(event: &EventRecord, actor: Option<&str>) -> bool {
    event.target != QUEUE_TARGET && actor == Some(actor_of(&event.target).0)
}

fn render_timeline(recording: &Recording, scale: &Scale) -> String {
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

/// Queue name → (time, depth) samples in time order.
fn queue_series(recording: &Recording) -> BTreeMap<&str, Vec<(u64, u64)>> {
    let mut series: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    for event in recording.events.iter().filter(|e| e.target == QUEUE_TARGET) {
        let queue = event.fields.get("queue").and_then(Value::as_str);
        let depth = field_u64(&event.fields, "depth");
        if let (Some(queue), Some(depth)) = (queue, depth) {
            series.entry(queue).or_default().push((event.at_us, depth));
        }
    }
    for samples in series.values_mut() {
        samples.sort_by_key(|&(at, _)| at);
    }
    series
}

/// The known queues first in pipeline order, then any others; each with a colour.
fn ordered_queues<'a>(series: &BTreeMap<&'a str, Vec<(u64, u64)>>) -> Vec<(&'a str, &'static str)> {
    let known = QUEUE_COLORS
        .iter()
        .filter_map(|(name, color)| series.get_key_value(name).map(|(name, _)| (*name, *color)));
    let others = series
        .keys()
        .filter(|name| !QUEUE_COLORS.iter().any(|(known, _)| known == *name))
        .zip(SPARE_COLORS.iter().cycle())
        .map(|(name, color)| (*name, *color));
    known.chain(others).collect()
}

/// A step line; samples that land on the same half pixel collapse to their
/// range and last value, so the path grows with the width, not the samples.
fn step_path(samples: &[(u64, u64)], scale: &Scale, y_of: &dyn Fn(u64) -> f64) -> String {
    let mut d = format!("M{GUTTER:.1} {:.1}", y_of(0));
    let mut column: Option<(f64, u64, u64, u64)> = None;
    let flush = |d: &mut String, (x, low, high, last): (f64, u64, u64, u64)| {
        d.push_str(&format!("H{x:.1}"));
        for depth in [high, low, last] {
            d.push_str(&format!("V{:.1}", y_of(depth)));
        }
    };
    for &(at, depth) in samples {
        let x = (scale.x(at) * 2.0).round() / 2.0;
        column = match column {
            Some((cx, low, high, _)) if cx == x => {
                Some((cx, low.min(depth), high.max(depth), depth))
            }
            Some(done) => {
                flush(&mut d, done);
                Some((x, depth, depth, depth))
            }
            None => Some((x, depth, depth, depth)),
        };
    }
    if let Some(done) = column {
        flush(&mut d, done);
    }
    d.push_str(&format!("H{:.1}", GUTTER + PLOT_W));
    d
}

fn queue_legend(
    queues: &[(&str, &str)],
    series: &BTreeMap<&str, Vec<(u64, u64)>>,
    bound: Option<u64>,
) -> String {
    let mut out = String::from("<div class=\"legend\">");
    for (name, color) in queues {
        let peak = series
            .get(name)
            .and_then(|s| s.iter().map(|&(_, d)| d).max())
            .unwrap_or(0);
        out.push_str(&format!(
            "<span><span class=\"swatch\" style=\"border-color:{color}\"></span>{} (peak {peak})</span>",
            escape(name)
        ));
    }
    if let Some(bound) = bound {
        out.push_str(&format!(
            "<span><span class=\"swatch\" style=\"border-top-style:dashed;border-color:#222\"></span>2 × extract capacity = {bound} (bound on downloads in flight + extract backlog)</span>"
        ));
    }
    out.push_str("</div>");
    out
}

fn depth_axis(max_depth: u64, step: u64, y_of: &dyn Fn(u64) -> f64) -> String {
    let mut grid = String::new();
    let mut labels = String::new();
    let mut depth = 0;
    while depth <= max_depth {
        let y = y_of(depth);
        grid.push_str(&format!("M{GUTTER:.1} {y:.1}H{:.1}", GUTTER + PLOT_W));
        labels.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{depth}</text>",
            GUTTER - 6.0,
            y + 4.0
        ));
        depth += step;
    }
    format!("<path d=\"{grid}\" stroke=\"#e4e4e4\"/>{labels}")
}

fn render_queues(recording: &Recording, limits: &Fields, scale: &Scale) -> String {
    let mut out = String::from("<section id=\"queues\"><h2>Queues</h2>");
    let series = queue_series(recording);
    if series.is_empty() {
        out.push_str("<p class=\"meta\">No queue samples recorded.</p></section>");
        return out;
    }
    let bound = field_u64(limits, "extract_capacity").map(|c| 2 * c);
    let peak = series
        .values()
        .flatten()
        .map(|&(_, d)| d)
        .max()
        .unwrap_or(0);
    let highest = peak.max(bound.unwrap_or(0)).max(1);
    let step = (nice_step(highest as f64 / 5.0) as u64).max(1);
    let max_depth = highest.div_ceil(step) * step;
    let top = 8.0;
    let y_of = |depth: u64| top + QUEUE_PLOT_H - depth as f64 / max_depth as f64 * QUEUE_PLOT_H;
    let queues = ordered_queues(&series);
    out.push_str(&queue_legend(&queues, &series, bound));
    out.push_str(&format!(
        "<svg width=\"{SVG_W}\" height=\"{:.0}\" role=\"img\" aria-label=\"queue depths\">{}{}",
        top + QUEUE_PLOT_H + AXIS_H,
        time_axis(scale, top, QUEUE_PLOT_H),
        depth_axis(max_depth, step, &y_of)
    ));
    // Each line is drawn thinner than the one before, so one hidden under a
    // later line at the same depth still shows at its edges.
    for (n, (name, color)) in queues.iter().enumerate() {
        let samples = series.get(name).map(Vec::as_slice).unwrap_or_default();
        let width = (2.8 - 0.45 * n as f64).max(1.0);
        out.push_str(&format!(
            "<path d=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{width:.2}\"/>",
            step_path(samples, scale, &y_of)
        ));
    }
    if let Some(bound) = bound {
        out.push_str(&format!(
            "<path d=\"M{GUTTER:.1} {y:.1}H{:.1}\" stroke=\"#222\" stroke-dasharray=\"6 4\"/>",
            GUTTER + PLOT_W,
            y = y_of(bound)
        ));
    }
    out.push_str("</svg></section>");
    out
}

fn slowest_table(stage: &Stage, spans: &[&SpanRecord]) -> String {
    let has = |key| spans.iter().any(|s| s.fields.contains_key(key));
    let (bytes, files) = (has("bytes"), has("files"));
    let mut out = format!(
        "<div><h3 id=\"slowest-{}\" style=\"border-color:{}\">{}</h3><table><thead><tr><th>#</th><th class=\"name\">Package</th><th>Duration (ms)</th><th>Start (s)</th>{}{}</tr></thead><tbody>",
        stage.id,
        stage.color,
        stage.title,
        if bytes { "<th>Bytes</th>" } else { "" },
        if files { "<th>Files</th>" } else { "" },
    );
    for (rank, &i) in slowest(spans, SLOWEST).iter().enumerate() {
        let span = spans[i];
        let cell = |key| field_u64(&span.fields, key);
        let name = escape(package_of(span));
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"name\" title=\"{name}\">{name}</td><td>{}</td><td>{:.2}</td>",
            rank + 1,
            fmt_ms(span.duration_us),
            span.start_us as f64 / 1e6
        ));
        if bytes {
            let text = cell("bytes").map(fmt_bytes).unwrap_or_default();
            out.push_str(&format!("<td>{text}</td>"));
        }
        if files {
            let text = cell("files").map(fmt_count).unwrap_or_default();
            out.push_str(&format!("<td>{text}</td>"));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

fn render_slowest(recording: &Recording) -> String {
    let mut out = format!(
        "<section id=\"slowest\"><h2>Slowest {SLOWEST} packages per stage</h2><div class=\"grid\">"
    );
    for stage in &STAGES {
        let spans = spans_named(recording, stage.span);
        if !spans.is_empty() {
            out.push_str(&slowest_table(stage, &spans));
        }
    }
    out.push_str("</div></section>");
    out
}

fn card(value: &str, label: &str, title: &str) -> String {
    let title = match title {
        "" => String::new(),
        title => format!(" title=\"{title}\""),
    };
    format!("<div class=\"card\"{title}><b>{value}</b><span>{label}</span></div>")
}

fn limit_value(value: &Value) -> String {
    match value {
        Value::String(text) => escape(text),
        other => escape(&other.to_string()),
    }
}

fn other_events(recording: &Recording) -> String {
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for event in recording.events.iter().filter(|e| e.target != QUEUE_TARGET) {
        *counts
            .entry((event.name.as_str(), event.target.as_str()))
            .or_default() += 1;
    }
    if counts.is_empty() {
        return String::new();
    }
    let items: Vec<String> = counts
        .iter()
        .map(|((name, target), n)| {
            format!(
                "{} × {} <code>{}</code>",
                fmt_count(*n as u64),
                escape(name),
                escape(target)
            )
        })
        .collect();
    format!("<p class=\"meta\">Events: {}</p>", items.join(" · "))
}

fn render_totals(recording: &Recording, summary: &TimingsSummary) -> String {
    let mut cards = vec![
        card(&format!("{:.2} s", summary.total_seconds), "total time", ""),
        card(&fmt_count(summary.packages as u64), "packages", ""),
        card(
            &fmt_bytes(summary.bytes_downloaded),
            "downloaded",
            &format!("{} bytes", fmt_count(summary.bytes_downloaded)),
        ),
        card(
            &fmt_bytes(summary.bytes_written),
            "written",
            &format!("{} bytes", fmt_count(summary.bytes_written)),
        ),
        card(&fmt_count(summary.cache_hits as u64), "cache hits", ""),
    ];
    for (key, value) in &summary.limits {
        cards.push(card(
            &limit_value(value),
            &escape(&key.replace('_', " ")),
            "",
        ));
    }
    format!(
        "<section id=\"totals\"><h2>Totals</h2><div class=\"cards\">{}</div>{}</section>",
        cards.concat(),
        other_events(recording)
    )
}

/// The whole page: totals, a timeline per stage, queue depths and the
/// slowest packages per stage.
pub fn timings_html(recording: &Recording, summary: &TimingsSummary) -> String {
    let scale = Scale::of(recording);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>utoo install timings</title><style>{STYLE}</style></head><body><h1>utoo install timings</h1>{}{}{}{}</body></html>\n",
        render_totals(recording, summary),
        render_timeline(recording, &scale),
        render_queues(recording, &summary.limits, &scale),
        render_slowest(recording),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
}
