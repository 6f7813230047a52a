//! The running Node.js version, found only when a check needs it.

use std::fmt;
use std::sync::{Arc, OnceLock};

/// How to learn the running Node.js version (for `engines.node`): asked
/// only when a package's engines are checked, since asking may mean
/// starting `node`. The answer is kept, and clones share it.
#[derive(Clone)]
pub struct NodeVersion(Arc<Probe>);

struct Probe {
    ask: Box<dyn Fn() -> Option<String> + Send + Sync>,
    answer: OnceLock<Option<String>>,
}

impl NodeVersion {
    pub fn new(probe: impl Fn() -> Option<String> + Send + Sync + 'static) -> NodeVersion {
        NodeVersion(Arc::new(Probe {
            ask: Box::new(probe),
            answer: OnceLock::new(),
        }))
    }

    /// No Node.js: engines are not checked.
    pub fn unknown() -> NodeVersion {
        NodeVersion::new(|| None)
    }

    /// The version as `node --version` prints it, e.g. `v20.11.1`.
    pub fn find(&self) -> Option<String> {
        self.0.answer.get_or_init(|| (self.0.ask)()).clone()
    }

    /// Starts finding the version on a thread of its own, for a caller that
    /// knows it will be asked: starting `node` takes milliseconds that
    /// would otherwise hold up whoever asks first, who then waits only for
    /// what is left.
    pub fn find_ahead(&self) {
        let version = self.clone();
        std::thread::spawn(move || version.find());
    }
}

impl fmt::Debug for NodeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NodeVersion(..)")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn node_is_asked_once_whoever_asks_first() {
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        let version = NodeVersion::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Some("v20.0.0".to_string())
        });
        version.find_ahead();
        let clone = version.clone();
        assert_eq!(clone.find().as_deref(), Some("v20.0.0"));
        assert_eq!(version.find().as_deref(), Some("v20.0.0"));
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }
}
