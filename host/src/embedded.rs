//! Loading the precompiled component that is embedded in this binary.
//!
//! `Component::deserialize` copies the whole image into fresh memory, so while it runs
//! both the embedded pages and the copy are resident: twice the image's size in peak
//! RSS. On Linux the image goes instead into an anonymous memory file in chunks, the
//! embedded pages of each chunk are released once written, and wasmtime maps the file,
//! which keeps resident only the pages it touches. Elsewhere, or when that fails, the
//! component is copied as usual.

use std::path::PathBuf;

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::error::Context as _;

/// The component, precompiled for this machine by the build script.
static PRECOMPILED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/azauth.cwasm"));

/// Bytes written to the memory file at a time.
const CHUNK: usize = 256 * 1024;

/// Loads the embedded component.
pub fn load(engine: &Engine) -> wasmtime::Result<Component> {
    #[cfg(target_os = "linux")]
    match load_from_memory_file(engine) {
        Ok(component) => return Ok(component),
        Err(error) => tracing::debug!("loading through a memory file failed, so the component is copied: {error:#}"),
    }
    // SAFETY: the bytes were produced by this crate's build script with the same
    // wasmtime version and engine settings, and are embedded in this binary, so they are
    // trusted output of `Engine::precompile_component`.
    unsafe { Component::deserialize(engine, PRECOMPILED) }
        .context("loading the precompiled credential component")
}

#[cfg(target_os = "linux")]
fn load_from_memory_file(engine: &Engine) -> wasmtime::Result<Component> {
    use std::io::Write as _;
    use std::os::fd::{AsRawFd as _, FromRawFd as _};

    // SAFETY: memfd_create takes a NUL-terminated name and flags and returns a new file
    // descriptor or -1; the descriptor is owned by the `File` below.
    let fd = unsafe { libc::memfd_create(c"azauth-component".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("creating a memory file");
    }
    // SAFETY: `fd` is a new, open descriptor that nothing else owns.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    for chunk in PRECOMPILED.chunks(CHUNK) {
        file.write_all(chunk).context("writing the component to a memory file")?;
        release(chunk);
    }
    let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    // SAFETY: the memory file contains exactly the embedded bytes (see `load`). It has no
    // name in any file system, and its descriptor closes when `file` drops after the
    // mapping is made. Only processes that may already change this process's memory
    // (through /proc/PID/fd or ptrace) can reach it meanwhile.
    let component = unsafe { Component::deserialize_file(engine, &path) }
        .context("mapping the component from its memory file")?;
    drop(file);
    Ok(component)
}

/// Drops this process's copy of the pages entirely inside `bytes`. They belong to the
/// binary's read-only file mapping, so a later read loads them from the file again.
#[cfg(target_os = "linux")]
fn release(bytes: &[u8]) {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as usize;
    let start = (bytes.as_ptr() as usize).div_ceil(page) * page;
    let end = (bytes.as_ptr() as usize + bytes.len()) / page * page;
    if end > start {
        // SAFETY: the range lies inside a static, read-only, file-backed mapping of this
        // binary. MADV_DONTNEED on it only discards resident copies; the content stays
        // the same, because it is reloaded from the file on the next access.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}
