//! A string that must never reach a log, a message or a `Debug` dump.

/// A secret value: a client secret, password, refresh token or access token.
///
/// `Debug` prints a fixed placeholder, there is no `Display`, and the value is read only
/// through [`Secret::expose`], so leaking it takes a visible call.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// Returns the secret value. Callers pass it only to a request or to the caller.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_redacts_value() {
        let secret = Secret::new("fake-secret");
        let printed = format!("{secret:?} {:?}", Some(&secret));
        assert!(!printed.contains("fake-secret"), "{printed}");
        assert!(printed.contains("redacted"), "{printed}");
        assert_eq!(secret.expose(), "fake-secret");
    }
}
