//! Invoices (`--invoices PATH`, docs/formats.md §3): what the gateways say they billed, as daily lines
//! per day × provider × model.
//!
//! # Files
//!
//! `.csv` (UTF-8, optional BOM, CRLF or LF) or `.xlsx` (the first sheet, or the sheet `--sheet`
//! names; the option is ignored for CSV files). A directory means every `.csv` and `.xlsx` file
//! in it, in name order, not recursive. Any other file, an unreadable file, a missing sheet or a
//! file without a known header is an [`InputError::File`] (exit status 2). The reading itself
//! (files streamed row by row, header search, cells, line numbers, size limits) is
//! [`super::sheet`]'s, shared with the other spreadsheet inputs.
//!
//! The header is the first row, within the first 20 (lines of a CSV, rows of a sheet), that holds
//! every required column of one of the two shapes below, so title rows above a spreadsheet table
//! are fine. Column names match case-insensitively, with surrounding white space ignored; columns
//! the shape does not name are ignored. A known column that appears twice is an error.
//! Rows above the header are not data; blank rows (every cell empty) below it are not rows. Every
//! other row is used or rejected with file, line (CSV: the physical line a record starts on, the
//! header counted; XLSX: the 1-based sheet row, and the reason starts with the cell reference,
//! e.g. `Invoices!D7: `) and column. A CSV row with fewer fields than the header, or a
//! filled field beyond it, is rejected (a shifted row, e.g. an unquoted `1,000`); invalid UTF-8
//! rejects its row.
//!
//! # Daily invoice lines
//!
//! `date,provider,model,prompt_tokens,completion_tokens,amount_usd`, optional `cached_tokens`,
//! `cache_write_tokens`, `requests`.
//!
//! - `date`: a UTC day. Text `YYYY-MM-DD` (a date-time text such as `2026-04-28T00:00:00` gives its
//!   date), or in XLSX a date or date-time cell, or a plain number read as an Excel serial date
//!   (1900 date system). `--tz` does not move these days: the contract defines them as UTC.
//! - `provider` is lower-cased; `model` is kept as written (trimmed).
//! - Token counts and `requests`: whole numbers ≥ 0 and ≤ 2^53, as numbers or as text (`1200`,
//!   `1200.0`); a fraction, a negative number, a thousands separator or anything else is
//!   rejected.
//! - `amount_usd`: an exact decimal ≥ 0 (`12.34`, also `1.5E-05`). An XLSX number cell is read from
//!   its shortest round-trip text (`f64::to_string`), so a cell showing 0.1 is exactly 0.1. A
//!   negative amount is rejected: a usage line bills usage, and a credit mixed into a day's sum
//!   would hide the very difference the reconciliation looks for.
//! - Empty optional cells are absent, not zero. `cached_tokens + cache_write_tokens` over
//!   `prompt_tokens` is rejected (they are part of it).
//!
//! # OpenRouter activity export
//!
//! One row per generation. Required columns: `created_at`, `cost_total`, `tokens_prompt`,
//! `tokens_completion`, `model_permaslug`; read when present: `tokens_cached`, `generation_id`;
//! the export's other columns are not read (a bad value there rejects nothing).
//!
//! - provider `openrouter`; model = [`SlugMap::permaslug`] of `model_permaslug` (a row of
//!   `rates/slugs.csv`, else the prefix rule documented in [`crate::pricing::slugs`]). A row whose
//!   permaslug cannot be mapped is rejected.
//! - `created_at` (`2026-02-06 18:54:30.040`) is UTC; a `Z` or an offset, when written, is
//!   honoured. In XLSX it may be a date-time cell. The row's day is the date in `--tz` (UTC when
//!   not given); a generation exactly at local midnight belongs to the new day.
//! - prompt = `tokens_prompt`, completion = `tokens_completion` (reasoning tokens are part of
//!   it), cached = `tokens_cached` (empty = 0; more than `tokens_prompt` is rejected), cache
//!   writes unknown (`None`), amount = `cost_total`, requests = 1 per row. Rows are summed to
//!   daily lines.
//! - `byok_usage_inference` is what a BYOK generation cost at the upstream provider, paid by the
//!   customer with its own key. OpenRouter does not bill it, so it is not part of `cost_total`
//!   (which holds only OpenRouter's BYOK fee, often 0) and it is not added to the amount. BYOK
//!   generations still count with their tokens and as a request.
//! - `cancelled`: a cancelled generation is kept like any other row. OpenRouter bills what was
//!   processed before the cancellation, and that is in `cost_total` (0 when nothing was billed);
//!   its tokens are the tokens OpenRouter counted.
//! - A `generation_id` seen before (in this or an earlier file, e.g. two overlapping exports) is
//!   rejected, naming where it was first seen, so a generation is never billed twice.
//!
//! # OpenRouter aggregated activity export
//!
//! One row per day × model: `Date,Slug,Usage,BYOK Usage,Requests,Prompt Tokens,Completion
//! Tokens,Reasoning Tokens` (required: all but `BYOK Usage` and `Reasoning Tokens`). `Date` is a
//! UTC day (`2026-05-12 00:00:00`), `Slug` maps as `model_permaslug` does, `Usage` is the amount;
//! `BYOK Usage` is paid upstream and not added (OpenRouter does not bill it), and reasoning tokens
//! are part of the completion tokens.
//!
//! Lines of every file are summed per (day, provider, model) and sorted by that key. An optional
//! count (`cached_tokens`, `cache_write_tokens`, `requests`) of a summed line is present when any
//! of its rows had it (rows without it count 0).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::TimeZone;

