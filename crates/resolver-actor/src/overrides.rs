//! npm's `overrides` (and yarn's `resolutions`, read as overrides): rules
//! that replace the spec of dependencies, anywhere or within the subtree of
//! one package, following arborist's override-set.

use nodejs_semver::Range;
use serde_json::{Map, Value};
use thiserror::Error;
use utoo_npm_types::Spec;

use crate::error::ResolveError;

/// Why an entry of `overrides` can't be used.
#[derive(Debug, Error)]
pub enum OverrideError {
    #[error("must be an object")]
    NotAnObject,
    #[error("the version after the name is not a valid range")]
    KeyRange,
    #[error("must be a spec or an object")]
    Value,
    #[error("${0} refers to a dependency the project doesn't have")]
    UnknownReference(String),
    /// npm's EOVERRIDE.
    #[error(
        "conflicts with the project's own dependency {name}@{own} (use \"${name}\" to refer to it)"
    )]
    Conflict { name: String, own: String },
}

/// Index of a rule set; [`ROOT_RULES`] is the project's own.
pub(crate) type RuleId = usize;

pub(crate) const ROOT_RULES: RuleId = 0;

#[derive(Debug, Clone)]
struct Rule {
    /// The key as written, e.g. `foo` or `foo@^2`.
    key: String,
    name: String,
    /// The versions of `name` the rule applies to (`None`: all).
    key_range: Option<Range>,
    /// The spec dependencies on `name` get; `None` keeps theirs.
    value: Option<String>,
    parent: Option<RuleId>,
    children: Vec<RuleId>,
}

#[derive(Debug, Clone)]
pub struct Overrides {
    rules: Vec<Rule>,
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides {
            rules: vec![Rule {
                key: String::new(),
                name: String::new(),
                key_range: None,
                value: None,
                parent: None,
                children: Vec::new(),
            }],
        }
    }
}

impl Overrides {
    /// The project's `overrides`, else its `resolutions` converted.
    /// `$name` values are the root's own spec for `name`.
    pub fn from_package_json(package_json: &Value) -> Result<Overrides, ResolveError> {
        let mut overrides = Overrides::default();
        let tree = match package_json.get("overrides") {
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err(invalid("overrides", OverrideError::NotAnObject)),
            None => match package_json.get("resolutions") {
                Some(Value::Object(map)) => resolutions_as_overrides(map),
                _ => Map::new(),
            },
        };
        overrides.add_children(ROOT_RULES, &tree, package_json)?;
        overrides.check_direct_dependencies(package_json)?;
        Ok(overrides)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.len() == 1
    }

    fn add_children(
        &mut self,
        parent: RuleId,
        map: &Map<String, Value>,
        package_json: &Value,
    ) -> Result<(), ResolveError> {
        for (key, value) in map.iter().filter(|(key, _)| *key != ".") {
            let (name, key_spec) = split_key(key);
            let key_range = match key_spec {
                None | Some("*" | "") => None,
                Some(spec) => {
                    Some(Range::parse(spec).map_err(|_| invalid(key, OverrideError::KeyRange))?)
                }
            };
            let own_value = match value {
                Value::String(spec) => Some(spec.as_str()),
                Value::Object(nested) => nested.get(".").and_then(Value::as_str),
                _ => return Err(invalid(key, OverrideError::Value)),
            };
            let replacement = match own_value {
                Some("") | None => None,
                Some(spec) => Some(resolve_reference(key, spec, package_json)?),
            };
            let id = self.rules.len();
            self.rules.push(Rule {
                key: key.clone(),
                name: name.to_string(),
                key_range,
                value: replacement,
                parent: Some(parent),
                children: Vec::new(),
            });
            self.rules[parent].children.push(id);
            if let Value::Object(nested) = value {
                self.add_children(id, nested, package_json)?;
            }
        }
        Ok(())
    }

    /// npm's EOVERRIDE: a top-level override must agree with the project's
    /// own dependency on that name (or refer to it with `$name`).
    fn check_direct_dependencies(&self, package_json: &Value) -> Result<(), ResolveError> {
        for &id in &self.rules[ROOT_RULES].children {
            let rule = &self.rules[id];
            let Some(own) = root_spec(package_json, &rule.name) else {
                continue;
            };
            let applies = self.edge_rule(ROOT_RULES, &rule.name, &own);
            let Some(value) = self.spec_for(applies, &rule.name) else {
                continue;
            };
            if value != own {
                let conflict = OverrideError::Conflict {
                    name: rule.name.clone(),
                    own,
                };
                return Err(invalid(&rule.key, conflict));
            }
        }
        Ok(())
    }

