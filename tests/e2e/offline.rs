//! The packument cache: revalidation with conditional requests (the
//! default), `--prefer-offline`, `--offline`, and damaged cache files.

use std::fs;
use std::path::PathBuf;

use serde_json::json;
use utoo_test_registry::Fixtures;

use crate::support::{describe, registry, stderr, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1)
    bb@1.0.0
    cc@1.0.0
";

fn project() -> Project {
    Project::new(FIXTURES, json!({"dependencies": {"aa": "^1"}}))
}

/// Removes the lockfile, so the next install needs every packument again.
fn forget_lockfile(project: &Project) {
    fs::remove_file(project.dir().join("package-lock.json")).unwrap();
}

/// The registry now also has aa@1.1.0, under a new ETag.
fn publish_aa_1_1(project: &mut Project) {
    let fixtures = Fixtures::parse("aa@1.0.0 deps(bb@^1)\naa@1.1.0 deps(bb@^1)").unwrap();
    project.registry.republish(&fixtures).unwrap();
}

/// The packument packs in the cache, oldest first.
fn packs(project: &Project) -> Vec<PathBuf> {
    let dir = project.cache().join("packuments");
    let mut packs: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "pack"))
        .collect();
    packs.sort();
    packs
}

fn sorted(mut paths: Vec<String>) -> Vec<String> {
    paths.sort();
    paths
}

#[test]
fn a_cached_packument_is_revalidated_and_a_304_sends_no_body() {
    let mut project = project();
    project.install(&[]);
    forget_lockfile(&project);
    project.registry.reset_counts();

    project.install(&[]);
    let conditional = project.registry.conditional_requests();
    assert_eq!(
        sorted(conditional.iter().map(|(path, ..)| path.clone()).collect()),
        ["/aa", "/bb"]
    );
    assert!(
        conditional.iter().all(|(_, etag, since)| etag
            .as_deref()
            .is_some_and(|e| e.starts_with('"'))
            && since.as_deref().is_some_and(|d| d.ends_with(" GMT"))),
        "{conditional:?}"
    );
    assert_eq!(sorted(project.registry.not_modified_log()), ["/aa", "/bb"]);
    assert_eq!(
        project.registry.traffic().bytes_served,
        0,
        "304s carry no body, and the tarballs are cached"
    );
    assert_eq!(project.locked(), ["aa@1.0.0", "bb@1.0.0"]);

    // A changed packument fails the revalidation, and the new one is used and kept.
    publish_aa_1_1(&mut project);
    forget_lockfile(&project);
    project.registry.reset_counts();
    project.install(&[]);
    assert_eq!(project.registry.not_modified_log(), ["/bb"]);
    assert_eq!(project.locked(), ["aa@1.1.0", "bb@1.0.0"]);
    forget_lockfile(&project);
    project.registry.reset_counts();
    project.install(&[]);
    assert_eq!(sorted(project.registry.not_modified_log()), ["/aa", "/bb"]);
}

#[test]
fn prefer_offline_uses_cached_packuments_without_asking() {
    let mut project = project();
    project.install(&[]);
    publish_aa_1_1(&mut project);
    project.write_package_json(&json!({"dependencies": {"aa": "^1", "cc": "1"}}));
    forget_lockfile(&project);
    project.registry.reset_counts();

    project.install(&["--prefer-offline"]);
    // Only the packument the cache lacks is requested; the cached aa is
    // used as it is, though the registry has a newer version.
    assert_eq!(
        project.registry.request_log(),
        ["/cc", "/cc/-/cc-1.0.0.tgz"]
    );
    assert_eq!(project.locked(), ["aa@1.0.0", "bb@1.0.0", "cc@1.0.0"]);

    // The same from .npmrc and from the environment.
    fs::write(project.dir().join(".npmrc"), "prefer-offline=true\n").unwrap();
    forget_lockfile(&project);
    project.registry.reset_counts();
    project.install(&[]);
    assert_eq!(project.registry.traffic().requests, 0);
    fs::remove_file(project.dir().join(".npmrc")).unwrap();
    forget_lockfile(&project);
    let output = project.utoo_with(&["install"], |c| c.env("npm_config_prefer_offline", "true"));
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(project.registry.traffic().requests, 0);

    // --prefer-online on the command line overrides the setting.
    fs::write(project.dir().join(".npmrc"), "prefer-offline=true\n").unwrap();
    forget_lockfile(&project);
    project.install(&["--prefer-online"]);
    assert_eq!(
        sorted(project.registry.not_modified_log()),
        ["/bb", "/cc"],
        "aa changed, so only bb and cc are still current"
    );
    assert_eq!(project.locked(), ["aa@1.1.0", "bb@1.0.0", "cc@1.0.0"]);
}

