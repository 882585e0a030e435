//! The listening socket, connection threads, fault injection and request recording.

use std::fmt;
use std::io::{self, BufReader, Read};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::clock::{format_http_date, unix_now};
use crate::config::EmulatorConfig;
use crate::fault::{Fault, FaultQueue, TOKEN_PATH_SUFFIX};
use crate::http::{self, MAX_BODY_BYTES, MAX_HEADER_BYTES, ReadError, Response};
use crate::lock;
use crate::record::RecordedRequest;
use crate::routes;
use crate::tokens::{DevicePoll, IssuedToken, TokenStore};

/// Read and write timeout of a connection. A client that sends nothing for this long
/// loses its connection without a response.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Maximum time spent discarding the unread rest of a rejected request, so that closing
/// the socket does not reset the connection before the client reads the error response.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Maximum number of bytes discarded after a rejected request.
const MAX_DRAIN_BYTES: usize = 8 * 1024 * 1024;

/// A running emulator on `127.0.0.1`, serving one thread per connection.
///
/// Every connection gets one response with `Connection: close`. Dropping the emulator
/// stops the listener and waits for the accept thread. Connections already accepted run
/// to completion on their own threads.
pub struct Emulator {
    state: Arc<State>,
    port: u16,
    accept_thread: Option<JoinHandle<()>>,
}

/// State shared by the accept thread, the connection threads and the [`Emulator`] handle.
pub(crate) struct State {
    pub(crate) config: EmulatorConfig,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub(crate) base_url: String,
    pub(crate) tokens: TokenStore,
    faults: FaultQueue,
    requests: Mutex<Vec<RecordedRequest>>,
    stopping: AtomicBool,
}

impl Emulator {
    /// Starts an emulator on a free port of `127.0.0.1`.
    ///
    /// # Errors
    ///
    /// Returns the error of binding the socket or spawning the accept thread.
    pub fn start(config: EmulatorConfig) -> io::Result<Emulator> {
        Emulator::start_on(config, 0)
    }

    /// Starts an emulator on `127.0.0.1:port`. Port 0 picks a free port.
    ///
    /// # Errors
    ///
    /// Returns the error of binding the socket (for example, the port is in use) or of
    /// spawning the accept thread.
    pub fn start_on(config: EmulatorConfig, port: u16) -> io::Result<Emulator> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            config,
            base_url: format!("http://127.0.0.1:{port}"),
            tokens: TokenStore::default(),
            faults: FaultQueue::default(),
            requests: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
        });

        let accept_state = Arc::clone(&state);
        let accept_thread = thread::Builder::new()
            .name(format!("azauth-emulator-accept-{port}"))
            .spawn(move || accept_connections(&listener, &accept_state))?;

        Ok(Emulator {
            state,
            port,
            accept_thread: Some(accept_thread),
        })
    }

    /// Returns the base URL, `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        self.state.base_url.clone()
    }

    /// Returns the TCP port the emulator listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns every request received so far, in arrival order.
    ///
    /// A request is recorded once its request line, headers and body are read, before
    /// any fault applies. Requests rejected while reading (malformed, or over the size
    /// limits) are not recorded.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.state.requests).clear();
    }

    /// Queues a fault for the next request to a token endpoint, that is, a path ending in
    /// `/oauth2/v2.0/token`.
    ///
    /// Faults are consumed first in, first out, one per matching request.
    pub fn push_fault(&self, fault: Fault) {
        self.push_fault_for(TOKEN_PATH_SUFFIX, fault);
    }

    /// Queues a fault for the next request whose path (without the query string) ends
    /// with `path_suffix`. An empty suffix matches every request.
    pub fn push_fault_for(&self, path_suffix: &str, fault: Fault) {
        self.state.faults.push(path_suffix.to_owned(), fault);
    }

    /// Returns the number of queued faults that no request has consumed yet.
    pub fn pending_faults(&self) -> usize {
        self.state.faults.len()
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Returns every access token issued so far, in issue order.
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.state.tokens.issued()
    }

    /// Finds an issued access token by its value.
    pub fn find_token(&self, access_token: &str) -> Option<IssuedToken> {
        self.state
            .tokens
            .issued()
            .into_iter()
            .find(|token| token.access_token == access_token)
    }

    /// Queues the answer to the next device code poll. Polls with no queued answer are
    /// approved at once for the signed-in user, so a test scripts only the answers that
    /// come before the approval, such as pending, pending, slow down.
    pub fn push_device_poll(&self, answer: DevicePoll) {
        lock(&self.state.tokens.device_polls).push_back(answer);
    }

    /// Revokes a refresh token, so that redeeming it fails with AADSTS50173. Returns
    /// `false` if the emulator never issued that token.
    pub fn revoke_refresh_token(&self, refresh_token: &str) -> bool {
        self.state.tokens.revoke_refresh_token(refresh_token)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);

        // A connection wakes the accept thread, which then reads the flag and returns.
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let woken = TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok();
        // Without the wake-up connection the thread would block in accept, so it is left
        // to exit on the next connection instead of being joined.
        if let Some(thread) = self.accept_thread.take()
            && woken
            && thread.join().is_err()
        {
            eprintln!(
                "azauth-emulator: the accept thread on port {} panicked",
                self.port
            );
        }
    }
}

