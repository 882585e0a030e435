//! Client assertions on the token endpoint: the checks Entra ID makes on a JWT signed
//! by an application's certificate.

mod common;

use azauth_emulator::{Emulator, EmulatorConfig, demo};
use common::{HttpResponse, base64_encode, post_form};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha2::Digest;

const ARM_SCOPE: &str = "https://management.azure.com/.default";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/certificates/");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{name}")).unwrap()
}

fn start() -> Emulator {
    let config = EmulatorConfig::default().add_certificate_app(demo::CLIENT_ID, fixture("leaf.der"));
    Emulator::start(config).expect("emulator starts")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn base64url(data: &[u8]) -> String {
    base64_encode(data).trim_end_matches('=').replace('+', "-").replace('/', "_")
}

/// Signs an RS256 assertion with the key of `pem_file` (PKCS#8 key first).
fn sign(pem_file: &str, header: &serde_json::Value, claims: &serde_json::Value) -> String {
    let text = String::from_utf8(fixture(pem_file)).unwrap();
    let end = text.find("-----END PRIVATE KEY-----").unwrap() + "-----END PRIVATE KEY-----".len();
    let key = rsa::PrivateKey::from_pkcs8_pem(&text[..end]).unwrap();
    let input = format!(
        "{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes())
    );
    let signature = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key).sign(input.as_bytes());
    format!("{input}.{}", base64url(&signature.to_vec()))
}

fn header() -> serde_json::Value {
    serde_json::json!({
        "alg": "RS256",
        "typ": "JWT",
        "x5t": base64url(&sha1::Sha1::digest(fixture("leaf.der"))),
    })
}

fn claims(emulator: &Emulator, jti: &str) -> serde_json::Value {
    let now = now();
    serde_json::json!({
        "aud": format!("{}/{}/oauth2/v2.0/token", emulator.url(), demo::TENANT_ID),
        "iss": demo::CLIENT_ID,
        "sub": demo::CLIENT_ID,
        "jti": jti,
        "nbf": now,
        "exp": now + 600,
    })
}

fn request(emulator: &Emulator, assertion: &str) -> HttpResponse {
    post_form(
        emulator,
        &format!("/{}/oauth2/v2.0/token", demo::TENANT_ID),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", demo::CLIENT_ID),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
            ("scope", ARM_SCOPE),
        ],
    )
}

fn error_code(response: &HttpResponse) -> u64 {
    let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    body["error_codes"][0].as_u64().unwrap()
}

#[test]
fn valid_assertion_gets_token() {
    let emulator = start();
    let response = request(&emulator, &sign("key-first.pem", &header(), &claims(&emulator, "a1")));
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    assert_eq!(emulator.issued_tokens()[0].client_id, demo::CLIENT_ID);
}

#[test]
fn sha256_thumbprint_accepted() {
    let emulator = start();
    let header = serde_json::json!({
        "alg": "RS256",
        "x5t#S256": base64url(&sha2::Sha256::digest(fixture("leaf.der"))),
    });
    let claims = claims(&emulator, "a2");
    assert_eq!(request(&emulator, &sign("key-first.pem", &header, &claims)).status, 200);
}

#[test]
fn replayed_jti_rejected() {
    let emulator = start();
    let assertion = sign("key-first.pem", &header(), &claims(&emulator, "same-jti"));
    assert_eq!(request(&emulator, &assertion).status, 200);
    let replay = request(&emulator, &assertion);
    assert_eq!(replay.status, 401);
    assert_eq!(error_code(&replay), 50_013);
}

#[test]
fn signature_by_other_key_rejected() {
    let emulator = start();
    // The header names the registered certificate, but another key signs.
    let response = request(&emulator, &sign("unregistered.pem", &header(), &claims(&emulator, "a3")));
    assert_eq!(response.status, 401);
    assert_eq!(error_code(&response), 700_027);
}

#[test]
fn unregistered_thumbprint_rejected() {
    let emulator = start();
    let mut header = header();
    header["x5t"] = base64url(&[7u8; 20]).into();
    let response = request(&emulator, &sign("key-first.pem", &header, &claims(&emulator, "a4")));
    assert_eq!(response.status, 401);
    assert_eq!(error_code(&response), 700_027);
}

#[test]
fn claims_checked_one_by_one() {
    let emulator = start();
    let now = now();
    let cases: [(&str, serde_json::Value, u64); 6] = [
        ("iss", "someone-else".into(), 700_021),
        ("sub", "someone-else".into(), 700_021),
        ("aud", "https://login.microsoftonline.com/x/oauth2/v2.0/token".into(), 700_023),
        ("exp", (now - 600).into(), 700_024),
        ("nbf", (now + 900).into(), 700_024),
        ("exp", (now + 7200).into(), 700_024),
    ];
    for (index, (claim, value, code)) in cases.into_iter().enumerate() {
        let mut claims = claims(&emulator, &format!("case-{index}"));
        claims[claim] = value;
        if claim == "nbf" {
            claims["exp"] = (now + 1200).into();
        }
        let response = request(&emulator, &sign("key-first.pem", &header(), &claims));
        assert_eq!(response.status / 100, 4, "{claim}");
        assert_eq!(error_code(&response), code, "{claim}");
    }
}

#[test]
fn x5c_must_start_with_the_leaf() {
    let emulator = start();
    let ca = {
        let text = String::from_utf8(fixture("ca.pem")).unwrap();
        let body: String = text.lines().filter(|line| !line.starts_with("-----")).collect();
        body
    };
    let mut header = header();
    header["x5c"] = serde_json::json!([base64_encode(&fixture("leaf.der")), ca.clone()]);
    let response = request(&emulator, &sign("key-first.pem", &header, &claims(&emulator, "a5")));
    assert_eq!(response.status, 200);

    header["x5c"] = serde_json::json!([ca]);
    let response = request(&emulator, &sign("key-first.pem", &header, &claims(&emulator, "a6")));
    assert_eq!(error_code(&response), 50_027);
}

#[test]
fn assertion_and_secret_together_rejected() {
    let emulator = start();
    let assertion = sign("key-first.pem", &header(), &claims(&emulator, "a7"));
    let response = post_form(
        &emulator,
        &format!("/{}/oauth2/v2.0/token", demo::TENANT_ID),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", demo::CLIENT_ID),
            ("client_secret", demo::CLIENT_SECRET),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
            ("scope", ARM_SCOPE),
        ],
    );
    assert_eq!(error_code(&response), 9_002_313);
}

#[test]
fn wrong_assertion_type_rejected() {
    let emulator = start();
    let assertion = sign("key-first.pem", &header(), &claims(&emulator, "a8"));
    let response = post_form(
        &emulator,
        &format!("/{}/oauth2/v2.0/token", demo::TENANT_ID),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", demo::CLIENT_ID),
            ("client_assertion_type", "urn:example:other"),
            ("client_assertion", &assertion),
            ("scope", ARM_SCOPE),
        ],
    );
    assert_eq!(error_code(&response), 50_027);
}
