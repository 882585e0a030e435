//! https to a server whose certificate is pinned by SHA-1 thumbprint, for Service Fabric
//! managed identity.
//!
//! Service Fabric's identity endpoint presents the cluster certificate, which no public
//! root signs. MSAL accepts it when the SHA-1 thumbprint of the leaf certificate (its DER
//! bytes) equals `IDENTITY_SERVER_THUMBPRINT`. [`send_request`] does the same and
//! otherwise follows `wasmtime_wasi_http::default_send_request`: TCP, TLS, then an
//! HTTP/1.1 connection with the request's timeouts, returning the same error type.

use std::future::poll_fn;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use sha1::{Digest, Sha1};
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

#[path = "../../guest/src/thumbprint.rs"]
mod thumbprint;

pub use thumbprint::{SHA1_LEN, format_sha1_thumbprint, parse_sha1_thumbprint};

/// A SHA-1 certificate thumbprint.
pub type Sha1Thumbprint = [u8; SHA1_LEN];

/// Accepts a server only if its leaf certificate has the pinned SHA-1 thumbprint.
///
/// It checks neither the certificate chain, nor the server name, nor the validity dates,
/// because the thumbprint names one certificate.
/// NOTE: whether MSAL also ignores the validity dates of the pinned certificate was not
/// checked. The handshake
/// signatures are still verified, which proves that the server has the certificate's
/// private key.
#[derive(Debug)]
struct ThumbprintVerifier {
    thumbprint: Sha1Thumbprint,
    algorithms: WebPkiSupportedAlgorithms,
}

/// The leaf certificate's thumbprint differs from the pinned one.
#[derive(Debug)]
struct ThumbprintMismatch {
    expected: Sha1Thumbprint,
    actual: Sha1Thumbprint,
}

impl std::fmt::Display for ThumbprintMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server certificate's SHA-1 thumbprint is {}, but {} is pinned",
            format_sha1_thumbprint(&self.actual),
            format_sha1_thumbprint(&self.expected)
        )
    }
}

impl std::error::Error for ThumbprintMismatch {}

impl ServerCertVerifier for ThumbprintVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let actual: Sha1Thumbprint = Sha1::digest(end_entity.as_ref()).into();
        if actual == self.thumbprint {
            Ok(ServerCertVerified::assertion())
        } else {
            let mismatch = ThumbprintMismatch {
                expected: self.thumbprint,
                actual,
            };
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(mismatch)),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Builds a TLS client configuration that trusts only the certificate with `thumbprint`.
fn client_config(thumbprint: Sha1Thumbprint) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = ThumbprintVerifier {
        thumbprint,
        algorithms: provider.signature_verification_algorithms,
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::<CryptoProvider>::clone(&provider))
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
}

/// Returns the server name for the TLS handshake: the URI's host, as an IP address when it
/// is one. The verifier does not check it.
fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(address) = bare.parse::<std::net::IpAddr>() {
        return Ok(ServerName::from(address));
    }
    Ok(ServerName::try_from(bare.to_string())?)
}

