//! The rules a package's own `package.json` adds: its `files` list, and
//! the files always packed (`package.json`, readme, license, `main`,
//! `browser`, each `bin`) or never packed (`.git`, `node_modules`,
//! lockfiles, `.npmrc`).

use std::path::Path;

use serde_json::Value;

/// What `package.json` contributes to the root folder's rules.
pub(crate) struct PackageRules {
    /// From `files`: exclude everything (`*`), then include each entry.
    pub files: Option<Vec<String>>,
    pub strict: Vec<String>,
    /// Entries of `files` that are files, which subfolders keep too.
    pub required: Vec<String>,
}

const ALWAYS: [&str; 13] = [
    "/.git",
    "!/package.json",
    "!/readme{,.*[^~$]}",
    "!/copying{,.*[^~$]}",
    "!/license{,.*[^~$]}",
    "!/licence{,.*[^~$]}",
    "/.git",
    "/node_modules",
    ".npmrc",
    "/package-lock.json",
    "/yarn.lock",
    "/pnpm-lock.yaml",
    "/bun.lockb",
];

/// npm-packlist's `processPackage`, for the package in `dir`.
pub(crate) fn package_rules(dir: &Path, manifest: &Value) -> PackageRules {
    let mut strict: Vec<String> = ALWAYS.iter().map(|rule| rule.to_string()).collect();
    let mut required = Vec::new();
    let files = manifest
        .get("files")
        .and_then(Value::as_array)
        .map(|files| {
            let mut ignores = vec!["*".to_string()];
            for file in files.iter().filter_map(Value::as_str) {
                let mut file = file
                    .strip_prefix('.')
                    .filter(|f| f.starts_with('/'))
                    .unwrap_or(file)
                    .to_string();
                if file.ends_with("/*") {
                    file.push('*');
                }
                let inverse = format!("!{file}");
                match kind(dir, &file) {
                    Kind::File => {
                        strict.insert(0, inverse);
                        required.push(file.strip_prefix('/').unwrap_or(&file).to_string());
                    }
                    Kind::Folder => {
                        ignores.push(inverse.clone());
                        ignores.push(format!("{inverse}/**"));
                    }
                    Kind::Other => {}
                    Kind::Missing => ignores.push(inverse),
                }
            }
            ignores
        });
    let string = |key: &str| manifest.get(key).and_then(Value::as_str);
    if let Some(browser) = string("browser") {
        strict.push(format!("!/{browser}"));
    }
    if let Some(main) = string("main") {
        strict.push(format!("!/{main}"));
    }
    for target in bin_targets(manifest) {
        strict.push(format!("!/{target}"));
    }
    PackageRules {
        files,
        strict,
        required,
    }
}

enum Kind {
    File,
    Folder,
    Other,
    /// Not there, or a pattern rather than a path.
    Missing,
}

/// What a `files` entry names; one that climbs out of the package is
/// treated as a pattern, so nothing outside is ever looked at.
fn kind(dir: &Path, file: &str) -> Kind {
    let relative = file.trim_start_matches('!').trim_start_matches('/');
    if relative.split('/').any(|part| part == "..") {
        return Kind::Missing;
    }
    match std::fs::symlink_metadata(dir.join(relative)) {
        Ok(meta) if meta.is_file() => Kind::File,
        Ok(meta) if meta.is_dir() => Kind::Folder,
        Ok(_) => Kind::Other,
        Err(_) => Kind::Missing,
    }
}

/// The `bin` targets as npm-normalize-package-bin leaves them: relative to
/// the package, without `./`.
fn bin_targets(manifest: &Value) -> Vec<String> {
    let targets: Vec<&str> = match manifest.get("bin") {
        Some(Value::String(target)) => vec![target.as_str()],
        Some(Value::Object(map)) => map.values().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    targets
        .into_iter()
        .map(|target| {
            let mut kept: Vec<&str> = Vec::new();
            for part in target.split('/') {
                match part {
                    "" | "." => {}
                    ".." => {
                        kept.pop();
                    }
                    part => kept.push(part),
                }
            }
            kept.join("/")
        })
        .filter(|target| !target.is_empty())
        .collect()
}
