//! Entra ID endpoints, and the error format and response headers they share.
//!
//! Every AADSTS code that the emulator sends has a constructor on [`EntraError`], so the
//! codes, statuses and texts live in one place. Texts follow what Entra ID sends, except
//! that the emulator's own URL replaces `https://login.microsoftonline.com`.

pub(crate) mod assertion;
pub(crate) mod authorize;
pub(crate) mod device_code;
pub(crate) mod discovery;
pub(crate) mod token;

use serde::Serialize;

use crate::clock::{format_entra_timestamp, unix_now};
use crate::http::Response;
use crate::ids::{is_guid, random_uuid, uuid_from_name};
use crate::record::RecordedRequest;
use crate::server::State;

/// An Entra ID error: HTTP status, OAuth 2.0 `error` value, AADSTS code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EntraError {
    pub(crate) status: u16,
    pub(crate) error: &'static str,
    pub(crate) code: u32,
    pub(crate) message: String,
}

impl EntraError {
    fn new(status: u16, error: &'static str, code: u32, message: String) -> EntraError {
        EntraError {
            status,
            error,
            code,
            message,
        }
    }

    /// AADSTS900144: a required parameter is missing or empty. The emulator also sends it
    /// for a token request that is not a form POST, because such a request has no
    /// readable `grant_type`.
    pub(crate) fn missing_parameter(name: &str) -> EntraError {
        EntraError::new(
            400,
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    /// AADSTS90002: the tenant in the path is neither a known ID nor a known domain.
    pub(crate) fn tenant_not_found(tenant: &str) -> EntraError {
        EntraError::new(
            400,
            "invalid_request",
            90_002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        )
    }

    /// AADSTS50059: a flow without a user, such as client credentials, went to `common`
    /// or `organizations`, so nothing names the tenant.
    pub(crate) fn no_tenant_information() -> EntraError {
        EntraError::new(
            400,
            "invalid_request",
            50_059,
            "No tenant-identifying information found in either the request or implied by any provided credentials.".to_owned(),
        )
    }

    /// AADSTS700016: no application with that client ID is registered.
    pub(crate) fn application_not_found(client_id: &str, directory: &str) -> EntraError {
        EntraError::new(
            400,
            "unauthorized_client",
            700_016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{directory}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        )
    }

    /// AADSTS7000215: the client secret does not match the registered one.
    pub(crate) fn invalid_client_secret(client_id: &str) -> EntraError {
        EntraError::new(
            401,
            "invalid_client",
            7_000_215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )
    }

    /// AADSTS7000218: a confidential client sent no credential.
    pub(crate) fn missing_client_credential() -> EntraError {
        EntraError::new(
            401,
            "invalid_client",
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".to_owned(),
        )
    }

    /// AADSTS70021: the client assertion matches no federated identity credential of
    /// the application.
    pub(crate) fn no_matching_federated_credential() -> EntraError {
        EntraError::new(
            400,
            "invalid_request",
            70_021,
            "No matching federated identity record found for presented assertion.".to_owned(),
        )
    }

    /// AADSTS700025: a public client sent a secret, which public clients do not have.
    pub(crate) fn public_client_with_secret() -> EntraError {
        EntraError::new(
            401,
            "invalid_client",
            700_025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.".to_owned(),
        )
    }

    /// AADSTS1002012: a client credentials request without exactly one `/.default` scope.
    pub(crate) fn client_credentials_scope(scope: &str) -> EntraError {
        EntraError::new(
            400,
            "invalid_scope",
            1_002_012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )
    }

    /// AADSTS28000: the scopes name more than one resource, which one token cannot cover.
    pub(crate) fn scope_with_several_resources(scope: &str) -> EntraError {
        EntraError::new(
            400,
            "invalid_scope",
            28_000,
            format!(
                "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {scope} is not valid."
            ),
        )
    }

    /// AADSTS50034: the user does not exist in the directory. Entra ID hides the user
    /// name in this message.
    pub(crate) fn user_not_found(directory: &str) -> EntraError {
        EntraError::new(
            400,
            "invalid_grant",
            50_034,
            format!(
                "The user account {{EUII Hidden}} does not exist in the {directory} directory. To sign into this application, the account must be added to the directory."
            ),
        )
    }

    /// AADSTS50126: the password is wrong.
    pub(crate) fn invalid_credentials() -> EntraError {
        EntraError::new(
            400,
            "invalid_grant",
            50_126,
            "Error validating credentials due to invalid username or password.".to_owned(),
        )
    }

    /// AADSTS9002313: the request cannot be parsed, for example a refresh token that the
    /// emulator never issued or two client authentication methods at once.
    pub(crate) fn malformed_request() -> EntraError {
        EntraError::new(
            400,
            "invalid_request",
            9_002_313,
            "Invalid request. Request is malformed or invalid.".to_owned(),
        )
    }

    /// AADSTS9002313 as Entra ID sends it for an unknown refresh token, with
    /// `invalid_grant`.
    pub(crate) fn unknown_refresh_token() -> EntraError {
        EntraError {
            error: "invalid_grant",
            ..EntraError::malformed_request()
        }
    }

    /// AADSTS70000: the grant is valid but not for this client or tenant.
    pub(crate) fn grant_not_for_this_request() -> EntraError {
        EntraError::new(
            400,
            "invalid_grant",
            70_000,
            "Provided grant is invalid or malformed.".to_owned(),
        )
    }

    /// AADSTS50173: the refresh token was revoked.
    pub(crate) fn revoked_grant() -> EntraError {
        EntraError::new(
            400,
            "invalid_grant",
            50_173,
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.".to_owned(),
        )
    }

    /// AADSTS700027: the thumbprint of a client assertion names no certificate of the
    /// application.
    pub(crate) fn certificate_not_registered(thumbprint: &str, client_id: &str) -> EntraError {
        EntraError::new(
            401,
            "invalid_client",
            700_027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]"
            ),
        )
    }

