//! How files get from the cache into `node_modules`: decided once per
//! cache/project filesystem pair by trying each way on the first file.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Copy-on-write clone (btrfs, XFS, APFS): independent files, no data copied.
    Reflink,
    /// A second name for the cached file: fastest where reflinks aren't supported.
    Hardlink,
    /// A real copy: across filesystems, or where links are refused.
    Copy,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Reflink => "reflink",
            Strategy::Hardlink => "hardlink",
            Strategy::Copy => "copy",
        }
    }

    pub fn apply(self, from: &Path, to: &Path) -> io::Result<()> {
        match self {
            Strategy::Reflink => reflink_copy::reflink(from, to),
            Strategy::Hardlink => fs::hard_link(from, to),
            Strategy::Copy => fs::copy(from, to).map(|_| ()),
        }
    }
}

/// The strategy chosen by the first file, shared by every clone worker.
#[derive(Debug, Clone, Default)]
pub struct SharedStrategy {
    chosen: Arc<OnceLock<Strategy>>,
}

impl SharedStrategy {
    /// A strategy fixed in advance (e.g. `Copy` to keep the cache pristine).
    pub fn fixed(strategy: Strategy) -> SharedStrategy {
        let chosen = OnceLock::new();
        let _ = chosen.set(strategy);
        SharedStrategy {
            chosen: Arc::new(chosen),
        }
    }

    pub fn get(&self) -> Option<Strategy> {
        self.chosen.get().copied()
    }

    /// Places `from` at `to`, probing reflink → hardlink → copy on first use.
    pub fn place(&self, from: &Path, to: &Path) -> io::Result<Strategy> {
        if let Some(strategy) = self.get() {
            strategy.apply(from, to)?;
            return Ok(strategy);
        }
        let mut outcome = Ok(Strategy::Copy);
        let strategy = *self.chosen.get_or_init(|| {
            for candidate in [Strategy::Reflink, Strategy::Hardlink, Strategy::Copy] {
                match candidate.apply(from, to) {
                    Ok(()) => {
                        outcome = Ok(candidate);
                        return candidate;
                    }
                    Err(e) => {
                        tracing::info!(from = candidate.name(), error = %e, "clone fallback");
                        let _ = fs::remove_file(to);
                        outcome = Err(e);
                    }
                }
            }
            Strategy::Copy
        });
        match outcome {
            // Another worker probed first: the file is not placed yet.
            Ok(_) if !to.exists() => {
                strategy.apply(from, to)?;
                Ok(strategy)
            }
            Ok(_) => Ok(strategy),
            Err(e) => Err(e),
        }
    }
}
