//! `JSON.stringify` as Node.js prints it, with npm's key order.

use serde_json::{Map, Number, Value};

use crate::format::JsonFormat;
use crate::model::LockEntry;
use crate::order::{in_npm_order, ordered_entries};

/// `JSON.stringify` keeps at most this many characters of an indent string.
const MAX_INDENT_CHARS: usize = 10;

/// Prints the object `top` the way npm writes a lockfile, with `packages` (in npm's order), if any,
/// as its `packages` object. Each entry becomes a JSON value only while it is printed, so a
/// large lockfile never exists twice in memory.
pub(crate) fn stringify_lockfile(
    top: &Map<String, Value>,
    packages: Option<Vec<(&str, &LockEntry)>>,
    format: &JsonFormat,
) -> String {
    let indent = cut_indent(format);
    let mut printer = Printer::new(&indent, format);
    let mut entries: Vec<(&str, Part)> = top
        .iter()
        .map(|(key, value)| (key.as_str(), Part::Value(value)))
        .collect();
    if let Some(packages) = packages {
        entries.push(("packages", Part::Packages(packages)));
    }
    let entries = in_npm_order(entries, |part| match part {
        Part::Value(value) => value.is_object(),
        Part::Packages(_) => true,
    });
    let entries = entries.into_iter().map(|(key, part)| (Some(key), part));
    printer.container(('{', '}'), entries, 0, |printer, part, depth| match part {
        Part::Value(value) => printer.value(value, depth),
        Part::Packages(packages) => {
            let entries = packages.into_iter().map(|(key, entry)| (Some(key), entry));
            printer.container(('{', '}'), entries, depth, |printer, entry, depth| {
                printer.object(&entry.to_map(), depth)
            });
        }
    });
    printer.finish()
}

/// A value of the lockfile's top-level object.
enum Part<'a> {
    Value(&'a Value),
    Packages(Vec<(&'a str, &'a LockEntry)>),
}

fn cut_indent(format: &JsonFormat) -> String {
    format.indent.chars().take(MAX_INDENT_CHARS).collect()
}

struct Printer<'a> {
    out: String,
    indent: &'a str,
    newline: &'a str,
}

