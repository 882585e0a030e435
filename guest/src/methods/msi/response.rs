//! Reading the token responses of the managed identity endpoints.
//!
//! The sources disagree on expiry: IMDS and App Service send `expires_on` as a string
//! of digits, Azure ML as a number or as UTC date text, and some send only
//! `expires_in`. [`parse_token`] accepts every shape, prefers `expires_on`, and keeps a
//! `refresh_in` hint.

use serde_json::Value;

use crate::clock;
use crate::entra::Token;
use crate::secret::Secret;

/// Tokens that live at least this long without a `refresh_in` hint are refreshed at half
/// their lifetime, as MSAL does for managed identity tokens.
const LONG_LIVED_SECS: u64 = 7200;

/// Reads a successful token response. `requested_at` is the Unix time the request was
/// sent, the base of `expires_in` and `refresh_in`.
///
/// Fails when the body is not JSON, has no `access_token`, or no usable expiry; the
/// message names the field and never contains the token.
pub fn parse_token(body: &[u8], requested_at: u64) -> Result<(Token, Value), String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| format!("the token response is not JSON ({error})"))?;
    let access_token = value
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
        .ok_or("the token response has no access_token field")?;

    let expires_in = value.get("expires_in").and_then(seconds);
    let expires_on =
        match value.get("expires_on") {
            Some(field) => Some(expires_on_of(field).ok_or_else(|| {
                format!("the token response has an unreadable expires_on: {field}")
            })?),
            None => None,
        };
    let expires_on = expires_on
        .or(expires_in.map(|secs| requested_at + secs))
        .ok_or("the token response has neither expires_on nor expires_in")?;

    let lifetime = expires_on.saturating_sub(requested_at);
    let refresh_on = match value.get("refresh_in").and_then(seconds) {
        Some(secs) => Some(requested_at + secs),
        None => (lifetime >= LONG_LIVED_SECS).then_some(requested_at + lifetime / 2),
    };
    let token = Token {
        access_token: Secret::new(access_token),
        expires_on,
        refresh_on,
        token_type: value
            .get("token_type")
            .and_then(Value::as_str)
            .unwrap_or("Bearer")
            .to_string(),
        tenant: None,
    };
    Ok((token, value))
}

/// Reads a whole number of seconds given as a JSON number or a string of digits.
fn seconds(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Reads `expires_on`: Unix seconds as a number or string, or Azure ML's UTC date text
/// `MM/DD/YYYY HH:MM:SS +00:00` (Linux) or `M/D/YYYY h:MM:SS AM +00:00` (Windows).
fn expires_on_of(value: &Value) -> Option<u64> {
    if let Some(secs) = seconds(value).filter(|&secs| secs > 0) {
        return Some(secs);
    }
    parse_date_text(value.as_str()?)
}

/// Parses `M/D/YYYY H:MM:SS [AM|PM] ±HH:MM` into Unix seconds.
fn parse_date_text(text: &str) -> Option<u64> {
    let mut words = text.split_whitespace();
    let date = words.next()?;
    let time = words.next()?;
    let mut next = words.next()?;
    let meridiem = match next.to_ascii_uppercase().as_str() {
        "AM" | "PM" => {
            let meridiem = next.to_ascii_uppercase();
            next = words.next()?;
            Some(meridiem)
        }
        _ => None,
    };
    let offset = parse_offset(next)?;
    if words.next().is_some() {
        return None;
    }

    let mut date_parts = date.split('/').map(|part| part.parse::<i64>().ok());
    let (month, day, year) = (
        date_parts.next()??,
        date_parts.next()??,
        date_parts.next()??,
    );
    let mut time_parts = time.split(':').map(|part| part.parse::<i64>().ok());
    let (mut hour, minute, second) = (
        time_parts.next()??,
        time_parts.next()??,
        time_parts.next()??,
    );
    match meridiem.as_deref() {
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some("AM") if hour == 12 => hour = 0,
        Some("PM") if hour != 12 => hour += 12,
        _ => {}
    }
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..61).contains(&second);
    if !valid {
        return None;
    }
    let local =
        clock::days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(local - offset).ok()
}

/// Parses `+HH:MM` or `-HH:MM` into seconds east of UTC.
fn parse_offset(text: &str) -> Option<i64> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    Some(sign * (hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_899_913_600;

    fn expiry(body: &str) -> Result<u64, String> {
        parse_token(body.as_bytes(), NOW).map(|(token, _)| token.expires_on)
    }

    #[test]
    fn every_expiry_shape() {
        // IMDS sends strings.
        assert_eq!(
            expiry(
                r#"{"access_token":"FAKE-AT-0020","expires_in":"86399","expires_on":"1900000000","not_before":"1899913600","resource":"https://management.azure.com/","token_type":"Bearer"}"#
            ),
            Ok(1_900_000_000)
        );
        // Azure ML and some proxies send a number.
        assert_eq!(
            expiry(r#"{"access_token":"FAKE-AT-0021","expires_on":1900000000}"#),
            Ok(1_900_000_000)
        );
        // Only expires_in, as a number or a string.
        assert_eq!(
            expiry(r#"{"access_token":"A","expires_in":3600}"#),
            Ok(NOW + 3600)
        );
        assert_eq!(
            expiry(r#"{"access_token":"A","expires_in":"3600"}"#),
            Ok(NOW + 3600)
        );
        // Azure ML's date text, Linux and Windows forms. 1900000000 is 2030-03-17 17:46:40 UTC.
        assert_eq!(
            expiry(r#"{"access_token":"A","expires_on":"03/17/2030 17:46:40 +00:00"}"#),
            Ok(1_900_000_000)
        );
        assert_eq!(
            expiry(r#"{"access_token":"A","expires_on":"3/17/2030 5:46:40 PM +00:00"}"#),
            Ok(1_900_000_000)
        );
        assert_eq!(
            expiry(r#"{"access_token":"A","expires_on":"3/17/2030 7:46:40 PM +02:00"}"#),
            Ok(1_900_000_000)
        );
        assert_eq!(
            expiry(r#"{"access_token":"A","expires_on":"1/1/2030 12:00:00 AM +00:00"}"#),
            Ok(1_893_456_000)
        );
    }

    #[test]
    fn unusable_bodies_name_the_field() {
        let error = expiry(r#"{"access_token":"A","expires_on":"soon"}"#).unwrap_err();
        assert!(error.contains("expires_on"), "{error}");
        let error = expiry(r#"{"access_token":"A"}"#).unwrap_err();
        assert!(
            error.contains("neither expires_on nor expires_in"),
            "{error}"
        );
        let error = expiry(r#"{"expires_in":3600}"#).unwrap_err();
        assert!(error.contains("access_token"), "{error}");
        let error = expiry("<html>").unwrap_err();
        assert!(error.contains("not JSON"), "{error}");
    }

    #[test]
    fn refresh_time_from_hint_or_half_life() {
        let (token, _) = parse_token(
            br#"{"access_token":"A","expires_in":86400,"refresh_in":43200}"#,
            NOW,
        )
        .unwrap();
        assert_eq!(token.refresh_on, Some(NOW + 43_200));
        let (token, _) = parse_token(br#"{"access_token":"A","expires_in":"86399"}"#, NOW).unwrap();
        assert_eq!(token.refresh_on, Some(NOW + 43_199));
        // A one-hour token is refreshed 5 minutes before expiry, the cache's default.
        let (token, _) = parse_token(br#"{"access_token":"A","expires_in":3600}"#, NOW).unwrap();
        assert_eq!(token.refresh_on, None);
    }
}
