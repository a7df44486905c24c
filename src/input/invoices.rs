//! Invoices (`--invoices PATH`, CONTRACT §3): what the gateways say they billed, as daily lines
//! per day × provider × model.
//!
//! # Files
//!
//! `.csv` (UTF-8, optional BOM, CRLF or LF) or `.xlsx` (the first sheet, or the sheet `--sheet`
//! names; the option is ignored for CSV files). A directory means every `.csv` and `.xlsx` file
//! in it, in name order, not recursive. Any other file, an unreadable file, a missing sheet or a
//! file without a known header is an [`InputError::File`] (exit status 2).
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
//! Lines of every file are summed per (day, provider, model) and sorted by that key. An optional
//! count (`cached_tokens`, `cache_write_tokens`, `requests`) of a summed line is present when any
//! of its rows had it (rows without it count 0).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};

use super::{file_error, mask_secrets, FileStats, InputError, Rejection};
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

/// The header must start within this many rows (lines) of the top.
const HEADER_SEARCH_ROWS: u64 = 20;
/// Token counts above this are not exact in a spreadsheet number and not real daily traffic.
const MAX_TOKENS: u128 = 1 << 53;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShapeKind {
    Daily,
    Activity,
}

struct Shape {
    kind: ShapeKind,
    title: &'static str,
    required: &'static [&'static str],
    optional: &'static [&'static str],
}

const SHAPES: [Shape; 2] = [
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
];

/// A cell as read, CSV fields being text.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    /// Trimmed, never empty.
    Text(String),
    Int(i64),
    Float(f64),
    /// A date or date-time cell; `None` when it names no real date (Excel's 1900-02-29).
    DateTime(Option<NaiveDateTime>),
    Bool(bool),
    /// A spreadsheet error (`#N/A`) or a value of a kind no column takes (a duration).
    Other(String),
}

impl Cell {
    fn text(s: &str) -> Cell {
        let t = s.trim();
        if t.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(t.to_string())
        }
    }

    fn shown(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => "".into(),
            Cell::Text(s) | Cell::Other(s) => s.as_str().into(),
            Cell::Int(i) => i.to_string().into(),
            Cell::Float(f) => f.to_string().into(),
            Cell::DateTime(Some(dt)) if dt.time() == chrono::NaiveTime::MIN => {
                dt.format("%Y-%m-%d").to_string().into()
            }
            Cell::DateTime(Some(dt)) => dt.format("%Y-%m-%d %H:%M:%S%.3f").to_string().into(),
            Cell::DateTime(None) => "(invalid date)".into(),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        }
    }
}

/// One physical row of a file.
struct Row {
    /// CSV: the line the record starts on; XLSX: the 1-based sheet row.
    line: u64,
    cells: Vec<Cell>,
    /// A problem with the row as a whole (CSV: invalid UTF-8).
    problem: Option<String>,
}

impl Row {
    fn is_blank(&self) -> bool {
        self.problem.is_none() && self.cells.iter().all(|c| *c == Cell::Empty)
    }

    fn raw(&self) -> String {
        let joined = self
            .cells
            .iter()
            .map(|c| c.shown())
            .collect::<Vec<_>>()
            .join(",");
        let masked = mask_secrets(&joined);
        if masked.chars().count() > 200 {
            masked.chars().take(200).collect::<String>() + "…"
        } else {
            masked
        }
    }
}

/// Where the rows came from, for cell references.
enum Source {
    Csv,
    Xlsx { sheet: String, first_col: u32 },
}

impl Source {
    fn cell_ref(&self, line: u64, col: usize) -> Option<String> {
        match self {
            Source::Csv => None,
            Source::Xlsx { sheet, first_col } => {
                let quoted = if sheet.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    sheet.clone()
                } else {
                    format!("'{}'", sheet.replace('\'', "''"))
                };
                Some(format!(
                    "{quoted}!{}{line}",
                    column_letters(*first_col + col as u32)
                ))
            }
        }
    }
}

/// 0 → `A`, 25 → `Z`, 26 → `AA`.
fn column_letters(mut col: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII letters")
}

/// A rejected row before it gets its file and line.
struct RowError {
    column: Option<&'static str>,
    reason: String,
}

