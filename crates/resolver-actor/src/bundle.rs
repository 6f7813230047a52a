//! What a package ships inside its tarball (`bundleDependencies`): the
//! packages under its `node_modules`, read from the tarball's
//! `package.json` files. npm places them from the tarball, never from the
//! registry (arborist's loadActual of the extracted bundler).

use std::fs;
use std::path::{Component, Path};

use flate2::read::GzDecoder;
use utoo_npm_types::{validate_package_name, Manifest};
use utoo_package_cache::SealedIndex;

use crate::tarball::{read_manifest_entry, TarballError, MAX_MANIFEST_BYTES};

/// One package inside a bundler's tarball.
#[derive(Debug, Clone)]
pub struct BundledPackage {
    /// The folder names from the bundler down: `["inner"]` for
    /// `node_modules/inner`, `["inner", "@s/deep"]` for
    /// `node_modules/inner/node_modules/@s/deep`.
    pub names: Vec<String>,
    pub manifest: Manifest,
}

/// Every package under the tarball's `node_modules`, parents before the
/// packages nested in them. Folders without a `package.json` naming a
/// version are not packages (npm transplants only those), and neither is
/// anything below them.
pub(crate) fn bundled_packages(bytes: &[u8]) -> Result<Vec<BundledPackage>, TarballError> {
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let entries = archive.entries().map_err(TarballError::NotGzip)?;
    let mut found = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(TarballError::NotGzip)?;
        let path = entry.path().map_err(TarballError::EntryPath)?;
        // Packed packages keep everything in one top folder, usually `package/`.
        let Some(names) = path_parts(&path).and_then(|parts| bundled_names(parts.get(1..)?)) else {
            continue;
        };
        let text = read_manifest_entry(&mut entry)?;
        found.extend(bundled_package(names, &text));
    }
    Ok(parents_first(found))
}

/// The same, read from the bundler's extracted cache entry; `None` when
/// any `package.json` there is not as extracted (then the tarball is read).
pub(crate) fn bundled_packages_in_entry(entry_dir: &Path) -> Option<Vec<BundledPackage>> {
    let sealed = SealedIndex::read(entry_dir).ok()?;
    let mut found = Vec::new();
    for file in &sealed.index.files {
        let Some(names) = path_parts(&file.path).and_then(|parts| bundled_names(&parts)) else {
            continue;
        };
        if file.size > MAX_MANIFEST_BYTES || sealed.check(entry_dir, file).is_err() {
            return None;
        }
        let text = fs::read(entry_dir.join(&file.path)).ok()?;
        found.extend(bundled_package(names, &text));
    }
    Some(parents_first(found))
}

/// A package, if its `package.json` names a version.
fn bundled_package(names: Vec<String>, package_json: &[u8]) -> Option<BundledPackage> {
    let manifest = Manifest::from_slice(package_json).ok()?;
    (!manifest.version.is_empty()).then_some(BundledPackage { names, manifest })
}

/// Sorted parents first, without packages whose parent folder is not one.
fn parents_first(mut found: Vec<BundledPackage>) -> Vec<BundledPackage> {
    found.sort_by_key(|package| package.names.len());
    let mut packages: Vec<BundledPackage> = Vec::new();
    for package in found {
        let parent = &package.names[..package.names.len() - 1];
        if parent.is_empty() || packages.iter().any(|p| p.names == parent) {
            packages.push(package);
        }
    }
    packages
}

