//! The totals: cards for the summary and the limits, and the events counted.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::recorder::{Recording, QUEUE_TARGET};

use super::text::{escape, fmt_bytes, fmt_count};
use super::TimingsSummary;

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

pub(super) fn render_totals(recording: &Recording, summary: &TimingsSummary) -> String {
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
