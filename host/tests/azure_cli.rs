//! The `cli` method end to end, with fake `az` programs for every output shape and the
//! real Azure CLI for the signed-out path.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn cli_args() -> Vec<&'static str> {
    vec!["get-token", "--scope", SCOPE, "--methods", "cli"]
}

#[test]
fn az_ok_output_becomes_token() {
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &az_ok_body());
    let finished = run(sandbox
        .azauth_with_fakes()
        .args(cli_args())
        .env("TZ", "Etc/GMT-2"));
    let json = finished.assert_code(0).json();
    assert_eq!(json["accessToken"], "FAKE-AT-0002");
    assert_eq!(json["expires_on"], 1_900_000_000);
    assert_eq!(json["expiresOn"], "2030-03-17 19:46:40.000000");
    assert_eq!(json["tenant"], TENANT);
    assert_eq!(json["authMethod"], "cli");
    assert_eq!(
        sandbox.calls("az"),
        [format!(
            "account get-access-token --output json --scope {SCOPE}"
        )]
    );
}

#[test]
fn old_az_local_time_read_in_host_zone() {
    // az before 2.54 prints only expiresOn, local time without a zone.
    let old = r#"{"accessToken": "FAKE-AT-0001", "expiresOn": "2030-01-02 15:04:05.000000",
 "subscription": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
 "tenant": "11111111-2222-3333-4444-555555555555", "tokenType": "Bearer"}"#;
    for (tz, expected) in [
        ("Etc/GMT-2", 1_893_589_445u64),
        ("Etc/GMT+5", 1_893_614_645),
    ] {
        let sandbox = Sandbox::new();
        sandbox.fake_program("az", &format!("cat <<'EOF'\n{old}\nEOF"));
        let finished = run(sandbox.azauth_with_fakes().args(cli_args()).env("TZ", tz));
        let json = finished.assert_code(0).json();
        assert_eq!(json["expires_on"], expected, "{tz}");
    }
}

#[test]
fn unusable_expiry_fails_clearly() {
    for expires_on in ["null", "\"N/A\""] {
        let sandbox = Sandbox::new();
        let body = format!(
            r#"{{"accessToken": "FAKE-AT-0003", "expiresOn": {expires_on}, "tenant": "{TENANT}", "tokenType": "Bearer"}}"#
        );
        sandbox.fake_program("az", &format!("cat <<'EOF'\n{body}\nEOF"));
        let finished = run(sandbox.azauth_with_fakes().args(cli_args()));
        finished.assert_code(1);
        assert!(
            finished
                .stderr
                .contains("cli: failed: cannot determine the token expiry from az output"),
            "{finished:#?}"
        );
        assert!(!finished.stderr.contains("FAKE-AT-0003"));
        assert!(finished.stdout.is_empty());
    }
    // With expires_on as well, the token is fine.
    let sandbox = Sandbox::new();
    let body = format!(
        r#"{{"accessToken": "FAKE-AT-0003", "expiresOn": null, "expires_on": 1900000000, "tenant": "{TENANT}"}}"#
    );
    sandbox.fake_program("az", &format!("cat <<'EOF'\n{body}\nEOF"));
    let json = run(sandbox.azauth_with_fakes().args(cli_args()))
        .assert_code(0)
        .json();
    assert_eq!(json["expires_on"], 1_900_000_000);
}

#[test]
fn warnings_on_stderr_with_exit_zero_succeed() {
    let stderr = "echo \"WARNING: option '--tenant' is experimental and may change.\" >&2\n\
                  echo '/opt/fake/python/site-packages/x.py:1: DependencyWarning: fake version mismatch' >&2";
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &format!("{stderr}\n{}", az_ok_body()));
    let json = run(sandbox.azauth_with_fakes().args(cli_args()))
        .assert_code(0)
        .json();
    assert_eq!(json["expires_on"], 1_900_000_000);

    // The same stderr with exit code 1 fails and shows it.
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &format!("{stderr}\nexit 1"));
    let finished = run(sandbox.azauth_with_fakes().args(cli_args()));
    finished.assert_code(1);
    assert!(
        finished
            .stderr
            .contains("cli: failed: az failed (exit code 1): WARNING: option"),
        "{finished:#?}"
    );
    assert!(
        finished
            .stderr
            .contains("DependencyWarning: fake version mismatch"),
        "{finished:#?}"
    );
}

