//! `vscode`: the Azure sign-in of Visual Studio Code, in the two forms that
//! azure-identity's `VisualStudioCodeCredential` has read.
//!
//! 1. Since azure-identity 1.24: the Azure Resources extension's authentication record,
//!    `~/.azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json` (or under
//!    `~/.Azure`). The extension keeps the tokens themselves in the operating system's
//!    broker (WAM on Windows), which a component cannot reach, so the record serves only
//!    when this component's own persistent cache contains a sign-in of the same account
//!    for VS Code's client ID.
//! 2. Up to azure-identity 1.23: the Azure Account extension's refresh token in the
//!    system keyring (service `VS Code Azure`, account = the cloud name), redeemed with
//!    VS Code's client ID for the cloud and tenant of VS Code's `settings.json`. The
//!    keyring is read with `secret-tool` (libsecret's command line for the Secret
//!    Service) through the host's `process` import. Extension versions after 0.9.11
//!    no longer write this token.
//!
//! The host grants the files as read-only folders at fixed paths in the component.
//! Every failure is "unavailable", also a refresh token that Entra ID rejects, so that
//! a stale VS Code sign-in never stops a chain in which `cli` or another method follows.

use serde::Deserialize;

use super::sign_in::UserSignIn;
use super::{MethodError, Plan};
use crate::bindings::azauth::credential::process::{self, Command, RunError};
use crate::cache::CacheKey;
use crate::cloud::{Authority, Cloud};
use crate::entra::{self, Grant, Token};
use crate::secret::Secret;
use crate::settings::Settings;
use crate::{log, validate};

/// VS Code's public client ID.
pub const VS_CODE_CLIENT_ID: &str = "aebc6443-996d-45c2-90f0-388ff96faa56";

/// Paths inside the component of the Azure Resources extension's folder under
/// `~/.azure` and under `~/.Azure`, which the host grants read-only.
pub const AUTH_RECORD_DIRS: [&str; 2] = ["/vscode/azure-resources", "/vscode/azure-resources-upper"];

/// Path inside the component of VS Code's user settings folder.
pub const USER_SETTINGS_DIR: &str = "/vscode/user";

/// Largest authentication record read, as azure-identity limits it.
const MAX_RECORD_BYTES: u64 = 10 * 1024;

/// The keyring service under which the Azure Account extension stored refresh tokens.
const KEYRING_SERVICE: &str = "VS Code Azure";

/// Time allowed for `secret-tool`, in milliseconds; a locked keyring may show a prompt.
const KEYRING_TIMEOUT_MS: u32 = 10_000;

const HOW_TO_SIGN_IN: &str = "sign in to Azure in VS Code with the Azure Resources \
     extension and then once with `azauth get-token --methods devicecode --client-id \
     aebc6443-996d-45c2-90f0-388ff96faa56`, or use the cli or devicecode method instead";

pub(super) fn plan(settings: &Settings) -> Result<Box<dyn Plan>, MethodError> {
    let record = read_auth_record();
    let vscode_settings = read_user_settings();
    Ok(Box::new(VsCodePlan {
        record,
        keyring: keyring_target(settings, &vscode_settings),
        scope: settings.scope.clone(),
        settings_tenant: settings.tenant_id.clone(),
        explicit_authority: settings.authority_explicit.then(|| settings.authority.clone()),
    }))
}

/// The Azure Resources extension's authentication record, with the keys azure-identity
/// requires.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthRecord {
    tenant_id: String,
    client_id: String,
    username: String,
    home_account_id: String,
    authority: String,
}

/// Sign-in target of the keyring's refresh token, or the reason it has none.
#[derive(Debug)]
struct KeyringTarget {
    /// The cloud name of VS Code's `azure.cloud`, the keyring account.
    cloud_name: String,
    sign_in: Result<UserSignIn, String>,
}

#[derive(Debug)]
struct VsCodePlan {
    /// The record: none when absent, an error when invalid.
    record: Result<Option<AuthRecord>, String>,
    keyring: KeyringTarget,
    scope: String,
    settings_tenant: Option<String>,
    /// The caller's authority host, which replaces the record's.
    explicit_authority: Option<Authority>,
}

impl Plan for VsCodePlan {
    fn cache_key(&self) -> CacheKey {
        let (authority, tenant) = match &self.keyring.sign_in {
            Ok(sign_in) => (sign_in.authority.url(), Some(sign_in.tenant.clone())),
            Err(_) => (String::new(), self.settings_tenant.clone()),
        };
        CacheKey {
            method: "vscode",
            authority,
            tenant,
            client_id: Some(VS_CODE_CLIENT_ID.to_string()),
            scope: self.scope.clone(),
        }
    }

