//! Small tables from `.csv` and `.xlsx` files (invoices, the top-up ledger), read whole with the
//! line number of every row, so that each rejected row can name its file, line and cell.
//!
//! These files are small (a month of daily lines, a ledger), so they are read whole on one
//! thread; the log readers' chunked pipeline would buy nothing here.
//!
//! - A CSV row's line is the physical line its record starts on (the header counted), after an
//!   optional BOM, with `\n`, `\r\n` or a lone `\r` as line breaks, so a quoted field spanning
//!   lines does not shift the rows after it. A sheet row's line is its 1-based sheet row, and a
//!   rejection's reason starts with the cell reference (`Invoices!D7: `), as a spreadsheet user
//!   would look it up.
//! - The header is the first row, within the first 20 (`HEADER_SEARCH_ROWS`), that holds every
//!   required column of one of the reader's shapes: title rows above a spreadsheet table are
//!   common. Names match case-insensitively, trimmed; other columns are ignored; a known column
//!   named twice is an error, since either choice could be the wrong one.
//! - Cell values are kept as the spreadsheet typed them (`Cell`); the parsers below accept a
//!   number written as text too, because exports and hand edits mix the two freely.
//! - Amounts are exact decimals: an XLSX number cell is read from its shortest round-trip text
//!   (`f64::to_string`), which is what the cell shows, so a cell showing 0.1 is exactly 0.1.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};

use super::{file_error, mask_secrets, InputError, Rejection};
use crate::domain::{Day, Money};

/// The header must start within this many rows (lines) of the top.
pub(crate) const HEADER_SEARCH_ROWS: u64 = 20;
/// Token counts above this are not exact in a spreadsheet number and not real daily traffic.
pub(crate) const MAX_TOKENS: u128 = 1 << 53;
/// Amounts (USD) above this, either way, are no real bill, purchase or call, and sums of a few
/// such would leave the decimal range (about 7.9 × 10^28), so they are rejected.
pub(crate) const MAX_USD: i64 = 1_000_000_000_000_000;

/// One header a reader knows: the columns it needs and the ones it reads when present.
pub(crate) struct Shape<K> {
    pub kind: K,
    pub title: &'static str,
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
}

/// A cell as read, CSV fields being text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
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
    pub(crate) fn text(s: &str) -> Cell {
        let t = s.trim();
        if t.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(t.to_string())
        }
    }

    pub(crate) fn shown(&self) -> Cow<'_, str> {
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
pub(crate) struct Row {
    /// CSV: the line the record starts on; XLSX: the 1-based sheet row.
    pub line: u64,
    pub cells: Vec<Cell>,
    /// A problem with the row as a whole (CSV: invalid UTF-8).
    pub problem: Option<String>,
}

impl Row {
    pub(crate) fn is_blank(&self) -> bool {
        self.problem.is_none() && self.cells.iter().all(|c| *c == Cell::Empty)
    }

