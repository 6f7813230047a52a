//! Git dependencies, with the `git` program: a branch, tag, commit or
//! `semver:` range resolved to a full commit (`git ls-remote`), and a commit
//! packed as npm packs it: checked out, prepared (with a [`Preparer`]: its
//! dependencies installed and its `prepare` script run) and packed with
//! npm-packlist's rules (crate `utoo-npm-packlist`).
//!
//! ```no_run
//! use utoo_npm_types::Spec;
//!
//! let Ok(Spec::Git(spec)) = Spec::parse("dep", "git+file:///srv/dep.git#semver:^1") else {
//!     unreachable!()
//! };
//! let commit = utoo_git::resolve_commit(&spec).unwrap();
//! let tarball = utoo_git::pack(&spec.resolved(&commit), None).unwrap();
//! println!("{commit}: {} bytes", tarball.len());
//! ```

mod prepare;
mod tarball;

use std::path::Path;
use std::process::Command;

use nodejs_semver::Version;
use thiserror::Error;
use utoo_npm_packlist::PacklistError;
use utoo_npm_types::{is_full_commit, redact_userinfo, GitReference, GitSpec};

pub use prepare::{PrepareError, Preparer, PREPARING_VAR};

#[derive(Debug, Error)]
pub enum GitError {
    #[error("running git for {repository} (is git installed?)")]
    Spawn {
        repository: String,
        #[source]
        source: std::io::Error,
    },
    #[error("git {command} {repository} failed: {stderr}")]
    Failed {
        command: String,
        repository: String,
        stderr: String,
    },
    #[error("{repository} has no {wanted}")]
    NoSuchReference { repository: String, wanted: String },
    #[error("{resolved} does not name a commit (expected <repository>#<commit>)")]
    NotResolved { resolved: String },
    #[error("creating a scratch folder for {repository}")]
    Scratch {
        repository: String,
        #[source]
        source: std::io::Error,
    },
    /// Boxed: a failed install or script carries its output.
    #[error("preparing {repository}")]
    Prepare {
        repository: String,
        #[source]
        source: Box<PrepareError>,
    },
    #[error("listing the files to pack from {repository}")]
    Packlist {
        repository: String,
        #[source]
        source: PacklistError,
    },
    #[error("packing {repository}")]
    Tarball {
        repository: String,
        #[source]
        source: std::io::Error,
    },
}

/// The URL `git` clones from. npm records GitHub and other hosts as
/// `git+ssh://git@host/...`; those are fetched over https, which public
/// repositories allow without keys.
fn clone_url(repository: &str) -> String {
    let bare = repository.strip_prefix("git+").unwrap_or(repository);
    for host in ["github.com", "gitlab.com", "bitbucket.org"] {
        if let Some(path) = bare.strip_prefix(&format!("ssh://git@{host}/")) {
            return format!("https://{host}/{path}");
        }
    }
    bare.to_string()
}

/// Runs `git` in `dir` (else the current folder); errors name the
/// repository without its credentials, in git's own messages too.
fn git(args: &[&str], dir: Option<&Path>, repository: &str) -> Result<Vec<u8>, GitError> {
    let mut command = Command::new("git");
    command.args(args).env("GIT_TERMINAL_PROMPT", "0");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let shown = redact_userinfo(repository);
    let output = command.output().map_err(|source| GitError::Spawn {
        repository: shown.clone(),
        source,
    })?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(GitError::Failed {
        command: args.first().copied().unwrap_or_default().to_string(),
        repository: shown,
        stderr: scrub(stderr.trim(), &clone_url(repository)),
    })
}

/// `text` without the `user:secret` part of `url`.
fn scrub(text: &str, url: &str) -> String {
    let authority = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((userinfo, _)) if !userinfo.is_empty() => text.replace(userinfo, "***"),
        _ => text.to_string(),
    }
}

/// `git ls-remote`: the repository's refs; the URL after `--`, so that it
/// can never be read as an option.
fn ls_remote(repository: &str, dir: Option<&Path>) -> Result<String, GitError> {
    let url = clone_url(repository);
    let listing = git(&["ls-remote", "--", &url], dir, repository)?;
    Ok(String::from_utf8_lossy(&listing).into_owned())
}

