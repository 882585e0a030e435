//! The `msi` method end to end against the emulator's managed identity endpoints.
//!
//! IMDS is always the emulator, or a refused or silent loopback port, through
//! `AZURE_POD_IDENTITY_AUTHORITY_HOST`; no test here contacts the real IMDS address.

mod common;

use std::time::{Duration, Instant};

use azauth_emulator::demo;
use azauth_emulator::managed_identity::{
    APP_SERVICE_PATH, ARC_PATH, AZURE_ML_PATH, CLOUD_SHELL_PATH, IMDS_PATH,
};
use common::*;

const RESOURCE: &str = "https://management.azure.com";

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("emulator starts")
}

fn imds_requests(emulator: &Emulator) -> Vec<azauth_emulator::RecordedRequest> {
    emulator
        .requests()
        .into_iter()
        .filter(|request| request.path == IMDS_PATH)
        .collect()
}

/// `azauth get-token --methods METHODS` with IMDS pointed at `imds`.
fn with_imds(sandbox: &Sandbox, imds: &str, methods: &str) -> std::process::Command {
    let mut command = sandbox.azauth_with_fakes();
    command
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", imds)
        .args(["get-token", "--scope", SCOPE, "--methods", methods]);
    command
}

const IMDS_OK: &str = r#"{"access_token": "FAKE-AT-0020", "expires_in": "86399", "expires_on": "1900000000",
 "not_before": "1899913600", "resource": "https://management.azure.com/", "token_type": "Bearer"}"#;

#[test]
fn imds_system_identity_request_and_token() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(&mut with_imds(&sandbox, &emulator.url(), "msi"));
    let json = finished.assert_code(0).json();
    let issued = emulator.issued_tokens();
    assert_eq!(json["accessToken"], issued[0].access_token.as_str());
    assert_eq!(json["authMethod"], "msi");
    assert_eq!(issued[0].client_id, demo::SYSTEM_IDENTITY_CLIENT_ID);

    let requests = imds_requests(&emulator);
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.header("metadata"), Some("true"));
    assert_eq!(
        request.query,
        [
            ("api-version".to_string(), "2018-02-01".to_string()),
            ("resource".to_string(), RESOURCE.to_string())
        ]
    );
}

#[test]
fn imds_expires_on_string_or_number() {
    let bodies = [
        IMDS_OK,
        r#"{"access_token": "FAKE-AT-0021", "expires_on": 1900000000, "resource": "https://management.azure.com/", "token_type": "Bearer"}"#,
    ];
    for body in bodies {
        let emulator = start();
        emulator.push_fault_for(IMDS_PATH, azauth_emulator::Fault::json(200, body, &[]));
        let sandbox = Sandbox::new();
        let json = run(&mut with_imds(&sandbox, &emulator.url(), "msi"))
            .assert_code(0)
            .json();
        assert_eq!(json["expires_on"], 1_900_000_000, "{body}");
    }
}

#[test]
fn user_assigned_identity_by_each_selector() {
    let cases: [(&[&str], &[(&str, &str)], (&str, &str)); 4] = [
        (
            &[],
            &[("AZURE_CLIENT_ID", IDENTITY_CLIENT)],
            ("client_id", IDENTITY_CLIENT),
        ),
        (
            &["--client-id", IDENTITY_CLIENT],
            &[],
            ("client_id", IDENTITY_CLIENT),
        ),
        (
            &["--identity-object-id", demo::USER_IDENTITY_OBJECT_ID],
            &[],
            ("object_id", demo::USER_IDENTITY_OBJECT_ID),
        ),
        (
            &["--identity-resource-id", demo::USER_IDENTITY_RESOURCE_ID],
            &[],
            ("msi_res_id", demo::USER_IDENTITY_RESOURCE_ID),
        ),
    ];
    for (args, env, (name, value)) in cases {
        let emulator = start();
        let sandbox = Sandbox::new();
        let mut command = with_imds(&sandbox, &emulator.url(), "msi");
        command.args(args).envs(env.iter().copied());
        run(&mut command).assert_code(0);
        let request = &imds_requests(&emulator)[0];
        assert_eq!(
            request.query_value(name).as_deref(),
            Some(value),
            "{args:?} {env:?}"
        );
        assert_eq!(emulator.issued_tokens()[0].client_id, IDENTITY_CLIENT);
    }
}

#[test]
fn azure_client_id_wins_over_client_id_option() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let mut command = with_imds(&sandbox, &emulator.url(), "msi");
    command
        .env("AZURE_CLIENT_ID", IDENTITY_CLIENT)
        .args(["--client-id", "00000000-1111-2222-3333-444444444444"]);
    run(&mut command).assert_code(0);
    assert_eq!(
        imds_requests(&emulator)[0]
            .query_value("client_id")
            .as_deref(),
        Some(IDENTITY_CLIENT)
    );
}

