//! The authorization endpoint, `GET /{tenant}/oauth2/v2.0/authorize` (RFC 6749 section
//! 4.1.1 with PKCE, RFC 7636). There is no sign-in page: the user named by `login_hint`
//! (else the first user) consents at once, and the response redirects to the client's
//! loopback `redirect_uri` with `code` and `state` in the query.
//!
//! NOTE: `response_mode=form_post` is answered like `query`, with a redirect, because a
//! test browser that follows redirects cannot submit a form.

use super::{EntraError, error_response, user_object_id};
use crate::config::TenantSegment;
use crate::encoding::{base64url_encode, percent_encode};
use crate::http::Response;
use crate::lock;
use crate::record::RecordedRequest;
use crate::server::State;
use crate::tokens::CodeGrant;

/// Handles requests to `/{tenant}/oauth2/v2.0/authorize`.
pub(crate) fn route(state: &State, request: &RecordedRequest, segments: &[String]) -> Option<Response> {
    let [tenant, oauth2, version, endpoint] = segments else {
        return None;
    };
    if oauth2 != "oauth2" || version != "v2.0" || endpoint != "authorize" {
        return None;
    }
    Some(match authorize(state, request, tenant) {
        Ok(location) => Response::text(302, "").with_header("Location", location),
        Err(error) => error_response(state, request, &error),
    })
}

/// Checks the request; returns the redirect or, for errors that cannot be sent to an
/// unverified redirect URI, an error page.
fn authorize(state: &State, request: &RecordedRequest, tenant_segment: &str) -> Result<String, EntraError> {
    let config = &state.config;
    let query = |name: &str| request.query_value(name).filter(|value| !value.is_empty());
    let client_id = query("client_id").ok_or_else(|| EntraError::missing_parameter("client_id"))?;
    if config.find_app(&client_id).is_none() {
        return Err(EntraError::application_not_found(&client_id, tenant_segment));
    }
    let redirect_uri = query("redirect_uri").ok_or_else(|| EntraError::missing_parameter("redirect_uri"))?;
    if !is_loopback_redirect(&redirect_uri) {
        return Err(EntraError::redirect_uri_mismatch(&redirect_uri, &client_id));
    }
    let tenant = config.resolve_tenant_segment(tenant_segment);
    if matches!(tenant, TenantSegment::Unknown) {
        return Err(EntraError::tenant_not_found(tenant_segment));
    }

    // From here on errors go back to the client through the redirect.
    let state_param = query("state");
    let fail = |error: &str, description: &str| {
        let mut location = format!(
            "{redirect_uri}?error={}&error_description={}",
            percent_encode(error),
            percent_encode(description)
        );
        if let Some(value) = &state_param {
            location.push_str(&format!("&state={}", percent_encode(value)));
        }
        Ok(location)
    };
    if query("response_type").as_deref() != Some("code") {
        return fail("unsupported_response_type", "AADSTS70005: response_type must be 'code'.");
    }
    if query("scope").is_none() {
        return fail("invalid_request", "AADSTS900144: The request body must contain the following parameter: 'scope'.");
    }
    let Some(challenge) = query("code_challenge") else {
        return fail("invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required.");
    };
    if query("code_challenge_method").as_deref() != Some("S256") {
        return fail("invalid_request", "AADSTS501491: code_challenge_method must be S256.");
    }
    let Some(user) = config.interactive_user(query("login_hint").as_deref()) else {
        return fail("access_denied", "AADSTS50034: no user can sign in.");
    };
    let tenant_id = match tenant {
        TenantSegment::Known(known) => known.id.clone(),
        _ => match config.home_tenant(&user.username) {
            Some(home) => home.id.clone(),
            None => return fail("access_denied", "AADSTS50034: the user has no tenant."),
        },
    };

    let code = state.tokens.new_token("emu-code");
    lock(&state.tokens.code_grants).insert(
        code.clone(),
        CodeGrant {
            tenant_id: tenant_id.clone(),
            client_id,
            username: user.username.clone(),
            redirect_uri: redirect_uri.clone(),
            code_challenge: challenge,
            redeemed: false,
        },
    );
    let mut location = format!("{redirect_uri}?code={}", percent_encode(&code));
    if query("client_info").as_deref() == Some("1") {
        location.push_str(&format!("&client_info={}", client_info(&tenant_id, &user.username)));
    }
    if let Some(value) = &state_param {
        location.push_str(&format!("&state={}", percent_encode(value)));
    }
    Ok(location)
}

/// Returns `client_info` as Entra ID sends it: base64url JSON with the user's object ID
/// (`uid`) and home tenant (`utid`).
fn client_info(tenant_id: &str, username: &str) -> String {
    let info = serde_json::json!({ "uid": user_object_id(tenant_id, username), "utid": tenant_id });
    base64url_encode(info.to_string().as_bytes())
}

/// Public clients may use any port of `http://localhost` or `http://127.0.0.1`, as
/// Entra ID allows for loopback redirect URIs.
fn is_loopback_redirect(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else {
        return false;
    };
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = host_port.rsplit_once(':').map_or(host_port, |(host, _)| host);
    matches!(host, "localhost" | "127.0.0.1")
}
