//! `msi`: managed identity, from whichever endpoint the environment names.
//!
//! Sources are detected in azure-identity's order (a variable counts when it is set and
//! not empty):
//! 1. `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` + `IDENTITY_SERVER_THUMBPRINT`: Service Fabric;
//! 2. `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`: App Service, Functions, Automation;
//! 3. `IDENTITY_ENDPOINT` + `IMDS_ENDPOINT`: Azure Arc;
//! 4. `MSI_ENDPOINT` + `MSI_SECRET`: Azure ML;
//! 5. `MSI_ENDPOINT`: Cloud Shell;
//! 6. otherwise IMDS, at `AZURE_POD_IDENTITY_AUTHORITY_HOST` or `http://169.254.169.254`.
//!
//! A user-assigned identity is chosen by `--identity-object-id` or
//! `--identity-resource-id`, else by client ID: `AZURE_CLIENT_ID` first, then
//! `--client-id`. That client ID order is MSTICPy's, which lets the variable win so that
//! a client ID meant for another method does not pick the identity. Azure ML also reads
//! `DEFAULT_IDENTITY_CLIENT_ID`.

mod request;
mod response;

use super::{MethodError, Plan};
use crate::cache::CacheKey;
use crate::entra::Token;
use crate::log;
use crate::settings::{Environment, Settings};
use crate::validate;

pub use request::IMDS_DEFAULT_HOST;

/// The endpoint that issues the managed identity token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The Azure Instance Metadata Service; `base` is scheme, host and port.
    Imds { base: String },
    /// App Service, Functions or Automation.
    AppService { endpoint: String, header: String },
    /// Service Fabric.
    ServiceFabric {
        endpoint: String,
        header: String,
        thumbprint: String,
    },
    /// Azure Arc-enabled servers.
    Arc { endpoint: String },
    /// Azure Machine Learning compute.
    AzureMl { endpoint: String, secret: String },
    /// Azure Cloud Shell.
    CloudShell { endpoint: String },
}

impl Source {
    /// Source name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Imds { .. } => "IMDS",
            Source::AppService { .. } => "App Service",
            Source::ServiceFabric { .. } => "Service Fabric",
            Source::Arc { .. } => "Azure Arc",
            Source::AzureMl { .. } => "Azure ML",
            Source::CloudShell { .. } => "Cloud Shell",
        }
    }
}

/// The identity to request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// The system-assigned identity.
    System,
    /// A user-assigned identity by client ID.
    ClientId(String),
    /// A user-assigned identity by object (principal) ID.
    ObjectId(String),
    /// A user-assigned identity by Azure resource ID.
    ResourceId(String),
}

impl Selector {
    fn describe(&self) -> String {
        match self {
            Selector::System => "the system-assigned identity".to_string(),
            Selector::ClientId(id) => format!("the identity with client ID {id}"),
            Selector::ObjectId(id) => format!("the identity with object ID {id}"),
            Selector::ResourceId(id) => format!("the identity with resource ID {id}"),
        }
    }
}

/// A managed identity token request, ready to send.
#[derive(Debug)]
struct MsiPlan {
    source: Source,
    selector: Selector,
    resource: String,
    scope: String,
    /// Probe timeout for the first IMDS request, or `None` to skip the probe.
    probe_timeout_ms: Option<u32>,
}

pub(super) fn plan(settings: &Settings, env: &Environment) -> Result<Box<dyn Plan>, MethodError> {
    let source = detect(env)?;
    let selector = select(settings, env, &source)?;
    let resource = resource_of(&settings.scope)?;
    // NOTE: azure-identity probes only inside a chain, and not when
    // AZURE_POD_IDENTITY_AUTHORITY_HOST is set. azauth probes whenever another method
    // follows, so that a chain falls through fast wherever IMDS points. With msi alone,
    // the first request gets the full timeouts and retries.
    let probe_timeout_ms = (settings.methods.len() > 1).then_some(settings.imds_probe_timeout_ms);
    log::debug(&format!(
        "msi: {} source, {}",
        source.name(),
        selector.describe()
    ));
    Ok(Box::new(MsiPlan {
        source,
        selector,
        resource,
        scope: settings.scope.clone(),
        probe_timeout_ms,
    }))
}

