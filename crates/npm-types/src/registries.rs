use std::collections::BTreeMap;

/// Which registry serves each package: `.npmrc`'s `@scope:registry` entries
/// for scoped names, else the default `registry`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Registries {
    pub default: String,
    /// Scope (with its `@`) → registry URL.
    pub scoped: BTreeMap<String, String>,
}

impl Registries {
    /// Only a default registry; URLs are given a trailing slash.
    pub fn new(default: impl Into<String>) -> Registries {
        Registries {
            default: with_slash(default.into()),
            scoped: BTreeMap::new(),
        }
    }

    pub fn with_scope(mut self, scope: &str, url: &str) -> Registries {
        self.scoped
            .insert(scope.to_string(), with_slash(url.to_string()));
        self
    }

    pub fn for_package(&self, name: &str) -> &str {
        name.split_once('/')
            .filter(|(scope, _)| scope.starts_with('@'))
            .and_then(|(scope, _)| self.scoped.get(scope))
            .unwrap_or(&self.default)
    }
}

fn with_slash(url: String) -> String {
    format!("{}/", url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_packages_use_their_scopes_registry() {
        let registries = Registries::new("https://public.example")
            .with_scope("@corp", "https://corp.example/npm");
        assert_eq!(
            registries.for_package("@corp/tool"),
            "https://corp.example/npm/"
        );
        assert_eq!(
            registries.for_package("@other/tool"),
            "https://public.example/"
        );
        assert_eq!(registries.for_package("lodash"), "https://public.example/");
    }
}
