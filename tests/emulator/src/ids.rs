//! Random and name-based identifiers: token suffixes, trace IDs and object IDs.
//!
//! NOTE: the random values come from std's `RandomState` hash keys, seeded once per
//! thread by the operating system. They are unique enough for a test emulator but are not
//! cryptographically secure, so tokens issued here must never guard real resources.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Process-wide counter mixed into every random value, so two calls never hash the same
/// input.
static CALL_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Returns 64 unpredictable bits (see the module note on their strength).
pub(crate) fn random_u64() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CALL_COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(nanos);
    hasher.finish()
}

/// Returns 16 random lower-case hex digits.
pub(crate) fn random_hex() -> String {
    format!("{:016x}", random_u64())
}

/// Returns a random version 4 UUID in its lower-case hyphenated form.
pub(crate) fn random_uuid() -> String {
    let high = random_u64().to_be_bytes();
    let low = random_u64().to_be_bytes();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high);
    bytes[8..].copy_from_slice(&low);
    format_uuid(bytes, 4)
}

/// Returns a UUID derived only from `name`, so the same name always yields the same ID.
///
/// The 128 bits are two FNV-1a hashes of the name, marked as a version 8 (custom) UUID as
/// RFC 9562 section 5.8 allows.
pub(crate) fn uuid_from_name(name: &str) -> String {
    let high = fnv1a_64(b"high", name.as_bytes()).to_be_bytes();
    let low = fnv1a_64(b"low", name.as_bytes()).to_be_bytes();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high);
    bytes[8..].copy_from_slice(&low);
    format_uuid(bytes, 8)
}

/// Checks for the hyphenated 8-4-4-4-12 hex form of a GUID, in either case.
pub(crate) fn is_guid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, &byte)| match index {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// Sets the version and RFC 9562 variant bits and formats the UUID.
fn format_uuid(mut bytes: [u8; 16], version: u8) -> String {
    bytes[6] = (bytes[6] & 0x0f) | version << 4;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;

    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// FNV-1a, 64-bit variant, over `salt` followed by `data`.
fn fnv1a_64(salt: &[u8], data: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    salt.iter().chain(data).fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_uuid_has_version_4_form() {
        let uuid = random_uuid();
        assert!(is_guid(&uuid), "{uuid}");
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"), "{uuid}");
    }

    #[test]
    fn random_values_differ() {
        assert_ne!(random_hex(), random_hex());
        assert_ne!(random_uuid(), random_uuid());
    }

    #[test]
    fn uuid_from_name_is_stable() {
        assert_eq!(uuid_from_name("a@b.example"), uuid_from_name("a@b.example"));
        assert_ne!(uuid_from_name("a@b.example"), uuid_from_name("c@b.example"));
        assert_eq!(&uuid_from_name("x")[14..15], "8");
    }

    #[test]
    fn fnv1a_matches_reference_value() {
        // FNV-1a 64 of "a", from the reference test suite by Fowler, Noll and Vo.
        assert_eq!(fnv1a_64(b"", b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn is_guid_checks_shape() {
        assert!(is_guid("11111111-2222-3333-4444-555555555555"));
        assert!(is_guid("AEBC6443-996D-45C2-90F0-388FF96FAA56"));
        assert!(!is_guid("contoso.example"));
        assert!(!is_guid("11111111-2222-3333-4444-55555555555g"));
        assert!(!is_guid("111111112222-3333-4444-5555-55555555555"));
    }
}
