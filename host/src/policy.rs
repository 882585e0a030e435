//! The capability policy: what the component may see and reach.
//!
//! Everything not granted here is denied. The policy is decided before the component
//! is instantiated and does not change while it runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

#[path = "../../guest/src/cloud.rs"]
#[allow(dead_code, reason = "the component uses more of this file than the host")]
mod cloud;

pub use cloud::{Authority, Cloud, Scheme};

use crate::pinned_tls::{Sha1Thumbprint, parse_sha1_thumbprint};

/// Environment variables that the component's methods read.
pub const METHOD_VARIABLES: [&str; 18] = [
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "DEFAULT_IDENTITY_CLIENT_ID",
];

/// Programs that the component may run, by bare name: the Azure CLI, PowerShell 7 and
/// Windows PowerShell 5.1.
pub const DEFAULT_PROGRAMS: [&str; 3] = ["az", "pwsh", "powershell"];

/// Default cap on every HTTP timeout that the component requests: connect, first byte
/// and between bytes. A request without timeouts gets the cap.
pub const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// Cap on a program's run time, whatever the component requests.
pub const MAX_PROCESS_TIMEOUT: Duration = Duration::from_secs(300);

/// Cap on what a program may write to stdout and to stderr, each.
pub const MAX_PROCESS_OUTPUT: usize = 1024 * 1024;

/// Grants to the component: environment variables, hosts, programs and files.
///
/// [`Policy::new`] grants nothing: no hosts, no environment variables, no programs, no
/// files, no sign-in prompts, no persistent token cache, and caps HTTP timeouts at
/// [`MAX_HTTP_TIMEOUT`].
/// The `allow_…` methods add grants.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Environment variables copied into the component, by name.
    pub env: BTreeSet<String>,
    /// Hosts (with `:port` when not the default) that the component may reach over https.
    pub https_hosts: BTreeSet<String>,
    /// Whether plain http to loopback addresses is allowed.
    pub allow_loopback_http: bool,
    /// Programs the component may run, by bare name.
    pub programs: BTreeSet<String>,
    /// Cap on each HTTP timeout; [`MAX_HTTP_TIMEOUT`] unless set.
    pub http_timeout: Duration,
    /// Files the component may read, each granted alone, at the path as written.
    pub files: BTreeSet<PathBuf>,
    /// Whether the sign-in methods may reach a person: show a device code, open a
    /// browser and listen for its redirect on a loopback port.
    pub allow_sign_in: bool,
    /// Folder of the persistent token cache; `None` disables it.
    pub token_cache_dir: Option<PathBuf>,
    /// Whether the cache's data goes to the system keyring (Secret Service), with only
    /// lock files in [`token_cache_dir`](Self::token_cache_dir).
    pub token_cache_in_keyring: bool,
    /// `host:port` pairs that the component may reach over plain http, beyond loopback.
    pub http_hosts: BTreeSet<String>,
    /// Folders the component may read, each as (folder on the host, path the component
    /// sees). The component can neither write nor create files in them, and a folder that
    /// does not exist is skipped.
    pub read_dirs: Vec<(PathBuf, String)>,
    /// `host:port` pairs (the port always written) that the component may reach over
    /// https only with the pinned certificate: the server's leaf certificate must have
    /// the SHA-1 thumbprint given here, and public roots do not count.
    pub pinned_https: BTreeMap<String, Sha1Thumbprint>,
}

/// Folders of VS Code's Azure sign-in under the home folder, and where the `vscode`
/// method finds them inside the component: the Azure Resources extension's folder
/// (under `.azure`, and `.Azure` for case-sensitive file systems) and VS Code's user
/// settings.
pub const VSCODE_DIRS: [(&str, &str); 3] = [
    (".azure/ms-azuretools.vscode-azureresourcegroups", "/vscode/azure-resources"),
    (".Azure/ms-azuretools.vscode-azureresourcegroups", "/vscode/azure-resources-upper"),
    (
        if cfg!(target_os = "macos") {
            "Library/Application Support/Code/User"
        } else {
            ".config/Code/User"
        },
        "/vscode/user",
    ),
];

