//! The npm vocabulary that utoo's actors share: registry documents
//! ([`Packument`], [`Manifest`]), dependency specs ([`Spec`]), package
//! names, `integrity` strings ([`Integrity`]) and the `os` / `cpu` / `libc`
//! rules ([`Platform`]).
//!
//! Parsing is lenient where the registry is: decades-old packages carry
//! `engines` as arrays, `license` as objects and other oddities, which are
//! normalised or dropped instead of failing the whole document.
//!
//! ```
//! use utoo_npm_types::{Packument, Spec};
//!
//! let doc = br#"{"name":"a","dist-tags":{"latest":"1.0.0"},
//!   "versions":{"1.0.0":{"name":"a","version":"1.0.0",
//!   "dist":{"tarball":"http://r/a/-/a-1.0.0.tgz","shasum":"00"}}}}"#;
//! let packument = Packument::from_slice(doc).unwrap();
//! let spec = Spec::parse("a", "^1.0.0").unwrap();
//! assert!(matches!(spec, Spec::Range(_)));
//! assert_eq!(packument.version("1.0.0").unwrap().manifest().dist.tarball, "http://r/a/-/a-1.0.0.tgz");
//! ```

mod integrity;
mod lenient;
mod manifest;
mod name;
mod node;
mod packument;
mod platform;
mod redact;
mod registries;
mod spec;
mod version_fields;

pub use integrity::{Algorithm, Integrity, IntegrityError, IntegrityHasher};
pub use lenient::safe_bins;
pub use manifest::{Dist, Manifest, PeerDependencyMeta};
pub use name::{validate_package_name, InvalidPackageName};
pub use node::NodeVersion;
pub use packument::{Packument, PackumentError, PackumentVersion};
pub use platform::Platform;
pub use redact::redact_userinfo;
pub use registries::Registries;
pub use spec::{is_full_commit, GitReference, GitSpec, Spec, SpecError};

/// The default registry, as npm's `registry` config default.
pub const NPM_REGISTRY: &str = "https://registry.npmjs.org/";

/// The `Accept` header npm sends for abbreviated ("corgi") packuments.
pub const ABBREVIATED_ACCEPT: &str =
    "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

/// The packument URL of `name` under `registry` (scoped names keep `@` and escape `/`).
pub fn packument_url(registry: &str, name: &str) -> String {
    let base = registry.trim_end_matches('/');
    format!("{base}/{}", name.replacen('/', "%2f", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packument_urls_escape_scoped_names() {
        assert_eq!(
            packument_url("https://registry.npmjs.org/", "@types/node"),
            "https://registry.npmjs.org/@types%2fnode"
        );
        assert_eq!(
            packument_url("http://127.0.0.1:9/", "lodash"),
            "http://127.0.0.1:9/lodash"
        );
    }
}
