//! `utoo install`: reads the project, starts the actors and reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, Arbiter, SyncArbiter};
use anyhow::{bail, Context as _};
use serde_json::{json, Value};
use utoo_clone_actor::{CloneActor, SharedStrategy};
use utoo_extract_actor::ExtractActor;
use utoo_fetch_actor::FetchActor;
use utoo_git::{Preparer, PREPARING_VAR};
use utoo_install_trace::Fields;
use utoo_lifecycle_scripts::{
    run_dependency_scripts, run_project_scripts, run_workspace_scripts, trusted_names, Dependency,
};
use utoo_npm_types::{NodeVersion, Platform, Registries, NPM_REGISTRY};
use utoo_package_cache::{CacheLayout, PackumentPolicy};
use utoo_registry_client::{ClientConfig, RegistryClient, SizeLimits};
use utoo_resolver_actor::{LocalPackage, Project, ResolverActor};
use utoo_supervisor::{
    fingerprint, up_to_date, Actors, Install, InstallReport, Limits, Omit, PlacedPackage,
    Supervisor,
};

use crate::commands::update;
use crate::config::{cache_dir, packument_policy, CacheFlags, NpmConfig};
use crate::edit::{self, SaveTo};
use crate::lockfile::{lockfile_settings, read_lockfile, ProjectLockfile};
use crate::node;
use crate::observe::{self, Observe};
use crate::open_files;
use crate::{InstallArgs, OmitKind};

/// Packument and tarball requests in flight at once.
const MAX_PACKUMENTS_IN_FLIGHT: usize = 64;
/// Tarball requests in flight unless `--network-concurrency` says otherwise.
const DEFAULT_NETWORK_CONCURRENCY: usize = 64;

/// A change to package.json made before installing, saved once the install succeeds.
#[derive(Clone)]
pub(crate) enum Edit {
    None,
    Add {
        specs: Vec<String>,
        save_to: SaveTo,
        exact: bool,
    },
    Remove(Vec<String>),
    /// `update`: these packages (all when empty) re-resolved within their
    /// ranges; with `save`, package.json's ranges follow.
    Update {
        names: Vec<String>,
        save: bool,
    },
    /// `update --latest`: these dependencies (all when empty) saved as
    /// `install <name>@latest` saves them.
    Latest(Vec<String>),
}

/// A package.json edited by `install <spec>` or `uninstall`.
struct Edited {
    text: String,
    /// Added dependencies this install resolves with another spec than the
    /// one saved (see [`edit::AddedSpec`]).
    resolve_with: Vec<(String, String)>,
}

/// Applies `edit` to the manifest; returns the new text, or `None` when nothing changes.
fn apply_edit(
    edit: Edit,
    text: &str,
    package_json: &mut Value,
    settings: &edit::SaveSettings<'_>,
    workspaces: &[LocalPackage],
) -> anyhow::Result<Option<Edited>> {
    let mut resolve_with = Vec::new();
    match edit {
        Edit::None => return Ok(None),
        Edit::Add {
            specs,
            save_to,
            exact,
        } => {
            let mut additions = Vec::new();
            for arg in &specs {
                let (name, spec) = edit::split_spec(arg)?;
                // A workspace is saved at its own version, as npm does.
                let member = workspaces.iter().find(|w| w.manifest.name == name);
                let settings = edit::SaveSettings {
                    prefix: if exact { "" } else { settings.prefix },
                    ..*settings
                };
                let saved = match (member, &spec) {
                    (Some(member), None) => {
                        format!("{}{}", settings.prefix, member.manifest.version)
                    }
                    _ => {
                        let added = edit::spec_to_save(&name, spec.as_deref(), &settings)?;
                        if added.resolved_as != added.saved {
                            resolve_with.push((name.clone(), added.resolved_as));
                        }
                        added.saved
                    }
                };
                additions.push((name, saved));
            }
            edit::add_dependencies(package_json, &additions, save_to);
        }
        Edit::Remove(names) => {
            if !edit::remove_dependencies(package_json, &names) {
                eprintln!("warn: {} not listed in package.json", names.join(", "));
            }
        }
        Edit::Update { save: false, .. } => return Ok(None),
        Edit::Update { names, save: true } => {
            if !update::save_wanted(package_json, &names, settings)? {
                return Ok(None);
            }
        }
        Edit::Latest(names) => {
            resolve_with = update::save_latest(package_json, &names, settings)?;
        }
    }
    Ok(Some(Edited {
        text: edit::format_like(text, package_json)?,
        resolve_with,
    }))
}

