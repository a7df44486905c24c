//! Pricing: the rate table (`rates/models.csv`) and the exact cost of a group of calls.
//!
//! A group's cost is linear in its token sums for one rate row and tier, so pricing happens once
//! per group with `rust_decimal`, never per call.

pub mod aliases;
pub(crate) mod litellm;
pub mod slugs;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::domain::{Day, Money, Rate, Tier, TokenSums};

#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RateError {
    pub file: String,
    pub line: u64,
    pub message: String,
}

pub(crate) const BUILTIN: &str = include_str!("../../rates/models.csv");

/// The bytes of a table in `rates/`, or an error naming the file.
pub(crate) fn read_table(path: &Path, what: &str) -> Result<Vec<u8>, RateError> {
    std::fs::read(path).map_err(|e| RateError {
        file: path.display().to_string(),
        line: 0,
        message: format!("cannot read {what}: {e}"),
    })
}

/// A reader over a `rates/` CSV (BOM dropped, cells trimmed, `#` comment lines skipped) and its
/// header; an unreadable header is the error message.
pub(crate) fn table_reader(text: &[u8]) -> Result<(csv::Reader<&[u8]>, csv::StringRecord), String> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text));
    let headers = rdr
        .headers()
        .map_err(|e| format!("unreadable header: {e}"))?
        .clone();
    Ok((rdr, headers))
}

/// All rate rows, indexed by (provider, model).
#[derive(Debug, Clone, Default)]
pub struct RateTable {
    rates: Vec<Rate>,
    index: HashMap<(String, String), Vec<usize>>,
    pub path: PathBuf,
}

const REQUIRED: [&str; 11] = [
    "provider",
    "model",
    "effective_from",
    "effective_to",
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "cache_write_per_mtok",
    "long_context_threshold",
    "long_input_per_mtok",
    "long_output_per_mtok",
];

impl RateTable {
    /// Loads `DIR/models.csv`.
    pub(crate) fn load_dir(dir: &Path) -> Result<RateTable, RateError> {
        Self::load(&dir.join("models.csv"))
    }

    pub(crate) fn load(path: &Path) -> Result<RateTable, RateError> {
        Self::parse(path, &read_table(path, "rate table")?)
    }

    /// The table shipped inside the binary, used when no `--rates` is given and no `rates/`
    /// directory is in the working directory.
    pub fn builtin() -> RateTable {
        Self::parse(Path::new("<built-in rates/models.csv>"), BUILTIN.as_bytes())
            .expect("the shipped rate table is valid (a unit test checks it)")
    }

    pub fn parse(path: &Path, text: &[u8]) -> Result<RateTable, RateError> {
        let file = path.display().to_string();
        let err = |line: u64, message: String| RateError {
            file: file.clone(),
            line,
            message,
        };
        let (mut rdr, headers) = table_reader(text).map_err(|m| err(1, m))?;
        let col = |name: &str| headers.iter().position(|h| h == name);
        let mut cols = HashMap::new();
        for name in REQUIRED {
            cols.insert(
                name,
                col(name).ok_or_else(|| err(1, format!("header lacks column `{name}`")))?,
            );
        }
        let one_hour = col("cache_write_1h_per_mtok");
        let source = col("source");

        let mut table = RateTable {
            path: path.to_path_buf(),
            ..Default::default()
        };
        for rec in rdr.records() {
            let rec = rec.map_err(|e| err(e.position().map_or(0, |p| p.line()), e.to_string()))?;
            let line = rec.position().map_or(0, |p| p.line());
            let get = |name: &str| rec.get(cols[name]).unwrap_or("");
            let price = |name: &str, v: &str| -> Result<Option<Money>, RateError> {
                if v.is_empty() {
                    return Ok(None);
                }
                let m = Money::from_str(v)
                    .map_err(|_| err(line, format!("{name}: `{v}` is not a decimal price")))?;
                if m.is_sign_negative() {
                    return Err(err(line, format!("{name}: negative price {v}")));
                }
                Ok(Some(m))
            };
            let required_price = |name: &str| {
                price(name, get(name))?.ok_or_else(|| err(line, format!("{name} is empty")))
            };
            let day = |name: &str| -> Result<Option<Day>, RateError> {
                let v = get(name);
                if v.is_empty() {
                    return Ok(None);
                }
                Day::parse(v)
                    .map(Some)
                    .ok_or_else(|| err(line, format!("{name}: `{v}` is not a date (YYYY-MM-DD)")))
            };
            let provider = get("provider").to_ascii_lowercase();
            let model = get("model").to_string();
            if provider.is_empty() || model.is_empty() {
                return Err(err(line, "provider and model must not be empty".into()));
            }
            let input = required_price("input_per_mtok")?;
            let cache_write =
                price("cache_write_per_mtok", get("cache_write_per_mtok"))?.unwrap_or(input);
            let threshold = match get("long_context_threshold") {
                "" => None,
                v => Some(v.parse::<u64>().map_err(|_| {
                    err(
                        line,
                        format!("long_context_threshold: `{v}` is not a whole number of tokens"),
                    )
                })?),
            };
            let long_input = price("long_input_per_mtok", get("long_input_per_mtok"))?;
            let long_output = price("long_output_per_mtok", get("long_output_per_mtok"))?;
            if threshold.is_some() != (long_input.is_some() && long_output.is_some()) {
                return Err(err(
                    line,
                    "long_context_threshold, long_input_per_mtok and long_output_per_mtok go together".into(),
                ));
            }
            let effective_from = day("effective_from")?
                .ok_or_else(|| err(line, "effective_from is empty".into()))?;
            let effective_to = day("effective_to")?;
            if effective_to.is_some_and(|to| to < effective_from) {
                return Err(err(line, "effective_to is before effective_from".into()));
            }
            let rate = Rate {
                provider,
                model,
                effective_from,
                effective_to,
                input,
                output: required_price("output_per_mtok")?,
                cache_read: price("cache_read_per_mtok", get("cache_read_per_mtok"))?
                    .unwrap_or(input),
                cache_write,
                cache_write_1h: match one_hour {
                    Some(i) => price("cache_write_1h_per_mtok", rec.get(i).unwrap_or(""))?
                        .unwrap_or(cache_write),
                    None => cache_write,
                },
                long_context_threshold: threshold,
                long_input,
                long_output,
                source: source.and_then(|i| rec.get(i)).unwrap_or("").to_string(),
                line,
            };
            table.push(rate).map_err(|m| err(line, m))?;
        }
        Ok(table)
    }

