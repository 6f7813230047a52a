//! The one HTTP client utoo's actors share the shape of: GETs against an npm
//! registry with connection reuse, a per-request deadline, retries with
//! exponential backoff and jitter for transient failures (5xx, 429 with `Retry-After`,
//! resets, bodies shorter than announced), and `integrity` verified while
//! the body streams in. Every body has a size limit ([`SizeLimits`]),
//! counted as it streams in; a `file:` tarball on disk is read under the
//! same limit ([`read_regular_file`]). [`ClientConfig`] also carries npm's
//! TLS trust (`strict-ssl`, `cafile`, `ca`) and proxies (`proxy`,
//! `https-proxy`, `noproxy`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), utoo_registry_client::HttpError> {
//! use utoo_registry_client::{ClientConfig, RegistryClient, SizeLimits};
//!
//! let client = RegistryClient::new(&ClientConfig::default())?;
//! let limit = SizeLimits::default().packument;
//! let body = client.get("https://registry.npmjs.org/lodash", "application/json", None, limit).await?;
//! assert!(!body.is_empty());
//! # Ok(()) }
//! ```

mod local;
mod proxy;
mod tls;

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reqwest::header::{ACCEPT, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER};
use reqwest::StatusCode;
use thiserror::Error;
use utoo_npm_types::{Integrity, IntegrityError};

pub use local::{read_regular_file, LocalReadError};
pub use proxy::{ProxyConfig, ProxyUrlError};
pub use tls::PemError;

/// The most utoo reads of one document, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimits {
    /// A packument (256 MiB by default: the registry's largest full
    /// packuments are tens of MB, and utoo asks for the abbreviated form).
    pub packument: u64,
    /// A compressed tarball (1 GiB by default: the default limit on what a
    /// package may unpack to, which its compressed tarball is smaller than).
    pub tarball: u64,
}

impl Default for SizeLimits {
    fn default() -> Self {
        SizeLimits {
            packument: 256 << 20,
            tarball: 1 << 30,
        }
    }
}

/// `bytes` for people: `4 MB` for whole mebibytes (the unit of
/// `--max-package-size`), else `1500 bytes`.
pub fn format_size(bytes: u64) -> String {
    match bytes % (1 << 20) {
        0 => format!("{} MB", bytes >> 20),
        _ => format!("{bytes} bytes"),
    }
}

#[derive(Debug, Clone, Error)]
pub enum HttpError {
    #[error("{url} returned 404 Not Found")]
    NotFound { url: String },
    #[error("{url} returned HTTP {status} after {attempts} attempts")]
    Status {
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error("{url}: no answer after {attempts} attempts")]
    Network {
        url: String,
        attempts: u32,
        #[source]
        cause: NetworkFailure,
    },
    #[error("{url}")]
    Integrity {
        url: String,
        #[source]
        source: IntegrityError,
    },
    /// The body announced or sent more than the caller's limit; not retried.
    #[error("{url}: the response is larger than {}", format_size(*limit))]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: the server's TLS certificate is not trusted (set `cafile` to the certificate of the CA that signed it, or `strict-ssl=false`)")]
    Certificate {
        url: String,
        #[source]
        source: Arc<reqwest::Error>,
    },
    #[error("cafile {}", path.display())]
    CaFile {
        path: PathBuf,
        #[source]
        source: PemError,
    },
    #[error("`ca` setting")]
    Ca(#[source] PemError),
    /// `url` has its credentials replaced by `***`.
    #[error("invalid proxy URL {url}")]
    Proxy {
        url: String,
        #[source]
        problem: ProxyUrlError,
    },
    #[error("could not set up the HTTP client")]
    Setup(#[source] Arc<reqwest::Error>),
    /// `offline` is set, so nothing is fetched.
    #[error("{url} was not requested: offline mode (--offline) uses the cache only")]
    Offline { url: String },
}

/// Why the last attempt of a request got no usable answer.
#[derive(Debug, Clone, Error)]
pub enum NetworkFailure {
    /// `proxy` (credentials shown as `***`) when the request went through one.
    #[error("the request{} failed", proxy.as_ref().map(|p| format!(" through proxy {p}")).unwrap_or_default())]
    Request {
        proxy: Option<String>,
        #[source]
        source: Arc<reqwest::Error>,
    },
    #[error("the body was {received} bytes, {announced} announced")]
    ShortBody { received: usize, announced: u64 },
}

impl HttpError {
    /// Whether the network or the registry failed (unreachable, timed out,
    /// a 5xx or 429 after retries, an untrusted certificate), rather than
    /// the request or what came back.
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            HttpError::Network { .. } | HttpError::Status { .. } | HttpError::Certificate { .. }
        )
    }
}

