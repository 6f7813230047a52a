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
    /// `npm:<name>@<spec>`: another package installed under this dependency's name.
    Alias { name: String, spec: Box<Spec> },
    /// A folder (`file:../x`, `link:../x`, `./x`): linked into `node_modules`, as npm does.
    Directory(String),
    /// A tarball on disk (`file:x.tgz`).
    TarballFile(String),
    /// A tarball URL (`https://host/x.tgz`).
    TarballUrl(String),
    /// A git repository at a commit, branch, tag or `semver:` range.
    Git(GitSpec),
}

/// A git dependency, as npm-package-arg and hosted-git-info read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSpec {
    /// The repository as npm records it in `resolved`, before `#<commit>`:
    /// `git+ssh://git@github.com/u/r.git`, `git+file:///srv/r`.
    pub repository: String,
    pub reference: GitReference,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitReference {
    /// The remote's default branch.
    Head,
    /// A branch, tag or commit.
    Named(String),
    /// The highest tag satisfying a range (`#semver:^1.2`).
    Semver(Range),
}

/// Whether a git reference is a full (40 hex digit) commit.
pub fn is_full_commit(reference: &str) -> bool {
    reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit())
}

impl GitSpec {
    /// The `resolved` value for `commit`.
    pub fn resolved(&self, commit: &str) -> String {
        format!("{}#{commit}", self.repository)
    }
}

impl Spec {
    /// Classifies `raw` as npm-package-arg does; git specs are reported as
    /// not supported yet.
    pub fn parse(name: &str, raw: &str) -> Result<Spec, SpecError> {
        let trimmed = raw.trim();
        if let Some(target) = trimmed.strip_prefix("npm:") {
            return parse_alias(name, raw, target);
        }
        if let Some(local) = parse_local(trimmed) {
            return Ok(local);
        }
        if let Some(git) = parse_git(trimmed) {
            return git.map(Spec::Git).map_err(|()| SpecError::Invalid {
                name: name.to_string(),
                spec: raw.to_string(),
            });
        }
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
            Spec::Alias { spec, .. } => spec.accepts(version),
            Spec::Tag(_)
            | Spec::Directory(_)
            | Spec::TarballFile(_)
            | Spec::TarballUrl(_)
            | Spec::Git(_) => false,
        }
    }

    /// The package whose packument this spec is resolved against.
    pub fn registry_name<'a>(&'a self, dependency_name: &'a str) -> &'a str {
        match self {
            Spec::Alias { name, .. } => name,
            _ => dependency_name,
        }
    }
}

fn parse_alias(name: &str, raw: &str, target: &str) -> Result<Spec, SpecError> {
    let invalid = || SpecError::Invalid {
        name: name.to_string(),
        spec: raw.to_string(),
    };
    // The version part starts at the first `@` after a scope's leading one.
    let split_at = target
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '@')
        .map(|(i, _)| i);
    let (target_name, target_spec) = match split_at {
        Some(i) => (&target[..i], &target[i + 1..]),
        None => (target, "*"),
    };
    if target_name.is_empty() || crate::validate_package_name(target_name).is_err() {
        return Err(invalid());
    }
    let inner = Spec::parse(target_name, target_spec).map_err(|_| invalid())?;
    if matches!(inner, Spec::Alias { .. }) {
        return Err(invalid());
    }
    Ok(Spec::Alias {
        name: target_name.to_string(),
        spec: Box::new(inner),
    })
}

/// Paths and tarball URLs, as npm-package-arg tells them apart: a path
/// ending in `.tgz`, `.tar.gz` or `.tar` is a tarball, any other a folder.
fn parse_local(spec: &str) -> Option<Spec> {
    let lower = spec.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let is_repository = spec
            .split('#')
            .next()
            .is_some_and(|url| url.ends_with(".git"));
        return (!is_repository).then(|| Spec::TarballUrl(spec.to_string()));
    }
    let path = if lower.starts_with("file:") || lower.starts_with("link:") {
        &spec[5..]
    } else if spec.starts_with("./") || spec.starts_with("../") || spec.starts_with('/') {
        spec
    } else {
        return None;
    };
    // `file://` URLs name an absolute path.
    let path = path.strip_prefix("//").unwrap_or(path);
    let is_tarball = [".tgz", ".tar.gz", ".tar"]
        .iter()
        .any(|ext| path.to_ascii_lowercase().ends_with(ext));
    let path = path.to_string();
    Some(if is_tarball && !lower.starts_with("link:") {
        Spec::TarballFile(path)
    } else {
        Spec::Directory(path)
    })
}

