//! The dependency closure a snapshot must hold so that every installer
//! finds what it asks for. Installers differ in the version they pick for a
//! range: npm and utoo take the `latest` tag when it satisfies (and prefer
//! non-deprecated, engine-compatible versions), bun and pnpm the highest
//! match. So every policy's pick is included, and the dependencies,
//! optional dependencies and peer dependencies of every included version
//! are followed.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use nodejs_semver::{Range, Version};
use utoo_npm_types::Spec;

use crate::model::{PackageDoc, VersionInfo};

/// One dependency to satisfy: a registry name and the raw spec asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Edge {
    pub name: String,
    pub spec: String,
}

impl Edge {
    pub fn new(name: &str, spec: &str) -> Self {
        Self {
            name: name.to_owned(),
            spec: spec.to_owned(),
        }
    }
}

/// The registry edge behind a dependency entry: `npm:` aliases point at
/// another name; git, URL and path specs are not in any registry (`None`).
pub fn registry_edge(name: &str, spec: &str) -> Option<Edge> {
    let trimmed = spec.trim();
    if let Some(aliased) = trimmed.strip_prefix("npm:") {
        let (target, range) = split_name_and_range(aliased);
        return Some(Edge::new(
            target,
            if range.is_empty() { "*" } else { range },
        ));
    }
    // Folders, tarballs and git repositories aren't in a registry.
    match Spec::parse(name, trimmed) {
        Ok(Spec::Range(_) | Spec::Tag(_)) => Some(Edge::new(name, trimmed)),
        _ => None,
    }
}

/// `@scope/name@^1` → (`@scope/name`, `^1`); `name` → (`name`, ``).
fn split_name_and_range(aliased: &str) -> (&str, &str) {
    let search_from = usize::from(aliased.starts_with('@'));
    match aliased[search_from..].find('@') {
        Some(at) => {
            let at = at + search_from;
            (&aliased[..at], &aliased[at + 1..])
        }
        None => (aliased, ""),
    }
}

/// Every dependency an installer may follow from `manifest`: regular,
/// optional and peer (installers that auto-install peers fetch them).
pub fn manifest_edges(manifest: &VersionInfo) -> impl Iterator<Item = (&str, &str)> {
    manifest
        .dependencies
        .iter()
        .chain(&manifest.optional_dependencies)
        .chain(&manifest.peer_dependencies)
        .map(|(name, spec)| (name.as_str(), spec.as_str()))
}

/// The versions some installer may pick for `spec`: the `latest` tag when it
/// satisfies, the highest match, the highest non-deprecated match and the
/// best match by npm's ranking (engine-compatible, then non-deprecated,
/// then highest). Prereleases match only ranges that name one.
pub fn candidates<'p>(
    packument: &'p PackageDoc,
    spec: &Spec,
    node: Option<&Version>,
) -> Vec<&'p VersionInfo> {
    let range = match spec {
        Spec::Tag(tag) => {
            return packument
                .dist_tags
                .get(tag)
                .and_then(|version| packument.versions.get(version))
                .into_iter()
                .collect();
        }
        Spec::Alias { spec, .. } => return candidates(packument, spec, node),
        Spec::Range(range) => range,
        // Not registry versions: nothing to pick from a packument.
        Spec::Directory(_) | Spec::TarballFile(_) | Spec::TarballUrl(_) | Spec::Git(_) => {
            return Vec::new()
        }
    };
    let is_star = *range == Range::any();
    let mut picks: Vec<&VersionInfo> = Vec::new();
    let latest = packument
        .dist_tags
        .get("latest")
        .and_then(|version| packument.versions.get(version));
    if let Some(latest) = latest {
        if is_star || Version::parse(&latest.version).is_ok_and(|v| range.satisfies(&v)) {
            picks.push(latest);
        }
    }
    let matching: Vec<(Version, &VersionInfo)> = packument
        .versions
        .values()
        .filter_map(|m| Version::parse(&m.version).ok().map(|v| (v, m)))
        .filter(|(version, _)| range.satisfies(version))
        .collect();
    let highest = matching.iter().max_by(|a, b| a.0.cmp(&b.0));
    let highest_live = matching
        .iter()
        .filter(|(_, m)| !m.deprecated)
        .max_by(|a, b| a.0.cmp(&b.0));
    let best_ranked = matching.iter().max_by(|(va, a), (vb, b)| {
        let rank = |m: &VersionInfo| (engine_ok(m, node), !m.deprecated);
        rank(a).cmp(&rank(b)).then_with(|| va.cmp(vb))
    });
    for (_, manifest) in [highest, highest_live, best_ranked].into_iter().flatten() {
        if !picks
            .iter()
            .any(|picked| picked.version == manifest.version)
        {
            picks.push(manifest);
        }
    }
    picks
}