use super::sheet::{self, amount, day, instant, text, tokens, Columns, Row, RowError, Shape};
use super::{FileStats, InputError, Rejection};
use crate::domain::{Day, Money};
use crate::pricing::slugs::SlugMap;

/// One invoiced day × provider × model.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceLine {
    pub day: Day,
    pub provider: String,
    pub model: String,
    pub prompt_tokens: u128,
    pub completion_tokens: u128,
    pub cached_tokens: Option<u128>,
    pub cache_write_tokens: Option<u128>,
    pub requests: Option<u64>,
    pub amount_usd: Money,
    /// Whether a row of the line gave token counts: a cost export gives amounts only (its token
    /// fields are 0 and not compared).
    pub tokens_known: bool,
    /// Whether a row of the line gave an amount: a usage export gives tokens only (its amount is
    /// 0 and not compared).
    pub amount_known: bool,
}

/// Everything read from the `--invoices` files.
#[derive(Debug, Clone, Default)]
pub struct InvoiceRead {
    /// Summed per (day, provider, model), sorted by that key.
    pub lines: Vec<InvoiceLine>,
    /// In file order, then line order.
    pub rejections: Vec<Rejection>,
    /// One per file: read = used + rejected (out_of_range stays 0).
    pub files: Vec<FileStats>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShapeKind {
    Daily,
    Activity,
    Aggregated,
    OpenAiCosts,
    OpenAiUsage,
    AnthropicUsage,
    AnthropicCost,
}

const SHAPES: [Shape<ShapeKind>; 7] = [
    Shape {
        kind: ShapeKind::Daily,
        title: "daily invoice lines",
        required: &[
            "date",
            "provider",
            "model",
            "prompt_tokens",
            "completion_tokens",
            "amount_usd",
        ],
        optional: &["cached_tokens", "cache_write_tokens", "requests"],
    },
    Shape {
        kind: ShapeKind::Activity,
        title: "OpenRouter activity export",
        required: &[
            "created_at",
            "cost_total",
            "tokens_prompt",
            "tokens_completion",
            "model_permaslug",
        ],
        optional: &["tokens_cached", "generation_id"],
    },
    Shape {
        kind: ShapeKind::Aggregated,
        title: "OpenRouter aggregated activity export",
        required: &[
            "date",
            "slug",
            "usage",
            "requests",
            "prompt tokens",
            "completion tokens",
        ],
        optional: &["byok usage", "reasoning tokens"],
    },
    Shape {
        kind: ShapeKind::OpenAiCosts,
        title: "OpenAI costs export",
        required: &["start_time", "amount_value", "line_item"],
        optional: &["amount_currency", "start_time_iso", "project_id"],
    },
    Shape {
        kind: ShapeKind::OpenAiUsage,
        title: "OpenAI completions usage export",
        required: &["start_time", "model", "input_tokens", "output_tokens"],
        optional: &[
            "start_time_iso",
            "num_model_requests",
            "input_cached_tokens",
        ],
    },
    Shape {
        kind: ShapeKind::AnthropicCost,
        title: "Anthropic cost export",
        required: &["usage_date_utc", "model", "cost_usd"],
        optional: &["token_type", "list_price_usd"],
    },
    Shape {
        kind: ShapeKind::AnthropicUsage,
        title: "Anthropic usage export",
        required: &[
            "usage_date_utc",
            "model_version",
            "usage_input_tokens_no_cache",
            "usage_output_tokens",
        ],
        optional: &[
            "usage_input_tokens_cache_write_5m",
            "usage_input_tokens_cache_write_1h",
            "usage_input_tokens_cache_read",
            "workspace",
            "api_key",
        ],
    },
];

/// One parsed row, before summing.
struct Parsed {
    day: Day,
    provider: String,
    model: String,
    prompt: u128,
    completion: u128,
    cached: Option<u128>,
    cache_write: Option<u128>,
    requests: Option<u64>,
    amount: Money,
    generation_id: Option<String>,
    tokens_known: bool,
    amount_known: bool,
}

#[derive(Default)]
struct Acc {
    prompt: u128,
    completion: u128,
    cached: Option<u128>,
    cache_write: Option<u128>,
    requests: Option<u64>,
    amount: Money,
    tokens_known: bool,
    amount_known: bool,
}

/// Reads every invoice file: daily lines summed per (day, provider, model), the rejected rows and
/// per-file counts. `sheet` picks the XLSX sheet (default: the first); `tz` cuts activity-export
/// timestamps into days (default UTC).
pub fn read_invoices(
    paths: &[PathBuf],
    sheet: Option<&str>,
    tz: Option<chrono_tz::Tz>,
    slugs: &SlugMap,
) -> Result<InvoiceRead, InputError> {
    let files = sheet::expand(paths, "--invoices", "invoice")?;
    let mut reader = Reader::default();
    for path in &files {
        let mut stats = reader.start(path);
        let each = |source: &sheet::Source, cols: &Columns<ShapeKind>, row: &Row| {
            reader.row(&mut stats, source, cols, row, tz, slugs)
        };
        sheet::read_table(path, sheet, "invoice", &SHAPES, "invoice header", each)?;
        reader.out.files.push(stats);
    }
    Ok(reader.finish())
}

/// [`read_invoices`] on the bytes of one CSV file named `name` (no file is read): the same
/// header search, rows, rejections and counts. For the fuzz targets and tests.
#[doc(hidden)]
pub fn read_invoice_csv_bytes(
    name: &str,
    data: &[u8],
    tz: Option<chrono_tz::Tz>,
    slugs: &SlugMap,
) -> Result<InvoiceRead, InputError> {
    let path = Path::new(name);
    let mut reader = Reader::default();
    let mut stats = reader.start(path);
    let each = |source: &sheet::Source, cols: &Columns<ShapeKind>, row: &Row| {
        reader.row(&mut stats, source, cols, row, tz, slugs)
    };
    sheet::read_csv_bytes(path, data, &SHAPES, "invoice header", each)?;
    reader.out.files.push(stats);
    Ok(reader.finish())
}

/// The state carried across the files of one run: daily sums and the generations seen.
#[derive(Default)]
struct Reader {
    out: InvoiceRead,
    sums: BTreeMap<(Day, String, String), Acc>,
    generations: Generations,
    /// The files started so far, for the place a generation was first read.
    names: Vec<String>,
}

impl Reader {
    /// Starts a file: its counts, all zero.
    fn start(&mut self, path: &Path) -> FileStats {
        let file = path.display().to_string();
        self.names.push(file.clone());
        FileStats {
            file,
            ..Default::default()
        }
    }

