//! Packuments from the registry and the cache: npm's `prefer-online`
//! (revalidate a cached copy with a conditional request), `prefer-offline`
//! (use a cached copy as it is) and `offline` (cached copies only).
//!
//! The cache keeps the packument as utoo keeps it in memory
//! ([`Packument::to_compact_json`]: dist-tags and each version's manifest
//! fields, without readmes, maintainers or times), not the registry's body:
//! it is several times smaller than a full document and is read back
//! without a second trimming pass.

use std::sync::Arc;

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

/// A packument, with what happened to its cached copy.
#[derive(Debug)]
pub struct Loaded {
    pub packument: Arc<Packument>,
    /// Bytes received from the registry (0 when the cache answered).
    pub bytes: u64,
    /// A cached copy found damaged (and fetched again): worth a warning.
    pub damaged: Option<PackumentCacheError>,
}

impl PackumentLoader {
    pub fn new(client: RegistryClient, registries: Registries, max_bytes: u64) -> PackumentLoader {
        PackumentLoader {
            client,
            registries,
            cache: None,
            policy: PackumentPolicy::Revalidate,
            max_bytes,
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
        let (cached, damaged) = match self.read_cached(&url).await? {
            Ok(cached) => (cached, None),
            Err(damage) => (None, Some(damage)),
        };
        let known = match (self.policy, cached) {
            (PackumentPolicy::PreferCached | PackumentPolicy::CachedOnly, Some((_, packument))) => {
                return Ok(Loaded {
                    packument,
                    bytes: 0,
                    damaged,
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
        let cache = self.cache.clone();
        let malformed_url = url.clone();
        // Parsed and added to the cache in one hand-off to a blocking thread.
        let parsed = tokio::task::spawn_blocking(move || {
            let packument = Packument::from_slice(&body)?;
            if let Some(cache) = cache {
                let validators = CachedValidators {
                    etag: validators.etag,
                    last_modified: validators.last_modified,
                };
                cache.add(&url, &validators, &packument.to_compact_json());
            }
            Ok(Arc::new(packument))
        })
        .await
        .map_err(|_| PackumentLoadError::Stopped)?;
        let packument = parsed.map_err(|source| PackumentLoadError::Malformed {
            url: malformed_url,
            source: Arc::new(source),
        })?;
        Ok(Loaded {
            packument,
            bytes,
            damaged,
        })
    }

    /// Seals the packuments fetched since the last call into the cache, for
    /// later installs; returns the cache's problems met on the way. Call it
    /// once every load has finished.
    pub async fn finish(&self) -> Vec<PackumentCacheError> {
        let Some(cache) = self.cache.clone() else {
            return Vec::new();
        };
        match tokio::task::spawn_blocking(move || cache.finish()).await {
            Ok(problems) => problems,
            Err(stopped) if stopped.is_panic() => std::panic::resume_unwind(stopped.into_panic()),
            // The runtime is shutting down: nothing is left to report to.
            Err(_) => Vec::new(),
        }
    }

    /// The cached packument and its validators: `Ok(None)` when there is
    /// none, `Err` when the file can't be used (then it is fetched again).
    async fn read_cached(&self, url: &str) -> Result<CachedRead, PackumentLoadError> {
        let Some(cache) = self.cache.clone().filter(|cache| cache.may_have(url)) else {
            return Ok(Ok(None));
        };
        let url = url.to_string();
        tokio::task::spawn_blocking(move || {
            let Some(cached) = cache.read(&url)? else {
                return Ok(None);
            };
            match Packument::from_slice(&cached.body) {
                Ok(packument) => Ok(Some((cached.validators, Arc::new(packument)))),
                Err(_) => Err(PackumentCacheError::Damaged {
                    url,
                    path: cached.file,
                    problem: "not a valid packument",
                }),
            }
        })
        .await
        .map_err(|_| PackumentLoadError::Stopped)
    }
}
