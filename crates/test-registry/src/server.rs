//! The loopback HTTP server: a current-thread tokio runtime on its own std
//! thread, so plain synchronous tests can start one and talk to it.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;

use crate::fault::{Fault, FaultRules, PathMatch};
use crate::http::{Request, RequestError, RequestReader, Response};
use crate::shape::{Link, NetworkShape};
use crate::stats::{RequestStats, Traffic};
use crate::store::{canonical_path, Lookup, Store, INSTALL_V1_JSON, JSON, OCTET_STREAM};
use crate::validators::Validators;

/// Room for bursts of parallel connections from an installer.
const LISTEN_BACKLOG: u32 = 1024;
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop
/// does not spin.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(10);
/// The chunk size of [`Fault::Endless`] bodies.
const ENDLESS_CHUNK: usize = 64 << 10;
/// Bodies go out in pieces of this size when the bandwidth is capped.
const SHAPED_CHUNK: usize = 16 << 10;

/// Serves a [`Store`] on `127.0.0.1:<ephemeral port>` until dropped.
#[derive(Debug)]
pub struct Server {
    address: SocketAddr,
    shared: Arc<Shared>,
    certificate_pem: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    store: Store,
    /// `http://127.0.0.1:<port>/` (`https:` with TLS), handed to the store's
    /// document source.
    base_url: String,
    faults: FaultRules,
    stats: RequestStats,
    link: Link,
}

/// A client connection: plain TCP, or TLS over it.
pub(crate) trait Connection: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The TCP stream underneath, for socket options.
    fn tcp(&self) -> &TcpStream;
}

impl Connection for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

#[cfg(feature = "tls")]
type TlsAcceptor = tokio_rustls::TlsAcceptor;
/// Without the `tls` feature no server has one.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
enum TlsAcceptor {}

enum AfterResponse {
    KeepOpen,
    Close,
}

impl Server {
    /// Serves `store` on an ephemeral port.
    pub fn start(store: Store) -> io::Result<Server> {
        Self::start_on_port(store, 0)
    }

    /// Serves `store` on `127.0.0.1:<port>` (`0` picks a free port).
    pub fn start_on_port(store: Store, port: u16) -> io::Result<Server> {
        Self::start_with(store, port, None, NetworkShape::default())
    }

    /// Serves `store` on `127.0.0.1:<port>` as if over a slower network.
    pub fn start_shaped(store: Store, port: u16, shape: NetworkShape) -> io::Result<Server> {
        Self::start_with(store, port, None, shape)
    }

    /// Serves `store` over HTTPS on an ephemeral port, with a self-signed
    /// certificate made now (see [`Server::certificate_pem`]).
    #[cfg(feature = "tls")]
    pub fn start_tls(store: Store) -> io::Result<Server> {
        let identity = crate::tls::self_signed()?;
        let mut server =
            Self::start_with(store, 0, Some(identity.acceptor), NetworkShape::default())?;
        server.certificate_pem = Some(identity.certificate_pem);
        Ok(server)
    }