pub(crate) fn run(mut args: InstallArgs, verbose: u8, edit: Edit) -> anyhow::Result<()> {
    let started = Instant::now();
    let updating = match &edit {
        Edit::Update { names, .. } => Some(names.clone()),
        _ => None,
    };
    let (project_dir, workspace_here) = args.registry.project()?;
    // As npm does: in a workspace's folder, work on the whole project, with
    // edits going to that workspace.
    if let Some(location) = workspace_here {
        if args.workspace.is_empty() && !args.workspaces {
            args.workspace.push(location);
        }
    }
    let observers = observe::init(Observe {
        verbose,
        silent: args.silent,
        trace: args.trace.clone(),
        timings: args.timings.then(|| project_dir.join("utoo-timings.html")),
    });
    let config = NpmConfig::load(&project_dir);
    for setting in config
        .unsupported_settings()
        .iter()
        .filter(|_| !args.silent)
    {
        eprintln!(
            "warn: the npm setting {setting} is not supported by utoo and is ignored; the tree and lockfile may differ from npm's"
        );
    }
    let RegistrySettings {
        url: registry_url,
        registries: registry,
        cache_root,
        policy,
        http,
    } = args.registry.settings(&config)?;
    let cache = CacheLayout::new(cache_root.clone());
    let packument_cache = cache.packuments();
    let sizes = SizeLimits {
        packument: args.max_packument_size.saturating_mul(1 << 20),
        tarball: args.max_package_size.saturating_mul(1 << 20),
    };
    // npm's save-exact and save-prefix (from .npmrc or npm_config_*).
    let save_prefix = match config.flag("save-exact") {
        true => "",
        false => config.get("save-prefix").unwrap_or("^"),
    };
    let save_settings = edit::SaveSettings {
        registries: &registry,
        http: &http,
        packuments: &packument_cache,
        policy,
        max_packument_bytes: sizes.packument,
        prefix: save_prefix,
        cache_root: &cache_root,
    };
    // npm's package-lock=false: no lockfile is read or written.
    let package_lock = !args.no_package_lock && config.get("package-lock") != Some("false");
    // As npm, `install <spec>` in a folder without package.json starts one
    // (written only once the install succeeds).
    let adding = matches!(edit, Edit::Add { .. });
    let (original_text, mut package_json) =
        match adding && !project_dir.join("package.json").exists() {
            true => (String::from("{}\n"), Value::Object(serde_json::Map::new())),
            false => read_package_json(&project_dir)?,
        };
    let mut project = Project::load(&project_dir, &package_json)?;
    let members = selected_workspaces(&project, &args.workspace, args.workspaces)?;
    let mut saves: Vec<(PathBuf, String)> = Vec::new();
    if members.is_empty() {
        let edited = apply_edit(
            edit,
            &original_text,
            &mut package_json,
            &save_settings,
            &project.workspaces,
        )?;
        if let Some(edited) = edited {
            project = Project::load(&project_dir, &package_json)?;
            for (name, spec) in &edited.resolve_with {
                project.resolve_added_with(name, spec);
            }
            saves.push((project_dir.clone(), edited.text));
        }
    } else {
        for index in members {
            let member_dir = project_dir.join(&project.workspaces[index].location);
            let (text, mut member_json) = read_package_json(&member_dir)?;
            let Some(edited) = apply_edit(
                edit.clone(),
                &text,
                &mut member_json,
                &save_settings,
                &project.workspaces,
            )?
            else {
                continue;
            };
            let member = &mut project.workspaces[index];
            *member = LocalPackage::from_package_json(&member.location, member_json);
            for (name, spec) in &edited.resolve_with {
                member.resolve_added_with(name, spec);
            }
            saves.push((member_dir, edited.text));
        }
    }
    for (dir, _) in &saves {
        edit::check_writable(dir)?;
    }
    let package_json_text = match saves.first() {
        Some((dir, text)) if *dir == project_dir => text.clone(),
        _ => original_text,
    };
    let package_json_for_scripts = package_json.clone();
    let workspaces_for_scripts: Vec<(PathBuf, Arc<Value>)> = project
        .workspaces
        .iter()
        .map(|w| (project_dir.join(&w.location), w.package_json.clone()))
        .collect();
    let project_lockfile = match package_lock {
        true => read_lockfile(&project_dir)?,
        false => ProjectLockfile::none(&project_dir),
    };
    let lockfile_settings = lockfile_settings(&args, &config, &project_lockfile)?;
    // npm's package-lock-only, from the command line or the settings.
    let lockfile_only = args.lockfile_only || config.flag("package-lock-only");
    let omit = Omit {
        dev: args.production || args.omit.contains(&OmitKind::Dev),
        optional: args.omit.contains(&OmitKind::Optional),
        peer: args.omit.contains(&OmitKind::Peer),
    };
    let ignore_scripts = args.ignore_scripts || config.flag("ignore-scripts");
    // A git dependency's `prepare` runs under the same trust as install scripts.
    let prepare_git = match ignore_scripts || lockfile_only {
        true => Default::default(),
        false => trusted_names(&package_json, &args.allow_scripts),
    };
    let preparer = git_preparer(&registry_url, &cache_root)?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let requests_room = open_files::requests_room_per_kind();
    let limits = Limits {
        extract_capacity: args.extract_capacity.unwrap_or((2 * cores).max(4)).max(1),
        clone_capacity: args.clone_capacity.unwrap_or(cores.max(2)).max(1),
        network_concurrency: args
            .network_concurrency
            .unwrap_or(DEFAULT_NETWORK_CONCURRENCY.min(requests_room)),
    };
    let packuments_in_flight = MAX_PACKUMENTS_IN_FLIGHT.min(requests_room);
    let mut install = Install {
        project_dir: project_dir.clone(),
        package_json,
        package_json_text,
        project,
        lockfile: None,
        registry,
        node_version: {
            let cache_root = cache_root.clone();
            NodeVersion::new(move || node::node_version(&cache_root))
        },
        platform: Platform::current(),
        legacy_peer_deps: args.legacy_peer_deps || config.flag("legacy-peer-deps"),
        lockfile_only,
        frozen_lockfile: args.frozen_lockfile,
        engine_strict: args.engine_strict || config.flag("engine-strict"),
        omit,
        clean: args.clean,
        package_lock,
        prepare_git,
        lockfile_settings,
    };
    let install_saves = install.lockfile_settings.save;
    let unchanged = !install.clean
        && updating.is_none()
        && project_lockfile
            .text
            .as_deref()
            .is_some_and(|text| nothing_changed(&install, text));
    let outcome = if unchanged {
        Ok(InstallReport::default())
    } else {
        let lockfile = project_lockfile.parse()?;
        install.lockfile = match &updating {
            Some(names) => lockfile.and_then(|(lock, text)| {
                update::prune_lockfile(&lock, names).map(|pruned| (Arc::new(pruned), text))
            }),
            None => lockfile,
        };
        if args.frozen_lockfile && install.lockfile.is_none() {
            bail!(
                "no package-lock.json in {}: `utoo ci` and --frozen-lockfile install from one",
                project_dir.display()
            );
        }
        let settings = ActorSettings {
            cache,
            policy,
            limits,
            packuments_in_flight,
            http,
            sizes,
            preparer,
        };
        run_actors(install, settings)
    };
    let trace_limits = Fields::from([
        (
            "download_capacity".to_string(),
            json!(limits.network_concurrency),
        ),
        (
            "packument_capacity".to_string(),
            json!(packuments_in_flight),
        ),
        (
            "extract_capacity".to_string(),
            json!(limits.extract_capacity),
        ),
        (
            "extract_backlog_bound".to_string(),
            json!(limits.max_extract_backlog()),
        ),
        ("clone_capacity".to_string(), json!(limits.clone_capacity)),
    ]);
    observers.finish(&trace_limits, started.elapsed().as_secs_f64())?;
    let mut report = outcome?;
    // npm's save=false leaves package.json as it was.
    if install_saves {
        for (dir, text) in &saves {
            edit::save(dir, text)?;
        }
    }
    if !ignore_scripts {
        let unprepared = unprepared_git_dependencies(&project_dir, &report);
        report.warnings.extend(unprepared);
    }
    let skipped_scripts = match lockfile_only || ignore_scripts {
        true => Vec::new(),
        false => run_scripts(
            &project_dir,
            &package_json_for_scripts,
            &workspaces_for_scripts,
            &args.allow_scripts,
            &mut report,
        )?,
    };
    if args.silent {
        return Ok(());
    }
    for warning in &report.warnings {
        eprintln!("warn: {warning}");
    }
    if !skipped_scripts.is_empty() {
        let names = skipped_scripts.join(",");
        eprintln!(
            "note: install scripts of {} were not run because they are not trusted: {}\n      to run them, list them in package.json \"trustedDependencies\" or pass --allow-scripts={names}",
            packages(skipped_scripts.len()),
            skipped_scripts.join(", "),
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    if lockfile_only {
        println!("locked {} in {seconds:.2}s", packages(report.locked));
    } else {
        println!("{} in {seconds:.2}s", changes(&report));
    }
    Ok(())
}

/// Runs trusted dependencies' install scripts, then the workspaces' own
/// (in folder order), then the project's; returns the names of packages
/// whose scripts were skipped.
fn run_scripts(
    project_dir: &Path,
    package_json: &Value,
    workspaces: &[(PathBuf, Arc<Value>)],
    allow_scripts: &[String],
    report: &mut InstallReport,
) -> anyhow::Result<Vec<String>> {
    let trusted = trusted_names(package_json, allow_scripts);
    // A `binding.gyp` means an implicit `node-gyp rebuild`, even when the
    // registry doesn't flag the package as having install scripts.
    let has_scripts = |p: &PlacedPackage| {
        p.has_install_script
            || (trusted.contains(&p.name)
                && project_dir.join(&p.path).join("binding.gyp").is_file())
    };
    let dependencies: Vec<Dependency> = report
        .placed
        .iter()
        .filter(|p| has_scripts(p))
        .map(|p| Dependency {
            dir: project_dir.join(&p.path),
            name: p.name.clone(),
            version: p.version.clone(),
            optional: p.optional,
        })
        .collect();
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let outcome = run_dependency_scripts(project_dir, &dependencies, &trusted, parallel)?;
    report.warnings.extend(outcome.warnings);
    for (dir, workspace_json) in workspaces {
        run_workspace_scripts(project_dir, dir, workspace_json)?;
    }
    run_project_scripts(project_dir, package_json)?;
    Ok(outcome.skipped)
}

/// How git dependencies are prepared: this `utoo` installs their
/// dependencies (dev ones included, no scripts) with the same registry and
/// cache; the git dependencies the installs above this one are preparing
/// come from [`PREPARING_VAR`].
fn git_preparer(registry: &str, cache_root: &Path) -> anyhow::Result<Preparer> {
    let program = std::env::current_exe().context("finding the utoo program")?;
    // The nested install runs in another folder.
    let cache_root = std::path::absolute(cache_root)
        .with_context(|| format!("resolving the cache folder {}", cache_root.display()))?;
    let args = [
        "install",
        "--ignore-scripts",
        "--silent",
        "--registry",
        registry,
        "--cache-dir",
    ]
    .iter()
    .map(|arg| arg.to_string())
    .chain([cache_root.display().to_string()])
    .collect();
    let preparing = std::env::var(PREPARING_VAR)
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Preparer {
        program,
        args,
        preparing,
    })
}

/// Warnings for the git dependencies placed without running their
/// `prepare` script because they are not trusted (by their package name,
/// which is what trust is checked against).
fn unprepared_git_dependencies(project_dir: &Path, report: &InstallReport) -> Vec<String> {
    let manifest = |path: &str| -> Option<Value> {
        let text = std::fs::read_to_string(project_dir.join(path).join("package.json")).ok()?;
        serde_json::from_str(&text).ok()
    };
    report
        .placed
        .iter()
        .filter(|p| p.git_unprepared)
        .filter_map(|p| {
            let manifest = manifest(&p.path)?;
            manifest.get("scripts")?.get("prepare")?;
            let name = manifest.get("name")?.as_str()?;
            Some(format!(
                "{name}@{version}: the prepare script of this git dependency was not run because it is not trusted; to run it, list {name:?} in package.json \"trustedDependencies\" or pass --allow-scripts={name}",
                version = p.version,
            ))
        })
        .collect()
}

/// The project whose workspaces include `dir`, and `dir`'s location in it.
/// The project `dir` is in, as npm finds it: the nearest folder, `dir`
/// itself or above it, with a package.json; `dir` when there is none.
pub(crate) fn project_folder(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|folder| folder.join("package.json").is_file())
        .unwrap_or(dir)
        .to_path_buf()
}

