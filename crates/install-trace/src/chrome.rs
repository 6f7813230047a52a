//! A [`Recording`] as a Chrome trace-event file (the JSON object format that
//! ui.perfetto.dev and chrome://tracing open): one track per actor thread,
//! overlapping work of one thread (concurrent downloads) spread over lanes,
//! instants for retries and fallbacks, and a counter track per queue.

use std::collections::BTreeMap;

use serde_json::{json, Value};

pub use utoo_telemetry::actor_of;

use crate::recorder::{Fields, Recording, SpanRecord, QUEUE_TARGET};

/// The label shown for a span: its kind and, when it has one, the package.
pub fn span_label(span: &SpanRecord) -> String {
    match span.fields.get("package").and_then(Value::as_str) {
        Some(package) => format!("{} {package}", span.name),
        None => span.name.clone(),
    }
}

/// Track ids for (actor, thread, lane), numbered in display order.
struct Tracks {
    ids: BTreeMap<(u32, String, String, usize), u64>,
}

impl Tracks {
    fn id(&self, key: &(u32, String, String, usize)) -> u64 {
        self.ids.get(key).copied().unwrap_or(0)
    }
}

/// A lane's outermost span and where its nested children have reached.
struct Lane<'a> {
    name: &'a str,
    start: u64,
    end: u64,
    children_end: u64,
}

/// Assigns each span a lane so that spans sharing a lane either follow one
/// another or nest inside the lane's outermost span of another kind (as
/// `install` holds `resolve`); concurrent spans of one kind (downloads) never
/// nest, so a stage gets as many lanes as it had work at once.
fn lanes(spans: &[&SpanRecord]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by_key(|&i| (spans[i].start_us, std::cmp::Reverse(spans[i].duration_us)));
    let mut lanes: Vec<Lane> = Vec::new();
    let mut assigned = vec![0; spans.len()];
    for i in order {
        let span = spans[i];
        let (start, end) = (span.start_us, span.start_us + span.duration_us);
        let after = |lane: &Lane| lane.end <= start;
        let nested = |lane: &Lane| {
            lane.name != span.name
                && lane.start <= start
                && end <= lane.end
                && lane.children_end <= start
        };
        let fresh = Lane {
            name: &span.name,
            start,
            end,
            children_end: start,
        };
        assigned[i] = match lanes.iter().position(|l| after(l) || nested(l)) {
            Some(index) if after(&lanes[index]) => {
                lanes[index] = fresh;
                index
            }
            Some(index) => {
                lanes[index].children_end = end;
                index
            }
            None => {
                lanes.push(fresh);
                lanes.len() - 1
            }
        };
    }
    assigned
}

