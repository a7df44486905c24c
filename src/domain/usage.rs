//! One call's token usage, the call itself, rate rows and the integer sums that price many calls
//! at once; top-up purchases.

use std::borrow::Cow;

use super::calendar::Day;
use super::money::Money;

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

/// One purchase of credits from the top-up ledger (docs/formats.md §4).
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

/// One row of a usage file (docs/engines.md): the calls of one day × UTC day × provider × model
/// as written × BYOK × long-context band × allowance side, summed. What an engine computes from
/// the logs where they live, and what `daily --usage-out` writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageGroup {
    pub day: Day,
    pub utc_day: Day,
    pub provider: String,
    pub model: String,
    pub byok: bool,
    /// How many of the cut's long-context thresholds the calls' prompts exceed.
    pub band: u8,
    pub past_allowance: bool,
    pub calls: u64,
    pub failed_calls: u64,
    pub prompt_tokens: u128,
    pub cached_tokens: u128,
    pub cache_write_tokens: u128,
    pub cache_write_1h_tokens: u128,
    pub completion_tokens: u128,
    pub reasoning_tokens: u128,
    /// Billable calls that carry the gateway's reported `cost`, and that cost summed in
    /// billionths of a USD (each call's cost rounded to the billionth, half away from zero):
    /// integers, so an engine sums them exactly.
    pub reported_calls: u64,
    pub reported_cost_nanos: i128,
    /// With `--by`: the calls' group (the value of the `--by` field; `None` for calls without
    /// one), a key like the others; `None` throughout without `--by`.
    pub tenant: Option<String>,
}

impl UsageGroup {
    /// The reported cost in USD.
    pub fn reported_usd(&self) -> Money {
        Money::from_i128_with_scale(self.reported_cost_nanos, 9)
    }

    /// The group's tokens as priced sums.
    pub fn sums(&self) -> TokenSums {
        TokenSums {
            uncached_input: self.prompt_tokens - self.cached_tokens - self.cache_write_tokens,
            cached: self.cached_tokens,
            cache_write_5m: self.cache_write_tokens - self.cache_write_1h_tokens,
            cache_write_1h: self.cache_write_1h_tokens,
            completion: self.completion_tokens,
        }
    }
}
