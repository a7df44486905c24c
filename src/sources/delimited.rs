//! CSV logs: a header row names the columns (contract names, aliases, or dotted `usage.*` names);
//! each record is mapped onto [`Fields`] through a column map resolved once per file.

use std::borrow::Cow;
use std::sync::Arc;

use crate::domain::Call;
use crate::sources::record::{FieldId, FieldSet, Fields, RowError, Scalar};
use crate::sources::schema::columns::{self, ColumnUse};
use crate::sources::schema::rows::Found;
use crate::sources::schema::Mapping;

/// Which contract field each column feeds; resolved from the header.
#[derive(Debug, Clone)]
pub struct CsvLayout {
    pub columns: Vec<Option<FieldId>>,
    /// Whether each column carries the contract's own name (not an alias or dotted twin).
    pub primary: Vec<bool>,
    /// Physical lines the header took (usually 1).
    pub header_lines: u64,
    /// A schema's mapping and what each column feeds, when `--schema` maps the columns.
    pub(crate) mapped: Option<(Arc<Mapping>, Vec<ColumnUse>)>,
    /// The fields the command reads (a schema's others are not checked).
    needed: FieldSet,
}

impl CsvLayout {
    /// The layout of docs/formats.md §1 columns.
    pub fn from_header(
        names: &[&str],
        header_lines: u64,
        needed: FieldSet,
    ) -> Result<CsvLayout, String> {
        Self::from_header_with(names, header_lines, needed, None)
    }

    /// The layout under a schema: its column map when it maps rows, else §1's.
    pub(crate) fn from_header_with(
        names: &[&str],
        header_lines: u64,
        needed: FieldSet,
        schema: Option<&Arc<Mapping>>,
    ) -> Result<CsvLayout, String> {
        if let Some(m) = schema {
            let uses = columns::columns(m, names)?;
            return Ok(CsvLayout {
                columns: vec![None; names.len()],
                primary: vec![false; names.len()],
                header_lines,
                mapped: Some((Arc::clone(m), uses)),
                needed,
            });
        }
        let mut columns: Vec<Option<FieldId>> =
            names.iter().map(|n| FieldId::from_name(n)).collect();
        // The contract's own name wins over an alias or a dotted `usage.*` twin when both hold
        // a value, as a flat JSON field wins over its nested twin.
        let primary: Vec<bool> = names
            .iter()
            .zip(&columns)
            .map(|(n, c)| c.is_some_and(|id| n.trim().eq_ignore_ascii_case(id.name())))
            .collect();
        let has = |id| columns.contains(&Some(id));
        let mut missing = Vec::new();
        for (id, name) in [
            (FieldId::Ts, "ts"),
            (FieldId::Provider, "provider"),
            (FieldId::Model, "model"),
        ] {
            if !has(id) {
                missing.push(name);
            }
        }
        if !has(FieldId::PromptTokens) && !has(FieldId::InputTokens) {
            missing.push("prompt_tokens");
        }
        if !has(FieldId::CompletionTokens) && !has(FieldId::OutputTokens) {
            missing.push("completion_tokens");
        }
        if !missing.is_empty() {
            return Err(format!(
                "header lacks required column(s) {}; found: {}",
                missing.join(", "),
                names.join(",")
            ));
        }
        for c in columns.iter_mut() {
            if c.is_some_and(|id| !needed.contains(id)) {
                *c = None;
            }
        }
        Ok(CsvLayout {
            columns,
            primary,
            header_lines,
            mapped: None,
            needed,
        })
    }
}

/// Maps one record onto a call (`None`: a schema's record that is not a call).
pub fn parse_record<'r>(
    layout: &'r CsvLayout,
    rec: &'r csv::ByteRecord,
) -> Result<Option<Call<'r>>, RowError> {
    match &layout.mapped {
        Some((m, uses)) => parse_mapped(m, uses, layout.needed, rec.iter()),
        None => parse_cells(layout, rec.iter()).map(Some),
    }
}

