//! A git dependency's `prepare` script, run as npm runs it when it packs
//! one (pacote's git fetcher): its dependencies, dev ones included, are
//! installed in the checkout first, then `prepare` runs there.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use thiserror::Error;
use utoo_lifecycle_scripts::{run_prepare_script, ScriptError};

/// The variable that lists the git dependencies (`<repository>#<commit>`)
/// being prepared by the installs a nested install runs in.
pub const PREPARING_VAR: &str = "UTOO_GIT_PREPARING";

/// How to install a git dependency's dependencies before its `prepare`.
#[derive(Debug, Clone)]
pub struct Preparer {
    /// The installer (the running `utoo`) and the arguments that make it
    /// install into the current folder with the same registry and cache.
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Git dependencies already being prepared further up (from
    /// [`PREPARING_VAR`]): they are packed without `prepare` this time, as
    /// npm does, so that git dependencies that need each other can't
    /// install each other forever.
    pub preparing: Vec<String>,
}

#[derive(Debug, Error)]
pub enum PrepareError {
    #[error("reading {}", path.display())]
    Manifest {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not valid JSON", path.display())]
    ManifestInvalid {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("could not start {} to install its dependencies", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("installing its dependencies failed ({status})\n{output}")]
    Install { status: String, output: String },
    #[error(transparent)]
    Script(ScriptError),
}

/// The `package.json` in `dir`, if there is one (a regular file: a link
/// is never packed, so it isn't the package's manifest).
fn read_manifest(dir: &Path) -> Result<Option<Value>, PrepareError> {
    let path = dir.join("package.json");
    if !std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_file()) {
        return Ok(None);
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PrepareError::Manifest { path, source }),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| PrepareError::ManifestInvalid { path, source })
}

/// Installs the dependencies of the checkout in `dir` and runs its
/// `prepare` script, if it has one and isn't already being prepared.
pub(crate) fn prepare(dir: &Path, resolved: &str, preparer: &Preparer) -> Result<(), PrepareError> {
    let Some(manifest) = read_manifest(dir)? else {
        return Ok(());
    };
    let has_prepare = manifest
        .get("scripts")
        .and_then(|scripts| scripts.get("prepare"))
        .is_some_and(Value::is_string);
    if !has_prepare || preparer.preparing.iter().any(|r| r == resolved) {
        return Ok(());
    }
    let preparing: Vec<&str> = preparer
        .preparing
        .iter()
        .map(String::as_str)
        .chain([resolved])
        .collect();
    let output = Command::new(&preparer.program)
        .args(&preparer.args)
        .current_dir(dir)
        .env(PREPARING_VAR, preparing.join("\n"))
        .output()
        .map_err(|source| PrepareError::Spawn {
            program: preparer.program.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(PrepareError::Install {
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    run_prepare_script(dir, &manifest).map_err(PrepareError::Script)
}
