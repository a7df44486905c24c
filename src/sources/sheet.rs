//! Tables from `.csv` and `.xlsx` files (invoices, the top-up ledger), read one row at a time
//! with the line number of every row, so that each rejected row can name its file, line and cell.
//!
//! A month of daily lines is small, but an activity export has a row per generation (a million
//! rows of 24 columns is 200 MB of CSV), so a file is streamed on one thread: the reader holds
//! the row at hand, never the file, and the invoice and ledger readers sum as they go. The log
//! readers' chunked pipeline would buy little here.
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
//! - A formula cell is read by the result the file holds for it (what the spreadsheet computed
//!   when it saved the file); a file without one has an empty cell there. An error cell
//!   (`#N/A`, `#DIV/0!`) rejects its row when its column is read, naming the error. A merged
//!   cell holds its value in its top-left cell; the others are empty.
//!
//! # Limits
//!
//! Memory stays bounded whatever the file; a file past a limit is an [`InputError::File`] that
//! says which (exit status 2), after the rows before it were read:
//!
//! - a CSV record over 64 MiB (`MAX_RECORD_BYTES`, as for logs; usually an unclosed quote) or
//!   with more than 16,384 fields;
//! - a sheet cell below row 1,048,576 or right of column XFD (16,384), Excel's limits, or with a
//!   text over 32,767 characters (what a cell can hold);
//! - an XLSX part whose zip entry declares more than 2 GiB uncompressed (a sheet of 1,048,576
//!   rows of an activity export's 24 columns is about 1.2 GiB of XML), or more than 512 MiB for
//!   the parts the XLSX library holds whole (shared strings, styles, workbook, relationships):
//!   checked from the zip directory before anything is inflated, so a zip bomb costs nothing.
//!   The zip reader stops every part at its declared size, so a directory that understates one
//!   gets an error, not the bytes. A part declared over 64 MiB is first read through once,
//!   counting its bytes and refusing a text or tag over 1 MiB, since the XLSX library holds one
//!   whole while reading it.
//!
//! The XLSX library holds the shared strings table (every distinct text of the workbook) in
//! memory: at most the 512 MiB part, a few times the text of a million-row export's ids.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};

use super::{file_error, mask_secrets, InputError, Rejection, MAX_RECORD_BYTES};
use crate::domain::{Day, Money};

/// The header must start within this many rows (lines) of the top.
pub(crate) const HEADER_SEARCH_ROWS: u64 = 20;
/// Token counts above this are not exact in a spreadsheet number and not real daily traffic.
pub(crate) const MAX_TOKENS: u128 = 1 << 53;
/// Amounts (USD) above this, either way, are no real bill, purchase or call, and sums of a few
/// such would leave the decimal range (about 7.9 × 10^28), so they are rejected.
pub(crate) const MAX_USD: i64 = 1_000_000_000_000_000;
/// The rows a sheet can have (Excel's limit, 1,048,576).
pub(crate) const MAX_SHEET_ROWS: u32 = 1 << 20;
/// The columns a sheet can have (Excel's limit, 16,384: `A` to `XFD`); also the most fields a
/// CSV record may have.
pub(crate) const MAX_COLUMNS: usize = 1 << 14;
/// The characters a cell can hold (Excel's limit).
pub(crate) const MAX_CELL_CHARS: usize = 32_767;
/// The most an XLSX part (a sheet's XML) may uncompress to: a sheet of 1,048,576 rows of an
/// activity export's 24 columns is about 1.2 GiB of XML.
pub(crate) const MAX_XLSX_PART_BYTES: u64 = 2 << 30;
/// The most a part the XLSX library holds whole in memory (shared strings, styles, the workbook,
/// relationships) may uncompress to.
pub(crate) const MAX_XLSX_HELD_PART_BYTES: u64 = 512 << 20;
/// An XLSX part declared larger than this is read through once before use ([`scan_part`]).
const SCAN_PARTS_OVER: u64 = 64 << 20;
/// The longest text or tag (the bytes between two `<`) an XLSX part may hold.
const MAX_XML_STRETCH: u64 = 1 << 20;

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

    /// The row as text, with empty fields up to `width` cells (a sheet row is shown as wide as
    /// the sheet's used range).
    pub(crate) fn raw_padded(&self, width: usize) -> String {
        // Past 200 characters the text is cut anyway.
        let pad = width.saturating_sub(self.cells.len()).min(201);
        let joined = self
            .cells
            .iter()
            .map(|c| c.shown())
            .chain(std::iter::repeat_n(Cow::Borrowed(""), pad))
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
    /// A sheet's used range, in cells: a rejected row's raw text is padded to it.
    pub(crate) raw_width: usize,
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
            raw: row.raw_padded(self.raw_width),
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
    // The same file named twice would bill its lines twice: read it once.
    Ok(super::once_each(files, |p| p, &mut Vec::new()))
}

