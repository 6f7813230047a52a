//! `ETag` and `Last-Modified` of served packuments, and conditional
//! requests answered with `304 Not Modified`, as the npm registry does.

use sha2::{Digest, Sha256};

use crate::http::Request;

/// The validators of one document, derived from its body: a changed
/// document gets a new `ETag` and a new `Last-Modified`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validators {
    pub(crate) etag: String,
    pub(crate) last_modified: String,
}

impl Validators {
    pub(crate) fn of(body: &[u8]) -> Validators {
        let digest = Sha256::digest(body);
        let seconds_of_day =
            u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 86_400;
        Validators {
            etag: format!("\"{}\"", hex::encode(&digest[..8])),
            last_modified: format!(
                "Mon, 30 Nov 2026 {:02}:{:02}:{:02} GMT",
                seconds_of_day / 3600,
                seconds_of_day / 60 % 60,
                seconds_of_day % 60
            ),
        }
    }

    /// Whether `request` already has this version of the document:
    /// `If-None-Match` decides when sent (RFC 9110 13.2.2), else
    /// `If-Modified-Since` (compared exactly: dates here aren't ordered).
    pub(crate) fn not_modified(&self, request: &Request) -> bool {
        match (&request.if_none_match, &request.if_modified_since) {
            (Some(tags), _) => tags
                .split(',')
                .map(|tag| tag.trim().trim_start_matches("W/"))
                .any(|tag| tag == self.etag || tag == "*"),
            (None, Some(since)) => since.trim() == self.last_modified,
            (None, None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(if_none_match: Option<&str>, if_modified_since: Option<&str>) -> Request {
        Request {
            method: "GET".into(),
            target: "/p".into(),
            keep_alive: true,
            accepts_install_v1: false,
            authorization: None,
            proxy_authorization: None,
            if_none_match: if_none_match.map(str::to_owned),
            if_modified_since: if_modified_since.map(str::to_owned),
        }
    }

    #[test]
    fn a_matching_validator_means_not_modified() {
        let v = Validators::of(b"{}");
        assert_ne!(v, Validators::of(b"{ }"));
        assert!(v.not_modified(&request(Some(&v.etag), None)));
        assert!(v.not_modified(&request(Some(&format!("W/{}, \"x\"", v.etag)), None)));
        assert!(!v.not_modified(&request(Some("\"other\""), Some(&v.last_modified))));
        assert!(v.not_modified(&request(None, Some(&v.last_modified))));
        assert!(!v.not_modified(&request(None, Some("Mon, 30 Nov 2026 00:00:00 GMT x"))));
        assert!(!v.not_modified(&request(None, None)));
    }
}
