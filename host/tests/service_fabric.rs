//! Service Fabric managed identity end to end against a TLS server on 127.0.0.1.
//!
//! The server presents a self-signed certificate that `openssl` creates for each test,
//! as a Service Fabric cluster presents its own certificate, so only the pinned
//! thumbprint can make the host trust it.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::*;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha1::{Digest, Sha1};

const RESOURCE: &str = "https://management.azure.com";
const PATH: &str = "/metadata/identity/oauth2/token";
const SECRET: &str = "fake-service-fabric-secret";
const TOKEN_BODY: &str = r#"{"access_token":"FAKE-AT-0090","expires_on":"1900000000","token_type":"Bearer","resource":"https://management.azure.com"}"#;

/// A request that the server received after the TLS handshake.
#[derive(Clone, Debug)]
struct SeenRequest {
    /// The request line, such as `GET /path?query HTTP/1.1`.
    request_line: String,
    /// The value of the `Secret` header, if sent.
    secret: Option<String>,
}

/// A TLS server that responds to every request with one status and body.
struct FabricServer {
    port: u16,
    /// The certificate's SHA-1 thumbprint as `openssl` prints it: uppercase hex pairs
    /// separated by colons.
    thumbprint: String,
    requests: Arc<Mutex<Vec<SeenRequest>>>,
}

impl FabricServer {
    fn start(dir: &Path, status: u16, body: &'static str) -> FabricServer {
        let (certificate, key, thumbprint) = self_signed_certificate(dir);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificate], key)
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                stream
                    .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                    .unwrap();
                let connection = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, stream);
                // A failed handshake (the client rejected the certificate) ends here.
                let Some(head) = read_head(&mut tls) else { continue };
                seen.lock().unwrap().push(parse_head(&head));
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                _ = tls.write_all(response.as_bytes());
                tls.conn.send_close_notify();
                _ = tls.flush();
            }
        });
        FabricServer {
            port,
            thumbprint,
            requests,
        }
    }

    fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}{PATH}", self.port)
    }

    fn requests(&self) -> Vec<SeenRequest> {
        self.requests.lock().unwrap().clone()
    }
}

/// Creates a self-signed P-256 certificate with `openssl` and returns it, its private
/// key and its SHA-1 thumbprint as `openssl` prints it.
fn self_signed_certificate(
    dir: &Path,
) -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(output.status.success(), "openssl {args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    openssl(&[
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=fabric.test",
    ]);
    openssl(&["x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der"]);
    openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER", "-out", "key.der"]);
    let fingerprint = openssl(&["x509", "-in", "cert.pem", "-noout", "-fingerprint", "-sha1"]);
    let thumbprint = fingerprint
        .trim()
        .split_once('=')
        .map(|(_, value)| value.to_string())
        .expect("openssl prints NAME=FINGERPRINT");

    let certificate = std::fs::read(dir.join("cert.der")).unwrap();
    let key = std::fs::read(dir.join("key.der")).unwrap();
    // The thumbprint is the SHA-1 digest of the certificate's DER bytes.
    let digest: String = Sha1::digest(&certificate)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect();
    assert_eq!(thumbprint.replace(':', ""), digest);
    (
        CertificateDer::from(certificate),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        thumbprint,
    )
}

/// Reads up to the end of the request head. Returns `None` when the handshake or the
/// read fails.
fn read_head(stream: &mut impl Read) -> Option<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buffer[..read]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn parse_head(head: &str) -> SeenRequest {
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or("").to_string();
    let secret = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("secret"))
        .map(|(_, value)| value.trim().to_string());
    SeenRequest {
        request_line,
        secret,
    }
}

/// `azauth get-token --methods msi` with the Service Fabric variables set.
fn fabric_command(sandbox: &Sandbox, endpoint: &str, thumbprint: &str) -> Command {
    let mut command = sandbox.azauth();
    command
        .env("IDENTITY_ENDPOINT", endpoint)
        .env("IDENTITY_HEADER", SECRET)
        .env("IDENTITY_SERVER_THUMBPRINT", thumbprint)
        .args(["get-token", "--scope", SCOPE, "--methods", "msi"]);
    command
}

