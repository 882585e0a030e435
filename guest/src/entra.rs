//! Token requests to the Entra ID v2.0 token endpoint, and the reading of its answers.
//!
//! Every method that talks to Entra ID builds its request here, through the `oauth2`
//! crate and [`HttpClient`], and every answer is checked here: success bodies become a
//! [`Token`], error bodies become a message that keeps the AADSTS code, the description,
//! a hint for the common codes and the IDs that Microsoft support asks for.

use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields,
    RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::cloud::Authority;
use crate::methods::MethodError;
use crate::secret::Secret;
use crate::transport::{HttpClient, TransportError};
use crate::{clock, log};

/// Tokens that live at least this long without a `refresh_in` hint are refreshed at half
/// their lifetime, as MSAL does for managed identity tokens.
const LONG_LIVED_SECS: u64 = 7200;

/// `client_assertion_type` of a JWT client assertion (RFC 7523 section 2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Entra ID's error body: RFC 6749 section 5.2 plus Microsoft's diagnostic fields.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct EntraError {
    /// OAuth error code, such as `invalid_client`. The server must send it.
    pub error: String,
    /// `AADSTSnnnnn: text`, followed by trace lines.
    #[serde(default)]
    pub error_description: Option<String>,
    /// Numeric AADSTS codes.
    #[serde(default)]
    pub error_codes: Vec<u64>,
    /// Server time of the error.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Request ID for Microsoft support.
    #[serde(default)]
    pub trace_id: Option<String>,
    /// Correlation ID for Microsoft support.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl std::fmt::Display for EntraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&describe_entra_error(self, None))
    }
}

impl oauth2::ErrorResponse for EntraError {}

/// The fields of a token response beyond RFC 6749's.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct EntraTokenFields {
    /// Seconds after which the client should refresh proactively (sent for long-lived tokens).
    #[serde(default)]
    pub refresh_in: Option<u64>,
    /// Base64url JSON with `uid` and `utid` (the home tenant), for user sign-ins.
    #[serde(default)]
    pub client_info: Option<String>,
}

impl ExtraTokenFields for EntraTokenFields {}

type EntraTokenResponse = StandardTokenResponse<EntraTokenFields, BasicTokenType>;

type EntraClient = oauth2::Client<
    EntraError,
    EntraTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// An access token as a method obtained it.
#[derive(Clone, Debug)]
pub struct Token {
    /// The access token.
    pub access_token: Secret,
    /// Expiry, Unix seconds.
    pub expires_on: u64,
    /// When to refresh proactively, Unix seconds; `None` means 5 minutes before expiry.
    pub refresh_on: Option<u64>,
    /// Token type, normally `Bearer`.
    pub token_type: String,
    /// The tenant that issued the token, when known.
    pub tenant: Option<String>,
}

/// The credential a token request presents.
pub enum Grant<'a> {
    /// Client credentials grant with a client secret.
    ClientSecret(&'a Secret),
    /// Client credentials grant with a client assertion (RFC 7523 section 2.2), such as a
    /// federated token from Kubernetes.
    ClientAssertion(&'a Secret),
    /// Resource owner password grant (public client; no MFA).
    Password {
        /// User principal name.
        username: &'a str,
        /// The user's password.
        password: &'a Secret,
    },
}

/// Where a token request goes: authority, tenant and client.
pub struct Endpoint<'a> {
    /// Authority (scheme, host, port).
    pub authority: &'a Authority,
    /// Tenant ID or domain, or `organizations` for user sign-ins.
    pub tenant: &'a str,
    /// Application (client) ID.
    pub client_id: &'a str,
}

impl Endpoint<'_> {
    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority.url(), self.tenant)
    }
}