impl<'a> Printer<'a> {
    fn new(indent: &'a str, format: &'a JsonFormat) -> Printer<'a> {
        Printer {
            out: String::new(),
            indent,
            newline: &format.newline,
        }
    }

    fn finish(mut self) -> String {
        if !self.indent.is_empty() {
            self.out.push_str(self.newline);
        }
        self.out
    }

    fn value(&mut self, value: &Value, depth: usize) {
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(flag) => self.out.push_str(if *flag { "true" } else { "false" }),
            Value::Number(number) => self.out.push_str(&js_number(number)),
            Value::String(text) => self.string(text),
            Value::Array(items) => {
                let items = items.iter().map(|item| (None, item));
                self.container(('[', ']'), items, depth, Printer::value);
            }
            Value::Object(object) => self.object(object, depth),
        }
    }

    fn object(&mut self, object: &Map<String, Value>, depth: usize) {
        let entries = ordered_entries(object)
            .into_iter()
            .map(|(key, value)| (Some(key), value));
        self.container(('{', '}'), entries, depth, Printer::value);
    }

    /// Prints `items` between `open` and `close`, each value with `print`.
    fn container<'k, T>(
        &mut self,
        (open, close): (char, char),
        items: impl ExactSizeIterator<Item = (Option<&'k str>, T)>,
        depth: usize,
        mut print: impl FnMut(&mut Self, T, usize),
    ) {
        self.out.push(open);
        if items.len() == 0 {
            self.out.push(close);
            return;
        }
        for (position, (key, value)) in items.enumerate() {
            if position > 0 {
                self.out.push(',');
            }
            self.line_break(depth + 1);
            if let Some(key) = key {
                self.string(key);
                self.out.push(':');
                if !self.indent.is_empty() {
                    self.out.push(' ');
                }
            }
            print(self, value, depth + 1);
        }
        self.line_break(depth);
        self.out.push(close);
    }

    fn line_break(&mut self, depth: usize) {
        if !self.indent.is_empty() {
            self.out.push_str(self.newline);
            self.out.push_str(&self.indent.repeat(depth));
        }
    }

    fn string(&mut self, text: &str) {
        self.out.push('"');
        for c in text.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\u{8}' => self.out.push_str("\\b"),
                '\u{c}' => self.out.push_str("\\f"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                c if c < ' ' => self.out.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

/// Formats a number like JavaScript's `Number.prototype.toString`, since `JSON.parse` reads
/// every number as a double: `1.0` → `1`, `1e21` → `1e+21`, `1e-7` → `1e-7`.
fn js_number(number: &Number) -> String {
    let Some(value) = number.as_f64() else {
        return number.to_string();
    };
    if value == 0.0 {
        return "0".to_owned();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    // `{:e}` gives the shortest digits that round-trip, e.g. `1.2345e-7`.
    let scientific = format!("{:e}", value.abs());
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let Ok(exponent) = exponent.parse::<i64>() else {
        return scientific;
    };
    // ECMA-262 Number::toString: the value is 0.<digits> × 10^point.
    let point = exponent + 1;
    let count = digits.len() as i64;
    let body = if count <= point && point <= 21 {
        format!("{digits}{}", "0".repeat((point - count) as usize))
    } else if 0 < point && point <= 21 {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    } else if -6 < point && point <= 0 {
        format!("0.{}{digits}", "0".repeat(-point as usize))
    } else {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if point > 0 { "+" } else { "-" };
        format!("{first}{fraction}e{exponent_sign}{}", (point - 1).abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `value` printed as a lockfile's values are. An empty indent gives compact output
    /// without a trailing newline, like `JSON.stringify` without a `space` argument.
    fn stringify(value: &Value, format: &JsonFormat) -> String {
        let indent = cut_indent(format);
        let mut printer = Printer::new(&indent, format);
        printer.value(value, 0);
        printer.finish()
    }

    fn two_spaces() -> JsonFormat {
        JsonFormat::default()
    }

    /// Expected strings printed by `JSON.stringify` under Node 20.
    #[test]
    fn numbers_match_javascript() {
        let numbers: Value = serde_json::from_str(
            "[1.5e300,0.000001,1e-7,123456789012345678901234,1e21,1e20,1152921504606846976,-0,0.1,100,1.0,-1.5e-10,12345678901234567890]",
        )
        .expect("valid JSON");
        let compact = JsonFormat {
            indent: String::new(),
            newline: "\n".to_owned(),
        };
        assert_eq!(
            stringify(&numbers, &compact),
            "[1.5e+300,0.000001,1e-7,1.2345678901234569e+23,1e+21,100000000000000000000,1152921504606847000,0,0.1,100,1,-1.5e-10,12345678901234567000]"
        );
    }

    #[test]
    fn strings_escape_like_javascript() {
        let text = json!("a\u{1}\u{1f}\u{7f}\u{2028}\"\\/\u{8}\u{c}\n\r\té😀");
        assert_eq!(
            stringify(&text, &two_spaces()),
            "\"a\\u0001\\u001f\u{7f}\u{2028}\\\"\\\\/\\b\\f\\n\\r\\té😀\"\n"
        );
    }

    #[test]
    fn empty_containers_stay_on_one_line() {
        let value = json!({"a": [], "b": {}, "c": [1, {"d": true}]});
        assert_eq!(
            stringify(&value, &two_spaces()),
            "{\n  \"a\": [],\n  \"c\": [\n    1,\n    {\n      \"d\": true\n    }\n  ],\n  \"b\": {}\n}\n"
        );
    }

    #[test]
    fn indent_is_cut_to_ten_characters() {
        let format = JsonFormat {
            indent: " ".repeat(12),
            newline: "\n".to_owned(),
        };
        assert_eq!(
            stringify(&json!({"a": 1}), &format),
            format!("{{\n{}\"a\": 1\n}}\n", " ".repeat(10))
        );
    }
}
