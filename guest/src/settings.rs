//! Per-call settings: the request, the options and the configuration, resolved and
//! validated once before any method runs.

use std::collections::HashMap;

use crate::bindings::azauth::credential::types::TokenOptions;
use crate::cloud::{Authority, Cloud};
use crate::config::{self, MsticpyConfig, SecretSetting};
use crate::methods::Method;
use crate::secret::Secret;
use crate::validate;

/// The methods tried when neither the call nor the configuration names any, as
/// MSTICPy's documentation gives them.
pub const DEFAULT_METHODS: [Method; 3] = [Method::Msi, Method::Cli, Method::DeviceCode];

/// Default time for the first request to IMDS: azure-identity's probe timeout since
/// 1.15.0. A machine off Azure either refuses at once or drops the packets, so a longer
/// wait only delays the next method.
pub const DEFAULT_IMDS_PROBE_TIMEOUT_MS: u32 = 1000;

/// Default run time of `az` and `pwsh`: azure-identity's `process_timeout`.
pub const DEFAULT_PROCESS_TIMEOUT_MS: u32 = 10_000;

/// The environment variables that the component can see.
///
/// wasi-libc reads the environment once per instance, so this is a snapshot; settings
/// that change between calls come through `token-options`.
#[derive(Debug, Default, Clone)]
pub struct Environment {
    vars: HashMap<String, String>,
}

impl Environment {
    /// Takes the component's environment.
    pub fn from_process() -> Environment {
        Environment {
            vars: std::env::vars().collect(),
        }
    }

    /// Builds an environment from pairs, for tests.
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Environment {
        Environment {
            vars: pairs
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        }
    }

    /// Returns a variable's value, including an empty one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// Everything a method needs, resolved from the call, the options and the configuration.
#[derive(Debug)]
pub struct Settings {
    /// Methods to try, in order, without repeats.
    pub methods: Vec<Method>,
    /// Validated scope.
    pub scope: String,
    /// The cloud.
    pub cloud: Cloud,
    /// The authority: the explicit authority host when one was given, else the cloud's.
    pub authority: Authority,
    /// True when the caller named the authority host explicitly.
    pub authority_explicit: bool,
    /// Tenant from the options. Methods fall back to the configuration's tenants in
    /// their own order.
    pub tenant_id: Option<String>,
    /// Client ID from the options.
    pub client_id: Option<String>,
    /// Client secret from the options.
    pub client_secret: Option<Secret>,
    /// Certificate file from the options.
    pub certificate_path: Option<String>,
    /// Certificate password from the options. An empty password counts as given, since
    /// a PFX can be protected by the empty string.
    pub certificate_password: Option<Secret>,
    /// Whether the `certificate` method sends the chain (`x5c`).
    pub send_certificate_chain: bool,
    /// The configuration, or an empty one.
    pub config: MsticpyConfig,
    /// User name suggested to the browser sign-in page.
    pub login_hint: Option<String>,
    /// Longest wait for a person to sign in, in seconds, when the caller set one.
    pub sign_in_timeout_secs: Option<u32>,
    /// Connect and first-byte timeout of the first request to IMDS, in milliseconds.
    pub imds_probe_timeout_ms: u32,
    /// Run time allowed to `az` and `pwsh`, in milliseconds.
    pub process_timeout_ms: u32,
    /// Object ID of a user-assigned managed identity, from the options.
    pub identity_object_id: Option<String>,
    /// Resource ID of a user-assigned managed identity, from the options.
    pub identity_resource_id: Option<String>,
}

/// Resolves and validates a call. Errors are messages for an invalid request.
pub fn resolve(methods: &[String], scope: &str, options: TokenOptions) -> Result<Settings, String> {
    let (config, config_path) = match &options.config {
        Some(source) => (config::parse(&source.path, &source.text)?, Some(source.path.clone())),
        None => (MsticpyConfig::default(), None),
    };

    let methods = resolve_methods(methods, &config)?;
    let scope = validate::scope(scope)?;

    let cloud = match options.cloud.as_deref().or(config.cloud.as_deref()) {
        Some(name) => Cloud::parse(name)?,
        None => Cloud::Global,
    };
    let (authority, authority_explicit) = match non_empty(options.authority_host.as_deref()) {
        Some(host) => (Authority::parse(host)?, true),
        None => (cloud.authority(), false),
    };

    let tenant_id = non_empty(options.tenant_id.as_deref()).map(str::to_string);
    for tenant in tenant_id.iter().chain(&config.tenant_id) {
        validate::tenant_id(tenant)?;
    }
    let client_id = non_empty(options.client_id.as_deref()).map(str::to_string);
    if let Some(client) = &client_id {
        validate::client_id(client)?;
    }
    let client_secret = non_empty(options.client_secret.as_deref()).map(Secret::new);
    let certificate_path = non_empty(options.certificate_path.as_deref()).map(str::to_string);
    let certificate_password = options.certificate_password.as_deref().map(Secret::new);
    let send_certificate_chain = options.send_certificate_chain.unwrap_or(false);
    let identity_object_id = non_empty(options.identity_object_id.as_deref()).map(str::to_string);
    if let Some(object_id) = &identity_object_id {
        validate::client_id(object_id)
            .map_err(|_| format!("invalid identity object id {object_id:?}: use the object (principal) ID GUID of the managed identity"))?;
    }
    let identity_resource_id =
        non_empty(options.identity_resource_id.as_deref()).map(str::to_string);
    if let Some(resource_id) = &identity_resource_id {
        validate::resource_id(resource_id)?;
    }
    let imds_probe_timeout_ms = positive(
        options.imds_probe_timeout_ms,
        DEFAULT_IMDS_PROBE_TIMEOUT_MS,
        "imds probe timeout",
    )?;
    let process_timeout_ms =
        positive(options.process_timeout_ms, DEFAULT_PROCESS_TIMEOUT_MS, "process timeout")?;

    if methods.contains(&Method::ClientSecret) || methods.contains(&Method::Certificate) {
        let args = &config.cli_args;
        let place = config_path.as_deref().unwrap_or("the configuration");
        if let Some(tenant) = &args.tenant_id {
            validate::tenant_id(tenant)
                .map_err(|error| format!("{}.tenantId in {place}: {error}", args.section))?;
        }
        if let Some(client) = &args.client_id {
            validate::client_id(client)
                .map_err(|error| format!("{}.clientId in {place}: {error}", args.section))?;
        }
    }
    if methods.contains(&Method::ClientSecret)
        && client_secret.is_none()
        && config.cli_args.client_secret == Some(SecretSetting::KeyVault)
    {
        return Err(format!(
            "{}.clientSecret in {} is a KeyVault reference, which azauth does not support: \
             use {{EnvironmentVar: NAME}} or pass --client-secret",
            config.cli_args.section,
            config_path.as_deref().unwrap_or("the configuration")
        ));
    }

    if methods.contains(&Method::Certificate)
        && certificate_password.is_none()
        && config.cli_args.certificate_password == Some(SecretSetting::KeyVault)
    {
        return Err(format!(
            "{}.certificatePassword in {} is a KeyVault reference, which azauth does not \
             support: use {{EnvironmentVar: NAME}} or pass --client-certificate-password",
            config.cli_args.section,
            config_path.as_deref().unwrap_or("the configuration")
        ));
    }
    let login_hint = non_empty(options.login_hint.as_deref()).map(str::to_string);
    if let Some(hint) = &login_hint
        && hint.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(format!(
            "invalid login hint {hint:?}: give a user name such as user@contoso.com"
        ));
    }
    if options.sign_in_timeout_secs == Some(0) {
        return Err("invalid sign-in timeout 0: give a number of seconds above 0".to_string());
    }

