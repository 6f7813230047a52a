//! [`TestRegistry`]: a [`Server`] serving packuments and tarballs published
//! from [`Fixtures`].

use std::collections::HashMap;
use std::io;

use crate::fault::{Fault, PathMatch};
use crate::fixture::{FixtureError, Fixtures};
use crate::publish::{publish, tarball_path};
use crate::server::Server;
use crate::shape::NetworkShape;
use crate::stats::Traffic;
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid fixtures: {0}")]
    Fixture(#[from] FixtureError),
    #[error("could not pack the tarball of {name}@{version}: {source}")]
    Pack {
        name: String,
        version: String,
        source: io::Error,
    },
    #[error("could not start the registry server: {0}")]
    Server(#[from] io::Error),
}

/// A loopback npm registry; dropping it stops the server.
#[derive(Debug)]
pub struct TestRegistry {
    server: Server,
    integrities: HashMap<(String, String), String>,
}

impl TestRegistry {
    pub fn start(fixtures: Fixtures) -> Result<TestRegistry, StartError> {
        Self::publish_on(Server::start(Store::new())?, &fixtures)
    }

    /// Serves `fixtures` on loopback through a simulated network (a delay
    /// before each response, a shared bandwidth cap).
    pub fn start_shaped(
        fixtures: Fixtures,
        shape: NetworkShape,
    ) -> Result<TestRegistry, StartError> {
        Self::publish_on(Server::start_shaped(Store::new(), 0, shape)?, &fixtures)
    }

    /// Serves `fixtures` over HTTPS with a self-signed certificate
    /// ([`TestRegistry::certificate_pem`]); tarball URLs are `https:` too.
    #[cfg(feature = "tls")]
    pub fn start_tls(fixtures: Fixtures) -> Result<TestRegistry, StartError> {
        Self::publish_on(Server::start_tls(Store::new())?, &fixtures)
    }

    fn publish_on(server: Server, fixtures: &Fixtures) -> Result<TestRegistry, StartError> {
        let publication = publish(fixtures, &server.url())?;
        for (path, document) in publication.documents {
            server.store().insert(&path, document);
        }
        Ok(TestRegistry {
            server,
            integrities: publication.integrities,
        })
    }

    /// Publishes `fixtures` on the running server: the packuments of their
    /// names are replaced (so list every version a name should keep), as
    /// when a new version reaches the registry.
    pub fn republish(&mut self, fixtures: &Fixtures) -> Result<(), StartError> {
        let publication = publish(fixtures, &self.server.url())?;
        for (path, document) in publication.documents {
            self.server.store().insert(&path, document);
        }
        self.integrities.extend(publication.integrities);
        Ok(())
    }

    /// The underlying server, e.g. to add documents to its store.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// `http://127.0.0.1:<port>/` (or `https:`), with the trailing slash.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// See [`Server::certificate_pem`].
    pub fn certificate_pem(&self) -> Option<&str> {
        self.server.certificate_pem()
    }

    /// Where the packument says the tarball of `name@version` is, published
    /// or not: `http://127.0.0.1:<port>/@scope/pkg/-/pkg-1.0.0.tgz`.
    pub fn tarball_url(&self, name: &str, version: &str) -> String {
        format!(
            "{}{}",
            self.server.url().trim_end_matches('/'),
            tarball_path(name, version)
        )
    }

    /// The `sha512-…` integrity of a published version's tarball.
    pub fn integrity(&self, name: &str, version: &str) -> Option<&str> {
        self.integrities
            .get(&(name.to_owned(), version.to_owned()))
            .map(String::as_str)
    }

    /// See [`Server::inject`].
    pub fn inject(&self, target: impl Into<PathMatch>, fault: Fault, times: Option<usize>) {
        self.server.inject(target, fault, times);
    }

    pub fn clear_faults(&self) {
        self.server.clear_faults();
    }

    /// See [`Server::requests`].
    pub fn requests(&self, path: &str) -> usize {
        self.server.requests(path)
    }

    pub fn packument_requests(&self) -> usize {
        self.server.packument_requests()
    }

    pub fn tarball_requests(&self) -> usize {
        self.server.tarball_requests()
    }

    /// `(path, Authorization header)` of every request that carried one.
    pub fn authorizations(&self) -> Vec<(String, String)> {
        self.server.authorizations()
    }

    /// See [`Server::proxied_requests`].
    pub fn proxied_requests(&self) -> Vec<String> {
        self.server.proxied_requests()
    }

    pub fn proxy_authorizations(&self) -> Vec<String> {
        self.server.proxy_authorizations()
    }

    pub fn request_log(&self) -> Vec<String> {
        self.server.request_log()
    }

    pub fn traffic(&self) -> Traffic {
        self.server.traffic()
    }

    /// See [`Server::conditional_requests`].
    pub fn conditional_requests(&self) -> Vec<(String, Option<String>, Option<String>)> {
        self.server.conditional_requests()
    }

    /// See [`Server::not_modified_log`].
    pub fn not_modified_log(&self) -> Vec<String> {
        self.server.not_modified_log()
    }

    pub fn reset_counts(&self) {
        self.server.reset_counts();
    }
}
