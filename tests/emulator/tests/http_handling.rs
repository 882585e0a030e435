//! HTTP parsing and connection handling as seen by a client: framing, limits, errors,
//! routing of unknown paths and shutdown.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;

use azauth_emulator::{Emulator, EmulatorConfig, MAX_BODY_BYTES, MAX_HEADER_BYTES, demo};
use common::{READ_TIMEOUT, exchange, form_encode, get, parse_response, send_raw};

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("emulator starts")
}

fn client_credentials_body() -> String {
    form_encode(&[
        ("grant_type", "client_credentials"),
        ("client_id", demo::CLIENT_ID),
        ("client_secret", demo::CLIENT_SECRET),
        ("scope", "https://management.azure.com/.default"),
    ])
}

#[test]
fn url_and_port() {
    let emulator = start();
    assert_ne!(emulator.port(), 0);
    assert_eq!(
        emulator.url(),
        format!("http://127.0.0.1:{}", emulator.port())
    );
}

#[test]
fn health_returns_ok() {
    let emulator = start();

    let response = get(&emulator, "/health");

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "ok");
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(emulator.requests()[0].path, "/health");
}

#[test]
fn health_rejects_post() {
    let emulator = start();

    let response = exchange(
        &emulator,
        b"POST /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );

    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET"));
}

#[test]
fn unknown_path_is_not_found() {
    let emulator = start();

    let response = get(&emulator, "/nope?x=1");

    assert_eq!(response.status, 404);
    assert_eq!(
        response.json(),
        serde_json::json!({
            "error": "not_found",
            "error_description": "The emulator has no endpoint for GET /nope.",
        })
    );
    assert_eq!(
        emulator.requests()[0].query_value("x").as_deref(),
        Some("1")
    );
}

#[test]
fn chunked_request_body() {
    let emulator = start();
    let body = client_credentials_body();
    let (first, second) = body.split_at(20);
    let request = format!(
        "POST /{}/oauth2/v2.0/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{first}\r\n{:x};ext=1\r\n{second}\r\n0\r\n\r\n",
        demo::TENANT_ID,
        first.len(),
        second.len()
    );

    let response = exchange(&emulator, request.as_bytes());

    assert_eq!(response.status, 200, "{}", response.text());
    let recorded = &emulator.requests()[0];
    assert!(recorded.chunked);
    assert_eq!(recorded.body, body.as_bytes());
    assert_eq!(recorded.header("transfer-encoding"), Some("chunked"));
}

#[test]
fn expect_continue_gets_interim_response() {
    let emulator = start();
    let body = client_credentials_body();
    let mut stream = TcpStream::connect(("127.0.0.1", emulator.port())).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();

    write!(
        stream,
        "POST /{}/oauth2/v2.0/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        demo::DOMAIN,
        body.len()
    )
    .unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");

    stream.write_all(body.as_bytes()).unwrap();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert_eq!(parse_response(&rest).status, 200);
}

#[test]
fn oversized_body_is_rejected() {
    let emulator = start();
    let mut request = format!(
        "POST /{}/oauth2/v2.0/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        demo::TENANT_ID,
        MAX_BODY_BYTES + 1
    )
    .into_bytes();
    request.resize(request.len() + MAX_BODY_BYTES + 1, b'a');

    let response = exchange(&emulator, &request);

    assert_eq!(response.status, 413);
    assert_eq!(
        response.json(),
        serde_json::json!({
            "error": "content_too_large",
            "error_description": "The request body exceeds 1048576 bytes.",
        })
    );
    assert!(emulator.requests().is_empty());
}

#[test]
fn oversized_chunked_body_is_rejected() {
    let emulator = start();
    let chunk = vec![b'a'; 64 * 1024];
    let mut request =
        b"POST /x/oauth2/v2.0/token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..=MAX_BODY_BYTES / chunk.len() {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");

    let response = exchange(&emulator, &request);

    assert_eq!(response.status, 413);
}

#[test]
fn oversized_headers_are_rejected() {
    let emulator = start();
    let request = format!(
        "GET /health HTTP/1.1\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(MAX_HEADER_BYTES)
    );

    let response = exchange(&emulator, request.as_bytes());

    assert_eq!(response.status, 431);
    assert_eq!(response.json()["error"], "request_header_fields_too_large");
}

#[test]
fn malformed_request_is_rejected() {
    let emulator = start();

    let response = exchange(&emulator, b"GET /health HTTP/9.9\r\n\r\n");

    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["error_description"],
        "Malformed HTTP request: unsupported HTTP version \"HTTP/9.9\", expected HTTP/1.1 or HTTP/1.0."
    );
}

#[test]
fn binary_garbage_is_rejected() {
    let emulator = start();

    let response = exchange(&emulator, b"\x00\xff\xfe garbage \x01\r\n\r\n");

    assert_eq!(response.status, 400);
    assert_eq!(get(&emulator, "/health").status, 200);
}

#[test]
fn unsupported_transfer_encoding() {
    let emulator = start();

    let response = exchange(
        &emulator,
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    );

    assert_eq!(response.status, 501);
}

#[test]
fn truncated_request_gets_no_token() {
    let emulator = start();
    let mut stream = TcpStream::connect(("127.0.0.1", emulator.port())).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();

    stream
        .write_all(b"POST /x/oauth2/v2.0/token HTTP/1.1\r\nContent-Length: 50\r\n\r\nshort")
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();

    assert_eq!(parse_response(&received).status, 400);
    assert!(emulator.requests().is_empty());
}

#[test]
fn connection_closed_without_request() {
    let emulator = start();

    drop(TcpStream::connect(("127.0.0.1", emulator.port())).unwrap());

    assert_eq!(get(&emulator, "/health").status, 200);
    assert_eq!(emulator.requests().len(), 1);
}

#[test]
fn concurrent_requests() {
    let emulator = start();
    let port = emulator.port();
    let body = client_credentials_body();

    let handles: Vec<_> = (0..8)
        .map(|_| {
            let request = format!(
                "POST /{}/oauth2/v2.0/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                demo::TENANT_ID,
                body.len()
            );
            thread::spawn(move || parse_response(&send_raw(port, request.as_bytes()).unwrap()))
        })
        .collect();
    let mut tokens: Vec<String> = handles
        .into_iter()
        .map(|handle| {
            let response = handle.join().unwrap();
            assert_eq!(response.status, 200);
            response.json()["access_token"].as_str().unwrap().to_owned()
        })
        .collect();

    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 8);
    assert_eq!(emulator.issued_tokens().len(), 8);
    assert_eq!(emulator.requests().len(), 8);
}

#[test]
fn drop_stops_listening() {
    let emulator = start();
    let port = emulator.port();
    assert_eq!(get(&emulator, "/health").status, 200);

    drop(emulator);

    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn start_on_fixed_port() {
    let first = start();

    // The port is taken, so binding it again fails.
    let error = Emulator::start_on(EmulatorConfig::default(), first.port()).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);

    let port = first.port();
    drop(first);
    let second = Emulator::start_on(EmulatorConfig::default(), port).unwrap();
    assert_eq!(second.port(), port);
    assert_eq!(get(&second, "/health").status, 200);
}
