//! The `workloadidentity` method end to end: a federated token file as the client
//! assertion of a client credentials request to the emulator.

mod common;

use common::*;

const ASSERTION: &str = "fake.federated.token-1";

fn start() -> Emulator {
    Emulator::start(
        EmulatorConfig::default()
            .add_federated_assertion(CLIENT, ASSERTION)
            .add_federated_assertion(CLIENT, "fake.federated.token-2"),
    )
    .expect("emulator starts")
}

fn workload(
    sandbox: &Sandbox,
    emulator: &Emulator,
    token_file: &std::path::Path,
) -> std::process::Command {
    let mut command = sandbox.azauth();
    command
        .env("AZURE_FEDERATED_TOKEN_FILE", token_file)
        .env("AZURE_CLIENT_ID", CLIENT)
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_AUTHORITY_HOST", emulator.url())
        .args(["get-token", "--scope", SCOPE, "--methods", "workload"]);
    command
}

#[test]
fn token_file_becomes_client_assertion() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let token_file = sandbox.write("tokens/azure-identity-token", &format!("{ASSERTION}\n"));
    let finished = run(&mut workload(&sandbox, &emulator, &token_file));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "workloadidentity");
    assert_eq!(json["tenant"], TENANT);

    let requests = token_requests(&emulator);
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, format!("/{TENANT}/oauth2/v2.0/token"));
    let form = request.form();
    let mut names: Vec<&str> = form.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "client_assertion",
            "client_assertion_type",
            "client_id",
            "grant_type",
            "scope"
        ]
    );
    assert_eq!(
        request.form_value("client_assertion").as_deref(),
        Some(ASSERTION)
    );
    assert_eq!(
        request.form_value("client_assertion_type").as_deref(),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert_eq!(
        request.form_value("grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(request.form_value("client_id").as_deref(), Some(CLIENT));
    assert_eq!(request.form_value("scope").as_deref(), Some(SCOPE));
    assert!(!finished.stderr.contains(ASSERTION));
}

#[test]
fn unknown_assertion_is_failed() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let token_file = sandbox.write("tokens/token", "not-registered");
    let finished = run(&mut workload(&sandbox, &emulator, &token_file));
    finished.assert_code(1);
    assert!(
        finished
            .stderr
            .contains("workloadidentity: failed: Entra ID rejected the token request"),
        "{finished:#?}"
    );
    assert!(finished.stderr.contains("AADSTS70021"), "{finished:#?}");
}

#[test]
fn missing_variables_are_unavailable() {
    let sandbox = Sandbox::new();
    let finished = run(sandbox.azauth().env("AZURE_CLIENT_ID", CLIENT).args([
        "get-token",
        "--scope",
        SCOPE,
        "--methods",
        "workloadidentity",
    ]));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(
            "workloadidentity: unavailable: AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID not set"
        ),
        "{finished:#?}"
    );
}

#[test]
fn missing_file_is_failed_naming_it() {
    let emulator = start();
    let sandbox = Sandbox::new();
    let token_file = sandbox.path().join("tokens/absent");
    let finished = run(&mut workload(&sandbox, &emulator, &token_file));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(&format!(
            "workloadidentity: failed: AZURE_FEDERATED_TOKEN_FILE names {}",
            token_file.display()
        )),
        "{finished:#?}"
    );
    assert!(token_requests(&emulator).is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn rotated_file_read_for_next_token() {
    use azauth::{Policy, Runtime, TokenOptions};
    // Tokens that live 1 s are due for refresh at once, so every call asks again.
    let emulator = Emulator::start(
        EmulatorConfig::default()
            .add_federated_assertion(CLIENT, ASSERTION)
            .add_federated_assertion(CLIENT, "fake.federated.token-2")
            .token_lifetime_secs(1),
    )
    .unwrap();
    let sandbox = Sandbox::new();
    let token_file = sandbox.write("tokens/token", ASSERTION);
    // SAFETY: this test binary's other tests run the azauth binary, not this process's
    // environment.
    unsafe {
        std::env::set_var("AZURE_FEDERATED_TOKEN_FILE", &token_file);
        std::env::set_var("AZURE_CLIENT_ID", CLIENT);
        std::env::set_var("AZURE_TENANT_ID", TENANT);
    }
    let mut policy = Policy::new();
    policy
        .allow_method_variables()
        .allow_authority(&azauth::Authority::parse(&emulator.url()).unwrap())
        .allow_read_dir(
            token_file.parent().unwrap(),
            token_file.parent().unwrap().to_str().unwrap(),
        );
    let runtime = Runtime::new().unwrap();
    let mut session = runtime.session(&policy).await.unwrap();
    let options = TokenOptions {
        authority_host: Some(emulator.url()),
        ..TokenOptions::default()
    };
    let methods = ["workloadidentity".to_string()];
    session
        .get_token(&methods, SCOPE, &options)
        .await
        .unwrap()
        .unwrap();
    std::fs::write(&token_file, "fake.federated.token-2").unwrap();
    session
        .get_token(&methods, SCOPE, &options)
        .await
        .unwrap()
        .unwrap();

    let assertions: Vec<Option<String>> = token_requests(&emulator)
        .iter()
        .map(|request| request.form_value("client_assertion"))
        .collect();
    assert_eq!(
        assertions,
        [
            Some(ASSERTION.to_string()),
            Some("fake.federated.token-2".to_string())
        ]
    );
}