#[test]
fn offline_installs_from_a_warm_cache_with_the_registry_stopped() {
    let mut project = project();
    project.install(&[]);
    // The registry goes away: its port is closed (utoo is still pointed at it).
    let url = project.registry.url();
    drop(std::mem::replace(&mut project.registry, registry("")));

    for (args, env) in [
        (&["install", "--offline"][..], None),
        (&["install"][..], Some(("npm_config_offline", "true"))),
    ] {
        forget_lockfile(&project);
        fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
        let output = project.utoo_with(args, |c| {
            c.env("npm_config_registry", &url);
            match env {
                Some((key, value)) => c.env(key, value),
                None => c,
            }
        });
        assert!(output.status.success(), "{args:?}: {}", describe(&output));
        assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
        assert_eq!(project.locked(), ["aa@1.0.0", "bb@1.0.0"]);
    }
    // A lockfile needs no packument at all.
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    let output = project.utoo_with(&["ci", "--offline"], |c| c.env("npm_config_registry", &url));
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(project.installed(), ["aa@1.0.0", "bb@1.0.0"]);
}

#[test]
fn offline_fails_clearly_on_a_cache_miss_and_touches_nothing() {
    let project = project();
    let output = project.utoo(&["install", "--offline"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains("error: aa (wanted by the root project) is not in the cache, and --offline fetches nothing"),
        "{err}"
    );
    assert_eq!(project.registry.traffic().requests, 0);
    assert!(!project.dir().join("node_modules").exists());
    assert!(!project.dir().join("package-lock.json").exists());

    // Packuments cached, tarballs not: the download is refused, naming the package.
    project.install(&[]);
    project.registry.reset_counts();
    fs::remove_dir_all(project.cache().join("packages")).unwrap();
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    let output = project.utoo(&["install", "--offline"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains("aa@1.0.0") && err.contains("offline mode (--offline) uses the cache only"),
        "{err}"
    );
    assert_eq!(project.registry.traffic().requests, 0);

    // `install <name>` looks the version up in the cache only, too.
    let output = project.utoo(&["install", "--offline", "cc"]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains("cc is not in the cache, and --offline fetches nothing"),
        "{}",
        describe(&output)
    );
    assert_eq!(project.registry.traffic().requests, 0);
}

#[test]
fn damaged_cached_packuments_are_fetched_again_with_a_warning() {
    let project = project();
    project.install(&[]);
    let packs_after_install = packs(&project);
    assert_eq!(packs_after_install.len(), 1, "one pack per install");
    let pack = packs_after_install[0].clone();
    let whole = fs::read(&pack).unwrap();

    // aa's cached body is garbled: aa is fetched again, bb revalidated.
    let name = b"{\"name\":\"aa\"";
    let at = whole.windows(name.len()).position(|w| w == name).unwrap();
    let mut garbled = whole.clone();
    garbled[at..at + name.len()].fill(b'!');
    fs::write(&pack, &garbled).unwrap();
    forget_lockfile(&project);
    project.registry.reset_counts();
    let output = project.utoo(&["install"]);
    assert!(output.status.success(), "{}", describe(&output));
    let url = format!("{}/aa", project.registry.url().trim_end_matches('/'));
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "warn: the cached packument of {url} in {} is damaged (not a valid packument); \
             fetched it from the registry again",
            pack.display()
        )),
        "{err}"
    );
    let conditional = |project: &Project| -> Vec<String> {
        let requests = project.registry.conditional_requests();
        sorted(requests.into_iter().map(|(path, ..)| path).collect())
    };
    assert_eq!(conditional(&project), ["/bb"]);
    assert_eq!(project.registry.requests("/aa"), 1);
    assert_eq!(project.locked(), ["aa@1.0.0", "bb@1.0.0"]);
    // The fresh copy went into a new pack, which later installs read.
    assert_eq!(packs(&project).len(), 2);
    forget_lockfile(&project);
    project.registry.reset_counts();
    project.install(&["--prefer-offline"]);
    assert_eq!(project.registry.traffic().requests, 0);

    // The first pack is cut short: it is removed, and bb (only there) is
    // fetched again while aa (in the newer pack) is revalidated.
    fs::write(&pack, &garbled[..garbled.len() / 2]).unwrap();
    forget_lockfile(&project);
    project.registry.reset_counts();
    let output = project.utoo(&["install"]);
    assert!(output.status.success(), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "warn: the packument cache file {} was damaged (not a whole pack); removed it; \
             its packuments are fetched from the registry again",
            pack.display()
        )),
        "{err}"
    );
    assert!(!pack.exists());
    assert_eq!(conditional(&project), ["/aa"]);
    assert_eq!(project.registry.requests("/bb"), 1);
    assert_eq!(project.locked(), ["aa@1.0.0", "bb@1.0.0"]);
}

#[test]
fn offline_refuses_git_dependencies_that_need_resolving() {
    let project = Project::new(
        FIXTURES,
        json!({"dependencies": {"gg": "github:someone/gg#main"}}),
    );
    let output = project.utoo(&["install", "--offline"]);
    assert!(!output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains(
            "gg: the git dependency github:someone/gg#main can't be resolved with --offline"
        ),
        "{}",
        describe(&output)
    );
}
