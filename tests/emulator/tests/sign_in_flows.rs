//! Device code and authorization code flows: the devicecode and authorize endpoints and
//! their grants on the token endpoint.

mod common;

use azauth_emulator::{DevicePoll, Emulator, EmulatorConfig, demo};
use common::{HttpResponse, get, post_form, url_encode};

const SCOPE: &str = "https://management.azure.com/.default openid profile offline_access";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default().device_code_interval_secs(1)).expect("emulator starts")
}

fn start_device_code(emulator: &Emulator) -> serde_json::Value {
    let response = post_form(
        emulator,
        &format!("/{}/oauth2/v2.0/devicecode", demo::TENANT_ID),
        &[("client_id", demo::AZURE_CLI_CLIENT_ID), ("scope", SCOPE)],
    );
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

fn poll(emulator: &Emulator, device_code: &str) -> HttpResponse {
    post_form(
        emulator,
        &format!("/{}/oauth2/v2.0/token", demo::TENANT_ID),
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", demo::AZURE_CLI_CLIENT_ID),
            ("device_code", device_code),
        ],
    )
}

#[test]
fn device_code_response_has_entra_fields() {
    let emulator = start();
    let body = start_device_code(&emulator);
    let user_code = body["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert!(user_code.bytes().all(|b| b.is_ascii_uppercase()), "{user_code}");
    assert_eq!(body["verification_uri"], format!("{}/devicelogin", emulator.url()));
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["interval"], 1);
    assert_eq!(
        body["message"],
        format!(
            "To sign in, use a web browser to open the page {}/devicelogin and enter the code {user_code} to authenticate.",
            emulator.url()
        )
    );
}

#[test]
fn device_code_polls_follow_script_then_approve_once() {
    let emulator = start();
    let device_code = start_device_code(&emulator)["device_code"].as_str().unwrap().to_string();
    emulator.push_device_poll(DevicePoll::Pending);
    emulator.push_device_poll(DevicePoll::SlowDown);

    let pending = poll(&emulator, &device_code);
    assert_eq!(pending.status, 400);
    assert_eq!(pending.json()["error"], "authorization_pending");
    assert_eq!(pending.json()["error_codes"], serde_json::json!([70016]));
    assert_eq!(poll(&emulator, &device_code).json()["error"], "slow_down");

    let token = poll(&emulator, &device_code);
    assert_eq!(token.status, 200, "{}", token.text());
    let body = token.json();
    assert!(body["access_token"].is_string());
    assert!(body["refresh_token"].is_string());
    assert!(body["client_info"].is_string());
    let issued = emulator.issued_tokens();
    assert_eq!(issued[0].grant_type, DEVICE_GRANT);
    assert_eq!(issued[0].username.as_deref(), Some(demo::USERNAME));

    // A device code is redeemed once.
    assert_eq!(poll(&emulator, &device_code).json()["error"], "invalid_grant");
    assert_eq!(poll(&emulator, "no-such-code").json()["error"], "bad_verification_code");
}

#[test]
fn device_code_expires_or_is_declined() {
    let emulator = Emulator::start(EmulatorConfig::default().device_code_lifetime_secs(0)).unwrap();
    let device_code = start_device_code(&emulator)["device_code"].as_str().unwrap().to_string();
    let response = poll(&emulator, &device_code);
    assert_eq!(response.json()["error"], "expired_token");

    let fresh = start();
    let device_code = start_device_code(&fresh)["device_code"].as_str().unwrap().to_string();
    fresh.push_device_poll(DevicePoll::Declined);
    assert_eq!(poll(&fresh, &device_code).json()["error"], "authorization_declined");
}

#[test]
fn device_code_rejects_confidential_client() {
    let emulator = start();
    let response = post_form(
        &emulator,
        &format!("/{}/oauth2/v2.0/devicecode", demo::TENANT_ID),
        &[("client_id", demo::CLIENT_ID), ("scope", SCOPE)],
    );
    assert_eq!(response.status, 401);
    assert_eq!(response.json()["error_codes"], serde_json::json!([7000218]));
}

fn authorize(emulator: &Emulator, redirect_uri: &str, challenge: &str) -> HttpResponse {
    get(
        emulator,
        &format!(
            "/organizations/oauth2/v2.0/authorize?client_id={}&response_type=code&redirect_uri={}&scope={}&state=s1&code_challenge={challenge}&code_challenge_method=S256&login_hint={}",
            demo::AZURE_CLI_CLIENT_ID,
            url_encode(redirect_uri),
            url_encode(SCOPE),
            url_encode(demo::USERNAME)
        ),
    )
}

fn redeem(emulator: &Emulator, code: &str, redirect_uri: &str, verifier: &str) -> HttpResponse {
    post_form(
        emulator,
        "/organizations/oauth2/v2.0/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", demo::AZURE_CLI_CLIENT_ID),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("scope", SCOPE),
        ],
    )
}

// Verifier and S256 challenge computed with Python's hashlib and base64.
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9RVSDsTE8b2E5-j9frSnQBtRqX0";
const CHALLENGE: &str = "heaR6VL3NW33sJUXjYevFx1xbR31te0yf5gU0n3YjyA";

fn code_of(location: &str) -> String {
    let query = location.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("code="))
        .unwrap()
        .to_string()
}

#[test]
fn authorize_redirects_with_code_and_state() {
    let emulator = start();
    let redirect_uri = "http://localhost:8400";
    let response = authorize(&emulator, redirect_uri, CHALLENGE);
    assert_eq!(response.status, 302);
    let location = response.header("location").unwrap().to_string();
    assert!(location.starts_with("http://localhost:8400?code=emu-code-"), "{location}");
    assert!(location.ends_with("&state=s1"), "{location}");
    // No client_info was requested, so none is sent.
    assert!(!location.contains("client_info"), "{location}");

    let code = code_of(&location);
    let wrong_verifier = redeem(&emulator, &code, redirect_uri, "wrong-verifier-wrong-verifier-wrong-verif");
    assert_eq!(wrong_verifier.json()["error_codes"], serde_json::json!([501481]));
    let wrong_redirect = redeem(&emulator, &code, "http://localhost:9999", VERIFIER);
    assert_eq!(wrong_redirect.json()["error_codes"], serde_json::json!([50011]));

    let token = redeem(&emulator, &code, redirect_uri, VERIFIER);
    assert_eq!(token.status, 200, "{}", token.text());
    assert!(token.json()["refresh_token"].is_string());
    // A code is redeemed once.
    assert_eq!(redeem(&emulator, &code, redirect_uri, VERIFIER).status, 400);
}

#[test]
fn authorize_rejects_non_loopback_redirect() {
    let emulator = start();
    let response = authorize(&emulator, "https://evil.example/callback", CHALLENGE);
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error_codes"], serde_json::json!([50011]));
    assert!(response.header("location").is_none());
}
