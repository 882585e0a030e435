//! Client assertions: the signed JWT (RFC 7523) that authenticates a client with a
//! certificate.
//!
//! For Entra ID the header is `{"alg":"PS256","typ":"JWT","x5t#S256":...}`, as
//! azure-identity's `AadClient` (1.27.0) sends it and as Microsoft's certificate
//! credentials page documents it today. AD FS accepts only RS256 with the SHA-1
//! thumbprint in `x5t`, so tenant `adfs` gets that. The three segments and the
//! thumbprints are base64url without padding (RFC 7515); `x5c` entries are standard
//! base64 of each DER certificate, leaf first (RFC 7515 section 4.1.6).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rsa::rand_core::TryCryptoRng;
use rsa::signature::{RandomizedSigner, SignatureEncoding};

use crate::certificate::ClientCertificate;

/// Seconds from `nbf` to `exp`. Entra ID requires a short lifetime (Microsoft's page
/// says 5 to 10 minutes); 10 minutes, MSAL's value, leaves room for clock skew.
pub const LIFETIME_SECS: u64 = 600;

/// `client_assertion_type` of a JWT client assertion (RFC 7523 section 2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The signature algorithm and the thumbprint header that goes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt; `x5t#S256` header.
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256; `x5t` (SHA-1) header. For AD FS.
    Rs256,
}

impl Algorithm {
    /// The algorithm a tenant takes: RS256 for `adfs`, else PS256.
    pub fn for_tenant(tenant: &str) -> Algorithm {
        if tenant.eq_ignore_ascii_case("adfs") {
            Algorithm::Rs256
        } else {
            Algorithm::Ps256
        }
    }
}

/// What the assertion states.
#[derive(Clone, Debug)]
pub struct Claims<'a> {
    /// `aud`: the token endpoint the assertion is sent to.
    pub audience: &'a str,
    /// `iss` and `sub`: the application (client) ID.
    pub client_id: &'a str,
    /// `jti`: a unique ID (a random UUID), so that the assertion cannot be replayed.
    pub id: &'a str,
    /// `nbf`, Unix seconds; `exp` is `nbf` + [`LIFETIME_SECS`].
    pub not_before: u64,
}

/// Builds and signs an assertion. `send_chain` adds `x5c` with every certificate of
/// the file, leaf first.
///
/// Fails only when the random number source or the RSA operation fails.
pub fn build(
    certificate: &ClientCertificate,
    algorithm: Algorithm,
    claims: &Claims,
    send_chain: bool,
    rng: &mut (impl TryCryptoRng + ?Sized),
) -> Result<String, String> {
    let mut header = serde_json::Map::new();
    let (name, thumbprint_field, thumbprint) = match algorithm {
        Algorithm::Ps256 => ("PS256", "x5t#S256", URL_SAFE_NO_PAD.encode(certificate.thumbprint_sha256())),
        Algorithm::Rs256 => ("RS256", "x5t", URL_SAFE_NO_PAD.encode(certificate.thumbprint_sha1())),
    };
    header.insert("alg".into(), name.into());
    header.insert("typ".into(), "JWT".into());
    header.insert(thumbprint_field.into(), thumbprint.into());
    if send_chain {
        let chain: Vec<serde_json::Value> = certificate
            .chain()
            .iter()
            .map(|der| STANDARD.encode(der).into())
            .collect();
        header.insert("x5c".into(), chain.into());
    }
    let payload = serde_json::json!({
        "aud": claims.audience,
        "iss": claims.client_id,
        "sub": claims.client_id,
        "jti": claims.id,
        "nbf": claims.not_before,
        "exp": claims.not_before + LIFETIME_SECS,
    });

    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::Value::Object(header).to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let signature = sign(certificate, algorithm, signing_input.as_bytes(), rng)?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// Signs `message` with the certificate's key.
pub fn sign(
    certificate: &ClientCertificate,
    algorithm: Algorithm,
    message: &[u8],
    rng: &mut (impl TryCryptoRng + ?Sized),
) -> Result<Vec<u8>, String> {
    let key = certificate.key().clone();
    let signature = match algorithm {
        Algorithm::Ps256 => rsa::pss::SigningKey::<sha2::Sha256>::new(key)
            .try_sign_with_rng(rng, message)
            .map(|signature| signature.to_vec()),
        Algorithm::Rs256 => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key)
            .try_sign_with_rng(rng, message)
            .map(|signature| signature.to_vec()),
    };
    signature.map_err(|error| format!("signing the client assertion failed: {error}"))
}

