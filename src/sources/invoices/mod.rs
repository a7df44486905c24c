//! Invoices (`--invoices PATH`, docs/formats.md §3): what the gateways say they billed, as daily lines
//! per day × provider × model, day totals or monthly statements.
//!
//! # Files
//!
//! `.csv` (UTF-8, optional BOM, CRLF or LF) or `.xlsx` (the first sheet, or the sheet `--sheet`
//! names; the option is ignored for CSV files), or OpenRouter generation records, JSON lines
//! recognised by their content ([`generations`]). A directory means every `.csv`, `.xlsx`,
//! `.jsonl` and `.json` file (either `.gz`) in it, in name order, not recursive. Any other
//! file, an unreadable file, a missing sheet or a file without a known header is an
//! [`InputError::File`] (exit status 2). The reading itself
//! (files streamed row by row, header search, cells, line numbers, size limits) is
//! [`super::sheet`]'s, shared with the other spreadsheet inputs.
//!
//! The header is the first row, within the first 20 (lines of a CSV, rows of a sheet), that holds
//! every required column of one of the shapes below, so title rows above a spreadsheet table
//! are fine. Column names match case-insensitively, with surrounding white space ignored; columns
//! the shape does not name are ignored. A known column that appears twice is an error.
//! Rows above the header are not data; blank rows (every cell empty) below it are not rows. Every
//! other row is used, skipped (an idle export row, below) or rejected with file, line (CSV: the physical line a record starts on, the
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
//! - `provider` is lower-cased; `model` (trimmed) is resolved to its slug
//!   ([`crate::pricing::aliases`]), else kept as written.
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
//! - provider `openrouter`; model = [`ModelNames::permaslug`] of `model_permaslug` (its slug,
//!   else the prefix rule documented in [`crate::pricing::aliases`]). A row whose permaslug
//!   cannot be mapped is rejected.
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
//! - A row with a `generation_id` is also kept as one billed call ([`calls`]), for `reconcile`'s
//!   per-call matching (docs/formats.md §11). A `generation_id` listed twice (in this or another
//!   file) is counted twice: the gateway billed it twice, the daily line sums both rows, and
//!   `reconcile` claims the repeat as `billed_twice`. Two overlapping exports of one account are
//!   therefore two bills; give each generation once.
//!
//! # OpenRouter generation records
//!
//! One billed generation a line, read as an activity-export row ([`generations`]): `id` as the
//! `generation_id`, the native token counts, `total_cost` as the amount, the day in `--tz`. A
//! BYOK record's `total_cost` is OpenRouter's fee and its `upstream_inference_cost` is not added,
//! as `byok_usage_inference` is not; an id listed twice is billed twice.
//!
//! # OpenRouter aggregated activity export
//!
//! One row per day × model: `Date,Slug,Usage,BYOK Usage,Requests,Prompt Tokens,Completion
//! Tokens,Reasoning Tokens` (required: all but `BYOK Usage` and `Reasoning Tokens`). `Date` is a
//! UTC day (`2026-05-12 00:00:00`), `Slug` maps as `model_permaslug` does, `Usage` is the amount;
//! `BYOK Usage` is paid upstream and not added (OpenRouter does not bill it), and reasoning tokens
//! are part of the completion tokens.
//!
//! # Bills at other grains
//!
//! A line may bill a whole day of a provider (model [`ALL_MODELS`], [`Grain::Day`]): a daily
//! invoice line whose `model` is empty (or `*`), whose token cells may then be empty too (money
//! only); an OpenAI costs export row whose `line_item` is empty (the export downloaded without
//! grouping by line item). A **monthly statement** (`month,provider,amount_usd`, optional
//! `invoice_id`; `month` is `2026-04` or the month's first day) bills a provider's month
//! ([`Grain::Month`], `day` = the month's first day, money only). How such lines are compared
//! with the logs, and what happens when grains overlap, is `reconcile`'s (docs/commands/reconcile.md).
//!
//! # Model names
//!
//! Every shape's model name goes through the one resolver of [`crate::pricing::aliases`], once
//! per distinct name (cached by the reader): a line counts under the slug the rate table prices,
//! so an OpenAI export's `gpt-5-mini-2025-08-07` and the logs' `openai/gpt-5-mini` are one model. A
//! name that resolves to nothing keeps a slug form (an OpenRouter permaslug: the prefix rule;
//! OpenAI's: `openai/` and the name; Anthropic's: `anthropic/`, the date cut, the version
//! dotted; a daily line's: as written). [`InvoiceLine::written`] keeps the names a line was
//! written in where they differ, and [`InvoiceRead::names`] every such name with its rows.
//!
//! # Idle export rows
//!
//! OpenAI's exports write a row for every bucket, also for a day without usage: every cell empty
//! but the bucket's times (`start_time`, `end_time`, `start_time_iso`, `end_time_iso`). Such a
//! row is **skipped** and counted (`FileStats::skipped`), never rejected; its bucket time must
//! still be readable. A row with some values and no model (a usage bucket not grouped by model)
//! is still rejected.
//!
//! Lines of every file are summed per (day, provider, model, grain) and sorted by that key. An
//! optional count (`cached_tokens`, `cache_write_tokens`, `requests`) of a summed line is present
//! when any of its rows had it (rows without it count 0); the invoice ids of a summed statement
//! are joined (`INV-1, INV-2`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::sheet::{self, Columns, Row, RowError};
use super::{file_error, FileStats, InputError, Rejection};
use crate::domain::{Day, Money};
use crate::pricing::aliases::{How, ModelNames, NameUse};