impl Plan for MsiPlan {
    fn cache_key(&self) -> CacheKey {
        let (authority, client_id) = match &self.source {
            Source::Imds { base } => (base.clone(), None),
            Source::AppService { endpoint, .. }
            | Source::ServiceFabric { endpoint, .. }
            | Source::Arc { endpoint }
            | Source::AzureMl { endpoint, .. }
            | Source::CloudShell { endpoint } => (endpoint.clone(), None::<String>),
        };
        let selector = match &self.selector {
            Selector::System => None,
            Selector::ClientId(id) => Some(format!("client_id={id}")),
            Selector::ObjectId(id) => Some(format!("object_id={id}")),
            Selector::ResourceId(id) => Some(format!("resource_id={id}")),
        };
        CacheKey {
            method: "msi",
            authority,
            tenant: None,
            client_id: selector.or(client_id),
            scope: self.scope.clone(),
        }
    }

    fn acquire(&self) -> Result<Token, MethodError> {
        request::acquire(
            &self.source,
            &self.selector,
            &self.resource,
            self.probe_timeout_ms,
        )
    }
}

/// Finds the managed identity source from the environment.
pub fn detect(env: &Environment) -> Result<Source, MethodError> {
    let value = |name: &str| {
        env.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let identity_endpoint = value("IDENTITY_ENDPOINT");
    let identity_header = value("IDENTITY_HEADER");
    let msi_endpoint = value("MSI_ENDPOINT");

    if let (Some(endpoint), Some(header)) = (&identity_endpoint, &identity_header) {
        return Ok(match value("IDENTITY_SERVER_THUMBPRINT") {
            Some(thumbprint) => Source::ServiceFabric {
                endpoint: endpoint.clone(),
                header: header.clone(),
                thumbprint,
            },
            None => Source::AppService {
                endpoint: endpoint.clone(),
                header: header.clone(),
            },
        });
    }
    if let Some(endpoint) = &identity_endpoint {
        if value("IMDS_ENDPOINT").is_some() {
            return Ok(Source::Arc {
                endpoint: endpoint.clone(),
            });
        }
        return Err(MethodError::Unavailable(format!(
            "IDENTITY_ENDPOINT is set ({endpoint}) without IDENTITY_HEADER or IMDS_ENDPOINT, \
             so the managed identity platform cannot be determined; set IDENTITY_HEADER (App \
             Service) or IMDS_ENDPOINT (Azure Arc), or unset IDENTITY_ENDPOINT"
        )));
    }
    if let Some(endpoint) = msi_endpoint {
        return Ok(match value("MSI_SECRET") {
            Some(secret) => Source::AzureMl { endpoint, secret },
            None => Source::CloudShell { endpoint },
        });
    }
    let base = value("AZURE_POD_IDENTITY_AUTHORITY_HOST")
        .map(|host| host.trim_end_matches('/').to_string())
        .unwrap_or_else(|| IMDS_DEFAULT_HOST.to_string());
    Ok(Source::Imds { base })
}

/// Chooses the identity: an explicit object or resource ID, else `AZURE_CLIENT_ID`,
/// else `--client-id`, else (Azure ML) `DEFAULT_IDENTITY_CLIENT_ID`, else the
/// system-assigned identity.
fn select(
    settings: &Settings,
    env: &Environment,
    source: &Source,
) -> Result<Selector, MethodError> {
    let selector = match (&settings.identity_object_id, &settings.identity_resource_id) {
        (Some(_), Some(_)) => {
            return Err(MethodError::Failed(
                "give either --identity-object-id or --identity-resource-id, not both".to_string(),
            ));
        }
        (Some(object_id), None) => Selector::ObjectId(object_id.clone()),
        (None, Some(resource_id)) => Selector::ResourceId(resource_id.clone()),
        (None, None) => {
            let from_env = env
                .get("AZURE_CLIENT_ID")
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_string);
            match from_env.or_else(|| settings.client_id.clone()) {
                Some(client_id) => {
                    validate::client_id(&client_id).map_err(|error| {
                        MethodError::Failed(format!("managed identity client ID: {error}"))
                    })?;
                    Selector::ClientId(client_id)
                }
                None if matches!(source, Source::AzureMl { .. }) => azure_ml_default(env),
                None => Selector::System,
            }
        }
    };

    let supported = match (source, &selector) {
        (_, Selector::System) => true,
        (Source::ServiceFabric { .. } | Source::CloudShell { .. }, _) => false,
        (Source::AzureMl { .. }, Selector::ClientId(_)) => true,
        (Source::AzureMl { .. }, _) => false,
        _ => true,
    };
    if !supported {
        return Err(MethodError::Failed(format!(
            "{} does not support choosing a user-assigned identity, but {} was requested; \
             remove the identity option (or AZURE_CLIENT_ID) to use the identity the platform \
             assigns",
            source.name(),
            selector.describe()
        )));
    }
    Ok(selector)
}

