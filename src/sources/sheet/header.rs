//! The header of a table: the shapes a reader knows, the search for the header row among the
//! first rows, the columns it names, and the rejection of a row in the terms of that header
//! (its column, its cell reference).

use std::collections::HashMap;

use super::{Cell, Row, Source, HEADER_SEARCH_ROWS};
use crate::sources::{mask_secrets, Rejection};

/// One header a reader knows: the columns it needs and the ones it reads when present.
pub(crate) struct Shape<K> {
    pub kind: K,
    pub title: &'static str,
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
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

/// Finds the header row (its index in `rows`) and the columns of the shape it matches. `noun`
/// names the header in the error (`invoice header`); the error lists the shapes and the near
/// miss, so the user sees which columns are missing. [`read_table`] runs the same search on rows
/// as they are read.
///
/// [`read_table`]: super::read_table
#[cfg(test)]
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

pub(super) enum HeaderMatch<K> {
    Blank,
    Found(Columns<K>),
    /// Not a header: (most required names of one shape present, cells filled).
    Miss((usize, usize)),
}

/// Whether `row` is the header of one of the shapes (the first it matches).
pub(super) fn header_columns<K: Copy>(
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
pub(super) fn header_error<K>(
    best: Option<&Row>,
    source: &Source,
    shapes: &[Shape<K>],
    noun: &str,
) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::sheet::csv_rows;
    use std::path::Path;

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
}
