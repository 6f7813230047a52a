//! Builds npm's hoisted ideal tree, following arborist's build-ideal-tree:
//! the shallowest pending node is handled next, its problem edges are
//! loaded (with their peer sets), then each dependency is placed as high as
//! it goes without a conflict.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use futures::future::join_all;
use utoo_npm_types::Manifest;

use crate::edge::Edge;
use crate::error::ResolveError;
use crate::load::{DepBundle, Loader, ManifestSource};
use crate::local::LocalPackage;
use crate::place::{Followups, PlaceDep, Placer};
use crate::queue::{problem_edges, Queue, SkippedOptional};
use crate::tree::{NodeId, Tree};
use crate::warning::Warning;

pub struct BuildOptions {
    pub legacy_peer_deps: bool,
    /// The project's folder, where `file:` folders are read.
    pub project_dir: PathBuf,
}

/// The tree builder's state while it works.
pub struct TreeBuilder<'s, S> {
    tree: Tree,
    loader: Loader<'s, S>,
    queue: Queue,
    /// Workspaces and linked folders inside the project, handled once the
    /// queue is empty (arborist's resolveLinks), each once.
    pending_tops: Vec<NodeId>,
    seen_tops: HashSet<NodeId>,
    skipped: SkippedOptional,
    warnings: Vec<Warning>,
    /// Packages placed since the last [`TreeBuilder::take_placed`].
    placed: Vec<Arc<Manifest>>,
    /// Bundlers whose tarball was read, each once (a bundle may lack every
    /// name it lists).
    opened: HashSet<NodeId>,
}

impl<'s, S: ManifestSource> TreeBuilder<'s, S> {
    /// Starts from `tree` (just the root, or the tree a lockfile describes).
    pub fn new(tree: Tree, source: &'s S, options: BuildOptions) -> Self {
        TreeBuilder {
            tree,
            loader: Loader {
                source,
                legacy_peer_deps: options.legacy_peer_deps,
                project_dir: options.project_dir,
            },
            queue: Queue::default(),
            pending_tops: Vec::new(),
            seen_tops: HashSet::new(),
            skipped: SkippedOptional::default(),
            warnings: Vec::new(),
            placed: Vec::new(),
            opened: HashSet::new(),
        }
    }

    /// Queues every node of the starting tree that has a problem edge.
    pub fn start(&mut self) {
        let with_problems: Vec<NodeId> = self
            .tree
            .live()
            .filter(|&id| {
                self.tree.needs_bundle(id)
                    || !problem_edges(&self.tree, id, &self.skipped).is_empty()
            })
            .collect();
        for id in with_problems {
            match &self.tree.node(id).top {
                Some(_) => self.pending_tops.push(id),
                None => self.queue.push(&self.tree, id),
            }
        }
    }

    /// Handles the next pending node; `false` once the tree is complete.
    pub async fn step(&mut self) -> Result<bool, ResolveError> {
        if self.queue.is_empty() {
            self.queue_folders_inside();
        }
        let Some(id) = self.queue.pop() else {
            return Ok(false);
        };
        if !self.tree.node(id).removed {
            self.build_node(id).await?;
        }
        Ok(true)
    }

    /// Packages placed since the last call, so their downloads can start.
    pub fn take_placed(&mut self) -> Vec<Arc<Manifest>> {
        std::mem::take(&mut self.placed)
    }

    /// The tree as built so far, and what to warn about.
    pub fn into_parts(self) -> (Tree, Vec<Warning>) {
        (self.tree, self.warnings)
    }

    /// Runs [`TreeBuilder::step`] until the tree is complete.
    pub async fn build(mut self) -> Result<(Tree, Vec<Warning>), ResolveError> {
        self.start();
        while self.step().await? {}
        Ok(self.into_parts())
    }

    /// Queues the folders inside the project that were linked to, each once.
    fn queue_folders_inside(&mut self) {
        for top in std::mem::take(&mut self.pending_tops) {
            let inside = self
                .tree
                .node(top)
                .top
                .as_ref()
                .is_some_and(LocalPackage::is_inside);
            if inside && self.seen_tops.insert(top) {
                self.queue.push(&self.tree, top);
            }
        }
    }

    async fn build_node(&mut self, id: NodeId) -> Result<(), ResolveError> {
        if self.tree.needs_bundle(id) && self.opened.insert(id) {
            self.open_bundle(id).await?;
        }
        let problems = problem_edges(&self.tree, id, &self.skipped);
        if problems.is_empty() {
            return Ok(());
        }
        let dependent = self.tree.describe(id);
        let loads = problems
            .iter()
            .map(|edge| self.loader.load(&self.tree, id, edge, &dependent));
        let bundles = join_all(loads).await;
        for (edge, bundle) in problems.iter().zip(bundles) {
            if self.tree.node(id).removed {
                break;
            }
            if self.tree.edge_target_valid(id, edge) == Some(true) {
                continue;
            }
            match bundle {
                Ok(bundle) => self.place(id, edge, &bundle)?,
                Err(error) if edge.kind.is_optional() => {
                    self.warnings.push(Warning::OptionalSkipped {
                        name: edge.name.clone(),
                        error,
                    });
                    self.skipped.insert(id, &edge.name);
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Puts what the package at `id` ships in its tarball under its
    /// `node_modules`, as the tarball has it (arborist reads the extracted
    /// bundler with loadActual).
    async fn open_bundle(&mut self, id: NodeId) -> Result<(), ResolveError> {
        let bundler = self.tree.node(id).manifest.clone();
        let packages = self.loader.source.bundle(&bundler).await?;
        // npm installs nothing for a listed dependency its bundle lacks.
        let missing: Vec<String> = bundler
            .bundled_names()
            .into_iter()
            .filter(|name| self.tree.node(id).edge(name).is_some())
            .filter(|name| !packages.iter().any(|p| p.names == [name.as_str()]))
            .collect();
        if !missing.is_empty() {
            self.warnings.push(Warning::BundleMissing {
                package: format!("{}@{}", bundler.name, bundler.version),
                names: missing,
            });
        }
        for package in packages.iter() {
            let Some((name, path)) = package.names.split_last() else {
                continue;
            };
            let parent = path.iter().try_fold(id, |at, folder| {
                self.tree.node(at).children.get(folder).copied()
            });
            if let Some(parent) = parent {
                let manifest = Arc::new(package.manifest.clone());
                self.tree
                    .add_bundled(parent, name, manifest, self.loader.legacy_peer_deps);
            }
        }
        Ok(())
    }

    /// Places `bundle` for `from`'s `edge`, then follows up on what changed.
    fn place(&mut self, from: NodeId, edge: &Edge, bundle: &DepBundle) -> Result<(), ResolveError> {
        let request = PlaceDep::new(&self.tree, from, edge, bundle);
        let mut placer = Placer {
            tree: &mut self.tree,
            skipped: &self.skipped,
            legacy_peer_deps: self.loader.legacy_peer_deps,
            followups: Followups::default(),
        };
        placer.place(&request)?;
        let followups = placer.followups;
        for id in followups.to_build {
            self.queue.push(&self.tree, id);
        }
        self.pending_tops.extend(followups.folders);
        self.placed.extend(followups.manifests);
        self.warnings.extend(followups.warnings);
        Ok(())
    }
}
