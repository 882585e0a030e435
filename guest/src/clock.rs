//! Wall and monotonic time through wasi:clocks.

use crate::bindings::wasi::clocks::{monotonic_clock, wall_clock};

/// Returns the current Unix time in seconds.
pub fn now_unix() -> u64 {
    wall_clock::now().seconds
}

/// Returns a monotonic instant in nanoseconds, for measuring durations.
pub fn monotonic_nanos() -> u64 {
    monotonic_clock::now()
}

/// Blocks for `millis` milliseconds. The host suspends only this component instance.
pub fn sleep_millis(millis: u64) {
    monotonic_clock::subscribe_duration(millis.saturating_mul(1_000_000)).block();
}
