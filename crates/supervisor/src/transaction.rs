//! The install as a transaction around the pipeline: once the tree is
//! resolved, [`prepare`] checks it (frozen lockfile, engines, install
//! paths) and gets `node_modules` ready; once every package is placed,
//! [`link_links_inside_packages`] and [`bin_requests`] finish the tree and
//! [`commit`] writes the lockfiles. The functions that touch the disk run
//! on a blocking thread, not the supervisor's.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use utoo_atomic_write::write_atomic_unflushed;
use utoo_clone_actor::LinkBins;
use utoo_lockfile::{write_atomic, JsonFormat, Lockfile};
use utoo_package_cache::CacheLayout;
use utoo_resolver_actor::{is_locked_as, lockfile_from_tree, Resolution};
use utoo_telemetry::span;

use crate::messages::{Install, InstallError, PlacedPackage};
use crate::node_modules::{
    hidden_lockfile, hidden_lockfile_of, is_install_path, keep_what_is_in_place, place_links,
    remove_any, Placement, Recorded, HIDDEN_LOCKFILE,
};
use crate::plan::{
    engine_mismatches, parent_path, plan, CachedEntry, Plan, PlannedBundled, PlannedLink,
    PlannedPackage,
};
use crate::published::add_workspaces_from_disk;

/// What resolution decided, checked, with `node_modules` made ready for it.
pub(crate) struct Prepared {
    pub transaction: Transaction,
    /// Packages already in place.
    pub kept: Vec<PlannedPackage>,
    /// Packages to place, each with its complete cache entry if the cache has one.
    pub to_place: Vec<(PlannedPackage, Option<CachedEntry>)>,
    pub warnings: Vec<String>,
    /// Packages removed from `node_modules`.
    pub removed: usize,
    pub packuments_requested: usize,
    /// Packages in the lockfile.
    pub locked: usize,
}

/// What the install commits once every package is placed.
pub(crate) struct Transaction {
    pub new_lockfile: String,
    /// The new lockfile and the hidden lockfile expected once all is
    /// placed, to record what ends up in `node_modules`; `None` with
    /// `--lockfile-only`.
    installed_lock: Option<(Arc<Lockfile>, String)>,
    /// Links to workspaces and `file:` folders, in place already; links
    /// inside package folders (breaking dependency cycles) once all
    /// packages are.
    pub links: Vec<PlannedLink>,
    /// Packages that arrive inside their bundler's folder.
    pub bundled: Vec<PlannedBundled>,
    /// False when `node_modules` was already as planned: its bins are too.
    pub bins_need_linking: bool,
    /// True when the hidden lockfile on disk already records the plan.
    hidden_lockfile_current: bool,
}

/// The resolved tree as a lockfile and a plan, checked; nothing on disk
/// has changed yet.
pub(crate) struct Checked {
    /// The lockfile read from disk when this one is the same: one copy is held, not two.
    lockfile: Arc<Lockfile>,
    text: String,
    warnings: Vec<String>,
    planned: Plan,
    packuments_requested: usize,
    locked: usize,
}

/// What preparing leads to.
pub(crate) enum Prepare {
    Prepared(Prepared),
    /// The packages placed ahead of resolution are not all the tree's:
    /// placing must stop before [`place`] sorts out what stays.
    StopEarlyPlacing(Checked),
}

/// What `node_modules` holds before [`place`].
pub(crate) enum InPlace<'a> {
    /// What earlier installs left, as the hidden lockfile records it.
    Recorded,
    /// Only these packages, placed by this install ahead of resolution
    /// (`node_modules` did not exist before).
    PlacedEarly(&'a [PlannedPackage]),
}

