//! The fetch actor's limit on downloads in flight, enforced at its mailbox:
//! once every slot is taken the actor takes no more messages until one
//! frees, so further requests wait in the bounded mailbox, and past its
//! capacity their senders wait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

pub(crate) struct Slots {
    taken: AtomicUsize,
    max: usize,
    freed: Notify,
}

/// One download's slot, given back when dropped.
pub(crate) struct Slot(Arc<Slots>);

impl Slots {
    pub(crate) fn new(max: usize) -> Arc<Slots> {
        Arc::new(Slots {
            taken: AtomicUsize::new(0),
            max: max.max(1),
            freed: Notify::new(),
        })
    }

    /// Takes a slot; the flag is true when no free one is left.
    pub(crate) fn take(self: &Arc<Self>) -> (Slot, bool) {
        let taken = self.taken.fetch_add(1, Ordering::SeqCst) + 1;
        (Slot(Arc::clone(self)), taken >= self.max)
    }

    /// Resolves once a slot is free.
    pub(crate) async fn free_one(self: Arc<Self>) {
        while self.taken.load(Ordering::SeqCst) >= self.max {
            self.freed.notified().await;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::SeqCst);
        // Stores a wake-up if nobody waits yet, so none is lost.
        self.0.freed.notify_one();
    }
}