/// One GET, as the retry loop repeats it.
struct Request<'a> {
    url: &'a str,
    accept: &'a str,
    integrity: Option<&'a Integrity>,
    max_bytes: u64,
    /// The cached copy's validators, for a conditional request.
    known: Option<&'a Validators>,
}

/// What one attempt got; a body comes with what `before_body` yielded.
enum Answer<T> {
    NotModified,
    Modified {
        body: Bytes,
        validators: Validators,
        held: T,
    },
}

/// What identifies one version of a document, as the server labelled it:
/// sent back in a conditional request to ask whether it is still current.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag`, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// `Last-Modified`, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

impl Validators {
    fn of(response: &reqwest::Response) -> Validators {
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Validators {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
        }
    }
}

/// The answer to a GET, conditional or not.
#[derive(Debug)]
pub enum Revalidation {
    /// `304 Not Modified`: the copy the request named is current.
    NotModified,
    Modified {
        body: Bytes,
        validators: Validators,
    },
}

/// Connection and retry settings.
#[derive(Clone)]
pub struct ClientConfig {
    /// Attempts per request, the first included.
    pub attempts: u32,
    /// Backoff before the first retry; doubled for each further one, up to
    /// `max_delay`. Each wait is drawn between half the backoff and all of
    /// it, so that requests which failed together don't retry together.
    pub base_delay: Duration,
    /// The longest wait between attempts, a `Retry-After` included.
    pub max_delay: Duration,
    /// Longest wait for the next bytes of a response before the attempt is abandoned.
    pub read_timeout: Duration,
    pub connect_timeout: Duration,
    pub max_idle_per_host: usize,
    /// Bearer tokens by npm's nerf-darted URL prefix (`//host/path/`), as in
    /// `.npmrc`'s `//host/path/:_authToken`: sent only to URLs under that prefix.
    pub auth_tokens: Vec<(String, String)>,
    /// npm's `strict-ssl`: `false` accepts any server certificate.
    pub strict_ssl: bool,
    /// npm's `cafile`: a PEM file of one or more CA certificates, trusted
    /// in addition to the system's roots.
    pub ca_file: Option<PathBuf>,
    /// npm's `ca`: PEM text of one or more CA certificates, trusted likewise.
    pub ca_pem: Option<String>,
    /// `None`: proxies from the environment (`HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY`, `NO_PROXY`), as reqwest reads them; `Some`: exactly these.
    pub proxy: Option<ProxyConfig>,
    /// npm's `offline`: every request fails at once with
    /// [`HttpError::Offline`], before any connection is made.
    pub offline: bool,
}

/// Shows auth tokens as `***`; [`ProxyConfig`] hides proxy credentials.
impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tokens: Vec<(&str, &str)> = self
            .auth_tokens
            .iter()
            .map(|(prefix, _)| (prefix.as_str(), "***"))
            .collect();
        f.debug_struct("ClientConfig")
            .field("attempts", &self.attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("read_timeout", &self.read_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_idle_per_host", &self.max_idle_per_host)
            .field("auth_tokens", &tokens)
            .field("strict_ssl", &self.strict_ssl)
            .field("ca_file", &self.ca_file)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "…"))
            .field("proxy", &self.proxy)
            .field("offline", &self.offline)
            .finish()
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_idle_per_host: 64,
            auth_tokens: Vec::new(),
            strict_ssl: true,
            ca_file: None,
            ca_pem: None,
            proxy: None,
            offline: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RegistryClient {
    /// Built on the first request: building loads the system's root
    /// certificates, which an install that needs no network never pays for.
    http: Arc<OnceLock<reqwest::Client>>,
    /// Roots trusted besides the system's (`cafile`, `ca`).
    extra_roots: Arc<Vec<reqwest::Certificate>>,
    config: ClientConfig,
    /// The configured proxies, to say in errors which one a request used.
    proxies: Option<proxy::Proxies>,
}

/// What one failed attempt tells about the next.
enum Attempt {
    Retry {
        failure: Retryable,
        /// What the server asked for (`Retry-After`).
        wait: Option<Duration>,
    },
    Fatal(HttpError),
}

/// A failure worth another attempt.
enum Retryable {
    Status(u16),
    Network(NetworkFailure),
}

