//! The queues: each queue's depth over time, against the backlog bound.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::recorder::{Fields, Recording, QUEUE_TARGET};

use super::svg::{
    depth_axis, nice_step, step_path, time_axis, Scale, AXIS_H, GUTTER, PLOT_W, SVG_W,
};
use super::text::{escape, field_u64};

const QUEUE_PLOT_H: f64 = 220.0;

const QUEUE_COLORS: [(&str, &str); 5] = [
    ("packuments_in_flight", "#4a7fc1"),
    ("downloads_in_flight", "#e0892b"),
    ("extract_backlog", "#d03b3b"),
    ("extracts_active", "#4f9a3a"),
    ("clones_queued", "#8a6cc4"),
];
const SPARE_COLORS: [&str; 4] = ["#777777", "#b39500", "#16a0a0", "#a05a2c"];

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

pub(super) fn render_queues(recording: &Recording, limits: &Fields, scale: &Scale) -> String {
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