pub(crate) fn workspace_root(dir: &Path) -> Option<(PathBuf, String)> {
    dir.ancestors().skip(1).find_map(|root| {
        let text = std::fs::read_to_string(root.join("package.json")).ok()?;
        let package_json: Value = serde_json::from_str(&text).ok()?;
        package_json.get("workspaces")?;
        let location = dir
            .strip_prefix(root)
            .ok()?
            .to_string_lossy()
            .replace('\\', "/");
        let members = utoo_resolver_actor::find_workspaces(root, &package_json).ok()?;
        members
            .iter()
            .any(|m| m.location == location)
            .then(|| (root.to_path_buf(), location))
    })
}

/// The workspaces `-w` names (by name or folder), or all with `--workspaces`.
fn selected_workspaces(
    project: &Project,
    names: &[String],
    all: bool,
) -> anyhow::Result<Vec<usize>> {
    if all {
        if project.workspaces.is_empty() {
            bail!("--workspaces: this project has no workspaces");
        }
        return Ok((0..project.workspaces.len()).collect());
    }
    names
        .iter()
        .map(|wanted| {
            let wanted_path = wanted.trim_start_matches("./").trim_end_matches('/');
            project
                .workspaces
                .iter()
                .position(|w| w.manifest.name == *wanted || w.location == wanted_path)
                .with_context(|| format!("no workspace named {wanted:?} in this project"))
        })
        .collect()
}

