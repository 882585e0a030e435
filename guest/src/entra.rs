//! Token requests to the Entra ID v2.0 token endpoint, and the parsing of its responses.
//!
//! Every method that talks to Entra ID builds its request here, through the `oauth2`
//! crate and [`HttpClient`], and every response is checked here: success bodies become a
//! [`Token`], error bodies become a message that keeps the AADSTS code, the description,
//! a hint for the common codes and the IDs that Microsoft support asks for.

use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    ResourceOwnerPassword, ResourceOwnerUsername, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
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
    /// OpenID Connect ID token, sent when the scopes include `openid`.
    #[serde(default)]
    pub id_token: Option<String>,
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

/// The scopes that MSAL adds to every user sign-in: an ID token (`openid`, `profile`)
/// names the account, and `offline_access` requests a refresh token.
pub const USER_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// Returns the requested scope followed by [`USER_SCOPES`], space-separated.
pub fn user_scope_list(scope: &str) -> String {
    std::iter::once(scope).chain(USER_SCOPES).collect::<Vec<_>>().join(" ")
}

/// The credential a token request presents.
pub enum Grant<'a> {
    /// Client credentials grant with a client secret.
    ClientSecret(&'a Secret),
    /// Client credentials grant with a client assertion (RFC 7523 section 2.2): a signed
    /// JWT from a certificate, or a federated token such as Kubernetes issues.
    ClientAssertion(&'a Secret),
    /// Resource owner password grant (public client; no MFA).
    Password {
        /// User principal name.
        username: &'a str,
        /// The user's password.
        password: &'a Secret,
    },
    /// Refresh token grant (RFC 6749 section 6) for a public client.
    RefreshToken(&'a Secret),
    /// Authorization code grant with PKCE (RFC 6749 section 4.1.3, RFC 7636 section 4.5).
    AuthorizationCode {
        /// The code from the redirect.
        code: &'a Secret,
        /// The redirect URI of the authorization request, byte for byte.
        redirect_uri: &'a str,
        /// The PKCE code verifier.
        verifier: &'a Secret,
        /// `Oid:<uid>@<utid>` from the redirect's `client_info`, sent as
        /// `X-AnchorMailbox` so that Entra ID routes the request to the user's home
        /// region, as MSAL does.
        anchor_mailbox: Option<&'a str>,
    },
}

/// A signed-in user account, from the token response's `client_info` and ID token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// `<uid>.<utid>`: the user's object ID and home tenant, as MSAL keys accounts.
    pub home_account_id: String,
    /// The user's home tenant (`utid`).
    pub home_tenant: String,
    /// `preferred_username` of the ID token, usually the UPN; empty when absent.
    pub username: String,
}

/// A token from a user sign-in, with what it takes to renew it silently.
#[derive(Clone, Debug)]
pub struct UserToken {
    /// The access token.
    pub token: Token,
    /// The refresh token, when the response carried one.
    pub refresh_token: Option<Secret>,
    /// The account, when the response named it.
    pub account: Option<Account>,
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
    request_user_token(endpoint, grant, scope).map(|user_token| user_token.token)
}

/// Requests a token for one scope and keeps the refresh token and account of a user
/// sign-in. Grants for a user (password, refresh token, authorization code) add
/// [`USER_SCOPES`] and `client_info=1`, as MSAL does.
pub fn request_user_token(
    endpoint: &Endpoint,
    grant: Grant,
    scope: &str,
) -> Result<UserToken, MethodError> {
    exchange(endpoint, grant, scope).map_err(|error| MethodError::Failed(error.message))
}

/// Why a token request returned no token.
#[derive(Debug)]
pub struct ExchangeError {
    /// True when Entra ID rejected the grant itself (`invalid_grant` or
    /// `interaction_required`): a refresh token that expired, was revoked or belongs to
    /// another client or tenant. A person must sign in again.
    pub grant_rejected: bool,
    /// What failed, naming the token endpoint.
    pub message: String,
}

/// Sends a token request; [`request_user_token`] with the kind of failure kept.
pub fn exchange(endpoint: &Endpoint, grant: Grant, scope: &str) -> Result<UserToken, ExchangeError> {
    let fail = |message: String| ExchangeError {
        grant_rejected: false,
        message,
    };
    let token_url = endpoint.token_url();
    let url = TokenUrl::new(token_url.clone())
        .map_err(|error| fail(format!("invalid token URL {token_url}: {error}")))?;
    let mut client: EntraClient = oauth2::Client::new(ClientId::new(endpoint.client_id.to_string()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(url);
    let started = clock::now_unix();
    let user_scopes = || {
        user_scope_list(scope)
            .split(' ')
            .map(|s| Scope::new(s.to_string()))
            .collect::<Vec<_>>()
    };

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
            // With no client secret set and `AuthType::RequestBody`, oauth2 sends
            // `client_id` in the body and no `client_secret` or `Authorization` header,
            // so the assertion is the only client credential, as RFC 7523 requires.
            let http = HttpClient::new();
            let result = client
                .exchange_client_credentials()
                .add_scope(Scope::new(scope.to_string()))
                .add_extra_param("client_assertion_type", crate::assertion::ASSERTION_TYPE)
                .add_extra_param("client_assertion", assertion.expose().to_string())
                .request(&|request| http.execute(request));
            (result, http.last_status())
        }
        Grant::Password { username, password } => {
            // NOTE: MSAL routes password grants by `X-AnchorMailbox`.
            let http = HttpClient::new().with_header("x-anchormailbox", format!("upn:{username}"));
            let user = ResourceOwnerUsername::new(username.to_string());
            let password = ResourceOwnerPassword::new(password.expose().to_string());
            let result = client
                .exchange_password(&user, &password)
                .add_scopes(user_scopes())
                .add_extra_param("client_info", "1")
                .request(&|request| http.execute(request));
            (result, http.last_status())
        }
        Grant::RefreshToken(refresh_token) => {
            let http = HttpClient::new();
            let refresh_token = RefreshToken::new(refresh_token.expose().to_string());
            let result = client
                .exchange_refresh_token(&refresh_token)
                .add_scopes(user_scopes())
                .add_extra_param("client_info", "1")
                .request(&|request| http.execute(request));
            (result, http.last_status())
        }
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            verifier,
            anchor_mailbox,
        } => {
            let redirect = RedirectUrl::new(redirect_uri.to_string())
                .map_err(|error| fail(format!("invalid redirect URI {redirect_uri}: {error}")))?;
            let mut http = HttpClient::new();
            if let Some(anchor) = anchor_mailbox {
                http = http.with_header("x-anchormailbox", anchor.to_string());
            }
            let result = client
                .set_redirect_uri(redirect)
                .exchange_code(AuthorizationCode::new(code.expose().to_string()))
                .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_string()))
                // oauth2 models no scope for this grant; Entra ID and MSAL send one.
                .add_extra_param("scope", user_scope_list(scope))
                .add_extra_param("client_info", "1")
                .request(&|request| http.execute(request));
            (result, http.last_status())
        }
    };

    match result {
        (Ok(response), _) => Ok(user_token_from_response(&response, started, endpoint.tenant)),
        (Err(error), status) => {
            let grant_rejected = matches!(
                &error,
                RequestTokenError::ServerResponse(entra)
                    if matches!(entra.error.as_str(), "invalid_grant" | "interaction_required")
            );
            Err(ExchangeError {
                grant_rejected,
                message: describe_request_error(error, status, &token_url),
            })
        }
    }
}

