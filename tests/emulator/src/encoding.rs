//! Encodings of the OAuth 2.0 wire format: form URL encoding, Base64 and Base64url.

/// Base64 alphabet of RFC 4648 section 4.
const STANDARD_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// URL- and filename-safe Base64 alphabet of RFC 4648 section 5.
const URL_SAFE_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Parses `application/x-www-form-urlencoded` data into name-value pairs, in order.
///
/// A pair without `=` gets an empty value. `+` decodes to a space. An invalid percent
/// escape stays as literal text, as the WHATWG URL standard's parser does.
pub(crate) fn parse_form(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|&byte| byte == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&byte| byte == b'=') {
                Some(index) => (&pair[..index], &pair[index + 1..]),
                None => (pair, &[][..]),
            };
            (percent_decode(name, true), percent_decode(value, true))
        })
        .collect()
}

/// Decodes `%XX` escapes, and also `+` as a space when `plus_as_space` is set.
///
/// Bytes that do not form UTF-8 become U+FFFD.
pub(crate) fn percent_decode(input: &[u8], plus_as_space: bool) -> String {
    let mut output = Vec::with_capacity(input.len());
    let mut index = 0;

    while index < input.len() {
        let byte = input[index];
        if byte == b'%'
            && index + 2 < input.len()
            && let (Some(high), Some(low)) =
                (hex_value(input[index + 1]), hex_value(input[index + 2]))
        {
            output.push(high << 4 | low);
            index += 3;
            continue;
        }
        if byte == b'+' && plus_as_space {
            output.push(b' ');
        } else {
            output.push(byte);
        }
        index += 1;
    }

    String::from_utf8_lossy(&output).into_owned()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for query values.
pub(crate) fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Encodes bytes as Base64url without padding, the form that JWTs use (RFC 7515
/// section 2).
pub(crate) fn base64url_encode(data: &[u8]) -> String {
    let mut output = String::with_capacity(data.len().div_ceil(3) * 4);

    for chunk in data.chunks(3) {
        let first = u32::from(chunk[0]);
        let second = u32::from(chunk.get(1).copied().unwrap_or(0));
        let third = u32::from(chunk.get(2).copied().unwrap_or(0));
        let group = first << 16 | second << 8 | third;

        output.push(char::from(URL_SAFE_ALPHABET[(group >> 18) as usize & 63]));
        output.push(char::from(URL_SAFE_ALPHABET[(group >> 12) as usize & 63]));
        if chunk.len() > 1 {
            output.push(char::from(URL_SAFE_ALPHABET[(group >> 6) as usize & 63]));
        }
        if chunk.len() > 2 {
            output.push(char::from(URL_SAFE_ALPHABET[group as usize & 63]));
        }
    }

    output
}

/// Decodes standard Base64 (RFC 4648 section 4), with or without `=` padding.
///
/// Returns `None` for a character outside the alphabet, more than two padding
/// characters or a length that no encoding produces.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let unpadded = text.trim_end_matches('=');
    if text.len() - unpadded.len() > 2 || unpadded.len() % 4 == 1 {
        return None;
    }

    let mut output = Vec::with_capacity(unpadded.len() * 3 / 4);
    let mut accumulator: u32 = 0;
    let mut bit_count = 0;

    for character in unpadded.bytes() {
        let value = STANDARD_ALPHABET
            .iter()
            .position(|&symbol| symbol == character)?;
        accumulator = accumulator << 6 | value as u32;
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            output.push((accumulator >> bit_count) as u8);
            accumulator &= (1 << bit_count) - 1;
        }
    }

    Some(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vectors of RFC 4648 section 10.
    const RFC_4648_VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn base64url_encode_matches_rfc_vectors() {
        for (plain, encoded) in RFC_4648_VECTORS {
            assert_eq!(
                base64url_encode(plain.as_bytes()),
                encoded.trim_end_matches('=')
            );
        }
    }

    #[test]
    fn base64url_encode_uses_url_safe_alphabet() {
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn base64_decode_matches_rfc_vectors() {
        for (plain, encoded) in RFC_4648_VECTORS {
            assert_eq!(base64_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
    }

    #[test]
    fn base64_decode_accepts_missing_padding() {
        assert_eq!(base64_decode("Zm8").as_deref(), Some(&b"fo"[..]));
    }

    #[test]
    fn base64_decode_rejects_invalid_input() {
        // A URL-safe character is outside the standard alphabet.
        assert_eq!(base64_decode("-_8="), None);
        // Five characters cannot come from any byte count.
        assert_eq!(base64_decode("Zm9vY"), None);
        assert_eq!(base64_decode("Zg==="), None);
    }

    #[test]
    fn parse_form_decodes_pairs() {
        let pairs = parse_form(b"grant_type=client_credentials&scope=a%2Fb+c&empty=&flag");
        assert_eq!(
            pairs,
            vec![
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("scope".to_owned(), "a/b c".to_owned()),
                ("empty".to_owned(), String::new()),
                ("flag".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn percent_decode_keeps_invalid_escapes() {
        assert_eq!(percent_decode(b"100%", false), "100%");
        assert_eq!(percent_decode(b"%zz%4", false), "%zz%4");
        assert_eq!(percent_decode(b"a+b%20c", false), "a+b c");
    }
}
