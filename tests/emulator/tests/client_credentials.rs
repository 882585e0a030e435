//! Client credentials grant on the token endpoint, and the checks every token request
//! goes through.

mod common;

use azauth_emulator::{Emulator, EmulatorConfig, demo};
use common::{
    ExpectedError, assert_entra_error, base64_encode, exchange, form_encode, post_form,
    post_form_with_headers, post_request,
};

const ARM_SCOPE: &str = "https://management.azure.com/.default";

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("emulator starts")
}

fn token_path(tenant: &str) -> String {
    format!("/{tenant}/oauth2/v2.0/token")
}

fn client_credentials_form<'a>(
    client_id: &'a str,
    secret: &'a str,
    scope: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
        ("scope", scope),
    ]
}

#[test]
fn client_credentials_success() {
    let emulator = start();

    let response = post_form(
        &emulator,
        &token_path(demo::TENANT_ID),
        &client_credentials_form(demo::CLIENT_ID, demo::CLIENT_SECRET, ARM_SCOPE),
    );

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(response.header("cache-control"), Some("no-store, no-cache"));
    assert_eq!(response.header("connection"), Some("close"));
    let body = response.json();
    let object = body.as_object().expect("JSON object");
    let mut fields: Vec<&str> = object.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["access_token", "expires_in", "ext_expires_in", "token_type"]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);

    let access_token = body["access_token"].as_str().expect("access_token");
    let parts: Vec<&str> = access_token.split('-').collect();
    assert_eq!(parts[..3], ["emu", "at", "1"], "{access_token}");
    assert_eq!(parts[3].len(), 16, "{access_token}");
    assert!(
        parts[3].bytes().all(|byte| byte.is_ascii_hexdigit()),
        "{access_token}"
    );
}

#[test]
fn issued_token_is_recorded() {
    let emulator = start();

    let response = post_form(
        &emulator,
        &token_path(demo::DOMAIN),
        &client_credentials_form(demo::CLIENT_ID, demo::CLIENT_SECRET, ARM_SCOPE),
    );
    let access_token = response.json()["access_token"].as_str().unwrap().to_owned();

    let issued = emulator.issued_tokens();
    assert_eq!(issued.len(), 1);
    let token = &issued[0];
    assert_eq!(token.access_token, access_token);
    assert_eq!(token.tenant_id, demo::TENANT_ID);
    assert_eq!(token.client_id, demo::CLIENT_ID);
    assert_eq!(token.scope, ARM_SCOPE);
    assert_eq!(token.grant_type, "client_credentials");
    assert_eq!(token.username, None);
    assert_eq!(token.expires_in, 3599);
    assert_eq!(emulator.find_token(&access_token).as_ref(), Some(token));
    assert_eq!(emulator.find_token("emu-at-1-0000000000000000"), None);
}

#[test]
fn request_is_recorded_with_form() {
    let emulator = start();

    post_form_with_headers(
        &emulator,
        &token_path(demo::TENANT_ID),
        &client_credentials_form(demo::CLIENT_ID, demo::CLIENT_SECRET, ARM_SCOPE),
        "X-Test: yes\r\n",
    );

    let requests = emulator.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, token_path(demo::TENANT_ID));
    assert_eq!(request.header("x-test"), Some("yes"));
    assert_eq!(
        request.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.form_value("scope").as_deref(), Some(ARM_SCOPE));
    assert_eq!(
        request.form_value("client_secret").as_deref(),
        Some(demo::CLIENT_SECRET)
    );
    assert_eq!(request.form().len(), 4);
    assert!(!request.chunked);

    emulator.clear_requests();
    assert!(emulator.requests().is_empty());
}

#[test]
fn tokens_are_unique() {
    let emulator = start();
    let form = client_credentials_form(demo::CLIENT_ID, demo::CLIENT_SECRET, ARM_SCOPE);

    let first = post_form(&emulator, &token_path(demo::TENANT_ID), &form).json();
    let second = post_form(&emulator, &token_path(demo::TENANT_ID), &form).json();

    assert_ne!(first["access_token"], second["access_token"]);
    assert!(
        second["access_token"]
            .as_str()
            .unwrap()
            .starts_with("emu-at-2-")
    );
}

#[test]
fn token_lifetime_is_configurable() {
    let emulator = Emulator::start(EmulatorConfig::default().token_lifetime_secs(42)).unwrap();

    let body = post_form(
        &emulator,
        &token_path(demo::TENANT_ID),
        &client_credentials_form(demo::CLIENT_ID, demo::CLIENT_SECRET, ARM_SCOPE),
    )
    .json();

    assert_eq!(body["expires_in"], 42);
    assert_eq!(body["ext_expires_in"], 42);
    assert_eq!(emulator.issued_tokens()[0].expires_in, 42);
}

