//! A wasmtime host for the azauth credential component.
//!
//! The component implements MSTICPy's Azure credential chain. This crate loads it
//! precompiled, grants it capabilities by [`Policy`], and calls it:
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use azauth::{Policy, Runtime, TokenOptions, Cloud};
//!
//! let runtime = Runtime::new()?;
//! let mut policy = Policy::new();
//! policy.allow_cloud(Cloud::Global).allow_method_variables();
//! let mut session = runtime.session(&policy).await?;
//! let options = TokenOptions::default();
//! let token = session
//!     .get_token(&["env".to_string()], "https://management.azure.com/.default", &options)
//!     .await?;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod bindings;
mod config;
mod embedded;
mod engine_config;
mod files;
mod keyring_store;
mod pinned_tls;
mod policy;
mod process;
mod runtime;
mod state;
mod token_store;
mod user;

pub use bindings::azauth::credential::types::{
    AccessToken, Attempt, AuthError, ConfigSource, MethodInfo, Outcome, TokenOptions,
};
pub use files::MAX_GRANTED_FILE_BYTES;
pub use config::{CONFIG_NAME, PolicyHints, find as find_config, policy_hints, read as read_config};
pub use policy::{
    Authority, Cloud, DEFAULT_PROGRAMS, MAX_HTTP_TIMEOUT, MAX_PROCESS_OUTPUT, MAX_PROCESS_TIMEOUT,
    METHOD_VARIABLES, Policy, Scheme, VSCODE_DIRS,
};
pub use process::CHILD_VARIABLES;
pub use runtime::{COMPONENT_WASM, Runtime, Session};
pub use keyring_store::KeyringTokenStore;
pub use token_store::{FileTokenStore, default_token_cache_dir};
pub use user::{DeviceCodePrompt, NoUser, TerminalUser, UserInterface};

impl Default for TokenOptions {
    fn default() -> TokenOptions {
        TokenOptions {
            tenant_id: None,
            client_id: None,
            client_secret: None,
            certificate_path: None,
            certificate_password: None,
            cloud: None,
            authority_host: None,
            config: None,
            send_certificate_chain: None,
            login_hint: None,
            sign_in_timeout_secs: None,
            imds_probe_timeout_ms: None,
            process_timeout_ms: None,
            identity_object_id: None,
            identity_resource_id: None,
        }
    }
}
