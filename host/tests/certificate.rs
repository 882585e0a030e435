//! The certificate method and env's certificate variables, end to end: the real
//! binary, the component and the emulator, which verifies every assertion.

mod common;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::*;
use sha2::Digest;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/certificates/");
const CERT_PASSWORD: &str = "fake-cert-password";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{name}")).unwrap()
}

fn start() -> Emulator {
    let config = EmulatorConfig::default().add_certificate_app(CLIENT, fixture("leaf.der"));
    Emulator::start(config).expect("emulator starts")
}

/// Copies a fixture into the sandbox and returns its path there.
fn place(sandbox: &Sandbox, name: &str) -> std::path::PathBuf {
    let path = sandbox.path().join(name);
    std::fs::write(&path, fixture(name)).unwrap();
    path
}

fn certificate_args(emulator: &Emulator, path: &std::path::Path) -> Vec<String> {
    vec![
        "get-token".into(),
        "--scope".into(),
        SCOPE.into(),
        "--methods".into(),
        "certificate".into(),
        "--tenant-id".into(),
        TENANT.into(),
        "--client-id".into(),
        CLIENT.into(),
        "--client-certificate".into(),
        path.display().to_string(),
        "--authority-host".into(),
        emulator.url(),
    ]
}

fn decode(segment: &str) -> serde_json::Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// Header and claims of the one assertion the emulator received, after checking the
/// form fields around it.
fn sent_assertion(emulator: &Emulator) -> (serde_json::Value, serde_json::Value) {
    let requests = token_requests(emulator);
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, format!("/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(request.form_value("grant_type").as_deref(), Some("client_credentials"));
    assert_eq!(request.form_value("client_id").as_deref(), Some(CLIENT));
    assert_eq!(request.form_value("scope").as_deref(), Some(SCOPE));
    assert_eq!(request.form_value("client_assertion_type").as_deref(), Some(JWT_BEARER));
    assert_eq!(request.form_value("client_secret"), None);
    assert_eq!(request.header("authorization"), None);
    let assertion = request.form_value("client_assertion").unwrap();
    let segments: Vec<&str> = assertion.split('.').collect();
    assert_eq!(segments.len(), 3);
    assert!(!assertion.contains('='), "{assertion}");
    (decode(segments[0]), decode(segments[1]))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn every_file_form_produces_token() {
    let thumbprint = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(fixture("leaf.der")));
    let cases = [
        ("key-first.pem", None),
        ("cert-first.pem", None),
        ("pkcs1.pem", None),
        ("encrypted.pem", Some(CERT_PASSWORD)),
        ("chain.pem", None),
        ("with-password.pfx", Some(CERT_PASSWORD)),
        ("no-password.pfx", None),
        ("legacy.pfx", Some(CERT_PASSWORD)),
    ];
    for (name, password) in cases {
        let emulator = start();
        let sandbox = Sandbox::new();
        let path = place(&sandbox, name);
        let mut command = sandbox.azauth();
        command.args(certificate_args(&emulator, &path));
        if let Some(password) = password {
            command.args(["--client-certificate-password", password]);
        }
        let before = now();
        let finished = run(&mut command);
        finished.assert_code(0);
        assert_eq!(finished.json()["authMethod"], "certificate", "{name}");
        assert_eq!(finished.json()["accessToken"], emulator.issued_tokens()[0].access_token.as_str());

        let (header, claims) = sent_assertion(&emulator);
        assert_eq!(
            header,
            serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": thumbprint}),
            "{name}"
        );
        assert_eq!(claims["aud"], format!("{}/{TENANT}/oauth2/v2.0/token", emulator.url()));
        assert_eq!(claims["iss"], CLIENT);
        assert_eq!(claims["sub"], CLIENT);
        let jti = claims["jti"].as_str().unwrap();
        assert_eq!(jti.len(), 36, "{jti}");
        assert_eq!(&jti[14..15], "4", "a version 4 UUID: {jti}");
        let not_before = claims["nbf"].as_u64().unwrap();
        assert!(not_before >= before && not_before <= now(), "{not_before}");
        assert_eq!(claims["exp"].as_u64().unwrap(), not_before + 600);
        assert_eq!(claims.as_object().unwrap().len(), 6, "{claims}");
        if let Some(password) = password {
            assert!(!finished.stderr.contains(password));
        }
    }
}

#[test]
fn chain_sent_only_when_asked() {
    let leaf = STANDARD.encode(fixture("leaf.der"));
    let ca_text = String::from_utf8(fixture("ca.pem")).unwrap();
    let ca: String = ca_text.lines().filter(|line| !line.starts_with("-----")).collect();
    for (name, password) in [("chain.pem", None), ("with-password.pfx", Some(CERT_PASSWORD))] {
        for send in [false, true] {
            let emulator = start();
            let sandbox = Sandbox::new();
            let path = place(&sandbox, name);
            let mut command = sandbox.azauth();
            command.args(certificate_args(&emulator, &path));
            if let Some(password) = password {
                command.args(["--client-certificate-password", password]);
            }
            if send {
                command.arg("--send-certificate-chain");
            }
            run(&mut command).assert_code(0);
            let (header, _) = sent_assertion(&emulator);
            if send {
                assert_eq!(header["x5c"], serde_json::json!([leaf, ca]), "{name}");
            } else {
                assert_eq!(header.get("x5c"), None, "{name}");
            }
        }
    }
}

#[test]
fn env_certificate_variables_produce_token() {
    for (chain_value, expect_chain) in [("true", true), ("1", true), ("TRUE", true), ("false", false), ("0", false)] {
        let emulator = start();
        let sandbox = Sandbox::new();
        let path = place(&sandbox, "encrypted.pem");
        let finished = run(sandbox
            .azauth()
            .args(["get-token", "--scope", SCOPE, "--methods", "env", "--authority-host", &emulator.url()])
            .env("AZURE_CLIENT_ID", CLIENT)
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_CERTIFICATE_PATH", &path)
            .env("AZURE_CLIENT_CERTIFICATE_PASSWORD", CERT_PASSWORD)
            .env("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", chain_value));
        finished.assert_code(0);
        assert_eq!(finished.json()["authMethod"], "env");
        let (header, _) = sent_assertion(&emulator);
        // encrypted.pem holds the leaf alone, so the chain has one entry.
        assert_eq!(header.get("x5c").is_some(), expect_chain, "{chain_value}");
    }
}

#[test]
fn env_secret_wins_over_certificate() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let path = place(&sandbox, "key-first.pem");
    let finished = run(sandbox
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--methods", "env", "--authority-host", &emulator.url()])
        .env("AZURE_CLIENT_ID", CLIENT)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_SECRET", SECRET)
        .env("AZURE_CLIENT_CERTIFICATE_PATH", &path));
    finished.assert_code(0);
    let request = &token_requests(&emulator)[0];
    assert_eq!(request.form_value("client_secret").as_deref(), Some(SECRET));
    assert_eq!(request.form_value("client_assertion"), None);
}

