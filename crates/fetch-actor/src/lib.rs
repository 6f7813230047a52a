//! The fetch actor downloads package tarballs: connections are reused, at
//! most `max_in_flight` downloads run at once, transient failures are retried
//! with backoff, and `integrity` (sha512, or sha1 for old packages) is
//! verified while the body streams in, so a corrupt tarball never leaves it.
//! A `file://` URL (a `file:` tarball dependency) is read from disk and
//! verified the same way; a git URL (`git+...#<commit>`) is packed from
//! that commit.
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
//!         })
//!         .await
//!         .unwrap()
//!         .unwrap();
//!     println!("{} bytes", tarball.bytes.len());
//! }
//! ```

use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;
use thiserror::Error;
use tokio::sync::Semaphore;
use utoo_npm_types::Integrity;
use utoo_registry_client::{HttpError, RegistryClient};

/// Download one tarball; replies with its verified bytes.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Tarball, FetchError>")]
pub struct FetchTarball {
    pub name: String,
    pub version: String,
    pub url: String,
    /// The SRI string from the lockfile or packument; `None` skips verification, as npm does.
    pub integrity: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Tarball {
    pub bytes: Bytes,
}

#[derive(Debug, Clone, Error)]
pub enum FetchError {
    #[error("downloading {name}@{version}: {source}")]
    Http {
        name: String,
        version: String,
        source: HttpError,
    },
    #[error("reading {name}@{version} from {path}: {reason}")]
    Local {
        name: String,
        version: String,
        path: String,
        reason: String,
    },
    #[error("{name}@{version}: {reason}")]
    Git {
        name: String,
        version: String,
        reason: String,
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

/// Messages waiting in the fetch actor's mailbox before senders must wait.
pub const FETCH_MAILBOX: usize = 64;

pub struct FetchActor {
    client: RegistryClient,
    limit: Arc<Semaphore>,
}

impl FetchActor {
    pub fn new(client: RegistryClient, max_in_flight: usize) -> FetchActor {
        FetchActor {
            client,
            limit: Arc::new(Semaphore::new(max_in_flight.max(1))),
        }
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

    fn handle(&mut self, msg: FetchTarball, _ctx: &mut Context<Self>) -> Self::Result {
        let client = self.client.clone();
        let limit = self.limit.clone();
        Box::pin(async move {
            let integrity = match &msg.integrity {
                Some(sri) => Some(Integrity::parse(sri).map_err(|_| FetchError::BadIntegrity {
                    name: msg.name.clone(),
                    version: msg.version.clone(),
                    integrity: sri.clone(),
                })?),
                None => None,
            };
            let _permit = limit
                .acquire_owned()
                .await
                .map_err(|_| FetchError::Stopped)?;
            let package = format!("{}@{}", msg.name, msg.version);
            let span =
                tracing::info_span!("fetch", package = %package, bytes = tracing::field::Empty);
            if msg.url.starts_with("git+") || msg.url.starts_with("git://") {
                let url = msg.url.clone();
                let packed = tokio::task::spawn_blocking(move || utoo_git::pack(&url))
                    .await
                    .map_err(|_| FetchError::Stopped)?;
                let bytes = packed.map_err(|e| FetchError::Git {
                    name: msg.name.clone(),
                    version: msg.version.clone(),
                    reason: e.to_string(),
                })?;
                span.record("bytes", bytes.len() as u64);
                return Ok(Tarball {
                    bytes: Bytes::from(bytes),
                });
            }
            if let Some(path) = msg.url.strip_prefix("file://") {
                let bytes =
                    read_local(path, integrity)
                        .await
                        .map_err(|reason| FetchError::Local {
                            name: msg.name.clone(),
                            version: msg.version.clone(),
                            path: path.to_string(),
                            reason,
                        })?;
                span.record("bytes", bytes.len() as u64);
                return Ok(Tarball { bytes });
            }
            let bytes = client
                .get(&msg.url, "application/octet-stream", integrity.as_ref())
                .await
                .map_err(|source| FetchError::Http {
                    name: msg.name.clone(),
                    version: msg.version.clone(),
                    source,
                })?;
            span.record("bytes", bytes.len() as u64);
            Ok(Tarball { bytes })
        })
    }
}

/// A tarball on disk, checked against `integrity` when there is one.
async fn read_local(path: &str, integrity: Option<Integrity>) -> Result<Bytes, String> {
    let bytes = tokio::fs::read(path).await.map_err(|e| e.to_string())?;
    if let Some(integrity) = integrity {
        let mut hasher = integrity.hasher();
        hasher.update(&bytes);
        hasher.verify().map_err(|e| e.to_string())?;
    }
    Ok(Bytes::from(bytes))
}
