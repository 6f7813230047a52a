//! The running Node.js version, found only when a check needs it.

use std::fmt;
use std::sync::Arc;

/// How to learn the running Node.js version (for `engines.node`): asked
/// only when a package's engines are checked, since asking may mean
/// starting `node`.
#[derive(Clone)]
pub struct NodeVersion(Arc<dyn Fn() -> Option<String> + Send + Sync>);

impl NodeVersion {
    pub fn new(probe: impl Fn() -> Option<String> + Send + Sync + 'static) -> NodeVersion {
        NodeVersion(Arc::new(probe))
    }

    /// No Node.js: engines are not checked.
    pub fn unknown() -> NodeVersion {
        NodeVersion::new(|| None)
    }

    /// The version as `node --version` prints it, e.g. `v20.11.1`.
    pub fn find(&self) -> Option<String> {
        (self.0)()
    }
}

impl fmt::Debug for NodeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NodeVersion(..)")
    }
}