impl fmt::Debug for Emulator {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Emulator")
            .field("url", &self.state.base_url)
            .field("config", &self.state.config)
            .finish_non_exhaustive()
    }
}

impl State {
    fn record(&self, request: &RecordedRequest) {
        lock(&self.requests).push(request.clone());
    }

    /// Writes a line to stderr if the configuration enables request logging.
    fn log(&self, line: fmt::Arguments<'_>) {
        if self.config.log_requests {
            eprintln!("{line}");
        }
    }
}

fn accept_connections(listener: &TcpListener, state: &Arc<State>) {
    loop {
        let accepted = listener.accept();
        if state.stopping.load(Ordering::SeqCst) {
            return;
        }

        match accepted {
            Ok((stream, peer)) => {
                let connection_state = Arc::clone(state);
                let spawned = thread::Builder::new()
                    .name("azauth-emulator-connection".to_owned())
                    .spawn(move || serve_connection(&connection_state, &stream, peer));
                if let Err(error) = spawned {
                    eprintln!(
                        "azauth-emulator: failed to spawn a thread for a connection from {peer}, closing it: {error}"
                    );
                }
            }
            Err(error) => {
                eprintln!("azauth-emulator: failed to accept a connection: {error}");
                // Errors such as EMFILE repeat at once, so slow the loop down.
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Reads one request, records it, applies a queued fault or routes it, and responds.
fn serve_connection(state: &State, stream: &TcpStream, peer: SocketAddr) {
    // Without timeouts an idle client would hold its thread forever.
    if let Err(error) = stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
    {
        eprintln!("azauth-emulator: failed to set timeouts on a connection from {peer}: {error}");
        return;
    }

    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    let request = match http::read_request(&mut reader, &mut writer) {
        Ok(request) => request,
        Err(error) => {
            reject_request(state, stream, peer, error);
            return;
        }
    };
    state.record(&request);

    let response = match state.faults.take_for(&request.path) {
        None => routes::dispatch(state, &request),
        Some(Fault::Delay { millis }) => {
            thread::sleep(Duration::from_millis(millis));
            routes::dispatch(state, &request)
        }
        Some(Fault::Status {
            status,
            body,
            content_type,
            headers,
        }) => {
            let mut response = Response {
                status,
                headers: vec![("Content-Type".to_owned(), content_type)],
                body: body.into_bytes(),
            };
            response.headers.extend(headers);
            response
        }
        Some(Fault::Silence { millis }) => {
            state.log(format_args!(
                "{} {} silence fault: no response, closing after {millis} ms",
                request.method,
                loggable_path(&request.path)
            ));
            thread::sleep(Duration::from_millis(millis));
            return;
        }
        Some(Fault::Close) => {
            state.log(format_args!(
                "{} {} close fault: closed without a response",
                request.method,
                loggable_path(&request.path)
            ));
            return;
        }
    };

    match http::write_response(&mut writer, &response, &format_http_date(unix_now())) {
        Ok(()) => state.log(format_args!(
            "{} {} {}",
            request.method,
            loggable_path(&request.path),
            response.status
        )),
        Err(error) => state.log(format_args!(
            "{} {} {}: failed to send the response: {error}",
            request.method,
            loggable_path(&request.path),
            response.status
        )),
    }
}

/// Sends an error response for a request that could not be read. A closed connection or
/// a socket error gets no response, only a log line.
fn reject_request(state: &State, stream: &TcpStream, peer: SocketAddr, error: ReadError) {
    let (status, error_code, description) = match error {
        ReadError::Closed => return,
        ReadError::Io(error) => {
            state.log(format_args!(
                "failed to read a request from {peer}: {error}"
            ));
            return;
        }
        ReadError::Malformed(reason) => (
            400,
            "invalid_request",
            format!("Malformed HTTP request: {reason}."),
        ),
        ReadError::HeadersTooLarge => (
            431,
            "request_header_fields_too_large",
            format!("The request line and header fields exceed {MAX_HEADER_BYTES} bytes."),
        ),
        ReadError::BodyTooLarge => (
            413,
            "content_too_large",
            format!("The request body exceeds {MAX_BODY_BYTES} bytes."),
        ),
        ReadError::UnsupportedTransferEncoding(codings) => (
            501,
            "not_implemented",
            format!(
                "Transfer-Encoding '{codings}' is not supported. Send the body with Content-Length or with 'chunked' alone."
            ),
        ),
    };

    state.log(format_args!(
        "rejected a request from {peer} with {status}: {description}"
    ));
    let response = routes::error_response(status, error_code, &description);
    let mut writer = stream;
    if http::write_response(&mut writer, &response, &format_http_date(unix_now())).is_ok() {
        discard_unread_input(stream);
    }
}

/// Half-closes the connection and discards what the client still sends, within limits.
///
/// Closing a socket with unread input makes the kernel send a reset, and a reset can
/// discard the response before the client reads it.
fn discard_unread_input(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    let mut buffer = [0u8; 16 * 1024];
    let mut discarded = 0;

    while discarded < MAX_DRAIN_BYTES {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() || stream.set_read_timeout(Some(remaining)).is_err() {
            return;
        }
        match (&mut &*stream).read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(read) => discarded += read,
        }
    }
}

/// Escapes control characters so that a request path cannot forge log lines.
fn loggable_path(path: &str) -> String {
    path.escape_debug().to_string()
}
