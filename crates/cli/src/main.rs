//! `utoo`: an npm-compatible package installer built from actors.

mod commands;
mod config;
mod edit;
mod heaps;
mod install;
mod lockfile;
mod node;
mod observe;
mod open_files;
mod packuments;
mod registry_args;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use edit::SaveTo;
use install::Edit;
use registry_args::RegistryArgs;

#[derive(Parser)]
#[command(
    name = "utoo",
    version,
    about = "A fast, npm-compatible JavaScript package installer"
)]
struct Cli {
    /// More logs on stderr: -v for utoo's debug events, -vv for its trace
    /// events (RUST_LOG overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install the project's dependencies into node_modules and write
    /// package-lock.json; with package specs, add them to package.json first.
    #[command(visible_aliases = ["i", "add"])]
    Install(AddArgs),
    /// Remove packages from package.json, node_modules and the lockfile.
    #[command(visible_aliases = ["remove", "rm", "un"])]
    Uninstall(RemoveArgs),
    /// Clean install from package-lock.json (as `npm ci`): node_modules is
    /// removed first, and a lockfile out of sync with package.json is an error.
    Ci(InstallArgs),
    #[command(flatten)]
    Everyday(commands::Everyday),
    /// List dependencies with newer versions (as `npm outdated`); exit status 1 when any.
    Outdated(OutdatedArgs),
    /// Re-resolve packages (all when none named) to the newest versions
    /// their ranges allow, as `npm update`; package.json changes only with --save.
    #[command(visible_aliases = ["up", "upgrade"])]
    Update(UpdateArgs),
}

