//! What the user sign-in methods share: their defaults, and silent reuse of an earlier
//! sign-in through the persistent cache.
//!
//! Before it asks a person anything, a method looks for a cached access token, then
//! for a refresh token of an account that signed in with the same authority and client.
//! Only when neither gives a token does the person sign in, and what that sign-in
//! returns is cached for the next run.

use super::MethodError;
use crate::cache::CacheKey;
use crate::cloud::Authority;
use crate::entra::{self, Endpoint, Grant, Token, UserToken};
use crate::settings::Settings;
use crate::store::{HostStorage, PersistentCache, Storage, Target};
use crate::{clock, log, validate};

/// Client ID of the Azure CLI, a public client registered in every tenant. azure-identity
/// uses it for device code and browser sign-in, and so does MSTICPy.
pub const DEVELOPER_CLIENT_ID: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/// Tenant for user sign-in when none is configured: any work or school account.
pub const DEFAULT_TENANT: &str = "organizations";

/// Authority, tenant, client and scope of a user sign-in.
#[derive(Debug, Clone)]
pub struct UserSignIn {
    /// Canonical name of the method.
    pub method: &'static str,
    /// The authority.
    pub authority: Authority,
    /// Tenant ID or domain, or `organizations`.
    pub tenant: String,
    /// Public client ID.
    pub client_id: String,
    /// The scope requested.
    pub scope: String,
}

impl UserSignIn {
    /// Resolves the defaults: the tenant from the options, else `Azure.tenant_id` of the
    /// configuration, else `organizations`; the client ID from the options, else the
    /// Azure CLI's.
    pub fn from_settings(method: &'static str, settings: &Settings) -> Result<UserSignIn, MethodError> {
        let tenant = settings
            .tenant_id
            .clone()
            .or_else(|| settings.config.tenant_id.clone())
            .unwrap_or_else(|| DEFAULT_TENANT.to_string());
        validate::tenant_id(&tenant).map_err(MethodError::Failed)?;
        let client_id = settings
            .client_id
            .clone()
            .unwrap_or_else(|| DEVELOPER_CLIENT_ID.to_string());
        Ok(UserSignIn {
            method,
            authority: settings.authority.clone(),
            tenant,
            client_id,
            scope: settings.scope.clone(),
        })
    }

    /// Returns the token endpoint and client.
    pub fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            authority: &self.authority,
            tenant: &self.tenant,
            client_id: &self.client_id,
        }
    }

    /// `{authority}/{tenant}/oauth2/v2.0/<name>`.
    pub fn endpoint_url(&self, name: &str) -> String {
        format!("{}/{}/oauth2/v2.0/{name}", self.authority.url(), self.tenant)
    }

    /// Returns the key of the in-memory cache.
    pub fn cache_key(&self) -> CacheKey {
        CacheKey::for_client(
            self.method,
            &self.authority,
            &self.tenant,
            &self.client_id,
            &self.scope,
        )
    }

    /// Gets a token without a person, from the host's persistent cache; `None` when a
    /// person must sign in.
    pub fn silent(&self) -> Option<Token> {
        self.silent_with(&PersistentCache::new(HostStorage), None)
    }

    /// [`silent`](Self::silent) for one account, named by its home account ID.
    pub fn silent_as(&self, home_account_id: &str) -> Option<Token> {
        self.silent_with(&PersistentCache::new(HostStorage), Some(home_account_id))
    }

    /// Caches what a sign-in returned, for the next run.
    pub fn remember(&self, user_token: &UserToken) {
        let authority = self.authority.url();
        PersistentCache::new(HostStorage).remember(
            &self.target(&authority),
            self.method,
            user_token,
            clock::now_unix(),
        );
    }

    fn target<'a>(&'a self, authority: &'a str) -> Target<'a> {
        Target {
            authority,
            client_id: &self.client_id,
            tenant: &self.tenant,
            scope: &self.scope,
        }
    }

    fn silent_with<S: Storage>(&self, cache: &PersistentCache<S>, account: Option<&str>) -> Option<Token> {
        let authority = self.authority.url();
        let target = self.target(&authority);
        if let Some(token) = cache.access_token_of(&target, account, clock::now_unix()) {
            log::debug(&format!("{} token served from the persistent cache", self.method));
            return Some(token);
        }
        let account = cache.account_of(&target, account)?;
        log::info(&format!(
            "{} redeems the cached refresh token of {} instead of asking for a sign-in",
            self.method, account.username
        ));
        match entra::exchange(&self.endpoint(), Grant::RefreshToken(&account.refresh_token), &self.scope) {
            Ok(user_token) => {
                cache.remember(&target, self.method, &user_token, clock::now_unix());
                Some(user_token.token)
            }
            Err(error) => {
                if error.grant_rejected {
                    cache.forget(&account.home_account_id);
                }
                log::warn(&format!(
                    "{}: the cached sign-in of {} could not be renewed, so a new sign-in is \
                     needed: {}",
                    self.method, account.username, error.message
                ));
                None
            }
        }
    }
}
