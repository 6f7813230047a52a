//! Faults and attacks: each ends in a clear error or a correct install.

use std::fs;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use utoo_test_registry::{Fault, Fixtures, Tarball, TestRegistry};

use crate::support::{describe, registry, stderr, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1)
    bb@1.0.0
";

#[test]
fn a_stalled_response_hits_the_deadline_and_is_retried() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.registry.inject("/bb", Fault::Stall, Some(1));
    let started = Instant::now();
    let output = project.utoo_with(&["install", "-v"], |c| {
        c.env("npm_config_fetch_timeout", "300")
    });
    assert!(output.status.success(), "{}", describe(&output));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(project.registry.requests("/bb"), 2);
    assert!(
        stderr(&output).contains("retrying request"),
        "{}",
        describe(&output)
    );
}

#[test]
fn an_unreachable_registry_fails_clearly_in_bounded_time() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    let started = Instant::now();
    let output = project.utoo_with(&["install"], |c| {
        c.env("npm_config_registry", "http://127.0.0.1:9/")
            .env("npm_config_fetch_retries", "1")
            .env("npm_config_fetch_retry_mintimeout", "50")
    });
    assert!(!output.status.success());
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = stderr(&output);
    assert!(
        err.contains("http://127.0.0.1:9/aa") && err.contains("aa"),
        "{err}"
    );
}

fn raw_tarball_project(tarball: Vec<u8>) -> Project {
    let fixtures = Fixtures::new().version("evil", "1.0.0", |v| v.raw_tarball(tarball));
    let registry = TestRegistry::start(fixtures).expect("registry starts");
    Project::with_registry(registry, json!({"dependencies": {"evil": "1"}}))
}

