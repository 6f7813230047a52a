//! The fetch actor downloads package tarballs: connections are reused, at
//! most `max_in_flight` downloads run at once, transient failures are retried
//! with backoff, and `integrity` (sha512, or sha1 for old packages) is
//! verified while the body streams in, so a corrupt tarball never leaves it.
//! A tarball larger than the limit (1 GiB unless set otherwise) fails as soon
//! as that is known, without being read further. With [`BodyPermits`],
//! a download's body is read only once it holds a permit, so the requests
//! in flight and the bodies in memory are bounded separately. A `file://` URL (a `file:`
//! tarball dependency) is read from disk, a regular file only, under the same
//! limit, and verified the same way; a git URL (`git+...#<commit>`) is packed
//! from that commit, prepared first when the request allows it and the
//! actor has a [`Preparer`].
//!
//! ```no_run
//! use actix::Actor;
//! use utoo_fetch_actor::{FetchActor, FetchTarball};
//! use utoo_registry_client::{ClientConfig, RegistryClient};
//!
//! #[actix::main]
//! async fn main() {
//!     let client = RegistryClient::new(&ClientConfig::default()).unwrap();
//!     let fetcher = FetchActor::new(client, 16).start();
//!     let tarball = fetcher
//!         .send(FetchTarball {
//!             name: "is-number".into(),
//!             version: "7.0.0".into(),
//!             url: "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz".into(),
//!             integrity: None,
//!             body_permits: None,
//!             prepare: false,
//!         })
//!         .await
//!         .unwrap()
//!         .unwrap();
//!     println!("{} bytes", tarball.bytes.len());
//! }
//! ```

mod body_permits;
mod slots;

use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;
use thiserror::Error;
use utoo_git::Preparer;
use utoo_npm_types::{Integrity, IntegrityError};
use utoo_registry_client::{
    format_size, read_regular_file, HttpError, LocalReadError, RegistryClient, SizeLimits,
};
use utoo_telemetry::span;

pub use crate::body_permits::{BodyPermit, BodyPermits};
use crate::slots::Slots;

/// Download one tarball; replies with its verified bytes.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Tarball, FetchError>")]
pub struct FetchTarball {
    pub name: String,
    pub version: String,
    pub url: String,
    /// The SRI string from the lockfile or packument; `None` skips verification, as npm does.
    pub integrity: Option<String>,
    /// When set, the body is read only once a permit is free, and the
    /// permit comes back with the tarball.
    pub body_permits: Option<BodyPermits>,
    /// For a git dependency: run its `prepare` script before packing it
    /// (the package is trusted, and scripts aren't ignored).
    pub prepare: bool,
}

#[derive(Debug)]
pub struct Tarball {
    pub bytes: Bytes,
    /// Held until the receiver drops it (with [`FetchTarball::body_permits`]).
    pub permit: Option<BodyPermit>,
}

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("downloading {name}@{version}")]
    Http {
        name: String,
        version: String,
        #[source]
        source: HttpError,
    },
    #[error("{name}@{version}: the tarball {url} is larger than {}, the limit per package; raise --max-package-size if the package really is this large", format_size(*limit))]
    TooLarge {
        name: String,
        version: String,
        url: String,
        limit: u64,
    },
    #[error("reading {name}@{version} from {path}")]
    Local {
        name: String,
        version: String,
        path: String,
        #[source]
        source: LocalFailure,
    },
    #[error("packing {name}@{version} from git")]
    Git {
        name: String,
        version: String,
        #[source]
        source: utoo_git::GitError,
    },
    #[error("{name}@{version} has an unreadable integrity value {integrity:?}")]
    BadIntegrity {
        name: String,
        version: String,
        integrity: String,
    },
    #[error("the fetch actor stopped")]
    Stopped,
}

impl FetchError {
    /// Whether the network or the registry failed, not the package.
    pub fn is_network(&self) -> bool {
        matches!(self, FetchError::Http { source, .. } if source.is_network())
    }
}

/// Why a `file:` tarball could not be used.
#[derive(Debug, Error)]
pub enum LocalFailure {
    #[error(transparent)]
    Read(LocalReadError),
    #[error(transparent)]
    Integrity(IntegrityError),
}

/// Messages waiting in the fetch actor's mailbox before senders must wait.
pub const FETCH_MAILBOX: usize = 64;

/// Downloads at most `max_in_flight` tarballs at once; at that limit it
/// takes no more messages until one ends, so the mailbox holds at most
/// [`FETCH_MAILBOX`] more and further senders wait in `send().await`.
pub struct FetchActor {
    client: RegistryClient,
    slots: Arc<Slots>,
    max_tarball_bytes: u64,
    preparer: Option<Arc<Preparer>>,
}

impl FetchActor {
    pub fn new(client: RegistryClient, max_in_flight: usize) -> FetchActor {
        FetchActor {
            client,
            slots: Slots::new(max_in_flight),
            max_tarball_bytes: SizeLimits::default().tarball,
            preparer: None,
        }
    }

