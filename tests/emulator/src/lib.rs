//! A local Microsoft Entra ID emulator for testing credential flows offline.
//!
//! The emulator speaks the Entra ID v2.0 protocols over plain HTTP/1.1 on `127.0.0.1`:
//!
//! - `POST /{tenant}/oauth2/v2.0/token` with the `client_credentials`, `password`,
//!   `refresh_token`, `authorization_code` (PKCE S256) and device code grants, returning
//!   Entra's success and error bodies.
//! - `POST /{tenant}/oauth2/v2.0/devicecode`, whose codes are approved at the first
//!   poll unless [`Emulator::push_device_poll`] scripts other answers first.
//! - `GET /{tenant}/oauth2/v2.0/authorize`, which consents at once for the user named
//!   by `login_hint` (else the first user) and redirects with a code.
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration` and
//!   `GET /{tenant}/discovery/v2.0/keys`.
//! - `GET /common/userrealm/{username}`.
//! - the managed identity endpoints of IMDS, App Service, Azure Arc, Azure ML and Cloud
//!   Shell (see [`managed_identity`]), and client assertions for workload identity.
//! - `GET /health`, which returns `ok`.
//!
//! Tests start it in-process, point a client at [`Emulator::url`], script faults with
//! [`Emulator::push_fault`] and then inspect [`Emulator::requests`] and
//! [`Emulator::issued_tokens`]:
//!
//! ```
//! use azauth_emulator::{Emulator, EmulatorConfig, Fault};
//!
//! let emulator = Emulator::start(EmulatorConfig::default())?;
//! let token_url = format!("{}/contoso.example/oauth2/v2.0/token", emulator.url());
//! emulator.push_fault(Fault::Status {
//!     status: 503,
//!     body: "busy".to_owned(),
//!     content_type: "text/plain".to_owned(),
//!     headers: vec![("Retry-After".to_owned(), "1".to_owned())],
//! });
//! // ... run the client against `token_url` ...
//! assert!(emulator.issued_tokens().is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Access tokens are opaque strings and ID tokens are unsigned, so nothing issued here is
//! accepted by a real resource.

#![deny(missing_docs)]

mod clock;
mod config;
mod encoding;
mod entra;
mod fault;
mod http;
mod ids;
pub mod managed_identity;
mod record;
mod routes;
mod server;
mod tokens;

pub use config::{
    DEFAULT_DEVICE_CODE_INTERVAL_SECS, DEFAULT_DEVICE_CODE_LIFETIME_SECS,
    DEFAULT_TOKEN_LIFETIME_SECS, EmulatorConfig, demo,
};
pub use fault::{Fault, TOKEN_PATH_SUFFIX};
pub use http::{MAX_BODY_BYTES, MAX_HEADER_BYTES};
pub use record::RecordedRequest;
pub use server::Emulator;
pub use tokens::{DevicePoll, IssuedToken};

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a mutex, ignoring poisoning: a panicking connection thread must not break the
/// emulator for every later request, and every guarded value stays consistent between
/// statements.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
