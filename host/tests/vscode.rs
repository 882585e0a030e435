//! The `vscode` method through `azauth`: the Azure Account extension's refresh token in
//! the keyring (a fake `secret-tool`, and a real Secret Service when gnome-keyring is
//! installed), and the Azure Resources extension's authentication record.

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::*;

const VS_CODE_CLIENT: &str = "aebc6443-996d-45c2-90f0-388ff96faa56";
const VAULT_SCOPE: &str = "https://vault.azure.net/.default";

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default().device_code_interval_secs(1)).unwrap()
}

/// Signs the demo user in for VS Code's client in a scratch sandbox and returns the
/// refresh token and home account ID that the emulator issued.
fn vs_code_refresh_token(emulator: &Emulator) -> (String, String) {
    let scratch = Sandbox::new();
    run(scratch
        .azauth()
        .args(["get-token", "--scope", SCOPE, "--methods", "env"])
        .env("AZURE_CLIENT_ID", VS_CODE_CLIENT)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_USERNAME", USER)
        .env("AZURE_PASSWORD", PASSWORD)
        .env("AZURE_AUTHORITY_HOST", emulator.url()))
    .assert_code(0);
    let text = std::fs::read_to_string(scratch.path().join(".cache/azauth/accounts-v1.json")).unwrap();
    let cache: serde_json::Value = serde_json::from_str(&text).unwrap();
    let account = &cache["accounts"][0];
    (
        account["refresh_token"].as_str().unwrap().to_string(),
        account["home_account_id"].as_str().unwrap().to_string(),
    )
}

/// Puts a fake `secret-tool` first on PATH: it prints `secret` for the lookup of
/// `VS Code Azure` / `AzureCloud` and records its arguments.
fn fake_secret_tool(sandbox: &Sandbox, secret: &str) -> String {
    let script = sandbox.write(
        "bin/secret-tool",
        &format!(
            "#!/bin/sh\n\
             printf '%s|' \"$@\" >> \"$(dirname \"$0\")/../secret-tool-args.txt\"\n\
             if [ \"$*\" = 'lookup service VS Code Azure account AzureCloud' ]; then\n\
               printf '%s' '{secret}'\n  exit 0\nfi\nexit 1\n"
        ),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        script.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn vscode_args(emulator: &Emulator, methods: &str, scope: &str) -> Vec<String> {
    [
        "get-token",
        "--scope",
        scope,
        "--methods",
        methods,
        "--authority-host",
        &emulator.url(),
    ]
    .map(String::from)
    .to_vec()
}

fn write_settings(sandbox: &Sandbox) {
    sandbox.write(
        ".config/Code/User/settings.json",
        &format!("{{\n  // VS Code writes comments\n  \"azure.tenant\": \"{TENANT}\",\n}}\n"),
    );
}

#[test]
fn keyring_refresh_token_redeemed() {
    let emulator = start();
    let (refresh_token, _) = vs_code_refresh_token(&emulator);
    let sandbox = Sandbox::new();
    write_settings(&sandbox);
    let path = fake_secret_tool(&sandbox, &refresh_token);
    emulator.clear_requests();

    let finished = run(sandbox
        .azauth()
        .args(vscode_args(&emulator, "vscode", SCOPE))
        .arg("-vvv")
        .env("PATH", path));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "vscode");
    let args = std::fs::read_to_string(sandbox.path().join("secret-tool-args.txt")).unwrap();
    assert_eq!(args, "lookup|service|VS Code Azure|account|AzureCloud|");

    let requests = token_requests(&emulator);
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, format!("/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(
        request.form(),
        vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), refresh_token.clone()),
            ("scope".to_string(), format!("{SCOPE} openid profile offline_access")),
            ("client_id".to_string(), VS_CODE_CLIENT.to_string()),
            ("client_info".to_string(), "1".to_string()),
        ]
    );
    assert!(!finished.stderr.contains(&refresh_token), "refresh token in the log");
    assert!(!finished.stderr.contains(json["accessToken"].as_str().unwrap()));
}

