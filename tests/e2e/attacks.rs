//! The fault suite, continued: attacks through a committed lockfile and
//! damage to the shared cache, written as an attacker (or an unlucky user)
//! would make them. Each test fails without the check it is named after.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::support::{describe, stderr, Project};

const FIXTURES: &str = "
    aa@1.0.0 deps(bb@^1) bin(aa=cli.js) file(data.txt=original)
    bb@1.0.0 file(data.txt=bb original)
";

/// A folder beside the project, where nothing the install does may reach.
fn outside(project: &Project) -> PathBuf {
    let dir = project.dir().parent().expect("scratch").join("outside");
    fs::create_dir_all(&dir).expect("outside folder");
    dir
}

fn edit_lockfile(project: &Project, edit: impl FnOnce(&mut Value)) {
    let mut lock = project.lockfile();
    edit(&mut lock);
    let text = serde_json::to_string_pretty(&lock).expect("lockfile") + "\n";
    fs::write(project.dir().join("package-lock.json"), text).expect("write lockfile");
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[test]
fn lockfile_bins_stay_inside_node_modules_bin_and_their_package() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    let outside = outside(&project);
    let victim = outside.join("victim.txt");
    let secret = outside.join("secret");
    fs::write(&victim, "keep me").unwrap();
    fs::write(&secret, "private").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let absolute = outside.join("absolute-bin");
    edit_lockfile(&project, |lock| {
        lock["packages"]["node_modules/aa"]["bin"] = json!({
            "../../../outside/victim.txt": "cli.js",
            absolute.to_str().unwrap(): "cli.js",
            "steal": "../../../outside/secret",
        });
    });

    let output = project.utoo(&["ci", "--ignore-scripts"]);

    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(
        !is_symlink(&victim),
        "the file outside was replaced by a link"
    );
    assert!(
        !is_symlink(&absolute),
        "a link was made at an absolute path"
    );
    assert_eq!(mode(&secret), 0o600, "a file outside was made executable");
    let bin = project.dir().join("node_modules/.bin");
    // npm keeps the base name of each bin, inside `.bin`.
    for name in ["victim.txt", "absolute-bin"] {
        assert_eq!(
            fs::read_link(bin.join(name)).unwrap(),
            Path::new("../aa/cli.js"),
            "{name}"
        );
    }
    assert!(!bin.join("steal").exists() && !is_symlink(&bin.join("steal")));
}

#[test]
fn workspace_and_file_folder_bins_stay_inside_node_modules_bin() {
    let project = Project::new(
        FIXTURES,
        json!({"name": "mono", "workspaces": ["packages/*"],
               "dependencies": {"vendored": "file:vendored"}}),
    );
    let outside = outside(&project);
    let victim = outside.join("victim.txt");
    let secret = outside.join("secret");
    fs::write(&victim, "keep me").unwrap();
    fs::write(&secret, "private").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let absolute = outside.join("absolute-bin");
    let folders = [
        (
            "packages/evil",
            json!({"name": "evil", "version": "1.0.0",
                   "bin": {"../../../outside/victim.txt": "cli.js", "steal": "../../../outside/secret"}}),
        ),
        (
            "vendored",
            json!({"name": "vendored", "version": "1.0.0",
                   "bin": {absolute.to_str().unwrap(): "cli.js"}}),
        ),
    ];
    for (location, package_json) in folders {
        let folder = project.dir().join(location);
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join("package.json"), package_json.to_string()).unwrap();
        fs::write(folder.join("cli.js"), "#!/usr/bin/env node\n").unwrap();
    }

    project.install(&[]);

    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(!is_symlink(&victim) && !is_symlink(&absolute));
    assert_eq!(mode(&secret), 0o600);
    let bin = project.dir().join("node_modules/.bin");
    assert_eq!(
        fs::read_link(bin.join("victim.txt")).unwrap(),
        Path::new("../evil/cli.js")
    );
    assert_eq!(
        fs::read_link(bin.join("absolute-bin")).unwrap(),
        Path::new("../vendored/cli.js")
    );
    assert!(!is_symlink(&bin.join("steal")));
}

