//! Turns fixtures into the documents a registry serves: one packument per
//! package name and one tarball per version.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use nodejs_semver::Version;
use serde_json::{json, Map, Value};

use crate::fixture::{parse_version, unscoped, Fixtures, VersionFixture};
use crate::manifest::{package_json, packument_version};
use crate::registry::StartError;
use crate::store::Document;
use crate::tarball::{Dist, Tarball};

/// The packument's `modified`; fixed so documents are byte-for-byte stable.
const MODIFIED: &str = "2020-01-01T00:00:00.000Z";

pub(crate) struct Publication {
    /// Request path (`/name`, `/name/-/name-1.0.0.tgz`) → document.
    pub(crate) documents: Vec<(String, Document)>,
    /// `(name, version)` → the tarball's `sha512-…` integrity.
    pub(crate) integrities: HashMap<(String, String), String>,
}

/// `base_url` ends with `/`, as [`crate::Server::url`] does.
pub(crate) fn publish(fixtures: &Fixtures, base_url: &str) -> Result<Publication, StartError> {
    fixtures.validate()?;
    let mut by_name: BTreeMap<&str, Vec<(Version, &VersionFixture)>> = BTreeMap::new();
    for fixture in &fixtures.versions {
        let version = parse_version(&fixture.name, &fixture.version)?;
        by_name
            .entry(&fixture.name)
            .or_default()
            .push((version, fixture));
    }

    let mut publication = Publication {
        documents: Vec::new(),
        integrities: HashMap::new(),
    };
    for (name, mut versions) in by_name {
        versions.sort_by(|(left, _), (right, _)| left.cmp(right));
        let mut packument_versions = Map::new();
        for (_, fixture) in &versions {
            let tarball = Bytes::from(tarball_bytes(fixture)?);
            let dist = Dist::of(&tarball);
            let path = tarball_path(name, &fixture.version);
            let url = fixture
                .tarball_url
                .clone()
                .unwrap_or_else(|| format!("{}{path}", base_url.trim_end_matches('/')));
            packument_versions.insert(
                fixture.version.clone(),
                packument_version(fixture, &dist, &url),
            );
            publication
                .integrities
                .insert((name.to_owned(), fixture.version.clone()), dist.integrity);
            publication
                .documents
                .push((path, Document::tarball(tarball)));
        }
        let packument = json!({
            "_id": name,
            "name": name,
            "dist-tags": dist_tags(&versions),
            "versions": packument_versions,
            "modified": MODIFIED,
        });
        publication
            .documents
            .push((format!("/{name}"), Document::json(packument.to_string())));
    }
    Ok(publication)
}

/// npm's layout: `/@scope/pkg/-/pkg-1.0.0.tgz`.
pub(crate) fn tarball_path(name: &str, version: &str) -> String {
    format!("/{name}/-/{}-{version}.tgz", unscoped(name))
}

/// Tags given by the fixtures; `latest` defaults to the highest release
/// (or the highest prerelease when there is no release).
fn dist_tags(sorted_versions: &[(Version, &VersionFixture)]) -> BTreeMap<String, String> {
    let mut tags: BTreeMap<String, String> = sorted_versions
        .iter()
        .flat_map(|(_, fixture)| {
            fixture
                .dist_tags
                .iter()
                .map(|tag| (tag.clone(), fixture.version.clone()))
        })
        .collect();
    if !tags.contains_key("latest") {
        let highest = sorted_versions
            .iter()
            .rev()
            .find(|(version, _)| !version.is_prerelease())
            .or(sorted_versions.last());
        if let Some((_, fixture)) = highest {
            tags.insert("latest".to_owned(), fixture.version.clone());
        }
    }
    tags
}

fn tarball_bytes(fixture: &VersionFixture) -> Result<Vec<u8>, StartError> {
    if let Some(raw) = &fixture.raw_tarball {
        return Ok(raw.to_vec());
    }
    package_tarball(fixture)
        .gzip()
        .map_err(|source| StartError::Pack {
            name: fixture.name.clone(),
            version: fixture.version.clone(),
            source,
        })
}

