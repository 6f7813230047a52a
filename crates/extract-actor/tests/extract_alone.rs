//! The extract actor on its own, on a `SyncArbiter`, with a cache in a
//! temporary folder: normal extraction, reuse, redoing unfinished entries,
//! and hostile tarballs that must leave nothing behind.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use actix::{Addr, SyncArbiter};
use bytes::Bytes;
use tempfile::TempDir;
use utoo_extract_actor::{
    CacheEntry, Extract, ExtractActor, ExtractError, UnpackError, UnpackStats,
};
use utoo_package_cache::{CacheLayout, SealedIndex};
use utoo_test_registry::Tarball;

/// A sandbox folder holding only `cache/`, so anything written next to the
/// cache (by a `../` escape) shows up as an extra name in the sandbox.
struct Sandbox {
    dir: TempDir,
    layout: CacheLayout,
    actor: Addr<ExtractActor>,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = CacheLayout::new(dir.path().join("cache"));
        let actor = {
            let layout = layout.clone();
            SyncArbiter::start(2, move || ExtractActor::new(layout.clone()))
        };
        Sandbox { dir, layout, actor }
    }

    async fn extract(
        &self,
        name: &str,
        key: &str,
        tarball: Vec<u8>,
    ) -> Result<CacheEntry, ExtractError> {
        self.send(name, key, tarball, false).await
    }

    async fn send(
        &self,
        name: &str,
        key: &str,
        tarball: Vec<u8>,
        replace_damaged: bool,
    ) -> Result<CacheEntry, ExtractError> {
        self.actor
            .send(Extract {
                name: name.to_string(),
                version: "1.0.0".to_string(),
                cache_key: key.to_string(),
                tarball: Bytes::from(tarball),
                replace_damaged,
            })
            .await
            .expect("extract actor mailbox")
    }

    async fn reject(&self, name: &str, tarball: Vec<u8>) -> UnpackError {
        let err = self
            .extract(name, &format!("sha512-{name}"), tarball)
            .await
            .expect_err("hostile tarball must be rejected");
        assert_eq!((err.name.as_str(), err.version.as_str()), (name, "1.0.0"));
        let entry = self
            .layout
            .entry_dir(name, "1.0.0", &format!("sha512-{name}"));
        assert!(!entry.exists(), "{entry:?} left in the cache");
        self.assert_nothing_escaped();
        err.source
    }

    /// The sandbox holds only the cache, and the staging folder is empty.
    fn assert_nothing_escaped(&self) {
        assert_eq!(
            names(self.dir.path()),
            BTreeSet::from(["cache".to_string()])
        );
        let cache_names = names(self.layout.root());
        assert!(
            cache_names.is_subset(&BTreeSet::from(["packages".to_string(), "tmp".to_string()])),
            "unexpected names in the cache: {cache_names:?}"
        );
        let staging = self.layout.staging_root();
        if staging.exists() {
            assert!(
                names(&staging).is_empty(),
                "staging leftovers: {:?}",
                names(&staging)
            );
        }
        // Nothing landed next to the entries either.
        let packages = self.layout.root().join("packages");
        if packages.exists() {
            for package in names(&packages) {
                for entry in names(&packages.join(&package)) {
                    let dir = packages.join(&package).join(&entry);
                    assert!(CacheLayout::is_complete(&dir), "unfinished {dir:?}");
                }
            }
        }
    }
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {dir:?}: {e}"))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path:?}: {e}"))
        .permissions()
        .mode()
        & 0o777
}

fn normal_tarball() -> Vec<u8> {
    Tarball::new()
        .file(
            "package/package.json",
            r#"{"name":"demo","version":"1.0.0"}"#,
        )
        .file("package/index.js", "module.exports = 1;\n")
        .executable("package/bin/cli.js", "#!/usr/bin/env node\n")
        .file("package/lib/deep/util.js", "exports.x = 2;\n")
        .gzip()
        .expect("tarball")
}

