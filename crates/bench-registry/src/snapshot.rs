//! Taking a snapshot: fetch the packuments of a fixture's dependency
//! closure (see [`crate::closure`]), store both packument forms, then
//! download the tarballs of every included version that can run here.
//! Files already in the snapshot are reused, so an interrupted snapshot
//! resumes where it stopped.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use futures::{stream, StreamExt, TryStreamExt};
use nodejs_semver::Version;
use serde_json::{json, Value};
use thiserror::Error;
use utoo_npm_types::{packument_url, Integrity, Platform};
use utoo_registry_client::{HttpError, RegistryClient, SizeLimits};

use crate::closure::Closure;
use crate::corgi::{abbreviate, rewrite_tarballs, CorgiError, REGISTRY_PLACEHOLDER};
use crate::layout::{classify, Form, Layout, Target};
use crate::model::{PackageDoc, VersionInfo};

const FULL_ACCEPT: &str = "application/json";
const TARBALL_ACCEPT: &str = "*/*";

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("could not read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("could not write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{path} is not a package.json: {source}")]
    Fixture {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("packument of {name}: {source}")]
    Json {
        name: String,
        source: serde_json::Error,
    },
    #[error("packument of {name}: {source}")]
    Corgi { name: String, source: CorgiError },
    #[error("{name} is not a name the snapshot can store")]
    OddName { name: String },
    #[error("{name}@{version}: {reason}")]
    Tarball {
        name: String,
        version: String,
        reason: String,
    },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("a snapshot task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// What to snapshot and from where.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    pub fixture_dir: PathBuf,
    pub snapshot_dir: PathBuf,
    /// Ends with `/`.
    pub registry: String,
    /// The Node.js version whose `engines` compatibility npm prefers.
    pub node: Option<Version>,
    /// Requests in flight.
    pub concurrency: usize,
}

/// What a snapshot holds; also written to `snapshot.json`.
#[derive(Debug, Clone, Default)]
pub struct SnapshotReport {
    pub packuments: usize,
    pub versions: usize,
    pub tarballs: usize,
    pub tarball_bytes: u64,
    pub downloaded: usize,
    /// `name@version` whose `os`/`cpu` exclude linux-x64: no tarball.
    pub other_platform: Vec<String>,
    pub unavailable: Vec<String>,
    pub unsatisfied: Vec<String>,
    pub skipped: Vec<String>,
}

pub async fn take_snapshot(
    client: &RegistryClient,
    options: &SnapshotOptions,
) -> Result<SnapshotReport, SnapshotError> {
    let layout = Layout::new(&options.snapshot_dir);
    let roots = read_roots(&options.fixture_dir)?;
    let mut closure = Closure::new(
        roots.iter().map(|(n, s)| (n.as_str(), s.as_str())),
        options.node.clone(),
    );
    let mut packuments: HashMap<String, PackageDoc> = HashMap::new();
    loop {
        let missing = closure.expand(|name| packuments.get(name));
        if missing.is_empty() {
            break;
        }
        tracing::info!(
            known = packuments.len(),
            fetching = missing.len(),
            "packuments"
        );
        let fetched: Vec<(String, Option<PackageDoc>)> = stream::iter(missing)
            .map(|name| load_packument(client, &layout, &options.registry, name))
            .buffer_unordered(options.concurrency)
            .try_collect()
            .await?;
        for (name, packument) in fetched {
            match packument {
                Some(packument) => {
                    packuments.insert(name, packument);
                }
                None => {
                    tracing::warn!(name, "no such package in the registry");
                    closure.mark_unavailable(&name);
                }
            }
        }
    }
    let mut report = SnapshotReport {
        packuments: packuments.len(),
        versions: closure.versions().values().map(|v| v.len()).sum(),
        unavailable: closure.unavailable().iter().cloned().collect(),
        unsatisfied: closure
            .unsatisfied()
            .iter()
            .map(|e| format!("{}@{}", e.name, e.spec))
            .collect(),
        skipped: closure
            .skipped()
            .iter()
            .map(|e| format!("{}@{}", e.name, e.spec))
            .collect(),
        ..SnapshotReport::default()
    };
    let linux_x64 = Platform {
        os: "linux".into(),
        cpu: "x64".into(),
        libc: None,
    };
    let mut wanted = Vec::new();
    for (name, versions) in closure.versions() {
        let Some(packument) = packuments.get(name) else {
            continue;
        };
        for manifest in versions.iter().filter_map(|v| packument.versions.get(v)) {
            if linux_x64.allows(&manifest.os, &manifest.cpu, &[]) {
                wanted.push((name.as_str(), manifest));
            } else {
                report
                    .other_platform
                    .push(format!("{name}@{}", manifest.version));
            }
        }
    }
    tracing::info!(tarballs = wanted.len(), "tarballs");
    let sizes: Vec<(u64, bool)> = stream::iter(wanted)
        .map(|(name, manifest)| load_tarball(client, &layout, &options.registry, name, manifest))
        .buffer_unordered(options.concurrency)
        .try_collect()
        .await?;
    report.tarballs = sizes.len();
    report.tarball_bytes = sizes.iter().map(|(size, _)| size).sum();
    report.downloaded = sizes.iter().filter(|(_, downloaded)| *downloaded).count();
    write_summary(&layout, options, &closure, &report)?;
    Ok(report)
}

/// The root's dependencies of every kind.
fn read_roots(fixture_dir: &Path) -> Result<Vec<(String, String)>, SnapshotError> {
    let path = fixture_dir.join("package.json");
    let text = std::fs::read(&path).map_err(|source| SnapshotError::Read {
        path: path.clone(),
        source,
    })?;
    let manifest: Value =
        serde_json::from_slice(&text).map_err(|source| SnapshotError::Fixture { path, source })?;
    let kinds = [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ];
    Ok(kinds
        .iter()
        .filter_map(|kind| manifest.get(*kind).and_then(Value::as_object))
        .flat_map(|deps| deps.iter())
        .filter_map(|(name, spec)| Some((name.clone(), spec.as_str()?.to_owned())))
        .collect())
}

/// The packument of `name`, from the snapshot or fetched and stored;
/// `None` when the registry has no such package.
async fn load_packument(
    client: &RegistryClient,
    layout: &Layout,
    registry: &str,
    name: String,
) -> Result<(String, Option<PackageDoc>), SnapshotError> {
    if !matches!(
        classify(&format!("/{name}")),
        Some(Target::Packument { .. })
    ) {
        return Err(SnapshotError::OddName { name });
    }
    let full_path = layout.packument(&name, Form::Full);
    let corgi_path = layout.packument(&name, Form::Abbreviated);
    if full_path.exists() && corgi_path.exists() {
        let packument = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&full_path).map_err(|source| SnapshotError::Read {
                path: full_path,
                source,
            })?;
            let packument =
                PackageDoc::from_slice(&bytes).map_err(|source| SnapshotError::Json {
                    name: name.clone(),
                    source,
                })?;
            Ok::<_, SnapshotError>((name, Some(packument)))
        });
        return packument.await?;
    }
    let body = match client
        .get(
            &packument_url(registry, &name),
            FULL_ACCEPT,
            None,
            SizeLimits::default().packument,
        )
        .await
    {
        Ok(body) => body,
        Err(HttpError::NotFound { .. }) => return Ok((name, None)),
        Err(error) => return Err(error.into()),
    };
    let layout = layout.clone();
    let packument = tokio::task::spawn_blocking(move || {
        store_packument(&layout, &name, &body).map(|p| (name, p))
    });
    let (name, packument) = packument.await??;
    Ok((name, Some(packument)))
}

