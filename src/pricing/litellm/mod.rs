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
    /// Input and output prices of a call whose prompt exceeds `long_threshold`.
    pub long: Option<(Money, Money)>,
    /// [`LONG_THRESHOLD`] for LiteLLM's prices; a table row kept as it is keeps its own.
    pub long_threshold: u64,
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
                self.long.map(|_| Money::from(self.long_threshold)),
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

    /// These prices with every price they do not give taken from the table's row `r`, as the
    /// row has it (a cache price the row leaves to its fallback stays a fallback), so an import
    /// never turns a known price into a guess. A one-hour cache write equal to the five-minute
    /// one, where the row prices the hour apart, counts as not given: LiteLLM repeats the
    /// five-minute price on entries that do not know the hour's. Also the columns so kept whose
    /// row value is a price of its own, for the report.
    pub(crate) fn merged_with(&self, r: &Rate) -> (Prices, Vec<&'static str>) {
        let own = |v: Money, fallback: Money| (v != fallback).then_some(v);
        let (row_read, row_write) = (own(r.cache_read, r.input), own(r.cache_write, r.input));
        let row_1h = own(r.cache_write_1h, r.cache_write);
        let mut kept = Vec::new();
        let mut keep = |mine: Option<Money>, row: Option<Money>, col: &'static str| match mine {
            Some(v) => Some(v),
            None => {
                if row.is_some() {
                    kept.push(col);
                }
                row
            }
        };
        let cache_read = keep(self.cache_read, row_read, "cache_read_per_mtok");
        let cache_write = keep(self.cache_write, row_write, "cache_write_per_mtok");
        let five_minute_again =
            self.cache_write_1h.is_some() && self.cache_write_1h == self.cache_write;
        let mine_1h = self
            .cache_write_1h
            .filter(|_| !(five_minute_again && row_1h.is_some()));
        let cache_write_1h = keep(mine_1h, row_1h, "cache_write_1h_per_mtok");
        let row_long = r.long_input.zip(r.long_output);
        let (long, long_threshold) = match (self.long, row_long) {
            (Some(l), _) => (Some(l), self.long_threshold),
            (None, Some(l)) => {
                kept.extend([
                    "long_context_threshold",
                    "long_input_per_mtok",
                    "long_output_per_mtok",
                ]);
                (Some(l), r.long_context_threshold.unwrap_or(LONG_THRESHOLD))
            }
            (None, None) => (None, self.long_threshold),
        };
        let prices = Prices {
            input: self.input,
            output: self.output,
            cache_read,
            cache_write,
            cache_write_1h,
            long,
            long_threshold,
        };
        (prices, kept)
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
                    .map_or(String::new(), |_| self.long_threshold.to_string()),
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