impl Policy {
    /// Creates a policy that grants nothing.
    pub fn new() -> Policy {
        Policy {
            env: BTreeSet::new(),
            https_hosts: BTreeSet::new(),
            allow_loopback_http: false,
            programs: BTreeSet::new(),
            http_timeout: MAX_HTTP_TIMEOUT,
            files: BTreeSet::new(),
            allow_sign_in: false,
            token_cache_dir: None,
            token_cache_in_keyring: false,
            http_hosts: BTreeSet::new(),
            read_dirs: Vec::new(),
            pinned_https: BTreeMap::new(),
        }
    }

    /// Grants read access to VS Code's Azure sign-in record and user settings under
    /// `home` (see [`VSCODE_DIRS`]), and the program `secret-tool`, which reads the
    /// system keyring, for the `vscode` method.
    pub fn allow_vscode(&mut self, home: &std::path::Path) -> &mut Policy {
        for (relative, inside) in VSCODE_DIRS {
            self.read_dirs.push((home.join(relative), inside.to_string()));
        }
        self.programs.insert("secret-tool".to_string());
        self
    }

    /// Grants the sign-in methods a person: device code prompts, the browser and a
    /// loopback redirect listener.
    pub fn allow_sign_in(&mut self) -> &mut Policy {
        self.allow_sign_in = true;
        self
    }

    /// Grants a persistent token cache in `dir`, which will contain refresh tokens.
    pub fn allow_token_cache(&mut self, dir: PathBuf) -> &mut Policy {
        self.token_cache_dir = Some(dir);
        self
    }

    /// Grants plain http to one host and port, such as a managed identity endpoint.
    /// The port defaults to 80. Names are compared without case.
    pub fn allow_http_host(&mut self, host: &str, port: Option<u16>) -> &mut Policy {
        self.http_hosts
            .insert(format!("{}:{}", host.to_ascii_lowercase(), port.unwrap_or(80)));
        self
    }

