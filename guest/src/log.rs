//! Diagnostic messages sent to the host's log through the `logging` import.
//!
//! Messages name methods, hosts and decisions. They never carry a secret or a token:
//! callers format only values that are safe to print.

use crate::bindings::azauth::credential::logging::{self, Level};

/// Sends a debug message.
pub fn debug(message: &str) {
    send(Level::Debug, message);
}

/// Sends an informational message.
pub fn info(message: &str) {
    send(Level::Info, message);
}

/// Sends a warning.
pub fn warn(message: &str) {
    send(Level::Warn, message);
}

fn send(level: Level, message: &str) {
    // Unit tests run natively, where the import does not exist.
    if cfg!(target_family = "wasm") {
        logging::log(level, message);
    }
}
