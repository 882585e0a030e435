//! Loading the precompiled component and running it under a policy.

use std::sync::Arc;

use wasmtime::error::Context as _;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
use wasmtime_wasi_http::WasiHttpCtx;

use crate::bindings::{CredentialHost, CredentialHostPre};
use crate::bindings::azauth::credential::types::{AccessToken, AuthError, MethodInfo, TokenOptions};
use crate::engine_config::engine_config;
use crate::files::{self, FileGrants};
use crate::policy::Policy;
use crate::keyring_store::KeyringTokenStore;
use crate::state::{HostState, PolicyHooks, TokenStoreBackend};
use crate::token_store::FileTokenStore;
use crate::user::{NoUser, UserInterface};

/// The component as WebAssembly, for hosts other than this one (jco, wasmtime-py).
pub static COMPONENT_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/azauth.wasm"));

/// The loaded component, ready to instantiate any number of times.
pub struct Runtime {
    engine: Engine,
    pre: CredentialHostPre<HostState>,
}

impl Runtime {
    /// Loads the precompiled component and links WASI and the custom imports.
    pub fn new() -> anyhow::Result<Runtime> {
        let engine = Engine::new(&engine_config()).context("creating the wasmtime engine")?;
        let started = std::time::Instant::now();
        let component = crate::embedded::load(&engine)?;
        tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, "component loaded");

        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).context("linking WASI")?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .context("linking wasi:http")?;
        CredentialHost::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
            .context("linking the process and logging imports")?;
        let pre = linker
            .instantiate_pre(&component)
            .context("checking the component's imports")?;
        let pre = CredentialHostPre::new(pre).context("checking the component's exports")?;
        tracing::debug!(elapsed_us = started.elapsed().as_micros() as u64, "component linked");
        Ok(Runtime { engine, pre })
    }

    /// Instantiates the component under a policy.
    ///
    /// The component can read only the environment variables and files that the policy
    /// grants, reads them once, and keeps its token cache for the life of the session. It
    /// also sees `AZAUTH_UTC_OFFSET_SECONDS`, the host's current offset from UTC, which the
    /// `cli` method needs to read older Azure CLI output. Folders the policy grants are
    /// opened read-only; one that does not exist or cannot be opened is skipped.
    pub async fn session(&self, policy: &Policy) -> anyhow::Result<Session> {
        self.session_with_user(policy, Arc::new(NoUser)).await
    }

    /// Instantiates the component under a policy, with `user` as the person that the
    /// sign-in methods reach when the policy allows sign-in.
    pub async fn session_with_user(
        &self,
        policy: &Policy,
        user: Arc<dyn UserInterface>,
    ) -> anyhow::Result<Session> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.inherit_stderr()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for name in &policy.env {
            if let Ok(value) = std::env::var(name) {
                wasi.env(name, value);
            }
        }
        let file_grants = files::grant(&mut wasi, &policy.files)?;
        wasi.env(UTC_OFFSET_VARIABLE, local_utc_offset_seconds().to_string());
        for (host_dir, guest_path) in &policy.read_dirs {
            if !host_dir.is_dir() {
                tracing::debug!(folder = %host_dir.display(), "the granted folder does not exist");
                continue;
            }
            if let Err(error) = wasi.preopened_dir(host_dir, guest_path, FsPerms::ReadOnly) {
                tracing::warn!(
                    folder = %host_dir.display(),
                    guest_path = %guest_path,
                    "the granted folder could not be opened, so the component cannot read it: {error}"
                );
            }
        }
        let state = HostState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: PolicyHooks {
                policy: Arc::new(policy.clone()),
            },
            programs: policy.programs.clone(),
            user: policy.allow_sign_in.then_some(user),
            listeners: Default::default(),
            token_store: policy.token_cache_dir.clone().map(|dir| {
                if policy.token_cache_in_keyring {
                    TokenStoreBackend::Keyring(KeyringTokenStore::new(dir))
                } else {
                    TokenStoreBackend::File(FileTokenStore::new(dir))
                }
            }),
        };
        let mut store = Store::new(&self.engine, state);
        let bindings = self
            .pre
            .instantiate_async(&mut store)
            .await
            .context("instantiating the credential component")?;
        Ok(Session {
            store,
            bindings,
            _file_grants: file_grants,
        })
    }
}

/// Name of the variable that carries the host's offset from UTC into the component.
pub const UTC_OFFSET_VARIABLE: &str = "AZAUTH_UTC_OFFSET_SECONDS";

/// Returns the local time zone's offset from UTC now, in seconds east of UTC (`TZ`
/// applies).
fn local_utc_offset_seconds() -> i32 {
    use chrono::Offset as _;
    chrono::Local::now().offset().fix().local_minus_utc()
}

/// One instance of the component and its token cache.
pub struct Session {
    store: Store<HostState>,
    bindings: CredentialHost,
    /// Kept so that the granted files live as long as the instance.
    _file_grants: FileGrants,
}

impl Session {
    /// Runs the chain. The outer error is a host fault (a trap); the inner one is the
    /// component's result.
    pub async fn get_token(
        &mut self,
        methods: &[String],
        scope: &str,
        options: &TokenOptions,
    ) -> anyhow::Result<Result<AccessToken, AuthError>> {
        self.bindings
            .call_get_token_with_options(&mut self.store, methods, scope, options)
            .await
            .context("the credential component trapped")
            .map_err(anyhow::Error::from)
    }

    /// Removes signed-in accounts from the persistent token cache: all, or those with
    /// the user name `username`. Returns the user names removed; the inner error says
    /// why the cache could not be changed.
    pub async fn sign_out(
        &mut self,
        username: Option<&str>,
    ) -> anyhow::Result<Result<Vec<String>, String>> {
        self.bindings
            .call_sign_out(&mut self.store, username)
            .await
            .context("the credential component trapped")
            .map_err(anyhow::Error::from)
    }

    /// Lists the component's methods.
    pub async fn list_methods(&mut self) -> anyhow::Result<Vec<MethodInfo>> {
        self.bindings
            .call_list_methods(&mut self.store)
            .await
            .context("the credential component trapped")
            .map_err(anyhow::Error::from)
    }
}
