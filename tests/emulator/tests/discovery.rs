//! OpenID Connect discovery, signing keys and user realm endpoints.

mod common;

use azauth_emulator::{Emulator, EmulatorConfig, demo};
use common::{ExpectedError, assert_entra_error, exchange, get};

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("emulator starts")
}

#[test]
fn openid_configuration_by_domain() {
    let emulator = start();

    let response = get(
        &emulator,
        "/contoso.example/v2.0/.well-known/openid-configuration",
    );

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let document = response.json();
    let tenant_url = format!("{}/{}", emulator.url(), demo::TENANT_ID);
    assert_eq!(document["issuer"], format!("{tenant_url}/v2.0"));
    assert_eq!(
        document["token_endpoint"],
        format!("{tenant_url}/oauth2/v2.0/token")
    );
    assert_eq!(
        document["authorization_endpoint"],
        format!("{tenant_url}/oauth2/v2.0/authorize")
    );
    assert_eq!(
        document["device_authorization_endpoint"],
        format!("{tenant_url}/oauth2/v2.0/devicecode")
    );
    assert_eq!(
        document["jwks_uri"],
        format!("{tenant_url}/discovery/v2.0/keys")
    );
    assert_eq!(document["cloud_instance_name"], "microsoftonline.com");
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        serde_json::json!([
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic"
        ])
    );
}

#[test]
fn openid_configuration_by_tenant_id() {
    let emulator = start();

    let document = get(
        &emulator,
        &format!("/{}/v2.0/.well-known/openid-configuration", demo::TENANT_ID),
    )
    .json();

    assert_eq!(
        document["issuer"],
        format!("{}/{}/v2.0", emulator.url(), demo::TENANT_ID)
    );
}

#[test]
fn openid_configuration_for_organizations() {
    let emulator = start();

    let document = get(
        &emulator,
        "/organizations/v2.0/.well-known/openid-configuration",
    )
    .json();

    assert_eq!(
        document["issuer"],
        format!("{}/{{tenantid}}/v2.0", emulator.url())
    );
    assert_eq!(
        document["token_endpoint"],
        format!("{}/organizations/oauth2/v2.0/token", emulator.url())
    );
}

#[test]
fn openid_configuration_unknown_tenant() {
    let emulator = start();

    let response = get(
        &emulator,
        "/fabrikam.example/v2.0/.well-known/openid-configuration",
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 400,
            error: "invalid_request",
            code: 90_002,
            message: "Tenant 'fabrikam.example' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.",
        },
    );
}

#[test]
fn openid_configuration_rejects_post() {
    let emulator = start();

    let response = exchange(
        &emulator,
        b"POST /common/v2.0/.well-known/openid-configuration HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );

    assert_eq!(response.status, 405);
}

#[test]
fn signing_keys_are_empty() {
    let emulator = start();

    let response = get(&emulator, "/contoso.example/discovery/v2.0/keys");

    assert_eq!(response.status, 200);
    assert_eq!(response.json(), serde_json::json!({ "keys": [] }));
}

#[test]
fn user_realm_managed() {
    let emulator = start();

    let response = get(
        &emulator,
        "/common/userrealm/fake.user%40contoso.example?api-version=1.0",
    );

    assert_eq!(response.status, 200);
    assert_eq!(
        response.json(),
        serde_json::json!({
            "ver": "1.0",
            "account_type": "Managed",
            "domain_name": "contoso.example",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        })
    );
    let recorded = &emulator.requests()[0];
    assert_eq!(recorded.query_value("api-version").as_deref(), Some("1.0"));
}

#[test]
fn user_realm_unknown_domain() {
    let emulator = start();

    let response = get(
        &emulator,
        "/common/userrealm/ada@fabrikam.example?api-version=1.0",
    );

    assert_eq!(response.status, 200);
    assert_eq!(
        response.json(),
        serde_json::json!({
            "ver": "1.0",
            "account_type": "Unknown",
            "domain_name": "fabrikam.example",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
        })
    );
}
