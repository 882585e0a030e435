//! The token endpoint, `POST /{tenant}/oauth2/v2.0/token`, with the client credentials,
//! password (RFC 6749 section 4.3), refresh token, authorization code (with PKCE, RFC
//! 7636) and device code (RFC 8628 section 3.4) grants. Confidential clients
//! authenticate with a secret or a client assertion (RFC 7523 section 2.2).

use serde::Serialize;

use super::assertion::{self, AssertionContext};
use super::{EntraError, error_response, success_response, user_object_id};
use crate::clock::unix_now;
use crate::config::{App, EmulatorConfig, TenantSegment, domain_of};
use crate::encoding::{base64_decode, base64url_encode, percent_decode};
use crate::http::Response;
use crate::ids::uuid_from_name;
use crate::record::RecordedRequest;
use crate::server::State;
use crate::lock;
use crate::tokens::{DevicePoll, IssuedToken, RefreshGrant};

/// `grant_type` of a device code poll (RFC 8628 section 3.4).
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Scopes of OpenID Connect. They ask for an ID token, claims or a refresh token, not for
/// access to a resource.
const OPENID_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Resource that Entra ID assumes for a scope without one, such as `User.Read`.
const DEFAULT_RESOURCE: &str = "https://graph.microsoft.com";

/// Handles requests to `/{tenant}/oauth2/v2.0/token`.
pub(crate) fn route(
    state: &State,
    request: &RecordedRequest,
    segments: &[String],
) -> Option<Response> {
    let [tenant, oauth2, version, endpoint] = segments else {
        return None;
    };
    if oauth2 != "oauth2" || version != "v2.0" || endpoint != "token" {
        return None;
    }

    Some(match handle_token_request(state, request, tenant) {
        Ok(body) => success_response(request, &body),
        Err(error) => error_response(state, request, &error),
    })
}

/// Successful token response (RFC 6749 section 5.1, with Entra ID's extra fields).
#[derive(Serialize, Debug)]
struct TokenResponse {
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    expires_in: u64,
    ext_expires_in: u64,
    access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_info: Option<String>,
}

/// The decoded form body. An empty value counts as a missing parameter.
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    fn require(&self, name: &str) -> Result<&str, EntraError> {
        self.get(name)
            .ok_or_else(|| EntraError::missing_parameter(name))
    }
}

/// Client ID and credential from the form body or from an HTTP Basic `Authorization`
/// header.
struct ClientCredentials {
    client_id: String,
    secret: Option<String>,
    /// `client_assertion_type` and `client_assertion`.
    assertion: Option<(String, String)>,
}

/// The tenant of the path, resolved against the configuration.
struct RequestTenant<'a> {
    /// The path segment as sent, for error messages.
    segment: &'a str,
    resolved: TenantSegment<'a>,
}

fn handle_token_request(
    state: &State,
    request: &RecordedRequest,
    tenant_segment: &str,
) -> Result<TokenResponse, EntraError> {
    if request.method != "POST" || !has_form_content_type(request) {
        return Err(EntraError::missing_parameter("grant_type"));
    }

    let tenant = RequestTenant {
        segment: tenant_segment,
        resolved: state.config.resolve_tenant_segment(tenant_segment),
    };
    if matches!(tenant.resolved, TenantSegment::Unknown) {
        return Err(EntraError::tenant_not_found(tenant_segment));
    }

    let form = Form(request.form());
    let grant_type = form.require("grant_type")?;
    match grant_type {
        "client_credentials" => client_credentials_grant(state, request, &form, &tenant),
        "password" => password_grant(state, request, &form, &tenant),
        "refresh_token" => refresh_token_grant(state, request, &form, &tenant),
        "authorization_code" => authorization_code_grant(state, request, &form, &tenant),
        DEVICE_CODE_GRANT => device_code_grant(state, request, &form, &tenant),
        other => Err(EntraError::unsupported_grant_type(other)),
    }
}

