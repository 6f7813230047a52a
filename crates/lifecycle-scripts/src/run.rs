use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use serde_json::Value;

use crate::ScriptError;

/// One lifecycle event's command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub event: String,
    pub command: String,
}

const DEPENDENCY_EVENTS: [&str; 3] = ["preinstall", "install", "postinstall"];
const PROJECT_EVENTS: [&str; 6] = [
    "preinstall",
    "install",
    "postinstall",
    "preprepare",
    "prepare",
    "postprepare",
];

fn scripts_for(manifest: &Value, events: &[&str]) -> Vec<Script> {
    events
        .iter()
        .filter_map(|event| {
            let command = manifest.get("scripts")?.get(*event)?.as_str()?;
            Some(Script {
                event: event.to_string(),
                command: command.to_string(),
            })
        })
        .collect()
}

/// A dependency's install scripts; a `binding.gyp` without `install` or
/// `preinstall` means `node-gyp rebuild`, as npm does.
pub(crate) fn dependency_scripts(dir: &Path, manifest: &Value) -> Vec<Script> {
    let mut scripts = scripts_for(manifest, &DEPENDENCY_EVENTS);
    let has_own_install = scripts
        .iter()
        .any(|s| s.event == "install" || s.event == "preinstall");
    if !has_own_install && dir.join("binding.gyp").is_file() {
        let position = scripts
            .iter()
            .position(|s| s.event == "postinstall")
            .unwrap_or(scripts.len());
        scripts.insert(
            position,
            Script {
                event: "install".to_string(),
                command: "node-gyp rebuild".to_string(),
            },
        );
    }
    scripts
}

pub(crate) fn project_scripts(package_json: &Value) -> Vec<Script> {
    scripts_for(package_json, &PROJECT_EVENTS)
}

/// `PATH` with `node_modules/.bin` of the package and each folder above it, up to the project.
fn search_path(project_dir: &Path, package_dir: &Path) -> OsString {
    let mut dirs: Vec<PathBuf> = package_dir
        .ancestors()
        .take_while(|dir| dir.starts_with(project_dir))
        .filter(|dir| dir.file_name().is_none_or(|name| name != "node_modules"))
        .map(|dir| dir.join("node_modules").join(".bin"))
        .collect();
    dirs.extend(
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    std::env::join_paths(dirs).unwrap_or_default()
}

/// `sh -c <script> <args>` in the package's folder with npm's variables;
/// `bin_top` is the highest folder whose `node_modules/.bin` goes on `PATH`.
fn command(
    bin_top: &Path,
    init_cwd: &Path,
    dir: &Path,
    manifest: &Value,
    event: &str,
    script: &str,
    args: &[String],
) -> Command {
    let field = |key: &str| {
        manifest
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut line = script.to_string();
    for arg in args {
        line.push(' ');
        line.push_str(&shell_quote(arg));
    }
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", search_path(bin_top, dir))
        .env("npm_package_name", field("name"))
        .env("npm_package_version", field("version"))
        .env("npm_package_json", dir.join("package.json"))
        .env("npm_lifecycle_event", event)
        .env("npm_lifecycle_script", script)
        .env("INIT_CWD", init_cwd);
    command
}

/// Runs one script with `sh -c` in the package's folder and npm's variables.
pub(crate) fn run(
    project_dir: &Path,
    dir: &Path,
    label: &str,
    manifest: &Value,
    script: &Script,
) -> Result<(), ScriptError> {
    let output = command(
        project_dir,
        project_dir,
        dir,
        manifest,
        &script.event,
        &script.command,
        &[],
    )
    .output()
    .map_err(|source| ScriptError::Spawn {
        package: label.to_string(),
        event: script.event.clone(),
        source,
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(ScriptError::Failed {
        package: label.to_string(),
        event: script.event.clone(),
        script: script.command.clone(),
        status: output.status.to_string(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

/// Runs a script on the terminal (its output is the user's), with the
/// `node_modules/.bin` of its folder and of every folder above it on
/// `PATH`, as `npm run` does; returns how it exited.
pub(crate) fn run_in_foreground(
    init_cwd: &Path,
    dir: &Path,
    label: &str,
    manifest: &Value,
    script: &Script,
    args: &[String],
) -> Result<ExitStatus, ScriptError> {
    command(
        Path::new("/"),
        init_cwd,
        dir,
        manifest,
        &script.event,
        &script.command,
        args,
    )
    .status()
    .map_err(|source| ScriptError::Spawn {
        package: label.to_string(),
        event: script.event.clone(),
        source,
    })
}

/// An argument as `sh` reads it back unchanged (npm's escaping for sh).
pub fn shell_quote(arg: &str) -> String {
    if arg.is_empty() {
        return "''".to_string();
    }
    if !arg.chars().any(|c| "\t\n\r \"#$&'()*;<>?\\`|~".contains(c)) {
        return arg.to_string();
    }
    format!("'{}'", arg.replace('\'', "'\\''"))
}

/// Runs `job` over `items` on `parallel` threads; results keep the items' order.
pub(crate) fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    parallel: usize,
    job: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let (work_tx, work_rx) = crossbeam_channel::unbounded::<usize>();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<(usize, R)>();
    for index in 0..items.len() {
        let _ = work_tx.send(index);
    }
    drop(work_tx);
    std::thread::scope(|scope| {
        for _ in 0..parallel.max(1).min(items.len().max(1)) {
            let (work_rx, done_tx, job) = (work_rx.clone(), done_tx.clone(), &job);
            scope.spawn(move || {
                for index in work_rx {
                    let _ = done_tx.send((index, job(&items[index])));
                }
            });
        }
    });
    drop(done_tx);
    let mut results: Vec<(usize, R)> = done_rx.into_iter().collect();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn binding_gyp_without_install_script_means_node_gyp_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("binding.gyp"), "{}").unwrap();
        let scripts = dependency_scripts(dir.path(), &json!({"scripts": {"postinstall": "x"}}));
        let events: Vec<&str> = scripts.iter().map(|s| s.event.as_str()).collect();
        assert_eq!(events, ["install", "postinstall"]);
        assert_eq!(scripts[0].command, "node-gyp rebuild");
        let own = dependency_scripts(dir.path(), &json!({"scripts": {"install": "make"}}));
        assert_eq!(
            own,
            [Script {
                event: "install".into(),
                command: "make".into()
            }]
        );
    }

    #[test]
    fn search_path_lists_bin_folders_from_the_package_up() {
        let project = Path::new("/p");
        let path = search_path(project, Path::new("/p/node_modules/a/node_modules/b"));
        let dirs: Vec<PathBuf> = std::env::split_paths(&path).take(3).collect();
        assert_eq!(
            dirs,
            [
                PathBuf::from("/p/node_modules/a/node_modules/b/node_modules/.bin"),
                PathBuf::from("/p/node_modules/a/node_modules/.bin"),
                PathBuf::from("/p/node_modules/.bin"),
            ]
        );
    }

    #[test]
    fn arguments_are_quoted_only_when_the_shell_would_change_them() {
        assert_eq!(shell_quote("plain-arg_1.js"), "plain-arg_1.js");
        assert_eq!(shell_quote("b c"), "'b c'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn parallel_results_keep_order() {
        let items: Vec<u32> = (0..20).collect();
        assert_eq!(
            in_parallel(&items, 3, |n| n * 2),
            (0..20).map(|n| n * 2).collect::<Vec<_>>()
        );
    }
}