#[actix::test]
async fn extracts_below_the_entry_dir_without_the_package_prefix() {
    let sandbox = Sandbox::new();

    let entry = sandbox
        .extract("demo", "sha512-demo", normal_tarball())
        .await
        .expect("extraction");

    assert_eq!(
        entry.dir,
        sandbox.layout.entry_dir("demo", "1.0.0", "sha512-demo")
    );
    assert!(entry.dir.starts_with(sandbox.layout.root()));
    assert!(!entry.reused);
    assert_eq!(
        entry.stats,
        UnpackStats {
            files: 4,
            bytes: (r#"{"name":"demo","version":"1.0.0"}"#.len()
                + "module.exports = 1;\n".len()
                + "#!/usr/bin/env node\n".len()
                + "exports.x = 2;\n".len()) as u64,
        }
    );
    assert!(!entry.dir.join("package").exists());
    assert_eq!(
        fs::read_to_string(entry.dir.join("index.js")).expect("index.js"),
        "module.exports = 1;\n"
    );
    assert_eq!(
        fs::read_to_string(entry.dir.join("lib/deep/util.js")).expect("util.js"),
        "exports.x = 2;\n"
    );
    assert_eq!(mode(&entry.dir.join("bin/cli.js")), 0o755);
    assert_eq!(mode(&entry.dir.join("index.js")), 0o644);
    assert_eq!(mode(&entry.dir.join("lib/deep/util.js")), 0o644);
    assert!(CacheLayout::is_complete(&entry.dir));
    let index = SealedIndex::read(&entry.dir).expect("index").index;
    assert_eq!(index.key, "sha512-demo");
    let dirs: Vec<&str> = index.dirs.iter().filter_map(|d| d.to_str()).collect();
    assert_eq!(dirs, ["bin", "lib", "lib/deep"]);
    let mut files: Vec<(&str, u64)> = index
        .files
        .iter()
        .filter_map(|f| Some((f.path.to_str()?, f.size)))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            ("bin/cli.js", 20),
            ("index.js", 20),
            ("lib/deep/util.js", 15),
            ("package.json", 33)
        ]
    );
    sandbox.assert_nothing_escaped();
}

#[actix::test]
async fn any_exec_bit_makes_a_file_0o755_and_none_makes_it_0o644() {
    let sandbox = Sandbox::new();
    let tarball = Tarball::new()
        .file_with_mode("package/owner-only", "x", 0o700)
        .file_with_mode("package/group-exec", "x", 0o610)
        .file_with_mode("package/private", "x", 0o600)
        .file_with_mode("package/world-writable", "x", 0o666)
        .gzip()
        .expect("tarball");

    let entry = sandbox
        .extract("modes", "sha512-modes", tarball)
        .await
        .expect("extraction");

    assert_eq!(mode(&entry.dir.join("owner-only")), 0o755);
    assert_eq!(mode(&entry.dir.join("group-exec")), 0o755);
    assert_eq!(mode(&entry.dir.join("private")), 0o644);
    assert_eq!(mode(&entry.dir.join("world-writable")), 0o644);
}

#[actix::test]
async fn a_complete_entry_is_reused_without_rewriting() {
    let sandbox = Sandbox::new();
    let first = sandbox
        .extract("demo", "sha512-demo", normal_tarball())
        .await
        .expect("first extraction");
    fs::write(first.dir.join("index.js"), "locally modified").expect("modify");

    let second = sandbox
        .extract("demo", "sha512-demo", normal_tarball())
        .await
        .expect("second extraction");

    assert!(second.reused);
    assert_eq!(second.dir, first.dir);
    assert_eq!(second.stats, UnpackStats::default());
    assert_eq!(
        fs::read_to_string(second.dir.join("index.js")).expect("index.js"),
        "locally modified"
    );
    sandbox.assert_nothing_escaped();
}

#[actix::test]
async fn another_cache_key_gets_its_own_entry() {
    let sandbox = Sandbox::new();
    let first = sandbox
        .extract("demo", "sha512-one", normal_tarball())
        .await
        .expect("first extraction");
    let other = Tarball::new()
        .file("package/index.js", "module.exports = 2;\n")
        .gzip()
        .expect("tarball");

    let second = sandbox
        .extract("demo", "sha512-two", other)
        .await
        .expect("second extraction");

    assert!(!second.reused);
    assert_ne!(second.dir, first.dir);
    assert_eq!(
        fs::read_to_string(second.dir.join("index.js")).expect("index.js"),
        "module.exports = 2;\n"
    );
    assert_eq!(
        fs::read_to_string(first.dir.join("index.js")).expect("index.js"),
        "module.exports = 1;\n"
    );
}