/// Checks the resolved tree and gets `node_modules` ready for it. With
/// `placing_early` (the packages being placed ahead of resolution into a
/// `node_modules` that did not exist), `node_modules` is left to them when
/// the tree has each of them at its path, else placing must stop first.
pub(crate) fn prepare(
    request: &Install,
    resolution: Resolution,
    cache: &CacheLayout,
    placing_early: Option<&[PlannedPackage]>,
) -> Result<Prepare, InstallError> {
    let checked = check(request, resolution)?;
    if request.lockfile_only {
        return Ok(Prepare::Prepared(Prepared {
            transaction: Transaction {
                new_lockfile: checked.text,
                installed_lock: None,
                links: Vec::new(),
                bundled: Vec::new(),
                bins_need_linking: true,
                hidden_lockfile_current: false,
            },
            kept: Vec::new(),
            to_place: Vec::new(),
            warnings: checked.warnings,
            removed: 0,
            packuments_requested: checked.packuments_requested,
            locked: checked.locked,
        }));
    }
    match placing_early {
        None => place(request, checked, cache, InPlace::Recorded).map(Prepare::Prepared),
        Some(early) if confirms(&checked.planned, early) => {
            place_beside_early(request, checked, cache, early).map(Prepare::Prepared)
        }
        Some(_) => Ok(Prepare::StopEarlyPlacing(checked)),
    }
}

/// Turns the resolved tree into the lockfile text and the placement plan,
/// and checks them: frozen lockfile, engines, install paths.
fn check(request: &Install, resolution: Resolution) -> Result<Checked, InstallError> {
    let mut warnings: Vec<String> = resolution
        .tree
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect();
    let (lockfile, text) =
        tracing::info_span!(span::LOCKFILE).in_scope(|| {
            match unchanged_lockfile(request, &resolution) {
                Some((old, old_text)) => Ok((Arc::clone(old), old_text.clone())),
                None => new_lockfile(request, &resolution),
            }
        })?;
    let mut checked = Checked {
        lockfile,
        text,
        warnings: Vec::new(),
        planned: Plan::default(),
        packuments_requested: resolution.packuments_requested,
        locked: resolution.tree.packages.len(),
    };
    if request.lockfile_only {
        checked.warnings = warnings;
        return Ok(checked);
    }
    let mismatches = engine_mismatches(&resolution.tree, &request.node_version);
    if request.engine_strict && !mismatches.is_empty() {
        return Err(InstallError::Engine(mismatches.join("; ")));
    }
    warnings.extend(mismatches.into_iter().map(|m| format!("EBADENGINE {m}")));
    let planned = plan(
        &resolution.tree,
        &request.registry,
        &request.project_dir,
        &request.prepare_git,
        request.omit,
    );
    if let Some(unsafe_path) = planned
        .packages
        .iter()
        .map(|p| &p.path)
        .chain(planned.links.iter().map(|l| &l.path))
        .find(|path| !is_install_path(path))
    {
        return Err(InstallError::UnsafeInstallPath(unsafe_path.clone()));
    }
    checked.warnings = warnings;
    checked.planned = planned;
    Ok(checked)
}

/// The lockfile read from disk and its text, when the install would write
/// both as they are. Found without building a second lockfile where it
/// can be: not when npm's `omit-lockfile-registry-resolved` is on, as which
/// `resolved` fields it leaves out depends on the whole lockfile.
fn unchanged_lockfile<'a>(
    request: &'a Install,
    resolution: &Resolution,
) -> Option<&'a (Arc<Lockfile>, String)> {
    let settings = &request.lockfile_settings;
    request.lockfile.as_ref().filter(|(old, old_text)| {
        !settings.omit_registry_resolved
            && old.lockfile_version == settings.version
            && is_locked_as(
                old,
                &request.package_json,
                &request.project,
                &resolution.tree,
            )
            && old.to_json(&lockfile_format(request)) == *old_text
    })
}

