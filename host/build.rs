//! Builds the guest component for wasm32-wasip2 and precompiles it for this machine.
//!
//! The guest has its own target folder, `target/guest` at the workspace root (or
//! `AZAUTH_GUEST_TARGET_DIR`), so that this nested cargo does not wait on the lock of
//! the outer build. The precompiled component (`azauth.cwasm`) is embedded in the
//! library, so `azauth` starts without compiling WebAssembly.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "src/engine_config.rs"]
mod engine_config;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().expect("host/ has a parent folder").to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());

    for path in ["guest/src", "guest/Cargo.toml", "wit", "Cargo.lock", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    println!("cargo:rerun-if-changed=src/engine_config.rs");
    println!("cargo:rerun-if-env-changed=AZAUTH_GUEST_TARGET_DIR");

    let target_dir = env::var_os("AZAUTH_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("guest"));
    let wasm = build_guest(&root, &target_dir);

    let bytes = std::fs::read(&wasm)
        .unwrap_or_else(|error| panic!("reading {}: {error}", wasm.display()));
    std::fs::write(out_dir.join("azauth.wasm"), &bytes).expect("writing azauth.wasm");

    let engine = wasmtime::Engine::new(&engine_config::engine_config())
        .expect("creating the precompile engine");
    let precompiled = engine
        .precompile_component(&bytes)
        .expect("precompiling the guest component");
    std::fs::write(out_dir.join("azauth.cwasm"), precompiled).expect("writing azauth.cwasm");
}

/// Runs `cargo build` for the guest and returns the path of the component.
fn build_guest(root: &Path, target_dir: &Path) -> PathBuf {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "--package", "azauth-guest", "--target", "wasm32-wasip2"])
        .args(["--profile", "guest"])
        .arg("--target-dir")
        .arg(target_dir);
    // Settings meant for the outer, native build must not leak into the wasm build.
    for (name, _) in env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_") && name != "CARGO_HOME" || name == "RUSTFLAGS" || name == "RUSTC_WRAPPER" {
            command.env_remove(name.as_ref());
        }
    }
    let status = command.status().expect("running cargo for the guest");
    if !status.success() {
        panic!(
            "building the guest component failed ({status}); if the wasm32-wasip2 target is \
             missing, run `rustup target add wasm32-wasip2`"
        );
    }
    target_dir.join("wasm32-wasip2/guest/azauth_guest.wasm")
}
