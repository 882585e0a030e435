//! Registrations (tenants, applications, users) and settings of an emulator.

use std::fmt;

use crate::ids::{is_guid, uuid_from_name};

/// Fake registrations that [`EmulatorConfig::default`] contains, for offline testing.
///
/// The secret and password are public demo values and protect nothing.
pub mod demo {
    /// Tenant ID of the demo tenant.
    pub const TENANT_ID: &str = "11111111-2222-3333-4444-555555555555";
    /// Domain name of the demo tenant.
    pub const DOMAIN: &str = "contoso.example";
    /// Client ID of the demo confidential application.
    pub const CLIENT_ID: &str = "99999999-8888-7777-6666-555555555555";
    /// Client secret of the demo confidential application.
    pub const CLIENT_SECRET: &str = "fake-secret";
    /// Client ID of the Azure CLI, a public client application.
    pub const AZURE_CLI_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
    /// Client ID of Visual Studio Code, a public client application.
    pub const VS_CODE_CLIENT_ID: &str = "aebc6443-996d-45c2-90f0-388ff96faa56";
    /// User name of the demo user, in the demo tenant.
    pub const USERNAME: &str = "fake.user@contoso.example";
    /// Password of the demo user.
    pub const PASSWORD: &str = "fake-password";
    /// Client ID of the demo system-assigned managed identity.
    pub const SYSTEM_IDENTITY_CLIENT_ID: &str = "33333333-4444-5555-6666-777777777777";
    /// Client ID of the demo user-assigned managed identity (the demo application's ID,
    /// as in the field cases this emulator serves).
    pub const USER_IDENTITY_CLIENT_ID: &str = "99999999-8888-7777-6666-555555555555";
    /// Object ID of the demo user-assigned managed identity.
    pub const USER_IDENTITY_OBJECT_ID: &str = "44444444-5555-6666-7777-888888888888";
    /// Resource ID of the demo user-assigned managed identity.
    pub const USER_IDENTITY_RESOURCE_ID: &str = "/subscriptions/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo-identity";
    /// Value of App Service's `IDENTITY_HEADER`.
    pub const IDENTITY_HEADER: &str = "fake-identity-header";
    /// Value of Azure ML's `MSI_SECRET`.
    pub const MSI_SECRET: &str = "fake-secret";
}

/// Default `expires_in` of access tokens in seconds: one hour less a second, a value
/// often seen in Entra ID responses.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3599;

/// Registrations and settings that an [`Emulator`](crate::Emulator) serves.
///
/// Applications are registered in every tenant, like multi-tenant applications. A user
/// belongs to the tenant that owns the domain of the user name, or to the first tenant if
/// no tenant owns it. Lookups of IDs, domains and user names ignore ASCII case.
///
/// The builder methods take and return the configuration by value:
///
/// ```
/// use azauth_emulator::EmulatorConfig;
///
/// let config = EmulatorConfig::empty()
///     .add_tenant("fabrikam.example")
///     .add_public_app("00000000-0000-0000-0000-000000000001")
///     .add_user("ada@fabrikam.example", "correct horse")
///     .token_lifetime_secs(60);
/// ```
#[derive(Clone)]
pub struct EmulatorConfig {
    pub(crate) tenants: Vec<Tenant>,
    pub(crate) apps: Vec<App>,
    pub(crate) users: Vec<User>,
    pub(crate) token_lifetime_secs: u64,
    pub(crate) log_requests: bool,
    pub(crate) device_code_interval_secs: u64,
    pub(crate) device_code_lifetime_secs: u64,
    pub(crate) managed_identity: ManagedIdentity,
    /// (client ID, assertion) pairs that the token endpoint accepts as client assertions.
    pub(crate) federated_assertions: Vec<(String, String)>,
}

/// The managed identities that the managed identity endpoints serve, and their secrets.
#[derive(Clone, Debug)]
pub(crate) struct ManagedIdentity {
    /// Client ID of the system-assigned identity, if the machine has one.
    pub(crate) system_assigned: Option<String>,
    pub(crate) user_assigned: Vec<UserAssignedIdentity>,
    /// Expected `X-IDENTITY-HEADER` of App Service.
    pub(crate) identity_header: String,
    /// Expected `secret` header of Azure ML.
    pub(crate) msi_secret: String,
    /// Realm of Azure Arc's challenge: the key file path.
    pub(crate) arc_realm: String,
    /// Content of the Arc key file; `None` rejects every Arc credential.
    pub(crate) arc_key: Option<String>,
}

