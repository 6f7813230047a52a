//! The running Node.js version, remembered per `node` binary in the cache
//! folder so that installs don't start `node --version` every time.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The memo's file name in the cache folder.
const MEMO_FILE: &str = "node-version";

/// The version of the `node` found on `PATH`, e.g. `v20.11.1`; `None`
/// without one. The answer is remembered with what identifies the binary
/// (its real path, size, modification time and inode), and asked again
/// when any of these changes.
pub(crate) fn node_version(cache_root: &Path) -> Option<String> {
    let binary = fs::canonicalize(find_on_path("node")?).ok()?;
    let meta = fs::metadata(&binary).ok()?;
    let identity = format!(
        "{}\0{}\0{}.{}\0{}",
        binary.display(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino()
    );
    let memo = cache_root.join(MEMO_FILE);
    if let Some(version) = remembered(&memo, &identity) {
        return Some(version);
    }
    let output = Command::new(&binary).arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || version.is_empty() {
        return None;
    }
    // Best effort: without the memo the next install asks `node` again.
    if fs::create_dir_all(cache_root).is_ok() {
        let _ = utoo_atomic_write::write_atomic_unflushed(&memo, format!("{identity}\0{version}"));
    }
    Some(version)
}

fn remembered(memo: &Path, identity: &str) -> Option<String> {
    let text = fs::read_to_string(memo).ok()?;
    let (memo_identity, version) = text.rsplit_once('\0')?;
    (memo_identity == identity && version.starts_with('v')).then(|| version.to_string())
}

/// The first executable file named `program` in a `PATH` folder, as the
/// shell would find it.
fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}
