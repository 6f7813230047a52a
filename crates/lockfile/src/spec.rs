//! The kinds of dependency specs npm tells apart when it writes a lockfile
//! (`npm-package-arg`'s types), from the spec's text alone.

/// What a spec (or a `resolved` value read as one) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpecKind {
    /// A version, range, tag or `npm:` alias.
    Registry,
    /// A tarball file (`file:x.tgz`, `./x.tar.gz`).
    File,
    /// A folder (`file:../lib`, `./lib`).
    Directory,
    /// A tarball URL.
    Remote,
    Git,
}

const GIT_PREFIXES: [&str; 7] = [
    "git+",
    "git://",
    "github:",
    "gitlab:",
    "bitbucket:",
    "gist:",
    "git@",
];

/// Hosts whose `https://host/user/repo` URLs npm reads as git repositories.
const GIT_HOSTS: [&str; 3] = ["github.com/", "gitlab.com/", "bitbucket.org/"];

const TARBALL_SUFFIXES: [&str; 3] = [".tgz", ".tar.gz", ".tar"];

impl SpecKind {
    pub(crate) fn of(spec: &str) -> SpecKind {
        let lower = spec.to_ascii_lowercase();
        if GIT_PREFIXES.iter().any(|prefix| lower.starts_with(prefix)) {
            return SpecKind::Git;
        }
        if let Some(path) = local_path(spec) {
            return match TARBALL_SUFFIXES.iter().any(|suffix| path.ends_with(suffix)) {
                true => SpecKind::File,
                false => SpecKind::Directory,
            };
        }
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let url = lower.split('#').next().unwrap_or(&lower);
            return match url.ends_with(".git") || is_hosted_repository(url) {
                true => SpecKind::Git,
                false => SpecKind::Remote,
            };
        }
        if is_repository_shorthand(spec) {
            return SpecKind::Git;
        }
        SpecKind::Registry
    }
}

/// The path of a `file:` spec or of a bare path (`./x`, `../x`, `/x`, `~/x`).
fn local_path(spec: &str) -> Option<&str> {
    if let Some(path) = spec.strip_prefix("file:") {
        return Some(path);
    }
    let is_path = spec == "."
        || spec == ".."
        || ["./", "../", "/", "~/"]
            .iter()
            .any(|prefix| spec.starts_with(prefix));
    is_path.then_some(spec)
}

/// `https://github.com/user/repo`, without a further path.
fn is_hosted_repository(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    GIT_HOSTS.iter().any(|host| {
        rest.strip_prefix(host)
            .is_some_and(|path| path.trim_end_matches('/').split('/').count() == 2)
    })
}

/// `user/repo`, optionally with `#ref`: GitHub's shorthand.
fn is_repository_shorthand(spec: &str) -> bool {
    let repository = spec.split('#').next().unwrap_or(spec);
    let mut parts = repository.split('/');
    let (Some(user), Some(repo), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let word = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    !user.starts_with('@') && !user.starts_with('.') && word(user) && word(repo)
}

/// A `file:` spec as npm saves it, relative to the package at `base` (a
/// location in the project): `file:./x.tgz` → `file:x.tgz`, `file:a/../b` →
/// `file:b`, `../x` → `file:../x`.
pub(crate) fn relative_file_spec(base: &str, spec: &str) -> String {
    let path = local_path(spec).unwrap_or(spec);
    if path.starts_with('/') || path.starts_with('~') {
        return format!("file:{path}");
    }
    // Each `..` that leaves `base` climbs out of one of its folders, and a
    // path back down through that folder cancels it.
    let base: Vec<&str> = base.split('/').filter(|part| !part.is_empty()).collect();
    let mut absolute = base.clone();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                absolute.pop();
            }
            part => absolute.push(part),
        }
    }
    let common = base
        .iter()
        .zip(&absolute)
        .take_while(|(a, b)| a == b)
        .count();
    let mut relative: Vec<&str> = vec![".."; base.len() - common];
    relative.extend(&absolute[common..]);
    format!("file:{}", relative.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Types as `npm-package-arg` 13 (npm 11.19.1) gives them.
    #[test]
    fn kinds_match_npm_package_arg() {
        for (spec, kind) in [
            ("^1.0.0", SpecKind::Registry),
            ("latest", SpecKind::Registry),
            ("npm:foo@^1", SpecKind::Registry),
            ("*", SpecKind::Registry),
            ("", SpecKind::Registry),
            ("file:./x.tgz#x", SpecKind::Directory),
            ("https://github.com/a/b", SpecKind::Git),
            (
                "https://github.com/a/b/archive/main.tar.gz",
                SpecKind::Remote,
            ),
            ("git@github.com:a/b.git", SpecKind::Git),
            ("file:./x.tgz", SpecKind::File),
            ("./x.tar.gz", SpecKind::File),
            ("file:../lib", SpecKind::Directory),
            ("../lib", SpecKind::Directory),
            ("https://h.example/x.tgz", SpecKind::Remote),
            (
                "https://registry.npmjs.org/a/-/a-1.0.0.tgz",
                SpecKind::Remote,
            ),
            ("github:a/b#main", SpecKind::Git),
            ("git+https://github.com/a/b.git#abc", SpecKind::Git),
            ("git+ssh://git@github.com/a/b.git#abc", SpecKind::Git),
            ("a/b", SpecKind::Git),
            ("a/b#v1", SpecKind::Git),
        ] {
            assert_eq!(SpecKind::of(spec), kind, "{spec}");
        }
    }

    /// `saveSpec` of `npa.resolve(name, spec, where)` under Node 20.
    #[test]
    fn file_specs_are_saved_relative_and_normalised() {
        assert_eq!(relative_file_spec("", "file:./x.tgz"), "file:x.tgz");
        assert_eq!(relative_file_spec("", "./x.tgz"), "file:x.tgz");
        assert_eq!(
            relative_file_spec("packages/w", "file:../y/z.tgz"),
            "file:../y/z.tgz"
        );
        assert_eq!(
            relative_file_spec("packages/w", "file:../../x.tgz"),
            "file:../../x.tgz"
        );
        assert_eq!(
            relative_file_spec("packages/w", "file:../w/a/../b.tgz"),
            "file:b.tgz"
        );
        assert_eq!(relative_file_spec("", "file:/abs/x.tgz"), "file:/abs/x.tgz");
    }
}
