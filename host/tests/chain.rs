//! The default chain on a machine where none of its methods applies.

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
fn default_chain_gives_three_reasons() {
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
    assert!(
        lines[3].starts_with("  devicecode: unavailable: "),
        "{finished:#?}"
    );
    assert_eq!(lines.len(), 4, "{finished:#?}");
    assert!(finished.stdout.is_empty());
}

#[test]
fn chain_with_emulated_nothing_gives_three_reasons() {
    // The same chain anywhere: IMDS refused on loopback, no az on PATH.
    let sandbox = Sandbox::new();
    let started = Instant::now();
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
        ]));
    finished.assert_code(1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let reasons: Vec<&str> = finished.stderr.lines().skip(1).collect();
    assert_eq!(reasons.len(), 3, "{finished:#?}");
    assert!(
        reasons[0].starts_with("  msi: unavailable: IMDS did not answer a probe"),
        "{finished:#?}"
    );
    assert!(reasons[0].contains("refused"), "{finished:#?}");
    assert!(
        reasons[1].starts_with("  cli: unavailable: "),
        "{finished:#?}"
    );
    assert!(
        reasons[2].starts_with("  devicecode: unavailable: "),
        "{finished:#?}"
    );
}
