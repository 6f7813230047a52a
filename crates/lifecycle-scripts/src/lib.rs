//! npm lifecycle scripts, secure by default (as pnpm 10 and bun): a
//! dependency's `preinstall`, `install` and `postinstall` scripts (and the
//! implicit `node-gyp rebuild` of a package with a `binding.gyp` and no
//! install script) run only when the package is trusted; the project's own
//! scripts run as npm runs them. Scripts get npm's environment
//! (`npm_package_name`, `npm_lifecycle_event`, `PATH` with the
//! `node_modules/.bin` folders above the package). [`run_in_foreground`]
//! runs a script from the command line, as `npm run` and `npm exec` do.
//!
//! ```
//! use utoo_lifecycle_scripts::{run_project_scripts, ScriptError};
//!
//! let project = tempfile::tempdir().unwrap();
//! let package_json = serde_json::json!({
//!     "name": "app", "version": "1.0.0",
//!     "scripts": {"postinstall": "echo $npm_lifecycle_event > done.txt"}
//! });
//! run_project_scripts(project.path(), &package_json).unwrap();
//! let done = std::fs::read_to_string(project.path().join("done.txt")).unwrap();
//! assert_eq!(done.trim(), "postinstall");
//! ```

mod run;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

pub use run::{shell_quote, Script};

#[derive(Debug, Error)]
pub enum ScriptError {
    #[error("{package}: `{event}` script `{script}` failed ({status})\n{output}")]
    Failed {
        package: String,
        event: String,
        script: String,
        status: String,
        output: String,
    },
    #[error("{package}: could not start its `{event}` script")]
    Spawn {
        package: String,
        event: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {path:?}")]
    ManifestUnreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path:?} is not valid JSON")]
    ManifestInvalid {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// A freshly installed dependency that declares install scripts.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// Its folder, e.g. `<project>/node_modules/a/node_modules/b`.
    pub dir: PathBuf,
    pub name: String,
    pub version: String,
    pub optional: bool,
}

/// What happened to the dependencies' scripts.
#[derive(Debug, Default)]
pub struct DependencyScripts {
    /// `name@version` of packages whose scripts ran.
    pub ran: Vec<String>,
    /// Names of packages whose scripts were skipped because they are not trusted.
    pub skipped: Vec<String>,
    /// Failed scripts of optional packages (the install goes on without them).
    pub warnings: Vec<String>,
}

/// The package names the project trusts: its `trustedDependencies` plus `--allow-scripts`.
pub fn trusted_names(package_json: &Value, allow_scripts: &[String]) -> HashSet<String> {
    let listed = package_json
        .get("trustedDependencies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string);
    listed.chain(allow_scripts.iter().cloned()).collect()
}

/// Runs the install scripts of trusted dependencies, deepest packages first
/// (so a package's dependencies have run theirs), `parallel` at a time.
pub fn run_dependency_scripts(
    project_dir: &Path,
    dependencies: &[Dependency],
    trusted: &HashSet<String>,
    parallel: usize,
) -> Result<DependencyScripts, ScriptError> {
    let mut outcome = DependencyScripts::default();
    let mut work = Vec::new();
    for dependency in dependencies {
        if trusted.contains(&dependency.name) {
            work.push(dependency.clone());
        } else {
            outcome.skipped.push(dependency.name.clone());
        }
    }
    outcome.skipped.sort();
    outcome.skipped.dedup();
    work.sort_by_key(|d| std::cmp::Reverse(d.dir.components().count()));
    let results = run::in_parallel(&work, parallel, |dependency| {
        let manifest = read_manifest(&dependency.dir)?;
        let scripts = run::dependency_scripts(&dependency.dir, &manifest);
        let label = format!("{}@{}", dependency.name, dependency.version);
        for script in &scripts {
            run::run(project_dir, &dependency.dir, &label, &manifest, script)?;
        }
        Ok(label)
    });
    for (dependency, result) in work.iter().zip(results) {
        match result {
            Ok(label) => outcome.ran.push(label),
            Err(error) if dependency.optional => outcome.warnings.push(format!("optional {error}")),
            Err(error) => return Err(error),
        }
    }
    outcome.ran.sort();
    Ok(outcome)
}

/// Runs the project's own `preinstall`, `install`, `postinstall`,
/// `preprepare`, `prepare` and `postprepare` scripts, in npm's order.
pub fn run_project_scripts(project_dir: &Path, package_json: &Value) -> Result<(), ScriptError> {
    run_workspace_scripts(project_dir, project_dir, package_json)
}

/// Runs a workspace's own lifecycle scripts in its folder, as for the
/// project (workspaces are part of the project, so always trusted).
pub fn run_workspace_scripts(
    project_dir: &Path,
    workspace_dir: &Path,
    package_json: &Value,
) -> Result<(), ScriptError> {
    let label = package_json
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("the project")
        .to_string();
    for script in run::project_scripts(package_json) {
        run::run(project_dir, workspace_dir, &label, package_json, &script)?;
    }
    Ok(())
}

/// Runs a package's `prepare` script alone in its folder, as npm does when
/// it packs a git dependency (no `preprepare` or `postprepare`).
pub fn run_prepare_script(dir: &Path, package_json: &Value) -> Result<(), ScriptError> {
    let label = package_json
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("the package")
        .to_string();
    for script in run::project_scripts(package_json)
        .iter()
        .filter(|script| script.event == "prepare")
    {
        run::run(dir, dir, &label, package_json, script)?;
    }
    Ok(())
}

/// Runs one script of the package in `dir` (the project or a workspace) on
/// the terminal, as `npm run` does: its output is the user's, `PATH` has
/// the `node_modules/.bin` of `dir` and of every folder above it, and
/// `INIT_CWD` is where the command was typed. `args` are appended to the
/// command line, quoted for the shell. Returns how the script exited.
pub fn run_in_foreground(
    init_cwd: &Path,
    dir: &Path,
    package_json: &Value,
    script: &Script,
    args: &[String],
) -> Result<std::process::ExitStatus, ScriptError> {
    let label = package_json
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("the project");
    run::run_in_foreground(init_cwd, dir, label, package_json, script, args)
}

fn read_manifest(dir: &Path) -> Result<Value, ScriptError> {
    let path = dir.join("package.json");
    let text =
        std::fs::read_to_string(&path).map_err(|source| ScriptError::ManifestUnreadable {
            path: path.clone(),
            source,
        })?;
    serde_json::from_str(&text).map_err(|source| ScriptError::ManifestInvalid { path, source })
}
