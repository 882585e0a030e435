//! Helpers for running the real `azauth` binary against the emulator.

#![allow(dead_code, unused_imports, reason = "each test file uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use azauth_emulator::{Emulator, EmulatorConfig, Fault};

pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub const CLIENT: &str = "99999999-8888-7777-6666-555555555555";
pub const SECRET: &str = "fake-secret";
pub const USER: &str = "fake.user@contoso.example";
pub const PASSWORD: &str = "fake-password";
pub const SCOPE: &str = "https://management.azure.com/.default";

/// A temporary home and working folder, so no real configuration is found.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file under the sandbox and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `azauth` with an empty environment but PATH, HOME set to the sandbox, and the
    /// sandbox as working folder.
    pub fn azauth(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_azauth"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("TZ", "UTC")
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        command
    }
}

/// Runs a command and returns its output as text.
pub fn run(command: &mut Command) -> Finished {
    let output: Output = command.output().expect("azauth runs");
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// What a finished `azauth` printed.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:#?}"))
    }

    pub fn assert_code(&self, code: i32) -> &Finished {
        assert_eq!(self.code, Some(code), "{self:#?}");
        self
    }
}

/// Token requests the emulator received.
pub fn token_requests(emulator: &Emulator) -> Vec<azauth_emulator::RecordedRequest> {
    emulator
        .requests()
        .into_iter()
        .filter(|request| request.path.ends_with("/oauth2/v2.0/token"))
        .collect()
}

/// Command-line arguments for the clientsecret method against the emulator.
pub fn client_secret_args(emulator: &Emulator) -> Vec<String> {
    [
        "get-token",
        "--scope",
        SCOPE,
        "--methods",
        "clientsecret",
        "--tenant-id",
        TENANT,
        "--client-id",
        CLIENT,
        "--client-secret",
        SECRET,
        "--authority-host",
        &emulator.url(),
    ]
    .map(String::from)
    .to_vec()
}

/// Returns the path of a program on `PATH`, if it is installed.
pub fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// Tells whether a real Secret Service can run here: a private D-Bus session with
/// gnome-keyring, reached with secret-tool. Prints why a test is skipped when not.
pub fn secret_service_installed(test: &str) -> bool {
    let tools = ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"];
    match tools.iter().find(|tool| on_path(tool).is_none()) {
        Some(missing) => {
            eprintln!("{test} skipped: {missing} is not installed");
            false
        }
        None => true,
    }
}

/// Runs `script` with `sh` in a private D-Bus session whose gnome-keyring is unlocked,
/// with the sandbox's environment, `$AZAUTH` set to the binary and `$SECRET` to `secret`.
pub fn run_in_keyring_session(sandbox: &Sandbox, secret: &str, script: &str) -> Finished {
    use std::os::unix::fs::PermissionsExt as _;

    let runtime_dir = sandbox.path().join("run");
    std::fs::create_dir_all(&runtime_dir).unwrap();
    std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let script = format!(
        "printf 'fake-keyring-password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1\n{script}"
    );
    let mut command = Command::new("dbus-run-session");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sandbox.path())
        .env("TZ", "UTC")
        .env("XDG_RUNTIME_DIR", &runtime_dir)
        .env("AZAUTH", env!("CARGO_BIN_EXE_azauth"))
        .env("SECRET", secret)
        .current_dir(sandbox.path())
        .stdin(Stdio::null())
        .args(["--", "sh", "-c", &script]);
    run(&mut command)
}

/// Client ID of the emulator's user-assigned managed identity.
pub const IDENTITY_CLIENT: &str = azauth_emulator::demo::USER_IDENTITY_CLIENT_ID;

impl Sandbox {
    /// Writes an executable shell script `bin/NAME` that appends its arguments, one call
    /// per line, to `NAME.calls`, then runs `body`. Returns the script's path.
    pub fn fake_program(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let calls = self.path().join(format!("{name}.calls"));
        let text = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n{body}\n",
            calls.display()
        );
        let path = self.write(&format!("bin/{name}"), &text);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Returns the argument lines of every call of a fake program, in order.
    pub fn calls(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.path().join(format!("{name}.calls")))
            .map(|text| text.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// `azauth` as [`Sandbox::azauth`] makes it, with `PATH` set to the sandbox's `bin`
    /// folder followed by `/usr/bin:/bin`, so only fake programs are found.
    pub fn azauth_with_fakes(&self) -> Command {
        let mut command = self.azauth();
        command.env("PATH", format!("{}:/usr/bin:/bin", self.path().join("bin").display()));
        command
    }
}

/// Returns a loopback port with nothing listening, so connections are refused.
pub fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Binds a loopback listener that never accepts: connections complete in the kernel and
/// then nothing responds. Keep it alive for the test's duration.
pub fn silent_listener() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap()
}

/// The reply of a fake `az` (CLI 2.54 and later), consistent in UTC+02:00.
pub const AZ_OK: &str = r#"{"accessToken": "FAKE-AT-0002", "expiresOn": "2030-03-17 19:46:40.000000", "expires_on": 1900000000,
 "subscription": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
 "tenant": "11111111-2222-3333-4444-555555555555", "tokenType": "Bearer"}"#;

/// Returns a fake `az` body that prints [`AZ_OK`].
pub fn az_ok_body() -> String {
    format!("cat <<'EOF'\n{AZ_OK}\nEOF")
}
