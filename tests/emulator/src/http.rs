//! HTTP/1.1 message parsing and writing (RFC 9112), bounded in size.

use std::io::{self, BufRead, Read, Write};

use crate::encoding::{parse_form, percent_decode};
use crate::record::RecordedRequest;

/// Maximum size in bytes of the request line and header section, line ends included.
/// A larger header section gets a 431 response.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Maximum size in bytes of a request body after chunked decoding. A larger body gets a
/// 413 response.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Maximum length in bytes of one chunk-size line, chunk extensions included.
const MAX_CHUNK_LINE_BYTES: usize = 1024;

/// Reasons why no request could be read from a connection.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The client closed the connection before sending a byte.
    Closed,
    /// Reading or writing the socket failed, including a read timeout.
    Io(io::Error),
    /// The request does not follow HTTP/1.1 syntax. The text describes the problem.
    Malformed(String),
    /// The header section exceeds [`MAX_HEADER_BYTES`].
    HeadersTooLarge,
    /// The body exceeds [`MAX_BODY_BYTES`].
    BodyTooLarge,
    /// A transfer coding other than `chunked` alone.
    UnsupportedTransferEncoding(String),
}

/// Outcomes of reading one line other than a complete line.
enum LineError {
    /// End of input before the line ended.
    Truncated,
    /// The line did not end within the byte budget.
    TooLong,
    Io(io::Error),
}

/// An HTTP response to send. The writer adds `Date`, `Content-Length` and
/// `Connection: close`.
#[derive(Clone, Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// Creates a response with a JSON body and `Content-Type: application/json; charset=utf-8`.
    pub(crate) fn json(status: u16, body: &impl serde::Serialize) -> Response {
        // Serializing plain structs and `serde_json::Value` cannot fail.
        let body = serde_json::to_vec(body).unwrap_or_default();
        Response {
            status,
            headers: vec![(
                "Content-Type".to_owned(),
                "application/json; charset=utf-8".to_owned(),
            )],
            body,
        }
    }

    /// Creates a response with a `text/plain; charset=utf-8` body.
    pub(crate) fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![(
                "Content-Type".to_owned(),
                "text/plain; charset=utf-8".to_owned(),
            )],
            body: body.as_bytes().to_vec(),
        }
    }

    #[must_use]
    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// Reads one request, body included.
///
/// `interim` receives a `100 Continue` response when the client sent
/// `Expect: 100-continue` and the declared body is within limits, so that clients such as
/// curl send the body without waiting.
pub(crate) fn read_request<R: BufRead, W: Write>(
    reader: &mut R,
    interim: &mut W,
) -> Result<RecordedRequest, ReadError> {
    let mut budget = MAX_HEADER_BYTES;

    // RFC 9112 section 2.2 recommends that servers ignore empty lines before the
    // request line.
    let request_line = loop {
        match read_line(reader, &mut budget) {
            Ok(Some(line)) if line.is_empty() => continue,
            Ok(Some(line)) => break line,
            Ok(None) => return Err(ReadError::Closed),
            Err(error) => return Err(header_line_error(error)),
        }
    };
    let (method, target, version) = parse_request_line(&request_line)?;
    let headers = read_header_fields(reader, &mut budget)?;
    let (path, query) = split_target(&target)?;

    let mut request = RecordedRequest {
        method,
        path,
        query,
        headers,
        body: Vec::new(),
        chunked: false,
    };

    let expects_continue = version == "HTTP/1.1"
        && request
            .header("expect")
            .is_some_and(|value| value.eq_ignore_ascii_case("100-continue"));

    if let Some(codings) = transfer_codings(&request.headers) {
        if codings != ["chunked"] {
            return Err(ReadError::UnsupportedTransferEncoding(codings.join(", ")));
        }
        if expects_continue {
            send_continue(interim)?;
        }
        request.body = read_chunked_body(reader)?;
        request.chunked = true;
    } else if let Some(length) = content_length(&request.headers)? {
        if length > MAX_BODY_BYTES as u64 {
            return Err(ReadError::BodyTooLarge);
        }
        if expects_continue && length > 0 {
            send_continue(interim)?;
        }
        request.body = read_exact_body(reader, length as usize)?;
    }

    Ok(request)
}

