//! `cli`: the account that the Azure CLI (`az`) is signed in with.
//!
//! Runs `az account get-access-token --output json --scope SCOPE [--tenant TENANT]`
//! through the host's process capability, by argument vector. The scope and tenant
//! have passed their allowlists before any program starts.
//!
//! `az` missing, timed out or not signed in is unavailable. Any other failure is
//! failed, with az's own message (tokens removed). When az rejects the tenant (as it
//! does for an account signed in with a managed identity), the call is repeated once
//! without `--tenant`, as MSTICPy does, unless Entra ID itself rejected it.

use super::{MethodError, Plan};
use crate::cache::CacheKey;
use crate::entra::Token;
use crate::process::{self, ProcessError};
use crate::secret::Secret;
use crate::settings::{Environment, Settings};
use crate::{clock, log, validate};

/// Variable through which the host passes its local time zone's current offset from UTC,
/// in seconds east of UTC. The host sets it itself; it never comes from the user's
/// environment.
pub const UTC_OFFSET_VARIABLE: &str = "AZAUTH_UTC_OFFSET_SECONDS";

/// An `az account get-access-token` call.
#[derive(Debug)]
struct CliPlan {
    scope: String,
    tenant: Option<String>,
    timeout_ms: u32,
    utc_offset_secs: Option<i64>,
}

pub(super) fn plan(settings: &Settings, env: &Environment) -> Result<Box<dyn Plan>, MethodError> {
    let tenant = settings
        .tenant_id
        .clone()
        .or_else(|| settings.config.tenant_id.clone());
    if let Some(tenant) = &tenant {
        validate::tenant_id(tenant).map_err(MethodError::Failed)?;
    }
    let utc_offset_secs = env
        .get(UTC_OFFSET_VARIABLE)
        .and_then(|value| value.trim().parse::<i64>().ok());
    Ok(Box::new(CliPlan {
        scope: settings.scope.clone(),
        tenant,
        timeout_ms: settings.process_timeout_ms,
        utc_offset_secs,
    }))
}

impl Plan for CliPlan {
    fn cache_key(&self) -> CacheKey {
        CacheKey {
            method: "cli",
            authority: "az".to_string(),
            tenant: self.tenant.clone(),
            client_id: None,
            scope: self.scope.clone(),
        }
    }

    fn acquire(&self) -> Result<Token, MethodError> {
        match self.run(self.tenant.as_deref()) {
            Err(Rejection::Tenant(message)) => {
                log::warn(&format!(
                    "az rejected --tenant {}, so the call is repeated without it: {message}",
                    self.tenant.as_deref().unwrap_or_default()
                ));
                self.run(None).map_err(Rejection::into_error)
            }
            other => other.map_err(Rejection::into_error),
        }
    }
}

/// A failed az call: a rejected tenant is retried, anything else is final.
enum Rejection {
    Tenant(String),
    Final(MethodError),
}

impl Rejection {
    fn into_error(self) -> MethodError {
        match self {
            Rejection::Tenant(message) => MethodError::Failed(format!("az failed: {message}")),
            Rejection::Final(error) => error,
        }
    }
}

impl CliPlan {
    fn run(&self, tenant: Option<&str>) -> Result<Token, Rejection> {
        let args = arguments(&self.scope, tenant);
        let output = process::run("az", &args, self.timeout_ms).map_err(|error| {
            Rejection::Final(match error {
                ProcessError::NotFound(_) | ProcessError::NotAllowed(_) => {
                    MethodError::Unavailable(format!(
                        "the Azure CLI (az) was not found: {}; install it from \
                         https://aka.ms/azure-cli or remove cli from the methods",
                        describe(&error)
                    ))
                }
                ProcessError::TimedOut => MethodError::Unavailable(format!(
                    "az did not finish within {} ms and was stopped; raise the limit with \
                     --process-timeout-ms if az is slow on this machine",
                    self.timeout_ms
                )),
                ProcessError::OutputTooLarge => {
                    MethodError::Failed("az wrote more output than the host accepts".to_string())
                }
                ProcessError::Failed(message) => {
                    MethodError::Unavailable(format!("az could not be run: {message}"))
                }
            })
        })?;

        if output.exit_code == Some(0) {
            if !output.stderr.trim().is_empty() {
                log::debug(&format!(
                    "az wrote to stderr: {}",
                    process::redact(output.stderr.trim())
                ));
            }
            return parse_output(&output.stdout, self.utc_offset_secs)
                .map_err(|error| Rejection::Final(MethodError::Failed(error)));
        }

        let stderr = process::redact(output.stderr.trim());
        if output.exit_code == Some(127) {
            return Err(Rejection::Final(MethodError::Unavailable(
                "the Azure CLI (az) could not be started (exit code 127); install it from \
                 https://aka.ms/azure-cli or remove cli from the methods"
                    .to_string(),
            )));
        }
        let signed_out = (stderr.contains("az login") || stderr.contains("az account set"))
            && !stderr.contains("AADSTS");
        if signed_out {
            return Err(Rejection::Final(MethodError::Unavailable(format!(
                "az is not signed in; run `az login`{} (az: {})",
                tenant.map(|t| format!(" --tenant {t}")).unwrap_or_default(),
                first_line(&stderr)
            ))));
        }
        let code = output
            .exit_code
            .map_or("a signal".to_string(), |code| format!("exit code {code}"));
        // NOTE: az rejects --tenant for an account signed in with a managed identity, and
        // MSTICPy then retries without it. An Entra ID error (AADSTS90002, tenant not
        // found) mentions the tenant too, but retrying it would return a token for
        // another tenant than the one requested, so only errors without an AADSTS code
        // are retried.
        let rejects_tenant =
            stderr.to_ascii_lowercase().contains("tenant") && !stderr.contains("AADSTS");
        if tenant.is_some() && rejects_tenant {
            return Err(Rejection::Tenant(format!("{code}: {stderr}")));
        }
        Err(Rejection::Final(MethodError::Failed(format!(
            "az failed ({code}): {stderr}"
        ))))
    }
}

