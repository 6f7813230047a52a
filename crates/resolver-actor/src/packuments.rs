//! Packuments from the registry and the cache: npm's `prefer-online`
//! (revalidate a cached copy with a conditional request), `prefer-offline`
//! (use a cached copy as it is) and `offline` (cached copies only).
//!
//! The cache keeps the packument as utoo keeps it in memory
//! ([`Packument::to_compact_json`]: dist-tags and each version's manifest
//! fields, without readmes, maintainers or times), not the registry's body:
//! it is several times smaller than a full document and is read back
//! without a second trimming pass.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::task::JoinHandle;
use utoo_npm_types::{packument_url, Packument, PackumentError, Registries, ABBREVIATED_ACCEPT};
use utoo_package_cache::{CachedValidators, PackumentCache, PackumentCacheError, PackumentPolicy};
use utoo_registry_client::{HttpError, RegistryClient, Revalidation, Validators};

/// A cached packument and its validators; `Ok(None)` when there is none,
/// `Err` when the file can't be used.
type CachedRead = Result<Option<(CachedValidators, Arc<Packument>)>, PackumentCacheError>;

/// Loads packuments of one registry setup, through the cache when given one.
#[derive(Debug, Clone)]
pub struct PackumentLoader {
    client: RegistryClient,
    registries: Registries,
    cache: Option<PackumentCache>,
    policy: PackumentPolicy,
    max_bytes: u64,
    writing: Arc<Mutex<()>>,
}

/// Why a packument could not be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PackumentLoadError {
    #[error("fetching {url}")]
    Http {
        url: String,
        #[source]
        source: HttpError,
    },
    #[error("{url} is not cached, and the cache alone may be used (--offline)")]
    NotCached { url: String },
    #[error("reading the packument from {url}")]
    Malformed {
        url: String,
        #[source]
        source: Arc<PackumentError>,
    },
    #[error("the packument task stopped")]
    Stopped,
}

/// A packument, with what happened to its cache file.
#[derive(Debug)]
pub struct Loaded {
    pub packument: Arc<Packument>,
    /// Bytes received from the registry (0 when the cache answered).
    pub bytes: u64,
    /// A cache file found damaged (and fetched again): worth a warning.
    pub damaged: Option<PackumentCacheError>,
    /// The cache file being written, when the packument came from the
    /// registry; await it before the process ends.
    pub write: Option<JoinHandle<Result<(), PackumentCacheError>>>,
}

impl PackumentLoader {
    pub fn new(client: RegistryClient, registries: Registries, max_bytes: u64) -> PackumentLoader {
        PackumentLoader {
            client,
            registries,
            cache: None,
            policy: PackumentPolicy::Revalidate,
            max_bytes,
            writing: Arc::default(),
        }
    }

    /// Keeps packuments in `cache`, used as `policy` says.
    pub fn with_cache(mut self, cache: PackumentCache, policy: PackumentPolicy) -> PackumentLoader {
        self.cache = Some(cache);
        self.policy = policy;
        self
    }

    pub fn policy(&self) -> PackumentPolicy {
        self.policy
    }

    /// The packument URL of `name`.
    pub fn url(&self, name: &str) -> String {
        packument_url(self.registries.for_package(name), name)
    }

    pub async fn load(&self, name: &str) -> Result<Loaded, PackumentLoadError> {
        let url = self.url(name);
        let (cached, damaged) = match self.read_cached(name, &url).await? {
            Ok(cached) => (cached, None),
            Err(damage) => (None, Some(damage)),
        };
        let known = match (self.policy, cached) {
            (PackumentPolicy::PreferCached | PackumentPolicy::CachedOnly, Some((_, packument))) => {
                return Ok(Loaded {
                    packument,
                    bytes: 0,
                    damaged,
                    write: None,
                })
            }
            (PackumentPolicy::CachedOnly, None) => {
                return Err(PackumentLoadError::NotCached { url })
            }
            (_, cached) => cached,
        };
        let validators = known
            .as_ref()
            .map(|(validators, _)| Validators {
                etag: validators.etag.clone(),
                last_modified: validators.last_modified.clone(),
            })
            .unwrap_or_default();
        let http = |source| PackumentLoadError::Http {
            url: url.clone(),
            source,
        };
        // Without validators the request is a plain GET; the answer's are kept.
        let answer = self
            .client
            .get_unless_current(&url, ABBREVIATED_ACCEPT, &validators, self.max_bytes)
            .await;
        let (body, validators) = match (answer.map_err(http)?, known) {
            (Revalidation::NotModified, Some((_, packument))) => {
                return Ok(Loaded {
                    packument,
                    bytes: 0,
                    damaged,
                    write: None,
                })
            }
            (Revalidation::NotModified, None) => {
                return Err(http(HttpError::Status {
                    url: url.clone(),
                    status: 304,
                    attempts: 1,
                }))
            }
            (Revalidation::Modified { body, validators }, _) => (body, validators),
        };
        let bytes = body.len() as u64;
        let parsed = tokio::task::spawn_blocking(move || Packument::from_slice(&body))
            .await
            .map_err(|_| PackumentLoadError::Stopped)?;
        let packument = Arc::new(parsed.map_err(|source| PackumentLoadError::Malformed {
            url: url.clone(),
            source: Arc::new(source),
        })?);
        let write = self.cache.clone().map(|cache| {
            let (name, packument) = (name.to_string(), packument.clone());
            let validators = CachedValidators {
                etag: validators.etag,
                last_modified: validators.last_modified,
            };
            let writing = self.writing.clone();
            tokio::task::spawn_blocking(move || {
                // Writers take turns: threads creating files in one folder at
                // once spin on its lock, and resolution needs the cores. The
                // text is made in turn, so a waiting write holds no copy.
                let _turn = writing.lock().unwrap_or_else(PoisonError::into_inner);
                cache.write(&name, &url, &validators, &packument.to_compact_json())
            })
        });
        Ok(Loaded {
            packument,
            bytes,
            damaged,
            write,
        })
    }

    /// The cached packument and its validators: `Ok(None)` when there is
    /// none, `Err` when the file can't be used (then it is fetched again).
    async fn read_cached(&self, name: &str, url: &str) -> Result<CachedRead, PackumentLoadError> {
        let Some(cache) = self.cache.clone() else {
            return Ok(Ok(None));
        };
        let (name, url) = (name.to_string(), url.to_string());
        tokio::task::spawn_blocking(move || {
            let Some(cached) = cache.read(&name, &url)? else {
                return Ok(None);
            };
            match Packument::from_slice(&cached.body) {
                Ok(packument) => Ok(Some((cached.validators, Arc::new(packument)))),
                Err(_) => Err(PackumentCacheError::Damaged {
                    path: cache.path(&name, &url),
                    problem: "not a valid packument",
                }),
            }
        })
        .await
        .map_err(|_| PackumentLoadError::Stopped)
    }
}
