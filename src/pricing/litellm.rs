//! LiteLLM's community price list (`model_prices_and_context_window.json`) as rows of
//! `rates/models.csv`, and the plan of what importing them would change in a rate table.
//!
//! Pure functions over bytes, so the conversion and the edit of the table are tested without
//! files; `cmd::rates` does the reading and writing. Prices are read from the JSON *text* into
//! exact decimals (serde_json's `RawValue`): a per-token price such as `3e-06` has no exact
//! binary float, and × 1,000,000 through `f64` would put 2.9999999999999996 in the table.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::value::RawValue;

use super::{table_reader, RateError, RateTable};
use crate::domain::{Day, Money, Rate};

/// `mode`s that are billed per prompt and completion token like a chat call.
const CHAT_MODES: [&str; 3] = ["chat", "completion", "responses"];

/// The only long-context tier the table can hold is one threshold; LiteLLM names the 200k one
/// `*_above_200k_tokens`, the tier Anthropic and Gemini Pro bill.
pub const LONG_THRESHOLD: u64 = 200_000;

/// LiteLLM's `litellm_provider` of a model's own vendor → the vendor part of our slugs (the
/// OpenRouter form both gateways use). Other providers are hosts (Azure, Bedrock, Vertex, …)
/// with their own prices and names, so their entries are not imported.
const VENDORS: [(&str, &str); 6] = [
    ("anthropic", "anthropic"),
    ("openai", "openai"),
    ("gemini", "google"),
    ("deepseek", "deepseek"),
    ("mistral", "mistralai"),
    ("xai", "x-ai"),
];

/// Prices of one model in USD per million tokens, as the table's columns hold them: `None` is
/// an empty cell (a cache price then falls back as the rate table says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prices {
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
pub struct Entry {
    /// The LiteLLM key it came from, for the report.
    pub key: String,
    pub model: String,
    pub prices: Prices,
}

/// The entries of a LiteLLM file that become rows, and what was left out and why.
#[derive(Debug, Default)]
pub struct Conversion {
    /// Sorted by slug; one per slug.
    pub entries: Vec<Entry>,
    /// `mode` present and not chat, completion or responses (embeddings, images, audio, …).
    pub skipped_mode: usize,
    /// No per-token input and output price (priced per image, second, character, or free text).
    pub skipped_unpriced: usize,
    /// Served by a host other than the model's vendor or OpenRouter, or not a `vendor/model` name.
    pub skipped_host: usize,
    /// Another key gave the same slug and won (see [`slug_for`]).
    pub skipped_duplicate: usize,
    pub warnings: Vec<String>,
}

/// Where a slug came from; lower wins when two keys give the same slug. The vendor's own entry
/// is the one LiteLLM keeps complete (cache, one-hour and long-context prices); OpenRouter's are
/// the same list prices, often with fewer of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    Vendor,
    OpenRouter,
}

/// Our slug for a LiteLLM key, or `None` for another host's entry.
///
/// - `openrouter/<vendor>/<model>`: `<vendor>/<model>` (OpenRouter's slugs are ours).
/// - a key whose `litellm_provider` is a vendor in [`VENDORS`]: `<vendor>/<key>`, after a
///   leading `<litellm_provider>/` is dropped (`gemini/gemini-2.5-pro` → `google/gemini-2.5-pro`,
///   `gpt-5` → `openai/gpt-5`). Anthropic's hyphenated versions get OpenRouter's dot
///   (`claude-sonnet-4-5` → `claude-sonnet-4.5`, `claude-3-5-haiku-20241022` →
///   `claude-3.5-haiku-20241022`); a date stays (`claude-sonnet-4-20250514`).
pub fn slug_for(key: &str, litellm_provider: Option<&str>) -> Option<(String, Origin)> {
    let is_slug = |s: &str| {
        let mut parts = s.split('/');
        matches!((parts.next(), parts.next(), parts.next()), (Some(v), Some(m), None) if !v.is_empty() && !m.is_empty())
    };
    if let Some(rest) = key.strip_prefix("openrouter/") {
        return is_slug(rest).then(|| (rest.to_string(), Origin::OpenRouter));
    }
    let lp = litellm_provider?;
    let (_, vendor) = VENDORS.iter().find(|(p, _)| *p == lp)?;
    let model = key
        .strip_prefix(lp)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(key);
    if model.is_empty() || model.contains('/') {
        return None;
    }
    let model = if *vendor == "anthropic" {
        dotted_version(model)
    } else {
        model.to_string()
    };
    Some((format!("{vendor}/{model}"), Origin::Vendor))
}

