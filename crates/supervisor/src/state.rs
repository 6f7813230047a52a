//! A fingerprint of the inputs of the last install, kept in `node_modules`
//! (as yarn's `.yarn-integrity` and pnpm's `.modules.yaml` do), so that an
//! install with nothing changed can stop before doing any work.

use std::fs;
use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::messages::Install;

const STATE_FILE: &str = ".utoo-state";

/// Hashes what decides the contents of `node_modules`: utoo's version, the
/// manifest (and the workspaces'), the lockfile and the options that change
/// what is installed.
pub fn fingerprint(install: &Install, lockfile_text: &str) -> String {
    let mut prepare_git: Vec<&String> = install.prepare_git.iter().collect();
    prepare_git.sort();
    let options = format!(
        "{}|{:?}|{:?}|{}|{:?}|{:?}|{:?}",
        env!("CARGO_PKG_VERSION"),
        install.registry,
        install.omit,
        install.legacy_peer_deps,
        install.platform,
        prepare_git,
        install.lockfile_settings,
    );
    let workspaces: Vec<String> = install
        .project
        .workspaces
        .iter()
        .map(|w| format!("{}={}", w.location, w.package_json))
        .collect();
    let workspaces = workspaces.join("\n");
    let mut hasher = Sha256::new();
    for part in [
        options.as_str(),
        install.package_json_text.as_str(),
        workspaces.as_str(),
        lockfile_text,
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn top_level_entries(node_modules: &Path) -> io::Result<usize> {
    Ok(fs::read_dir(node_modules)?.count())
}

/// Whether `node_modules` was last installed from exactly these inputs and
/// still has as many top-level entries as it had then.
pub fn up_to_date(node_modules: &Path, fingerprint: &str) -> bool {
    let Ok(recorded) = fs::read_to_string(node_modules.join(STATE_FILE)) else {
        return false;
    };
    let mut lines = recorded.lines();
    let same_inputs = lines.next() == Some(fingerprint);
    let entries = lines.next().and_then(|n| n.parse::<usize>().ok());
    same_inputs && entries.is_some() && entries == top_level_entries(node_modules).ok()
}

/// Records the fingerprint after a successful install (written last).
pub(crate) fn record(node_modules: &Path, fingerprint: &str) -> io::Result<()> {
    let path = node_modules.join(STATE_FILE);
    // Counted with the state file itself in place.
    let entries = top_level_entries(node_modules)? + usize::from(!path.exists());
    // Not flushed: an empty file after a power loss only means a full install next time.
    utoo_atomic_write::write_atomic_unflushed(&path, format!("{fingerprint}\n{entries}\n"))
}
