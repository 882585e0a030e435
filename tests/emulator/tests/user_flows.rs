//! Password and refresh token grants on the token endpoint.

mod common;

use azauth_emulator::{Emulator, EmulatorConfig, demo};
use common::{ExpectedError, HttpResponse, assert_entra_error, base64url_decode, post_form};
use serde_json::Value;

const ARM_SCOPE: &str = "https://management.azure.com/.default";
const MSAL_SCOPE: &str = "https://management.azure.com/.default openid profile offline_access";

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("emulator starts")
}

fn token_path(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/token")
}

fn password_request(
    emulator: &Emulator,
    tenant: &str,
    username: &str,
    password: &str,
    scope: &str,
) -> HttpResponse {
    post_form(
        emulator,
        &token_path(tenant),
        &[
            ("grant_type", "password"),
            ("client_id", demo::AZURE_CLI_CLIENT_ID),
            ("username", username),
            ("password", password),
            ("scope", scope),
        ],
    )
}

fn refresh_request(
    emulator: &Emulator,
    tenant: &str,
    client_id: &str,
    refresh_token: &str,
) -> HttpResponse {
    post_form(
        emulator,
        &token_path(tenant),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ],
    )
}

fn decode_json(base64url: &str) -> Value {
    serde_json::from_slice(&base64url_decode(base64url)).expect("Base64url-encoded JSON")
}

/// Returns the header and claims of an unsigned ID token.
fn decode_id_token(id_token: &str) -> (Value, Value) {
    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3, "{id_token}");
    assert_eq!(parts[2], "", "an unsigned token has an empty signature");
    (decode_json(parts[0]), decode_json(parts[1]))
}

#[test]
fn password_grant_success() {
    let emulator = start();

    let response = password_request(
        &emulator,
        demo::DOMAIN,
        demo::USERNAME,
        demo::PASSWORD,
        MSAL_SCOPE,
    );

    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], ARM_SCOPE);
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    assert!(
        body["access_token"]
            .as_str()
            .unwrap()
            .starts_with("emu-at-1-")
    );
    assert!(
        body["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("emu-rt-2-")
    );

    let client_info = decode_json(body["client_info"].as_str().unwrap());
    assert_eq!(client_info["utid"], demo::TENANT_ID);
    let object_id = client_info["uid"].as_str().unwrap().to_owned();
    assert_eq!(object_id.len(), 36);

    let (header, claims) = decode_id_token(body["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "none");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["tid"], demo::TENANT_ID);
    assert_eq!(claims["oid"], object_id);
    assert_eq!(claims["preferred_username"], demo::USERNAME);
    assert_eq!(claims["aud"], demo::AZURE_CLI_CLIENT_ID);
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(
        claims["iss"],
        format!("{}/{}/v2.0", emulator.url(), demo::TENANT_ID)
    );
    let issued_at = claims["iat"].as_u64().unwrap();
    assert_eq!(claims["exp"].as_u64().unwrap(), issued_at + 3599);

    let issued = &emulator.issued_tokens()[0];
    assert_eq!(issued.grant_type, "password");
    assert_eq!(issued.username.as_deref(), Some(demo::USERNAME));
    assert_eq!(issued.client_id, demo::AZURE_CLI_CLIENT_ID);
    assert_eq!(issued.scope, MSAL_SCOPE);
    assert_eq!(issued.tenant_id, demo::TENANT_ID);
}

#[test]
fn password_grant_object_id_is_stable() {
    let emulator = start();
    let uid = |response: HttpResponse| {
        decode_json(response.json()["client_info"].as_str().unwrap())["uid"].clone()
    };

    let first = uid(password_request(
        &emulator,
        demo::TENANT_ID,
        demo::USERNAME,
        demo::PASSWORD,
        ARM_SCOPE,
    ));
    let second = uid(password_request(
        &emulator,
        demo::DOMAIN,
        demo::USERNAME,
        demo::PASSWORD,
        ARM_SCOPE,
    ));

    assert_eq!(first, second);
}

#[test]
fn password_grant_without_openid_scopes() {
    let emulator = start();

    let body = password_request(
        &emulator,
        demo::TENANT_ID,
        demo::USERNAME,
        demo::PASSWORD,
        ARM_SCOPE,
    )
    .json();

    // A refresh token needs offline_access and an ID token needs openid.
    assert_eq!(body["scope"], ARM_SCOPE);
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body.get("id_token").is_none(), "{body}");
    assert!(body["client_info"].is_string(), "{body}");
}

#[test]
fn password_grant_via_multi_tenant_segments() {
    let emulator = start();

    for tenant in ["organizations", "common"] {
        let response = password_request(
            &emulator,
            tenant,
            demo::USERNAME,
            demo::PASSWORD,
            MSAL_SCOPE,
        );
        assert_eq!(response.status, 200, "{tenant}: {}", response.text());
    }
    for token in emulator.issued_tokens() {
        assert_eq!(token.tenant_id, demo::TENANT_ID);
    }
}

#[test]
fn password_grant_wrong_password() {
    let emulator = start();

    let response = password_request(
        &emulator,
        demo::DOMAIN,
        demo::USERNAME,
        "wrong-password",
        MSAL_SCOPE,
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 400,
            error: "invalid_grant",
            code: 50_126,
            message: "Error validating credentials due to invalid username or password.",
        },
    );
    assert!(emulator.issued_tokens().is_empty());
}

