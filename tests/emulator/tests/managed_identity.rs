//! Managed identity endpoints: request checks, response shapes and fault constructors.

mod common;

use azauth_emulator::managed_identity::{
    APP_SERVICE_PATH, ARC_PATH, AZURE_ML_PATH, CLOUD_SHELL_PATH, IMDS_PATH,
};
use azauth_emulator::{Emulator, EmulatorConfig, Fault, demo};
use common::{HttpResponse, exchange, form_encode, post_request, url_encode};

const RESOURCE: &str = "https://management.azure.com";

fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).expect("emulator starts")
}

/// Sends a GET with a query built from pairs and extra header lines.
fn get_with(
    emulator: &Emulator,
    path: &str,
    query: &[(&str, &str)],
    headers: &str,
) -> HttpResponse {
    let query: Vec<String> = query
        .iter()
        .map(|(name, value)| format!("{name}={}", url_encode(value)))
        .collect();
    let request = format!(
        "GET {path}?{} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n",
        query.join("&")
    );
    exchange(emulator, request.as_bytes())
}

#[test]
fn imds_requires_metadata_header_and_version() {
    let emulator = start();
    let query = [("api-version", "2018-02-01"), ("resource", RESOURCE)];
    let response = get_with(&emulator, IMDS_PATH, &query, "");
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["error_description"],
        "Required metadata header not specified"
    );

    let response = get_with(
        &emulator,
        IMDS_PATH,
        &[("api-version", "2019-01-01"), ("resource", RESOURCE)],
        "Metadata: true\r\n",
    );
    assert_eq!(response.status, 400);

    let response = get_with(&emulator, IMDS_PATH, &query, "Metadata: true\r\n");
    assert_eq!(response.status, 200, "{}", response.text());
    let json = response.json();
    // IMDS sends numbers as strings.
    assert!(json["expires_in"].is_string());
    assert!(json["expires_on"].is_string());
    assert_eq!(json["client_id"], demo::SYSTEM_IDENTITY_CLIENT_ID);
    let issued = emulator.issued_tokens();
    assert_eq!(issued[0].grant_type, "managed_identity:imds");
    assert_eq!(issued[0].scope, RESOURCE);
}

#[test]
fn imds_user_assigned_by_each_parameter() {
    let emulator = start();
    for (name, value) in [
        ("client_id", demo::USER_IDENTITY_CLIENT_ID),
        ("object_id", demo::USER_IDENTITY_OBJECT_ID),
        ("msi_res_id", demo::USER_IDENTITY_RESOURCE_ID),
    ] {
        let query = [
            ("api-version", "2018-02-01"),
            ("resource", RESOURCE),
            (name, value),
        ];
        let response = get_with(&emulator, IMDS_PATH, &query, "Metadata: true\r\n");
        assert_eq!(response.status, 200, "{name}: {}", response.text());
        assert_eq!(
            response.json()["client_id"],
            demo::USER_IDENTITY_CLIENT_ID,
            "{name}"
        );
    }
    let query = [
        ("api-version", "2018-02-01"),
        ("resource", RESOURCE),
        ("client_id", "00000000-0000-0000-0000-000000000000"),
    ];
    let response = get_with(&emulator, IMDS_PATH, &query, "Metadata: true\r\n");
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error_description"], "Identity not found");
}

#[test]
fn machine_without_identity_answers_400() {
    let emulator =
        Emulator::start(EmulatorConfig::default().system_assigned_identity(None)).unwrap();
    let query = [("api-version", "2018-02-01"), ("resource", RESOURCE)];
    let response = get_with(&emulator, IMDS_PATH, &query, "Metadata: true\r\n");
    assert_eq!(response.status, 400);
}