#[test]
fn basic_auth_client_credentials() {
    let emulator = start();
    let credentials =
        base64_encode(format!("{}:{}", demo::CLIENT_ID, demo::CLIENT_SECRET).as_bytes());

    let response = post_form_with_headers(
        &emulator,
        &token_path(demo::TENANT_ID),
        &[("grant_type", "client_credentials"), ("scope", ARM_SCOPE)],
        &format!("Authorization: Basic {credentials}\r\n"),
    );

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(emulator.issued_tokens()[0].client_id, demo::CLIENT_ID);
    assert_eq!(
        emulator.requests()[0].header("authorization"),
        Some(format!("Basic {credentials}").as_str())
    );
}

#[test]
fn basic_auth_url_decodes_secret() {
    let secret = "s3cret with:colon+plus";
    let emulator =
        Emulator::start(EmulatorConfig::default().add_confidential_app("app-b", secret)).unwrap();
    // RFC 6749 section 2.3.1 form-encodes both parts before Base64.
    let credentials = base64_encode(format!("app-b:{}", common::url_encode(secret)).as_bytes());

    let response = post_form_with_headers(
        &emulator,
        &token_path(demo::TENANT_ID),
        &[("grant_type", "client_credentials"), ("scope", ARM_SCOPE)],
        &format!("Authorization: Basic {credentials}\r\n"),
    );

    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn basic_auth_wrong_secret() {
    let emulator = start();
    let credentials = base64_encode(format!("{}:wrong", demo::CLIENT_ID).as_bytes());

    let response = post_form_with_headers(
        &emulator,
        &token_path(demo::TENANT_ID),
        &[("grant_type", "client_credentials"), ("scope", ARM_SCOPE)],
        &format!("Authorization: Basic {credentials}\r\n"),
    );

    assert_entra_error(&emulator, &response, &invalid_secret_error());
}

#[test]
fn basic_auth_with_form_secret_is_malformed() {
    let emulator = start();
    let credentials =
        base64_encode(format!("{}:{}", demo::CLIENT_ID, demo::CLIENT_SECRET).as_bytes());

    let response = post_form_with_headers(
        &emulator,
        &token_path(demo::TENANT_ID),
        &client_credentials_form(demo::CLIENT_ID, demo::CLIENT_SECRET, ARM_SCOPE),
        &format!("Authorization: Basic {credentials}\r\n"),
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 400,
            error: "invalid_request",
            code: 9_002_313,
            message: "Invalid request. Request is malformed or invalid.",
        },
    );
}

fn invalid_secret_error() -> ExpectedError<'static> {
    ExpectedError {
        status: 401,
        error: "invalid_client",
        code: 7_000_215,
        message: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '99999999-8888-7777-6666-555555555555'.",
    }
}

#[test]
fn unknown_tenant() {
    let emulator = start();

    let response = post_form(
        &emulator,
        &token_path("fabrikam.example"),
        &client_credentials_form(demo::CLIENT_ID, demo::CLIENT_SECRET, ARM_SCOPE),
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
    assert!(emulator.issued_tokens().is_empty());
}

#[test]
fn multi_tenant_segments_rejected() {
    let emulator = start();

    for tenant in ["common", "organizations"] {
        let response = post_form(
            &emulator,
            &token_path(tenant),
            &client_credentials_form(demo::CLIENT_ID, demo::CLIENT_SECRET, ARM_SCOPE),
        );
        assert_entra_error(
            &emulator,
            &response,
            &ExpectedError {
                status: 400,
                error: "invalid_request",
                code: 50_059,
                message: "No tenant-identifying information found in either the request or implied by any provided credentials.",
            },
        );
    }
}

#[test]
fn unknown_client() {
    let emulator = start();

    let response = post_form(
        &emulator,
        &token_path(demo::TENANT_ID),
        &client_credentials_form("00000000-0000-0000-0000-000000000000", "x", ARM_SCOPE),
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 400,
            error: "unauthorized_client",
            code: 700_016,
            message: "Application with identifier '00000000-0000-0000-0000-000000000000' was not found in the directory 'contoso.example'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
        },
    );
}

#[test]
fn wrong_secret() {
    let emulator = start();

    let response = post_form(
        &emulator,
        &token_path(demo::TENANT_ID),
        &client_credentials_form(demo::CLIENT_ID, "not-the-secret", ARM_SCOPE),
    );

    assert_entra_error(&emulator, &response, &invalid_secret_error());
}

