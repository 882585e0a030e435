//! HTTP over wasi:http, with timeouts and bounded retries.
//!
//! [`HttpClient::execute`] takes and returns the `http` types that the `oauth2` crate
//! uses, so the same client serves oauth2's token requests and the plain requests
//! of the other methods.

use std::cell::Cell;

use oauth2::http::{self, HeaderValue};

use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions,
    Scheme,
};
use crate::bindings::wasi::io::streams::StreamError;
use crate::{clock, log};

/// Largest response body accepted. Token responses are a few KiB; this bounds memory
/// when a server misbehaves.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Largest single write to a wasi:http output stream.
const WRITE_CHUNK: usize = 4096;

/// Timeouts of one request.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Time to establish the connection (and TLS), in milliseconds.
    pub connect_ms: u64,
    /// Time from the end of the request to the first byte of the response, in milliseconds.
    pub first_byte_ms: u64,
    /// Maximum pause between two chunks of the response, in milliseconds.
    pub between_bytes_ms: u64,
}

impl Timeouts {
    /// Timeouts for token requests: 10 s to connect, and 30 s for Entra ID to respond.
    /// NOTE: both are estimates with a wide margin, not figures measured against Entra ID.
    pub const TOKEN: Timeouts = Timeouts {
        connect_ms: 10_000,
        first_byte_ms: 30_000,
        between_bytes_ms: 30_000,
    };
}

/// Retry policy for statuses that ask the client to come back later.
///
/// The policy retries the statuses in `statuses`. The delay is the server's
/// `Retry-After` (seconds), `retry-after-ms` or `x-ms-retry-after-ms` (milliseconds)
/// when present, else `base_delay_ms × 2^n`; either way it is capped at `max_delay_ms`.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry when the server names none, in milliseconds.
    pub base_delay_ms: u64,
    /// Cap on any single delay, in milliseconds.
    pub max_delay_ms: u64,
    /// Statuses that are retried.
    pub statuses: &'static [u16],
}

impl RetryPolicy {
    /// Three retries, starting at 0.5 s and doubling, and no single wait above 30 s, so
    /// that a throttled request gives up within about two minutes in the worst case.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        max_retries: 3,
        base_delay_ms: 500,
        max_delay_ms: 30_000,
        statuses: &[408, 429, 500, 502, 503, 504],
    };

    /// The managed identity endpoints' policy: 404, 410, 429 and 5xx are retried, as
    /// the IMDS documentation recommends, up to 5 times from 1 s doubling (31 s of waits in
    /// all when no `Retry-After` is sent).
    ///
    /// NOTE: IMDS documents 410 as "available again within 70 s"; azure-identity waits
    /// up to 75 s for it, this policy 31 s.
    pub const MANAGED_IDENTITY: RetryPolicy = RetryPolicy {
        max_retries: 5,
        base_delay_ms: 1000,
        max_delay_ms: 60_000,
        statuses: &[
            404, 408, 410, 429, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
        ],
    };

    /// No retries, for probes.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        base_delay_ms: 0,
        max_delay_ms: 0,
        statuses: &[],
    };

    /// Returns the delay before retry number `retry` (0 for the first), or `None` when the
    /// status is not retried or the retries are spent.
    pub fn delay_ms(&self, status: u16, headers: &http::HeaderMap, retry: u32) -> Option<u64> {
        if retry >= self.max_retries || !self.statuses.contains(&status) {
            return None;
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
        };
        let delay = header("retry-after-ms")
            .or_else(|| header("x-ms-retry-after-ms"))
            .or_else(|| header("retry-after").map(|seconds| seconds.saturating_mul(1000)))
            .unwrap_or_else(|| self.base_delay_ms.saturating_mul(1 << retry.min(20)));
        Some(delay.min(self.max_delay_ms))
    }
}

/// A request that produced no HTTP response.
#[derive(Debug)]
pub struct TransportError {
    message: String,
    kind: TransportErrorKind,
}

