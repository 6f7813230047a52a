//! Where the project is, for commands run anywhere inside it.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;
use utoo_installed_tree::Workspace;

use crate::install::{project_folder, workspace_root};

/// The project the current folder (or `--prefix`) belongs to.
pub(crate) struct Project {
    pub dir: PathBuf,
    /// Where the command was typed.
    pub cwd: PathBuf,
    /// The workspace whose folder the command was typed in (its location).
    pub current_workspace: Option<String>,
    pub workspaces: Vec<Workspace>,
}

impl Project {
    /// As npm finds it: `--prefix`, else the nearest folder with a
    /// package.json, or the project whose workspace that folder is.
    pub(crate) fn find(prefix: Option<PathBuf>) -> anyhow::Result<Project> {
        let cwd = std::env::current_dir().context("reading the current folder")?;
        let (dir, current_workspace) = match prefix {
            Some(dir) => (dir, None),
            None => match workspace_root(&cwd) {
                Some((root, location)) => (root, Some(location)),
                None => (project_folder(&cwd), None),
            },
        };
        let package_json = read_package_json(&dir)?;
        let workspaces = match package_json.get("workspaces") {
            Some(_) => utoo_resolver_actor::find_workspaces(&dir, &package_json)?
                .into_iter()
                .map(|member| Workspace {
                    name: member.manifest.name.clone(),
                    location: member.location,
                })
                .collect(),
            None => Vec::new(),
        };
        Ok(Project {
            dir,
            cwd,
            current_workspace,
            workspaces,
        })
    }

    /// The workspace `wanted` names, by name or folder.
    pub(crate) fn workspace(&self, wanted: &str) -> anyhow::Result<&Workspace> {
        let folder = wanted.trim_start_matches("./").trim_end_matches('/');
        self.workspaces
            .iter()
            .find(|w| w.name == wanted || w.location == folder)
            .with_context(|| format!("no workspace named {wanted:?} in this project"))
    }
}

/// The project's package.json; `{}` when there is none (npm's commands
/// still run, on an empty project).
pub(crate) fn read_package_json(dir: &std::path::Path) -> anyhow::Result<Value> {
    let path = dir.join("package.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Object(Default::default())),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}
