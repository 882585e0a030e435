//! `interactive`: browser sign-in with the authorization code flow and PKCE (RFC 6749
//! section 4.1, RFC 7636), as azure-identity's `InteractiveBrowserCredential` does it.
//!
//! 1. A cached sign-in is reused silently when there is one (see `sign_in`).
//! 2. The host listens on a free loopback port; the redirect URI is
//!    `http://localhost:PORT`.
//! 3. The host opens the authorize URL in the browser. The URL carries an S256 PKCE
//!    challenge and a random `state`.
//! 4. The redirect's `state` must equal the one sent; its code is redeemed with the PKCE
//!    verifier at the token endpoint.
//!
//! No browser, or no free port, makes the method unavailable. Once the browser is open,
//! every failure is "failed".

use base64::Engine as _;
use oauth2::{PkceCodeChallenge, PkceCodeVerifier};

use super::sign_in::UserSignIn;
use super::{MethodError, Plan};
use crate::cache::CacheKey;
use crate::entra::{self, Grant, Token, UserToken};
use crate::secret::Secret;
use crate::settings::Settings;
use crate::{log, user};

/// Wait for the browser's redirect when the caller sets none, in seconds, as
/// azure-identity's default.
pub const DEFAULT_TIMEOUT_SECS: u32 = 300;

pub(super) fn plan(settings: &Settings) -> Result<Box<dyn Plan>, MethodError> {
    Ok(Box::new(InteractivePlan {
        sign_in: UserSignIn::from_settings("interactive", settings)?,
        login_hint: settings.login_hint.clone(),
        timeout_secs: settings.sign_in_timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS),
    }))
}

/// A browser sign-in, ready to run.
#[derive(Debug)]
struct InteractivePlan {
    sign_in: UserSignIn,
    login_hint: Option<String>,
    timeout_secs: u32,
}

impl Plan for InteractivePlan {
    fn cache_key(&self) -> CacheKey {
        self.sign_in.cache_key()
    }

    fn acquire(&self) -> Result<Token, MethodError> {
        if let Some(token) = self.sign_in.silent() {
            return Ok(token);
        }
        let user_token = self.sign_in_with_browser()?;
        self.sign_in.remember(&user_token);
        Ok(user_token.token)
    }
}

impl InteractivePlan {
    fn sign_in_with_browser(&self) -> Result<UserToken, MethodError> {
        let port = user::listen_redirect().map_err(|error| {
            MethodError::Unavailable(format!(
                "no loopback port can receive the browser's redirect: {error}. Use devicecode \
                 instead"
            ))
        })?;
        let redirect_uri = format!("http://localhost:{port}");
        let verifier = Secret::new(random_base64url(32));
        let state = random_base64url(16);
        let url = self.authorize_url(&redirect_uri, &verifier, &state)?;

        user::open_browser(&url).map_err(|error| {
            MethodError::Unavailable(format!(
                "{error}. Sign in with devicecode instead, which shows a code to enter in a \
                 browser on any device"
            ))
        })?;
        log::info(&format!(
            "interactive waits up to {} s for the browser to return to {redirect_uri}",
            self.timeout_secs
        ));

        let timeout_ms = self.timeout_secs.saturating_mul(1000);
        let target = user::wait_redirect(port, timeout_ms).map_err(|error| {
            MethodError::Failed(format!(
                "the browser sign-in did not complete: {error}. Finish the sign-in within {} \
                 seconds, or raise the sign-in timeout",
                self.timeout_secs
            ))
        })?;
        let redirect = read_redirect(&target, &state)?;
        let anchor_mailbox = redirect.client_info.as_deref().and_then(entra::anchor_mailbox_of);
        let grant = Grant::AuthorizationCode {
            code: &redirect.code,
            redirect_uri: &redirect_uri,
            verifier: &verifier,
            anchor_mailbox: anchor_mailbox.as_deref(),
        };
        entra::request_user_token(&self.sign_in.endpoint(), grant, &self.sign_in.scope)
    }