/// The lockfile the install writes and its text, built from the tree (the
/// one read when they are equal, so that one copy is held); with
/// `--frozen-lockfile`, an error saying how it differs from the one read.
fn new_lockfile(
    request: &Install,
    resolution: &Resolution,
) -> Result<(Arc<Lockfile>, String), InstallError> {
    let settings = &request.lockfile_settings;
    let mut lockfile =
        lockfile_from_tree(&request.package_json, &request.project, &resolution.tree);
    if settings.omit_registry_resolved {
        lockfile.omit_registry_resolved();
    }
    lockfile.lockfile_version = settings.version;
    let text = lockfile.to_json(&lockfile_format(request));
    if request.frozen_lockfile {
        let old = request.lockfile.as_ref().map(|(lock, _)| &**lock);
        let differences = lock_differences(old, &lockfile);
        if !differences.is_empty() {
            let path = settings.path.clone();
            return Err(InstallError::FrozenLockfile { path, differences });
        }
    }
    match &request.lockfile {
        Some((old, old_text)) if *old_text == text && **old == lockfile => {
            Ok((Arc::clone(old), text))
        }
        _ => Ok((Arc::new(lockfile), text)),
    }
}

/// Whether the plan has each package placed early, as it was placed, at its path.
fn confirms(planned: &Plan, early: &[PlannedPackage]) -> bool {
    let by_path: HashMap<&str, &PlannedPackage> = planned
        .packages
        .iter()
        .map(|p| (p.path.as_str(), p))
        .collect();
    early
        .iter()
        .all(|package| by_path.get(package.path.as_str()) == Some(&package))
}

/// Removes from `node_modules` what the plan no longer has, keeps what is
/// in place as planned, and places the links outside package folders.
pub(crate) fn place(
    request: &Install,
    mut checked: Checked,
    cache: &CacheLayout,
    in_place: InPlace,
) -> Result<Prepared, InstallError> {
    let node_modules = request.project_dir.join("node_modules");
    let placed_early = match in_place {
        InPlace::Recorded => None,
        InPlace::PlacedEarly(placed) => Some(placed),
    };
    if request.clean {
        remove_node_modules(request, placed_early.is_none())?;
    }
    let _check = tracing::info_span!(span::CHECK_NODE_MODULES).entered();
    let expected_hidden = expected_hidden_lockfile(request, &checked.lockfile, &checked.planned);
    let io_error = |source| InstallError::Io {
        path: node_modules.clone(),
        source,
    };
    let recorded = match placed_early {
        None => Recorded::from_disk(&node_modules, &expected_hidden),
        Some(placed) => Recorded::placed(placed),
    };
    let planned = &mut checked.planned;
    let placement = keep_what_is_in_place(
        &node_modules,
        std::mem::take(&mut planned.packages),
        &planned.links,
        &planned.bundled,
        &recorded,
    )
    .map_err(io_error)?;
    let links_changed =
        place_links(&request.project_dir, &outer_links(&planned.links)).map_err(io_error)?;
    let found = Placement {
        changed: placement.changed || links_changed,
        // What this install placed and took back was never there.
        removed: if placed_early.is_some() {
            0
        } else {
            placement.removed
        },
        ..placement
    };
    Ok(checked.into_prepared(expected_hidden, found, cache))
}

/// With the packages placed ahead of resolution all confirmed, the others
/// are placed beside them; `node_modules` holds nothing else.
fn place_beside_early(
    request: &Install,
    mut checked: Checked,
    cache: &CacheLayout,
    early: &[PlannedPackage],
) -> Result<Prepared, InstallError> {
    if request.clean {
        remove_node_modules(request, false)?;
    }
    let expected_hidden = expected_hidden_lockfile(request, &checked.lockfile, &checked.planned);
    let early: HashSet<&str> = early.iter().map(|p| p.path.as_str()).collect();
    let planned = &mut checked.planned;
    let others: Vec<PlannedPackage> = std::mem::take(&mut planned.packages)
        .into_iter()
        .filter(|p| !early.contains(p.path.as_str()))
        .collect();
    place_links(&request.project_dir, &outer_links(&planned.links)).map_err(|source| {
        InstallError::Io {
            path: request.project_dir.join("node_modules"),
            source,
        }
    })?;
    let found = Placement {
        kept: Vec::new(),
        to_place: others,
        removed: 0,
        changed: true,
        hidden_current: false,
    };
    Ok(checked.into_prepared(expected_hidden, found, cache))
}

