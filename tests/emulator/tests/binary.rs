//! The `azauth-emulator` command run as a separate process.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use azauth_emulator::demo;
use common::{form_encode, parse_response, post_request, send_raw};

fn emulator_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_azauth-emulator"))
}

/// Kills the child on drop, so a failing assertion does not leave the process running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn binary_serves_and_logs_without_secrets() {
    let child = emulator_command()
        .args(["--port", "0", "--token-lifetime", "77"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the emulator binary starts");
    let mut child = KillOnDrop(child);

    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut first_line = String::new();
    stdout.read_line(&mut first_line).unwrap();
    let url = first_line
        .strip_prefix("azauth-emulator listening on ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"));
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("unexpected URL {url:?}"));

    let health = parse_response(&send_raw(port, b"GET /health HTTP/1.1\r\n\r\n").unwrap());
    assert_eq!(health.status, 200);
    assert_eq!(health.text(), "ok");

    let body = form_encode(&[
        ("grant_type", "client_credentials"),
        ("client_id", demo::CLIENT_ID),
        ("client_secret", demo::CLIENT_SECRET),
        ("scope", "https://management.azure.com/.default"),
    ]);
    let path = format!("/{}/oauth2/v2.0/token", demo::TENANT_ID);
    let token = parse_response(
        &send_raw(
            port,
            &post_request(&path, "", "application/x-www-form-urlencoded", &body),
        )
        .unwrap(),
    );
    assert_eq!(token.status, 200);
    let token_body = token.json();
    assert_eq!(token_body["expires_in"], 77);
    let access_token = token_body["access_token"].as_str().unwrap().to_owned();

    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let mut log = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();

    assert!(log.contains("GET /health 200\n"), "{log}");
    assert!(log.contains(&format!("POST {path} 200\n")), "{log}");
    assert!(!log.contains(demo::CLIENT_SECRET), "{log}");
    assert!(!log.contains(&access_token), "{log}");
    assert!(!log.contains("grant_type"), "{log}");
}

#[test]
fn binary_help() {
    let output = emulator_command().arg("--help").output().unwrap();

    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("Usage: azauth-emulator [--port N] [--token-lifetime SECS]\n"),
        "{text}"
    );
    assert!(text.contains("--token-lifetime SECS"), "{text}");
}

#[test]
fn binary_rejects_unknown_argument() {
    let output = emulator_command().arg("--bogus").output().unwrap();

    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "azauth-emulator: unknown argument '--bogus'\nRun 'azauth-emulator --help' for usage.\n"
    );
}