/// Reads a CSV file, or the named (default: first) sheet of an XLSX file, one row at a time:
/// finds the header among the first rows (as [`find_header`] does) and hands every non-blank row
/// below it to `each`, with the header's columns. Only the row at hand is held (and, while the
/// header is searched, the best near miss for the error message), whatever the file's size. A
/// file that cannot be read, or breaks one of the limits (module doc), is an
/// [`InputError::File`]; rows handed over before that stay handed over.
pub(crate) fn read_table<K: Copy>(
    path: &Path,
    sheet: Option<&str>,
    noun: &str,
    shapes: &[Shape<K>],
    header_noun: &str,
    each: impl FnMut(&Source, &Columns<K>, &Row),
) -> Result<(), InputError> {
    match extension(path) {
        Some(Ext::Csv) => {
            let f = File::open(path).map_err(|e| file_error(path, e))?;
            let rows = CsvRows::new(BufReader::with_capacity(1 << 16, f));
            table(path, &Source::Csv, rows, shapes, header_noun, 0, each)
        }
        Some(Ext::Xlsx) => xlsx_table(path, sheet, shapes, header_noun, each),
        None => Err(file_error(
            path,
            format!("unknown {noun} format: expected .csv or .xlsx"),
        )),
    }
}

/// The header search and the hand-over of the rows below it. `raw_width` pads a rejected sheet
/// row's raw text to the sheet's used range.
fn table<K: Copy>(
    path: &Path,
    source: &Source,
    rows: impl Iterator<Item = Result<Row, String>>,
    shapes: &[Shape<K>],
    header_noun: &str,
    raw_width: usize,
    mut each: impl FnMut(&Source, &Columns<K>, &Row),
) -> Result<(), InputError> {
    // The best near miss so far: (required names present, cells filled) and the row.
    let mut best: Option<((usize, usize), Row)> = None;
    let mut cols: Option<Columns<K>> = None;
    for row in rows {
        let row = row.map_err(|m| file_error(path, m))?;
        if let Some(c) = &cols {
            if !row.is_blank() {
                each(source, c, &row);
            }
            continue;
        }
        if row.line > HEADER_SEARCH_ROWS {
            break;
        }
        match header_columns(&row, source, shapes).map_err(|m| file_error(path, m))? {
            HeaderMatch::Found(mut c) => {
                c.raw_width = raw_width;
                cols = Some(c);
            }
            HeaderMatch::Blank => {}
            HeaderMatch::Miss(score) => {
                if best.as_ref().is_none_or(|(b, _)| score > *b) {
                    best = Some((score, row));
                }
            }
        }
    }
    match cols {
        Some(_) => Ok(()),
        None => Err(file_error(
            path,
            header_error(best.as_ref().map(|(_, r)| r), source, shapes, header_noun),
        )),
    }
}

/// [`read_table`] on CSV bytes already in memory (the fuzz targets and tests).
pub(crate) fn read_csv_bytes<K: Copy>(
    path: &Path,
    data: &[u8],
    shapes: &[Shape<K>],
    header_noun: &str,
    each: impl FnMut(&Source, &Columns<K>, &Row),
) -> Result<(), InputError> {
    table(
        path,
        &Source::Csv,
        CsvRows::new(data),
        shapes,
        header_noun,
        0,
        each,
    )
}

/// Every row of CSV text held in memory (tests, and tools that hold a table already).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn csv_rows(path: &Path, data: &[u8]) -> Result<Vec<Row>, InputError> {
    CsvRows::new(data)
        .collect::<Result<Vec<Row>, String>>()
        .map_err(|m| file_error(path, m))
}