/// Why a request produced no response, as far as a caller decides on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The server could not be reached or did not answer in time: DNS failure,
    /// refused, unreachable, reset, or a connect or first-byte timeout.
    Unreachable,
    /// The host's network policy denied the request.
    Denied,
    /// The server's TLS certificate was rejected: not trusted, or not the pinned one.
    Certificate,
    /// Anything else: TLS, protocol or body errors.
    Other,
}

impl TransportError {
    fn new(message: String) -> TransportError {
        TransportError {
            message,
            kind: TransportErrorKind::Other,
        }
    }

    /// Returns the kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransportError {}

/// An HTTP client over wasi:http.
pub struct HttpClient {
    timeouts: Timeouts,
    retry: RetryPolicy,
    extra_headers: Vec<(&'static str, String)>,
    last_status: Cell<Option<u16>>,
    retries_spent: u32,
}

impl HttpClient {
    /// Creates a client with token-request timeouts and the default retry policy.
    pub fn new() -> HttpClient {
        HttpClient {
            timeouts: Timeouts::TOKEN,
            retry: RetryPolicy::DEFAULT,
            extra_headers: Vec::new(),
            last_status: Cell::new(None),
            retries_spent: 0,
        }
    }

    /// Replaces the timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> HttpClient {
        self.timeouts = timeouts;
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> HttpClient {
        self.retry = retry;
        self
    }

    /// Counts `retries` as already spent, for a request that continues an earlier
    /// attempt: the back-off goes on from there and the retry limit includes them.
    pub fn with_retries_spent(mut self, retries: u32) -> HttpClient {
        self.retries_spent = retries;
        self
    }

    /// Adds a header to every request this client sends.
    pub fn with_header(mut self, name: &'static str, value: String) -> HttpClient {
        self.extra_headers.push((name, value));
        self
    }

    /// Returns the status of the last response received, if any.
    ///
    /// oauth2 drops the status of an error response that is not JSON; messages use this.
    pub fn last_status(&self) -> Option<u16> {
        self.last_status.get()
    }

    /// Sends a request, retrying under the retry policy, and returns the last response.
    pub fn execute(
        &self,
        mut request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        for (name, value) in &self.extra_headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                request.headers_mut().insert(*name, value);
            }
        }
        let mut retry = self.retries_spent;
        loop {
            let response = send(&request, self.timeouts)?;
            let status = response.status().as_u16();
            self.last_status.set(Some(status));
            let Some(delay) = self.retry.delay_ms(status, response.headers(), retry) else {
                return Ok(response);
            };
            log::info(&format!(
                "{} answered HTTP {status}; retry {} of {} in {delay} ms",
                describe_target(request.uri()),
                retry + 1,
                self.retry.max_retries
            ));
            clock::sleep_millis(delay);
            retry += 1;
        }
    }
}

/// `scheme://host[:port]/path` of a URI, without its query, for messages.
pub fn describe_target(uri: &http::Uri) -> String {
    format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("https"),
        uri.authority().map(|a| a.as_str()).unwrap_or(""),
        uri.path()
    )
}

