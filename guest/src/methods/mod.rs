//! The credential methods: their names, what each needs, and how each runs.

mod certificate;
mod cli;
mod client_secret;
mod device_code;
mod env;
mod interactive;
mod sign_in;
mod vscode;
mod msi;
mod powershell;
mod workload_identity;

use crate::bindings::azauth::credential::types::MethodInfo;
use crate::cache::CacheKey;
use crate::entra::Token;
use crate::settings::{Environment, Settings};

/// How a method ended without a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodError {
    /// The method could not apply; the chain moves on.
    Unavailable(String),
    /// The method tried and was refused; the chain stops.
    Failed(String),
}

/// Builds the unavailable error for inputs that are absent: each entry is a description
/// of the input and whether it is absent. `section` names the configuration section.
pub(crate) fn missing_inputs(inputs: &[(&str, bool)], section: &str) -> MethodError {
    let missing: Vec<&str> = inputs
        .iter()
        .filter(|(_, absent)| *absent)
        .map(|(what, _)| *what)
        .collect();
    MethodError::Unavailable(format!(
        "missing {}; set them as options or in {section} of msticpyconfig.yaml",
        missing.join(", ")
    ))
}

/// A method ready to run: its inputs are resolved and validated.
pub trait Plan {
    /// What the token depends on.
    fn cache_key(&self) -> CacheKey;

    /// Obtains a new token.
    fn acquire(&self) -> Result<Token, MethodError>;
}

/// A credential method of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Service principal or user from `AZURE_*` environment variables.
    Env,
    /// The Azure CLI's signed-in account.
    Cli,
    /// Managed identity.
    Msi,
    /// Device code sign-in.
    DeviceCode,
    /// Visual Studio Code's Azure sign-in.
    VsCode,
    /// Azure PowerShell's signed-in account.
    PowerShell,
    /// Client secret from the options or the configuration.
    ClientSecret,
    /// Client certificate.
    Certificate,
    /// Browser sign-in.
    Interactive,
    /// Workload identity federation: a token file from Kubernetes as a client assertion.
    WorkloadIdentity,
}

impl Method {
    /// Every method, in the order `azauth methods` lists them.
    pub const ALL: [Method; 10] = [
        Method::Env,
        Method::Cli,
        Method::Msi,
        Method::DeviceCode,
        Method::VsCode,
        Method::PowerShell,
        Method::ClientSecret,
        Method::Certificate,
        Method::Interactive,
        Method::WorkloadIdentity,
    ];