pub mod calls;
mod generations;
mod shapes;

pub use calls::{BilledCall, BilledCalls};
use shapes::{amount_column, parse_row, Parsed, ShapeKind, SHAPES};

/// The model of a line that bills every model: a day's total or a month's statement.
pub const ALL_MODELS: &str = "*";

/// What one invoice line covers. Coarser grains sort after finer ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grain {
    /// One day × provider × model: the daily lines and the exports grouped by model.
    DayModel,
    /// One day × provider, every model (model `*`).
    Day,
    /// One calendar month × provider, every model (model `*`, day = the month's first day).
    Month,
}

/// One invoiced day × provider × model, or a day's or a month's total (see [`Grain`]).
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceLine {
    pub day: Day,
    pub provider: String,
    pub model: String,
    pub grain: Grain,
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
    /// The statement's invoice number(s), where the bill names one.
    pub invoice_id: Option<String>,
    /// The names the bill wrote for `model` where they differ from it (sorted): spellings
    /// resolved to this slug, or a name kept in its slug form ([`crate::pricing::aliases`]).
    pub written: Vec<String>,
}

/// Everything read from the `--invoices` files.
#[derive(Debug, Default)]
pub struct InvoiceRead {
    /// Summed per (day, provider, model, grain), sorted by that key.
    pub lines: Vec<InvoiceLine>,
    /// In file order, then line order.
    pub rejections: Vec<Rejection>,
    /// One per file: read = used + skipped + rejected (out_of_range stays 0).
    pub files: Vec<FileStats>,
    /// Every provider × model name the bills wrote other than as its slug, with its rows:
    /// resolved by an alias or a rule, or to nothing. Sorted by provider, name.
    pub names: Vec<NameUse>,
    /// The rows that name their call (an activity export's `generation_id`, a generation
    /// record's `id`), one by one.
    pub calls: BilledCalls,
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
    /// Distinct, in the order read.
    invoice_ids: Vec<String>,
    /// Distinct names written other than the line's model.
    written: Vec<String>,
}

/// The key lines are summed under.
type Key = (Day, String, String, Grain);

/// Reads every invoice file: daily lines summed per (day, provider, model), the rejected rows and
/// per-file counts. `sheet` picks the XLSX sheet (default: the first); `tz` cuts activity-export
/// timestamps into days (default UTC).
pub fn read_invoices(
    paths: &[PathBuf],
    sheet: Option<&str>,
    tz: Option<chrono_tz::Tz>,
    names: &ModelNames,
) -> Result<InvoiceRead, InputError> {
    let files = invoice_files(paths, "--invoices")?;
    let mut reader = Reader::new(names);
    for path in &files {
        let mut stats = reader.start(path);
        if generations::is_records(path)? {
            generations::read(path, |line, raw| reader.record(&mut stats, line, raw, tz))?;
        } else if sheet::extension(path).is_none() {
            return Err(file_error(
                path,
                "unknown invoice format: expected .csv or .xlsx, or OpenRouter generation \
                 records (JSON lines with `id`, `total_cost` and `created_at`)",
            ));
        } else {
            let each = |source: &sheet::Source, cols: &Columns<ShapeKind>, row: &Row| {
                reader.row(&mut stats, source, cols, row, tz)
            };
            sheet::read_table(path, sheet, "invoice", &SHAPES, "invoice header", each)?;
        }
        reader.out.files.push(stats);
    }
    Ok(reader.finish())
}