impl RegistryClient {
    pub fn new(config: &ClientConfig) -> Result<RegistryClient, HttpError> {
        let mut extra_roots = Vec::new();
        if let Some(path) = &config.ca_file {
            extra_roots.extend(
                tls::read_pem_roots(path).map_err(|source| HttpError::CaFile {
                    path: path.clone(),
                    source,
                })?,
            );
        }
        if let Some(pem) = &config.ca_pem {
            extra_roots.extend(tls::parse_pem_roots(pem.as_bytes()).map_err(HttpError::Ca)?);
        }
        let proxies = config.proxy.as_ref().map(proxy::Proxies::new).transpose()?;
        Ok(RegistryClient {
            http: Arc::new(OnceLock::new()),
            extra_roots: Arc::new(extra_roots),
            config: config.clone(),
            proxies,
        })
    }

    /// The HTTP client, built on first use.
    fn http(&self) -> Result<&reqwest::Client, HttpError> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let config = &self.config;
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("utoo/", env!("CARGO_PKG_VERSION"), " npm/11"))
            .pool_max_idle_per_host(config.max_idle_per_host)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .danger_accept_invalid_certs(!config.strict_ssl);
        for root in self.extra_roots.iter() {
            builder = builder.add_root_certificate(root.clone());
        }
        if let Some(proxies) = self.proxies.clone() {
            builder = builder
                .no_proxy()
                .proxy(reqwest::Proxy::custom(move |url| proxies.for_url(url)));
        }
        let http = builder.build().map_err(|e| HttpError::Setup(Arc::new(e)))?;
        // Two first requests at once may both build one; either will do.
        Ok(self.http.get_or_init(|| http))
    }

    /// GETs `url` whole; with `integrity`, the body must hash to it. A body
    /// of more than `max_bytes` fails with [`HttpError::TooLarge`] as soon as
    /// its `Content-Length` announces it, or its bytes so far pass the limit.
    pub async fn get(
        &self,
        url: &str,
        accept: &str,
        integrity: Option<&Integrity>,
        max_bytes: u64,
    ) -> Result<Bytes, HttpError> {
        let (body, ()) = self
            .get_when(url, accept, integrity, max_bytes, || async {})
            .await?;
        Ok(body)
    }

    /// As [`RegistryClient::get`], but each attempt waits for
    /// `before_body` once the response's headers are in, before reading
    /// its body, and keeps what it yields (say, a permit) with the body.
    /// An attempt that fails drops it. This lets a caller keep many
    /// requests in flight while bounding how many bodies are held.
    pub async fn get_when<T, F, Fut>(
        &self,
        url: &str,
        accept: &str,
        integrity: Option<&Integrity>,
        max_bytes: u64,
        before_body: F,
    ) -> Result<(Bytes, T), HttpError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = T>,
    {
        let request = Request {
            url,
            accept,
            integrity,
            max_bytes,
            known: None,
        };
        match self.send_with_retries(&request, &before_body).await? {
            Answer::Modified { body, held, .. } => Ok((body, held)),
            Answer::NotModified => Err(HttpError::Status {
                url: url.to_string(),
                status: 304,
                attempts: 1,
            }),
        }
    }

    /// GETs `url` unless the copy identified by `known` is still current:
    /// a conditional request (`If-None-Match`, `If-Modified-Since`) that a
    /// `304 Not Modified` answers without a body. With empty validators it
    /// is a plain GET; either way the answer's validators come back.
    pub async fn get_unless_current(
        &self,
        url: &str,
        accept: &str,
        known: &Validators,
        max_bytes: u64,
    ) -> Result<Revalidation, HttpError> {
        let request = Request {
            url,
            accept,
            integrity: None,
            max_bytes,
            known: Some(known),
        };
        Ok(
            match self.send_with_retries(&request, &|| async {}).await? {
                Answer::Modified {
                    body, validators, ..
                } => Revalidation::Modified { body, validators },
                Answer::NotModified => Revalidation::NotModified,
            },
        )
    }

    async fn send_with_retries<T, F, Fut>(
        &self,
        request: &Request<'_>,
        before_body: &F,
    ) -> Result<Answer<T>, HttpError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = T>,
    {
        let url = request.url;
        if self.config.offline {
            return Err(HttpError::Offline {
                url: url.to_string(),
            });
        }
        let mut attempt = 1;
        loop {
            match self.try_get(request, before_body).await {
                Ok(answer) => return Ok(answer),
                Err(Attempt::Fatal(err)) => return Err(err),
                Err(Attempt::Retry { failure, wait }) => {
                    if attempt >= self.config.attempts {
                        return Err(match failure {
                            Retryable::Status(status) => HttpError::Status {
                                url: url.to_string(),
                                status,
                                attempts: attempt,
                            },
                            Retryable::Network(cause) => HttpError::Network {
                                url: url.to_string(),
                                attempts: attempt,
                                cause,
                            },
                        });
                    }
                    let delay = retry_delay(&self.config, attempt, wait, random());
                    let reason = match &failure {
                        Retryable::Status(status) => format!("HTTP {status}"),
                        Retryable::Network(cause) => with_causes(cause),
                    };
                    tracing::warn!(url, attempt, ?delay, reason = %reason, "retrying request");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// The token of the longest configured prefix that `url` falls under.
    fn token_for(&self, url: &str) -> Option<&str> {
        let nerfed = url.split_once("://").map_or(url, |(_, rest)| rest);
        self.config
            .auth_tokens
            .iter()
            .filter(|(prefix, _)| {
                let prefix = prefix.trim_start_matches("//");
                nerfed.starts_with(prefix)
                    && (prefix.ends_with('/') || nerfed[prefix.len()..].starts_with('/'))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, token)| token.as_str())
    }

    /// The proxy `url` goes through, if any, with credentials shown as `***`.
    fn proxy_for(&self, url: &str) -> Option<String> {
        let url = reqwest::Url::parse(url).ok()?;
        let proxy = self.proxies.as_ref()?.for_url(&url)?;
        Some(utoo_npm_types::redact_userinfo(proxy.as_str()))
    }

    async fn try_get<T, F, Fut>(
        &self,
        request: &Request<'_>,
        before_body: &F,
    ) -> Result<Answer<T>, Attempt>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = T>,
    {
        let url = request.url;
        let http = self.http().map_err(Attempt::Fatal)?;
        let mut builder = http.get(url).header(ACCEPT, request.accept);
        if let Some(token) = self.token_for(url) {
            builder = builder.bearer_auth(token);
        }
        if let Some(known) = request.known {
            if let Some(etag) = &known.etag {
                builder = builder.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = &known.last_modified {
                builder = builder.header(IF_MODIFIED_SINCE, date);
            }
        }
        let response = builder.send().await.map_err(|e| self.failed(url, e))?;
        if request.known.is_some() && response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Answer::NotModified);
        }
        let response = successful(url, response)?;
        if response
            .content_length()
            .is_some_and(|announced| announced > request.max_bytes)
        {
            return Err(too_large(url, request.max_bytes));
        }
        let validators = Validators::of(&response);
        let held = before_body().await;
        let body = self
            .read_body(url, response, request.integrity, request.max_bytes)
            .await?;
        Ok(Answer::Modified {
            body,
            validators,
            held,
        })
    }

    /// A failed send or read: fatal for an untrusted certificate, else retried.
    fn failed(&self, url: &str, err: reqwest::Error) -> Attempt {
        // Every message of ours names the URL already.
        let err = err.without_url();
        if tls::is_certificate_error(&err) {
            return Attempt::Fatal(HttpError::Certificate {
                url: url.to_string(),
                source: Arc::new(err),
            });
        }
        Attempt::Retry {
            failure: Retryable::Network(NetworkFailure::Request {
                proxy: self.proxy_for(url),
                source: Arc::new(err),
            }),
            wait: None,
        }
    }

    /// The body, hashed and counted against `max_bytes` as it streams in:
    /// reading stops at the first chunk past the limit.
    async fn read_body(
        &self,
        url: &str,
        response: reqwest::Response,
        integrity: Option<&Integrity>,
        max_bytes: u64,
    ) -> Result<Bytes, Attempt> {
        let announced = response.content_length();
        let mut hasher = integrity.map(Integrity::hasher);
        let mut body = BytesMut::with_capacity(announced.unwrap_or(0).min(64 << 20) as usize);
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.failed(url, e))?;
            if (body.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_large(url, max_bytes));
            }
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk);
            }
            body.extend_from_slice(&chunk);
        }
        if let Some(expected) = announced.filter(|&n| n != body.len() as u64) {
            return Err(Attempt::Retry {
                failure: Retryable::Network(NetworkFailure::ShortBody {
                    received: body.len(),
                    announced: expected,
                }),
                wait: None,
            });
        }
        if let Some(h) = hasher {
            h.verify().map_err(|source| {
                Attempt::Fatal(HttpError::Integrity {
                    url: url.to_string(),
                    source,
                })
            })?;
        }
        Ok(body.freeze())
    }
}

