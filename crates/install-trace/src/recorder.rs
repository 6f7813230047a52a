//! A `tracing` layer that keeps every span and event of an install in memory,
//! to be written out as a Chrome trace and an HTML timings page afterwards.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as SpanValues};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

pub use utoo_telemetry::QUEUE_TARGET;

pub type Fields = BTreeMap<String, Value>;

/// One finished span: a piece of work on one thread.
#[derive(Debug, Clone)]
pub struct SpanRecord {
    pub name: String,
    /// The crate that emitted it, e.g. `utoo_fetch_actor`.
    pub target: String,
    pub thread: String,
    pub start_us: u64,
    pub duration_us: u64,
    pub fields: Fields,
}

/// One moment: a retry, a cache hit, a clone fallback, a queue-depth sample.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub name: String,
    pub target: String,
    pub thread: String,
    pub at_us: u64,
    pub fields: Fields,
}

#[derive(Debug, Clone, Default)]
pub struct Recording {
    pub spans: Vec<SpanRecord>,
    pub events: Vec<EventRecord>,
}

/// Shared by the layer (writing) and whoever reports afterwards (reading).
#[derive(Debug, Clone, Default)]
pub struct RecordingHandle(Arc<Mutex<Recording>>);

impl RecordingHandle {
    pub fn snapshot(&self) -> Recording {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn with(&self, f: impl FnOnce(&mut Recording)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

struct OpenSpan {
    start_us: u64,
    thread: String,
    fields: Fields,
}

/// The layer: add it to a subscriber, read the [`RecordingHandle`] after the install.
pub struct Recorder {
    started: Instant,
    recording: RecordingHandle,
}

impl Recorder {
    pub fn new() -> (Recorder, RecordingHandle) {
        let recording = RecordingHandle::default();
        let recorder = Recorder {
            started: Instant::now(),
            recording: recording.clone(),
        };
        (recorder, recording)
    }

    fn now_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }
}

fn thread_label() -> String {
    let current = std::thread::current();
    match current.name() {
        Some(name) => name.to_string(),
        None => format!("{:?}", current.id()),
    }
}

struct FieldVisitor<'a>(&'a mut Fields);

impl Visit for FieldVisitor<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}").into());
    }
}

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut FieldVisitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(OpenSpan {
                start_us: self.now_us(),
                thread: thread_label(),
                fields,
            });
        }
    }

    fn on_record(&self, id: &Id, values: &SpanValues<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(open) = span.extensions_mut().get_mut::<OpenSpan>() {
                values.record(&mut FieldVisitor(&mut open.fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut FieldVisitor(&mut fields));
        let meta = event.metadata();
        let name = fields
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or(meta.name())
            .to_string();
        let record = EventRecord {
            name,
            target: meta.target().to_string(),
            thread: thread_label(),
            at_us: self.now_us(),
            fields,
        };
        self.recording.with(|r| r.events.push(record));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(open) = span.extensions_mut().remove::<OpenSpan>() else {
            return;
        };
        let record = SpanRecord {
            name: span.name().to_string(),
            target: span.metadata().target().to_string(),
            thread: open.thread,
            start_us: open.start_us,
            duration_us: self.now_us().saturating_sub(open.start_us),
            fields: open.fields,
        };
        self.recording.with(|r| r.spans.push(record));
    }
}
