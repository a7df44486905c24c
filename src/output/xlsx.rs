//! `--xlsx FILE`: the command's tables as one workbook, for the finance run that ends in a
//! spreadsheet.
//!
//! Each [`Table`] becomes a sheet: a bold, frozen header row with an autofilter; days and months
//! as real date cells; numbers in a format that shows what the column holds ([`num_format`]:
//! amounts in USD with their cents and every further decimal, per-million-token amounts to 6
//! decimals, line numbers without a thousands separator; a cell keeps about 15 significant
//! digits); rows whose `status` is flagged filled in a colour per status. Text, wherever it came
//! from, is written as a string cell: a slug like `=cmd|...` from a log is shown, never run. A
//! rerun writes the same bytes (the document's creation time is fixed, not the clock's).

use anyhow::{Context, Result};
use chrono::Datelike;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatBorder, Worksheet};

use super::{is_flagged, Kind, Table};
use crate::domain::{Day, Money, Month};

/// The most data rows a sheet is given; the rest stay in the CSV (a sheet holds 1,048,575).
pub(crate) const MAX_SHEET_ROWS: usize = 100_000;

/// The widest a column is made, in characters (a long note wraps the view, not the file).
const MAX_WIDTH: usize = 60;

/// A workbook being filled, sheet by sheet, in the order given.
pub(crate) struct Workbook {
    wb: rust_xlsxwriter::Workbook,
    header: Format,
}

/// The fills a row may have: none, and one per flag colour ([`fill`]).
const FILLS: [Option<Color>; 3] = [None, Some(Color::RGB(0xFFC7CE)), Some(Color::RGB(0xFFEB9C))];

/// The number format of a column: what it holds, shown in full.
fn num_format(column: &str, kind: Kind) -> &'static str {
    match kind {
        Kind::Text | Kind::Code => "@",
        // A line number names a line: no thousands separator.
        Kind::Count if column == "line" => "0",
        Kind::Count => "#,##0",
        // Per-call and per-million-token amounts are rounded to 6 decimals (formats.md §6).
        Kind::Money if column.contains("_per_") => "[$$-409]#,##0.000000",
        // Exact amounts: the cents, then every further decimal the amount has (a few tokens at
        // a per-million price give 9 or 10), so a delta of 0.004 does not show as $0.00.
        Kind::Money => "[$$-409]#,##0.00########",
        Kind::Number if column.ends_with("_pct") => "0.00",
        // Milliseconds: whole or with a decimal, as computed.
        Kind::Number => "General",
        Kind::Day => "yyyy-mm-dd",
        Kind::Month => "yyyy-mm",
    }
}

/// A cell format: a number format, and a row's fill.
fn cell_format(num: &str, fill: Option<Color>) -> Format {
    let f = Format::new().set_num_format(num);
    match fill {
        Some(c) => f.set_background_color(c),
        None => f,
    }
}

/// The formats of one sheet: per column, one for each fill, and the text format per fill
/// (for an empty cell of a flagged row, or a cell that does not read as its column's kind).
struct SheetFormats {
    columns: Vec<[Format; 3]>,
    text: [Format; 3],
}

impl SheetFormats {
    fn new(table: &Table) -> SheetFormats {
        let per_fill = |num: &str| FILLS.map(|f| cell_format(num, f));
        SheetFormats {
            columns: table
                .header
                .iter()
                .zip(table.kinds())
                .map(|(h, k)| per_fill(num_format(h, k)))
                .collect(),
            text: per_fill("@"),
        }
    }
}

/// The fill of a flagged row: red for what is missing or wrong, amber for what cannot be
/// checked or priced.
fn fill(status: &str) -> Option<Color> {
    if !is_flagged(status) {
        return None;
    }
    Some(match status {
        "unpriced" | "no_policy" | "retiring" | "dated_snapshot" | "never_listed" => {
            Color::RGB(0xFFEB9C)
        }
        _ => Color::RGB(0xFFC7CE),
    })
}

impl Default for Workbook {
    fn default() -> Self {
        Self::new()
    }
}

impl Workbook {
    pub(crate) fn new() -> Workbook {
        let mut wb = rust_xlsxwriter::Workbook::new();
        // A fixed creation time: the same inputs give the same bytes.
        if let Ok(t) = ExcelDateTime::from_ymd(2000, 1, 1) {
            wb.set_properties(
                &DocProperties::new()
                    .set_creation_datetime(&t)
                    .set_title("spendrecon"),
            );
        }
        Workbook {
            wb,
            header: Format::new()
                .set_bold()
                .set_border_bottom(FormatBorder::Thin),
        }
    }