/// The header's column positions for one shape.
struct Columns {
    kind: ShapeKind,
    index: HashMap<&'static str, usize>,
    /// Header cells up to the last named one: a CSV row must have this many fields.
    width: usize,
}

impl Columns {
    fn pos(&self, name: &'static str) -> Option<usize> {
        self.index.get(name).copied()
    }

    fn cell<'r>(&self, row: &'r Row, name: &'static str) -> &'r Cell {
        self.pos(name)
            .and_then(|i| row.cells.get(i))
            .unwrap_or(&Cell::Empty)
    }
}

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
}

#[derive(Default)]
struct Acc {
    prompt: u128,
    completion: u128,
    cached: Option<u128>,
    cache_write: Option<u128>,
    requests: Option<u64>,
    amount: Money,
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
    let files = expand(paths)?;
    let mut out = InvoiceRead::default();
    let mut sums: BTreeMap<(Day, String, String), Acc> = BTreeMap::new();
    let mut generations: HashMap<String, (usize, u64)> = HashMap::new();
    for (fi, path) in files.iter().enumerate() {
        let name = path.display().to_string();
        let (rows, source) = load(path, sheet)?;
        let (h, cols) = find_header(&rows, &source).map_err(|m| file_error(path, m))?;
        let mut stats = FileStats {
            file: name.clone(),
            ..Default::default()
        };
        for row in rows[h + 1..].iter().filter(|r| !r.is_blank()) {
            stats.read += 1;
            let is_csv = matches!(source, Source::Csv);
            let result = parse_row(row, is_csv, &cols, tz, slugs).and_then(|p| {
                if let Some(&(f, line)) =
                    p.generation_id.as_ref().and_then(|id| generations.get(id))
                {
                    return Err(RowError {
                        column: Some("generation_id"),
                        reason: format!(
                            "generation `{}` already read from {}:{line}; not counted twice",
                            p.generation_id.as_deref().unwrap_or_default(),
                            files[f].display()
                        ),
                    });
                }
                add(&mut sums, &p, cols.kind)?;
                if let Some(id) = p.generation_id {
                    generations.insert(id, (fi, row.line));
                }
                Ok(())
            });
            match result {
                Ok(()) => stats.used += 1,
                Err(e) => {
                    stats.rejected += 1;
                    let reason = match e.column.and_then(|c| cols.pos(c)) {
                        Some(col) => match source.cell_ref(row.line, col) {
                            Some(r) => format!("{r}: {}", e.reason),
                            None => e.reason,
                        },
                        None => e.reason,
                    };
                    out.rejections.push(Rejection {
                        file: name.clone(),
                        line: row.line,
                        column: e.column,
                        reason,
                        raw: row.raw(),
                    });
                }
            }
        }
        out.files.push(stats);
    }
    out.lines = sums
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
        })
        .collect();
    Ok(out)
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
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Ext {
    Csv,
    Xlsx,
}

fn extension(path: &Path) -> Option<Ext> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.ends_with(".csv") {
        Some(Ext::Csv)
    } else if name.ends_with(".xlsx") {
        Some(Ext::Xlsx)
    } else {
        None
    }
}

/// Files as given; a directory becomes its `.csv` and `.xlsx` files in name order.
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| file_error(p, e))?;
        if meta.is_dir() {
            let entries: Vec<PathBuf> = super::dir_files(p)?
                .into_iter()
                .filter(|e| extension(e).is_some())
                .collect();
            if entries.is_empty() {
                return Err(file_error(
                    p,
                    "directory holds no .csv or .xlsx invoice files",
                ));
            }
            files.extend(entries);
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        return Err(InputError::Usage(
            "no invoice files given (--invoices)".into(),
        ));
    }
    Ok(files)
}

fn load(path: &Path, sheet: Option<&str>) -> Result<(Vec<Row>, Source), InputError> {
    match extension(path) {
        Some(Ext::Csv) => {
            let data = std::fs::read(path).map_err(|e| file_error(path, e))?;
            Ok((csv_rows(path, &data)?, Source::Csv))
        }
        Some(Ext::Xlsx) => xlsx_rows(path, sheet),
        None => Err(file_error(
            path,
            "unknown invoice format: expected .csv or .xlsx",
        )),
    }
}