impl Checked {
    /// The install, prepared once `node_modules` holds what `found` says.
    fn into_prepared(
        self,
        expected_hidden: String,
        found: Placement,
        cache: &CacheLayout,
    ) -> Prepared {
        Prepared {
            transaction: Transaction {
                new_lockfile: self.text,
                installed_lock: Some((self.lockfile, expected_hidden)),
                links: self.planned.links,
                bundled: self.planned.bundled,
                bins_need_linking: found.changed,
                hidden_lockfile_current: found.hidden_current,
            },
            kept: found.kept,
            to_place: with_cache_entries(found.to_place, cache),
            warnings: self.warnings,
            removed: found.removed,
            packuments_requested: self.packuments_requested,
            locked: self.locked,
        }
    }
}

fn expected_hidden_lockfile(request: &Install, lockfile: &Lockfile, planned: &Plan) -> String {
    hidden_lockfile(
        lockfile,
        &planned.packages,
        &planned.links,
        &planned.bundled,
        &JsonFormat::detect(&request.package_json_text),
    )
}

/// The links outside package folders; a link inside a package's folder
/// goes in once that package is placed.
fn outer_links(links: &[PlannedLink]) -> Vec<PlannedLink> {
    links
        .iter()
        .filter(|link| !link.inside_package())
        .cloned()
        .collect()
}

fn with_cache_entries(
    packages: Vec<PlannedPackage>,
    cache: &CacheLayout,
) -> Vec<(PlannedPackage, Option<CachedEntry>)> {
    packages
        .into_iter()
        .map(|package| {
            let cached = package.download.complete_entry(cache);
            (package, cached)
        })
        .collect()
}

/// Removes the workspaces' `node_modules`, and the project's if `with_root`
/// (a link is removed, not followed), as `npm ci` does once the lockfile is in sync.
fn remove_node_modules(request: &Install, with_root: bool) -> Result<(), InstallError> {
    let members = request
        .project
        .workspaces
        .iter()
        .filter(|w| w.is_inside())
        .map(|w| request.project_dir.join(&w.location));
    let root = with_root.then(|| request.project_dir.clone());
    for folder in root.into_iter().chain(members) {
        let node_modules = folder.join("node_modules");
        remove_any(&node_modules).map_err(|source| InstallError::Io {
            path: node_modules,
            source,
        })?;
    }
    Ok(())
}

/// Places the links that live inside package folders, now that those
/// folders are in place (not in one that failed); true if any changed.
pub(crate) fn link_links_inside_packages(
    request: &Install,
    links: &[PlannedLink],
    placed: &[PlannedPackage],
) -> Result<bool, InstallError> {
    let placed: HashSet<&str> = placed.iter().map(|p| p.path.as_str()).collect();
    let inside: Vec<PlannedLink> = links
        .iter()
        .filter(|link| parent_path(&link.path).is_some_and(|p| placed.contains(p)))
        .cloned()
        .collect();
    place_links(&request.project_dir, &inside).map_err(|source| InstallError::Io {
        path: request.project_dir.join("node_modules"),
        source,
    })
}

/// The bundled packages whose bundler is in place.
fn bundled_in_place<'a>(
    bundled: &'a [PlannedBundled],
    placed: &[PlannedPackage],
) -> Vec<&'a PlannedBundled> {
    let placed: HashSet<&str> = placed.iter().map(|p| p.path.as_str()).collect();
    bundled
        .iter()
        .filter(|b| placed.contains(b.bundler.as_str()))
        .collect()
}