/// CSV rows read one record at a time, each with the physical line it starts on.
///
/// The records are parsed by `csv_core` (the parser of the `csv` crate, with its defaults:
/// comma, `"` quotes doubled to escape, `\n`, `\r\n` or a lone `\r` ending a record, blank
/// lines skipped), fed straight from the buffer so that every byte it consumes is also counted
/// for line breaks. A record's line is 1 + the line breaks before its first byte (a byte that
/// is no line break, once the previous record is done), so a quoted field spanning lines shifts
/// nothing after it. The record's fields are held in one buffer that grows up to
/// [`MAX_RECORD_BYTES`] and no further.
pub(crate) struct CsvRows<R> {
    input: R,
    core: csv_core::Reader,
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// Line breaks consumed so far (`\r\n` counted once).
    breaks: u64,
    /// The last byte consumed was `\r` (a `\n` right after it ends no further line).
    prev_cr: bool,
    started: bool,
    /// The file's first bytes, read to look for a BOM and not yet parsed.
    head: Vec<u8>,
    done: bool,
}

impl<R: BufRead> CsvRows<R> {
    pub(crate) fn new(input: R) -> Self {
        CsvRows {
            input,
            core: csv_core::Reader::new(),
            fields: vec![0; 4096],
            ends: vec![0; 64],
            breaks: 0,
            prev_cr: false,
            started: false,
            head: Vec::new(),
            done: false,
        }
    }

    fn read(&mut self) -> Result<Option<Row>, String> {
        use csv_core::ReadRecordResult as R;
        let unreadable = |e: std::io::Error| format!("unreadable CSV: {e}");
        if !self.started {
            // The first bytes, however the input comes in: a BOM is dropped, else they are read
            // first.
            self.started = true;
            while self.head.len() < BOM.len() {
                let b = self.input.fill_buf().map_err(unreadable)?;
                let n = b.len().min(BOM.len() - self.head.len());
                if n == 0 {
                    break;
                }
                self.head.extend_from_slice(&b[..n]);
                self.input.consume(n);
            }
            if self.head == BOM {
                self.head.clear();
            }
        }
        let (mut nfields, mut nends) = (0, 0);
        let mut line = None;
        loop {
            let from_head = !self.head.is_empty();
            let input = if from_head {
                &self.head[..]
            } else {
                self.input.fill_buf().map_err(unreadable)?
            };
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.fields[nfields..], &mut self.ends[nends..]);
            let used = &input[..nin];
            match line {
                Some(_) => count_breaks(used, &mut self.breaks, &mut self.prev_cr),
                None => {
                    // The record starts at the first byte that is no line break.
                    let skip = used
                        .iter()
                        .position(|b| !matches!(b, b'\r' | b'\n'))
                        .unwrap_or(used.len());
                    count_breaks(&used[..skip], &mut self.breaks, &mut self.prev_cr);
                    if skip < used.len() {
                        line = Some(self.breaks + 1);
                    }
                    count_breaks(&used[skip..], &mut self.breaks, &mut self.prev_cr);
                }
            }
            if from_head {
                self.head.drain(..nin);
            } else {
                self.input.consume(nin);
            }
            nfields += nout;
            nends += nend;
            let starts = || line.unwrap_or(self.breaks + 1);
            match res {
                R::InputEmpty => {}
                R::OutputFull => {
                    if self.fields.len() >= MAX_RECORD_BYTES {
                        return Err(format!(
                            "the CSV record starting on line {} is longer than 64 MiB, the limit \
                             for one record (an unclosed quote?)",
                            starts()
                        ));
                    }
                    let grown = (self.fields.len() * 2).min(MAX_RECORD_BYTES);
                    self.fields.resize(grown, 0);
                }
                R::OutputEndsFull => {
                    if self.ends.len() >= MAX_COLUMNS {
                        return Err(format!(
                            "the CSV record starting on line {} has more than {} fields, the \
                             limit (a spreadsheet's 16,384 columns)",
                            starts(),
                            MAX_COLUMNS
                        ));
                    }
                    let grown = (self.ends.len() * 2).min(MAX_COLUMNS);
                    self.ends.resize(grown, 0);
                }
                R::Record => {
                    let mut problem = None;
                    let mut start = 0;
                    let cells = self.ends[..nends]
                        .iter()
                        .enumerate()
                        .map(|(i, &end)| {
                            let f = &self.fields[start..end];
                            start = end;
                            match std::str::from_utf8(f) {
                                Ok(s) => Cell::text(s),
                                Err(_) => {
                                    problem.get_or_insert_with(|| {
                                        format!("field {} is not valid UTF-8", i + 1)
                                    });
                                    Cell::text(&String::from_utf8_lossy(f))
                                }
                            }
                        })
                        .collect();
                    return Ok(Some(Row {
                        line: starts(),
                        cells,
                        problem,
                    }));
                }
                R::End => return Ok(None),
            }
        }
    }
}

