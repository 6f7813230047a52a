//! `utoo cache verify` and `utoo cache clean`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use utoo_package_cache::CacheLayout;

use crate::config::cache_dir;

#[derive(clap::Args)]
pub(crate) struct CacheArgs {
    #[command(subcommand)]
    action: CacheAction,
    /// Cache folder (else UTOO_CACHE_DIR, else ~/.cache/utoo).
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum CacheAction {
    /// Check every cached package's files against what was extracted, and
    /// remove the entries that changed.
    Verify,
    /// Remove every cached package (only from a folder with utoo's cache layout).
    Clean,
}

pub(crate) fn run(args: CacheArgs) -> anyhow::Result<ExitCode> {
    let root =
        cache_dir(args.cache_dir).context("no cache folder: set --cache-dir or UTOO_CACHE_DIR")?;
    let cache = CacheLayout::new(&root);
    match args.action {
        CacheAction::Verify => {
            let started = Instant::now();
            let report = utoo_package_cache::verify(&cache)?;
            for broken in &report.removed {
                eprintln!(
                    "warn: removed {} from the cache ({}): {}",
                    broken.label,
                    broken.path.display(),
                    broken.reason
                );
            }
            println!("Cache verified: {}", root.display());
            println!(
                "Content verified: {} entries ({} files, {} bytes)",
                report.entries, report.files, report.bytes
            );
            println!("Content garbage-collected: {}", report.removed.len());
            println!("Finished in {:.3}s", started.elapsed().as_secs_f64());
        }
        CacheAction::Clean => {
            let report = utoo_package_cache::clean(&cache)?;
            println!(
                "Removed {} cached packages from {}",
                report.entries,
                root.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
