//! The everyday commands besides installing: `ls`, `why`, `run` (with
//! `test` and `start`), `exec` and `cache`. None of them uses the network.

mod cache;
mod exec;
mod ls;
mod project;
mod run;
mod why;

use std::process::ExitCode;

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

/// Runs the command; its exit status is the command's (a script's own for
/// `run` and `exec`).
pub(crate) fn run(command: Everyday) -> ExitCode {
    let result = match command {
        Everyday::Ls(args) => ls::run(args),
        Everyday::Why(args) => why::run(args),
        Everyday::Run(args) => run::run(args),
        Everyday::Test(args) => run::run(args.for_script("test")),
        Everyday::Start(args) => run::run(args.for_script("start")),
        Everyday::Exec(args) => exec::run(args),
        Everyday::Cache(args) => cache::run(args),
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::FAILURE
    })
}