    /// Canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Env => "env",
            Method::Cli => "cli",
            Method::Msi => "msi",
            Method::DeviceCode => "devicecode",
            Method::VsCode => "vscode",
            Method::PowerShell => "powershell",
            Method::ClientSecret => "clientsecret",
            Method::Certificate => "certificate",
            Method::Interactive => "interactive",
            Method::WorkloadIdentity => "workloadidentity",
        }
    }

    /// Other accepted names, MSTICPy's included.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Method::Env => &["environment"],
            Method::Msi => &["managedidentity", "managed_identity"],
            Method::DeviceCode => &["device_code", "device"],
            Method::ClientSecret => &["client_secret"],
            Method::Certificate => &["cert"],
            Method::Interactive => &["interactive_browser"],
            Method::WorkloadIdentity => &["workload"],
            Method::Cli | Method::VsCode | Method::PowerShell => &[],
        }
    }

    /// Parses a name or alias, ignoring case.
    pub fn parse(name: &str) -> Option<Method> {
        let name = name.trim().to_ascii_lowercase();
        Method::ALL
            .into_iter()
            .find(|method| method.name() == name || method.aliases().contains(&name.as_str()))
    }

    /// `env (environment), cli, ...`, for messages.
    pub fn valid_names() -> String {
        Method::ALL
            .iter()
            .map(|method| match method.aliases() {
                [] => method.name().to_string(),
                aliases => format!("{} ({})", method.name(), aliases.join(", ")),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What the method needs in order to apply.
    pub fn needs(self) -> &'static str {
        match self {
            Method::Env => {
                "AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET; or AZURE_CLIENT_ID, \
                 AZURE_TENANT_ID and AZURE_CLIENT_CERTIFICATE_PATH; or AZURE_CLIENT_ID, \
                 AZURE_USERNAME and AZURE_PASSWORD (AZURE_TENANT_ID optional). \
                 AZURE_AUTHORITY_HOST sets the authority"
            }
            Method::Cli => "the Azure CLI (az) on PATH, signed in with `az login`",
            Method::Msi => {
                "a managed identity endpoint: IMDS on an Azure VM (AZURE_POD_IDENTITY_AUTHORITY_HOST \
                 overrides its address), or IDENTITY_ENDPOINT with IDENTITY_HEADER (App Service; \
                 Service Fabric with IDENTITY_SERVER_THUMBPRINT) or IMDS_ENDPOINT (Azure Arc), or \
                 MSI_ENDPOINT (Cloud Shell; Azure ML with MSI_SECRET). A user-assigned identity \
                 is chosen by AZURE_CLIENT_ID or --client-id, --identity-object-id or \
                 --identity-resource-id"
            }
            Method::DeviceCode => "a person who can open a URL and enter a code",
            Method::VsCode => {
                "a VS Code Azure sign-in: the Azure Account extension's refresh token in the \
                 system keyring (read with secret-tool), or the Azure Resources extension's \
                 authRecord.json with a matching azauth sign-in for VS Code's client"
            }
            Method::PowerShell => "PowerShell (pwsh) with Az.Accounts, signed in with Connect-AzAccount",
            Method::ClientSecret => {
                "client ID, tenant ID and client secret from --client-id, --tenant-id and \
                 --client-secret, or from clientId, tenantId and clientSecret in \
                 DataProviders.AzureCLI.Args of msticpyconfig.yaml"
            }
            Method::Certificate => {
                "client ID, tenant ID and a PEM or PFX certificate file from --client-id, \
                 --tenant-id and --client-certificate (password: --client-certificate-password), \
                 or from clientId, tenantId, certificatePath and certificatePassword in \
                 DataProviders.AzureCLI.Args of msticpyconfig.yaml"
            }
            Method::Interactive => "a browser on this machine",
            Method::WorkloadIdentity => {
                "AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID, as Azure \
                 Kubernetes Service workload identity sets them. AZURE_AUTHORITY_HOST sets \
                 the authority"
            }
        }
    }

    /// Tells whether this build implements the method.
    pub fn implemented(self) -> bool {
        matches!(
            self,
            Method::Env
                | Method::ClientSecret
                | Method::Certificate
                | Method::DeviceCode
                | Method::Interactive
                | Method::VsCode
                | Method::Msi
                | Method::Cli
                | Method::PowerShell
                | Method::WorkloadIdentity
        )
    }

    /// Describes the method for `list-methods`.
    pub fn info(self) -> MethodInfo {
        MethodInfo {
            name: self.name().to_string(),
            aliases: self.aliases().iter().map(|alias| alias.to_string()).collect(),
            needs: self.needs().to_string(),
            implemented: self.implemented(),
        }
    }

    /// Resolves the method's inputs into a plan, or returns why it cannot apply.
    pub fn plan(self, settings: &Settings, env: &Environment) -> Result<Box<dyn Plan>, MethodError> {
        match self {
            Method::Env => env::plan(settings, env),
            Method::ClientSecret => client_secret::plan(settings, env),
            Method::Certificate => certificate::plan(settings, env),
            Method::DeviceCode => device_code::plan(settings),
            Method::Interactive => interactive::plan(settings),
            Method::VsCode => vscode::plan(settings),
            Method::Msi => msi::plan(settings, env),
            Method::Cli => cli::plan(settings, env),
            Method::PowerShell => powershell::plan(settings, env),
            Method::WorkloadIdentity => workload_identity::plan(settings, env),
            // TODO: these methods are recognized so that configurations naming them load;
            // until they are implemented the chain skips them as unavailable.
            other => Err(MethodError::Unavailable(format!(
                "the {} method is not implemented in this build of azauth",
                other.name()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_alias_parses() {
        let table = [
            ("env", Method::Env),
            ("environment", Method::Env),
            ("cli", Method::Cli),
            ("msi", Method::Msi),
            ("managedidentity", Method::Msi),
            ("managed_identity", Method::Msi),
            ("vscode", Method::VsCode),
            ("powershell", Method::PowerShell),
            ("interactive", Method::Interactive),
            ("interactive_browser", Method::Interactive),
            ("devicecode", Method::DeviceCode),
            ("device_code", Method::DeviceCode),
            ("device", Method::DeviceCode),
            ("clientsecret", Method::ClientSecret),
            ("client_secret", Method::ClientSecret),
            ("certificate", Method::Certificate),
            ("cert", Method::Certificate),
            ("CLI", Method::Cli),
            ("workloadidentity", Method::WorkloadIdentity),
            ("workload", Method::WorkloadIdentity),
        ];
        for (name, method) in table {
            assert_eq!(Method::parse(name), Some(method), "{name}");
        }
        assert_eq!(Method::parse("kerberos"), None);
        assert_eq!(Method::parse(""), None);
    }
}