    /// Grants the host of a URL: plain http to its host and port, or https to its host.
    /// A value that is not an http or https URL grants nothing.
    pub fn allow_url_host(&mut self, url: &str) -> &mut Policy {
        let Ok(uri) = url.trim().parse::<http::Uri>() else {
            return self;
        };
        let Some(host) = uri.host() else {
            return self;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        match uri.scheme_str() {
            Some("http") => {
                self.allow_http_host(host, uri.port_u16());
            }
            Some("https") => {
                let key = match uri.port_u16() {
                    Some(443) | None => host.to_ascii_lowercase(),
                    Some(port) => format!("{}:{port}", host.to_ascii_lowercase()),
                };
                self.https_hosts.insert(key);
            }
            _ => {}
        }
        self
    }

    /// Grants https to one `host:port` whose server must present the certificate with a
    /// SHA-1 thumbprint, as Service Fabric's identity endpoint does with the cluster
    /// certificate. `thumbprint` is 40 hex digits in either case; spaces, tabs and colons
    /// are ignored. Requests to that host and port then trust no other certificate.
    ///
    /// Returns an error, and grants nothing, when `host_port` has no port or the
    /// thumbprint is invalid.
    pub fn allow_pinned_https(&mut self, host_port: &str, thumbprint: &str) -> Result<&mut Policy, String> {
        let authority: http::uri::Authority = host_port
            .parse()
            .map_err(|error| format!("{host_port:?} is not a host:port pair ({error})"))?;
        let port = authority
            .port_u16()
            .ok_or_else(|| format!("{host_port:?} has no port; write it as host:port"))?;
        let thumbprint = parse_sha1_thumbprint(thumbprint)?;
        self.pinned_https
            .insert(pinned_key(authority.host(), port), thumbprint);
        Ok(self)
    }

    /// Returns the pinned thumbprint for an https URI's host and port, if one is granted.
    pub fn pinned_thumbprint(&self, uri: &http::Uri) -> Option<Sha1Thumbprint> {
        if uri.scheme_str() != Some("https") {
            return None;
        }
        let key = pinned_key(uri.host()?, uri.port_u16().unwrap_or(443));
        self.pinned_https.get(&key).copied()
    }

    /// Grants read-only access to the folder `host_dir`, which the component sees at
    /// `guest_path`.
    pub fn allow_read_dir(&mut self, host_dir: impl Into<PathBuf>, guest_path: &str) -> &mut Policy {
        self.read_dirs.push((host_dir.into(), guest_path.to_string()));
        self
    }

    /// Grants https to a cloud's authority host.
    pub fn allow_cloud(&mut self, cloud: Cloud) -> &mut Policy {
        self.https_hosts.insert(cloud.authority_host().to_string());
        self
    }

    /// Grants an authority: https to its host and port, or, for a loopback host, plain http
    /// to loopback.
    pub fn allow_authority(&mut self, authority: &Authority) -> &mut Policy {
        match authority.scheme {
            Scheme::Https => {
                self.https_hosts.insert(authority.host_port());
            }
            Scheme::Http => self.allow_loopback_http = authority.is_loopback(),
        }
        self
    }

    /// Grants the environment variables that the methods read.
    pub fn allow_method_variables(&mut self) -> &mut Policy {
        self.env.extend(METHOD_VARIABLES.iter().map(|name| name.to_string()));
        self
    }

    /// Grants one more environment variable.
    pub fn allow_env(&mut self, name: &str) -> &mut Policy {
        self.env.insert(name.to_string());
        self
    }

    /// Grants the default programs, `az`, `pwsh` and `powershell`.
    pub fn allow_default_programs(&mut self) -> &mut Policy {
        self.programs.extend(DEFAULT_PROGRAMS.iter().map(|name| name.to_string()));
        self
    }

    /// Grants read access to one file, and to nothing else of its directory.
    pub fn allow_file(&mut self, path: impl Into<PathBuf>) -> &mut Policy {
        self.files.insert(path.into());
        self
    }

    /// Decides whether a request may go out. Returns the reason for a denial.
    pub fn check_request(&self, uri: &http::Uri) -> Result<(), String> {
        let host = uri.host().unwrap_or("").to_ascii_lowercase();
        let port = uri.port_u16();
        match uri.scheme_str() {
            Some("https") => {
                let key = match port {
                    Some(443) | None => host.clone(),
                    Some(port) => format!("{host}:{port}"),
                };
                if self.https_hosts.contains(&key) || self.pinned_thumbprint(uri).is_some() {
                    Ok(())
                } else {
                    Err(format!(
                        "https to {key} is not granted; granted hosts: {}",
                        self.https_hosts.iter().cloned().collect::<Vec<_>>().join(", ")
                    ))
                }
            }
            Some("http") => {
                let bare = host.trim_start_matches('[').trim_end_matches(']');
                let key = format!("{bare}:{}", port.unwrap_or(80));
                if self.http_hosts.contains(&key) {
                    Ok(())
                } else if cloud::is_loopback_host(&host) {
                    if self.allow_loopback_http {
                        Ok(())
                    } else {
                        Err(format!("plain http to {key} is not granted"))
                    }
                } else {
                    Err(format!(
                        "plain http to {key} is not granted: plain http goes to loopback only, \
                         and to the managed identity endpoints that the environment names"
                    ))
                }
            }
            other => Err(format!("the scheme {} is not granted", other.unwrap_or("(none)"))),
        }
    }
}

/// Builds the key of [`Policy::pinned_https`]: the host in lowercase without IPv6
/// brackets, and the port.
fn pinned_key(host: &str, port: u16) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    format!("{}:{port}", bare.to_ascii_lowercase())
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> http::Uri {
        text.parse().unwrap()
    }

    #[test]
    fn cloud_grants_its_authority_only() {
        let mut policy = Policy::new();
        assert!(policy.check_request(&uri("https://login.microsoftonline.com/x")).is_err());
        policy.allow_cloud(Cloud::Global);
        assert!(policy.check_request(&uri("https://login.microsoftonline.com/t/oauth2/v2.0/token")).is_ok());
        assert!(policy.check_request(&uri("https://login.microsoftonline.com:443/x")).is_ok());
        assert!(policy.check_request(&uri("https://login.microsoftonline.us/x")).is_err());
        assert!(policy.check_request(&uri("https://evil.example/x")).is_err());
        assert!(policy.check_request(&uri("http://127.0.0.1:8080/x")).is_err());
        assert!(policy.check_request(&uri("http://169.254.169.254/metadata")).is_err());
    }

