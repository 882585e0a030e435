//! The person at the host, through the `user` import: the device code prompt, the
//! browser and the loopback redirect listener.
//!
//! Every function returns the host's error as a message; the methods turn it into
//! "unavailable".

#[cfg(target_family = "wasm")]
pub use crate::bindings::azauth::credential::user::{
    DeviceCodePrompt, end_device_code, listen_redirect, open_browser, show_device_code,
    wait_redirect,
};

/// Unit tests run natively, where the import does not exist: every call fails.
#[cfg(not(target_family = "wasm"))]
mod native {
    const ABSENT: &str = "the user interface exists only inside the component";

    /// What a person needs in order to finish a device code sign-in.
    #[derive(Clone, Debug)]
    #[allow(dead_code, reason = "mirrors the import's record, which native tests never show")]
    pub struct DeviceCodePrompt {
        pub verification_uri: String,
        pub user_code: String,
        pub message: String,
        pub expires_on: u64,
    }

    pub fn show_device_code(_: &DeviceCodePrompt) -> Result<(), String> {
        Err(ABSENT.to_string())
    }

    pub fn end_device_code(_: bool) {}

    pub fn open_browser(_: &str) -> Result<(), String> {
        Err(ABSENT.to_string())
    }

    pub fn listen_redirect() -> Result<u16, String> {
        Err(ABSENT.to_string())
    }

    pub fn wait_redirect(_: u16, _: u32) -> Result<String, String> {
        Err(ABSENT.to_string())
    }
}

#[cfg(not(target_family = "wasm"))]
pub use native::*;

/// Returns `len` random bytes from wasi:random, a cryptographically secure source.
#[cfg(target_family = "wasm")]
pub fn random_bytes(len: u64) -> Vec<u8> {
    crate::bindings::wasi::random::random::get_random_bytes(len)
}

/// Returns `len` bytes for native unit tests, which do not depend on their values.
#[cfg(not(target_family = "wasm"))]
pub fn random_bytes(len: u64) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(37).wrapping_add(11)).collect()
}