    fn start_with(
        store: Store,
        port: u16,
        tls: Option<TlsAcceptor>,
        shape: NetworkShape,
    ) -> io::Result<Server> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _context = runtime.enter();
            let socket = TcpSocket::new_v4()?;
            socket.set_reuseaddr(true)?;
            socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
            socket.listen(LISTEN_BACKLOG)?
        };
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store,
            base_url: format!(
                "{}://{address}/",
                if tls.is_some() { "https" } else { "http" }
            ),
            faults: FaultRules::default(),
            stats: RequestStats::default(),
            link: Link::new(shape),
        });
        let (shutdown, shutdown_requested) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("test-registry-{}", address.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || {
                    runtime.block_on(accept_connections(
                        listener,
                        shared,
                        tls,
                        shutdown_requested,
                    ))
                }
            })?;
        Ok(Server {
            address,
            shared,
            certificate_pem: None,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The network it simulates.
    pub fn shape(&self) -> NetworkShape {
        self.shared.link.shape()
    }

    /// `http://127.0.0.1:<port>/` (`https:` when serving TLS), with the
    /// trailing slash.
    pub fn url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The PEM certificate of a server started with `start_tls`, for the
    /// client to trust.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// The served documents; insertions take effect for the next request.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Makes requests matching `target` fail with `fault`, for the first
    /// `times` of them (`None`: until [`Server::clear_faults`]). When several
    /// faults match, the one injected first applies.
    pub fn inject(&self, target: impl Into<PathMatch>, fault: Fault, times: Option<usize>) {
        self.shared.faults.add(target.into(), fault, times);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Requests to `path`, however its scope slash was escaped.
    pub fn requests(&self, path: &str) -> usize {
        self.shared.stats.requests(path)
    }

    /// Requests to anything but a tarball path (`…/-/….tgz`).
    pub fn packument_requests(&self) -> usize {
        self.shared.stats.packument_requests()
    }

    pub fn tarball_requests(&self) -> usize {
        self.shared.stats.tarball_requests()
    }

    /// `(path, Authorization header)` of every request that carried one.
    pub fn authorizations(&self) -> Vec<(String, String)> {
        self.shared.stats.authorizations()
    }

    /// Targets of requests sent to this server as to a proxy (absolute form,
    /// `http://host/path`), in arrival order. They are served as if sent to
    /// this server directly.
    pub fn proxied_requests(&self) -> Vec<String> {
        self.shared.stats.proxied()
    }

    /// `Proxy-Authorization` headers of proxied requests that carried one.
    pub fn proxy_authorizations(&self) -> Vec<String> {
        self.shared.stats.proxy_authorizations()
    }

    /// Request targets in arrival order, as the client sent them.
    pub fn request_log(&self) -> Vec<String> {
        self.shared.stats.request_log()
    }

    pub fn traffic(&self) -> Traffic {
        self.shared.stats.traffic()
    }

    /// Request targets that got a 404 (nothing to serve; injected 404
    /// faults excluded), in arrival order.
    pub fn not_found_log(&self) -> Vec<String> {
        self.shared.stats.not_found_log()
    }

    /// `(path, If-None-Match, If-Modified-Since)` of every conditional
    /// request, in arrival order.
    pub fn conditional_requests(&self) -> Vec<(String, Option<String>, Option<String>)> {
        self.shared.stats.conditional()
    }

    /// Paths answered with `304 Not Modified`, in arrival order.
    pub fn not_modified_log(&self) -> Vec<String> {
        self.shared.stats.not_modified_log()
    }

    /// Forgets all counts, the log and the traffic totals.
    pub fn reset_counts(&self) {
        self.shared.stats.reset();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The receiver is gone only if the server thread already ended.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic on the server thread has already been reported by the
            // panic hook; re-raising it inside drop would abort.
            let _ = thread.join();
        }
    }
}

/// Runs until shutdown; leaving `block_on` drops the runtime and with it
/// every connection task, stalled ones included.
async fn accept_connections(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    mut shutdown_requested: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut shutdown_requested => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if stream.set_nodelay(true).is_err() {
                        continue;
                    }
                    let shared = Arc::clone(&shared);
                    match &tls {
                        None => tokio::spawn(serve_connection(stream, shared)),
                        Some(acceptor) => tokio::spawn(serve_tls(acceptor.clone(), stream, shared)),
                    };
                }
                Err(_) => tokio::time::sleep(ACCEPT_RETRY_DELAY).await,
            },
        }
    }
}

/// A failed handshake (e.g. the client does not trust the certificate)
/// just ends the connection.
#[cfg(feature = "tls")]
async fn serve_tls(acceptor: TlsAcceptor, stream: TcpStream, shared: Arc<Shared>) {
    if let Ok(stream) = acceptor.accept(stream).await {
        serve_connection(stream, shared).await;
    }
}

#[cfg(not(feature = "tls"))]
async fn serve_tls(acceptor: TlsAcceptor, _: TcpStream, _: Arc<Shared>) {
    match acceptor {}
}

/// Connection errors (client hung up, reset) just end the connection.
async fn serve_connection(mut stream: impl Connection, shared: Arc<Shared>) {
    let mut reader = RequestReader::default();
    loop {
        let request = match reader.next_request(&mut stream).await {
            Ok(Some(request)) => request,
            Ok(None) | Err(RequestError::Io(_)) => return,
            Err(RequestError::Malformed(_)) => {
                let _ =
                    write_response(&mut stream, &shared, &Response::error(400), false, true).await;
                return;
            }
        };
        match respond(&mut stream, &shared, request).await {
            Ok(AfterResponse::KeepOpen) => continue,
            Ok(AfterResponse::Close) | Err(_) => return,
        }
    }
}

