//! Extra trusted roots (`cafile`, `ca`) and telling certificate failures
//! apart from transient network errors.

use std::error::Error;
use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// The certificates of a PEM text, each checked to be a usable trust anchor.
/// `Err` says what is wrong, for a message that names where the text came from.
pub(crate) fn parse_pem_roots(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    let mut roots = Vec::new();
    for (index, der) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let der = der.map_err(|e| format!("certificate {} is not valid PEM: {e}", index + 1))?;
        rustls::RootCertStore::empty()
            .add(der.clone())
            .map_err(|e| format!("certificate {} is not usable: {e}", index + 1))?;
        let certificate = reqwest::Certificate::from_der(&der)
            .map_err(|e| format!("certificate {}: {e}", index + 1))?;
        roots.push(certificate);
    }
    if roots.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_string());
    }
    Ok(roots)
}

pub(crate) fn read_pem_roots(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
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

fn rustls_cause<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    // rustls' error arrives wrapped in io::Errors, whose `source()` skips
    // the error they wrap.
    let next = match err.downcast_ref::<std::io::Error>() {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn Error + 'static)),
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
        assert!(err.contains("no PEM certificate"), "{err}");
        let err =
            parse_pem_roots(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err();
        assert!(err.contains("certificate 1 is not usable"), "{err}");
    }

    #[test]
    fn unreadable_files_say_why() {
        let err = read_pem_roots(Path::new("/nonexistent/utoo-ca.pem")).unwrap_err();
        assert!(err.contains("cannot be read"), "{err}");
    }
}
