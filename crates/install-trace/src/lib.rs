//! Makes an install inspectable. [`Recorder`] is a `tracing` layer that keeps
//! the spans the actors emit (one per package per stage) and their
//! queue-depth samples (events with target [`QUEUE_TARGET`]); afterwards the
//! recording becomes a Chrome trace-event file ([`chrome_trace`], for
//! ui.perfetto.dev or chrome://tracing).
//!
//! ```
//! use tracing_subscriber::prelude::*;
//! use utoo_install_trace::{chrome_trace, Fields, Recorder, QUEUE_TARGET};
//!
//! let (recorder, recording) = Recorder::new();
//! let subscriber = tracing_subscriber::registry().with(recorder);
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!(target: "utoo_extract_actor", "extract", package = "a@1.0.0");
//!     span.in_scope(|| tracing::info!(target: QUEUE_TARGET, queue = "extracts_active", depth = 1u64));
//! });
//! let trace = chrome_trace(&recording.snapshot(), &Fields::new());
//! assert!(trace["traceEvents"].as_array().unwrap().iter().any(|e| e["name"] == "extract a@1.0.0"));
//! ```

mod chrome;
mod progress;
mod recorder;
mod timings;

pub use chrome::{actor_of, chrome_trace, span_label};
pub use progress::{Progress, ProgressHandle};
pub use recorder::{
    EventRecord, Fields, Recorder, Recording, RecordingHandle, SpanRecord, QUEUE_TARGET,
};
pub use timings::{timings_html, TimingsSummary};
