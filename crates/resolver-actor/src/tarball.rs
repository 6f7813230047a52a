//! Manifests of packages named by a tarball (a `file:` path or a URL)
//! rather than a registry version: read from the `package.json` inside.

use std::io::{self, Read};

use flate2::read::GzDecoder;
use nodejs_semver::Version;
use thiserror::Error;
use utoo_npm_types::{validate_package_name, Integrity, InvalidPackageName, Manifest};
use utoo_registry_client::LocalReadError;

/// Why a tarball gave no usable manifest.
#[derive(Debug, Error)]
pub enum TarballError {
    /// A `file:` tarball could not be read from disk.
    #[error(transparent)]
    Read(#[from] LocalReadError),
    #[error("not a gzipped tarball")]
    NotGzip(#[source] io::Error),
    #[error("an entry has an unreadable path")]
    EntryPath(#[source] io::Error),
    #[error("reading package.json")]
    ReadManifest(#[source] io::Error),
    #[error("its package.json")]
    Manifest(#[source] serde_json::Error),
    #[error("its package.json has a bad name")]
    BadName(#[source] InvalidPackageName),
    #[error("its package.json has no valid version ({0:?})")]
    BadVersion(String),
    #[error("it has no package.json")]
    NoManifest,
    #[error("{0} is too large to be a package.json")]
    ManifestTooLarge(String),
}

/// A `package.json` larger than this is not a manifest but an attack on memory.
pub(crate) const MAX_MANIFEST_BYTES: u64 = 8 << 20;

/// The contents of a tarball entry read as a `package.json`: refused when
/// its header announces more than [`MAX_MANIFEST_BYTES`].
pub(crate) fn read_manifest_entry(
    entry: &mut tar::Entry<'_, impl Read>,
) -> Result<Vec<u8>, TarballError> {
    // The size read, which a pax header may set apart from the tar header's.
    if entry.size() > MAX_MANIFEST_BYTES {
        let path = entry.path().map_err(TarballError::EntryPath)?;
        return Err(TarballError::ManifestTooLarge(path.display().to_string()));
    }
    let mut text = Vec::new();
    entry
        .read_to_end(&mut text)
        .map_err(TarballError::ReadManifest)?;
    Ok(text)
}

/// The manifest in a `.tgz`, with `dist` set to `resolved` and the
/// tarball's sha512 integrity.
pub(crate) fn manifest_from_tarball(
    bytes: &[u8],
    resolved: &str,
) -> Result<Manifest, TarballError> {
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let entries = archive.entries().map_err(TarballError::NotGzip)?;
    for entry in entries {
        let mut entry = entry.map_err(TarballError::NotGzip)?;
        let path = entry.path().map_err(TarballError::EntryPath)?;
        // Packed packages keep everything in one top folder, usually `package/`.
        let is_manifest = path.components().count() == 2 && path.ends_with("package.json");
        if !is_manifest {
            continue;
        }
        let text = read_manifest_entry(&mut entry)?;
        let mut manifest = Manifest::from_slice(&text).map_err(TarballError::Manifest)?;
        validate_package_name(&manifest.name).map_err(TarballError::BadName)?;
        // Exactly a version: loose parsing would accept `1.0.0/../x`.
        let exact =
            Version::parse(&manifest.version).is_ok_and(|v| v.to_string() == manifest.version);
        if !exact {
            return Err(TarballError::BadVersion(manifest.version));
        }
        manifest.dist.tarball = resolved.to_string();
        manifest.dist.integrity = Some(Integrity::sha512_of(bytes).to_string());
        manifest.dist.shasum = None;
        return Ok(manifest);
    }
    Err(TarballError::NoManifest)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `.tgz` of `(path, contents)` files.
    pub(crate) fn tgz(files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, path, text.as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn reads_the_packed_manifest() {
        let bytes = tgz(&[
            (
                "package/lib/package.json",
                r#"{"name":"inner","version":"9.9.9"}"#,
            ),
            (
                "package/package.json",
                r#"{"name":"t","version":"1.2.3","dependencies":{"a":"^1"}}"#,
            ),
        ]);
        let manifest = manifest_from_tarball(&bytes, "file:t.tgz").unwrap();
        assert_eq!(
            (manifest.name.as_str(), manifest.version.as_str()),
            ("t", "1.2.3")
        );
        assert_eq!(manifest.dist.tarball, "file:t.tgz");
        assert_eq!(
            manifest.dist.integrity,
            Some(Integrity::sha512_of(&bytes).to_string())
        );
        assert_eq!(manifest.dependencies.len(), 1);
    }

    #[test]
    fn bad_tarballs_say_why() {
        let err = manifest_from_tarball(b"not gzip", "x").unwrap_err();
        assert!(matches!(err, TarballError::NotGzip(_)), "{err}");
        let err = manifest_from_tarball(&tgz(&[("package/index.js", "")]), "x").unwrap_err();
        assert!(matches!(err, TarballError::NoManifest), "{err}");
        let escaping = r#"{"name":"t","version":"1.0.0/../../x"}"#;
        let err =
            manifest_from_tarball(&tgz(&[("package/package.json", escaping)]), "x").unwrap_err();
        assert!(matches!(err, TarballError::BadVersion(_)), "{err}");
        let bad_name = r#"{"name":"../t","version":"1.0.0"}"#;
        let err =
            manifest_from_tarball(&tgz(&[("package/package.json", bad_name)]), "x").unwrap_err();
        assert!(matches!(err, TarballError::BadName(_)), "{err}");
        let huge = " ".repeat(MAX_MANIFEST_BYTES as usize + 1);
        let err = manifest_from_tarball(&tgz(&[("package/package.json", &huge)]), "x").unwrap_err();
        assert!(matches!(err, TarballError::ManifestTooLarge(_)), "{err}");
        let hidden = utoo_test_registry::Tarball::new()
            .pax_sized_zeros("package/package.json", MAX_MANIFEST_BYTES + 1)
            .gzip()
            .unwrap();
        let err = manifest_from_tarball(&hidden, "x").unwrap_err();
        assert!(matches!(err, TarballError::ManifestTooLarge(_)), "{err}");
    }
}
