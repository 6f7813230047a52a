//! Settings from `.npmrc` files and `npm_config_*` variables, with npm's precedence:
//! command line, then environment, then the project's `.npmrc`, then the user's.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use utoo_package_cache::PackumentPolicy;
use utoo_registry_client::ProxyConfig;

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

/// npm settings that change what npm installs or writes, with npm's
/// defaults, which utoo does not implement: set to anything else, they get a
/// warning instead of silently giving another tree or lockfile than npm's.
const UNSUPPORTED_SETTINGS: [(&str, &str); 14] = [
    ("before", ""),
    ("cpu", ""),
    ("force", "false"),
    ("global-style", "false"),
    ("include", ""),
    ("install-links", "false"),
    ("install-strategy", "hoisted"),
    ("legacy-bundling", "false"),
    ("libc", ""),
    ("omit", ""),
    ("os", ""),
    ("prefer-dedupe", "false"),
    ("strict-peer-deps", "false"),
    ("tag", "latest"),
];

pub(crate) struct NpmConfig {
    layers: Vec<HashMap<String, String>>,
}

impl NpmConfig {
    /// Loads the environment, `<project>/.npmrc` and `~/.npmrc` (or `npm_config_userconfig`).
    pub(crate) fn load(project_dir: &Path) -> NpmConfig {
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

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
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
    pub(crate) fn scoped_registries(&self) -> Vec<(String, String)> {
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
    pub(crate) fn auth_tokens(&self) -> Vec<(String, String)> {
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

    /// `key=value` for each setting utoo ignores that is set to something
    /// other than npm's default.
    pub(crate) fn unsupported_settings(&self) -> Vec<String> {
        UNSUPPORTED_SETTINGS
            .iter()
            .filter_map(|(key, default)| {
                let value = self.get(key)?.trim();
                (value != *default && value != "null").then(|| format!("{key}={value}"))
            })
            .collect()
    }

    pub(crate) fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v == "true")
    }

    /// A value that is set to something: npm writes an unset one as
    /// `null`, and `proxy=false` as a way to say "none".
    fn value(&self, key: &str) -> Option<&str> {
        self.get(key)
            .map(str::trim)
            .filter(|v| !v.is_empty() && *v != "null" && *v != "false")
    }

    /// `strict-ssl`: on unless set to `false`.
    pub(crate) fn strict_ssl(&self) -> bool {
        !matches!(self.get("strict-ssl"), Some(v) if v.trim().eq_ignore_ascii_case("false"))
    }

    /// `cafile`, with a leading `~/` meaning the home folder.
    pub(crate) fn ca_file(&self) -> Option<PathBuf> {
        let path = self.value("cafile")?;
        match (path.strip_prefix("~/"), home_dir()) {
            (Some(rest), Some(home)) => Some(home.join(rest)),
            _ => Some(PathBuf::from(path)),
        }
    }

    /// `ca`: PEM text, its line breaks written `\n` as npm writes them.
    pub(crate) fn ca(&self) -> Option<String> {
        self.value("ca").map(|pem| pem.replace("\\n", "\n"))
    }

    /// `proxy`, `https-proxy` and `noproxy`, or `None` when none is set so
    /// the environment's `HTTP(S)_PROXY` and `NO_PROXY` apply as they are.
    pub(crate) fn proxy(&self) -> Option<ProxyConfig> {
        self.proxy_with_env(|name| std::env::var(name).ok())
    }

    /// Once one key is set, utoo chooses every proxy itself: a key wins,
    /// an unset one falls back to its environment variable. `https:` URLs
    /// use `https-proxy`, else `proxy` (as npm does); `http:` URLs use `proxy`.
    fn proxy_with_env(&self, env: impl Fn(&str) -> Option<String>) -> Option<ProxyConfig> {
        let (http, https, no_proxy) = (
            self.value("proxy"),
            self.value("https-proxy"),
            self.value("noproxy"),
        );
        if http.is_none() && https.is_none() && no_proxy.is_none() {
            return None;
        }
        let from_env = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| env(name).filter(|v| !v.trim().is_empty()))
        };
        let no_proxy = no_proxy
            .map(str::to_string)
            .or_else(|| from_env(&["NO_PROXY", "no_proxy"]))
            .unwrap_or_default();
        Some(ProxyConfig {
            http: http
                .map(str::to_string)
                .or_else(|| from_env(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])),
            https: https
                .or(http)
                .map(str::to_string)
                .or_else(|| from_env(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])),
            no_proxy: no_proxy
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|host| !host.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

/// The command line's cache flags.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CacheFlags {
    pub(crate) offline: bool,
    pub(crate) prefer_offline: bool,
    pub(crate) prefer_online: bool,
}

/// npm's `offline`, `prefer-offline` and `prefer-online`, from the flags
/// or the settings; as in npm-registry-fetch, `offline` wins over
/// `prefer-offline`, which wins over `prefer-online` (the default here: a
/// cached packument is always revalidated). A `--prefer-online` typed on
/// the command line also overrides a `prefer-offline` setting.
pub(crate) fn packument_policy(config: &NpmConfig, flags: CacheFlags) -> PackumentPolicy {
    let prefer_offline_setting = config.flag("prefer-offline") && !flags.prefer_online;
    if flags.offline || config.flag("offline") {
        PackumentPolicy::CachedOnly
    } else if flags.prefer_offline || prefer_offline_setting {
        PackumentPolicy::PreferCached
    } else {
        PackumentPolicy::Revalidate
    }
}

