//! What npm copies into a lockfile entry from a package's full registry
//! document but the abbreviated one utoo asks for lacks: `workspaces`
//! (npm 11 resolves with full documents). utoo reads it from the package's
//! own `package.json` once the package is in `node_modules`.

use std::fs;
use std::path::Path;

use serde_json::Value;
use utoo_lockfile::Lockfile;

use crate::node_modules::is_install_path;

/// Gives each package entry of `lockfile` that is in `node_modules` under
/// `project_dir` and has no `workspaces` those of its `package.json`,
/// except entries kept from the `previous` lockfile (npm keeps them as they
/// are); true if any entry changed.
pub(crate) fn add_workspaces_from_disk(
    lockfile: &mut Lockfile,
    previous: Option<&Lockfile>,
    project_dir: &Path,
) -> bool {
    let mut changed = false;
    for (path, entry) in &mut lockfile.packages {
        let kept = previous
            .and_then(|lock| lock.packages.get(path))
            .is_some_and(|old| old.version == entry.version && old.integrity == entry.integrity);
        if entry.link || entry.workspaces.is_some() || kept || !is_install_path(path) {
            continue;
        }
        if let Some(workspaces) = read_workspaces(&project_dir.join(path).join("package.json")) {
            entry.workspaces = Some(workspaces);
            changed = true;
        }
    }
    changed
}

/// The `workspaces` of a `package.json`, when it has any; an unreadable
/// file has none (the package was checked when it was extracted).
fn read_workspaces(package_json: &Path) -> Option<Value> {
    let bytes = fs::read(package_json).ok()?;
    let manifest: Value = serde_json::from_slice(&bytes).ok()?;
    let workspaces = manifest.get("workspaces")?;
    let blank = match workspaces {
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        other => other.is_null() || *other == Value::Bool(false),
    };
    (!blank).then(|| workspaces.clone())
}
