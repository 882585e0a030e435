//! Client assertions (RFC 7523 section 2.2): the signed JWT with which a confidential
//! client authenticates by certificate, checked as Entra ID checks it.
//!
//! Checks, in order: the assertion type; the JWS form and header (`alg` RS256 or PS256,
//! a thumbprint in `x5t` or `x5t#S256`, base64url with or without padding, and an
//! `x5c` whose first entry is the named certificate when present); the thumbprint
//! against the application's certificates; the signature against that certificate's
//! key; `iss` and `sub` against `client_id`; `aud` against the token endpoint; the time
//! window; and last `jti`, which may be used once.

use rsa::signature::Verifier;
use serde_json::Value;

use super::EntraError;
use crate::clock::unix_now;
use crate::config::{App, RegisteredCertificate};
use crate::encoding::base64_decode;
use crate::server::State;

/// `client_assertion_type` of a JWT client assertion.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Clock skew allowed on `nbf` and `exp`, in seconds: Entra ID allows 5 minutes.
const CLOCK_SKEW_SECS: u64 = 300;

/// Longest accepted time from `nbf` (or now) to `exp`, in seconds.
///
/// NOTE: Entra ID documents no maximum; Microsoft asks for 5 to 10 minutes. The
/// emulator rejects more than an hour so that a client that sends long-lived
/// assertions is noticed.
const MAX_LIFETIME_SECS: u64 = 3600;

/// What the endpoint needs to check an assertion.
pub(crate) struct AssertionContext<'a> {
    /// `client_id` of the form.
    pub(crate) client_id: &'a str,
    /// Token endpoint URLs the audience may name: with the tenant as in the path, and
    /// with the tenant ID.
    pub(crate) audiences: Vec<String>,
}

/// Checks a client assertion for `app`.
pub(crate) fn verify(
    state: &State,
    app: &App,
    assertion_type: &str,
    assertion: &str,
    context: &AssertionContext<'_>,
) -> Result<(), EntraError> {
    if assertion_type != JWT_BEARER {
        return Err(EntraError::invalid_assertion_type(assertion_type));
    }
    let segments: Vec<&str> = assertion.split('.').collect();
    let [header_text, payload_text, signature_text] = segments[..] else {
        return Err(EntraError::malformed_assertion("it is not a JWS in compact form"));
    };
    let header = decode_json(header_text, "header")?;
    let claims = decode_json(payload_text, "payload")?;
    let signature = base64url_decode(signature_text)
        .ok_or_else(|| EntraError::malformed_assertion("the signature is not base64url"))?;

    let algorithm = header["alg"].as_str().unwrap_or_default();
    if algorithm != "RS256" && algorithm != "PS256" {
        return Err(EntraError::malformed_assertion(&format!(
            "the algorithm {algorithm:?} is not RS256 or PS256"
        )));
    }
    let certificate = find_certificate(app, &header)?;
    check_x5c(&header, certificate)?;

    let signing_input = &assertion[..header_text.len() + 1 + payload_text.len()];
    let verified = match algorithm {
        "RS256" => rsa::pkcs1v15::Signature::try_from(signature.as_slice())
            .ok()
            .is_some_and(|signature| {
                rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(certificate.public_key.clone())
                    .verify(signing_input.as_bytes(), &signature)
                    .is_ok()
            }),
        _ => rsa::pss::Signature::try_from(signature.as_slice())
            .ok()
            .is_some_and(|signature| {
                rsa::pss::VerifyingKey::<sha2::Sha256>::new(certificate.public_key.clone())
                    .verify(signing_input.as_bytes(), &signature)
                    .is_ok()
            }),
    };
    if !verified {
        return Err(EntraError::assertion_signature_invalid());
    }

    for claim in ["iss", "sub"] {
        if claims[claim].as_str() != Some(context.client_id) {
            return Err(EntraError::assertion_client_mismatch(claim));
        }
    }
    let audience = claims["aud"].as_str().unwrap_or_default();
    if !context.audiences.iter().any(|expected| expected == audience) {
        return Err(EntraError::assertion_audience_mismatch(audience));
    }
    check_time_window(&claims)?;

    let Some(id) = claims["jti"].as_str().filter(|id| !id.is_empty()) else {
        return Err(EntraError::malformed_assertion("the jti claim is missing"));
    };
    if !state.tokens.record_assertion_id(id) {
        return Err(EntraError::assertion_replayed(id));
    }
    Ok(())
}