/// The future that drives the HTTP connection after the response head has arrived.
type ConnectionTask = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// Sends `request` over https to a server pinned to `thumbprint`.
///
/// The request must be an https URI, and `options` carries the connect, first-byte and
/// between-bytes timeouts, already capped by the policy. The TCP connection and the TLS
/// handshake together must finish within the connect timeout. A thumbprint mismatch
/// fails the handshake, before any request byte is sent, with [`Error::Tls`] around a
/// [`rustls::Error::InvalidCertificate`].
pub async fn send_request(
    mut request: http::Request<WasiBody>,
    options: RequestOptions,
    thumbprint: Sha1Thumbprint,
) -> Result<(http::Response<PinnedResponseBody>, ConnectionTask), Error> {
    let unlimited = Duration::from_secs(600);
    let connect_timeout = options.connect_timeout.unwrap_or(unlimited);
    let first_byte_timeout = options.first_byte_timeout.unwrap_or(unlimited);
    let between_bytes_timeout = options.between_bytes_timeout.unwrap_or(unlimited);

    let uri = request.uri();
    let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?.to_string();
    let port = uri.port_u16().unwrap_or(443);
    let address = format!("{host}:{port}");
    let name = server_name(&host)?;

    let config = client_config(thumbprint).map_err(|error| Error::Tls(std::io::Error::other(error)))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let connect = async {
        let tcp = TcpStream::connect(&address).await.map_err(Error::Connect)?;
        connector.connect(name, tcp).await.map_err(Error::Tls)
    };
    let stream = tokio::time::timeout(connect_timeout, connect)
        .await
        .map_err(|_| Error::ConnectionTimeout)??;

    let handshake = hyper::client::conn::http1::Builder::new().handshake(TokioIo::new(stream));
    let (mut sender, connection) = tokio::time::timeout(connect_timeout, handshake)
        .await
        .map_err(|_| Error::ConnectionTimeout)??;

    // The request line carries only the path and query, because the server is no proxy.
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |value| value.as_str())
        .to_string();
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(path_and_query)
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)?;

    let response_head = async move {
        tokio::time::timeout(first_byte_timeout, sender.send_request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?
            .map_err(Error::from)
    };

    // hyper makes progress only while the connection future is polled, so it is polled
    // alongside the response until the response head arrives.
    let mut response_head = pin!(response_head);
    let mut connection = Some(connection);
    let response = poll_fn(|cx| {
        if let Poll::Ready(result) = response_head.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        let Some(running) = connection.as_mut() else {
            return Poll::Pending;
        };
        match Pin::new(running).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => {
                connection = None;
                match result {
                    Ok(()) => response_head.as_mut().poll(cx),
                    Err(error) => Poll::Ready(Err(Error::from(error))),
                }
            }
        }
    })
    .await?;

    let remaining: ConnectionTask = Box::pin(async move {
        let Some(running) = connection else {
            return Ok(());
        };
        running.await.map_err(|error| {
            if error.is_timeout() {
                Error::HttpResponseTimeout
            } else {
                Error::from(error)
            }
        })
    });
    let body = response.map(|incoming| PinnedResponseBody::new(incoming, between_bytes_timeout));
    Ok((body, remaining))
}

/// A response body that fails when no data arrives within the between-bytes timeout.
pub struct PinnedResponseBody {
    incoming: Incoming,
    between_bytes_timeout: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl PinnedResponseBody {
    fn new(incoming: Incoming, between_bytes_timeout: Duration) -> PinnedResponseBody {
        PinnedResponseBody {
            incoming,
            between_bytes_timeout,
            deadline: Box::pin(tokio::time::sleep(between_bytes_timeout)),
        }
    }
}

impl Body for PinnedResponseBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = tokio::time::Instant::now() + this.between_bytes_timeout;
                this.deadline.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) if error.is_timeout() => {
                Poll::Ready(Some(Err(Error::HttpResponseTimeout)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(Error::from(error)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_from_host() {
        assert_eq!(
            server_name("127.0.0.1").unwrap(),
            ServerName::from(std::net::Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            server_name("[::1]").unwrap(),
            ServerName::from(std::net::Ipv6Addr::LOCALHOST)
        );
        assert_eq!(
            server_name("sf.example").unwrap(),
            ServerName::try_from("sf.example").unwrap()
        );
        assert!(server_name("bad name").is_err());
    }

    #[test]
    fn mismatch_names_both_thumbprints() {
        let mismatch = ThumbprintMismatch {
            expected: [0xAB; SHA1_LEN],
            actual: [0x01; SHA1_LEN],
        };
        let text = mismatch.to_string();
        assert!(text.contains(&"01".repeat(SHA1_LEN)), "{text}");
        assert!(text.contains(&"AB".repeat(SHA1_LEN)), "{text}");
    }
}