#[test]
fn tenant_rejected_retries_without_tenant() {
    let sandbox = Sandbox::new();
    let body = format!(
        "case \"$*\" in *--tenant*) echo 'ERROR: a tenant cannot be given because the active account is a managed identity' >&2; exit 1;; esac\n{}",
        az_ok_body()
    );
    sandbox.fake_program("az", &body);
    let finished = run(sandbox
        .azauth_with_fakes()
        .args(cli_args())
        .args(["--tenant-id", TENANT]));
    let json = finished.assert_code(0).json();
    assert_eq!(json["expires_on"], 1_900_000_000);
    let calls = sandbox.calls("az");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].ends_with(&format!("--tenant {TENANT}")));
    assert!(!calls[1].contains("--tenant"));
    assert!(
        finished.stderr.contains("repeated without it"),
        "{finished:#?}"
    );
}

#[test]
fn other_failure_with_tenant_is_not_retried() {
    let sandbox = Sandbox::new();
    sandbox.fake_program(
        "az",
        "echo 'ERROR: AADSTS50076: multi-factor authentication required' >&2; exit 1",
    );
    let finished = run(sandbox
        .azauth_with_fakes()
        .args(cli_args())
        .args(["--tenant-id", TENANT]));
    finished.assert_code(1);
    assert_eq!(sandbox.calls("az").len(), 1);
    assert!(
        finished
            .stderr
            .contains("cli: failed: az failed (exit code 1): ERROR: AADSTS50076"),
        "{finished:#?}"
    );
}

#[test]
fn injected_scopes_rejected_before_any_process() {
    for scope in [
        "https://management.azure.com/.default;echo INJECTED",
        "https://x.example/.default $(echo INJECTED)",
        "https://x.example/`id`",
    ] {
        let sandbox = Sandbox::new();
        sandbox.fake_program("az", &az_ok_body());
        let finished = run(sandbox.azauth_with_fakes().args([
            "get-token",
            "--methods",
            "cli",
            "--scope",
            scope,
        ]));
        finished.assert_code(2);
        assert!(finished.stderr.contains("invalid scope"), "{finished:#?}");
        assert!(sandbox.calls("az").is_empty(), "{scope}");
    }
    for scope in [
        "https://management.core.windows.net/user_impersonation",
        "api://99999999-8888-7777-6666-555555555555/.default",
    ] {
        let sandbox = Sandbox::new();
        sandbox.fake_program("az", &az_ok_body());
        run(sandbox
            .azauth_with_fakes()
            .args(["get-token", "--methods", "cli", "--scope", scope]))
        .assert_code(0);
        assert_eq!(
            sandbox.calls("az"),
            [format!(
                "account get-access-token --output json --scope {scope}"
            )]
        );
    }
}

#[test]
fn missing_az_is_unavailable() {
    let sandbox = Sandbox::new();
    let finished = run(sandbox.azauth_with_fakes().args([
        "get-token",
        "--scope",
        SCOPE,
        "--methods",
        "cli,clientsecret",
    ]));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains(
            "cli: unavailable: the Azure CLI (az) was not found: az was not found on PATH"
        ),
        "{finished:#?}"
    );
    // The chain moved on to the next method.
    assert!(
        finished.stderr.contains("clientsecret: unavailable"),
        "{finished:#?}"
    );
}

#[test]
fn signed_out_az_is_unavailable() {
    let sandbox = Sandbox::new();
    sandbox.fake_program(
        "az",
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1",
    );
    let finished = run(sandbox.azauth_with_fakes().args(cli_args()));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains("cli: unavailable: az is not signed in; run `az login` (az: ERROR: Please run 'az login' to setup account.)"),
        "{finished:#?}"
    );
    // An expired sign-in mentions az login too, but carries an AADSTS code: failed.
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", "echo \"ERROR: AADSTS70043: The refresh token has expired. Please run 'az login'.\" >&2; exit 1");
    let finished = run(sandbox.azauth_with_fakes().args(cli_args()));
    assert!(
        finished
            .stderr
            .contains("cli: failed: az failed (exit code 1): ERROR: AADSTS70043"),
        "{finished:#?}"
    );
}

#[test]
fn hung_az_times_out_and_chain_moves_on() {
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &format!("sleep 300\n{}", az_ok_body()));
    let started = Instant::now();
    let finished = run(sandbox.azauth_with_fakes().args([
        "get-token",
        "--scope",
        SCOPE,
        "--methods",
        "cli,clientsecret",
        "--process-timeout-ms",
        "500",
    ]));
    finished.assert_code(1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        finished
            .stderr
            .contains("cli: unavailable: az did not finish within 500 ms and was stopped"),
        "{finished:#?}"
    );
    assert!(
        finished.stderr.contains("clientsecret: unavailable"),
        "{finished:#?}"
    );
}

