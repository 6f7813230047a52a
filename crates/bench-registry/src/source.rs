//! Serving a snapshot: a [`DocumentSource`] that reads packuments and
//! tarballs from the snapshot folder per request, answering with the
//! abbreviated packument when `Accept` asks for it and pointing tarball
//! URLs at the serving address.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use utoo_test_registry::{Document, DocumentSource, Lookup, INSTALL_V1_JSON};

use crate::corgi::REGISTRY_PLACEHOLDER;
use crate::layout::{classify, Form, Layout, Target};

/// Reads a snapshot lazily; abbreviated packuments, the bulk of what
/// installers ask for, are kept in memory once served.
#[derive(Debug)]
pub struct SnapshotSource {
    layout: Layout,
    abbreviated: Mutex<HashMap<String, Bytes>>,
}

impl SnapshotSource {
    pub fn new(layout: Layout) -> Self {
        Self {
            layout,
            abbreviated: Mutex::default(),
        }
    }

    fn packument(&self, name: &str, form: Form, base_url: &str) -> Option<Bytes> {
        if form == Form::Abbreviated {
            let cached = self
                .abbreviated
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(name)
                .cloned();
            if cached.is_some() {
                return cached;
            }
        }
        let stored = std::fs::read(self.layout.packument(name, form)).ok()?;
        let text = String::from_utf8(stored).ok()?;
        let body = Bytes::from(text.replace(REGISTRY_PLACEHOLDER, base_url));
        if form == Form::Abbreviated {
            self.abbreviated
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name.to_owned(), body.clone());
        }
        Some(body)
    }
}

impl DocumentSource for SnapshotSource {
    fn load(&self, lookup: &Lookup<'_>) -> Option<Document> {
        match classify(lookup.path)? {
            Target::Tarball { relative } => std::fs::read(self.layout.tarball(relative))
                .ok()
                .map(Document::tarball),
            Target::Packument { name } if lookup.abbreviated => self
                .packument(name, Form::Abbreviated, lookup.base_url)
                .map(|body| Document::new(INSTALL_V1_JSON, body)),
            Target::Packument { name } => self
                .packument(name, Form::Full, lookup.base_url)
                .map(Document::json),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_both_forms_with_the_serving_address() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let write = |path: std::path::PathBuf, body: &str| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        };
        let url = format!("{REGISTRY_PLACEHOLDER}@s/p/-/p-1.0.0.tgz");
        write(layout.packument("@s/p", Form::Full), &format!("full {url}"));
        write(
            layout.packument("@s/p", Form::Abbreviated),
            &format!("corgi {url}"),
        );
        write(layout.tarball("@s/p/-/p-1.0.0.tgz"), "tgz");
        let source = SnapshotSource::new(layout);
        let load = |path, abbreviated| {
            source.load(&Lookup {
                path,
                abbreviated,
                base_url: "http://127.0.0.1:9/",
            })
        };
        let corgi = load("/@s/p", true).unwrap();
        assert_eq!(corgi.content_type, INSTALL_V1_JSON);
        assert_eq!(
            &corgi.body[..],
            b"corgi http://127.0.0.1:9/@s/p/-/p-1.0.0.tgz"
        );
        let full = load("/@s/p", false).unwrap();
        assert_eq!(
            &full.body[..],
            b"full http://127.0.0.1:9/@s/p/-/p-1.0.0.tgz"
        );
        assert_eq!(&load("/@s/p/-/p-1.0.0.tgz", true).unwrap().body[..], b"tgz");
        assert_eq!(load("/@s/q", true), None);
        assert_eq!(load("/../x", true), None);
    }
}
