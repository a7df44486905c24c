//! The vocabulary every stage shares: days, token usage, calls, rates and money.
//!
//! Tokens are integers and money is `rust_decimal::Decimal`; nothing here is `f64` except latency,
//! which is a measurement, not an amount.

use std::borrow::Cow;
use std::fmt;

use chrono::{Datelike, NaiveDate};

/// Exact USD. Never a float.
pub type Money = rust_decimal::Decimal;

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

/// How credits were bought (top-up ledger `method`): the fee policy differs per method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TopupMethod {
    Card,
    Crypto,
    /// Bought on invoice (bank transfer).
    Invoice,
}

impl TopupMethod {
    pub const ALL: [TopupMethod; 3] =
        [TopupMethod::Card, TopupMethod::Crypto, TopupMethod::Invoice];

    pub fn as_str(self) -> &'static str {
        match self {
            TopupMethod::Card => "card",
            TopupMethod::Crypto => "crypto",
            TopupMethod::Invoice => "invoice",
        }
    }

    /// Case-insensitive `card`, `crypto` or `invoice`.
    pub fn parse(s: &str) -> Option<TopupMethod> {
        let s = s.trim();
        TopupMethod::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
    }
}

/// One purchase of credits from the top-up ledger (CONTRACT §4).
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    /// Where it was read, for messages and `topups.csv`.
    pub file: String,
    pub line: u64,
    /// The purchase's calendar day in `--tz`.
    pub day: Day,
    pub provider: String,
    /// Credits bought.
    pub amount_usd: Money,
    pub method: TopupMethod,
    /// The fee the provider actually charged, when the ledger gives it.
    pub fee_usd: Option<Money>,
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

/// Token counts of one call, in the OpenAI convention: `prompt` includes cache reads and writes,
/// `completion` includes reasoning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt: u64,
    pub completion: u64,
    /// Input tokens read from cache (part of `prompt`).
    pub cached: u64,
    /// Input tokens written to cache (part of `prompt`).
    pub cache_write: u64,
    /// One-hour cache writes (part of `cache_write`), priced apart where the rate table says so.
    pub cache_write_1h: u64,
    pub reasoning: u64,
}

impl Usage {
    /// Input tokens billed at the plain input price.
    pub fn uncached_input(&self) -> u64 {
        self.prompt - self.cached - self.cache_write
    }
}

/// One API call as the application logged it, after normalisation. Strings borrow from the input
/// buffer where they can.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// Milliseconds since the Unix epoch, UTC.
    pub ts_ms: i64,
    pub provider: Cow<'a, str>,
    pub model: Cow<'a, str>,
    pub usage: Usage,
    /// `total_tokens` as logged, when present (checked against prompt + completion elsewhere).
    pub total_logged: Option<u64>,
    pub status: u16,
    pub request_id: Option<Cow<'a, str>>,
    pub latency_ms: Option<f64>,
    pub byok: bool,
    pub shadow: bool,
    pub shadow_of: Option<Cow<'a, str>>,
    pub tenant: Option<Cow<'a, str>>,
    pub response_model: Option<Cow<'a, str>>,
    /// Gateway-reported cost, kept as exact decimal.
    pub cost: Option<Money>,
}

impl Call<'_> {
    /// Only 2xx calls are billed.
    pub fn billable(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Which price tier a call falls in: the long-context tier applies to the whole call when its
/// prompt exceeds the rate's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Standard = 0,
    LongContext = 1,
}

/// One row of `rates/models.csv`: prices in USD per million tokens for a validity period.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    /// `*` matches every gateway.
    pub provider: String,
    pub model: String,
    pub effective_from: Day,
    /// Inclusive; `None` is open-ended.
    pub effective_to: Option<Day>,
    pub input: Money,
    pub output: Money,
    /// Defaults to `input` when the table leaves it empty.
    pub cache_read: Money,
    /// Defaults to `input` when the table leaves it empty.
    pub cache_write: Money,
    /// Defaults to `cache_write` when the table has no one-hour price.
    pub cache_write_1h: Money,
    pub long_context_threshold: Option<u64>,
    pub long_input: Option<Money>,
    pub long_output: Option<Money>,
    pub source: String,
    /// Where the row came from, for error messages.
    pub line: u64,
}

impl Rate {
    pub fn covers(&self, day: Day) -> bool {
        day >= self.effective_from && self.effective_to.is_none_or(|to| day <= to)
    }

    pub fn tier_for(&self, prompt_tokens: u64) -> Tier {
        match self.long_context_threshold {
            Some(t) if prompt_tokens > t => Tier::LongContext,
            _ => Tier::Standard,
        }
    }
}

/// Token sums of many calls priced alike (same rate row, same tier). Costs are linear in these,
/// so a group is priced once, exactly, instead of per call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenSums {
    pub uncached_input: u128,
    pub cached: u128,
    /// Five-minute (or unspecified) cache writes.
    pub cache_write_5m: u128,
    pub cache_write_1h: u128,
    pub completion: u128,
}

impl TokenSums {
    pub fn add(&mut self, u: &Usage) {
        self.uncached_input += u.uncached_input() as u128;
        self.cached += u.cached as u128;
        self.cache_write_5m += (u.cache_write - u.cache_write_1h) as u128;
        self.cache_write_1h += u.cache_write_1h as u128;
        self.completion += u.completion as u128;
    }

    pub fn merge(&mut self, o: &TokenSums) {
        self.uncached_input += o.uncached_input;
        self.cached += o.cached;
        self.cache_write_5m += o.cache_write_5m;
        self.cache_write_1h += o.cache_write_1h;
        self.completion += o.completion;
    }

    pub fn prompt(&self) -> u128 {
        self.uncached_input + self.cached + self.cache_write_5m + self.cache_write_1h
    }

    pub fn is_empty(&self) -> bool {
        self.prompt() == 0 && self.completion == 0
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
