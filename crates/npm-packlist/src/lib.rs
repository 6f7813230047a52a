//! The files npm packs from a package folder, by the rules of npm-packlist
//! 10 (npm 11's) and ignore-walk:
//!
//! - `files` in `package.json`: everything is excluded, then each entry
//!   (a file, a folder with its contents, or a pattern) is included; it
//!   overrides `.npmignore`, which overrides `.gitignore`, in each folder;
//! - `.npmignore` (else `.gitignore`) in every folder, relative to it;
//! - always excluded: `.git`, `.svn`, `.hg`, `CVS`, `node_modules` (at the
//!   root), `.npmrc`, lockfiles, `npm-debug.log`, `.DS_Store`, `*.orig`,
//!   editor swap files and the ignore files themselves;
//! - always included: `package.json`, readme, license/licence and copying
//!   files at the root, and the `main`, `browser` and `bin` files;
//! - only regular files and folders: symbolic links are never packed, and
//!   an ignore file that is a link is not read (ignore-walk follows it).
//!
//! Bundled dependencies (`bundleDependencies`) and workspaces are not
//! gathered.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("package.json"), r#"{"name":"a","files":["lib"]}"#).unwrap();
//! std::fs::create_dir(dir.path().join("lib")).unwrap();
//! std::fs::write(dir.path().join("lib/index.js"), "").unwrap();
//! std::fs::write(dir.path().join("notes.txt"), "").unwrap();
//! let files = utoo_npm_packlist::packlist(dir.path()).unwrap();
//! assert_eq!(files, ["lib/index.js", "package.json"]);
//! ```

mod package;
mod pattern;
mod walk;

use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PacklistError {
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not valid JSON", path.display())]
    Manifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// The files to pack from the package in `dir`, as paths relative to it
/// with `/` separators, sorted.
pub fn packlist(dir: &Path) -> Result<Vec<String>, PacklistError> {
    let mut found = Vec::new();
    walk::Walker::root(dir).walk(&mut found)?;
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests;