/// Sends one request and reads the whole response.
fn send(
    request: &http::Request<Vec<u8>>,
    timeouts: Timeouts,
) -> Result<http::Response<Vec<u8>>, TransportError> {
    let uri = request.uri();
    let target = describe_target(uri);
    let host = uri.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
    let fail = |what: &str| TransportError::new(format!("request to {target} failed: {what}"));
    let fail_with = |code: &ErrorCode| TransportError {
        message: format!("request to {target} failed: {}", describe_error_code(code, &host)),
        kind: kind_of(code),
    };

    let headers = Fields::new();
    for (name, value) in request.headers() {
        headers
            .append(&name.as_str().to_string(), &value.as_bytes().to_vec())
            .map_err(|error| fail(&format!("header {name} was rejected: {error:?}")))?;
    }
    // NOTE: without Content-Length, wasi:http sends the body chunked, and some servers in
    // front of Entra ID then read an empty form.
    if !request.body().is_empty() || request.method() == http::Method::POST {
        headers
            .set(
                &"content-length".to_string(),
                &[request.body().len().to_string().into_bytes()],
            )
            .map_err(|error| fail(&format!("Content-Length was rejected: {error:?}")))?;
    }

    let outgoing = OutgoingRequest::new(headers);
    let method = match *request.method() {
        http::Method::GET => Method::Get,
        http::Method::POST => Method::Post,
        ref other => Method::Other(other.as_str().to_string()),
    };
    let scheme = match uri.scheme_str() {
        Some("http") => Scheme::Http,
        _ => Scheme::Https,
    };
    let path = uri.path_and_query().map(|pq| pq.as_str().to_string());
    let set = outgoing
        .set_method(&method)
        .and(outgoing.set_scheme(Some(&scheme)))
        .and(outgoing.set_authority(Some(&host)))
        .and(outgoing.set_path_with_query(path.as_deref()));
    set.map_err(|()| fail("the URL was rejected"))?;

    let options = RequestOptions::new();
    // Setting a timeout fails only on hosts that do not support it; the host's own
    // defaults then apply.
    let _ = options.set_connect_timeout(Some(timeouts.connect_ms * 1_000_000));
    let _ = options.set_first_byte_timeout(Some(timeouts.first_byte_ms * 1_000_000));
    let _ = options.set_between_bytes_timeout(Some(timeouts.between_bytes_ms * 1_000_000));

    let body = outgoing.body().map_err(|()| fail("the request body was unavailable"))?;
    // NOTE: `handle` must come before the body is written: a body larger than the stream's
    // buffer blocks for ever otherwise.
    let future = outgoing_handler::handle(outgoing, Some(options))
        .map_err(|code| fail_with(&code))?;
    let write_result = write_body(body, request.body());

    future.subscribe().block();
    let incoming = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(fail_with(&code)),
        Some(Err(())) | None => return Err(fail("the response was already taken")),
    };
    // A failed write matters only when the host still produced a response; the error
    // code above is the better message otherwise.
    write_result.map_err(|what| fail(&what))?;

    let mut builder = http::Response::builder().status(incoming.status());
    for (name, value) in incoming.headers().entries() {
        builder = builder.header(name, value);
    }
    let body = incoming.consume().map_err(|()| fail("the response body was unavailable"))?;
    let bytes = read_body(body, &host).map_err(|what| fail(&what))?;
    builder
        .body(bytes)
        .map_err(|error| fail(&format!("the response was invalid: {error}")))
}

fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), String> {
    {
        let stream = body
            .write()
            .map_err(|()| "the request body stream was unavailable".to_string())?;
        for chunk in bytes.chunks(WRITE_CHUNK) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|error| format!("writing the request body failed: {error:?}"))?;
        }
    }
    OutgoingBody::finish(body, None)
        .map_err(|code| format!("finishing the request body failed: {code:?}"))
}

fn read_body(body: IncomingBody, host: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    {
        let stream = body
            .stream()
            .map_err(|()| "the response body stream was unavailable".to_string())?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_RESPONSE_BYTES {
                        return Err(format!(
                            "the response body is larger than {MAX_RESPONSE_BYTES} bytes"
                        ));
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(error)) => {
                    let what = match crate::bindings::wasi::http::types::http_error_code(&error) {
                        Some(code) => describe_error_code(&code, host),
                        None => error.to_debug_string(),
                    };
                    return Err(format!("reading the response failed: {what}"));
                }
            }
        }
    }
    drop(IncomingBody::finish(body));
    Ok(bytes)
}