/// `-4-5` → `-4.5` where the second number is one digit and ends the name or a part of it.
fn dotted_version(model: &str) -> String {
    let parts: Vec<&str> = model.split('-').collect();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        let joins_with_dot = i > 0
            && p.len() == 1
            && p.bytes().all(|b| b.is_ascii_digit())
            && !parts[i - 1].is_empty()
            && parts[i - 1].bytes().all(|b| b.is_ascii_digit())
            && parts[i - 1].len() == 1;
        if i > 0 {
            out.push(if joins_with_dot { '.' } else { '-' });
        }
        out.push_str(p);
    }
    out
}

/// A JSON number's text as an exact decimal; `1.5e-05` → 0.000015. `None` for a value that is
/// not a JSON number (a string, an object).
pub fn exact_number(text: &str) -> Option<Money> {
    let t = text.trim();
    if !t.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return None;
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let mut m = Money::from_str_exact(mantissa).ok()?;
    if exp < 0 {
        let scale = m.scale().checked_add(exp.unsigned_abs())?;
        m.set_scale(scale).ok()?;
    } else {
        for _ in 0..exp {
            m = m.checked_mul(Money::TEN)?;
        }
    }
    Some(m)
}

/// Converts a LiteLLM price file; an error (not JSON, a price that is not a non-negative
/// number) is the message, for exit status 2.
pub fn convert(json: &[u8]) -> Result<Conversion, String> {
    let doc: BTreeMap<String, &RawValue> = serde_json::from_slice(json)
        .map_err(|e| format!("not a LiteLLM price file (a JSON object of models): {e}"))?;
    let mut conv = Conversion::default();
    let mut by_slug: BTreeMap<String, (Origin, Entry)> = BTreeMap::new();
    for (key, raw) in &doc {
        // Entries that are not objects (none in LiteLLM's file) cannot be priced.
        let Ok(fields) = serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get()) else {
            conv.skipped_unpriced += 1;
            continue;
        };
        let text = |name: &str| -> Option<String> {
            fields.get(name).and_then(|v| {
                serde_json::from_str::<Option<String>>(v.get())
                    .ok()
                    .flatten()
            })
        };
        if let Some(mode) = text("mode") {
            if !CHAT_MODES.contains(&mode.as_str()) {
                conv.skipped_mode += 1;
                continue;
            }
        }
        let price = |name: &str| -> Result<Option<Money>, String> {
            let Some(v) = fields.get(name) else {
                return Ok(None);
            };
            if v.get().trim() == "null" {
                return Ok(None);
            }
            let per_token = exact_number(v.get()).ok_or_else(|| {
                format!(
                    "`{key}`: {name} is `{}`, not a number (or not exact in 28 digits)",
                    v.get()
                )
            })?;
            if per_token.is_sign_negative() && !per_token.is_zero() {
                return Err(format!("`{key}`: {name} is negative ({})", v.get()));
            }
            let per_mtok = per_token
                .checked_mul(Money::from(1_000_000))
                .ok_or_else(|| format!("`{key}`: {name} is out of range ({})", v.get()))?;
            Ok(Some(per_mtok.normalize()))
        };
        let (Some(input), Some(output)) = (
            price("input_cost_per_token")?,
            price("output_cost_per_token")?,
        ) else {
            conv.skipped_unpriced += 1;
            continue;
        };
        let Some((model, origin)) = slug_for(key, text("litellm_provider").as_deref()) else {
            conv.skipped_host += 1;
            continue;
        };
        let long_in = price("input_cost_per_token_above_200k_tokens")?;
        let long_out = price("output_cost_per_token_above_200k_tokens")?;
        let long = match (long_in, long_out) {
            (Some(i), Some(o)) => Some((i, o)),
            (None, None) => None,
            _ => {
                conv.warnings.push(format!(
                    "{model} (`{key}`): only one of input/output_cost_per_token_above_200k_tokens; \
                     long-context columns left empty (the whole call moves to the long tier, so \
                     it needs both prices)"
                ));
                None
            }
        };
        for f in fields.keys() {
            if f.starts_with("input_cost_per_token_above_")
                && f.ends_with("k_tokens")
                && f != "input_cost_per_token_above_200k_tokens"
            {
                conv.warnings.push(format!(
                    "{model} (`{key}`): {f} not imported (the table holds the 200k tier only)"
                ));
            }
        }
        let entry = Entry {
            key: key.clone(),
            model: model.clone(),
            prices: Prices {
                input,
                output,
                cache_read: price("cache_read_input_token_cost")?,
                cache_write: price("cache_creation_input_token_cost")?,
                cache_write_1h: price("cache_creation_input_token_cost_above_1hr")?,
                long,
            },
        };
        match by_slug.get(&model) {
            Some((o, kept)) if *o <= origin => {
                if *o == origin && kept.prices.effective() != entry.prices.effective() {
                    conv.warnings.push(format!(
                        "{model}: `{}` and `{key}` disagree; kept `{}` (keys in sorted order)",
                        kept.key, kept.key
                    ));
                }
                conv.skipped_duplicate += 1;
            }
            Some(_) => {
                conv.skipped_duplicate += 1;
                by_slug.insert(model, (origin, entry));
            }
            None => {
                by_slug.insert(model, (origin, entry));
            }
        }
    }
    conv.entries = by_slug.into_values().map(|(_, e)| e).collect();
    Ok(conv)
}