/// Builds the trace; `limits` (download, extract and clone capacity) go to its metadata.
pub fn chrome_trace(recording: &Recording, limits: &Fields) -> Value {
    let mut by_thread: BTreeMap<(u32, &'static str, String), Vec<&SpanRecord>> = BTreeMap::new();
    for span in &recording.spans {
        let (actor, order) = actor_of(&span.target);
        by_thread
            .entry((order, actor, span.thread.clone()))
            .or_default()
            .push(span);
    }
    let mut events: Vec<Value> = vec![json!({
        "ph": "M", "pid": 1, "tid": 0, "name": "process_name", "args": {"name": "utoo install"}
    })];
    let mut tracks = Tracks {
        ids: BTreeMap::new(),
    };
    let mut workers_per_actor: BTreeMap<&str, usize> = BTreeMap::new();
    let mut next_tid = 1;
    for ((order, actor, thread), spans) in &by_thread {
        let worker = {
            let n = workers_per_actor.entry(actor).or_default();
            *n += 1;
            *n
        };
        let assigned = lanes(spans);
        let lane_count = assigned.iter().max().map_or(1, |m| m + 1);
        for lane in 0..lane_count {
            let tid = next_tid;
            next_tid += 1;
            tracks
                .ids
                .insert((*order, actor.to_string(), thread.clone(), lane), tid);
            let mut label = actor.to_string();
            if by_thread.keys().filter(|(_, a, _)| a == actor).count() > 1 {
                label.push_str(&format!(" worker {worker}"));
            }
            if lane_count > 1 {
                label.push_str(&format!(" · slot {}", lane + 1));
            }
            events.push(json!({"ph": "M", "pid": 1, "tid": tid, "name": "thread_name", "args": {"name": label}}));
            events.push(json!({"ph": "M", "pid": 1, "tid": tid, "name": "thread_sort_index", "args": {"sort_index": tid}}));
        }
        for (span, lane) in spans.iter().zip(&assigned) {
            let tid = tracks.id(&(*order, actor.to_string(), thread.clone(), *lane));
            events.push(json!({
                "ph": "X", "pid": 1, "tid": tid, "name": span_label(span), "cat": actor,
                "ts": span.start_us, "dur": span.duration_us.max(1), "args": span.fields,
            }));
        }
    }
    for event in &recording.events {
        if event.target == QUEUE_TARGET {
            let (Some(queue), Some(depth)) = (
                event.fields.get("queue").and_then(Value::as_str),
                event.fields.get("depth"),
            ) else {
                continue;
            };
            events.push(json!({
                "ph": "C", "pid": 1, "tid": 0, "name": queue, "ts": event.at_us, "args": {"depth": depth},
            }));
            continue;
        }
        let (actor, order) = actor_of(&event.target);
        let tid = tracks.id(&(order, actor.to_string(), event.thread.clone(), 0));
        events.push(json!({
            "ph": "i", "s": "t", "pid": 1, "tid": tid, "name": event.name, "cat": actor,
            "ts": event.at_us, "args": event.fields,
        }));
    }
    json!({
        "traceEvents": events,
        "otherData": {"limits": limits},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::EventRecord;

    fn span(name: &str, target: &str, thread: &str, start_us: u64, duration_us: u64) -> SpanRecord {
        SpanRecord {
            name: name.into(),
            target: target.into(),
            thread: thread.into(),
            start_us,
            duration_us,
            fields: Fields::from([("package".to_string(), json!("a@1.0.0"))]),
        }
    }

    #[test]
    fn overlapping_spans_of_one_thread_get_separate_lanes() {
        let a = span("fetch", "utoo_fetch_actor", "t", 0, 10);
        let b = span("fetch", "utoo_fetch_actor", "t", 5, 10);
        let c = span("fetch", "utoo_fetch_actor", "t", 12, 3);
        assert_eq!(lanes(&[&a, &b, &c]), [0, 1, 0]);
        let outer = span("install", "utoo_supervisor", "t", 0, 100);
        let inner = span("resolve", "utoo_supervisor", "t", 1, 50);
        assert_eq!(
            lanes(&[&outer, &inner]),
            [0, 0],
            "nested spans share a lane"
        );
    }

    #[test]
    fn trace_has_tracks_counters_and_limits() {
        let recording = Recording {
            spans: vec![
                span("fetch", "utoo_fetch_actor", "main", 0, 10),
                span("extract", "utoo_extract_actor", "w1", 10, 5),
                span("extract", "utoo_extract_actor", "w2", 11, 5),
            ],
            events: vec![EventRecord {
                name: "sample".into(),
                target: QUEUE_TARGET.into(),
                thread: "main".into(),
                at_us: 10,
                fields: Fields::from([
                    ("queue".to_string(), json!("extract_backlog")),
                    ("depth".to_string(), json!(1)),
                ]),
            }],
        };
        let limits = Fields::from([("extract_capacity".to_string(), json!(2))]);
        let trace = chrome_trace(&recording, &limits);
        let events = trace["traceEvents"].as_array().unwrap();
        let names: Vec<&str> = events
            .iter()
            .filter(|e| e["name"] == "thread_name")
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["fetch", "extract worker 1", "extract worker 2"]);
        assert!(events
            .iter()
            .any(|e| e["ph"] == "C" && e["name"] == "extract_backlog" && e["args"]["depth"] == 1));
        assert!(events
            .iter()
            .any(|e| e["ph"] == "X" && e["name"] == "fetch a@1.0.0"));
        assert_eq!(trace["otherData"]["limits"]["extract_capacity"], 2);
    }
}
