//! Client certificates: reading a PEM or PFX (PKCS#12) file into an RSA private key
//! and the certificate chain that goes with it.
//!
//! Accepted forms, as azure-identity accepts them:
//! - PEM with the private key before or after the certificate: a PKCS#8 key
//!   (`PRIVATE KEY`), a PKCS#1 key (`RSA PRIVATE KEY`) or an encrypted PKCS#8 key
//!   (`ENCRYPTED PRIVATE KEY`, PBES2) with a password. Further `CERTIFICATE` blocks
//!   form the chain, in file order.
//! - PFX with or without a password: OpenSSL 3's AES form and the legacy 3DES form.
//!
//! The leaf is the certificate whose public key matches the private key. Entra ID signs
//! in client assertions only with RSA keys, so other key types are rejected here.

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncryptedPrivateKeyInfoRef, ObjectIdentifier};
use rsa::traits::PublicKeyParts;
use rsa::{PrivateKey, PublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};

use crate::secret::Secret;

/// Largest certificate file read. Real PEM and PFX files are a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Why a certificate file cannot be used. `Display` gives the cause and the fix; it
/// never contains the password or key material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateError {
    /// The file does not exist, or the host did not grant it.
    NotFound,
    /// The file exists but cannot be read.
    Unreadable(String),
    /// The file is larger than [`MAX_FILE_BYTES`].
    TooLarge(u64),
    /// The file is neither PEM nor PKCS#12, or its content is damaged.
    Invalid(String),
    /// The key or the PFX is protected by a password and none was given.
    PasswordRequired,
    /// The password given does not open the key or the PFX.
    WrongPassword,
    /// A PEM key in OpenSSL's traditional encrypted form (`Proc-Type: 4,ENCRYPTED`).
    LegacyEncryptedPem,
    /// The file contains no private key.
    NoPrivateKey,
    /// The file contains no certificate.
    NoCertificate,
    /// No certificate in the file matches the private key.
    KeyMismatch,
    /// The key is not RSA: the name of its type.
    UnsupportedKeyType(String),
}

impl std::fmt::Display for CertificateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertificateError::NotFound => f.write_str(
                "the file was not found (or is not a readable regular file); check the path",
            ),
            CertificateError::Unreadable(cause) => write!(f, "the file cannot be read: {cause}"),
            CertificateError::TooLarge(size) => write!(
                f,
                "the file is {size} bytes, more than the {MAX_FILE_BYTES} bytes a certificate \
                 file can have; check that the path names a PEM or PFX certificate"
            ),
            CertificateError::Invalid(cause) => write!(
                f,
                "the file is not a valid PEM or PFX (PKCS#12) certificate: {cause}"
            ),
            CertificateError::PasswordRequired => {
                f.write_str("the private key is protected by a password and none was given")
            }
            CertificateError::WrongPassword => f.write_str(
                "the password does not open the private key (wrong password); use the password \
                 the file was exported with",
            ),
            CertificateError::LegacyEncryptedPem => f.write_str(
                "the private key uses OpenSSL's traditional PEM encryption (Proc-Type: \
                 4,ENCRYPTED), which is not supported; convert it to encrypted PKCS#8 with \
                 `openssl pkcs8 -topk8 -v2 aes-256-cbc`",
            ),
            CertificateError::NoPrivateKey => f.write_str(
                "the file contains no private key; use a PEM file with both the private key \
                 and the certificate, or a PFX exported with its private key",
            ),
            CertificateError::NoCertificate => f.write_str(
                "the file contains a private key but no certificate; add the certificate to \
                 the file",
            ),
            CertificateError::KeyMismatch => f.write_str(
                "no certificate in the file matches the private key; put the certificate that \
                 belongs to this key in the file",
            ),
            CertificateError::UnsupportedKeyType(kind) => write!(
                f,
                "the private key is {kind}, but Entra ID accepts only RSA keys for client \
                 certificates; create an RSA certificate (2048 bits or more)"
            ),
        }
    }
}

/// An RSA private key and its certificate chain, leaf first.
pub struct ClientCertificate {
    key: PrivateKey,
    chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("key", &"[redacted]")
            .field("certificates", &self.chain.len())
            .field("x5t#S256", &self.thumbprint_sha256())
            .finish()
    }
}

