//! `utoo install --timings`: a [`Recording`] as one self-contained HTML page
//! in the spirit of cargo's `--timings`. Everything is computed here and
//! inlined (CSS and SVG, no script, nothing fetched): a timeline per stage,
//! the queue depths over time, the slowest packages per stage and the totals.
//!
//! The page's sections, top to bottom: `totals`, `timeline`, `queues`
//! and `slowest`; the charts are drawn with `svg`, the text with
//! `text`, and `style.css` is the stylesheet.

mod queues;
mod slowest;
mod svg;
mod text;
mod timeline;
mod totals;

use crate::recorder::{Fields, Recording};

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

/// `style.css` has a rule per line, for reading; the page gets it on one.
fn stylesheet() -> String {
    include_str!("style.css").lines().collect()
}

/// The whole page: totals, a timeline per stage, queue depths and the
/// slowest packages per stage.
pub fn timings_html(recording: &Recording, summary: &TimingsSummary) -> String {
    let scale = svg::Scale::of(recording);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>utoo install timings</title><style>{}</style></head><body><h1>utoo install timings</h1>{}{}{}{}</body></html>\n",
        stylesheet(),
        totals::render_totals(recording, summary),
        timeline::render_timeline(recording, &scale),
        queues::render_queues(recording, &summary.limits, &scale),
        slowest::render_slowest(recording),
    )
}

#[cfg(test)]
mod tests;