/// Ctrl-C during an install. The cache stays consistent: entries appear only
/// by an atomic rename once complete, and unfinished ones live in its `tmp/`.
#[derive(Debug, thiserror::Error)]
#[error("interrupted: the install stopped before it finished; node_modules may be incomplete (run utoo install again); the cache is consistent")]
pub(crate) struct Interrupted;

/// Where packages come from and how cached packuments are used: what an
/// install and the commands that read packuments (`outdated`, `update`)
/// work out alike from their flags and the npm settings.
pub(crate) struct RegistrySettings {
    /// The default registry's URL.
    pub(crate) url: String,
    /// It, with the scoped registries of the settings.
    pub(crate) registries: Registries,
    pub(crate) cache_root: PathBuf,
    pub(crate) policy: PackumentPolicy,
    pub(crate) http: ClientConfig,
}

/// The registry: `registry` (the flag), else the settings', else npm's;
/// the cache folder: `cache_dir` (the flag), else `UTOO_CACHE_DIR`, else
/// the user's cache.
pub(crate) fn registry_settings(
    config: &NpmConfig,
    registry: Option<String>,
    cache_dir_flag: Option<PathBuf>,
    flags: CacheFlags,
) -> anyhow::Result<RegistrySettings> {
    let url = registry
        .or_else(|| config.get("registry").map(str::to_string))
        .unwrap_or_else(|| NPM_REGISTRY.to_string());
    check_registry_url(&url)?;
    let registries = config
        .scoped_registries()
        .into_iter()
        .fold(Registries::new(url.clone()), |r, (scope, scoped)| {
            r.with_scope(&scope, &scoped)
        });
    let cache_root =
        cache_dir(cache_dir_flag).context("no cache folder: set --cache-dir or UTOO_CACHE_DIR")?;
    let policy = packument_policy(config, flags);
    let http = ClientConfig {
        offline: policy == PackumentPolicy::CachedOnly,
        ..http_config(config)
    };
    Ok(RegistrySettings {
        url,
        registries,
        cache_root,
        policy,
        http,
    })
}

