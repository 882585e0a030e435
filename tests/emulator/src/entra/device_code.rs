//! The device authorization endpoint, `POST /{tenant}/oauth2/v2.0/devicecode` (RFC 8628
//! section 3.1). Polls of the codes it issues go to the token endpoint.

use serde::Serialize;

use super::{EntraError, error_response, success_response};
use crate::clock::unix_now;
use crate::config::TenantSegment;
use crate::http::Response;
use crate::ids::random_u64;
use crate::lock;
use crate::record::RecordedRequest;
use crate::server::State;
use crate::tokens::DeviceGrant;

/// Handles requests to `/{tenant}/oauth2/v2.0/devicecode`.
pub(crate) fn route(state: &State, request: &RecordedRequest, segments: &[String]) -> Option<Response> {
    let [tenant, oauth2, version, endpoint] = segments else {
        return None;
    };
    if oauth2 != "oauth2" || version != "v2.0" || endpoint != "devicecode" {
        return None;
    }
    Some(match start(state, request, tenant) {
        Ok(body) => success_response(request, &body),
        Err(error) => error_response(state, request, &error),
    })
}

/// The device authorization response, with the fields Entra ID sends.
#[derive(Serialize)]
struct DeviceAuthorization {
    user_code: String,
    device_code: String,
    verification_uri: String,
    expires_in: u64,
    interval: u64,
    message: String,
}

fn start(state: &State, request: &RecordedRequest, tenant_segment: &str) -> Result<DeviceAuthorization, EntraError> {
    if request.method != "POST" {
        return Err(EntraError::missing_parameter("client_id"));
    }
    let config = &state.config;
    let tenant = config.resolve_tenant_segment(tenant_segment);
    if matches!(tenant, TenantSegment::Unknown) {
        return Err(EntraError::tenant_not_found(tenant_segment));
    }
    let form = request.form();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    };
    let client_id = field("client_id").ok_or_else(|| EntraError::missing_parameter("client_id"))?;
    let scope = field("scope").ok_or_else(|| EntraError::missing_parameter("scope"))?;
    let Some(app) = config.find_app(client_id) else {
        return Err(EntraError::application_not_found(client_id, tenant_segment));
    };
    if app.secret.is_some() {
        return Err(EntraError::missing_client_credential());
    }
    let Some(user) = config.interactive_user(None) else {
        return Err(EntraError::user_not_found(tenant_segment));
    };
    let tenant_id = match tenant {
        TenantSegment::Known(known) => known.id.clone(),
        _ => match config.home_tenant(&user.username) {
            Some(home) => home.id.clone(),
            None => return Err(EntraError::user_not_found(tenant_segment)),
        },
    };

    let device_code = state.tokens.new_token("emu-dc");
    let user_code = user_code();
    let lifetime = config.device_code_lifetime_secs;
    lock(&state.tokens.device_grants).insert(
        device_code.clone(),
        DeviceGrant {
            tenant_id,
            client_id: client_id.to_owned(),
            username: user.username.clone(),
            scope: scope.to_owned(),
            expires_at: unix_now() + lifetime,
            redeemed: false,
        },
    );
    let verification_uri = format!("{}/devicelogin", state.base_url);
    Ok(DeviceAuthorization {
        message: format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."
        ),
        user_code,
        device_code,
        verification_uri,
        expires_in: lifetime,
        interval: config.device_code_interval_secs,
    })
}

/// Returns nine upper-case letters, the shape of Entra ID's user codes.
fn user_code() -> String {
    let mut bits = random_u64();
    (0..9)
        .map(|_| {
            let letter = (b'A' + (bits % 26) as u8) as char;
            bits /= 26;
            letter
        })
        .collect()
}