#[test]
fn no_identity_is_unavailable_and_chain_continues() {
    let emulator = start();
    emulator.push_fault_for(IMDS_PATH, azauth_emulator::Fault::no_identity());
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &az_ok_body());
    let finished = run(&mut with_imds(&sandbox, &emulator.url(), "msi,cli"));
    let json = finished.assert_code(0).json();
    assert_eq!(json["accessToken"], "FAKE-AT-0002");
    assert_eq!(json["expires_on"], 1_900_000_000);
    assert_eq!(json["authMethod"], "cli");
    // IMDS got exactly one request: a 400 is not retried.
    assert_eq!(imds_requests(&emulator).len(), 1);
}

#[test]
fn updating_then_not_found_then_token() {
    let emulator = start();
    emulator.push_fault_for(IMDS_PATH, azauth_emulator::Fault::updating());
    emulator.push_fault_for(IMDS_PATH, azauth_emulator::Fault::json(404, "{}", &[]));
    emulator.push_fault_for(IMDS_PATH, azauth_emulator::Fault::json(200, IMDS_OK, &[]));
    let sandbox = Sandbox::new();
    let started = Instant::now();
    let json = run(&mut with_imds(&sandbox, &emulator.url(), "msi"))
        .assert_code(0)
        .json();
    assert_eq!(json["expires_on"], 1_900_000_000);
    let requests = imds_requests(&emulator);
    assert_eq!(requests.len(), 3);
    // Back-off of 1 s, then 2 s.
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn throttled_waits_retry_after_then_backs_off() {
    let emulator = start();
    emulator.push_fault_for(
        IMDS_PATH,
        azauth_emulator::Fault::Status {
            status: 429,
            body: "throttled, try again in 2s".to_string(),
            content_type: "text/plain".to_string(),
            headers: vec![("Retry-After".to_string(), "2".to_string())],
        },
    );
    emulator.push_fault_for(
        IMDS_PATH,
        azauth_emulator::Fault::json(
            429,
            r#"{"error": "invalid_request", "error_description": "fake throttle"}"#,
            &[],
        ),
    );
    emulator.push_fault_for(IMDS_PATH, azauth_emulator::Fault::json(200, IMDS_OK, &[]));
    let sandbox = Sandbox::new();
    let started = Instant::now();
    let json = run(&mut with_imds(&sandbox, &emulator.url(), "msi"))
        .assert_code(0)
        .json();
    assert_eq!(json["expires_on"], 1_900_000_000);
    assert_eq!(imds_requests(&emulator).len(), 3);
    // At least the 2 s of Retry-After before call 2, and 2 s of back-off before call 3.
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn retries_exhausted_is_failed_with_status_and_body() {
    let emulator = start();
    for _ in 0..6 {
        emulator.push_fault_for(IMDS_PATH, azauth_emulator::Fault::throttled(Some(0)));
    }
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &az_ok_body());
    let finished = run(&mut with_imds(&sandbox, &emulator.url(), "msi,cli"));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains("msi: failed: the IMDS endpoint rejected the token request for the system-assigned identity: HTTP 429: throttled, try again later"),
        "{finished:#?}"
    );
    // The endpoint is there, so the chain stopped and az never ran.
    assert!(sandbox.calls("az").is_empty());
    assert_eq!(imds_requests(&emulator).len(), 6);
}

#[test]
fn refused_imds_falls_through_at_once() {
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &az_ok_body());
    let imds = format!("http://127.0.0.1:{}", refused_port());
    let started = Instant::now();
    let finished = run(&mut with_imds(&sandbox, &imds, "msi,cli"));
    let json = finished.assert_code(0).json();
    assert_eq!(json["accessToken"], "FAKE-AT-0002");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn silent_imds_unavailable_after_probe_timeout() {
    let listener = silent_listener();
    let imds = format!("http://{}", listener.local_addr().unwrap());
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &az_ok_body());
    let finished = run(&mut with_imds(&sandbox, &imds, "msi,cli").args([
        "--imds-probe-timeout-ms",
        "300",
        "-v",
    ]));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "cli");
    assert!(
        finished.stderr.contains("msi unavailable after")
            && finished
                .stderr
                .contains("IMDS did not answer a probe within 300 ms"),
        "{finished:#?}"
    );
}

#[test]
fn silent_imds_reason_names_the_fix() {
    let listener = silent_listener();
    let imds = format!("http://{}", listener.local_addr().unwrap());
    let sandbox = Sandbox::new();
    let finished =
        run(&mut with_imds(&sandbox, &imds, "msi,cli").args(["--imds-probe-timeout-ms", "200"]));
    finished.assert_code(1);
    assert!(
        finished
            .stderr
            .contains("msi: unavailable: IMDS did not answer a probe within 200 ms"),
        "{finished:#?}"
    );
    assert!(
        finished.stderr.contains("--imds-probe-timeout-ms"),
        "{finished:#?}"
    );
}

