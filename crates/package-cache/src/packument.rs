//! Packuments kept between installs, each with the validators (`ETag`,
//! `Last-Modified`) the registry sent, so the next install can revalidate
//! it with a conditional request instead of downloading it again.
//!
//! On disk, `packuments/<name>-<hash of the URL>` (`@scope+name-…` for a
//! scoped name) holds NUL-terminated
//! fields: `utoo-packument-1`, the URL, the `ETag`, the `Last-Modified`
//! (empty when the registry sent none) and the body's length, then the body.
//! Files are replaced atomically; one that doesn't read back whole is
//! [`PackumentCacheError::Damaged`], never trusted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::layout::plain_folder_name;

const FORMAT: &[u8] = b"utoo-packument-1";

/// How the cache is used, npm's `prefer-online` (the default here),
/// `prefer-offline` and `offline`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PackumentPolicy {
    /// Ask the registry whether a cached packument is current (a
    /// conditional request); use it on `304 Not Modified`.
    #[default]
    Revalidate,
    /// Use a cached packument without asking; fetch only the missing ones.
    PreferCached,
    /// Use cached packuments only: a missing one is an error.
    CachedOnly,
}

/// What identifies a cached body's version at the registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CachedValidators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPackument {
    pub validators: CachedValidators,
    pub body: Vec<u8>,
}

#[derive(Debug, Error)]
pub enum PackumentCacheError {
    #[error("can't read the cached packument {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the cached packument {} is damaged ({problem})", path.display())]
    Damaged {
        path: PathBuf,
        problem: &'static str,
    },
    #[error("can't write the cached packument {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The packument part of a cache folder.
#[derive(Debug, Clone)]
pub struct PackumentCache {
    dir: PathBuf,
}

impl PackumentCache {
    pub(crate) fn new(dir: PathBuf) -> PackumentCache {
        PackumentCache { dir }
    }

    /// The folder the packuments live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the packument of `name` fetched from `url` is kept; the URL is
    /// hashed so one name from two registries never shares a file.
    pub fn path(&self, name: &str, url: &str) -> PathBuf {
        let digest = Sha256::digest(url.as_bytes());
        // One folder for all: a folder per name would double the inodes a
        // cold install creates.
        let parts: Vec<String> = name.split('/').map(plain_folder_name).collect();
        self.dir
            .join(format!("{}-{}", parts.join("+"), hex::encode(&digest[..8])))
    }

    /// The cached packument of `name` from `url`; `None` when there is none.
    pub fn read(
        &self,
        name: &str,
        url: &str,
    ) -> Result<Option<CachedPackument>, PackumentCacheError> {
        let path = self.path(name, url);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(PackumentCacheError::Read { path, source }),
        };
        decode(&bytes, url)
            .map(Some)
            .map_err(|problem| PackumentCacheError::Damaged { path, problem })
    }

    /// Replaces the cached packument of `name` from `url` atomically.
    pub fn write(
        &self,
        name: &str,
        url: &str,
        validators: &CachedValidators,
        body: &[u8],
    ) -> Result<(), PackumentCacheError> {
        let path = self.path(name, url);
        let failed = |source| PackumentCacheError::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(failed)?;
        }
        // A cache: a file lost to a power cut is fetched again, so no flush.
        utoo_atomic_write::write_atomic_unflushed(&path, encode(url, validators, body))
            .map_err(failed)
    }
}

fn encode(url: &str, validators: &CachedValidators, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + url.len() + 128);
    let mut field = |bytes: &[u8]| {
        out.extend_from_slice(bytes);
        out.push(0);
    };
    field(FORMAT);
    field(url.as_bytes());
    field(validators.etag.as_deref().unwrap_or_default().as_bytes());
    field(
        validators
            .last_modified
            .as_deref()
            .unwrap_or_default()
            .as_bytes(),
    );
    field(body.len().to_string().as_bytes());
    out.extend_from_slice(body);
    out
}

fn decode(bytes: &[u8], url: &str) -> Result<CachedPackument, &'static str> {
    // Five header fields, then the body (which may hold anything).
    let mut parts = bytes.splitn(6, |&b| b == 0);
    let mut field = || parts.next().ok_or("truncated header");
    if field()? != FORMAT {
        return Err("not a utoo packument file");
    }
    if field()? != url.as_bytes() {
        return Err("kept for another URL");
    }
    let text = |bytes: &[u8]| -> Result<Option<String>, &'static str> {
        let text = std::str::from_utf8(bytes).map_err(|_| "a header is not UTF-8")?;
        Ok((!text.is_empty()).then(|| text.to_string()))
    };
    let etag = text(field()?)?;
    let last_modified = text(field()?)?;
    let length: usize = text(field()?)?
        .and_then(|n| n.parse().ok())
        .ok_or("no body length")?;
    let body = field()?;
    if body.len() != length {
        return Err("truncated body");
    }
    Ok(CachedPackument {
        validators: CachedValidators {
            etag,
            last_modified,
        },
        body: body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://r.example/@s%2fa";

    fn cache() -> (tempfile::TempDir, PackumentCache) {
        let dir = tempfile::tempdir().unwrap();
        let cache = crate::CacheLayout::new(dir.path()).packuments();
        (dir, cache)
    }

    #[test]
    fn a_packument_reads_back_with_its_validators() {
        let (_dir, cache) = cache();
        assert_eq!(cache.read("@s/a", URL).unwrap(), None);
        let validators = CachedValidators {
            etag: Some("\"abc\"".into()),
            last_modified: None,
        };
        cache
            .write("@s/a", URL, &validators, b"{\"a\":\"\\u0000\"}")
            .unwrap();
        let read = cache.read("@s/a", URL).unwrap().unwrap();
        assert_eq!(read.validators, validators);
        assert_eq!(read.body, b"{\"a\":\"\\u0000\"}");
        let path = cache.path("@s/a", URL);
        assert_eq!(path.parent(), Some(cache.dir()));
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(file_name.starts_with("@s+a-"), "{file_name}");
        assert_eq!(cache.read("@s/a", "http://other/@s%2fa").unwrap(), None);
    }

    #[test]
    fn truncated_or_foreign_files_are_damaged() {
        let (_dir, cache) = cache();
        cache
            .write("a", URL, &CachedValidators::default(), b"{\"versions\":{}}")
            .unwrap();
        let path = cache.path("a", URL);
        let whole = fs::read(&path).unwrap();
        for cut in [0, 3, FORMAT.len() + 1, whole.len() - 1] {
            fs::write(&path, &whole[..cut]).unwrap();
            let error = cache.read("a", URL).unwrap_err();
            assert!(
                matches!(error, PackumentCacheError::Damaged { .. }),
                "{cut}: {error}"
            );
        }
        let mut longer = whole.clone();
        longer.push(b' ');
        fs::write(&path, longer).unwrap();
        assert!(cache.read("a", URL).is_err());
    }

    #[test]
    fn names_cannot_lead_outside_the_cache() {
        let (_dir, cache) = cache();
        let path = cache.path("../../etc", URL);
        assert!(path.starts_with(cache.dir()), "{path:?}");
        assert!(!path
            .components()
            .any(|c| c == std::path::Component::ParentDir));
    }
}