impl<R: BufRead> Iterator for CsvRows<R> {
    type Item = Result<Row, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.read();
        self.done = !matches!(r, Ok(Some(_)));
        r.transpose()
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Adds the line breaks in `b` to `n`: every `\r`, and every `\n` not right after a `\r`
/// (`prev_cr` carries that across calls), which counts `\n`, `\r\n` and a lone `\r` once each.
fn count_breaks(b: &[u8], n: &mut u64, prev_cr: &mut bool) {
    for i in memchr::memchr2_iter(b'\r', b'\n', b) {
        let after_cr = if i == 0 { *prev_cr } else { b[i - 1] == b'\r' };
        if b[i] == b'\r' || !after_cr {
            *n += 1;
        }
    }
    if let Some(&last) = b.last() {
        *prev_cr = last == b'\r';
    }
}

/// Line breaks in `b`: `\n`, `\r\n` or a lone `\r`, each counted once.
#[cfg(test)]
pub(crate) fn line_breaks(b: &[u8]) -> u64 {
    let (mut n, mut prev_cr) = (0, false);
    count_breaks(b, &mut n, &mut prev_cr);
    n
}

fn xlsx_table<K: Copy>(
    path: &Path,
    sheet: Option<&str>,
    shapes: &[Shape<K>],
    header_noun: &str,
    each: impl FnMut(&Source, &Columns<K>, &Row),
) -> Result<(), InputError> {
    use calamine::Reader;
    check_parts(path)?;
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
    let cells = match wb.worksheet_cells_reader(&name) {
        Ok(cells) => cells,
        // A chart sheet holds no cells: a sheet without rows.
        Err(calamine::XlsxError::NotAWorksheet(_)) => {
            let source = Source::Xlsx {
                sheet: name,
                first_col: 0,
            };
            return table(
                path,
                &source,
                std::iter::empty(),
                shapes,
                header_noun,
                0,
                each,
            );
        }
        Err(e) => return Err(file_error(path, format!("cannot read sheet `{name}`: {e}"))),
    };
    // The used range the sheet declares (`<dimension ref="A1:G10">`, as Excel and the usual
    // writers put it): cells are counted from its first column and a rejected row's raw text is
    // as wide as the range, as when the whole range was read. Without one, A1.
    let dim = cells.dimensions();
    let first_col = dim.start.1;
    let raw_width = dim.end.1.saturating_sub(first_col) as usize + 1;
    let source = Source::Xlsx {
        sheet: name.clone(),
        first_col,
    };
    let rows = XlsxRows {
        cells,
        sheet: &name,
        first_col,
        row: None,
        ended: false,
        done: false,
    };
    table(path, &source, rows, shapes, header_noun, raw_width, each)
}

/// The rows of a sheet from the XLSX library's cell stream, which yields the cells in the order
/// the sheet's XML holds them: row by row, as every spreadsheet writes them.
struct XlsxRows<'a, 's> {
    cells: calamine::XlsxCellReader<'a, BufReader<File>>,
    sheet: &'s str,
    first_col: u32,
    /// The row being filled.
    row: Option<Row>,
    /// The cell stream is over (reading on would run past the sheet's data).
    ended: bool,
    done: bool,
}

impl XlsxRows<'_, '_> {
    fn read(&mut self) -> Result<Option<Row>, String> {
        loop {
            if self.ended {
                return Ok(self.row.take());
            }
            let Some(cell) = self
                .cells
                .next_cell()
                .map_err(|e| format!("cannot read sheet `{}`: {e}", self.sheet))?
            else {
                self.ended = true;
                continue;
            };
            let (r, c) = cell.get_position();
            if *cell.get_value() == calamine::DataRef::Empty {
                continue;
            }
            let at = || {
                let sheet = Source::Xlsx {
                    sheet: self.sheet.to_string(),
                    first_col: 0,
                };
                sheet
                    .cell_ref(u64::from(r) + 1, c as usize)
                    .unwrap_or_default()
            };
            if r >= MAX_SHEET_ROWS {
                return Err(format!(
                    "cell {} is below row 1,048,576, the last row a sheet can have",
                    at()
                ));
            }
            if c as usize >= MAX_COLUMNS {
                return Err(format!(
                    "cell {} is right of column XFD (16,384), the last column a sheet can have",
                    at()
                ));
            }
            let value = sheet_cell(cell.get_value()).map_err(|chars| {
                format!(
                    "cell {} holds {chars} characters, more than a cell can hold ({MAX_CELL_CHARS})",
                    at()
                )
            })?;
            // A cell left of the declared range is under no header (the header lies within the
            // range), so it is not read, as a cell right of the header is not.
            if value == Cell::Empty || c < self.first_col {
                continue;
            }
            let line = u64::from(r) + 1;
            let done = match &self.row {
                Some(row) if row.line == line => None,
                Some(row) if line < row.line => {
                    return Err(format!(
                        "cell {} comes after row {} in the sheet's XML: its cells are not in row \
                         order, which no spreadsheet writes",
                        at(),
                        row.line
                    ));
                }
                _ => self.row.replace(Row {
                    line,
                    cells: Vec::new(),
                    problem: None,
                }),
            };
            let cells = &mut self.row.as_mut().expect("just set").cells;
            let i = (c - self.first_col) as usize;
            if cells.len() <= i {
                cells.resize(i + 1, Cell::Empty);
            }
            cells[i] = value;
            if done.is_some() {
                return Ok(done);
            }
        }
    }
}

impl Iterator for XlsxRows<'_, '_> {
    type Item = Result<Row, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.read();
        self.done = !matches!(r, Ok(Some(_)));
        r.transpose()
    }
}