/// Writes both forms of a fetched packument; tarball URLs point at the
/// placeholder the server replaces.
fn store_packument(layout: &Layout, name: &str, body: &[u8]) -> Result<PackageDoc, SnapshotError> {
    let json_error = |source| SnapshotError::Json {
        name: name.to_owned(),
        source,
    };
    let mut full: Value = serde_json::from_slice(body).map_err(json_error)?;
    rewrite_tarballs(&mut full, REGISTRY_PLACEHOLDER);
    let corgi = abbreviate(&full).map_err(|source| SnapshotError::Corgi {
        name: name.to_owned(),
        source,
    })?;
    write_atomically(
        &layout.packument(name, Form::Abbreviated),
        &serde_json::to_vec(&corgi).map_err(json_error)?,
    )?;
    write_atomically(
        &layout.packument(name, Form::Full),
        &serde_json::to_vec(&full).map_err(json_error)?,
    )?;
    Ok(PackageDoc::from_value(&full))
}

/// Makes sure the tarball of `manifest` is in the snapshot; returns its
/// size and whether it was downloaded now.
async fn load_tarball(
    client: &RegistryClient,
    layout: &Layout,
    registry: &str,
    name: &str,
    manifest: &VersionInfo,
) -> Result<(u64, bool), SnapshotError> {
    let fail = |reason: String| SnapshotError::Tarball {
        name: name.to_owned(),
        version: manifest.version.clone(),
        reason,
    };
    let relative = manifest
        .tarball
        .strip_prefix(REGISTRY_PLACEHOLDER)
        .filter(|relative| {
            matches!(
                classify(&format!("/{relative}")),
                Some(Target::Tarball { .. })
            )
        })
        .ok_or_else(|| fail(format!("odd tarball URL {}", manifest.tarball)))?;
    let path = layout.tarball(relative);
    if let Ok(metadata) = std::fs::metadata(&path) {
        return Ok((metadata.len(), false));
    }
    let integrity = match (&manifest.integrity, &manifest.shasum) {
        (Some(sri), _) => Some(Integrity::parse(sri)),
        (None, Some(shasum)) => Some(Integrity::from_sha1_hex(shasum)),
        (None, None) => None,
    }
    .transpose()
    .map_err(|error| fail(error.to_string()))?;
    let url = format!("{registry}{relative}");
    let limit = SizeLimits::default().tarball;
    let body = client
        .get(&url, TARBALL_ACCEPT, integrity.as_ref(), limit)
        .await?;
    let size = body.len() as u64;
    tokio::task::spawn_blocking(move || write_atomically(&path, &body)).await??;
    Ok((size, true))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SnapshotError> {
    let write_error = |source| SnapshotError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    utoo_atomic_write::write_atomic(path, bytes).map_err(write_error)
}

fn write_summary(
    layout: &Layout,
    options: &SnapshotOptions,
    closure: &Closure,
    report: &SnapshotReport,
) -> Result<(), SnapshotError> {
    let versions: BTreeMap<&String, Vec<&String>> = closure
        .versions()
        .iter()
        .map(|(name, versions)| (name, versions.iter().collect()))
        .collect();
    let summary = json!({
        "registry": options.registry,
        "fixture": options.fixture_dir,
        "node": options.node.as_ref().map(ToString::to_string),
        "packuments": report.packuments,
        "versions": report.versions,
        "tarballs": report.tarballs,
        "tarball_bytes": report.tarball_bytes,
        "other_platform": report.other_platform,
        "unavailable": report.unavailable,
        "unsatisfied": report.unsatisfied,
        "skipped": report.skipped,
        "closure": versions,
    });
    let body = serde_json::to_vec_pretty(&summary).map_err(|source| SnapshotError::Json {
        name: "snapshot summary".into(),
        source,
    })?;
    write_atomically(&layout.summary(), &body)
}