#[test]
fn password_grant_unknown_user() {
    let emulator = start();

    let response = password_request(
        &emulator,
        demo::DOMAIN,
        "nobody@contoso.example",
        demo::PASSWORD,
        MSAL_SCOPE,
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 400,
            error: "invalid_grant",
            code: 50_034,
            message: "The user account {EUII Hidden} does not exist in the contoso.example directory. To sign into this application, the account must be added to the directory.",
        },
    );
}

#[test]
fn password_grant_user_of_other_tenant() {
    let config = EmulatorConfig::default()
        .add_tenant("fabrikam.example")
        .add_user("ada@fabrikam.example", "pw");
    let emulator = Emulator::start(config).unwrap();

    let response = password_request(
        &emulator,
        demo::DOMAIN,
        "ada@fabrikam.example",
        "pw",
        MSAL_SCOPE,
    );
    assert_eq!(response.json()["error_codes"], serde_json::json!([50_034]));

    let response = password_request(
        &emulator,
        "fabrikam.example",
        "ada@fabrikam.example",
        "pw",
        MSAL_SCOPE,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    assert_ne!(emulator.issued_tokens()[0].tenant_id, demo::TENANT_ID);
}

#[test]
fn password_grant_needs_public_client() {
    let emulator = start();

    let response = post_form(
        &emulator,
        &token_path(demo::TENANT_ID),
        &[
            ("grant_type", "password"),
            ("client_id", demo::CLIENT_ID),
            ("username", demo::USERNAME),
            ("password", demo::PASSWORD),
            ("scope", MSAL_SCOPE),
        ],
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 401,
            error: "invalid_client",
            code: 7_000_218,
            message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        },
    );
}

#[test]
fn password_grant_missing_parameters() {
    let emulator = start();
    let full = [
        ("grant_type", "password"),
        ("client_id", demo::VS_CODE_CLIENT_ID),
        ("username", demo::USERNAME),
        ("password", demo::PASSWORD),
        ("scope", MSAL_SCOPE),
    ];

    for missing in ["client_id", "username", "password", "scope"] {
        let form: Vec<(&str, &str)> = full
            .iter()
            .copied()
            .filter(|(name, _)| *name != missing)
            .collect();
        let response = post_form(&emulator, &token_path(demo::TENANT_ID), &form);
        let message =
            format!("The request body must contain the following parameter: '{missing}'.");
        assert_entra_error(
            &emulator,
            &response,
            &ExpectedError {
                status: 400,
                error: "invalid_request",
                code: 900_144,
                message: &message,
            },
        );
    }
}

#[test]
fn password_grant_several_resources() {
    let emulator = start();
    let scope = "https://management.azure.com/.default https://vault.azure.net/.default openid";

    let response = password_request(
        &emulator,
        demo::TENANT_ID,
        demo::USERNAME,
        demo::PASSWORD,
        scope,
    );

    let message = format!(
        "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {scope} is not valid."
    );
    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 400,
            error: "invalid_scope",
            code: 28_000,
            message: &message,
        },
    );
}