/// What importing one entry does to the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// No row of the slug covers the day: a new open-ended row.
    New,
    /// The row on `line` covers the day at other prices: it is closed the day before and a new
    /// open-ended row starts. `changes` are (column, old, new), effective prices.
    Changed {
        line: u64,
        changes: Vec<(&'static str, String, String)>,
    },
    Unchanged,
    /// Left out: importing it would need an edit the import does not make on its own.
    Conflict(String),
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Changed { .. } => "changed",
            Status::Unchanged => "unchanged",
            Status::Conflict(_) => "conflict",
        }
    }
}

/// The import of every entry into a table, for one provider and first day.
#[derive(Debug)]
pub struct Plan {
    pub provider: String,
    pub effective_from: Day,
    pub items: Vec<(Entry, Status)>,
}

impl Plan {
    pub fn count(&self, status: &str) -> usize {
        self.items
            .iter()
            .filter(|(_, s)| s.as_str() == status)
            .count()
    }

    /// The report: one row per slug, `changes` naming each column as old → new (a new row's
    /// prices as they will be written).
    pub fn report_rows(&self) -> Vec<Vec<String>> {
        self.items
            .iter()
            .map(|(e, s)| {
                let changes = match s {
                    Status::New => e
                        .prices
                        .cells()
                        .into_iter()
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(c, v)| format!("{c} {v}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                    Status::Changed { line, changes } => {
                        let cols = changes
                            .iter()
                            .map(|(c, o, n)| format!("{c} {o} → {n}"))
                            .collect::<Vec<_>>()
                            .join("; ");
                        format!("{cols} (row on line {line} closed {})", self.day_before())
                    }
                    Status::Unchanged => String::new(),
                    Status::Conflict(why) => why.clone(),
                };
                vec![
                    s.as_str().to_string(),
                    self.provider.clone(),
                    e.model.clone(),
                    e.key.clone(),
                    changes,
                ]
            })
            .collect()
    }