impl ClientCertificate {
    /// Reads and parses a certificate file.
    pub fn read(path: &str, password: Option<&Secret>) -> Result<ClientCertificate, CertificateError> {
        let bytes = read_file(path)?;
        ClientCertificate::parse(&bytes, password)
    }

    /// Parses the bytes of a PEM or PFX file: PEM when they contain `-----BEGIN`, as
    /// azure-identity decides, else PKCS#12.
    pub fn parse(bytes: &[u8], password: Option<&Secret>) -> Result<ClientCertificate, CertificateError> {
        let is_pem = bytes.windows(10).any(|window| window == b"-----BEGIN");
        let (key, certificates) = if is_pem {
            parse_pem(bytes, password)?
        } else {
            parse_pfx(bytes, password)?
        };
        match_key(key, certificates)
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The leaf certificate, DER.
    pub fn leaf(&self) -> &[u8] {
        &self.chain[0]
    }

    /// Every certificate of the file, DER, leaf first and the rest in file order.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// SHA-1 of the leaf's DER: the thumbprint that `x5t` carries.
    pub fn thumbprint_sha1(&self) -> [u8; 20] {
        Sha1::digest(self.leaf()).into()
    }

    /// SHA-256 of the leaf's DER: the thumbprint that `x5t#S256` carries.
    pub fn thumbprint_sha256(&self) -> [u8; 32] {
        Sha256::digest(self.leaf()).into()
    }
}

fn read_file(path: &str) -> Result<Vec<u8>, CertificateError> {
    use std::io::{ErrorKind, Read};

    let file = std::fs::File::open(path).map_err(|error| match error.kind() {
        ErrorKind::NotFound => CertificateError::NotFound,
        _ => CertificateError::Unreadable(error.to_string()),
    })?;
    let size = file
        .metadata()
        .map_err(|error| CertificateError::Unreadable(error.to_string()))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(CertificateError::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| CertificateError::Unreadable(error.to_string()))?;
    Ok(bytes)
}

/// What a file contained before the key and the certificates are matched.
enum FoundKey {
    Rsa(PrivateKey),
    Other(String),
}

fn parse_pem(
    bytes: &[u8],
    password: Option<&Secret>,
) -> Result<(Option<FoundKey>, Vec<Vec<u8>>), CertificateError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| CertificateError::Invalid("the PEM text is not UTF-8".to_string()))?;
    let mut key = None;
    let mut certificates = Vec::new();
    for block in pem_blocks(text) {
        if block.contains("Proc-Type: 4,ENCRYPTED") {
            return Err(CertificateError::LegacyEncryptedPem);
        }
        let (label, der) = pem_rfc7468::decode_vec(block.as_bytes()).map_err(|error| {
            CertificateError::Invalid(format!("a PEM block cannot be decoded ({error})"))
        })?;
        let found = match label {
            "CERTIFICATE" => {
                certificates.push(der);
                continue;
            }
            "PRIVATE KEY" => pkcs8_key(&der)?,
            "RSA PRIVATE KEY" => FoundKey::Rsa(PrivateKey::from_pkcs1_der(&der).map_err(|error| {
                CertificateError::Invalid(format!("the PKCS#1 RSA private key is invalid ({error})"))
            })?),
            "ENCRYPTED PRIVATE KEY" => encrypted_pkcs8_key(&der, password)?,
            "EC PRIVATE KEY" => FoundKey::Other("an EC key".to_string()),
            "DSA PRIVATE KEY" => FoundKey::Other("a DSA key".to_string()),
            _ => continue,
        };
        // A second key would make the choice of leaf ambiguous; the first one wins, as
        // in azure-identity, which loads the first key of the file.
        key.get_or_insert(found);
    }
    Ok((key, certificates))
}

/// Splits PEM text into its `-----BEGIN ...-----` to `-----END ...-----` blocks.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with("-----BEGIN ") {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
            if line.starts_with("-----END ") {
                blocks.push(current.take().unwrap_or_default());
            }
        }
    }
    blocks
}