/// npm's network settings: `fetch-timeout` (per request, ms), `fetch-retries`
/// (retries after the first attempt), `fetch-retry-mintimeout` and
/// `fetch-retry-maxtimeout` (backoff bounds, ms), and the TLS and proxy keys.
pub(crate) fn http_config(config: &NpmConfig) -> ClientConfig {
    let defaults = ClientConfig::default();
    let millis = |key: &str| {
        config
            .get(key)
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
    };
    ClientConfig {
        auth_tokens: config.auth_tokens(),
        attempts: config
            .get("fetch-retries")
            .and_then(|v| v.parse::<u32>().ok())
            .map_or(defaults.attempts, |retries| retries + 1),
        base_delay: millis("fetch-retry-mintimeout").unwrap_or(defaults.base_delay),
        max_delay: millis("fetch-retry-maxtimeout").unwrap_or(defaults.max_delay),
        read_timeout: millis("fetch-timeout").unwrap_or(defaults.read_timeout),
        strict_ssl: config.strict_ssl(),
        ca_file: config.ca_file(),
        ca_pem: config.ca(),
        proxy: config.proxy(),
        ..defaults
    }
}

/// An install whose manifest, lockfile and options are exactly those of the
/// last install into this `node_modules` has nothing to do.
fn nothing_changed(install: &Install, lockfile_text: &str) -> bool {
    !install.lockfile_only
        && up_to_date(
            &install.project_dir.join("node_modules"),
            &fingerprint(install, lockfile_text),
        )
}