/// The package's files, written sorted by path for stable bytes.
fn package_tarball(fixture: &VersionFixture) -> Tarball {
    package_files(fixture)
        .into_iter()
        .fold(Tarball::new(), |tarball, (path, file)| {
            let entry_path = format!("package/{path}");
            if file.executable {
                tarball.executable(&entry_path, file.content)
            } else {
                tarball.file(&entry_path, file.content)
            }
        })
}

struct PackedFile {
    content: Bytes,
    executable: bool,
}

/// Generated entries first, then the fixture's files replacing any of them
/// with the same path, then bundled packages under `node_modules/`.
fn package_files(fixture: &VersionFixture) -> BTreeMap<String, PackedFile> {
    let mut files: BTreeMap<String, PackedFile> = BTreeMap::new();
    let mut add = |path: String, content: Bytes, executable: bool| {
        files.insert(
            path,
            PackedFile {
                content,
                executable,
            },
        );
    };
    let manifest = Value::Object(package_json(fixture));
    add(
        "package.json".to_owned(),
        manifest.to_string().into(),
        false,
    );
    add(
        "index.js".to_owned(),
        format!(
            "module.exports = {{ name: \"{}\", version: \"{}\" }};\n",
            fixture.name, fixture.version
        )
        .into(),
        false,
    );
    for (command, path) in &fixture.bin {
        let stub = format!(
            "#!/usr/bin/env node\nconsole.log(\"{}@{} {command}\");\n",
            fixture.name, fixture.version
        );
        add(normalize_package_path(path), stub.into(), true);
    }
    for (path, content) in &fixture.files {
        let path = normalize_package_path(path);
        let executable = files.get(&path).is_some_and(|file| file.executable);
        files.insert(
            path,
            PackedFile {
                content: content.clone(),
                executable,
            },
        );
    }
    for package in &fixture.bundled {
        for (path, file) in package_files(package) {
            files.insert(format!("node_modules/{}/{path}", package.name), file);
        }
    }
    files
}