/// A user-assigned managed identity.
#[derive(Clone, Debug)]
pub(crate) struct UserAssignedIdentity {
    pub(crate) client_id: String,
    pub(crate) object_id: String,
    pub(crate) resource_id: String,
}

/// Default `interval` of device authorization responses, in seconds, as Entra ID sends.
pub const DEFAULT_DEVICE_CODE_INTERVAL_SECS: u64 = 5;

/// Default `expires_in` of device codes, in seconds: Entra ID's 15 minutes.
pub const DEFAULT_DEVICE_CODE_LIFETIME_SECS: u64 = 900;

/// A directory: a tenant ID and the domain names that resolve to it.
#[derive(Clone, Debug)]
pub(crate) struct Tenant {
    pub(crate) id: String,
    pub(crate) domains: Vec<String>,
}

/// An application registration. A public client has no secret and no certificate.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) client_id: String,
    pub(crate) secret: Option<String>,
    pub(crate) certificates: Vec<RegisteredCertificate>,
}

impl App {
    /// Tells whether the application is a public client: one without credentials.
    pub(crate) fn is_public(&self) -> bool {
        self.secret.is_none() && self.certificates.is_empty()
    }
}

/// A certificate uploaded to an application registration: its public key and the two
/// thumbprints a client assertion can name it by.
#[derive(Clone)]
pub(crate) struct RegisteredCertificate {
    pub(crate) der: Vec<u8>,
    pub(crate) public_key: rsa::PublicKey,
    pub(crate) sha1: Vec<u8>,
    pub(crate) sha256: Vec<u8>,
}

impl RegisteredCertificate {
    fn parse(der: Vec<u8>) -> Result<RegisteredCertificate, String> {
        use rsa::pkcs8::DecodePublicKey;
        use sha2::Digest;
        use x509_cert::der::{Decode, Encode};

        let certificate = x509_cert::Certificate::from_der(&der)
            .map_err(|error| format!("not a DER X.509 certificate: {error}"))?;
        let spki = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|error| error.to_string())?;
        let public_key = rsa::PublicKey::from_public_key_der(&spki)
            .map_err(|error| format!("not an RSA certificate: {error}"))?;
        Ok(RegisteredCertificate {
            sha1: sha1::Sha1::digest(&der).to_vec(),
            sha256: sha2::Sha256::digest(&der).to_vec(),
            der,
            public_key,
        })
    }
}

/// A user account with a password, for the resource owner password credentials grant.
#[derive(Clone)]
pub(crate) struct User {
    pub(crate) username: String,
    pub(crate) password: String,
}

/// Tenant named by the first path segment of a request.
pub(crate) enum TenantSegment<'a> {
    /// A registered tenant, named by its ID or one of its domains.
    Known(&'a Tenant),
    /// `common` or `organizations`, which let the user name pick the tenant.
    MultiTenant,
    /// Anything else.
    Unknown,
}

impl EmulatorConfig {
    /// Creates a configuration without registrations, with a token lifetime of
    /// [`DEFAULT_TOKEN_LIFETIME_SECS`] and request logging off.
    pub fn empty() -> EmulatorConfig {
        EmulatorConfig {
            tenants: Vec::new(),
            apps: Vec::new(),
            users: Vec::new(),
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            log_requests: false,
            device_code_interval_secs: DEFAULT_DEVICE_CODE_INTERVAL_SECS,
            device_code_lifetime_secs: DEFAULT_DEVICE_CODE_LIFETIME_SECS,
            managed_identity: ManagedIdentity {
                system_assigned: None,
                user_assigned: Vec::new(),
                identity_header: demo::IDENTITY_HEADER.to_owned(),
                msi_secret: demo::MSI_SECRET.to_owned(),
                arc_realm: "/var/opt/azcmagent/tokens/emulator.key".to_owned(),
                arc_key: None,
            },
            federated_assertions: Vec::new(),
        }
    }

    /// Gives the machine a system-assigned managed identity with this client ID, or
    /// none with `None`.
    #[must_use]
    pub fn system_assigned_identity(mut self, client_id: Option<&str>) -> EmulatorConfig {
        self.managed_identity.system_assigned = client_id.map(str::to_owned);
        self
    }

    /// Assigns a user-assigned managed identity to the machine.
    #[must_use]
    pub fn add_user_assigned_identity(
        mut self,
        client_id: impl Into<String>,
        object_id: impl Into<String>,
        resource_id: impl Into<String>,
    ) -> EmulatorConfig {
        self.managed_identity.user_assigned.push(UserAssignedIdentity {
            client_id: client_id.into(),
            object_id: object_id.into(),
            resource_id: resource_id.into(),
        });
        self
    }