#[test]
fn certificate_from_config() {
    let emulator = start();
    let sandbox = Sandbox::new();
    place(&sandbox, "with-password.pfx");
    // A relative path, read from the working folder as MSTICPy would.
    let config = sandbox.write(
        "msticpyconfig.yaml",
        &format!(
            "Azure:\n  auth_methods: [certificate]\nDataProviders:\n  AzureCLI:\n    Args:\n      \
             clientId: {CLIENT}\n      tenantId: {TENANT}\n      certificatePath: with-password.pfx\n      \
             certificatePassword:\n        EnvironmentVar: MY_CERT_PASSWORD\n"
        ),
    );
    let finished = run(sandbox
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--authority-host", &emulator.url()])
        .arg("--config")
        .arg(&config)
        .env("MY_CERT_PASSWORD", CERT_PASSWORD));
    finished.assert_code(0);
    assert_eq!(finished.json()["authMethod"], "certificate");
    sent_assertion(&emulator);
}

#[test]
fn unusable_files_fail_with_cause() {
    let cases: [(&str, Option<&str>, &str); 9] = [
        ("absent.pem", None, "the file was not found (or is not a readable regular file); check the path"),
        ("encrypted.pem", None, "the private key is protected by a password and none was given; pass the password with --client-certificate-password"),
        ("encrypted.pem", Some("wrong-password"), "the password does not open the private key (wrong password)"),
        ("with-password.pfx", Some("wrong-password"), "the password does not open the private key (wrong password)"),
        ("with-password.pfx", None, "the private key is protected by a password and none was given"),
        ("cert-only.pem", None, "the file contains no private key"),
        ("mismatched.pem", None, "no certificate in the file matches the private key"),
        ("ec.pem", None, "the private key is an EC key, but Entra ID accepts only RSA keys"),
        ("garbage.pem", None, "the file is not a valid PEM or PFX (PKCS#12) certificate"),
    ];
    for (name, password, cause) in cases {
        let emulator = start();
        let sandbox = Sandbox::new();
        let path = sandbox.path().join(name);
        match name {
            "absent.pem" => {}
            "garbage.pem" => std::fs::write(&path, "this is not a certificate").unwrap(),
            _ => {
                place(&sandbox, name);
            }
        }
        let mut command = sandbox.azauth();
        command.args(certificate_args(&emulator, &path));
        if let Some(password) = password {
            command.args(["--client-certificate-password", password]);
        }
        let finished = run(&mut command);
        finished.assert_code(1);
        let expected = format!(
            "  certificate: failed: cannot use the certificate file {} (from --client-certificate): {cause}",
            path.display()
        );
        assert!(finished.stderr.contains(&expected), "{name}: {}", finished.stderr);
        assert!(token_requests(&emulator).is_empty(), "{name}");
        assert!(!finished.stderr.contains("wrong-password"), "{name}");
        assert!(!finished.stderr.contains("PRIVATE KEY"), "{name}");
    }
}

