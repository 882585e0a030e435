//! Scripted faults that replace or disturb the emulator's normal responses.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::lock;

/// Path suffix of the token endpoint, which [`Emulator::push_fault`](crate::Emulator::push_fault)
/// targets.
pub const TOKEN_PATH_SUFFIX: &str = "/oauth2/v2.0/token";

/// A scripted response for one request, in place of the normal one.
///
/// Each fault applies to one request. The emulator records that request like any other
/// before the fault acts, and it always reads the whole request first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Sends a canned response, for example a 429 with `Retry-After`, a 500 or a 503.
    Status {
        /// HTTP status code.
        status: u16,
        /// Response body.
        body: String,
        /// Value of the `Content-Type` header.
        content_type: String,
        /// Extra header fields. `Content-Length`, `Transfer-Encoding` and `Connection`
        /// are ignored here, because the emulator sets them itself.
        headers: Vec<(String, String)>,
    },
    /// Waits, then handles the request normally.
    Delay {
        /// Wait before handling, in milliseconds.
        millis: u64,
    },
    /// Sends nothing, waits, then closes the connection.
    Silence {
        /// Wait before closing, in milliseconds.
        millis: u64,
    },
    /// Closes the connection without a response.
    Close,
}

impl Fault {
    /// Creates IMDS's response on a machine without the requested identity: 400 "Identity
    /// not found".
    pub fn no_identity() -> Fault {
        Fault::json(400, r#"{"error":"invalid_request","error_description":"Identity not found"}"#, &[])
    }

    /// Creates IMDS's response while it is updating ("warming up"): 410 with an empty body. The
    /// IMDS documentation says it is available again within 70 s.
    pub fn updating() -> Fault {
        Fault::Status {
            status: 410,
            body: String::new(),
            content_type: "text/plain".to_owned(),
            headers: Vec::new(),
        }
    }

    /// Creates a 429 with a plain-text body and, when given, `Retry-After` in seconds.
    pub fn throttled(retry_after_secs: Option<u64>) -> Fault {
        Fault::Status {
            status: 429,
            body: "throttled, try again later".to_owned(),
            content_type: "text/plain".to_owned(),
            headers: retry_after_secs
                .map(|secs| vec![("Retry-After".to_owned(), secs.to_string())])
                .unwrap_or_default(),
        }
    }

    /// Creates a server error with a JSON body.
    pub fn server_error(status: u16) -> Fault {
        Fault::json(
            status,
            r#"{"error":"server_error","error_description":"fake server error"}"#,
            &[],
        )
    }

    /// Creates a canned JSON response.
    pub fn json(status: u16, body: &str, headers: &[(&str, &str)]) -> Fault {
        Fault::Status {
            status,
            body: body.to_owned(),
            content_type: "application/json; charset=utf-8".to_owned(),
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }
}

/// First-in, first-out queue of faults, each with the path suffix it applies to.
#[derive(Default)]
pub(crate) struct FaultQueue {
    entries: Mutex<VecDeque<(String, Fault)>>,
}

impl FaultQueue {
    pub(crate) fn push(&self, path_suffix: String, fault: Fault) {
        lock(&self.entries).push_back((path_suffix, fault));
    }

    /// Removes and returns the oldest fault whose suffix ends `path`.
    pub(crate) fn take_for(&self, path: &str) -> Option<Fault> {
        let mut entries = lock(&self.entries);
        let index = entries
            .iter()
            .position(|(suffix, _)| path.ends_with(suffix.as_str()))?;
        entries.remove(index).map(|(_, fault)| fault)
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    pub(crate) fn clear(&self) {
        lock(&self.entries).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_for_matches_suffix_in_order() {
        let queue = FaultQueue::default();
        queue.push(TOKEN_PATH_SUFFIX.to_owned(), Fault::Close);
        queue.push("/health".to_owned(), Fault::Delay { millis: 1 });
        queue.push(TOKEN_PATH_SUFFIX.to_owned(), Fault::Silence { millis: 2 });

        assert_eq!(queue.take_for("/other"), None);
        assert_eq!(queue.take_for("/t/oauth2/v2.0/token"), Some(Fault::Close));
        assert_eq!(
            queue.take_for("/t/oauth2/v2.0/token"),
            Some(Fault::Silence { millis: 2 })
        );
        assert_eq!(queue.take_for("/t/oauth2/v2.0/token"), None);
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.take_for("/health"), Some(Fault::Delay { millis: 1 }));
    }
}