    /// One non-blank row below the header of the file started last.
    fn row(
        &mut self,
        stats: &mut FileStats,
        source: &sheet::Source,
        cols: &Columns<ShapeKind>,
        row: &Row,
        tz: Option<chrono_tz::Tz>,
        slugs: &SlugMap,
    ) {
        let fi = self.names.len() - 1;
        stats.read += 1;
        let result = parse_row(row, source.is_csv(), cols, tz, slugs).and_then(|p| {
            let id = p.generation_id.as_deref().map(Generations::key);
            if let Some((f, line)) = id.and_then(|id| self.generations.get(id)) {
                return Err(RowError {
                    column: Some("generation_id"),
                    reason: format!(
                        "generation `{}` already read from {}:{line}; not counted twice",
                        p.generation_id.as_deref().unwrap_or_default(),
                        self.names[f]
                    ),
                });
            }
            // A row that bills nothing it knows of (an idle day's empty cost bucket) is read, and
            // makes no line.
            if p.tokens_known || p.amount_known {
                add(&mut self.sums, &p, cols.kind)?;
            }
            if let Some(id) = id {
                self.generations.insert(id, fi, row.line);
            }
            Ok(())
        });
        match result {
            Ok(()) => stats.used += 1,
            Err(e) => {
                stats.rejected += 1;
                self.out
                    .rejections
                    .push(cols.rejection(&stats.file, source, row, e));
            }
        }
    }

