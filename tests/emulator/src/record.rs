//! Requests as the emulator received them.

use crate::encoding::parse_form;

/// One HTTP request as the emulator received it, recorded before any fault or handler
/// runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Request method as sent, for example `POST`.
    pub method: String,
    /// Path of the request target without the query string, still percent-encoded. An
    /// absolute-form target (`http://host/path`) is reduced to its path.
    pub path: String,
    /// Query parameters, percent-decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// Header fields in the order sent, with lower-cased names and trimmed values.
    pub headers: Vec<(String, String)>,
    /// Request body, after chunked decoding if it was chunked.
    pub body: Vec<u8>,
    /// Whether the body arrived with `Transfer-Encoding: chunked`.
    pub chunked: bool,
}

impl RecordedRequest {
    /// Returns the value of the first header named `name`, ignoring ASCII case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Decodes the body as `application/x-www-form-urlencoded`, whatever its
    /// `Content-Type`.
    pub fn form(&self) -> Vec<(String, String)> {
        parse_form(&self.body)
    }

    /// Returns the first value of the form field `name` in the body (see [`form`](Self::form)).
    pub fn form_value(&self, name: &str) -> Option<String> {
        first_value(self.form(), name)
    }

    /// Returns the first value of the query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<String> {
        first_value(self.query.clone(), name)
    }
}

fn first_value(pairs: Vec<(String, String)>, name: &str) -> Option<String> {
    pairs
        .into_iter()
        .find(|(known, _)| known == name)
        .map(|(_, value)| value)
}
