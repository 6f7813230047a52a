//! Which proxy a request goes through: one for `http:` URLs, one for
//! `https:` URLs, and npm's `noproxy` list of hosts that go direct.

use std::fmt;

use reqwest::Url;

use utoo_npm_types::redact_userinfo;

use crate::HttpError;

/// Proxies chosen explicitly; the environment's `HTTP(S)_PROXY` and
/// `NO_PROXY` play no part once one is given (see [`crate::ClientConfig::proxy`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Proxy for `http:` URLs, e.g. `http://user:pass@proxy.corp:8080`.
    pub http: Option<String>,
    /// Proxy for `https:` URLs (tunnelled with `CONNECT`).
    pub https: Option<String>,
    /// Hosts that bypass the proxies. As npm matches them: an entry matches
    /// a host equal to it or ending in `.` + it (`example.com` and
    /// `.example.com` both cover `a.example.com`); ports are not compared;
    /// `*` matches every host.
    pub no_proxy: Vec<String>,
}

/// Shows the proxies without their credentials.
impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("http", &self.http.as_deref().map(redact_userinfo))
            .field("https", &self.https.as_deref().map(redact_userinfo))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// A [`ProxyConfig`] with its URLs parsed, ready to answer per request.
#[derive(Clone)]
pub(crate) struct Proxies {
    http: Option<Url>,
    https: Option<Url>,
    no_proxy: Vec<String>,
}

impl Proxies {
    pub(crate) fn new(config: &ProxyConfig) -> Result<Proxies, HttpError> {
        let parse = |url: &Option<String>| url.as_deref().map(parse_proxy_url).transpose();
        Ok(Proxies {
            http: parse(&config.http)?,
            https: parse(&config.https)?,
            no_proxy: config
                .no_proxy
                .iter()
                .map(|entry| entry.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|entry| !entry.is_empty())
                .collect(),
        })
    }

    /// The proxy `url` goes through, if any.
    pub(crate) fn for_url(&self, url: &Url) -> Option<Url> {
        let proxy = match url.scheme() {
            "http" => self.http.as_ref(),
            "https" => self.https.as_ref(),
            _ => None,
        }?;
        let host = url.host_str()?.to_ascii_lowercase();
        let bypassed = self.no_proxy.iter().any(|entry| {
            entry == "*"
                || host == *entry
                || host
                    .strip_suffix(entry.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        });
        (!bypassed).then(|| proxy.clone())
    }
}

impl fmt::Debug for Proxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |url: &Option<Url>| url.as_ref().map(|u| redact_userinfo(u.as_str()));
        f.debug_struct("Proxies")
            .field("http", &shown(&self.http))
            .field("https", &shown(&self.https))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// What is wrong with a proxy URL.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyUrlError {
    #[error("not a URL")]
    NotAUrl(#[source] url::ParseError),
    #[error("only http: and https: proxies are supported")]
    Scheme,
    #[error("no host")]
    NoHost,
}

/// An `http:` or `https:` proxy URL; a bare `host:port` means `http://host:port`.
fn parse_proxy_url(text: &str) -> Result<Url, HttpError> {
    let text = text.trim();
    let invalid = |problem| HttpError::Proxy {
        url: redact_userinfo(text),
        problem,
    };
    let url = if text.contains("://") {
        Url::parse(text)
    } else {
        Url::parse(&format!("http://{text}"))
    }
    .map_err(|e| invalid(ProxyUrlError::NotAUrl(e)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(ProxyUrlError::Scheme));
    }
    if url.host_str().is_none() {
        return Err(invalid(ProxyUrlError::NoHost));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(http: Option<&str>, https: Option<&str>, no_proxy: &[&str]) -> Proxies {
        Proxies::new(&ProxyConfig {
            http: http.map(str::to_string),
            https: https.map(str::to_string),
            no_proxy: no_proxy.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap()
    }

    fn via(proxies: &Proxies, url: &str) -> Option<String> {
        proxies
            .for_url(&Url::parse(url).unwrap())
            .map(|u| u.to_string())
    }

    #[test]
    fn each_scheme_has_its_own_proxy() {
        let p = proxies(Some("http://plain:3128"), Some("https://secure:443"), &[]);
        assert_eq!(
            via(&p, "http://registry.example/a").as_deref(),
            Some("http://plain:3128/")
        );
        assert_eq!(
            via(&p, "https://registry.example/a").as_deref(),
            Some("https://secure/")
        );
        let only_http = proxies(Some("proxy.corp:8080"), None, &[]);
        assert_eq!(
            via(&only_http, "http://r.example/").as_deref(),
            Some("http://proxy.corp:8080/")
        );
        assert_eq!(via(&only_http, "https://r.example/"), None);
    }

    #[test]
    fn no_proxy_matches_hosts_and_their_subdomains() {
        let p = proxies(
            Some("http://proxy:1"),
            None,
            &["example.com", " .internal ", "127.0.0.1", ""],
        );
        assert_eq!(via(&p, "http://example.com/"), None);
        assert_eq!(via(&p, "http://a.b.EXAMPLE.com:8080/x"), None);
        assert_eq!(via(&p, "http://registry.internal/"), None);
        assert_eq!(via(&p, "http://127.0.0.1:4873/"), None);
        assert!(via(&p, "http://notexample.com/").is_some());
        assert!(via(&p, "http://example.com.evil/").is_some());
        assert!(via(&p, "http://127.0.0.2/").is_some());
        let everything = proxies(Some("http://proxy:1"), None, &["*"]);
        assert_eq!(via(&everything, "http://anything.example/"), None);
    }

    #[test]
    fn bad_proxy_urls_are_errors_without_their_credentials() {
        for bad in ["socks5://user:hunter2@proxy:1080", "http://user:hunter2@"] {
            let err = Proxies::new(&ProxyConfig {
                http: Some(bad.to_string()),
                ..ProxyConfig::default()
            })
            .unwrap_err();
            let text = err.to_string();
            assert!(text.contains("invalid proxy URL"), "{text}");
            assert!(!text.contains("hunter2"), "{text}");
        }
    }

    #[test]
    fn debug_output_hides_credentials() {
        let config = ProxyConfig {
            http: Some("http://user:hunter2@proxy:1".into()),
            https: Some("http://hunter2@proxy:2".into()),
            no_proxy: vec![],
        };
        let shown = format!("{config:?} {:?}", Proxies::new(&config).unwrap());
        assert!(shown.contains("http://***@proxy:1"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
