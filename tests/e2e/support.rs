//! A scratch project, its own cache and HOME, and the `utoo` binary pointed
//! at a loopback test registry.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use utoo_test_registry::{Fixtures, TestRegistry};

/// The address space [`Project::utoo_bounded`] allows `utoo` (4 GiB).
pub(crate) const MEMORY_CAP_KB: u64 = 4 << 20;
/// How long [`Project::utoo_bounded`] lets `utoo` run.
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);

pub(crate) struct Project {
    pub registry: TestRegistry,
    scratch: TempDir,
}

pub(crate) fn registry(fixtures: &str) -> TestRegistry {
    TestRegistry::start(Fixtures::parse(fixtures).expect("fixture text parses"))
        .expect("registry starts")
}

impl Project {
    pub(crate) fn new(fixtures: &str, package_json: Value) -> Project {
        Project::with_registry(registry(fixtures), package_json)
    }

    pub(crate) fn with_registry(registry: TestRegistry, package_json: Value) -> Project {
        let scratch = tempfile::tempdir().expect("scratch folder");
        let project = Project { registry, scratch };
        fs::create_dir_all(project.dir()).unwrap();
        fs::create_dir_all(project.home()).unwrap();
        fs::write(project.home().join(".npmrc"), "").unwrap();
        project.write_package_json(&package_json);
        project
    }

    pub(crate) fn dir(&self) -> PathBuf {
        self.scratch.path().join("project")
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.scratch.path().join("home")
    }

    pub(crate) fn cache(&self) -> PathBuf {
        self.scratch.path().join("cache")
    }

    pub(crate) fn write_package_json(&self, package_json: &Value) {
        let text = serde_json::to_string_pretty(package_json).unwrap() + "\n";
        fs::write(self.dir().join("package.json"), text).unwrap();
    }

    /// Runs `utoo` in the project with the test registry, cache and an empty user config.
    pub(crate) fn utoo(&self, args: &[&str]) -> Output {
        self.utoo_with(args, |c| c)
    }

    pub(crate) fn utoo_with(
        &self,
        args: &[&str],
        customise: impl FnOnce(&mut Command) -> &mut Command,
    ) -> Output {
        let mut command = self.command(env!("CARGO_BIN_EXE_utoo"));
        command.args(args);
        customise(&mut command);
        command.output().expect("utoo runs")
    }

