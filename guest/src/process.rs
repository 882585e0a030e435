//! Programs run through the host's `process` import.
//!
//! The host looks the program up in its allowlist and on its `PATH`, runs it by argument
//! vector (never through a shell) with a minimal environment, and kills its process
//! group at the timeout. This wrapper turns the generated types into plain Rust ones.

use crate::bindings::azauth::credential::process::{self as wit, Command, RunError};

/// The output and exit code of a program that ran to completion.
#[derive(Debug)]
pub struct Output {
    /// The exit code, or `None` when a signal ended the program.
    pub exit_code: Option<i32>,
    /// Standard output, decoded as UTF-8 with invalid bytes replaced.
    pub stdout: String,
    /// Standard error, decoded as UTF-8 with invalid bytes replaced.
    pub stderr: String,
}

/// The reason a program did not run to completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessError {
    /// The host policy does not allow the program, or the host runs no programs.
    NotAllowed(String),
    /// The program is not on the host's `PATH`.
    NotFound(String),
    /// The program ran longer than the timeout and the host killed it.
    TimedOut,
    /// The program wrote more than the host accepts.
    OutputTooLarge,
    /// Starting or waiting for the program failed.
    Failed(String),
}

/// Runs `program` with `args`, waiting at most `timeout_ms` milliseconds.
pub fn run(program: &str, args: &[String], timeout_ms: u32) -> Result<Output, ProcessError> {
    let command = Command {
        program: program.to_string(),
        args: args.to_vec(),
        timeout_ms,
    };
    match wit::run(&command) {
        Ok(completed) => Ok(Output {
            exit_code: completed.exit_code,
            stdout: String::from_utf8_lossy(&completed.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&completed.stderr).into_owned(),
        }),
        Err(RunError::NotAllowed(message)) => Err(ProcessError::NotAllowed(message)),
        Err(RunError::NotFound(message)) => Err(ProcessError::NotFound(message)),
        Err(RunError::TimedOut) => Err(ProcessError::TimedOut),
        Err(RunError::OutputTooLarge) => Err(ProcessError::OutputTooLarge),
        Err(RunError::Failed(message)) => Err(ProcessError::Failed(message)),
    }
}

/// Replaces access tokens in a program's output before it reaches a message or log.
///
/// Removes the value of every `"accessToken"`, `"access_token"` and `"token"` JSON
/// field, and every word that looks like a JWT (three base64url segments, the first
/// starting with `eyJ`). A heuristic: it errs on the side of removing too much.
pub fn redact(text: &str) -> String {
    let mut output = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = find_token_field(rest) {
        let (before, after) = rest.split_at(start.value_start);
        output.push_str(before);
        output.push_str("<redacted>");
        rest = &after[start.value_len..];
    }
    output.push_str(rest);
    output
        .split_inclusive(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .map(|word| {
            let trimmed =
                word.trim_end_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'');
            if looks_like_jwt(trimmed) {
                word.replacen(trimmed, "<redacted>", 1)
            } else {
                word.to_string()
            }
        })
        .collect()
}

struct FieldValue {
    value_start: usize,
    value_len: usize,
}

/// Finds the first string value of a token field in JSON text.
fn find_token_field(text: &str) -> Option<FieldValue> {
    const NAMES: [&str; 3] = ["\"accessToken\"", "\"access_token\"", "\"token\""];
    let mut best: Option<FieldValue> = None;
    for name in NAMES {
        let Some(position) = text.find(name) else {
            continue;
        };
        let after_name = &text[position + name.len()..];
        let Some(colon) = after_name.find(|c: char| !c.is_whitespace()) else {
            continue;
        };
        if !after_name[colon..].starts_with(':') {
            continue;
        }
        let after_colon = &after_name[colon + 1..];
        let Some(quote) = after_colon.find(|c: char| !c.is_whitespace()) else {
            continue;
        };
        if !after_colon[quote..].starts_with('"') {
            continue;
        }
        let value_start = position + name.len() + colon + 1 + quote + 1;
        let value_len = text[value_start..]
            .find('"')
            .unwrap_or(text.len() - value_start);
        if best
            .as_ref()
            .is_none_or(|known| value_start < known.value_start)
        {
            best = Some(FieldValue {
                value_start,
                value_len,
            });
        }
    }
    best
}

fn looks_like_jwt(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() == 3
        && word.starts_with("eyJ")
        && parts[..2].iter().all(|part| {
            part.len() >= 4
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_token_fields_and_jwts() {
        let text = r#"{"accessToken": "FAKE-AT-0001", "expiresOn": "x", "access_token":"abc"}"#;
        assert_eq!(
            redact(text),
            r#"{"accessToken": "<redacted>", "expiresOn": "x", "access_token":"<redacted>"}"#
        );
        let text = "ERROR: token eyJhbGciOi.eyJzdWIiOiJ4In0.c2lnbmF0dXJl was rejected";
        assert_eq!(redact(text), "ERROR: token <redacted> was rejected");
        // Ordinary text passes unchanged.
        let text = "ERROR: Please run 'az login' to setup account.";
        assert_eq!(redact(text), text);
    }
}