/// `account get-access-token --output json --scope SCOPE [--tenant TENANT]`.
fn arguments(scope: &str, tenant: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = [
        "account",
        "get-access-token",
        "--output",
        "json",
        "--scope",
        scope,
    ]
    .map(String::from)
    .to_vec();
    if let Some(tenant) = tenant {
        args.extend(["--tenant".to_string(), tenant.to_string()]);
    }
    args
}

fn describe(error: &ProcessError) -> String {
    match error {
        ProcessError::NotFound(message)
        | ProcessError::NotAllowed(message)
        | ProcessError::Failed(message) => message.clone(),
        ProcessError::TimedOut => "timed out".to_string(),
        ProcessError::OutputTooLarge => "output too large".to_string(),
    }
}

fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("")
}

/// Reads the JSON that `az account get-access-token` prints.
///
/// The expiry comes from `expires_on` (Unix seconds, az 2.54.0 and later) when it is
/// present, else from `expiresOn`, which az prints as local time without a zone. That
/// local time is converted with `utc_offset_secs`, the host's offset from UTC; without
/// it the value cannot be placed in time and the call fails.
pub fn parse_output(stdout: &str, utc_offset_secs: Option<i64>) -> Result<Token, String> {
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|error| {
        format!(
            "az printed output that is not JSON ({error}): {}",
            process::redact(&stdout.chars().take(200).collect::<String>())
        )
    })?;
    let access_token = value
        .get("accessToken")
        .and_then(|token| token.as_str())
        .filter(|token| !token.is_empty())
        .ok_or("az output has no accessToken field; update the Azure CLI")?;
    let expires_on = match value.get("expires_on").and_then(unix_seconds) {
        Some(seconds) => seconds,
        None => expires_on_from_local(value.get("expiresOn"), utc_offset_secs)?,
    };
    Ok(Token {
        access_token: Secret::new(access_token),
        expires_on,
        refresh_on: None,
        token_type: value
            .get("tokenType")
            .and_then(|t| t.as_str())
            .unwrap_or("Bearer")
            .to_string(),
        tenant: value
            .get("tenant")
            .and_then(|t| t.as_str())
            .map(str::to_string),
    })
}

/// Reads Unix seconds given as a JSON number or a string of digits.
fn unix_seconds(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(number) => number.as_u64().filter(|&s| s > 0),
        serde_json::Value::String(text) => text.trim().parse().ok().filter(|&s: &u64| s > 0),
        _ => None,
    }
}

/// Converts az's `expiresOn`, `YYYY-MM-DD HH:MM:SS[.ffffff]` in local time, to Unix seconds.
///
/// NOTE: the offset is the host's offset at the time of the call, not at the expiry
/// time, so a token that expires across a daylight-saving change is placed an hour off.
/// az 2.54.0 and later print `expires_on`, which avoids this.
fn expires_on_from_local(
    value: Option<&serde_json::Value>,
    utc_offset_secs: Option<i64>,
) -> Result<u64, String> {
    let text = value.and_then(|v| v.as_str()).unwrap_or("");
    let unknown = || {
        format!(
            "cannot determine the token expiry from az output: expires_on is missing and \
             expiresOn is {}; update the Azure CLI to 2.54.0 or later",
            value.map_or("missing".to_string(), |v| v.to_string())
        )
    };
    let naive = parse_naive_datetime(text).ok_or_else(unknown)?;
    let offset = utc_offset_secs.ok_or_else(|| {
        format!(
            "az printed only expiresOn ({text}), local time without a zone, and the host did \
             not pass its UTC offset ({UTC_OFFSET_VARIABLE}); update the Azure CLI to 2.54.0 \
             or later"
        )
    })?;
    let seconds = naive - offset;
    u64::try_from(seconds)
        .ok()
        .filter(|&s| s > 0)
        .ok_or_else(unknown)
}

