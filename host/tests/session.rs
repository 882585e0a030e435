//! The host library: sessions, the token cache and the network policy.

mod common;

use azauth::{AuthError, Authority, Outcome, Policy, Runtime, TokenOptions};
use common::*;

fn options(emulator: &Emulator) -> TokenOptions {
    TokenOptions {
        tenant_id: Some(TENANT.to_string()),
        client_id: Some(CLIENT.to_string()),
        client_secret: Some(SECRET.to_string()),
        authority_host: Some(emulator.url()),
        ..TokenOptions::default()
    }
}

fn loopback_policy(emulator: &Emulator) -> Policy {
    let mut policy = Policy::new();
    policy.allow_authority(&Authority::parse(&emulator.url()).unwrap());
    policy
}

fn methods(names: &str) -> Vec<String> {
    names.split(',').map(str::to_string).collect()
}

#[tokio::test(flavor = "current_thread")]
async fn session_caches_tokens_per_scope() {
    let emulator = Emulator::start(EmulatorConfig::default()).unwrap();
    let runtime = Runtime::new().unwrap();
    let mut session = runtime.session(&loopback_policy(&emulator)).await.unwrap();
    let options = options(&emulator);

    let first = session.get_token(&methods("clientsecret"), SCOPE, &options).await.unwrap().unwrap();
    let second = session.get_token(&methods("clientsecret"), SCOPE, &options).await.unwrap().unwrap();
    assert_eq!(first.token, second.token);
    assert_eq!(token_requests(&emulator).len(), 1);

    // Another scope, tenant form or client is another entry.
    let vault = "https://vault.azure.net/.default";
    let third = session.get_token(&methods("clientsecret"), vault, &options).await.unwrap().unwrap();
    assert_ne!(third.token, first.token);
    let by_domain = TokenOptions { tenant_id: Some("contoso.example".to_string()), ..options.clone() };
    session.get_token(&methods("clientsecret"), SCOPE, &by_domain).await.unwrap().unwrap();
    assert_eq!(token_requests(&emulator).len(), 3);

    // A new session starts with an empty cache.
    let mut fresh = runtime.session(&loopback_policy(&emulator)).await.unwrap();
    fresh.get_token(&methods("clientsecret"), SCOPE, &options).await.unwrap().unwrap();
    assert_eq!(token_requests(&emulator).len(), 4);
}

#[tokio::test(flavor = "current_thread")]
async fn token_near_expiry_is_refreshed() {
    // Tokens that live 200 s are inside the 5 minute refresh margin at once.
    let config = EmulatorConfig::default().token_lifetime_secs(200);
    let emulator = Emulator::start(config).unwrap();
    let runtime = Runtime::new().unwrap();
    let mut session = runtime.session(&loopback_policy(&emulator)).await.unwrap();
    let options = options(&emulator);
    let first = session.get_token(&methods("clientsecret"), SCOPE, &options).await.unwrap().unwrap();
    let second = session.get_token(&methods("clientsecret"), SCOPE, &options).await.unwrap().unwrap();
    assert_ne!(first.token, second.token);
    assert_eq!(token_requests(&emulator).len(), 2);

    // When the early refresh fails, the still-valid cached token is returned.
    emulator.push_fault(Fault::Close);
    let third = session.get_token(&methods("clientsecret"), SCOPE, &options).await.unwrap().unwrap();
    assert_eq!(third.token, second.token);
}

#[tokio::test(flavor = "current_thread")]
async fn policy_denial_names_host_and_sends_nothing() {
    let emulator = Emulator::start(EmulatorConfig::default()).unwrap();
    let runtime = Runtime::new().unwrap();
    // Grants nothing, so the loopback authority is out of reach.
    let mut session = runtime.session(&Policy::new()).await.unwrap();
    let result = session.get_token(&methods("clientsecret"), SCOPE, &options(&emulator)).await.unwrap();
    let Err(AuthError::NoToken(attempts)) = result else {
        panic!("expected no token, got {result:?}");
    };
    assert_eq!(attempts.len(), 1);
    assert!(matches!(attempts[0].outcome, Outcome::Failed));
    let host = emulator.url().trim_start_matches("http://").to_string();
    assert!(
        attempts[0].reason.contains(&format!("the host's network policy denied the request to {host}")),
        "{}",
        attempts[0].reason
    );
    assert!(emulator.requests().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn environment_is_limited_to_granted_variables() {
    let emulator = Emulator::start(EmulatorConfig::default()).unwrap();
    let runtime = Runtime::new().unwrap();
    // SAFETY: this test binary's other tests do not read these variables.
    unsafe {
        std::env::set_var("AZURE_CLIENT_ID", CLIENT);
        std::env::set_var("AZURE_TENANT_ID", TENANT);
        std::env::set_var("AZURE_CLIENT_SECRET", SECRET);
    }
    let options = TokenOptions { authority_host: Some(emulator.url()), ..TokenOptions::default() };

    // Without the grant, the component cannot see the variables.
    let mut session = runtime.session(&loopback_policy(&emulator)).await.unwrap();
    let result = session.get_token(&methods("env"), SCOPE, &options).await.unwrap();
    let Err(AuthError::NoToken(attempts)) = result else { panic!("{result:?}") };
    assert!(attempts[0].reason.starts_with("no AZURE_* credential variables are set"));

    let mut policy = loopback_policy(&emulator);
    policy.allow_method_variables();
    let mut session = runtime.session(&policy).await.unwrap();
    let token = session.get_token(&methods("env"), SCOPE, &options).await.unwrap().unwrap();
    assert_eq!(token.method, "env");
    assert_eq!(token.attempts.len(), 1);
    assert!(matches!(token.attempts[0].outcome, Outcome::Succeeded));
}

#[tokio::test(flavor = "current_thread")]
async fn list_methods_reports_implementation_state() {
    let runtime = Runtime::new().unwrap();
    let mut session = runtime.session(&Policy::new()).await.unwrap();
    let methods = session.list_methods().await.unwrap();
    let names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["env", "cli", "msi", "devicecode", "vscode", "powershell", "clientsecret", "certificate", "interactive", "workloadidentity"]
    );
    let clientsecret = methods.iter().find(|m| m.name == "clientsecret").unwrap();
    assert!(clientsecret.implemented);
    for name in ["msi", "cli", "powershell", "workloadidentity"] {
        let method = methods.iter().find(|m| m.name == name).unwrap();
        assert!(method.implemented, "{name}");
    }
    let workload = methods.iter().find(|m| m.name == "workloadidentity").unwrap();
    assert_eq!(workload.aliases, ["workload"]);
}
