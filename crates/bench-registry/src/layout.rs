//! Where a snapshot keeps its files:
//!
//! ```text
//! <snapshot>/full/<name>.json             full packument (tarball URLs use the placeholder)
//! <snapshot>/corgi/<name>.json            abbreviated packument
//! <snapshot>/tarballs/<name>/-/<file>.tgz  tarballs, under their registry path
//! <snapshot>/snapshot.json                 summary, written last
//! ```
//!
//! `<name>` keeps its scope folder (`@babel/core`). Request paths map onto
//! these files only when every segment is a plain name, so a request can
//! never reach outside the snapshot.

use std::path::{Path, PathBuf};

/// The packument form a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Full,
    Abbreviated,
}

/// What a canonical request path names in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    Packument { name: &'a str },
    Tarball { relative: &'a str },
}

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn summary(&self) -> PathBuf {
        self.root.join("snapshot.json")
    }

    pub fn packument(&self, name: &str, form: Form) -> PathBuf {
        let folder = match form {
            Form::Full => "full",
            Form::Abbreviated => "corgi",
        };
        self.root.join(folder).join(format!("{name}.json"))
    }

    /// `relative` is `<name>/-/<file>.tgz`.
    pub fn tarball(&self, relative: &str) -> PathBuf {
        self.root.join("tarballs").join(relative)
    }
}

/// Classifies a canonical request path (`/@s/p`, `/p/-/p-1.0.0.tgz`);
/// `None` for anything with empty, `.` or `..` segments or of another shape.
pub fn classify(path: &str) -> Option<Target<'_>> {
    let relative = path.strip_prefix('/')?;
    let safe = relative.split('/').all(|segment| {
        !segment.is_empty() && segment != "." && segment != ".." && !segment.contains('\\')
    });
    if !safe {
        return None;
    }
    if let Some((name, file)) = relative.split_once("/-/") {
        return (is_name(name) && !file.contains('/') && file.ends_with(".tgz"))
            .then_some(Target::Tarball { relative });
    }
    is_name(relative).then_some(Target::Packument { name: relative })
}

/// `name` or `@scope/name`.
fn is_name(name: &str) -> bool {
    match name.strip_prefix('@') {
        Some(scoped) => scoped.split('/').count() == 2,
        None => !name.contains('/'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths_map_to_snapshot_files() {
        assert_eq!(classify("/@s/p"), Some(Target::Packument { name: "@s/p" }));
        assert_eq!(
            classify("/p/-/p-1.0.0.tgz"),
            Some(Target::Tarball {
                relative: "p/-/p-1.0.0.tgz"
            })
        );
        let layout = Layout::new("/snap");
        assert_eq!(
            layout.packument("@s/p", Form::Abbreviated),
            Path::new("/snap/corgi/@s/p.json")
        );
        assert_eq!(
            layout.tarball("@s/p/-/p-1.0.0.tgz"),
            Path::new("/snap/tarballs/@s/p/-/p-1.0.0.tgz")
        );
    }

    #[test]
    fn odd_paths_are_refused() {
        for path in [
            "/../etc/passwd",
            "/a/../b",
            "/a//b",
            "/a/b",
            "/@s/p/q",
            "/p/-/../x.tgz",
            "/p/-/p.txt",
            "/",
            "relative",
        ] {
            assert_eq!(classify(path), None, "{path}");
        }
    }
}