#[actix::test]
async fn a_damaged_entry_is_replaced_only_when_still_damaged() {
    let sandbox = Sandbox::new();
    let first = sandbox
        .extract("demo", "sha512-demo", normal_tarball())
        .await
        .expect("extraction");
    let intact = sandbox
        .send("demo", "sha512-demo", normal_tarball(), true)
        .await
        .expect("reuse");
    assert!(
        intact.reused,
        "an intact entry (repaired by someone else) is kept"
    );

    fs::remove_file(first.dir.join("index.js")).expect("damage the entry");
    let reused = sandbox
        .extract("demo", "sha512-demo", normal_tarball())
        .await
        .expect("reuse");
    assert!(
        reused.reused,
        "without the flag a complete entry is trusted"
    );
    let repaired = sandbox
        .send("demo", "sha512-demo", normal_tarball(), true)
        .await
        .expect("repair");
    assert!(!repaired.reused);
    assert_eq!(repaired.dir, first.dir);
    let sealed = SealedIndex::read(&repaired.dir).expect("index");
    sealed.check_all(&repaired.dir).expect("intact again");
    sandbox.assert_nothing_escaped();
}

#[actix::test]
async fn an_entry_without_its_index_is_redone() {
    let sandbox = Sandbox::new();
    let dir = sandbox.layout.entry_dir("demo", "1.0.0", "sha512-demo");
    // What a crash halfway through an older, non-atomic extraction leaves.
    fs::create_dir_all(dir.join("lib")).expect("partial entry");
    fs::write(dir.join("index.js"), "half written").expect("partial file");
    fs::write(dir.join("stale.js"), "not in the tarball").expect("stale file");

    let entry = sandbox
        .extract("demo", "sha512-demo", normal_tarball())
        .await
        .expect("extraction");

    assert_eq!(entry.dir, dir);
    assert!(!entry.reused);
    assert!(CacheLayout::is_complete(&dir));
    assert_eq!(
        fs::read_to_string(dir.join("index.js")).expect("index.js"),
        "module.exports = 1;\n"
    );
    assert!(!dir.join("stale.js").exists());
    sandbox.assert_nothing_escaped();
}

#[actix::test]
async fn a_parent_dir_entry_is_an_unsafe_path() {
    let sandbox = Sandbox::new();
    let tarball = Tarball::new()
        .file("package/index.js", "fine")
        .file("package/../evil.txt", "escaped")
        .gzip()
        .expect("tarball");

    let err = sandbox.reject("dotdot", tarball).await;

    match err {
        UnpackError::UnsafePath(path) => assert_eq!(path, PathBuf::from("package/../evil.txt")),
        other => panic!("expected UnsafePath, got {other:?}"),
    }
}

#[actix::test]
async fn a_deeper_parent_dir_entry_is_an_unsafe_path() {
    let sandbox = Sandbox::new();
    let tarball = Tarball::new()
        .file("package/index.js", "fine")
        .file("package/../../../evil.txt", "escaped")
        .gzip()
        .expect("tarball");

    let err = sandbox.reject("deeper", tarball).await;

    assert!(matches!(err, UnpackError::UnsafePath(_)), "{err:?}");
}

#[actix::test]
async fn an_absolute_entry_is_an_unsafe_path() {
    let sandbox = Sandbox::new();
    // Inside the sandbox, so a failure to refuse it is seen and cleaned up.
    let absolute = sandbox.dir.path().join("evil.txt");
    let absolute = absolute.to_str().expect("utf-8 tempdir");
    let tarball = Tarball::new()
        .file("package/index.js", "fine")
        .file(absolute, "escaped")
        .gzip()
        .expect("tarball");

    let err = sandbox.reject("absolute", tarball).await;

    match err {
        UnpackError::UnsafePath(path) => assert_eq!(path, PathBuf::from(absolute)),
        other => panic!("expected UnsafePath, got {other:?}"),
    }
}

#[actix::test]
async fn an_escaping_symlink_is_refused() {
    let sandbox = Sandbox::new();
    let tarball = Tarball::new()
        .file("package/index.js", "fine")
        .symlink("package/link", "../../outside")
        .gzip()
        .expect("tarball");

    let err = sandbox.reject("symlink", tarball).await;

    match err {
        UnpackError::LinkEscapes(path) => assert_eq!(path, PathBuf::from("package/link")),
        other => panic!("expected LinkEscapes, got {other:?}"),
    }
}

#[actix::test]
async fn an_absolute_symlink_is_refused() {
    let sandbox = Sandbox::new();
    let tarball = Tarball::new()
        .symlink("package/passwd", "/etc/passwd")
        .gzip()
        .expect("tarball");

    let err = sandbox.reject("abslink", tarball).await;

    assert!(matches!(err, UnpackError::LinkEscapes(_)), "{err:?}");
}

#[actix::test]
async fn an_escaping_hardlink_is_refused() {
    let sandbox = Sandbox::new();
    let tarball = Tarball::new()
        .file("package/index.js", "fine")
        .hardlink("package/hard", "../../outside")
        .gzip()
        .expect("tarball");

    let err = sandbox.reject("hardlink", tarball).await;

    match err {
        UnpackError::LinkEscapes(path) => assert_eq!(path, PathBuf::from("package/hard")),
        other => panic!("expected LinkEscapes for package/hard, got {other:?}"),
    }
}