    /// Builds `{authority}/{tenant}/oauth2/v2.0/authorize?...` with MSAL's parameters.
    ///
    /// NOTE: azure-identity 1.27 requests `response_mode=form_post`, but this sends
    /// `query`, the default of azure-identity 1.19, so the code arrives in the redirect's URL.
    /// The host's listener accepts both. No `nonce` is sent, because the ID token is
    /// used only to name the account, and PKCE with `state` binds the code to this run.
    fn authorize_url(&self, redirect_uri: &str, verifier: &Secret, state: &str) -> Result<String, MethodError> {
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            verifier.expose().to_string(),
        ));
        let base = self.sign_in.endpoint_url("authorize");
        let mut url = oauth2::url::Url::parse(&base)
            .map_err(|error| MethodError::Failed(format!("invalid authorize URL {base}: {error}")))?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &self.sign_in.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &entra::user_scope_list(&self.sign_in.scope))
                .append_pair("state", state)
                .append_pair("code_challenge", challenge.as_str())
                .append_pair("code_challenge_method", challenge.method().as_str())
                .append_pair("prompt", "select_account")
                .append_pair("response_mode", "query")
                .append_pair("client_info", "1");
            if let Some(hint) = &self.login_hint {
                // MSAL sends the hint twice: for the sign-in page and for routing.
                query
                    .append_pair("login_hint", hint)
                    .append_pair("X-AnchorMailbox", &format!("UPN:{hint}"));
            }
        }
        Ok(url.into())
    }
}

/// Returns `len` random bytes as base64url without padding.
fn random_base64url(len: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(user::random_bytes(len))
}

/// The parts of a successful redirect that the code redemption uses.
#[derive(Debug)]
struct Redirect {
    code: Secret,
    /// Entra ID's `client_info`, when the authorize request asked for it.
    client_info: Option<String>,
}

/// Reads the code from the redirect's request target, after checking its `state`.
///
/// A redirect that carries `error` fails with Entra ID's description. A `state` that
/// differs from the one sent fails, because the redirect then did not come from this
/// sign-in (RFC 6749 section 10.12).
fn read_redirect(target: &str, expected_state: &str) -> Result<Redirect, MethodError> {
    let query = target.split_once('?').map_or("", |(_, query)| query);
    let pairs: Vec<(String, String)> = oauth2::url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };

    if value("state") != Some(expected_state) {
        return Err(MethodError::Failed(
            "the browser's redirect carried a different state than the sign-in request, so it \
             was rejected as possibly forged; sign in again"
                .to_string(),
        ));
    }
    if let Some(error) = value("error") {
        let description = value("error_description").unwrap_or("");
        let first_line = description.lines().next().unwrap_or("").trim();
        return Err(MethodError::Failed(format!(
            "the browser sign-in returned {error}: {first_line}"
        )));
    }
    match value("code") {
        Some(code) if !code.is_empty() => Ok(Redirect {
            code: Secret::new(code),
            client_info: value("client_info").map(str::to_string),
        }),
        _ => Err(MethodError::Failed(
            "the browser's redirect carried neither a code nor an error".to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_code_read_after_state_check() {
        let redirect =
            read_redirect("/?code=c%2B1&state=s-1&session_state=x&client_info=eyJ9", "s-1").unwrap();
        assert_eq!(redirect.code.expose(), "c+1");
        assert_eq!(redirect.client_info.as_deref(), Some("eyJ9"));
        // A form_post body arrives as `?` and the body.
        let redirect = read_redirect("?code=c2&state=s-1", "s-1").unwrap();
        assert_eq!(redirect.code.expose(), "c2");
        assert_eq!(redirect.client_info, None);
    }

    #[test]
    fn redirect_with_wrong_or_missing_state_rejected() {
        for target in ["/?code=c1&state=forged", "/?code=c1", "/"] {
            let error = read_redirect(target, "s-1").unwrap_err();
            assert!(
                matches!(&error, MethodError::Failed(text) if text.contains("different state")),
                "{target}: {error:?}"
            );
        }
    }

    #[test]
    fn redirect_error_keeps_description() {
        let target = "/?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent.%0D%0ATrace+ID%3A+1&state=s";
        let error = read_redirect(target, "s").unwrap_err();
        assert_eq!(
            error,
            MethodError::Failed(
                "the browser sign-in returned access_denied: AADSTS65004: User declined to consent."
                    .to_string()
            )
        );
        let error = read_redirect("/?state=s", "s").unwrap_err();
        assert!(matches!(error, MethodError::Failed(text) if text.contains("neither a code")));
    }
}