    fn acquire(&self) -> Result<Token, MethodError> {
        let mut reasons = Vec::new();

        match &self.record {
            Ok(Some(record)) => match self.record_sign_in(record) {
                Ok(sign_in) => {
                    if let Some(token) = sign_in.silent_as(&record.home_account_id) {
                        return Ok(token);
                    }
                    reasons.push(format!(
                        "VS Code is signed in as {} with the Azure Resources extension, which \
                         keeps its tokens in the operating system's broker, out of azauth's \
                         reach, and azauth's own cache holds no sign-in of that account",
                        record.username
                    ));
                }
                Err(problem) => reasons.push(problem),
            },
            Ok(None) => reasons.push(
                "the Azure Resources extension's sign-in record \
                 (~/.azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json) was not \
                 found"
                    .to_string(),
            ),
            Err(problem) => reasons.push(problem.clone()),
        }

        match self.keyring_token() {
            Ok(token) => return Ok(token),
            Err(reason) => reasons.push(reason),
        }

        Err(MethodError::Unavailable(format!(
            "{}. To use vscode, {HOW_TO_SIGN_IN}",
            reasons.join("; ")
        )))
    }
}

impl VsCodePlan {
    /// Checks the record as azure-identity does and turns it into a sign-in target.
    fn record_sign_in(&self, record: &AuthRecord) -> Result<UserSignIn, String> {
        let invalid = |problem: String| {
            format!("the Azure Resources extension's sign-in record is invalid: {problem}")
        };
        validate::tenant_id(&record.tenant_id).map_err(invalid)?;
        if !record.client_id.eq_ignore_ascii_case(VS_CODE_CLIENT_ID) {
            return Err(invalid(format!(
                "clientId is {:?}, not VS Code's client ID {VS_CODE_CLIENT_ID}",
                record.client_id
            )));
        }
        // The authority is a URL such as https://login.microsoftonline.com/<tenant>.
        let host = record
            .authority
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .map(|host| format!("https://{host}"))
            .unwrap_or_default();
        let authority = match &self.explicit_authority {
            Some(authority) => authority.clone(),
            None => Authority::parse(&host)
                .map_err(|error| invalid(format!("authority {:?}: {error}", record.authority)))?,
        };
        Ok(UserSignIn {
            method: "vscode",
            authority,
            tenant: record.tenant_id.clone(),
            client_id: VS_CODE_CLIENT_ID.to_string(),
            scope: self.scope.clone(),
        })
    }

    /// Reads the Azure Account extension's refresh token from the keyring and redeems it.
    fn keyring_token(&self) -> Result<Token, String> {
        let sign_in = self.keyring.sign_in.as_ref().map_err(Clone::clone)?;
        let refresh_token = read_keyring(&self.keyring.cloud_name)?;
        log::info(&format!(
            "vscode redeems the Azure Account extension's refresh token for {} at {}",
            sign_in.tenant,
            sign_in.authority.url()
        ));
        match entra::exchange(&sign_in.endpoint(), Grant::RefreshToken(&refresh_token), &sign_in.scope) {
            Ok(user_token) => {
                sign_in.remember(&user_token);
                Ok(user_token.token)
            }
            Err(error) => Err(format!(
                "the Azure Account extension's sign-in could not be used: {}",
                error.message
            )),
        }
    }
}

