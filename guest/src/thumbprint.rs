//! SHA-1 certificate thumbprints, as Service Fabric's `IDENTITY_SERVER_THUMBPRINT` gives
//! them. The host compiles this file too, so the component and the host accept the same
//! values.

/// Length of a SHA-1 digest in bytes.
pub const SHA1_LEN: usize = 20;

/// Parses a SHA-1 thumbprint: 40 hex digits in either case, with any spaces, tabs and
/// colons between them removed first, as MSAL does.
pub fn parse_sha1_thumbprint(text: &str) -> Result<[u8; SHA1_LEN], String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|byte| !matches!(byte, b' ' | b'\t' | b':'))
        .collect();
    let invalid = || {
        format!(
            "{text:?} is not a SHA-1 certificate thumbprint: expected 40 hex digits, \
             optionally separated by spaces or colons"
        )
    };
    if digits.len() != 2 * SHA1_LEN || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(invalid());
    }
    let value = |digit: u8| (digit as char).to_digit(16).unwrap_or(0) as u8;
    let mut thumbprint = [0u8; SHA1_LEN];
    for (byte, pair) in thumbprint.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = value(pair[0]) << 4 | value(pair[1]);
    }
    Ok(thumbprint)
}

/// Formats a thumbprint as 40 uppercase hex digits, the form Windows shows.
pub fn format_sha1_thumbprint(thumbprint: &[u8; SHA1_LEN]) -> String {
    thumbprint.iter().map(|byte| format!("{byte:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGITS: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

    #[test]
    fn thumbprint_forms_accepted() {
        let expected = parse_sha1_thumbprint(DIGITS).unwrap();
        assert_eq!(expected[0], 0x01);
        assert_eq!(expected[19], 0x67);
        for form in [
            "0123456789abcdef0123456789abcdef01234567",
            "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67",
            "01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67",
            "\t0123456789ABCDEF 0123456789ABCDEF:01234567 ",
        ] {
            assert_eq!(parse_sha1_thumbprint(form).unwrap(), expected, "{form}");
        }
        assert_eq!(format_sha1_thumbprint(&expected), DIGITS);
    }

    #[test]
    fn thumbprint_invalid_forms_rejected() {
        for form in [
            "",
            "0123456789ABCDEF0123456789ABCDEF0123456",
            "0123456789ABCDEF0123456789ABCDEF012345678",
            "0123456789ABCDEF0123456789ABCDEF0123456G",
            "0123456789ABCDEF-0123456789ABCDEF01234567",
            // SHA-256 thumbprints are 64 digits.
            "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
            "+1+23456789ABCDEF0123456789ABCDEF01234567",
            "0123456789ABCDEF0123456789ABCDEF012345é",
        ] {
            let error = parse_sha1_thumbprint(form).unwrap_err();
            assert!(error.contains("expected 40 hex digits"), "{form}: {error}");
        }
    }
}