#[derive(clap::Args)]
struct OutdatedArgs {
    /// Packages to check, wherever they are in the tree (default: the
    /// project's and its workspaces' own dependencies).
    packages: Vec<String>,
    /// Print npm's JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Print npm's colon-separated lines instead of the table.
    #[arg(long, short = 'p', conflicts_with = "json")]
    parseable: bool,
    /// Check the dependencies of every installed package too.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(clap::Args)]
struct UpdateArgs {
    /// Packages to update (default: all).
    packages: Vec<String>,
    /// Also save the new versions' ranges to package.json (npm's --save).
    #[arg(long)]
    save: bool,
    /// Move ranges to the latest versions, as `install <pkg>@latest` does.
    #[arg(long, conflicts_with = "save")]
    latest: bool,
    #[command(flatten)]
    install: InstallArgs,
}

#[derive(clap::Args)]
struct AddArgs {
    /// Packages to add: `name`, `name@range`, `name@tag`, `alias@npm:name@range`.
    packages: Vec<String>,
    /// Save to devDependencies.
    #[arg(short = 'D', long)]
    save_dev: bool,
    /// Save to optionalDependencies.
    #[arg(short = 'O', long)]
    save_optional: bool,
    /// Save the exact version instead of a `^` range.
    #[arg(short = 'E', long)]
    save_exact: bool,
    #[command(flatten)]
    install: InstallArgs,
}

#[derive(clap::Args)]
struct RemoveArgs {
    /// Packages to remove.
    #[arg(required = true)]
    names: Vec<String>,
    #[command(flatten)]
    install: InstallArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OmitKind {
    Dev,
    Optional,
    Peer,
}

#[derive(clap::Args)]
pub struct InstallArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    /// Resolve and write the lockfile only; node_modules is left alone (npm's --package-lock-only).
    #[arg(long, alias = "package-lock-only")]
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
    /// Threads extracting tarballs; tarballs held in memory (being read or
    /// waiting for extraction) are bounded by twice this.
    #[arg(long, value_name = "N")]
    extract_capacity: Option<usize>,
    /// Tarball requests in flight at most (default 64).
    #[arg(long, value_name = "N")]
    network_concurrency: Option<usize>,
    /// Refuse packages whose tarball is, or unpacks to, more than this many megabytes.
    #[arg(long, value_name = "MB", default_value_t = 1024)]
    max_package_size: u64,
    /// Refuse package metadata (packuments) of more than this many megabytes.
    #[arg(long, value_name = "MB", default_value_t = 256)]
    max_packument_size: u64,
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
    /// Neither read nor write package-lock.json (npm's package-lock=false).
    #[arg(long)]
    no_package_lock: bool,
    /// Write neither package.json nor the lockfile (npm's save=false).
    #[arg(long)]
    no_save: bool,
    /// Write the lockfile in this version: 3, 2 (with the legacy section npm 6 reads) or 1
    /// (default: the version read when it is 2 or 3, else 3).
    #[arg(long, value_name = "1|2|3", value_parser = clap::value_parser!(u32).range(1..=3))]
    lockfile_version: Option<u32>,
    /// Write no `resolved` URL for packages from the registry.
    #[arg(long)]
    omit_lockfile_registry_resolved: bool,
    /// Remove node_modules before installing (set by `utoo ci`).
    #[arg(skip)]
    clean: bool,
    /// Add or remove packages in this workspace's package.json (its name or
    /// folder; repeatable). The whole project is installed either way.
    #[arg(short = 'w', long = "workspace", value_name = "NAME")]
    workspace: Vec<String>,
    /// Add or remove packages in every workspace's package.json.
    #[arg(long)]
    workspaces: bool,
}

fn main() -> ExitCode {
    heaps::one_per_core();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Everyday(command) => return commands::run(command),
        Command::Install(add) => {
            let edit = match add.packages.is_empty() {
                true => Edit::None,
                false => Edit::Add {
                    specs: add.packages,
                    save_to: match (add.save_dev, add.save_optional) {
                        (true, _) => SaveTo::DevDependencies,
                        (false, true) => SaveTo::OptionalDependencies,
                        (false, false) => SaveTo::Dependencies,
                    },
                    exact: add.save_exact,
                },
            };
            install::run(add.install, cli.verbose, edit)
        }
        Command::Uninstall(remove) => {
            install::run(remove.install, cli.verbose, Edit::Remove(remove.names))
        }
        Command::Ci(mut args) => {
            args.frozen_lockfile = true;
            args.clean = true;
            install::run(args, cli.verbose, Edit::None)
        }
        Command::Outdated(args) => {
            let options = commands::outdated::OutdatedOptions {
                names: args.packages,
                json: args.json,
                parseable: args.parseable,
                all: args.all,
            };
            match commands::session::Session::open(&args.registry)
                .and_then(|session| commands::outdated::run(&session, &options))
            {
                // As npm: exit status 1 when something is outdated.
                Ok(true) => return ExitCode::FAILURE,
                Ok(false) => Ok(()),
                Err(error) => Err(error),
            }
        }
        Command::Update(update) => {
            let edit = match update.latest {
                true => Edit::Latest(update.packages),
                false => Edit::Update {
                    names: update.packages,
                    save: update.save,
                },
            };
            install::run(update.install, cli.verbose, edit)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            if let Some(hint) = hint(&error) {
                eprintln!("{hint}");
            }
            match error.is::<install::Interrupted>() {
                // The shell's convention for a process stopped by SIGINT.
                true => ExitCode::from(130),
                false => ExitCode::FAILURE,
            }
        }
    }
}

/// What to try next, for failures a person can act on.
fn hint(error: &anyhow::Error) -> Option<&'static str> {
    let install = error
        .chain()
        .find_map(|e| e.downcast_ref::<utoo_supervisor::InstallError>())?;
    if install.is_network() {
        Some("hint: the registry could not be reached or kept failing; check your network, the registry URL (--registry, `registry=` in .npmrc) and any proxy, then run the install again")
    } else if install.is_disk() {
        Some("hint: writing to disk failed; check free space and the permissions of the project, its node_modules and the cache folder (--cache-dir)")
    } else {
        None
    }
}