/// The full commit a git spec names now.
pub fn resolve_commit(spec: &GitSpec) -> Result<String, GitError> {
    let repository = &spec.repository;
    if let GitReference::Named(name) = &spec.reference {
        if is_full_commit(name) {
            return Ok(name.to_ascii_lowercase());
        }
    }
    let listing = ls_remote(repository, None)?;
    let refs: Vec<(&str, &str)> = listing
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .collect();
    // A tag's peeled entry (`^{}`) names the commit rather than the tag object.
    let lookup = |name: &str| {
        let peeled = format!("{name}^{{}}");
        refs.iter()
            .find(|(_, r)| *r == peeled)
            .or_else(|| refs.iter().find(|(_, r)| *r == name))
            .map(|(commit, _)| commit.to_string())
    };
    let not_found = |wanted: String| GitError::NoSuchReference {
        repository: redact_userinfo(repository),
        wanted,
    };
    match &spec.reference {
        GitReference::Head => lookup("HEAD").ok_or_else(|| not_found("HEAD".into())),
        GitReference::Named(name) => lookup(&format!("refs/tags/{name}"))
            .or_else(|| lookup(&format!("refs/heads/{name}")))
            .or_else(|| lookup(name))
            .ok_or_else(|| not_found(format!("branch, tag or commit {name:?}"))),
        GitReference::Semver(range) => {
            let best = refs
                .iter()
                .filter_map(|(_, r)| r.strip_prefix("refs/tags/"))
                .map(|tag| tag.trim_end_matches("^{}"))
                .filter_map(|tag| {
                    let version = Version::parse(tag.trim_start_matches('v')).ok()?;
                    range.satisfies(&version).then_some((version, tag))
                })
                .max_by(|a, b| a.0.cmp(&b.0));
            let (_, tag) = best.ok_or_else(|| not_found(format!("tag matching {range}")))?;
            lookup(&format!("refs/tags/{tag}")).ok_or_else(|| not_found(format!("tag {tag}")))
        }
    }
}