/// A sheet cell as a [`Cell`]; `Err` holds the character count of a text too long for a cell.
fn sheet_cell(d: &calamine::DataRef<'_>) -> Result<Cell, usize> {
    use calamine::DataRef;
    let text = |s: &str| {
        if s.len() > MAX_CELL_CHARS && s.chars().count() > MAX_CELL_CHARS {
            Err(s.chars().count())
        } else {
            Ok(Cell::text(s))
        }
    };
    Ok(match d {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) | DataRef::DateTimeIso(s) => text(s)?,
        DataRef::SharedString(s) => text(s)?,
        DataRef::Int(i) => Cell::Int(*i),
        DataRef::Float(f) => Cell::Float(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(d) if d.is_duration() => {
            Cell::Other(format!("a duration ({})", d.as_f64()))
        }
        DataRef::DateTime(d) => {
            let (y, mo, da, h, mi, s, ms) = d.to_ymd_hms_milli();
            Cell::DateTime(civil(y, mo, da, h, mi, s, ms))
        }
        DataRef::DurationIso(s) => {
            text(s)?;
            Cell::Other(format!("a duration ({s})"))
        }
        DataRef::Error(e) => Cell::Other(e.to_string()),
    })
}

/// Checks an XLSX archive's parts before the XLSX library reads any, from the sizes its
/// directory declares: no part over [`MAX_XLSX_PART_BYTES`], no part the library holds whole
/// over [`MAX_XLSX_HELD_PART_BYTES`]. A part declared over [`SCAN_PARTS_OVER`] is read through
/// once first ([`scan_part`]), counting what it really holds. The zip reader also stops any part
/// at its declared size, so a directory that understates a size gets an error, not the bytes.
/// A file that is no zip archive is left to the XLSX library to refuse.
fn check_parts(path: &Path) -> Result<(), InputError> {
    let Ok(f) = File::open(path) else {
        return Ok(());
    };
    let Ok(mut zip) = zip::ZipArchive::new(BufReader::new(f)) else {
        return Ok(());
    };
    let mut scan = Vec::new();
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index_data(i) else {
            continue;
        };
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        // Only XML parts are read (pictures and embedded files are not).
        if !(lower.ends_with(".xml") || lower.ends_with(".rels")) {
            continue;
        }
        let base = lower.rsplit('/').next().unwrap_or_default();
        let held = lower.ends_with(".rels")
            || base.starts_with("theme")
            || matches!(base, "sharedstrings.xml" | "styles.xml" | "workbook.xml");
        let (limit, what) = if held {
            (MAX_XLSX_HELD_PART_BYTES, "a part read whole into memory")
        } else {
            (MAX_XLSX_PART_BYTES, "one part (a sheet's XML)")
        };
        let size = entry.size();
        if size > limit {
            return Err(file_error(
                path,
                format!(
                    "XLSX part `{name}` uncompresses to {} ({size} bytes), over the {} limit for \
                     {what}: refused, as a zip bomb would be",
                    bytes(size),
                    bytes(limit)
                ),
            ));
        }
        if size > SCAN_PARTS_OVER {
            scan.push((i, name, size));
        }
    }
    for (i, name, size) in scan {
        let part = zip
            .by_index(i)
            .map_err(|e| file_error(path, format!("cannot read XLSX part `{name}`: {e}")))?;
        scan_part(part, size, MAX_XML_STRETCH)
            .map_err(|m| file_error(path, format!("XLSX part `{name}` {m}")))?;
    }
    Ok(())
}

