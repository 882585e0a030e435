//! The `powershell` method end to end with fake `pwsh` programs.
//!
//! PowerShell cannot be installed here, so each fake prints what the real script prints
//! for one Az.Accounts behaviour. Fakes that stand for a module version check that the
//! script carries the logic that version needs before they respond.

mod common;

use common::*;

const RESULT: &str = r#"AZAUTH_POWERSHELL_RESULT {"token":"FAKE-AT-0080","expires_on":1900000000,"tenant":"11111111-2222-3333-4444-555555555555"}"#;

fn pwsh_args() -> Vec<&'static str> {
    vec!["get-token", "--scope", SCOPE, "--methods", "powershell"]
}

/// Writes a fake `pwsh` that checks its arguments, then runs `body` with the script in `$4`.
fn fake_pwsh(sandbox: &Sandbox, body: &str) {
    let check = "[ \"$1\" = -NoProfile ] && [ \"$2\" = -NonInteractive ] && [ \"$3\" = -Command ] || { echo \"bad arguments: $1 $2 $3\" >&2; exit 64; }";
    sandbox.fake_program("pwsh", &format!("{check}\n{body}"));
}

/// Builds a body that prints the result only if the script contains every `needle`.
fn answer_if_script_has(needles: &[&str], otherwise: &str) -> String {
    let tests: Vec<String> = needles
        .iter()
        .map(|needle| {
            let quoted = needle.replace('\'', r"'\''");
            format!("case \"$4\" in *'{quoted}'*) ;; *) {otherwise}; exit 0;; esac")
        })
        .collect();
    format!("{}\necho\necho '{RESULT}'", tests.join("\n"))
}

#[test]
fn plain_text_token_from_old_module() {
    // Az.Accounts 2.12 has no -AsSecureString: the script may ask for it only from 2.17.
    let sandbox = Sandbox::new();
    fake_pwsh(
        &sandbox,
        &answer_if_script_has(
            &["$module.Version -ge [version]'2.17.0'"],
            "echo 'Get-AzAccessToken: A parameter cannot be found that matches parameter name AsSecureString.' >&2; exit 1",
        ),
    );
    let json = run(sandbox.azauth_with_fakes().args(pwsh_args()))
        .assert_code(0)
        .json();
    assert_eq!(json["accessToken"], "FAKE-AT-0080");
    assert_eq!(json["expires_on"], 1_900_000_000);
    assert_eq!(json["tenant"], TENANT);
    assert_eq!(json["authMethod"], "powershell");
}

#[test]
fn secure_string_token_unwrapped() {
    // Az.Accounts 5 always returns a SecureString; the script must unwrap it on
    // PowerShell 7 and on Windows PowerShell 5.1.
    let sandbox = Sandbox::new();
    let unwrapped = "echo; echo 'AZAUTH_POWERSHELL_RESULT {\"token\":\"System.Security.SecureString\",\"expires_on\":1900000000}'";
    fake_pwsh(
        &sandbox,
        &answer_if_script_has(
            &[
                "ConvertFrom-SecureString -SecureString $token -AsPlainText",
                "SecureStringToBSTR",
                "ZeroFreeBSTR",
                "-is [System.Security.SecureString]",
            ],
            unwrapped,
        ),
    );
    let json = run(sandbox.azauth_with_fakes().args(pwsh_args()))
        .assert_code(0)
        .json();
    assert_eq!(json["accessToken"], "FAKE-AT-0080");
}

#[test]
fn secure_string_left_wrapped_fails() {
    let sandbox = Sandbox::new();
    fake_pwsh(
        &sandbox,
        "echo; echo 'AZAUTH_POWERSHELL_RESULT {\"token\":\"System.Security.SecureString\",\"expires_on\":1900000000}'",
    );
    let finished = run(sandbox.azauth_with_fakes().args(pwsh_args()));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains("powershell: failed: Get-AzAccessToken returned a SecureString that the script could not unwrap"),
        "{finished:#?}"
    );
    assert!(finished.stdout.is_empty());
}

#[test]
fn script_carries_resource_and_tenant() {
    let sandbox = Sandbox::new();
    fake_pwsh(
        &sandbox,
        &answer_if_script_has(
            &[
                "ResourceUrl = 'https://management.azure.com'",
                "$parameters['TenantId'] = 'contoso.example'",
            ],
            "echo 'wrong script' >&2; exit 3",
        ),
    );
    run(sandbox
        .azauth_with_fakes()
        .args(pwsh_args())
        .args(["--tenant-id", "contoso.example"]))
    .assert_code(0);
}

#[test]
fn missing_module_is_unavailable() {
    let sandbox = Sandbox::new();
    fake_pwsh(&sandbox, "echo AZAUTH_NO_AZ_ACCOUNTS_MODULE");
    let finished = run(sandbox.azauth_with_fakes().args(pwsh_args()));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(
            "powershell: unavailable: the Az.Accounts module (2.2.0 or later) is not installed"
        ),
        "{finished:#?}"
    );
}

#[test]
fn signed_out_is_unavailable() {
    let sandbox = Sandbox::new();
    fake_pwsh(
        &sandbox,
        "echo 'Get-AzAccessToken: Run Connect-AzAccount to login.' >&2; exit 1",
    );
    let finished = run(sandbox.azauth_with_fakes().args([
        "get-token",
        "--scope",
        SCOPE,
        "--methods",
        "powershell,cli",
    ]));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(
            "powershell: unavailable: Azure PowerShell is not signed in; run `Connect-AzAccount`"
        ),
        "{finished:#?}"
    );
    assert!(
        finished.stderr.contains("cli: unavailable"),
        "{finished:#?}"
    );
}