    fn day_before(&self) -> Day {
        Day(self.effective_from.0 - 1)
    }
}

/// `import_status`, not `status`: the import's words are no reconciliation status, and a terminal table
/// marks every status but ok as flagged.
pub const REPORT_HEADER: [&str; 5] = [
    "import_status",
    "provider",
    "model",
    "litellm_key",
    "changes",
];

/// Compares each entry with the table's row for (`provider`, slug) on `effective_from`.
/// Only rows naming exactly `provider` count: an import for `openrouter` adds rows that win over
/// `*` rows, it does not edit them.
pub fn plan(table: &RateTable, entries: Vec<Entry>, provider: &str, effective_from: Day) -> Plan {
    let mut rows: HashMap<&str, Vec<&Rate>> = HashMap::new();
    for r in table.rates().iter().filter(|r| r.provider == provider) {
        rows.entry(r.model.as_str()).or_default().push(r);
    }
    let items = entries
        .into_iter()
        .map(|e| {
            let own = rows.get(e.model.as_str()).map_or(&[][..], |v| &v[..]);
            let status = status_of(&e, own, effective_from);
            (e, status)
        })
        .collect();
    Plan {
        provider: provider.to_string(),
        effective_from,
        items,
    }
}

fn status_of(e: &Entry, rows: &[&Rate], from: Day) -> Status {
    if let Some(later) = rows.iter().find(|r| r.effective_from > from) {
        return Status::Conflict(format!(
            "the table already has a row from {} (line {}); edit it by hand",
            later.effective_from, later.line
        ));
    }
    let Some(current) = rows.iter().find(|r| r.covers(from)) else {
        return Status::New;
    };
    let old = Prices::of_rate(current);
    let new = e.prices.effective();
    let show_opt = |m: Option<Money>| m.map_or("(none)".to_string(), show);
    let changes: Vec<_> = old
        .iter()
        .zip(&new)
        .filter(|(o, n)| o.1 != n.1)
        .map(|(o, n)| (o.0, show_opt(o.1), show_opt(n.1)))
        .collect();
    if changes.is_empty() {
        Status::Unchanged
    } else if current.effective_from == from {
        Status::Conflict(format!(
            "the row on line {} already starts on {from} at other prices; edit it by hand",
            current.line
        ))
    } else {
        Status::Changed {
            line: current.line,
            changes,
        }
    }
}

