//! The XLSX reader: one sheet's cells streamed by the XLSX library (calamine) and gathered into
//! rows, after the zip checks of `limits`, with the sheet's limits on rows, columns and text.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use super::cells::civil;
use super::limits::check_parts;
use super::{table, Cell, Columns, Row, Shape, Source};
use super::{MAX_CELL_CHARS, MAX_COLUMNS, MAX_SHEET_ROWS};
use crate::sources::{file_error, InputError};

pub(super) fn xlsx_table<K: Copy>(
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
