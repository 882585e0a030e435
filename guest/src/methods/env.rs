//! `env`: a service principal or user described by `AZURE_*` environment variables.
//!
//! The first complete variable set wins, in azure-identity's order:
//! 1. `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_CLIENT_SECRET`: client secret;
//! 2. `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_CLIENT_CERTIFICATE_PATH`: certificate;
//! 3. `AZURE_CLIENT_ID`, `AZURE_USERNAME`, `AZURE_PASSWORD` (`AZURE_TENANT_ID` optional,
//!    default `organizations`): username and password.
//!
//! A variable that is set but empty completes a set, as in azure-identity, and the
//! method then fails with a message that names it, so that a CI job whose secret did
//! not arrive stops instead of falling through to another sign-in.
//!
//! The authority is the explicit authority host when the caller gave one, else
//! `AZURE_AUTHORITY_HOST`, else the cloud's.

use super::certificate::{self, CertificatePlan};
use super::client_secret::ClientSecretPlan;
use super::sign_in::UserSignIn;
use super::{MethodError, Plan};
use crate::cache::CacheKey;
use crate::cloud::Authority;
use crate::entra::{self, Endpoint, Grant, Token};
use crate::secret::Secret;
use crate::settings::{Environment, Settings};
use crate::transport::HttpClient;
use crate::validate;

const CLIENT_ID: &str = "AZURE_CLIENT_ID";
const TENANT_ID: &str = "AZURE_TENANT_ID";
const CLIENT_SECRET: &str = "AZURE_CLIENT_SECRET";
const CERTIFICATE_PATH: &str = "AZURE_CLIENT_CERTIFICATE_PATH";
const CERTIFICATE_PASSWORD: &str = "AZURE_CLIENT_CERTIFICATE_PASSWORD";
const SEND_CERTIFICATE_CHAIN: &str = "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN";
const USERNAME: &str = "AZURE_USERNAME";
const PASSWORD: &str = "AZURE_PASSWORD";
const AUTHORITY_HOST: &str = "AZURE_AUTHORITY_HOST";

/// The variable sets, in order of precedence.
const SETS: [(&str, &[&str]); 3] = [
    ("client secret", &[CLIENT_ID, TENANT_ID, CLIENT_SECRET]),
    ("client certificate", &[CLIENT_ID, TENANT_ID, CERTIFICATE_PATH]),
    ("username and password", &[CLIENT_ID, USERNAME, PASSWORD]),
];

/// Tenant used for username and password when `AZURE_TENANT_ID` is absent.
const DEFAULT_USER_TENANT: &str = "organizations";

pub(super) fn plan(settings: &Settings, env: &Environment) -> Result<Box<dyn Plan>, MethodError> {
    let Some((kind, names)) = SETS
        .iter()
        .find(|(_, names)| names.iter().all(|name| env.get(name).is_some()))
    else {
        return Err(MethodError::Unavailable(describe_incomplete(env)));
    };
    if let Some(empty) = names.iter().find(|name| env.get(name) == Some("")) {
        return Err(MethodError::Failed(format!(
            "{empty} is set but empty, which leaves the {kind} variables incomplete; give it a \
             value or unset the {kind} variables"
        )));
    }
    let var = |name: &str| env.get(name).unwrap_or_default().to_string();
    let client_id = var(CLIENT_ID);
    validate::client_id(&client_id).map_err(|error| MethodError::Failed(format!("{CLIENT_ID}: {error}")))?;
    let authority = authority(settings, env)?;

    match *kind {
        "client secret" => {
            let tenant = var(TENANT_ID);
            validate::tenant_id(&tenant)
                .map_err(|error| MethodError::Failed(format!("{TENANT_ID}: {error}")))?;
            Ok(Box::new(ClientSecretPlan {
                method: "env",
                authority,
                tenant,
                client_id,
                secret: Secret::new(var(CLIENT_SECRET)),
                scope: settings.scope.clone(),
            }))
        }
        "client certificate" => {
            let tenant = var(TENANT_ID);
            validate::tenant_id(&tenant)
                .map_err(|error| MethodError::Failed(format!("{TENANT_ID}: {error}")))?;
            let path = var(CERTIFICATE_PATH);
            let password = env.get(CERTIFICATE_PASSWORD).map(Secret::new);
            let certificate = certificate::load(
                &path,
                password.as_ref(),
                CERTIFICATE_PATH,
                &format!("set {CERTIFICATE_PASSWORD} to the file's password"),
            )?;
            Ok(Box::new(CertificatePlan {
                method: "env",
                authority,
                tenant,
                client_id,
                certificate,
                send_chain: send_chain(env),
                scope: settings.scope.clone(),
            }))
        }
        _ => {
            let tenant = match env.get(TENANT_ID) {
                Some(tenant) if !tenant.is_empty() => tenant.to_string(),
                _ => DEFAULT_USER_TENANT.to_string(),
            };
            validate::tenant_id(&tenant)
                .map_err(|error| MethodError::Failed(format!("{TENANT_ID}: {error}")))?;
            Ok(Box::new(PasswordPlan {
                authority,
                tenant,
                client_id,
                username: var(USERNAME),
                password: Secret::new(var(PASSWORD)),
                scope: settings.scope.clone(),
            }))
        }
    }
}

