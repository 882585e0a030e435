//! Wall-clock time and the two date formats that responses use.

use std::time::{SystemTime, UNIX_EPOCH};

/// Returns the current time in whole seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Formats a time as Entra ID does in `timestamp` fields: `2024-05-01 12:34:56Z`.
pub(crate) fn format_entra_timestamp(unix_secs: u64) -> String {
    let time = CivilTime::from_unix(unix_secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        time.year, time.month, time.day, time.hour, time.minute, time.second
    )
}

/// Formats a time as an HTTP `Date` (IMF-fixdate, RFC 9110 section 5.6.7):
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn format_http_date(unix_secs: u64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];

    let time = CivilTime::from_unix(unix_secs);
    // 1970-01-01 was a Thursday, the first entry of WEEKDAYS.
    let weekday = WEEKDAYS[(unix_secs / 86_400 % 7) as usize];
    format!(
        "{weekday}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        time.day,
        MONTHS[time.month as usize - 1],
        time.year,
        time.hour,
        time.minute,
        time.second
    )
}

/// A UTC date and time of day in the proleptic Gregorian calendar.
struct CivilTime {
    year: u64,
    month: u64,
    day: u64,
    hour: u64,
    minute: u64,
    second: u64,
}

impl CivilTime {
    /// Converts seconds since the Unix epoch, using the days-to-civil algorithm that
    /// Howard Hinnant describes in "chrono-Compatible Low-Level Date Algorithms".
    fn from_unix(unix_secs: u64) -> CivilTime {
        let seconds_of_day = unix_secs % 86_400;

        // Shift the epoch to 0000-03-01 so that leap days fall at the end of a year.
        let days = unix_secs / 86_400 + 719_468;
        let era = days / 146_097;
        let day_of_era = days % 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = year_of_era + era * 400 + u64::from(month <= 2);

        CivilTime {
            year,
            month,
            day,
            hour: seconds_of_day / 3_600,
            minute: seconds_of_day % 3_600 / 60,
            second: seconds_of_day % 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_timestamp_formats_known_times() {
        assert_eq!(format_entra_timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_entra_timestamp(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(
            format_entra_timestamp(1_700_000_000),
            "2023-11-14 22:13:20Z"
        );
        assert_eq!(
            format_entra_timestamp(4_107_542_399),
            "2100-02-28 23:59:59Z"
        );
    }

    #[test]
    fn http_date_matches_rfc_example() {
        // The example date of RFC 9110 section 5.6.7.
        assert_eq!(
            format_http_date(784_111_777),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }
}
