//! Loading what a node's problem edge asks for: a `file:` folder, or a
//! package with the peers it brings along (arborist's loadPeerSet).

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use utoo_npm_collate::compare;
use utoo_npm_types::{validate_package_name, Manifest};

use crate::bundle::BundledPackage;
use crate::edge::{Edge, EdgeKind};
use crate::error::ResolveError;
use crate::local::{FolderError, LocalPackage};
use crate::tree::{NodeId, Tree, ROOT};

/// Where the builder gets the manifest a spec selects.
pub trait ManifestSource {
    fn pick(
        &self,
        name: &str,
        spec: &str,
        dependent: &str,
    ) -> impl Future<Output = Result<Arc<Manifest>, ResolveError>>;

    /// The packages `bundler` ships under its tarball's `node_modules`,
    /// parents first.
    fn bundle(
        &self,
        bundler: &Manifest,
    ) -> impl Future<Output = Result<Arc<Vec<BundledPackage>>, ResolveError>>;
}

/// A dependency about to be placed, with the peers that must come along.
#[derive(Debug, Clone)]
pub(crate) struct DepBundle {
    pub manifest: Arc<Manifest>,
    pub peers: Vec<DepBundle>,
    /// For a `file:` folder: placed as a link to it.
    pub folder: Option<LocalPackage>,
}

impl DepBundle {
    /// The package without peers.
    pub(crate) fn alone(manifest: Arc<Manifest>) -> DepBundle {
        DepBundle {
            manifest,
            peers: Vec::new(),
            folder: None,
        }
    }

    pub(crate) fn peer(&self, name: &str) -> Option<&DepBundle> {
        self.peers.iter().find(|p| p.manifest.name == name)
    }
}

/// Loads packages for the tree builder.
pub(crate) struct Loader<'s, S> {
    pub source: &'s S,
    pub legacy_peer_deps: bool,
    /// The project's folder, where `file:` folders are read.
    pub project_dir: PathBuf,
}

impl<S: ManifestSource> Loader<'_, S> {
    /// What `from`'s `edge` asks for; `dependent` describes `from`.
    pub(crate) async fn load(
        &self,
        tree: &Tree,
        from: NodeId,
        edge: &Edge,
        dependent: &str,
    ) -> Result<DepBundle, ResolveError> {
        // Paths on this machine are the project's to name, not a downloaded package's.
        let may_use_paths = from == ROOT || tree.node(from).top.is_some();
        if edge.is_local() && !may_use_paths && !edge.is_overridden() {
            return Err(ResolveError::LocalPathFromPackage {
                name: edge.name.clone(),
                spec: edge.raw_spec.clone(),
                dependent: dependent.to_string(),
            });
        }
        match edge.directory() {
            Some(location) => {
                let folder = self.folder(tree, &edge.name, location, dependent)?;
                Ok(DepBundle {
                    folder: Some(folder.clone()),
                    ..DepBundle::alone(folder.manifest)
                })
            }
            None => {
                self.with_peers(edge, &tree.node(from).edges, dependent)
                    .await
            }
        }
    }

    /// The package in a `file:` folder: the tree's node for it, else read from disk.
    fn folder(
        &self,
        tree: &Tree,
        name: &str,
        location: &str,
        dependent: &str,
    ) -> Result<LocalPackage, ResolveError> {
        validate_package_name(name).map_err(|source| ResolveError::InvalidName {
            dependent: dependent.to_string(),
            source,
        })?;
        if location.is_empty() {
            return Err(ResolveError::LocalPackage {
                path: format!("file:{location}"),
                source: FolderError::LinksToProject {
                    name: name.to_string(),
                },
            });
        }
        let known = tree
            .top_at(location)
            .and_then(|id| tree.node(id).top.clone());
        match known {
            Some(folder) => Ok(folder),
            None => LocalPackage::read(&self.project_dir, location),
        }
    }

    /// Loads a dependency and, recursively, the peers it brings.
    async fn with_peers(
        &self,
        edge: &Edge,
        dependent_edges: &[Edge],
        dependent: &str,
    ) -> Result<DepBundle, ResolveError> {
        let manifest = self
            .source
            .pick(&edge.name, &edge.source_spec(), dependent)
            .await?;
        let mut bundle = DepBundle::alone(manifest);
        if self.legacy_peer_deps {
            return Ok(bundle);
        }
        let mut pending = vec![bundle.manifest.clone()];
        let mut seen: HashSet<String> = HashSet::from([edge.name.clone()]);
        while let Some(owner) = pending.pop() {
            let mut peers: Vec<(&String, &String)> = owner
                .peer_dependencies
                .iter()
                .filter(|(name, _)| !owner.is_optional_peer(name))
                .collect();
            peers.sort_by(|a, b| compare(a.0, b.0));
            for (name, spec) in peers {
                if !seen.insert(name.clone()) {
                    continue;
                }
                let manifest = self.peer(&owner, name, spec, dependent_edges).await?;
                pending.push(manifest.clone());
                bundle.peers.push(DepBundle::alone(manifest));
            }
        }
        let all_peers = bundle.peers.clone();
        for peer in &mut bundle.peers {
            peer.peers = all_peers
                .iter()
                .filter(|p| p.manifest.name != peer.manifest.name)
                .cloned()
                .collect();
        }
        Ok(bundle)
    }

    /// `owner`'s peer `name@spec`; the dependent's own edge on it is
    /// preferred when what it picks fits.
    async fn peer(
        &self,
        owner: &Manifest,
        name: &str,
        spec: &str,
        dependent_edges: &[Edge],
    ) -> Result<Arc<Manifest>, ResolveError> {
        let who = format!("{}@{} (peer)", owner.name, owner.version);
        let preferred = dependent_edges
            .iter()
            .find(|e| e.name == name && !e.kind.is_peer());
        if let Some(own) = preferred {
            let candidate = self.source.pick(name, &own.source_spec(), &who).await?;
            if Edge::new(name, spec, EdgeKind::Peer).accepts(&candidate) {
                return Ok(candidate);
            }
        }
        self.source.pick(name, spec, &who).await
    }
}