fn engine_ok(manifest: &VersionInfo, node: Option<&Version>) -> bool {
    let (Some(node), Some(wanted)) = (node, manifest.node_engine.as_deref()) else {
        return true;
    };
    Range::parse(wanted).map_or(true, |range| range.satisfies_with_prerelease(node, true))
}

/// The closure computed so far. Feed it packuments as they arrive:
/// [`Closure::expand`] follows every edge whose packument is known and
/// returns the names it still needs.
#[derive(Debug, Default)]
pub struct Closure {
    node: Option<Version>,
    pending: Vec<Edge>,
    seen: HashSet<Edge>,
    versions: BTreeMap<String, BTreeSet<String>>,
    unavailable: BTreeSet<String>,
    unsatisfied: BTreeSet<Edge>,
    skipped: BTreeSet<Edge>,
}

impl Closure {
    /// Starts from the root's dependency entries (all kinds), picking with
    /// `node` as the running Node.js version for `engines` checks.
    pub fn new<'a>(
        roots: impl IntoIterator<Item = (&'a str, &'a str)>,
        node: Option<Version>,
    ) -> Self {
        let mut closure = Closure {
            node,
            ..Closure::default()
        };
        for (name, spec) in roots {
            closure.push(name, spec);
        }
        closure
    }

    fn push(&mut self, name: &str, spec: &str) {
        match registry_edge(name, spec) {
            Some(edge) => {
                if self.seen.insert(edge.clone()) {
                    self.pending.push(edge);
                }
            }
            None => {
                self.skipped.insert(Edge::new(name, spec));
            }
        }
    }

    /// Follows pending edges whose packument `lookup` has, until only edges
    /// to unknown names are left; returns those names (sorted, distinct),
    /// empty when the closure is complete.
    pub fn expand<'p>(&mut self, lookup: impl Fn(&str) -> Option<&'p PackageDoc>) -> Vec<String> {
        let mut waiting = Vec::new();
        while let Some(edge) = self.pending.pop() {
            if self.unavailable.contains(&edge.name) {
                continue;
            }
            let Some(packument) = lookup(&edge.name) else {
                waiting.push(edge);
                continue;
            };
            let Ok(spec) = Spec::parse(&edge.name, &edge.spec) else {
                self.skipped.insert(edge);
                continue;
            };
            let picks = candidates(packument, &spec, self.node.as_ref());
            if picks.is_empty() {
                self.unsatisfied.insert(edge.clone());
            }
            for manifest in picks {
                let added = self
                    .versions
                    .entry(edge.name.clone())
                    .or_default()
                    .insert(manifest.version.clone());
                if added {
                    for (name, spec) in manifest_edges(manifest) {
                        self.push(name, spec);
                    }
                }
            }
        }
        let missing: BTreeSet<String> = waiting.iter().map(|edge| edge.name.clone()).collect();
        self.pending = waiting;
        missing.into_iter().collect()
    }

    /// Names whose packument could not be fetched; their edges are dropped.
    pub fn mark_unavailable(&mut self, name: &str) {
        self.unavailable.insert(name.to_owned());
    }

    /// Every included version, by name.
    pub fn versions(&self) -> &BTreeMap<String, BTreeSet<String>> {
        &self.versions
    }

    pub fn unavailable(&self) -> &BTreeSet<String> {
        &self.unavailable
    }

    /// Edges no published version satisfies.
    pub fn unsatisfied(&self) -> &BTreeSet<Edge> {
        &self.unsatisfied
    }

    /// Edges that are not registry specs (git, URLs, paths) or do not parse.
    pub fn skipped(&self) -> &BTreeSet<Edge> {
        &self.skipped
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A published version in tests: (version, dependencies, deprecated).
    type TestVersion<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);

    fn packument(name: &str, latest: &str, versions: &[TestVersion<'_>]) -> PackageDoc {
        PackageDoc {
            name: name.into(),
            dist_tags: BTreeMap::from([("latest".to_owned(), latest.to_owned())]),
            versions: versions
                .iter()
                .map(|(version, deps, deprecated)| {
                    let manifest = VersionInfo {
                        version: (*version).into(),
                        dependencies: deps
                            .iter()
                            .map(|(n, r)| ((*n).to_owned(), (*r).to_owned()))
                            .collect(),
                        deprecated: *deprecated,
                        ..VersionInfo::default()
                    };
                    ((*version).to_owned(), manifest)
                })
                .collect(),
        }
    }

    fn run(closure: &mut Closure, registry: &HashMap<String, PackageDoc>) {
        loop {
            let missing = closure.expand(|name| registry.get(name));
            if missing.is_empty() {
                return;
            }
            for name in missing {
                assert!(!registry.contains_key(&name));
                closure.mark_unavailable(&name);
            }
        }
    }

    fn included(closure: &Closure, name: &str) -> Vec<String> {
        closure.versions()[name].iter().cloned().collect()
    }

    #[test]
    fn both_policies_are_included_and_followed() {
        let registry: HashMap<String, PackageDoc> = [
            packument(
                "a",
                "1.1.0",
                &[
                    ("1.0.0", &[], false),
                    ("1.1.0", &[("b", "^1")], false),
                    ("1.2.0", &[("c", "^2")], false),
                    ("1.3.0-beta.1", &[], false),
                ],
            ),
            packument(
                "b",
                "1.0.0",
                &[("1.0.0", &[], false), ("2.0.0", &[], false)],
            ),
            packument("c", "2.0.0", &[("2.0.0", &[], false)]),
        ]
        .into_iter()
        .map(|p| (p.name.clone(), p))
        .collect();
        let mut closure = Closure::new([("a", "^1.0.0")], None);
        run(&mut closure, &registry);
        assert_eq!(included(&closure, "a"), ["1.1.0", "1.2.0"]);
        assert_eq!(included(&closure, "b"), ["1.0.0"]);
        assert_eq!(included(&closure, "c"), ["2.0.0"]);
        assert!(closure.unavailable().is_empty());
    }

    #[test]
    fn deprecated_highest_adds_the_best_live_version() {
        let registry: HashMap<String, PackageDoc> = [packument(
            "d",
            "1.0.0",
            &[
                ("1.0.0", &[], false),
                ("1.1.0", &[], false),
                ("1.2.0", &[], true),
            ],
        )]
        .into_iter()
        .map(|p| (p.name.clone(), p))
        .collect();
        let mut closure = Closure::new([("d", "^1")], None);
        run(&mut closure, &registry);
        assert_eq!(included(&closure, "d"), ["1.0.0", "1.1.0", "1.2.0"]);
    }

    #[test]
    fn peers_optionals_aliases_and_misses() {
        let mut host = packument("host", "1.0.0", &[("1.0.0", &[], false)]);
        if let Some(manifest) = host.versions.get_mut("1.0.0") {
            manifest
                .peer_dependencies
                .insert("peer".into(), "^2".into());
            manifest
                .optional_dependencies
                .insert("gone".into(), "^1".into());
            manifest
                .dependencies
                .insert("cjs".into(), "npm:@s/real@^3".into());
            manifest
                .dependencies
                .insert("git".into(), "github:user/repo".into());
        }
        let registry: HashMap<String, PackageDoc> = [
            host,
            packument("peer", "2.0.0", &[("2.0.0", &[], false)]),
            packument("@s/real", "3.0.0", &[("3.0.0", &[], false)]),
        ]
        .into_iter()
        .map(|p| (p.name.clone(), p))
        .collect();
        let mut closure = Closure::new([("host", "latest")], None);
        run(&mut closure, &registry);
        assert_eq!(included(&closure, "peer"), ["2.0.0"]);
        assert_eq!(included(&closure, "@s/real"), ["3.0.0"]);
        assert!(closure.unavailable().contains("gone"));
        assert_eq!(
            closure.skipped().iter().collect::<Vec<_>>(),
            [&Edge::new("git", "github:user/repo")]
        );
    }

    #[test]
    fn prereleases_only_for_ranges_naming_one() {
        let p = packument(
            "p",
            "1.0.0",
            &[("1.0.0", &[], false), ("1.1.0-beta.1", &[], false)],
        );
        let pick = |spec: &str| -> Vec<String> {
            let spec = Spec::parse("p", spec).unwrap();
            candidates(&p, &spec, None)
                .into_iter()
                .map(|m| m.version.clone())
                .collect()
        };
        assert_eq!(pick("^1.0.0"), ["1.0.0"]);
        assert_eq!(pick(">=1.1.0-beta.0"), ["1.1.0-beta.1"]);
        assert_eq!(pick("^2"), Vec::<String>::new());
    }

    #[test]
    fn alias_specs_split_at_the_version_at() {
        assert_eq!(
            registry_edge("x", "npm:@s/real@^3"),
            Some(Edge::new("@s/real", "^3"))
        );
        assert_eq!(
            registry_edge("x", "npm:plain"),
            Some(Edge::new("plain", "*"))
        );
        assert_eq!(registry_edge("x", "file:../x"), None);
    }
}
