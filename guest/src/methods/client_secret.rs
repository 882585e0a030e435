//! `clientsecret`: a service principal's client secret from the options or the
//! configuration. Also the token request of `env`'s first variable set.

use super::{MethodError, Plan, missing_inputs};
use crate::cache::CacheKey;
use crate::cloud::Authority;
use crate::entra::{self, Endpoint, Grant, Token};
use crate::secret::Secret;
use crate::settings::{self, Environment, Settings};
use crate::validate;

/// A client credentials request with a secret.
#[derive(Debug)]
pub(super) struct ClientSecretPlan {
    pub method: &'static str,
    pub authority: Authority,
    pub tenant: String,
    pub client_id: String,
    pub secret: Secret,
    pub scope: String,
}

impl Plan for ClientSecretPlan {
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
        entra::request_token(&endpoint, Grant::ClientSecret(&self.secret), &self.scope)
    }
}

/// Resolves client ID, tenant and secret: the options first, then the Azure CLI
/// provider's `Args`, and for the tenant `Azure.tenant_id` last.
pub(super) fn plan(settings: &Settings, env: &Environment) -> Result<Box<dyn Plan>, MethodError> {
    let args = &settings.config.cli_args;
    let client_id = settings.client_id.clone().or_else(|| args.client_id.clone());
    let tenant = settings
        .tenant_id
        .clone()
        .or_else(|| args.tenant_id.clone())
        .or_else(|| settings.config.tenant_id.clone());
    let secret = match (&settings.client_secret, &args.client_secret) {
        (Some(secret), _) => Some(secret.clone()),
        (None, Some(setting)) => {
            let key = format!("{}.clientSecret", args.section);
            settings::resolve_secret(setting, env, &key).map_err(MethodError::Unavailable)?
        }
        (None, None) => None,
    };

    let missing = missing_inputs(
        &[
            ("client ID (--client-id or clientId)", client_id.is_none()),
            ("tenant ID (--tenant-id, tenantId or Azure.tenant_id)", tenant.is_none()),
            ("client secret (--client-secret or clientSecret)", secret.is_none()),
        ],
        args.section,
    );
    let (Some(client_id), Some(tenant), Some(secret)) = (client_id, tenant, secret) else {
        return Err(missing);
    };
    validate::client_id(&client_id).map_err(MethodError::Failed)?;
    validate::tenant_id(&tenant).map_err(MethodError::Failed)?;

    Ok(Box::new(ClientSecretPlan {
        method: "clientsecret",
        authority: settings.authority.clone(),
        tenant,
        client_id,
        secret,
        scope: settings.scope.clone(),
    }))
}
