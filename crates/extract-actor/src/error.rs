use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Why a tarball could not be unpacked.
#[derive(Debug, Error)]
pub enum UnpackError {
    #[error("corrupt gzip or tar data")]
    Corrupt(#[source] io::Error),
    #[error("entry {0:?} would be written outside the package folder")]
    UnsafePath(PathBuf),
    #[error("link {0:?} points outside the package folder")]
    LinkEscapes(PathBuf),
    #[error("entry {0:?} is a {1} entry, which packages may not contain")]
    SpecialEntry(PathBuf, String),
    #[error("unpacks to more than {0} bytes (the limit per package; a decompression bomb?)")]
    TooLarge(u64),
    #[error("writing {0:?}")]
    Io(PathBuf, #[source] io::Error),
}

impl UnpackError {
    /// Whether the disk failed (space, permissions), not the tarball.
    pub fn is_disk(&self) -> bool {
        matches!(self, UnpackError::Io(..))
    }
}

/// Why a package could not be put into the cache; names the package.
#[derive(Debug, Error)]
#[error("extracting {name}@{version}")]
pub struct ExtractError {
    pub name: String,
    pub version: String,
    #[source]
    pub source: UnpackError,
}
