//! The persistent token cache: accounts with their refresh tokens, and access tokens,
//! kept by the host between runs through the `token-store` import.
//!
//! The component owns the format: one JSON document in the partition [`PARTITION`].
//! Accounts are keyed by authority, client ID and home account ID, as MSAL keys them,
//! so a sign-in with `devicecode` also serves `interactive` for the same client.
//! Access tokens are keyed by authority, client ID, requested tenant and scope.
//!
//! The host makes each load and save atomic, but a load followed by a save is not: two
//! processes that sign in at the same moment can each save, and the later save wins.
//! The file is never corrupt, and the sign-in that was lost is asked for again later.

use serde::{Deserialize, Serialize};

use crate::cache::REFRESH_MARGIN_SECS;
use crate::entra::{Account, Token, UserToken};
use crate::log;
use crate::secret::Secret;

/// Name of the partition that contains the whole cache.
pub const PARTITION: &str = "accounts-v1";

/// Version of the JSON format; a document of another version is ignored.
const FORMAT_VERSION: u32 = 1;

/// Storage of the cache: the host's store, or memory in tests.
pub trait Storage {
    /// Reads the partition.
    fn load(&self, partition: &str) -> Result<Option<String>, String>;
    /// Replaces the partition.
    fn save(&self, partition: &str, data: &str) -> Result<(), String>;
    /// Removes the partition.
    fn remove(&self, partition: &str) -> Result<(), String>;
}

/// The `token-store` import of the host.
pub struct HostStorage;

impl Storage for HostStorage {
    fn load(&self, partition: &str) -> Result<Option<String>, String> {
        host::load(partition)
    }

    fn save(&self, partition: &str, data: &str) -> Result<(), String> {
        host::save(partition, data)
    }

    fn remove(&self, partition: &str) -> Result<(), String> {
        host::remove(partition)
    }
}

#[cfg(target_family = "wasm")]
mod host {
    pub use crate::bindings::azauth::credential::token_store::{load, remove, save};
}

/// Unit tests run natively, where the import does not exist.
#[cfg(not(target_family = "wasm"))]
mod host {
    const ABSENT: &str = "the token store exists only inside the component";

    pub fn load(_: &str) -> Result<Option<String>, String> {
        Err(ABSENT.to_string())
    }

    pub fn save(_: &str, _: &str) -> Result<(), String> {
        Err(ABSENT.to_string())
    }

    pub fn remove(_: &str) -> Result<(), String> {
        Err(ABSENT.to_string())
    }
}

/// The cache document.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheData {
    version: u32,
    #[serde(default)]
    accounts: Vec<AccountEntry>,
    #[serde(default)]
    access_tokens: Vec<AccessTokenEntry>,
}

/// A signed-in account and its refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccountEntry {
    authority: String,
    client_id: String,
    home_account_id: String,
    home_tenant: String,
    username: String,
    /// Tenants (as requested) that this account's refresh token has served.
    tenants: Vec<String>,
    refresh_token: String,
    /// The method that signed the account in, for `azauth logout` messages.
    method: String,
    /// Unix seconds of the last sign-in or refresh.
    updated_on: u64,
}

/// A cached access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccessTokenEntry {
    authority: String,
    client_id: String,
    home_account_id: String,
    /// The tenant as requested, such as `organizations` or a tenant ID.
    tenant: String,
    /// The tenant that issued the token.
    issuing_tenant: Option<String>,
    scope: String,
    secret: String,
    expires_on: u64,
    refresh_on: Option<u64>,
}

/// Authority, client, tenant and scope of a token request.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Authority URL.
    pub authority: &'a str,
    /// Client ID.
    pub client_id: &'a str,
    /// Tenant as requested: `organizations`, `common`, a tenant ID or a domain.
    pub tenant: &'a str,
    /// Scope.
    pub scope: &'a str,
}

/// A refresh token found for a target.
#[derive(Debug)]
pub struct CachedAccount {
    /// The account's home account ID.
    pub home_account_id: String,
    /// The account's user name.
    pub username: String,
    /// The refresh token.
    pub refresh_token: Secret,
}

/// The persistent cache over a storage.
pub struct PersistentCache<S: Storage> {
    storage: S,
}

