//! The `token-store` import: the component's persistent token cache, kept in files.
//!
//! Each partition is one file, `<folder>/<partition>.json`, readable and writable by the
//! user alone (mode 0600) in a folder that only the user can open (mode 0700). Every
//! operation takes an exclusive `flock` on `<folder>/<partition>.lock`, and a save writes
//! a temporary file in the same folder and renames it over the old one, so concurrent
//! `azauth` processes never see a half-written file.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Largest partition read; the cache of a handful of accounts is a few KiB.
const MAX_PARTITION_BYTES: u64 = 4 * 1024 * 1024;

/// Maximum wait for another process's lock on a partition.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Returns the default folder of the token cache: `$XDG_CACHE_HOME/azauth`, else
/// `$HOME/.cache/azauth`; `None` when neither variable is set to an absolute path.
pub fn default_token_cache_dir() -> Option<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".cache")))
        .map(|cache| cache.join("azauth"))
}

/// A token cache folder.
#[derive(Clone, Debug)]
pub struct FileTokenStore {
    dir: PathBuf,
}

impl FileTokenStore {
    /// Uses `dir`, which is created on the first save.
    pub fn new(dir: PathBuf) -> FileTokenStore {
        FileTokenStore { dir }
    }

    /// Reads a partition. Rejects a file that other users can read or write, because it
    /// contains refresh tokens.
    pub fn load(&self, partition: &str) -> Result<Option<String>, String> {
        let path = self.file(partition)?;
        if !self.dir.exists() {
            return Ok(None);
        }
        let _lock = self.lock(partition)?;
        let metadata = match fs::metadata(&path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(format!("reading {} failed: {error}", path.display())),
        };
        check_private(&path, metadata.permissions().mode(), 0o600)?;
        if metadata.len() > MAX_PARTITION_BYTES {
            return Err(format!(
                "{} is {} bytes, more than the {MAX_PARTITION_BYTES} bytes accepted; remove it \
                 with `azauth logout`",
                path.display(),
                metadata.len()
            ));
        }
        fs::read_to_string(&path)
            .map(Some)
            .map_err(|error| format!("reading {} failed: {error}", path.display()))
    }

    /// Replaces a partition: writes a private temporary file, then renames it.
    pub fn save(&self, partition: &str, data: &str) -> Result<(), String> {
        let path = self.file(partition)?;
        self.create_dir()?;
        let _lock = self.lock(partition)?;
        let temporary = self.dir.join(format!(".{partition}.json.{}.tmp", std::process::id()));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temporary)?;
            // The mode above applies only to a new file.
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
            file.write_all(data.as_bytes())?;
            file.sync_all()?;
            fs::rename(&temporary, &path)
        })();
        if let Err(error) = written {
            let _ = fs::remove_file(&temporary);
            return Err(format!("writing {} failed: {error}", path.display()));
        }
        Ok(())
    }

    /// Removes a partition; a missing one is already removed.
    pub fn remove(&self, partition: &str) -> Result<(), String> {
        let path = self.file(partition)?;
        if !self.dir.exists() {
            return Ok(());
        }
        let _lock = self.lock(partition)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            Err(error) => Err(format!("removing {} failed: {error}", path.display())),
        }
    }

    /// Returns the file of a partition, after checking that the name cannot leave the
    /// folder.
    pub(crate) fn file(&self, partition: &str) -> Result<PathBuf, String> {
        let valid = !partition.is_empty()
            && partition.len() <= 64
            && partition
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(format!(
                "invalid token cache partition {partition:?}: use 1 to 64 lowercase letters, \
                 digits and '-'"
            ));
        }
        Ok(self.dir.join(format!("{partition}.json")))
    }

    /// Creates the folder with mode 0700, and refuses an existing one that other users
    /// can open.
    pub(crate) fn create_dir(&self) -> Result<(), String> {
        match fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir) {
            Ok(()) => {}
            Err(error) => {
                return Err(format!("creating {} failed: {error}", self.dir.display()));
            }
        }
        let mode = fs::metadata(&self.dir)
            .map_err(|error| format!("reading {} failed: {error}", self.dir.display()))?
            .permissions()
            .mode();
        check_private(&self.dir, mode, 0o700)
    }

    /// Takes the partition's lock, waiting up to [`LOCK_TIMEOUT`] for another process.
    pub(crate) fn lock(&self, partition: &str) -> Result<File, String> {
        let path = self.dir.join(format!("{partition}.lock"));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|error| format!("opening {} failed: {error}", path.display()))?;
        let started = Instant::now();
        loop {
            // SAFETY: flock takes a valid open descriptor, which `file` owns for the call.
            let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if result == 0 {
                // The lock is released when the file is closed.
                return Ok(file);
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != ErrorKind::WouldBlock {
                return Err(format!("locking {} failed: {error}", path.display()));
            }
            if started.elapsed() >= LOCK_TIMEOUT {
                return Err(format!(
                    "{} stayed locked by another process for {} s",
                    path.display(),
                    LOCK_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Refuses a file or folder whose mode grants anything to the group or to others.
fn check_private(path: &Path, mode: u32, expected: u32) -> Result<(), String> {
    if mode & 0o077 != 0 {
        return Err(format!(
            "{} is open to other users (mode {:o}) and holds sign-in tokens, so it is not used; \
             run `chmod {expected:o} {}` or `azauth logout`",
            path.display(),
            mode & 0o777,
            path.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().join("azauth"));
        assert_eq!(store.load("accounts-v1").unwrap(), None);
        store.save("accounts-v1", "{\"a\":1}").unwrap();
        assert_eq!(store.load("accounts-v1").unwrap().as_deref(), Some("{\"a\":1}"));
        let file = dir.path().join("azauth/accounts-v1.json");
        assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        let folder = fs::metadata(dir.path().join("azauth")).unwrap();
        assert_eq!(folder.permissions().mode() & 0o777, 0o700);
        store.remove("accounts-v1").unwrap();
        assert_eq!(store.load("accounts-v1").unwrap(), None);
        store.remove("accounts-v1").unwrap();
    }

    #[test]
    fn partition_names_cannot_leave_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().to_path_buf());
        for name in ["", "../x", "a/b", "A", "x.json", &"a".repeat(65)] {
            assert!(store.save(name, "{}").is_err(), "{name:?}");
        }
    }

    #[test]
    fn file_open_to_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileTokenStore::new(dir.path().join("azauth"));
        store.save("accounts-v1", "{}").unwrap();
        let file = dir.path().join("azauth/accounts-v1.json");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let error = store.load("accounts-v1").unwrap_err();
        assert!(error.contains("open to other users (mode 644)"), "{error}");
        // A save replaces the file with a private one.
        store.save("accounts-v1", "{}").unwrap();
        assert!(store.load("accounts-v1").is_ok());
    }
}