/// The table text with the plan applied: each changed slug's current row closed the day before
/// (`effective_to`), a new row after the slug's last row, rows of new slugs at the end. Every
/// other byte is kept, comments included. `source` fills the `source` column of new rows.
/// The result must still be checked by [`RateTable::parse`] before it is written.
pub fn apply(text: &[u8], path: &Path, plan: &Plan, source: &str) -> Result<Vec<u8>, RateError> {
    let file = path.display().to_string();
    let err = |line: u64, message: String| RateError {
        file: file.clone(),
        line,
        message,
    };
    let bom = text.starts_with(b"\xEF\xBB\xBF");
    let body = if bom { &text[3..] } else { text };
    let (mut rdr, header) = table_reader(text).map_err(|m| err(1, m))?;
    let col = |name: &str| header.iter().position(|h| h == name);

    // Where each record is: line → (start, end) byte offsets in `body`, and its fields.
    let mut spans: HashMap<u64, (usize, usize, csv::StringRecord)> = HashMap::new();
    let mut last_of_model: HashMap<String, u64> = HashMap::new();
    let (prov_col, model_col) = (col("provider"), col("model"));
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(err(e.position().map_or(0, |p| p.line()), e.to_string())),
        }
        let pos = rec.position().expect("a read record has a position");
        let (line, start, end) = (
            pos.line(),
            pos.byte() as usize,
            rdr.position().byte() as usize,
        );
        let cell = |c: Option<usize>| c.and_then(|i| rec.get(i)).unwrap_or("");
        if cell(prov_col).eq_ignore_ascii_case(&plan.provider) {
            last_of_model.insert(cell(model_col).to_string(), line);
        }
        spans.insert(line, (start, end, rec.clone()));
    }
    let newline: &[u8] = if body.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let write_row = |cells: &[String]| -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = csv::WriterBuilder::new()
                .terminator(if newline == b"\r\n" {
                    csv::Terminator::CRLF
                } else {
                    csv::Terminator::Any(b'\n')
                })
                .from_writer(&mut out);
            w.write_record(cells).expect("writing to memory");
        }
        out
    };
    let new_row = |e: &Entry| -> Result<Vec<u8>, RateError> {
        let mut cells = vec![String::new(); header.len()];
        let mut put = |name: &str, v: String| -> Result<(), RateError> {
            match col(name) {
                Some(i) => cells[i] = v,
                None if v.is_empty() || name == "source" => {}
                None => {
                    return Err(err(
                        1,
                        format!("header lacks column `{name}`, needed for {}", e.model),
                    ))
                }
            }
            Ok(())
        };
        put("provider", plan.provider.clone())?;
        put("model", e.model.clone())?;
        put("effective_from", plan.effective_from.to_string())?;
        for (c, v) in e.prices.cells() {
            put(c, v)?;
        }
        put("source", source.to_string())?;
        Ok(write_row(&cells))
    };

    // Edits as (start, end, replacement), applied in order of position.
    let mut edits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut appended = Vec::new();
    let to_col = col("effective_to").ok_or_else(|| err(1, "header lacks `effective_to`".into()))?;
    for (e, s) in &plan.items {
        match s {
            Status::Changed { line, .. } => {
                let (start, end, rec) = &spans[line];
                let mut cells: Vec<String> = rec.iter().map(str::to_string).collect();
                cells[to_col] = plan.day_before().to_string();
                edits.push((*start, *end, write_row(&cells)));
                let (_, last_end, _) = &spans[&last_of_model[&e.model]];
                edits.push((*last_end, *last_end, new_row(e)?));
            }
            Status::New => match last_of_model.get(&e.model) {
                Some(last) => {
                    let (_, last_end, _) = &spans[last];
                    edits.push((*last_end, *last_end, new_row(e)?));
                }
                None => appended.extend(new_row(e)?),
            },
            Status::Unchanged | Status::Conflict(_) => {}
        }
    }
    // A replacement comes before an insertion at its end (stable sort keeps plan order).
    edits.sort_by_key(|(s, e, _)| (*s, *e));
    let mut out = Vec::with_capacity(body.len() + appended.len() + 256);
    if bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let mut at = 0;
    for (start, end, with) in edits {
        out.extend_from_slice(&body[at..start]);
        // The last record may lack a line end; an inserted row must not join it.
        if start == end && !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(newline);
        }
        out.extend_from_slice(&with);
        at = end;
    }
    out.extend_from_slice(&body[at..]);
    if !appended.is_empty() {
        if !out.ends_with(b"\n") {
            out.extend_from_slice(newline);
        }
        out.extend(appended);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn exact_numbers_from_json_text() {
        assert_eq!(exact_number("3e-06").unwrap() * dec!(1000000), dec!(3));
        assert_eq!(exact_number("1.5E-05").unwrap(), dec!(0.000015));
        assert_eq!(exact_number("3.75e-06").unwrap(), dec!(0.00000375));
        assert_eq!(exact_number("2e+1").unwrap(), dec!(20));
        assert_eq!(exact_number("0.0000003").unwrap(), dec!(0.0000003));
        assert_eq!(exact_number("-1e-06").unwrap(), dec!(-0.000001));
        assert!(exact_number("\"3e-06\"").is_none());
        assert!(exact_number("true").is_none());
    }

    #[test]
    fn slugs_from_litellm_keys() {
        let s = |k, p| slug_for(k, p).map(|(s, _)| s);
        assert_eq!(
            s("openrouter/anthropic/claude-sonnet-4.5", Some("openrouter")),
            Some("anthropic/claude-sonnet-4.5".into())
        );
        assert_eq!(s("gpt-5", Some("openai")), Some("openai/gpt-5".into()));
        assert_eq!(
            s("gemini/gemini-2.5-pro", Some("gemini")),
            Some("google/gemini-2.5-pro".into())
        );
        assert_eq!(
            s("claude-sonnet-4-5", Some("anthropic")),
            Some("anthropic/claude-sonnet-4.5".into())
        );
        assert_eq!(
            s("claude-3-5-haiku-20241022", Some("anthropic")),
            Some("anthropic/claude-3.5-haiku-20241022".into())
        );
        assert_eq!(
            s("claude-sonnet-4-20250514", Some("anthropic")),
            Some("anthropic/claude-sonnet-4-20250514".into())
        );
        assert_eq!(
            s("claude-opus-4-1", Some("anthropic")),
            Some("anthropic/claude-opus-4.1".into())
        );
        assert_eq!(s("azure/gpt-5", Some("azure")), None);
        assert_eq!(s("gpt-5", None), None);
        assert_eq!(s("openrouter/gpt-5", Some("openrouter")), None);
    }

    #[test]
    fn conversion_maps_columns_and_skips_with_counts() {
        let json = br#"{
            "sample_spec": {"mode": "one of: chat, embedding", "input_cost_per_token": 0.0},
            "claude-x-4-5": {"litellm_provider": "anthropic", "mode": "chat",
                "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
                "cache_creation_input_token_cost_above_1hr": 6e-06,
                "input_cost_per_token_above_200k_tokens": 6e-06,
                "output_cost_per_token_above_200k_tokens": 2.25e-05},
            "openrouter/anthropic/claude-x-4.5": {"litellm_provider": "openrouter", "mode": "chat",
                "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
            "half-long": {"litellm_provider": "openai", "mode": "chat",
                "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                "input_cost_per_token_above_200k_tokens": 2e-06},
            "text-embedding-3-small": {"litellm_provider": "openai", "mode": "embedding",
                "input_cost_per_token": 2e-08, "output_cost_per_token": 0.0},
            "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation",
                "output_cost_per_image": 0.04},
            "gpt-image": {"litellm_provider": "openai", "mode": "chat"},
            "azure/gpt-5": {"litellm_provider": "azure", "mode": "chat",
                "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}
        }"#;
        let c = convert(json).unwrap();
        assert_eq!(
            (
                c.skipped_mode,
                c.skipped_unpriced,
                c.skipped_host,
                c.skipped_duplicate
            ),
            (3, 1, 1, 1)
        );
        let models: Vec<_> = c.entries.iter().map(|e| e.model.as_str()).collect();
        assert_eq!(models, ["anthropic/claude-x-4.5", "openai/half-long"]);
        // The vendor's own entry wins over OpenRouter's.
        assert_eq!(
            c.entries[0].prices,
            Prices {
                input: dec!(3),
                output: dec!(15),
                cache_read: Some(dec!(0.3)),
                cache_write: Some(dec!(3.75)),
                cache_write_1h: Some(dec!(6)),
                long: Some((dec!(6), dec!(22.5))),
            }
        );
        assert_eq!(c.entries[1].prices.long, None);
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("only one of"), "{:?}", c.warnings);
    }

    #[test]
    fn bad_prices_are_errors_naming_the_key() {
        let e = convert(br#"{"m": {"litellm_provider": "openai", "input_cost_per_token": -1e-06, "output_cost_per_token": 1e-06}}"#).unwrap_err();
        assert!(e.contains("`m`") && e.contains("negative"), "{e}");
        let e = convert(br#"{"m": {"input_cost_per_token": "cheap", "output_cost_per_token": 1}}"#)
            .unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        assert!(convert(b"{\"m\": ").is_err());
        assert!(convert(b"[1, 2]").is_err());
    }

    const TABLE: &str = "provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok,cache_write_1h_per_mtok,source
# a comment the import keeps
*,v/a,2026-01-01,,1,2,0.10,,,,,,hand
*,v/b,2026-01-01,,3,15,0.30,3.75,,,,6,hand
*,v/c,2026-03-01,,1,1,,,,,,,hand
*,v/d,2026-01-01,2026-01-31,1,1,,,,,,,hand
*,v/d,2026-02-01,,2,2,,,,,,,hand
";

    fn entry(model: &str, input: Money, output: Money) -> Entry {
        Entry {
            key: model.into(),
            model: model.into(),
            prices: Prices {
                input,
                output,
                cache_read: None,
                cache_write: None,
                cache_write_1h: None,
                long: None,
            },
        }
    }

    #[test]
    fn plan_and_apply_close_the_old_row_and_keep_the_rest() {
        let path = Path::new("models.csv");
        let table = RateTable::parse(path, TABLE.as_bytes()).unwrap();
        let mut a = entry("v/a", dec!(1), dec!(2));
        a.prices.cache_read = Some(dec!(0.1));
        let entries = vec![
            a,                                // unchanged: 0.10 = 0.1
            entry("v/b", dec!(3), dec!(15)),  // changed: cache prices now fall back to 3
            entry("v/c", dec!(2), dec!(2)),   // conflict: its row starts later
            entry("v/d", dec!(2.5), dec!(2)), // changed: the second row closes
            entry("v/new", dec!(1), dec!(1)), // new
        ];
        let from = Day::parse("2026-02-15").unwrap();
        let plan = plan(&table, entries, "*", from);
        let statuses: Vec<_> = plan.items.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            statuses,
            ["unchanged", "changed", "conflict", "changed", "new"]
        );
        let Status::Changed { line, changes } = &plan.items[1].1 else {
            unreachable!()
        };
        assert_eq!(*line, 4);
        assert_eq!(
            changes,
            &vec![
                ("cache_read_per_mtok", "0.3".to_string(), "3".to_string()),
                ("cache_write_per_mtok", "3.75".to_string(), "3".to_string()),
                ("cache_write_1h_per_mtok", "6".to_string(), "3".to_string()),
            ]
        );
        let out = apply(TABLE.as_bytes(), path, &plan, "litellm x").unwrap();
        let expected = "provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok,cache_write_1h_per_mtok,source
# a comment the import keeps
*,v/a,2026-01-01,,1,2,0.10,,,,,,hand
*,v/b,2026-01-01,2026-02-14,3,15,0.30,3.75,,,,6,hand
*,v/b,2026-02-15,,3,15,,,,,,,litellm x
*,v/c,2026-03-01,,1,1,,,,,,,hand
*,v/d,2026-01-01,2026-01-31,1,1,,,,,,,hand
*,v/d,2026-02-01,2026-02-14,2,2,,,,,,,hand
*,v/d,2026-02-15,,2.5,2,,,,,,,litellm x
*,v/new,2026-02-15,,1,1,,,,,,,litellm x
";
        assert_eq!(String::from_utf8(out.clone()).unwrap(), expected);
        RateTable::parse(path, &out).unwrap();
    }

    #[test]
    fn a_row_starting_on_the_day_is_a_conflict_and_a_missing_newline_is_added() {
        let path = Path::new("models.csv");
        let text = "provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok\n*,v/a,2026-02-15,,1,2,,,,,";
        let table = RateTable::parse(path, text.as_bytes()).unwrap();
        let from = Day::parse("2026-02-15").unwrap();
        let p = plan(
            &table,
            vec![
                entry("v/a", dec!(2), dec!(2)),
                entry("v/n", dec!(1), dec!(1)),
            ],
            "*",
            from,
        );
        assert!(matches!(p.items[0].1, Status::Conflict(_)));
        let out = apply(text.as_bytes(), path, &p, "s").unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with(",,,,,\n*,v/n,2026-02-15,,1,1,,,,,\n"),);
    }
}