#[test]
fn pinned_thumbprint_gets_token() {
    let sandbox = Sandbox::new();
    let server = FabricServer::start(sandbox.path(), 200, TOKEN_BODY);
    // Lowercase, with the colons that `openssl` prints: both are accepted.
    let thumbprint = server.thumbprint.to_lowercase();
    let finished = run(&mut fabric_command(&sandbox, &server.endpoint(), &thumbprint));
    let json = finished.assert_code(0).json();
    assert_eq!(json["accessToken"], "FAKE-AT-0090");
    assert_eq!(json["expires_on"], 1_900_000_000);
    assert_eq!(json["authMethod"], "msi");

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let resource = RESOURCE.replace(':', "%3A").replace('/', "%2F");
    assert_eq!(
        requests[0].request_line,
        format!("GET {PATH}?api-version=2019-07-01-preview&resource={resource} HTTP/1.1")
    );
    assert_eq!(requests[0].secret.as_deref(), Some(SECRET));
    assert!(!finished.stderr.contains(SECRET), "{}", finished.stderr);
}

#[test]
fn numeric_expires_on_accepted() {
    let sandbox = Sandbox::new();
    let body = r#"{"access_token":"FAKE-AT-0091","expires_on":1900000000,"token_type":"Bearer","resource":"https://management.azure.com"}"#;
    let server = FabricServer::start(sandbox.path(), 200, body);
    let finished = run(&mut fabric_command(&sandbox, &server.endpoint(), &server.thumbprint));
    let json = finished.assert_code(0).json();
    assert_eq!(json["accessToken"], "FAKE-AT-0091");
    assert_eq!(json["expires_on"], 1_900_000_000);
}

#[test]
fn wrong_thumbprint_fails_before_secret() {
    let sandbox = Sandbox::new();
    let server = FabricServer::start(sandbox.path(), 200, TOKEN_BODY);
    let wrong = "0123456789ABCDEF0123456789ABCDEF01234567";
    assert_ne!(server.thumbprint.replace(':', ""), wrong);
    let finished = run(&mut fabric_command(&sandbox, &server.endpoint(), wrong));
    finished.assert_code(1);
    assert!(finished.stderr.contains("msi: failed"), "{finished:#?}");
    let host = format!("127.0.0.1:{}", server.port);
    assert!(
        finished.stderr.contains(&format!("TLS certificate of {host} was not trusted")),
        "{finished:#?}"
    );
    assert!(
        finished.stderr.contains("IDENTITY_SERVER_THUMBPRINT"),
        "{finished:#?}"
    );
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert!(!finished.stderr.contains(SECRET), "{}", finished.stderr);
}

#[test]
fn user_assigned_selector_fails() {
    let sandbox = Sandbox::new();
    let server = FabricServer::start(sandbox.path(), 200, TOKEN_BODY);
    let finished = run(fabric_command(&sandbox, &server.endpoint(), &server.thumbprint)
        .env("AZURE_CLIENT_ID", "99999999-8888-7777-6666-555555555555"));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(
            "msi: failed: Service Fabric does not support choosing a user-assigned identity"
        ),
        "{finished:#?}"
    );
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn endpoint_error_fails_with_message() {
    let sandbox = Sandbox::new();
    let body = r#"{"error":{"code":"SecretHeaderNotFound","message":"Secret is not found in the request headers."}}"#;
    let server = FabricServer::start(sandbox.path(), 401, body);
    let finished = run(&mut fabric_command(&sandbox, &server.endpoint(), &server.thumbprint));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains("msi: failed: the Service Fabric endpoint rejected the token request"),
        "{finished:#?}"
    );
    assert!(finished.stderr.contains("HTTP 401"), "{finished:#?}");
    assert!(finished.stderr.contains("SecretHeaderNotFound"), "{finished:#?}");
}

#[test]
fn invalid_thumbprint_fails_and_sends_nothing() {
    let sandbox = Sandbox::new();
    let server = FabricServer::start(sandbox.path(), 200, TOKEN_BODY);
    let finished = run(&mut fabric_command(&sandbox, &server.endpoint(), "0123"));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains("msi: failed: IDENTITY_SERVER_THUMBPRINT is invalid"),
        "{finished:#?}"
    );
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn plain_http_endpoint_fails() {
    let sandbox = Sandbox::new();
    let port = refused_port();
    let endpoint = format!("http://127.0.0.1:{port}{PATH}");
    let finished = run(&mut fabric_command(
        &sandbox,
        &endpoint,
        "0123456789ABCDEF0123456789ABCDEF01234567",
    ));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains("is not an https URL"),
        "{finished:#?}"
    );
}
