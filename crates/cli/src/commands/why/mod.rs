//! `utoo why` (npm's `explain`): each installed copy of a package, and the
//! chains of dependents that keep it there, up to the project.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use nodejs_semver::{Range, Version};
use serde_json::{json, Map, Value};
use utoo_installed_tree::{NodeId, NodeKind, Tree, ROOT};

use super::project::Project;

mod text;

#[derive(clap::Args)]
pub(crate) struct WhyArgs {
    /// Packages: a name, `name@range`, or a folder such as
    /// `node_modules/a/node_modules/b`.
    #[arg(required = true)]
    packages: Vec<String>,
    /// Print npm's JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Project folder (default: the current folder).
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
}

pub(crate) fn run(args: WhyArgs) -> anyhow::Result<ExitCode> {
    let project = Project::find(args.prefix.clone())?;
    let tree = utoo_installed_tree::load(&project.dir, &project.workspaces)?;
    let mut found: Vec<NodeId> = Vec::new();
    for wanted in &args.packages {
        let mut matching = find(&tree, &project, wanted);
        matching.sort_by_key(|&id| inventory_rank(&tree, id));
        for id in matching {
            if !found.contains(&id) {
                found.push(id);
            }
        }
    }
    if found.is_empty() {
        bail!(
            "no dependencies found matching {}",
            args.packages.join(", ")
        );
    }
    let mut explainer = Explainer {
        tree: &tree,
        project_dir: project.dir.display().to_string(),
        nodes: HashMap::new(),
        edges: HashMap::new(),
    };
    let explanations: Vec<Value> = found
        .iter()
        .map(|&id| {
            let mut explanation = explainer.node(id, &[]);
            let flags = tree.nodes[id].flags;
            if let Some(fields) = explanation.as_object_mut() {
                let extra = match flags.extraneous {
                    true => json!({"extraneous": true}),
                    false => json!({
                        "dev": flags.dev, "optional": flags.optional,
                        "devOptional": flags.dev_optional, "peer": flags.peer,
                        "bundled": false, "overridden": false,
                    }),
                };
                fields.extend(
                    extra
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
            }
            explanation
        })
        .collect();
    match args.json {
        true => println!("{}", serde_json::to_string_pretty(&explanations)?),
        false => {
            let texts: Vec<String> = explanations
                .iter()
                .map(|e| text::node(e, &mut Vec::new()))
                .collect();
            println!("{}", texts.join("\n\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The nodes `wanted` names, as npm's explain finds them: by package name,
/// by location, by path, or by `name@range`.
fn find(tree: &Tree, project: &Project, wanted: &str) -> Vec<NodeId> {
    if utoo_npm_types::validate_package_name(wanted).is_ok() {
        return tree.by_package_name(wanted);
    }
    let location = wanted.replace('\\', "/").trim_end_matches('/').to_string();
    if let Some(id) = tree.by_location(&location) {
        return vec![id];
    }
    let by_path = project
        .cwd
        .join(&location)
        .strip_prefix(&project.dir)
        .ok()
        .and_then(|relative| tree.by_location(&relative.to_string_lossy()));
    if let Some(id) = by_path {
        return vec![id];
    }
    let Some((at, _)) = wanted.char_indices().skip(1).find(|(_, c)| *c == '@') else {
        return Vec::new();
    };
    let (name, range) = (&wanted[..at], &wanted[at + 1..]);
    let Ok(range) = Range::parse(range) else {
        return Vec::new();
    };
    tree.by_package_name(name)
        .into_iter()
        .filter(|&id| {
            let version = tree.nodes[id]
                .version()
                .and_then(|v| Version::parse(v).ok());
            version.is_some_and(|v| range.satisfies(&v))
        })
        .collect()
}

/// Where arborist's inventory has a node: the folders level by level (as
/// it reads them), then the folders links point at.
fn inventory_rank(tree: &Tree, id: NodeId) -> (bool, usize, NodeId) {
    let node = &tree.nodes[id];
    let depth = node
        .location
        .split('/')
        .filter(|part| *part == "node_modules")
        .count();
    (node.kind == NodeKind::LinkTarget, depth, id)
}

/// Builds npm's explanation objects, each node's and edge's computed once
/// and reused, as arborist does.
struct Explainer<'a> {
    tree: &'a Tree,
    project_dir: String,
    nodes: HashMap<NodeId, Value>,
    edges: HashMap<(NodeId, String), Value>,
}

impl Explainer<'_> {
    fn node(&mut self, id: NodeId, seen: &[NodeId]) -> Value {
        if let Some(known) = self.nodes.get(&id) {
            return known.clone();
        }
        let explanation = self.explain(id, seen);
        self.nodes.insert(id, explanation.clone());
        explanation
    }

    fn explain(&mut self, id: NodeId, seen: &[NodeId]) -> Value {
        let tree = self.tree;
        let node = &tree.nodes[id];
        if id == ROOT {
            return json!({"location": self.project_dir});
        }
        let mut why = Map::new();
        let name = match node.kind {
            NodeKind::LinkTarget => node.package_name().unwrap_or(&node.name),
            _ => &node.name,
        };
        why.insert("name".into(), json!(name));
        if let Some(version) = node.version() {
            why.insert("version".into(), json!(version));
        }
        if seen.contains(&id) {
            return Value::Object(why);
        }
        why.insert("location".into(), json!(node.location));
        why.insert("isWorkspace".into(), json!(node.is_workspace));
        let seen: Vec<NodeId> = seen.iter().copied().chain([id]).collect();
        let mut dependents = Vec::new();
        for (from, name) in dependents_in_order(tree, id) {
            let valid = tree.nodes[from].edges_out[&name].valid;
            if valid || from == ROOT {
                dependents.push(self.edge(from, &name, &seen));
            }
        }
        why.insert("dependents".into(), Value::Array(dependents));
        if !node.links_in.is_empty() {
            let links: Vec<Value> = node
                .links_in
                .iter()
                .map(|&link| self.explain(link, &seen))
                .collect();
            why.insert("linksIn".into(), Value::Array(links));
        }
        Value::Object(why)
    }

    fn edge(&mut self, from: NodeId, name: &str, seen: &[NodeId]) -> Value {
        let key = (from, name.to_string());
        if let Some(known) = self.edges.get(&key) {
            return known.clone();
        }
        let edge = &self.tree.nodes[from].edges_out[name];
        let mut explanation = Map::new();
        explanation.insert("type".into(), json!(edge.kind.as_str()));
        explanation.insert("name".into(), json!(edge.name));
        explanation.insert("spec".into(), json!(edge.spec));
        if !edge.valid {
            explanation.insert("error".into(), json!("INVALID"));
        }
        explanation.insert("from".into(), self.node(from, seen));
        let explanation = Value::Object(explanation);
        self.edges.insert(key, explanation.clone());
        explanation
    }
}

/// The edges into a node: its dependents by location, the project last.
fn dependents_in_order(tree: &Tree, id: NodeId) -> Vec<(NodeId, String)> {
    let mut edges = tree.nodes[id].edges_in.clone();
    edges.sort_by(|(a, _), (b, _)| {
        (*a == ROOT).cmp(&(*b == ROOT)).then_with(|| {
            utoo_npm_collate::compare(&tree.nodes[*a].location, &tree.nodes[*b].location)
        })
    });
    edges
}