fn too_large(url: &str, max_bytes: u64) -> Attempt {
    Attempt::Fatal(HttpError::TooLarge {
        url: url.to_string(),
        limit: max_bytes,
    })
}

/// The response when its status is a success; 5xx, 429 and 408 are retried.
fn successful(url: &str, response: reqwest::Response) -> Result<reqwest::Response, Attempt> {
    let status = response.status();
    if status == StatusCode::NOT_FOUND {
        return Err(Attempt::Fatal(HttpError::NotFound {
            url: url.to_string(),
        }));
    }
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        let wait = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        return Err(Attempt::Retry {
            failure: Retryable::Status(status.as_u16()),
            wait,
        });
    }
    if !status.is_success() {
        return Err(Attempt::Fatal(HttpError::Status {
            url: url.to_string(),
            status: status.as_u16(),
            attempts: 1,
        }));
    }
    Ok(response)
}

/// The wait before attempt `attempt + 1`: the server's `Retry-After` if it
/// sent one, else the exponential backoff with "equal jitter" (half of it
/// fixed, the other half scaled by `random`); never more than `max_delay`.
fn retry_delay(
    config: &ClientConfig,
    attempt: u32,
    wait: Option<Duration>,
    random: u64,
) -> Duration {
    if let Some(wait) = wait {
        return wait.min(config.max_delay);
    }
    let backoff = config
        .base_delay
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(config.max_delay);
    let half = backoff / 2;
    let spread = (backoff - half).as_nanos() as f64 * (random as f64 / u64::MAX as f64);
    half + Duration::from_nanos(spread as u64)
}