fn has_form_content_type(request: &RecordedRequest) -> bool {
    request.header("content-type").is_some_and(|value| {
        let media_type = value.split(';').next().unwrap_or_default().trim();
        media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// Client credentials grant (RFC 6749 section 4.4). Checks run in this order: tenant,
/// application, secret, scope.
fn client_credentials_grant(
    state: &State,
    request: &RecordedRequest,
    form: &Form,
    tenant: &RequestTenant<'_>,
) -> Result<TokenResponse, EntraError> {
    let TenantSegment::Known(known_tenant) = tenant.resolved else {
        return Err(EntraError::no_tenant_information());
    };

    // A client assertion is either a federated token (workload identity) or a JWT signed
    // with one of the app's certificates. Apps with certificates get the certificate
    // checks unless the assertion is a registered federated token.
    let client_id = form.get("client_id").unwrap_or_default();
    let federated = form.get("client_assertion").is_some_and(|assertion| {
        let registered = state
            .config
            .federated_assertions
            .iter()
            .any(|(id, known)| id.eq_ignore_ascii_case(client_id) && known == assertion);
        let has_certificates = state
            .config
            .find_app(client_id)
            .is_some_and(|app| !app.certificates.is_empty());
        registered || !has_certificates
    });
    let credentials = if federated {
        federated_client(&state.config, form, known_tenant.display_name())?
    } else {
        let credentials = client_credentials(request, form)?;
        authenticate_client(state, &credentials, tenant)?;
        credentials
    };

    let scope = form.require("scope")?;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let valid = matches!(scopes[..], [single] if single.len() > "/.default".len() && single.ends_with("/.default"));
    if !valid {
        return Err(EntraError::client_credentials_scope(scope));
    }

    let issued = state.tokens.issue_access_token(IssuedToken {
        access_token: String::new(),
        tenant_id: known_tenant.id.clone(),
        client_id: credentials.client_id,
        scope: scope.to_owned(),
        grant_type: "client_credentials".to_owned(),
        username: None,
        expires_in: state.config.token_lifetime_secs,
    });

    Ok(TokenResponse {
        token_type: "Bearer",
        scope: None,
        expires_in: issued.expires_in,
        ext_expires_in: issued.expires_in,
        access_token: issued.access_token,
        refresh_token: None,
        id_token: None,
        client_info: None,
    })
}

/// Resource owner password credentials grant (RFC 6749 section 4.3).
///
/// NOTE: Microsoft's ROPC documentation says Entra ID rejects this grant on `common` and
/// accepts only `organizations` or a tenant. The emulator accepts `common` as well.
fn password_grant(
    state: &State,
    request: &RecordedRequest,
    form: &Form,
    tenant: &RequestTenant<'_>,
) -> Result<TokenResponse, EntraError> {
    let config = &state.config;
    let credentials = client_credentials(request, form)?;
    authenticate_client(state, &credentials, tenant)?;

    let username = form.require("username")?;
    let password = form.require("password")?;
    let scope = form.require("scope")?;
    check_single_resource(scope)?;

    let Some(user) = config.find_user(username) else {
        return Err(EntraError::user_not_found(&user_directory_name(
            config, tenant, username,
        )));
    };
    let Some(home_tenant) = config.home_tenant(&user.username) else {
        return Err(EntraError::user_not_found(&directory_name(tenant)));
    };
    if let TenantSegment::Known(requested) = tenant.resolved
        && requested.id != home_tenant.id
    {
        return Err(EntraError::user_not_found(requested.display_name()));
    }
    if user.password != password {
        return Err(EntraError::invalid_credentials());
    }

    Ok(issue_user_tokens(
        state,
        UserGrant {
            tenant_id: &home_tenant.id,
            client_id: &credentials.client_id,
            username: &user.username,
            scope,
            grant_type: "password",
        },
    ))
}

/// Refresh token grant (RFC 6749 section 6). The old refresh token stays valid, as it
/// does in Entra ID.
fn refresh_token_grant(
    state: &State,
    request: &RecordedRequest,
    form: &Form,
    tenant: &RequestTenant<'_>,
) -> Result<TokenResponse, EntraError> {
    let credentials = client_credentials(request, form)?;
    authenticate_client(state, &credentials, tenant)?;

    let refresh_token = form.require("refresh_token")?;
    let Some(grant) = state.tokens.find_refresh_grant(refresh_token) else {
        return Err(EntraError::unknown_refresh_token());
    };
    if grant.revoked {
        return Err(EntraError::revoked_grant());
    }
    if !grant.client_id.eq_ignore_ascii_case(&credentials.client_id) {
        return Err(EntraError::grant_not_for_this_request());
    }
    if let TenantSegment::Known(requested) = tenant.resolved
        && requested.id != grant.tenant_id
    {
        return Err(EntraError::grant_not_for_this_request());
    }

    let scope = form.get("scope").unwrap_or(&grant.scope);
    check_single_resource(scope)?;

    let mut response = issue_user_tokens(
        state,
        UserGrant {
            tenant_id: &grant.tenant_id,
            client_id: &grant.client_id,
            username: &grant.username,
            scope,
            grant_type: "refresh_token",
        },
    );
    // A refresh grant always returns a new refresh token, offline_access or not.
    if response.refresh_token.is_none() {
        response.refresh_token = Some(state.tokens.issue_refresh_token(RefreshGrant {
            tenant_id: grant.tenant_id.clone(),
            client_id: grant.client_id.clone(),
            username: grant.username.clone(),
            scope: scope.to_owned(),
            revoked: false,
        }));
    }
    Ok(response)
}

/// Device code poll (RFC 8628 section 3.4). A queued [`DevicePoll`] answers first;
/// with none queued the sign-in is approved and tokens are issued, once.
fn device_code_grant(
    state: &State,
    request: &RecordedRequest,
    form: &Form,
    tenant: &RequestTenant<'_>,
) -> Result<TokenResponse, EntraError> {
    let credentials = client_credentials(request, form)?;
    authenticate_client(state, &credentials, tenant)?;
    let device_code = form.require("device_code")?;
    let grant = lock(&state.tokens.device_grants).get(device_code).cloned();
    let Some(grant) = grant else {
        return Err(EntraError::bad_verification_code());
    };
    if !grant.client_id.eq_ignore_ascii_case(&credentials.client_id) || grant.redeemed {
        return Err(EntraError::grant_not_for_this_request());
    }
    if unix_now() >= grant.expires_at {
        return Err(EntraError::expired_token());
    }
    let scripted = lock(&state.tokens.device_polls).pop_front();
    match scripted {
        Some(DevicePoll::Pending) => return Err(EntraError::authorization_pending()),
        Some(DevicePoll::SlowDown) => return Err(EntraError::slow_down()),
        Some(DevicePoll::Declined) => return Err(EntraError::authorization_declined()),
        Some(DevicePoll::Expired) => return Err(EntraError::expired_token()),
        None => {}
    }
    if let Some(stored) = lock(&state.tokens.device_grants).get_mut(device_code) {
        stored.redeemed = true;
    }
    Ok(issue_user_tokens(
        state,
        UserGrant {
            tenant_id: &grant.tenant_id,
            client_id: &grant.client_id,
            username: &grant.username,
            scope: &grant.scope,
            grant_type: DEVICE_CODE_GRANT,
        },
    ))
}

/// Authorization code grant (RFC 6749 section 4.1.3). The `redirect_uri` must equal
/// the authorization request's, and the PKCE verifier must hash to its challenge.
fn authorization_code_grant(
    state: &State,
    request: &RecordedRequest,
    form: &Form,
    tenant: &RequestTenant<'_>,
) -> Result<TokenResponse, EntraError> {
    let credentials = client_credentials(request, form)?;
    authenticate_client(state, &credentials, tenant)?;
    let code = form.require("code")?;
    let redirect_uri = form.require("redirect_uri")?;
    let verifier = form.require("code_verifier")?;
    let scope = form.require("scope")?;
    check_single_resource(scope)?;

    let grant = lock(&state.tokens.code_grants).get(code).cloned();
    let Some(grant) = grant else {
        return Err(EntraError::unknown_refresh_token());
    };
    if grant.redeemed || !grant.client_id.eq_ignore_ascii_case(&credentials.client_id) {
        return Err(EntraError::grant_not_for_this_request());
    }
    if grant.redirect_uri != redirect_uri {
        return Err(EntraError::redirect_uri_mismatch(redirect_uri, &credentials.client_id));
    }
    if pkce_challenge(verifier) != grant.code_challenge {
        return Err(EntraError::code_verifier_mismatch());
    }
    if let Some(stored) = lock(&state.tokens.code_grants).get_mut(code) {
        stored.redeemed = true;
    }
    Ok(issue_user_tokens(
        state,
        UserGrant {
            tenant_id: &grant.tenant_id,
            client_id: &grant.client_id,
            username: &grant.username,
            scope,
            grant_type: "authorization_code",
        },
    ))
}

/// `BASE64URL(SHA256(verifier))`, the S256 challenge of RFC 7636 section 4.2.
fn pkce_challenge(verifier: &str) -> String {
    use sha2::Digest as _;
    base64url_encode(&sha2::Sha256::digest(verifier.as_bytes()))
}

/// Reads the client ID and secret from an HTTP Basic `Authorization` header (RFC 6749
/// section 2.3.1) or from the form body.
///
/// RFC 6749 forbids using two authentication methods at once, so a Basic header together
/// with a `client_secret` field, or with a different `client_id` field, is malformed.
fn client_credentials(
    request: &RecordedRequest,
    form: &Form,
) -> Result<ClientCredentials, EntraError> {
    let basic = match request.header("authorization") {
        Some(value) => parse_basic_authorization(value)?,
        None => None,
    };

    let assertion = match (form.get("client_assertion_type"), form.get("client_assertion")) {
        (None, None) => None,
        (Some(kind), Some(assertion)) => Some((kind.to_owned(), assertion.to_owned())),
        (None, Some(_)) => return Err(EntraError::missing_parameter("client_assertion_type")),
        (Some(_), None) => return Err(EntraError::missing_parameter("client_assertion")),
    };
    let Some((client_id, secret)) = basic else {
        let secret = form.get("client_secret").map(str::to_owned);
        if secret.is_some() && assertion.is_some() {
            return Err(EntraError::malformed_request());
        }
        return Ok(ClientCredentials {
            client_id: form.require("client_id")?.to_owned(),
            secret,
            assertion,
        });
    };

    if form.get("client_secret").is_some() || assertion.is_some() {
        return Err(EntraError::malformed_request());
    }
    if form
        .get("client_id")
        .is_some_and(|form_id| !form_id.eq_ignore_ascii_case(&client_id))
    {
        return Err(EntraError::malformed_request());
    }
    if client_id.is_empty() {
        return Err(EntraError::missing_parameter("client_id"));
    }
    Ok(ClientCredentials {
        client_id,
        secret: Some(secret).filter(|secret| !secret.is_empty()),
        assertion: None,
    })
}

/// Authenticates a client by a JWT client assertion (RFC 7523 section 2.2) that is
/// registered as a federated credential of the application. The emulator compares the
/// assertion text; it does not check a signature.
fn federated_client(
    config: &EmulatorConfig,
    form: &Form,
    directory: &str,
) -> Result<ClientCredentials, EntraError> {
    let assertion_type = form.require("client_assertion_type")?;
    if assertion_type != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return Err(EntraError::malformed_request());
    }
    if form.get("client_secret").is_some() {
        return Err(EntraError::malformed_request());
    }
    let client_id = form.require("client_id")?;
    let assertion = form.require("client_assertion")?;
    if config.find_app(client_id).is_none() {
        return Err(EntraError::application_not_found(client_id, directory));
    }
    let registered = config
        .federated_assertions
        .iter()
        .any(|(id, known)| id.eq_ignore_ascii_case(client_id) && known == assertion);
    if !registered {
        return Err(EntraError::no_matching_federated_credential());
    }
    Ok(ClientCredentials {
        client_id: client_id.to_owned(),
        secret: None,
        assertion: Some((assertion_type.to_owned(), assertion.to_owned())),
    })
}

/// Decodes `Basic base64(urlencode(id) ":" urlencode(secret))`. Returns `None` for other
/// schemes, which the token endpoint ignores.
fn parse_basic_authorization(value: &str) -> Result<Option<(String, String)>, EntraError> {
    let Some((scheme, credentials)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }

    let decoded = base64_decode(credentials.trim()).ok_or_else(EntraError::malformed_request)?;
    let text = String::from_utf8(decoded).map_err(|_| EntraError::malformed_request())?;
    let (client_id, secret) = text
        .split_once(':')
        .ok_or_else(EntraError::malformed_request)?;

    Ok(Some((
        percent_decode(client_id.as_bytes(), true),
        percent_decode(secret.as_bytes(), true),
    )))
}

/// Checks that the client is registered and that its credential fits its kind: none for
/// a public client; for a confidential one, the registered secret or a client assertion
/// signed by one of its certificates.
fn authenticate_client<'a>(
    state: &'a State,
    credentials: &ClientCredentials,
    tenant: &RequestTenant<'_>,
) -> Result<&'a App, EntraError> {
    let Some(app) = state.config.find_app(&credentials.client_id) else {
        return Err(EntraError::application_not_found(
            &credentials.client_id,
            &directory_name(tenant),
        ));
    };

    if app.is_public() {
        return match (&credentials.secret, &credentials.assertion) {
            (None, None) => Ok(app),
            _ => Err(EntraError::public_client_with_secret()),
        };
    }
    if let Some((assertion_type, assertion)) = &credentials.assertion {
        let context = AssertionContext {
            client_id: &credentials.client_id,
            audiences: token_endpoints(state, tenant),
        };
        assertion::verify(state, app, assertion_type, assertion, &context)?;
        return Ok(app);
    }
    match (&app.secret, &credentials.secret) {
        (_, None) => Err(EntraError::missing_client_credential()),
        (Some(expected), Some(given)) if expected == given => Ok(app),
        (_, Some(_)) => Err(EntraError::invalid_client_secret(&credentials.client_id)),
    }
}