    /// AADSTS700027: the signature of a client assertion does not verify with the
    /// certificate it names.
    pub(crate) fn assertion_signature_invalid() -> EntraError {
        EntraError::new(
            401,
            "invalid_client",
            700_027,
            "Client assertion failed signature validation.".to_owned(),
        )
    }

    /// AADSTS700024: the client assertion is outside its time window.
    pub(crate) fn assertion_outside_time_window(
        now: u64,
        not_before: Option<u64>,
        expires: u64,
    ) -> EntraError {
        let not_before = not_before.map_or_else(|| "(none)".to_owned(), |secs| secs.to_string());
        EntraError::new(
            400,
            "invalid_client",
            700_024,
            format!(
                "Client assertion is not within its valid time range. Current time: {now}, assertion valid from {not_before}, expiry time of assertion {expires}."
            ),
        )
    }

    /// A device code poll before the person finished (AADSTS70016).
    pub(crate) fn authorization_pending() -> EntraError {
        EntraError::new(
            400,
            "authorization_pending",
            70_016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.".to_owned(),
        )
    }

    /// A device code poll that comes too soon (RFC 8628 `slow_down`).
    ///
    /// NOTE: Entra ID does not document `slow_down`, so the AADSTS code here is the
    /// pending one; clients act on the `error` value alone.
    pub(crate) fn slow_down() -> EntraError {
        EntraError::new(
            400,
            "slow_down",
            70_016,
            "OAuth 2.0 device flow error. Polling too frequently; slow down.".to_owned(),
        )
    }

    /// The person declined the device code sign-in.
    ///
    /// NOTE: the AADSTS code is an assumption; the `error` value is Entra ID's.
    pub(crate) fn authorization_declined() -> EntraError {
        EntraError::new(
            400,
            "authorization_declined",
            70_000,
            "The end user denied the authorization request.".to_owned(),
        )
    }

    /// The device code expired (AADSTS70019).
    pub(crate) fn expired_token() -> EntraError {
        EntraError::new(
            400,
            "expired_token",
            70_019,
            "Verification code expired.".to_owned(),
        )
    }

    /// The device code is unknown.
    ///
    /// NOTE: the AADSTS code is an assumption; the `error` value is RFC 8628's.
    pub(crate) fn bad_verification_code() -> EntraError {
        EntraError::new(
            400,
            "bad_verification_code",
            70_000,
            "The device code is not recognised.".to_owned(),
        )
    }