/// The reply of a fake Windows PowerShell, with its own token.
const FALLBACK_RESULT: &str = r#"AZAUTH_POWERSHELL_RESULT {"token":"FAKE-AT-0081","expires_on":1900000000,"tenant":"11111111-2222-3333-4444-555555555555"}"#;

/// Writes a fake `powershell` that checks its arguments and prints [`FALLBACK_RESULT`].
fn fake_windows_powershell(sandbox: &Sandbox) {
    let check = "[ \"$1\" = -NoProfile ] && [ \"$2\" = -NonInteractive ] && [ \"$3\" = -Command ] || { echo \"bad arguments: $1 $2 $3\" >&2; exit 64; }";
    sandbox.fake_program(
        "powershell",
        &format!("{check}\necho\necho '{FALLBACK_RESULT}'"),
    );
}

#[test]
fn missing_pwsh_and_powershell_is_unavailable() {
    let sandbox = Sandbox::new();
    let finished = run(sandbox.azauth_with_fakes().args(pwsh_args()));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains("powershell: unavailable: PowerShell was not found"),
        "{finished:#?}"
    );
    assert!(
        finished.stderr.contains("pwsh: pwsh was not found on PATH"),
        "{finished:#?}"
    );
    assert!(
        finished.stderr.contains("powershell: powershell was not found on PATH"),
        "{finished:#?}"
    );
}

#[test]
fn missing_pwsh_and_powershell_moves_chain_on() {
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &az_ok_body());
    let json = run(sandbox.azauth_with_fakes().args([
        "get-token",
        "--scope",
        SCOPE,
        "--methods",
        "powershell,cli",
    ]))
    .assert_code(0)
    .json();
    assert_eq!(json["accessToken"], "FAKE-AT-0002");
    assert_eq!(json["authMethod"], "cli");
}

#[test]
fn missing_pwsh_falls_back_to_powershell() {
    let sandbox = Sandbox::new();
    fake_windows_powershell(&sandbox);
    let json = run(sandbox.azauth_with_fakes().args(pwsh_args()))
        .assert_code(0)
        .json();
    assert_eq!(json["accessToken"], "FAKE-AT-0081");
    assert_eq!(json["authMethod"], "powershell");
    assert!(!sandbox.calls("powershell").is_empty());
}

#[test]
fn pwsh_exit_127_falls_back_by_code() {
    // A wrapper script whose shell cannot find pwsh, with a French message: only the
    // exit code may decide.
    let sandbox = Sandbox::new();
    sandbox.fake_program("pwsh", "echo 'sh: 1: pwsh: introuvable' >&2; exit 127");
    fake_windows_powershell(&sandbox);
    let json = run(sandbox.azauth_with_fakes().args(pwsh_args()))
        .assert_code(0)
        .json();
    assert_eq!(json["accessToken"], "FAKE-AT-0081");
    assert!(!sandbox.calls("pwsh").is_empty());
    assert!(!sandbox.calls("powershell").is_empty());
}

#[test]
fn pwsh_not_found_message_without_code_127_is_no_fallback() {
    // A failure whose message reads "not found" but whose exit code is 1 comes from
    // pwsh itself, so Windows PowerShell is not tried.
    let sandbox = Sandbox::new();
    fake_pwsh(&sandbox, "echo 'pwsh: command not found' >&2; exit 1");
    fake_windows_powershell(&sandbox);
    let finished = run(sandbox.azauth_with_fakes().args(pwsh_args()));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains("powershell: failed: pwsh failed (exit code 1)"),
        "{finished:#?}"
    );
    assert!(sandbox.calls("powershell").is_empty());
}

#[test]
fn other_failure_is_failed_with_message() {
    let sandbox = Sandbox::new();
    fake_pwsh(
        &sandbox,
        "echo 'Get-AzAccessToken: The remote name could not be resolved' >&2; exit 1",
    );
    let finished = run(sandbox.azauth_with_fakes().args([
        "get-token",
        "--scope",
        SCOPE,
        "--methods",
        "powershell,cli",
    ]));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains("powershell: failed: pwsh failed (exit code 1): Get-AzAccessToken: The remote name could not be resolved"),
        "{finished:#?}"
    );
    // Failed stops the chain.
    assert!(!finished.stderr.contains("cli:"), "{finished:#?}");
}

#[test]
fn no_result_line_is_failed() {
    let sandbox = Sandbox::new();
    fake_pwsh(&sandbox, "echo 'something unexpected'");
    let finished = run(sandbox.azauth_with_fakes().args(pwsh_args()));
    finished.assert_code(1);
    assert!(
        finished
            .stderr
            .contains("powershell: failed: pwsh exited without printing a token"),
        "{finished:#?}"
    );
}

#[test]
fn injected_tenant_never_reaches_pwsh() {
    let sandbox = Sandbox::new();
    fake_pwsh(&sandbox, &format!("echo; echo '{RESULT}'"));
    let finished = run(sandbox
        .azauth_with_fakes()
        .args(pwsh_args())
        .args(["--tenant-id", "x';echo INJECTED;'"]));
    finished.assert_code(2);
    assert!(sandbox.calls("pwsh").is_empty());
}
