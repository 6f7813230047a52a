//! A bound on tarball bodies in memory that leaves requests unbounded by
//! it: a download holds a [`BodyPermit`] from the moment its body starts to
//! stream in, and whoever receives the tarball decides when to drop it (the
//! supervisor: once the tarball is extracted). Requests whose headers have
//! arrived wait for a permit with their bodies unread.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A pool of permits to read tarball bodies, shared by clones.
#[derive(Debug, Clone)]
pub struct BodyPermits {
    semaphore: Arc<Semaphore>,
    max: usize,
}

/// One tarball body's place in memory, given back when dropped.
#[derive(Debug)]
pub struct BodyPermit {
    _permit: OwnedSemaphorePermit,
}

impl BodyPermits {
    pub fn new(max: usize) -> BodyPermits {
        let max = max.max(1);
        BodyPermits {
            semaphore: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// Permits held now: bodies being read plus tarballs not yet let go.
    pub fn in_use(&self) -> usize {
        self.max - self.semaphore.available_permits()
    }

    /// A free permit now, if there is one.
    pub fn try_acquire(&self) -> Option<BodyPermit> {
        let permit = Arc::clone(&self.semaphore).try_acquire_owned().ok()?;
        Some(BodyPermit { _permit: permit })
    }

    /// Waits for a free permit; `None` only if the pool was closed, which
    /// nothing does.
    pub(crate) async fn acquire(&self) -> Option<BodyPermit> {
        let permit = Arc::clone(&self.semaphore).acquire_owned().await.ok()?;
        Some(BodyPermit { _permit: permit })
    }
}
