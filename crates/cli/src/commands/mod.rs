//! The everyday commands besides installing: `ls`, `why`, `run` (with
//! `test` and `start`), `exec` and `cache`, which use no network, and
//! `outdated` and `update`, which read the registry.

mod actual_tree;
mod cache;
mod exec;
mod ls;
pub(crate) mod outdated;
mod project;
mod run;
pub(crate) mod session;
pub(crate) mod update;
mod why;

use std::process::ExitCode;

use tokio::signal::unix::SignalKind;

#[derive(clap::Subcommand)]
pub(crate) enum Everyday {
    /// List installed packages as a tree (as `npm ls`); exits 1 on problems.
    #[command(visible_alias = "list")]
    Ls(ls::LsArgs),
    /// Show what depends on a package, up to the project (as `npm explain`).
    #[command(visible_alias = "explain")]
    Why(why::WhyArgs),
    /// Run a package.json script with its pre/post scripts; without a
    /// script, list them (as `npm run`).
    #[command(visible_alias = "run-script")]
    Run(run::RunArgs),
    /// Run the `test` script (`utoo run test`).
    #[command(visible_alias = "t")]
    Test(run::ShorthandArgs),
    /// Run the `start` script (`utoo run start`; `node server.js` without one).
    Start(run::ShorthandArgs),
    /// Run a bin of the project's node_modules/.bin; nothing is downloaded.
    #[command(visible_alias = "x")]
    Exec(exec::ExecArgs),
    /// Check (`verify`) or empty (`clean`) the package cache.
    Cache(cache::CacheArgs),
}

/// Ctrl-C reaches the whole foreground process group: the script gets it,
/// and utoo, as npm, waits for the script and exits with its status rather
/// than dying first. The handler (unlike an ignored signal) is not
/// inherited: the script still gets the default action.
fn leaving_interrupts_to_the_script(
    run: impl FnOnce() -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let _entered = runtime.enter();
    let _interrupts = tokio::signal::unix::signal(SignalKind::interrupt())?;
    run()
}

/// Runs the command; its exit status is the command's (a script's own for
/// `run` and `exec`).
pub(crate) fn run(command: Everyday) -> ExitCode {
    let result = match command {
        Everyday::Ls(args) => ls::run(args),
        Everyday::Why(args) => why::run(args),
        Everyday::Run(args) => leaving_interrupts_to_the_script(|| run::run(args)),
        Everyday::Test(args) => {
            leaving_interrupts_to_the_script(|| run::run(args.for_script("test")))
        }
        Everyday::Start(args) => {
            leaving_interrupts_to_the_script(|| run::run(args.for_script("start")))
        }
        Everyday::Exec(args) => leaving_interrupts_to_the_script(|| exec::run(args)),
        Everyday::Cache(args) => cache::run(args),
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::FAILURE
    })
}
