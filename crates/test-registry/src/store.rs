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

/// What a [`DocumentSource`] is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup<'a> {
    /// The canonical request path (`/@scope/name`, `/name/-/name-1.0.0.tgz`).
    pub path: &'a str,
    /// Whether the request's `Accept` asks for the abbreviated
    /// (`application/vnd.npm.install-v1+json`) packument.
    pub abbreviated: bool,
    /// Where the serving [`crate::Server`] is reachable,
    /// `http://127.0.0.1:<port>/`, for documents that point back at it.
    pub base_url: &'a str,
}

/// Documents produced per request instead of held in a [`Store`], e.g. a
/// benchmark's snapshot read from disk. A source may answer with
/// [`INSTALL_V1_JSON`] to serve the abbreviated form it was asked for.
pub trait DocumentSource: Send + Sync {
    fn load(&self, lookup: &Lookup<'_>) -> Option<Document>;
}

/// Documents keyed by canonical path, shareable with a running server:
/// insertions are visible to the next request. Paths it does not hold are
/// looked up in its [`DocumentSource`], if it has one.
#[derive(Default)]
pub struct Store {
    documents: RwLock<HashMap<String, Document>>,
    source: Option<Box<dyn DocumentSource>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("documents", &self.len())
            .field("has_source", &self.source.is_some())
            .finish()
    }
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that asks `source` for every path it does not hold.
    pub fn with_source(source: impl DocumentSource + 'static) -> Self {
        Self {
            documents: RwLock::default(),
            source: Some(Box::new(source)),
        }
    }

    /// The document a request gets: the one held at `lookup.path`, else the
    /// source's answer.
    pub fn lookup(&self, lookup: &Lookup<'_>) -> Option<Document> {
        let path = canonical_path(lookup.path);
        if let Some(document) = self.get(&path) {
            return Some(document);
        }
        let source = self.source.as_ref()?;
        source.load(&Lookup {
            path: &path,
            ..*lookup
        })
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

    struct Echo;

    impl DocumentSource for Echo {
        fn load(&self, lookup: &Lookup<'_>) -> Option<Document> {
            let kind = if lookup.abbreviated { "short" } else { "full" };
            Some(Document::json(format!(
                "{}|{}|{}",
                lookup.path, kind, lookup.base_url
            )))
        }
    }

    #[test]
    fn sources_answer_what_the_store_does_not_hold() {
        let store = Store::with_source(Echo);
        store.insert("/held", Document::json("held"));
        let lookup = |path, abbreviated| {
            store.lookup(&Lookup {
                path,
                abbreviated,
                base_url: "http://r/",
            })
        };
        assert_eq!(lookup("/held", true), Some(Document::json("held")));
        assert_eq!(
            lookup("/@s%2fp", true),
            Some(Document::json("/@s/p|short|http://r/"))
        );
        assert_eq!(
            lookup("/x", false),
            Some(Document::json("/x|full|http://r/"))
        );
        assert_eq!(
            Store::new().lookup(&Lookup {
                path: "/x",
                abbreviated: false,
                base_url: ""
            }),
            None
        );
    }
}