fn pkcs8_key(der: &[u8]) -> Result<FoundKey, CertificateError> {
    let info = rsa::pkcs8::PrivateKeyInfoRef::from_der(der).map_err(|error| {
        CertificateError::Invalid(format!("the PKCS#8 private key is invalid ({error})"))
    })?;
    if info.algorithm.oid != RSA_ENCRYPTION {
        return Ok(FoundKey::Other(describe_algorithm(info.algorithm.oid)));
    }
    PrivateKey::from_pkcs8_der(der)
        .map(FoundKey::Rsa)
        .map_err(|error| CertificateError::Invalid(format!("the RSA private key is invalid ({error})")))
}

fn encrypted_pkcs8_key(der: &[u8], password: Option<&Secret>) -> Result<FoundKey, CertificateError> {
    let Some(password) = password else {
        return Err(CertificateError::PasswordRequired);
    };
    let info = EncryptedPrivateKeyInfoRef::from_der(der).map_err(|error| {
        CertificateError::Invalid(format!("the encrypted PKCS#8 private key is invalid ({error})"))
    })?;
    // A wrong password shows as bad padding, or, rarely, as padding that happens to be
    // valid followed by a key that does not parse.
    let decrypted = info
        .decrypt(password.expose().as_bytes())
        .map_err(|error| match error {
            rsa::pkcs8::Error::EncryptedPrivateKey(rsa::pkcs8::pkcs5::Error::DecryptFailed) => {
                CertificateError::WrongPassword
            }
            rsa::pkcs8::Error::EncryptedPrivateKey(other) => CertificateError::Invalid(format!(
                "the private key's encryption is not supported ({other}); re-encrypt it with \
                 `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
            )),
            _ => CertificateError::WrongPassword,
        })?;
    pkcs8_key(decrypted.as_bytes()).map_err(|_| CertificateError::WrongPassword)
}

fn parse_pfx(
    bytes: &[u8],
    password: Option<&Secret>,
) -> Result<(Option<FoundKey>, Vec<Vec<u8>>), CertificateError> {
    use p12_keystore::error::Error as P12Error;

    let given = password.map(Secret::expose).unwrap_or("");
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(bytes, given).map_err(|error| match error {
        P12Error::MacError(_) | P12Error::UnpadError if password.is_none() => {
            CertificateError::PasswordRequired
        }
        P12Error::MacError(_) | P12Error::UnpadError => CertificateError::WrongPassword,
        P12Error::DerError(_) | P12Error::InvalidVersion => CertificateError::Invalid(
            "it is not PEM text, and not a PKCS#12 file either".to_string(),
        ),
        other => CertificateError::Invalid(format!("the PKCS#12 file cannot be read ({other})")),
    })?;
    let key = archive
        .keys
        .first()
        .map(|bag| pkcs8_key(bag.key.as_der()))
        .transpose()?;
    let certificates = archive
        .certs
        .iter()
        .map(|bag| bag.cert.as_der().to_vec())
        .collect();
    Ok((key, certificates))
}

/// Finds the leaf: the certificate whose public key is the private key's.
fn match_key(
    key: Option<FoundKey>,
    certificates: Vec<Vec<u8>>,
) -> Result<ClientCertificate, CertificateError> {
    let key = match key {
        None => return Err(CertificateError::NoPrivateKey),
        Some(FoundKey::Other(kind)) => return Err(CertificateError::UnsupportedKeyType(kind)),
        Some(FoundKey::Rsa(key)) => key,
    };
    if certificates.is_empty() {
        return Err(CertificateError::NoCertificate);
    }
    let public = key.to_public_key();
    let mut leaf = None;
    for (index, der) in certificates.iter().enumerate() {
        let certificate = x509_cert::Certificate::from_der(der).map_err(|error| {
            CertificateError::Invalid(format!("certificate {} of the file is invalid ({error})", index + 1))
        })?;
        let spki = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|error| CertificateError::Invalid(error.to_string()))?;
        let matches = PublicKey::from_public_key_der(&spki)
            .is_ok_and(|candidate| candidate.n() == public.n() && candidate.e() == public.e());
        if matches {
            leaf = Some(index);
            break;
        }
    }
    let Some(leaf) = leaf else {
        return Err(CertificateError::KeyMismatch);
    };
    let mut chain = certificates;
    let leaf = chain.remove(leaf);
    chain.insert(0, leaf);
    Ok(ClientCertificate { key, chain })
}