/// A random number without an RNG to keep: every `RandomState` is keyed anew.
fn random() -> u64 {
    RandomState::new().build_hasher().finish()
}

/// An error and its causes on one line, for the retry log: reqwest's own
/// message hides the cause ("error sending request").
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(tokens: &[(&str, &str)]) -> RegistryClient {
        let config = ClientConfig {
            auth_tokens: tokens
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
            ..ClientConfig::default()
        };
        RegistryClient::new(&config).unwrap()
    }

    #[test]
    fn backoff_doubles_with_jitter_between_half_and_all_of_it() {
        let config = ClientConfig {
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(1),
            ..ClientConfig::default()
        };
        let ms = |attempt, random| retry_delay(&config, attempt, None, random).as_millis();
        for (attempt, backoff) in [(1, 200), (2, 400), (3, 800), (4, 1000), (30, 1000)] {
            assert_eq!(ms(attempt, 0), backoff / 2, "attempt {attempt}");
            assert_eq!(
                ms(attempt, u64::MAX / 2),
                backoff * 3 / 4,
                "attempt {attempt}"
            );
            assert_eq!(ms(attempt, u64::MAX), backoff, "attempt {attempt}");
        }
    }

    #[test]
    fn retry_after_is_waited_without_jitter_up_to_the_longest_wait() {
        let config = ClientConfig {
            max_delay: Duration::from_secs(10),
            ..ClientConfig::default()
        };
        for random in [0, u64::MAX] {
            let wait = |secs| retry_delay(&config, 2, Some(Duration::from_secs(secs)), random);
            assert_eq!(wait(3), Duration::from_secs(3));
            assert_eq!(wait(0), Duration::ZERO);
            assert_eq!(wait(600), Duration::from_secs(10));
        }
    }

    #[test]
    fn random_numbers_differ() {
        let drawn: std::collections::HashSet<u64> = (0..100).map(|_| random()).collect();
        assert_eq!(drawn.len(), 100);
    }

    #[test]
    fn sizes_read_in_the_unit_of_the_limits() {
        assert_eq!(format_size(1 << 30), "1024 MB");
        assert_eq!(format_size(1500), "1500 bytes");
    }

    #[test]
    fn debug_output_hides_tokens() {
        let c = client(&[("//registry.example/", "tok-secret")]);
        let shown = format!("{c:?}");
        assert!(shown.contains("//registry.example/"), "{shown}");
        assert!(!shown.contains("tok-secret"), "{shown}");
    }

    #[test]
    fn tokens_go_only_to_their_host_and_path() {
        let c = client(&[
            ("//registry.example/", "a"),
            ("//registry.example/private/", "b"),
            ("//other.example:8080/", "c"),
        ]);
        assert_eq!(c.token_for("https://registry.example/pkg"), Some("a"));
        assert_eq!(
            c.token_for("https://registry.example/private/pkg"),
            Some("b")
        );
        assert_eq!(c.token_for("http://other.example:8080/x"), Some("c"));
        assert_eq!(c.token_for("https://registry.example.evil/pkg"), None);
        assert_eq!(c.token_for("https://elsewhere/registry.example/"), None);
    }
}