/// Writes `response` with framing headers and flushes it.
///
/// CR and LF in header names and values become spaces, so a header cannot inject
/// another.
pub(crate) fn write_response<W: Write>(
    writer: &mut W,
    response: &Response,
    date: &str,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nDate: {date}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason_phrase(response.status),
        response.body.len()
    );
    for (name, value) in &response.headers {
        if ["content-length", "transfer-encoding", "connection", "date"]
            .iter()
            .any(|framing| name.eq_ignore_ascii_case(framing))
        {
            continue;
        }
        head.push_str(&strip_line_breaks(name));
        head.push_str(": ");
        head.push_str(&strip_line_breaks(value));
        head.push_str("\r\n");
    }
    head.push_str("\r\n");

    writer.write_all(head.as_bytes())?;
    writer.write_all(&response.body)?;
    writer.flush()
}

fn strip_line_breaks(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// Returns the reason phrase for the status codes that the emulator sends, or an empty
/// phrase, which RFC 9112 section 4 allows.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

fn send_continue<W: Write>(interim: &mut W) -> Result<(), ReadError> {
    interim
        .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
        .and_then(|()| interim.flush())
        .map_err(ReadError::Io)
}

/// Reads one line ending in LF and returns it without the LF or a CR before it.
///
/// Returns `Ok(None)` at end of input before any byte. Subtracts the bytes read from
/// `budget`.
fn read_line<R: BufRead>(reader: &mut R, budget: &mut usize) -> Result<Option<Vec<u8>>, LineError> {
    let mut line = Vec::new();
    let read = reader
        .take(*budget as u64)
        .read_until(b'\n', &mut line)
        .map_err(LineError::Io)?;
    *budget -= read;

    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        return Ok(Some(line));
    }
    if *budget == 0 {
        return Err(LineError::TooLong);
    }
    if read == 0 {
        return Ok(None);
    }
    Err(LineError::Truncated)
}

fn header_line_error(error: LineError) -> ReadError {
    match error {
        LineError::Truncated => {
            ReadError::Malformed("the connection closed inside the header section".to_owned())
        }
        LineError::TooLong => ReadError::HeadersTooLarge,
        LineError::Io(error) => ReadError::Io(error),
    }
}

/// Splits `method SP request-target SP HTTP-version`.
fn parse_request_line(line: &[u8]) -> Result<(String, String, String), ReadError> {
    let malformed = || {
        ReadError::Malformed(format!(
            "invalid request line {:?}",
            String::from_utf8_lossy(line)
        ))
    };
    let text = std::str::from_utf8(line).map_err(|_| malformed())?;
    let parts: Vec<&str> = text.split(' ').collect();
    let [method, target, version] = parts[..] else {
        return Err(malformed());
    };

    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(malformed());
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(ReadError::Malformed(format!(
            "unsupported HTTP version {version:?}, expected HTTP/1.1 or HTTP/1.0"
        )));
    }
    if target.is_empty() || target.bytes().any(|byte| byte.is_ascii_control()) {
        return Err(malformed());
    }

    Ok((method.to_owned(), target.to_owned(), version.to_owned()))
}

fn read_header_fields<R: BufRead>(
    reader: &mut R,
    budget: &mut usize,
) -> Result<Vec<(String, String)>, ReadError> {
    let mut headers = Vec::new();

    loop {
        let line = match read_line(reader, budget) {
            Ok(Some(line)) => line,
            Ok(None) => return Err(header_line_error(LineError::Truncated)),
            Err(error) => return Err(header_line_error(error)),
        };
        if line.is_empty() {
            return Ok(headers);
        }
        headers.push(parse_header_field(&line)?);
    }
}

