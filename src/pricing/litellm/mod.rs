//! LiteLLM's community price list (`model_prices_and_context_window.json`) as rows of
//! `rates/models.csv`, and the plan of what importing them would change in a rate table.
//!
//! Pure functions over bytes, so the conversion and the edit of the table are tested without
//! files; `cmd::rates` does the reading and writing. Prices are read from the JSON *text* into
//! exact decimals (serde_json's `RawValue`): a per-token price such as `3e-06` has no exact
//! binary float, and × 1,000,000 through `f64` would put 2.9999999999999996 in the table.
//!
//! `convert` turns the JSON into entries under our slugs; `plan` compares them with a rate table
//! and edits its text. The prices and entries both work on are here.

use crate::domain::{Money, Rate};

mod convert;
mod plan;

pub(crate) use convert::{convert, Conversion};
pub(crate) use plan::{apply, plan, Plan, REPORT_HEADER};

/// The only long-context tier the table can hold is one threshold; LiteLLM names the 200k one
/// `*_above_200k_tokens`, the tier Anthropic and Gemini Pro bill.
pub(crate) const LONG_THRESHOLD: u64 = 200_000;

/// Prices of one model in USD per million tokens, as the table's columns hold them: `None` is
/// an empty cell (a cache price then falls back as the rate table says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prices {
    pub input: Money,
    pub output: Money,
    pub cache_read: Option<Money>,
    pub cache_write: Option<Money>,
    pub cache_write_1h: Option<Money>,
    /// Input and output prices of a call whose prompt exceeds [`LONG_THRESHOLD`].
    pub long: Option<(Money, Money)>,
}

impl Prices {
    /// The prices a call is actually charged, after the table's fallbacks, in column order:
    /// what "changed" and "unchanged" compare, so `0.30` and `0.3`, or an empty cache price
    /// and one equal to the input price, are the same price.
    fn effective(&self) -> [(&'static str, Option<Money>); 8] {
        let cache_write = self.cache_write.unwrap_or(self.input);
        [
            ("input_per_mtok", Some(self.input)),
            ("output_per_mtok", Some(self.output)),
            (
                "cache_read_per_mtok",
                Some(self.cache_read.unwrap_or(self.input)),
            ),
            ("cache_write_per_mtok", Some(cache_write)),
            (
                "long_context_threshold",
                self.long.map(|_| Money::from(LONG_THRESHOLD)),
            ),
            ("long_input_per_mtok", self.long.map(|l| l.0)),
            ("long_output_per_mtok", self.long.map(|l| l.1)),
            (
                "cache_write_1h_per_mtok",
                Some(self.cache_write_1h.unwrap_or(cache_write)),
            ),
        ]
    }

    fn of_rate(r: &Rate) -> [(&'static str, Option<Money>); 8] {
        [
            ("input_per_mtok", Some(r.input)),
            ("output_per_mtok", Some(r.output)),
            ("cache_read_per_mtok", Some(r.cache_read)),
            ("cache_write_per_mtok", Some(r.cache_write)),
            (
                "long_context_threshold",
                r.long_context_threshold.map(Money::from),
            ),
            ("long_input_per_mtok", r.long_input),
            ("long_output_per_mtok", r.long_output),
            ("cache_write_1h_per_mtok", Some(r.cache_write_1h)),
        ]
    }

    /// The cells of a new row, by column name.
    fn cells(&self) -> Vec<(&'static str, String)> {
        let s = |m: Option<Money>| m.map_or(String::new(), show);
        vec![
            ("input_per_mtok", show(self.input)),
            ("output_per_mtok", show(self.output)),
            ("cache_read_per_mtok", s(self.cache_read)),
            ("cache_write_per_mtok", s(self.cache_write)),
            (
                "long_context_threshold",
                self.long
                    .map_or(String::new(), |_| LONG_THRESHOLD.to_string()),
            ),
            ("long_input_per_mtok", s(self.long.map(|l| l.0))),
            ("long_output_per_mtok", s(self.long.map(|l| l.1))),
            ("cache_write_1h_per_mtok", s(self.cache_write_1h)),
        ]
    }
}

/// A price as the table writes it: exact, without trailing zeros.
fn show(m: Money) -> String {
    m.normalize().to_string()
}

/// One importable LiteLLM entry under our slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The LiteLLM key it came from, for the report.
    pub key: String,
    pub model: String,
    pub prices: Prices,
}