#[actix::test]
async fn links_inside_the_package_are_skipped_not_refused() {
    let sandbox = Sandbox::new();
    let tarball = Tarball::new()
        .file("package/lib/real.js", "real")
        .symlink("package/lib/alias.js", "real.js")
        .symlink("package/lib/up.js", "../index.js")
        .hardlink("package/hard.js", "package/lib/real.js")
        .gzip()
        .expect("tarball");

    let entry = sandbox
        .extract("links", "sha512-links", tarball)
        .await
        .expect("inside links are harmless");

    assert_eq!(entry.stats.files, 1);
    assert!(entry.dir.join("lib/real.js").is_file());
    for skipped in ["lib/alias.js", "lib/up.js", "hard.js"] {
        assert!(
            fs::symlink_metadata(entry.dir.join(skipped)).is_err(),
            "{skipped} should be skipped, as npm does"
        );
    }
}

#[actix::test]
async fn corrupt_gzip_is_corrupt() {
    let sandbox = Sandbox::new();

    let err = sandbox
        .reject("garbage", b"this is not gzip data at all".to_vec())
        .await;

    assert!(matches!(err, UnpackError::Corrupt(_)), "{err:?}");
}

#[actix::test]
async fn a_truncated_tarball_is_corrupt() {
    let sandbox = Sandbox::new();
    let big: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    let mut tarball = Tarball::new()
        .file("package/big.txt", big)
        .gzip()
        .expect("tarball");
    tarball.truncate(tarball.len() / 2);

    let err = sandbox.reject("truncated", tarball).await;

    assert!(matches!(err, UnpackError::Corrupt(_)), "{err:?}");
}

#[actix::test]
async fn a_repeated_entry_takes_the_later_content_and_mode() {
    let sandbox = Sandbox::new();
    let tarball = Tarball::new()
        .file("package/cli.js", "first")
        .executable("package/cli.js", "second")
        .gzip()
        .expect("tarball");

    let entry = sandbox
        .extract("twice", "sha512-twice", tarball)
        .await
        .expect("extraction");

    assert_eq!(
        fs::read_to_string(entry.dir.join("cli.js")).expect("cli.js"),
        "second"
    );
    let cli_mode = mode(&entry.dir.join("cli.js"));
    assert_eq!(
        cli_mode, 0o755,
        "the later, executable entry wins; got {cli_mode:o}"
    );
}

/// Installs sharing one cache extract the same package at once. The first
/// entry renamed into place is the one every install links from, so it must
/// stay: an install that finishes later drops its own copy instead of
/// moving the finished entry aside under the others' feet.
#[test]
fn a_finished_entry_stays_while_other_installs_finish_the_same_package() {
    use std::os::unix::fs::MetadataExt;
    const INSTALLS: usize = 4;
    for round in 0..20 {
        let sandbox = tempfile::tempdir().expect("tempdir");
        let layout = CacheLayout::new(sandbox.path().join("cache"));
        let start = std::sync::Barrier::new(INSTALLS);
        let entries: Vec<(PathBuf, u64)> = std::thread::scope(|scope| {
            let installs: Vec<_> = (0..INSTALLS)
                .map(|_| {
                    let (layout, start) = (layout.clone(), &start);
                    scope.spawn(move || {
                        let extractor = ExtractActor::new(layout);
                        start.wait();
                        let entry = extractor
                            .extract(&Extract {
                                name: "demo".to_string(),
                                version: "1.0.0".to_string(),
                                cache_key: "sha512-demo".to_string(),
                                tarball: Bytes::from(normal_tarball()),
                                replace_damaged: false,
                            })
                            .expect("extraction");
                        let inode = fs::metadata(&entry.dir).expect("entry").ino();
                        (entry.dir, inode)
                    })
                })
                .collect();
            installs
                .into_iter()
                .map(|install| install.join().expect("install thread"))
                .collect()
        });
        let (dir, _) = &entries[0];
        let in_place = fs::metadata(dir).expect("entry").ino();
        for (their_dir, inode) in &entries {
            assert_eq!(their_dir, dir);
            assert_eq!(
                *inode, in_place,
                "round {round}: an entry an install was given was replaced"
            );
        }
        assert!(layout
            .staging_root()
            .read_dir()
            .expect("staging")
            .next()
            .is_none());
    }
}
