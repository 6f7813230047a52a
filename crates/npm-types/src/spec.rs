use nodejs_semver::{Range, Version};
use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum SpecError {
    #[error("dependency {name}@{spec}: {kind} specs are not supported yet")]
    Unsupported {
        name: String,
        spec: String,
        kind: &'static str,
    },
    #[error("dependency {name}@{spec}: invalid version range or tag")]
    Invalid { name: String, spec: String },
}

/// What a dependency's spec asks the registry for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// A semver range (an exact version is a range too).
    Range(Range),
    /// A dist-tag such as `latest` or `next`.
    Tag(String),
}

impl Spec {
    /// Classifies `raw` as npm-package-arg does for registry specs; other kinds
    /// (aliases, git, URLs, paths) are reported as not supported yet.
    pub fn parse(name: &str, raw: &str) -> Result<Spec, SpecError> {
        let trimmed = raw.trim();
        if let Some(kind) = unsupported_kind(trimmed) {
            return Err(SpecError::Unsupported {
                name: name.to_string(),
                spec: raw.to_string(),
                kind,
            });
        }
        if let Ok(range) = Range::parse(trimmed) {
            return Ok(Spec::Range(range));
        }
        if is_tag(trimmed) {
            return Ok(Spec::Tag(trimmed.to_string()));
        }
        Err(SpecError::Invalid {
            name: name.to_string(),
            spec: raw.to_string(),
        })
    }

    /// Whether `version` satisfies this spec when it is already installed.
    /// A tag can't be checked without the packument, so only ranges match.
    pub fn accepts(&self, version: &str) -> bool {
        match self {
            Spec::Range(range) => Version::parse(version).is_ok_and(|v| range.satisfies(&v)),
            Spec::Tag(_) => false,
        }
    }
}

fn unsupported_kind(spec: &str) -> Option<&'static str> {
    let lower = spec.to_ascii_lowercase();
    if lower.starts_with("npm:") {
        Some("npm: alias")
    } else if lower.starts_with("file:") || lower.starts_with("link:") {
        Some("local path (file:/link:)")
    } else if lower.starts_with("git+")
        || lower.starts_with("git:")
        || lower.starts_with("github:")
        || lower.starts_with("gitlab:")
        || lower.starts_with("bitbucket:")
        || lower.starts_with("gist:")
    {
        Some("git")
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        Some("tarball URL")
    } else if spec.starts_with('.') || spec.starts_with('/') || spec.starts_with("~/") {
        Some("local path")
    } else if spec.contains('/') && !spec.contains(' ') {
        Some("git (GitHub shorthand)")
    } else {
        None
    }
}

/// npm-package-arg accepts as a tag anything URI-safe that isn't a range.
fn is_tag(spec: &str) -> bool {
    !spec.is_empty()
        && spec
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_tags() {
        for range in [
            "^1.2.3",
            "~1.0",
            "1.x",
            "*",
            "",
            ">=1 <2",
            "1 - 2",
            "^1 || ^2",
            "latest-ish-1",
        ] {
            let spec = Spec::parse("a", range);
            assert!(spec.is_ok(), "{range}: {spec:?}");
        }
        assert_eq!(Spec::parse("a", "next").unwrap(), Spec::Tag("next".into()));
        assert!(Spec::parse("a", "^1.0.0").unwrap().accepts("1.4.0"));
        assert!(!Spec::parse("a", "^1.0.0").unwrap().accepts("2.0.0"));
        assert!(!Spec::parse("a", "^1.0.0").unwrap().accepts("1.5.0-beta.1"));
    }

    #[test]
    fn other_kinds_are_not_supported_yet() {
        for raw in [
            "npm:b@1",
            "file:../x",
            "github:u/r",
            "u/r#main",
            "https://x/y.tgz",
            "git+ssh://g/r.git",
            "link:../x",
        ] {
            assert!(
                matches!(Spec::parse("a", raw), Err(SpecError::Unsupported { .. })),
                "{raw}"
            );
        }
    }

    #[test]
    fn garbage_is_invalid() {
        assert!(matches!(
            Spec::parse("a", "^^1 @@"),
            Err(SpecError::Invalid { .. })
        ));
    }
}