    Ok(Settings {
        methods,
        scope,
        cloud,
        authority,
        authority_explicit,
        tenant_id,
        client_id,
        client_secret,
        certificate_path,
        certificate_password,
        send_certificate_chain,
        config,
        login_hint,
        sign_in_timeout_secs: options.sign_in_timeout_secs,
        imds_probe_timeout_ms,
        process_timeout_ms,
        identity_object_id,
        identity_resource_id,
    })
}

/// Returns `value`, or `default` when it is absent; zero is invalid.
fn positive(value: Option<u32>, default: u32, what: &str) -> Result<u32, String> {
    match value {
        None => Ok(default),
        Some(0) => Err(format!("invalid {what} 0 ms: give a positive number of milliseconds")),
        Some(ms) => Ok(ms),
    }
}

/// Turns names into methods: the call's, else the configuration's, else the defaults.
fn resolve_methods(names: &[String], config: &MsticpyConfig) -> Result<Vec<Method>, String> {
    let names: Vec<&str> = names
        .iter()
        .map(|name| name.trim())
        .filter(|name| !name.is_empty())
        .collect();
    let configured: Vec<&str> = config
        .auth_methods
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let chosen = if !names.is_empty() { names } else { configured };
    if chosen.is_empty() {
        return Ok(DEFAULT_METHODS.to_vec());
    }

    let unknown: Vec<&str> = chosen
        .iter()
        .copied()
        .filter(|name| Method::parse(name).is_none())
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "unknown auth method{} {}: valid names are {}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown
                .iter()
                .map(|name| format!("{name:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            Method::valid_names()
        ));
    }
    let mut methods = Vec::new();
    for method in chosen.iter().filter_map(|name| Method::parse(name)) {
        if !methods.contains(&method) {
            methods.push(method);
        }
    }
    Ok(methods)
}

