//! Days and months as integers (the hot loop never builds a date), the `--from`/`--to` period and
//! the cutter that turns timestamps into days of `--tz`.

use std::fmt;

use chrono::{Datelike, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;
use rustc_hash::FxHashMap;

/// A calendar day as days since 1970-01-01. Kept as an integer so the hot loop never builds dates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

impl Day {
    pub fn from_date(d: NaiveDate) -> Day {
        Day(days_from_civil(d.year(), d.month(), d.day()))
    }

    pub fn date(self) -> NaiveDate {
        let (y, m, d) = civil_from_days(self.0);
        NaiveDate::from_ymd_opt(y, m, d).expect("day number within chrono's range")
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Day> {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .ok()
            .map(Day::from_date)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.0);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// A calendar month (in `--tz`), as months since year 0: fees and allowances run per month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(pub i32);

impl Month {
    pub fn of(day: Day) -> Month {
        let (y, m, _) = civil_from_days(day.0);
        Month(y * 12 + m as i32 - 1)
    }

    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// 1..=12.
    pub fn number(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }

    pub fn first_day(self) -> Day {
        Day(days_from_civil(self.year(), self.number(), 1))
    }

    pub fn last_day(self) -> Day {
        Day(self.next().first_day().0 - 1)
    }

    pub fn days(self) -> u32 {
        (self.last_day().0 - self.first_day().0 + 1) as u32
    }

    pub fn next(self) -> Month {
        Month(self.0 + 1)
    }

    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.trim().split_once('-')?;
        let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
        ((1..=12).contains(&m) && y.to_string().len() == 4 && (1..=9999).contains(&y))
            .then_some(Month(y * 12 + m as i32 - 1))
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.number())
    }
}

/// Days since the epoch of a proleptic Gregorian date (Howard Hinnant's algorithm): exact and
/// branch-light, so timestamps turn into days without a calendar library in the hot loop.
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Cuts timestamps into calendar days of `--tz`. Rates are always chosen by the UTC day (the
/// contract's effective dates are UTC), so both days are computed.
#[derive(Clone)]
pub struct DayCutter {
    tz: Option<Tz>,
    /// UTC offset in seconds per 15-minute bucket: zone transitions fall on quarter hours.
    offsets: FxHashMap<i64, i32>,
}

const DAY_MS: i64 = 86_400_000;
const BUCKET_MS: i64 = 15 * 60 * 1000;

impl DayCutter {
    /// `None` or `UTC` means UTC.
    pub fn new(tz: Option<Tz>) -> Self {
        let tz = tz.filter(|t| *t != Tz::UTC && *t != Tz::Etc__UTC);
        DayCutter {
            tz,
            offsets: FxHashMap::default(),
        }
    }

    pub fn utc_day(ts_ms: i64) -> Day {
        Day(ts_ms.div_euclid(DAY_MS) as i32)
    }

    pub fn local_day(&mut self, ts_ms: i64) -> Day {
        let Some(tz) = self.tz else {
            return Self::utc_day(ts_ms);
        };
        let bucket = ts_ms.div_euclid(BUCKET_MS);
        let offset = *self.offsets.entry(bucket).or_insert_with(|| {
            match chrono::DateTime::from_timestamp_millis(bucket * BUCKET_MS) {
                Some(t) => tz
                    .offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc(),
                None => 0,
            }
        });
        Day((ts_ms + offset as i64 * 1000).div_euclid(DAY_MS) as i32)
    }
}

/// Inclusive `--from`/`--to` in local days.
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub from: Option<Day>,
    pub to: Option<Day>,
}

impl Period {
    pub fn contains(&self, d: Day) -> bool {
        self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_matches_chrono() {
        for z in [-800_000, -1, 0, 1, 19_000, 20_571, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(
                (date - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days(),
                z as i64
            );
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn months_know_their_days() {
        let apr = Month::parse("2026-04").unwrap();
        assert_eq!(apr.to_string(), "2026-04");
        assert_eq!(apr.first_day().to_string(), "2026-04-01");
        assert_eq!(apr.last_day().to_string(), "2026-04-30");
        assert_eq!(Month::parse("2028-02").unwrap().days(), 29);
        assert_eq!(
            Month::parse("2026-12").unwrap().next().to_string(),
            "2027-01"
        );
        assert_eq!(
            Month::of(Day::parse("2026-12-31").unwrap()).to_string(),
            "2026-12"
        );
        assert!(Month::parse("2026-13").is_none() && Month::parse("26-01").is_none());
    }

    #[test]
    fn day_display_is_iso() {
        assert_eq!(Day::parse("2026-04-28").unwrap().to_string(), "2026-04-28");
        assert_eq!(Day(0).to_string(), "1970-01-01");
    }
}