/// The invoice files `paths` name: as given, a directory giving its `.csv`, `.xlsx` and JSON
/// lines (`.jsonl`, `.json`, either `.gz`) files in name order. `flag` names the option.
pub fn invoice_files(paths: &[PathBuf], flag: &str) -> Result<Vec<PathBuf>, InputError> {
    sheet::expand_with(
        paths,
        flag,
        "invoice",
        (".csv, .xlsx, .jsonl or .json", generations::json_name),
    )
}

/// [`read_invoices`] on the bytes of one CSV file named `name` (no file is read): the same
/// header search, rows, rejections and counts. For the fuzz targets and tests.
#[doc(hidden)]
pub fn read_invoice_csv_bytes(
    name: &str,
    data: &[u8],
    tz: Option<chrono_tz::Tz>,
    names: &ModelNames,
) -> Result<InvoiceRead, InputError> {
    let path = Path::new(name);
    let mut reader = Reader::new(names);
    let mut stats = reader.start(path);
    let each = |source: &sheet::Source, cols: &Columns<ShapeKind>, row: &Row| {
        reader.row(&mut stats, source, cols, row, tz)
    };
    sheet::read_csv_bytes(path, data, &SHAPES, "invoice header", each)?;
    reader.out.files.push(stats);
    Ok(reader.finish())
}

/// Which rule set a bill's model name goes through ([`ModelNames`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameKind {
    /// A daily invoice line's `model`: resolved, else kept as written.
    Daily,
    /// An OpenRouter export's permaslug: resolved, else docs/formats.md §3's prefix rule.
    Permaslug,
    /// An OpenAI export's model: resolved, else `openai/` and the name.
    OpenAi,
    /// An Anthropic export's model version or display name: resolved, else `anthropic/` and
    /// the name without its date, the version dotted.
    Anthropic,
}

/// What a bill's name counts under and how it resolved, by the name as written.
type Named = HashMap<String, Option<(String, How)>>;

/// The bills' model names, each distinct (kind, provider, name) resolved once.
pub(super) struct Namer<'n> {
    names: &'n ModelNames,
    cache: Vec<(NameKind, String, Named)>,
}

impl Namer<'_> {
    /// The name a line of `written` counts under and how it resolved; `None` when a permaslug
    /// maps to nothing (the row is rejected) or an export's name has no slug form (kept as
    /// written).
    pub(super) fn name(
        &mut self,
        kind: NameKind,
        provider: &str,
        written: &str,
    ) -> Option<(String, How)> {
        let i = match self
            .cache
            .iter()
            .position(|(k, p, _)| *k == kind && p == provider)
        {
            Some(i) => i,
            None => {
                self.cache
                    .push((kind, provider.to_string(), HashMap::new()));
                self.cache.len() - 1
            }
        };
        if let Some(hit) = self.cache[i].2.get(written) {
            return hit.clone();
        }
        let n = self.names;
        let got = match kind {
            NameKind::Daily => {
                let r = n.resolve(provider, written);
                Some((r.name_or(written).to_string(), r.how))
            }
            NameKind::Permaslug => n.permaslug(written).map(|(m, r)| (m, r.how)),
            NameKind::OpenAi => n
                .export_form("openai", written, false)
                .map(|(m, r)| (m, r.how)),
            NameKind::Anthropic => n
                .export_form("anthropic", written, true)
                .map(|(m, r)| (m, r.how)),
        };
        self.cache[i].2.insert(written.to_string(), got.clone());
        got
    }
}

/// The state carried across the files of one run: daily sums and the billed calls.
struct Reader<'n> {
    out: InvoiceRead,
    sums: BTreeMap<Key, Acc>,
    /// The files started so far, for the place a billed call was read.
    names: Vec<String>,
    namer: Namer<'n>,
    /// (provider, name written) → (model, how, rows), for names not written as their slug.
    used: BTreeMap<(String, String), (String, How, u64)>,
}