    /// Adds a row, refusing one whose period overlaps another for the same provider and model.
    pub(crate) fn push(&mut self, rate: Rate) -> Result<(), String> {
        let key = (rate.provider.clone(), rate.model.clone());
        let rows = self.index.entry(key).or_default();
        for &i in rows.iter() {
            let o = &self.rates[i];
            let starts_before_other_ends =
                o.effective_to.is_none_or(|to| rate.effective_from <= to);
            let other_starts_before_end = rate.effective_to.is_none_or(|to| o.effective_from <= to);
            if starts_before_other_ends && other_starts_before_end {
                return Err(format!(
                    "period {}..{} for {} {} overlaps the row on line {}",
                    rate.effective_from,
                    rate.effective_to.map_or(String::new(), |d| d.to_string()),
                    rate.provider,
                    rate.model,
                    o.line
                ));
            }
        }
        rows.push(self.rates.len());
        self.rates.push(rate);
        Ok(())
    }

    pub(crate) fn get(&self, idx: usize) -> &Rate {
        &self.rates[idx]
    }

    pub fn rates(&self) -> &[Rate] {
        &self.rates
    }

    /// The row pricing `model` on `provider` on a UTC day: a row naming the provider wins over `*`.
    pub fn lookup(&self, provider: &str, model: &str, day: Day) -> Option<usize> {
        let find = |p: &str| {
            self.index
                .get(&(p.to_string(), model.to_string()))
                .and_then(|rows| rows.iter().copied().find(|&i| self.rates[i].covers(day)))
        };
        find(provider).or_else(|| find("*"))
    }

    /// This table with `over`'s rows in place of its own for every (provider, model) that `over`
    /// names: all of that key's rows go, whatever their periods, so an override file states a
    /// model's whole price history and never mixes with the rows it replaces. Keys `over` does
    /// not name are kept as they are (an override of `*` leaves a provider's own rows winning).
    pub(crate) fn with_override(self, over: RateTable) -> Result<RateTable, String> {
        let mut out = RateTable {
            path: self.path,
            ..Default::default()
        };
        for r in self.rates {
            if !over
                .index
                .contains_key(&(r.provider.clone(), r.model.clone()))
            {
                out.push(r)?;
            }
        }
        for r in over.rates {
            out.push(r)?;
        }
        Ok(out)
    }

    /// Whether the model appears in the table at all, for any provider or period.
    pub(crate) fn knows_model(&self, model: &str) -> bool {
        self.rates.iter().any(|r| r.model == model)
    }
}

/// The price per million tokens of each kind of token at a rate row and tier, in the order of
/// [`token_kinds`]: uncached input, cache read, five-minute cache write, one-hour cache write,
/// output. The one place that decides which price a kind pays, so [`cost`] and the FOCUS rows
/// (one per kind, `output/focus`) cannot disagree.
pub(crate) fn kind_prices(rate: &Rate, tier: Tier) -> [Money; 5] {
    let (input, output) = match tier {
        Tier::Standard => (rate.input, rate.output),
        Tier::LongContext => (
            rate.long_input.unwrap_or(rate.input),
            rate.long_output.unwrap_or(rate.output),
        ),
    };
    [
        input,
        rate.cache_read,
        rate.cache_write,
        rate.cache_write_1h,
        output,
    ]
}

/// Token sums split by kind, in the order of [`kind_prices`].
pub(crate) fn token_kinds(t: &TokenSums) -> [u128; 5] {
    [
        t.uncached_input,
        t.cached,
        t.cache_write_5m,
        t.cache_write_1h,
        t.completion,
    ]
}

