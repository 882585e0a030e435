//! The store state of one component instance: WASI contexts, the resource table and
//! the policy hooks.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use crate::bindings::azauth::credential::{logging, process, types};
use crate::policy::Policy;

/// Store data: what the component's imports act on.
pub struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    pub(crate) hooks: PolicyHooks,
    pub(crate) programs: BTreeSet<String>,
}

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
        if error.to_string().to_ascii_lowercase().contains("certificate") {
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
