//! Packuments kept between installs, each with the validators (`ETag`,
//! `Last-Modified`) the registry sent, so the next install can revalidate
//! it with a conditional request instead of downloading it again.
//!
//! An install writes the packuments it fetched into one pack file in
//! `packuments/` (see `pack.rs`) rather than a file each: a cold install
//! fetches thousands, and creating a file per packument cost more than
//! fetching it. Readers take each URL's entry from the latest pack that
//! has it; past [`MAX_PACKS`](packs::MAX_PACKS) packs, the install that
//! wrote the last one merges them. A pack that doesn't read back whole is
//! [`PackumentCacheError::DamagedPack`] and is removed, never trusted.

mod pack;
mod packs;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use thiserror::Error;

use pack::PackWriter;
use packs::Packs;

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
    /// The pack it was read from.
    pub file: PathBuf,
}

#[derive(Debug, Error)]
pub enum PackumentCacheError {
    #[error("can't read the packument cache {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the cached packument of {url} in {} is damaged ({problem})", path.display())]
    Damaged {
        url: String,
        path: PathBuf,
        problem: &'static str,
    },
    #[error("the packument cache file {} was damaged ({problem})", path.display())]
    DamagedPack {
        path: PathBuf,
        problem: &'static str,
    },
    #[error("can't write the packument cache {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl PackumentCacheError {
    /// What the install did about it, to end a warning with.
    pub fn consequence(&self) -> &'static str {
        match self {
            PackumentCacheError::Read { .. } => "asked the registry instead",
            PackumentCacheError::Damaged { .. } => "fetched it from the registry again",
            PackumentCacheError::DamagedPack { .. } => {
                "removed it; its packuments are fetched from the registry again"
            }
            PackumentCacheError::Write { .. } => "the next install fetches these packuments again",
        }
    }
}

/// The packument part of a cache folder. Clones share what was read and
/// the pack being written: one install uses one `PackumentCache`, adds
/// what it fetches, and calls [`PackumentCache::finish`] at its end.
#[derive(Clone)]
pub struct PackumentCache {
    shared: Arc<Shared>,
}

struct Shared {
    dir: PathBuf,
    /// Every pack's index, read at the first lookup after a `finish`.
    packs: Mutex<Option<Arc<Packs>>>,
    /// This install's pack, started with its first packument.
    writing: Mutex<Writing>,
    /// Found along the way; [`PackumentCache::finish`] hands them over.
    problems: Mutex<Vec<PackumentCacheError>>,
}

#[derive(Default)]
enum Writing {
    #[default]
    NotStarted,
    Open(PackWriter),
    /// The pack could not be written; the problem is reported once.
    Failed,
}

impl std::fmt::Debug for PackumentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackumentCache")
            .field("dir", &self.shared.dir)
            .finish_non_exhaustive()
    }
}

impl PackumentCache {
    pub(crate) fn new(dir: PathBuf) -> PackumentCache {
        PackumentCache {
            shared: Arc::new(Shared {
                dir,
                packs: Mutex::default(),
                writing: Mutex::default(),
                problems: Mutex::default(),
            }),
        }
    }

    /// The folder the packs live in.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The cached packument from `url`; `None` when there is none. The
    /// first call (and the first after a `finish`) reads every pack's index.
    pub fn read(&self, url: &str) -> Result<Option<CachedPackument>, PackumentCacheError> {
        let packs = {
            let mut packs = lock(&self.shared.packs);
            let packs = packs.get_or_insert_with(|| {
                let (packs, problems) = Packs::open(&self.shared.dir);
                self.report(problems);
                Arc::new(packs)
            });
            packs.clone()
        };
        packs.read(url)
    }

    /// Whether [`PackumentCache::read`] could find `url`: `false` only once
    /// the packs' index has been read and has no entry for it. A caller can
    /// then skip handing the lookup to a blocking thread.
    pub fn may_have(&self, url: &str) -> bool {
        lock(&self.shared.packs)
            .as_ref()
            .is_none_or(|packs| packs.contains(url))
    }