/// The explicit authority host, else `AZURE_AUTHORITY_HOST`, else the cloud's.
pub(super) fn authority(settings: &Settings, env: &Environment) -> Result<Authority, MethodError> {
    if settings.authority_explicit {
        return Ok(settings.authority.clone());
    }
    match env.get(AUTHORITY_HOST).map(str::trim) {
        Some(host) if !host.is_empty() => Authority::parse(host)
            .map_err(|error| MethodError::Failed(format!("{AUTHORITY_HOST}: {error}"))),
        _ => Ok(settings.authority.clone()),
    }
}

/// Reads `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN`: `1` or `true` in any case turn the chain
/// on, as in the Rust and .NET SDKs.
///
/// NOTE: azure-identity for Python (1.27.0) turns it on for any non-empty value,
/// `false` and `0` included; azauth does not copy that.
fn send_chain(env: &Environment) -> bool {
    env.get(SEND_CERTIFICATE_CHAIN)
        .map(str::trim)
        .is_some_and(|value| value == "1" || value.eq_ignore_ascii_case("true"))
}

/// Names what is missing from the variable set closest to complete.
fn describe_incomplete(env: &Environment) -> String {
    let present = |name: &&str| env.get(name).is_some();
    let closest = SETS
        .iter()
        .filter(|(_, names)| names.iter().any(present))
        .max_by_key(|(_, names)| names.iter().filter(|name| present(name)).count());
    match closest {
        None => format!(
            "no AZURE_* credential variables are set; set {CLIENT_ID}, {TENANT_ID} and \
             {CLIENT_SECRET} (or {CERTIFICATE_PATH}, or {USERNAME} and {PASSWORD})"
        ),
        Some((kind, names)) => {
            let missing: Vec<&str> = names.iter().copied().filter(|name| env.get(name).is_none()).collect();
            format!(
                "the {kind} variables are incomplete: {} {} not set",
                missing.join(" and "),
                if missing.len() == 1 { "is" } else { "are" }
            )
        }
    }
}

/// A resource owner password request (deprecated by Microsoft: it cannot do MFA).
#[derive(Debug)]
struct PasswordPlan {
    authority: Authority,
    tenant: String,
    client_id: String,
    username: String,
    password: Secret,
    scope: String,
}

impl Plan for PasswordPlan {
    fn cache_key(&self) -> CacheKey {
        CacheKey {
            method: "env",
            authority: self.authority.url(),
            tenant: Some(format!("{}#{}", self.tenant, self.username)),
            client_id: Some(self.client_id.clone()),
            scope: self.scope.clone(),
        }
    }

    fn acquire(&self) -> Result<Token, MethodError> {
        // A token or refresh token cached by an earlier run saves a password grant.
        if let Some(token) = self.sign_in().silent() {
            return Ok(token);
        }
        check_user_realm(&self.authority, &self.username)?;
        let endpoint = Endpoint {
            authority: &self.authority,
            tenant: &self.tenant,
            client_id: &self.client_id,
        };
        let grant = Grant::Password {
            username: &self.username,
            password: &self.password,
        };
        let user_token = entra::request_user_token(&endpoint, grant, &self.scope)?;
        self.sign_in().remember(&user_token);
        Ok(user_token.token)
    }
}

impl PasswordPlan {
    /// The persistent cache entry of this user's sign-in.
    fn sign_in(&self) -> UserSignIn {
        UserSignIn {
            method: "env",
            authority: self.authority.clone(),
            tenant: self.tenant.clone(),
            client_id: self.client_id.clone(),
            scope: self.scope.clone(),
        }
    }
}