#[test]
fn app_service_checks_header_and_names() {
    let emulator = start();
    let query = [
        ("api-version", "2019-08-01"),
        ("resource", RESOURCE),
        ("mi_res_id", demo::USER_IDENTITY_RESOURCE_ID),
    ];
    let response = get_with(
        &emulator,
        APP_SERVICE_PATH,
        &query,
        "X-IDENTITY-HEADER: wrong\r\n",
    );
    assert_eq!(response.status, 401);
    let header = format!("X-IDENTITY-HEADER: {}\r\n", demo::IDENTITY_HEADER);
    let response = get_with(&emulator, APP_SERVICE_PATH, &query, &header);
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(response.json()["expires_on"].is_string());
    // App Service's name for a resource ID is mi_res_id; msi_res_id is not one of its names.
    let query = [
        ("api-version", "2019-08-01"),
        ("resource", RESOURCE),
        ("msi_res_id", demo::USER_IDENTITY_RESOURCE_ID),
    ];
    let response = get_with(&emulator, APP_SERVICE_PATH, &query, &header);
    assert_eq!(
        response.json()["client_id"],
        demo::SYSTEM_IDENTITY_CLIENT_ID
    );
}

#[test]
fn arc_challenges_then_accepts_key() {
    let realm = "/var/opt/azcmagent/tokens/test.key";
    let emulator =
        Emulator::start(EmulatorConfig::default().arc_key(realm, "arc-secret-key")).unwrap();
    let query = [("api-version", "2020-06-01"), ("resource", RESOURCE)];
    let response = get_with(&emulator, ARC_PATH, &query, "Metadata: true\r\n");
    assert_eq!(response.status, 401);
    assert_eq!(
        response.header("www-authenticate"),
        Some(format!("Basic realm={realm}").as_str())
    );
    let response = get_with(
        &emulator,
        ARC_PATH,
        &query,
        "Metadata: true\r\nAuthorization: Basic wrong\r\n",
    );
    assert_eq!(response.status, 401);
    let response = get_with(
        &emulator,
        ARC_PATH,
        &query,
        "Metadata: true\r\nAuthorization: Basic arc-secret-key\r\n",
    );
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn azure_ml_wants_clientid_without_underscore() {
    let emulator = start();
    let header = format!("secret: {}\r\n", demo::MSI_SECRET);
    let query = [
        ("api-version", "2017-09-01"),
        ("resource", RESOURCE),
        ("client_id", demo::USER_IDENTITY_CLIENT_ID),
    ];
    assert_eq!(
        get_with(&emulator, AZURE_ML_PATH, &query, &header).status,
        400
    );
    let query = [
        ("api-version", "2017-09-01"),
        ("resource", RESOURCE),
        ("clientid", demo::USER_IDENTITY_CLIENT_ID),
    ];
    let response = get_with(&emulator, AZURE_ML_PATH, &query, &header);
    assert_eq!(response.status, 200, "{}", response.text());
    // Azure ML sends expires_on as a number.
    assert!(response.json()["expires_on"].is_u64());
}

#[test]
fn cloud_shell_takes_form_post() {
    let emulator = start();
    let body = form_encode(&[("resource", RESOURCE)]);
    let request = post_request(
        CLOUD_SHELL_PATH,
        "Metadata: true\r\n",
        "application/x-www-form-urlencoded",
        &body,
    );
    let response = exchange(&emulator, &request);
    assert_eq!(response.status, 200, "{}", response.text());
    let response = get_with(
        &emulator,
        CLOUD_SHELL_PATH,
        &[("resource", RESOURCE)],
        "Metadata: true\r\n",
    );
    assert_eq!(response.status, 405);
}

#[test]
fn fault_constructors_replace_answers() {
    let emulator = start();
    emulator.push_fault_for(IMDS_PATH, Fault::updating());
    emulator.push_fault_for(IMDS_PATH, Fault::throttled(Some(2)));
    emulator.push_fault_for(IMDS_PATH, Fault::server_error(503));
    emulator.push_fault_for(IMDS_PATH, Fault::no_identity());
    let query = [("api-version", "2018-02-01"), ("resource", RESOURCE)];
    let statuses: Vec<u16> = (0..5)
        .map(|_| get_with(&emulator, IMDS_PATH, &query, "Metadata: true\r\n").status)
        .collect();
    assert_eq!(statuses, [410, 429, 503, 400, 200]);
}