    /// Adds the packument from `url` to this install's pack, which later
    /// installs see once [`PackumentCache::finish`] has sealed it. A pack
    /// that can't be written is reported by `finish`.
    pub fn add(&self, url: &str, validators: &CachedValidators, body: &[u8]) {
        let mut writing = lock(&self.shared.writing);
        if let Writing::NotStarted = *writing {
            *writing = match PackWriter::create(&self.shared.dir) {
                Ok(writer) => Writing::Open(writer),
                Err(source) => self.failed(source),
            };
        }
        if let Writing::Open(writer) = &mut *writing {
            if let Err(source) = writer.add(url, validators, body) {
                *writing = self.failed(source);
            }
        }
    }

    /// Seals this install's pack (when it fetched anything), merges the
    /// packs when there are too many, and returns the problems met. Later
    /// lookups read the packs afresh, this one included.
    pub fn finish(&self) -> Vec<PackumentCacheError> {
        let writing = std::mem::take(&mut *lock(&self.shared.writing));
        if let Writing::Open(writer) = writing {
            let dir = &self.shared.dir;
            let sealed = match writer.is_empty() {
                true => Ok(()),
                false => writer
                    .seal(&packs::new_pack_path(dir))
                    .map_err(|source| PackumentCacheError::Write {
                        path: dir.clone(),
                        source,
                    })
                    .and_then(|()| packs::merge_if_many(dir)),
            };
            self.report(sealed.err());
        }
        *lock(&self.shared.packs) = None;
        std::mem::take(&mut *lock(&self.shared.problems))
    }

    fn failed(&self, source: io::Error) -> Writing {
        self.report(Some(PackumentCacheError::Write {
            path: self.shared.dir.clone(),
            source,
        }));
        Writing::Failed
    }

    fn report(&self, problems: impl IntoIterator<Item = PackumentCacheError>) {
        lock(&self.shared.problems).extend(problems);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    const URL: &str = "http://r.example/@s%2fa";

    fn validators(etag: &str) -> CachedValidators {
        CachedValidators {
            etag: Some(etag.to_string()),
            last_modified: Some("Mon, 30 Nov 2026 00:00:00 GMT".to_string()),
        }
    }

    /// A cache as a new install opens it.
    fn opened(dir: &Path) -> PackumentCache {
        crate::CacheLayout::new(dir).packuments()
    }

    fn packs_in(cache: &PackumentCache) -> Vec<PathBuf> {
        let mut packs: Vec<PathBuf> = fs::read_dir(cache.dir())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        packs.sort();
        packs
    }

    /// One install that fetched `entries`.
    fn install(dir: &Path, entries: &[(&str, &str, &[u8])]) {
        let cache = opened(dir);
        for (url, etag, body) in entries {
            cache.add(url, &validators(etag), body);
        }
        let problems = cache.finish();
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_packument_reads_back_with_its_validators_once_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = opened(dir.path());
        assert_eq!(cache.read(URL).unwrap(), None);
        cache.add(URL, &validators("\"abc\""), b"{\"a\":\"\\u0000\"}");
        cache.add("http://r.example/b", &CachedValidators::default(), b"{}");
        assert_eq!(
            opened(dir.path()).read(URL).unwrap(),
            None,
            "not sealed yet"
        );
        assert!(cache.finish().is_empty());

        let later = opened(dir.path());
        let read = later.read(URL).unwrap().unwrap();
        assert_eq!(read.validators, validators("\"abc\""));
        assert_eq!(read.body, b"{\"a\":\"\\u0000\"}");
        assert_eq!(packs_in(&later), [read.file]);
        assert_eq!(
            cache.read(URL).unwrap().unwrap().body,
            read.body,
            "read afresh"
        );
        let b = later.read("http://r.example/b").unwrap().unwrap();
        assert_eq!(b.validators, CachedValidators::default());
        assert_eq!(later.read("http://other/@s%2fa").unwrap(), None);
    }

    #[test]
    fn a_url_may_be_cached_until_the_index_read_says_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        install(dir.path(), &[(URL, "\"abc\"", b"{}")]);
        let cache = opened(dir.path());
        assert!(cache.may_have("http://other/b"), "index not read yet");
        assert!(cache.read("http://other/b").unwrap().is_none());
        assert!(!cache.may_have("http://other/b"));
        assert!(cache.may_have(URL));

        cache.add("http://other/b", &CachedValidators::default(), b"{}");
        assert!(cache.finish().is_empty());
        assert!(cache.may_have("http://other/b"), "read afresh after finish");
    }

