//! How the listing is printed: npm's tree drawing (archy, unicode) and its
//! `--json` object.

use serde_json::{json, Map, Value};
use utoo_installed_tree::{NodeKind, Tree};

use super::{Item, Listing};

impl Listing<'_> {
    fn label(&self, item: &Item) -> String {
        let tree = self.tree;
        if item.parent.is_none() {
            return match tree
                .root()
                .package
                .as_object()
                .is_some_and(|p| !p.is_empty())
            {
                true => format!("{} {}", item.pkgid, self.project_dir.display()),
                false => self.project_dir.display().to_string(),
            };
        }
        let mut label = String::new();
        if item.missing_from.is_some() {
            label.push_str(match Self::is_optional(item) {
                true => "UNMET OPTIONAL DEPENDENCY ",
                false => "UNMET DEPENDENCY ",
            });
        }
        label.push_str(&item.pkgid);
        if item.seen_before && item.missing_from.is_none() {
            label.push_str(" deduped");
        }
        if let Some(invalid) = &item.invalid {
            label.push_str(&format!(" invalid: {invalid}"));
        }
        if self.is_extraneous(item) {
            label.push_str(" extraneous");
        }
        if let Some(id) = item.node {
            let node = &tree.nodes[id];
            let resolved = node.resolved.as_deref().filter(|_| !item.seen_before);
            if let Some(git) = resolved.filter(|r| is_git(r)) {
                label.push_str(&format!(" ({git})"));
            }
            if let NodeKind::Link(target) = node.kind {
                let location = target.map_or(&node.location, |t| &tree.nodes[t].location);
                label.push_str(&format!(" -> ./{location}"));
            }
        }
        label
    }

    /// The tree as npm draws it (archy, unicode), with its blank last line.
    pub(super) fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.label(&self.items[0]));
        out.push('\n');
        let children = &self.items[0].children;
        if children.is_empty() {
            out.push_str("└── (empty)\n");
        }
        self.render_children(children, "", &mut out);
        out
    }

    fn render_children(&self, children: &[usize], prefix: &str, out: &mut String) {
        for (position, &child) in children.iter().enumerate() {
            let last = position + 1 == children.len();
            let item = &self.items[child];
            let branch = match last {
                true => '└',
                false => '├',
            };
            let more = match item.children.is_empty() {
                true => '─',
                false => '┬',
            };
            out.push_str(&format!("{prefix}{branch}─{more} {}\n", self.label(item)));
            let inner = format!("{prefix}{} ", if last { ' ' } else { '│' });
            self.render_children(&item.children, &inner, out);
        }
    }

    /// npm's `--parseable` list: the folder of each package asked for, in
    /// the order they were first shown.
    pub(super) fn parseable(&self) -> String {
        let folders: Vec<String> = self
            .first_shown
            .iter()
            .map(|&index| &self.items[index])
            .filter(|item| item.matched)
            .filter_map(|item| item.node.map(|id| self.display_path(id)))
            .collect();
        folders.join("\n")
    }

    /// npm's `--json` object for an item and what it includes.
    pub(super) fn json(&self, tree: &Tree, index: usize) -> Value {
        let item = &self.items[index];
        let mut out = Map::new();
        let node = item.node.map(|n| &tree.nodes[n]);
        if let Some(version) = node.and_then(|n| n.version()) {
            out.insert("version".into(), json!(version));
        }
        let real = node.filter(|_| !item.seen_before);
        if let Some(resolved) = real.and_then(|n| n.resolved.as_deref()) {
            out.insert("resolved".into(), json!(resolved));
        }
        if real.is_some() && item.parent.is_some() {
            out.insert("overridden".into(), json!(false));
        }
        if item.parent.is_none() {
            if let Some(package) = tree.root().package.as_object().filter(|p| !p.is_empty()) {
                let name = package.get("name").cloned().unwrap_or(json!(item.name));
                out.insert("name".into(), name);
            }
        }
        if self.is_extraneous(item) {
            out.insert("extraneous".into(), json!(true));
        }
        if let Some(invalid) = &item.invalid {
            out.insert("invalid".into(), json!(invalid));
        }
        if item.missing_from.is_some() && !Self::is_optional(item) {
            if let Some(required) = &item.required {
                out.insert("required".into(), json!(required));
            }
            out.insert("missing".into(), json!(true));
        }
        let problems = match item.parent {
            // The project's line carries every problem shown.
            None => &self.problems,
            Some(_) => &item.problems,
        };
        if (item.include || item.parent.is_none()) && !problems.is_empty() {
            out.insert("problems".into(), json!(problems));
        }
        if !item.children.is_empty() {
            let dependencies: Map<String, Value> = item
                .children
                .iter()
                .map(|&child| (self.items[child].name.clone(), self.json(tree, child)))
                .collect();
            out.insert("dependencies".into(), Value::Object(dependencies));
        }
        Value::Object(out)
    }
}

fn is_git(resolved: &str) -> bool {
    ["git+", "git://", "github:", "gitlab:", "bitbucket:"]
        .iter()
        .any(|prefix| resolved.starts_with(prefix))
}