    /// Adds `table` as sheet `name` (its first [`MAX_SHEET_ROWS`] rows, and a line saying how
    /// many more the CSV has).
    pub(crate) fn sheet(&mut self, name: &str, table: &Table) -> Result<()> {
        self.sheet_part(name, table, 0)
    }

    /// As [`Workbook::sheet`] for a table that is part of a longer one: `omitted` rows more.
    pub(crate) fn sheet_part(&mut self, name: &str, table: &Table, omitted: usize) -> Result<()> {
        let ws = self.wb.add_worksheet();
        ws.set_name(name)
            .with_context(|| format!("naming sheet {name}"))?;
        fill_sheet(ws, &self.header, table, omitted)
            .with_context(|| format!("writing sheet {name}"))
    }

    /// The workbook's bytes (the run writes them with its other files).
    pub(crate) fn into_bytes(mut self) -> Result<Vec<u8>> {
        self.wb.save_to_buffer().context("building the workbook")
    }
}

fn fill_sheet(ws: &mut Worksheet, header: &Format, table: &Table, omitted: usize) -> Result<()> {
    let kinds = table.kinds();
    let formats = SheetFormats::new(table);
    let status_col = table.header.iter().position(|h| *h == "status");
    let mut widths: Vec<usize> = table.header.iter().map(|h| h.chars().count()).collect();
    for (c, h) in table.header.iter().enumerate() {
        ws.write_string_with_format(0, col(c), *h, header)?;
    }
    let shown = table.rows.len().min(MAX_SHEET_ROWS);
    for (i, row) in table.rows[..shown].iter().enumerate() {
        let r = i as u32 + 1;
        let colour = status_col.and_then(|c| row.get(c)).and_then(|s| fill(s));
        let f = FILLS.iter().position(|c| *c == colour).unwrap_or(0);
        for (c, (cell, kind)) in row.iter().zip(&kinds).enumerate() {
            widths[c] = widths[c].max(cell.chars().count().min(MAX_WIDTH));
            let cell_formats = (&formats.columns[c][f], &formats.text[f]);
            write_cell(ws, (r, col(c)), cell, *kind, cell_formats, colour.is_some())?;
        }
    }
    let more = table.rows.len() - shown + omitted;
    if more > 0 {
        let note = format!("... and {more} more rows: see the CSV file");
        ws.write_string(shown as u32 + 1, 0, note)?;
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(col(c), (*w + 2) as f64)?;
    }
    ws.set_freeze_panes(1, 0)?;
    if !table.header.is_empty() {
        ws.autofilter(0, 0, shown as u32, col(table.header.len() - 1))?;
    }
    Ok(())
}

fn col(c: usize) -> u16 {
    c.min(u16::MAX as usize) as u16
}

/// One cell by its column's kind, in the column's format. A cell that does not read as its kind
/// (which the tool's own tables never hold) is written as text rather than lost.
fn write_cell(
    ws: &mut Worksheet,
    (r, c): (u32, u16),
    cell: &str,
    kind: Kind,
    (f, text): (&Format, &Format),
    filled: bool,
) -> Result<()> {
    if cell.is_empty() {
        // An empty cell of a flagged row still carries the row's colour.
        if filled {
            ws.write_blank(r, c, text)?;
        }
        return Ok(());
    }
    let number = |s: &str| s.parse::<Money>().ok().and_then(|m| m.to_f64());
    let date = match kind {
        Kind::Day => Day::parse(cell).and_then(|d| {
            let d = d.date();
            excel_date(d.year(), d.month(), d.day())
        }),
        Kind::Month => Month::parse(cell).and_then(|m| excel_date(m.year(), m.number(), 1)),
        _ => None,
    };
    match kind {
        Kind::Count | Kind::Money | Kind::Number => match number(cell) {
            Some(v) => ws.write_number_with_format(r, c, v, f)?,
            None => ws.write_string_with_format(r, c, cell, text)?,
        },
        Kind::Day | Kind::Month => match date {
            Some(d) => ws.write_date_with_format(r, c, &d, f)?,
            None => ws.write_string_with_format(r, c, cell, text)?,
        },
        Kind::Text | Kind::Code => ws.write_string_with_format(r, c, cell, f)?,
    };
    Ok(())
}

fn excel_date(y: i32, m: u32, d: u32) -> Option<ExcelDateTime> {
    ExcelDateTime::from_ymd(u16::try_from(y).ok()?, m as u8, d as u8).ok()
}
