//! `utoo run` (and `test`, `start`): a package.json script with its
//! `pre`/`post` scripts, as `npm run` runs it; without a script, the list
//! of scripts as npm prints it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use serde_json::{json, Value};
use utoo_lifecycle_scripts::{run_in_foreground, Script};

use super::project::{read_package_json, Project};

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// The script to run; without one, the scripts are listed.
    script: Option<String>,
    /// Arguments for the script (after `--`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
    #[command(flatten)]
    options: RunOptions,
}

/// `utoo test` / `utoo start`: `utoo run <that script>`.
#[derive(clap::Args)]
pub(crate) struct ShorthandArgs {
    /// Arguments for the script (after `--`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
    #[command(flatten)]
    options: RunOptions,
}

impl ShorthandArgs {
    pub(crate) fn for_script(self, script: &str) -> RunArgs {
        RunArgs {
            script: Some(script.to_string()),
            args: self.args,
            options: self.options,
        }
    }
}

#[derive(clap::Args)]
struct RunOptions {
    /// Succeed without doing anything when the script doesn't exist.
    #[arg(long)]
    if_present: bool,
    /// Run only the script, not its pre and post scripts.
    #[arg(long)]
    ignore_scripts: bool,
    /// List the scripts as JSON.
    #[arg(long)]
    json: bool,
    /// Run in this workspace (its name or folder; repeatable).
    #[arg(short = 'w', long = "workspace", value_name = "NAME")]
    workspace: Vec<String>,
    /// Run in every workspace.
    #[arg(long)]
    workspaces: bool,
    /// Project folder (default: the current folder).
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
}

/// npm's lifecycle events: `npm run` lists them apart from the others.
const LIFECYCLE: [&str; 29] = [
    "prepare",
    "prepublishOnly",
    "prepack",
    "postpack",
    "dependencies",
    "preinstall",
    "install",
    "postinstall",
    "prepublish",
    "publish",
    "postpublish",
    "prerestart",
    "restart",
    "postrestart",
    "prestart",
    "start",
    "poststart",
    "prestop",
    "stop",
    "poststop",
    "pretest",
    "test",
    "posttest",
    "preuninstall",
    "uninstall",
    "postuninstall",
    "preversion",
    "version",
    "postversion",
];