/// Cells of one unquoted line split at commas: the fast path for the (usual) chunk that holds no
/// quote character at all, where a comma is always a separator.
pub fn parse_plain_line<'r>(
    layout: &'r CsvLayout,
    line: &'r [u8],
) -> Result<Option<Call<'r>>, RowError> {
    let cells = Commas { rest: Some(line) };
    match &layout.mapped {
        Some((m, uses)) => parse_mapped(m, uses, layout.needed, cells),
        None => parse_cells(layout, cells).map(Some),
    }
}

/// One record through a schema's column map.
fn parse_mapped<'r>(
    m: &'r Mapping,
    uses: &'r [ColumnUse],
    needed: FieldSet,
    cells: impl Iterator<Item = &'r [u8]>,
) -> Result<Option<Call<'r>>, RowError> {
    let mut found = Found::default();
    let mut n = 0;
    let mut bad_text = None;
    for cell in cells {
        let k = n;
        n += 1;
        let cell = if k == 0 { strip_boms(cell) } else { cell };
        let Some(u) = uses.get(k) else { continue };
        if cell.is_empty() || matches!(u, ColumnUse::Skip) {
            continue;
        }
        match std::str::from_utf8(cell) {
            Ok(t) => columns::put_cell(m, u, t, &mut found),
            Err(_) => {
                bad_text.get_or_insert(RowError::new(
                    None,
                    format!(
                        "column {}: not valid UTF-8 (Latin-1 or binary bytes?)",
                        k + 1
                    ),
                ));
            }
        }
    }
    if n != uses.len() {
        return Err(RowError::new(
            None,
            format!("expected {} fields as in the header, found {n}", uses.len()),
        ));
    }
    if let Some(e) = bad_text {
        return Err(e);
    }
    match found.finish(m, needed)? {
        None => Ok(None),
        Some(f) => f.into_call().map(Some),
    }
}

/// The first comma, eight bytes at a time (SWAR): cells are short, where a vector search costs
/// more to set up than it saves.
#[inline]
fn comma(b: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(word) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes")) ^ (LO * b',' as u64);
        let hits = x.wrapping_sub(LO) & !x & HI;
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == b',').map(|k| i + k)
}

/// Cells between commas.
struct Commas<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Commas<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let r = self.rest?;
        match comma(r) {
            Some(i) => {
                self.rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                self.rest = None;
                Some(r)
            }
        }
    }
}

/// One pass over the cells; the field count is checked at the end and reported before any
/// cell's own error, since a row with the wrong number of fields is wrong as a whole.
fn parse_cells<'r>(
    layout: &CsvLayout,
    cells: impl Iterator<Item = &'r [u8]>,
) -> Result<Call<'r>, RowError> {
    let mut fields = Fields::default();
    let mut n = 0;
    let mut bad_text = None;
    for cell in cells {
        let k = n;
        n += 1;
        // A BOM opening a record (files joined end to end) is not data. The csv crate drops one
        // at the start of its input, i.e. of a chunk; dropping them here too gives the row the
        // same verdict wherever chunks are cut and whichever path reads it.
        let cell = if k == 0 { strip_boms(cell) } else { cell };
        let Some(&Some(id)) = layout.columns.get(k) else {
            continue;
        };
        if cell.is_empty() || (!layout.primary[k] && fields.slot(id).is_some()) {
            continue;
        }
        let text = if cell.is_ascii() {
            // SAFETY: ASCII bytes are valid UTF-8.
            unsafe { std::str::from_utf8_unchecked(cell) }
        } else {
            match std::str::from_utf8(cell) {
                Ok(t) => t,
                Err(_) => {
                    bad_text.get_or_insert(RowError::new(
                        Some(id.name()),
                        "not valid UTF-8 (Latin-1 or binary bytes?)",
                    ));
                    continue;
                }
            }
        };
        *fields.slot(id) = Some(Scalar::S(Cow::Borrowed(text)));
    }
    if n != layout.columns.len() {
        return Err(RowError::new(
            None,
            format!(
                "expected {} fields as in the header, found {n}",
                layout.columns.len()
            ),
        ));
    }
    if let Some(e) = bad_text {
        return Err(e);
    }
    fields.into_call()
}

