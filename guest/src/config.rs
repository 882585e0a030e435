//! The parts of `msticpyconfig.yaml` that the credential chain reads.
//!
//! Keys are case-sensitive, as in MSTICPy. Read here:
//! - `Azure.auth_methods`: a list of method names, or one string (comma-separated names
//!   are split);
//! - `Azure.cloud` and `Azure.tenant_id`;
//! - `DataProviders.AzureCLI.Args` or, when that is absent, the deprecated top-level
//!   `AzureCLI.Args`: `clientId`, `tenantId` and `clientSecret`, and for the
//!   `certificate` method `certificatePath` and `certificatePassword` (a string or a
//!   secret in the same forms as `clientSecret`). MSTICPy itself passes the certificate
//!   only as `az_connect` arguments; these two keys are azauth's.
//!
//! An empty string counts as not set, as MSTICPy's `value or default` does.

use serde_yaml_ng::Value;

use crate::secret::Secret;

/// Settings read from the configuration.
#[derive(Debug, Default)]
pub struct MsticpyConfig {
    /// `Azure.auth_methods`.
    pub auth_methods: Option<Vec<String>>,
    /// `Azure.cloud`.
    pub cloud: Option<String>,
    /// `Azure.tenant_id`.
    pub tenant_id: Option<String>,
    /// `Args` of the Azure CLI data provider.
    pub cli_args: CliArgs,
}

/// `DataProviders.AzureCLI.Args` (or the older top-level `AzureCLI.Args`).
#[derive(Debug, Default)]
pub struct CliArgs {
    /// `clientId`.
    pub client_id: Option<String>,
    /// `tenantId`.
    pub tenant_id: Option<String>,
    /// `clientSecret`.
    pub client_secret: Option<SecretSetting>,
    /// `certificatePath`: a PEM or PFX file for the `certificate` method.
    pub certificate_path: Option<String>,
    /// `certificatePassword`: the password of that file.
    pub certificate_password: Option<SecretSetting>,
    /// Which section the values came from, for messages.
    pub section: &'static str,
}

/// A secret setting in one of MSTICPy's forms.
#[derive(Debug, PartialEq, Eq)]
pub enum SecretSetting {
    /// A value written in the file.
    Value(Secret),
    /// `{EnvironmentVar: NAME}`: the value of that environment variable.
    EnvironmentVar(String),
    /// `{KeyVault: ...}`, which this component does not support.
    KeyVault,
}

