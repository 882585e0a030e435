//! Token requests to the managed identity endpoints, and the meaning of their responses.
//!
//! Each source has its own api-version, secret header and parameter names for a
//! user-assigned identity. Most of them speak plain http to a local address, so the host
//! grants exactly the addresses the environment names. Service Fabric speaks https, and
//! the host pins its certificate to `IDENTITY_SERVER_THUMBPRINT`.

use std::cell::RefCell;

use oauth2::http;

use super::response::parse_token;
use super::{Selector, Source};
use crate::entra::Token;
use crate::methods::MethodError;
use crate::thumbprint::parse_sha1_thumbprint;
use crate::transport::{HttpClient, RetryPolicy, Timeouts, TransportErrorKind};
use crate::{clock, log};

/// The IMDS address on every Azure VM. The host grants plain http to it only when
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST` does not replace it.
pub const IMDS_DEFAULT_HOST: &str = "http://169.254.169.254";

/// Path of the IMDS token endpoint.
const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

/// Folder of the Azure Arc agent's key files on Linux.
pub const ARC_TOKENS_DIR: &str = "/var/opt/azcmagent/tokens";

/// Largest Arc key file read: the agent's files are 64 bytes, and azure-identity and
/// MSAL refuse anything above 4096 bytes.
const MAX_ARC_KEY_BYTES: u64 = 4096;

/// Timeouts after IMDS has answered: 2 s to connect, as azure-identity uses, and 30 s
/// to answer, because IMDS fetches a new token from Entra ID before it answers.
const IMDS_TIMEOUTS: Timeouts = Timeouts {
    connect_ms: 2000,
    first_byte_ms: 30_000,
    between_bytes_ms: 30_000,
};

/// The state of IMDS as this component instance has seen it.
#[derive(Clone, Debug, Default)]
enum ImdsState {
    /// Not contacted yet, or only refused: the next request is a probe.
    #[default]
    Unknown,
    /// IMDS answered once, so later requests use the full timeouts and retries.
    Answered,
    /// IMDS returned that this machine has no such identity. It is not asked again, so an
    /// identity assigned later does not change who this process is while it runs.
    NoIdentity(String),
}

thread_local! {
    static IMDS: RefCell<ImdsState> = RefCell::new(ImdsState::Unknown);
}

/// Requests a token from a source.
pub fn acquire(
    source: &Source,
    selector: &Selector,
    resource: &str,
    probe_timeout_ms: Option<u32>,
) -> Result<Token, MethodError> {
    match source {
        Source::Imds { base } => acquire_imds(base, selector, resource, probe_timeout_ms),
        Source::Arc { endpoint } => acquire_arc(endpoint, selector, resource),
        Source::ServiceFabric {
            endpoint,
            thumbprint,
            ..
        } => {
            check_service_fabric(endpoint, thumbprint)?;
            acquire_simple(source, selector, resource)
        }
        _ => acquire_simple(source, selector, resource),
    }
}

/// Sends one token request, with retries, and interprets the response.
fn acquire_simple(source: &Source, selector: &Selector, resource: &str) -> Result<Token, MethodError> {
    let request = build(source, selector, resource, None)?;
    let client = HttpClient::new().with_retry(RetryPolicy::MANAGED_IDENTITY);
    let requested_at = clock::now_unix();
    let response = client
        .execute(request)
        .map_err(|error| transport_error(source, &error.to_string(), error.kind()))?;
    interpret(source, selector, &response, requested_at)
}

/// Checks the Service Fabric settings before the secret is sent. The endpoint presents
/// the cluster certificate, which no public root signs, so the host pins it to
/// `IDENTITY_SERVER_THUMBPRINT` and the request must use https.
fn check_service_fabric(endpoint: &str, thumbprint: &str) -> Result<(), MethodError> {
    parse_sha1_thumbprint(thumbprint).map_err(|error| {
        MethodError::Failed(format!("IDENTITY_SERVER_THUMBPRINT is invalid: {error}"))
    })?;
    let scheme = url::Url::parse(endpoint).map(|url| url.scheme().to_string());
    if scheme.as_deref() != Ok("https") {
        return Err(MethodError::Failed(format!(
            "the Service Fabric endpoint {endpoint:?} is not an https URL; Service Fabric \
             sends the secret only over TLS pinned to IDENTITY_SERVER_THUMBPRINT"
        )));
    }
    Ok(())
}

fn acquire_imds(
    base: &str,
    selector: &Selector,
    resource: &str,
    probe_timeout_ms: Option<u32>,
) -> Result<Token, MethodError> {
    let source = Source::Imds {
        base: base.to_string(),
    };
    let state = IMDS.with(|state| state.borrow().clone());
    if let ImdsState::NoIdentity(reason) = state {
        return Err(MethodError::Unavailable(reason));
    }
    let probe = match (state, probe_timeout_ms) {
        (ImdsState::Unknown, Some(ms)) => Some(ms),
        _ => None,
    };

    let requested_at = clock::now_unix();
    let full = HttpClient::new()
        .with_timeouts(IMDS_TIMEOUTS)
        .with_retry(RetryPolicy::MANAGED_IDENTITY);
    let response = match probe {
        Some(ms) => {
            let timeouts = Timeouts {
                connect_ms: u64::from(ms),
                first_byte_ms: u64::from(ms),
                between_bytes_ms: u64::from(ms),
            };
            let prober = HttpClient::new()
                .with_timeouts(timeouts)
                .with_retry(RetryPolicy::NONE);
            let response = prober
                .execute(build(&source, selector, resource, None)?)
                .map_err(|error| {
                    MethodError::Unavailable(format!(
                        "IMDS did not answer a probe within {ms} ms, so this is not an Azure \
                         VM or its identity endpoint is blocked: {error}. Remove msi from the \
                         methods off Azure, or raise --imds-probe-timeout-ms"
                    ))
                })?;
            IMDS.with(|state| *state.borrow_mut() = ImdsState::Answered);
            let status = response.status().as_u16();
            match RetryPolicy::MANAGED_IDENTITY.delay_ms(status, response.headers(), 0) {
                Some(delay) => {
                    // The probe was the first attempt; the retries go on from it.
                    log::info(&format!(
                        "IMDS answered the probe with HTTP {status}; retry 1 of {} in {delay} ms",
                        RetryPolicy::MANAGED_IDENTITY.max_retries
                    ));
                    clock::sleep_millis(delay);
                    full.with_retries_spent(1)
                        .execute(build(&source, selector, resource, None)?)
                        .map_err(|error| {
                            transport_error(&source, &error.to_string(), error.kind())
                        })?
                }
                None => response,
            }
        }
        None => {
            let response = full
                .execute(build(&source, selector, resource, None)?)
                .map_err(|error| transport_error(&source, &error.to_string(), error.kind()))?;
            IMDS.with(|state| *state.borrow_mut() = ImdsState::Answered);
            response
        }
    };

    let result = interpret(&source, selector, &response, requested_at);
    if let Err(MethodError::Unavailable(reason)) = &result
        && response.status().as_u16() == 400
    {
        IMDS.with(|state| *state.borrow_mut() = ImdsState::NoIdentity(reason.clone()));
    }
    result
}

/// Azure Arc: an unauthenticated request whose 401 challenge names a key file, then the
/// same request with the file's text as a Basic credential.
fn acquire_arc(endpoint: &str, selector: &Selector, resource: &str) -> Result<Token, MethodError> {
    let source = Source::Arc {
        endpoint: endpoint.to_string(),
    };
    let client = HttpClient::new().with_retry(RetryPolicy::MANAGED_IDENTITY);
    let challenge = client
        .execute(build(&source, selector, resource, None)?)
        .map_err(|error| transport_error(&source, &error.to_string(), error.kind()))?;
    if challenge.status().as_u16() != 401 {
        return Err(MethodError::Failed(format!(
            "the Azure Arc endpoint {endpoint} answered HTTP {} where a 401 challenge was \
             expected: {}",
            challenge.status().as_u16(),
            printable(challenge.body())
        )));
    }
    let header = challenge
        .headers()
        .get("www-authenticate")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let key_path = header
        .split_once('=')
        .map(|(_, path)| path.trim().trim_matches('"'))
        .filter(|path| !path.is_empty())
        .ok_or_else(|| {
            MethodError::Failed(format!(
                "the Azure Arc endpoint {endpoint} sent a 401 without a Basic realm naming a \
                 key file (WWW-Authenticate: {header:?})"
            ))
        })?;
    let key = read_arc_key(key_path)?;

    let requested_at = clock::now_unix();
    let response = client
        .execute(build(&source, selector, resource, Some(&key))?)
        .map_err(|error| transport_error(&source, &error.to_string(), error.kind()))?;
    interpret(&source, selector, &response, requested_at)
}

/// Checks and reads the key file that the Arc challenge names: only a `.key` file
/// directly in [`ARC_TOKENS_DIR`], of at most [`MAX_ARC_KEY_BYTES`], checked before reading.
fn read_arc_key(path: &str) -> Result<String, MethodError> {
    let fail = |what: &str| {
        MethodError::Failed(format!(
            "the Azure Arc challenge names the key file {path:?}, which {what}"
        ))
    };
    let name = path
        .strip_prefix(ARC_TOKENS_DIR)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(|| fail(&format!("is not in {ARC_TOKENS_DIR}")))?;
    let stem = name
        .strip_suffix(".key")
        .ok_or_else(|| fail("does not end in .key"))?;
    let plain = !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !stem.starts_with('.');
    if !plain {
        return Err(fail("is not a plain file name directly in the folder"));
    }
    let metadata = std::fs::metadata(path).map_err(|error| {
        fail(&format!(
            "could not be read ({error}); the host must grant read access to {ARC_TOKENS_DIR}"
        ))
    })?;
    if !metadata.is_file() {
        return Err(fail("is not a file"));
    }
    if metadata.len() > MAX_ARC_KEY_BYTES {
        return Err(fail(&format!("is larger than {MAX_ARC_KEY_BYTES} bytes")));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| fail(&format!("could not be read ({error})")))?;
    Ok(text)
}

/// Builds the token request of a source. `arc_key` is the Basic credential of Arc's
/// second request.
pub fn build(
    source: &Source,
    selector: &Selector,
    resource: &str,
    arc_key: Option<&str>,
) -> Result<http::Request<Vec<u8>>, MethodError> {
    let (endpoint, api_version, names) = match source {
        Source::Imds { base } => (
            format!("{base}{IMDS_PATH}"),
            Some("2018-02-01"),
            Names::IMDS,
        ),
        Source::AppService { endpoint, .. } => {
            (endpoint.clone(), Some("2019-08-01"), Names::APP_SERVICE)
        }
        Source::ServiceFabric { endpoint, .. } => {
            (endpoint.clone(), Some("2019-07-01-preview"), Names::NONE)
        }
        Source::Arc { endpoint } => (endpoint.clone(), Some("2020-06-01"), Names::IMDS),
        Source::AzureMl { endpoint, .. } => (endpoint.clone(), Some("2017-09-01"), Names::AZURE_ML),
        Source::CloudShell { endpoint } => (endpoint.clone(), None, Names::NONE),
    };
    let mut url = url::Url::parse(&endpoint).map_err(|error| {
        MethodError::Unavailable(format!(
            "the {} endpoint {endpoint:?} is not a valid URL ({error})",
            source.name()
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(MethodError::Unavailable(format!(
            "the {} endpoint {endpoint:?} is not an http or https URL",
            source.name()
        )));
    }

    let mut builder = http::Request::builder();
    let mut body = Vec::new();
    if let Source::CloudShell { .. } = source {
        // Cloud Shell takes a form POST with the resource alone.
        body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("resource", resource)
            .finish()
            .into_bytes();
        builder = builder
            .method(http::Method::POST)
            .header("content-type", "application/x-www-form-urlencoded");
    } else {
        let mut query = url.query_pairs_mut();
        if let Some(version) = api_version {
            query.append_pair("api-version", version);
        }
        query.append_pair("resource", resource);
        let selected = match selector {
            Selector::System => None,
            Selector::ClientId(id) => Some((names.client_id, id)),
            Selector::ObjectId(id) => Some((names.object_id, id)),
            Selector::ResourceId(id) => Some((names.resource_id, id)),
        };
        if let Some((Some(name), id)) = selected {
            query.append_pair(name, id);
        }
        drop(query);
        builder = builder.method(http::Method::GET);
    }
    builder = match source {
        Source::Imds { .. } | Source::CloudShell { .. } => builder.header("metadata", "true"),
        Source::AppService { header, .. } => builder.header("x-identity-header", header.as_str()),
        Source::ServiceFabric { header, .. } => builder.header("secret", header.as_str()),
        Source::Arc { .. } => {
            let builder = builder.header("metadata", "true");
            match arc_key {
                Some(key) => builder.header("authorization", format!("Basic {}", key.trim())),
                None => builder,
            }
        }
        Source::AzureMl { secret, .. } => builder.header("secret", secret.as_str()),
    };
    builder.uri(url.as_str()).body(body).map_err(|error| {
        MethodError::Failed(format!(
            "building the {} request failed: {error}",
            source.name()
        ))
    })
}

/// Query parameter names of a user-assigned identity; `None` where a source has none.
#[derive(Clone, Copy)]
struct Names {
    client_id: Option<&'static str>,
    object_id: Option<&'static str>,
    resource_id: Option<&'static str>,
}

impl Names {
    const IMDS: Names = Names {
        client_id: Some("client_id"),
        object_id: Some("object_id"),
        resource_id: Some("msi_res_id"),
    };
    const APP_SERVICE: Names = Names {
        client_id: Some("client_id"),
        object_id: Some("object_id"),
        resource_id: Some("mi_res_id"),
    };
    /// NOTE: Azure ML's 2017-09-01 endpoint wants `clientid`, without an underscore,
    /// and rejects `client_id`.
    const AZURE_ML: Names = Names {
        client_id: Some("clientid"),
        object_id: None,
        resource_id: None,
    };
    const NONE: Names = Names {
        client_id: None,
        object_id: None,
        resource_id: None,
    };
}

/// Turns a response into a token or a reason.
///
/// 200 is a token. 400 means the requested identity is not assigned here, which is
/// unavailable. So is a 403 on the IMDS address: IMDS itself answers 403 only to
/// requests that came through a proxy, and firewalls and proxies (Docker Desktop's among
/// them) answer 403 for an IMDS they cannot or may not reach. Anything else, including
/// a retryable status after the retries, failed, because the endpoint is there.
fn interpret(
    source: &Source,
    selector: &Selector,
    response: &http::Response<Vec<u8>>,
    requested_at: u64,
) -> Result<Token, MethodError> {
    let status = response.status().as_u16();
    let body = printable(response.body());
    match status {
        200 => {
            let (token, value) = parse_token(response.body(), requested_at).map_err(|error| {
                MethodError::Failed(format!(
                    "the {} endpoint answered 200, but {error}",
                    source.name()
                ))
            })?;
            if let Source::Arc { .. } = source {
                check_echo(selector, &value)?;
            }
            Ok(token)
        }
        400 => Err(MethodError::Unavailable(format!(
            "the {} endpoint has no {} here (HTTP 400: {body}); assign the identity to this \
             resource, or remove msi from the methods",
            source.name(),
            selector.describe().trim_start_matches("the ")
        ))),
        403 if matches!(source, Source::Imds { .. })
            || body.to_ascii_lowercase().contains("unreachable") =>
        {
            Err(MethodError::Unavailable(format!(
                "the request to the {} endpoint was denied on the way, by a proxy or firewall, \
                 so this is not an Azure VM or IMDS is blocked here (HTTP 403: {body})",
                source.name()
            )))
        }
        _ => Err(MethodError::Failed(format!(
            "the {} endpoint rejected the token request for {}: HTTP {status}: {body}",
            source.name(),
            selector.describe()
        ))),
    }
}

/// Azure Arc agents before user-assigned support silently return the system identity.
/// The response must name the requested identity where it names one.
fn check_echo(selector: &Selector, value: &serde_json::Value) -> Result<(), MethodError> {
    let (fields, expected): (&[&str], &str) = match selector {
        Selector::System => return Ok(()),
        Selector::ClientId(id) => (&["client_id"], id),
        Selector::ObjectId(id) => (&["object_id"], id),
        Selector::ResourceId(id) => (&["msi_res_id", "mi_res_id"], id),
    };
    let echoed = fields
        .iter()
        .find_map(|field| value.get(*field).and_then(|v| v.as_str()));
    match echoed {
        Some(echoed) if echoed.eq_ignore_ascii_case(expected) => Ok(()),
        other => Err(MethodError::Failed(format!(
            "the Azure Arc agent returned a token for {} where {} was requested; update the \
             Connected Machine agent to a version that supports user-assigned identities",
            other.map_or("an unnamed identity".to_string(), |id| format!(
                "identity {id}"
            )),
            selector.describe()
        ))),
    }
}

/// Sorts a request that produced no response: unreachable or denied is unavailable,
/// other errors failed.
fn transport_error(source: &Source, message: &str, kind: TransportErrorKind) -> MethodError {
    match kind {
        TransportErrorKind::Unreachable | TransportErrorKind::Denied => {
            MethodError::Unavailable(format!(
                "the {} endpoint could not be reached: {message}",
                source.name()
            ))
        }
        TransportErrorKind::Certificate if matches!(source, Source::ServiceFabric { .. }) => {
            MethodError::Failed(format!(
                "the {} request failed: {message}; the endpoint's certificate must have the \
                 SHA-1 thumbprint in IDENTITY_SERVER_THUMBPRINT",
                source.name()
            ))
        }
        _ => MethodError::Failed(format!("the {} request failed: {message}", source.name())),
    }
}

/// Returns the first 300 characters of a body, with control characters replaced. Error
/// bodies of managed identity endpoints contain no tokens.
fn printable(body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .take(300)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOURCE: &str = "https://management.azure.com";
    const CLIENT: &str = "99999999-8888-7777-6666-555555555555";

    fn query(request: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
        url::Url::parse(&request.uri().to_string())
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn imds_request_shape() {
        let source = Source::Imds {
            base: "http://127.0.0.1:9".into(),
        };
        let request = build(&source, &Selector::ClientId(CLIENT.into()), RESOURCE, None).unwrap();
        assert_eq!(request.method(), http::Method::GET);
        assert_eq!(request.uri().path(), "/metadata/identity/oauth2/token");
        assert_eq!(request.headers()["metadata"], "true");
        assert_eq!(
            query(&request),
            pairs(&[
                ("api-version", "2018-02-01"),
                ("resource", RESOURCE),
                ("client_id", CLIENT)
            ])
        );
        let request = build(
            &source,
            &Selector::ResourceId("/subscriptions/s/x".into()),
            RESOURCE,
            None,
        )
        .unwrap();
        assert_eq!(
            query(&request)[2],
            ("msi_res_id".to_string(), "/subscriptions/s/x".to_string())
        );
    }

    #[test]
    fn each_source_has_its_own_names_and_headers() {
        let app = Source::AppService {
            endpoint: "http://127.0.0.1:9/msi/token".into(),
            header: "fake-identity-header".into(),
        };
        let request = build(&app, &Selector::ResourceId("/r".into()), RESOURCE, None).unwrap();
        assert_eq!(
            request.headers()["x-identity-header"],
            "fake-identity-header"
        );
        assert_eq!(
            query(&request),
            pairs(&[
                ("api-version", "2019-08-01"),
                ("resource", RESOURCE),
                ("mi_res_id", "/r")
            ])
        );

        let ml = Source::AzureMl {
            endpoint: "http://127.0.0.1:9/MSI/auth".into(),
            secret: "fake-secret".into(),
        };
        let request = build(&ml, &Selector::ClientId(CLIENT.into()), RESOURCE, None).unwrap();
        assert_eq!(request.headers()["secret"], "fake-secret");
        assert_eq!(
            query(&request),
            pairs(&[
                ("api-version", "2017-09-01"),
                ("resource", RESOURCE),
                ("clientid", CLIENT)
            ])
        );

        let shell = Source::CloudShell {
            endpoint: "http://127.0.0.1:9/cloudshell".into(),
        };
        let request = build(&shell, &Selector::System, RESOURCE, None).unwrap();
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(
            request.body(),
            b"resource=https%3A%2F%2Fmanagement.azure.com"
        );
        assert_eq!(request.headers()["metadata"], "true");

        let arc = Source::Arc {
            endpoint: "http://127.0.0.1:9/metadata/identity/oauth2/token".into(),
        };
        let request = build(&arc, &Selector::System, RESOURCE, Some("c2VjcmV0\n")).unwrap();
        assert_eq!(request.headers()["authorization"], "Basic c2VjcmV0");
        assert_eq!(
            query(&request)[0],
            ("api-version".to_string(), "2020-06-01".to_string())
        );

        let fabric = Source::ServiceFabric {
            endpoint: "https://127.0.0.1:9/t".into(),
            header: "h".into(),
            thumbprint: "t".into(),
        };
        let request = build(&fabric, &Selector::System, RESOURCE, None).unwrap();
        assert_eq!(request.headers()["secret"], "h");
        assert_eq!(
            query(&request)[0],
            ("api-version".to_string(), "2019-07-01-preview".to_string())
        );
    }

    #[test]
    fn arc_key_path_rules() {
        for (path, expected) in [
            ("/etc/shadow", "is not in /var/opt/azcmagent/tokens"),
            (
                "/var/opt/azcmagent/tokens/../../../etc/x.key",
                "is not a plain file name",
            ),
            (
                "/var/opt/azcmagent/tokens/sub/x.key",
                "is not a plain file name",
            ),
            ("/var/opt/azcmagent/tokens/x.txt", "does not end in .key"),
            (
                "/var/opt/azcmagent/tokensx/a.key",
                "is not in /var/opt/azcmagent/tokens",
            ),
        ] {
            let Err(MethodError::Failed(message)) = read_arc_key(path) else {
                panic!("{path}")
            };
            assert!(message.contains(expected), "{path}: {message}");
        }
    }

    #[test]
    fn statuses_sorted_into_outcomes() {
        let source = Source::Imds {
            base: "http://x".into(),
        };
        let response = |status: u16, body: &str| {
            http::Response::builder()
                .status(status)
                .body(body.as_bytes().to_vec())
                .unwrap()
        };
        let no_identity = response(
            400,
            r#"{"error":"invalid_request","error_description":"Identity not found"}"#,
        );
        let Err(MethodError::Unavailable(reason)) =
            interpret(&source, &Selector::System, &no_identity, 0)
        else {
            panic!()
        };
        assert!(reason.contains("Identity not found"), "{reason}");
        let proxy = response(
            403,
            "A socket operation was attempted to an unreachable network",
        );
        assert!(matches!(
            interpret(&source, &Selector::System, &proxy, 0),
            Err(MethodError::Unavailable(_))
        ));
        let throttled = response(429, "throttled, try again in 2s");
        let Err(MethodError::Failed(reason)) = interpret(&source, &Selector::System, &throttled, 0)
        else {
            panic!()
        };
        assert!(
            reason.contains("HTTP 429: throttled, try again in 2s"),
            "{reason}"
        );
    }

    #[test]
    fn arc_must_echo_user_assigned_identity() {
        let value = serde_json::json!({"client_id": CLIENT.to_uppercase()});
        assert!(check_echo(&Selector::ClientId(CLIENT.into()), &value).is_ok());
        let value = serde_json::json!({"client_id": "00000000-0000-0000-0000-000000000000"});
        assert!(matches!(
            check_echo(&Selector::ClientId(CLIENT.into()), &value),
            Err(MethodError::Failed(_))
        ));
        assert!(check_echo(&Selector::System, &value).is_ok());
    }
}