    fn finish(self) -> InvoiceRead {
        let mut out = self.out;
        out.lines = self
            .sums
            .into_iter()
            .map(|((day, provider, model), a)| InvoiceLine {
                day,
                provider,
                model,
                prompt_tokens: a.prompt,
                completion_tokens: a.completion,
                cached_tokens: a.cached,
                cache_write_tokens: a.cache_write,
                requests: a.requests,
                amount_usd: a.amount,
                tokens_known: a.tokens_known,
                amount_known: a.amount_known,
            })
            .collect();
        out
    }
}

/// The generation ids read so far, as 64-bit hashes (8 bytes an id, not the string, as the log
/// side keeps request ids), each with the file (index) and line it was first read on. Two
/// distinct ids share a hash with odds of about 1 in 2^64 / n per id; the rejection names both
/// ids' places, so such a clash would show.
#[derive(Default)]
struct Generations(rustc_hash::FxHashMap<u64, (u32, u64)>);

impl Generations {
    fn key(id: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        id.hash(&mut h);
        h.finish()
    }

    fn get(&self, key: u64) -> Option<(usize, u64)> {
        self.0.get(&key).map(|&(f, line)| (f as usize, line))
    }

    fn insert(&mut self, key: u64, file: usize, line: u64) {
        self.0.insert(key, (file as u32, line));
    }
}

/// Adds a parsed row to its day's line. An optional count is present on the line when any of
/// its rows has it.
fn add(
    sums: &mut BTreeMap<(Day, String, String), Acc>,
    p: &Parsed,
    kind: ShapeKind,
) -> Result<(), RowError> {
    let key = (p.day, p.provider.clone(), p.model.clone());
    let amount = sums
        .get(&key)
        .map_or(Money::ZERO, |a| a.amount)
        .checked_add(p.amount)
        .ok_or_else(|| RowError {
            column: Some(amount_column(kind)),
            reason: "the day's amount overflows".into(),
        })?;
    let acc = sums.entry(key).or_default();
    let sum = |a: Option<u128>, b: Option<u128>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
    acc.amount = amount;
    acc.tokens_known |= p.tokens_known;
    acc.amount_known |= p.amount_known;
    acc.prompt += p.prompt;
    acc.completion += p.completion;
    acc.cached = sum(acc.cached, p.cached);
    acc.cache_write = sum(acc.cache_write, p.cache_write);
    acc.requests = match (acc.requests, p.requests) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    };
    Ok(())
}

