//! The credential chain: methods run in order until one produces a token.
//!
//! An unavailable method lets the chain go on. A failed method stops it, so that a
//! wrong secret never falls through to a sign-in prompt. Tokens are cached per
//! component instance.

use std::cell::RefCell;

use crate::bindings::azauth::credential::types::{
    AccessToken, Attempt, AuthError, Outcome, TokenOptions,
};
use crate::cache::{Lookup, TokenCache};
use crate::entra::Token;
use crate::methods::{Method, MethodError};
use crate::settings::{self, Environment, Settings};
use crate::{clock, log};

thread_local! {
    static CACHE: RefCell<TokenCache> = RefCell::new(TokenCache::default());
    static ENVIRONMENT: Environment = Environment::from_process();
}

/// Runs the chain for one call.
pub fn get_token(
    methods: &[String],
    scope: &str,
    options: TokenOptions,
) -> Result<AccessToken, AuthError> {
    let settings = settings::resolve(methods, scope, options).map_err(AuthError::InvalidRequest)?;
    let names: Vec<&str> = settings.methods.iter().map(|m| m.name()).collect();
    log::debug(&format!(
        "chain {} for scope {} (cloud {}, authority {})",
        names.join(", "),
        settings.scope,
        settings.cloud.name(),
        settings.authority.url()
    ));

    let mut attempts = Vec::new();
    for &method in &settings.methods {
        let started = clock::monotonic_nanos();
        let result = ENVIRONMENT.with(|env| run_method(method, &settings, env));
        let elapsed_ms = (clock::monotonic_nanos().saturating_sub(started)) / 1_000_000;
        match result {
            Ok(token) => {
                log::info(&format!("{} produced a token in {elapsed_ms} ms", method.name()));
                attempts.push(attempt(method, Outcome::Succeeded, String::new(), elapsed_ms));
                return Ok(AccessToken {
                    token: token.access_token.expose().to_string(),
                    expires_on: token.expires_on,
                    token_type: token.token_type,
                    tenant: token.tenant,
                    method: method.name().to_string(),
                    attempts,
                });
            }
            Err(MethodError::Unavailable(reason)) => {
                log::info(&format!("{} unavailable after {elapsed_ms} ms: {reason}", method.name()));
                attempts.push(attempt(method, Outcome::Unavailable, reason, elapsed_ms));
            }
            Err(MethodError::Failed(reason)) => {
                log::info(&format!("{} failed after {elapsed_ms} ms: {reason}", method.name()));
                attempts.push(attempt(method, Outcome::Failed, reason, elapsed_ms));
                return Err(AuthError::NoToken(attempts));
            }
        }
    }
    Err(AuthError::NoToken(attempts))
}

/// Plans a method, then serves its token from the cache or acquires a new one.
fn run_method(method: Method, settings: &Settings, env: &Environment) -> Result<Token, MethodError> {
    let plan = method.plan(settings, env)?;
    let key = plan.cache_key();
    let now = clock::now_unix();
    let cached = CACHE.with(|cache| cache.borrow().lookup(&key, now));
    let stale = match cached {
        Lookup::Fresh(token) => {
            log::debug(&format!("{} token served from the cache", method.name()));
            return Ok(token);
        }
        Lookup::Stale(token) => Some(token),
        Lookup::Miss => None,
    };

    match (plan.acquire(), stale) {
        (Ok(token), _) => {
            CACHE.with(|cache| cache.borrow_mut().insert(key, token.clone()));
            Ok(token)
        }
        (Err(error), Some(token)) => {
            // The cached token is still valid, so a failed early refresh is not fatal.
            log::warn(&format!(
                "{} could not refresh its token early, so the cached token is used until it \
                 expires: {error:?}",
                method.name()
            ));
            Ok(token)
        }
        (Err(error), None) => Err(error),
    }
}

fn attempt(method: Method, outcome: Outcome, reason: String, elapsed_ms: u64) -> Attempt {
    Attempt {
        method: method.name().to_string(),
        outcome,
        reason,
        elapsed_ms,
    }
}
