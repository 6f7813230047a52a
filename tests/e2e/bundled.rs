//! Packages that ship dependencies inside their tarball (`bundleDependencies`).

use std::process::Command;

use serde_json::json;
use utoo_test_registry::{Fixtures, TestRegistry, VersionFixture};

use crate::support::{describe, Project};

/// `bund` bundles `inner@2.5.0` (the registry only has 2.0.0) and `deep`,
/// a dependency of `inner` it does not list; `other` is a plain dependency.
fn fixtures() -> Fixtures {
    let deep = VersionFixture::new("deep", "1.3.0").license("ISC");
    let inner = VersionFixture::new("inner", "2.5.0")
        .dep("deep", "^1.0.0")
        .bin("inner", "cli.js")
        .engine("node", ">=10");
    Fixtures::parse(
        "
        inner@2.0.0
        deep@1.0.0
        other@1.0.0 deps(deep@^1)
        gone@1.0.0
        ",
    )
    .unwrap()
    .version("bund", "1.0.0", |v| {
        v.dep("inner", "^2.1.0")
            .dep("other", "^1")
            .dep("gone", "^1")
            .bundle("inner")
            .bundle("gone")
            .bundled(inner)
            .bundled(deep)
    })
}

#[test]
#[ignore = "probe"]
fn probe_npm() {
    let registry = TestRegistry::start(fixtures()).unwrap();
    let pj: serde_json::Value = serde_json::from_str(&std::env::var("PROBE_PJ").unwrap()).unwrap();
    let project = Project::with_registry(registry, pj);
    let empty = project.dir().join("../empty-npmrc");
    std::fs::write(&empty, "").unwrap();
    let npm = Command::new("npm")
        .args([
            "install",
            "--ignore-scripts",
            "--registry",
            &project.registry.url(),
            "--cache",
        ])
        .arg(project.dir().join("../npmcache"))
        .arg("--userconfig")
        .arg(&empty)
        .current_dir(project.dir())
        .output()
        .unwrap();
    eprintln!("{}", describe(&npm));
    eprintln!(
        "{}",
        std::fs::read_to_string(project.dir().join("package-lock.json")).unwrap()
    );
    let find = Command::new("find")
        .arg("node_modules")
        .current_dir(project.dir())
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&find.stdout));
    let ls = Command::new("npm")
        .args(["ls", "--all"])
        .current_dir(project.dir())
        .output()
        .unwrap();
    eprintln!("{}", describe(&ls));
    eprintln!("requests: {:?}", project.registry.requests("/inner"));
}