fn csv_rows(path: &Path, data: &[u8]) -> Result<Vec<Row>, InputError> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rows = Vec::new();
    let mut rec = csv::ByteRecord::new();
    let (mut cursor, mut line) = (0usize, 1u64);
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(file_error(path, format!("unreadable CSV: {e}"))),
        }
        // The csv crate may place a record's start at the end of the line break (or blank
        // lines) before it; the record starts at the first byte that is no line break.
        let mut start = rec.position().map_or(0, |p| p.byte() as usize).max(cursor);
        while matches!(data.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        line += line_breaks(&data[cursor..start]);
        cursor = start;
        let mut problem = None;
        let cells = rec
            .iter()
            .enumerate()
            .map(|(i, f)| match std::str::from_utf8(f) {
                Ok(s) => Cell::text(s),
                Err(_) => {
                    problem.get_or_insert_with(|| format!("field {} is not valid UTF-8", i + 1));
                    Cell::text(&String::from_utf8_lossy(f))
                }
            })
            .collect();
        rows.push(Row {
            line,
            cells,
            problem,
        });
    }
    Ok(rows)
}

/// Line breaks in `b`: `\n`, `\r\n` or a lone `\r`, each counted once.
fn line_breaks(b: &[u8]) -> u64 {
    let mut n = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

fn xlsx_rows(path: &Path, sheet: Option<&str>) -> Result<(Vec<Row>, Source), InputError> {
    use calamine::{Data, Reader};
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path)
        .map_err(|e| file_error(path, format!("cannot open as XLSX: {e}")))?;
    let names = wb.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                file_error(
                    path,
                    format!(
                        "no sheet named `{s}`; the workbook has: {}",
                        names.join(", ")
                    ),
                )
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| file_error(path, "the workbook has no sheets"))?,
    };
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| file_error(path, format!("cannot read sheet `{name}`: {e}")))?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, cells)| Row {
            line: u64::from(first_row) + i as u64 + 1,
            cells: cells
                .iter()
                .map(|c| match c {
                    Data::Empty => Cell::Empty,
                    Data::String(s) | Data::DateTimeIso(s) => Cell::text(s),
                    Data::Int(i) => Cell::Int(*i),
                    Data::Float(f) => Cell::Float(*f),
                    Data::Bool(b) => Cell::Bool(*b),
                    Data::DateTime(d) if d.is_duration() => {
                        Cell::Other(format!("a duration ({})", d.as_f64()))
                    }
                    Data::DateTime(d) => {
                        let (y, mo, da, h, mi, s, ms) = d.to_ymd_hms_milli();
                        Cell::DateTime(civil(y, mo, da, h, mi, s, ms))
                    }
                    Data::DurationIso(s) => Cell::Other(format!("a duration ({s})")),
                    Data::Error(e) => Cell::Other(e.to_string()),
                })
                .collect(),
            problem: None,
        })
        .collect();
    Ok((
        rows,
        Source::Xlsx {
            sheet: name,
            first_col,
        },
    ))
}

fn civil(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, ms: u16) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y.into(), mo.into(), d.into())?.and_hms_milli_opt(
        h.into(),
        mi.into(),
        s.into(),
        ms.into(),
    )
}

