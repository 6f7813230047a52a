//! What the server serves: request path → document. Fixtures fill it through
//! [`crate::TestRegistry`]; other tools (a benchmark's snapshot of real
//! packuments and tarballs) can fill one and serve it with [`crate::Server`].

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use bytes::Bytes;

pub const JSON: &str = "application/json";
/// npm's abbreviated ("corgi") packument type, sent back when a client asks
/// for it in `Accept` and the document is JSON.
pub const INSTALL_V1_JSON: &str = "application/vnd.npm.install-v1+json";
pub const OCTET_STREAM: &str = "application/octet-stream";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub content_type: String,
    pub body: Bytes,
}

impl Document {
    pub fn new(content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            content_type: content_type.to_owned(),
            body: body.into(),
        }
    }

    pub fn json(body: impl Into<Bytes>) -> Self {
        Self::new(JSON, body)
    }

    pub fn tarball(body: impl Into<Bytes>) -> Self {
        Self::new(OCTET_STREAM, body)
    }
}

/// Documents keyed by canonical path, shareable with a running server:
/// insertions are visible to the next request.
#[derive(Debug, Default)]
pub struct Store {
    documents: RwLock<HashMap<String, Document>>,
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// `path` is canonicalised like request targets, so `/@scope%2fpkg` and
    /// `/@scope/pkg` name the same document.
    pub fn insert(&self, path: &str, document: Document) {
        self.documents
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(canonical_path(path), document);
    }

    pub fn get(&self, path: &str) -> Option<Document> {
        self.documents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&canonical_path(path))
            .cloned()
    }

    pub fn len(&self) -> usize {
        self.documents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FromIterator<(String, Document)> for Store {
    fn from_iter<I: IntoIterator<Item = (String, Document)>>(documents: I) -> Self {
        let store = Store::new();
        for (path, document) in documents {
            store.insert(&path, document);
        }
        store
    }
}

/// The path part of a request target, percent-decoded: clients spell scoped
/// packuments `/@scope%2fname`, `/@scope%2Fname` or `/@scope/name`.
pub(crate) fn canonical_path(target: &str) -> String {
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = bytes
            .get(index + 1..index + 3)
            .filter(|_| bytes[index] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_path_decodes_escapes_and_drops_query() {
        assert_eq!(canonical_path("/@scope%2fpkg"), "/@scope/pkg");
        assert_eq!(canonical_path("/@scope%2Fpkg"), "/@scope/pkg");
        assert_eq!(canonical_path("/%40scope%2Fpkg?write=true"), "/@scope/pkg");
        assert_eq!(canonical_path("/bad%zz%"), "/bad%zz%");
        assert_eq!(canonical_path("/invalid%ff"), "/invalid%ff");
    }

    #[test]
    fn lookups_use_canonical_paths() {
        let store: Store = [("/@s/p".to_owned(), Document::json("{}"))]
            .into_iter()
            .collect();
        assert_eq!(store.get("/@s%2fp"), Some(Document::json("{}")));
        assert_eq!(store.get("/@s%2Fp"), Some(Document::json("{}")));
        assert_eq!(store.get("/other"), None);
        assert_eq!(store.len(), 1);
        assert!(!store.is_empty());
    }
}