    /// Sets the Azure Arc challenge: the key file path sent as the realm, and the file's
    /// content that the second request must send after `Basic `.
    #[must_use]
    pub fn arc_key(mut self, realm: impl Into<String>, key: impl Into<String>) -> EmulatorConfig {
        self.managed_identity.arc_realm = realm.into();
        self.managed_identity.arc_key = Some(key.into());
        self
    }

    /// Lets the token endpoint accept `assertion` as the client assertion of `client_id`,
    /// as a federated identity credential of an app registration does.
    #[must_use]
    pub fn add_federated_assertion(
        mut self,
        client_id: impl Into<String>,
        assertion: impl Into<String>,
    ) -> EmulatorConfig {
        self.federated_assertions.push((client_id.into(), assertion.into()));
        self
    }

    /// Registers a tenant, named by its ID (a GUID) or by a domain name.
    ///
    /// For a domain name, the tenant ID is derived from the name, so it is the same in
    /// every run. Registering a known tenant ID or domain again changes nothing.
    #[must_use]
    pub fn add_tenant(mut self, id_or_domain: impl Into<String>) -> EmulatorConfig {
        let id_or_domain = id_or_domain.into();
        if self.find_tenant(&id_or_domain).is_some() {
            return self;
        }

        let tenant = if is_guid(&id_or_domain) {
            Tenant {
                id: id_or_domain.to_ascii_lowercase(),
                domains: Vec::new(),
            }
        } else {
            let domain = id_or_domain.to_ascii_lowercase();
            Tenant {
                id: uuid_from_name(&format!("tenant {domain}")),
                domains: vec![domain],
            }
        };
        self.tenants.push(tenant);
        self
    }

    /// Adds a domain name to the tenant with ID `tenant_id`, registering that tenant first
    /// if needed.
    #[must_use]
    pub fn add_domain(
        mut self,
        tenant_id: impl Into<String>,
        domain: impl Into<String>,
    ) -> EmulatorConfig {
        let tenant_id = tenant_id.into().to_ascii_lowercase();
        let domain = domain.into().to_ascii_lowercase();

        let index = match self
            .tenants
            .iter()
            .position(|tenant| tenant.id == tenant_id)
        {
            Some(index) => index,
            None => {
                self.tenants.push(Tenant {
                    id: tenant_id,
                    domains: Vec::new(),
                });
                self.tenants.len() - 1
            }
        };
        let tenant = &mut self.tenants[index];
        if !tenant.domains.contains(&domain) {
            tenant.domains.push(domain);
        }
        self
    }