fn find_header(rows: &[Row], source: &Source) -> Result<(usize, Columns), String> {
    // Best near miss, for the error message: (required names present, cells filled, row index).
    let mut best: Option<(usize, usize, usize)> = None;
    for (i, row) in rows.iter().enumerate() {
        if row.line > HEADER_SEARCH_ROWS {
            break;
        }
        if row.is_blank() {
            continue;
        }
        let names: Vec<String> = row
            .cells
            .iter()
            .map(|c| c.shown().trim().to_ascii_lowercase())
            .collect();
        for shape in &SHAPES {
            let present = shape
                .required
                .iter()
                .filter(|r| names.iter().any(|n| n == *r))
                .count();
            if present == shape.required.len() {
                let mut index = HashMap::new();
                for &name in shape.required.iter().chain(shape.optional) {
                    let mut at = names.iter().enumerate().filter(|(_, n)| *n == name);
                    if let Some((first, _)) = at.next() {
                        if let Some((second, _)) = at.next() {
                            return Err(format!(
                                "the header on {} names column `{name}` twice (columns {} and {})",
                                where_row(source, row.line),
                                first + 1,
                                second + 1
                            ));
                        }
                        index.insert(name, first);
                    }
                }
                return Ok((
                    i,
                    Columns {
                        kind: shape.kind,
                        index,
                        // Trailing empty header cells (a spreadsheet's export) are no columns.
                        width: row
                            .cells
                            .iter()
                            .rposition(|c| *c != Cell::Empty)
                            .map_or(0, |i| i + 1),
                    },
                ));
            }
            let filled = row.cells.iter().filter(|c| **c != Cell::Empty).count();
            if best.is_none_or(|(n, w, _)| (present, filled) > (n, w)) {
                best = Some((present, filled, i));
            }
        }
    }
    let known = SHAPES
        .iter()
        .map(|s| {
            let opt = if s.optional.is_empty() {
                String::new()
            } else {
                format!("; optional {}", s.optional.join(", "))
            };
            format!("{} ({}{opt})", s.title, s.required.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" or ");
    let Some((_, _, i)) = best else {
        return Err(format!(
            "no header row: the file has no data in its first {HEADER_SEARCH_ROWS} rows. Known shapes: {known}"
        ));
    };
    let row = &rows[i];
    let mut seen: Vec<String> = row
        .cells
        .iter()
        .map(|c| c.shown().into_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if seen.len() > 40 {
        seen.truncate(40);
        seen.push("…".into());
    }
    let names: Vec<String> = row
        .cells
        .iter()
        .map(|c| c.shown().trim().to_ascii_lowercase())
        .collect();
    let missing = SHAPES
        .iter()
        .map(|s| {
            let m: Vec<&str> = s
                .required
                .iter()
                .copied()
                .filter(|r| !names.iter().any(|n| n == r))
                .collect();
            format!("{} lacks {}", s.title, m.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(format!(
        "unknown invoice header: no row in the first {HEADER_SEARCH_ROWS} holds the columns of a known shape. \
         Known shapes: {known}. Columns seen on {}: {} ({missing})",
        where_row(source, row.line),
        seen.join(", ")
    ))
}

fn where_row(source: &Source, line: u64) -> String {
    match source {
        Source::Csv => format!("line {line}"),
        Source::Xlsx { sheet, .. } => format!("sheet `{sheet}` row {line}"),
    }
}

fn parse_row(
    row: &Row,
    is_csv: bool,
    cols: &Columns,
    tz: Option<chrono_tz::Tz>,
    slugs: &SlugMap,
) -> Result<Parsed, RowError> {
    if let Some(p) = &row.problem {
        return Err(RowError {
            column: None,
            reason: p.clone(),
        });
    }
    // A CSV row must have the header's fields (trailing empty ones aside); a sheet is a
    // rectangle, so there a cell under no header is simply not read.
    if is_csv
        && (row.cells.len() < cols.width
            || row.cells.iter().skip(cols.width).any(|c| *c != Cell::Empty))
    {
        return Err(RowError {
            column: None,
            reason: format!(
                "row has {} fields, the header has {}",
                row.cells.len(),
                cols.width
            ),
        });
    }
    let field = |name: &'static str| {
        move |reason: String| RowError {
            column: Some(name),
            reason,
        }
    };
    let required = |name: &'static str| -> Result<&Cell, RowError> {
        match cols.cell(row, name) {
            Cell::Empty => Err(RowError {
                column: Some(name),
                reason: format!("{name} is empty"),
            }),
            c => Ok(c),
        }
    };
    let optional = |name: &'static str| match cols.cell(row, name) {
        Cell::Empty => None,
        c => Some(c),
    };
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
            })
        }
    }
}

fn text(c: &Cell) -> Result<String, String> {
    match c {
        Cell::Text(s) => Ok(s.clone()),
        Cell::Int(_) | Cell::Float(_) => Ok(c.shown().into_owned()),
        other => Err(format!("`{}` is not text", other.shown())),
    }
}

