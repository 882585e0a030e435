//! Discovery endpoints: OpenID Connect metadata, signing keys and the user realm.

use serde::Serialize;
use serde_json::json;

use super::{EntraError, error_response};
use crate::config::{TenantSegment, domain_of};
use crate::http::Response;
use crate::record::RecordedRequest;
use crate::routes::method_not_allowed;
use crate::server::State;

/// Handles `GET /{tenant}/v2.0/.well-known/openid-configuration`,
/// `GET /{tenant}/discovery/v2.0/keys` and `GET /common/userrealm/{username}`.
pub(crate) fn route(
    state: &State,
    request: &RecordedRequest,
    segments: &[String],
) -> Option<Response> {
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let response = match segments[..] {
        [tenant, "v2.0", ".well-known", "openid-configuration"] => {
            get_only(request, || openid_configuration(state, request, tenant))
        }
        [tenant, "discovery", "v2.0", "keys"] => {
            get_only(request, || signing_keys(state, request, tenant))
        }
        [common, "userrealm", username] if common.eq_ignore_ascii_case("common") => {
            get_only(request, || user_realm(state, username))
        }
        _ => return None,
    };
    Some(response)
}

fn get_only(request: &RecordedRequest, respond: impl FnOnce() -> Response) -> Response {
    if request.method == "GET" {
        respond()
    } else {
        method_not_allowed(request, "GET")
    }
}

/// Returns the OpenID Connect discovery document, with every endpoint on the emulator.
///
/// As in Entra ID, a registered tenant's document names the tenant by ID, and the
/// documents of `common` and `organizations` have the issuer placeholder `{tenantid}`.
fn openid_configuration(state: &State, request: &RecordedRequest, segment: &str) -> Response {
    let (path_tenant, issuer_tenant) = match state.config.resolve_tenant_segment(segment) {
        TenantSegment::Known(tenant) => (tenant.id.clone(), tenant.id.clone()),
        TenantSegment::MultiTenant => (segment.to_ascii_lowercase(), "{tenantid}".to_owned()),
        TenantSegment::Unknown => {
            return error_response(state, request, &EntraError::tenant_not_found(segment));
        }
    };
    let base = format!("{}/{path_tenant}", state.base_url);

    // NOTE: the authorize, device code and logout endpoints are not served yet and return
    // 404. ID tokens are unsigned even though RS256 is listed, which every OpenID
    // provider must support.
    let document = json!({
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{}/{issuer_tenant}/v2.0", state.base_url),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
            "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email",
        ],
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    });
    discovery_response(&document)
}

/// Returns an empty JSON Web Key Set, because the emulator signs nothing.
fn signing_keys(state: &State, request: &RecordedRequest, segment: &str) -> Response {
    if matches!(
        state.config.resolve_tenant_segment(segment),
        TenantSegment::Unknown
    ) {
        return error_response(state, request, &EntraError::tenant_not_found(segment));
    }
    discovery_response(&json!({ "keys": [] }))
}

/// User realm document (`/common/userrealm`, API version 1.0), which MSAL reads to decide
/// whether an account is managed (password sign-in) or federated.
#[derive(Serialize)]
struct UserRealm<'a> {
    ver: &'static str,
    account_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain_name: Option<&'a str>,
    cloud_instance_name: &'static str,
    cloud_audience_urn: &'static str,
}

/// Reports `Managed` for a user name whose domain belongs to a registered tenant, and
/// `Unknown` otherwise.
fn user_realm(state: &State, username: &str) -> Response {
    let domain = domain_of(username);
    let managed = domain.and_then(|domain| state.config.find_tenant_by_domain(domain));

    let realm = UserRealm {
        ver: "1.0",
        account_type: if managed.is_some() {
            "Managed"
        } else {
            "Unknown"
        },
        domain_name: domain,
        cloud_instance_name: "microsoftonline.com",
        cloud_audience_urn: "urn:federation:MicrosoftOnline",
    };
    discovery_response(&realm)
}

/// Creates a 200 JSON response that clients may cache for a day.
fn discovery_response(body: &impl Serialize) -> Response {
    Response::json(200, body).with_header("Cache-Control", "max-age=86400, private")
}
