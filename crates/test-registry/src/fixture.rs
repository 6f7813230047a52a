//! The fixture model: which package versions the registry publishes, built
//! either with the builder methods here or from the text form in `parse.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use bytes::Bytes;
use nodejs_semver::Version;

/// The set of package versions a [`crate::TestRegistry`] publishes.
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    pub(crate) versions: Vec<VersionFixture>,
}

impl Fixtures {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name@version`, configured by `configure`:
    /// `Fixtures::new().version("aa", "1.0.0", |v| v.dep("bb", "^1").bin("aa", "cli.js"))`.
    pub fn version(
        mut self,
        name: &str,
        version: &str,
        configure: impl FnOnce(VersionFixture) -> VersionFixture,
    ) -> Self {
        self.versions
            .push(configure(VersionFixture::new(name, version)));
        self
    }

    /// Adds every version of `other` after the versions already here.
    pub fn extend(mut self, other: Fixtures) -> Self {
        self.versions.extend(other.versions);
        self
    }

    pub(crate) fn push(&mut self, version: VersionFixture) {
        self.versions.push(version);
    }

    /// Checks names, versions, duplicates and dist-tag conflicts.
    pub fn validate(&self) -> Result<(), FixtureError> {
        let mut validator = FixtureValidator::default();
        self.versions
            .iter()
            .try_for_each(|version| validator.admit(version))
    }
}

/// One published version of a package. Every builder method consumes and
/// returns the fixture so calls chain inside [`Fixtures::version`].
#[derive(Debug, Clone)]
pub struct VersionFixture {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) dependencies: BTreeMap<String, String>,
    pub(crate) optional_dependencies: BTreeMap<String, String>,
    pub(crate) peer_dependencies: BTreeMap<String, String>,
    pub(crate) optional_peers: BTreeSet<String>,
    pub(crate) dev_dependencies: BTreeMap<String, String>,
    pub(crate) bin: BTreeMap<String, String>,
    pub(crate) os: Vec<String>,
    pub(crate) cpu: Vec<String>,
    pub(crate) engines: BTreeMap<String, String>,
    pub(crate) deprecated: Option<String>,
    pub(crate) license: String,
    pub(crate) scripts: BTreeMap<String, String>,
    pub(crate) files: BTreeMap<String, Bytes>,
    pub(crate) dist_tags: Vec<String>,
    pub(crate) bundle_dependencies: Vec<String>,
    /// Packages packed inside the tarball, under `node_modules/<name>/`.
    pub(crate) bundled: Vec<VersionFixture>,
    pub(crate) raw_tarball: Option<Bytes>,
    pub(crate) tarball_url: Option<String>,
    /// `package.json` fields set as given, replacing generated ones.
    pub(crate) fields: serde_json::Map<String, serde_json::Value>,
}

impl VersionFixture {
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            dependencies: BTreeMap::new(),
            optional_dependencies: BTreeMap::new(),
            peer_dependencies: BTreeMap::new(),
            optional_peers: BTreeSet::new(),
            dev_dependencies: BTreeMap::new(),
            bin: BTreeMap::new(),
            os: Vec::new(),
            cpu: Vec::new(),
            engines: BTreeMap::new(),
            deprecated: None,
            license: "MIT".to_owned(),
            scripts: BTreeMap::new(),
            files: BTreeMap::new(),
            dist_tags: Vec::new(),
            bundle_dependencies: Vec::new(),
            bundled: Vec::new(),
            raw_tarball: None,
            tarball_url: None,
            fields: serde_json::Map::new(),
        }
    }

    pub fn dep(mut self, name: &str, range: &str) -> Self {
        self.dependencies.insert(name.to_owned(), range.to_owned());
        self
    }

    pub fn optional_dep(mut self, name: &str, range: &str) -> Self {
        self.optional_dependencies
            .insert(name.to_owned(), range.to_owned());
        self
    }

    pub fn peer_dep(mut self, name: &str, range: &str) -> Self {
        self.peer_dependencies
            .insert(name.to_owned(), range.to_owned());
        self
    }

    /// Marks `name` optional in `peerDependenciesMeta`.
    pub fn optional_peer(mut self, name: &str) -> Self {
        self.optional_peers.insert(name.to_owned());
        self
    }

    pub fn dev_dep(mut self, name: &str, range: &str) -> Self {
        self.dev_dependencies
            .insert(name.to_owned(), range.to_owned());
        self
    }

    /// Adds a `bin` entry; the tarball gets an executable file at `path`.
    pub fn bin(mut self, command: &str, path: &str) -> Self {
        self.bin.insert(command.to_owned(), path.to_owned());
        self
    }

    /// Adds an `os` entry such as `win32` or `!darwin`.
    pub fn os(mut self, os: &str) -> Self {
        self.os.push(os.to_owned());
        self
    }

    pub fn cpu(mut self, cpu: &str) -> Self {
        self.cpu.push(cpu.to_owned());
        self
    }

    pub fn engine(mut self, engine: &str, range: &str) -> Self {
        self.engines.insert(engine.to_owned(), range.to_owned());
        self
    }

    pub fn deprecated(mut self, message: &str) -> Self {
        self.deprecated = Some(message.to_owned());
        self
    }

    pub fn license(mut self, license: &str) -> Self {
        self.license = license.to_owned();
        self
    }

    pub fn script(mut self, event: &str, command: &str) -> Self {
        self.scripts.insert(event.to_owned(), command.to_owned());
        self
    }

    /// Adds a file under `package/`; it replaces a generated one with the same
    /// path (`index.js`, a bin file, even `package.json`).
    pub fn file(mut self, path: &str, content: impl Into<Bytes>) -> Self {
        self.files.insert(path.to_owned(), content.into());
        self
    }

    /// Lists `name` in `bundleDependencies`; what the tarball holds for it
    /// comes from [`VersionFixture::bundled`] (or nothing, to mimic a
    /// package whose bundle lacks it).
    pub fn bundle(mut self, name: &str) -> Self {
        self.bundle_dependencies.push(name.to_owned());
        self
    }

    /// Packs `package` inside this version's tarball, at
    /// `node_modules/<its name>/`, with the files it would have on its own
    /// (its own bundled packages included). It is not published.
    pub fn bundled(mut self, package: VersionFixture) -> Self {
        self.bundled.push(package);
        self
    }

    /// Sets a `package.json` (and packument) field to `value` as is, e.g. an
    /// old-style `engines` array or a `workspaces` list.
    pub fn field(mut self, key: &str, value: serde_json::Value) -> Self {
        self.fields.insert(key.to_owned(), value);
        self
    }

    /// Points the `latest` dist-tag at this version.
    pub fn latest(self) -> Self {
        self.tag("latest")
    }

    pub fn tag(mut self, tag: &str) -> Self {
        self.dist_tags.push(tag.to_owned());
        self
    }

    /// Serves `tarball` as is instead of packing one; integrity and shasum
    /// are computed from these bytes.
    pub fn raw_tarball(mut self, tarball: impl Into<Bytes>) -> Self {
        self.raw_tarball = Some(tarball.into());
        self
    }

    /// Gives `url` as the packument's `dist.tarball` instead of where the
    /// tarball is served (a hostile registry: `file:///dev/zero`, say).
    pub fn tarball_url(mut self, url: &str) -> Self {
        self.tarball_url = Some(url.to_owned());
        self
    }
}