impl<S: Storage> PersistentCache<S> {
    /// Creates a cache over a storage.
    pub fn new(storage: S) -> PersistentCache<S> {
        PersistentCache { storage }
    }

    /// Returns an access token for the target that is not yet due for refresh at `now`.
    ///
    /// When `account` is a home account ID, only that account's tokens count.
    pub fn access_token_of(&self, target: &Target, account: Option<&str>, now: u64) -> Option<Token> {
        let data = self.read()?;
        data.access_tokens
            .iter()
            .filter(|entry| entry_matches(entry, target))
            .filter(|entry| account.is_none_or(|id| entry.home_account_id == id))
            .filter(|entry| now < refresh_point(entry))
            .max_by_key(|entry| entry.expires_on)
            .map(|entry| Token {
                access_token: Secret::new(entry.secret.clone()),
                expires_on: entry.expires_on,
                refresh_on: entry.refresh_on,
                token_type: "Bearer".to_string(),
                tenant: entry.issuing_tenant.clone(),
            })
    }

    /// Returns the account whose refresh token can serve the target. For
    /// `organizations` or `common` it is the account used last. For a named tenant it is
    /// an account whose home tenant it is, or that has signed in to it before.
    ///
    /// When `account` is a home account ID, only that account counts.
    pub fn account_of(&self, target: &Target, account: Option<&str>) -> Option<CachedAccount> {
        let data = self.read()?;
        let any_tenant = matches!(target.tenant, "organizations" | "common");
        data.accounts
            .iter()
            .filter(|entry| {
                entry.authority == target.authority
                    && entry.client_id.eq_ignore_ascii_case(target.client_id)
            })
            .filter(|entry| account.is_none_or(|id| entry.home_account_id == id))
            .filter(|entry| {
                any_tenant
                    || entry.home_tenant.eq_ignore_ascii_case(target.tenant)
                    || entry.tenants.iter().any(|t| t.eq_ignore_ascii_case(target.tenant))
            })
            .max_by_key(|entry| entry.updated_on)
            .map(|entry| CachedAccount {
                home_account_id: entry.home_account_id.clone(),
                username: entry.username.clone(),
                refresh_token: Secret::new(entry.refresh_token.clone()),
            })
    }

    /// Stores what a sign-in or refresh returned: the account with its refresh token,
    /// and the access token. Drops access tokens that have expired. A response without
    /// an account (no `client_info`) is not stored, because nothing would find it again.
    pub fn remember(&self, target: &Target, method: &str, user_token: &UserToken, now: u64) {
        let Some(account) = &user_token.account else {
            log::debug("the token response named no account, so nothing is cached on disk");
            return;
        };
        let loaded = self.read_checked();
        let store_readable = loaded.is_ok();
        let mut data = loaded.ok().flatten().unwrap_or_else(|| CacheData {
            version: FORMAT_VERSION,
            ..CacheData::default()
        });
        if let Some(refresh_token) = &user_token.refresh_token {
            upsert_account(&mut data, target, method, account, refresh_token, now);
        }
        data.access_tokens.retain(|entry| {
            entry.expires_on > now
                && !(entry_matches(entry, target) && entry.home_account_id == account.home_account_id)
        });
        let token = &user_token.token;
        data.access_tokens.push(AccessTokenEntry {
            authority: target.authority.to_string(),
            client_id: target.client_id.to_string(),
            home_account_id: account.home_account_id.clone(),
            tenant: target.tenant.to_string(),
            issuing_tenant: token.tenant.clone(),
            scope: target.scope.to_string(),
            secret: token.access_token.expose().to_string(),
            expires_on: token.expires_on,
            refresh_on: token.refresh_on,
        });
        self.write(&data, store_readable);
    }

    /// Removes an account and its access tokens, after its refresh token was rejected.
    pub fn forget(&self, home_account_id: &str) {
        let Ok(Some(mut data)) = self.read_checked() else { return };
        data.accounts.retain(|entry| entry.home_account_id != home_account_id);
        data.access_tokens.retain(|entry| entry.home_account_id != home_account_id);
        self.write(&data, true);
    }

