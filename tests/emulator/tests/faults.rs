//! Scripted faults: canned statuses, delays, silence and closed connections.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use azauth_emulator::{Emulator, EmulatorConfig, Fault, demo};
use common::{HttpResponse, form_encode, get, post_form, post_request, send_raw};

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("emulator starts")
}

fn token_path() -> String {
    format!("/{}/oauth2/v2.0/token", demo::TENANT_ID)
}

fn token_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", demo::CLIENT_ID),
        ("client_secret", demo::CLIENT_SECRET),
        ("scope", "https://management.azure.com/.default"),
    ]
}

fn request_token(emulator: &Emulator) -> HttpResponse {
    post_form(emulator, &token_path(), &token_form())
}

fn token_request_bytes() -> Vec<u8> {
    post_request(
        &token_path(),
        "",
        "application/x-www-form-urlencoded",
        &form_encode(&token_form()),
    )
}

fn status_fault(status: u16, body: &str, headers: &[(&str, &str)]) -> Fault {
    Fault::Status {
        status,
        body: body.to_owned(),
        content_type: "text/plain".to_owned(),
        headers: headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
    }
}

#[test]
fn status_fault_with_retry_after() {
    let emulator = start();
    emulator.push_fault(status_fault(
        429,
        "Too many requests",
        &[("Retry-After", "1")],
    ));

    let throttled = request_token(&emulator);
    let normal = request_token(&emulator);

    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("1"));
    assert_eq!(throttled.header("content-type"), Some("text/plain"));
    assert_eq!(throttled.text(), "Too many requests");
    assert_eq!(normal.status, 200);
    assert_eq!(emulator.requests().len(), 2);
    assert_eq!(emulator.issued_tokens().len(), 1);
    assert_eq!(emulator.pending_faults(), 0);
}

#[test]
fn status_faults_apply_in_order() {
    let emulator = start();
    emulator.push_fault(status_fault(500, "first", &[]));
    emulator.push_fault(status_fault(503, "second", &[]));
    assert_eq!(emulator.pending_faults(), 2);

    let statuses: Vec<u16> = (0..3).map(|_| request_token(&emulator).status).collect();

    assert_eq!(statuses, [500, 503, 200]);
}

#[test]
fn faults_skip_other_paths() {
    let emulator = start();
    emulator.push_fault(Fault::Close);

    assert_eq!(get(&emulator, "/health").status, 200);
    assert_eq!(emulator.pending_faults(), 1);

    let received = send_raw(emulator.port(), &token_request_bytes()).unwrap();
    assert!(received.is_empty());
}

#[test]
fn fault_for_path_suffix() {
    let emulator = start();
    emulator.push_fault_for("/health", status_fault(503, "down", &[]));

    assert_eq!(request_token(&emulator).status, 200);
    assert_eq!(get(&emulator, "/health").status, 503);
    assert_eq!(get(&emulator, "/health").status, 200);
}

#[test]
fn clear_faults_drops_queue() {
    let emulator = start();
    emulator.push_fault(Fault::Close);

    emulator.clear_faults();

    assert_eq!(emulator.pending_faults(), 0);
    assert_eq!(request_token(&emulator).status, 200);
}

#[test]
fn delay_fault_then_normal_response() {
    let emulator = start();
    emulator.push_fault(Fault::Delay { millis: 300 });

    let started = Instant::now();
    let response = request_token(&emulator);

    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.status, 200);
    assert_eq!(emulator.issued_tokens().len(), 1);
}

#[test]
fn silence_fault_times_out_client() {
    let emulator = start();
    emulator.push_fault(Fault::Silence { millis: 1_000 });
    let mut stream = TcpStream::connect(("127.0.0.1", emulator.port())).unwrap();
    stream.write_all(&token_request_bytes()).unwrap();

    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buffer = [0u8; 64];
    let error = stream.read(&mut buffer).unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{error:?}"
    );

    // After the silence the emulator closes the connection without a byte.
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    assert!(received.is_empty());
    assert_eq!(emulator.requests().len(), 1);
    assert!(emulator.issued_tokens().is_empty());
}

#[test]
fn close_fault_sends_nothing() {
    let emulator = start();
    emulator.push_fault(Fault::Close);

    let received = send_raw(emulator.port(), &token_request_bytes()).unwrap();

    assert!(received.is_empty());
    let requests = emulator.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].form_value("grant_type").as_deref(),
        Some("client_credentials")
    );
    assert!(emulator.issued_tokens().is_empty());
}