/// Parses `name: value`, rejecting obsolete line folding and whitespace before the colon
/// as RFC 9112 section 5 requires of servers.
fn parse_header_field(line: &[u8]) -> Result<(String, String), ReadError> {
    if line
        .first()
        .is_some_and(|&byte| byte == b' ' || byte == b'\t')
    {
        return Err(ReadError::Malformed(
            "obsolete line folding in the header section".to_owned(),
        ));
    }
    let Some(colon) = line.iter().position(|&byte| byte == b':') else {
        return Err(ReadError::Malformed(format!(
            "header line without a colon: {:?}",
            String::from_utf8_lossy(line)
        )));
    };

    let name = &line[..colon];
    if name.is_empty() || !name.iter().copied().all(is_token_byte) {
        return Err(ReadError::Malformed(format!(
            "invalid header name {:?}",
            String::from_utf8_lossy(name)
        )));
    }
    let value = String::from_utf8_lossy(&line[colon + 1..])
        .trim_matches([' ', '\t'])
        .to_owned();

    Ok((String::from_utf8_lossy(name).to_ascii_lowercase(), value))
}

/// Checks for a `tchar` of RFC 9110 section 5.6.2.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Splits an origin-form or absolute-form target into its raw path and decoded query.
fn split_target(target: &str) -> Result<(String, Vec<(String, String)>), ReadError> {
    let origin_form = if target.starts_with('/') {
        target
    } else if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        // Absolute form: drop the authority, keep the path.
        match rest.find(['/', '?']) {
            Some(index) => &rest[index..],
            None => "/",
        }
    } else {
        return Err(ReadError::Malformed(format!(
            "unsupported request target {target:?}"
        )));
    };

    let (path, query) = match origin_form.split_once('?') {
        Some((path, query)) => (path, parse_form(query.as_bytes())),
        None => (origin_form, Vec::new()),
    };
    let path = if path.is_empty() { "/" } else { path };

    Ok((path.to_owned(), query))
}

/// Returns the transfer codings from all `Transfer-Encoding` fields, lower-cased, or
/// `None` if there is no such field.
fn transfer_codings(headers: &[(String, String)]) -> Option<Vec<String>> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(name, _)| name == "transfer-encoding")
        .map(|(_, value)| value.as_str())
        .collect();
    if values.is_empty() {
        return None;
    }

    Some(
        values
            .iter()
            .flat_map(|value| value.split(','))
            .map(|coding| coding.trim().to_ascii_lowercase())
            .filter(|coding| !coding.is_empty())
            .collect(),
    )
}

/// Returns the body length from `Content-Length`, which may repeat only with one value
/// (RFC 9112 section 6.3).
fn content_length(headers: &[(String, String)]) -> Result<Option<u64>, ReadError> {
    let mut length = None;

    for value in headers
        .iter()
        .filter(|(name, _)| name == "content-length")
        .flat_map(|(_, value)| value.split(','))
    {
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(ReadError::Malformed(format!(
                "invalid Content-Length {value:?}"
            )));
        }
        // Digits that overflow u64 still describe a body beyond the limit.
        let parsed = value.parse::<u64>().unwrap_or(u64::MAX);
        if length.is_some_and(|known| known != parsed) {
            return Err(ReadError::Malformed(
                "conflicting Content-Length values".to_owned(),
            ));
        }
        length = Some(parsed);
    }

    Ok(length)
}

fn read_exact_body<R: BufRead>(reader: &mut R, length: usize) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::with_capacity(length);
    reader
        .take(length as u64)
        .read_to_end(&mut body)
        .map_err(ReadError::Io)?;

    if body.len() < length {
        return Err(ReadError::Malformed(format!(
            "the connection closed after {} of {length} body bytes",
            body.len()
        )));
    }
    Ok(body)
}