fn amount_column(kind: ShapeKind) -> &'static str {
    match kind {
        ShapeKind::Daily => "amount_usd",
        ShapeKind::Activity => "cost_total",
        ShapeKind::Aggregated => "usage",
        ShapeKind::OpenAiCosts => "amount_value",
        ShapeKind::OpenAiUsage => "output_tokens",
        ShapeKind::AnthropicUsage => "usage_output_tokens",
        ShapeKind::AnthropicCost => "cost_usd",
    }
}

/// The UTC day of an OpenAI export's bucket: `start_time_iso` when the export has it (newer
/// ones), else `start_time` in Unix seconds.
fn openai_day(cols: &Columns<ShapeKind>, row: &Row) -> Result<Day, RowError> {
    match cols.optional(row, "start_time_iso") {
        Some(c) => day(c).map_err(RowError::field("start_time_iso")),
        None => epoch_day(cols.required(row, "start_time")?).map_err(RowError::field("start_time")),
    }
}

/// A day from a Unix time in seconds (OpenAI's `start_time`, a UTC bucket start).
fn epoch_day(c: &sheet::Cell) -> Result<Day, String> {
    let secs: i64 = match c {
        sheet::Cell::Int(i) => *i,
        sheet::Cell::Float(f) if f.fract() == 0.0 => *f as i64,
        other => other
            .shown()
            .trim()
            .parse()
            .map_err(|_| format!("`{}` is not a Unix time in seconds", other.shown()))?,
    };
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| Day::from_date(t.date_naive()))
        .ok_or_else(|| format!("`{secs}` is not a Unix time in seconds"))
}

/// An amount that may carry more decimals than an exact decimal holds (OpenAI writes up to 30):
/// exact when it fits, else rounded at the 28th significant digit, far below a cent.
fn long_amount(c: &sheet::Cell) -> Result<Money, String> {
    match amount(c) {
        Ok(m) => Ok(m),
        Err(e) => {
            let s = c.shown();
            let s = s.trim();
            let digits_only = s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            match s.parse::<Money>() {
                Ok(m) if digits_only => Ok(m),
                _ => Err(e),
            }
        }
    }
}

/// OpenAI's model name (`gpt-5-nano`, `gpt-5-nano-2025-08-07`) as a slug: `openai/` and the
/// name, with a dated snapshot's date kept (the audit flags pinned snapshots).
fn openai_slug(model: &str) -> String {
    format!("openai/{}", model.trim())
}

