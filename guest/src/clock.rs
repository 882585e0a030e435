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

/// Counts the days from 1970-01-01 to a date of the proleptic Gregorian calendar, for
/// turning date text into Unix seconds (Howard Hinnant's `days_from_civil` algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        // Before 1970 the count is negative.
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }
}