#[test]
fn refresh_grant_success() {
    let emulator = start();
    let first = password_request(
        &emulator,
        demo::DOMAIN,
        demo::USERNAME,
        demo::PASSWORD,
        MSAL_SCOPE,
    )
    .json();
    let refresh_token = first["refresh_token"].as_str().unwrap();

    let response = refresh_request(
        &emulator,
        demo::TENANT_ID,
        demo::AZURE_CLI_CLIENT_ID,
        refresh_token,
    );

    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], ARM_SCOPE);
    assert_ne!(body["access_token"], first["access_token"]);
    let new_refresh_token = body["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh_token, refresh_token);
    assert!(body["id_token"].is_string(), "{body}");

    let issued = emulator.issued_tokens();
    assert_eq!(issued.len(), 2);
    assert_eq!(issued[1].grant_type, "refresh_token");
    assert_eq!(issued[1].scope, MSAL_SCOPE);
    assert_eq!(issued[1].username.as_deref(), Some(demo::USERNAME));

    // Both the old and the new refresh token stay valid.
    for token in [refresh_token, new_refresh_token] {
        let again = refresh_request(&emulator, "organizations", demo::AZURE_CLI_CLIENT_ID, token);
        assert_eq!(again.status, 200, "{}", again.text());
    }
}

#[test]
fn refresh_grant_with_new_scope() {
    let emulator = start();
    let first = password_request(
        &emulator,
        demo::DOMAIN,
        demo::USERNAME,
        demo::PASSWORD,
        MSAL_SCOPE,
    )
    .json();

    let response = post_form(
        &emulator,
        &token_path(demo::DOMAIN),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", demo::AZURE_CLI_CLIENT_ID),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
            ("scope", "https://vault.azure.net/.default offline_access"),
        ],
    );

    assert_eq!(response.json()["scope"], "https://vault.azure.net/.default");
    assert_eq!(
        emulator.issued_tokens()[1].scope,
        "https://vault.azure.net/.default offline_access"
    );
}

#[test]
fn refresh_grant_unknown_token() {
    let emulator = start();

    let response = refresh_request(
        &emulator,
        demo::TENANT_ID,
        demo::AZURE_CLI_CLIENT_ID,
        "emu-rt-1-0123456789abcdef",
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 400,
            error: "invalid_grant",
            code: 9_002_313,
            message: "Invalid request. Request is malformed or invalid.",
        },
    );
}

#[test]
fn refresh_grant_revoked_token() {
    let emulator = start();
    let first = password_request(
        &emulator,
        demo::DOMAIN,
        demo::USERNAME,
        demo::PASSWORD,
        MSAL_SCOPE,
    )
    .json();
    let refresh_token = first["refresh_token"].as_str().unwrap();

    assert!(emulator.revoke_refresh_token(refresh_token));
    assert!(!emulator.revoke_refresh_token("emu-rt-9-0000000000000000"));
    let response = refresh_request(
        &emulator,
        demo::TENANT_ID,
        demo::AZURE_CLI_CLIENT_ID,
        refresh_token,
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 400,
            error: "invalid_grant",
            code: 50_173,
            message: "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
        },
    );
}

#[test]
fn refresh_grant_other_client() {
    let emulator = start();
    let first = password_request(
        &emulator,
        demo::DOMAIN,
        demo::USERNAME,
        demo::PASSWORD,
        MSAL_SCOPE,
    )
    .json();

    let response = refresh_request(
        &emulator,
        demo::TENANT_ID,
        demo::VS_CODE_CLIENT_ID,
        first["refresh_token"].as_str().unwrap(),
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 400,
            error: "invalid_grant",
            code: 70_000,
            message: "Provided grant is invalid or malformed.",
        },
    );
}

#[test]
fn refresh_grant_missing_token() {
    let emulator = start();

    let response = post_form(
        &emulator,
        &token_path(demo::TENANT_ID),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", demo::AZURE_CLI_CLIENT_ID),
        ],
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 400,
            error: "invalid_request",
            code: 900_144,
            message: "The request body must contain the following parameter: 'refresh_token'.",
        },
    );
}