#[test]
fn env_password_hint_names_variable() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let path = place(&sandbox, "legacy.pfx");
    let finished = run(sandbox
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--methods", "env", "--authority-host", &emulator.url()])
        .env("AZURE_CLIENT_ID", CLIENT)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_CERTIFICATE_PATH", &path));
    finished.assert_code(1);
    let expected = format!(
        "  env: failed: cannot use the certificate file {} (from AZURE_CLIENT_CERTIFICATE_PATH): \
         the private key is protected by a password and none was given; set \
         AZURE_CLIENT_CERTIFICATE_PASSWORD to the file's password",
        path.display()
    );
    assert!(finished.stderr.contains(&expected), "{}", finished.stderr);
}

#[test]
fn unregistered_certificate_rejected_by_entra() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let path = place(&sandbox, "unregistered.pem");
    let finished = run(sandbox.azauth().args(certificate_args(&emulator, &path)));
    finished.assert_code(1);
    assert!(finished.stderr.contains("  certificate: failed: Entra ID rejected the token request"), "{}", finished.stderr);
    assert!(finished.stderr.contains("AADSTS700027"), "{}", finished.stderr);
    assert!(
        finished.stderr.contains("Hint: upload the certificate (with the matching thumbprint)"),
        "{}",
        finished.stderr
    );
}

#[test]
fn missing_inputs_leave_method_unavailable() {
    let sandbox = Sandbox::new();
    let finished = run(sandbox.azauth().args([
        "get-token", "--scope", SCOPE, "--methods", "certificate", "--client-id", CLIENT,
        "--authority-host", "http://127.0.0.1:9",
    ]));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(
            "  certificate: unavailable: missing tenant ID (--tenant-id, tenantId or Azure.tenant_id), \
             certificate file (--client-certificate or certificatePath)"
        ),
        "{}",
        finished.stderr
    );
}

#[test]
fn each_run_sends_fresh_assertion() {
    // The emulator rejects a jti it has seen, so the second run passes only with a new
    // assertion.
    let emulator = start();
    let sandbox = Sandbox::new();
    let path = place(&sandbox, "key-first.pem");
    for _ in 0..2 {
        run(sandbox.azauth().args(certificate_args(&emulator, &path))).assert_code(0);
    }
    let requests = token_requests(&emulator);
    assert_eq!(requests.len(), 2);
    assert_ne!(
        requests[0].form_value("client_assertion"),
        requests[1].form_value("client_assertion")
    );
}
