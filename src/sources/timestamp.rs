//! Timestamps as logs write them: RFC 3339 with any offset, or Unix epoch seconds/milliseconds.
//!
//! A hand-rolled fast path handles the fixed-width RFC 3339 form every logger emits; anything it
//! does not recognise is not guessed at but rejected with the reason.

use crate::domain::days_from_civil;

/// Epoch values at or above this are milliseconds (1e11 seconds is the year 5138).
const MS_THRESHOLD: f64 = 1e11;
/// Epoch milliseconds above this (year ~5138) are not timestamps we accept.
const MAX_MS: f64 = 1e14;

/// Parses an RFC 3339 timestamp (`2026-04-28T13:05:22.123Z`, `2026-04-28 13:05:22+02:00`) or a
/// string holding epoch seconds/milliseconds. Returns epoch milliseconds.
pub(crate) fn parse_ts_str(s: &str) -> Result<i64, String> {
    let b = s.trim().as_bytes();
    if b.is_empty() {
        return Err("empty timestamp".into());
    }
    if b.len() >= 10 && b[4] == b'-' {
        return parse_rfc3339(b).ok_or_else(|| {
            let shown: String = s.chars().take(40).collect();
            if looks_zoneless(b) {
                format!("timestamp `{shown}` has no UTC offset (expected e.g. `Z` or `+02:00`)")
            } else {
                format!("`{shown}` is not an RFC 3339 timestamp or a valid date-time")
            }
        });
    }
    match s.trim().parse::<f64>() {
        Ok(v) => epoch_to_ms(v),
        Err(_) => Err(format!(
            "`{}` is not an RFC 3339 timestamp or epoch seconds/milliseconds",
            s.chars().take(40).collect::<String>()
        )),
    }
}

/// Epoch seconds (below 1e11) or milliseconds, as a number.
pub(crate) fn epoch_to_ms(v: f64) -> Result<i64, String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("epoch timestamp {v} is negative or not a number"));
    }
    if v < MS_THRESHOLD {
        Ok((v * 1000.0).round() as i64)
    } else if v < MAX_MS {
        Ok(v.round() as i64)
    } else {
        Err(format!(
            "epoch timestamp {v} is out of range (expected seconds or milliseconds)"
        ))
    }
}

fn looks_zoneless(b: &[u8]) -> bool {
    // A date-time whose last character is a digit and that has no offset sign after the time.
    b.len() >= 19
        && b[b.len() - 1].is_ascii_digit()
        && !b[19..].iter().any(|&c| c == b'+' || c == b'-')
}

#[inline]
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let mut v = 0u32;
    for &c in b.get(at..at + n)? {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// `YYYY-MM-DD[T| ]HH:MM[:SS[.fff…]](Z|±HH:MM|±HHMM)`; `None` on any deviation or impossible date.
pub(crate) fn parse_rfc3339(b: &[u8]) -> Option<i64> {
    let y = digits(b, 0, 4)? as i32;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let mo = digits(b, 5, 2)?;
    let d = digits(b, 8, 2)?;
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
        return None;
    }
    let h = digits(b, 11, 2)?;
    let mi = digits(b, 14, 2)?;
    let mut i = 16;
    let mut sec = 0;
    if b.get(16) == Some(&b':') {
        sec = digits(b, 17, 2)?;
        i = 19;
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut ms = 0u32;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        let mut scale = 100;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            ms += (c - b'0') as u32 * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_min: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            let om = match (b.len() - i, b.get(i + 3)) {
                (6, Some(b':')) => digits(b, i + 4, 2)?,
                (5, _) => digits(b, i + 3, 2)?,
                (3, _) => 0,
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let o = (oh * 60 + om) as i64;
            if sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d) as i64;
    let secs = days * 86_400 + (h * 3600 + mi * 60 + sec.min(59)) as i64 - offset_min * 60;
    Some(secs * 1000 + ms as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn rfc3339_forms_agree_with_chrono() {
        for s in [
            "2026-04-28T13:05:22.123Z",
            "2026-04-28T13:05:22Z",
            "2026-04-28T23:59:59.999+02:00",
            "2026-04-28T00:00:00-05:30",
            "2024-02-29T12:00:00.5Z",
            "1999-12-31T23:59:59.123456789Z",
        ] {
            assert_eq!(parse_ts_str(s).unwrap(), ms(s), "{s}");
        }
        assert_eq!(
            parse_ts_str("2026-04-28 13:05:22+0200").unwrap(),
            ms("2026-04-28T13:05:22+02:00")
        );
    }

    #[test]
    fn epoch_seconds_and_millis() {
        assert_eq!(parse_ts_str("1777381522").unwrap(), 1_777_381_522_000);
        assert_eq!(parse_ts_str("1777381522123").unwrap(), 1_777_381_522_123);
        assert_eq!(parse_ts_str("1777381522.5").unwrap(), 1_777_381_522_500);
        assert!(epoch_to_ms(-1.0).is_err());
    }

    #[test]
    fn rejects_impossible_and_zoneless() {
        assert!(parse_ts_str("2026-02-30T00:00:00Z").is_err());
        assert!(parse_ts_str("2025-02-29T00:00:00Z").is_err());
        assert!(parse_ts_str("2026-04-28T24:00:00Z").is_err());
        let e = parse_ts_str("2026-04-28T13:05:22").unwrap_err();
        assert!(e.contains("no UTC offset"), "{e}");
        assert!(parse_ts_str("yesterday").is_err());
        assert!(parse_ts_str("2026-04-28T13:05:22Zjunk").is_err());
    }
}
