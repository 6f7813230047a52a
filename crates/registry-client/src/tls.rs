//! Extra trusted roots (`cafile`, `ca`) and telling certificate failures
//! apart from transient network errors.

use std::error::Error as StdError;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use thiserror::Error;

/// Why extra trusted certificates (`cafile`, `ca`) can't be used.
#[derive(Debug, Clone, Error)]
pub enum PemError {
    #[error("cannot be read")]
    Unreadable(#[source] Arc<std::io::Error>),
    #[error("certificate {index} is not valid PEM")]
    NotPem {
        index: usize,
        #[source]
        source: Arc<rustls::pki_types::pem::Error>,
    },
    #[error("certificate {index} is not usable")]
    Unusable {
        index: usize,
        #[source]
        source: rustls::Error,
    },
    #[error("certificate {index} is refused")]
    Refused {
        index: usize,
        #[source]
        source: Arc<reqwest::Error>,
    },
    #[error("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    Empty,
}

/// The certificates of a PEM text, each checked to be a usable trust anchor.
pub(crate) fn parse_pem_roots(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, PemError> {
    let mut roots = Vec::new();
    for (at, der) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let index = at + 1;
        let der = der.map_err(|e| PemError::NotPem {
            index,
            source: Arc::new(e),
        })?;
        rustls::RootCertStore::empty()
            .add(der.clone())
            .map_err(|source| PemError::Unusable { index, source })?;
        let certificate = reqwest::Certificate::from_der(&der).map_err(|e| PemError::Refused {
            index,
            source: Arc::new(e),
        })?;
        roots.push(certificate);
    }
    if roots.is_empty() {
        return Err(PemError::Empty);
    }
    Ok(roots)
}

pub(crate) fn read_pem_roots(path: &Path) -> Result<Vec<reqwest::Certificate>, PemError> {
    let pem = std::fs::read(path).map_err(|e| PemError::Unreadable(Arc::new(e)))?;
    parse_pem_roots(&pem)
}

/// Whether `err` came from a server certificate that failed verification:
/// retrying cannot help.
pub(crate) fn is_certificate_error(err: &reqwest::Error) -> bool {
    matches!(
        rustls_cause(err),
        Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
    )
}

fn rustls_cause<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    // rustls' error arrives wrapped in io::Errors, whose `source()` skips
    // the error they wrap.
    let next = match err.downcast_ref::<std::io::Error>() {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => err.source(),
    };
    next.and_then(rustls_cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_without_certificates_is_refused() {
        let err = parse_pem_roots(b"not a certificate\n").unwrap_err();
        assert!(matches!(err, PemError::Empty), "{err}");
        let err =
            parse_pem_roots(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err();
        assert!(matches!(err, PemError::Unusable { index: 1, .. }), "{err}");
        assert_eq!(err.to_string(), "certificate 1 is not usable");
    }

    #[test]
    fn unreadable_files_say_why() {
        let err = read_pem_roots(Path::new("/nonexistent/utoo-ca.pem")).unwrap_err();
        let PemError::Unreadable(io) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    }
}