    /// AADSTS50011: the redirect URI is not registered for the application.
    pub(crate) fn redirect_uri_mismatch(redirect_uri: &str, client_id: &str) -> EntraError {
        EntraError::new(
            400,
            "invalid_request",
            50_011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'."
            ),
        )
    }

    /// AADSTS700021: `iss` or `sub` of the client assertion is not the `client_id`.
    pub(crate) fn assertion_client_mismatch(claim: &str) -> EntraError {
        EntraError::new(
            401,
            "invalid_client",
            700_021,
            format!("Client assertion application identifier doesn't match 'client_id' parameter (claim '{claim}')."),
        )
    }

    /// AADSTS700023: `aud` of the client assertion is not this token endpoint.
    pub(crate) fn assertion_audience_mismatch(audience: &str) -> EntraError {
        EntraError::new(
            401,
            "invalid_client",
            700_023,
            format!("Client assertion audience claim does not match Realm issuer. Audience: '{audience}'."),
        )
    }

    /// AADSTS50013: the `jti` of the client assertion was already used.
    ///
    /// NOTE: Entra ID does not document its answer to a replayed assertion. The emulator
    /// uses 50013, Entra ID's general "assertion is invalid" code.
    pub(crate) fn assertion_replayed(id: &str) -> EntraError {
        EntraError::new(
            401,
            "invalid_client",
            50_013,
            format!("Assertion failed signature validation or is invalid: the assertion with jti '{id}' was already used."),
        )
    }

    /// AADSTS50027: the client assertion is not a well-formed JWT of the kind Entra ID
    /// accepts.
    pub(crate) fn malformed_assertion(reason: &str) -> EntraError {
        EntraError::new(
            401,
            "invalid_client",
            50_027,
            format!("JWT token is invalid or malformed: {reason}."),
        )
    }

    /// AADSTS50027 for a `client_assertion_type` other than the JWT bearer type.
    pub(crate) fn invalid_assertion_type(assertion_type: &str) -> EntraError {
        EntraError::malformed_assertion(&format!(
            "client_assertion_type '{assertion_type}' is not '{}'",
            assertion::JWT_BEARER
        ))
    }

    /// AADSTS501481: the PKCE code verifier does not match the challenge.
    pub(crate) fn code_verifier_mismatch() -> EntraError {
        EntraError::new(
            400,
            "invalid_grant",
            501_481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.".to_owned(),
        )
    }

    /// AADSTS70003: the grant type is not one the emulator supports.
    pub(crate) fn unsupported_grant_type(grant_type: &str) -> EntraError {
        EntraError::new(
            400,
            "unsupported_grant_type",
            70_003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        )
    }
}

/// Entra ID's error body. The field order is the one Entra ID sends.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: String,
    error_codes: [u32; 1],
    timestamp: String,
    trace_id: String,
    correlation_id: String,
    error_uri: String,
}

/// Creates the response for `error`, with the trace, correlation and time details that
/// Entra ID adds to every error.
pub(crate) fn error_response(
    state: &State,
    request: &RecordedRequest,
    error: &EntraError,
) -> Response {
    let trace_id = random_uuid();
    let correlation_id = correlation_id(request);
    let timestamp = format_entra_timestamp(unix_now());

    let body = ErrorBody {
        error: error.error,
        error_description: format!(
            "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
            error.code, error.message
        ),
        error_codes: [error.code],
        timestamp,
        trace_id: trace_id.clone(),
        correlation_id: correlation_id.clone(),
        error_uri: format!("{}/error?code={}", state.base_url, error.code),
    };
    with_entra_headers(
        Response::json(error.status, &body),
        request,
        &trace_id,
        &correlation_id,
    )
}

/// Creates a 200 JSON response with the headers that Entra ID sends with tokens.
pub(crate) fn success_response(request: &RecordedRequest, body: &impl Serialize) -> Response {
    with_entra_headers(
        Response::json(200, body),
        request,
        &random_uuid(),
        &correlation_id(request),
    )
}

/// Adds `Cache-Control`, `Pragma` and `x-ms-request-id`, and echoes `client-request-id`
/// when the request asked for it with `return-client-request-id: true`.
fn with_entra_headers(
    response: Response,
    request: &RecordedRequest,
    trace_id: &str,
    correlation_id: &str,
) -> Response {
    let mut response = response
        .with_header("Cache-Control", "no-store, no-cache")
        .with_header("Pragma", "no-cache")
        .with_header("x-ms-request-id", trace_id);
    let echo = request
        .header("return-client-request-id")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if echo {
        response = response.with_header("client-request-id", correlation_id);
    }
    response
}

/// Returns the client's `client-request-id` if it is a GUID, as Entra ID uses it for the
/// correlation ID, or else a new random ID.
fn correlation_id(request: &RecordedRequest) -> String {
    request
        .header("client-request-id")
        .filter(|value| is_guid(value))
        .map_or_else(random_uuid, str::to_ascii_lowercase)
}

/// Returns the stable object ID (`oid`) of a user in a tenant.
pub(crate) fn user_object_id(tenant_id: &str, username: &str) -> String {
    uuid_from_name(&format!(
        "user {tenant_id} {}",
        username.to_ascii_lowercase()
    ))
}
