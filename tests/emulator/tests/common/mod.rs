//! A minimal HTTP/1.1 client over `std::net::TcpStream` for the integration tests.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of this module"
)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use azauth_emulator::Emulator;

/// Read timeout of test requests, so that a missing response fails the test instead of
/// hanging it.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A response as received: status, headers with lower-cased names, and body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("response body is UTF-8")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("response body is not JSON ({error}): {}", self.text()))
    }
}

/// Sends raw bytes and reads until the server closes the connection.
pub fn send_raw(port: u16, request: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.write_all(request)?;
    let mut received = Vec::new();
    stream.read_to_end(&mut received)?;
    Ok(received)
}

/// Parses one response, skipping any `100 Continue` interim responses.
pub fn parse_response(raw: &[u8]) -> HttpResponse {
    let mut rest = raw;
    loop {
        let header_end = rest
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .unwrap_or_else(|| {
                panic!(
                    "no complete header section in {:?}",
                    String::from_utf8_lossy(raw)
                )
            });
        let head = std::str::from_utf8(&rest[..header_end]).expect("header section is UTF-8");
        let body = &rest[header_end + 4..];

        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("invalid status line {status_line:?}"));
        if status == 100 {
            rest = body;
            continue;
        }

        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').expect("header line has a colon");
                (name.to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .map(|(_, value)| value.parse().expect("numeric Content-Length"))
            .expect("response has Content-Length");
        assert_eq!(
            body.len(),
            length,
            "body length differs from Content-Length"
        );

        return HttpResponse {
            status,
            headers,
            body: body.to_vec(),
        };
    }
}

/// Sends raw bytes and parses the response.
pub fn exchange(emulator: &Emulator, request: &[u8]) -> HttpResponse {
    let raw = send_raw(emulator.port(), request).expect("request succeeds");
    parse_response(&raw)
}

/// Sends `GET path`.
pub fn get(emulator: &Emulator, path: &str) -> HttpResponse {
    exchange(
        emulator,
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes(),
    )
}

/// Encodes pairs as `application/x-www-form-urlencoded`.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", url_encode(name), url_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything except unreserved characters (RFC 3986 section 2.3).
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// Builds a POST request with the given extra header lines (each ending in CRLF) and
/// body, framed by Content-Length.
pub fn post_request(path: &str, extra_headers: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra_headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends a form POST.
pub fn post_form(emulator: &Emulator, path: &str, pairs: &[(&str, &str)]) -> HttpResponse {
    post_form_with_headers(emulator, path, pairs, "")
}

/// Sends a form POST with extra header lines, each ending in CRLF.
pub fn post_form_with_headers(
    emulator: &Emulator,
    path: &str,
    pairs: &[(&str, &str)],
    extra_headers: &str,
) -> HttpResponse {
    exchange(
        emulator,
        &post_request(
            path,
            extra_headers,
            "application/x-www-form-urlencoded",
            &form_encode(pairs),
        ),
    )
}

/// Encodes bytes as standard Base64 with padding (RFC 4648 section 4).
pub fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut output = String::new();
    for chunk in data.chunks(3) {
        let group = u32::from(chunk[0]) << 16
            | u32::from(chunk.get(1).copied().unwrap_or(0)) << 8
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for index in 0..4 {
            if index <= chunk.len() {
                output.push(char::from(
                    ALPHABET[(group >> (18 - 6 * index)) as usize & 63],
                ));
            } else {
                output.push('=');
            }
        }
    }
    output
}

/// Decodes Base64url without padding.
pub fn base64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut output = Vec::new();
    let mut accumulator: u32 = 0;
    let mut bit_count = 0;
    for character in text.bytes() {
        let value = ALPHABET
            .iter()
            .position(|&symbol| symbol == character)
            .unwrap_or_else(|| panic!("invalid Base64url character {:?}", char::from(character)));
        accumulator = accumulator << 6 | value as u32;
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            output.push((accumulator >> bit_count) as u8);
            accumulator &= (1 << bit_count) - 1;
        }
    }
    output
}

/// An expected Entra ID error.
pub struct ExpectedError<'a> {
    pub status: u16,
    pub error: &'a str,
    pub code: u64,
    /// Text of `error_description` between `AADSTSnnnnn: ` and the trace details.
    pub message: &'a str,
}

/// Asserts an Entra ID error response: status, `error`, the single AADSTS code, the
/// message, and the fields that every Entra ID error carries. Returns the body.
pub fn assert_entra_error(
    emulator: &Emulator,
    response: &HttpResponse,
    expected: &ExpectedError<'_>,
) -> serde_json::Value {
    let ExpectedError {
        status,
        error,
        code,
        message,
    } = *expected;
    let body = response.json();
    assert_eq!(response.status, status, "status of {body}");
    assert_eq!(body["error"], error, "error of {body}");
    assert_eq!(
        body["error_codes"],
        serde_json::json!([code]),
        "error_codes of {body}"
    );

    let description = body["error_description"]
        .as_str()
        .expect("error_description");
    let (first_line, _) = description
        .split_once("\r\n")
        .expect("multi-line error_description");
    assert_eq!(first_line, format!("AADSTS{code}: {message}"));
    let trace_id = body["trace_id"].as_str().expect("trace_id");
    let correlation_id = body["correlation_id"].as_str().expect("correlation_id");
    let timestamp = body["timestamp"].as_str().expect("timestamp");
    assert!(
        description.ends_with(&format!(
            "\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
        )),
        "error_description: {description}"
    );
    assert_eq!(trace_id.len(), 36, "trace_id: {trace_id}");
    assert_eq!(correlation_id.len(), 36, "correlation_id: {correlation_id}");
    assert_eq!(
        timestamp.len(),
        "2024-01-01 00:00:00Z".len(),
        "timestamp: {timestamp}"
    );
    assert!(timestamp.ends_with('Z'), "timestamp: {timestamp}");
    assert_eq!(
        body["error_uri"],
        format!("{}/error?code={code}", emulator.url()),
        "error_uri of {body}"
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    body
}