    #[test]
    fn loopback_authority_grants_plain_http_to_loopback_only() {
        let mut policy = Policy::new();
        policy.allow_authority(&Authority::parse("http://127.0.0.1:8400").unwrap());
        assert!(policy.check_request(&uri("http://127.0.0.1:8400/t/oauth2/v2.0/token")).is_ok());
        assert!(policy.check_request(&uri("http://localhost:9/x")).is_ok());
        let error = policy.check_request(&uri("http://login.example/x")).unwrap_err();
        assert!(error.contains("loopback only"), "{error}");
    }

    #[test]
    fn custom_https_authority_keeps_port() {
        let mut policy = Policy::new();
        policy.allow_authority(&Authority::parse("https://login.example:8443").unwrap());
        assert!(policy.check_request(&uri("https://login.example:8443/x")).is_ok());
        assert!(policy.check_request(&uri("https://login.example/x")).is_err());
    }

    #[test]
    fn http_host_grant_is_exact() {
        let mut policy = Policy::new();
        policy.allow_http_host("169.254.169.254", None);
        assert!(policy.check_request(&uri("http://169.254.169.254/metadata/identity/oauth2/token")).is_ok());
        assert!(policy.check_request(&uri("http://169.254.169.254:8080/x")).is_err());
        assert!(policy.check_request(&uri("http://169.254.169.253/x")).is_err());
        assert!(policy.check_request(&uri("https://169.254.169.254/x")).is_err());
        // A granted loopback port does not open other loopback ports.
        policy.allow_url_host("http://127.0.0.1:40342/metadata/identity/oauth2/token");
        assert!(policy.check_request(&uri("http://127.0.0.1:40342/x")).is_ok());
        assert!(policy.check_request(&uri("http://127.0.0.1:40343/x")).is_err());
        assert!(policy.check_request(&uri("http://localhost:40342/x")).is_err());
    }

    #[test]
    fn pinned_https_grant_is_exact() {
        let mut policy = Policy::new();
        let thumbprint = "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67";
        policy.allow_pinned_https("SF.example:2377", thumbprint).unwrap();
        let pinned = policy.pinned_thumbprint(&uri("https://sf.example:2377/x"));
        assert_eq!(pinned.map(|bytes| bytes[0]), Some(0x01));
        assert!(policy.check_request(&uri("https://sf.example:2377/x")).is_ok());
        assert!(policy.check_request(&uri("https://sf.example/x")).is_err());
        assert!(policy.check_request(&uri("https://sf.example:2378/x")).is_err());
        assert!(policy.check_request(&uri("http://sf.example:2377/x")).is_err());
        assert!(policy.pinned_thumbprint(&uri("http://sf.example:2377/x")).is_none());
        assert!(policy.pinned_thumbprint(&uri("https://sf.example/x")).is_none());

        policy.allow_pinned_https("[::1]:443", thumbprint).unwrap();
        assert!(policy.pinned_thumbprint(&uri("https://[::1]/x")).is_some());
    }

    #[test]
    fn pinned_https_rejects_bad_input() {
        let mut policy = Policy::new();
        let valid = "0123456789ABCDEF0123456789ABCDEF01234567";
        let error = policy.allow_pinned_https("sf.example", valid).unwrap_err();
        assert!(error.contains("has no port"), "{error}");
        let error = policy.allow_pinned_https("sf.example:2377", "0123").unwrap_err();
        assert!(error.contains("expected 40 hex digits"), "{error}");
        assert!(policy.pinned_https.is_empty());
    }

    #[test]
    fn url_host_grant_follows_scheme() {
        let mut policy = Policy::new();
        policy.allow_url_host("https://sf.example:2377/metadata/identity/oauth2/token");
        policy.allow_url_host("not a url");
        policy.allow_url_host("ftp://x.example/");
        assert!(policy.check_request(&uri("https://sf.example:2377/x")).is_ok());
        assert!(policy.check_request(&uri("http://sf.example:2377/x")).is_err());
        assert_eq!(policy.http_hosts.len(), 0);
        assert_eq!(policy.https_hosts.len(), 1);
    }
}