    /// The rules in force under `set`: its children and its ancestors'
    /// (nearest first), then the ancestors themselves; one per key.
    fn ruleset(&self, set: RuleId) -> Vec<RuleId> {
        let mut found: Vec<RuleId> = Vec::new();
        let mut at = Some(set);
        while let Some(id) = at {
            let rule = &self.rules[id];
            for &child in &rule.children {
                if !found
                    .iter()
                    .any(|&f| self.rules[f].key == self.rules[child].key)
                {
                    found.push(child);
                }
            }
            if id != ROOT_RULES && !found.iter().any(|&f| self.rules[f].key == rule.key) {
                found.push(id);
            }
            at = rule.parent;
        }
        found
    }

    /// arborist's getEdgeRule: the rule for a dependency on `name` declared
    /// with `raw_spec` by a package under `set`; `set` itself when none matches.
    pub fn edge_rule(&self, set: RuleId, name: &str, raw_spec: &str) -> RuleId {
        for id in self.ruleset(set) {
            let rule = &self.rules[id];
            if rule.name != name {
                continue;
            }
            let Some(key_range) = &rule.key_range else {
                return id;
            };
            let declared = match Spec::parse(name, raw_spec) {
                Ok(Spec::Alias { spec, .. }) => *spec,
                Ok(spec) => spec,
                Err(_) => continue,
            };
            match declared {
                Spec::Range(range) if range.allows_any(key_range) => return id,
                Spec::Range(_) => continue,
                // Tags, folders and tarballs can't be compared: the rule applies.
                _ => return id,
            }
        }
        set
    }

    /// The spec a dependency on `name` gets under `rule`, if it changes.
    pub fn spec_for(&self, rule: RuleId, name: &str) -> Option<&str> {
        let rule = &self.rules[rule];
        (rule.name == name)
            .then_some(rule.value.as_deref())
            .flatten()
            .filter(|value| *value != "*")
    }
}

fn invalid(key: &str, source: OverrideError) -> ResolveError {
    ResolveError::Override {
        key: key.to_string(),
        source,
    }
}

/// `foo@^2` → (`foo`, `^2`), keeping a scope's leading `@`.
fn split_key(key: &str) -> (&str, Option<&str>) {
    match key.char_indices().skip(1).find(|(_, c)| *c == '@') {
        Some((i, _)) => (&key[..i], Some(&key[i + 1..])),
        None => (key, None),
    }
}

fn root_spec(package_json: &Value, name: &str) -> Option<String> {
    [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ]
    .iter()
    .find_map(|kind| package_json.get(kind)?.get(name)?.as_str())
    .map(str::to_string)
}

fn resolve_reference(key: &str, spec: &str, package_json: &Value) -> Result<String, ResolveError> {
    let Some(reference) = spec.strip_prefix('$') else {
        return Ok(spec.to_string());
    };
    root_spec(package_json, reference)
        .ok_or_else(|| invalid(key, OverrideError::UnknownReference(reference.to_string())))
}

/// yarn's `resolutions`: `foo` and `**/foo` everywhere, `a/foo` and
/// `a/**/foo` within `a`'s dependencies.
fn resolutions_as_overrides(resolutions: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (pattern, value) in resolutions {
        let Some(spec) = value.as_str() else {
            continue;
        };
        let parts: Vec<&str> = pattern.split('/').filter(|part| *part != "**").collect();
        // Re-join scoped names (`@scope/name`).
        let mut names: Vec<String> = Vec::new();
        let mut iter = parts.into_iter();
        while let Some(part) = iter.next() {
            match part.starts_with('@') {
                true => names.push(format!("{part}/{}", iter.next().unwrap_or_default())),
                false => names.push(part.to_string()),
            }
        }
        insert_nested(&mut out, &names, spec);
    }
    out
}

