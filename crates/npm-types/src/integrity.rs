use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum IntegrityError {
    #[error("unreadable integrity value {0:?}")]
    Malformed(String),
    #[error("integrity mismatch: expected {expected}, got {actual}")]
    Mismatch { expected: String, actual: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    fn prefix(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }
}

/// One Subresource Integrity hash, as in a packument's `dist.integrity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integrity {
    pub algorithm: Algorithm,
    pub digest: Vec<u8>,
}

impl Integrity {
    /// Parses an SRI string; when it lists several hashes the strongest is kept, as ssri does.
    pub fn parse(sri: &str) -> Result<Integrity, IntegrityError> {
        sri.split_whitespace()
            .filter_map(|part| {
                let (algo, rest) = part.split_once('-')?;
                let algorithm = match algo {
                    "sha1" => Algorithm::Sha1,
                    "sha256" => Algorithm::Sha256,
                    "sha384" => Algorithm::Sha384,
                    "sha512" => Algorithm::Sha512,
                    _ => return None,
                };
                let b64 = rest.split('?').next().unwrap_or(rest);
                let digest = STANDARD.decode(b64).ok()?;
                Some(Integrity { algorithm, digest })
            })
            .max_by_key(|i| i.algorithm)
            .ok_or_else(|| IntegrityError::Malformed(sri.to_string()))
    }

    /// Builds a `sha1-…` integrity from an old packument's hex `shasum`.
    pub fn from_sha1_hex(shasum: &str) -> Result<Integrity, IntegrityError> {
        let digest = hex::decode(shasum.trim())
            .ok()
            .filter(|d| d.len() == 20)
            .ok_or_else(|| IntegrityError::Malformed(shasum.to_string()))?;
        Ok(Integrity {
            algorithm: Algorithm::Sha1,
            digest,
        })
    }

    /// A hasher of the same algorithm, to check bytes as they stream in.
    pub fn hasher(&self) -> IntegrityHasher {
        IntegrityHasher {
            expected: self.clone(),
            state: match self.algorithm {
                Algorithm::Sha1 => HashState::Sha1(Sha1::new()),
                Algorithm::Sha256 => HashState::Sha256(Sha256::new()),
                Algorithm::Sha384 => HashState::Sha384(Sha384::new()),
                Algorithm::Sha512 => HashState::Sha512(Box::new(Sha512::new())),
            },
        }
    }

    /// The sha512 integrity of `bytes`, as npm would record it.
    pub fn sha512_of(bytes: &[u8]) -> Integrity {
        Integrity {
            algorithm: Algorithm::Sha512,
            digest: Sha512::digest(bytes).to_vec(),
        }
    }
}

impl fmt::Display for Integrity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.algorithm.prefix(),
            STANDARD.encode(&self.digest)
        )
    }
}

enum HashState {
    Sha1(Sha1),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Box<Sha512>),
}

/// Hashes a stream and compares it with the expected [`Integrity`] at the end.
pub struct IntegrityHasher {
    expected: Integrity,
    state: HashState,
}

impl IntegrityHasher {
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            HashState::Sha1(h) => h.update(bytes),
            HashState::Sha256(h) => h.update(bytes),
            HashState::Sha384(h) => h.update(bytes),
            HashState::Sha512(h) => h.update(bytes),
        }
    }

    pub fn verify(self) -> Result<(), IntegrityError> {
        let digest = match self.state {
            HashState::Sha1(h) => h.finalize().to_vec(),
            HashState::Sha256(h) => h.finalize().to_vec(),
            HashState::Sha384(h) => h.finalize().to_vec(),
            HashState::Sha512(h) => h.finalize().to_vec(),
        };
        if digest == self.expected.digest {
            return Ok(());
        }
        let actual = Integrity {
            algorithm: self.expected.algorithm,
            digest,
        };
        Err(IntegrityError::Mismatch {
            expected: self.expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_streamed_bytes() {
        let integrity = Integrity::sha512_of(b"hello world");
        let parsed = Integrity::parse(&integrity.to_string()).unwrap();
        let mut hasher = parsed.hasher();
        hasher.update(b"hello ");
        hasher.update(b"world");
        assert_eq!(hasher.verify(), Ok(()));
    }

    #[test]
    fn reports_mismatch_with_both_hashes() {
        let mut hasher = Integrity::sha512_of(b"a").hasher();
        hasher.update(b"b");
        let err = hasher.verify().unwrap_err();
        assert!(matches!(err, IntegrityError::Mismatch { .. }));
        assert!(err
            .to_string()
            .contains(&Integrity::sha512_of(b"b").to_string()));
    }

    #[test]
    fn strongest_of_several_hashes_wins() {
        let sri = format!(
            "sha1-qUqP5cyxm6YcTAhz05Hph5gvu9M= {}",
            Integrity::sha512_of(b"x")
        );
        assert_eq!(Integrity::parse(&sri).unwrap().algorithm, Algorithm::Sha512);
        assert!(Integrity::parse("md5-abc").is_err());
    }
}
