//! The in-memory token cache of one component instance.
//!
//! Entries are keyed by everything that changes the token: method, authority, tenant,
//! client and scope. A token is served until its refresh time, which is the server's
//! `refresh_in` hint when it sent one, else 5 minutes before expiry. Between the
//! refresh time and expiry the caller tries a new token and falls back to the cached
//! one if that fails, as azure-identity does.

use std::collections::HashMap;

use crate::cloud::Authority;
use crate::entra::Token;

/// Seconds before expiry at which a token counts as due for refresh.
pub const REFRESH_MARGIN_SECS: u64 = 300;

/// What a token depends on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// Canonical method name.
    pub method: &'static str,
    /// Authority URL, or another description of where the token comes from.
    pub authority: String,
    /// Tenant, if the method has one.
    pub tenant: Option<String>,
    /// Client ID, if the method has one.
    pub client_id: Option<String>,
    /// Scope.
    pub scope: String,
}

impl CacheKey {
    /// Builds the key of a token that an app registration gets from an authority for a
    /// tenant: the shape shared by the service principal and user sign-in methods.
    pub fn for_client(
        method: &'static str,
        authority: &Authority,
        tenant: &str,
        client_id: &str,
        scope: &str,
    ) -> CacheKey {
        CacheKey {
            method,
            authority: authority.url(),
            tenant: Some(tenant.to_string()),
            client_id: Some(client_id.to_string()),
            scope: scope.to_string(),
        }
    }
}

/// The state of a cached token at a given time.
#[derive(Debug)]
pub enum Lookup {
    /// No usable token is cached.
    Miss,
    /// The token is valid and not yet due for refresh.
    Fresh(Token),
    /// The token is still valid but due for refresh.
    Stale(Token),
}

/// Tokens of one component instance.
#[derive(Default)]
pub struct TokenCache {
    entries: HashMap<CacheKey, Token>,
}

impl TokenCache {
    /// Looks up a token at Unix time `now`.
    pub fn lookup(&self, key: &CacheKey, now: u64) -> Lookup {
        let Some(token) = self.entries.get(key) else {
            return Lookup::Miss;
        };
        let refresh_at = token
            .refresh_on
            .unwrap_or(token.expires_on)
            .min(token.expires_on.saturating_sub(REFRESH_MARGIN_SECS));
        if now < refresh_at {
            Lookup::Fresh(token.clone())
        } else if now < token.expires_on {
            Lookup::Stale(token.clone())
        } else {
            Lookup::Miss
        }
    }

    /// Stores a token, replacing any earlier one for the same key.
    pub fn insert(&mut self, key: CacheKey, token: Token) {
        self.entries.insert(key, token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn key(scope: &str) -> CacheKey {
        CacheKey {
            method: "clientsecret",
            authority: "https://login.microsoftonline.com".to_string(),
            tenant: Some("11111111-2222-3333-4444-555555555555".to_string()),
            client_id: Some("99999999-8888-7777-6666-555555555555".to_string()),
            scope: scope.to_string(),
        }
    }

    fn token(expires_on: u64, refresh_on: Option<u64>) -> Token {
        Token {
            access_token: Secret::new("FAKE-AT-0001"),
            expires_on,
            refresh_on,
            token_type: "Bearer".to_string(),
            tenant: None,
        }
    }

    #[test]
    fn fresh_until_five_minutes_before_expiry() {
        let mut cache = TokenCache::default();
        let scope = "https://management.azure.com/.default";
        cache.insert(key(scope), token(10_000, None));
        assert!(matches!(cache.lookup(&key(scope), 9_699), Lookup::Fresh(_)));
        assert!(matches!(cache.lookup(&key(scope), 9_700), Lookup::Stale(_)));
        assert!(matches!(cache.lookup(&key(scope), 9_999), Lookup::Stale(_)));
        assert!(matches!(cache.lookup(&key(scope), 10_000), Lookup::Miss));
    }

    #[test]
    fn server_refresh_hint_comes_first() {
        let mut cache = TokenCache::default();
        let scope = "https://management.azure.com/.default";
        cache.insert(key(scope), token(100_000, Some(50_000)));
        assert!(matches!(cache.lookup(&key(scope), 49_999), Lookup::Fresh(_)));
        assert!(matches!(cache.lookup(&key(scope), 50_000), Lookup::Stale(_)));
    }

    #[test]
    fn every_key_part_separates_entries() {
        let mut cache = TokenCache::default();
        cache.insert(key("https://management.azure.com/.default"), token(10_000, None));
        assert!(matches!(
            cache.lookup(&key("https://vault.azure.net/.default"), 0),
            Lookup::Miss
        ));
        let mut other_tenant = key("https://management.azure.com/.default");
        other_tenant.tenant = Some("contoso.example".to_string());
        assert!(matches!(cache.lookup(&other_tenant, 0), Lookup::Miss));
        let mut other_client = key("https://management.azure.com/.default");
        other_client.client_id = None;
        assert!(matches!(cache.lookup(&other_client, 0), Lookup::Miss));
        let mut other_method = key("https://management.azure.com/.default");
        other_method.method = "env";
        assert!(matches!(cache.lookup(&other_method, 0), Lookup::Miss));
        let mut other_authority = key("https://management.azure.com/.default");
        other_authority.authority = "https://login.microsoftonline.us".to_string();
        assert!(matches!(cache.lookup(&other_authority, 0), Lookup::Miss));
    }
}