fn normalize_package_path(path: &str) -> String {
    path.trim_start_matches("./").to_owned()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    fn unpack(tgz: &[u8]) -> BTreeMap<String, (u32, String)> {
        let mut archive = tar::Archive::new(GzDecoder::new(tgz));
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let path = entry.path().unwrap().display().to_string();
                let mode = entry.header().mode().unwrap();
                let mut content = String::new();
                entry.read_to_string(&mut content).unwrap();
                (path, (mode, content))
            })
            .collect()
    }

    fn document<'a>(publication: &'a Publication, path: &str) -> &'a Document {
        &publication
            .documents
            .iter()
            .find(|(candidate, _)| candidate == path)
            .unwrap()
            .1
    }

    #[test]
    fn packs_manifest_index_bins_and_files() {
        let fixtures = Fixtures::new().version("aa", "1.0.0", |v| {
            v.dep("bb", "^1")
                .bin("aa", "./bin/cli.js")
                .file("lib/x.js", "x")
                .file("index.js", "custom")
        });
        let publication = publish(&fixtures, "http://127.0.0.1:1/").unwrap();
        let tgz = document(&publication, "/aa/-/aa-1.0.0.tgz");
        let entries = unpack(&tgz.body);
        let paths: Vec<&str> = entries.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "package/bin/cli.js",
                "package/index.js",
                "package/lib/x.js",
                "package/package.json"
            ]
        );
        let (bin_mode, bin) = &entries["package/bin/cli.js"];
        assert_eq!(*bin_mode, 0o755);
        assert_eq!(bin, "#!/usr/bin/env node\nconsole.log(\"aa@1.0.0 aa\");\n");
        assert_eq!(entries["package/index.js"], (0o644, "custom".to_owned()));
        let manifest: Value = serde_json::from_str(&entries["package/package.json"].1).unwrap();
        assert_eq!(manifest["dependencies"]["bb"], "^1");
        assert_eq!(manifest["bin"]["aa"], "./bin/cli.js");
    }

    #[test]
    fn bundled_packages_are_packed_under_node_modules() {
        let inner = VersionFixture::new("in", "9.0.0")
            .bin("in", "cli.js")
            .bundled(VersionFixture::new("deep", "1.0.0"));
        let fixtures = Fixtures::new().version("aa", "1.0.0", |v| {
            v.dep("in", "^9").bundle("in").bundled(inner)
        });
        let publication = publish(&fixtures, "http://h/").unwrap();
        let entries = unpack(&document(&publication, "/aa/-/aa-1.0.0.tgz").body);
        let paths: Vec<&str> = entries.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "package/index.js",
                "package/node_modules/in/cli.js",
                "package/node_modules/in/index.js",
                "package/node_modules/in/node_modules/deep/index.js",
                "package/node_modules/in/node_modules/deep/package.json",
                "package/node_modules/in/package.json",
                "package/package.json"
            ]
        );
        assert_eq!(entries["package/node_modules/in/cli.js"].0, 0o755);
        let manifest: Value = serde_json::from_str(&entries["package/package.json"].1).unwrap();
        assert_eq!(manifest["bundleDependencies"], json!(["in"]));
        assert!(publication.documents.iter().all(|(path, _)| path != "/in"));
    }

    #[test]
    fn default_index_names_the_package() {
        let fixtures = Fixtures::new().version("@s/p", "2.0.0", |v| v);
        let publication = publish(&fixtures, "http://h/").unwrap();
        let entries = unpack(&document(&publication, "/@s/p/-/p-2.0.0.tgz").body);
        assert_eq!(
            entries["package/index.js"].1,
            "module.exports = { name: \"@s/p\", version: \"2.0.0\" };\n"
        );
    }

    #[test]
    fn latest_defaults_to_highest_release_and_respects_tags() {
        let fixtures = Fixtures::new()
            .version("aa", "1.0.0", |v| v)
            .version("aa", "3.0.0-beta.1", |v| v.tag("next"))
            .version("aa", "2.0.0", |v| v)
            .version("bb", "1.0.0", |v| v.latest())
            .version("bb", "2.0.0", |v| v)
            .version("cc", "1.0.0-rc.1", |v| v);
        let publication = publish(&fixtures, "http://h/").unwrap();
        let packument =
            |path| -> Value { serde_json::from_slice(&document(&publication, path).body).unwrap() };
        let aa = packument("/aa");
        assert_eq!(
            aa["dist-tags"],
            json!({ "latest": "2.0.0", "next": "3.0.0-beta.1" })
        );
        let order: Vec<&String> = aa["versions"].as_object().unwrap().keys().collect();
        assert_eq!(order, ["1.0.0", "2.0.0", "3.0.0-beta.1"]);
        assert_eq!(packument("/bb")["dist-tags"]["latest"], "1.0.0");
        assert_eq!(packument("/cc")["dist-tags"]["latest"], "1.0.0-rc.1");
    }

    #[test]
    fn raw_tarballs_are_served_verbatim() {
        let fixtures =
            Fixtures::new().version("evil", "1.0.0", |v| v.raw_tarball(&b"not a tarball"[..]));
        let publication = publish(&fixtures, "http://h/").unwrap();
        assert_eq!(
            &document(&publication, "/evil/-/evil-1.0.0.tgz").body[..],
            b"not a tarball"
        );
        assert_eq!(
            publication.integrities[&("evil".to_owned(), "1.0.0".to_owned())],
            Dist::of(b"not a tarball").integrity
        );
    }

    #[test]
    fn a_given_tarball_url_replaces_the_served_one() {
        let fixtures =
            Fixtures::new().version("evil", "1.0.0", |v| v.tarball_url("file:///dev/zero"));
        let publication = publish(&fixtures, "http://h/").unwrap();
        let packument: Value =
            serde_json::from_slice(&document(&publication, "/evil").body).unwrap();
        assert_eq!(
            packument["versions"]["1.0.0"]["dist"]["tarball"],
            "file:///dev/zero"
        );
    }

    #[test]
    fn tarball_urls_are_absolute() {
        let fixtures = Fixtures::new().version("@scope/pkg", "1.0.0", |v| v);
        let publication = publish(&fixtures, "http://127.0.0.1:9/").unwrap();
        let packument: Value =
            serde_json::from_slice(&document(&publication, "/@scope/pkg").body).unwrap();
        assert_eq!(
            packument["versions"]["1.0.0"]["dist"]["tarball"],
            "http://127.0.0.1:9/@scope/pkg/-/pkg-1.0.0.tgz"
        );
    }
}
