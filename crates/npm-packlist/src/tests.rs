//! npm-packlist's documented cases; each expectation is what
//! `npm pack --dry-run --json --ignore-scripts` (npm 11.19, npm-packlist
//! 10.0.4) lists for the same folder.

use std::path::Path;

use super::packlist;

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn list(dir: &Path) -> Vec<String> {
    packlist(dir).unwrap()
}

#[test]
fn without_rules_everything_but_the_always_excluded() {
    let dir = tree(&[
        ("package.json", r#"{"name":"a","version":"1.0.0"}"#),
        ("index.js", ""),
        ("lib/x.js", ""),
        (".git/config", ""),
        ("sub/.git/config", ""),
        ("node_modules/b/index.js", ""),
        ("sub/node_modules/c.js", ""),
        ("package-lock.json", "{}"),
        (".npmrc", ""),
        ("sub/.npmrc", ""),
        ("x.orig", ""),
        (".DS_Store", ""),
        ("npm-debug.log", ""),
        (".a.swp", ""),
        ("build/config.gypi", ""),
    ]);
    assert_eq!(
        list(dir.path()),
        [
            "index.js",
            "lib/x.js",
            "package.json",
            "sub/node_modules/c.js"
        ]
    );
}

#[test]
fn files_lists_what_is_packed_plus_the_always_included() {
    let dir = tree(&[
        (
            "package.json",
            r#"{"name":"a","version":"1.0.0","main":"main.js","bin":{"a":"./bin/a.js"},
                "files":["lib","docs/*","one.txt","*.md"]}"#,
        ),
        ("main.js", ""),
        ("bin/a.js", ""),
        ("lib/x.js", ""),
        ("lib/deep/y.js", ""),
        ("docs/guide/z.html", ""),
        ("one.txt", ""),
        ("two.txt", ""),
        ("CHANGES.md", ""),
        ("README.md", ""),
        ("LICENSE", ""),
        ("test/t.js", ""),
        (".npmignore", "lib/x.js\n"),
        ("lib/.npmignore", "deep\n"),
    ]);
    assert_eq!(
        list(dir.path()),
        [
            "CHANGES.md",
            "LICENSE",
            "README.md",
            "bin/a.js",
            "docs/guide/z.html",
            "lib/x.js",
            "main.js",
            "one.txt",
            "package.json",
        ]
    );
}

#[test]
fn npmignore_overrides_gitignore_in_its_folder_and_nests() {
    let dir = tree(&[
        ("package.json", r#"{"name":"a","version":"1.0.0"}"#),
        (".gitignore", "dist\n"),
        (".npmignore", "*.test.js\n/only-root.txt\n"),
        ("dist/out.js", ""),
        ("a.test.js", ""),
        ("only-root.txt", ""),
        ("sub/only-root.txt", ""),
        ("sub/b.test.js", ""),
        ("sub/.gitignore", "secret.txt\n"),
        ("sub/secret.txt", ""),
        ("sub/keep.js", ""),
    ]);
    assert_eq!(
        list(dir.path()),
        [
            "dist/out.js",
            "package.json",
            "sub/keep.js",
            "sub/only-root.txt"
        ]
    );
}

#[test]
fn gitignore_applies_without_npmignore_and_negations_include_again() {
    let dir = tree(&[
        ("package.json", r#"{"name":"a","version":"1.0.0"}"#),
        (".gitignore", "*.log\n!keep.log\nbuild/\n"),
        ("a.log", ""),
        ("keep.log", ""),
        ("build/x.js", ""),
        ("src/build/y.js", ""),
        ("src/z.js", ""),
    ]);
    assert_eq!(list(dir.path()), ["keep.log", "package.json", "src/z.js"]);
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_never_packed() {
    let dir = tree(&[
        ("package.json", r#"{"name":"a","version":"1.0.0"}"#),
        ("real.js", ""),
    ]);
    std::os::unix::fs::symlink("real.js", dir.path().join("link.js")).unwrap();
    std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
    assert_eq!(list(dir.path()), ["package.json", "real.js"]);
}

#[cfg(unix)]
#[test]
fn ignore_files_that_are_links_are_not_read() {
    let dir = tree(&[
        ("package.json", r#"{"name":"a","version":"1.0.0"}"#),
        ("real.js", ""),
    ]);
    std::os::unix::fs::symlink("/dev/zero", dir.path().join(".npmignore")).unwrap();
    assert_eq!(list(dir.path()), ["package.json", "real.js"]);
}

#[test]
fn a_broken_package_json_names_the_file() {
    let dir = tree(&[("package.json", "{")]);
    let error = packlist(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains("package.json") && error.contains("not valid JSON"),
        "{error}"
    );
}
