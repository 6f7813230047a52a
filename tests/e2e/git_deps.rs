//! Git dependencies, against a repository the test creates (no public host).

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::support::{describe, stderr, Project};

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.email=t@t", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", stderr(&output));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Commits `version` of package `g` (depending on `util` from the registry) and tags it.
fn release(repo: &Path, version: &str) -> String {
    let manifest = json!({"name": "g", "version": version, "dependencies": {"util": "^1"}});
    fs::write(repo.join("package.json"), manifest.to_string()).unwrap();
    fs::write(
        repo.join("index.js"),
        format!("module.exports = '{version}';\n"),
    )
    .unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", version]);
    git(repo, &["tag", &format!("v{version}")]);
    git(repo, &["rev-parse", "HEAD"])
}

#[test]
fn git_dependencies_are_pinned_to_a_commit() {
    let project = Project::new("util@1.0.0", json!({}));
    let repo = project.dir().join("../repo");
    fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    release(&repo, "1.0.0");
    let wanted = release(&repo, "1.1.0");
    release(&repo, "2.0.0");
    let url = format!("git+file://{}", repo.canonicalize().unwrap().display());
    let spec = format!("{url}#semver:^1.0.0");
    project.write_package_json(&json!({"dependencies": {"g": spec}}));
    project.install(&[]);
    let index = project.dir().join("node_modules/g/index.js");
    assert_eq!(
        fs::read_to_string(&index).unwrap(),
        "module.exports = '1.1.0';\n"
    );
    assert!(project
        .dir()
        .join("node_modules/util/package.json")
        .is_file());
    let lock = project.lockfile();
    let entry = &lock["packages"]["node_modules/g"];
    assert_eq!(entry["version"], "1.1.0");
    assert_eq!(entry["resolved"], format!("{url}#{wanted}"));
    assert!(entry.get("integrity").is_none(), "npm records none for git");

    // The lockfile pins the commit: a newer matching tag changes nothing.
    release_on_branch(&repo);
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.registry.reset_counts();
    project.install(&["--frozen-lockfile"]);
    assert_eq!(
        fs::read_to_string(&index).unwrap(),
        "module.exports = '1.1.0';\n"
    );
    assert_eq!(project.registry.packument_requests(), 0);
}

/// Adds a 1.5.0 tag on a side branch, so `semver:^1.0.0` would now pick it.
fn release_on_branch(repo: &Path) {
    git(repo, &["checkout", "-q", "-b", "side", "v1.1.0"]);
    release(repo, "1.5.0");
}

#[test]
fn a_missing_reference_names_the_repository() {
    let project = Project::new("util@1.0.0", json!({}));
    let repo = project.dir().join("../repo");
    fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    release(&repo, "1.0.0");
    let url = format!("git+file://{}", repo.canonicalize().unwrap().display());
    project.write_package_json(&json!({"dependencies": {"g": format!("{url}#nope")}}));
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(err.contains(&url) && err.contains("\"nope\""), "{err}");
    assert!(!project.dir().join("package-lock.json").exists());
}

/// Commits `files` into a new repository next to the project; returns its `git+file:` URL.
fn repository(project: &Project, files: &[(&str, &str)]) -> String {
    let repo = project.dir().join("../repo");
    for (path, text) in files {
        let path = repo.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-f", "."]);
    git(&repo, &["commit", "-qm", "files"]);
    format!("git+file://{}", repo.canonicalize().unwrap().display())
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, found: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &format!("{name}/"), found);
            } else {
                found.push(name);
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, "", &mut found);
    found.sort();
    found
}

#[test]
fn a_git_dependency_is_packed_by_npm_packlist_rules() {
    let project = Project::new("util@1.0.0", json!({}));
    let url = repository(
        &project,
        &[
            (
                "package.json",
                r#"{"name":"g","version":"1.0.0","main":"main.js","bin":{"g":"./bin/g.js"},
                    "files":["lib","docs/*","one.txt","*.md"]}"#,
            ),
            ("main.js", ""),
            ("bin/g.js", ""),
            ("lib/x.js", ""),
            ("lib/deep/y.js", ""),
            ("lib/.npmignore", "deep\n"),
            ("docs/guide/z.html", ""),
            ("one.txt", ""),
            ("two.txt", ""),
            ("CHANGES.md", ""),
            ("README.md", ""),
            ("LICENSE", ""),
            ("test/t.js", ""),
            (".npmignore", "lib/x.js\n"),
            (".gitignore", "one.txt\n"),
            ("package-lock.json", "{}"),
            (".npmrc", ""),
        ],
    );
    project.write_package_json(&json!({"dependencies": {"g": url}}));
    project.install(&[]);
    // What `npm pack --dry-run --json` (npm 11.19, npm-packlist 10.0.4)
    // lists in a checkout of this repository.
    assert_eq!(
        files_under(&project.dir().join("node_modules/g")),
        [
            "CHANGES.md",
            "LICENSE",
            "README.md",
            "bin/g.js",
            "docs/guide/z.html",
            "lib/x.js",
            "main.js",
            "one.txt",
            "package.json",
        ]
    );
}

