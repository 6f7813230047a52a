use std::fs;

use serde_json::json;

use crate::support::{describe, stderr, Project};

/// `inst` records its lifecycle events (with npm's variables) in the project folder;
/// its postinstall also runs `helper`, a bin of its dependency, found through PATH.
const FIXTURES: &str = r##"
    inst@1.0.0 deps(helper@1) script(preinstall="echo pre:$npm_package_name >> $INIT_CWD/events.log", postinstall="echo $npm_lifecycle_event:$npm_package_name@$npm_package_version >> $INIT_CWD/events.log && helper")
    helper@1.0.0 bin(helper=cli.js) file(cli.js="#!/usr/bin/env node\nrequire('fs').appendFileSync(process.env.INIT_CWD + '/events.log', 'helper ran\\n')\n")
    broken@1.0.0 script(install="exit 3")
    gyp@1.0.0 deps(node-gyp@1) file(binding.gyp={})
    node-gyp@1.0.0 bin(node-gyp=cli.js) file(cli.js="#!/usr/bin/env node\nrequire('fs').appendFileSync(process.env.INIT_CWD + '/events.log', 'node-gyp ' + process.argv[2] + '\\n')\n")
"##;

fn events(project: &Project) -> String {
    fs::read_to_string(project.dir().join("events.log")).unwrap_or_default()
}

#[test]
fn untrusted_dependency_scripts_are_skipped_with_a_note() {
    let project = Project::new(FIXTURES, json!({"dependencies": {"inst": "1"}}));
    let output = project.utoo(&["install"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(events(&project), "", "nothing ran");
    let err = stderr(&output);
    assert!(
        err.contains("install scripts of 1 package were not run") && err.contains("inst"),
        "{err}"
    );
    assert!(
        err.contains("trustedDependencies") && err.contains("--allow-scripts=inst"),
        "{err}"
    );
}

#[test]
fn trusted_dependency_scripts_run_in_order_with_npms_environment() {
    let project = Project::new(
        FIXTURES,
        json!({"dependencies": {"inst": "1"}, "trustedDependencies": ["inst"]}),
    );
    project.install(&[]);
    assert_eq!(
        events(&project),
        "pre:inst\npostinstall:inst@1.0.0\nhelper ran\n"
    );
}

#[test]
fn allow_scripts_flag_trusts_by_name_and_ignore_scripts_runs_none() {
    let project = Project::new(
        FIXTURES,
        json!({"dependencies": {"inst": "1"}, "scripts": {"postinstall": "echo root >> events.log"}}),
    );
    project.install(&["--ignore-scripts"]);
    assert_eq!(events(&project), "");
    fs::remove_dir_all(project.dir().join("node_modules")).unwrap();
    project.install(&["--allow-scripts=inst"]);
    assert_eq!(
        events(&project),
        "pre:inst\npostinstall:inst@1.0.0\nhelper ran\nroot\n"
    );
}

#[test]
fn a_failing_script_fails_the_install_naming_the_package_unless_optional() {
    let project = Project::new(
        FIXTURES,
        json!({"dependencies": {"broken": "1"}, "trustedDependencies": ["broken"]}),
    );
    let output = project.utoo(&["install"]);
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("broken@1.0.0") && err.contains("`install` script `exit 3` failed"),
        "{err}"
    );

    let optional = Project::new(
        FIXTURES,
        json!({"optionalDependencies": {"broken": "1"}, "trustedDependencies": ["broken"]}),
    );
    let output = optional.utoo(&["install"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stderr(&output).contains("warn: optional broken@1.0.0"),
        "{}",
        describe(&output)
    );
}

#[test]
fn binding_gyp_without_install_script_runs_node_gyp_rebuild() {
    let project = Project::new(
        FIXTURES,
        json!({"dependencies": {"gyp": "1"}, "trustedDependencies": ["gyp"]}),
    );
    project.install(&[]);
    assert_eq!(events(&project), "node-gyp rebuild\n");
}

#[test]
fn the_projects_own_scripts_run_in_npms_order() {
    let scripts = json!({
        "prepare": "echo prepare >> events.log",
        "postinstall": "echo postinstall >> events.log",
        "preinstall": "echo preinstall >> events.log",
        "install": "echo install >> events.log",
    });
    let project = Project::new(
        FIXTURES,
        json!({"dependencies": {"helper": "1"}, "scripts": scripts}),
    );
    project.install(&[]);
    assert_eq!(
        events(&project),
        "preinstall\ninstall\npostinstall\nprepare\n"
    );
}
