//! Managed identity endpoints, each with the request checks of the real service:
//!
//! | Path | Service | Method, secret header, api-version, user-assigned parameters |
//! |---|---|---|
//! | `/metadata/identity/oauth2/token` | IMDS | GET, `Metadata: true`, 2018-02-01, `client_id` / `object_id` / `msi_res_id` |
//! | `/msi/token` | App Service | GET, `X-IDENTITY-HEADER`, 2019-08-01, `client_id` / `object_id` / `mi_res_id` |
//! | `/arc/metadata/identity/oauth2/token` | Azure Arc | GET, `Metadata: true`, 2020-06-01, as IMDS; a 401 challenge first |
//! | `/MSI/auth` | Azure ML | GET, `secret`, 2017-09-01, `clientid` |
//! | `/cloudshell/oauth2/token` | Cloud Shell | POST form `resource`, `Metadata: true` |
//!
//! Service Fabric's endpoint speaks https with a cluster certificate, which this plain
//! http emulator cannot serve.
//!
//! Responses follow each service's shape: IMDS, Arc and Cloud Shell send every number
//! as a string, App Service sends `expires_on` as a string, Azure ML as a number.
//! Faults such as "no identity", "updating" (410), throttling and silence come from
//! [`Fault`](crate::Fault) constructors pushed for a path.

use serde_json::{Value, json};

use crate::clock::unix_now;
use crate::config::{EmulatorConfig, ManagedIdentity};
use crate::http::Response;
use crate::record::RecordedRequest;
use crate::routes::{error_response, method_not_allowed};
use crate::server::State;
use crate::tokens::IssuedToken;

/// Path of the IMDS token endpoint.
pub const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
/// Path of the App Service endpoint (its `IDENTITY_ENDPOINT`).
pub const APP_SERVICE_PATH: &str = "/msi/token";
/// Path of the Azure Arc endpoint (its `IDENTITY_ENDPOINT`).
pub const ARC_PATH: &str = "/arc/metadata/identity/oauth2/token";
/// Path of the Azure ML endpoint (its `MSI_ENDPOINT`).
pub const AZURE_ML_PATH: &str = "/MSI/auth";
/// Path of the Cloud Shell endpoint (its `MSI_ENDPOINT`).
pub const CLOUD_SHELL_PATH: &str = "/cloudshell/oauth2/token";

/// Which service a request is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Service {
    Imds,
    AppService,
    Arc,
    AzureMl,
    CloudShell,
}

impl Service {
    fn grant_type(self) -> &'static str {
        match self {
            Service::Imds => "managed_identity:imds",
            Service::AppService => "managed_identity:app_service",
            Service::Arc => "managed_identity:arc",
            Service::AzureMl => "managed_identity:azure_ml",
            Service::CloudShell => "managed_identity:cloud_shell",
        }
    }
}

/// Handles the managed identity paths.
pub(crate) fn route(
    state: &State,
    request: &RecordedRequest,
    _segments: &[String],
) -> Option<Response> {
    let service = match request.path.as_str() {
        IMDS_PATH => Service::Imds,
        APP_SERVICE_PATH => Service::AppService,
        ARC_PATH => Service::Arc,
        AZURE_ML_PATH => Service::AzureMl,
        CLOUD_SHELL_PATH => Service::CloudShell,
        _ => return None,
    };
    Some(match handle(state, request, service) {
        Ok(response) | Err(response) => response,
    })
}

