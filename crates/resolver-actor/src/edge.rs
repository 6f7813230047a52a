//! Dependencies as the tree sees them: one edge per name a package
//! declares, with its kind, its spec (after overrides) and npm's dep-valid.

use std::collections::BTreeMap;

use utoo_npm_types::{is_full_commit, GitReference, Manifest, Spec};

use crate::overrides::{Overrides, RuleId, ROOT_RULES};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Prod,
    Dev,
    Optional,
    Peer,
    PeerOptional,
}

impl EdgeKind {
    pub fn is_peer(self) -> bool {
        matches!(self, EdgeKind::Peer | EdgeKind::PeerOptional)
    }

    pub fn is_optional(self) -> bool {
        matches!(self, EdgeKind::Optional | EdgeKind::PeerOptional)
    }
}

/// One dependency a node declares.
#[derive(Debug, Clone)]
pub struct Edge {
    pub name: String,
    pub raw_spec: String,
    pub kind: EdgeKind,
    /// `None` when the spec is invalid or of a kind not supported yet.
    spec: Option<Spec>,
    /// For a folder or tarball on disk: its path from the project's folder.
    local: Option<String>,
    /// The override rules in force for the package this edge leads to.
    pub rule: RuleId,
    /// The spec an override gives this edge instead of `raw_spec`.
    overridden: Option<String>,
}

impl Edge {
    pub fn new(name: &str, raw_spec: &str, kind: EdgeKind) -> Edge {
        Edge {
            name: name.to_string(),
            raw_spec: raw_spec.to_string(),
            kind,
            spec: Spec::parse(name, raw_spec).ok(),
            local: None,
            rule: ROOT_RULES,
            overridden: None,
        }
    }

    /// Applies the overrides in force for the package declaring this edge.
    pub(crate) fn overridden_by(mut self, overrides: &Overrides, set: RuleId) -> Edge {
        if overrides.is_empty() {
            return self;
        }
        self.rule = overrides.edge_rule(set, &self.name, &self.raw_spec);
        self.overridden = overrides
            .spec_for(self.rule, &self.name)
            .map(str::to_string);
        let effective = self.overridden.as_deref().unwrap_or(&self.raw_spec);
        self.spec = Spec::parse(&self.name, effective).ok();
        self
    }

    /// Whether the spec names a folder or tarball on this machine.
    pub fn is_local(&self) -> bool {
        matches!(self.spec, Some(Spec::Directory(_) | Spec::TarballFile(_)))
    }

    /// Resolves a path spec against the folder of the package declaring it
    /// (`base`, relative to the project), as npm does; an override's path
    /// against the project's folder, where it was written.
    pub(crate) fn declared_in(mut self, base: &str) -> Edge {
        let base = if self.overridden.is_some() { "" } else { base };
        if let Some(Spec::Directory(path) | Spec::TarballFile(path)) = &self.spec {
            self.local = Some(join_location(base, path));
        }
        self
    }

    /// Whether an override replaced the declared spec.
    pub fn is_overridden(&self) -> bool {
        self.overridden.is_some()
    }

    /// The spec an override gave this edge, if one did.
    pub fn overridden_spec(&self) -> Option<&str> {
        self.overridden.as_deref()
    }

    /// The spec to ask a manifest source for: the override's if any, paths
    /// made relative to the project.
    pub fn source_spec(&self) -> String {
        match (&self.local, &self.overridden) {
            (Some(location), _) => format!("file:{location}"),
            (None, Some(spec)) => spec.clone(),
            (None, None) => self.raw_spec.clone(),
        }
    }

    /// The folder this edge links to, if it names one.
    pub fn directory(&self) -> Option<&str> {
        match self.spec {
            Some(Spec::Directory(_)) => self.local.as_deref(),
            _ => None,
        }
    }

    /// npm's dep-valid for registry specs: `*` and `""` accept anything,
    /// tags accept any registry package, ranges use loose semver, and an
    /// alias needs the package it names.
    pub fn accepts(&self, package: &Manifest) -> bool {
        let raw = self.overridden.as_deref().unwrap_or(&self.raw_spec).trim();
        if raw.is_empty() || raw == "*" {
            return true;
        }
        match &self.spec {
            Some(Spec::Tag(_)) => true,
            Some(Spec::Alias { name, spec }) => {
                *name == package.name
                    && (matches!(**spec, Spec::Tag(_)) || spec.accepts(&package.version))
            }
            Some(Spec::Directory(_) | Spec::TarballFile(_)) => {
                self.local.as_ref().is_some_and(|location| {
                    package.dist.tarball.strip_prefix("file:") == Some(location)
                })
            }
            Some(Spec::TarballUrl(url)) => package.dist.tarball == *url,
            Some(Spec::Git(git)) => {
                let Some(commit) = package
                    .dist
                    .tarball
                    .strip_prefix(git.repository.as_str())
                    .and_then(|rest| rest.strip_prefix('#'))
                else {
                    return false;
                };
                match &git.reference {
                    GitReference::Named(named) if is_full_commit(named) => {
                        commit.eq_ignore_ascii_case(named)
                    }
                    GitReference::Semver(range) => {
                        Spec::Range(range.clone()).accepts(&package.version)
                    }
                    _ => true,
                }
            }
            Some(spec) => spec.accepts(&package.version),
            None => false,
        }
    }
}

/// `base/path` with `.` and `..` worked out, relative to the project (an
/// absolute `path` stays absolute).
fn join_location(base: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let absolute = path.starts_with('/');
    let start = if absolute { "" } else { base };
    for part in start.split('/').chain(path.split('/')) {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// The edges npm gives a package: peers (unless legacy), then dependencies,
/// then optional ones; a name listed twice keeps the kind loaded last.
pub(crate) fn package_edges(
    manifest: &Manifest,
    dev: Option<&BTreeMap<String, String>>,
    legacy_peer_deps: bool,
) -> Vec<Edge> {
    let mut by_name: BTreeMap<String, Edge> = BTreeMap::new();
    let mut add = |deps: &BTreeMap<String, String>, kind: &dyn Fn(&str) -> EdgeKind| {
        for (name, spec) in deps {
            by_name.insert(name.clone(), Edge::new(name, spec, kind(name)));
        }
    };
    if !legacy_peer_deps {
        add(&manifest.peer_dependencies, &|name| {
            if manifest.is_optional_peer(name) {
                EdgeKind::PeerOptional
            } else {
                EdgeKind::Peer
            }
        });
    }
    add(&manifest.dependencies, &|_| EdgeKind::Prod);
    add(&manifest.optional_dependencies, &|_| EdgeKind::Optional);
    if let Some(dev) = dev {
        add(dev, &|_| EdgeKind::Dev);
    }
    by_name.into_values().collect()
}