/// `builder` writes `dist/built.js`; `g` builds with it in its `prepare`
/// and packs only `dist` (which git ignores).
const BUILDER: &str = r##"
    builder@1.0.0 bin(builder=cli.js) file(cli.js="#!/usr/bin/env node\nconst fs = require('fs');\nfs.mkdirSync('dist', {recursive: true});\nfs.writeFileSync('dist/built.js', 'module.exports = ' + JSON.stringify(process.argv[2]) + ';\\n');\n")
"##;

fn prepared_repository(project: &Project) -> String {
    repository(
        project,
        &[
            (
                "package.json",
                r#"{"name":"g","version":"1.0.0","main":"dist/built.js","files":["dist"],
                    "devDependencies":{"builder":"1"},"scripts":{"prepare":"builder prepared"}}"#,
            ),
            (".gitignore", "dist\nnode_modules\n"),
            ("src/index.js", ""),
        ],
    )
}

#[test]
fn a_trusted_git_dependency_is_prepared_with_its_dev_dependencies() {
    let project = Project::new(BUILDER, json!({}));
    let url = prepared_repository(&project);
    project.write_package_json(&json!({
        "dependencies": {"g": url},
        "trustedDependencies": ["g"],
    }));
    let output = project.utoo(&["install"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(!stderr(&output).contains("warn:"), "{}", describe(&output));
    let g = project.dir().join("node_modules/g");
    assert_eq!(files_under(&g), ["dist/built.js", "package.json"]);
    assert_eq!(
        fs::read_to_string(g.join("dist/built.js")).unwrap(),
        "module.exports = \"prepared\";\n"
    );
    // The dev dependency was installed only to build g; the lockfile is
    // npm 11's for the same registry and repository, file set included.
    assert!(!project.dir().join("node_modules/builder").exists());
    let commit = git(&project.dir().join("../repo"), &["rev-parse", "HEAD"]);
    assert_eq!(
        project.lockfile()["packages"],
        json!({
            "": {"dependencies": {"g": url}},
            "node_modules/g": {"version": "1.0.0", "resolved": format!("{url}#{commit}")},
        })
    );
}

#[test]
fn an_untrusted_git_dependency_is_packed_unprepared_with_a_warning() {
    let project = Project::new(BUILDER, json!({}));
    let url = prepared_repository(&project);
    project.write_package_json(&json!({"dependencies": {"g": url}}));
    let output = project.utoo(&["install"]);
    assert!(output.status.success(), "{}", describe(&output));
    let g = project.dir().join("node_modules/g");
    assert_eq!(files_under(&g), ["package.json"]);
    let err = stderr(&output);
    assert!(
        err.contains("warn: g@1.0.0: the prepare script of this git dependency was not run")
            && err.contains("--allow-scripts=g"),
        "{err}"
    );
    assert_eq!(
        project.registry.tarball_requests(),
        0,
        "builder not installed"
    );

    // Trusting it later packs it again, prepared: neither the unprepared
    // copy in the cache nor the one in node_modules stands in for it.
    project.install(&["--allow-scripts=g"]);
    assert_eq!(files_under(&g), ["dist/built.js", "package.json"]);
}

#[test]
fn ignore_scripts_packs_a_trusted_git_dependency_unprepared_and_quietly() {
    let project = Project::new(BUILDER, json!({}));
    let url = prepared_repository(&project);
    project.write_package_json(&json!({
        "dependencies": {"g": url},
        "trustedDependencies": ["g"],
    }));
    let output = project.utoo(&["install", "--ignore-scripts"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        files_under(&project.dir().join("node_modules/g")),
        ["package.json"]
    );
    assert!(!stderr(&output).contains("warn:"), "{}", describe(&output));
}

#[test]
fn a_failing_prepare_fails_the_install_naming_the_dependency() {
    let project = Project::new(BUILDER, json!({}));
    let url = repository(
        &project,
        &[(
            "package.json",
            r#"{"name":"g","version":"1.0.0","scripts":{"prepare":"echo no compiler >&2; exit 4"}}"#,
        )],
    );
    project.write_package_json(&json!({
        "dependencies": {"g": url},
        "trustedDependencies": ["g"],
    }));
    let output = project.utoo(&["install"]);
    assert!(!output.status.success(), "{}", describe(&output));
    let err = stderr(&output);
    assert!(
        err.contains("g@1.0.0")
            && err.contains(&format!("preparing {url}"))
            && err.contains("`prepare` script")
            && err.contains("no compiler"),
        "{err}"
    );
    assert!(!project.dir().join("package-lock.json").exists());
    assert!(!project.dir().join("node_modules/g").exists());
}