/// Sorts a wasi:http error code by what a caller does about it.
fn kind_of(code: &ErrorCode) -> TransportErrorKind {
    match code {
        ErrorCode::DnsTimeout
        | ErrorCode::DnsError(_)
        | ErrorCode::DestinationNotFound
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpUnroutable
        | ErrorCode::DestinationIpProhibited
        | ErrorCode::ConnectionRefused
        | ErrorCode::ConnectionTerminated
        | ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::HttpResponseTimeout
        | ErrorCode::ConnectionLimitReached => TransportErrorKind::Unreachable,
        ErrorCode::HttpRequestDenied => TransportErrorKind::Denied,
        ErrorCode::TlsCertificateError => TransportErrorKind::Certificate,
        _ => TransportErrorKind::Other,
    }
}

/// Turns a wasi:http error code into words that name the host and the failed step.
fn describe_error_code(code: &ErrorCode, host: &str) -> String {
    match code {
        ErrorCode::DnsTimeout => format!("DNS lookup of {host} timed out"),
        ErrorCode::DnsError(payload) => format!(
            "DNS lookup of {host} failed ({})",
            payload.rcode.as_deref().unwrap_or("no answer")
        ),
        ErrorCode::DestinationNotFound => format!("DNS lookup of {host} found no address"),
        ErrorCode::DestinationUnavailable | ErrorCode::DestinationIpUnroutable => {
            format!("{host} is unreachable")
        }
        ErrorCode::DestinationIpProhibited => format!("connecting to {host} is prohibited"),
        ErrorCode::ConnectionRefused => format!("connection to {host} was refused"),
        ErrorCode::ConnectionTerminated => format!("{host} closed the connection"),
        ErrorCode::ConnectionTimeout => format!("connecting to {host} timed out"),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            format!("{host} did not answer in time")
        }
        ErrorCode::ConnectionWriteTimeout => format!("sending to {host} timed out"),
        ErrorCode::TlsProtocolError => format!("TLS handshake with {host} failed"),
        ErrorCode::TlsCertificateError => {
            format!("TLS certificate of {host} was not trusted")
        }
        ErrorCode::TlsAlertReceived(payload) => format!(
            "TLS alert from {host}: {}",
            payload.alert_message.as_deref().unwrap_or("no message")
        ),
        ErrorCode::HttpRequestDenied => format!(
            "the host's network policy denied the request to {host}; the policy allows the \
             authority hosts of the configured cloud, the managed identity endpoints named by \
             the environment and, over plain http, loopback"
        ),
        ErrorCode::HttpResponseIncomplete => format!("the response from {host} was incomplete"),
        ErrorCode::HttpProtocolError => format!("{host} sent an invalid HTTP response"),
        ErrorCode::InternalError(Some(message)) => format!("{host}: {message}"),
        other => format!("{host}: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn retry_after_seconds_and_milliseconds() {
        let policy = RetryPolicy::DEFAULT;
        assert_eq!(policy.delay_ms(429, &headers(&[("retry-after", "2")]), 0), Some(2000));
        assert_eq!(
            policy.delay_ms(503, &headers(&[("retry-after-ms", "150")]), 0),
            Some(150)
        );
        assert_eq!(
            policy.delay_ms(503, &headers(&[("x-ms-retry-after-ms", "70")]), 1),
            Some(70)
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy::DEFAULT;
        let none = headers(&[]);
        assert_eq!(policy.delay_ms(500, &none, 0), Some(500));
        assert_eq!(policy.delay_ms(500, &none, 1), Some(1000));
        assert_eq!(policy.delay_ms(500, &none, 2), Some(2000));
        // A server that requests an hour gets the cap, not an hour.
        assert_eq!(
            policy.delay_ms(429, &headers(&[("retry-after", "3600")]), 0),
            Some(30_000)
        );
    }

    #[test]
    fn retries_are_bounded_and_status_specific() {
        let policy = RetryPolicy::DEFAULT;
        let none = headers(&[]);
        assert_eq!(policy.delay_ms(503, &none, 3), None);
        for status in [200, 400, 401, 403, 404] {
            assert_eq!(policy.delay_ms(status, &none, 0), None, "{status}");
        }
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(policy.delay_ms(status, &none, 0).is_some(), "{status}");
        }
    }
}