async fn respond(
    stream: &mut impl Connection,
    shared: &Shared,
    request: Request,
) -> io::Result<AfterResponse> {
    let (base_url, path) = match request.absolute_target() {
        Some((origin, path)) => {
            shared
                .stats
                .record_proxied(&request.target, request.proxy_authorization.as_deref());
            (format!("{origin}/"), canonical_path(path))
        }
        None => (shared.base_url.clone(), canonical_path(&request.target)),
    };
    shared.stats.record_request(&request.target, &path);
    if let Some(header) = &request.authorization {
        shared.stats.record_authorization(&path, header);
    }
    if request.if_none_match.is_some() || request.if_modified_since.is_some() {
        shared.stats.record_conditional(
            &path,
            request.if_none_match.as_deref(),
            request.if_modified_since.as_deref(),
        );
    }
    let fault = shared.faults.take(&path);
    let response = normal_response(shared, &request, &path, &base_url);
    if response.status == 404 {
        shared.stats.record_not_found(&request.target);
    }
    let keep_alive = request.keep_alive;
    let with_body = request.method != "HEAD";
    let Some(fault) = fault else {
        return write_response(stream, shared, &response, keep_alive, with_body).await;
    };
    match fault {
        Fault::Status(status) => {
            write_response(
                stream,
                shared,
                &Response::error(status),
                keep_alive,
                with_body,
            )
            .await
        }
        Fault::TooManyRequests {
            retry_after_seconds,
        } => {
            let mut too_many = Response::error(429);
            too_many
                .extra_headers
                .push(("Retry-After", retry_after_seconds.to_string()));
            write_response(stream, shared, &too_many, keep_alive, with_body).await
        }
        Fault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            write_response(stream, shared, &response, keep_alive, with_body).await
        }
        Fault::Truncate { bytes } => {
            write_partial(stream, shared, &response, bytes).await?;
            stream.shutdown().await?;
            Ok(AfterResponse::Close)
        }
        Fault::Reset => {
            stream.tcp().set_zero_linger()?;
            Ok(AfterResponse::Close)
        }
        Fault::ResetMidBody => {
            write_partial(stream, shared, &response, response.body.len() / 2).await?;
            stream.tcp().set_zero_linger()?;
            Ok(AfterResponse::Close)
        }
        Fault::Stall => std::future::pending().await,
        Fault::Corrupt => {
            let mut corrupted = response.body.to_vec();
            let middle = corrupted.len() / 2;
            if let Some(byte) = corrupted.get_mut(middle) {
                *byte ^= 0xff;
            }
            let corrupted = Response {
                body: corrupted.into(),
                ..response
            };
            write_response(stream, shared, &corrupted, keep_alive, with_body).await
        }
        Fault::Endless { give_up_after } => {
            write_endless(stream, shared, &response.content_type, give_up_after).await?;
            Ok(AfterResponse::Close)
        }
    }
}

/// `base_url`: where the client believes it reached the registry.
fn normal_response(shared: &Shared, request: &Request, path: &str, base_url: &str) -> Response {
    if !matches!(request.method.as_str(), "GET" | "HEAD") {
        return Response::error(405);
    }
    let lookup = Lookup {
        path,
        abbreviated: request.accepts_install_v1,
        base_url,
    };
    let Some(document) = shared.store.lookup(&lookup) else {
        return Response::error(404);
    };
    if document.content_type == OCTET_STREAM {
        return Response::ok(&document.content_type, document.body);
    }
    let validators = Validators::of(&document.body);
    let headers = vec![
        ("ETag", validators.etag.clone()),
        ("Last-Modified", validators.last_modified.clone()),
    ];
    if validators.not_modified(request) {
        shared.stats.record_not_modified(path);
        return Response::not_modified(headers);
    }
    let content_type = match document.content_type == JSON && request.accepts_install_v1 {
        true => INSTALL_V1_JSON,
        false => &document.content_type,
    };
    let mut response = Response::ok(content_type, document.body);
    response.extra_headers = headers;
    response
}

async fn write_response(
    stream: &mut impl Connection,
    shared: &Shared,
    response: &Response,
    keep_alive: bool,
    with_body: bool,
) -> io::Result<AfterResponse> {
    // Counted before writing so a client that has read the response also
    // sees it in the traffic totals.
    let body: &[u8] = if with_body { &response.body } else { &[] };
    shared.stats.record_bytes_served(body.len());
    shared.link.round_trip().await;
    stream.write_all(&response.head(keep_alive)).await?;
    if shared.link.shape().bytes_per_second.is_some() {
        stream.flush().await?;
        for piece in body.chunks(SHAPED_CHUNK) {
            shared.link.send(piece.len()).await;
            stream.write_all(piece).await?;
        }
    } else {
        stream.write_all(body).await?;
    }
    stream.flush().await?;
    Ok(if keep_alive {
        AfterResponse::KeepOpen
    } else {
        AfterResponse::Close
    })
}

/// Zeros in chunks of [`ENDLESS_CHUNK`] bytes, with no `Content-Length`,
/// until `give_up_after` bytes are sent or a write fails (the client hung up).
async fn write_endless(
    stream: &mut impl Connection,
    shared: &Shared,
    content_type: &str,
    give_up_after: u64,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    let mut chunk = format!("{ENDLESS_CHUNK:x}\r\n").into_bytes();
    chunk.resize(chunk.len() + ENDLESS_CHUNK, 0);
    chunk.extend_from_slice(b"\r\n");
    let mut sent = 0;
    while sent < give_up_after {
        stream.write_all(&chunk).await?;
        shared.stats.record_bytes_served(ENDLESS_CHUNK);
        sent += ENDLESS_CHUNK as u64;
    }
    stream.write_all(b"0\r\n\r\n").await?;
    stream.flush().await
}

/// The head announcing the whole body, then at most `body_bytes` of it.
async fn write_partial(
    stream: &mut impl Connection,
    shared: &Shared,
    response: &Response,
    body_bytes: usize,
) -> io::Result<()> {
    let partial_body = &response.body[..body_bytes.min(response.body.len())];
    shared.stats.record_bytes_served(partial_body.len());
    stream.write_all(&response.head(false)).await?;
    stream.write_all(partial_body).await?;
    stream.flush().await
}