/// The token endpoint URLs a client assertion's `aud` may name: with the tenant as the
/// path names it, and with the tenant ID.
fn token_endpoints(state: &State, tenant: &RequestTenant<'_>) -> Vec<String> {
    let mut segments = vec![tenant.segment.to_owned()];
    if let TenantSegment::Known(known) = tenant.resolved {
        segments.push(known.id.clone());
    }
    segments
        .iter()
        .map(|segment| format!("{}/{segment}/oauth2/v2.0/token", state.base_url))
        .collect()
}

/// Returns the directory name for error messages: the tenant's first domain, or the path
/// segment for `common` and `organizations`.
fn directory_name(tenant: &RequestTenant<'_>) -> String {
    match tenant.resolved {
        TenantSegment::Known(known) => known.display_name().to_owned(),
        _ => tenant.segment.to_owned(),
    }
}

/// Returns the directory an unknown user was looked up in: the requested tenant, or for
/// `common` and `organizations`, the domain of the user name.
fn user_directory_name(
    config: &EmulatorConfig,
    tenant: &RequestTenant<'_>,
    username: &str,
) -> String {
    if let TenantSegment::Known(known) = tenant.resolved {
        return known.display_name().to_owned();
    }
    domain_of(username)
        .and_then(|domain| config.find_tenant_by_domain(domain))
        .map_or_else(
            || domain_of(username).unwrap_or(tenant.segment).to_owned(),
            |home| home.display_name().to_owned(),
        )
}