    /// Registers a confidential client application that authenticates with `secret`,
    /// replacing any application with the same client ID.
    #[must_use]
    pub fn add_confidential_app(
        self,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> EmulatorConfig {
        self.add_app(App {
            client_id: client_id.into(),
            secret: Some(secret.into()),
            certificates: Vec::new(),
        })
    }

    /// Registers a public client application, which sends no secret, replacing any
    /// application with the same client ID.
    #[must_use]
    pub fn add_public_app(self, client_id: impl Into<String>) -> EmulatorConfig {
        self.add_app(App {
            client_id: client_id.into(),
            secret: None,
            certificates: Vec::new(),
        })
    }

    /// Uploads an RSA certificate (DER) to an application, so that the application can
    /// authenticate with client assertions signed by its key. Registers a confidential
    /// application without a secret when none has this client ID; an existing
    /// application keeps its secret and its other certificates.
    ///
    /// # Panics
    ///
    /// Panics when `certificate_der` is not a DER X.509 certificate with an RSA key,
    /// the only kind Entra ID accepts for client assertions.
    #[must_use]
    pub fn add_certificate_app(
        mut self,
        client_id: impl Into<String>,
        certificate_der: impl Into<Vec<u8>>,
    ) -> EmulatorConfig {
        let client_id = client_id.into();
        let certificate = RegisteredCertificate::parse(certificate_der.into())
            .unwrap_or_else(|error| panic!("invalid certificate for {client_id}: {error}"));
        match self
            .apps
            .iter_mut()
            .find(|app| app.client_id.eq_ignore_ascii_case(&client_id))
        {
            Some(app) => app.certificates.push(certificate),
            None => self.apps.push(App {
                client_id,
                secret: None,
                certificates: vec![certificate],
            }),
        }
        self
    }

    /// Registers a user for the password grant, replacing any user with the same name.
    #[must_use]
    pub fn add_user(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> EmulatorConfig {
        let user = User {
            username: username.into(),
            password: password.into(),
        };
        self.users
            .retain(|known| !known.username.eq_ignore_ascii_case(&user.username));
        self.users.push(user);
        self
    }

    /// Sets `expires_in` and `ext_expires_in` of issued access tokens, in seconds.
    #[must_use]
    pub fn token_lifetime_secs(mut self, secs: u64) -> EmulatorConfig {
        self.token_lifetime_secs = secs;
        self
    }

    /// Sets the `interval` of device authorization responses, in seconds. Tests use 1 to
    /// keep polling fast; Entra ID sends 5.
    #[must_use]
    pub fn device_code_interval_secs(mut self, secs: u64) -> EmulatorConfig {
        self.device_code_interval_secs = secs;
        self
    }

    /// Sets the lifetime (`expires_in`) of device codes, in seconds.
    #[must_use]
    pub fn device_code_lifetime_secs(mut self, secs: u64) -> EmulatorConfig {
        self.device_code_lifetime_secs = secs;
        self
    }

    /// Writes one line per request (method, path and status) to stderr when `enabled`.
    ///
    /// The line never contains headers, query strings or bodies, so no secret, password
    /// or token reaches the log.
    #[must_use]
    pub fn log_requests(mut self, enabled: bool) -> EmulatorConfig {
        self.log_requests = enabled;
        self
    }

    fn add_app(mut self, app: App) -> EmulatorConfig {
        self.apps
            .retain(|known| !known.client_id.eq_ignore_ascii_case(&app.client_id));
        self.apps.push(app);
        self
    }

    /// Returns the user that signs in at the device code page or the authorize endpoint:
    /// the user named by `hint` if registered, else the first user.
    pub(crate) fn interactive_user(&self, hint: Option<&str>) -> Option<&User> {
        hint.and_then(|hint| self.find_user(hint))
            .or_else(|| self.users.first())
    }

    /// Finds a registered tenant by ID or domain name.
    pub(crate) fn find_tenant(&self, id_or_domain: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|tenant| {
            tenant.id.eq_ignore_ascii_case(id_or_domain)
                || tenant
                    .domains
                    .iter()
                    .any(|domain| domain.eq_ignore_ascii_case(id_or_domain))
        })
    }

    /// Classifies the tenant segment of a request path.
    ///
    /// NOTE: `consumers` (personal Microsoft accounts) counts as unknown, because the
    /// emulator has no personal accounts.
    pub(crate) fn resolve_tenant_segment(&self, segment: &str) -> TenantSegment<'_> {
        if segment.eq_ignore_ascii_case("common") || segment.eq_ignore_ascii_case("organizations") {
            return TenantSegment::MultiTenant;
        }
        match self.find_tenant(segment) {
            Some(tenant) => TenantSegment::Known(tenant),
            None => TenantSegment::Unknown,
        }
    }

    pub(crate) fn find_app(&self, client_id: &str) -> Option<&App> {
        self.apps
            .iter()
            .find(|app| app.client_id.eq_ignore_ascii_case(client_id))
    }

    pub(crate) fn find_user(&self, username: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|user| user.username.eq_ignore_ascii_case(username))
    }

    /// Returns the tenant that owns the domain of `username`, or else the first tenant.
    pub(crate) fn home_tenant(&self, username: &str) -> Option<&Tenant> {
        domain_of(username)
            .and_then(|domain| self.find_tenant_by_domain(domain))
            .or_else(|| self.tenants.first())
    }

    pub(crate) fn find_tenant_by_domain(&self, domain: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|tenant| {
            tenant
                .domains
                .iter()
                .any(|known| known.eq_ignore_ascii_case(domain))
        })
    }
}

impl Tenant {
    /// Returns the name that Entra ID error messages use for the directory: the first
    /// domain name, or the tenant ID if the tenant has none.
    pub(crate) fn display_name(&self) -> &str {
        self.domains.first().map_or(&self.id, String::as_str)
    }
}

/// Returns the part of a user name after the last `@`, if there is one.
pub(crate) fn domain_of(username: &str) -> Option<&str> {
    username
        .rsplit_once('@')
        .map(|(_, domain)| domain)
        .filter(|domain| !domain.is_empty())
}