/// Reads the authentication record from the first granted folder that has one.
fn read_auth_record() -> Result<Option<AuthRecord>, String> {
    for dir in AUTH_RECORD_DIRS {
        let path = format!("{dir}/authRecord.json");
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if metadata.len() > MAX_RECORD_BYTES {
            return Err(format!(
                "the Azure Resources extension's sign-in record is {} bytes, more than the \
                 {MAX_RECORD_BYTES} bytes accepted",
                metadata.len()
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|error| {
            format!("the Azure Resources extension's sign-in record could not be read: {error}")
        })?;
        return parse_auth_record(&text).map(Some);
    }
    Ok(None)
}

fn parse_auth_record(text: &str) -> Result<AuthRecord, String> {
    serde_json::from_str(text).map_err(|error| {
        format!("the Azure Resources extension's sign-in record is invalid: {error}")
    })
}

/// VS Code's `azure.cloud` and `azure.tenant` user settings.
#[derive(Debug, Default, PartialEq, Eq)]
struct VsCodeSettings {
    cloud: Option<String>,
    tenant: Option<String>,
}

/// Reads VS Code's user settings. A missing or unreadable file counts as empty, as in
/// azure-identity.
fn read_user_settings() -> VsCodeSettings {
    match std::fs::read_to_string(format!("{USER_SETTINGS_DIR}/settings.json")) {
        Ok(text) => parse_user_settings(&text),
        Err(_) => VsCodeSettings::default(),
    }
}

/// Parses `settings.json`, which VS Code writes as JSON with comments and trailing
/// commas.
fn parse_user_settings(text: &str) -> VsCodeSettings {
    let value: serde_json::Value = match serde_json::from_str(&strip_jsonc(text)) {
        Ok(value) => value,
        Err(error) => {
            log::warn(&format!("VS Code's settings.json could not be read, so it is ignored: {error}"));
            return VsCodeSettings::default();
        }
    };
    let text_of = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    VsCodeSettings {
        cloud: text_of("azure.cloud"),
        tenant: text_of("azure.tenant"),
    }
}

/// Removes `//` and `/* */` comments outside strings, and commas before `}` or `]`.
fn strip_jsonc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for next in chars.by_ref() {
                    if next == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut previous = ' ';
                for next in chars.by_ref() {
                    if previous == '*' && next == '/' {
                        break;
                    }
                    previous = next;
                }
            }
            (',', _) => {
                let rest: String = chars.clone().collect();
                let next = rest.trim_start().chars().next();
                if !matches!(next, Some('}') | Some(']')) {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Resolves the cloud and tenant of the keyring's token as azure-identity 1.23 did.
/// The authority is the explicit authority host, else that of `azure.cloud` (default
/// `AzureCloud`). The tenant is the option's, else `azure.tenant`, else `organizations`.
fn keyring_target(settings: &Settings, vscode: &VsCodeSettings) -> KeyringTarget {
    let cloud_name = vscode.cloud.clone().unwrap_or_else(|| "AzureCloud".to_string());
    let authority = if settings.authority_explicit {
        Ok(settings.authority.clone())
    } else {
        match cloud_name.as_str() {
            "AzureCloud" => Ok(Cloud::Global.authority()),
            "AzureChinaCloud" => Ok(Cloud::China.authority()),
            "AzureUSGovernment" => Ok(Cloud::UsGov.authority()),
            other => Err(format!(
                "VS Code's azure.cloud is {other:?}, which azauth cannot map to an authority; \
                 give --authority-host"
            )),
        }
    };
    let tenant = settings
        .tenant_id
        .clone()
        .or_else(|| vscode.tenant.clone())
        .unwrap_or_else(|| "organizations".to_string());
    let sign_in = authority.and_then(|authority| {
        if tenant.eq_ignore_ascii_case("adfs") {
            return Err("VS Code's tenant is adfs, which the vscode method does not support".to_string());
        }
        validate::tenant_id(&tenant).map_err(|error| format!("VS Code's azure.tenant: {error}"))?;
        Ok(UserSignIn {
            method: "vscode",
            authority,
            tenant,
            client_id: VS_CODE_CLIENT_ID.to_string(),
            scope: settings.scope.clone(),
        })
    });
    KeyringTarget { cloud_name, sign_in }
}

/// Looks up the refresh token with `secret-tool lookup service "VS Code Azure" account
/// <cloud>`. Exit code 1 with no output means no such secret.
fn read_keyring(cloud_name: &str) -> Result<Secret, String> {
    if !cfg!(target_family = "wasm") {
        return Err("the keyring can be read only inside the component".to_string());
    }
    let command = Command {
        program: "secret-tool".to_string(),
        args: ["lookup", "service", KEYRING_SERVICE, "account", cloud_name]
            .map(str::to_string)
            .to_vec(),
        timeout_ms: KEYRING_TIMEOUT_MS,
    };
    let completed = process::run(&command).map_err(|error| match error {
        RunError::NotAllowed(_) | RunError::NotFound(_) => {
            "the system keyring cannot be read here (secret-tool is not available)".to_string()
        }
        RunError::TimedOut => "reading the system keyring timed out".to_string(),
        RunError::OutputTooLarge => "the keyring returned more output than accepted".to_string(),
        RunError::Failed(message) => format!("reading the system keyring failed: {message}"),
    })?;
    let secret = String::from_utf8_lossy(&completed.stdout).trim().to_string();
    match completed.exit_code {
        Some(0) if !secret.is_empty() => Ok(Secret::new(secret)),
        Some(0) | Some(1) => Err(format!(
            "the system keyring holds no Azure Account extension sign-in for {cloud_name} \
             (service {KEYRING_SERVICE:?})"
        )),
        code => {
            // secret-tool's stderr names the D-Bus or keyring problem and contains no secret.
            let stderr = String::from_utf8_lossy(&completed.stderr);
            Err(format!(
                "reading the system keyring failed (secret-tool exit code {code:?}): {}",
                stderr.trim()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::azauth::credential::types::TokenOptions;
    use crate::settings;

    const RECORD: &str = r#"{"username":"fake.user@contoso.example","authority":"https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555","homeAccountId":"u1.11111111-2222-3333-4444-555555555555","tenantId":"11111111-2222-3333-4444-555555555555","clientId":"aebc6443-996d-45c2-90f0-388ff96faa56","datetimeAuthenticated":1}"#;

    fn plan_with(record: Result<Option<AuthRecord>, String>) -> VsCodePlan {
        let settings =
            settings::resolve(&[], "https://management.azure.com/.default", TokenOptions::default()).unwrap();
        VsCodePlan {
            record,
            keyring: keyring_target(&settings, &VsCodeSettings::default()),
            scope: settings.scope.clone(),
            settings_tenant: None,
            explicit_authority: None,
        }
    }

    #[test]
    fn record_accepted_with_vs_code_client() {
        let record = parse_auth_record(RECORD).unwrap();
        let sign_in = plan_with(Ok(None)).record_sign_in(&record).unwrap();
        assert_eq!(sign_in.authority.url(), "https://login.microsoftonline.com");
        assert_eq!(sign_in.tenant, "11111111-2222-3333-4444-555555555555");
        assert_eq!(sign_in.client_id, VS_CODE_CLIENT_ID);
    }

    #[test]
    fn record_problems_are_named() {
        let error = parse_auth_record(r#"{"username":"x"}"#).unwrap_err();
        assert!(error.contains("missing field `tenantId`"), "{error}");
        let other_client = RECORD.replace(VS_CODE_CLIENT_ID, "99999999-8888-7777-6666-555555555555");
        let record = parse_auth_record(&other_client).unwrap();
        let error = plan_with(Ok(None)).record_sign_in(&record).unwrap_err();
        assert!(error.contains("not VS Code's client ID"), "{error}");
        let bad_tenant = RECORD.replace(
            r#""tenantId":"11111111-2222-3333-4444-555555555555""#,
            r#""tenantId":"bad/tenant""#,
        );
        let record = parse_auth_record(&bad_tenant).unwrap();
        let error = plan_with(Ok(None)).record_sign_in(&record).unwrap_err();
        assert!(error.contains("invalid tenant id"), "{error}");
    }

    #[test]
    fn nothing_found_is_unavailable_with_how_to() {
        let error = plan_with(Ok(None)).acquire().unwrap_err();
        let MethodError::Unavailable(text) = error else { panic!("expected unavailable") };
        assert!(text.contains("sign-in record"), "{text}");
        assert!(text.contains("To use vscode, sign in to Azure in VS Code"), "{text}");
    }

    #[test]
    fn settings_with_comments_and_trailing_commas() {
        let text = "{\n  // the cloud\n  \"azure.cloud\": \"AzureChinaCloud\", /* block, */\n  \"azure.tenant\": \"contoso.example\",\n  \"x\": \"a // not a comment, ]\",\n}\n";
        assert_eq!(
            parse_user_settings(text),
            VsCodeSettings {
                cloud: Some("AzureChinaCloud".to_string()),
                tenant: Some("contoso.example".to_string()),
            }
        );
        assert_eq!(parse_user_settings("not json"), VsCodeSettings::default());
    }

    #[test]
    fn keyring_target_follows_settings() {
        let settings =
            settings::resolve(&[], "https://management.azure.com/.default", TokenOptions::default()).unwrap();
        let vscode = VsCodeSettings {
            cloud: Some("AzureUSGovernment".to_string()),
            tenant: Some("contoso.example".to_string()),
        };
        let target = keyring_target(&settings, &vscode);
        assert_eq!(target.cloud_name, "AzureUSGovernment");
        let sign_in = target.sign_in.unwrap();
        assert_eq!(sign_in.authority.url(), "https://login.microsoftonline.us");
        assert_eq!(sign_in.tenant, "contoso.example");

        let custom = VsCodeSettings { cloud: Some("AzureCustomCloud".to_string()), tenant: None };
        let error = keyring_target(&settings, &custom).sign_in.unwrap_err();
        assert!(error.contains("give --authority-host"), "{error}");
        let adfs = VsCodeSettings { cloud: None, tenant: Some("adfs".to_string()) };
        assert!(keyring_target(&settings, &adfs).sign_in.is_err());
        let default = keyring_target(&settings, &VsCodeSettings::default());
        assert_eq!(default.cloud_name, "AzureCloud");
        assert_eq!(default.sign_in.unwrap().tenant, "organizations");
    }
}