/// What the install changed, as npm says it: `added 2 packages, removed 1
/// package`, or `up to date`.
fn changes(report: &InstallReport) -> String {
    let mut parts = Vec::new();
    if report.added > 0 {
        parts.push(format!("added {}", packages(report.added)));
    }
    if report.removed > 0 {
        parts.push(format!("removed {}", packages(report.removed)));
    }
    match parts.is_empty() {
        true => "up to date".to_string(),
        false => parts.join(", "),
    }
}

fn packages(count: usize) -> String {
    match count {
        1 => "1 package".to_string(),
        n => format!("{n} packages"),
    }
}

/// What the actors of an install are started with.
struct ActorSettings {
    cache: CacheLayout,
    policy: PackumentPolicy,
    limits: Limits,
    packuments_in_flight: usize,
    http: ClientConfig,
    sizes: SizeLimits,
    preparer: Preparer,
}

fn run_actors(install: Install, settings: ActorSettings) -> anyhow::Result<InstallReport> {
    let ActorSettings {
        cache,
        policy,
        limits,
        packuments_in_flight,
        http,
        sizes,
        preparer,
    } = settings;
    let system = actix::System::new();
    let outcome = system.block_on(async move {
        // The resolver and the fetch actor each get a thread of their own:
        // their work overlaps, and traces show one track per actor.
        let resolver_client = RegistryClient::new(&http)?;
        let resolver_cache = cache.clone();
        let packuments = cache.packuments();
        let resolver = ResolverActor::start_in_arbiter(&Arbiter::new().handle(), move |_| {
            ResolverActor::new(resolver_client, packuments_in_flight)
                .with_size_limits(sizes)
                .with_cache(resolver_cache)
                .with_packument_cache(packuments, policy)
        });
        let fetch_client = RegistryClient::new(&http)?;
        let fetch = FetchActor::start_in_arbiter(&Arbiter::new().handle(), move |_| {
            FetchActor::new(fetch_client, limits.network_concurrency)
                .with_max_tarball_bytes(sizes.tarball)
                .with_git_preparer(preparer)
        });
        // --max-package-size bounds both the tarball and what it unpacks to.
        let extract = {
            let worker = ExtractActor::new(cache.clone()).with_max_unpacked_bytes(sizes.tarball);
            SyncArbiter::start(limits.extract_capacity, move || worker.clone())
        };
        let cloner = CloneActor::new(SharedStrategy::default());
        let clone = SyncArbiter::start(limits.clone_capacity, move || cloner.clone());
        let actors = Actors {
            resolver: resolver.recipient(),
            fetch: fetch.recipient(),
            extract: extract.recipient(),
            clone: clone.clone().recipient(),
            link_bins: clone.recipient(),
        };
        let supervisor = Supervisor::new(actors, cache, limits).start();
        tokio::select! {
            outcome = supervisor.send(install) => {
                anyhow::Ok(outcome.context("the supervisor stopped")??)
            }
            _ = tokio::signal::ctrl_c() => Err(Interrupted.into()),
        }
    });
    // Tearing the runtime down waits for idle blocking threads; the install is
    // complete and nothing is left to flush, so the process may simply end.
    std::mem::forget(system);
    outcome
}

pub(crate) fn read_package_json(project_dir: &Path) -> anyhow::Result<(String, Value)> {
    let path = project_dir.join("package.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "no package.json in {}: run utoo in a project folder",
                project_dir.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not valid JSON (line {}, column {}): {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if !value.is_object() {
        bail!("{} must hold a JSON object", path.display());
    }
    check_dependency_fields(&path, &value)?;
    Ok((text, value))
}

/// A registry must be an http(s) URL: said at once, rather than after
/// retries fail on every request.
pub(crate) fn check_registry_url(registry: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(registry).ok();
    let usable = parsed
        .as_ref()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !usable {
        bail!(
            "the registry {registry:?} is not an http(s) URL; set --registry, `registry=` in .npmrc or npm_config_registry to one such as {NPM_REGISTRY}"
        );
    }
    Ok(())
}

/// npm's dependency fields must be objects; anything else is a mistake in
/// package.json, not an empty list.
fn check_dependency_fields(path: &Path, package_json: &Value) -> anyhow::Result<()> {
    for field in [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ] {
        match package_json.get(field) {
            None | Some(Value::Object(_)) => {}
            Some(other) => bail!(
                "{}: \"{field}\" must be an object of package names and version ranges, not {}",
                path.display(),
                json_kind(other)
            ),
        }
    }
    Ok(())
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