/// The bundled packages that came with a bundler this install placed: as
/// npm rebuilds a bundle, their install scripts run like the bundler's.
pub(crate) fn bundled_placed(
    bundled: &[PlannedBundled],
    placed: &[PlacedPackage],
) -> Vec<PlacedPackage> {
    let placed: HashSet<&str> = placed.iter().map(|p| p.path.as_str()).collect();
    bundled
        .iter()
        .filter(|b| placed.contains(b.bundler.as_str()))
        .map(|b| PlacedPackage {
            path: b.path.clone(),
            name: b.name.clone(),
            version: b.version.clone(),
            optional: b.optional,
            has_install_script: b.has_install_script,
            git_unprepared: false,
        })
        .collect()
}

/// One `LinkBins` per package with bins, labelled `name@version`; the
/// first package (in install-path order) to claim a name in a `.bin`
/// folder keeps it. Bundled packages' bins go into the `.bin` of the
/// `node_modules` they are in, as npm links them.
pub(crate) fn bin_requests(
    request: &Install,
    placed: &[PlannedPackage],
    links: &[PlannedLink],
    bundled: &[PlannedBundled],
) -> Vec<(String, LinkBins)> {
    let bundled = bundled_in_place(bundled, placed).into_iter().map(|b| {
        (
            b.path.as_str(),
            format!("{}@{}", b.name, b.version),
            &b.bins,
        )
    });
    let mut with_bins: Vec<(&str, String, &BTreeMap<String, String>)> = placed
        .iter()
        .map(|p| {
            (
                p.path.as_str(),
                format!("{}@{}", p.name, p.version),
                &p.bins,
            )
        })
        .chain(links.iter().map(|l| {
            (
                l.path.as_str(),
                format!("{}@{}", l.name, l.version),
                &l.bins,
            )
        }))
        .chain(bundled)
        .filter(|(_, _, bins)| !bins.is_empty())
        .collect();
    with_bins.sort_by(|a, b| utoo_npm_collate::compare(a.0, b.0));
    let mut claimed: HashMap<PathBuf, HashSet<String>> = HashMap::new();
    let mut requests = Vec::new();
    for (path, package, bins) in with_bins {
        let Some((prefix, folder)) = path.rsplit_once("node_modules/") else {
            continue;
        };
        let node_modules = request.project_dir.join(prefix).join("node_modules");
        let names = claimed.entry(node_modules.clone()).or_default();
        let bins: BTreeMap<String, String> = bins
            .iter()
            .filter(|(name, _)| names.insert((*name).clone()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        requests.push((
            package,
            LinkBins {
                node_modules,
                package: folder.to_string(),
                bins,
            },
        ));
    }
    requests
}

/// Writes `package-lock.json` when it changed, the hidden lockfile that
/// records what `node_modules` now holds (so the next install keeps it),
/// and the no-op fingerprint; returns whether `package-lock.json` was written.
pub(crate) fn commit(
    request: &Install,
    mut transaction: Transaction,
    placed: &[PlannedPackage],
    any_skipped: bool,
) -> Result<bool, InstallError> {
    let project_dir = &request.project_dir;
    let mut workspaces_added = false;
    if let Some((installed, _)) = transaction.installed_lock.as_mut() {
        let previous = request.lockfile.as_ref().map(|(lock, _)| lock);
        // Unchanged from the lockfile on disk, every entry is one npm keeps as it is.
        let unchanged = previous.is_some_and(|previous| Arc::ptr_eq(previous, installed));
        if !unchanged
            && add_workspaces_from_disk(
                Arc::make_mut(installed),
                previous.map(|previous| &**previous),
                project_dir,
            )
        {
            transaction.new_lockfile = installed.to_json(&lockfile_format(request));
            workspaces_added = true;
        }
    }
    let text = &transaction.new_lockfile;
    let unchanged = request
        .lockfile
        .as_ref()
        .is_some_and(|(_, old)| old == text);
    let written = request.package_lock && request.lockfile_settings.save && !unchanged;
    if written {
        write_atomic(&request.lockfile_settings.path, text)?;
    }
    let node_modules = project_dir.join("node_modules");
    let io_error = |source| InstallError::Io {
        path: node_modules.clone(),
        source,
    };
    if let Some((installed, expected)) = transaction.installed_lock {
        // Optional packages that failed are missing from what was expected.
        let hidden = if !any_skipped && !workspaces_added {
            expected
        } else {
            let placed: Vec<&str> = placed
                .iter()
                .map(|p| p.path.as_str())
                .chain(
                    bundled_in_place(&transaction.bundled, placed)
                        .into_iter()
                        .map(|b| b.path.as_str()),
                )
                .collect();
            let format = JsonFormat::detect(&request.package_json_text);
            hidden_lockfile_of(&installed, &placed, &transaction.links, &format)
        };
        // The file was read before placing: rewrite it only when it didn't
        // match the plan, or optional failures changed what is in place.
        // Not flushed to disk: after a power loss the file may be empty,
        // which the next install (or npm) reads as "nothing known in place".
        if any_skipped || workspaces_added || !transaction.hidden_lockfile_current {
            std::fs::create_dir_all(&node_modules).map_err(io_error)?;
            let path = node_modules.join(HIDDEN_LOCKFILE);
            write_atomic_unflushed(&path, &hidden)
                .map_err(|source| InstallError::Io { path, source })?;
        }
    }
    if !request.lockfile_only {
        crate::state::record(&node_modules, &crate::state::fingerprint(request, text))
            .map_err(io_error)?;
    }
    Ok(written)
}

/// The lockfile's format: package.json's, or one line with npm's
/// `format-package-lock=false`.
fn lockfile_format(request: &Install) -> JsonFormat {
    match request.lockfile_settings.formatted {
        true => JsonFormat::detect(&request.package_json_text),
        false => JsonFormat::compact(),
    }
}

/// How the lockfile on disk differs from the one this install would write,
/// in npm's words: packages missing from it or locked at another version,
/// or a root whose dependencies changed. Empty when they lock the same
/// packages at the same versions for the same root.
fn lock_differences(old: Option<&Lockfile>, new: &Lockfile) -> Vec<String> {
    /// Enough to act on; the rest is counted.
    const SHOWN: usize = 5;
    let Some(old) = old else {
        return vec!["there is no lockfile".to_string()];
    };
    let label = |path: &str, version: Option<&String>| {
        let name = path.rsplit("node_modules/").next().unwrap_or(path);
        format!("{name}@{}", version.map_or("?", String::as_str))
    };
    let mut differences = Vec::new();
    let root = |lock: &Lockfile| {
        lock.packages.get("").map(|e| {
            (
                e.dependencies.clone(),
                e.dev_dependencies.clone().unwrap_or_default(),
                e.optional_dependencies.clone(),
                e.peer_dependencies.clone(),
            )
        })
    };
    if root(old) != root(new) {
        differences.push("package.json's dependencies are not the lock file's".to_string());
    }
    for (path, entry) in new.packages.iter().filter(|(path, _)| !path.is_empty()) {
        match old.packages.get(path) {
            None => differences.push(format!(
                "Missing: {} from lock file",
                label(path, entry.version.as_ref())
            )),
            Some(locked)
                if (&locked.version, &locked.integrity) != (&entry.version, &entry.integrity) =>
            {
                differences.push(format!(
                    "Invalid: lock file's {} does not satisfy {}",
                    label(path, locked.version.as_ref()),
                    label(path, entry.version.as_ref())
                ))
            }
            Some(_) => {}
        }
    }
    for (path, entry) in old.packages.iter() {
        if !path.is_empty() && !new.packages.contains_key(path) {
            differences.push(format!(
                "Extraneous: {} in lock file",
                label(path, entry.version.as_ref())
            ));
        }
    }
    if differences.len() > SHOWN {
        let more = differences.len() - SHOWN;
        differences.truncate(SHOWN);
        differences.push(format!("and {more} more"));
    }
    differences
}