/// Reads an XML part through, counting its bytes (more than `declared` is an error) and the
/// longest stretch between two `<` (a text or a tag; over `max_stretch` is an error). The XLSX
/// library holds a text or a tag whole while it reads it, so this bounds its memory to a few
/// `max_stretch`; a cell's text is at most 32,767 characters, far below.
fn scan_part(mut r: impl Read, declared: u64, max_stretch: u64) -> Result<u64, String> {
    let mut buf = vec![0u8; 1 << 16];
    let (mut total, mut stretch) = (0u64, 0u64);
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("cannot be read: {e}")),
        };
        total += n as u64;
        if total > declared {
            return Err(format!(
                "holds more than the {declared} bytes its directory entry declares"
            ));
        }
        let mut from = 0;
        for at in memchr::memchr_iter(b'<', &buf[..n]) {
            if stretch + (at - from) as u64 > max_stretch {
                break;
            }
            stretch = 0;
            from = at;
        }
        stretch += (n - from) as u64;
        if stretch > max_stretch {
            return Err(format!(
                "holds a text or tag longer than {}, more than any cell or formula: refused",
                bytes(max_stretch)
            ));
        }
    }
}

/// `2 GiB`, `512 MiB`, `3.5 GiB`.
fn bytes(n: u64) -> String {
    let (v, unit) = if n >= 1 << 30 {
        (n as f64 / (1u64 << 30) as f64, "GiB")
    } else {
        (n as f64 / (1u64 << 20) as f64, "MiB")
    };
    if v.fract() == 0.0 {
        format!("{v} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
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
/// miss, so the user sees which columns are missing. [`read_table`] runs the same search on rows
/// as they are read.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn find_header<K: Copy>(
    rows: &[Row],
    source: &Source,
    shapes: &[Shape<K>],
    noun: &str,
) -> Result<(usize, Columns<K>), String> {
    // Best near miss, for the error message: (required names present, cells filled), row index.
    let mut best: Option<((usize, usize), usize)> = None;
    for (i, row) in rows.iter().enumerate() {
        if row.line > HEADER_SEARCH_ROWS {
            break;
        }
        match header_columns(row, source, shapes)? {
            HeaderMatch::Found(cols) => return Ok((i, cols)),
            HeaderMatch::Blank => {}
            HeaderMatch::Miss(score) => {
                if best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, i));
                }
            }
        }
    }
    Err(header_error(
        best.map(|(_, i)| &rows[i]),
        source,
        shapes,
        noun,
    ))
}

enum HeaderMatch<K> {
    Blank,
    Found(Columns<K>),
    /// Not a header: (most required names of one shape present, cells filled).
    Miss((usize, usize)),
}

