//! What the person running `utoo` sees: logs on stderr, a progress line on a
//! terminal, and on request a Chrome trace and an HTML timings page.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context as _;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::prelude::*;
use utoo_atomic_write::write_atomic;
use utoo_install_trace::{
    chrome_trace, timings_html, Fields, Progress, ProgressHandle, Recorder, Recording,
    RecordingHandle, TimingsSummary,
};

/// What to show and record, from the command line.
pub(crate) struct Observe {
    pub verbose: u8,
    pub silent: bool,
    pub trace: Option<PathBuf>,
    /// Where to write the HTML timings page, if asked for.
    pub timings: Option<PathBuf>,
}

pub(crate) struct Observers {
    recording: Option<RecordingHandle>,
    progress: Option<ProgressHandle>,
    trace: Option<PathBuf>,
    timings: Option<PathBuf>,
}

/// Spans and events of utoo's own crates, at the levels the recorders use.
fn ours(meta: &tracing::Metadata<'_>) -> bool {
    meta.target().starts_with("utoo") && *meta.level() <= tracing::Level::INFO
}

/// What `-v` and `-vv` log when `RUST_LOG` is unset: utoo's own spans and
/// events at debug or trace, every other crate's (hyper, rustls, …) only
/// from warnings up. Without `-v` nothing is logged: what a person needs
/// comes as plain `warn:` and `error:` lines. A target matches a directive
/// that it starts with, so `utoo` covers every crate's `utoo_*` targets and
/// the `utoo::queue` samples alike.
fn default_directives(verbose: u8) -> &'static str {
    match verbose {
        0 => "off",
        1 => "warn,utoo=debug",
        _ => "warn,utoo=trace",
    }
}

/// Colour only for a person at a terminal, and never with `NO_COLOR` set
/// (to anything but an empty string, as no-color.org defines it).
fn colour_on_stderr() -> bool {
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    std::io::stderr().is_terminal() && !no_colour
}

pub(crate) fn init(observe: Observe) -> Observers {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default_directives(observe.verbose)));
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .with_target(false)
        .with_filter(filter);
    let (recorder, recording) = match observe.trace.is_some() || observe.timings.is_some() {
        true => {
            let (recorder, recording) = Recorder::new();
            (Some(recorder.with_filter(filter_fn(ours))), Some(recording))
        }
        false => (None, None),
    };
    // The line is drawn on stderr, but only for a person watching: not when
    // stdout is captured (CI logs, pipes), which then get just the summary.
    let show_progress = !observe.silent
        && observe.verbose == 0
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal();
    let (progress, progress_handle) = match show_progress {
        true => {
            let (layer, handle) = Progress::new();
            (Some(layer.with_filter(filter_fn(ours))), Some(handle))
        }
        false => (None, None),
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(recorder)
        .with(progress)
        .init();
    Observers {
        recording,
        progress: progress_handle,
        trace: observe.trace,
        timings: observe.timings,
    }
}

impl Observers {
    /// Clears the progress line and writes the trace and the timings page
    /// (also after a failed install).
    pub(crate) fn finish(&self, limits: &Fields, total_seconds: f64) -> anyhow::Result<()> {
        if let Some(progress) = &self.progress {
            progress.finish();
        }
        let Some(recording) = self.recording.as_ref().map(RecordingHandle::snapshot) else {
            return Ok(());
        };
        if let Some(path) = &self.trace {
            let trace = chrome_trace(&recording, limits);
            let text = serde_json::to_vec(&trace).context("serialising the trace")?;
            write_atomic(path, &text)
                .with_context(|| format!("writing the trace to {}", path.display()))?;
        }
        if let Some(path) = &self.timings {
            let page = timings_html(&recording, &summarise(&recording, limits, total_seconds));
            write_atomic(path, page).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

/// The totals of the timings page, counted from what the actors recorded.
fn summarise(recording: &Recording, limits: &Fields, total_seconds: f64) -> TimingsSummary {
    let bytes_of = |stage: &str| -> u64 {
        recording
            .spans
            .iter()
            .filter(|s| s.name == stage)
            .filter_map(|s| s.fields.get("bytes").and_then(serde_json::Value::as_u64))
            .sum()
    };
    TimingsSummary {
        packages: recording.spans.iter().filter(|s| s.name == "clone").count(),
        bytes_downloaded: bytes_of("fetch"),
        bytes_written: bytes_of("extract"),
        cache_hits: recording
            .events
            .iter()
            .filter(|e| e.name == "cache hit")
            .count(),
        limits: limits.clone(),
        total_seconds,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::{Context, Layer};

    use super::*;

    /// Keeps the target and level of every event that passes the filter.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            let meta = event.metadata();
            let seen = format!("{} {}", meta.target(), meta.level());
            self.0.lock().unwrap().push(seen);
        }
    }

    fn logged(verbose: u8) -> Vec<String> {
        let seen = Seen::default();
        let filter = EnvFilter::new(default_directives(verbose));
        let subscriber = tracing_subscriber::registry().with(seen.clone().with_filter(filter));
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "hyper_util::client::legacy::pool", "reuse idle connection");
            tracing::warn!(target: "rustls::conn", "peer sent close_notify");
            tracing::debug!(target: "utoo_registry_client", "retrying request");
            tracing::debug!(target: "utoo::queue", queue = "extract_backlog", depth = 1);
            tracing::trace!(target: "utoo_supervisor::actor", "scheduled");
            tracing::debug!(target: "utoo", "summary");
        });
        let seen = seen.0.lock().unwrap().clone();
        seen
    }

    /// One test for the three levels: tests running at once would share
    /// the callsites' cached interest between their subscribers.
    #[test]
    fn verbosity_raises_the_level_of_utoo_targets_only() {
        assert!(logged(0).is_empty());
        assert_eq!(
            logged(1),
            [
                "rustls::conn WARN",
                "utoo_registry_client DEBUG",
                "utoo::queue DEBUG",
                "utoo DEBUG",
            ]
        );
        assert_eq!(
            logged(2),
            [
                "rustls::conn WARN",
                "utoo_registry_client DEBUG",
                "utoo::queue DEBUG",
                "utoo_supervisor::actor TRACE",
                "utoo DEBUG",
            ]
        );
    }
}