pub(crate) fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// `--cache-dir`, else `UTOO_CACHE_DIR`, else `$XDG_CACHE_HOME/utoo`, else `~/.cache/utoo`.
pub(crate) fn cache_dir(flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| std::env::var_os("UTOO_CACHE_DIR").map(PathBuf::from))
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("utoo")))
        .or_else(|| home_dir().map(|h| h.join(".cache").join("utoo")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_utoo_ignores_are_named_unless_at_npms_default() {
        let set = config(&[
            ("install-links", "true"),
            ("tag", "latest"),
            ("install-strategy", "nested"),
            ("before", "null"),
            ("registry", "http://r.example/"),
        ]);
        assert_eq!(
            set.unsupported_settings(),
            ["install-links=true", "install-strategy=nested"]
        );
    }

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
    fn offline_beats_prefer_offline_which_beats_prefer_online() {
        use PackumentPolicy::*;
        let flags = |offline, prefer_offline, prefer_online| CacheFlags {
            offline,
            prefer_offline,
            prefer_online,
        };
        let none = flags(false, false, false);
        assert_eq!(packument_policy(&config(&[]), none), Revalidate);
        assert_eq!(
            packument_policy(&config(&[]), flags(true, true, true)),
            CachedOnly
        );
        assert_eq!(
            packument_policy(&config(&[]), flags(false, true, true)),
            PreferCached
        );
        let offline = config(&[("offline", "true"), ("prefer-offline", "true")]);
        assert_eq!(packument_policy(&offline, none), CachedOnly);
        let prefer_offline = config(&[("prefer-offline", "true"), ("prefer-online", "true")]);
        assert_eq!(packument_policy(&prefer_offline, none), PreferCached);
        // Only a command-line --prefer-online overrides the setting.
        assert_eq!(
            packument_policy(&prefer_offline, flags(false, false, true)),
            Revalidate
        );
        assert_eq!(
            packument_policy(&config(&[("offline", "false")]), none),
            Revalidate
        );
    }

    fn config(pairs: &[(&str, &str)]) -> NpmConfig {
        let layer = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        NpmConfig {
            layers: vec![layer],
        }
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn tls_keys() {
        let defaults = config(&[]);
        assert!(defaults.strict_ssl());
        assert_eq!(defaults.ca_file(), None);
        assert_eq!(defaults.ca(), None);
        let set = config(&[
            ("strict-ssl", "false"),
            ("cafile", "/etc/corp/ca.pem"),
            (
                "ca",
                "-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----",
            ),
        ]);
        assert!(!set.strict_ssl());
        assert_eq!(set.ca_file(), Some(PathBuf::from("/etc/corp/ca.pem")));
        assert_eq!(
            set.ca().as_deref(),
            Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
        );
        assert!(config(&[("strict-ssl", "true")]).strict_ssl());
        assert_eq!(config(&[("ca", "null"), ("cafile", "")]).ca(), None);
    }

    #[test]
    fn without_proxy_keys_the_environment_is_left_to_the_client() {
        let none = config(&[("registry", "http://r.example/")]);
        assert_eq!(
            none.proxy_with_env(env(&[("HTTPS_PROXY", "http://e:1")])),
            None
        );
        assert_eq!(config(&[("proxy", "false")]).proxy_with_env(env(&[])), None);
    }

    #[test]
    fn proxy_keys_per_scheme_with_npm_fallbacks() {
        let both = config(&[
            ("proxy", "http://plain:3128"),
            ("https-proxy", "http://secure:3129"),
            ("noproxy", "localhost, .internal,10.0.0.1"),
        ]);
        let no_env = env(&[]);
        assert_eq!(
            both.proxy_with_env(&no_env),
            Some(ProxyConfig {
                http: Some("http://plain:3128".into()),
                https: Some("http://secure:3129".into()),
                no_proxy: vec!["localhost".into(), ".internal".into(), "10.0.0.1".into()],
            })
        );
        let only_proxy = config(&[("proxy", "http://plain:3128")]).proxy_with_env(&no_env);
        assert_eq!(
            only_proxy.and_then(|p| p.https).as_deref(),
            Some("http://plain:3128"),
            "https falls back to `proxy`"
        );
        let only_https = config(&[("https-proxy", "http://secure:3129")]);
        let with_env = only_https.proxy_with_env(env(&[
            ("HTTP_PROXY", "http://env-plain:1"),
            ("HTTPS_PROXY", "http://env-secure:2"),
            ("NO_PROXY", "corp.example"),
        ]));
        assert_eq!(
            with_env,
            Some(ProxyConfig {
                http: Some("http://env-plain:1".into()),
                https: Some("http://secure:3129".into()),
                no_proxy: vec!["corp.example".into()],
            })
        );
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