/// A number written as text: optional sign, digits with at most one `.`, optional exponent.
fn decimal_text(s: &str) -> Result<Money, String> {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let (mut digits, mut dot) = (0, false);
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' => digits += 1,
            b'.' if !dot => dot = true,
            _ => break,
        }
        i += 1;
    }
    let mantissa_ok = digits > 0;
    let exp = i < b.len() && matches!(b[i], b'e' | b'E');
    if exp {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            i = usize::MAX;
        }
    }
    if !mantissa_ok || i != b.len() {
        return Err(format!("`{s}` is not a number"));
    }
    let parsed = if exp {
        Money::from_scientific(s)
    } else {
        Money::from_str_exact(s.strip_prefix('+').unwrap_or(s))
    };
    parsed.map_err(|_| format!("`{s}` is out of range for an exact decimal"))
}

fn non_number(c: &Cell) -> String {
    match c {
        Cell::DateTime(_) => format!("a date cell ({}) is not a number", c.shown()),
        Cell::Other(s) if s.starts_with('#') => format!("the cell holds the error {s}"),
        _ => format!("`{}` is not a number", c.shown()),
    }
}

fn tokens(c: &Cell) -> Result<u128, String> {
    let n = match c {
        Cell::Text(s) => decimal_text(s)?,
        Cell::Int(i) => Money::from(*i),
        Cell::Float(f) if f.is_finite() => {
            Money::from_str(&f.to_string()).map_err(|_| format!("{f} is not a token count"))?
        }
        other => return Err(non_number(other)),
    };
    if n.is_sign_negative() && !n.is_zero() {
        return Err(format!("negative token count {}", c.shown()));
    }
    if !n.fract().is_zero() {
        return Err(format!("{} is not a whole number of tokens", c.shown()));
    }
    let v = n.trunc().normalize().mantissa().unsigned_abs();
    if v > MAX_TOKENS {
        return Err(format!("token count {} is over 2^53", c.shown()));
    }
    Ok(v)
}

fn amount(c: &Cell) -> Result<Money, String> {
    let m = match c {
        Cell::Text(s) => decimal_text(s)?,
        Cell::Int(i) => Money::from(*i),
        Cell::Float(f) if f.is_finite() => Money::from_str_exact(&f.to_string())
            .map_err(|_| format!("{f} cannot be held as an exact decimal amount"))?,
        other => return Err(non_number(other)),
    };
    if m.is_sign_negative() && !m.is_zero() {
        return Err(format!("negative amount {}", c.shown()));
    }
    Ok(m)
}

/// Excel serial days (1900 date system) to a date-time; whole numbers are midnights.
fn serial(v: f64) -> Result<NaiveDateTime, String> {
    if !(1.0..2_958_466.0).contains(&v) {
        return Err(format!(
            "{v} is not a date (Excel serial dates run from 1 to 2958465)"
        ));
    }
    let (y, mo, d, h, mi, s, ms) =
        calamine::ExcelDateTime::new(v, calamine::ExcelDateTimeType::DateTime, false)
            .to_ymd_hms_milli();
    civil(y, mo, d, h, mi, s, ms).ok_or_else(|| format!("{v} is not a real date"))
}

fn day(c: &Cell) -> Result<Day, String> {
    let date = match c {
        Cell::Text(s) => {
            let ok = s.len() == 10 || matches!(s.as_bytes().get(10), Some(b'T' | b' '));
            let d = s
                .get(..10)
                .filter(|_| ok)
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .filter(|_| s.len() == 10 || instant_text(s).is_ok());
            d.ok_or_else(|| format!("`{s}` is not a date (YYYY-MM-DD)"))?
        }
        Cell::DateTime(Some(dt)) => dt.date(),
        Cell::DateTime(None) => return Err("the date cell holds no real date".into()),
        Cell::Int(i) => serial(*i as f64)?.date(),
        Cell::Float(f) => serial(*f)?.date(),
        other => return Err(format!("`{}` is not a date", other.shown())),
    };
    Ok(Day::from_date(date))
}

