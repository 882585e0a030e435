//! `certificate`: a service principal's certificate from the options or the
//! configuration. Also the token request of `env`'s second variable set.
//!
//! The file is read and checked when the method is planned: a file that is missing,
//! locked by a password or unusable makes the method fail rather than be unavailable,
//! because the caller named this certificate.

use super::{MethodError, Plan, missing_inputs};
use crate::assertion::{self, Algorithm, Claims};
use crate::cache::CacheKey;
use crate::certificate::ClientCertificate;
use crate::cloud::Authority;
use crate::entra::{self, Endpoint, Grant, Token};
use crate::secret::Secret;
use crate::settings::{self, Environment, Settings};
use crate::{clock, log, validate};

/// A client credentials request with a client assertion signed by a certificate.
#[derive(Debug)]
pub(super) struct CertificatePlan {
    pub method: &'static str,
    pub authority: Authority,
    pub tenant: String,
    pub client_id: String,
    pub certificate: ClientCertificate,
    pub send_chain: bool,
    pub scope: String,
}

impl Plan for CertificatePlan {
    fn cache_key(&self) -> CacheKey {
        CacheKey::for_client(
            self.method,
            &self.authority,
            &self.tenant,
            &self.client_id,
            &self.scope,
        )
    }

    fn acquire(&self) -> Result<Token, MethodError> {
        let endpoint = Endpoint {
            authority: &self.authority,
            tenant: &self.tenant,
            client_id: &self.client_id,
        };
        let audience = endpoint.token_url();
        let mut rng = getrandom::SysRng;

        let started = clock::monotonic_nanos();
        let id = assertion::random_uuid(&mut rng).map_err(MethodError::Failed)?;
        let claims = Claims {
            audience: &audience,
            client_id: &self.client_id,
            id: &id,
            not_before: clock::now_unix(),
        };
        let algorithm = Algorithm::for_tenant(&self.tenant);
        let signed = assertion::build(&self.certificate, algorithm, &claims, self.send_chain, &mut rng)
            .map_err(MethodError::Failed)?;
        // The benchmark page reads this line: keep its wording.
        log::debug(&format!(
            "client assertion built and signed in {} us ({algorithm:?}, x5c {})",
            clock::monotonic_nanos().saturating_sub(started) / 1_000,
            if self.send_chain { "sent" } else { "not sent" }
        ));

        entra::request_token(&endpoint, Grant::ClientAssertion(&Secret::new(signed)), &self.scope)
    }
}

/// Reads a certificate file for a method. `path_source` names where the path came from,
/// and `password_source` says where to give the password, so that the message says what
/// to change.
pub(super) fn load(
    path: &str,
    password: Option<&Secret>,
    path_source: &str,
    password_source: &str,
) -> Result<ClientCertificate, MethodError> {
    ClientCertificate::read(path, password).map_err(|error| {
        let fix = match error {
            crate::certificate::CertificateError::PasswordRequired
            | crate::certificate::CertificateError::WrongPassword => {
                format!("; {password_source}")
            }
            _ => String::new(),
        };
        MethodError::Failed(format!(
            "cannot use the certificate file {path} (from {path_source}): {error}{fix}"
        ))
    })
}

/// Resolves client ID, tenant, certificate path and password: the options first, then
/// the Azure CLI provider's `Args`, and for the tenant `Azure.tenant_id` last.
pub(super) fn plan(settings: &Settings, env: &Environment) -> Result<Box<dyn Plan>, MethodError> {
    let args = &settings.config.cli_args;
    let client_id = settings.client_id.clone().or_else(|| args.client_id.clone());
    let tenant = settings
        .tenant_id
        .clone()
        .or_else(|| args.tenant_id.clone())
        .or_else(|| settings.config.tenant_id.clone());
    let (path, path_source) = match (&settings.certificate_path, &args.certificate_path) {
        (Some(path), _) => (Some(path.clone()), "--client-certificate".to_string()),
        (None, Some(path)) => (Some(path.clone()), format!("{}.certificatePath", args.section)),
        (None, None) => (None, String::new()),
    };

    let missing = missing_inputs(
        &[
            ("client ID (--client-id or clientId)", client_id.is_none()),
            ("tenant ID (--tenant-id, tenantId or Azure.tenant_id)", tenant.is_none()),
            ("certificate file (--client-certificate or certificatePath)", path.is_none()),
        ],
        args.section,
    );
    let (Some(client_id), Some(tenant), Some(path)) = (client_id, tenant, path) else {
        return Err(missing);
    };
    validate::client_id(&client_id).map_err(MethodError::Failed)?;
    validate::tenant_id(&tenant).map_err(MethodError::Failed)?;

    let password = match (&settings.certificate_password, &args.certificate_password) {
        (Some(password), _) => Some(password.clone()),
        (None, Some(setting)) => {
            let key = format!("{}.certificatePassword", args.section);
            settings::resolve_secret(setting, env, &key).map_err(MethodError::Failed)?
        }
        (None, None) => None,
    };
    let password_source = "pass the password with --client-certificate-password or set \
                           certificatePassword in DataProviders.AzureCLI.Args of msticpyconfig.yaml";
    let certificate = load(&path, password.as_ref(), &path_source, password_source)?;
    log::debug(&format!("certificate: loaded {path} ({certificate:?})"));

    Ok(Box::new(CertificatePlan {
        method: "certificate",
        authority: settings.authority.clone(),
        tenant,
        client_id,
        certificate,
        send_chain: settings.send_certificate_chain,
        scope: settings.scope.clone(),
    }))
}