#[test]
fn working_identity_ends_chain() {
    let emulator = start();
    emulator.push_fault_for(IMDS_PATH, azauth_emulator::Fault::json(200, IMDS_OK, &[]));
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &az_ok_body());
    let json = run(&mut with_imds(&sandbox, &emulator.url(), "msi,cli"))
        .assert_code(0)
        .json();
    assert_eq!(json["accessToken"], "FAKE-AT-0020");
    assert!(sandbox.calls("az").is_empty());
}

#[test]
fn app_service_request() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .env(
            "IDENTITY_ENDPOINT",
            format!("{}{APP_SERVICE_PATH}", emulator.url()),
        )
        .env("IDENTITY_HEADER", demo::IDENTITY_HEADER)
        .args([
            "get-token",
            "--scope",
            SCOPE,
            "--methods",
            "msi",
            "--identity-resource-id",
            demo::USER_IDENTITY_RESOURCE_ID,
        ]));
    finished.assert_code(0);
    let request = emulator
        .requests()
        .into_iter()
        .find(|r| r.path == APP_SERVICE_PATH)
        .unwrap();
    assert_eq!(
        request.header("x-identity-header"),
        Some(demo::IDENTITY_HEADER)
    );
    assert_eq!(
        request.query_value("api-version").as_deref(),
        Some("2019-08-01")
    );
    assert_eq!(
        request.query_value("mi_res_id").as_deref(),
        Some(demo::USER_IDENTITY_RESOURCE_ID)
    );
    assert_eq!(
        emulator.issued_tokens()[0].grant_type,
        "managed_identity:app_service"
    );
}

#[test]
fn azure_ml_sends_clientid_from_default_identity() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .env("MSI_ENDPOINT", format!("{}{AZURE_ML_PATH}", emulator.url()))
        .env("MSI_SECRET", demo::MSI_SECRET)
        .env("DEFAULT_IDENTITY_CLIENT_ID", IDENTITY_CLIENT)
        .args(["get-token", "--scope", SCOPE, "--methods", "msi"]));
    finished.assert_code(0);
    let request = emulator
        .requests()
        .into_iter()
        .find(|r| r.path == AZURE_ML_PATH)
        .unwrap();
    assert_eq!(request.header("secret"), Some(demo::MSI_SECRET));
    assert_eq!(
        request.query_value("api-version").as_deref(),
        Some("2017-09-01")
    );
    assert_eq!(
        request.query_value("clientid").as_deref(),
        Some(IDENTITY_CLIENT)
    );
    assert_eq!(request.query_value("client_id"), None);
}

#[test]
fn azure_ml_integer_and_date_text_expiry() {
    for body in [
        r#"{"access_token": "FAKE-AT-0040", "expires_on": 1900000000, "resource": "https://management.azure.com/", "token_type": "Bearer"}"#,
        r#"{"access_token": "FAKE-AT-0040", "expires_on": "03/17/2030 17:46:40 +00:00", "resource": "https://management.azure.com/", "token_type": "Bearer"}"#,
    ] {
        let emulator = start();
        emulator.push_fault_for(AZURE_ML_PATH, azauth_emulator::Fault::json(200, body, &[]));
        let sandbox = Sandbox::new();
        let json = run(sandbox
            .azauth()
            .env("MSI_ENDPOINT", format!("{}{AZURE_ML_PATH}", emulator.url()))
            .env("MSI_SECRET", demo::MSI_SECRET)
            .args(["get-token", "--scope", SCOPE, "--methods", "msi"]))
        .assert_code(0)
        .json();
        assert_eq!(json["expires_on"], 1_900_000_000, "{body}");
    }
}

#[test]
fn cloud_shell_form_post() {
    let emulator = start();
    let sandbox = Sandbox::new();
    run(sandbox
        .azauth()
        .env(
            "MSI_ENDPOINT",
            format!("{}{CLOUD_SHELL_PATH}", emulator.url()),
        )
        .args(["get-token", "--scope", SCOPE, "--methods", "msi"]))
    .assert_code(0);
    let request = emulator
        .requests()
        .into_iter()
        .find(|r| r.path == CLOUD_SHELL_PATH)
        .unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.form_value("resource").as_deref(), Some(RESOURCE));
    assert_eq!(request.header("metadata"), Some("true"));
}

