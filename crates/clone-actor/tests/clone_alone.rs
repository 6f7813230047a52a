//! The clone actor on its own, on a `SyncArbiter`: placing cached package
//! folders in `node_modules` and linking their bins.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use actix::{Addr, SyncArbiter};
use futures::future::join_all;
use tempfile::TempDir;
use utoo_clone_actor::{
    CloneActor, CloneError, ClonePackage, CloneStats, LinkBins, SharedStrategy, Strategy,
};
use utoo_package_cache::EntryIndex;

fn cloner(strategy: SharedStrategy) -> Addr<CloneActor> {
    let worker = CloneActor::new(strategy);
    SyncArbiter::start(2, move || worker.clone())
}

fn write(path: &Path, content: &str, mode: u32) {
    fs::create_dir_all(path.parent().expect("parent")).expect("parent dir");
    fs::write(path, content).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path:?}: {e}"))
        .permissions()
        .mode()
        & 0o777
}

/// A finished cache entry as the extract actor leaves it.
fn cache_entry(root: &Path) -> PathBuf {
    let dir = root.join("packages/demo/1.0.0-abc");
    write(&dir.join("package.json"), r#"{"name":"demo"}"#, 0o644);
    write(&dir.join("index.js"), "module.exports = 1;\n", 0o644);
    write(
        &dir.join("lib/deep/nested/util.js"),
        "exports.u = 1;\n",
        0o644,
    );
    write(&dir.join("bin/cli.js"), "#!/usr/bin/env node\n", 0o755);
    let mut index = EntryIndex::new("sha512-demo");
    for folder in ["lib", "lib/deep", "lib/deep/nested", "bin"] {
        index.add_dir(folder);
    }
    for file in CLONED {
        let size = fs::metadata(dir.join(file)).expect("cached file").len();
        index.add_file(file, size);
    }
    index.write_into(&dir).expect("index");
    dir
}

const CLONED: [&str; 4] = [
    "package.json",
    "index.js",
    "lib/deep/nested/util.js",
    "bin/cli.js",
];

async fn try_clone(
    actor: &Addr<CloneActor>,
    from: &Path,
    to: &Path,
) -> Result<CloneStats, CloneError> {
    actor
        .send(ClonePackage {
            package: "test@1.0.0".into(),
            from: from.to_path_buf(),
            to: to.to_path_buf(),
            check_files: true,
        })
        .await
        .expect("clone actor mailbox")
}

async fn clone(actor: &Addr<CloneActor>, from: &Path, to: &Path) -> CloneStats {
    try_clone(actor, from, to)
        .await
        .unwrap_or_else(|e| panic!("cloning {from:?}: {e}"))
}

async fn try_link_bins(
    actor: &Addr<CloneActor>,
    node_modules: &Path,
    package: &str,
    bins: &[(&str, &str)],
) -> Result<(), CloneError> {
    actor
        .send(LinkBins {
            node_modules: node_modules.to_path_buf(),
            package: package.to_string(),
            bins: bins
                .iter()
                .map(|(name, path)| (name.to_string(), path.to_string()))
                .collect::<BTreeMap<_, _>>(),
        })
        .await
        .expect("clone actor mailbox")
}

async fn link_bins(
    actor: &Addr<CloneActor>,
    node_modules: &Path,
    package: &str,
    bins: &[(&str, &str)],
) {
    try_link_bins(actor, node_modules, package, bins)
        .await
        .unwrap_or_else(|e| panic!("linking bins of {package}: {e}"));
}

struct Dirs {
    cache: TempDir,
    project: TempDir,
}

impl Dirs {
    fn new() -> Dirs {
        Dirs {
            cache: tempfile::tempdir().expect("cache tempdir"),
            project: tempfile::tempdir().expect("project tempdir"),
        }
    }

    fn node_modules(&self) -> PathBuf {
        self.project.path().join("node_modules")
    }

    fn same_filesystem(&self) -> bool {
        let dev = |p: &Path| fs::metadata(p).expect("metadata").dev();
        dev(self.cache.path()) == dev(self.project.path())
    }
}

#[actix::test]
async fn clones_a_tree_with_contents_and_exec_bits() {
    let dirs = Dirs::new();
    let from = cache_entry(dirs.cache.path());
    let to = dirs.node_modules().join("demo");
    let actor = cloner(SharedStrategy::default());

    let stats = clone(&actor, &from, &to).await;

    assert_eq!(stats.files, CLONED.len() as u64);
    for file in CLONED {
        assert_eq!(
            fs::read(to.join(file)).expect(file),
            fs::read(from.join(file)).expect(file),
            "{file}"
        );
    }
    assert_eq!(mode(&to.join("bin/cli.js")), 0o755);
    assert_eq!(mode(&to.join("index.js")), 0o644);
    assert!(!to.join(".utoo-index").exists());
    assert!(
        from.join(".utoo-index").exists(),
        "the cache keeps its index"
    );
}

#[actix::test]
async fn on_one_filesystem_files_are_linked_or_reflinked_not_copied() {
    let dirs = Dirs::new();
    assert!(
        dirs.same_filesystem(),
        "both tempdirs should share a filesystem"
    );
    let from = cache_entry(dirs.cache.path());
    let to = dirs.node_modules().join("demo");
    let strategy = SharedStrategy::default();
    assert_eq!(strategy.get(), None);
    let actor = cloner(strategy.clone());

    let stats = clone(&actor, &from, &to).await;

    let used = stats.strategy.expect("a strategy was chosen");
    assert!(
        matches!(used, Strategy::Hardlink | Strategy::Reflink),
        "same filesystem, yet {used:?}"
    );
    assert_eq!(strategy.get(), Some(used), "the choice is shared");
    let ino = |p: &Path| fs::metadata(p).expect("metadata").ino();
    let same_inode = ino(&from.join("index.js")) == ino(&to.join("index.js"));
    assert_eq!(same_inode, used == Strategy::Hardlink);
}

#[actix::test]
async fn fixed_copy_makes_independent_files() {
    let dirs = Dirs::new();
    let from = cache_entry(dirs.cache.path());
    let to = dirs.node_modules().join("demo");
    let actor = cloner(SharedStrategy::fixed(Strategy::Copy));

    let stats = clone(&actor, &from, &to).await;

    assert_eq!(stats.strategy, Some(Strategy::Copy));
    let ino = |p: &Path| fs::metadata(p).expect("metadata").ino();
    for file in CLONED {
        assert_ne!(ino(&from.join(file)), ino(&to.join(file)), "{file}");
    }
    assert_eq!(mode(&to.join("bin/cli.js")), 0o755);
    fs::write(to.join("index.js"), "patched in node_modules").expect("patch");
    assert_eq!(
        fs::read_to_string(from.join("index.js")).expect("cache file"),
        "module.exports = 1;\n",
        "the cache must stay pristine"
    );
}

#[actix::test]
async fn existing_content_at_the_target_is_replaced() {
    let dirs = Dirs::new();
    let from = cache_entry(dirs.cache.path());
    let to = dirs.node_modules().join("demo");
    write(&to.join("stale.js"), "from an older version", 0o644);
    write(&to.join("index.js"), "old index", 0o644);
    write(&to.join("old/dir/file.js"), "old", 0o644);
    let actor = cloner(SharedStrategy::default());

    let stats = clone(&actor, &from, &to).await;

    assert_eq!(stats.files, CLONED.len() as u64);
    assert!(!to.join("stale.js").exists());
    assert!(!to.join("old").exists());
    assert_eq!(
        fs::read_to_string(to.join("index.js")).expect("index.js"),
        "module.exports = 1;\n"
    );
}

#[actix::test]
async fn a_file_or_symlink_at_the_target_is_replaced() {
    let dirs = Dirs::new();
    let from = cache_entry(dirs.cache.path());
    let actor = cloner(SharedStrategy::default());
    let as_file = dirs.node_modules().join("as-file");
    write(&as_file, "not a folder", 0o644);
    let elsewhere = dirs.project.path().join("elsewhere");
    write(&elsewhere.join("keep.js"), "keep", 0o644);
    let as_link = dirs.node_modules().join("as-link");
    symlink(&elsewhere, &as_link).expect("symlink");

    clone(&actor, &from, &as_file).await;
    clone(&actor, &from, &as_link).await;

    for to in [&as_file, &as_link] {
        let meta = fs::symlink_metadata(to).expect("target");
        assert!(meta.is_dir(), "{to:?} should now be a real folder");
        assert!(to.join("index.js").is_file());
    }
    assert!(
        elsewhere.join("keep.js").is_file(),
        "replacing a symlink must not touch what it pointed to"
    );
}

#[actix::test]
async fn concurrent_clones_share_one_probe() {
    let dirs = Dirs::new();
    let from = cache_entry(dirs.cache.path());
    let strategy = SharedStrategy::default();
    let actor = cloner(strategy.clone());
    let targets: Vec<PathBuf> = (0..8)
        .map(|i| dirs.node_modules().join(format!("copy-{i}")))
        .collect();

    let all = join_all(targets.iter().map(|to| clone(&actor, &from, to))).await;

    let chosen = strategy.get().expect("probed");
    for (to, stats) in targets.iter().zip(all) {
        assert_eq!(stats.files, CLONED.len() as u64);
        assert_eq!(stats.strategy, Some(chosen));
        for file in CLONED {
            assert!(to.join(file).is_file(), "{to:?}/{file}");
        }
    }
}

#[actix::test]
async fn link_bins_makes_relative_symlinks_with_exec_bits() {
    let dirs = Dirs::new();
    let node_modules = dirs.node_modules();
    write(
        &node_modules.join("demo/cli.js"),
        "#!/usr/bin/env node\n",
        0o644,
    );
    write(
        &node_modules.join("demo/bin/other.js"),
        "#!/usr/bin/env node\n",
        0o600,
    );
    let actor = cloner(SharedStrategy::default());

    link_bins(
        &actor,
        &node_modules,
        "demo",
        &[("demo", "cli.js"), ("demo-other", "bin/other.js")],
    )
    .await;

    let link = node_modules.join(".bin/demo");
    assert!(fs::symlink_metadata(&link)
        .expect("link")
        .file_type()
        .is_symlink());
    assert_eq!(
        fs::read_link(&link).expect("readlink"),
        Path::new("../demo/cli.js")
    );
    assert_eq!(
        fs::read_to_string(&link).expect("link resolves"),
        "#!/usr/bin/env node\n"
    );
    assert_eq!(
        fs::read_link(node_modules.join(".bin/demo-other")).expect("readlink"),
        Path::new("../demo/bin/other.js")
    );
    assert_eq!(mode(&node_modules.join("demo/cli.js")), 0o755);
    assert_eq!(mode(&node_modules.join("demo/bin/other.js")) & 0o111, 0o111);
}

#[actix::test]
async fn link_bins_replaces_an_existing_link() {
    let dirs = Dirs::new();
    let node_modules = dirs.node_modules();
    write(&node_modules.join("demo/cli.js"), "new", 0o755);
    fs::create_dir_all(node_modules.join(".bin")).expect(".bin");
    symlink("../old-demo/gone.js", node_modules.join(".bin/demo")).expect("stale link");
    write(
        &node_modules.join(".bin/plain"),
        "a file, not a link",
        0o644,
    );
    write(&node_modules.join("plain/run.js"), "run", 0o644);
    let actor = cloner(SharedStrategy::default());

    link_bins(&actor, &node_modules, "demo", &[("demo", "cli.js")]).await;
    link_bins(&actor, &node_modules, "plain", &[("plain", "run.js")]).await;

    assert_eq!(
        fs::read_link(node_modules.join(".bin/demo")).expect("readlink"),
        Path::new("../demo/cli.js")
    );
    assert_eq!(
        fs::read_link(node_modules.join(".bin/plain")).expect("readlink"),
        Path::new("../plain/run.js")
    );
}

#[actix::test]
async fn link_bins_skips_a_missing_target() {
    let dirs = Dirs::new();
    let node_modules = dirs.node_modules();
    write(&node_modules.join("demo/cli.js"), "present", 0o644);
    let actor = cloner(SharedStrategy::default());

    link_bins(
        &actor,
        &node_modules,
        "demo",
        &[("demo", "cli.js"), ("ghost", "missing.js")],
    )
    .await;

    assert!(fs::symlink_metadata(node_modules.join(".bin/ghost")).is_err());
    assert!(!node_modules.join("demo/missing.js").exists());
    assert_eq!(
        fs::read_link(node_modules.join(".bin/demo")).expect("readlink"),
        Path::new("../demo/cli.js")
    );
}

#[actix::test]
async fn scoped_packages_clone_and_link() {
    let dirs = Dirs::new();
    let from = cache_entry(dirs.cache.path());
    let node_modules = dirs.node_modules();
    let actor = cloner(SharedStrategy::default());

    clone(&actor, &from, &node_modules.join("@s/tool")).await;
    link_bins(&actor, &node_modules, "@s/tool", &[("tool", "bin/cli.js")]).await;

    assert!(node_modules
        .join("@s/tool/lib/deep/nested/util.js")
        .is_file());
    let link = node_modules.join(".bin/tool");
    assert_eq!(
        fs::read_link(&link).expect("readlink"),
        Path::new("../@s/tool/bin/cli.js")
    );
    assert_eq!(
        fs::read_to_string(&link).expect("link resolves"),
        "#!/usr/bin/env node\n"
    );
}

#[actix::test]
async fn a_damaged_entry_is_reported_not_linked() {
    let dirs = Dirs::new();
    let from = cache_entry(dirs.cache.path());
    let actor = cloner(SharedStrategy::default());
    clone(&actor, &from, &dirs.node_modules().join("demo")).await;

    // Same size, written in place later (the clock ticks coarsely).
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(from.join("index.js"), "module.exports = 2;\n").expect("edit in place");
    let error = try_clone(&actor, &from, &dirs.node_modules().join("other"))
        .await
        .expect_err("an edited entry is damaged");
    assert!(error.is_damaged_entry(), "{error}");

    fs::remove_file(from.join("lib/deep/nested/util.js")).expect("damage");
    let error = try_clone(&actor, &from, &dirs.node_modules().join("third"))
        .await
        .expect_err("a file is missing");
    assert!(error.is_damaged_entry(), "{error}");

    fs::remove_file(from.join(".utoo-index")).expect("unindex");
    let error = try_clone(&actor, &from, &dirs.node_modules().join("fourth"))
        .await
        .expect_err("no index");
    assert!(error.is_damaged_entry(), "{error}");
}

#[actix::test]
async fn link_bins_refuses_names_and_paths_that_leave_bin_or_the_package() {
    let dirs = Dirs::new();
    let node_modules = dirs.node_modules();
    write(&node_modules.join("demo/cli.js"), "run", 0o644);
    let actor = cloner(SharedStrategy::default());
    for (name, path) in [
        ("../../victim.txt", "cli.js"),
        ("/tmp/abs", "cli.js"),
        ("..", "cli.js"),
        ("demo", "../../secret"),
        ("demo", "/etc/passwd"),
    ] {
        let error = try_link_bins(&actor, &node_modules, "demo", &[(name, path)])
            .await
            .expect_err("refused");
        assert!(matches!(error, CloneError::UnsafeBin { .. }), "{error}");
    }
    assert!(
        !node_modules.join(".bin").exists()
            || fs::read_dir(node_modules.join(".bin"))
                .expect(".bin")
                .next()
                .is_none()
    );
}

#[actix::test]
async fn link_bins_never_follows_a_link_out_of_the_package() {
    let dirs = Dirs::new();
    let node_modules = dirs.node_modules();
    let outside = dirs.project.path().join("secret");
    write(&outside, "private", 0o600);
    write(&node_modules.join("demo/cli.js"), "run", 0o644);
    symlink(&outside, node_modules.join("demo/escape.js")).expect("link out");
    let actor = cloner(SharedStrategy::default());

    link_bins(
        &actor,
        &node_modules,
        "demo",
        &[("demo", "cli.js"), ("sneaky", "escape.js")],
    )
    .await;

    assert_eq!(
        mode(&outside),
        0o600,
        "nothing outside the package is chmodded"
    );
    assert!(fs::symlink_metadata(node_modules.join(".bin/sneaky")).is_err());
    assert!(node_modules.join(".bin/demo").exists());
}

#[actix::test]
async fn a_bin_folder_that_is_a_link_is_refused() {
    let dirs = Dirs::new();
    let node_modules = dirs.node_modules();
    let elsewhere = dirs.project.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).expect("elsewhere");
    write(&node_modules.join("demo/cli.js"), "run", 0o644);
    symlink(&elsewhere, node_modules.join(".bin")).expect(".bin link");
    let actor = cloner(SharedStrategy::default());

    let error = try_link_bins(&actor, &node_modules, "demo", &[("demo", "cli.js")])
        .await
        .expect_err("refused");
    assert!(
        matches!(error, CloneError::BinFolderNotADirectory(_)),
        "{error}"
    );
    assert!(fs::read_dir(&elsewhere)
        .expect("elsewhere")
        .next()
        .is_none());
}

