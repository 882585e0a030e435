//! Tokens that the emulator issued, kept so that tests can look them up.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ids::random_hex;
use crate::lock;

/// An access token that the emulator issued, with what it was issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedToken {
    /// The opaque token, `emu-at-<counter>-<16 hex digits>`.
    pub access_token: String,
    /// ID of the tenant that issued the token. For `common` and `organizations` it is the
    /// user's home tenant.
    pub tenant_id: String,
    /// Client ID of the application that requested the token.
    pub client_id: String,
    /// Space-separated scopes: the request's `scope` parameter, or for a refresh grant
    /// without one, the scope of the original grant.
    pub scope: String,
    /// The `grant_type` of the token request.
    pub grant_type: String,
    /// User name for the password and refresh token grants, `None` for client credentials.
    pub username: Option<String>,
    /// Lifetime in seconds, as sent in `expires_in`.
    pub expires_in: u64,
}

/// What a refresh token grants: a new token for the same user, client and tenant.
#[derive(Clone, Debug)]
pub(crate) struct RefreshGrant {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) scope: String,
    pub(crate) revoked: bool,
}

/// A device code and the sign-in it stands for.
#[derive(Clone, Debug)]
pub(crate) struct DeviceGrant {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) scope: String,
    /// Unix seconds after which polls get `expired_token`.
    pub(crate) expires_at: u64,
    pub(crate) redeemed: bool,
}

/// An authorization code and what it was issued for.
#[derive(Clone, Debug)]
pub(crate) struct CodeGrant {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) redirect_uri: String,
    /// PKCE `code_challenge` (S256).
    pub(crate) code_challenge: String,
    pub(crate) redeemed: bool,
}

/// Scripted response to the next device code poll, in place of approving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevicePoll {
    /// `authorization_pending`: the person has not finished.
    Pending,
    /// `slow_down`: the client polls too often.
    SlowDown,
    /// `authorization_declined`: the person refused.
    Declined,
    /// `expired_token`: the code expired.
    Expired,
}

/// Every access token and refresh token issued by one emulator.
#[derive(Default)]
pub(crate) struct TokenStore {
    counter: AtomicU64,
    issued: Mutex<Vec<IssuedToken>>,
    refresh_grants: Mutex<HashMap<String, RefreshGrant>>,
    assertion_ids: Mutex<std::collections::HashSet<String>>,
    pub(crate) device_grants: Mutex<HashMap<String, DeviceGrant>>,
    pub(crate) device_polls: Mutex<std::collections::VecDeque<DevicePoll>>,
    pub(crate) code_grants: Mutex<HashMap<String, CodeGrant>>,
}

impl TokenStore {
    /// Records the `jti` of a client assertion. Returns false when it was seen before.
    pub(crate) fn record_assertion_id(&self, id: &str) -> bool {
        lock(&self.assertion_ids).insert(id.to_owned())
    }

    /// Creates and stores an access token for the given grant. The `access_token` field of
    /// `template` is replaced.
    pub(crate) fn issue_access_token(&self, mut template: IssuedToken) -> IssuedToken {
        template.access_token = self.new_token("emu-at");
        lock(&self.issued).push(template.clone());
        template
    }

    /// Creates and stores a refresh token for `grant`.
    pub(crate) fn issue_refresh_token(&self, grant: RefreshGrant) -> String {
        let token = self.new_token("emu-rt");
        lock(&self.refresh_grants).insert(token.clone(), grant);
        token
    }

    pub(crate) fn issued(&self) -> Vec<IssuedToken> {
        lock(&self.issued).clone()
    }

    pub(crate) fn find_refresh_grant(&self, refresh_token: &str) -> Option<RefreshGrant> {
        lock(&self.refresh_grants).get(refresh_token).cloned()
    }

    /// Marks a refresh token as revoked. Returns `false` if the emulator never issued it.
    pub(crate) fn revoke_refresh_token(&self, refresh_token: &str) -> bool {
        match lock(&self.refresh_grants).get_mut(refresh_token) {
            Some(grant) => {
                grant.revoked = true;
                true
            }
            None => false,
        }
    }

    /// Returns `<prefix>-<counter>-<16 random hex digits>`, unique within this store.
    pub(crate) fn new_token(&self, prefix: &str) -> String {
        let counter = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{prefix}-{counter}-{}", random_hex())
    }
}