#[test]
fn missing_secret() {
    let emulator = start();

    let response = post_form(
        &emulator,
        &token_path(demo::TENANT_ID),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", demo::CLIENT_ID),
            ("scope", ARM_SCOPE),
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
fn public_client_with_secret() {
    let emulator = start();

    let response = post_form(
        &emulator,
        &token_path(demo::TENANT_ID),
        &client_credentials_form(demo::AZURE_CLI_CLIENT_ID, "anything", ARM_SCOPE),
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 401,
            error: "invalid_client",
            code: 700_025,
            message: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        },
    );
}

#[test]
fn invalid_scopes() {
    let emulator = start();
    let cases = [
        "https://management.azure.com/user_impersonation",
        "https://management.azure.com/.default https://graph.microsoft.com/.default",
        "/.default",
        "openid",
    ];

    for scope in cases {
        let response = post_form(
            &emulator,
            &token_path(demo::TENANT_ID),
            &client_credentials_form(demo::CLIENT_ID, demo::CLIENT_SECRET, scope),
        );
        let message = format!(
            "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
        );
        assert_entra_error(
            &emulator,
            &response,
            &ExpectedError {
                status: 400,
                error: "invalid_scope",
                code: 1_002_012,
                message: &message,
            },
        );
    }
}

#[test]
fn secret_is_checked_before_scope() {
    let emulator = start();

    let response = post_form(
        &emulator,
        &token_path(demo::TENANT_ID),
        &client_credentials_form(demo::CLIENT_ID, "wrong", "bad-scope"),
    );

    assert_entra_error(&emulator, &response, &invalid_secret_error());
}

#[test]
fn missing_parameters() {
    let emulator = start();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("client_id", demo::CLIENT_ID)], "grant_type"),
        (
            &[("grant_type", "client_credentials"), ("client_secret", "x")],
            "client_id",
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", demo::CLIENT_ID),
                ("client_secret", demo::CLIENT_SECRET),
                ("scope", ""),
            ],
            "scope",
        ),
    ];

    for (form, parameter) in cases {
        let response = post_form(&emulator, &token_path(demo::TENANT_ID), form);
        let message =
            format!("The request body must contain the following parameter: '{parameter}'.");
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
fn non_form_requests_lack_grant_type() {
    let emulator = start();
    let expected = ExpectedError {
        status: 400,
        error: "invalid_request",
        code: 900_144,
        message: "The request body must contain the following parameter: 'grant_type'.",
    };
    let form = form_encode(&client_credentials_form(
        demo::CLIENT_ID,
        demo::CLIENT_SECRET,
        ARM_SCOPE,
    ));
    let path = token_path(demo::TENANT_ID);

    let json_body = exchange(
        &emulator,
        &post_request(&path, "", "application/json", &form),
    );
    assert_entra_error(&emulator, &json_body, &expected);

    let get = exchange(
        &emulator,
        format!("GET {path}?{form} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes(),
    );
    assert_entra_error(&emulator, &get, &expected);

    // A charset parameter after the media type is fine.
    let with_charset = exchange(
        &emulator,
        &post_request(
            &path,
            "",
            "application/x-www-form-urlencoded; charset=UTF-8",
            &form,
        ),
    );
    assert_eq!(with_charset.status, 200, "{}", with_charset.text());
}

#[test]
fn unsupported_grant_type() {
    let emulator = start();

    let response = post_form(
        &emulator,
        &token_path(demo::TENANT_ID),
        &[
            ("grant_type", "urn:example:magic"),
            ("client_id", demo::CLIENT_ID),
        ],
    );

    assert_entra_error(
        &emulator,
        &response,
        &ExpectedError {
            status: 400,
            error: "unsupported_grant_type",
            code: 70_003,
            message: "The app requested an unsupported grant type 'urn:example:magic'.",
        },
    );
}

#[test]
fn error_echoes_client_request_id() {
    let emulator = start();
    let request_id = "0f0e0d0c-0b0a-0908-0706-050403020100";

    let response = post_form_with_headers(
        &emulator,
        &token_path("unknown.example"),
        &[("grant_type", "client_credentials")],
        &format!("client-request-id: {request_id}\r\nreturn-client-request-id: true\r\n"),
    );

    let body = response.json();
    assert_eq!(body["correlation_id"], request_id);
    assert_eq!(response.header("client-request-id"), Some(request_id));
    assert_eq!(
        response.header("x-ms-request-id"),
        body["trace_id"].as_str()
    );
}
