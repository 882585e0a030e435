//! Output formats of `azauth`: the token JSON, the no-token report, the methods table,
//! and the log set-up.

use azauth::{AccessToken, Attempt, MethodInfo, Outcome};
use serde::Serialize;

/// The token, shaped like `az account get-access-token --output json`.
#[derive(Serialize)]
struct TokenOutput<'a> {
    #[serde(rename = "accessToken")]
    access_token: &'a str,
    /// Local time without zone, as az prints it.
    #[serde(rename = "expiresOn")]
    expires_on_local: String,
    expires_on: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<&'a str>,
    #[serde(rename = "tokenType")]
    token_type: &'a str,
    #[serde(rename = "authMethod")]
    auth_method: &'a str,
}

/// Formats the success output.
pub fn token_json(token: &AccessToken) -> String {
    let output = TokenOutput {
        access_token: &token.token,
        expires_on_local: local_time(token.expires_on),
        expires_on: token.expires_on,
        tenant: token.tenant.as_deref(),
        token_type: &token.token_type,
        auth_method: &token.method,
    };
    serde_json::to_string_pretty(&output).expect("token output serializes")
}

/// Formats Unix seconds as local `YYYY-MM-DD HH:MM:SS.ffffff`, the `expiresOn` of az.
pub fn local_time(unix_seconds: u64) -> String {
    use chrono::TimeZone as _;
    match chrono::Local.timestamp_opt(unix_seconds as i64, 0).single() {
        Some(time) => time.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        None => String::new(),
    }
}

/// Formats the report for a call where no method produced a token.
pub fn no_token_report(scope: &str, attempts: &[Attempt]) -> String {
    let mut text = format!("azauth: no method produced a token for {scope}\n");
    for attempt in attempts {
        let outcome = match attempt.outcome {
            Outcome::Unavailable => "unavailable",
            Outcome::Failed => "failed",
            Outcome::Succeeded => "succeeded",
        };
        text.push_str(&format!("  {}: {outcome}: {}\n", attempt.method, attempt.reason));
    }
    if attempts.last().is_some_and(|a| matches!(a.outcome, Outcome::Failed)) {
        text.push_str("The chain stopped at the failed method; fix it or remove it from the methods.\n");
    }
    text
}

/// Formats `azauth methods`.
pub fn methods_table(methods: &[MethodInfo]) -> String {
    let mut text = String::new();
    for method in methods {
        let aliases = if method.aliases.is_empty() {
            String::new()
        } else {
            format!(" (also: {})", method.aliases.join(", "))
        };
        let status = if method.implemented { "" } else { " [not implemented in this build]" };
        text.push_str(&format!("{}{aliases}{status}\n    needs: {}\n", method.name, method.needs));
    }
    text
}

/// Sets up logging on stderr: RUST_LOG when set, else warnings, with `-v` for info,
/// `-vv` for debug and `-vvv` for trace.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(true)
        .init();
}
