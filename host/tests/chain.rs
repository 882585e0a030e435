//! The default chain on a machine where none of its methods applies: msi and cli are
//! unavailable, and devicecode fails because the authority cannot be reached.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// Tells whether this process runs where loopback is the only network interface, as
/// `scripts/test` arranges with `unshare -n`. Only there may a test let the component
/// use the real IMDS address, because nothing can leave the machine.
fn loopback_only() -> bool {
    // /proc/self/net/dev lists the interfaces of this process's network namespace;
    // /sys/class/net may still show the host's.
    let text = std::fs::read_to_string("/proc/self/net/dev").unwrap_or_default();
    let interfaces: Vec<&str> = text
        .lines()
        .skip(2)
        .filter_map(|line| line.split(':').next())
        .map(str::trim)
        .collect();
    interfaces == ["lo"]
}

#[test]
fn default_chain_reasons_on_bare_machine() {
    if !loopback_only() {
        assert!(
            std::env::var("AZAUTH_TEST_LOOPBACK_ONLY").as_deref() != Ok("1"),
            "scripts/test promised a loopback-only namespace, but other interfaces exist"
        );
        eprintln!(
            "skipped: this test uses the real IMDS address and runs only in a loopback-only network namespace (scripts/test)"
        );
        return;
    }
    let sandbox = Sandbox::new();
    let started = Instant::now();
    let finished = run(sandbox
        .azauth_with_fakes()
        .args(["get-token", "--scope", SCOPE]));
    finished.assert_code(1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let lines: Vec<&str> = finished.stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!("azauth: no method produced a token for {SCOPE}"),
        "{finished:#?}"
    );
    assert!(
        lines[1].starts_with("  msi: unavailable: IMDS did not answer a probe within 1000 ms"),
        "{finished:#?}"
    );
    assert!(
        lines[1].contains("http://169.254.169.254/metadata/identity/oauth2/token"),
        "{finished:#?}"
    );
    assert!(
        lines[2].starts_with("  cli: unavailable: the Azure CLI (az) was not found"),
        "{finished:#?}"
    );
    // In the namespace, the lookup of the public authority fails on the machine.
    assert!(
        lines[3].starts_with("  devicecode: failed: request to https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode failed: DNS lookup of login.microsoftonline.com failed"),
        "{finished:#?}"
    );
    assert!(lines[4].starts_with("The chain stopped at the failed method"), "{finished:#?}");
    assert_eq!(lines.len(), 5, "{finished:#?}");
    assert!(finished.stdout.is_empty());
}

#[test]
fn chain_reasons_with_loopback_endpoints() {
    // The same chain anywhere: IMDS and the authority refused on loopback, no az on PATH.
    let sandbox = Sandbox::new();
    let started = Instant::now();
    let authority = format!("http://127.0.0.1:{}", refused_port());
    let finished = run(sandbox
        .azauth_with_fakes()
        .env(
            "AZURE_POD_IDENTITY_AUTHORITY_HOST",
            format!("http://127.0.0.1:{}", refused_port()),
        )
        .args([
            "get-token",
            "--scope",
            SCOPE,
            "--methods",
            "msi,cli,devicecode",
            "--authority-host",
            &authority,
            "--no-cache",
        ]));
    finished.assert_code(1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let reasons: Vec<&str> = finished.stderr.lines().skip(1).collect();
    assert_eq!(reasons.len(), 4, "{finished:#?}");
    assert!(
        reasons[0].starts_with("  msi: unavailable: IMDS did not answer a probe"),
        "{finished:#?}"
    );
    assert!(reasons[0].contains("refused"), "{finished:#?}");
    assert!(
        reasons[1].starts_with("  cli: unavailable: "),
        "{finished:#?}"
    );
    let host = authority.trim_start_matches("http://");
    assert!(
        reasons[2].starts_with("  devicecode: failed: ")
            && reasons[2].contains(&format!("connection to {host} was refused")),
        "{finished:#?}"
    );
    assert!(reasons[3].starts_with("The chain stopped at the failed method"), "{finished:#?}");
}
