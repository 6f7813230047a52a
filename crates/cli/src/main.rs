//! `utoo`: an npm-compatible package installer built from actors.

mod config;
mod install;
mod observe;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "utoo",
    version,
    about = "A fast, npm-compatible JavaScript package installer"
)]
struct Cli {
    /// More logs on stderr: -v for debug, -vv for trace (RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install the project's dependencies into node_modules and write package-lock.json.
    #[command(visible_alias = "i")]
    Install(InstallArgs),
    /// Clean install from package-lock.json (as `npm ci`): node_modules is
    /// removed first, and a lockfile out of sync with package.json is an error.
    Ci(InstallArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OmitKind {
    Dev,
    Optional,
    Peer,
}

#[derive(clap::Args)]
pub struct InstallArgs {
    /// Registry URL (else npm_config_registry, else .npmrc, else https://registry.npmjs.org/).
    #[arg(long)]
    registry: Option<String>,
    /// Global cache folder (else UTOO_CACHE_DIR, else ~/.cache/utoo).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Resolve and write package-lock.json only; node_modules is left alone.
    #[arg(long)]
    lockfile_only: bool,
    /// Fail if package-lock.json would change.
    #[arg(long, alias = "frozen")]
    frozen_lockfile: bool,
    /// Run no lifecycle scripts, not even the project's own.
    #[arg(long)]
    ignore_scripts: bool,
    /// Also run the install scripts of these packages (besides package.json "trustedDependencies").
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    allow_scripts: Vec<String>,
    /// Leave these kinds of dependencies out of node_modules (repeatable).
    #[arg(long, value_enum)]
    omit: Vec<OmitKind>,
    /// Same as --omit dev.
    #[arg(long)]
    production: bool,
    /// Don't install peer dependencies automatically (npm 6 behaviour).
    #[arg(long)]
    legacy_peer_deps: bool,
    /// Threads extracting tarballs; the download backlog is bounded by twice this.
    #[arg(long, value_name = "N")]
    extract_capacity: Option<usize>,
    /// Refuse packages that unpack to more than this many megabytes.
    #[arg(long, value_name = "MB", default_value_t = 1024)]
    max_package_size: u64,
    /// Threads linking packages into node_modules.
    #[arg(long, value_name = "N")]
    clone_capacity: Option<usize>,
    /// Write a Chrome trace-event file of the install (open it in ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write utoo-timings.html: a timeline per stage, queue depths over time, the slowest packages.
    #[arg(long)]
    timings: bool,
    /// Print nothing but errors.
    #[arg(long)]
    silent: bool,
    /// Fail when a package's engines.node excludes this Node.js (else a warning).
    #[arg(long)]
    engine_strict: bool,
    /// Remove node_modules before installing (set by `utoo ci`).
    #[arg(skip)]
    clean: bool,
    /// Project folder (default: the current folder).
    #[arg(long, value_name = "DIR")]
    prefix: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Install(args) => install::run(args, cli.verbose),
        Command::Ci(mut args) => {
            args.frozen_lockfile = true;
            args.clean = true;
            install::run(args, cli.verbose)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            match error.is::<install::Interrupted>() {
                // The shell's convention for a process stopped by SIGINT.
                true => ExitCode::from(130),
                false => ExitCode::FAILURE,
            }
        }
    }
}
