//! `utoo outdated [<pkg>...] [--json | --parseable] [--all]`, as npm 11's `outdated`:
//! for each dependency, the version installed, the newest its range
//! allows (wanted) and the `latest` tag, read from `node_modules` and the
//! registry. Exit status 1 when something is outdated.

use std::collections::{BTreeMap, BTreeSet};

use nodejs_semver::Version;
use serde_json::{Map, Value};
use utoo_npm_types::Spec;
use utoo_registry_client::HttpError;
use utoo_resolver_actor::{pick_manifest, PackumentLoadError};

use super::actual_tree::{ActualTree, EdgeType, Resolved};
use super::session::Session;
use crate::packuments;

/// One dependency to check: an edge of the actual tree.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct EdgeRef {
    /// Index of the dependent in [`ActualTree::nodes`].
    from: usize,
    name: String,
}

/// A row of npm's table.
struct Outdated {
    name: String,
    /// Absolute path of the installed package; `None` when missing.
    path: Option<String>,
    location: Option<String>,
    current: Option<String>,
    wanted: String,
    latest: String,
    dependent: String,
    /// `name@version` of a workspace dependent, shown instead of its name.
    workspace_dependent: Option<String>,
}

pub(crate) struct OutdatedOptions {
    pub(crate) names: Vec<String>,
    pub(crate) json: bool,
    pub(crate) parseable: bool,
    pub(crate) all: bool,
}

/// Prints the outdated dependencies; returns whether there were any.
pub(crate) fn run(session: &Session, options: &OutdatedOptions) -> anyhow::Result<bool> {
    let tree = session.actual_tree()?;
    let edges = selected_edges(&tree, options);
    let mut registry_names: BTreeSet<String> = BTreeSet::new();
    let mut checks = Vec::new();
    for edge in edges {
        let from = &tree.nodes[edge.from];
        let Some((raw_spec, kind)) = from.edges.get(&edge.name) else {
            continue;
        };
        let target = match tree.resolve(&from.location, &edge.name) {
            Resolved::Link => continue,
            resolved => resolved.package(),
        };
        // As npm: a missing dependency that isn't a prod one is left out.
        if target.is_none() && *kind != EdgeType::Prod {
            continue;
        }
        let Ok(spec) = Spec::parse(&edge.name, raw_spec) else {
            continue;
        };
        if !matches!(spec, Spec::Range(_) | Spec::Tag(_) | Spec::Alias { .. }) {
            continue;
        }
        let registry_name = spec.registry_name(&edge.name).to_string();
        registry_names.insert(registry_name.clone());
        checks.push((edge, raw_spec.clone(), spec, registry_name, target));
    }
    let loader = session.loader()?;
    let names: Vec<String> = registry_names.into_iter().collect();
    let loaded: BTreeMap<String, _> = names
        .iter()
        .cloned()
        .zip(packuments::load_all(&loader, &names)?)
        .collect();
    let node = session
        .node_version()
        .and_then(|v| Version::parse(v.trim_start_matches('v')).ok());
    let mut rows = Vec::new();
    for (edge, raw_spec, spec, registry_name, target) in checks {
        let packument = match loaded.get(&registry_name) {
            None => continue,
            Some(Ok(packument)) => packument,
            // As npm: a package the registry doesn't have is skipped.
            Some(Err(PackumentLoadError::Http {
                source: HttpError::NotFound { .. },
                ..
            })) => continue,
            Some(Err(error)) => {
                return Err(anyhow::Error::new(error.clone())
                    .context(format!("checking whether {registry_name} is outdated")))
            }
        };
        let star = Spec::parse(&registry_name, "*")?;
        let (Some(wanted), Some(latest)) = (
            pick_manifest(packument, &spec, node.as_ref()),
            pick_manifest(packument, &star, node.as_ref()),
        ) else {
            // As npm: a spec no version matches (ETARGET) is skipped.
            continue;
        };
        let current = target.and_then(|t| t.version.clone());
        let (wanted, latest) = (wanted.version.to_string(), latest.version.to_string());
        if current.as_deref() == Some(wanted.as_str()) && wanted == latest {
            continue;
        }
        let from = &tree.nodes[edge.from];
        let name = match &spec {
            Spec::Alias { .. } => raw_spec.replacen("npm", &edge.name, 1),
            _ => edge.name.clone(),
        };
        rows.push(Outdated {
            name,
            path: target.map(|t| tree.dir.join(&t.location).display().to_string()),
            location: target.map(|t| t.location.clone()),
            current,
            wanted,
            latest,
            dependent: from.name.clone(),
            workspace_dependent: from.is_workspace.then(|| from.pkgid()),
        });
    }
    rows.sort_by(|a, b| {
        utoo_npm_collate::compare(&a.name, &b.name)
            .then_with(|| utoo_npm_collate::compare(&a.dependent, &b.dependent))
    });
    if options.json {
        println!("{}", serde_json::to_string_pretty(&json(&rows))?);
    } else if !rows.is_empty() {
        let text = match options.parseable {
            true => parseable(&rows),
            false => table(&rows),
        };
        println!("{text}");
    }
    Ok(!rows.is_empty())
}