    /// Removes every account, or those whose user name equals `username` (ignoring
    /// case), with their access tokens. Returns the user names removed.
    pub fn sign_out(&self, username: Option<&str>) -> Result<Vec<String>, String> {
        let Some(text) = self.storage.load(PARTITION)? else {
            return Ok(Vec::new());
        };
        let data = parse(&text);
        let Some(username) = username else {
            self.storage.remove(PARTITION)?;
            let mut names: Vec<String> =
                data.map(|d| d.accounts.into_iter().map(|a| a.username).collect()).unwrap_or_default();
            names.dedup();
            return Ok(names);
        };
        let Some(mut data) = data else {
            return Ok(Vec::new());
        };
        let (removed, kept): (Vec<AccountEntry>, Vec<AccountEntry>) = data
            .accounts
            .into_iter()
            .partition(|entry| entry.username.eq_ignore_ascii_case(username));
        let removed_ids: Vec<&str> = removed.iter().map(|e| e.home_account_id.as_str()).collect();
        data.accounts = kept;
        data.access_tokens
            .retain(|entry| !removed_ids.contains(&entry.home_account_id.as_str()));
        self.storage.save(PARTITION, &serialize(&data))?;
        let mut names: Vec<String> = removed.into_iter().map(|entry| entry.username).collect();
        names.dedup();
        Ok(names)
    }

    /// Reads the document. A store error or an unreadable document counts as empty,
    /// and is logged: the cache is an optimisation, never a reason to fail.
    fn read(&self) -> Option<CacheData> {
        self.read_checked().ok().flatten()
    }

    /// Reads the document; `Err` when the store could not be read, which is logged.
    fn read_checked(&self) -> Result<Option<CacheData>, ()> {
        match self.storage.load(PARTITION) {
            Ok(Some(text)) => Ok(parse(&text)),
            Ok(None) => Ok(None),
            Err(error) => {
                log::debug(&format!("the persistent token cache is not used: {error}"));
                Err(())
            }
        }
    }

    /// Saves the document. A failure is a warning when the store could be read, and
    /// only a debug message when it could not: a disabled store fails both ways, and its
    /// load already said so.
    fn write(&self, data: &CacheData, store_readable: bool) {
        if let Err(error) = self.storage.save(PARTITION, &serialize(data)) {
            let message = format!("saving the persistent token cache failed: {error}");
            if store_readable {
                log::warn(&message);
            } else {
                log::debug(&message);
            }
        }
    }
}

fn parse(text: &str) -> Option<CacheData> {
    match serde_json::from_str::<CacheData>(text) {
        Ok(data) if data.version == FORMAT_VERSION => Some(data),
        Ok(data) => {
            log::warn(&format!(
                "the persistent token cache has format version {}, not {FORMAT_VERSION}, so it \
                 is ignored and will be replaced",
                data.version
            ));
            None
        }
        Err(error) => {
            // serde_json errors name a line and column, never the value.
            log::warn(&format!(
                "the persistent token cache could not be read, so it is ignored and will be \
                 replaced: {error}"
            ));
            None
        }
    }
}

fn serialize(data: &CacheData) -> String {
    serde_json::to_string(data).expect("the cache document serializes")
}

fn entry_matches(entry: &AccessTokenEntry, target: &Target) -> bool {
    entry.authority == target.authority
        && entry.client_id.eq_ignore_ascii_case(target.client_id)
        && entry.tenant.eq_ignore_ascii_case(target.tenant)
        && entry.scope == target.scope
}

/// When a cached access token is due for refresh: the server's hint, and at the latest
/// five minutes before expiry, as the in-memory cache does.
fn refresh_point(entry: &AccessTokenEntry) -> u64 {
    entry
        .refresh_on
        .unwrap_or(entry.expires_on)
        .min(entry.expires_on.saturating_sub(REFRESH_MARGIN_SECS))
}

