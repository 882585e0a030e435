//! The `process` import: programs run by argument vector, under the policy.
//!
//! The program is looked up by bare name in the allowlist, then on the host's `PATH`,
//! skipping relative entries so that nothing is ever run from the working directory.
//! It runs in a new process group with a minimal environment, stdout and stderr are
//! read concurrently up to a size limit, and on timeout the whole group is killed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::bindings::azauth::credential::process::{Command, Completed, RunError};
use crate::policy::{MAX_PROCESS_OUTPUT, MAX_PROCESS_TIMEOUT};

/// Variables passed from the host's environment to programs, when set: the search path,
/// the home folder, locale and time zone, proxy and CA settings, the Azure CLI's and
/// PowerShell's own configuration, and the session bus that `secret-tool` reaches the
/// keyring through.
pub const CHILD_VARIABLES: [&str; 18] = [
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "REQUESTS_CA_BUNDLE",
    "AZURE_CONFIG_DIR",
    "AZURE_EXTENSION_DIR",
    "AZURE_CORE_COLLECT_TELEMETRY",
    "PSModulePath",
    "POWERSHELL_TELEMETRY_OPTOUT",
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
];

/// How long to keep reading output after the program exits. A program that leaves a
/// background child holding its stdout open must not hold up the caller.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(200);

/// Runs a command under the allowlist, finding the program on the host's `PATH`.
pub async fn run(command: Command, programs: &BTreeSet<String>) -> Result<Completed, RunError> {
    run_with_path(command, programs, std::env::var_os("PATH").as_deref()).await
}

async fn run_with_path(
    command: Command,
    programs: &BTreeSet<String>,
    search_path: Option<&std::ffi::OsStr>,
) -> Result<Completed, RunError> {
    let name = command.program.as_str();
    if name.is_empty() || name.contains(['/', '\\']) || !programs.contains(name) {
        tracing::warn!(program = name, "program denied by the policy");
        return Err(RunError::NotAllowed(format!(
            "the host policy does not allow running {name:?}; allowed programs: {}",
            programs.iter().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let Some(path) = find_on_path(name, search_path) else {
        return Err(RunError::NotFound(format!("{name} was not found on PATH")));
    };
    let timeout = Duration::from_millis(u64::from(command.timeout_ms)).min(MAX_PROCESS_TIMEOUT);
    tracing::debug!(program = %path.display(), args = command.args.len(), ?timeout, "running program");

    let mut child = tokio::process::Command::new(&path);
    child
        .args(&command.args)
        .env_clear()
        .envs(CHILD_VARIABLES.iter().filter_map(|name| {
            std::env::var_os(name).map(|value| (name.to_string(), value))
        }))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = child
        .spawn()
        .map_err(|error| RunError::Failed(format!("starting {} failed: {error}", path.display())))?;
    let group = child.id().map(|pid| pid as i32);
    let stdout = read_limited(child.stdout.take());
    let stderr = read_limited(child.stderr.take());
    tokio::pin!(stdout, stderr);

    let mut stdout_result = None;
    let mut stderr_result = None;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            result = &mut stdout, if stdout_result.is_none() => stdout_result = Some(result),
            result = &mut stderr, if stderr_result.is_none() => stderr_result = Some(result),
            () = &mut deadline => {
                kill_group(group);
                let _ = child.wait().await;
                return Err(RunError::TimedOut);
            }
        }
        if matches!(stdout_result, Some(None)) || matches!(stderr_result, Some(None)) {
            kill_group(group);
            let _ = child.wait().await;
            return Err(RunError::OutputTooLarge);
        }
    };
    let status = status.map_err(|error| RunError::Failed(format!("waiting for {name} failed: {error}")))?;

    // The program has exited. Its output is complete once the pipes close, but a
    // background child may hold them open: after the drain period the group is killed,
    // which closes them, and the reads finish with what was written.
    let drain = tokio::time::sleep(DRAIN_AFTER_EXIT);
    tokio::pin!(drain);
    let mut killed = false;
    while stdout_result.is_none() || stderr_result.is_none() {
        tokio::select! {
            result = &mut stdout, if stdout_result.is_none() => stdout_result = Some(result),
            result = &mut stderr, if stderr_result.is_none() => stderr_result = Some(result),
            () = &mut drain => {
                if killed {
                    break;
                }
                kill_group(group);
                killed = true;
                drain.as_mut().reset(tokio::time::Instant::now() + DRAIN_AFTER_EXIT);
            }
        }
    }
    kill_group(group);

    // A pipe still open after the kill belongs to a process that left the group. What
    // was read from it so far is lost, so it counts as empty.
    let (Some(stdout), Some(stderr)) = (
        stdout_result.unwrap_or(Some(Vec::new())),
        stderr_result.unwrap_or(Some(Vec::new())),
    ) else {
        return Err(RunError::OutputTooLarge);
    };
    tracing::debug!(program = name, code = ?status.code(), "program exited");
    Ok(Completed {
        exit_code: status.code(),
        stdout,
        stderr,
    })
}

/// Reads a pipe to its end. Returns `None` when it contains more than the output limit.
async fn read_limited(pipe: Option<impl AsyncRead + Unpin>) -> Option<Vec<u8>> {
    let Some(mut pipe) = pipe else {
        return Some(Vec::new());
    };
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => return Some(bytes),
            Ok(count) => {
                bytes.extend_from_slice(&buffer[..count]);
                if bytes.len() > MAX_PROCESS_OUTPUT {
                    return None;
                }
            }
        }
    }
}

