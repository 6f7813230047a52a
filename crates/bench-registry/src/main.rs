//! `utoo-bench-registry snapshot <fixture-dir> <snapshot-dir> [--registry URL]`
//! stores a fixture's dependency closure; `utoo-bench-registry serve
//! <snapshot-dir> [--port N] [--latency-ms N] [--bandwidth-mbit N]` serves it
//! on 127.0.0.1 (with that latency per request and that bandwidth shared by
//! all connections, to simulate a real network), prints
//! `{"url": "http://127.0.0.1:<port>/"}` and then answers commands read from
//! stdin, one per line: `stats` (a JSON line of requests, bytes and 404s
//! since the last reset), `log` (the request targets since the last reset),
//! `reset`, `quit` (or end of input).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use nodejs_semver::Version;
use serde_json::json;
use utoo_bench_registry::layout::Layout;
use utoo_bench_registry::snapshot::{take_snapshot, SnapshotOptions};
use utoo_bench_registry::source::SnapshotSource;
use utoo_registry_client::{ClientConfig, RegistryClient};
use utoo_test_registry::{NetworkShape, Server, Store};

#[derive(Parser)]
#[command(name = "utoo-bench-registry", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch the packuments and tarballs of a fixture's dependency closure.
    Snapshot {
        fixture_dir: PathBuf,
        snapshot_dir: PathBuf,
        #[arg(long, default_value = utoo_npm_types::NPM_REGISTRY)]
        registry: String,
        /// Node.js version for npm's `engines` preference (default: `node --version`).
        #[arg(long)]
        node_version: Option<String>,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Serve a snapshot on 127.0.0.1 until stdin ends.
    Serve {
        snapshot_dir: PathBuf,
        /// 0 picks a free port.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Added before each response, as a round trip to a real registry.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Bandwidth of the whole link in megabits per second; 0 is unlimited.
        #[arg(long, default_value_t = 0)]
        bandwidth_mbit: u64,
    },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Snapshot {
            fixture_dir,
            snapshot_dir,
            registry,
            node_version,
            concurrency,
        } => snapshot(SnapshotOptions {
            fixture_dir,
            snapshot_dir,
            registry: format!("{}/", registry.trim_end_matches('/')),
            node: node_version
                .or_else(running_node_version)
                .and_then(|v| Version::parse(v.trim().trim_start_matches('v')).ok()),
            concurrency: concurrency.max(1),
        }),
        Command::Serve {
            snapshot_dir,
            port,
            latency_ms,
            bandwidth_mbit,
        } => serve(
            snapshot_dir,
            port,
            NetworkShape::new(latency_ms, bandwidth_mbit),
        ),
    }
}

fn running_node_version() -> Option<String> {
    let output = std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn snapshot(options: SnapshotOptions) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let client = RegistryClient::new(&ClientConfig {
        attempts: 6,
        ..ClientConfig::default()
    })?;
    let report = runtime.block_on(take_snapshot(&client, &options))?;
    eprintln!(
        "snapshot {}: {} packuments, {} versions, {} tarballs ({} downloaded now, {:.1} MB), \
         {} for other platforms, {} unavailable names, {} unsatisfied ranges, {} non-registry specs",
        options.snapshot_dir.display(),
        report.packuments,
        report.versions,
        report.tarballs,
        report.downloaded,
        report.tarball_bytes as f64 / 1e6,
        report.other_platform.len(),
        report.unavailable.len(),
        report.unsatisfied.len(),
        report.skipped.len(),
    );
    for name in &report.unavailable {
        eprintln!("  unavailable: {name}");
    }
    for spec in &report.skipped {
        eprintln!("  not a registry spec: {spec}");
    }
    Ok(())
}

fn serve(snapshot_dir: PathBuf, port: u16, shape: NetworkShape) -> Result<()> {
    if !snapshot_dir.is_dir() {
        bail!("{} is not a snapshot folder", snapshot_dir.display());
    }
    let source = SnapshotSource::new(Layout::new(snapshot_dir));
    let server = Server::start_shaped(Store::with_source(source), port, shape)
        .context("could not start the registry server")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", json!({ "url": server.url() }))?;
    stdout.flush()?;
    for line in std::io::stdin().lock().lines() {
        match line?.trim() {
            "stats" => {
                let traffic = server.traffic();
                let stats = json!({
                    "requests": traffic.requests,
                    "bytes_served": traffic.bytes_served,
                    "packument_requests": server.packument_requests(),
                    "tarball_requests": server.tarball_requests(),
                    "not_found": server.not_found_log(),
                });
                writeln!(stdout, "{stats}")?;
            }
            "log" => writeln!(stdout, "{}", json!({ "requests": server.request_log() }))?,
            "reset" => {
                server.reset_counts();
                writeln!(stdout, "{}", json!({ "ok": true }))?;
            }
            "quit" => break,
            "" => continue,
            other => writeln!(
                stdout,
                "{}",
                json!({ "error": format!("unknown command {other}") })
            )?,
        }
        stdout.flush()?;
    }
    Ok(())
}