/// `"@scope/name"` → `"name"`; npm names tarballs after the unscoped part.
pub(crate) fn unscoped(name: &str) -> &str {
    name.rsplit_once('/').map_or(name, |(_, bare)| bare)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixtureError {
    #[error("`{name}` is not a valid package name")]
    InvalidName { name: String },
    #[error(
        "`{version}` of `{name}` is not a canonical semver version like 1.2.3 or 1.2.3-beta.1"
    )]
    InvalidVersion { name: String, version: String },
    #[error("`{name}@{version}` is defined twice")]
    DuplicateVersion { name: String, version: String },
    #[error("dist-tag `{tag}` of `{name}` points at both {first} and {second}")]
    ConflictingTag {
        name: String,
        tag: String,
        first: String,
        second: String,
    },
}

/// Admits versions one by one, so the text parser can report a problem at
/// the line that introduced it.
#[derive(Default)]
pub(crate) struct FixtureValidator {
    seen_versions: HashSet<(String, String)>,
    tags: HashMap<(String, String), String>,
}

impl FixtureValidator {
    pub(crate) fn admit(&mut self, fixture: &VersionFixture) -> Result<(), FixtureError> {
        validate_name(&fixture.name)?;
        parse_version(&fixture.name, &fixture.version)?;
        let key = (fixture.name.clone(), fixture.version.clone());
        if !self.seen_versions.insert(key) {
            return Err(FixtureError::DuplicateVersion {
                name: fixture.name.clone(),
                version: fixture.version.clone(),
            });
        }
        for tag in &fixture.dist_tags {
            let key = (fixture.name.clone(), tag.clone());
            if let Some(first) = self.tags.get(&key) {
                if *first != fixture.version {
                    return Err(FixtureError::ConflictingTag {
                        name: fixture.name.clone(),
                        tag: tag.clone(),
                        first: first.clone(),
                        second: fixture.version.clone(),
                    });
                }
            }
            self.tags.insert(key, fixture.version.clone());
        }
        Ok(())
    }
}