fn handle(
    state: &State,
    request: &RecordedRequest,
    service: Service,
) -> Result<Response, Response> {
    let config = &state.config;
    let identity = &config.managed_identity;
    let expected_method = if service == Service::CloudShell {
        "POST"
    } else {
        "GET"
    };
    if request.method != expected_method {
        return Err(method_not_allowed(request, expected_method));
    }

    match service {
        Service::Imds | Service::Arc | Service::CloudShell => {
            if request.header("metadata") != Some("true") {
                return Err(bad_request("Required metadata header not specified"));
            }
        }
        Service::AppService => {
            if request.header("x-identity-header") != Some(identity.identity_header.as_str()) {
                return Err(error_response(
                    401,
                    "unauthorized",
                    "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.",
                ));
            }
        }
        Service::AzureMl => {
            if request.header("secret") != Some(identity.msi_secret.as_str()) {
                return Err(error_response(
                    401,
                    "unauthorized",
                    "The secret header is missing or does not match MSI_SECRET.",
                ));
            }
        }
    }

    let expected_version = match service {
        Service::Imds => Some("2018-02-01"),
        Service::AppService => Some("2019-08-01"),
        Service::Arc => Some("2020-06-01"),
        Service::AzureMl => Some("2017-09-01"),
        Service::CloudShell => None,
    };
    if let Some(expected) = expected_version
        && request.query_value("api-version").as_deref() != Some(expected)
    {
        return Err(bad_request(&format!(
            "Invalid or missing api-version; this endpoint supports {expected}"
        )));
    }

    let resource = match service {
        Service::CloudShell => request.form_value("resource"),
        _ => request.query_value("resource"),
    }
    .filter(|resource| !resource.is_empty())
    .ok_or_else(|| bad_request("Required query variable 'resource' is missing"))?;

    if service == Service::Arc {
        let challenge = || {
            error_response(401, "unauthorized", "Authorization is required.").with_header(
                "WWW-Authenticate",
                format!("Basic realm={}", identity.arc_realm),
            )
        };
        let given = request
            .header("authorization")
            .and_then(|value| value.strip_prefix("Basic "));
        match (&identity.arc_key, given) {
            (Some(key), Some(given)) if given.trim() == key.trim() => {}
            _ => return Err(challenge()),
        }
    }

    let selected = select_identity(identity, request, service)?;
    let Some(client_id) = selected else {
        return Err(bad_request("Identity not found"));
    };
    Ok(token_response(
        state, config, service, &client_id, &resource,
    ))
}

/// Finds the requested identity. Returns `Ok(None)` when it is not assigned, and an
/// error response for a malformed selection.
fn select_identity(
    identity: &ManagedIdentity,
    request: &RecordedRequest,
    service: Service,
) -> Result<Option<String>, Response> {
    let names: &[(&str, usize)] = match service {
        Service::Imds | Service::Arc => &[("client_id", 0), ("object_id", 1), ("msi_res_id", 2)],
        Service::AppService => &[("client_id", 0), ("object_id", 1), ("mi_res_id", 2)],
        Service::AzureMl => &[("clientid", 0)],
        Service::CloudShell => &[],
    };
    if service == Service::AzureMl && request.query_value("client_id").is_some() {
        return Err(bad_request(
            "Unknown query parameter 'client_id'; this endpoint takes 'clientid'",
        ));
    }
    let given: Vec<(usize, String)> = names
        .iter()
        .filter_map(|(name, index)| request.query_value(name).map(|value| (*index, value)))
        .collect();
    match given.as_slice() {
        [] => Ok(identity.system_assigned.clone()),
        [(index, value)] => Ok(identity
            .user_assigned
            .iter()
            .find(|known| {
                let field = match index {
                    0 => &known.client_id,
                    1 => &known.object_id,
                    _ => &known.resource_id,
                };
                field.eq_ignore_ascii_case(value)
            })
            .map(|known| known.client_id.clone())),
        _ => Err(bad_request("Give at most one of the identity parameters")),
    }
}

fn token_response(
    state: &State,
    config: &EmulatorConfig,
    service: Service,
    client_id: &str,
    resource: &str,
) -> Response {
    let now = unix_now();
    let lifetime = config.token_lifetime_secs;
    let issued = state.tokens.issue_access_token(IssuedToken {
        access_token: String::new(),
        tenant_id: config
            .tenants
            .first()
            .map(|tenant| tenant.id.clone())
            .unwrap_or_default(),
        client_id: client_id.to_owned(),
        scope: resource.to_owned(),
        grant_type: service.grant_type().to_owned(),
        username: None,
        expires_in: lifetime,
    });
    let expires_on = now + lifetime;
    let body: Value = match service {
        Service::Imds | Service::Arc | Service::CloudShell => json!({
            "access_token": issued.access_token,
            "client_id": client_id,
            "expires_in": lifetime.to_string(),
            "expires_on": expires_on.to_string(),
            "ext_expires_in": lifetime.to_string(),
            "not_before": now.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }),
        Service::AppService => json!({
            "access_token": issued.access_token,
            "expires_on": expires_on.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }),
        Service::AzureMl => json!({
            "access_token": issued.access_token,
            "expires_on": expires_on,
            "resource": resource,
            "token_type": "Bearer",
        }),
    };
    Response::json(200, &body)
}

fn bad_request(description: &str) -> Response {
    error_response(400, "invalid_request", description)
}
