//! The store state of one component instance: WASI contexts, the resource table and
//! the policy hooks.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use crate::bindings::azauth::credential::{logging, process, token_store, types, user};
use crate::policy::Policy;
use crate::keyring_store::KeyringTokenStore;
use crate::token_store::FileTokenStore;
use crate::user::UserInterface;

/// Store data: what the component's imports act on.
pub struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    pub(crate) hooks: PolicyHooks,
    pub(crate) programs: BTreeSet<String>,
    /// The person, for the sign-in methods; `None` when the policy grants no sign-in.
    pub(crate) user: Option<Arc<dyn UserInterface>>,
    /// Redirect listeners opened by `listen-redirect`, by port.
    pub(crate) listeners: HashMap<u16, tokio::net::TcpListener>,
    /// The persistent token cache; `None` when the policy grants none.
    pub(crate) token_store: Option<TokenStoreBackend>,
}

/// Where the persistent token cache is kept.
pub(crate) enum TokenStoreBackend {
    /// A private file per partition.
    File(FileTokenStore),
    /// A system keyring item per partition.
    Keyring(KeyringTokenStore),
}

/// The error of every `user` import when the policy grants no sign-in.
const NO_SIGN_IN: &str = "the host policy does not allow sign-in prompts";

/// The error of every `token-store` import when the policy grants no cache.
const NO_TOKEN_CACHE: &str = "the persistent token cache is disabled";

/// Redirect listeners kept open at once; each sign-in needs one.
const MAX_LISTENERS: usize = 4;

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl types::Host for HostState {}

impl process::Host for HostState {
    async fn run(
        &mut self,
        command: process::Command,
    ) -> Result<process::Completed, process::RunError> {
        crate::process::run(command, &self.programs).await
    }
}

impl user::Host for HostState {
    async fn show_device_code(&mut self, prompt: user::DeviceCodePrompt) -> Result<(), String> {
        let user = self.user.as_ref().ok_or(NO_SIGN_IN)?;
        tracing::info!(verification_uri = %prompt.verification_uri, "showing the device code");
        user.show_device_code(&prompt)
    }

    async fn end_device_code(&mut self, signed_in: bool) {
        if let Some(user) = &self.user {
            user.end_device_code(signed_in);
        }
    }

    async fn open_browser(&mut self, url: String) -> Result<(), String> {
        let user = self.user.as_ref().ok_or(NO_SIGN_IN)?;
        // The URL contains no secret: the PKCE challenge and state are safe to log.
        tracing::debug!(%url, "opening the browser");
        user.open_browser(&url)
    }

    async fn listen_redirect(&mut self) -> Result<u16, String> {
        if self.user.is_none() {
            return Err(NO_SIGN_IN.to_string());
        }
        if self.listeners.len() >= MAX_LISTENERS {
            return Err(format!("{MAX_LISTENERS} redirect listeners are already open"));
        }
        let (listener, port) = crate::user::listen().await?;
        self.listeners.insert(port, listener);
        Ok(port)
    }

    async fn wait_redirect(&mut self, port: u16, timeout_ms: u32) -> Result<String, String> {
        let listener = self
            .listeners
            .remove(&port)
            .ok_or_else(|| format!("no redirect listener is open on port {port}"))?;
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        crate::user::wait(listener, timeout).await
    }
}

impl token_store::Host for HostState {
    async fn load(&mut self, partition: String) -> Result<Option<String>, String> {
        match self.token_store.as_ref().ok_or(NO_TOKEN_CACHE)? {
            TokenStoreBackend::File(store) => store.load(&partition),
            TokenStoreBackend::Keyring(store) => store.load(&partition).await,
        }
    }

    async fn save(&mut self, partition: String, data: String) -> Result<(), String> {
        let result = match self.token_store.as_ref().ok_or(NO_TOKEN_CACHE)? {
            TokenStoreBackend::File(store) => store.save(&partition, &data),
            TokenStoreBackend::Keyring(store) => store.save(&partition, &data).await,
        };
        result.inspect_err(|error| tracing::warn!("saving the token cache failed: {error}"))
    }