pub(crate) fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let options = &args.options;
    let project = Project::find(options.prefix.clone())?;
    let in_workspaces = options.workspaces || !options.workspace.is_empty();
    let folders: Vec<PathBuf> = if options.workspaces {
        if project.workspaces.is_empty() {
            bail!("--workspaces: this project has no workspaces");
        }
        project
            .workspaces
            .iter()
            .map(|w| project.dir.join(&w.location))
            .collect()
    } else if !options.workspace.is_empty() {
        options
            .workspace
            .iter()
            .map(|w| project.workspace(w).map(|w| project.dir.join(&w.location)))
            .collect::<anyhow::Result<_>>()?
    } else {
        // Typed in a workspace's folder, npm runs that workspace's script.
        vec![match &project.current_workspace {
            Some(location) => project.dir.join(location),
            None => project.dir.clone(),
        }]
    };
    let Some(script) = &args.script else {
        list(&folders, in_workspaces, options.json)?;
        return Ok(ExitCode::SUCCESS);
    };
    let mut status = 0;
    for folder in &folders {
        let package_json = read_package_json(folder)?;
        match run_script(&project, folder, &package_json, script, &args) {
            Ok(0) => {}
            Ok(code) => status = code,
            // A workspace without the script doesn't stop the others.
            Err(error) if in_workspaces => {
                eprintln!("error: {error:#} (workspace {})", folder.display());
                status = 1;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(ExitCode::from(status))
}

/// Runs `pre<script>`, `<script>` (with the arguments) and `post<script>`,
/// stopping at the first that fails; returns its exit status.
fn run_script(
    project: &Project,
    folder: &Path,
    package_json: &Value,
    script: &str,
    args: &RunArgs,
) -> anyhow::Result<u8> {
    let scripts = package_json.get("scripts").and_then(Value::as_object);
    let command_of = |event: &str| {
        scripts
            .and_then(|s| s.get(event))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let main = command_of(script).or_else(|| {
        // npm's default start script.
        (script == "start" && folder.join("server.js").is_file())
            .then(|| "node server.js".to_string())
    });
    let Some(main) = main else {
        if args.options.if_present {
            return Ok(0);
        }
        bail!("missing script: {script:?}; to see a list of scripts, run: utoo run");
    };
    let mut events = vec![(script.to_string(), main, args.args.as_slice())];
    if !args.options.ignore_scripts {
        if let Some(pre) = command_of(&format!("pre{script}")) {
            events.insert(0, (format!("pre{script}"), pre, &[]));
        }
        if let Some(post) = command_of(&format!("post{script}")) {
            events.push((format!("post{script}"), post, &[]));
        }
    }
    for (event, command, event_args) in events {
        println!("{}", banner(package_json, &event, &command, event_args));
        let status = run_in_foreground(
            &project.cwd,
            folder,
            package_json,
            &Script { event, command },
            event_args,
        )?;
        if !status.success() {
            return Ok(exit_code(status));
        }
    }
    Ok(0)
}

/// What npm prints before each script: `> name@version event`, `> command`.
fn banner(package_json: &Value, event: &str, command: &str, args: &[String]) -> String {
    let field = |key: &str| package_json.get(key).and_then(Value::as_str);
    let mut banner = match (field("name"), field("version")) {
        (Some(name), Some(version)) => format!("\n> {name}@{version} {event}\n"),
        _ => format!("\n> {event}\n"),
    };
    banner.push_str(&format!("> {}", command.trim().replace('\n', "\n> ")));
    if !args.is_empty() {
        banner.push(' ');
        banner.push_str(&args.join(" "));
    }
    banner.push('\n');
    banner
}

/// The exit status to pass on: the script's, or 128 + the signal that killed it.
pub(super) fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1);
    u8::try_from(code).unwrap_or(1)
}

/// The scripts of each folder, as `npm run` lists them.
fn list(folders: &[PathBuf], in_workspaces: bool, as_json: bool) -> anyhow::Result<()> {
    let mut printed_before = false;
    for folder in folders {
        let package_json = read_package_json(folder)?;
        let name = package_json.get("name").and_then(Value::as_str);
        let scripts: Vec<(String, String)> = package_json
            .get("scripts")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect();
        if as_json {
            let scripts = package_json.get("scripts").cloned().unwrap_or(json!({}));
            let out = match (in_workspaces, name) {
                (true, Some(name)) => json!({ name: scripts }),
                _ => scripts,
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
            continue;
        }
        if scripts.is_empty() {
            continue;
        }
        if printed_before {
            println!();
        }
        printed_before = true;
        let id = match (name, package_json.get("version").and_then(Value::as_str)) {
            (Some(name), Some(version)) => format!("{name}@{version}"),
            (Some(name), None) => name.to_string(),
            _ => folder.display().to_string(),
        };
        let (lifecycle, others): (Vec<_>, Vec<_>) = scripts
            .iter()
            .partition(|(event, _)| LIFECYCLE.contains(&event.as_str()));
        if !lifecycle.is_empty() {
            println!("Lifecycle scripts included in {id}:");
            for (event, command) in &lifecycle {
                println!("  {event}\n    {command}");
            }
        }
        if !others.is_empty() {
            match lifecycle.is_empty() {
                true => println!("Scripts available in {id} via `utoo run`:"),
                false => println!("available via `utoo run`:"),
            }
            for (event, command) in &others {
                println!("  {event}\n    {command}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_is_npms() {
        let package_json = json!({"name": "app", "version": "1.0.0"});
        assert_eq!(
            banner(&package_json, "build", "tsc\n", &["-p".into(), "x".into()]),
            "\n> app@1.0.0 build\n> tsc -p x\n"
        );
        assert_eq!(
            banner(&json!({}), "test", "jest", &[]),
            "\n> test\n> jest\n"
        );
    }
}
