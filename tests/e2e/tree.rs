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