    /// Runs `utoo` as [`Project::utoo`] does, but with its address space
    /// capped at [`MEMORY_CAP_KB`] and killed after [`DEADLINE`]: for attacks
    /// that, unfixed, would eat all memory or hang.
    pub(crate) fn utoo_bounded(&self, args: &[&str]) -> Output {
        let mut child = self
            .command("sh")
            .arg("-c")
            .arg(format!("ulimit -v {MEMORY_CAP_KB} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_utoo"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("utoo runs");
        let started = Instant::now();
        while child.try_wait().expect("utoo's status").is_none() {
            if started.elapsed() > DEADLINE {
                child.kill().expect("killing utoo");
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("utoo's output")
    }

    /// `program` in the project, with the test registry, cache and an empty user config.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(self.dir())
            .env("HOME", self.home())
            .env("UTOO_CACHE_DIR", self.cache())
            .env("npm_config_registry", self.registry.url())
            .env_remove("RUST_LOG")
            .env_remove("XDG_CACHE_HOME");
        command
    }

    /// Runs `utoo install` (plus `args`) and fails the test with its output if it fails.
    pub(crate) fn install(&self, args: &[&str]) -> String {
        let mut all = vec!["install"];
        all.extend_from_slice(args);
        let output = self.utoo(&all);
        assert!(
            output.status.success(),
            "utoo {all:?} failed:\n{}",
            describe(&output)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub(crate) fn lockfile(&self) -> Value {
        let text = fs::read_to_string(self.dir().join("package-lock.json"))
            .expect("package-lock.json exists");
        serde_json::from_str(&text).expect("package-lock.json is JSON")
    }

    /// `install path -> version` of every lockfile entry but the root.
    pub(crate) fn locked(&self) -> Vec<String> {
        let lock = self.lockfile();
        lock["packages"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(path, _)| !path.is_empty())
            .map(|(path, entry)| {
                format!(
                    "{}@{}",
                    path.replace("node_modules/", ""),
                    entry["version"].as_str().unwrap_or("?")
                )
            })
            .collect()
    }

    /// `path@version` of every package folder in node_modules, by name,
    /// parents first; a symlink as `path -> <its target>`, not followed.
    pub(crate) fn installed(&self) -> Vec<String> {
        let mut found = Vec::new();
        walk(&self.dir().join("node_modules"), "", &mut found);
        found
    }

    /// What `npm ls` would call invalid: each dependency of each package
    /// folder (symlinks not followed) that Node.js, looking in the folder's
    /// own `node_modules` and then each one above it, finds missing or at a
    /// version outside the range, as `path: name@range found <version>`.
    pub(crate) fn unmet_dependencies(&self) -> Vec<String> {
        let mut folders = Vec::new();
        package_folders(&self.dir().join("node_modules"), &mut folders);
        let mut unmet = Vec::new();
        for folder in folders {
            let manifest = read_manifest(&folder);
            let Some(dependencies) = manifest["dependencies"].as_object() else {
                continue;
            };
            for (name, range) in dependencies {
                let range = range.as_str().unwrap();
                let found = node_resolve(&folder, name, &self.dir())
                    .map(|dep| read_manifest(&dep)["version"].as_str().unwrap().to_string());
                let satisfied = found.as_deref().is_some_and(|version| {
                    let range = nodejs_semver::Range::parse(range).unwrap();
                    range.satisfies(&nodejs_semver::Version::parse(version).unwrap())
                });
                if !satisfied {
                    let at = folder.strip_prefix(self.dir()).unwrap().display();
                    let found = found.unwrap_or_else(|| "nothing".to_string());
                    unmet.push(format!("{at}: {name}@{range} found {found}"));
                }
            }
        }
        unmet
    }
}

fn read_manifest(folder: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(folder.join("package.json")).unwrap()).unwrap()
}

/// Every real package folder under `node_modules`, symlinks not followed.
fn package_folders(node_modules: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(node_modules) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().unwrap();
        if name.starts_with('.') || kind.is_symlink() {
            continue;
        }
        if name.starts_with('@') {
            package_folders(&entry.path(), found);
            continue;
        }
        package_folders(&entry.path().join("node_modules"), found);
        found.push(entry.path());
    }
}

/// Node.js's lookup of `name` from a package folder: `node_modules/<name>`
/// in the folder, then in each folder above it up to the project (a
/// `node_modules` folder itself is skipped).
fn node_resolve(from: &Path, name: &str, project: &Path) -> Option<PathBuf> {
    from.ancestors()
        .take_while(|dir| dir.starts_with(project))
        .filter(|dir| dir.file_name().is_some_and(|n| n != "node_modules"))
        .map(|dir| dir.join("node_modules").join(name))
        .find(|candidate| candidate.join("package.json").is_file())
}

fn walk(node_modules: &Path, prefix: &str, found: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(node_modules) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let names: Vec<String> = if name.starts_with('@') {
            let mut scoped: Vec<String> = fs::read_dir(entry.path())
                .unwrap()
                .flatten()
                .map(|e| format!("{name}/{}", e.file_name().to_string_lossy()))
                .collect();
            scoped.sort();
            scoped
        } else {
            vec![name]
        };
        for package in names {
            let folder = node_modules.join(&package);
            let path = format!("{prefix}{package}");
            if let Ok(target) = fs::read_link(&folder) {
                found.push(format!("{path} -> {}", target.display()));
                continue;
            }
            let manifest: Value =
                serde_json::from_str(&fs::read_to_string(folder.join("package.json")).unwrap())
                    .unwrap();
            found.push(format!("{path}@{}", manifest["version"].as_str().unwrap()));
            walk(&folder.join("node_modules"), &format!("{path}/"), found);
        }
    }
}

pub(crate) fn describe(output: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A registry over HTTPS with a self-signed certificate
/// ([`TestRegistry::certificate_pem`]).
pub(crate) fn tls_registry(fixtures: &str) -> TestRegistry {
    TestRegistry::start_tls(Fixtures::parse(fixtures).expect("fixture text parses"))
        .expect("registry starts")
}

/// Leaves no proxy of the environment the tests run in to `utoo`.
pub(crate) fn without_proxy_env(command: &mut Command) -> &mut Command {
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        command.env_remove(name);
    }
    command
}
