//! Granting single files to the component.
//!
//! WASI preopens are directories, so to let the component read exactly one file the
//! host copies that file into a private temporary directory (mode 0700, removed when the
//! session ends) and preopens the directory read-only at the guest path of the
//! original file's parent, as the caller wrote it. The component then opens the same
//! path the user gave, and sees nothing else of that directory.
//!
//! The copy is taken when the session starts: later changes to the file are not seen.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// Largest file granted. Certificate files are a few kilobytes.
pub const MAX_GRANTED_FILE_BYTES: u64 = 1024 * 1024;

/// The temporary directories behind a session's file grants; dropping this removes them.
#[derive(Debug, Default)]
pub struct FileGrants {
    dirs: Vec<tempfile::TempDir>,
}

/// Copies each file into a private directory and preopens it for the component.
///
/// A file that cannot be copied (missing, unreadable, not a regular file, too large)
/// is left out with a debug log line: the component then reports it as not found, with
/// the path the caller gave.
pub fn grant(wasi: &mut WasiCtxBuilder, files: &BTreeSet<PathBuf>) -> anyhow::Result<FileGrants> {
    let mut by_parent: BTreeMap<String, Vec<&Path>> = BTreeMap::new();
    for file in files {
        by_parent.entry(guest_parent(file)).or_default().push(file);
    }

    let mut grants = FileGrants::default();
    for (guest_dir, files) in by_parent {
        let mut builder = tempfile::Builder::new();
        builder.prefix("azauth-grant-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = builder
            .tempdir()
            .context("creating a private directory for a granted file")?;
        let mut copied = 0;
        for file in files {
            match copy_into(file, dir.path()) {
                Ok(()) => copied += 1,
                Err(error) => {
                    tracing::debug!(path = %file.display(), %error, "file not granted");
                }
            }
        }
        if copied > 0 {
            wasi.preopened_dir(dir.path(), &guest_dir, FsPerms::ReadOnly)
                .map_err(|error| {
                    anyhow::anyhow!("granting the directory {guest_dir} to the component: {error}")
                })?;
            tracing::debug!(guest_dir, copied, "files granted read-only");
            grants.dirs.push(dir);
        }
    }
    Ok(grants)
}

/// The parent of `file` as written, `.` for a bare file name.
fn guest_parent(file: &Path) -> String {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_string_lossy().into_owned(),
        _ => ".".to_string(),
    }
}

fn copy_into(file: &Path, dir: &Path) -> anyhow::Result<()> {
    let name = file.file_name().context("the path has no file name")?;
    let source = std::fs::File::open(file)?;
    let metadata = source.metadata()?;
    if !metadata.is_file() {
        anyhow::bail!("not a regular file");
    }
    if metadata.len() > MAX_GRANTED_FILE_BYTES {
        anyhow::bail!("larger than {MAX_GRANTED_FILE_BYTES} bytes");
    }
    let mut bytes = Vec::new();
    source.take(MAX_GRANTED_FILE_BYTES).read_to_end(&mut bytes)?;
    std::fs::write(dir.join(name), bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_parent_keeps_the_path_as_written() {
        assert_eq!(guest_parent(Path::new("/etc/azauth/app.pem")), "/etc/azauth");
        assert_eq!(guest_parent(Path::new("certs/app.pem")), "certs");
        assert_eq!(guest_parent(Path::new("app.pem")), ".");
    }

    #[test]
    fn only_the_granted_file_is_copied() {
        let source = tempfile::tempdir().unwrap();
        std::fs::write(source.path().join("app.pem"), "granted").unwrap();
        std::fs::write(source.path().join("other.pem"), "not granted").unwrap();
        let files = BTreeSet::from([source.path().join("app.pem"), source.path().join("absent.pem")]);

        let grants = grant(&mut WasiCtxBuilder::new(), &files).unwrap();
        assert_eq!(grants.dirs.len(), 1);
        let dir = grants.dirs[0].path().to_path_buf();
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("app.pem")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        drop(grants);
        assert!(!dir.exists());
    }
}