/// Parses `YYYY-MM-DD HH:MM:SS` with optional fraction as seconds since 1970 in the
/// same (unspecified) zone.
fn parse_naive_datetime(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once(' ').or_else(|| text.split_once('T'))?;
    let mut date_parts = date.split('-').map(|part| part.parse::<i64>().ok());
    let (year, month, day) = (
        date_parts.next()??,
        date_parts.next()??,
        date_parts.next()??,
    );
    let time = time.split('.').next()?;
    let mut time_parts = time.split(':').map(|part| part.parse::<i64>().ok());
    let (hour, minute, second) = (
        time_parts.next()??,
        time_parts.next()??,
        time_parts.next()??,
    );
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..61).contains(&second);
    if !valid {
        return None;
    }
    Some(clock::days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AZ_OK: &str = r#"{"accessToken": "FAKE-AT-0002", "expiresOn": "2030-03-17 19:46:40.000000", "expires_on": 1900000000,
   "subscription": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
   "tenant": "11111111-2222-3333-4444-555555555555", "tokenType": "Bearer"}"#;

    const AZ_OLD: &str = r#"{"accessToken": "FAKE-AT-0001", "expiresOn": "2030-01-02 15:04:05.000000",
   "subscription": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
   "tenant": "11111111-2222-3333-4444-555555555555", "tokenType": "Bearer"}"#;

    #[test]
    fn expires_on_wins_over_local_time() {
        let token = parse_output(AZ_OK, Some(0)).unwrap();
        assert_eq!(token.expires_on, 1_900_000_000);
        assert_eq!(token.access_token.expose(), "FAKE-AT-0002");
        assert_eq!(
            token.tenant.as_deref(),
            Some("11111111-2222-3333-4444-555555555555")
        );
    }

    #[test]
    fn old_az_local_time_uses_host_offset() {
        // UTC+02:00: 15:04:05 local is 13:04:05 UTC.
        assert_eq!(
            parse_output(AZ_OLD, Some(7200)).unwrap().expires_on,
            1_893_589_445
        );
        // UTC-05:00.
        assert_eq!(
            parse_output(AZ_OLD, Some(-18_000)).unwrap().expires_on,
            1_893_614_645
        );
        // Read as UTC it would be 1893596645, two hours late in UTC+02:00.
        assert_eq!(
            parse_output(AZ_OLD, Some(0)).unwrap().expires_on,
            1_893_596_645
        );
        let error = parse_output(AZ_OLD, None).unwrap_err();
        assert!(error.contains(UTC_OFFSET_VARIABLE), "{error}");
    }

    #[test]
    fn unusable_expiry_is_an_error_not_1970() {
        for expires_on in ["null", "\"N/A\"", "\"\""] {
            let text = format!(
                r#"{{"accessToken": "FAKE-AT-0003", "expiresOn": {expires_on}, "tokenType": "Bearer"}}"#
            );
            let error = parse_output(&text, Some(0)).unwrap_err();
            assert!(
                error.starts_with("cannot determine the token expiry from az output"),
                "{error}"
            );
        }
        let text =
            r#"{"accessToken": "FAKE-AT-0003", "expiresOn": null, "expires_on": 1900000000}"#;
        assert_eq!(parse_output(text, None).unwrap().expires_on, 1_900_000_000);
        // A string of digits is accepted as well.
        let text = r#"{"accessToken": "FAKE-AT-0003", "expires_on": "1900000000"}"#;
        assert_eq!(parse_output(text, None).unwrap().expires_on, 1_900_000_000);
    }

    #[test]
    fn unparsable_output_is_redacted() {
        let error = parse_output(r#"{"accessToken": "FAKE-AT-0009", "#, Some(0)).unwrap_err();
        assert!(!error.contains("FAKE-AT-0009"), "{error}");
        assert!(
            error.starts_with("az printed output that is not JSON"),
            "{error}"
        );
    }

    #[test]
    fn arguments_have_scope_and_optional_tenant() {
        assert_eq!(
            arguments(
                "https://management.azure.com/.default",
                Some("contoso.example")
            ),
            [
                "account",
                "get-access-token",
                "--output",
                "json",
                "--scope",
                "https://management.azure.com/.default",
                "--tenant",
                "contoso.example"
            ]
        );
        assert_eq!(arguments("api://x/.default", None).len(), 6);
    }

    #[test]
    fn naive_datetime_parses() {
        // AZ_OK is consistent in UTC+02:00: 19:46:40 local is 1900000000.
        assert_eq!(
            parse_naive_datetime("2030-03-17 19:46:40.000000"),
            Some(1_900_007_200)
        );
        assert_eq!(parse_naive_datetime("2030-13-01 00:00:00"), None);
    }
}
