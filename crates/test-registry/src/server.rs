//! The loopback HTTP server: a current-thread tokio runtime on its own std
//! thread, so plain synchronous tests can start one and talk to it.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;

use crate::fault::{Fault, FaultRules, PathMatch};
use crate::http::{Request, RequestError, RequestReader, Response};
use crate::stats::{RequestStats, Traffic};
use crate::store::{canonical_path, Lookup, Store, INSTALL_V1_JSON, JSON};

/// Room for bursts of parallel connections from an installer.
const LISTEN_BACKLOG: u32 = 1024;
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop
/// does not spin.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(10);

/// Serves a [`Store`] on `127.0.0.1:<ephemeral port>` until dropped.
#[derive(Debug)]
pub struct Server {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    store: Store,
    /// `http://127.0.0.1:<port>/`, handed to the store's document source.
    base_url: String,
    faults: FaultRules,
    stats: RequestStats,
}

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
            base_url: format!("http://{address}/"),
            faults: FaultRules::default(),
            stats: RequestStats::default(),
        });
        let (shutdown, shutdown_requested) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("test-registry-{}", address.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || runtime.block_on(accept_connections(listener, shared, shutdown_requested))
            })?;
        Ok(Server {
            address,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:<port>/`, with the trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
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
    mut shutdown_requested: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut shutdown_requested => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                Err(_) => tokio::time::sleep(ACCEPT_RETRY_DELAY).await,
            },
        }
    }
}

/// Connection errors (client hung up, reset) just end the connection.
async fn serve_connection(mut stream: TcpStream, shared: Arc<Shared>) {
    if stream.set_nodelay(true).is_err() {
        return;
    }
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
    stream: &mut TcpStream,
    shared: &Shared,
    request: Request,
) -> io::Result<AfterResponse> {
    let path = canonical_path(&request.target);
    shared.stats.record_request(&request.target, &path);
    if let Some(header) = &request.authorization {
        shared.stats.record_authorization(&path, header);
    }
    let fault = shared.faults.take(&path);
    let response = normal_response(shared, &request, &path);
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
            stream.set_zero_linger()?;
            Ok(AfterResponse::Close)
        }
        Fault::ResetMidBody => {
            write_partial(stream, shared, &response, response.body.len() / 2).await?;
            stream.set_zero_linger()?;
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
    }
}

fn normal_response(shared: &Shared, request: &Request, path: &str) -> Response {
    if !matches!(request.method.as_str(), "GET" | "HEAD") {
        return Response::error(405);
    }
    let lookup = Lookup {
        path,
        abbreviated: request.accepts_install_v1,
        base_url: &shared.base_url,
    };
    match shared.store.lookup(&lookup) {
        Some(document) if document.content_type == JSON && request.accepts_install_v1 => {
            Response::ok(INSTALL_V1_JSON, document.body)
        }
        Some(document) => Response::ok(&document.content_type, document.body),
        None => Response::error(404),
    }
}

async fn write_response(
    stream: &mut TcpStream,
    shared: &Shared,
    response: &Response,
    keep_alive: bool,
    with_body: bool,
) -> io::Result<AfterResponse> {
    // Counted before writing so a client that has read the response also
    // sees it in the traffic totals.
    let body: &[u8] = if with_body { &response.body } else { &[] };
    shared.stats.record_bytes_served(body.len());
    stream.write_all(&response.head(keep_alive)).await?;
    stream.write_all(body).await?;
    stream.flush().await?;
    Ok(if keep_alive {
        AfterResponse::KeepOpen
    } else {
        AfterResponse::Close
    })
}

/// The head announcing the whole body, then at most `body_bytes` of it.
async fn write_partial(
    stream: &mut TcpStream,
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
