//! npm's text rendering of explanations (lib/utils/explain-dep.js).

use serde_json::Value;

fn field<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

fn list<'v>(value: &'v Value, key: &str) -> &'v [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn indent(lines: String) -> String {
    lines.replace('\n', "\n  ")
}

pub(super) fn node(explanation: &Value, seen: &mut Vec<String>) -> String {
    print(explanation) + &dependents(explanation, seen) + &links_in(explanation, seen)
}

fn print(node: &Value) -> String {
    let mut out = format!(
        "{}@{}",
        field(node, "name").unwrap_or("undefined"),
        field(node, "version").unwrap_or("undefined")
    );
    for meta in [
        "extraneous",
        "dev",
        "optional",
        "peer",
        "bundled",
        "overridden",
    ] {
        if node.get(meta).and_then(Value::as_bool) == Some(true) {
            out.push(' ');
            out.push_str(meta);
        }
    }
    if let Some(location) = field(node, "location").filter(|l| !l.is_empty()) {
        out.push('\n');
        out.push_str(location);
    }
    out
}

fn links_in(node: &Value, seen: &mut Vec<String>) -> String {
    let links = list(node, "linksIn");
    if links.is_empty() {
        return String::new();
    }
    let messages: Vec<String> = links.iter().map(|link| self::node(link, seen)).collect();
    indent(format!("\n{}", messages.join("\n")))
}

fn dependents(node: &Value, seen: &mut Vec<String>) -> String {
    let dependents = list(node, "dependents");
    if dependents.is_empty() {
        return String::new();
    }
    let messages: Vec<String> = dependents
        .iter()
        .map(|edge| self::edge(edge, seen))
        .collect();
    indent(format!("\n{}", messages.join("\n")))
}

fn edge(edge: &Value, seen: &mut Vec<String>) -> String {
    let kind = field(edge, "type").unwrap_or("prod");
    let name = field(edge, "name").unwrap_or_default();
    let spec = field(edge, "spec").unwrap_or_default();
    let null = Value::Null;
    let from = edge.get("from").unwrap_or(&null);
    let dependency = match kind {
        "workspace" => {
            let folder = spec.trim_start_matches("file:");
            let root = field(from, "location").unwrap_or_default();
            folder
                .strip_prefix(root)
                .map_or(folder, |f| f.trim_start_matches('/'))
                .to_string()
        }
        _ => format!("{name}@\"{spec}\""),
    };
    let prefix = match kind {
        "prod" => String::new(),
        other => format!("{other} "),
    };
    format!("{prefix}{dependency} from {}", self::from(from, seen))
}

fn from(from: &Value, seen: &mut Vec<String>) -> String {
    let (name, version) = (field(from, "name"), field(from, "version"));
    if name.is_none() && version.is_none() {
        return "the root project".to_string();
    }
    let id = format!(
        "{}@{}:{}",
        name.unwrap_or("undefined"),
        version.unwrap_or("undefined"),
        field(from, "location").unwrap_or("undefined")
    );
    if seen.contains(&id) {
        return print(from);
    }
    seen.push(id);
    let out = print(from) + &dependents(from, seen) + &links_in(from, seen);
    seen.pop();
    out
}