fn user_token_from_response(response: &EntraTokenResponse, started: u64, tenant: &str) -> UserToken {
    let fields = response.extra_fields();
    let account = fields.client_info.as_deref().and_then(|info| {
        account_of(info, fields.id_token.as_deref())
    });
    UserToken {
        token: token_from_response(response, started, tenant),
        refresh_token: response
            .refresh_token()
            .map(|token| Secret::new(token.secret().clone())),
        account,
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
    let value = decode_base64url_json(client_info)?;
    value.get("utid")?.as_str().map(str::to_string)
}

/// Builds the account from `client_info` and, for the user name, the ID token.
///
/// NOTE: the ID token's signature is not checked. It came straight from the token
/// endpoint over the same connection as the tokens, and only its user name is read,
/// for display and for `azauth logout`; no decision about access depends on it.
fn account_of(client_info: &str, id_token: Option<&str>) -> Option<Account> {
    let info = decode_base64url_json(client_info)?;
    let uid = info.get("uid")?.as_str()?;
    let utid = info.get("utid")?.as_str()?;
    let username = id_token
        .and_then(|token| token.split('.').nth(1))
        .and_then(decode_base64url_json)
        .and_then(|claims| claims.get("preferred_username")?.as_str().map(str::to_string))
        .unwrap_or_default();
    Some(Account {
        home_account_id: format!("{uid}.{utid}"),
        home_tenant: utid.to_string(),
        username,
    })
}

/// Returns `Oid:<uid>@<utid>` from a `client_info` value, MSAL's routing hint for
/// requests on behalf of a known account.
pub fn anchor_mailbox_of(client_info: &str) -> Option<String> {
    let info = decode_base64url_json(client_info)?;
    let uid = info.get("uid")?.as_str()?;
    let utid = info.get("utid")?.as_str()?;
    Some(format!("Oid:{uid}@{utid}"))
}

fn decode_base64url_json(text: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Posts a form to an Entra ID endpoint and returns the status and body.
///
/// For the requests that oauth2 does not model as one request, the device
/// authorization request and a single device code poll. Each goes out once through
/// [`HttpClient`], with its timeouts and retries.
pub fn post_form(url: &str, form: &[(&str, &str)]) -> Result<(u16, Vec<u8>), String> {
    let body = oauth2::url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
        .into_bytes();
    let request = oauth2::http::Request::post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .map_err(|error| format!("invalid request URL {url}: {error}"))?;
    let response = HttpClient::new()
        .execute(request)
        .map_err(|error| error.to_string())?;
    Ok((response.status().as_u16(), response.into_body()))
}

/// Reads a successful token response body, as [`request_user_token`] does.
pub fn parse_user_token(body: &[u8], started: u64, tenant: &str) -> Result<UserToken, String> {
    let response: EntraTokenResponse = serde_json::from_slice(body)
        .map_err(|error| format!("the token response could not be read: {error}"))?;
    Ok(user_token_from_response(&response, started, tenant))
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
            // A body with status 200 may contain a token, so only error bodies are shown.
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

/// What to do about a well-known AADSTS code. Entra ID documents that codes and texts may change,
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
        assert_eq!(
            anchor_mailbox_of(info).as_deref(),
            Some("Oid:u1@11111111-2222-3333-4444-555555555555")
        );
    }
}