fn decode_json(segment: &str, part: &str) -> Result<Value, EntraError> {
    base64url_decode(segment)
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .filter(Value::is_object)
        .ok_or_else(|| EntraError::malformed_assertion(&format!("the {part} is not base64url JSON")))
}

/// Decodes base64url, with or without `=` padding.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    if text.contains(['+', '/']) {
        return None;
    }
    base64_decode(&text.replace('-', "+").replace('_', "/"))
}

/// Finds the registered certificate that `x5t#S256` or `x5t` names.
fn find_certificate<'a>(app: &'a App, header: &Value) -> Result<&'a RegisteredCertificate, EntraError> {
    let by_sha256 = header["x5t#S256"].as_str();
    let by_sha1 = header["x5t"].as_str();
    let (thumbprint, sha256) = match (by_sha256, by_sha1) {
        (Some(thumbprint), _) => (thumbprint, true),
        (None, Some(thumbprint)) => (thumbprint, false),
        (None, None) => {
            return Err(EntraError::malformed_assertion(
                "the header has neither x5t#S256 nor x5t",
            ));
        }
    };
    let digest = base64url_decode(thumbprint)
        .ok_or_else(|| EntraError::malformed_assertion("the thumbprint is not base64url"))?;
    app.certificates
        .iter()
        .find(|known| if sha256 { known.sha256 == digest } else { known.sha1 == digest })
        .ok_or_else(|| EntraError::certificate_not_registered(thumbprint, &app.client_id))
}

/// When `x5c` is present, its entries must be standard base64 DER certificates, and the
/// first one the certificate that the thumbprint names (RFC 7515 section 4.1.6).
fn check_x5c(header: &Value, certificate: &RegisteredCertificate) -> Result<(), EntraError> {
    let Some(chain) = header.get("x5c") else {
        return Ok(());
    };
    let entries = chain
        .as_array()
        .filter(|entries| !entries.is_empty())
        .ok_or_else(|| EntraError::malformed_assertion("x5c is not a non-empty array"))?;
    let mut decoded = Vec::new();
    for entry in entries {
        let der = entry
            .as_str()
            .and_then(base64_decode)
            .ok_or_else(|| EntraError::malformed_assertion("an x5c entry is not base64"))?;
        decoded.push(der);
    }
    if decoded[0] != certificate.der {
        return Err(EntraError::malformed_assertion(
            "the first x5c certificate is not the one the thumbprint names",
        ));
    }
    Ok(())
}

fn check_time_window(claims: &Value) -> Result<(), EntraError> {
    let now = unix_now();
    let Some(expires) = claims["exp"].as_u64() else {
        return Err(EntraError::malformed_assertion("the exp claim is missing or not an integer"));
    };
    let not_before = match &claims["nbf"] {
        Value::Null => None,
        value => Some(value.as_u64().ok_or_else(|| {
            EntraError::malformed_assertion("the nbf claim is not an integer")
        })?),
    };
    let starts = not_before.unwrap_or(now);
    let in_window = now + CLOCK_SKEW_SECS >= starts
        && expires + CLOCK_SKEW_SECS > now
        && expires > starts
        && expires - starts <= MAX_LIFETIME_SECS;
    if !in_window {
        return Err(EntraError::assertion_outside_time_window(now, not_before, expires));
    }
    Ok(())
}
