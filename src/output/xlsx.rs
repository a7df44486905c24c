//! `--xlsx FILE`: the command's tables as one workbook, for the finance run that ends in a
//! spreadsheet.
//!
//! Each [`Table`] becomes a sheet: a bold, frozen header row with an autofilter; days and months
//! as real date cells; amounts as numbers shown in a USD format with two decimals (the cell
//! keeps every decimal the CSV has, as far as a spreadsheet number can: about 15 significant
//! digits); counts as numbers; rows whose `status` is flagged filled in a colour per status.
//! Text, wherever it came from, is written as a string cell: a slug like `=cmd|…` from a log is
//! shown, never run. The file is written whole or not at all, and a rerun writes the same bytes
//! (the document's creation time is fixed, not the clock's).

use std::path::Path;

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
    formats: Formats,
}

/// The cell formats, plain and for each flag colour.
struct Formats {
    header: Format,
    by_fill: Vec<(Option<Color>, KindFormats)>,
}

struct KindFormats {
    text: Format,
    count: Format,
    money: Format,
    number: Format,
    day: Format,
    month: Format,
}

impl KindFormats {
    fn new(fill: Option<Color>) -> KindFormats {
        let f = |num: &str| {
            let f = Format::new().set_num_format(num);
            match fill {
                Some(c) => f.set_background_color(c),
                None => f,
            }
        };
        KindFormats {
            text: f("@"),
            count: f("#,##0"),
            money: f("[$$-409]#,##0.00"),
            number: f("0.00##"),
            day: f("yyyy-mm-dd"),
            month: f("yyyy-mm"),
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
        let fills = [None, Some(Color::RGB(0xFFC7CE)), Some(Color::RGB(0xFFEB9C))];
        Workbook {
            wb,
            formats: Formats {
                header: Format::new()
                    .set_bold()
                    .set_border_bottom(FormatBorder::Thin),
                by_fill: fills.iter().map(|f| (*f, KindFormats::new(*f))).collect(),
            },
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
        fill_sheet(ws, &self.formats, table, omitted)
            .with_context(|| format!("writing sheet {name}"))
    }

    /// Writes the workbook to `path`, whole or not at all.
    pub(crate) fn save(mut self, path: &Path) -> Result<()> {
        let body = self.wb.save_to_buffer().context("building the workbook")?;
        super::write_atomic(path, &body).with_context(|| format!("writing {}", path.display()))
    }
}

fn fill_sheet(ws: &mut Worksheet, formats: &Formats, table: &Table, omitted: usize) -> Result<()> {
    let kinds = table.kinds();
    let status_col = table.header.iter().position(|h| *h == "status");
    let mut widths: Vec<usize> = table.header.iter().map(|h| h.chars().count()).collect();
    for (c, h) in table.header.iter().enumerate() {
        ws.write_string_with_format(0, col(c), *h, &formats.header)?;
    }
    let shown = table.rows.len().min(MAX_SHEET_ROWS);
    for (i, row) in table.rows[..shown].iter().enumerate() {
        let r = i as u32 + 1;
        let colour = status_col.and_then(|c| row.get(c)).and_then(|s| fill(s));
        let f = formats
            .by_fill
            .iter()
            .find(|(c, _)| *c == colour)
            .map(|(_, f)| f)
            .unwrap_or(&formats.by_fill[0].1);
        for (c, (cell, kind)) in row.iter().zip(&kinds).enumerate() {
            widths[c] = widths[c].max(cell.chars().count().min(MAX_WIDTH));
            write_cell(ws, r, col(c), cell, *kind, f, colour.is_some())?;
        }
    }
    let more = table.rows.len() - shown + omitted;
    if more > 0 {
        let note = format!("… and {more} more rows: see the CSV file");
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

/// One cell by its column's kind. A cell that does not read as its kind (which the tool's own
/// tables never hold) is written as text rather than lost.
fn write_cell(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    cell: &str,
    kind: Kind,
    f: &KindFormats,
    filled: bool,
) -> Result<()> {
    if cell.is_empty() {
        // An empty cell of a flagged row still carries the row's colour.
        if filled {
            ws.write_blank(r, c, &f.text)?;
        }
        return Ok(());
    }
    let number = |s: &str| s.parse::<Money>().ok().and_then(|m| m.to_f64());
    match kind {
        Kind::Count | Kind::Money | Kind::Number => match number(cell) {
            Some(v) => {
                let fmt = match kind {
                    Kind::Count => &f.count,
                    Kind::Money => &f.money,
                    _ => &f.number,
                };
                ws.write_number_with_format(r, c, v, fmt)?;
            }
            None => {
                ws.write_string_with_format(r, c, cell, &f.text)?;
            }
        },
        Kind::Day => match Day::parse(cell).and_then(|d| {
            let d = d.date();
            excel_date(d.year(), d.month(), d.day())
        }) {
            Some(d) => {
                ws.write_date_with_format(r, c, &d, &f.day)?;
            }
            None => {
                ws.write_string_with_format(r, c, cell, &f.text)?;
            }
        },
        Kind::Month => match Month::parse(cell).and_then(|m| excel_date(m.year(), m.number(), 1)) {
            Some(d) => {
                ws.write_date_with_format(r, c, &d, &f.month)?;
            }
            None => {
                ws.write_string_with_format(r, c, cell, &f.text)?;
            }
        },
        Kind::Text | Kind::Code => {
            ws.write_string_with_format(r, c, cell, &f.text)?;
        }
    }
    Ok(())
}

fn excel_date(y: i32, m: u32, d: u32) -> Option<ExcelDateTime> {
    ExcelDateTime::from_ymd(u16::try_from(y).ok()?, m as u8, d as u8).ok()
}