/// Parses the configuration text. `path` names the file in error messages.
pub fn parse(path: &str, text: &str) -> Result<MsticpyConfig, String> {
    let root: Value = serde_yaml_ng::from_str(text).map_err(|error| match error.location() {
        Some(location) => format!(
            "invalid YAML in {path} at line {}, column {}: {error}",
            location.line(),
            location.column()
        ),
        None => format!("invalid YAML in {path}: {error}"),
    })?;
    if root.is_null() {
        return Ok(MsticpyConfig::default());
    }
    if !root.is_mapping() {
        return Err(format!("invalid configuration {path}: the top level must be a mapping of sections"));
    }

    let azure = &root["Azure"];
    let auth_methods = match &azure["auth_methods"] {
        Value::Null => None,
        Value::String(text) => Some(split_names(text)),
        Value::Sequence(items) => Some(
            items
                .iter()
                .map(|item| match item {
                    Value::String(name) => Ok(name.trim().to_string()),
                    other => Err(format!(
                        "invalid Azure.auth_methods in {path}: {} is not a method name",
                        describe_value(other)
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        other => {
            return Err(format!(
                "invalid Azure.auth_methods in {path}: expected a list of method names, found {}",
                describe_value(other)
            ));
        }
    };

    Ok(MsticpyConfig {
        auth_methods,
        cloud: string_setting(&azure["cloud"], "Azure.cloud", path)?,
        tenant_id: string_setting(&azure["tenant_id"], "Azure.tenant_id", path)?,
        cli_args: cli_args(&root, path)?,
    })
}

fn cli_args(root: &Value, path: &str) -> Result<CliArgs, String> {
    let (args, section) = if !root["DataProviders"]["AzureCLI"].is_null() {
        (&root["DataProviders"]["AzureCLI"]["Args"], "DataProviders.AzureCLI.Args")
    } else {
        (&root["AzureCLI"]["Args"], "AzureCLI.Args")
    };
    let key = |name: &str| format!("{section}.{name}");
    let client_secret = secret_setting(&args["clientSecret"], &key("clientSecret"), path)?;
    let certificate_password =
        secret_setting(&args["certificatePassword"], &key("certificatePassword"), path)?;
    Ok(CliArgs {
        client_id: string_setting(&args["clientId"], &key("clientId"), path)?,
        tenant_id: string_setting(&args["tenantId"], &key("tenantId"), path)?,
        client_secret,
        certificate_path: string_setting(&args["certificatePath"], &key("certificatePath"), path)?,
        certificate_password,
        section,
    })
}

/// Reads a secret in one of MSTICPy's forms: a string, `{EnvironmentVar: NAME}` or
/// `{KeyVault: ...}`. `key` names the setting in messages.
fn secret_setting(value: &Value, key: &str, path: &str) -> Result<Option<SecretSetting>, String> {
    Ok(match value {
        Value::Null => None,
        Value::Mapping(map) => {
            if let Some(name) = map.get("EnvironmentVar") {
                match name.as_str() {
                    Some(name) if !name.trim().is_empty() => {
                        Some(SecretSetting::EnvironmentVar(name.trim().to_string()))
                    }
                    _ => {
                        return Err(format!(
                            "invalid {key} in {path}: EnvironmentVar must name a variable"
                        ));
                    }
                }
            } else if map.contains_key("KeyVault") {
                Some(SecretSetting::KeyVault)
            } else {
                return Err(format!(
                    "invalid {key} in {path}: expected a string, {{EnvironmentVar: NAME}} or \
                     {{KeyVault: NAME}}"
                ));
            }
        }
        other => scalar_text(other)
            .filter(|text| !text.is_empty())
            .map(|text| SecretSetting::Value(Secret::new(text))),
    })
}

/// Reads a scalar setting as text; null and empty strings are `None`.
fn string_setting(value: &Value, key: &str, path: &str) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => Err(format!(
            "invalid {key} in {path}: expected a single value, found {}",
            describe_value(value)
        )),
        scalar => Ok(scalar_text(scalar).filter(|text| !text.is_empty())),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim().to_string()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn split_names(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_string(),
        Value::Bool(flag) => format!("the boolean {flag}"),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) => format!("the string {text:?}"),
        Value::Sequence(_) => "a list".to_string(),
        Value::Mapping(_) => "a mapping".to_string(),
        Value::Tagged(_) => "a tagged value".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/home/analyst/msticpyconfig.yaml";

    #[test]
    fn reads_azure_section_and_provider_args() {
        let text = r#"
Azure:
  cloud: usgov
  auth_methods: [clientsecret, cli]
  tenant_id: 11111111-2222-3333-4444-555555555555
DataProviders:
  AzureCLI:
    Args:
      clientId: 99999999-8888-7777-6666-555555555555
      tenantId: 11111111-2222-3333-4444-555555555555
      clientSecret:
        EnvironmentVar: MY_APP_SECRET
"#;
        let config = parse(PATH, text).unwrap();
        assert_eq!(config.cloud.as_deref(), Some("usgov"));
        assert_eq!(config.auth_methods, Some(vec!["clientsecret".into(), "cli".into()]));
        assert_eq!(
            config.tenant_id.as_deref(),
            Some("11111111-2222-3333-4444-555555555555")
        );
        assert_eq!(config.cli_args.section, "DataProviders.AzureCLI.Args");
        assert_eq!(
            config.cli_args.client_id.as_deref(),
            Some("99999999-8888-7777-6666-555555555555")
        );
        assert_eq!(
            config.cli_args.client_secret,
            Some(SecretSetting::EnvironmentVar("MY_APP_SECRET".into()))
        );
    }

    #[test]
    fn auth_methods_as_single_string() {
        let config = parse(PATH, "Azure:\n  auth_methods: cli\n").unwrap();
        assert_eq!(config.auth_methods, Some(vec!["cli".to_string()]));
        let config = parse(PATH, "Azure:\n  auth_methods: 'env, cli'\n").unwrap();
        assert_eq!(config.auth_methods, Some(vec!["env".to_string(), "cli".to_string()]));
    }

    #[test]
    fn older_top_level_azure_cli_section() {
        let text = "AzureCLI:\n  Args:\n    clientId: abc\n    clientSecret: fake-secret\n";
        let config = parse(PATH, text).unwrap();
        assert_eq!(config.cli_args.section, "AzureCLI.Args");
        assert_eq!(config.cli_args.client_id.as_deref(), Some("abc"));
        assert_eq!(
            config.cli_args.client_secret,
            Some(SecretSetting::Value(Secret::new("fake-secret")))
        );
    }

    #[test]
    fn key_vault_secret_is_recognized() {
        let text = "DataProviders:\n  AzureCLI:\n    Args:\n      clientSecret:\n        KeyVault: vault/name\n";
        let config = parse(PATH, text).unwrap();
        assert_eq!(config.cli_args.client_secret, Some(SecretSetting::KeyVault));
    }

    #[test]
    fn empty_values_count_as_unset() {
        let config = parse(PATH, "Azure:\n  tenant_id: \"\"\n  cloud:\n").unwrap();
        assert_eq!(config.tenant_id, None);
        assert_eq!(config.cloud, None);
        let config = parse(PATH, "").unwrap();
        assert!(config.auth_methods.is_none());
    }

    #[test]
    fn invalid_yaml_names_file_and_line() {
        let error = parse(PATH, "Azure:\n  cloud: global\n  auth_methods: [cli\n").unwrap_err();
        assert!(error.starts_with(&format!("invalid YAML in {PATH} at line ")), "{error}");
    }

    #[test]
    fn wrong_types_name_the_key() {
        let error = parse(PATH, "Azure:\n  auth_methods: 3\n").unwrap_err();
        assert!(error.contains("Azure.auth_methods"), "{error}");
        let error = parse(PATH, "Azure:\n  tenant_id: [a, b]\n").unwrap_err();
        assert!(error.contains("Azure.tenant_id"), "{error}");
        let error = parse(PATH, "- a\n- b\n").unwrap_err();
        assert!(error.contains("top level"), "{error}");
    }
}
