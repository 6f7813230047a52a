//! One redrawn status line on a terminal while an install runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tracing::span::{Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

#[derive(Default)]
struct Counts {
    resolved: AtomicU64,
    downloaded: AtomicU64,
    downloaded_bytes: AtomicU64,
    extracted: AtomicU64,
    linked: AtomicU64,
}

/// Counts finished stage spans and shows them on a spinner line.
pub struct Progress {
    bar: ProgressBar,
    counts: Arc<Counts>,
}

/// Kept by the caller to clear the line when the install ends.
pub struct ProgressHandle(ProgressBar);

impl ProgressHandle {
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

struct Bytes(u64);

impl tracing::field::Visit for Bytes {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if field.name() == "bytes" {
            self.0 = value;
        }
    }

    fn record_debug(&mut self, _field: &tracing::field::Field, _value: &dyn std::fmt::Debug) {}
}

impl Progress {
    pub fn new() -> (Progress, ProgressHandle) {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        let handle = ProgressHandle(bar.clone());
        (
            Progress {
                bar,
                counts: Arc::new(Counts::default()),
            },
            handle,
        )
    }

    fn redraw(&self) {
        let c = &self.counts;
        self.bar.set_message(format!(
            "resolved {} · downloaded {} ({:.1} MB) · extracted {} · linked {}",
            c.resolved.load(Ordering::Relaxed),
            c.downloaded.load(Ordering::Relaxed),
            c.downloaded_bytes.load(Ordering::Relaxed) as f64 / 1e6,
            c.extracted.load(Ordering::Relaxed),
            c.linked.load(Ordering::Relaxed),
        ));
    }
}

impl<S> Layer<S> for Progress
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        if span.name() == "fetch" {
            let mut bytes = Bytes(0);
            values.record(&mut bytes);
            self.counts
                .downloaded_bytes
                .fetch_add(bytes.0, Ordering::Relaxed);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let counter = match span.name() {
            "packument" => &self.counts.resolved,
            "fetch" => &self.counts.downloaded,
            "extract" => &self.counts.extracted,
            "clone" => &self.counts.linked,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.redraw();
    }
}