/// npm's choice: the named packages' incoming edges (from anywhere in the
/// tree), else the project's and its workspaces' own dependencies, plus
/// every package's with `--all`.
fn selected_edges(tree: &ActualTree, options: &OutdatedOptions) -> BTreeSet<EdgeRef> {
    let mut edges = BTreeSet::new();
    let out_of = |from: usize, edges: &mut BTreeSet<EdgeRef>| {
        for name in tree.nodes[from].edges.keys() {
            edges.insert(EdgeRef {
                from,
                name: name.clone(),
            });
        }
    };
    if !options.names.is_empty() {
        for (from, node) in tree.nodes.iter().enumerate() {
            for name in node.edges.keys() {
                let target = tree.resolve(&node.location, name).package();
                if target.is_some_and(|t| options.names.contains(&t.name)) {
                    edges.insert(EdgeRef {
                        from,
                        name: name.clone(),
                    });
                }
            }
        }
        return edges;
    }
    let tops = tree
        .nodes
        .iter()
        .take_while(|n| n.location.is_empty() || n.is_workspace);
    let count = match options.all {
        true => tree.nodes.len(),
        false => tops.count(),
    };
    for from in 0..count {
        out_of(from, &mut edges);
    }
    edges
}

/// npm's text-table: columns padded and joined by two spaces, Current,
/// Wanted and Latest aligned right, trailing spaces trimmed.
fn table(rows: &[Outdated]) -> String {
    let mut cells: Vec<[String; 6]> = vec![[
        "Package".into(),
        "Current".into(),
        "Wanted".into(),
        "Latest".into(),
        "Location".into(),
        "Depended by".into(),
    ]];
    for row in rows {
        cells.push([
            row.name.clone(),
            row.current.clone().unwrap_or_else(|| "MISSING".into()),
            row.wanted.clone(),
            row.latest.clone(),
            row.location.clone().unwrap_or_else(|| "-".into()),
            row.workspace_dependent
                .clone()
                .unwrap_or_else(|| row.dependent.clone()),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|column| {
            cells
                .iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let lines: Vec<String> = cells
        .iter()
        .map(|row| {
            let padded: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(column, cell)| match column {
                    1..=3 => format!("{cell:>width$}", width = widths[column]),
                    _ => format!("{cell:<width$}", width = widths[column]),
                })
                .collect();
            padded.join("  ").trim_end().to_string()
        })
        .collect();
    lines.join("\n")
}

/// npm's `--parseable`: `<path>:<name>@<wanted>:<name>@<current>:<name>@<latest>:<dependent>`,
/// with `MISSING` for a package not installed (and no path).
fn parseable(rows: &[Outdated]) -> String {
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            let current = match &row.current {
                Some(current) => format!("{}@{current}", row.name),
                None => "MISSING".to_string(),
            };
            format!(
                "{}:{}@{}:{current}:{}@{}:{}",
                row.path.as_deref().unwrap_or_default(),
                row.name,
                row.wanted,
                row.name,
                row.latest,
                row.dependent
            )
        })
        .collect();
    lines.join("\n")
}

/// npm's `--json`: an object by name; a name outdated in several places
/// gets an array.
fn json(rows: &[Outdated]) -> Value {
    let mut out = Map::new();
    for row in rows {
        let mut entry = Map::new();
        if let Some(current) = &row.current {
            entry.insert("current".into(), current.clone().into());
        }
        entry.insert("wanted".into(), row.wanted.clone().into());
        entry.insert("latest".into(), row.latest.clone().into());
        entry.insert("dependent".into(), row.dependent.clone().into());
        if let Some(path) = &row.path {
            entry.insert("location".into(), path.clone().into());
        }
        let entry = Value::Object(entry);
        match out.get_mut(&row.name) {
            None => {
                out.insert(row.name.clone(), entry);
            }
            Some(Value::Array(list)) => list.push(entry),
            Some(first) => *first = Value::Array(vec![first.take(), entry]),
        }
    }
    Value::Object(out)
}