/// Builds an Arc command whose key folder the host maps onto the agent's folder.
fn arc_command(sandbox: &Sandbox, emulator: &Emulator) -> std::process::Command {
    let mut command = sandbox.azauth();
    command
        .env("IDENTITY_ENDPOINT", format!("{}{ARC_PATH}", emulator.url()))
        .env("IMDS_ENDPOINT", emulator.url())
        .env("AZAUTH_ARC_TOKENS_DIR", sandbox.path().join("arc-tokens"))
        .args(["get-token", "--scope", SCOPE, "--methods", "msi"]);
    command
}

#[test]
fn arc_challenge_and_key_file() {
    let emulator = Emulator::start(
        EmulatorConfig::default().arc_key("/var/opt/azcmagent/tokens/abc.key", "arc-key-secret"),
    )
    .unwrap();
    let sandbox = Sandbox::new();
    sandbox.write("arc-tokens/abc.key", "arc-key-secret");
    let finished = run(&mut arc_command(&sandbox, &emulator));
    finished.assert_code(0);
    let requests: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|r| r.path == ARC_PATH)
        .collect();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("authorization"), None);
    assert_eq!(
        requests[1].header("authorization"),
        Some("Basic arc-key-secret")
    );
    assert_eq!(
        requests[1].query_value("api-version").as_deref(),
        Some("2020-06-01")
    );
    assert!(!finished.stderr.contains("arc-key-secret"));
}

#[test]
fn arc_key_file_rules() {
    let cases = [
        ("/etc/passwd", "is not in /var/opt/azcmagent/tokens"),
        ("/var/opt/azcmagent/tokens/abc.txt", "does not end in .key"),
        (
            "/var/opt/azcmagent/tokens/big.key",
            "is larger than 4096 bytes",
        ),
        ("/var/opt/azcmagent/tokens/missing.key", "could not be read"),
    ];
    for (realm, expected) in cases {
        let emulator = Emulator::start(EmulatorConfig::default().arc_key(realm, "x")).unwrap();
        let sandbox = Sandbox::new();
        sandbox.write("arc-tokens/big.key", &"k".repeat(4097));
        sandbox.write("arc-tokens/abc.txt", "x");
        let finished = run(&mut arc_command(&sandbox, &emulator));
        finished.assert_code(1);
        assert!(
            finished
                .stderr
                .contains("msi: failed: the Azure Arc challenge names the key file"),
            "{realm}: {finished:#?}"
        );
        assert!(finished.stderr.contains(expected), "{realm}: {finished:#?}");
        // Only the unauthenticated request was sent.
        assert_eq!(emulator.requests().len(), 1, "{realm}");
    }
}

#[test]
fn identity_endpoint_alone_is_unavailable() {
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .env("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token")
        .args(["get-token", "--scope", SCOPE, "--methods", "msi"]));
    finished.assert_code(1);
    assert!(
        finished
            .stderr
            .contains("msi: unavailable: IDENTITY_ENDPOINT is set"),
        "{finished:#?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn no_identity_remembered_for_the_session() {
    use azauth::{Policy, Runtime, TokenOptions};
    let emulator =
        Emulator::start(EmulatorConfig::default().system_assigned_identity(None)).unwrap();
    // SAFETY: the other tests of this binary run azauth with their own environment and
    // never read this process's.
    unsafe { std::env::set_var("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.url()) };
    let mut policy = Policy::new();
    policy
        .allow_method_variables()
        .allow_url_host(&emulator.url());
    let runtime = Runtime::new().unwrap();
    let mut session = runtime.session(&policy).await.unwrap();
    let methods = ["msi".to_string(), "powershell".to_string()];
    for _ in 0..2 {
        let error = session
            .get_token(&methods, SCOPE, &TokenOptions::default())
            .await
            .unwrap()
            .unwrap_err();
        let azauth::AuthError::NoToken(attempts) = error else {
            panic!("{error:?}")
        };
        assert!(matches!(attempts[0].outcome, azauth::Outcome::Unavailable));
        assert!(
            attempts[0].reason.contains("Identity not found"),
            "{}",
            attempts[0].reason
        );
    }
    // The second call did not ask IMDS again: an identity assigned while the process
    // runs must not change who it is.
    assert_eq!(imds_requests(&emulator).len(), 1);
}

#[test]
fn secrets_never_logged_at_trace() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth()
        .env("MSI_ENDPOINT", format!("{}{AZURE_ML_PATH}", emulator.url()))
        .env("MSI_SECRET", demo::MSI_SECRET)
        .args(["get-token", "--scope", SCOPE, "--methods", "msi", "-vvv"]));
    finished.assert_code(0);
    let token = &emulator.issued_tokens()[0].access_token;
    // Trace logging is on, so the check below reads real log lines.
    assert!(finished.stderr.contains("sending request"), "{}", finished.stderr);
    assert!(!finished.stderr.contains(demo::MSI_SECRET), "{}", finished.stderr);
    assert!(!finished.stderr.contains(token.as_str()), "{}", finished.stderr);
}
