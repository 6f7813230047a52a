//! Which lockfile an install reads and writes, and in which form, as npm
//! decides it from the project's files and its settings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use utoo_lockfile::{Lockfile, LockfileError, LOCKFILE_VERSION};
use utoo_supervisor::LockfileSettings;

use crate::config::NpmConfig;
use crate::InstallArgs;

/// npm reads (and then writes) the first of these that exists.
const LOCKFILE_NAMES: [&str; 2] = ["npm-shrinkwrap.json", "package-lock.json"];

/// The project's lockfile: where it is (or would be written) and, when it
/// exists, its text. It is parsed only when the install needs it, so an
/// install with nothing to do never parses it.
pub(crate) struct ProjectLockfile {
    pub path: PathBuf,
    pub text: Option<String>,
    /// The `lockfileVersion` on disk, also for one too old to be used.
    pub version_on_disk: Option<u32>,
}

/// Reads `npm-shrinkwrap.json`, else `package-lock.json`, as npm does (a
/// shrinkwrap wins when both exist, and the install's changes go into it).
pub(crate) fn read_lockfile(project_dir: &Path) -> anyhow::Result<ProjectLockfile> {
    for name in LOCKFILE_NAMES {
        let path = project_dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        return Ok(ProjectLockfile {
            path,
            version_on_disk: Lockfile::declared_version(&text),
            text: Some(text),
        });
    }
    Ok(ProjectLockfile::none(project_dir))
}

impl ProjectLockfile {
    /// No lockfile: one would be written as `package-lock.json`.
    pub(crate) fn none(project_dir: &Path) -> ProjectLockfile {
        ProjectLockfile {
            path: project_dir.join("package-lock.json"),
            text: None,
            version_on_disk: None,
        }
    }

    /// The lockfile and its text; `None` when there is none or it is too
    /// old to be used (then with a warning, and resolved afresh).
    pub(crate) fn parse(self) -> anyhow::Result<Option<(Arc<Lockfile>, String)>> {
        let Some(text) = self.text else {
            return Ok(None);
        };
        match Lockfile::parse(&text, &self.path) {
            Ok(lock) => Ok(Some((Arc::new(lock), text))),
            Err(LockfileError::Unsupported { .. }) => {
                eprintln!(
                    "warn: {} is from npm 6 or older; resolving afresh and writing it as lockfileVersion {LOCKFILE_VERSION}",
                    self.path.display()
                );
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// npm's `lockfile-version`, `omit-lockfile-registry-resolved`, `save` and
/// `format-package-lock`, from the command line, else `npm_config_*` and `.npmrc`.
pub(crate) fn lockfile_settings(
    args: &InstallArgs,
    config: &NpmConfig,
    lockfile: &ProjectLockfile,
) -> anyhow::Result<LockfileSettings> {
    let configured = match (args.lockfile_version, config.get("lockfile-version")) {
        (Some(version), _) => Some(version),
        (None, None | Some("null" | "")) => None,
        (None, Some(text)) => match text.trim().parse::<u32>() {
            Ok(version @ 1..=3) => Some(version),
            _ => bail!("lockfile-version={text} (in .npmrc or npm_config_lockfile_version) must be 1, 2 or 3"),
        },
    };
    // As npm: a version 2 or 3 lockfile keeps its version, anything older
    // (or no lockfile) becomes version 3.
    let kept = lockfile
        .version_on_disk
        .filter(|version| (2..=LOCKFILE_VERSION).contains(version));
    Ok(LockfileSettings {
        path: lockfile.path.clone(),
        version: configured.or(kept).unwrap_or(LOCKFILE_VERSION),
        omit_registry_resolved: args.omit_lockfile_registry_resolved
            || config.flag("omit-lockfile-registry-resolved"),
        save: !args.no_save && config.get("save") != Some("false"),
        formatted: config.get("format-package-lock") != Some("false"),
    })
}