/// Kills a process group, ignoring a group that is already gone.
fn kill_group(group: Option<i32>) {
    if let Some(group) = group {
        // SAFETY: killpg has no memory-safety preconditions; the group ID comes from a
        // child this host spawned with `process_group(0)`, so it names that child's group.
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
    }
}

/// Finds an executable by bare name on an absolute entry of `path`.
pub fn find_on_path(name: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = path?;
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            Path::new(candidate)
                .metadata()
                .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_lookup_skips_relative_entries() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("az");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&program, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

        let joined = std::env::join_paths([Path::new("."), dir.path()]).unwrap();
        assert_eq!(find_on_path("az", Some(&joined)), Some(program.clone()));
        let relative_only = std::env::join_paths([Path::new("relative")]).unwrap();
        assert_eq!(find_on_path("az", Some(&relative_only)), None);
    }

    /// Writes an executable script named `name` into `dir`.
    fn script(dir: &Path, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn command(program: &str, args: &[&str], timeout_ms: u32) -> Command {
        Command {
            program: program.to_string(),
            args: args.iter().map(|arg| arg.to_string()).collect(),
            timeout_ms,
        }
    }

    fn allowed(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    async fn run_in(dir: &Path, command: Command, programs: &[&str]) -> Result<Completed, RunError> {
        let path = std::env::join_paths([dir]).unwrap();
        run_with_path(command, &allowed(programs), Some(&path)).await
    }

    #[tokio::test(flavor = "current_thread")]
    async fn arguments_pass_verbatim_without_shell() {
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "az", r#"for arg in "$@"; do printf '%s\n' "$arg"; done; echo warn >&2"#);
        let args = ["account", "--scope", "x;echo INJECTED", "$(id)"];
        let completed = run_in(dir.path(), command("az", &args, 5000), &["az"]).await.unwrap();
        assert_eq!(completed.exit_code, Some(0));
        assert_eq!(String::from_utf8(completed.stdout).unwrap(), "account\n--scope\nx;echo INJECTED\n$(id)\n");
        assert_eq!(completed.stderr, b"warn\n");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn program_outside_allowlist_is_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        script(dir.path(), "sh-tool", &format!("touch {}", marker.display()));
        for name in ["sh-tool", "/bin/sh", "../az", ""] {
            let error = run_in(dir.path(), command(name, &[], 5000), &["az", "pwsh"]).await.unwrap_err();
            assert!(matches!(error, RunError::NotAllowed(_)), "{name}: {error:?}");
        }
        assert!(!marker.exists());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn missing_program_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let error = run_in(dir.path(), command("az", &[], 5000), &["az"]).await.unwrap_err();
        assert!(matches!(error, RunError::NotFound(ref text) if text == "az was not found on PATH"), "{error:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn timeout_kills_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("child.pid");
        // The script starts a grandchild in its group, then hangs.
        script(dir.path(), "az", &format!("sleep 300 & echo $! > {}; sleep 300", pid_file.display()));
        let started = std::time::Instant::now();
        let error = run_in(dir.path(), command("az", &[], 300), &["az"]).await.unwrap_err();
        assert!(matches!(error, RunError::TimedOut), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // A killed process whose parent is gone may stay a zombie until init reaps it.
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let running = state
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X");
        assert!(!running, "the grandchild {pid} survived the timeout: {state}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn exit_returns_without_waiting_for_orphans() {
        let dir = tempfile::tempdir().unwrap();
        // Prints its output, leaves a background child holding stdout open, and exits.
        script(dir.path(), "az", "echo '{\"ok\":true}'; (sleep 300) & exit 0");
        let started = std::time::Instant::now();
        let completed = run_in(dir.path(), command("az", &[], 10_000), &["az"]).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert_eq!(completed.stdout, b"{\"ok\":true}\n");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn output_beyond_limit_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "az", "head -c 2000000 /dev/zero");
        let error = run_in(dir.path(), command("az", &[], 10_000), &["az"]).await.unwrap_err();
        assert!(matches!(error, RunError::OutputTooLarge), "{error:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn child_environment_is_minimal() {
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "az", "env");
        // SAFETY: no other test in this binary reads this variable.
        unsafe { std::env::set_var("AZURE_CLIENT_SECRET", "must-not-leak") };
        let completed = run_in(dir.path(), command("az", &[], 5000), &["az"]).await.unwrap();
        let env = String::from_utf8(completed.stdout).unwrap();
        assert!(!env.contains("must-not-leak"), "{env}");
        for line in env.lines() {
            let name = line.split('=').next().unwrap();
            assert!(CHILD_VARIABLES.contains(&name) || name == "PWD" || name == "SHLVL" || name == "_", "{name}");
        }
    }

    #[test]
    fn path_lookup_needs_execute_bit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("az"), "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths([dir.path()]).unwrap();
        assert_eq!(find_on_path("az", Some(&path)), None);
    }
}
