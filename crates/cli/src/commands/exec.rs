//! `utoo exec` (npm's `exec` / `npx` for installed bins): runs a bin of the
//! project's `node_modules/.bin`. npm downloads a package when the bin
//! isn't installed; utoo never downloads here, it says so instead.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use utoo_lifecycle_scripts::{run_in_foreground, shell_quote, Script};

use super::project::{read_package_json, Project};
use super::run::exit_code;

#[derive(clap::Args)]
pub(crate) struct ExecArgs {
    /// The bin to run, then its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
    /// Project folder (default: the current folder).
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
}

pub(crate) fn run(args: ExecArgs) -> anyhow::Result<ExitCode> {
    let Some((bin, bin_args)) = args.command.split_first() else {
        bail!("nothing to run: give a bin of node_modules/.bin");
    };
    let project = Project::find(args.prefix.clone())?;
    let start = match &args.prefix {
        Some(_) => project.dir.clone(),
        None => project.cwd.clone(),
    };
    let is_plain_name = !bin.is_empty() && !bin.contains('/') && bin != "." && bin != "..";
    let found = start
        .ancestors()
        .map(|dir| dir.join("node_modules").join(".bin").join(bin))
        .find(|path| is_plain_name && path.is_file());
    let Some(found) = found else {
        bail!(
            "no bin named {bin:?} in {} or a node_modules/.bin above it; npm exec would \
             download a package providing it from the registry and run it, utoo exec never \
             downloads: install the package first (utoo install --save-dev <package>)",
            start.join("node_modules").join(".bin").display()
        );
    };
    // As npm's option parser: the first `--` only ends utoo's options.
    let mut bin_args = bin_args.to_vec();
    if let Some(separator) = bin_args.iter().position(|a| a == "--") {
        bin_args.remove(separator);
    }
    let package_json = read_package_json(&project.dir)?;
    let status = run_in_foreground(
        &project.cwd,
        &start,
        &package_json,
        &Script {
            event: "npx".to_string(),
            command: shell_quote(&found.to_string_lossy()),
        },
        &bin_args,
    )?;
    Ok(ExitCode::from(exit_code(status)))
}
