use serde_json::json;

use crate::support::Project;

#[test]
fn conflicting_versions_hoist_the_first_and_nest_the_other() {
    let project = Project::new(
        "
        aa@1.0.0 deps(bb@1)
        bb@1.0.0 deps(mm@1.0.0)
        zz@1.0.0 deps(mm@2.0.0)
        mm@1.0.0
        mm@2.0.0
        ",
        json!({"dependencies": {"aa": "1.0.0", "zz": "1.0.0"}}),
    );
    project.install(&[]);
    let expected = [
        "aa@1.0.0",
        "bb@1.0.0",
        "mm@1.0.0",
        "zz@1.0.0",
        "zz/mm@2.0.0",
    ];
    assert_eq!(project.installed(), expected);
    assert_eq!(project.locked(), expected);
}

#[test]
fn shared_dependency_is_deduplicated_at_the_newest_acceptable_version() {
    let project = Project::new(
        "
        ee@1.0.0
        ee@1.1.0
        ka@1.0.0 deps(ee@^1.0.0)
        kb@1.0.0 deps(ee@^1.1.0)
        ",
        json!({"dependencies": {"ka": "1", "kb": "1"}}),
    );
    project.install(&[]);
    assert_eq!(project.installed(), ["ee@1.1.0", "ka@1.0.0", "kb@1.0.0"]);
}

#[test]
fn dependency_cycle_installs() {
    let project = Project::new(
        "
        ca@1.0.0 deps(cb@1)
        cb@1.0.0 deps(ca@1)
        ",
        json!({"dependencies": {"ca": "1"}}),
    );
    project.install(&[]);
    assert_eq!(project.installed(), ["ca@1.0.0", "cb@1.0.0"]);
}

#[test]
fn the_tree_does_not_depend_on_the_order_responses_arrive_in() {
    let fixtures = "
        aa@1.0.0 deps(bb@1)
        bb@1.0.0 deps(mm@1.0.0)
        zz@1.0.0 deps(mm@2.0.0)
        mm@1.0.0
        mm@2.0.0
    ";
    let mut trees = Vec::new();
    for slow in ["/aa", "/bb", "/zz", "/mm"] {
        let project = Project::new(
            fixtures,
            json!({"dependencies": {"aa": "1.0.0", "zz": "1.0.0"}}),
        );
        project.registry.inject(
            slow,
            utoo_test_registry::Fault::Delay(std::time::Duration::from_millis(150)),
            None,
        );
        project.install(&[]);
        trees.push(project.installed());
    }
    assert!(trees.windows(2).all(|w| w[0] == w[1]), "{trees:?}");
    assert_eq!(
        trees[0],
        [
            "aa@1.0.0",
            "bb@1.0.0",
            "mm@1.0.0",
            "zz@1.0.0",
            "zz/mm@2.0.0"
        ]
    );
}

/// Checked with npm 11.19.1 on the real packages of these names: a plain
/// override applies everywhere, a nested one only under its parent, and the
/// lockfile keeps the declared specs.
#[test]
fn overrides_replace_specs_as_npm_does() {
    let fixtures = "
        is-number@3.0.0
        is-number@6.0.0
        is-number@7.0.0
        is-odd@0.1.2 deps(is-number@^3)
        is-odd@3.0.1 deps(is-number@^6)
        is-even@1.0.0 deps(is-odd@^0.1.2)
    ";
    let package_json = json!({
        "dependencies": {"is-odd": "3.0.1", "is-even": "1.0.0"},
        "overrides": {"is-number": "7.0.0", "is-even": {"is-odd": "3.0.1"}},
    });
    let project = Project::new(fixtures, package_json.clone());
    project.install(&[]);
    assert_eq!(
        project.installed(),
        ["is-even@1.0.0", "is-number@7.0.0", "is-odd@3.0.1"]
    );
    let lock = project.lockfile();
    assert_eq!(
        lock["packages"]["node_modules/is-odd"]["dependencies"],
        json!({"is-number": "^6"}),
        "entries keep what packages declare"
    );
    assert!(lock["packages"][""].get("overrides").is_none());

    // From the lockfile, the overridden versions satisfy: nothing is fetched.
    std::fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.registry.reset_counts();
    project.install(&["--frozen-lockfile"]);
    assert_eq!(project.registry.packument_requests(), 0);

    // Without the nested override, is-even gets its own is-odd again.
    let mut changed = package_json;
    changed["overrides"] = json!({"is-number": "7.0.0"});
    project.write_package_json(&changed);
    project.install(&[]);
    assert_eq!(
        project.installed(),
        [
            "is-even@1.0.0",
            "is-even/is-odd@0.1.2",
            "is-number@7.0.0",
            "is-odd@3.0.1"
        ]
    );
}

#[test]
fn resolutions_are_read_as_overrides_and_conflicts_are_errors() {
    let fixtures = "
        leaf@1.0.0
        leaf@2.0.0
        mid@1.0.0 deps(leaf@^2)
    ";
    let project = Project::new(
        fixtures,
        json!({"dependencies": {"mid": "1"}, "resolutions": {"**/leaf": "1.0.0"}}),
    );
    project.install(&[]);
    assert_eq!(project.installed(), ["leaf@1.0.0", "mid@1.0.0"]);

    project.write_package_json(&json!({
        "dependencies": {"mid": "1", "leaf": "^2"},
        "overrides": {"leaf": "1.0.0"},
    }));
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = crate::support::stderr(&output);
    assert!(
        err.contains("overrides \"leaf\"") && err.contains("leaf@^2"),
        "{err}"
    );
}