    async fn remove(&mut self, partition: String) -> Result<(), String> {
        match self.token_store.as_ref().ok_or(NO_TOKEN_CACHE)? {
            TokenStoreBackend::File(store) => store.remove(&partition),
            TokenStoreBackend::Keyring(store) => store.remove(&partition).await,
        }
    }
}

impl logging::Host for HostState {
    async fn log(&mut self, level: logging::Level, message: String) {
        match level {
            logging::Level::Error => tracing::error!(target: "azauth::component", "{message}"),
            logging::Level::Warn => tracing::warn!(target: "azauth::component", "{message}"),
            logging::Level::Info => tracing::info!(target: "azauth::component", "{message}"),
            logging::Level::Debug => tracing::debug!(target: "azauth::component", "{message}"),
            logging::Level::Trace => tracing::trace!(target: "azauth::component", "{message}"),
        }
    }
}

/// wasi:http hooks that enforce the policy and cap every timeout.
pub struct PolicyHooks {
    pub(crate) policy: Arc<Policy>,
}

impl WasiHttpHooks for PolicyHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<(
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                ),
                wasmtime_wasi_http::Error>,
            > + Send,
    > {
        _ = fut;
        let target = format!(
            "{}://{}{}",
            request.uri().scheme_str().unwrap_or("?"),
            request.uri().authority().map(|a| a.as_str()).unwrap_or(""),
            request.uri().path()
        );
        if let Err(reason) = self.policy.check_request(request.uri()) {
            tracing::warn!(target = %target, "request denied: {reason}");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let options = capped(options, self.policy.http_timeout);
        if let Some(thumbprint) = self.policy.pinned_thumbprint(request.uri()) {
            tracing::debug!(
                target = %target,
                method = %request.method(),
                thumbprint = %crate::pinned_tls::format_sha1_thumbprint(&thumbprint),
                "sending request over TLS pinned to a certificate thumbprint"
            );
            return Box::new(async move {
                let (response, io) = crate::pinned_tls::send_request(request, options, thumbprint).await?;
                Ok((
                    response.map(BodyExt::boxed_unsync),
                    Box::new(io) as Box<dyn Future<Output = _> + Send>,
                ))
            });
        }
        tracing::debug!(target = %target, method = %request.method(), "sending request");
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }

    fn p2_error_from_connect(&mut self, error: &std::io::Error) -> ErrorCode {
        use std::io::ErrorKind;
        tracing::debug!("connect error: {error}");
        match error.kind() {
            ErrorKind::ConnectionRefused => ErrorCode::ConnectionRefused,
            ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable => {
                ErrorCode::DestinationUnavailable
            }
            ErrorKind::TimedOut => ErrorCode::ConnectionTimeout,
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                ErrorCode::ConnectionTerminated
            }
            _ => ErrorCode::InternalError(Some(format!("connect failed: {error}"))),
        }
    }

    fn p2_error_from_tls(&mut self, error: &std::io::Error) -> ErrorCode {
        tracing::debug!("TLS error: {error}");
        let rustls_error = error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
        if let Some(rustls::Error::InvalidCertificate(_)) = rustls_error {
            ErrorCode::TlsCertificateError
        } else if error.to_string().to_ascii_lowercase().contains("certificate") {
            ErrorCode::TlsCertificateError
        } else {
            ErrorCode::TlsProtocolError
        }
    }
}

/// Applies the policy's cap to each timeout, and to any the component left unset.
fn capped(options: Option<RequestOptions>, limit: Duration) -> RequestOptions {
    let cap = |value: Option<Duration>| Some(value.unwrap_or(limit).min(limit));
    let options = options.unwrap_or_default();
    RequestOptions {
        connect_timeout: cap(options.connect_timeout),
        first_byte_timeout: cap(options.first_byte_timeout),
        between_bytes_timeout: cap(options.between_bytes_timeout),
    }
}
