//! npm-pick-manifest: which version of a packument a spec selects.

use nodejs_semver::{Range, Version};
use utoo_npm_types::{Manifest, Packument, Spec};

/// Picks the version npm would install for `spec`, given the running Node.js
/// version (for `engines.node`; `None` treats every engine as compatible).
pub fn pick_manifest<'p>(
    packument: &'p Packument,
    spec: &Spec,
    node: Option<&Version>,
) -> Option<&'p Manifest> {
    let range = match spec {
        Spec::Tag(tag) => {
            let version = packument.dist_tags.get(tag)?;
            return packument.versions.get(version);
        }
        Spec::Range(range) => range,
    };
    let is_star = *range == Range::any();
    if let Some(latest) = packument
        .dist_tags
        .get("latest")
        .and_then(|v| packument.versions.get(v))
    {
        let satisfies =
            is_star || Version::parse(&latest.version).is_ok_and(|v| range.satisfies(&v));
        if satisfies && latest.deprecated.is_none() && engine_ok(latest, node) {
            return Some(latest);
        }
    }
    packument
        .versions
        .values()
        .filter_map(|m| Version::parse(&m.version).ok().map(|v| (v, m)))
        .filter(|(v, _)| range.satisfies(v))
        .max_by(|(va, a), (vb, b)| {
            let rank = |m: &Manifest| (engine_ok(m, node), m.deprecated.is_none());
            rank(a).cmp(&rank(b)).then_with(|| va.cmp(vb))
        })
        .map(|(_, m)| m)
}

fn engine_ok(manifest: &Manifest, node: Option<&Version>) -> bool {
    let (Some(node), Some(wanted)) = (node, manifest.engines.get("node")) else {
        return true;
    };
    Range::parse(wanted).map_or(true, |range| range.satisfies_with_prerelease(node, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn packument(versions: &[(&str, Option<&str>, Option<&str>)], latest: &str) -> Packument {
        Packument {
            name: "p".into(),
            dist_tags: BTreeMap::from([("latest".to_string(), latest.to_string())]),
            versions: versions
                .iter()
                .map(|(v, deprecated, node)| {
                    let mut m = Manifest {
                        name: "p".into(),
                        version: v.to_string(),
                        deprecated: deprecated.map(str::to_string),
                        ..Manifest::default()
                    };
                    if let Some(node) = node {
                        m.engines.insert("node".into(), node.to_string());
                    }
                    (v.to_string(), m)
                })
                .collect(),
        }
    }

    fn pick<'p>(p: &'p Packument, spec: &str) -> Option<&'p str> {
        let node = Version::parse("20.0.0").unwrap();
        pick_manifest(p, &Spec::parse("p", spec).unwrap(), Some(&node)).map(|m| m.version.as_str())
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
        assert_eq!(pick(&p, "^1.0.0"), Some("1.1.0"));
        assert_eq!(pick(&p, "*"), Some("1.1.0"));
        assert_eq!(pick(&p, "~1.2.0"), Some("1.2.0"));
        assert_eq!(pick(&p, "latest"), Some("1.1.0"));
        assert_eq!(pick(&p, "^2"), None);
    }

    #[test]
    fn deprecated_and_engine_incompatible_rank_lower() {
        let dp = packument(
            &[("1.0.0", None, None), ("1.1.0", Some("old"), None)],
            "1.1.0",
        );
        assert_eq!(pick(&dp, "^1"), Some("1.0.0"));
        let en = packument(
            &[("1.0.0", None, None), ("1.1.0", None, Some(">=99"))],
            "1.1.0",
        );
        assert_eq!(pick(&en, "^1"), Some("1.0.0"));
    }

    #[test]
    fn prereleases_only_when_named() {
        let p = packument(
            &[("1.0.0", None, None), ("1.1.0-beta.1", None, None)],
            "1.0.0",
        );
        assert_eq!(pick(&p, "^1.0.0"), Some("1.0.0"));
        assert_eq!(pick(&p, "1.1.0-beta.1"), Some("1.1.0-beta.1"));
        assert_eq!(pick(&p, ">=1.1.0-beta.0"), Some("1.1.0-beta.1"));
    }
}