/// The commit `resolved` names (`<repository>#<commit>`), checked out,
/// prepared when `preparer` is given, and packed as a gzipped tarball with
/// the files npm would pack under `package/`.
pub fn pack(resolved: &str, preparer: Option<&Preparer>) -> Result<Vec<u8>, GitError> {
    // Only a full commit: anything else could be read by git as an option.
    let (repository, commit) = resolved
        .rsplit_once('#')
        .filter(|(_, commit)| is_full_commit(commit))
        .ok_or_else(|| GitError::NotResolved {
            resolved: redact_userinfo(resolved),
        })?;
    let shown = || redact_userinfo(repository);
    let scratch = tempfile::tempdir().map_err(|source| GitError::Scratch {
        repository: shown(),
        source,
    })?;
    let dir = scratch.path().join("package");
    let dir_arg = dir.to_string_lossy();
    let url = clone_url(repository);
    git(
        &["clone", "--quiet", "--no-checkout", "--", &url, &dir_arg],
        None,
        repository,
    )?;
    git(
        &["checkout", "--quiet", commit, "--"],
        Some(&dir),
        repository,
    )?;
    if let Some(preparer) = preparer {
        let redacted = redact_userinfo(resolved);
        prepare::prepare(&dir, &redacted, preparer).map_err(|source| GitError::Prepare {
            repository: shown(),
            source: Box::new(source),
        })?;
    }
    let files = utoo_npm_packlist::packlist(&dir).map_err(|source| GitError::Packlist {
        repository: shown(),
        source,
    })?;
    tarball::write(&dir, &files).map_err(|source| GitError::Tarball {
        repository: shown(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoo_npm_types::Spec;

    #[test]
    fn credentials_never_show_in_errors() {
        assert_eq!(
            scrub(
                "fatal: https://me:tok@h/r.git not found",
                "https://me:tok@h/r.git"
            ),
            "fatal: https://***@h/r.git not found"
        );
        let err = resolve_commit(&spec("git+https://me:tok@127.0.0.1:9/r.git#main")).unwrap_err();
        assert!(!err.to_string().contains("tok"), "{err}");
    }

    #[test]
    fn hosted_repositories_clone_over_https() {
        assert_eq!(
            clone_url("git+ssh://git@github.com/u/r.git"),
            "https://github.com/u/r.git"
        );
        assert_eq!(clone_url("git+file:///srv/r"), "file:///srv/r");
    }

    fn run(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(["-c", "user.email=t@t", "-c", "user.name=t"])
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    fn commit_version(dir: &Path, version: &str) {
        let manifest = format!(r#"{{"name":"g","version":"{version}"}}"#);
        std::fs::write(dir.join("package.json"), manifest).unwrap();
        run(dir, &["add", "."]);
        run(dir, &["commit", "-qm", version]);
        run(dir, &["tag", "-a", &format!("v{version}"), "-m", version]);
    }

    fn spec(raw: &str) -> GitSpec {
        match Spec::parse("g", raw).unwrap() {
            Spec::Git(git) => git,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn references_resolve_to_commits_and_commits_pack() {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &["init", "-q", "-b", "main"]);
        commit_version(dir.path(), "1.0.0");
        commit_version(dir.path(), "1.2.0");
        commit_version(dir.path(), "2.0.0");
        let url = format!("git+file://{}", dir.path().display());
        let head = resolve_commit(&spec(&url)).unwrap();
        assert_eq!(head.len(), 40);
        assert_eq!(resolve_commit(&spec(&format!("{url}#main"))).unwrap(), head);
        let one = resolve_commit(&spec(&format!("{url}#semver:^1"))).unwrap();
        assert_ne!(one, head);
        assert_eq!(
            resolve_commit(&spec(&format!("{url}#v1.2.0"))).unwrap(),
            one
        );
        let err = resolve_commit(&spec(&format!("{url}#semver:^3"))).unwrap_err();
        assert!(err.to_string().contains("tag matching"), "{err}");

        let tarball = pack(&format!("{url}#{one}"), None).unwrap();
        assert_eq!(&tarball[..2], &[0x1f, 0x8b], "gzip");
        let err = pack(&format!("{url}#--output=/tmp/x"), None).unwrap_err();
        assert!(matches!(err, GitError::NotResolved { .. }), "{err}");
        // In a clone whose origin works, an option-like URL would run its
        // --upload-pack command; after `--` it is only a bad repository.
        let clone = tempfile::tempdir().unwrap();
        run(
            clone.path(),
            &["clone", "-q", &dir.path().to_string_lossy(), "."],
        );
        let evil = "git+--upload-pack=touch pwned;git-upload-pack";
        assert!(ls_remote(evil, Some(clone.path())).is_err());
        assert!(!clone.path().join("pwned").exists());
        assert!(!dir.path().join("pwned").exists());
        let err = pack(&format!("{url}#{}", "0".repeat(40)), None).unwrap_err();
        assert!(err.to_string().contains("checkout"), "{err}");
    }

    fn tarball_files(tarball: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
        let mut files: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|entry| entry.unwrap().path().unwrap().display().to_string())
            .collect();
        files.sort();
        files
    }

    /// A repository whose package has a `prepare` script that would write `built.txt`.
    fn preparable() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &["init", "-q", "-b", "main"]);
        let manifest =
            r#"{"name":"g","version":"1.0.0","scripts":{"prepare":"echo built > built.txt"}}"#;
        std::fs::write(dir.path().join("package.json"), manifest).unwrap();
        std::fs::write(dir.path().join(".gitignore"), "node_modules\n").unwrap();
        run(dir.path(), &["add", "."]);
        run(dir.path(), &["commit", "-qm", "g"]);
        let url = format!("git+file://{}", dir.path().display());
        let commit = resolve_commit(&spec(&url)).unwrap();
        (dir, format!("{url}#{commit}"))
    }

    fn preparer(program: &str, preparing: Vec<String>) -> Preparer {
        Preparer {
            program: program.into(),
            args: Vec::new(),
            preparing,
        }
    }

    #[test]
    fn prepare_installs_then_runs_the_script_and_a_failed_install_names_the_repository() {
        let (_repo, resolved) = preparable();
        let tarball = pack(&resolved, Some(&preparer("true", Vec::new()))).unwrap();
        assert_eq!(
            tarball_files(&tarball),
            ["package/built.txt", "package/package.json"]
        );
        let err = pack(&resolved, Some(&preparer("false", Vec::new()))).unwrap_err();
        assert!(matches!(err, GitError::Prepare { .. }), "{err}");
        let causes = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(
            causes.contains("preparing git+file://")
                && causes.contains("installing its dependencies failed"),
            "{causes}"
        );
    }

    #[test]
    fn a_commit_already_being_prepared_up_the_chain_is_packed_unprepared() {
        let (_repo, resolved) = preparable();
        // `false` would fail the install: it is never run, nor is `prepare`.
        let tarball = pack(&resolved, Some(&preparer("false", vec![resolved.clone()]))).unwrap();
        assert_eq!(tarball_files(&tarball), ["package/package.json"]);
    }
}