/// Rejects scopes for more than one resource with AADSTS28000, because one token covers
/// one resource. OpenID Connect scopes name no resource.
fn check_single_resource(scope: &str) -> Result<(), EntraError> {
    let mut resources: Vec<String> = resource_scopes(scope)
        .map(|resource_scope| resource_of(resource_scope).to_ascii_lowercase())
        .collect();
    resources.dedup();
    resources.sort();
    resources.dedup();

    if resources.len() > 1 {
        return Err(EntraError::scope_with_several_resources(scope));
    }
    Ok(())
}

fn is_openid_scope(scope: &str) -> bool {
    OPENID_SCOPES
        .iter()
        .any(|known| known.eq_ignore_ascii_case(scope))
}

fn resource_scopes(scope: &str) -> impl Iterator<Item = &str> {
    scope
        .split_whitespace()
        .filter(|item| !is_openid_scope(item))
}

/// Returns the resource of a scope: the part before the last `/`, or Microsoft Graph for
/// a bare permission name such as `User.Read`.
fn resource_of(scope: &str) -> &str {
    scope
        .rsplit_once('/')
        .map_or(DEFAULT_RESOURCE, |(resource, _)| resource)
}

/// Everything a user token is issued for.
struct UserGrant<'a> {
    tenant_id: &'a str,
    client_id: &'a str,
    username: &'a str,
    scope: &'a str,
    grant_type: &'a str,
}