/// Whether `row` is the header of one of the shapes (the first it matches).
fn header_columns<K: Copy>(
    row: &Row,
    source: &Source,
    shapes: &[Shape<K>],
) -> Result<HeaderMatch<K>, String> {
    if row.is_blank() {
        return Ok(HeaderMatch::Blank);
    }
    let names: Vec<String> = row
        .cells
        .iter()
        .map(|c| c.shown().trim().to_ascii_lowercase())
        .collect();
    let mut most = 0;
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
            return Ok(HeaderMatch::Found(Columns {
                kind: shape.kind,
                index,
                // Trailing empty header cells (a spreadsheet's export) are no columns.
                width: row
                    .cells
                    .iter()
                    .rposition(|c| *c != Cell::Empty)
                    .map_or(0, |i| i + 1),
                raw_width: 0,
            }));
        }
        most = most.max(present);
    }
    let filled = row.cells.iter().filter(|c| **c != Cell::Empty).count();
    Ok(HeaderMatch::Miss((most, filled)))
}

/// The error for a file without a header: the known shapes, and the near miss `best` (the row
/// holding most required names) with what it lacks.
fn header_error<K>(best: Option<&Row>, source: &Source, shapes: &[Shape<K>], noun: &str) -> String {
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
    let Some(row) = best else {
        return format!(
            "no header row: the file has no data in its first {HEADER_SEARCH_ROWS} rows. {known}"
        );
    };
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
    format!(
        "unknown {noun}: no row in the first {HEADER_SEARCH_ROWS} holds {of_a_shape}. \
         {known}. Columns seen on {}: {} ({missing})",
        where_row(source, row.line),
        seen.join(", ")
    )
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
    fn csv_lines_do_not_depend_on_how_the_input_is_buffered() {
        let text = format!(
            "\u{feff}a,b\r\n\"1\r\n2\",3\r\r\n\n\"{}\",x\n\rq,\r",
            "y".repeat(10_000)
        );
        let whole = rows(&text);
        let lines: Vec<u64> = whole.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![1, 2, 6, 8]);
        assert_eq!(whole[2].cells[0], Cell::text(&"y".repeat(10_000)));
        // One byte at a time: a `\r\n` split across reads still ends one line.
        for cap in [1, 2, 3, 7] {
            let small = std::io::BufReader::with_capacity(cap, text.as_bytes());
            let got: Vec<Row> = CsvRows::new(small).map(|r| r.unwrap()).collect();
            let l: Vec<u64> = got.iter().map(|r| r.line).collect();
            assert_eq!(l, lines, "buffer of {cap}");
            assert!(got.iter().zip(&whole).all(|(a, b)| a.cells == b.cells));
        }
        // Half a BOM is data (invalid UTF-8); a file shorter than a BOM is read whole.
        let half = csv_rows(Path::new("t.csv"), b"\xEF\xBBx,y\n").unwrap();
        assert_eq!(
            half[0].problem.as_deref(),
            Some("field 1 is not valid UTF-8")
        );
        let tiny = csv_rows(Path::new("t.csv"), b"x").unwrap();
        assert_eq!((tiny[0].line, &tiny[0].cells), (1, &vec![Cell::text("x")]));
        assert!(csv_rows(Path::new("t.csv"), b"\xEF\xBB\xBF")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn xml_parts_are_counted_and_long_stretches_refused() {
        let xml = b"<a><b>text</b></a>";
        assert_eq!(scan_part(&xml[..], 18, 8), Ok(18));
        assert!(scan_part(&xml[..], 17, 8)
            .unwrap_err()
            .contains("more than the 17 bytes"));
        // `<b>text` is the longest stretch between two `<`: 7 bytes.
        assert!(scan_part(&xml[..], 100, 7).is_ok());
        assert!(scan_part(&xml[..], 100, 6)
            .unwrap_err()
            .contains("a text or tag longer than"));
        // Across reads, and at the end of a part.
        let long = [b"<a>".as_slice(), &[b'x'; 200_000]].concat();
        assert!(scan_part(&long[..], 1 << 20, 200_003).is_ok());
        assert!(scan_part(&long[..], 1 << 20, 100_000).is_err());
        assert_eq!(bytes(2 << 30), "2 GiB");
        assert_eq!(bytes(512 << 20), "512 MiB");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
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