/// Decodes a chunked body (RFC 9112 section 7.1), discarding chunk extensions and
/// trailer fields.
fn read_chunked_body<R: BufRead>(reader: &mut R) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();

    loop {
        let size_line = read_chunk_line(reader)?;
        let size_text = match size_line.iter().position(|&byte| byte == b';') {
            Some(index) => &size_line[..index],
            None => &size_line[..],
        };
        let size_text = String::from_utf8_lossy(size_text);
        let size_text = size_text.trim_matches([' ', '\t']);
        if size_text.is_empty() || !size_text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(ReadError::Malformed(format!(
                "invalid chunk size {size_text:?}"
            )));
        }
        // Hex digits that overflow u64 still describe a chunk beyond the limit.
        let size = u64::from_str_radix(size_text, 16).unwrap_or(u64::MAX);
        if size == 0 {
            break;
        }
        if size > (MAX_BODY_BYTES - body.len()) as u64 {
            return Err(ReadError::BodyTooLarge);
        }

        let chunk = read_exact_body(reader, size as usize)?;
        body.extend_from_slice(&chunk);
        if !read_chunk_line(reader)?.is_empty() {
            return Err(ReadError::Malformed(
                "chunk data longer than its declared size".to_owned(),
            ));
        }
    }

    // Trailer section: header lines up to an empty line, bounded like the header section.
    let mut budget = MAX_HEADER_BYTES;
    loop {
        match read_line(reader, &mut budget) {
            Ok(Some(line)) if line.is_empty() => return Ok(body),
            Ok(Some(_)) => continue,
            Ok(None) => return Err(header_line_error(LineError::Truncated)),
            Err(error) => return Err(header_line_error(error)),
        }
    }
}

fn read_chunk_line<R: BufRead>(reader: &mut R) -> Result<Vec<u8>, ReadError> {
    let mut budget = MAX_CHUNK_LINE_BYTES;
    match read_line(reader, &mut budget) {
        Ok(Some(line)) => Ok(line),
        Ok(None) | Err(LineError::Truncated) => Err(ReadError::Malformed(
            "the connection closed inside the chunked body".to_owned(),
        )),
        Err(LineError::TooLong) => Err(ReadError::Malformed(format!(
            "chunk line longer than {MAX_CHUNK_LINE_BYTES} bytes"
        ))),
        Err(LineError::Io(error)) => Err(ReadError::Io(error)),
    }
}