/// Asks the authority whether the account is federated, as MSAL does before a password
/// grant. Federated accounts need WS-Trust, which azauth does not speak, so they fail
/// here with a clear message rather than with an obscure AADSTS code later. When the
/// lookup itself fails, the password grant goes ahead and Entra ID decides.
fn check_user_realm(authority: &Authority, username: &str) -> Result<(), MethodError> {
    let url = format!(
        "{}/common/userrealm/{}?api-version=1.0",
        authority.url(),
        percent_encode(username)
    );
    let Ok(request) = oauth2::http::Request::get(&url)
        .header("accept", "application/json")
        .body(Vec::new())
    else {
        return Ok(());
    };
    let response = match HttpClient::new().execute(request) {
        Ok(response) if response.status().is_success() => response,
        _ => return Ok(()),
    };
    let realm: serde_json::Value = serde_json::from_slice(response.body()).unwrap_or_default();
    if realm["account_type"].as_str() == Some("Federated") {
        return Err(MethodError::Failed(format!(
            "the account {username} is federated with another identity provider, and \
             username and password sign-in does not support federated accounts; use \
             devicecode or interactive"
        )));
    }
    Ok(())
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `@`.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::azauth::credential::types::TokenOptions;
    use crate::settings;

    const TENANT: &str = "11111111-2222-3333-4444-555555555555";
    const CLIENT: &str = "99999999-8888-7777-6666-555555555555";

    fn settings() -> Settings {
        settings::resolve(&[], "https://management.azure.com/.default", TokenOptions::default())
            .unwrap()
    }

    fn outcome(pairs: &[(&str, &str)]) -> Result<Box<dyn Plan>, MethodError> {
        plan(&settings(), &Environment::from_pairs(pairs))
    }

    #[test]
    fn secret_set_wins_over_later_sets() {
        let plan = outcome(&[
            (CLIENT_ID, CLIENT),
            (TENANT_ID, TENANT),
            (CLIENT_SECRET, "fake-secret"),
            (USERNAME, "fake.user@contoso.example"),
            (PASSWORD, "fake-password"),
        ])
        .unwrap();
        let key = plan.cache_key();
        assert_eq!(key.tenant.as_deref(), Some(TENANT));
        assert_eq!(key.method, "env");
    }

    #[test]
    fn username_password_defaults_to_organizations() {
        let plan = outcome(&[
            (CLIENT_ID, CLIENT),
            (USERNAME, "fake.user@contoso.example"),
            (PASSWORD, "fake-password"),
        ])
        .unwrap();
        assert!(plan.cache_key().tenant.unwrap().starts_with("organizations#"));
    }

    #[test]
    fn missing_client_id_is_named() {
        // A user who set username, password and tenant but no client ID.
        let error = outcome(&[
            (USERNAME, "fake.user@contoso.example"),
            (PASSWORD, "fake-password"),
            (TENANT_ID, TENANT),
        ])
        .err()
        .unwrap();
        assert_eq!(
            error,
            MethodError::Unavailable(
                "the username and password variables are incomplete: AZURE_CLIENT_ID is not set"
                    .to_string()
            )
        );
        let MethodError::Unavailable(text) = error else { unreachable!() };
        assert!(!text.contains("fake-password"));
    }

    #[test]
    fn nothing_set_is_unavailable() {
        let error = outcome(&[]).err().unwrap();
        assert!(matches!(error, MethodError::Unavailable(ref text) if text.starts_with("no AZURE_*")));
    }

    #[test]
    fn empty_value_fails_and_names_variable() {
        let error = outcome(&[(CLIENT_ID, CLIENT), (TENANT_ID, TENANT), (CLIENT_SECRET, "")])
            .err()
            .unwrap();
        assert!(matches!(error, MethodError::Failed(ref text) if text.starts_with("AZURE_CLIENT_SECRET is set but empty")));
    }

    #[test]
    fn invalid_tenant_and_authority_fail() {
        let error = outcome(&[(CLIENT_ID, CLIENT), (TENANT_ID, "x;echo INJECTED"), (CLIENT_SECRET, "s")])
            .err()
            .unwrap();
        assert!(matches!(error, MethodError::Failed(ref text) if text.starts_with("AZURE_TENANT_ID: invalid tenant id")));
        let error = outcome(&[
            (CLIENT_ID, CLIENT),
            (TENANT_ID, TENANT),
            (CLIENT_SECRET, "s"),
            (AUTHORITY_HOST, "http://login.example"),
        ])
        .err()
        .unwrap();
        assert!(matches!(error, MethodError::Failed(ref text) if text.starts_with("AZURE_AUTHORITY_HOST: invalid authority host")));
    }

    #[test]
    fn authority_host_variable_applies() {
        let plan = outcome(&[
            (CLIENT_ID, CLIENT),
            (TENANT_ID, TENANT),
            (CLIENT_SECRET, "s"),
            (AUTHORITY_HOST, "https://login.example/"),
        ])
        .unwrap();
        assert_eq!(plan.cache_key().authority, "https://login.example");
    }

    #[test]
    fn username_is_percent_encoded() {
        assert_eq!(percent_encode("a.b@contoso.example"), "a.b@contoso.example");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }
}