fn assert_fails_and_caches_nothing(project: &Project, expected: &str) {
    let output = project.utoo(&["install"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains("evil@1.0.0") && err.contains(expected),
        "{err}"
    );
    assert_nothing_of_evil_left(project);
    assert!(!project.dir().join("package-lock.json").exists());
}

/// Nothing of `evil` in the cache (staging folders included) or in node_modules.
fn assert_nothing_of_evil_left(project: &Project) {
    let count = |dir: &str| {
        fs::read_dir(project.cache().join(dir))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(count("packages/evil"), 0, "nothing enters the cache");
    assert_eq!(count("tmp"), 0, "no staging folder left behind");
    assert!(!project.dir().join("node_modules/evil").exists());
}

#[test]
fn corrupt_gzip_is_a_clear_error() {
    let project = raw_tarball_project(b"\x1f\x8b\x08\x00 this is not gzip at all".to_vec());
    assert_fails_and_caches_nothing(&project, "corrupt gzip or tar data");
}

#[test]
fn hostile_paths_and_links_never_write_outside_the_package() {
    let cases: Vec<(Tarball, &str)> = vec![
        (
            Tarball::new()
                .file("package/index.js", "1")
                .file("package/../../escaped.txt", "x"),
            "outside the package folder",
        ),
        (
            Tarball::new().file("/tmp/utoo-absolute-escape.txt", "x"),
            "outside the package folder",
        ),
        (
            Tarball::new()
                .symlink("package/link", "../../../../outside")
                .file("package/link/through-the-link.txt", "x"),
            "points outside the package folder",
        ),
        (
            Tarball::new().hardlink("package/hard", "../../outside"),
            "points outside the package folder",
        ),
    ];
    for (tarball, expected) in cases {
        let project = raw_tarball_project(tarball.gzip().unwrap());
        assert_fails_and_caches_nothing(&project, expected);
        let scratch = project.dir().parent().unwrap().to_path_buf();
        assert!(
            !scratch.join("escaped.txt").exists() && !project.cache().join("escaped.txt").exists()
        );
    }
    assert!(!std::path::Path::new("/tmp/utoo-absolute-escape.txt").exists());
}

#[test]
fn four_installs_sharing_one_cache_at_once_all_succeed() {
    let shared = registry(
        "
        aa@1.0.0 deps(bb@^1, cc@1)
        bb@1.0.0 deps(cc@1)
        cc@1.0.0
        dd@1.0.0 deps(aa@1)
        ",
    );
    let url = shared.url();
    let cache = tempfile::tempdir().unwrap();
    let projects: Vec<Project> = (0..4)
        .map(|i| {
            let deps = match i % 2 {
                0 => json!({"aa": "1"}),
                _ => json!({"dd": "1", "cc": "1"}),
            };
            Project::new("", json!({"name": format!("p{i}"), "dependencies": deps}))
        })
        .collect();
    let outputs: Vec<_> = thread::scope(|scope| {
        let handles: Vec<_> = projects
            .iter()
            .map(|project| {
                let (url, cache) = (url.clone(), cache.path().to_path_buf());
                scope.spawn(move || {
                    project.utoo_with(&["install"], |c| {
                        c.env("npm_config_registry", &url)
                            .env("UTOO_CACHE_DIR", &cache)
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (project, output) in projects.iter().zip(outputs) {
        assert!(output.status.success(), "{}", describe(&output));
        assert!(project.dir().join("node_modules/cc/package.json").is_file());
    }
}

#[test]
fn sigint_stops_promptly_and_says_so() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.registry.inject("/bb", Fault::Stall, None);
    let child = Command::new(env!("CARGO_BIN_EXE_utoo"))
        .arg("install")
        .current_dir(project.dir())
        .env("HOME", project.home())
        .env("UTOO_CACHE_DIR", project.cache())
        .env("npm_config_registry", project.registry.url())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(500));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopped promptly"
    );
    assert_eq!(output.status.code(), Some(130));
    assert!(
        stderr(&output).contains("interrupted"),
        "{}",
        describe(&output)
    );
    assert!(!project.dir().join("package-lock.json").exists());
}

#[test]
fn a_decompression_bomb_behind_a_pax_size_is_refused() {
    // The tar header says the file is empty; a pax record says 8 MiB.
    let bomb = Tarball::new()
        .pax_sized_zeros("package/huge.bin", 8 << 20)
        .gzip()
        .unwrap();
    assert_refused_as_a_bomb(bomb);
}

#[test]
fn a_decompression_bomb_is_refused() {
    let bomb = Tarball::new()
        .zeros("package/huge.bin", 8 << 20)
        .gzip()
        .unwrap();
    assert!(bomb.len() < 64 << 10, "a small download");
    assert_refused_as_a_bomb(bomb);
}

/// Installing `bomb` (8 MiB unpacked) with a 4 MiB limit fails, names the
/// package and leaves nothing of it behind.
fn assert_refused_as_a_bomb(bomb: Vec<u8>) {
    let project = raw_tarball_project(bomb);
    let output = project.utoo(&["install", "--max-package-size", "4"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains("evil@1.0.0") && err.contains("decompression bomb"),
        "{err}"
    );
    assert_nothing_of_evil_left(&project);
}

#[test]
fn names_that_differ_only_in_case_stay_inside_the_package() {
    let tarball = Tarball::new()
        .file(
            "package/package.json",
            r#"{"name":"evil","version":"1.0.0"}"#,
        )
        .file("package/README.md", "upper")
        .file("package/readme.md", "lower");
    let project = raw_tarball_project(tarball.gzip().unwrap());
    let output = project.utoo(&["install"]);
    assert!(output.status.success(), "{}", describe(&output));
    let package = project.dir().join("node_modules/evil");
    let names: Vec<String> = fs::read_dir(&package)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(fs::read_to_string(package.join("README.md")).is_ok());
}

/// Kill `utoo install` at 20 moments, then install again: the result must
/// equal a clean install's, and no partial cache entry may be used.
#[test]
fn sigkill_at_any_moment_then_reinstall_gives_the_clean_result() {
    let mut fixture = String::new();
    for i in 0..12 {
        fixture.push_str(&format!(
            "p{i}@1.0.0 deps(q{i}@1) bin(p{i}=cli.js)\nq{i}@1.0.0 file(data.txt=q{i})\n"
        ));
    }
    let dependencies: serde_json::Map<String, serde_json::Value> =
        (0..12).map(|i| (format!("p{i}"), json!("1"))).collect();
    let project = Project::new(&fixture, json!({"name": "k", "dependencies": dependencies}));
    project.install(&[]);
    let expected_tree = project.installed();
    let expected_lock = fs::read_to_string(project.dir().join("package-lock.json")).unwrap();
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    fs::remove_file(project.dir().join("package-lock.json")).unwrap();
    fs::remove_dir_all(project.cache()).unwrap();

    // Slow responses spread the install over about a second.
    project.registry.inject(
        utoo_test_registry::PathMatch::prefix("/"),
        Fault::Delay(Duration::from_millis(40)),
        None,
    );
    for moment in 0..20u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_utoo"))
            .arg("install")
            .current_dir(project.dir())
            .env("HOME", project.home())
            .env("UTOO_CACHE_DIR", project.cache())
            .env("npm_config_registry", project.registry.url())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        thread::sleep(Duration::from_millis(moment * 60));
        let _ = child.kill();
        let _ = child.wait();
        if let Ok(lock) = fs::read_to_string(project.dir().join("package-lock.json")) {
            assert_eq!(
                lock, expected_lock,
                "a lockfile on disk is never partial (moment {moment})"
            );
        }
        let output = project.utoo(&["install"]);
        assert!(
            output.status.success(),
            "moment {moment}: {}",
            describe(&output)
        );
        assert_eq!(project.installed(), expected_tree, "moment {moment}");
        assert_eq!(
            fs::read_to_string(project.dir().join("package-lock.json")).unwrap(),
            expected_lock
        );
        assert_eq!(
            fs::read_to_string(project.dir().join("node_modules/q3/data.txt")).unwrap(),
            "q3"
        );
        fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
        fs::remove_file(project.dir().join("package-lock.json")).unwrap();
        if moment % 2 == 0 {
            fs::remove_dir_all(project.cache()).ok();
        }
    }
}

#[test]
fn installs_with_few_open_files_allowed() {
    let mut fixture = String::new();
    for i in 0..60 {
        fixture.push_str(&format!("f{i}@1.0.0 file(a.js=1, b.js=2, c.js=3)\n"));
    }
    let dependencies: serde_json::Map<String, serde_json::Value> =
        (0..60).map(|i| (format!("f{i}"), json!("1"))).collect();
    let project = Project::new(&fixture, json!({"dependencies": dependencies}));
    let utoo = env!("CARGO_BIN_EXE_utoo");
    let output = project.utoo_with(&[], |c| {
        *c = Command::new("sh");
        c.args(["-c", &format!("ulimit -n 128 && exec {utoo} install")])
            .current_dir(project.dir())
            .env("HOME", project.home())
            .env("UTOO_CACHE_DIR", project.cache())
            .env("npm_config_registry", project.registry.url())
    });
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(project.installed().len(), 60);
}

#[test]
fn a_missing_package_names_the_chain_of_dependents() {
    let project = Project::new(
        "
        top@1.0.0 deps(middle@1)
        middle@1.0.0 deps(ghost@^2)
        ",
        json!({"dependencies": {"top": "1"}}),
    );
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains("package ghost not found"), "{err}");
    assert!(
        err.contains("middle@1.0.0 ← top@1.0.0 ← the root project"),
        "{err}"
    );
}

/// A publisher chains `a@1 → b@1 → a@2 → b@2 → a@1`: a loop that can't be
/// flattened, where the deepest `a@1` sits under `b@2` and needs `b@1`.
/// npm 11.19.1 links `b` there to the earlier `b@1` (arborist's PlaceDep)
/// and `npm ls` finds the tree valid; so must we, and stay so from the lockfile.
#[test]
fn a_cycle_through_conflicting_versions_installs_a_valid_tree() {
    let project = Project::new(
        "
        a@1.0.0 deps(b@1)
        a@2.0.0 deps(b@2)
        b@1.0.0 deps(a@2)
        b@2.0.0 deps(a@1)
        ",
        json!({"dependencies": {"a": "1"}}),
    );
    let npm_tree = [
        "a@1.0.0",
        "b@1.0.0",
        "b/a@2.0.0",
        "b/b@2.0.0",
        "b/b/a@1.0.0",
        "b/b/b -> ../../..",
    ];
    project.install(&[]);
    assert_eq!(project.unmet_dependencies(), Vec::<String>::new());
    assert_eq!(project.installed(), npm_tree);
    let lock = project.lockfile();
    assert_eq!(
        lock["packages"]["node_modules/b/node_modules/b/node_modules/b"],
        json!({"resolved": "node_modules/b", "link": true})
    );

    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.install(&[]);
    assert_eq!(project.unmet_dependencies(), Vec::<String>::new());
    assert_eq!(project.installed(), npm_tree);
    assert_eq!(project.lockfile(), lock);
}

#[test]
fn a_connection_reset_mid_body_is_retried() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project
        .registry
        .inject("/bb/-/bb-1.0.0.tgz", Fault::ResetMidBody, Some(1));
    project.registry.inject("/aa", Fault::Reset, Some(1));
    project.install(&[]);
    assert_eq!(project.registry.requests("/bb/-/bb-1.0.0.tgz"), 2);
    assert_eq!(project.registry.requests("/aa"), 2);
}

#[test]
fn bad_specs_and_names_are_clear_errors() {
    let cases = [
        (
            json!({"dependencies": {"aa": "^^1 @@"}}),
            "aa@^^1 @@: invalid version range or tag",
        ),
        (
            json!({"dependencies": {"aa": "nosuchtag"}}),
            "no version of aa matches \"nosuchtag\"",
        ),
        (
            json!({"dependencies": {"Bad Name": "1"}}),
            "invalid package name \"Bad Name\"",
        ),
    ];
    for (package_json, expected) in cases {
        let project = Project::new(FIXTURES, package_json);
        let output = project.utoo(&["install"]);
        assert!(!output.status.success(), "{}", describe(&output));
        assert!(
            stderr(&output).contains(expected),
            "wanted {expected:?} in {}",
            describe(&output)
        );
    }
}

#[test]
fn special_entries_are_refused() {
    let project = raw_tarball_project(Tarball::new().fifo("package/pipe").gzip().unwrap());
    assert_fails_and_caches_nothing(&project, "which packages may not contain");
}

#[test]
#[ignore = "uses the real npm registry: UTOO_E2E_REGISTRY=1 cargo test -p utoo --test e2e -- --ignored"]
fn ant_design_installs_with_256_open_files_allowed() {
    // Opt-in: ant-design (~2,600 packages) comes from the real npm registry.
    if std::env::var("UTOO_E2E_REGISTRY").as_deref() != Ok("1") {
        eprintln!(
            "skipped: set UTOO_E2E_REGISTRY=1 to install ant-design from the real npm registry"
        );
        return;
    }
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/ant-design");
    let package_json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(fixture.join("package.json")).unwrap()).unwrap();
    let project = Project::new("", package_json);
    fs::copy(fixture.join(".npmrc"), project.dir().join(".npmrc")).unwrap();
    let utoo = env!("CARGO_BIN_EXE_utoo");
    let output = project.utoo_with(&[], |c| {
        *c = Command::new("sh");
        c.args(["-c", &format!("ulimit -n 256 && exec {utoo} install")])
            .current_dir(project.dir())
            .env("HOME", project.home())
            .env("UTOO_CACHE_DIR", project.cache())
            .env("npm_config_registry", "https://registry.npmjs.org/")
    });
    assert!(output.status.success(), "{}", describe(&output));
    assert!(project.installed().len() > 2000);
}

/// A hostile registry answers with a chunked body of zeros that never ends
/// (it gives up itself after 128 MB, so a broken client can't keep the test
/// running): utoo stops reading once the limit is passed, and says so.
fn endless(path: &str, args: &[&str]) -> (Project, String) {
    let project = Project::new("evil@1.0.0", json!({"dependencies": {"evil": "1"}}));
    project.registry.inject(
        path,
        Fault::Endless {
            give_up_after: 128 << 20,
        },
        None,
    );
    let started = Instant::now();
    let output = project.utoo_bounded(args);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(project.registry.requests(path), 1, "not retried");
    let served = project.registry.traffic().bytes_served;
    assert!(served < 32 << 20, "read on after the limit: {served} bytes");
    assert_nothing_of_evil_left(&project);
    assert!(!project.dir().join("package-lock.json").exists());
    let err = stderr(&output);
    (project, err)
}

#[test]
fn an_endless_tarball_stops_at_the_size_limit() {
    let (project, err) = endless(
        "/evil/-/evil-1.0.0.tgz",
        &["install", "--max-package-size", "1"],
    );
    let url = project.registry.tarball_url("evil", "1.0.0");
    assert!(
        err.contains(&format!(
            "evil@1.0.0: the tarball {url} is larger than 1 MB, the limit per package; \
             raise --max-package-size"
        )),
        "{err}"
    );
}

#[test]
fn an_endless_packument_stops_at_the_size_limit() {
    let (project, err) = endless("/evil", &["install", "--max-packument-size", "1"]);
    let url = format!("{}evil", project.registry.url());
    assert!(
        err.contains(&format!(
            "the packument of evil from {url} is larger than 1 MB, the limit for package \
             metadata; raise --max-packument-size"
        )),
        "{err}"
    );
}

/// A registry's packument points `dist.tarball` at a device, at a tarball
/// elsewhere on this machine (one that would even pass the integrity check)
/// or at a path: a registry package is never read from disk.
#[test]
fn a_packument_pointing_at_local_files_is_refused() {
    let planted = tempfile::tempdir().unwrap();
    let tarball = Tarball::new()
        .file(
            "package/package.json",
            r#"{"name":"evil","version":"1.0.0"}"#,
        )
        .gzip()
        .unwrap();
    let path = planted.path().join("evil.tgz");
    fs::write(&path, &tarball).unwrap();
    let planted_url = format!("file://{}", path.display());
    for url in ["file:///dev/zero", planted_url.as_str(), "file:../evil.tgz"] {
        let fixtures = Fixtures::new().version("evil", "1.0.0", |v| {
            v.raw_tarball(tarball.clone()).tarball_url(url)
        });
        let registry = TestRegistry::start(fixtures).expect("registry starts");
        let project = Project::with_registry(registry, json!({"dependencies": {"evil": "1"}}));
        fs::write(project.dir().join("../evil.tgz"), &tarball).unwrap();
        let output = project.utoo_bounded(&["install"]);
        assert!(!output.status.success(), "{url}: {}", describe(&output));
        let err = stderr(&output);
        assert!(
            err.contains(&format!(
                "the registry gives evil@1.0.0 the tarball {url}: a registry package is only \
                 downloaded over http(s)"
            )),
            "{url}: {err}"
        );
        assert_nothing_of_evil_left(&project);
        assert!(!project.dir().join("package-lock.json").exists());
    }
}

/// A crafted package-lock.json resolves a registry dependency to a device,
/// a fifo, a link to a device, or a file over the size limit: only regular
/// files are read, and no more of them than the limit.
#[test]
fn a_lockfile_resolving_to_a_device_is_refused() {
    let cases = [
        (
            "file:///dev/zero",
            "it is a character device, not a regular file",
        ),
        (
            "file:vendor/zero.tgz",
            "it is a character device, not a regular file",
        ),
        ("file:vendor/pipe.tgz", "it is a fifo, not a regular file"),
        ("file:vendor", "it is a directory, not a regular file"),
        (
            "file:vendor/big.tgz",
            "is larger than 1 MB, the limit per package; raise --max-package-size",
        ),
    ];
    for (resolved, expected) in cases {
        let project = Project::new("evil@1.0.0", json!({"dependencies": {"evil": "1"}}));
        let vendor = project.dir().join("vendor");
        fs::create_dir(&vendor).unwrap();
        std::os::unix::fs::symlink("/dev/zero", vendor.join("zero.tgz")).unwrap();
        let mkfifo = Command::new("mkfifo")
            .arg(vendor.join("pipe.tgz"))
            .status()
            .unwrap();
        assert!(mkfifo.success());
        fs::File::create(vendor.join("big.tgz"))
            .unwrap()
            .set_len(2 << 20)
            .unwrap();
        let lock = json!({
            "lockfileVersion": 3, "requires": true,
            "packages": {
                "": {"dependencies": {"evil": "1"}},
                "node_modules/evil": {"version": "1.0.0", "resolved": resolved}
            }
        })
        .to_string();
        fs::write(project.dir().join("package-lock.json"), &lock).unwrap();
        let output = project.utoo_bounded(&["install", "--max-package-size", "1"]);
        assert!(
            !output.status.success(),
            "{resolved}: {}",
            describe(&output)
        );
        let err = stderr(&output);
        assert!(
            err.contains("evil@1.0.0") && err.contains(expected),
            "{resolved}: {err}"
        );
        assert_nothing_of_evil_left(&project);
        assert_eq!(
            fs::read_to_string(project.dir().join("package-lock.json")).unwrap(),
            lock,
            "the lockfile is left as it was"
        );
        assert_eq!(project.registry.tarball_requests(), 0);
    }
}