fn insert_nested(map: &mut Map<String, Value>, names: &[String], spec: &str) {
    match names {
        [] => {}
        [last] => {
            map.insert(last.clone(), Value::String(spec.to_string()));
        }
        [first, rest @ ..] => {
            let entry = map
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = serde_json::json!({ ".": entry.clone() });
            }
            if let Value::Object(next) = entry {
                insert_nested(next, rest, spec);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(package_json: Value) -> Overrides {
        Overrides::from_package_json(&package_json).unwrap()
    }

    #[test]
    fn a_plain_override_applies_everywhere() {
        let o = rules(json!({"overrides": {"foo": "1.0.0"}}));
        let rule = o.edge_rule(ROOT_RULES, "foo", "^2");
        assert_eq!(o.spec_for(rule, "foo"), Some("1.0.0"));
        // Under foo's own set, foo still resolves to the rule.
        assert_eq!(
            o.spec_for(o.edge_rule(rule, "foo", "^3"), "foo"),
            Some("1.0.0")
        );
        assert_eq!(o.edge_rule(ROOT_RULES, "bar", "^2"), ROOT_RULES);
    }

    #[test]
    fn nested_overrides_apply_only_under_their_parent() {
        let o = rules(json!({"overrides": {"bar": {"foo": "1.0.0"}}}));
        let top_foo = o.edge_rule(ROOT_RULES, "foo", "^2");
        assert_eq!(o.spec_for(top_foo, "foo"), None);
        let bar = o.edge_rule(ROOT_RULES, "bar", "^1");
        assert_eq!(o.spec_for(bar, "bar"), None, "bar itself keeps its spec");
        let foo_under_bar = o.edge_rule(bar, "foo", "^2");
        assert_eq!(o.spec_for(foo_under_bar, "foo"), Some("1.0.0"));
    }

    #[test]
    fn keys_with_versions_and_dot_values() {
        let o = rules(json!({"overrides": {"foo@^2": {".": "2.1.0", "baz": "3"}}}));
        assert_eq!(o.edge_rule(ROOT_RULES, "foo", "^1"), ROOT_RULES);
        let foo = o.edge_rule(ROOT_RULES, "foo", "^2.0.0");
        assert_eq!(o.spec_for(foo, "foo"), Some("2.1.0"));
        assert_eq!(o.spec_for(o.edge_rule(foo, "baz", "1"), "baz"), Some("3"));
    }

    #[test]
    fn references_and_conflicts_with_direct_dependencies() {
        let o = rules(json!({
            "dependencies": {"foo": "^1.2.0"},
            "overrides": {"foo": "$foo", "bar": {"foo": "$foo"}},
        }));
        let bar = o.edge_rule(ROOT_RULES, "bar", "1");
        assert_eq!(
            o.spec_for(o.edge_rule(bar, "foo", "^1"), "foo"),
            Some("^1.2.0")
        );
        let err = Overrides::from_package_json(&json!({
            "dependencies": {"foo": "^1.2.0"},
            "overrides": {"foo": "2.0.0"},
        }))
        .unwrap_err();
        assert!(
            matches!(&err, ResolveError::Override {
                source: OverrideError::Conflict { name, own }, ..
            } if name == "foo" && own == "^1.2.0"),
            "{err:?}"
        );
        let other_range = json!({
            "dependencies": {"foo": "^1.2.0"},
            "overrides": {"foo@^2": "2.1.0"},
        });
        assert!(
            Overrides::from_package_json(&other_range).is_ok(),
            "npm finds no rule for ^1"
        );
        let err =
            Overrides::from_package_json(&json!({"overrides": {"foo": "$nope"}})).unwrap_err();
        assert!(
            matches!(&err, ResolveError::Override {
                source: OverrideError::UnknownReference(name), ..
            } if name == "nope"),
            "{err:?}"
        );
    }

    #[test]
    fn yarn_resolutions_become_overrides() {
        let o = rules(json!({"resolutions": {"**/foo": "1.0.0", "bar/@s/baz": "2.0.0"}}));
        assert_eq!(
            o.spec_for(o.edge_rule(ROOT_RULES, "foo", "^3"), "foo"),
            Some("1.0.0")
        );
        let bar = o.edge_rule(ROOT_RULES, "bar", "1");
        assert_eq!(
            o.spec_for(o.edge_rule(bar, "@s/baz", "^1"), "@s/baz"),
            Some("2.0.0")
        );
        assert_eq!(
            o.spec_for(o.edge_rule(ROOT_RULES, "@s/baz", "^1"), "@s/baz"),
            None
        );
        let both = rules(json!({"overrides": {}, "resolutions": {"foo": "1.0.0"}}));
        assert!(both.is_empty(), "overrides win over resolutions");
    }
}