impl Default for EmulatorConfig {
    /// Creates the demo configuration listed in [`demo`]: one tenant with one domain, one
    /// confidential application, the Azure CLI and VS Code public clients and one user.
    fn default() -> EmulatorConfig {
        EmulatorConfig::empty()
            .add_domain(demo::TENANT_ID, demo::DOMAIN)
            .add_confidential_app(demo::CLIENT_ID, demo::CLIENT_SECRET)
            .add_public_app(demo::AZURE_CLI_CLIENT_ID)
            .add_public_app(demo::VS_CODE_CLIENT_ID)
            .add_user(demo::USERNAME, demo::PASSWORD)
            .system_assigned_identity(Some(demo::SYSTEM_IDENTITY_CLIENT_ID))
            .add_user_assigned_identity(
                demo::USER_IDENTITY_CLIENT_ID,
                demo::USER_IDENTITY_OBJECT_ID,
                demo::USER_IDENTITY_RESOURCE_ID,
            )
    }
}

/// Lists tenants, client IDs and user names, but no secrets or passwords.
impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let apps: Vec<(&str, &str)> = self
            .apps
            .iter()
            .map(|app| {
                let kind = if app.is_public() {
                    "public"
                } else {
                    "confidential"
                };
                (app.client_id.as_str(), kind)
            })
            .collect();
        let usernames: Vec<&str> = self
            .users
            .iter()
            .map(|user| user.username.as_str())
            .collect();

        formatter
            .debug_struct("EmulatorConfig")
            .field("tenants", &self.tenants)
            .field("apps", &apps)
            .field("users", &usernames)
            .field("token_lifetime_secs", &self.token_lifetime_secs)
            .field("log_requests", &self.log_requests)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_contains_demo_registrations() {
        let config = EmulatorConfig::default();

        let tenant = config.find_tenant(demo::DOMAIN).expect("demo domain");
        assert_eq!(tenant.id, demo::TENANT_ID);
        assert_eq!(
            config
                .find_app(demo::CLIENT_ID)
                .and_then(|app| app.secret.as_deref()),
            Some(demo::CLIENT_SECRET)
        );
        assert!(
            config
                .find_app(demo::AZURE_CLI_CLIENT_ID)
                .unwrap()
                .secret
                .is_none()
        );
        assert!(
            config
                .find_app(demo::VS_CODE_CLIENT_ID)
                .unwrap()
                .secret
                .is_none()
        );
        assert_eq!(
            config.find_user(demo::USERNAME).unwrap().password,
            demo::PASSWORD
        );
        assert_eq!(config.token_lifetime_secs, 3599);
    }

    #[test]
    fn add_tenant_by_domain_derives_stable_id() {
        let first = EmulatorConfig::empty().add_tenant("Fabrikam.Example");
        let second = EmulatorConfig::empty().add_tenant("fabrikam.example");

        let tenant = first.find_tenant("fabrikam.example").expect("tenant");
        assert!(is_guid(&tenant.id));
        assert_eq!(tenant.id, second.tenants[0].id);
        assert_eq!(tenant.domains, vec!["fabrikam.example".to_owned()]);
    }

    #[test]
    fn add_tenant_twice_keeps_one() {
        let config = EmulatorConfig::default().add_tenant(demo::TENANT_ID.to_uppercase());
        assert_eq!(config.tenants.len(), 1);
    }

    #[test]
    fn resolve_tenant_segment_classifies() {
        let config = EmulatorConfig::default();
        assert!(matches!(
            config.resolve_tenant_segment("CONTOSO.example"),
            TenantSegment::Known(_)
        ));
        assert!(matches!(
            config.resolve_tenant_segment("organizations"),
            TenantSegment::MultiTenant
        ));
        assert!(matches!(
            config.resolve_tenant_segment("Common"),
            TenantSegment::MultiTenant
        ));
        assert!(matches!(
            config.resolve_tenant_segment("consumers"),
            TenantSegment::Unknown
        ));
    }

    #[test]
    fn home_tenant_falls_back_to_first() {
        let config = EmulatorConfig::default().add_tenant("fabrikam.example");
        assert_eq!(
            config.home_tenant("ada@FABRIKAM.example").unwrap().domains,
            vec!["fabrikam.example".to_owned()]
        );
        assert_eq!(
            config.home_tenant("ada@elsewhere.example").unwrap().id,
            demo::TENANT_ID
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let text = format!("{:?}", EmulatorConfig::default());
        assert!(text.contains(demo::CLIENT_ID), "{text}");
        assert!(!text.contains(demo::CLIENT_SECRET), "{text}");
        assert!(!text.contains(demo::PASSWORD), "{text}");
    }
}
