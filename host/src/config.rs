//! Finding and reading `msticpyconfig.yaml` as MSTICPy does, and the few facts the
//! policy needs from it.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde_yaml_ng::Value;

/// Largest configuration file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// File name MSTICPy looks for.
pub const CONFIG_NAME: &str = "msticpyconfig.yaml";

/// Finds the configuration file.
///
/// An explicit path must exist. Otherwise, in order: the file named by `MSTICPYCONFIG`
/// if it exists, `./msticpyconfig.yaml`, `~/.msticpy/msticpyconfig.yaml`. Returns
/// `None` when there is none.
pub fn find(explicit: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    if let Some(path) = explicit {
        if !path.is_file() {
            bail!("the configuration file {} does not exist", path.display());
        }
        return Ok(Some(path.to_path_buf()));
    }
    let mut candidates = Vec::new();
    if let Some(path) = std::env::var_os("MSTICPYCONFIG") {
        candidates.push(PathBuf::from(path));
    }
    candidates.push(PathBuf::from(CONFIG_NAME));
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".msticpy").join(CONFIG_NAME));
    }
    Ok(candidates.into_iter().find(|path| path.is_file()))
}

/// Reads a configuration file.
pub fn read(path: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading the configuration file {}", path.display()))?
        .len();
    if size > MAX_CONFIG_BYTES {
        bail!(
            "the configuration file {} is {size} bytes; the limit is {MAX_CONFIG_BYTES}",
            path.display()
        );
    }
    std::fs::read_to_string(path)
        .with_context(|| format!("reading the configuration file {}", path.display()))
}

/// Settings of the configuration that the policy depends on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PolicyHints {
    /// `Azure.cloud`.
    pub cloud: Option<String>,
    /// Names of the environment variables that `{EnvironmentVar: NAME}` settings refer to.
    pub env_refs: Vec<String>,
    /// `certificatePath` of the Azure CLI provider's `Args`, the file the `certificate`
    /// method reads.
    pub certificate_path: Option<String>,
}

/// Reads the hints. Invalid YAML gives none: the component reports it with its line.
pub fn policy_hints(text: &str) -> PolicyHints {
    let Ok(root) = serde_yaml_ng::from_str::<Value>(text) else {
        return PolicyHints::default();
    };
    let cloud = root["Azure"]["cloud"]
        .as_str()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string);
    let mut env_refs = Vec::new();
    collect_env_refs(&root, &mut env_refs);
    // The same section the component reads: the provider's, else the older top level.
    let args = if !root["DataProviders"]["AzureCLI"].is_null() {
        &root["DataProviders"]["AzureCLI"]["Args"]
    } else {
        &root["AzureCLI"]["Args"]
    };
    let certificate_path = args["certificatePath"]
        .as_str()
        .map(str::trim)
        .filter(|path| !path.is_empty())
        .map(str::to_string);
    PolicyHints {
        cloud,
        env_refs,
        certificate_path,
    }
}

fn collect_env_refs(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                if key.as_str() == Some("EnvironmentVar") {
                    if let Some(name) = child.as_str() {
                        names.push(name.trim().to_string());
                    }
                } else {
                    collect_env_refs(child, names);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|item| collect_env_refs(item, names)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_read_cloud_and_environment_references() {
        let text = "Azure:\n  cloud: usgov\nDataProviders:\n  AzureCLI:\n    Args:\n      clientSecret:\n        EnvironmentVar: APP_SECRET\nTIProviders:\n  X:\n    Args:\n      AuthKey: {EnvironmentVar: OTHER}\n";
        let hints = policy_hints(text);
        assert_eq!(hints.cloud.as_deref(), Some("usgov"));
        assert_eq!(hints.env_refs, vec!["APP_SECRET".to_string(), "OTHER".to_string()]);
        assert_eq!(hints.certificate_path, None);
    }

    #[test]
    fn hints_read_certificate_path() {
        let text = "DataProviders:\n  AzureCLI:\n    Args:\n      certificatePath: /etc/azauth/app.pem\n";
        let hints = policy_hints(text);
        assert_eq!(hints.certificate_path.as_deref(), Some("/etc/azauth/app.pem"));
        let hints = policy_hints("AzureCLI:\n  Args:\n    certificatePath: app.pfx\n");
        assert_eq!(hints.certificate_path.as_deref(), Some("app.pfx"));
    }

    #[test]
    fn invalid_yaml_gives_no_hints() {
        assert_eq!(policy_hints("Azure: [unclosed"), PolicyHints::default());
    }
}
