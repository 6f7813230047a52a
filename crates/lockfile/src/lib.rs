//! Reads and writes npm's `package-lock.json`.
//!
//! Lockfile versions 2 and 3 are read (only their `packages` section; v2's legacy
//! `dependencies` copy is ignored); version 1 is rejected with
//! [`LockfileError::Unsupported`]. Writing produces the version in
//! [`Lockfile::lockfile_version`] (3, or 2 with the legacy section rebuilt from `packages`),
//! byte for byte as npm 11 does: npm's key order (`json-stringify-nice` with npm's preferred keys and
//! `localeCompare(…, 'en')` via [`utoo_npm_collate`]), `false` and empty values left out,
//! and the indentation and line endings of the project's package.json ([`JsonFormat`]).
//!
//! Reading is lenient about the shapes real lockfiles contain: a known field with an
//! unexpected shape (say `engines` as an array) is kept in [`LockEntry::other`] and written
//! back unchanged, as are unknown fields.
//!
//! This crate only models the file; building the dependency tree is done elsewhere.
//!
//! ```
//! use std::path::Path;
//! use utoo_lockfile::{JsonFormat, LockEntry, Lockfile};
//!
//! let text = r#"{
//!   "name": "app",
//!   "lockfileVersion": 3,
//!   "requires": true,
//!   "packages": {
//!     "": { "name": "app", "dependencies": { "ms": "^2.1.3" } }
//!   }
//! }"#;
//! let mut lockfile = Lockfile::parse(text, Path::new("package-lock.json"))?;
//! lockfile.packages.insert(
//!     "node_modules/ms".to_owned(),
//!     LockEntry {
//!         version: Some("2.1.3".to_owned()),
//!         resolved: Some("https://registry.npmjs.org/ms/-/ms-2.1.3.tgz".to_owned()),
//!         license: Some("MIT".to_owned()),
//!         ..LockEntry::default()
//!     },
//! );
//! let json = lockfile.to_json(&JsonFormat::detect("{\n\t\"name\": \"app\"\n}\n"));
//! assert_eq!(
//!     json,
//!     "{\n\t\"name\": \"app\",\n\t\"lockfileVersion\": 3,\n\t\"requires\": true,\n\t\"packages\": {\n\
//!      \t\t\"\": {\n\t\t\t\"name\": \"app\",\n\t\t\t\"dependencies\": {\n\t\t\t\t\"ms\": \"^2.1.3\"\n\t\t\t}\n\t\t},\n\
//!      \t\t\"node_modules/ms\": {\n\t\t\t\"version\": \"2.1.3\",\n\
//!      \t\t\t\"resolved\": \"https://registry.npmjs.org/ms/-/ms-2.1.3.tgz\",\n\
//!      \t\t\t\"license\": \"MIT\"\n\t\t}\n\t}\n}\n"
//! );
//! # Ok::<(), utoo_lockfile::LockfileError>(())
//! ```

mod edges;
mod error;
mod format;
mod legacy;
mod model;
mod order;
mod read;
mod root;
mod spec;
mod stringify;
mod write;

pub use error::LockfileError;
pub use format::JsonFormat;
pub use model::{LockEntry, Lockfile, PeerDependencyMeta, LOCKFILE_VERSION};
pub use write::write_atomic;

#[cfg(test)]
mod tests;