    #[test]
    fn an_install_that_fetched_nothing_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = opened(dir.path());
        assert_eq!(cache.read(URL).unwrap(), None);
        assert!(cache.finish().is_empty());
        assert!(!cache.dir().exists());
    }

    #[test]
    fn a_later_pack_replaces_an_earlier_entry() {
        let dir = tempfile::tempdir().unwrap();
        install(
            dir.path(),
            &[(URL, "\"1\"", b"[1]"), ("http://r/b", "\"b\"", b"[]")],
        );
        install(dir.path(), &[(URL, "\"2\"", b"[2]")]);
        let cache = opened(dir.path());
        let read = cache.read(URL).unwrap().unwrap();
        assert_eq!(
            (read.validators, read.body),
            (validators("\"2\""), b"[2]".to_vec())
        );
        assert_eq!(cache.read("http://r/b").unwrap().unwrap().body, b"[]");
    }

    #[test]
    fn too_many_packs_are_merged_keeping_the_latest_entries() {
        let dir = tempfile::tempdir().unwrap();
        let url = |n: usize| format!("http://r/{n}");
        for n in 0..=packs::MAX_PACKS {
            let body = n.to_string();
            install(
                dir.path(),
                &[
                    (&url(n), "\"n\"", body.as_bytes()),
                    (URL, &body, body.as_bytes()),
                ],
            );
            let count = packs_in(&opened(dir.path())).len();
            assert_eq!(count, if n < packs::MAX_PACKS { n + 1 } else { 1 });
        }
        let cache = opened(dir.path());
        for n in 0..=packs::MAX_PACKS {
            assert_eq!(
                cache.read(&url(n)).unwrap().unwrap().body,
                n.to_string().as_bytes()
            );
        }
        let latest = cache.read(URL).unwrap().unwrap();
        assert_eq!(latest.body, packs::MAX_PACKS.to_string().as_bytes());
        // A pack sealed after the merge still wins over it.
        install(dir.path(), &[(URL, "\"new\"", b"new")]);
        assert_eq!(opened(dir.path()).read(URL).unwrap().unwrap().body, b"new");
    }

    #[test]
    fn a_damaged_pack_is_reported_removed_and_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        install(dir.path(), &[(URL, "\"1\"", b"{\"versions\":{}}")]);
        let pack = packs_in(&opened(dir.path())).remove(0);
        let whole = fs::read(&pack).unwrap();
        fs::write(&pack, &whole[..whole.len() - 1]).unwrap();

        let cache = opened(dir.path());
        assert_eq!(cache.read(URL).unwrap(), None);
        let problems = cache.finish();
        assert!(
            matches!(&problems[..], [PackumentCacheError::DamagedPack { path, .. }] if *path == pack),
            "{problems:?}"
        );
        assert!(!pack.exists());
    }

    #[test]
    fn an_unwritable_cache_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        // The packument folder's place is taken by a file.
        let cache = opened(dir.path());
        fs::write(cache.dir(), "").unwrap();
        cache.add(URL, &validators("\"1\""), b"[]");
        cache.add("http://r/b", &validators("\"1\""), b"[]");
        let problems = cache.finish();
        assert!(
            matches!(&problems[..], [PackumentCacheError::Write { .. }]),
            "{problems:?}"
        );
    }
}