#[test]
fn slow_az_succeeds_with_longer_timeout() {
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &format!("sleep 1\n{}", az_ok_body()));
    let finished = run(sandbox
        .azauth_with_fakes()
        .args(cli_args())
        .args(["--process-timeout-ms", "300"]));
    finished.assert_code(1);
    let finished = run(sandbox
        .azauth_with_fakes()
        .args(cli_args())
        .args(["--process-timeout-ms", "5000"]));
    finished.assert_code(0);
}

#[test]
fn orphan_holding_stdout_does_not_delay() {
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", &format!("{}\n(sleep 300) &\nexit 0", az_ok_body()));
    let started = Instant::now();
    let finished = run(sandbox.azauth_with_fakes().args(cli_args()));
    finished.assert_code(0);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn token_never_printed_on_failure() {
    let sandbox = Sandbox::new();
    sandbox.fake_program("az", "echo '{\"accessToken\": \"FAKE-AT-0099\", \"expires_on\": ' ; echo 'echo {\"accessToken\": \"FAKE-AT-0098\"}' >&2; exit 2");
    let finished = run(sandbox.azauth_with_fakes().args(cli_args()).arg("-vvv"));
    finished.assert_code(1);
    assert!(!finished.stderr.contains("FAKE-AT-0099"), "{finished:#?}");
    assert!(!finished.stderr.contains("FAKE-AT-0098"), "{finished:#?}");
}

/// Returns the folder of the real Azure CLI, which `scripts/test` installs into a virtual
/// environment and names in `AZAUTH_TEST_AZ_BIN`. With `AZAUTH_TEST_REQUIRE_AZ=1` (set by the script) the test
/// fails when it is missing; otherwise it is skipped with a message.
fn real_az_bin() -> Option<std::path::PathBuf> {
    let folder = std::env::var_os("AZAUTH_TEST_AZ_BIN").map(std::path::PathBuf::from);
    let found = folder.filter(|folder| folder.join("az").is_file());
    if found.is_none() {
        assert!(
            std::env::var("AZAUTH_TEST_REQUIRE_AZ").as_deref() != Ok("1"),
            "AZAUTH_TEST_REQUIRE_AZ=1 but AZAUTH_TEST_AZ_BIN does not name a folder with az"
        );
        eprintln!("skipped: the real Azure CLI is not installed; run scripts/test");
    }
    found
}

#[test]
fn real_az_signed_out_is_unavailable() {
    let Some(bin) = real_az_bin() else { return };
    let sandbox = Sandbox::new();
    let config_dir = sandbox.path().join("azure-config");
    std::fs::create_dir_all(&config_dir).unwrap();
    let finished = run(sandbox
        .azauth()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("AZURE_CONFIG_DIR", &config_dir)
        .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
        .args([
            "get-token",
            "--scope",
            SCOPE,
            "--methods",
            "cli",
            "--process-timeout-ms",
            "60000",
        ]));
    finished.assert_code(1);
    assert!(
        finished.stderr.contains("cli: unavailable: az is not signed in; run `az login` (az: ERROR: Please run 'az login' to setup account.)"),
        "{finished:#?}"
    );
}

#[test]
fn missing_az_then_msi_gives_token() {
    // MSTICPy's eager probe lets a missing az abort the whole chain; azauth moves on.
    let emulator = Emulator::start(EmulatorConfig::default()).unwrap();
    let sandbox = Sandbox::new();
    let finished = run(sandbox
        .azauth_with_fakes()
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.url())
        .args(["get-token", "--scope", SCOPE, "--methods", "cli,msi"]));
    let json = finished.assert_code(0).json();
    assert_eq!(json["authMethod"], "msi");
    assert_eq!(
        json["accessToken"],
        emulator.issued_tokens()[0].access_token.as_str()
    );
}

#[test]
fn unknown_tenant_is_not_retried() {
    // Retrying without --tenant would return a token for another tenant.
    let sandbox = Sandbox::new();
    sandbox.fake_program(
        "az",
        "echo \"ERROR: AADSTS90002: Tenant 'contoso.example' not found.\" >&2; exit 1",
    );
    let finished = run(sandbox
        .azauth_with_fakes()
        .args(cli_args())
        .args(["--tenant-id", "contoso.example"]));
    finished.assert_code(1);
    assert_eq!(sandbox.calls("az").len(), 1);
    assert!(
        finished
            .stderr
            .contains("cli: failed: az failed (exit code 1): ERROR: AADSTS90002"),
        "{finished:#?}"
    );
}
