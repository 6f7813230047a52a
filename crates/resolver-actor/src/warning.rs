//! What resolution tells the user without failing.

use std::fmt;

use utoo_package_cache::PackumentCacheError;

use crate::error::{ResolveError, WithCauses};

#[derive(Debug)]
pub enum Warning {
    /// An optional dependency that could not be loaded is left out, as npm does.
    OptionalSkipped { name: String, error: ResolveError },
    /// A conflicting peer dependency that isn't the project's own (arborist's
    /// isMine is false): npm warns and goes on without placing it.
    PeerConflict {
        /// `name@version` of the package that could not be placed.
        package: String,
        /// The chain of dependents that wanted it.
        dependent: String,
        /// The dependency as declared: its name and spec.
        name: String,
        spec: String,
    },
    /// Dependencies a package lists in `bundleDependencies` but its tarball
    /// lacks: npm installs nothing for them, and neither does utoo.
    BundleMissing {
        /// `name@version` of the bundler.
        package: String,
        names: Vec<String>,
    },
    /// A cached packument that couldn't be used (then it was fetched
    /// again) or written.
    PackumentCache(PackumentCacheError),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::OptionalSkipped { name, error } => {
                write!(f, "skipping optional dependency {name}: {}", WithCauses(error))
            }
            Warning::PeerConflict {
                package,
                dependent,
                name,
                spec,
            } => write!(
                f,
                "could not place {package} for {dependent} ({name} {spec}): conflicting peer dependency"
            ),
            Warning::BundleMissing { package, names } => write!(
                f,
                "{package} bundles {} but its tarball lacks {}: not installed, as npm does",
                names.join(", "),
                if names.len() == 1 { "it" } else { "them" }
            ),
            Warning::PackumentCache(error) => {
                write!(f, "{error}")?;
                let mut cause = std::error::Error::source(error);
                while let Some(inner) = cause {
                    write!(f, ": {inner}")?;
                    cause = inner.source();
                }
                write!(f, "; {}", error.consequence())
            }
        }
    }
}