/// Resolves a secret setting of the configuration.
///
/// Returns `Err` with a reason when the setting names an environment variable that is
/// unset or empty.
pub fn resolve_secret(
    setting: &SecretSetting,
    env: &Environment,
    key: &str,
) -> Result<Option<Secret>, String> {
    match setting {
        SecretSetting::Value(secret) => Ok(Some(secret.clone())),
        SecretSetting::EnvironmentVar(name) => match env.get(name) {
            Some(value) if !value.is_empty() => Ok(Some(Secret::new(value))),
            _ => Err(format!(
                "{key} refers to the environment variable {name}, which is not set or empty"
            )),
        },
        SecretSetting::KeyVault => Ok(None),
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::azauth::credential::types::ConfigSource;

    fn options() -> TokenOptions {
        TokenOptions::default()
    }

    fn with_config(text: &str) -> TokenOptions {
        TokenOptions {
            config: Some(ConfigSource {
                path: "/tmp/msticpyconfig.yaml".to_string(),
                text: text.to_string(),
            }),
            ..options()
        }
    }

    const SCOPE: &str = "https://management.azure.com/.default";

    #[test]
    fn empty_methods_use_defaults() {
        let settings = resolve(&[], SCOPE, options()).unwrap();
        assert_eq!(settings.methods, DEFAULT_METHODS.to_vec());
    }

    #[test]
    fn config_methods_when_call_names_none() {
        let settings =
            resolve(&[], SCOPE, with_config("Azure:\n  auth_methods: [cli, env]\n")).unwrap();
        assert_eq!(settings.methods, vec![Method::Cli, Method::Env]);
        // Names in the call win over the configuration's.
        let settings = resolve(
            &["device_code".to_string()],
            SCOPE,
            with_config("Azure:\n  auth_methods: [cli]\n"),
        )
        .unwrap();
        assert_eq!(settings.methods, vec![Method::DeviceCode]);
    }

    #[test]
    fn unknown_method_lists_valid_names() {
        let error = resolve(&["cli".to_string(), "kerberos".to_string()], SCOPE, options())
            .unwrap_err();
        assert!(error.starts_with("unknown auth method \"kerberos\": valid names are "), "{error}");
        assert!(error.contains("clientsecret (client_secret)"), "{error}");
    }

    #[test]
    fn aliases_and_repeats_collapse() {
        let names = ["managed_identity", "msi", "environment", "env"].map(String::from);
        let settings = resolve(&names, SCOPE, options()).unwrap();
        assert_eq!(settings.methods, vec![Method::Msi, Method::Env]);
    }

    #[test]
    fn options_win_over_config() {
        let mut options = with_config("Azure:\n  cloud: usgov\n  tenant_id: contoso.example\n");
        let settings = resolve(&[], SCOPE, options.clone()).unwrap();
        assert_eq!(settings.cloud, Cloud::UsGov);
        assert_eq!(settings.authority.url(), "https://login.microsoftonline.us");
        assert_eq!(settings.tenant_id, None);
        assert_eq!(settings.config.tenant_id.as_deref(), Some("contoso.example"));

        options.cloud = Some("China".to_string());
        options.tenant_id = Some("11111111-2222-3333-4444-555555555555".to_string());
        let settings = resolve(&[], SCOPE, options).unwrap();
        assert_eq!(settings.cloud, Cloud::China);
        assert_eq!(
            settings.tenant_id.as_deref(),
            Some("11111111-2222-3333-4444-555555555555")
        );
    }

    #[test]
    fn invalid_values_rejected_before_any_method() {
        let cases = [
            (TokenOptions { tenant_id: Some("x;echo INJECTED".into()), ..options() }, "invalid tenant id"),
            (TokenOptions { cloud: Some("nosuchcloud".into()), ..options() }, "unknown cloud"),
            (TokenOptions { authority_host: Some("http://login.example".into()), ..options() }, "invalid authority host"),
            (with_config("Azure:\n  tenant_id: bad/tenant\n"), "invalid tenant id"),
        ];
        for (options, expected) in cases {
            let error = resolve(&[], SCOPE, options).unwrap_err();
            assert!(error.starts_with(expected), "{error}");
        }
    }

    #[test]
    fn key_vault_secret_rejected_only_for_clientsecret() {
        let text = "DataProviders:\n  AzureCLI:\n    Args:\n      clientSecret: {KeyVault: v/s}\n";
        let error = resolve(&["clientsecret".to_string()], SCOPE, with_config(text)).unwrap_err();
        assert!(error.contains("KeyVault reference"), "{error}");
        assert!(error.contains("/tmp/msticpyconfig.yaml"), "{error}");
        assert!(resolve(&["cli".to_string()], SCOPE, with_config(text)).is_ok());
    }

    #[test]
    fn environment_secret_must_be_set() {
        let env = Environment::from_pairs(&[("EMPTY", "")]);
        let setting = SecretSetting::EnvironmentVar("MISSING".to_string());
        let error = resolve_secret(&setting, &env, "clientSecret").unwrap_err();
        assert!(error.contains("MISSING"), "{error}");
        let setting = SecretSetting::EnvironmentVar("EMPTY".to_string());
        assert!(resolve_secret(&setting, &env, "clientSecret").is_err());
    }
}