/// Git URLs and hosted shorthands (`github:u/r`, `u/r`, `gitlab:u/r`,
/// `bitbucket:u/r`), with an optional `#ref` or `#semver:<range>`.
/// `Some(Err(()))` for a git spec whose range is invalid.
fn parse_git(spec: &str) -> Option<Result<GitSpec, ()>> {
    let (base, fragment) = match spec.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (spec, None),
    };
    let lower = base.to_ascii_lowercase();
    let repository = if lower.starts_with("git+") || lower.starts_with("git://") {
        base.to_string()
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        // A repository URL (`https://host/r.git`); npm records hosted ones over ssh.
        let path = base.split_once("://").map_or(base, |(_, rest)| rest);
        match path.split_once('/') {
            Some((host @ ("github.com" | "gitlab.com" | "bitbucket.org"), repo)) => {
                format!("git+ssh://git@{host}/{repo}")
            }
            _ => format!("git+{base}"),
        }
    } else if let Some((host, path)) = hosted(base) {
        let path = path.trim_end_matches(".git");
        format!("git+ssh://git@{host}/{path}.git")
    } else {
        return None;
    };
    let reference = match fragment {
        None | Some("") => GitReference::Head,
        Some(f) => match f.strip_prefix("semver:") {
            Some(range) => match Range::parse(range) {
                Ok(range) => GitReference::Semver(range),
                Err(_) => return Some(Err(())),
            },
            None => GitReference::Named(f.to_string()),
        },
    };
    Some(Ok(GitSpec {
        repository,
        reference,
    }))
}

/// `github:u/r`, `u/r`, `gitlab:u/r`, `bitbucket:u/r` → (host, `u/r`).
fn hosted(base: &str) -> Option<(&'static str, &str)> {
    let hosts = [
        ("github:", "github.com"),
        ("gitlab:", "gitlab.com"),
        ("bitbucket:", "bitbucket.org"),
    ];
    for (prefix, host) in hosts {
        if let Some(path) = base.strip_prefix(prefix) {
            return Some((host, path));
        }
    }
    let mut parts = base.split('/');
    let (user, repo) = (parts.next()?, parts.next()?);
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    (parts.next().is_none() && plain(user) && plain(repo) && !user.starts_with('@'))
        .then_some(("github.com", base))
}

fn unsupported_kind(spec: &str) -> Option<&'static str> {
    if spec.to_ascii_lowercase().starts_with("gist:") {
        Some("gist")
    } else if spec.starts_with("~/") {
        Some("home-relative path")
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
    fn local_paths_and_urls() {
        let parse = |raw| Spec::parse("a", raw).unwrap();
        assert_eq!(parse("file:../x"), Spec::Directory("../x".into()));
        assert_eq!(parse("link:../x"), Spec::Directory("../x".into()));
        assert_eq!(parse("./x"), Spec::Directory("./x".into()));
        assert_eq!(parse("file:x.tgz"), Spec::TarballFile("x.tgz".into()));
        assert_eq!(
            parse("file:./x.tar.gz"),
            Spec::TarballFile("./x.tar.gz".into())
        );
        assert_eq!(
            parse("https://h/x-1.0.0.tgz"),
            Spec::TarballUrl("https://h/x-1.0.0.tgz".into())
        );
        assert!(!parse("file:../x").accepts("1.0.0"));
    }

    #[test]
    fn git_urls_and_hosted_shorthands() {
        let git = |raw| match Spec::parse("a", raw).unwrap() {
            Spec::Git(git) => git,
            other => panic!("{raw}: {other:?}"),
        };
        let github = git("github:u/r#v1.0.0");
        assert_eq!(github.repository, "git+ssh://git@github.com/u/r.git");
        assert_eq!(github.reference, GitReference::Named("v1.0.0".into()));
        assert_eq!(git("u/r").repository, "git+ssh://git@github.com/u/r.git");
        assert_eq!(git("u/r").reference, GitReference::Head);
        let local = git("git+file:///srv/r#semver:^1.2");
        assert_eq!(local.repository, "git+file:///srv/r");
        assert!(matches!(local.reference, GitReference::Semver(_)));
        assert_eq!(local.resolved("abc"), "git+file:///srv/r#abc");
        assert_eq!(
            git("https://github.com/u/r.git#main").repository,
            "git+ssh://git@github.com/u/r.git"
        );
        assert_eq!(
            git("https://example.com/r.git").repository,
            "git+https://example.com/r.git"
        );
        assert!(matches!(
            Spec::parse("a", "git+https://h/r.git#semver:^^"),
            Err(SpecError::Invalid { .. })
        ));
    }

    #[test]
    fn gists_and_home_paths_are_not_supported_yet() {
        for raw in ["gist:abc", "~/x"] {
            assert!(
                matches!(Spec::parse("a", raw), Err(SpecError::Unsupported { .. })),
                "{raw}"
            );
        }
    }

    #[test]
    fn npm_aliases() {
        let spec = Spec::parse("string-width-cjs", "npm:string-width@^4.2.0").unwrap();
        assert_eq!(spec.registry_name("string-width-cjs"), "string-width");
        assert!(spec.accepts("4.2.3"));
        let scoped = Spec::parse("x", "npm:@scope/pkg").unwrap();
        assert_eq!(scoped.registry_name("x"), "@scope/pkg");
        assert!(matches!(
            Spec::parse("x", "npm:@bad"),
            Err(SpecError::Invalid { .. })
        ));
    }

    #[test]
    fn garbage_is_invalid() {
        assert!(matches!(
            Spec::parse("a", "^^1 @@"),
            Err(SpecError::Invalid { .. })
        ));
    }
}
