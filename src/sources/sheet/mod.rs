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
//!
//! The code falls in five parts: the cells and rows as read and the parsers of their values
//! (`cells`), the header search and its columns (`header`), the CSV reader (`csv`), the XLSX
//! reader (`xlsx`), and the zip checks run before an XLSX file is opened (`limits`); this file
//! holds the limits, the file list and the reading loop they share.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::{file_error, InputError};

mod cells;
mod csv;
mod header;
mod limits;
mod xlsx;

#[cfg(test)]
pub(crate) use self::csv::csv_rows;
pub(crate) use self::csv::{read_csv_bytes, CsvRows};
pub(crate) use cells::{
    amount, day, decimal, instant, instant_text, serial, text, tokens, Cell, Row, Source,
};
#[cfg(test)]
pub(crate) use header::find_header;
use header::{header_columns, header_error, HeaderMatch};
pub(crate) use header::{Columns, RowError, Shape};
use xlsx::xlsx_table;

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
    expand_with(paths, flag, noun, (".csv or .xlsx", |_| false))
}

/// [`expand`], a directory also giving the files `also` accepts (`kinds` names every kind taken,
/// for the message about a directory that holds none).
pub(crate) fn expand_with(
    paths: &[PathBuf],
    flag: &str,
    noun: &str,
    (kinds, also): (&str, fn(&Path) -> bool),
) -> Result<Vec<PathBuf>, InputError> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| file_error(p, e))?;
        if meta.is_dir() {
            let entries: Vec<PathBuf> = super::dir_files(p)?
                .into_iter()
                .filter(|e| extension(e).is_some() || also(e))
                .collect();
            if entries.is_empty() {
                return Err(file_error(
                    p,
                    format!("directory holds no {kinds} {noun} files"),
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