/// Requests a token for one scope.
///
/// Fails when Entra ID rejects the request, when it cannot be reached, or when its
/// answer cannot be read; each message names the token endpoint.
pub fn request_token(endpoint: &Endpoint, grant: Grant, scope: &str) -> Result<Token, MethodError> {
    let token_url = endpoint.token_url();
    let url = TokenUrl::new(token_url.clone())
        .map_err(|error| MethodError::Failed(format!("invalid token URL {token_url}: {error}")))?;
    let mut client: EntraClient = oauth2::Client::new(ClientId::new(endpoint.client_id.to_string()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(url);
    let started = clock::now_unix();

    let result = match grant {
        Grant::ClientSecret(secret) => {
            client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
            let http = HttpClient::new();
            let result = client
                .exchange_client_credentials()
                .add_scope(Scope::new(scope.to_string()))
                .request(&|request| http.execute(request));
            (result, http.last_status())
        }
        Grant::ClientAssertion(assertion) => {
            let http = HttpClient::new();
            let result = client
                .exchange_client_credentials()
                .add_scope(Scope::new(scope.to_string()))
                .add_extra_param("client_assertion_type", CLIENT_ASSERTION_TYPE)
                .add_extra_param("client_assertion", assertion.expose().to_string())
                .request(&|request| http.execute(request));
            (result, http.last_status())
        }
        Grant::Password { username, password } => {
            // NOTE: MSAL adds `openid profile offline_access` so that the answer carries a
            // refresh token and the account, and routes by `X-AnchorMailbox`.
            let http = HttpClient::new().with_header("x-anchormailbox", format!("upn:{username}"));
            let user = ResourceOwnerUsername::new(username.to_string());
            let password = ResourceOwnerPassword::new(password.expose().to_string());
            let result = client
                .exchange_password(&user, &password)
                .add_scopes(
                    [scope, "openid", "profile", "offline_access"]
                        .map(|s| Scope::new(s.to_string())),
                )
                .add_extra_param("client_info", "1")
                .request(&|request| http.execute(request));
            (result, http.last_status())
        }
    };

    match result {
        (Ok(response), _) => Ok(token_from_response(&response, started, endpoint.tenant)),
        (Err(error), status) => Err(MethodError::Failed(describe_request_error(
            error, status, &token_url,
        ))),
    }
}

fn token_from_response(response: &EntraTokenResponse, started: u64, tenant: &str) -> Token {
    let expires_in = response.expires_in().map(|d| d.as_secs()).unwrap_or(3600);
    let refresh_in = response
        .extra_fields()
        .refresh_in
        .or((expires_in >= LONG_LIVED_SECS).then_some(expires_in / 2));
    let home_tenant = response
        .extra_fields()
        .client_info
        .as_deref()
        .and_then(home_tenant_of);
    let tenant = match tenant {
        "organizations" | "common" | "consumers" => home_tenant,
        _ => Some(tenant.to_string()),
    };
    Token {
        access_token: Secret::new(response.access_token().secret().clone()),
        expires_on: started + expires_in,
        refresh_on: refresh_in.map(|secs| started + secs),
        token_type: "Bearer".to_string(),
        tenant,
    }
}

/// Reads `utid`, the home tenant, from a `client_info` value.
fn home_tenant_of(client_info: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(client_info.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("utid")?.as_str().map(str::to_string)
}

fn describe_request_error(
    error: RequestTokenError<TransportError, EntraError>,
    status: Option<u16>,
    token_url: &str,
) -> String {
    match error {
        RequestTokenError::ServerResponse(entra) => {
            let message = describe_entra_error(&entra, status);
            log::debug(&format!("token request to {token_url} rejected: {message}"));
            format!("Entra ID rejected the token request to {token_url}: {message}")
        }
        RequestTokenError::Request(transport) => transport.to_string(),
        RequestTokenError::Parse(error, body) => {
            let status_text = status.map(|s| format!("HTTP {s}")).unwrap_or_default();
            // A body that answered 200 may hold a token, so only error bodies are shown.
            let shown = match status {
                Some(200) | None => String::new(),
                Some(_) => format!(": {}", printable_prefix(&body, 200)),
            };
            format!(
                "the token endpoint {token_url} returned an unreadable response \
                 ({status_text}, {error}){shown}"
            )
        }
        RequestTokenError::Other(message) => {
            let status_text = status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
            format!("the token endpoint {token_url} returned an unusable response{status_text}: {message}")
        }
    }
}

/// Builds the message for an Entra ID error body.
///
/// Keeps the first line of `error_description` (the AADSTS code and text), adds a hint for
/// well-known codes, and the trace and correlation IDs.
pub fn describe_entra_error(error: &EntraError, status: Option<u16>) -> String {
    let description = error
        .error_description
        .as_deref()
        .and_then(|text| text.lines().next())
        .unwrap_or("")
        .trim();
    let mut message = String::new();
    if let Some(status) = status {
        message.push_str(&format!("HTTP {status}, "));
    }
    message.push_str(&error.error);
    if !description.is_empty() {
        message.push_str(&format!(": {description}"));
    }
    let code = error
        .error_codes
        .first()
        .copied()
        .or_else(|| aadsts_code(description));
    if let Some(hint) = code.and_then(hint_for) {
        message.push_str(&format!(". Hint: {hint}"));
    }
    let ids: Vec<String> = [
        ("trace ID", &error.trace_id),
        ("correlation ID", &error.correlation_id),
        ("timestamp", &error.timestamp),
    ]
    .into_iter()
    .filter_map(|(label, value)| value.as_ref().map(|v| format!("{label} {v}")))
    .collect();
    if !ids.is_empty() {
        message.push_str(&format!(" ({})", ids.join(", ")));
    }
    message
}

/// Reads the number from an `AADSTSnnnnn:` prefix.
fn aadsts_code(description: &str) -> Option<u64> {
    let digits: String = description
        .strip_prefix("AADSTS")?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// What to do about a well-known AADSTS code. Entra ID says codes and texts may change,
/// so these are hints only; no decision depends on them.
fn hint_for(code: u64) -> Option<&'static str> {
    Some(match code {
        7000215 => "use the client secret's value, not its ID, and check that it was copied whole",
        7000222 => "the client secret has expired; create a new one for the app registration",
        700016 => {
            "check the client ID and the tenant: the app may be registered in another tenant \
             or cloud, or not consented"
        }
        90002 => "check the tenant ID or domain, and the cloud: a tenant of another national cloud is not found here",
        1002012 | 70011 => "use a scope of the form <resource>/.default",
        500011 => "check the scope's resource URL and the cloud",
        7000218 => "enable 'Allow public client flows' on the app registration, or use a confidential method",
        50126 => "check the username and password",
        50034 => "check the username and the tenant",
        50076 => "multi-factor authentication is required: use devicecode or interactive",
        50079 => "the user must register for multi-factor authentication, then use an interactive method",
        53003 => "blocked by Conditional Access; ask the tenant's administrator",
        65001 => "the app needs consent for this scope from a user or an administrator",
        700024 => "the assertion is outside its valid time; check the system clock",
        700027 => "upload the certificate (with the matching thumbprint) to the app registration",
        70043 | 700082 => "the sign-in has expired; sign in again",
        _ => return None,
    })
}

/// The first `limit` characters of a body, with control characters replaced.
fn printable_prefix(body: &[u8], limit: usize) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(limit)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVALID_SECRET: &str = r#"{
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '99999999-8888-7777-6666-555555555555'.\r\nTrace ID: 0b6f3d3a-1111-4c8e-9c3e-1d6a2b7c0a00\r\nCorrelation ID: 7c1d2a3b-2222-4f5e-8a9b-0c1d2e3f4a5b\r\nTimestamp: 2026-12-04 20:00:00Z",
        "error_codes": [7000215],
        "timestamp": "2026-12-04 20:00:00Z",
        "trace_id": "0b6f3d3a-1111-4c8e-9c3e-1d6a2b7c0a00",
        "correlation_id": "7c1d2a3b-2222-4f5e-8a9b-0c1d2e3f4a5b",
        "error_uri": "https://login.microsoftonline.com/error?code=7000215"
    }"#;

    #[test]
    fn entra_error_keeps_code_hint_and_ids() {
        let error: EntraError = serde_json::from_str(INVALID_SECRET).unwrap();
        let message = describe_entra_error(&error, Some(401));
        assert_eq!(
            message,
            "HTTP 401, invalid_client: AADSTS7000215: Invalid client secret provided. Ensure \
             the secret being sent in the request is the client secret value, not the client \
             secret ID, for a secret added to app '99999999-8888-7777-6666-555555555555'.. \
             Hint: use the client secret's value, not its ID, and check that it was copied \
             whole (trace ID 0b6f3d3a-1111-4c8e-9c3e-1d6a2b7c0a00, correlation ID \
             7c1d2a3b-2222-4f5e-8a9b-0c1d2e3f4a5b, timestamp 2026-12-04 20:00:00Z)"
        );
    }

    #[test]
    fn aadsts_code_read_from_description() {
        // Some proxies and older endpoints omit `error_codes`.
        let error = EntraError {
            error: "invalid_request".to_string(),
            error_description: Some("AADSTS90002: Tenant 'x' not found.".to_string()),
            error_codes: vec![],
            timestamp: None,
            trace_id: None,
            correlation_id: None,
        };
        let message = describe_entra_error(&error, None);
        assert!(message.contains("Hint: check the tenant ID"), "{message}");
    }

    #[test]
    fn home_tenant_from_client_info() {
        // base64url of {"uid":"u1","utid":"11111111-2222-3333-4444-555555555555"}
        let info = "eyJ1aWQiOiJ1MSIsInV0aWQiOiIxMTExMTExMS0yMjIyLTMzMzMtNDQ0NC01NTU1NTU1NTU1NTUifQ";
        assert_eq!(
            home_tenant_of(info).as_deref(),
            Some("11111111-2222-3333-4444-555555555555")
        );
        assert_eq!(home_tenant_of("not base64!"), None);
    }
}
