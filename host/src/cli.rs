//! Command-line arguments, and turning them into a policy and options.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use azauth::{Authority, AuthError, Cloud, ConfigSource, Policy, Runtime, TokenOptions};
use clap::{Parser, Subcommand, ValueEnum};

use crate::output;

/// Gets Azure (Microsoft Entra ID) access tokens through MSTICPy's credential chain,
/// run in a WebAssembly sandbox.
#[derive(Parser, Debug)]
#[command(name = "azauth", version)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

impl Args {
    /// Number of `-v` flags given to the subcommand.
    pub fn verbose(&self) -> u8 {
        match &self.command {
            Command::GetToken(args) => args.verbose,
            Command::Methods { verbose } => *verbose,
            Command::Logout(args) => args.verbose,
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Gets an access token and prints it as JSON, like `az account get-access-token`.
    GetToken(GetTokenArgs),
    /// Lists the credential methods, their aliases and what each needs.
    Methods {
        /// More log output on stderr; repeat for more detail. RUST_LOG overrides it.
        #[arg(short, long, action = clap::ArgAction::Count)]
        verbose: u8,
    },
    /// Removes signed-in accounts and their tokens from the persistent token cache.
    Logout(LogoutArgs),
}

#[derive(clap::Args, Debug)]
struct LogoutArgs {
    /// Remove only this account (user name, such as user@contoso.com); default: all.
    #[arg(long)]
    username: Option<String>,
    /// Where the token cache is kept.
    #[arg(long, value_enum, default_value_t = TokenCacheKind::Auto)]
    token_cache: TokenCacheKind,
    /// More log output on stderr; repeat for more detail. RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["scope", "resource"]))]
struct GetTokenArgs {
    /// Scope to request, such as https://management.azure.com/.default.
    #[arg(long)]
    scope: Option<String>,
    /// Resource URL, such as https://management.azure.com; the scope is <URL>/.default.
    #[arg(long)]
    resource: Option<String>,
    /// Methods to try in order, comma-separated (see `azauth methods`). Default: the
    /// Azure.auth_methods of msticpyconfig.yaml, else msi,cli,devicecode.
    #[arg(long, value_delimiter = ',')]
    methods: Vec<String>,
    /// Tenant ID or domain.
    #[arg(long)]
    tenant_id: Option<String>,
    /// Application (client) ID, or a user-assigned managed identity's client ID.
    #[arg(long)]
    client_id: Option<String>,
    /// Client secret for the clientsecret method; `-` reads it from stdin. Other users
    /// of this machine can see command lines, so prefer `-` or the configuration.
    #[arg(long)]
    client_secret: Option<String>,
    /// PEM or PFX (PKCS#12) certificate file for the certificate method. The component
    /// can read this one file and nothing else of its directory.
    #[arg(long, value_name = "PATH")]
    client_certificate: Option<PathBuf>,
    /// Password of the certificate file; `-` reads it from stdin. Other users of this
    /// machine can see command lines, so prefer `-` or the configuration.
    #[arg(long, value_name = "PASSWORD")]
    client_certificate_password: Option<String>,
    /// Send the certificate chain (x5c) with the certificate method's assertion, for
    /// subject name and issuer authentication.
    #[arg(long)]
    send_certificate_chain: bool,
    /// Cloud: global (public), usgov (gov) or cn (china).
    #[arg(long)]
    cloud: Option<String>,
    /// Authority host URL that replaces the cloud's, such as https://login.example;
    /// plain http only for loopback.
    #[arg(long)]
    authority_host: Option<String>,
    /// msticpyconfig.yaml to read. Default: $MSTICPYCONFIG, ./msticpyconfig.yaml,
    /// ~/.msticpy/msticpyconfig.yaml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Cap on each HTTP timeout (connect, first byte, between bytes), in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = azauth::MAX_HTTP_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=600))]
    http_timeout: u64,
    /// User name to suggest on the browser sign-in page (interactive).
    #[arg(long)]
    login_hint: Option<String>,
    /// Maximum wait for a person to sign in (devicecode, interactive), in seconds.
    /// Default: until the device code expires; 300 for interactive.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=3600))]
    sign_in_timeout: Option<u32>,
    /// Neither read nor write the persistent token cache for this run.
    #[arg(long)]
    no_cache: bool,
    /// Where the persistent token cache is kept.
    #[arg(long, value_enum, default_value_t = TokenCacheKind::Auto)]
    token_cache: TokenCacheKind,
    /// Milliseconds that the first request to IMDS may take before msi counts as
    /// unavailable, when other methods follow msi. Default 1000.
    #[arg(long, value_name = "MS")]
    imds_probe_timeout_ms: Option<u32>,
    /// Milliseconds that az or pwsh may run before it is stopped and the method counts
    /// as unavailable. Default 10000.
    #[arg(long, value_name = "MS")]
    process_timeout_ms: Option<u32>,
    /// Object (principal) ID of a user-assigned managed identity, for msi.
    #[arg(long)]
    identity_object_id: Option<String>,
    /// Azure resource ID of a user-assigned managed identity, for msi.
    #[arg(long)]
    identity_resource_id: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    output: OutputFormat,
    /// More log output on stderr; repeat for more detail. RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// Where the persistent token cache is kept.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum TokenCacheKind {
    /// The system keyring when a Secret Service responds on the session bus, else a file.
    Auto,
    /// A file, mode 0600, under $XDG_CACHE_HOME/azauth (default ~/.cache/azauth).
    File,
    /// The system keyring (Secret Service, through secret-tool); an error when absent.
    Keyring,
}

/// Grants the persistent token cache of the chosen kind; none when the cache folder is
/// unknown.
async fn grant_token_cache(policy: &mut Policy, kind: TokenCacheKind) -> anyhow::Result<()> {
    let Some(dir) = azauth::default_token_cache_dir() else {
        tracing::debug!("no HOME or XDG_CACHE_HOME, so no persistent token cache");
        return Ok(());
    };
    let in_keyring = match kind {
        TokenCacheKind::File => false,
        TokenCacheKind::Auto => azauth::KeyringTokenStore::available().await,
        TokenCacheKind::Keyring => {
            if !azauth::KeyringTokenStore::available().await {
                bail!(
                    "--token-cache keyring: no Secret Service answers on the session bus; \
                     install secret-tool (libsecret) and run in a desktop session, or use \
                     --token-cache file"
                );
            }
            true
        }
    };
    tracing::debug!(dir = %dir.display(), in_keyring, "persistent token cache");
    policy.allow_token_cache(dir);
    policy.token_cache_in_keyring = in_keyring;
    Ok(())
}

/// Output format of `get-token`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutputFormat {
    /// One JSON object, shaped like `az account get-access-token --output json`.
    Json,
    /// The access token alone.
    Token,
}

/// Runs a command and returns the process exit code.
pub async fn run(args: Args) -> ExitCode {
    let result = match args.command {
        Command::GetToken(args) => get_token(args).await,
        Command::Methods { .. } => list_methods().await,
        Command::Logout(args) => logout(args).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("azauth: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn list_methods() -> anyhow::Result<ExitCode> {
    let runtime = Runtime::new()?;
    let mut session = runtime.session(&Policy::new()).await?;
    let methods = session.list_methods().await?;
    print!("{}", output::methods_table(&methods));
    Ok(ExitCode::SUCCESS)
}

async fn logout(args: LogoutArgs) -> anyhow::Result<ExitCode> {
    if azauth::default_token_cache_dir().is_none() {
        bail!("the token cache folder is unknown: set HOME or XDG_CACHE_HOME");
    }
    let mut policy = Policy::new();
    grant_token_cache(&mut policy, args.token_cache).await?;
    let runtime = Runtime::new()?;
    let mut session = runtime.session(&policy).await?;
    let removed = match session.sign_out(args.username.as_deref()).await? {
        Ok(removed) => removed,
        Err(message) => bail!("removing accounts from the token cache failed: {message}"),
    };
    match (removed.is_empty(), &args.username) {
        (true, Some(username)) => eprintln!("azauth: no cached sign-in of {username} was found"),
        (true, None) => eprintln!("azauth: the token cache contains no sign-ins"),
        (false, _) => {
            for username in &removed {
                eprintln!("azauth: signed out {username}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn get_token(args: GetTokenArgs) -> anyhow::Result<ExitCode> {
    let scope = match (&args.scope, &args.resource) {
        (Some(scope), _) => scope.clone(),
        (None, Some(resource)) => format!("{}/.default", resource.trim().trim_end_matches('/')),
        (None, None) => bail!("give --scope or --resource"),
    };
    let config = match azauth::find_config(args.config.as_deref())? {
        Some(path) => {
            tracing::debug!(path = %path.display(), "reading configuration");
            let text = azauth::read_config(&path)?;
            Some(ConfigSource {
                path: path.display().to_string(),
                text,
            })
        }
        None => None,
    };
    if args.client_secret.as_deref() == Some("-")
        && args.client_certificate_password.as_deref() == Some("-")
    {
        bail!("only one of --client-secret and --client-certificate-password can read stdin");
    }
    let client_secret = match args.client_secret.as_deref() {
        Some("-") => Some(read_secret_from_stdin("the client secret")?),
        other => other.map(str::to_string),
    };
    // An empty password is kept: a PFX can be protected by the empty string.
    let certificate_password = match args.client_certificate_password.as_deref() {
        Some("-") => Some(read_secret_from_stdin("the certificate password")?),
        other => other.map(str::to_string),
    };
    let options = TokenOptions {
        tenant_id: args.tenant_id.clone(),
        client_id: args.client_id.clone(),
        client_secret,
        certificate_path: args
            .client_certificate
            .as_ref()
            .map(|path| path.display().to_string()),
        certificate_password,
        cloud: args.cloud.clone(),
        authority_host: args.authority_host.clone(),
        config,
        send_certificate_chain: args.send_certificate_chain.then_some(true),
        login_hint: args.login_hint.clone(),
        sign_in_timeout_secs: args.sign_in_timeout,
        imds_probe_timeout_ms: args.imds_probe_timeout_ms,
        process_timeout_ms: args.process_timeout_ms,
        identity_object_id: args.identity_object_id.clone(),
        identity_resource_id: args.identity_resource_id.clone(),
    };
    let mut policy = policy_for(&options);
    policy.http_timeout = std::time::Duration::from_secs(args.http_timeout);
    // A person may be at the command line; in CI the device code still goes to stderr.
    policy.allow_sign_in();
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from).filter(|h| h.is_absolute()) {
        policy.allow_vscode(&home);
    }
    if args.no_cache {
        tracing::debug!("--no-cache: the persistent token cache is off");
    } else {
        grant_token_cache(&mut policy, args.token_cache).await?;
    }

    let runtime = Runtime::new()?;
    let user: std::sync::Arc<dyn azauth::UserInterface> =
        std::sync::Arc::new(azauth::TerminalUser::default());
    let mut session = runtime.session_with_user(&policy, user).await?;
    let started = std::time::Instant::now();
    let result = session.get_token(&args.methods, &scope, &options).await?;
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "chain finished");

    match result {
        Ok(token) => {
            for attempt in &token.attempts {
                tracing::info!(method = %attempt.method, outcome = ?attempt.outcome, elapsed_ms = attempt.elapsed_ms, "method tried");
            }
            let text = match args.output {
                OutputFormat::Json => output::token_json(&token),
                OutputFormat::Token => token.token.clone(),
            };
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(AuthError::InvalidRequest(message)) => {
            eprintln!("azauth: {message}");
            Ok(ExitCode::from(2))
        }
        Err(AuthError::NoToken(attempts)) => {
            for attempt in &attempts {
                tracing::info!(method = %attempt.method, outcome = ?attempt.outcome, elapsed_ms = attempt.elapsed_ms, "method tried");
            }
            eprint!("{}", output::no_token_report(&scope, &attempts));
            Ok(ExitCode::from(1))
        }
    }
}

/// Builds the policy for one call. It grants the method variables, the variables that
/// the configuration refers to, and the default programs. It grants the configured
/// cloud's authority, an explicit authority host or `AZURE_AUTHORITY_HOST`. It grants the
/// certificate file named by `--client-certificate`, `AZURE_CLIENT_CERTIFICATE_PATH` or
/// the configuration, and the managed identity endpoints and files (see
/// [`allow_managed_identity`]).
fn policy_for(options: &TokenOptions) -> Policy {
    let mut policy = Policy::new();
    policy.allow_method_variables().allow_default_programs();
    let hints = options
        .config
        .as_ref()
        .map(|config| azauth::policy_hints(&config.text))
        .unwrap_or_default();
    for name in &hints.env_refs {
        policy.allow_env(name);
    }
    let cloud_name = options.cloud.as_deref().or(hints.cloud.as_deref());
    // An unknown cloud name grants nothing; the component rejects it with the valid names.
    if let Ok(cloud) = Cloud::parse(cloud_name.unwrap_or("global")) {
        policy.allow_cloud(cloud);
    }
    let explicit = options.authority_host.clone();
    let from_env = std::env::var("AZURE_AUTHORITY_HOST").ok();
    for host in explicit.iter().chain(from_env.iter()) {
        if let Ok(authority) = Authority::parse(host) {
            policy.allow_authority(&authority);
        }
    }
    let from_env = std::env::var("AZURE_CLIENT_CERTIFICATE_PATH").ok();
    let certificates = [options.certificate_path.clone(), from_env, hints.certificate_path.clone()];
    for path in certificates.into_iter().flatten() {
        if !path.trim().is_empty() {
            policy.allow_file(path);
        }
    }
    allow_managed_identity(&mut policy, |name| std::env::var(name).ok());
    tracing::debug!(?policy, "capability policy");
    policy
}

/// Folder of the Azure Arc agent's key files on Linux, as the component sees it.
const ARC_TOKENS_DIR: &str = "/var/opt/azcmagent/tokens";

/// Host-only setting that maps another folder onto [`ARC_TOKENS_DIR`], for tests. The
/// component never sees this variable.
const ARC_TOKENS_DIR_VARIABLE: &str = "AZAUTH_ARC_TOKENS_DIR";

/// The IMDS address on every Azure VM.
const IMDS_HOST: &str = "169.254.169.254";

/// Grants what managed identity and workload identity need, from the environment:
///
/// - plain http to IMDS, or to the host of `AZURE_POD_IDENTITY_AUTHORITY_HOST` when set;
/// - the hosts of `IDENTITY_ENDPOINT`, `MSI_ENDPOINT` and `IMDS_ENDPOINT` (plain http or
///   https, as each URL names);
/// - for Service Fabric (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER` and
///   `IDENTITY_SERVER_THUMBPRINT` set), https to the host and port of `IDENTITY_ENDPOINT`
///   pinned to the thumbprint in place of the plain grant, and nothing when the endpoint
///   is not https or the thumbprint is invalid;
/// - for Azure Arc (`IDENTITY_ENDPOINT` and `IMDS_ENDPOINT` set), reading
///   `/var/opt/azcmagent/tokens`, or the folder `AZAUTH_ARC_TOKENS_DIR` names, seen by the
///   component at that path;
/// - reading the folder of `AZURE_FEDERATED_TOKEN_FILE` when it is an absolute path.
///
/// Folders are granted read-only. The component checks the Arc key file's name and size
/// itself; the host grants the folder, not the single file.
fn allow_managed_identity(policy: &mut Policy, env: impl Fn(&str) -> Option<String>) {
    let set = |name: &str| env(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    match set("AZURE_POD_IDENTITY_AUTHORITY_HOST") {
        Some(host) => {
            policy.allow_url_host(&host);
        }
        None => {
            policy.allow_http_host(IMDS_HOST, None);
        }
    }
    let service_fabric = match (
        set("IDENTITY_ENDPOINT"),
        set("IDENTITY_HEADER"),
        set("IDENTITY_SERVER_THUMBPRINT"),
    ) {
        (Some(endpoint), Some(_), Some(thumbprint)) => {
            allow_service_fabric(policy, &endpoint, &thumbprint);
            true
        }
        _ => false,
    };
    for name in ["IDENTITY_ENDPOINT", "MSI_ENDPOINT", "IMDS_ENDPOINT"] {
        if service_fabric && name == "IDENTITY_ENDPOINT" {
            continue;
        }
        if let Some(url) = set(name) {
            policy.allow_url_host(&url);
        }
    }
    if set("IDENTITY_ENDPOINT").is_some() && set("IMDS_ENDPOINT").is_some() {
        let host_dir = set(ARC_TOKENS_DIR_VARIABLE)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(ARC_TOKENS_DIR));
        if host_dir.is_dir() {
            policy.allow_read_dir(host_dir, ARC_TOKENS_DIR);
        }
    }
    if let Some(file) = set("AZURE_FEDERATED_TOKEN_FILE") {
        let path = std::path::Path::new(&file);
        if let Some(parent) = path.parent().filter(|_| path.is_absolute())
            && let Some(guest) = parent.to_str()
            && parent.is_dir()
        {
            policy.allow_read_dir(parent, guest);
        }
    }
}

/// Grants Service Fabric's identity endpoint https pinned to the cluster certificate's
/// thumbprint. An endpoint that is not https, or an invalid thumbprint, grants nothing,
/// so the secret is never sent to an unpinned server. The component reports the cause.
fn allow_service_fabric(policy: &mut Policy, endpoint: &str, thumbprint: &str) {
    let Ok(uri) = endpoint.parse::<http::Uri>() else {
        tracing::warn!(endpoint, "IDENTITY_ENDPOINT is not a valid URL; Service Fabric is not granted");
        return;
    };
    let (Some("https"), Some(host)) = (uri.scheme_str(), uri.host()) else {
        tracing::warn!(endpoint, "IDENTITY_ENDPOINT is not an https URL; Service Fabric is not granted");
        return;
    };
    let host_port = format!("{host}:{}", uri.port_u16().unwrap_or(443));
    if let Err(error) = policy.allow_pinned_https(&host_port, thumbprint) {
        tracing::warn!("IDENTITY_SERVER_THUMBPRINT: {error}; Service Fabric is not granted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_with(pairs: &[(&str, &str)]) -> Policy {
        let mut policy = Policy::new();
        allow_managed_identity(&mut policy, |name| {
            pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
        });
        policy
    }

    fn allowed(policy: &Policy, url: &str) -> bool {
        policy.check_request(&url.parse().unwrap()).is_ok()
    }

    #[test]
    fn default_grants_only_imds() {
        let policy = policy_with(&[]);
        assert!(allowed(&policy, "http://169.254.169.254/metadata/identity/oauth2/token"));
        assert!(!allowed(&policy, "http://127.0.0.1:80/x"));
        assert!(!allowed(&policy, "http://169.254.169.254:81/x"));
        assert!(policy.read_dirs.is_empty());
    }

    #[test]
    fn override_replaces_imds_address() {
        let policy = policy_with(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9/")]);
        assert!(allowed(&policy, "http://127.0.0.1:9/metadata/identity/oauth2/token"));
        assert!(!allowed(&policy, "http://169.254.169.254/metadata/identity/oauth2/token"));
    }

    #[test]
    fn endpoint_variables_grant_their_hosts() {
        let policy = policy_with(&[
            ("IDENTITY_ENDPOINT", "http://10.0.0.5:8081/msi/token"),
            ("MSI_ENDPOINT", "http://localhost:50342/oauth2/token"),
            ("IMDS_ENDPOINT", "http://localhost:40342"),
        ]);
        assert!(allowed(&policy, "http://10.0.0.5:8081/msi/token"));
        assert!(allowed(&policy, "http://localhost:50342/x"));
        assert!(allowed(&policy, "http://localhost:40342/x"));
        assert!(!allowed(&policy, "http://10.0.0.6:8081/msi/token"));
    }

    #[test]
    fn service_fabric_endpoint_pinned_only() {
        let thumbprint = "0123456789abcdef0123456789abcdef01234567";
        let policy = policy_with(&[
            ("IDENTITY_ENDPOINT", "https://10.0.0.5:2377/metadata/identity/oauth2/token"),
            ("IDENTITY_HEADER", "fake-identity-header"),
            ("IDENTITY_SERVER_THUMBPRINT", thumbprint),
        ]);
        let endpoint = "https://10.0.0.5:2377/metadata/identity/oauth2/token".parse().unwrap();
        assert!(policy.pinned_thumbprint(&endpoint).is_some());
        assert!(policy.check_request(&endpoint).is_ok());
        // The plain https grant would trust public roots in place of the pin.
        assert!(policy.https_hosts.is_empty(), "{:?}", policy.https_hosts);
    }

    #[test]
    fn service_fabric_invalid_settings_grant_nothing() {
        for (endpoint, thumbprint) in [
            ("https://10.0.0.5:2377/token", "not-a-thumbprint"),
            ("http://10.0.0.5:2377/token", "0123456789abcdef0123456789abcdef01234567"),
        ] {
            let policy = policy_with(&[
                ("IDENTITY_ENDPOINT", endpoint),
                ("IDENTITY_HEADER", "fake-identity-header"),
                ("IDENTITY_SERVER_THUMBPRINT", thumbprint),
            ]);
            assert!(policy.pinned_https.is_empty(), "{endpoint}");
            assert!(policy.https_hosts.is_empty(), "{endpoint}");
            assert!(policy.http_hosts.iter().all(|host| host.starts_with("169.254.169.254")), "{endpoint}");
            assert!(!allowed(&policy, endpoint), "{endpoint}");
        }
    }

    #[test]
    fn arc_and_federated_folders_granted_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "x").unwrap();
        let dir_text = dir.path().to_str().unwrap();
        let policy = policy_with(&[
            ("IDENTITY_ENDPOINT", "http://localhost:40342/metadata/identity/oauth2/token"),
            ("IMDS_ENDPOINT", "http://localhost:40342"),
            ("AZAUTH_ARC_TOKENS_DIR", dir_text),
            ("AZURE_FEDERATED_TOKEN_FILE", token.to_str().unwrap()),
        ]);
        assert_eq!(
            policy.read_dirs,
            vec![
                (dir.path().to_path_buf(), ARC_TOKENS_DIR.to_string()),
                (dir.path().to_path_buf(), dir_text.to_string()),
            ]
        );
        // A relative token file grants nothing.
        let policy = policy_with(&[("AZURE_FEDERATED_TOKEN_FILE", "token")]);
        assert!(policy.read_dirs.is_empty());
    }
}

fn read_secret_from_stdin(what: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .with_context(|| format!("reading {what} from stdin"))?;
    let secret = text.trim_end_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        bail!("read an empty value for {what} from stdin");
    }
    Ok(secret)
}