#[test]
fn lockfile_package_paths_cannot_leave_node_modules() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    fs::write(outside(&project).join("keep.txt"), "keep me").unwrap();
    let bb = project.lockfile()["packages"]["node_modules/bb"].clone();
    let link_to_bb = json!({"resolved": "node_modules/bb", "link": true});
    for (hostile, entry) in [
        ("node_modules/../../outside", &bb),
        ("node_modules/.bin", &bb),
        (
            "node_modules/aa/node_modules/../../../outside/evil",
            &link_to_bb,
        ),
    ] {
        edit_lockfile(&project, |lock| lock["packages"][hostile] = entry.clone());
        // With no node_modules, the lockfile's packages are placed while it is checked.
        for into_nothing in [false, true] {
            let node_modules = project.dir().join("node_modules");
            match into_nothing {
                true => fs::remove_dir_all(&node_modules).unwrap(),
                false => fs::create_dir_all(&node_modules).unwrap(),
            }
            let output = project.utoo(&["ci", "--ignore-scripts"]);
            assert!(!output.status.success(), "{hostile}: {}", describe(&output));
            assert_refused(&project, hostile, &output);
            assert_eq!(
                node_modules.exists(),
                !into_nothing,
                "{hostile}: a failed install leaves node_modules as it found it"
            );
        }
        edit_lockfile(&project, |lock| {
            lock["packages"].as_object_mut().unwrap().remove(hostile);
        });
    }
}

/// The install refused the lockfile's `hostile` path and wrote nothing outside the project.
fn assert_refused(project: &Project, hostile: &str, output: &std::process::Output) {
    let outside = outside(project);
    let err = stderr(output);
    assert!(
        err.contains("package-lock.json") && err.contains(hostile),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(outside.join("keep.txt")).unwrap(),
        "keep me"
    );
    assert!(!outside.join("data.txt").exists(), "bb was placed outside");
    assert!(
        !is_symlink(&outside.join("evil")),
        "a link was placed outside"
    );
}

/// A new project wanting `aa`, installed with `first`'s cache.
fn install_sharing_cache(first: &Project) -> (Project, std::process::Output) {
    let next = Project::with_registry(
        crate::support::registry(FIXTURES),
        json!({"dependencies": {"aa": "1"}}),
    );
    let output = next.utoo_with(&["install"], |c| c.env("UTOO_CACHE_DIR", first.cache()));
    assert!(output.status.success(), "{}", describe(&output));
    (next, output)
}

fn cache_entry(project: &Project, name: &str) -> PathBuf {
    let entries: Vec<PathBuf> = fs::read_dir(project.cache().join("packages").join(name))
        .expect("cached")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries[0].clone()
}

#[test]
fn a_damaged_cache_entry_is_fetched_again_not_linked() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    project.install(&[]);
    let entry = cache_entry(&project, "aa");
    fs::remove_file(entry.join("cli.js")).unwrap();

    let (other, output) = install_sharing_cache(&project);

    let installed = other.dir().join("node_modules/aa");
    assert!(installed.join("cli.js").is_file(), "{}", describe(&output));
    assert!(other.dir().join("node_modules/.bin/aa").exists());
    assert_eq!(other.registry.requests("/aa/-/aa-1.0.0.tgz"), 1);
    assert_eq!(other.registry.requests("/bb/-/bb-1.0.0.tgz"), 0);
    let err = stderr(&output);
    assert!(
        err.contains("aa@1.0.0") && err.contains("damaged") && err.contains("cli.js"),
        "{err}"
    );
    assert!(
        entry.join("cli.js").is_file(),
        "the cache entry is repaired"
    );
}