fn path_parts(path: &Path) -> Option<Vec<&str>> {
    path.components()
        .map(|c| match c {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect()
}

/// For `node_modules/a/node_modules/@s/b/package.json`: `["a", "@s/b"]`.
fn bundled_names(parts: &[&str]) -> Option<Vec<String>> {
    let (last, inside) = parts.split_last()?;
    if *last != "package.json" {
        return None;
    }
    let mut names = Vec::new();
    let mut rest = inside;
    while let Some((first, after)) = rest.split_first() {
        if *first != "node_modules" {
            return None;
        }
        let (name, after) = match after {
            [scope, bare, after @ ..] if scope.starts_with('@') => {
                (format!("{scope}/{bare}"), after)
            }
            [bare, after @ ..] => (bare.to_string(), after),
            [] => return None,
        };
        validate_package_name(&name).ok()?;
        names.push(name);
        rest = after;
    }
    (!names.is_empty()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tarball::tests::tgz;

    #[test]
    fn reads_the_bundled_tree_parents_first() {
        let bytes = tgz(&[
            ("package/package.json", r#"{"name":"b","version":"1.0.0"}"#),
            (
                "package/node_modules/a/node_modules/@s/d/package.json",
                r#"{"name":"@s/d","version":"3.0.0"}"#,
            ),
            (
                "package/node_modules/a/package.json",
                r#"{"name":"a","version":"2.0.0","dependencies":{"@s/d":"^3"}}"#,
            ),
            (
                "package/node_modules/a/lib/package.json",
                r#"{"version":"9.9.9"}"#,
            ),
            (
                "package/node_modules/.bin/package.json",
                r#"{"version":"1.0.0"}"#,
            ),
            (
                "package/node_modules/noversion/package.json",
                r#"{"name":"x"}"#,
            ),
            (
                "package/node_modules/noversion/node_modules/orphan/package.json",
                r#"{"name":"orphan","version":"1.0.0"}"#,
            ),
        ]);
        let packages = bundled_packages(&bytes).unwrap();
        let found: Vec<(String, &str)> = packages
            .iter()
            .map(|p| (p.names.join(">"), p.manifest.version.as_str()))
            .collect();
        assert_eq!(
            found,
            [("a".to_string(), "2.0.0"), ("a>@s/d".to_string(), "3.0.0")]
        );
    }

    #[test]
    fn a_cache_entry_shows_its_bundle_unless_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path();
        let manifest = r#"{"name":"a","version":"2.0.0"}"#;
        fs::create_dir_all(entry.join("node_modules/a")).unwrap();
        fs::write(entry.join("node_modules/a/package.json"), manifest).unwrap();
        fs::write(
            entry.join("package.json"),
            r#"{"name":"b","version":"1.0.0"}"#,
        )
        .unwrap();
        let mut index = utoo_package_cache::EntryIndex::new("sha512-x");
        index.add_dir("node_modules");
        index.add_dir("node_modules/a");
        index.add_file("node_modules/a/package.json", manifest.len() as u64);
        index.add_file("package.json", 30);
        index.write_into(entry).unwrap();
        let packages = bundled_packages_in_entry(entry).unwrap();
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].names, ["a"]);
        assert_eq!(packages[0].manifest.version, "2.0.0");

        fs::write(entry.join("node_modules/a/package.json"), "{}").unwrap();
        assert!(bundled_packages_in_entry(entry).is_none());
    }

    #[test]
    fn no_bundled_package_lies_outside_the_bundlers_node_modules() {
        // `tar::Builder::append_data` refuses `..`: write the names raw, as an attacker would.
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        let body = br#"{"name":"x","version":"1.0.0"}"#;
        for path in [
            "package/node_modules/good/package.json",
            "package/node_modules/../../evil/package.json",
            "package/node_modules/@s/../../evil/package.json",
            "package/node_modules/a/node_modules/../../../evil/package.json",
            "/node_modules/evil/package.json",
        ] {
            let mut header = tar::Header::new_gnu();
            header.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append(&header, &body[..]).unwrap();
        }
        let bytes = builder.into_inner().unwrap().finish().unwrap();
        let packages = bundled_packages(&bytes).unwrap();
        let names: Vec<&Vec<String>> = packages.iter().map(|p| &p.names).collect();
        assert_eq!(names, [&vec!["good".to_string()]]);
    }

    #[test]
    fn bad_bundles_say_why() {
        let err = bundled_packages(b"not gzip").unwrap_err();
        assert!(matches!(err, TarballError::NotGzip(_)), "{err}");
    }
}
