//! Settings from `.npmrc` files and `npm_config_*` variables, with npm's precedence:
//! command line, then environment, then the project's `.npmrc`, then the user's.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// `key=value` lines of one `.npmrc` (comments and blank lines skipped).
fn read_npmrc(path: &Path) -> HashMap<String, String> {
    let Ok(text) = fs::read_to_string(path) else {
        return HashMap::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with(';'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                interpolate(v.trim().trim_matches('"')),
            )
        })
        .collect()
}

/// `${NAME}` in an `.npmrc` value is the environment variable `NAME`, as in npm.
fn interpolate(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = &rest[start + 2..start + end];
        out.push_str(&std::env::var(name).unwrap_or_default());
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

pub struct NpmConfig {
    layers: Vec<HashMap<String, String>>,
}

impl NpmConfig {
    /// Loads the environment, `<project>/.npmrc` and `~/.npmrc` (or `npm_config_userconfig`).
    pub fn load(project_dir: &Path) -> NpmConfig {
        let env: HashMap<String, String> = std::env::vars()
            .filter_map(|(k, v)| {
                let lower = k.to_ascii_lowercase();
                lower
                    .strip_prefix("npm_config_")
                    .map(|key| (key.replace('_', "-"), v))
            })
            .collect();
        let user_rc = env
            .get("userconfig")
            .map(PathBuf::from)
            .or_else(|| home_dir().map(|h| h.join(".npmrc")));
        let mut layers = vec![env, read_npmrc(&project_dir.join(".npmrc"))];
        if let Some(user_rc) = user_rc {
            layers.push(read_npmrc(&user_rc));
        }
        NpmConfig { layers }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.layers
            .iter()
            .find_map(|layer| layer.get(key))
            .map(String::as_str)
    }

    /// Every key across the layers, the first layer that has it winning.
    fn entries(&self) -> Vec<(&str, &str)> {
        let mut seen = std::collections::HashSet::new();
        self.layers
            .iter()
            .flat_map(|layer| layer.iter())
            .filter(|(k, _)| seen.insert(k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// `@scope:registry=<url>` entries.
    pub fn scoped_registries(&self) -> Vec<(String, String)> {
        self.entries()
            .into_iter()
            .filter_map(|(k, v)| {
                let scope = k.strip_suffix(":registry")?;
                scope
                    .starts_with('@')
                    .then(|| (scope.to_string(), v.to_string()))
            })
            .collect()
    }

    /// `//host/path/:_authToken=<token>` entries, as (prefix, token).
    pub fn auth_tokens(&self) -> Vec<(String, String)> {
        self.entries()
            .into_iter()
            .filter_map(|(k, v)| {
                let prefix = k.strip_suffix(":_authToken")?;
                prefix
                    .starts_with("//")
                    .then(|| (prefix.to_string(), v.to_string()))
            })
            .collect()
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v == "true")
    }
}

pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// `--cache-dir`, else `UTOO_CACHE_DIR`, else `$XDG_CACHE_HOME/utoo`, else `~/.cache/utoo`.
pub fn cache_dir(flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| std::env::var_os("UTOO_CACHE_DIR").map(PathBuf::from))
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("utoo")))
        .or_else(|| home_dir().map(|h| h.join(".cache").join("utoo")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npmrc_lines() {
        let dir = tempfile::tempdir().unwrap();
        let rc = dir.path().join(".npmrc");
        fs::write(
            &rc,
            "# comment\nregistry = http://r.example/\nlegacy-peer-deps=true\n\n",
        )
        .unwrap();
        let values = read_npmrc(&rc);
        assert_eq!(values["registry"], "http://r.example/");
        assert_eq!(values["legacy-peer-deps"], "true");
    }

    #[test]
    fn environment_variables_are_interpolated() {
        std::env::set_var("UTOO_TEST_TOKEN_VALUE", "s3cret");
        assert_eq!(interpolate("${UTOO_TEST_TOKEN_VALUE}"), "s3cret");
        assert_eq!(interpolate("a-${UTOO_TEST_TOKEN_VALUE}-b"), "a-s3cret-b");
        assert_eq!(interpolate("${UTOO_TEST_UNSET_VARIABLE}x"), "x");
        assert_eq!(interpolate("plain"), "plain");
    }
}
