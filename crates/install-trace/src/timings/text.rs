//! Text on the page: escaping, numbers for people, and the fields of a record it shows.

use serde_json::Value;

use crate::recorder::{Fields, SpanRecord};

/// Escapes text for HTML content and quoted attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The package a span is about: `package` ("name@version") or, for
/// packuments, `name`.
pub(super) fn package_of(span: &SpanRecord) -> &str {
    ["package", "name"]
        .iter()
        .find_map(|key| span.fields.get(*key).and_then(Value::as_str))
        .unwrap_or("")
}

pub(super) fn field_u64(fields: &Fields, key: &str) -> Option<u64> {
    fields.get(key).and_then(Value::as_u64)
}

pub(super) fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(super) fn fmt_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

pub(super) fn fmt_ms(us: u64) -> String {
    format!("{:.1}", us as f64 / 1000.0)
}