/// Splits a request path into percent-decoded segments. `/a/b%40c/` becomes
/// `["a", "b@c", ""]`.
pub(crate) fn path_segments(path: &str) -> Vec<String> {
    path.strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .map(|segment| percent_decode(segment.as_bytes(), false))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Result<RecordedRequest, ReadError> {
        let mut interim = Vec::new();
        read_request(&mut &raw[..], &mut interim)
    }

    #[test]
    fn parses_content_length_request() {
        let request = parse(
            b"POST /t/oauth2/v2.0/token?x=1&y=a%20b HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
        )
        .unwrap();

        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/t/oauth2/v2.0/token");
        assert_eq!(
            request.query,
            vec![
                ("x".to_owned(), "1".to_owned()),
                ("y".to_owned(), "a b".to_owned())
            ]
        );
        assert_eq!(request.header("content-type"), Some("text/plain"));
        assert_eq!(request.header("HOST"), Some("h"));
        assert_eq!(request.body, b"hello");
        assert!(!request.chunked);
    }

    #[test]
    fn accepts_bare_line_feeds_and_leading_empty_lines() {
        let request = parse(b"\r\nGET /health HTTP/1.0\nHost: h\n\n").unwrap();
        assert_eq!(request.path, "/health");
        assert!(request.body.is_empty());
    }

    #[test]
    fn decodes_chunked_body_with_extensions_and_trailers() {
        let request = parse(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;name=value\r\nabcd\r\nA \r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
        )
        .unwrap();
        assert_eq!(request.body, b"abcd0123456789");
        assert!(request.chunked);
    }

    #[test]
    fn chunked_takes_precedence_over_content_length() {
        let request = parse(
            b"POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(request.body, b"z");
    }

    #[test]
    fn absolute_form_target_keeps_path() {
        let request = parse(b"GET http://127.0.0.1:1/a/b?c=d HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(request.path, "/a/b");
        assert_eq!(request.query_value("c").as_deref(), Some("d"));

        let request = parse(b"GET http://127.0.0.1:1?c=d HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(request.path, "/");
    }

    #[test]
    fn sends_continue_only_when_expected() {
        let raw = b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx";
        let mut interim = Vec::new();
        read_request(&mut &raw[..], &mut interim).unwrap();
        assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");

        let raw = b"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx";
        let mut interim = Vec::new();
        read_request(&mut &raw[..], &mut interim).unwrap();
        assert!(interim.is_empty());
    }

    #[test]
    fn empty_input_is_closed() {
        assert!(matches!(parse(b""), Err(ReadError::Closed)));
    }

    #[test]
    fn rejects_malformed_requests() {
        let cases: [&[u8]; 11] = [
            b"GET\r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET relative HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nNo colon\r\n\r\n",
            b"GET / HTTP/1.1\r\nName : value\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
        ];
        for raw in cases {
            let result = parse(raw);
            assert!(
                matches!(result, Err(ReadError::Malformed(_))),
                "{:?}: {result:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn rejects_malformed_chunks() {
        let cases: [&[u8]; 3] = [
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
        ];
        for raw in cases {
            let result = parse(raw);
            assert!(
                matches!(result, Err(ReadError::Malformed(_))),
                "{:?}: {result:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn rejects_unsupported_transfer_coding() {
        let result = parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert!(matches!(
            result,
            Err(ReadError::UnsupportedTransferEncoding(codings)) if codings == "gzip, chunked"
        ));
    }

    #[test]
    fn rejects_oversized_header_section() {
        let mut raw = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        raw.extend(std::iter::repeat_n(b'a', MAX_HEADER_BYTES));
        raw.extend_from_slice(b"\r\n\r\n");
        assert!(matches!(parse(&raw), Err(ReadError::HeadersTooLarge)));
    }

    #[test]
    fn rejects_oversized_bodies() {
        let declared = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        assert!(matches!(
            parse(declared.as_bytes()),
            Err(ReadError::BodyTooLarge)
        ));

        let overflowing = b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n";
        assert!(matches!(parse(overflowing), Err(ReadError::BodyTooLarge)));

        let chunk = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n";
        assert!(matches!(parse(chunk), Err(ReadError::BodyTooLarge)));
    }

    #[test]
    fn accepts_body_of_exactly_the_limit() {
        let mut raw =
            format!("POST / HTTP/1.1\r\nContent-Length: {MAX_BODY_BYTES}\r\n\r\n").into_bytes();
        raw.extend(std::iter::repeat_n(b'a', MAX_BODY_BYTES));
        assert_eq!(parse(&raw).unwrap().body.len(), MAX_BODY_BYTES);
    }

    #[test]
    fn write_response_adds_framing_and_strips_line_breaks() {
        let response = Response::text(429, "slow down")
            .with_header("Retry-After", "1")
            .with_header("Content-Length", "999")
            .with_header("X-Injected", "a\r\nSet-Cookie: b");
        let mut output = Vec::new();
        write_response(&mut output, &response, "Sun, 06 Nov 1994 08:49:37 GMT").unwrap();

        assert_eq!(
            String::from_utf8(output).unwrap(),
            "HTTP/1.1 429 Too Many Requests\r\n\
             Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
             Content-Length: 9\r\n\
             Connection: close\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Retry-After: 1\r\n\
             X-Injected: a  Set-Cookie: b\r\n\
             \r\n\
             slow down"
        );
    }

    #[test]
    fn path_segments_decode_each_segment() {
        assert_eq!(path_segments("/a/b%40c/"), vec!["a", "b@c", ""]);
        assert_eq!(path_segments("/"), vec![""]);
        // A decoded slash stays inside its segment.
        assert_eq!(path_segments("/a%2Fb"), vec!["a/b"]);
    }
}
