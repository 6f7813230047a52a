//! A loopback npm registry that test suites start themselves.
//!
//! [`TestRegistry::start`] publishes [`Fixtures`] and serves them on
//! `127.0.0.1:<ephemeral port>` from a background thread, so plain
//! synchronous `#[test]`s can point the installer at [`TestRegistry::url`].
//! Dropping the registry stops it.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use utoo_test_registry::{Fixtures, TestRegistry};
//!
//! let registry = TestRegistry::start(Fixtures::parse(
//!     "
//!     aa@1.0.0 deps(bb@^1) bin(aa=cli.js)
//!     bb@1.0.0
//!     ",
//! )?)?;
//!
//! let mut stream = TcpStream::connect(registry.server().address())?;
//! stream.write_all(b"GET /aa HTTP/1.1\r\nHost: registry\r\nConnection: close\r\n\r\n")?;
//! let mut response = String::new();
//! stream.read_to_string(&mut response)?;
//!
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.contains(&registry.tarball_url("aa", "1.0.0")));
//! assert!(response.contains(registry.integrity("aa", "1.0.0").unwrap_or("missing")));
//! assert_eq!(registry.requests("/aa"), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Fixture text
//!
//! One version per line: `name@version` followed by attributes. Blank lines
//! are skipped; `#` starts a comment at the start of a line or between
//! attributes.
//!
//! ```text
//! # name@version   attributes...
//! aa@1.0.0 deps(bb@^1, mm@1.0.0) bin(aa=cli.js)
//! mm@2.0.0 latest tag(next)
//! @scope/pkg@1.0.0 dev(jest@29)
//! popt@1.0.0 peer(host@^1) peer-optional(host)
//! winonly@1.0.0 os(win32) cpu(x64) optional(wdep@1, missing)
//! dp@1.1.0 deprecated("use something else") license(ISC)
//! en@1.1.0 engines(node=>=99)
//! inst@1.0.0 script(postinstall=node install.js) file(install.js=console.log(1))
//! ```
//!
//! | attribute | meaning |
//! | --- | --- |
//! | `deps(name@range, …)` | `dependencies`; a bare `name` means `*` |
//! | `optional(…)`, `peer(…)`, `dev(…)` | `optionalDependencies`, `peerDependencies`, `devDependencies`, same form |
//! | `peer-optional(name, …)` | `peerDependenciesMeta.<name>.optional = true` |
//! | `bin(command=path, …)` | `bin`; the tarball gets an executable stub at `path` |
//! | `os(…)`, `cpu(…)` | `os`, `cpu` lists, e.g. `os(linux, !win32)` |
//! | `engines(name=range, …)` | `engines` |
//! | `script(event=command, …)` | `scripts`; `preinstall`/`install`/`postinstall` set `hasInstallScript` |
//! | `file(path=content, …)` | extra file under `package/`; replaces a generated one with the same path |
//! | `deprecated(message)`, `license(id)` | one argument each; the license defaults to `MIT` |
//! | `latest`, `tag(name, …)` | dist-tags; `latest` defaults to the highest release |
//! | `bundle(name, …)` | `bundleDependencies`; the builder's [`VersionFixture::bundled`] packs a package inside the tarball |
//!
//! Arguments are separated by `,` and end at the matching `)`; bare text is
//! trimmed and may contain balanced parentheses (`console.log(1)`). Text with
//! commas, unbalanced parentheses or significant spaces goes in double
//! quotes, with the escapes `\"`, `\\`, `\n` and `\t`. Errors name the line
//! and the problem: `fixture line 3: `bin` expects `key=value` arguments, found `cli.js``.
//!
//! The builder form is the same model:
//! `Fixtures::new().version("aa", "1.0.0", |v| v.dep("bb", "^1").bin("aa", "cli.js"))`,
//! and it alone can serve a hand-made tarball
//! ([`VersionFixture::raw_tarball`], e.g. built with [`Tarball`] to hold
//! `../` paths or escaping symlinks) or point `dist.tarball` elsewhere
//! ([`VersionFixture::tarball_url`]).
//!
//! # What is served
//!
//! * `GET /<name>` (scoped: `/@scope%2fname`, `/@scope%2Fname` or
//!   `/@scope/name`): the packument, as `application/json`, or as
//!   `application/vnd.npm.install-v1+json` when the request's `Accept` asks
//!   for it (the document is the same).
//! * `GET /<name>/-/<unscoped-name>-<version>.tgz`: the tarball, with entries
//!   `package/package.json`, `package/index.js`, bin stubs (mode 0o755) and
//!   extra files (0o644), packed deterministically.
//! * anything else: `404 {"error":"Not found"}`.
//!
//! JSON documents carry an `ETag` and a `Last-Modified` derived from their
//! body; a request whose `If-None-Match` (or, without one,
//! `If-Modified-Since`) matches gets `304 Not Modified` with no body.
//! [`Server::conditional_requests`] and [`Server::not_modified_log`] record
//! them.
//!
//! A request in absolute form (`GET http://registry.invalid/aa`, as clients
//! send to an HTTP proxy) is served the same way, so the registry can stand
//! in for a proxy; [`Server::proxied_requests`] and
//! [`Server::proxy_authorizations`] record them. With the `tls` feature,
//! `Server::start_tls` / `TestRegistry::start_tls` serve over HTTPS with a
//! self-signed certificate made at start ([`Server::certificate_pem`]).
//!
//! [`Server::inject`] (also on [`TestRegistry`]) makes chosen paths fail
//! with a [`Fault`]. [`Server::start`] serves any [`Store`] of documents, for
//! example a benchmark's snapshot read from disk, with the same counters
//! ([`Server::traffic`]); a store made with [`Store::with_source`] asks a
//! [`DocumentSource`] for the paths it does not hold, per request, so large
//! snapshots can stay on disk and serve the abbreviated packument form when
//! `Accept` asks for it. [`Server::not_found_log`] lists the requests that
//! got a 404.

mod fault;
mod fixture;
mod http;
mod manifest;
mod parse;
mod publish;
mod registry;
mod server;
mod shape;
mod stats;
mod store;
mod tarball;
#[cfg(feature = "tls")]
mod tls;
mod validators;

pub use fault::{Fault, PathMatch};
pub use fixture::{FixtureError, Fixtures, VersionFixture};
pub use parse::{ParseError, ParseErrorKind};
pub use registry::{StartError, TestRegistry};
pub use server::Server;
pub use shape::NetworkShape;
pub use stats::Traffic;
pub use store::{Document, DocumentSource, Lookup, Store, INSTALL_V1_JSON, JSON, OCTET_STREAM};
pub use tarball::{Dist, Tarball};
