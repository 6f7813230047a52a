//! `utoo ls`: npm 11's `npm ls` over the installed tree: the same
//! breadth-first walk, `deduped` for a package shown before, `UNMET
//! DEPENDENCY`, `invalid`, `extraneous`, links as `-> ./folder`, and its
//! `--json` shape.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use nodejs_semver::{Range, Version};
use serde_json::json;
use utoo_installed_tree::{Edge, EdgeKind, NodeId, Tree, ROOT};

use super::project::Project;

mod output;

#[derive(clap::Args)]
pub(crate) struct LsArgs {
    /// Show only the paths to these packages (`name` or `name@range`).
    packages: Vec<String>,
    /// Show every level, not only the project's own dependencies.
    #[arg(short, long)]
    all: bool,
    /// How many levels below the project's dependencies to show.
    #[arg(long, value_name = "N")]
    depth: Option<usize>,
    /// Print npm's JSON instead of the tree.
    #[arg(long)]
    json: bool,
    /// Print the folders of the packages shown, one a line.
    #[arg(long, conflicts_with = "json")]
    parseable: bool,
    /// Leave these kinds of the project's dependencies out (repeatable).
    #[arg(long, value_enum)]
    omit: Vec<Omit>,
    /// Show only these workspaces' dependencies (a name or folder; repeatable).
    #[arg(short = 'w', long = "workspace", value_name = "NAME")]
    workspace: Vec<String>,
    /// Project folder (default: the current folder).
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Omit {
    Dev,
    Optional,
    Peer,
}

impl Omit {
    fn covers(self, kind: EdgeKind) -> bool {
        match self {
            Omit::Dev => kind == EdgeKind::Dev,
            Omit::Optional => kind.is_optional(),
            Omit::Peer => kind.is_peer(),
        }
    }
}

pub(crate) fn run(args: LsArgs) -> anyhow::Result<ExitCode> {
    let project = Project::find(args.prefix.clone())?;
    let mut selected = args.workspace.clone();
    if selected.is_empty() {
        // As npm: typed in a workspace's folder, show that workspace.
        selected.extend(project.current_workspace.clone());
    }
    let selected: Vec<String> = selected
        .iter()
        .map(|w| project.workspace(w).map(|w| w.location.clone()))
        .collect::<anyhow::Result<_>>()?;
    let tree = utoo_installed_tree::load(&project.dir, &project.workspaces)?;
    let listing = Listing::walk(&tree, &project.dir, &args, &selected);
    let failed = listing
        .problems
        .iter()
        .any(|p| !p.starts_with("extraneous:"));
    let no_match = !args.packages.is_empty() && !listing.items[0].include;
    if args.json {
        let mut out = listing.json(&tree, 0);
        if let (true, Some(out)) = (failed, out.as_object_mut()) {
            let summary = listing.problems.join("\n");
            let error = json!({"code": "ELSPROBLEMS", "summary": summary, "detail": ""});
            out.insert("error".into(), error);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if args.parseable {
        println!("{}", listing.parseable());
    } else {
        println!("{}", listing.render());
    }
    if failed {
        for problem in &listing.problems {
            eprintln!("error: {problem}");
        }
    }
    Ok(match failed || no_match {
        true => ExitCode::FAILURE,
        false => ExitCode::SUCCESS,
    })
}

/// One line of the listing: a package as reached through one edge.
struct Item {
    /// `None` for a dependency nothing satisfies.
    node: Option<NodeId>,
    /// Its key in the JSON: the edge's name, or the folder name.
    name: String,
    pkgid: String,
    parent: Option<usize>,
    depth: usize,
    include: bool,
    /// It is one of the packages asked for (or nothing was asked for).
    matched: bool,
    /// Shown before: printed without its dependencies (npm's copy of it).
    seen_before: bool,
    /// `pkgid` of the dependent, for a missing dependency.
    missing_from: Option<String>,
    /// Its spec, for a missing dependency (only the first one keeps it in
    /// the JSON, as npm's listing does).
    required: Option<String>,
    kind: Option<EdgeKind>,
    invalid: Option<String>,
    problems: Vec<String>,
    children: Vec<usize>,
}

impl Item {
    fn new(node: Option<NodeId>, name: String, pkgid: String) -> Item {
        Item {
            node,
            name,
            pkgid,
            parent: None,
            depth: 0,
            include: false,
            matched: false,
            seen_before: false,
            missing_from: None,
            required: None,
            kind: None,
            invalid: None,
            problems: Vec::new(),
            children: Vec::new(),
        }
    }
}

struct Listing<'a> {
    tree: &'a Tree,
    project_dir: &'a Path,
    items: Vec<Item>,
    problems: Vec<String>,
    /// Packages in the order they were first shown.
    first_shown: Vec<usize>,
}

impl<'a> Listing<'a> {
    fn walk(tree: &'a Tree, project_dir: &'a Path, args: &LsArgs, selected: &[String]) -> Self {
        let mut listing = Listing {
            tree,
            project_dir,
            items: Vec::new(),
            problems: Vec::new(),
            first_shown: vec![0],
        };
        let depth_to_print = match args.all || !args.packages.is_empty() {
            true => args.depth.unwrap_or(usize::MAX),
            false => args.depth.unwrap_or(0),
        };
        let root = listing.item_for_node(ROOT);
        listing.items.push(Item {
            include: args.packages.is_empty(),
            matched: args.packages.is_empty(),
            ..root
        });
        // npm keys what it has shown by path; every missing dependency
        // shares the one empty path.
        let mut seen: HashSet<Option<NodeId>> = HashSet::from([Some(ROOT)]);
        let mut invalid_of: HashMap<NodeId, String> = HashMap::new();
        let mut queue = VecDeque::from([0]);
        while let Some(index) = queue.pop_front() {
            listing.visit(index, &invalid_of);
            let item = &listing.items[index];
            let Some(id) = item.node.filter(|_| !item.seen_before) else {
                continue;
            };
            let node = &tree.nodes[id];
            let current_depth = match node.is_workspace {
                true => 0,
                false => item.depth,
            };
            if current_depth > depth_to_print {
                continue;
            }
            let edges: Vec<&Edge> = tree
                .target(id)
                .map(|target| tree.nodes[target].edges_out.values().collect())
                .unwrap_or_default();
            let mut shown_paths = HashSet::new();
            let mut children: Vec<Item> = Vec::new();
            for edge in edges {
                let to_selected_workspace = edge.to.is_some_and(|to| {
                    tree.target(to)
                        .is_some_and(|t| selected.contains(&tree.nodes[t].location))
                });
                if id == ROOT && !selected.is_empty() && !to_selected_workspace {
                    continue;
                }
                if current_depth == 0 && args.omit.iter().any(|o| o.covers(edge.kind)) {
                    continue;
                }
                let from = tree.target(id).map_or(id, |t| t);
                children.push(listing.item_for_edge(edge, from, &mut invalid_of));
                shown_paths.extend(edge.to);
            }
            for child in node.children.values() {
                if !shown_paths.contains(child) && tree.nodes[*child].flags.extraneous {
                    children.push(listing.item_for_node(*child));
                }
            }
            children.sort_by(|a, b| utoo_npm_collate::compare(&a.pkgid, &b.pkgid));
            for mut child in children {
                let key = child.node;
                let first_time = seen.insert(key);
                if !first_time {
                    child.seen_before = true;
                    child.required = None;
                }
                child.include = args.packages.is_empty()
                    || key.is_some_and(|n| args.packages.iter().any(|spec| matches(tree, n, spec)));
                child.matched = child.include;
                if child.seen_before {
                    // npm's copy keeps what was known when it was made.
                    child.invalid = child.node.and_then(|n| invalid_of.get(&n).cloned());
                }
                child.parent = Some(index);
                child.depth = current_depth + 1;
                listing.items.push(child);
                let index = listing.items.len() - 1;
                if first_time && key.is_some() {
                    listing.first_shown.push(index);
                }
                queue.push_back(index);
            }
        }
        for index in 0..listing.items.len() {
            if let Some(parent) = listing.items[index].parent {
                if listing.items[index].include {
                    listing.items[parent].children.push(index);
                }
            }
        }
        listing
    }

    fn item_for_node(&self, id: NodeId) -> Item {
        let node = &self.tree.nodes[id];
        Item::new(Some(id), node.name.clone(), node.pkgid())
    }

    fn item_for_edge(
        &self,
        edge: &Edge,
        from: NodeId,
        invalid_of: &mut HashMap<NodeId, String>,
    ) -> Item {
        let mut item = match edge.to {
            Some(to) => self.item_for_node(to),
            None => Item {
                missing_from: Some(self.tree.nodes[from].pkgid()),
                ..Item::new(
                    None,
                    edge.name.clone(),
                    format!("{}@{}", edge.name, edge.spec),
                )
            },
        };
        item.required = Some(match edge.spec.as_str() {
            "" => "*".to_string(),
            spec => spec.to_string(),
        });
        item.kind = Some(edge.kind);
        if let (Some(to), true) = (edge.to, edge.is_invalid()) {
            let location = &self.tree.nodes[from].location;
            let from = match location.is_empty() {
                true => "the root project",
                false => location,
            };
            let reason = format!("{} from {from}", json!(edge.spec));
            invalid_of
                .entry(to)
                .and_modify(|all| *all = format!("{all}, {reason}"))
                .or_insert(reason);
        }
        item
    }

    fn is_optional(item: &Item) -> bool {
        item.kind.is_some_and(EdgeKind::is_optional)
    }

    fn is_extraneous(&self, item: &Item) -> bool {
        !item.seen_before
            && item
                .node
                .is_some_and(|n| self.tree.nodes[n].flags.extraneous)
    }

    fn display_path(&self, id: NodeId) -> String {
        let location = &self.tree.nodes[id].location;
        match location.is_empty() {
            true => self.project_dir.display().to_string(),
            false => self.project_dir.join(location).display().to_string(),
        }
    }

    /// npm's problems of an item, recorded when it is included.
    fn visit(&mut self, index: usize, invalid_of: &HashMap<NodeId, String>) {
        let item = &self.items[index];
        let invalid = match item.seen_before {
            true => item.invalid.clone(),
            false => item.node.and_then(|n| invalid_of.get(&n).cloned()),
        };
        let mut problems = Vec::new();
        if let (Some(from), false) = (&item.missing_from, Self::is_optional(item)) {
            problems.push(format!("missing: {}, required by {from}", item.pkgid));
        }
        if let (Some(_), Some(id)) = (&invalid, item.node) {
            problems.push(format!("invalid: {} {}", item.pkgid, self.display_path(id)));
        }
        if let (true, Some(id)) = (self.is_extraneous(item), item.node) {
            problems.push(format!(
                "extraneous: {} {}",
                item.pkgid,
                self.display_path(id)
            ));
        }
        let include = item.include;
        let parent = item.parent;
        if include {
            for problem in &problems {
                if !self.problems.contains(problem) {
                    self.problems.push(problem.clone());
                }
            }
            let mut above = parent;
            while let Some(p) = above {
                self.items[p].include = true;
                above = self.items[p].parent;
            }
        }
        let item = &mut self.items[index];
        item.invalid = invalid;
        item.problems = problems;
    }
}

/// npm's `node.satisfies(spec)` for the packages named on the command line.
fn matches(tree: &Tree, id: NodeId, spec: &str) -> bool {
    let node = &tree.nodes[id];
    let split = spec.char_indices().skip(1).find(|(_, c)| *c == '@');
    let (name, range) = match split {
        Some((at, _)) => (&spec[..at], &spec[at + 1..]),
        None => (spec, "*"),
    };
    if node.name != name {
        return false;
    }
    if range.is_empty() || range == "*" {
        return true;
    }
    let version = node.version().and_then(|v| Version::parse(v).ok());
    match (Range::parse(range), version) {
        (Ok(range), Some(version)) => range.satisfies(&version),
        _ => false,
    }
}
