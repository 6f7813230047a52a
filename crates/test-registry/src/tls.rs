//! HTTPS for the loopback server: a self-signed certificate for
//! `127.0.0.1` and `localhost`, made when the server starts.

use std::io;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::server::Connection;

pub(crate) struct Identity {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) certificate_pem: String,
}

pub(crate) fn self_signed() -> io::Result<Identity> {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(["127.0.0.1".to_string(), "localhost".to_string()])
            .map_err(io::Error::other)?;
    let key = PrivateKeyDer::Pkcs8(key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .map_err(io::Error::other)?;
    Ok(Identity {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        certificate_pem: cert.pem(),
    })
}

impl Connection for TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}