/// Azure ML names the compute's identity in `DEFAULT_IDENTITY_CLIENT_ID`. When no
/// identity is enabled it contains the literal text `clientid`, so anything that is not a
/// GUID counts as unset.
fn azure_ml_default(env: &Environment) -> Selector {
    match env.get("DEFAULT_IDENTITY_CLIENT_ID").map(str::trim) {
        Some(id) if is_guid(id) => Selector::ClientId(id.to_string()),
        Some(other) if !other.is_empty() => {
            log::info(&format!(
                "DEFAULT_IDENTITY_CLIENT_ID is {other:?}, not a GUID, so it is ignored"
            ));
            Selector::System
        }
        _ => Selector::System,
    }
}

fn is_guid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The resource of a scope: the scope without a trailing `/.default`. Managed identity
/// endpoints take one resource URL.
fn resource_of(scope: &str) -> Result<String, MethodError> {
    match scope.strip_suffix("/.default") {
        Some(resource) if !resource.is_empty() => Ok(resource.to_string()),
        _ => Err(MethodError::Unavailable(format!(
            "managed identity endpoints take a resource URL, so msi needs a scope of the form \
             <resource>/.default, not {scope}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::azauth::credential::types::TokenOptions;
    use crate::settings;

    fn settings_with(options: TokenOptions) -> Settings {
        settings::resolve(
            &["msi".to_string(), "cli".to_string()],
            "https://management.azure.com/.default",
            options,
        )
        .unwrap()
    }

    #[test]
    fn detection_follows_azure_identity_order() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[
                    ("IDENTITY_ENDPOINT", "http://e"),
                    ("IDENTITY_HEADER", "h"),
                    ("IDENTITY_SERVER_THUMBPRINT", "t"),
                    ("IMDS_ENDPOINT", "http://i"),
                    ("MSI_ENDPOINT", "http://m"),
                ],
                "Service Fabric",
            ),
            (
                &[
                    ("IDENTITY_ENDPOINT", "http://e"),
                    ("IDENTITY_HEADER", "h"),
                    ("IMDS_ENDPOINT", "http://i"),
                ],
                "App Service",
            ),
            (
                &[
                    ("IDENTITY_ENDPOINT", "http://e"),
                    ("IMDS_ENDPOINT", "http://i"),
                    ("MSI_ENDPOINT", "http://m"),
                ],
                "Azure Arc",
            ),
            (
                &[("MSI_ENDPOINT", "http://m"), ("MSI_SECRET", "s")],
                "Azure ML",
            ),
            (&[("MSI_ENDPOINT", "http://m")], "Cloud Shell"),
            // An empty variable counts as unset, as in azure-identity's selection.
            (&[("MSI_ENDPOINT", ""), ("IDENTITY_HEADER", "h")], "IMDS"),
            (&[], "IMDS"),
        ];
        for (pairs, expected) in cases {
            let source = detect(&Environment::from_pairs(pairs)).unwrap();
            assert_eq!(source.name(), *expected, "{pairs:?}");
        }
    }

    #[test]
    fn imds_address_override() {
        let env = Environment::from_pairs(&[(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            "http://127.0.0.1:9/",
        )]);
        assert_eq!(
            detect(&env).unwrap(),
            Source::Imds {
                base: "http://127.0.0.1:9".to_string()
            }
        );
        assert_eq!(
            detect(&Environment::default()).unwrap(),
            Source::Imds {
                base: "http://169.254.169.254".to_string()
            }
        );
    }

    #[test]
    fn identity_endpoint_alone_is_unavailable() {
        let env = Environment::from_pairs(&[("IDENTITY_ENDPOINT", "http://e")]);
        assert!(matches!(detect(&env), Err(MethodError::Unavailable(_))));
    }

    #[test]
    fn selector_precedence() {
        let imds = Source::Imds {
            base: "http://x".to_string(),
        };
        let env =
            Environment::from_pairs(&[("AZURE_CLIENT_ID", "99999999-8888-7777-6666-555555555555")]);
        let options = TokenOptions {
            client_id: Some("11111111-0000-0000-0000-000000000000".into()),
            ..TokenOptions::default()
        };
        // The variable wins over --client-id, as in MSTICPy.
        assert_eq!(
            select(&settings_with(options.clone()), &env, &imds).unwrap(),
            Selector::ClientId("99999999-8888-7777-6666-555555555555".into())
        );
        assert_eq!(
            select(&settings_with(options), &Environment::default(), &imds).unwrap(),
            Selector::ClientId("11111111-0000-0000-0000-000000000000".into())
        );
        // An explicit object ID wins over both.
        let options = TokenOptions {
            identity_object_id: Some("22222222-0000-0000-0000-000000000000".into()),
            ..TokenOptions::default()
        };
        assert_eq!(
            select(&settings_with(options), &env, &imds).unwrap(),
            Selector::ObjectId("22222222-0000-0000-0000-000000000000".into())
        );
        assert_eq!(
            select(
                &settings_with(TokenOptions::default()),
                &Environment::default(),
                &imds
            )
            .unwrap(),
            Selector::System
        );
    }

    #[test]
    fn azure_ml_reads_default_identity_client_id() {
        let ml = Source::AzureMl {
            endpoint: "http://m".into(),
            secret: "s".into(),
        };
        let settings = settings_with(TokenOptions::default());
        let env = Environment::from_pairs(&[(
            "DEFAULT_IDENTITY_CLIENT_ID",
            "99999999-8888-7777-6666-555555555555",
        )]);
        assert_eq!(
            select(&settings, &env, &ml).unwrap(),
            Selector::ClientId("99999999-8888-7777-6666-555555555555".into())
        );
        // Without an identity the variable contains the text `clientid`.
        let env = Environment::from_pairs(&[("DEFAULT_IDENTITY_CLIENT_ID", "clientid")]);
        assert_eq!(select(&settings, &env, &ml).unwrap(), Selector::System);
    }

    #[test]
    fn unsupported_selectors_fail() {
        let env =
            Environment::from_pairs(&[("AZURE_CLIENT_ID", "99999999-8888-7777-6666-555555555555")]);
        let settings = settings_with(TokenOptions::default());
        for source in [
            Source::CloudShell {
                endpoint: "http://c".into(),
            },
            Source::ServiceFabric {
                endpoint: "https://s".into(),
                header: "h".into(),
                thumbprint: "t".into(),
            },
        ] {
            assert!(
                matches!(
                    select(&settings, &env, &source),
                    Err(MethodError::Failed(_))
                ),
                "{source:?}"
            );
        }
    }
}