/// Issues an access token and `client_info`, plus a refresh token only if the scope has
/// `offline_access` and an ID token only if it has `openid`, the scopes that OpenID
/// Connect Core 1.0 defines for them.
fn issue_user_tokens(state: &State, grant: UserGrant<'_>) -> TokenResponse {
    let lifetime = state.config.token_lifetime_secs;
    let has_scope = |wanted: &str| {
        grant
            .scope
            .split_whitespace()
            .any(|item| item.eq_ignore_ascii_case(wanted))
    };

    let issued = state.tokens.issue_access_token(IssuedToken {
        access_token: String::new(),
        tenant_id: grant.tenant_id.to_owned(),
        client_id: grant.client_id.to_owned(),
        scope: grant.scope.to_owned(),
        grant_type: grant.grant_type.to_owned(),
        username: Some(grant.username.to_owned()),
        expires_in: lifetime,
    });
    let refresh_token = has_scope("offline_access").then(|| {
        state.tokens.issue_refresh_token(RefreshGrant {
            tenant_id: grant.tenant_id.to_owned(),
            client_id: grant.client_id.to_owned(),
            username: grant.username.to_owned(),
            scope: grant.scope.to_owned(),
            revoked: false,
        })
    });
    let id_token = has_scope("openid").then(|| build_id_token(state, &grant));
    let object_id = user_object_id(grant.tenant_id, grant.username);
    let client_info = serde_json::json!({ "uid": object_id, "utid": grant.tenant_id });

    TokenResponse {
        token_type: "Bearer",
        scope: Some(granted_scope(grant.scope)),
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: issued.access_token,
        refresh_token,
        id_token,
        client_info: Some(base64url_encode(client_info.to_string().as_bytes())),
    }
}