fn upsert_account(
    data: &mut CacheData,
    target: &Target,
    method: &str,
    account: &Account,
    refresh_token: &Secret,
    now: u64,
) {
    let existing = data.accounts.iter_mut().find(|entry| {
        entry.authority == target.authority
            && entry.client_id.eq_ignore_ascii_case(target.client_id)
            && entry.home_account_id == account.home_account_id
    });
    match existing {
        Some(entry) => {
            entry.refresh_token = refresh_token.expose().to_string();
            entry.updated_on = now;
            if !account.username.is_empty() {
                entry.username = account.username.clone();
            }
            if !entry.tenants.iter().any(|t| t.eq_ignore_ascii_case(target.tenant)) {
                entry.tenants.push(target.tenant.to_string());
            }
        }
        None => data.accounts.push(AccountEntry {
            authority: target.authority.to_string(),
            client_id: target.client_id.to_string(),
            home_account_id: account.home_account_id.clone(),
            home_tenant: account.home_tenant.clone(),
            username: account.username.clone(),
            tenants: vec![target.tenant.to_string()],
            refresh_token: refresh_token.expose().to_string(),
            method: method.to_string(),
            updated_on: now,
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::*;

    /// A storage in memory.
    #[derive(Default)]
    pub(crate) struct MemoryStorage {
        pub(crate) partitions: RefCell<HashMap<String, String>>,
    }

    impl Storage for &MemoryStorage {
        fn load(&self, partition: &str) -> Result<Option<String>, String> {
            Ok(self.partitions.borrow().get(partition).cloned())
        }

        fn save(&self, partition: &str, data: &str) -> Result<(), String> {
            self.partitions.borrow_mut().insert(partition.to_string(), data.to_string());
            Ok(())
        }

        fn remove(&self, partition: &str) -> Result<(), String> {
            self.partitions.borrow_mut().remove(partition);
            Ok(())
        }
    }

    const AUTHORITY: &str = "https://login.microsoftonline.com";
    const CLIENT: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
    const TENANT: &str = "11111111-2222-3333-4444-555555555555";
    const SCOPE: &str = "https://management.azure.com/.default";

    fn target(tenant: &'static str, scope: &'static str) -> Target<'static> {
        Target {
            authority: AUTHORITY,
            client_id: CLIENT,
            tenant,
            scope,
        }
    }

    pub(crate) fn user_token(user: &str, access: &str, refresh: &str, expires_on: u64) -> UserToken {
        UserToken {
            token: Token {
                access_token: Secret::new(access),
                expires_on,
                refresh_on: None,
                token_type: "Bearer".to_string(),
                tenant: Some(TENANT.to_string()),
            },
            refresh_token: Some(Secret::new(refresh)),
            account: Some(Account {
                home_account_id: format!("{user}-oid.{TENANT}"),
                home_tenant: TENANT.to_string(),
                username: format!("{user}@contoso.example"),
            }),
        }
    }

    #[test]
    fn remembered_tokens_are_found_again() {
        let storage = MemoryStorage::default();
        let cache = PersistentCache::new(&storage);
        let target = target("organizations", SCOPE);
        assert!(cache.access_token_of(&target, None, 0).is_none());
        assert!(cache.account_of(&target, None).is_none());

        cache.remember(&target, "devicecode", &user_token("ada", "AT-1", "RT-1", 10_000), 100);
        let token = cache.access_token_of(&target, None, 100).unwrap();
        assert_eq!(token.access_token.expose(), "AT-1");
        assert_eq!(token.expires_on, 10_000);
        let account = cache.account_of(&target, None).unwrap();
        assert_eq!(account.refresh_token.expose(), "RT-1");
        assert_eq!(account.username, "ada@contoso.example");
    }

    #[test]
    fn access_token_due_for_refresh_is_not_served() {
        let storage = MemoryStorage::default();
        let cache = PersistentCache::new(&storage);
        let target = target("organizations", SCOPE);
        cache.remember(&target, "devicecode", &user_token("ada", "AT-1", "RT-1", 10_000), 100);
        // Five minutes before expiry the token is due, so the refresh token is used.
        assert!(cache.access_token_of(&target, None, 9_699).is_some());
        assert!(cache.access_token_of(&target, None, 9_700).is_none());
        assert!(cache.account_of(&target, None).is_some());
    }

    #[test]
    fn other_scope_client_or_tenant_misses_access_token() {
        let storage = MemoryStorage::default();
        let cache = PersistentCache::new(&storage);
        cache.remember(&target(TENANT, SCOPE), "devicecode", &user_token("ada", "AT", "RT", 10_000), 1);
        assert!(cache.access_token_of(&target(TENANT, "https://vault.azure.net/.default"), None, 1).is_none());
        assert!(cache.access_token_of(&target("contoso.example", SCOPE), None, 1).is_none());
        let other_client = Target { client_id: "aebc6443-996d-45c2-90f0-388ff96faa56", ..target(TENANT, SCOPE) };
        assert!(cache.access_token_of(&other_client, None, 1).is_none());
        assert!(cache.account_of(&other_client, None).is_none());
        // The refresh token serves another scope in the same tenant, and any tenant
        // when none is named.
        assert!(cache.account_of(&target(TENANT, "https://vault.azure.net/.default"), None).is_some());
        assert!(cache.account_of(&target("organizations", SCOPE), None).is_some());
        assert!(cache.account_of(&target("99999999-0000-0000-0000-000000000000", SCOPE), None).is_none());
    }

    #[test]
    fn account_filter_picks_named_account() {
        let storage = MemoryStorage::default();
        let cache = PersistentCache::new(&storage);
        let target = target("organizations", SCOPE);
        cache.remember(&target, "devicecode", &user_token("ada", "AT-A", "RT-A", 10_000), 1);
        cache.remember(&target, "devicecode", &user_token("bob", "AT-B", "RT-B", 10_000), 2);
        let ada = format!("ada-oid.{TENANT}");
        assert_eq!(cache.account_of(&target, Some(&ada)).unwrap().refresh_token.expose(), "RT-A");
        assert_eq!(cache.access_token_of(&target, Some(&ada), 1).unwrap().access_token.expose(), "AT-A");
        assert!(cache.account_of(&target, Some("nobody.x")).is_none());
    }

    #[test]
    fn sign_out_one_account_keeps_others() {
        let storage = MemoryStorage::default();
        let cache = PersistentCache::new(&storage);
        let target = target("organizations", SCOPE);
        cache.remember(&target, "devicecode", &user_token("ada", "AT-A", "RT-A", 10_000), 1);
        cache.remember(&target, "interactive", &user_token("bob", "AT-B", "RT-B", 10_000), 2);
        assert_eq!(cache.account_of(&target, None).unwrap().username, "bob@contoso.example");

        let removed = cache.sign_out(Some("BOB@contoso.example")).unwrap();
        assert_eq!(removed, vec!["bob@contoso.example".to_string()]);
        assert_eq!(cache.account_of(&target, None).unwrap().username, "ada@contoso.example");
        assert_eq!(cache.access_token_of(&target, None, 1).unwrap().access_token.expose(), "AT-A");

        let removed = cache.sign_out(None).unwrap();
        assert_eq!(removed, vec!["ada@contoso.example".to_string()]);
        assert!(storage.partitions.borrow().is_empty());
        assert_eq!(cache.sign_out(None).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn refresh_replaces_tokens_of_same_account() {
        let storage = MemoryStorage::default();
        let cache = PersistentCache::new(&storage);
        let target = target("organizations", SCOPE);
        cache.remember(&target, "devicecode", &user_token("ada", "AT-1", "RT-1", 10_000), 1);
        cache.remember(&target, "devicecode", &user_token("ada", "AT-2", "RT-2", 20_000), 2);
        let text = storage.partitions.borrow()[PARTITION].clone();
        assert!(!text.contains("RT-1"), "{text}");
        assert!(!text.contains("AT-1"), "{text}");
        assert_eq!(cache.account_of(&target, None).unwrap().refresh_token.expose(), "RT-2");
        cache.forget(&cache.account_of(&target, None).unwrap().home_account_id);
        assert!(cache.account_of(&target, None).is_none());
        assert!(cache.access_token_of(&target, None, 2).is_none());
    }

    #[test]
    fn unreadable_document_counts_as_empty() {
        let storage = MemoryStorage::default();
        storage.partitions.borrow_mut().insert(PARTITION.to_string(), "{not json".to_string());
        let cache = PersistentCache::new(&storage);
        let target = target("organizations", SCOPE);
        assert!(cache.account_of(&target, None).is_none());
        cache.remember(&target, "devicecode", &user_token("ada", "AT", "RT", 10_000), 1);
        assert!(cache.account_of(&target, None).is_some());
        storage.partitions.borrow_mut().insert(PARTITION.to_string(), r#"{"version":99}"#.to_string());
        assert!(cache.account_of(&target, None).is_none());
    }
}
