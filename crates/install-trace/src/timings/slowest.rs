//! The slowest packages of each stage, as tables.

use crate::recorder::{Recording, SpanRecord};

use super::text::{escape, field_u64, fmt_bytes, fmt_count, fmt_ms, package_of};
use super::timeline::{spans_named, Stage, STAGES};

pub(super) const SLOWEST: usize = 20;

/// Indices of the `n` longest spans, longest first (ties: earlier first).
pub(super) fn slowest(spans: &[&SpanRecord], n: usize) -> Vec<usize> {
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

pub(super) fn render_slowest(recording: &Recording) -> String {
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
