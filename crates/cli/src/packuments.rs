//! Packuments for commands that read them outside an install (`install
//! <spec>` picking the version to save, `outdated`): through the same
//! loader and cache as the resolver.

use std::sync::Arc;

use futures::future::join_all;
use utoo_npm_types::Packument;
use utoo_package_cache::PackumentCacheError;
use utoo_resolver_actor::{PackumentLoadError, PackumentLoader, Warning};

/// The packuments of `names`, fetched at once; cache problems are printed
/// as warnings, and what was fetched is in the cache when this returns.
pub(crate) fn load_all(
    loader: &PackumentLoader,
    names: &[String],
) -> anyhow::Result<Vec<Result<Packument, PackumentLoadError>>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(async {
        let loaded = join_all(names.iter().map(|name| loader.load(name))).await;
        let mut packuments = Vec::with_capacity(loaded.len());
        for result in loaded {
            packuments.push(match result {
                Ok(loaded) => {
                    if let Some(damaged) = loaded.damaged {
                        warn(damaged);
                    }
                    // The cache keeps its own copy, so this is the only handle.
                    Ok(Arc::unwrap_or_clone(loaded.packument))
                }
                Err(error) => Err(error),
            });
        }
        for problem in loader.finish().await {
            warn(problem);
        }
        packuments
    }))
}

fn warn(problem: PackumentCacheError) {
    eprintln!("warn: {}", Warning::PackumentCache(problem));
}
