//! The SVG pieces the charts are drawn with, on one x axis shared by all.

use crate::recorder::{EventRecord, Recording, SpanRecord};

use super::text::{escape, fmt_ms, package_of};

pub(super) const GUTTER: f64 = 56.0;
pub(super) const PLOT_W: f64 = 1160.0;
pub(super) const SVG_W: f64 = GUTTER + PLOT_W + 24.0;
pub(super) const AXIS_H: f64 = 18.0;
pub(super) const MARKER_H: f64 = 9.0;

pub(super) fn end_of(span: &SpanRecord) -> u64 {
    span.start_us.saturating_add(span.duration_us)
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
pub(super) fn nice_step(raw: f64) -> f64 {
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
pub(super) struct Scale {
    end_us: f64,
}

impl Scale {
    pub(super) fn of(recording: &Recording) -> Scale {
        let spans = recording.spans.iter().map(end_of);
        let events = recording.events.iter().map(|e| e.at_us);
        let end = spans.chain(events).max().unwrap_or(0).max(1);
        Scale { end_us: end as f64 }
    }

    pub(super) fn x(&self, us: u64) -> f64 {
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
pub(super) fn time_axis(scale: &Scale, top: f64, height: f64) -> String {
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
pub(super) fn pack_rows(spans: &[&SpanRecord]) -> (Vec<usize>, usize) {
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

/// One path for all bars of a stage: a horizontal stroke per bar, with bars
/// less than a quarter pixel apart merged so that big installs stay small.
pub(super) fn bars_path(
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

/// Outlined, hoverable copies of the slowest bars, drawn over the others.
pub(super) fn slowest_bars(
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

pub(super) fn markers_path(markers: &[&EventRecord], scale: &Scale) -> String {
    let d: String = markers
        .iter()
        .map(|e| format!("M{:.1} {MARKER_H:.0}l-3.5 -7h7z", scale.x(e.at_us)))
        .collect();
    format!("<path d=\"{d}\" fill=\"#d03b3b\"/>")
}

/// A step line; samples that land on the same half pixel collapse to their
/// range and last value, so the path grows with the width, not the samples.
pub(super) fn step_path(
    samples: &[(u64, u64)],
    scale: &Scale,
    y_of: &dyn Fn(u64) -> f64,
) -> String {
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

pub(super) fn depth_axis(max_depth: u64, step: u64, y_of: &dyn Fn(u64) -> f64) -> String {
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
