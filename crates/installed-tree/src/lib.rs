//! The tree installed in a project, read from its folders as npm's
//! `loadActual` reads it (what `npm ls` and `npm explain` show): the
//! project, every package folder and link in its `node_modules` folders,
//! the folders the links point at (workspaces, `file:` folders), each
//! package's dependency edges resolved as Node.js resolves them and checked
//! against their specs (arborist's depValid), and npm's `dev`, `optional`,
//! `devOptional`, `peer` and `extraneous` flags. Nothing is fetched.
//!
//! ```
//! use std::fs;
//! use utoo_installed_tree::{load, EdgeKind, ROOT};
//!
//! let project = tempfile::tempdir().unwrap();
//! let write = |dir: &str, json: &str| {
//!     fs::create_dir_all(project.path().join(dir)).unwrap();
//!     fs::write(project.path().join(dir).join("package.json"), json).unwrap();
//! };
//! write(".", r#"{"name": "app", "dependencies": {"a": "^1.0.0", "b": "1"}}"#);
//! write("node_modules/a", r#"{"name": "a", "version": "2.0.0"}"#);
//!
//! let tree = load(project.path(), &[]).unwrap();
//! let a = &tree.root().edges_out["a"];
//! assert!(a.is_invalid(), "2.0.0 is not ^1.0.0");
//! assert!(tree.root().edges_out["b"].is_missing());
//! assert_eq!(a.kind, EdgeKind::Prod);
//! assert_eq!(tree.nodes[a.to.unwrap()].pkgid(), "a@2.0.0");
//! assert!(!tree.nodes[ROOT].flags.extraneous);
//! ```

mod edges;
mod flags;
mod load;
mod tree;

use std::path::PathBuf;

use thiserror::Error;

pub use load::{load, Workspace};
pub use tree::{Edge, EdgeKind, Flags, Node, NodeId, NodeKind, Tree, ROOT};

#[derive(Debug, Error)]
pub enum TreeError {
    #[error("the project folder {path:?} can't be read")]
    Project {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("can't read {path:?}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path:?} is not valid JSON")]
    RootManifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

#[cfg(test)]
mod tests;