    pub(crate) fn raw(&self) -> String {
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
pub(crate) enum Source {
    Csv,
    Xlsx { sheet: String, first_col: u32 },
}

impl Source {
    pub(crate) fn is_csv(&self) -> bool {
        matches!(self, Source::Csv)
    }

    pub(crate) fn cell_ref(&self, line: u64, col: usize) -> Option<String> {
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
pub(crate) fn column_letters(mut col: u32) -> String {
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
pub(crate) struct RowError {
    pub column: Option<&'static str>,
    pub reason: String,
}

impl RowError {
    /// Turns a cell parser's message into a rejection of column `name`.
    pub(crate) fn field(name: &'static str) -> impl Fn(String) -> RowError {
        move |reason| RowError {
            column: Some(name),
            reason,
        }
    }
}

/// The header's column positions for one shape.
pub(crate) struct Columns<K> {
    pub kind: K,
    index: HashMap<&'static str, usize>,
    /// Header cells up to the last named one: a CSV row must have this many fields.
    pub width: usize,
}

impl<K> Columns<K> {
    pub(crate) fn pos(&self, name: &'static str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub(crate) fn cell<'r>(&self, row: &'r Row, name: &'static str) -> &'r Cell {
        self.pos(name)
            .and_then(|i| row.cells.get(i))
            .unwrap_or(&Cell::Empty)
    }

    /// The cell of a required column; an empty one rejects the row.
    pub(crate) fn required<'r>(
        &self,
        row: &'r Row,
        name: &'static str,
    ) -> Result<&'r Cell, RowError> {
        match self.cell(row, name) {
            Cell::Empty => Err(RowError {
                column: Some(name),
                reason: format!("{name} is empty"),
            }),
            c => Ok(c),
        }
    }

    /// The cell of an optional column; empty is absent, not zero.
    pub(crate) fn optional<'r>(&self, row: &'r Row, name: &'static str) -> Option<&'r Cell> {
        match self.cell(row, name) {
            Cell::Empty => None,
            c => Some(c),
        }
    }

    /// Rejects a row that is broken as a whole: a problem found while reading it, or (CSV) a
    /// field count that differs from the header's.
    pub(crate) fn check_row(&self, row: &Row, is_csv: bool) -> Result<(), RowError> {
        if let Some(p) = &row.problem {
            return Err(RowError {
                column: None,
                reason: p.clone(),
            });
        }
        // A CSV row must have the header's fields (trailing empty ones aside); a sheet is a
        // rectangle, so there a cell under no header is simply not read.
        if is_csv
            && (row.cells.len() < self.width
                || row.cells.iter().skip(self.width).any(|c| *c != Cell::Empty))
        {
            return Err(RowError {
                column: None,
                reason: format!(
                    "row has {} fields, the header has {}",
                    row.cells.len(),
                    self.width
                ),
            });
        }
        Ok(())
    }

    /// The rejection of `row` in file `file`: for a sheet, the reason starts with the cell
    /// reference of the column it names.
    pub(crate) fn rejection(
        &self,
        file: &str,
        source: &Source,
        row: &Row,
        e: RowError,
    ) -> Rejection {
        let reason = match e.column.and_then(|c| self.pos(c)) {
            Some(col) => match source.cell_ref(row.line, col) {
                Some(r) => format!("{r}: {}", e.reason),
                None => e.reason,
            },
            None => e.reason,
        };
        Rejection {
            file: file.to_string(),
            line: row.line,
            column: e.column,
            // A reason may quote the bad cell, and a cell may hold an API key.
            reason: mask_secrets(&reason),
            raw: row.raw(),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Ext {
    Csv,
    Xlsx,
}

pub(crate) fn extension(path: &Path) -> Option<Ext> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name.ends_with(".csv") {
        Some(Ext::Csv)
    } else if name.ends_with(".xlsx") {
        Some(Ext::Xlsx)
    } else {
        None
    }
}

/// Files as given; a directory becomes its `.csv` and `.xlsx` files in name order. `flag` is the
/// option the paths came from (`--invoices`), `noun` what the files hold (`invoice`).
pub(crate) fn expand(
    paths: &[PathBuf],
    flag: &str,
    noun: &str,
) -> Result<Vec<PathBuf>, InputError> {
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
                    format!("directory holds no .csv or .xlsx {noun} files"),
                ));
            }
            files.extend(entries);
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        return Err(InputError::Usage(format!("no {noun} files given ({flag})")));
    }
    Ok(files)
}

/// Every row of a CSV file, or of the named (default: first) sheet of an XLSX file.
pub(crate) fn load(
    path: &Path,
    sheet: Option<&str>,
    noun: &str,
) -> Result<(Vec<Row>, Source), InputError> {
    match extension(path) {
        Some(Ext::Csv) => {
            let data = std::fs::read(path).map_err(|e| file_error(path, e))?;
            Ok((csv_rows(path, &data)?, Source::Csv))
        }
        Some(Ext::Xlsx) => xlsx_rows(path, sheet),
        None => Err(file_error(
            path,
            format!("unknown {noun} format: expected .csv or .xlsx"),
        )),
    }
}

pub(crate) fn csv_rows(path: &Path, data: &[u8]) -> Result<Vec<Row>, InputError> {
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
pub(crate) fn line_breaks(b: &[u8]) -> u64 {
    let mut n = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

pub(crate) fn xlsx_rows(
    path: &Path,
    sheet: Option<&str>,
) -> Result<(Vec<Row>, Source), InputError> {
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

pub(crate) fn civil(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, ms: u16) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y.into(), mo.into(), d.into())?.and_hms_milli_opt(
        h.into(),
        mi.into(),
        s.into(),
        ms.into(),
    )
}

/// Finds the header row (its index in `rows`) and the columns of the shape it matches. `noun`
/// names the header in the error (`invoice header`); the error lists the shapes and the near
/// miss, so the user sees which columns are missing.
pub(crate) fn find_header<K: Copy>(
    rows: &[Row],
    source: &Source,
    shapes: &[Shape<K>],
    noun: &str,
) -> Result<(usize, Columns<K>), String> {
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
        for shape in shapes {
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
    let known = shapes
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
    let (of_a_shape, known) = if shapes.len() == 1 {
        ("the required columns", format!("Expected: {known}"))
    } else {
        (
            "the columns of a known shape",
            format!("Known shapes: {known}"),
        )
    };
    let Some((_, _, i)) = best else {
        return Err(format!(
            "no header row: the file has no data in its first {HEADER_SEARCH_ROWS} rows. {known}"
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
    let missing = shapes
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
        "unknown {noun}: no row in the first {HEADER_SEARCH_ROWS} holds {of_a_shape}. \
         {known}. Columns seen on {}: {} ({missing})",
        where_row(source, row.line),
        seen.join(", ")
    ))
}

pub(crate) fn where_row(source: &Source, line: u64) -> String {
    match source {
        Source::Csv => format!("line {line}"),
        Source::Xlsx { sheet, .. } => format!("sheet `{sheet}` row {line}"),
    }
}

pub(crate) fn text(c: &Cell) -> Result<String, String> {
    match c {
        Cell::Text(s) => Ok(s.clone()),
        Cell::Int(_) | Cell::Float(_) => Ok(c.shown().into_owned()),
        other => Err(format!("`{}` is not text", other.shown())),
    }
}

/// A number written as text: optional sign, digits with at most one `.`, optional exponent.
pub(crate) fn decimal_text(s: &str) -> Result<Money, String> {
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

pub(crate) fn non_number(c: &Cell) -> String {
    match c {
        Cell::DateTime(_) => format!("a date cell ({}) is not a number", c.shown()),
        Cell::Other(s) if s.starts_with('#') => format!("the cell holds the error {s}"),
        _ => format!("`{}` is not a number", c.shown()),
    }
}

pub(crate) fn tokens(c: &Cell) -> Result<u128, String> {
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

/// An exact decimal of either sign, from text or a number cell, at most [`MAX_USD`] either way.
pub(crate) fn decimal(c: &Cell) -> Result<Money, String> {
    let m = match c {
        Cell::Text(s) => decimal_text(s),
        Cell::Int(i) => Ok(Money::from(*i)),
        Cell::Float(f) if f.is_finite() => Money::from_str_exact(&f.to_string())
            .map_err(|_| format!("{f} cannot be held as an exact decimal amount")),
        other => Err(non_number(other)),
    }?;
    if m.abs() > Money::from(MAX_USD) {
        return Err(format!(
            "{} is over USD 10^15: not a real amount",
            c.shown()
        ));
    }
    Ok(m)
}

/// An exact decimal ≥ 0.
pub(crate) fn amount(c: &Cell) -> Result<Money, String> {
    let m = decimal(c)?;
    if m.is_sign_negative() && !m.is_zero() {
        return Err(format!("negative amount {}", c.shown()));
    }
    Ok(m)
}

/// Excel serial days (1900 date system) to a date-time; whole numbers are midnights.
pub(crate) fn serial(v: f64) -> Result<NaiveDateTime, String> {
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

/// A day as written: `YYYY-MM-DD` (a date-time text gives its date), a date or date-time cell,
/// or an Excel serial number. No time zone is applied.
pub(crate) fn day(c: &Cell) -> Result<Day, String> {
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
pub(crate) fn instant_text(s: &str) -> Result<NaiveDateTime, String> {
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

/// A UTC date-time from text, a date-time cell or an Excel serial number.
pub(crate) fn instant(c: &Cell) -> Result<NaiveDateTime, String> {
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
        // Signed: what a reader with its own sign rule starts from.
        assert_eq!(decimal(&Cell::text("-1.50")), Ok(dec!(-1.50)));
        assert_eq!(decimal(&Cell::Int(-3)), Ok(dec!(-3)));
        assert!(decimal(&Cell::Bool(true))
            .unwrap_err()
            .contains("`TRUE` is not a number"));
        // No sum of real amounts leaves the decimal range.
        assert_eq!(a("1000000000000000"), Ok(dec!(1000000000000000)));
        assert!(a("1000000000000000.01")
            .unwrap_err()
            .contains("over USD 10^15"));
        assert!(decimal(&Cell::text("-79228162514264337593543950335"))
            .unwrap_err()
            .contains("over USD 10^15"));
        assert!(amount(&Cell::Float(1e20))
            .unwrap_err()
            .contains("over USD 10^15"));
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

    const SHAPES: [Shape<u8>; 2] = [
        Shape {
            kind: 1,
            title: "first",
            required: &["a", "b"],
            optional: &["c"],
        },
        Shape {
            kind: 2,
            title: "second",
            required: &["x", "y"],
            optional: &[],
        },
    ];

    fn rows(text: &str) -> Vec<Row> {
        csv_rows(Path::new("t.csv"), text.as_bytes()).unwrap()
    }

    #[test]
    fn csv_lines_count_physical_lines() {
        let r = rows("\u{feff}a,b\r\n\"1\n2\",3\r\rq,\n");
        let lines: Vec<u64> = r.iter().map(|r| r.line).collect();
        // The quoted field spans lines 2–3; a lone CR is a line break (line 4 is blank).
        assert_eq!(lines, vec![1, 2, 5]);
        assert_eq!(r[0].cells, vec![Cell::text("a"), Cell::text("b")]);
        assert_eq!(r[1].cells[0], Cell::text("1\n2"));
        assert_eq!(line_breaks(b"\r\n\r\n\r"), 3);
    }

    #[test]
    fn header_is_found_below_a_title_for_any_shape() {
        let r = rows("Ledger 2026\n\nY , X,z\n1,2,3\n");
        let (h, cols) = find_header(&r, &Source::Csv, &SHAPES, "test header").unwrap();
        assert_eq!((h, cols.kind, cols.width), (1, 2, 3));
        assert_eq!((cols.pos("x"), cols.pos("y")), (Some(1), Some(0)));
        assert_eq!(cols.cell(&r[2], "x"), &Cell::text("2"));
        // Too wide a CSV row is rejected as a whole.
        let wide = rows("x,y\n1,2,3\n");
        let (_, cols) = find_header(&wide, &Source::Csv, &SHAPES, "test header").unwrap();
        let e = cols.check_row(&wide[1], true).unwrap_err();
        assert_eq!(e.reason, "row has 3 fields, the header has 2");
        assert!(cols.check_row(&wide[1], false).is_ok());
    }

    #[test]
    fn header_errors_name_the_noun_and_what_is_missing() {
        let e = find_header(&rows("a,q\n"), &Source::Csv, &SHAPES, "test header")
            .err()
            .unwrap();
        assert!(
            e.starts_with("unknown test header: no row in the first 20"),
            "{e}"
        );
        assert!(
            e.contains("Known shapes: first (a, b; optional c) or second (x, y)"),
            "{e}"
        );
        assert!(
            e.contains("Columns seen on line 1: a, q (first lacks b; second lacks x, y)"),
            "{e}"
        );
        let e = find_header(&rows("a,q\n"), &Source::Csv, &SHAPES[..1], "test header")
            .err()
            .unwrap();
        assert!(
            e.contains("holds the required columns. Expected: first (a, b; optional c)"),
            "{e}"
        );
        let e = find_header(&rows("a,b,A\n"), &Source::Csv, &SHAPES, "test header")
            .err()
            .unwrap();
        assert_eq!(
            e,
            "the header on line 1 names column `a` twice (columns 1 and 3)"
        );
    }

    #[test]
    fn cell_references_quote_sheet_names() {
        let plain = Source::Xlsx {
            sheet: "Ledger".into(),
            first_col: 0,
        };
        assert_eq!(plain.cell_ref(7, 2).as_deref(), Some("Ledger!C7"));
        let spaced = Source::Xlsx {
            sheet: "Top-ups 'Q2'".into(),
            first_col: 1,
        };
        assert_eq!(
            spaced.cell_ref(3, 0).as_deref(),
            Some("'Top-ups ''Q2'''!B3")
        );
        assert_eq!(Source::Csv.cell_ref(3, 0), None);
    }
}