#[actix::test]
async fn a_package_with_many_files_is_placed_whole_and_damage_anywhere_in_it_is_found() {
    let dirs = Dirs::new();
    let from = dirs.cache.path().join("packages/big/1.0.0-abc");
    let mut index = EntryIndex::new("sha512-big");
    let files: Vec<String> = (0..1000).map(|n| format!("d{}/f{n}.js", n % 9)).collect();
    for folder in (0..9).map(|d| format!("d{d}")) {
        index.add_dir(folder);
    }
    for (n, file) in files.iter().enumerate() {
        write(&from.join(file), &format!("file {n}\n"), 0o644);
        index.add_file(file, fs::metadata(from.join(file)).expect("written").len());
    }
    index.write_into(&from).expect("index");
    let actor = cloner(SharedStrategy::default());

    let stats = clone(&actor, &from, &dirs.node_modules().join("big")).await;
    assert_eq!(stats.files, 1000);
    for (n, file) in files.iter().enumerate() {
        let placed = fs::read_to_string(dirs.node_modules().join("big").join(file)).expect(file);
        assert_eq!(placed, format!("file {n}\n"));
    }

    // The last file is checked as the first is, whichever thread places it.
    fs::remove_file(from.join(&files[999])).expect("damage");
    let error = try_clone(&actor, &from, &dirs.node_modules().join("again"))
        .await
        .expect_err("a file is missing");
    assert!(error.is_damaged_entry(), "{error}");
}