/// Anthropic's model version (`claude-haiku-4-5-20251001`) as the gateways' slug
/// (`anthropic/claude-haiku-4.5`): the date suffix dropped, the version's dash a dot.
fn anthropic_slug(version: &str) -> String {
    let v = version.trim();
    let v = match v.rsplit_once('-') {
        Some((head, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => v,
    };
    // `claude-haiku-4-5` → `claude-haiku-4.5`: a digit, a dash, a digit at the end.
    let b = v.as_bytes();
    let n = b.len();
    let dotted =
        if n >= 3 && b[n - 1].is_ascii_digit() && b[n - 2] == b'-' && b[n - 3].is_ascii_digit() {
            format!("{}.{}", &v[..n - 2], &v[n - 1..])
        } else {
            v.to_string()
        };
    format!("anthropic/{dotted}")
}

/// Anthropic's display name (`Claude Haiku 4.5`) as the gateways' slug
/// (`anthropic/claude-haiku-4.5`): lower case, spaces as dashes. A name already written as a
/// version (`claude-haiku-4-5-20251001`) goes through [`anthropic_slug`].
fn anthropic_display_slug(name: &str) -> String {
    let n = name.trim();
    if n.contains(' ') {
        let words: Vec<String> = n.split_whitespace().map(str::to_ascii_lowercase).collect();
        format!("anthropic/{}", words.join("-"))
    } else {
        anthropic_slug(n)
    }
}

fn parse_row(
    row: &Row,
    is_csv: bool,
    cols: &Columns<ShapeKind>,
    tz: Option<chrono_tz::Tz>,
    slugs: &SlugMap,
) -> Result<Parsed, RowError> {
    cols.check_row(row, is_csv)?;
    let field = RowError::field;
    let required = |name: &'static str| cols.required(row, name);
    let optional = |name: &'static str| cols.optional(row, name);
    let required_tokens = |name: &'static str| tokens(required(name)?).map_err(field(name));
    let optional_tokens = |name: &'static str| {
        optional(name)
            .map(|c| tokens(c).map_err(field(name)))
            .transpose()
    };
    match cols.kind {
        ShapeKind::Daily => {
            let day = day(required("date")?).map_err(field("date"))?;
            let provider = text(required("provider")?)
                .map_err(field("provider"))?
                .to_ascii_lowercase();
            let model = text(required("model")?).map_err(field("model"))?;
            let prompt = required_tokens("prompt_tokens")?;
            let completion = required_tokens("completion_tokens")?;
            let cached = optional_tokens("cached_tokens")?;
            let cache_write = optional_tokens("cache_write_tokens")?;
            let requests = optional_tokens("requests")?.map(|n| n as u64);
            let amount = amount(required("amount_usd")?).map_err(field("amount_usd"))?;
            if cached.unwrap_or(0) + cache_write.unwrap_or(0) > prompt {
                return Err(RowError {
                    column: Some(if cached.is_some() {
                        "cached_tokens"
                    } else {
                        "cache_write_tokens"
                    }),
                    reason: format!(
                        "cached_tokens + cache_write_tokens ({} + {}) exceed prompt_tokens ({prompt})",
                        cached.unwrap_or(0),
                        cache_write.unwrap_or(0)
                    ),
                });
            }
            Ok(Parsed {
                day,
                provider,
                model,
                prompt,
                completion,
                cached,
                cache_write,
                requests,
                amount,
                generation_id: None,
                tokens_known: true,
                amount_known: true,
            })
        }
        ShapeKind::Activity => {
            let at = instant(required("created_at")?).map_err(field("created_at"))?;
            let date = match tz {
                None => at.date(),
                Some(tz) => tz.from_utc_datetime(&at).date_naive(),
            };
            let permaslug = text(required("model_permaslug")?).map_err(field("model_permaslug"))?;
            let model = slugs
                .permaslug(&permaslug)
                .ok_or_else(|| RowError {
                    column: Some("model_permaslug"),
                    reason: format!(
                        "permaslug `{permaslug}` maps to no public slug (not in rates/slugs.csv, and not an author/model slug)"
                    ),
                })?
                .into_owned();
            let prompt = required_tokens("tokens_prompt")?;
            let completion = required_tokens("tokens_completion")?;
            let cached = optional_tokens("tokens_cached")?.unwrap_or(0);
            if cached > prompt {
                return Err(RowError {
                    column: Some("tokens_cached"),
                    reason: format!("tokens_cached ({cached}) exceed tokens_prompt ({prompt})"),
                });
            }
            let amount = amount(required("cost_total")?).map_err(field("cost_total"))?;
            let generation_id = optional("generation_id").map(|c| c.shown().into_owned());
            Ok(Parsed {
                day: Day::from_date(date),
                provider: "openrouter".into(),
                model,
                prompt,
                completion,
                cached: Some(cached),
                cache_write: None,
                requests: Some(1),
                amount,
                generation_id,
                tokens_known: true,
                amount_known: true,
            })
        }
        ShapeKind::Aggregated => {
            let day = day(required("date")?).map_err(field("date"))?;
            let slug = text(required("slug")?).map_err(field("slug"))?;
            let model = slugs
                .permaslug(&slug)
                .ok_or_else(|| RowError {
                    column: Some("slug"),
                    reason: format!(
                        "slug `{slug}` maps to no public slug (not in rates/slugs.csv, and not an author/model slug)"
                    ),
                })?
                .into_owned();
            // `BYOK Usage` is read only to check it is a number: it is paid upstream.
            if let Some(c) = optional("byok usage") {
                amount(c).map_err(field("byok usage"))?;
            }
            Ok(Parsed {
                day,
                provider: "openrouter".into(),
                model,
                prompt: required_tokens("prompt tokens")?,
                completion: required_tokens("completion tokens")?,
                cached: None,
                cache_write: None,
                requests: Some(required_tokens("requests")? as u64),
                amount: amount(required("usage")?).map_err(field("usage"))?,
                generation_id: None,
                tokens_known: true,
                amount_known: true,
            })
        }
        ShapeKind::OpenAiCosts => {
            let day = openai_day(cols, row)?;
            let item = text(required("line_item")?).map_err(field("line_item"))?;
            let model = item.split(',').next().unwrap_or_default().trim();
            if model.is_empty() {
                return Err(RowError {
                    column: Some("line_item"),
                    reason: format!("line item `{item}` names no model"),
                });
            }
            if let Some(c) = optional("amount_currency") {
                let cur = text(c).map_err(field("amount_currency"))?;
                if !cur.eq_ignore_ascii_case("usd") {
                    return Err(RowError {
                        column: Some("amount_currency"),
                        reason: format!("amount in `{cur}`, not USD"),
                    });
                }
            }
            // An idle day's bucket has no amount: nothing billed, no line.
            let amount = cols
                .optional(row, "amount_value")
                .map(|c| long_amount(c).map_err(field("amount_value")))
                .transpose()?;
            Ok(Parsed {
                day,
                provider: "openai".into(),
                model: openai_slug(model),
                prompt: 0,
                completion: 0,
                cached: None,
                cache_write: None,
                requests: None,
                amount: amount.unwrap_or_default(),
                generation_id: None,
                tokens_known: false,
                amount_known: amount.is_some(),
            })
        }
        ShapeKind::OpenAiUsage => {
            let day = openai_day(cols, row)?;
            let model = optional("model")
                .map(|c| text(c).map_err(field("model")))
                .transpose()?
                .ok_or_else(|| RowError {
                    column: Some("model"),
                    reason: "no model: export the usage grouped by model".into(),
                })?;
            let prompt = required_tokens("input_tokens")?;
            let cached = optional_tokens("input_cached_tokens")?;
            if cached.unwrap_or(0) > prompt {
                return Err(RowError {
                    column: Some("input_cached_tokens"),
                    reason: format!(
                        "input_cached_tokens ({}) exceed input_tokens ({prompt})",
                        cached.unwrap_or(0)
                    ),
                });
            }
            Ok(Parsed {
                day,
                provider: "openai".into(),
                model: openai_slug(&model),
                prompt,
                completion: required_tokens("output_tokens")?,
                cached,
                cache_write: None,
                requests: optional_tokens("num_model_requests")?.map(|n| n as u64),
                amount: Money::ZERO,
                generation_id: None,
                tokens_known: true,
                amount_known: false,
            })
        }
        ShapeKind::AnthropicCost => {
            let day = day(required("usage_date_utc")?).map_err(field("usage_date_utc"))?;
            let name = text(required("model")?).map_err(field("model"))?;
            Ok(Parsed {
                day,
                provider: "anthropic".into(),
                model: anthropic_display_slug(&name),
                prompt: 0,
                completion: 0,
                cached: None,
                cache_write: None,
                requests: None,
                amount: long_amount(required("cost_usd")?).map_err(field("cost_usd"))?,
                generation_id: None,
                tokens_known: false,
                amount_known: true,
            })
        }
        ShapeKind::AnthropicUsage => {
            let day = day(required("usage_date_utc")?).map_err(field("usage_date_utc"))?;
            let version = text(required("model_version")?).map_err(field("model_version"))?;
            let no_cache = required_tokens("usage_input_tokens_no_cache")?;
            let write_5m = optional_tokens("usage_input_tokens_cache_write_5m")?.unwrap_or(0);
            let write_1h = optional_tokens("usage_input_tokens_cache_write_1h")?.unwrap_or(0);
            let read = optional_tokens("usage_input_tokens_cache_read")?.unwrap_or(0);
            Ok(Parsed {
                day,
                provider: "anthropic".into(),
                model: anthropic_slug(&version),
                prompt: no_cache + write_5m + write_1h + read,
                completion: required_tokens("usage_output_tokens")?,
                cached: Some(read),
                cache_write: Some(write_5m + write_1h),
                requests: None,
                amount: Money::ZERO,
                generation_id: None,
                tokens_known: true,
                amount_known: false,
            })
        }
    }
}
