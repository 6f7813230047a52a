//! A slow network, simulated by the server itself: a delay before each
//! response (the round trip a loopback registry hides) and a bandwidth cap
//! that all connections share, like one link.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// How the server's link behaves; the default is loopback speed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkShape {
    /// Waited before each response's first byte.
    pub latency: Duration,
    /// Bytes per second over all connections together; `None` is unlimited.
    pub bytes_per_second: Option<u64>,
}

impl NetworkShape {
    /// `latency_ms` per request and `mbit` megabits per second (0: unlimited).
    pub fn new(latency_ms: u64, mbit: u64) -> NetworkShape {
        NetworkShape {
            latency: Duration::from_millis(latency_ms),
            bytes_per_second: (mbit > 0).then(|| mbit * 1_000_000 / 8),
        }
    }
}

/// The shared link: when it is next free to send.
#[derive(Debug)]
pub(crate) struct Link {
    shape: NetworkShape,
    free_at: Mutex<Instant>,
}

impl Link {
    pub(crate) fn new(shape: NetworkShape) -> Link {
        Link {
            shape,
            free_at: Mutex::new(Instant::now()),
        }
    }

    pub(crate) fn shape(&self) -> NetworkShape {
        self.shape
    }

    /// Waits out the round trip before a response.
    pub(crate) async fn round_trip(&self) {
        if !self.shape.latency.is_zero() {
            tokio::time::sleep(self.shape.latency).await;
        }
    }

    /// Waits until `bytes` have had their turn on the link: each send books
    /// the link for `bytes / rate` after whatever was booked before it.
    pub(crate) async fn send(&self, bytes: usize) {
        let Some(rate) = self.shape.bytes_per_second else {
            return;
        };
        let busy = Duration::from_secs_f64(bytes as f64 / rate as f64);
        let done = {
            let mut free_at = self.free_at.lock().unwrap_or_else(PoisonError::into_inner);
            let start = (*free_at).max(Instant::now());
            *free_at = start + busy;
            *free_at
        };
        tokio::time::sleep_until(done).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn megabits_become_bytes_per_second() {
        assert_eq!(
            NetworkShape::new(40, 200).bytes_per_second,
            Some(25_000_000)
        );
        assert_eq!(NetworkShape::new(40, 0).bytes_per_second, None);
        assert_eq!(NetworkShape::new(40, 0).latency, Duration::from_millis(40));
    }

    #[tokio::test]
    async fn sends_share_the_link_one_after_another() {
        // 8 Mbit/s is 1,000,000 bytes a second: two sends of 50 kB take 0.1 s.
        let link = Link::new(NetworkShape::new(0, 8));
        let started = Instant::now();
        tokio::join!(link.send(50_000), link.send(50_000));
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(400), "{elapsed:?}");
    }
}