fn describe_algorithm(oid: ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.10045.2.1" => "an EC key".to_string(),
        "1.3.101.112" => "an Ed25519 key".to_string(),
        "1.3.101.113" => "an Ed448 key".to_string(),
        "1.2.840.10040.4.1" => "a DSA key".to_string(),
        "1.2.840.113549.1.1.10" => "an RSASSA-PSS-only key".to_string(),
        other => format!("a key of algorithm {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/certificates/");
    const PASSWORD: &str = "fake-cert-password";

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{DIR}{name}")).unwrap()
    }

    fn load(name: &str, password: Option<&str>) -> Result<ClientCertificate, CertificateError> {
        ClientCertificate::parse(&fixture(name), password.map(Secret::new).as_ref())
    }

    #[test]
    fn every_accepted_form_gives_the_same_leaf() {
        let leaf = fixture("leaf.der");
        let cases = [
            ("key-first.pem", None, 1),
            ("cert-first.pem", None, 1),
            ("pkcs1.pem", None, 1),
            ("encrypted.pem", Some(PASSWORD), 1),
            ("chain.pem", None, 2),
            ("with-password.pfx", Some(PASSWORD), 2),
            ("no-password.pfx", None, 1),
            ("legacy.pfx", Some(PASSWORD), 1),
        ];
        for (name, password, length) in cases {
            let certificate = load(name, password).unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(certificate.leaf(), leaf.as_slice(), "{name}");
            assert_eq!(certificate.chain().len(), length, "{name}");
        }
    }

    #[test]
    fn chain_keeps_leaf_first_then_file_order() {
        let certificate = load("chain.pem", None).unwrap();
        let ca = pem_rfc7468::decode_vec(&fixture("ca.pem")).unwrap().1;
        assert_eq!(certificate.chain()[1], ca);
    }

    #[test]
    fn no_password_pfx_opens_with_empty_password() {
        // OpenSSL's `-passout pass:` writes a PFX whose password is the empty string.
        assert!(load("no-password.pfx", Some("")).is_ok());
    }

    #[test]
    fn each_unusable_file_names_its_cause() {
        let cases = [
            ("encrypted.pem", None, CertificateError::PasswordRequired),
            ("encrypted.pem", Some("wrong"), CertificateError::WrongPassword),
            ("with-password.pfx", None, CertificateError::PasswordRequired),
            ("with-password.pfx", Some("wrong"), CertificateError::WrongPassword),
            ("legacy.pfx", Some("wrong"), CertificateError::WrongPassword),
            ("cert-only.pem", None, CertificateError::NoPrivateKey),
            ("cert-only.pfx", Some(PASSWORD), CertificateError::NoPrivateKey),
            ("mismatched.pem", None, CertificateError::KeyMismatch),
            ("ec.pem", None, CertificateError::UnsupportedKeyType("an EC key".to_string())),
        ];
        for (name, password, expected) in cases {
            let error = load(name, password).err();
            assert_eq!(error, Some(expected), "{name} with {password:?}");
        }
    }

    #[test]
    fn key_without_certificate_is_named() {
        let text = String::from_utf8(fixture("key-first.pem")).unwrap();
        let key_only = &text[..text.find("-----BEGIN CERTIFICATE").unwrap()];
        let error = ClientCertificate::parse(key_only.as_bytes(), None).unwrap_err();
        assert_eq!(error, CertificateError::NoCertificate);
    }

    #[test]
    fn garbage_and_legacy_encryption_are_rejected() {
        let error = ClientCertificate::parse(b"not a certificate", None).unwrap_err();
        assert!(matches!(error, CertificateError::Invalid(_)), "{error:?}");
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let error = ClientCertificate::parse(legacy.as_bytes(), Some(&Secret::new("x"))).unwrap_err();
        assert_eq!(error, CertificateError::LegacyEncryptedPem);
    }

    #[test]
    fn missing_file_is_not_found() {
        let error = ClientCertificate::read(&format!("{DIR}absent.pem"), None).unwrap_err();
        assert_eq!(error, CertificateError::NotFound);
    }

    #[test]
    fn messages_never_contain_the_password() {
        let error = load("encrypted.pem", Some("wrong-password-value")).unwrap_err();
        assert!(!error.to_string().contains("wrong-password-value"));
        let debug = format!("{:?}", load("key-first.pem", None).unwrap());
        assert!(debug.contains("[redacted]"), "{debug}");
    }
}
