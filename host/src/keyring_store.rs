//! The `token-store` import backed by the system keyring: each partition is one Secret
//! Service item (attributes `service=azauth`, `partition=<name>`), written and read
//! with libsecret's `secret-tool`.
//!
//! The cache folder still holds the partitions' lock files, so concurrent `azauth`
//! processes take turns as they do with [`FileTokenStore`]. A keyring that is locked may
//! show an unlock prompt, so every `secret-tool` run has a timeout.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;

use crate::token_store::FileTokenStore;

/// The `service` attribute of azauth's keyring items.
const SERVICE: &str = "azauth";

/// Time allowed for one `secret-tool` run, including an unlock prompt.
const SECRET_TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// Time allowed for the availability probe, which normally returns at once.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// A token store in the system keyring, with lock files in a folder.
#[derive(Clone, Debug)]
pub struct KeyringTokenStore {
    locks: FileTokenStore,
}

/// Exit code and output of one `secret-tool` run.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl KeyringTokenStore {
    /// Keeps partitions in the keyring and their lock files in `lock_dir`.
    pub fn new(lock_dir: PathBuf) -> KeyringTokenStore {
        KeyringTokenStore {
            locks: FileTokenStore::new(lock_dir),
        }
    }

    /// Checks whether a Secret Service is reachable on the session bus. That needs
    /// `DBUS_SESSION_BUS_ADDRESS`, `secret-tool` on `PATH`, and a lookup that returns
    /// found or not found without an error.
    pub async fn available() -> bool {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            return false;
        }
        let probe = ["lookup", "service", SERVICE, "partition", "availability-probe"];
        match secret_tool(&probe, None, PROBE_TIMEOUT).await {
            Ok(outcome) => outcome.code == Some(0) || (outcome.code == Some(1) && outcome.stderr.is_empty()),
            Err(error) => {
                tracing::debug!("the system keyring is not available: {error}");
                false
            }
        }
    }

    /// Reads a partition's item; none when there is no such item.
    pub async fn load(&self, partition: &str) -> Result<Option<String>, String> {
        self.locks.file(partition)?;
        self.locks.create_dir()?;
        let _lock = self.locks.lock(partition)?;
        let outcome = secret_tool(&["lookup", "service", SERVICE, "partition", partition], None, SECRET_TOOL_TIMEOUT).await?;
        match outcome.code {
            Some(0) => Ok(Some(outcome.stdout)),
            Some(1) if outcome.stderr.is_empty() => Ok(None),
            _ => Err(failure("reading", &outcome)),
        }
    }

    /// Replaces a partition's item.
    pub async fn save(&self, partition: &str, data: &str) -> Result<(), String> {
        self.locks.file(partition)?;
        self.locks.create_dir()?;
        let _lock = self.locks.lock(partition)?;
        let label = format!("--label=azauth token cache ({partition})");
        let args = ["store", label.as_str(), "service", SERVICE, "partition", partition];
        let outcome = secret_tool(&args, Some(data), SECRET_TOOL_TIMEOUT).await?;
        match outcome.code {
            Some(0) => Ok(()),
            _ => Err(failure("writing", &outcome)),
        }
    }

    /// Removes a partition's item; a missing one is already removed.
    pub async fn remove(&self, partition: &str) -> Result<(), String> {
        self.locks.file(partition)?;
        self.locks.create_dir()?;
        let _lock = self.locks.lock(partition)?;
        let outcome = secret_tool(&["clear", "service", SERVICE, "partition", partition], None, SECRET_TOOL_TIMEOUT).await?;
        match outcome.code {
            Some(0) => Ok(()),
            Some(1) if outcome.stderr.is_empty() => Ok(()),
            _ => Err(failure("removing", &outcome)),
        }
    }
}

fn failure(action: &str, outcome: &Outcome) -> String {
    format!(
        "{action} the token cache in the system keyring failed (secret-tool exit code {:?}): {}",
        outcome.code,
        outcome.stderr.trim()
    )
}

/// Runs `secret-tool` with `input` on stdin. The secret travels only through the pipes.
async fn secret_tool(args: &[&str], input: Option<&str>, timeout: Duration) -> Result<Outcome, String> {
    let mut child = tokio::process::Command::new("secret-tool")
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("starting secret-tool failed: {error}"))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .await
            .map_err(|error| format!("writing to secret-tool failed: {error}"))?;
    }
    let output = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .map_err(|_| format!("secret-tool did not finish within {} s", timeout.as_secs()))?
        .map_err(|error| format!("running secret-tool failed: {error}"))?;
    Ok(Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}