fn strip_boms(mut cell: &[u8]) -> &[u8] {
    while let Some(rest) = cell.strip_prefix(b"\xEF\xBB\xBF") {
        cell = rest;
    }
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_search_matches_a_plain_scan() {
        for len in 0..20 {
            for at in 0..len {
                let mut v = vec![b'7'; len];
                v[at] = b',';
                if at + 1 < len {
                    v[len - 1] = b',';
                }
                assert_eq!(comma(&v), Some(at));
            }
            assert_eq!(comma(&vec![b'x'; len]), None);
        }
    }

    #[test]
    fn header_must_name_required_columns() {
        let e = CsvLayout::from_header(
            &["ts", "provider", "model", "prompt_tokens"],
            1,
            FieldSet::ALL,
        )
        .unwrap_err();
        assert!(e.contains("completion_tokens"), "{e}");
        assert!(CsvLayout::from_header(
            &[
                "ts",
                "provider",
                "model",
                "usage.input_tokens",
                "output_tokens"
            ],
            1,
            FieldSet::ALL
        )
        .is_ok());
    }

    #[test]
    fn contract_name_wins_over_dotted_twin() {
        let layout = CsvLayout::from_header(
            &[
                "ts",
                "provider",
                "model",
                "usage.prompt_tokens",
                "prompt_tokens",
                "completion_tokens",
            ],
            1,
            FieldSet::ALL,
        )
        .unwrap();
        let rec = csv::ByteRecord::from(vec!["2026-04-01T00:00:00Z", "p", "m", "999", "1000", "0"]);
        assert_eq!(
            parse_record(&layout, &rec).unwrap().unwrap().usage.prompt,
            1000
        );
    }

    #[test]
    fn a_bom_opening_a_line_is_not_data() {
        let layout = CsvLayout::from_header(
            &[
                "ts",
                "provider",
                "model",
                "prompt_tokens",
                "completion_tokens",
            ],
            1,
            FieldSet::ALL,
        )
        .unwrap();
        let line = b"\xEF\xBB\xBF\xEF\xBB\xBF2026-04-01T00:00:00Z,p,m,5,7";
        let plain = parse_plain_line(&layout, line).unwrap();
        // What the csv crate reads from the line at the start of a chunk: one BOM dropped.
        let rec = csv::ByteRecord::from(vec![
            &b"\xEF\xBB\xBF2026-04-01T00:00:00Z"[..],
            b"p",
            b"m",
            b"5",
            b"7",
        ]);
        let record = parse_record(&layout, &rec).unwrap();
        assert_eq!(format!("{plain:?}"), format!("{record:?}"));
        assert_eq!(plain.unwrap().ts_ms, 1_775_001_600_000);
    }

    #[test]
    fn record_maps_by_header() {
        let layout = CsvLayout::from_header(
            &[
                "model",
                "ts",
                "provider",
                "completion_tokens",
                "prompt_tokens",
                "junk",
            ],
            1,
            FieldSet::ALL,
        )
        .unwrap();
        let rec = csv::ByteRecord::from(vec!["m", "2026-04-01T00:00:00Z", "p", "5", "7", "x"]);
        let c = parse_record(&layout, &rec).unwrap().unwrap();
        assert_eq!((c.usage.prompt, c.usage.completion), (7, 5));
        let short = csv::ByteRecord::from(vec!["m", "2026-04-01T00:00:00Z"]);
        assert!(parse_record(&layout, &short)
            .unwrap_err()
            .reason
            .contains("expected 6 fields"));
    }
}