impl<'n> Reader<'n> {
    fn new(names: &'n ModelNames) -> Self {
        Reader {
            out: InvoiceRead::default(),
            sums: BTreeMap::new(),
            names: Vec::new(),
            namer: Namer {
                names,
                cache: Vec::new(),
            },
            used: BTreeMap::new(),
        }
    }

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
    ) {
        stats.read += 1;
        let result = parse_row(row, source.is_csv(), cols, tz, &mut self.namer).and_then(|p| {
            p.map(|p| self.take(&p, amount_column(cols.kind), row.line))
                .transpose()
        });
        match result {
            Ok(Some(())) => stats.used += 1,
            Ok(None) => stats.skipped += 1,
            Err(e) => {
                stats.rejected += 1;
                self.out
                    .rejections
                    .push(cols.rejection(&stats.file, source, row, e));
            }
        }
    }

    /// One generation record (a line of the file started last): used or rejected.
    fn record(&mut self, stats: &mut FileStats, line: u64, raw: &[u8], tz: Option<chrono_tz::Tz>) {
        stats.read += 1;
        match generations::parse(raw, tz, &mut self.namer)
            .and_then(|p| self.take(&p, generations::AMOUNT, line))
        {
            Ok(()) => stats.used += 1,
            Err(e) => {
                stats.rejected += 1;
                self.out
                    .rejections
                    .push(generations::rejection(&stats.file, line, raw, e));
            }
        }
    }

    /// A parsed row of the file started last, read on `line`: summed into its line, and kept as
    /// a billed call when it names one. `amount` names the amount's column for an overflow.
    fn take(&mut self, p: &Parsed, amount: &'static str, line: u64) -> Result<(), RowError> {
        let fi = self.names.len() - 1;
        // A row that bills nothing it knows of (an idle day's empty cost bucket) is read, and
        // makes no line.
        if p.tokens_known || p.amount_known {
            add(&mut self.sums, p, amount)?;
        }
        if p.grain == Grain::DayModel && p.how != How::Slug {
            let written = p.written.clone().unwrap_or_else(|| p.model.clone());
            let e = self
                .used
                .entry((p.provider.clone(), written))
                .or_insert_with(|| (p.model.clone(), p.how, 0));
            e.2 += 1;
        }
        if p.generation_id.is_none() || p.at_ms.is_none() {
            *self
                .out
                .calls
                .rows_without_ids
                .entry(p.provider.clone())
                .or_default() += 1;
        }
        if let (Some(id), Some(ts_ms)) = (&p.generation_id, p.at_ms) {
            if self.out.calls.files.len() < self.names.len() {
                self.out.calls.files = self.names.clone();
            }
            self.out.calls.push(&BilledCall {
                provider: p.provider.as_str(),
                id: id.as_str(),
                model: p.model.as_str(),
                ts_ms,
                day: p.day,
                prompt: p.prompt.min(u64::MAX as u128) as u64,
                completion: p.completion.min(u64::MAX as u128) as u64,
                amount: p.amount,
                file: fi,
                line,
            });
        }
        Ok(())
    }

    fn finish(self) -> InvoiceRead {
        let mut out = self.out;
        out.names = self
            .used
            .into_iter()
            .map(|((provider, written), (model, how, count))| NameUse {
                provider,
                written,
                model,
                how,
                count,
            })
            .collect();
        out.lines = self
            .sums
            .into_iter()
            .map(|((day, provider, model, grain), a)| InvoiceLine {
                day,
                provider,
                model,
                grain,
                prompt_tokens: a.prompt,
                completion_tokens: a.completion,
                cached_tokens: a.cached,
                cache_write_tokens: a.cache_write,
                requests: a.requests,
                amount_usd: a.amount,
                tokens_known: a.tokens_known,
                amount_known: a.amount_known,
                invoice_id: (!a.invoice_ids.is_empty()).then(|| a.invoice_ids.join(", ")),
                written: {
                    let mut w = a.written;
                    w.sort();
                    w
                },
            })
            .collect();
        out
    }
}

/// Adds a parsed row to its day's line. An optional count is present on the line when any of
/// its rows has it.
fn add(sums: &mut BTreeMap<Key, Acc>, p: &Parsed, amount: &'static str) -> Result<(), RowError> {
    let key = (p.day, p.provider.clone(), p.model.clone(), p.grain);
    let amount = sums
        .get(&key)
        .map_or(Money::ZERO, |a| a.amount)
        .checked_add(p.amount)
        .ok_or_else(|| RowError {
            column: Some(amount),
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
    if let Some(id) = &p.invoice_id {
        if !acc.invoice_ids.contains(id) {
            acc.invoice_ids.push(id.clone());
        }
    }
    if let Some(w) = &p.written {
        if !acc.written.contains(w) {
            acc.written.push(w.clone());
        }
    }
    Ok(())
}
