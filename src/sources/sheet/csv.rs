//! The CSV reader: records parsed by `csv_core` straight from the buffer, each with the physical
//! line it starts on, so that a rejected row names the line an editor shows.

use std::io::BufRead;
use std::path::Path;

use super::{table, Cell, Columns, Row, Shape, Source, MAX_COLUMNS};
use crate::sources::{InputError, MAX_RECORD_BYTES};

/// [`read_table`] on CSV bytes already in memory (the fuzz targets and tests).
///
/// [`read_table`]: super::read_table
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
#[cfg(test)]
pub(crate) fn csv_rows(path: &Path, data: &[u8]) -> Result<Vec<Row>, InputError> {
    CsvRows::new(data)
        .collect::<Result<Vec<Row>, String>>()
        .map_err(|m| crate::sources::file_error(path, m))
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
