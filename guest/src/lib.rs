//! The azauth credential chain as a WebAssembly component.
//!
//! The component exports `get-token`: it runs MSTICPy's credential methods in order and
//! returns the first token one of them produces. Everything that touches the outside
//! world goes through imports: wasi:http for requests, wasi:cli for the environment,
//! and the host's `process` interface for programs. See `wit/azauth.wit`.

mod assertion;
mod bindings;
mod cache;
mod certificate;
mod chain;
mod clock;
mod cloud;
mod config;
mod entra;
mod log;
mod methods;
mod process;
mod secret;
mod settings;
mod store;
#[allow(dead_code, reason = "the host uses more of this file than the component")]
mod thumbprint;
mod transport;
mod user;
mod validate;

use bindings::azauth::credential::types::{AccessToken, AuthError, MethodInfo, TokenOptions};

struct Component;

impl bindings::Guest for Component {
    fn get_token(methods: Vec<String>, scope: String) -> Result<AccessToken, AuthError> {
        chain::get_token(&methods, &scope, TokenOptions::default())
    }

    fn get_token_with_options(
        methods: Vec<String>,
        scope: String,
        options: TokenOptions,
    ) -> Result<AccessToken, AuthError> {
        chain::get_token(&methods, &scope, options)
    }

    fn list_methods() -> Vec<MethodInfo> {
        methods::Method::ALL.iter().map(|m| m.info()).collect()
    }

    fn sign_out(username: Option<String>) -> Result<Vec<String>, String> {
        store::PersistentCache::new(store::HostStorage).sign_out(username.as_deref())
    }
}

impl Default for TokenOptions {
    fn default() -> Self {
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

bindings::export!(Component with_types_in bindings);
