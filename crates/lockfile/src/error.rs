use std::io;
use std::path::PathBuf;

/// Why a lockfile could not be read or written. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    #[error("failed to read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("failed to write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("malformed JSON in {} at line {line}, column {column}", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },

    /// lockfileVersion 1 (npm 6 and older), or a lockfile without a `packages` section.
    #[error(
        "{} is not supported ({}): only lockfileVersion 2 and 3 with a `packages` section can be read; \
         run `npm install` with npm 7 or newer to upgrade it",
        path.display(),
        describe_version(*version)
    )]
    Unsupported { path: PathBuf, version: Option<u32> },

    /// Valid JSON, but not shaped like a lockfile at all.
    #[error("{} is not a valid lockfile: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

impl LockfileError {
    /// Whether reading or writing the file failed, not its contents.
    pub fn is_io(&self) -> bool {
        matches!(
            self,
            LockfileError::Read { .. } | LockfileError::Write { .. }
        )
    }
}

fn describe_version(version: Option<u32>) -> String {
    match version {
        Some(version) => format!("lockfileVersion {version}"),
        None => "no lockfileVersion".to_owned(),
    }
}
