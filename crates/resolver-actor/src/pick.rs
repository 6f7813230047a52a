//! npm-pick-manifest: which version of a packument a spec selects.

use nodejs_semver::{Range, Version};
use utoo_npm_types::{Packument, PackumentVersion, Spec};

/// Picks the version npm would install for `spec`, given the running Node.js
/// version (for `engines.node`; `None` treats every engine as compatible).
pub fn pick_manifest<'p>(
    packument: &'p Packument,
    spec: &Spec,
    node: Option<&Version>,
) -> Option<&'p PackumentVersion> {
    let range = match spec {
        Spec::Tag(tag) => return packument.version(packument.dist_tags.get(tag)?),
        Spec::Alias { spec, .. } => return pick_manifest(packument, spec, node),
        Spec::Range(range) => range,
        // Not registry versions: nothing to pick from a packument.
        Spec::Directory(_) | Spec::TarballFile(_) | Spec::TarballUrl(_) | Spec::Git(_) => {
            return None
        }
    };
    let is_star = *range == Range::any();
    if let Some(latest) = packument
        .dist_tags
        .get("latest")
        .and_then(|v| packument.version(v))
    {
        let satisfies = is_star || range.satisfies(&latest.version);
        if satisfies && !latest.deprecated && engine_ok(latest, node) {
            return Some(latest);
        }
    }
    // Versions are sorted ascending, so the last of the best rank is the highest.
    packument
        .versions
        .iter()
        .filter(|v| range.satisfies(&v.version))
        .max_by_key(|v| (engine_ok(v, node), !v.deprecated))
        .and_then(|best| {
            let rank = (engine_ok(best, node), !best.deprecated);
            packument.versions.iter().rev().find(|v| {
                range.satisfies(&v.version) && (engine_ok(v, node), !v.deprecated) == rank
            })
        })
}

fn engine_ok(version: &PackumentVersion, node: Option<&Version>) -> bool {
    let (Some(node), Some(wanted)) = (node, version.node_engine.as_deref()) else {
        return true;
    };
    Range::parse(wanted).map_or(true, |range| range.satisfies_with_prerelease(node, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use utoo_npm_types::Manifest;

    fn packument(versions: &[(&str, Option<&str>, Option<&str>)], latest: &str) -> Packument {
        let manifests = versions.iter().map(|(v, deprecated, node)| {
            let mut m = Manifest {
                name: "p".into(),
                version: v.to_string(),
                deprecated: deprecated.map(str::to_string),
                ..Manifest::default()
            };
            if let Some(node) = node {
                m.engines.insert("node".into(), node.to_string());
            }
            m
        });
        Packument::from_manifests(
            "p".into(),
            BTreeMap::from([("latest".to_string(), latest.to_string())]),
            manifests,
        )
    }

    fn pick(p: &Packument, spec: &str) -> Option<String> {
        let node = Version::parse("20.0.0").unwrap();
        pick_manifest(p, &Spec::parse("p", spec).unwrap(), Some(&node))
            .map(|m| m.version.to_string())
    }

    #[test]
    fn latest_wins_when_it_satisfies() {
        let p = packument(
            &[
                ("1.0.0", None, None),
                ("1.1.0", None, None),
                ("1.2.0", None, None),
            ],
            "1.1.0",
        );
        assert_eq!(pick(&p, "^1.0.0"), Some("1.1.0".into()));
        assert_eq!(pick(&p, "*"), Some("1.1.0".into()));
        assert_eq!(pick(&p, "~1.2.0"), Some("1.2.0".into()));
        assert_eq!(pick(&p, "latest"), Some("1.1.0".into()));
        assert_eq!(pick(&p, "^2"), None);
    }

    #[test]
    fn deprecated_and_engine_incompatible_rank_lower() {
        let dp = packument(
            &[("1.0.0", None, None), ("1.1.0", Some("old"), None)],
            "1.1.0",
        );
        assert_eq!(pick(&dp, "^1"), Some("1.0.0".into()));
        let en = packument(
            &[("1.0.0", None, None), ("1.1.0", None, Some(">=99"))],
            "1.1.0",
        );
        assert_eq!(pick(&en, "^1"), Some("1.0.0".into()));
    }

    #[test]
    fn prereleases_only_when_named() {
        let p = packument(
            &[("1.0.0", None, None), ("1.1.0-beta.1", None, None)],
            "1.0.0",
        );
        assert_eq!(pick(&p, "^1.0.0"), Some("1.0.0".into()));
        assert_eq!(pick(&p, "1.1.0-beta.1"), Some("1.1.0-beta.1".into()));
        assert_eq!(pick(&p, ">=1.1.0-beta.0"), Some("1.1.0-beta.1".into()));
    }
}