#[test]
fn an_in_place_edit_in_one_project_does_not_reach_the_next() {
    let first = Project::new(FIXTURES, json!({"dependencies": {"aa": "1"}}));
    first.install(&[]);
    // What patch-package or an editor writing in place does: same inode.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let edited = first.dir().join("node_modules/bb/data.txt");
    fs::write(&edited, "bb patched!").unwrap();

    let (second, _) = install_sharing_cache(&first);

    assert_eq!(
        fs::read_to_string(second.dir().join("node_modules/bb/data.txt")).unwrap(),
        "bb original"
    );
    assert_eq!(second.registry.requests("/bb/-/bb-1.0.0.tgz"), 1);
    assert_eq!(
        fs::read_to_string(&edited).unwrap(),
        "bb patched!",
        "the first project keeps its own edit"
    );

    // Same size as the original: only the time of the write gives it away.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let edited = second.dir().join("node_modules/bb/data.txt");
    fs::write(&edited, "BB ORIGINAL").unwrap();
    let (third, _) = install_sharing_cache(&first);
    assert_eq!(
        fs::read_to_string(third.dir().join("node_modules/bb/data.txt")).unwrap(),
        "bb original"
    );
}

const VERSIONS: &str = "
    ms@2.0.0
    ms@2.1.3
";

fn package_json(project: &Project) -> Value {
    serde_json::from_str(&fs::read_to_string(project.dir().join("package.json")).unwrap()).unwrap()
}

#[test]
fn adding_an_exact_version_installs_that_version() {
    let project = Project::new(VERSIONS, json!({"name": "app"}));

    project.install(&["ms@2.0.0"]);

    // npm saves the range and locks the version asked for.
    assert_eq!(package_json(&project)["dependencies"]["ms"], "^2.0.0");
    assert_eq!(project.installed(), ["ms@2.0.0"]);
    assert_eq!(project.locked(), ["ms@2.0.0"]);
    assert_eq!(
        project.lockfile()["packages"][""]["dependencies"]["ms"],
        "^2.0.0"
    );
    project.install(&[]);
    assert_eq!(project.installed(), ["ms@2.0.0"], "later installs keep it");

    project.install(&["ms@latest"]);
    assert_eq!(project.installed(), ["ms@2.1.3"]);
    project.install(&["ms@2.0.0"]);
    assert_eq!(
        project.installed(),
        ["ms@2.0.0"],
        "a downgrade takes effect"
    );
    assert_eq!(project.locked(), ["ms@2.0.0"]);
}

#[test]
fn a_read_only_package_json_is_not_replaced() {
    let project = Project::new(VERSIONS, json!({"name": "app"}));
    let path = project.dir().join("package.json");
    let before = fs::read_to_string(&path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();

    let output = project.utoo(&["add", "ms@2.0.0"]);

    assert!(!output.status.success(), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains("package.json") && err.contains("read-only"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), before);
    assert_eq!(mode(&path), 0o444);
    assert!(!project.dir().join("node_modules").exists());
    assert!(!project.dir().join("package-lock.json").exists());
}

#[test]
fn package_json_keeps_its_owner_and_mode_when_root_saves_it() {
    use std::os::unix::fs::MetadataExt;
    let project = Project::new(VERSIONS, json!({"name": "app"}));
    let path = project.dir().join("package.json");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o664)).unwrap();
    let running_as_root = fs::metadata(&path).unwrap().uid() == 0;
    // Only root can give a file away; elsewhere the file stays ours.
    let owner = if running_as_root {
        std::os::unix::fs::chown(&path, Some(4321), Some(4321)).unwrap();
        (4321, 4321)
    } else {
        let meta = fs::metadata(&path).unwrap();
        (meta.uid(), meta.gid())
    };

    project.install(&["ms@2.0.0"]);

    let meta = fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid()), owner);
    assert_eq!(mode(&path), 0o664);
    assert_eq!(package_json(&project)["dependencies"]["ms"], "^2.0.0");
}