    /// Prepares git dependencies with `preparer` when a request allows it;
    /// without one they are packed unprepared.
    pub fn with_git_preparer(mut self, preparer: Preparer) -> FetchActor {
        self.preparer = Some(Arc::new(preparer));
        self
    }

    /// Refuses tarballs of more than `bytes`, downloaded or on disk.
    pub fn with_max_tarball_bytes(mut self, bytes: u64) -> FetchActor {
        self.max_tarball_bytes = bytes;
        self
    }
}

impl Actor for FetchActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(FETCH_MAILBOX);
    }
}

impl Handler<FetchTarball> for FetchActor {
    type Result = ResponseFuture<Result<Tarball, FetchError>>;

    fn handle(&mut self, msg: FetchTarball, ctx: &mut Context<Self>) -> Self::Result {
        let client = self.client.clone();
        let max_bytes = self.max_tarball_bytes;
        let preparer = self.preparer.clone().filter(|_| msg.prepare);
        let (slot, all_taken) = self.slots.take();
        if all_taken {
            ctx.wait(Arc::clone(&self.slots).free_one().into_actor(self));
        }
        Box::pin(async move {
            let _slot = slot;
            let integrity = match &msg.integrity {
                Some(sri) => Some(Integrity::parse(sri).map_err(|_| FetchError::BadIntegrity {
                    name: msg.name.clone(),
                    version: msg.version.clone(),
                    integrity: sri.clone(),
                })?),
                None => None,
            };
            let package = format!("{}@{}", msg.name, msg.version);
            let span =
                tracing::info_span!(span::FETCH, package = %package, bytes = tracing::field::Empty);
            let permits = msg.body_permits.clone();
            let wait_for_permit = || {
                let permits = permits.clone();
                async move {
                    match permits {
                        Some(permits) => {
                            permits.acquire().await.map(Some).ok_or(FetchError::Stopped)
                        }
                        None => Ok(None),
                    }
                }
            };
            let (bytes, permit) = if msg.url.starts_with("git+") || msg.url.starts_with("git://") {
                let permit = wait_for_permit().await?;
                (fetch_git(&msg, preparer).await?, permit)
            } else if let Some(path) = msg.url.strip_prefix("file://") {
                let permit = wait_for_permit().await?;
                let bytes = fetch_local(&msg, PathBuf::from(path), integrity, max_bytes).await?;
                (bytes, permit)
            } else {
                let (bytes, permit) = client
                    .get_when(
                        &msg.url,
                        "application/octet-stream",
                        integrity.as_ref(),
                        max_bytes,
                        wait_for_permit,
                    )
                    .await
                    .map_err(|source| match source {
                        HttpError::TooLarge { url, limit } => too_large(&msg, url, limit),
                        source => FetchError::Http {
                            name: msg.name.clone(),
                            version: msg.version.clone(),
                            source,
                        },
                    })?;
                (bytes, permit?)
            };
            span.record("bytes", bytes.len() as u64);
            Ok(Tarball { bytes, permit })
        })
    }
}

fn too_large(msg: &FetchTarball, url: String, limit: u64) -> FetchError {
    FetchError::TooLarge {
        name: msg.name.clone(),
        version: msg.version.clone(),
        url,
        limit,
    }
}

/// A git dependency, packed from its commit (prepared with `preparer`).
async fn fetch_git(
    msg: &FetchTarball,
    preparer: Option<Arc<Preparer>>,
) -> Result<Bytes, FetchError> {
    let url = msg.url.clone();
    let packed = tokio::task::spawn_blocking(move || utoo_git::pack(&url, preparer.as_deref()))
        .await
        .map_err(|_| FetchError::Stopped)?;
    packed.map(Bytes::from).map_err(|source| FetchError::Git {
        name: msg.name.clone(),
        version: msg.version.clone(),
        source,
    })
}

/// A `file:` tarball: a regular file of at most `max_bytes`, checked
/// against `integrity` when there is one.
async fn fetch_local(
    msg: &FetchTarball,
    path: PathBuf,
    integrity: Option<Integrity>,
    max_bytes: u64,
) -> Result<Bytes, FetchError> {
    let failed = |source: LocalFailure| FetchError::Local {
        name: msg.name.clone(),
        version: msg.version.clone(),
        path: path.display().to_string(),
        source,
    };
    let read = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || read_regular_file(&path, max_bytes))
    };
    let bytes = match read.await.map_err(|_| FetchError::Stopped)? {
        Ok(bytes) => bytes,
        Err(LocalReadError::TooLarge { limit }) => {
            return Err(too_large(msg, msg.url.clone(), limit))
        }
        Err(other) => return Err(failed(LocalFailure::Read(other))),
    };
    if let Some(integrity) = integrity {
        let mut hasher = integrity.hasher();
        hasher.update(&bytes);
        hasher
            .verify()
            .map_err(|e| failed(LocalFailure::Integrity(e)))?;
    }
    Ok(Bytes::from(bytes))
}