/// Exact cost of token sums at a rate row and tier: Σ tokens × price / 1,000,000.
pub fn cost(rate: &Rate, tier: Tier, t: &TokenSums) -> Money {
    // Saturating: token sums beyond 2^96 are not real traffic, and a bad input must not panic.
    let m = |n: u128, price: Money| {
        Money::try_from_i128_with_scale(n.min(i128::MAX as u128) as i128, 0)
            .unwrap_or(Money::MAX)
            .saturating_mul(price)
    };
    let per_mtok = token_kinds(t)
        .into_iter()
        .zip(kind_prices(rate, tier))
        .fold(Money::ZERO, |sum, (n, price)| {
            sum.saturating_add(m(n, price))
        });
    per_mtok / Money::from(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn table(csv: &str) -> Result<RateTable, RateError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("models.csv"), csv).unwrap();
        RateTable::load_dir(dir.path())
    }

    const HEADER: &str = "provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok\n";

    #[test]
    fn provider_row_wins_over_star_and_dates_apply() {
        let t = table(&format!(
            "{HEADER}*,m,2026-01-01,,3,15,0.30,3.75,,,\nominigate,m,2026-04-10,2026-04-20,2,10,,,,,\n"
        ))
        .unwrap();
        let d = |s| Day::parse(s).unwrap();
        let star = t.lookup("ominigate", "m", d("2026-04-09")).unwrap();
        assert_eq!(t.get(star).provider, "*");
        let own = t.lookup("ominigate", "m", d("2026-04-20")).unwrap();
        assert_eq!(t.get(own).input, dec!(2));
        // Empty cache prices fall back to the input price.
        assert_eq!(t.get(own).cache_read, dec!(2));
        assert!(t.lookup("openrouter", "m", d("2025-12-31")).is_none());
        assert!(t.lookup("openrouter", "other", d("2026-04-09")).is_none());
    }

    #[test]
    fn overlapping_periods_are_an_error_with_line() {
        let e = table(&format!(
            "{HEADER}*,m,2026-01-01,2026-03-31,3,15,,,,,\n*,m,2026-03-31,,3,15,,,,,\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("overlaps the row on line 2"), "{e}");
    }

    #[test]
    fn negative_price_is_an_error() {
        let e = table(&format!("{HEADER}*,m,2026-01-01,,-3,15,,,,,\n")).unwrap_err();
        assert!(e.message.contains("negative"), "{e}");
    }

    #[test]
    fn shipped_table_loads() {
        let t = RateTable::builtin();
        let d = Day::parse("2026-04-15").unwrap();
        let r = t.get(
            t.lookup("openrouter", "anthropic/claude-sonnet-4.6", d)
                .unwrap(),
        );
        assert_eq!((r.input, r.output), (dec!(3), dec!(15)));
    }

    #[test]
    fn cost_is_exact() {
        let t = table(&format!(
            "{HEADER}*,m,2026-01-01,,3,15,0.30,3.75,200000,6,22.5\n"
        ))
        .unwrap();
        let r = t.get(0);
        // 1000 uncached × 3 + 500 cached × 0.30 + 200 writes × 3.75 + 100 out × 15
        // = 3000 + 150 + 750 + 1500 = 5400 per Mtok → 0.0054
        let sums = TokenSums {
            uncached_input: 1000,
            cached: 500,
            cache_write_5m: 200,
            cache_write_1h: 0,
            completion: 100,
        };
        assert_eq!(cost(r, Tier::Standard, &sums), dec!(0.0054));
        // Long tier: 1000 × 6 + 150 + 750 + 100 × 22.5 = 9150 → 0.00915
        assert_eq!(cost(r, Tier::LongContext, &sums), dec!(0.00915));
    }

    #[test]
    fn override_replaces_every_row_of_its_keys_only() {
        let base = table(&format!(
            "{HEADER}*,m,2026-01-01,2026-03-31,3,15,,,,,\n*,m,2026-04-01,,4,16,,,,,\nopenrouter,m,2026-01-01,,2,10,,,,,\n*,n,2026-01-01,,1,1,,,,,\n"
        ))
        .unwrap();
        let over = table(&format!("{HEADER}*,m,2026-02-01,,5,20,,,,,\n")).unwrap();
        let t = base.with_override(over).unwrap();
        let d = |s| Day::parse(s).unwrap();
        // Both `*` rows of m are gone: before the override's period m is unpriced on ominigate.
        assert!(t.lookup("ominigate", "m", d("2026-01-15")).is_none());
        assert_eq!(
            t.get(t.lookup("ominigate", "m", d("2026-04-15")).unwrap())
                .input,
            dec!(5)
        );
        // The provider's own row and other models are kept.
        assert_eq!(
            t.get(t.lookup("openrouter", "m", d("2026-04-15")).unwrap())
                .input,
            dec!(2)
        );
        assert_eq!(
            t.get(t.lookup("ominigate", "n", d("2026-04-15")).unwrap())
                .input,
            dec!(1)
        );
    }
}
