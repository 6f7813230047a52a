use std::fs;

use serde_json::json;

use crate::support::{describe, registry, Project};

#[test]
fn scoped_registries_and_tokens_go_only_where_npmrc_says() {
    let corp = registry("@corp/tool@1.0.0 deps(shared@1)");
    let project = Project::new(
        "
        shared@1.0.0
        public@1.0.0
        ",
        json!({"dependencies": {"@corp/tool": "1", "public": "1"}}),
    );
    let corp_host = corp.url().trim_start_matches("http:").to_string();
    fs::write(
        project.dir().join(".npmrc"),
        format!(
            "@corp:registry={}\n{corp_host}:_authToken=${{CORP_TOKEN}}\n",
            corp.url()
        ),
    )
    .unwrap();
    let output = project.utoo_with(&["install", "-vv"], |c| c.env("CORP_TOKEN", "tok-123"));
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        project.installed(),
        ["@corp/tool@1.0.0", "public@1.0.0", "shared@1.0.0"]
    );
    assert_eq!(corp.requests("/@corp/tool"), 1);
    assert_eq!(project.registry.requests("/@corp/tool"), 0);

    let sent: Vec<(String, String)> = corp.authorizations();
    assert!(
        !sent.is_empty() && sent.iter().all(|(_, header)| header == "Bearer tok-123"),
        "{sent:?}"
    );
    assert!(
        project.registry.authorizations().is_empty(),
        "the token never goes to the other registry"
    );
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!logs.contains("tok-123"), "the token never appears in logs");
    let lock = fs::read_to_string(project.dir().join("package-lock.json")).unwrap();
    assert!(lock.contains(&corp.tarball_url("@corp/tool", "1.0.0")) && !lock.contains("tok-123"));
}