/// Returns the `scope` of a user token response: the requested resource scopes, or the
/// requested OpenID Connect scopes if there is no resource scope.
///
/// NOTE: Entra ID expands `/.default` into the permissions consented for the resource.
/// The emulator has no permission list, so it returns the requested scopes unchanged.
fn granted_scope(scope: &str) -> String {
    let resource: Vec<&str> = resource_scopes(scope).collect();
    if resource.is_empty() {
        return scope.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    resource.join(" ")
}

/// Builds an unsigned ID token (`alg: none`, empty signature) with the claims that
/// clients read: `aud`, `iss`, `iat`, `nbf`, `exp`, `name`, `oid`, `preferred_username`,
/// `sub`, `tid` and `ver`.
fn build_id_token(state: &State, grant: &UserGrant<'_>) -> String {
    let now = unix_now();
    let header = serde_json::json!({ "typ": "JWT", "alg": "none" });
    let claims = serde_json::json!({
        "aud": grant.client_id,
        "iss": format!("{}/{}/v2.0", state.base_url, grant.tenant_id),
        "iat": now,
        "nbf": now,
        "exp": now + state.config.token_lifetime_secs,
        "name": grant.username,
        "oid": user_object_id(grant.tenant_id, grant.username),
        "preferred_username": grant.username,
        "sub": uuid_from_name(&format!(
            "subject {} {}",
            grant.client_id.to_ascii_lowercase(),
            user_object_id(grant.tenant_id, grant.username)
        )),
        "tid": grant.tenant_id,
        "ver": "2.0",
    });

    format!(
        "{}.{}.",
        base64url_encode(header.to_string().as_bytes()),
        base64url_encode(claims.to_string().as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_authorization_decodes_url_encoded_parts() {
        // base64("a%3Ab:s+c%25") for client ID "a:b" and secret "s c%".
        let parsed = parse_basic_authorization("Basic YSUzQWI6cytjJTI1").unwrap();
        assert_eq!(parsed, Some(("a:b".to_owned(), "s c%".to_owned())));
    }

    #[test]
    fn basic_authorization_ignores_other_schemes() {
        assert_eq!(parse_basic_authorization("Bearer abc").unwrap(), None);
        assert_eq!(parse_basic_authorization("Basic").unwrap(), None);
    }

    #[test]
    fn basic_authorization_rejects_bad_encoding() {
        assert_eq!(
            parse_basic_authorization("Basic !!!").unwrap_err().code,
            9_002_313
        );
        // base64("no-colon")
        assert_eq!(
            parse_basic_authorization("Basic bm8tY29sb24=")
                .unwrap_err()
                .code,
            9_002_313
        );
    }

    #[test]
    fn single_resource_check() {
        assert!(check_single_resource("openid profile offline_access").is_ok());
        assert!(check_single_resource("https://a.example/x https://A.example/y openid").is_ok());
        assert!(check_single_resource("User.Read https://graph.microsoft.com/Mail.Read").is_ok());
        assert_eq!(
            check_single_resource("https://a.example/.default https://b.example/.default")
                .unwrap_err()
                .code,
            28_000
        );
    }

    #[test]
    fn pkce_challenge_is_base64url_sha256() {
        // Expected value computed independently with Python's hashlib and base64.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mJ92K9RVSDsTE8b2E5-j9frSnQBtRqX0"),
            "heaR6VL3NW33sJUXjYevFx1xbR31te0yf5gU0n3YjyA"
        );
    }

    #[test]
    fn granted_scope_drops_openid_scopes() {
        assert_eq!(
            granted_scope("openid profile offline_access https://a.example/.default"),
            "https://a.example/.default"
        );
        assert_eq!(granted_scope("openid  profile"), "openid profile");
    }
}