#[test]
fn expired_refresh_token_lets_chain_continue() {
    let emulator = start();
    let sandbox = Sandbox::new();
    write_settings(&sandbox);
    let path = fake_secret_tool(&sandbox, "FAKE-RT-0001");
    emulator.push_fault(Fault::Status {
        status: 400,
        body: r#"{"error": "invalid_grant", "error_description": "AADSTS700082: fake: refresh token expired", "error_codes": [700082]}"#.to_string(),
        content_type: "application/json".to_string(),
        headers: vec![],
    });
    let mut args = vscode_args(&emulator, "vscode,clientsecret", SCOPE);
    args.extend(["--tenant-id", TENANT, "--client-id", CLIENT, "--client-secret", SECRET].map(String::from));
    let finished = run(sandbox.azauth().args(args).arg("-v").env("PATH", path));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "clientsecret");
    assert!(finished.stderr.contains("AADSTS700082"), "{}", finished.stderr);
    assert!(finished.stderr.contains("the sign-in has expired; sign in again"), "{}", finished.stderr);
    assert!(!finished.stderr.contains("FAKE-RT-0001"), "refresh token in the log");
}

#[test]
fn nothing_signed_in_is_unavailable() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let path = fake_secret_tool(&sandbox, "");
    let finished = run(sandbox
        .azauth()
        .args(vscode_args(&emulator, "vscode", SCOPE))
        .env("PATH", path));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(
            "vscode: unavailable: the Azure Resources extension's sign-in record \
             (~/.azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json) was not found; \
             the system keyring holds no Azure Account extension sign-in for AzureCloud \
             (service \"VS Code Azure\"). To use vscode, sign in to Azure in VS Code"
        ),
        "{}",
        finished.stderr
    );
    assert!(emulator.requests().is_empty());
}

#[test]
fn auth_record_uses_cached_sign_in() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let record_path = ".azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json";

    // A record alone: the tokens are in a broker that azauth cannot reach.
    let record = |home_account_id: &str| {
        format!(
            r#"{{"username":"{USER}","authority":"https://login.microsoftonline.com/{TENANT}","homeAccountId":"{home_account_id}","tenantId":"{TENANT}","clientId":"{VS_CODE_CLIENT}","datetimeAuthenticated":1}}"#
        )
    };
    sandbox.write(record_path, &record("u.t"));
    let finished = run(sandbox.azauth().args(vscode_args(&emulator, "vscode", SCOPE)));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(&format!("VS Code is signed in as {USER} with the Azure Resources extension")),
        "{}",
        finished.stderr
    );

    // Once signed in with VS Code's client, the record's account is found silently.
    let device = [
        "get-token", "--scope", SCOPE, "--methods", "devicecode", "--client-id", VS_CODE_CLIENT,
        "--tenant-id", TENANT, "--authority-host", &emulator.url(),
    ];
    run(sandbox.azauth().args(device)).assert_code(0);
    let cache: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.path().join(".cache/azauth/accounts-v1.json")).unwrap(),
    )
    .unwrap();
    let home_account_id = cache["accounts"][0]["home_account_id"].as_str().unwrap().to_string();
    sandbox.write(record_path, &record(&home_account_id));
    emulator.clear_requests();
    let finished = run(sandbox.azauth().args(vscode_args(&emulator, "vscode", VAULT_SCOPE)));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "vscode");
    let requests = token_requests(&emulator);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].form_value("grant_type").as_deref(), Some("refresh_token"));
    assert_eq!(requests[0].form_value("client_id").as_deref(), Some(VS_CODE_CLIENT));

    // An invalid record is named.
    sandbox.write(record_path, &record(&home_account_id).replace(VS_CODE_CLIENT, CLIENT));
    let finished = run(sandbox.azauth().args(vscode_args(&emulator, "vscode", VAULT_SCOPE)).arg("--no-cache"));
    finished.assert_code(1);
    assert!(finished.stderr.contains("sign-in record is invalid: clientId"), "{}", finished.stderr);
}

#[test]
fn real_secret_service_keyring() {
    if !secret_service_installed("real_secret_service_keyring") {
        return;
    }
    let emulator = start();
    let (refresh_token, _) = vs_code_refresh_token(&emulator);
    let sandbox = Sandbox::new();
    write_settings(&sandbox);
    emulator.clear_requests();
    let args = vscode_args(&emulator, "vscode", SCOPE).join(" ");
    let script = format!(
        "printf '%s' \"$SECRET\" | secret-tool store --label='VS Code Azure' service 'VS Code Azure' account AzureCloud || exit 97\n\
         unset SECRET\n\
         exec \"$AZAUTH\" {args}"
    );
    let finished = run_in_keyring_session(&sandbox, &refresh_token, &script);
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "vscode");
    let requests = token_requests(&emulator);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].form_value("refresh_token").as_deref(), Some(refresh_token.as_str()));
    assert!(!finished.stderr.contains(&refresh_token));
}