/// Returns a random (version 4) UUID for `jti`.
pub fn random_uuid(rng: &mut (impl TryCryptoRng + ?Sized)) -> Result<String, String> {
    let mut bytes = [0u8; 16];
    rng.try_fill_bytes(&mut bytes)
        .map_err(|_| "the random number source failed".to_string())?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/certificates/");
    const AUDIENCE: &str = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token";
    const CLIENT: &str = "99999999-8888-7777-6666-555555555555";
    const JTI: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    fn certificate(name: &str) -> ClientCertificate {
        ClientCertificate::parse(&std::fs::read(format!("{DIR}{name}")).unwrap(), None::<&Secret>).unwrap()
    }

    fn claims() -> Claims<'static> {
        Claims {
            audience: AUDIENCE,
            client_id: CLIENT,
            id: JTI,
            not_before: 1_800_000_000,
        }
    }

    fn decode_segment(segment: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    fn sign_fixed(algorithm: Algorithm, send_chain: bool) -> String {
        build(&certificate("chain.pem"), algorithm, &claims(), send_chain, &mut getrandom::SysRng).unwrap()
    }

    #[test]
    fn header_and_claims_are_exact() {
        let jwt = sign_fixed(Algorithm::Ps256, false);
        let segments: Vec<&str> = jwt.split('.').collect();
        assert_eq!(segments.len(), 3);
        for segment in &segments {
            assert!(!segment.contains('='), "{segment}");
        }
        let thumbprint = URL_SAFE_NO_PAD.encode(certificate("chain.pem").thumbprint_sha256());
        assert_eq!(
            decode_segment(segments[0]),
            serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": thumbprint})
        );
        assert_eq!(
            decode_segment(segments[1]),
            serde_json::json!({
                "aud": AUDIENCE,
                "iss": CLIENT,
                "sub": CLIENT,
                "jti": JTI,
                "nbf": 1_800_000_000u64,
                "exp": 1_800_000_600u64,
            })
        );
        // A 2048-bit key gives a 256-byte signature.
        assert_eq!(URL_SAFE_NO_PAD.decode(segments[2]).unwrap().len(), 256);
    }

    #[test]
    fn chain_goes_in_x5c_leaf_first() {
        let jwt = sign_fixed(Algorithm::Ps256, true);
        let header = decode_segment(jwt.split('.').next().unwrap());
        let leaf = std::fs::read(format!("{DIR}leaf.der")).unwrap();
        let ca = pem_rfc7468::decode_vec(&std::fs::read(format!("{DIR}ca.pem")).unwrap()).unwrap().1;
        assert_eq!(header["x5c"], serde_json::json!([STANDARD.encode(leaf), STANDARD.encode(ca)]));
    }

    #[test]
    fn adfs_gets_rs256_and_sha1_thumbprint() {
        assert_eq!(Algorithm::for_tenant("ADFS"), Algorithm::Rs256);
        assert_eq!(Algorithm::for_tenant("contoso.example"), Algorithm::Ps256);
        let jwt = sign_fixed(Algorithm::Rs256, false);
        let header = decode_segment(jwt.split('.').next().unwrap());
        let thumbprint = URL_SAFE_NO_PAD.encode(certificate("chain.pem").thumbprint_sha1());
        assert_eq!(header, serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": thumbprint}));
    }

    /// RS256 is deterministic, so a fixed key and fixed claims give one signature. The
    /// expected value was made by OpenSSL 3.0 from the same signing input:
    /// `printf %s "$INPUT" | openssl dgst -sha256 -sign key.pem | basenc --base64url`
    /// with the key of `tests/fixtures/certificates/key-first.pem`.
    #[test]
    fn rs256_signature_matches_openssl() {
        let jwt = sign_fixed(Algorithm::Rs256, false);
        let (_, signature) = jwt.rsplit_once('.').unwrap();
        assert_eq!(signature, RS256_EXPECTED);
    }

    /// PS256 signatures are randomized, so OpenSSL verifies one instead: PSS with
    /// SHA-256, MGF1-SHA-256 and a 32-byte salt, against the leaf's public key.
    #[test]
    fn ps256_signature_verified_by_openssl() {
        let jwt = sign_fixed(Algorithm::Ps256, false);
        let (input, signature) = jwt.rsplit_once('.').unwrap();
        let dir = std::env::temp_dir().join(format!("azauth-ps256-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("input"), input).unwrap();
        std::fs::write(dir.join("signature"), URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();

        let openssl = |args: &[&str]| {
            std::process::Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("openssl is installed (scripts/setup checks it)")
        };
        let leaf = format!("{DIR}leaf.pem");
        let public = openssl(&["x509", "-in", &leaf, "-pubkey", "-noout", "-out", "public.pem"]);
        assert!(public.status.success(), "{public:?}");
        let verified = openssl(&[
            "dgst", "-sha256", "-verify", "public.pem",
            "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32",
            "-sigopt", "rsa_mgf1_md:sha256", "-signature", "signature", "input",
        ]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(String::from_utf8_lossy(&verified.stdout), "Verified OK\n", "{verified:?}");
    }

    const RS256_EXPECTED: &str = concat!(
        "XOw_SMloZnqhyYMrWWqk6riJE_Gos2LN8O5jXo4e5-hSwbTN4hondv2fZHYV5U7Gef-WY1zzja3512Gd",
        "fKy1ZG32Uccjg_Kavsm2M7ugQcigYALmo2Qs-IWmiOZmW2jJF11p4GI_9SnBhpI60Z85NdvyRDIdIREj",
        "ett7yDcp2863QRnNqcSWWN0O_IU5E0UNZM-wrQo15A4tiIksvOtZr4AjircuMyxsghYHmale2LhnSLv0",
        "ic44j84DN0TY0RyO3LUmzoRK0hnm8ovkOseGKHXZUr0YxOjXUHJkC7tgkP5lebyLv0W8pTu99mYizg-U",
        "ApAXWrEkYct8WjkHxa4GyQ",
    );
}

/// Timing of [`build`] run natively, for comparison with the figure the component logs.
/// Run with `cargo test --release -p azauth-guest -- --ignored --nocapture
/// assertion_build_benchmark`; `scripts/bench-assertion` runs both.
#[cfg(test)]
mod benchmark {
    use super::*;
    use crate::secret::Secret;

    #[test]
    #[ignore = "a benchmark, not a check"]
    fn assertion_build_benchmark() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/certificates/key-first.pem");
        let certificate = ClientCertificate::parse(&std::fs::read(path).unwrap(), None::<&Secret>).unwrap();
        let mut samples = Vec::new();
        for _ in 0..30 {
            let started = std::time::Instant::now();
            let id = random_uuid(&mut getrandom::SysRng).unwrap();
            let claims = Claims {
                audience: "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token",
                client_id: "99999999-8888-7777-6666-555555555555",
                id: &id,
                not_before: 1_800_000_000,
            };
            build(&certificate, Algorithm::Ps256, &claims, false, &mut getrandom::SysRng).unwrap();
            samples.push(started.elapsed().as_micros());
        }
        let first = samples[0];
        samples.sort_unstable();
        println!(
            "native: client assertion built and signed: first {first} us, median {} us, min {} us (30 runs)",
            samples[samples.len() / 2],
            samples[0]
        );
    }
}