pub(crate) fn parse_version(name: &str, version: &str) -> Result<Version, FixtureError> {
    Version::parse(version)
        .ok()
        .filter(|parsed| parsed.to_string() == version)
        .ok_or_else(|| FixtureError::InvalidVersion {
            name: name.to_owned(),
            version: version.to_owned(),
        })
}

/// Accepts `name` and `@scope/name` whose parts are URL-safe, which is what
/// npm allows for new packages (upper case is tolerated for legacy names).
fn validate_name(name: &str) -> Result<(), FixtureError> {
    let is_valid_part = |part: &str| {
        !part.is_empty()
            && !part.starts_with('.')
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
    };
    let is_valid = match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, bare)| is_valid_part(scope) && is_valid_part(bare)),
        None => is_valid_part(name),
    };
    if is_valid {
        Ok(())
    } else {
        Err(FixtureError::InvalidName {
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_collects_every_field() {
        let fixtures = Fixtures::new().version("aa", "1.0.0", |v| {
            v.dep("bb", "^1")
                .optional_dep("cc", "1")
                .peer_dep("host", "^2")
                .optional_peer("host")
                .dev_dep("dd", "*")
                .bin("aa", "cli.js")
                .os("linux")
                .cpu("x64")
                .engine("node", ">=18")
                .deprecated("old")
                .license("ISC")
                .script("postinstall", "node x.js")
                .file("x.js", "1")
                .tag("beta")
        });
        let version = &fixtures.versions[0];
        assert_eq!(version.dependencies["bb"], "^1");
        assert_eq!(version.optional_dependencies["cc"], "1");
        assert!(version.optional_peers.contains("host"));
        assert_eq!(version.license, "ISC");
        assert_eq!(version.dist_tags, ["beta"]);
        assert_eq!(fixtures.validate(), Ok(()));
    }

    #[test]
    fn validation_rejects_bad_names_versions_and_conflicts() {
        let invalid_name = Fixtures::new().version("Bad Name", "1.0.0", |v| v);
        assert!(matches!(
            invalid_name.validate(),
            Err(FixtureError::InvalidName { .. })
        ));
        let loose_version = Fixtures::new().version("aa", "v1.0", |v| v);
        assert!(matches!(
            loose_version.validate(),
            Err(FixtureError::InvalidVersion { .. })
        ));
        let duplicate = Fixtures::new()
            .version("aa", "1.0.0", |v| v)
            .version("aa", "1.0.0", |v| v);
        assert!(matches!(
            duplicate.validate(),
            Err(FixtureError::DuplicateVersion { .. })
        ));
        let two_latest = Fixtures::new()
            .version("aa", "1.0.0", |v| v.latest())
            .version("aa", "2.0.0", |v| v.latest());
        assert!(matches!(
            two_latest.validate(),
            Err(FixtureError::ConflictingTag { .. })
        ));
    }

    #[test]
    fn scoped_names_are_valid_and_unscope() {
        assert_eq!(unscoped("@scope/pkg"), "pkg");
        assert_eq!(unscoped("pkg"), "pkg");
        assert_eq!(validate_name("@scope/pkg"), Ok(()));
        assert!(validate_name("@scope").is_err());
        assert!(validate_name("a/b").is_err());
    }
}