/// A UTC date-time as text: `2026-02-06 18:54:30.040` (or `T`), a `Z` or an offset honoured.
fn instant_text(s: &str) -> Result<NaiveDateTime, String> {
    let plain = s.strip_suffix(['Z', 'z']).unwrap_or(s);
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(plain, fmt) {
            return Ok(t);
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, fmt) {
            return Ok(t.naive_utc());
        }
    }
    Err(format!(
        "`{s}` is not a date-time (expected e.g. 2026-02-06 18:54:30.040, UTC)"
    ))
}

fn instant(c: &Cell) -> Result<NaiveDateTime, String> {
    match c {
        Cell::Text(s) => instant_text(s),
        Cell::DateTime(Some(dt)) => Ok(*dt),
        Cell::DateTime(None) => Err("the date cell holds no real date".into()),
        Cell::Int(i) => serial(*i as f64),
        Cell::Float(f) => serial(*f),
        other => Err(format!("`{}` is not a date-time", other.shown())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn column_letters_are_excel_names() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn numbers() {
        let t = |s: &str| tokens(&Cell::text(s));
        assert_eq!(t("1200"), Ok(1200));
        assert_eq!(t("1200.0"), Ok(1200));
        assert_eq!(t("+7"), Ok(7));
        assert_eq!(t("-0"), Ok(0));
        assert!(t("-5").unwrap_err().contains("negative"));
        assert!(t("12.5").unwrap_err().contains("whole number"));
        assert!(t("1,200").unwrap_err().contains("not a number"));
        assert!(t("1_200").unwrap_err().contains("not a number"));
        assert!(t("abc").unwrap_err().contains("not a number"));
        assert!(t("9007199254740993").unwrap_err().contains("2^53"));
        assert_eq!(tokens(&Cell::Float(3.0)), Ok(3));
        assert!(tokens(&Cell::Float(3.5)).is_err());
        assert!(tokens(&Cell::Int(-1)).is_err());
        assert!(tokens(&Cell::Other("#N/A".into()))
            .unwrap_err()
            .contains("error #N/A"));
        let a = |s: &str| amount(&Cell::text(s));
        assert_eq!(a("12.34"), Ok(dec!(12.34)));
        assert_eq!(a("1.5E-05"), Ok(dec!(0.000015)));
        assert!(a("-1.00").unwrap_err().contains("negative"));
        assert!(a("$1.00").unwrap_err().contains("not a number"));
        assert!(a("1.").is_ok());
        assert!(a(".").is_err());
        // The float 0.1 + 0.2 is not 0.3; its shortest text is what the cell holds.
        assert_eq!(amount(&Cell::Float(0.1)), Ok(dec!(0.1)));
        assert_eq!(
            amount(&Cell::Float(0.1 + 0.2)),
            Ok(dec!(0.30000000000000004))
        );
    }

    #[test]
    fn dates_and_instants() {
        let d = |c: Cell| day(&c).map(|d| d.to_string());
        assert_eq!(d(Cell::text("2026-04-28")), Ok("2026-04-28".into()));
        assert_eq!(
            d(Cell::text("2026-04-28T00:00:00")),
            Ok("2026-04-28".into())
        );
        assert!(d(Cell::text("2026-04-31")).is_err());
        assert!(d(Cell::text("28/04/2026")).is_err());
        assert!(d(Cell::text("2026-04-28x")).is_err());
        // Excel serial 46140 is 2026-04-28.
        assert_eq!(d(Cell::Float(46140.0)), Ok("2026-04-28".into()));
        assert_eq!(d(Cell::Float(46140.75)), Ok("2026-04-28".into()));
        assert!(d(Cell::Float(-3.0)).is_err());
        let i = |s: &str| instant_text(s).map(|t| t.to_string());
        assert_eq!(
            i("2026-02-06 18:54:30.040"),
            Ok("2026-02-06 18:54:30.040".into())
        );
        assert_eq!(i("2026-02-06T18:54:30Z"), Ok("2026-02-06 18:54:30".into()));
        assert_eq!(
            i("2026-02-06 20:54:30+02:00"),
            Ok("2026-02-06 18:54:30".into())
        );
        assert!(i("2026-02-06").is_err());
        assert!(i("yesterday").is_err());
    }
}
