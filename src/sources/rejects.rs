//! Rejected rows, kept in bounded memory: each worker holds a few thousand and spills the rest to a
//! temporary file in arrival order; at the end the workers' streams are merged in input order
//! (file as given, then line) straight into the final `rejected.csv` body. A file of ten million
//! broken lines therefore costs disk, not memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};
use std::path::Path;

use super::record::{FieldId, RowError};
use super::Rejection;
use crate::domain::text::safe_text;

/// Rejections a worker keeps in memory before spilling.
const SPILL_AT: usize = 16_384;
/// Rejections kept in memory after the merge, for messages.
const FIRST_KEPT: usize = 10;

/// A rejection whose line is known only relative to its chunk until all chunks are counted.
#[derive(Debug)]
pub(super) struct Pending {
    pub file: usize,
    /// Chunk sequence number; `u64::MAX` for Parquet rows and read errors (line is absolute).
    pub seq: u64,
    pub rel_line: u64,
    pub error: RowError,
    pub raw: String,
}

impl Pending {
    fn key(&self) -> (usize, u64, u64) {
        (self.file, self.seq, self.rel_line)
    }
}

/// One worker's rejections, in the order it met them, which is input order: the reader hands
/// out chunks in file and sequence order and a worker finishes one before taking the next.
#[derive(Default)]
pub(super) struct Store {
    mem: Vec<Pending>,
    spill: Option<csv::Writer<BufWriter<File>>>,
    spilled: u64,
}

impl Store {
    pub(crate) fn push(&mut self, mut p: Pending) {
        // A reason may quote the bad value, and a log value may be an API key.
        if p.error.reason.contains("sk-") {
            p.error.reason = super::mask_secrets(&p.error.reason);
        }
        self.mem.push(p);
        if self.mem.len() >= SPILL_AT {
            // If the temporary file cannot be written, keep rows in memory rather than lose them.
            let _ = self.spill_out();
        }
    }

    fn spill_out(&mut self) -> io::Result<()> {
        if self.spill.is_none() {
            self.spill = Some(csv::Writer::from_writer(BufWriter::new(
                tempfile::tempfile()?,
            )));
        }
        let w = self.spill.as_mut().expect("just set");
        for p in &self.mem {
            w.write_record([
                p.file.to_string().as_str(),
                &p.seq.to_string(),
                &p.rel_line.to_string(),
                p.error.column.unwrap_or(""),
                &p.error.reason,
                &p.raw,
            ])?;
        }
        self.spilled += self.mem.len() as u64;
        self.mem.clear();
        Ok(())
    }

    fn into_iter(self) -> io::Result<Box<dyn Iterator<Item = Pending>>> {
        let mem = self.mem.into_iter();
        let Some(w) = self.spill else {
            return Ok(Box::new(mem));
        };
        let mut file = w
            .into_inner()
            .map_err(|e| e.into_error())?
            .into_inner()
            .map_err(|e| e.into_error())?;
        file.rewind()?;
        let spilled = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(io::BufReader::new(file))
            .into_records()
            .filter_map(|r| r.ok())
            .map(|r| Pending {
                file: r[0].parse().unwrap_or(0),
                seq: r[1].parse().unwrap_or(0),
                rel_line: r[2].parse().unwrap_or(0),
                error: RowError::new(FieldId::from_name(&r[3]).map(FieldId::name), &r[4]),
                raw: r[5].to_string(),
            });
        Ok(Box::new(spilled.chain(mem)))
    }
}

/// Every rejected row of a scan: a count, the first few for messages, and the full
/// `rejected.csv` body in a temporary file.
#[derive(Debug)]
pub(crate) struct Rejections {
    pub count: u64,
    pub first: Vec<Rejection>,
    body: tempfile::NamedTempFile,
}

pub(crate) const REJECTED_HEADER: [&str; 5] = ["file", "line", "column", "reason", "raw"];

impl Rejections {
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// No rejected row: what a run that reads no log rows (`--usage`) reports.
    pub(crate) fn none() -> io::Result<Rejections> {
        merge(Vec::new(), &[], |_| 0)
    }

    /// The complete `rejected.csv` (header included).
    pub(crate) fn csv_path(&self) -> &Path {
        self.body.path()
    }
}

/// Merges the workers' stores in input order, resolving each line number with `line_of`.
pub(super) fn merge(
    stores: Vec<Store>,
    file_names: &[String],
    line_of: impl Fn(&Pending) -> u64,
) -> io::Result<Rejections> {
    let mut streams: Vec<std::iter::Peekable<Box<dyn Iterator<Item = Pending>>>> = stores
        .into_iter()
        .map(|s| s.into_iter().map(Iterator::peekable))
        .collect::<io::Result<_>>()?;
    let mut heap = BinaryHeap::new();
    for (i, s) in streams.iter_mut().enumerate() {
        if let Some(p) = s.peek() {
            heap.push(Reverse((p.key(), i)));
        }
    }
    let mut body = tempfile::NamedTempFile::new()?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(BufWriter::new(body.as_file_mut()));
    w.write_record(REJECTED_HEADER)?;
    let mut count = 0;
    let mut first = Vec::new();
    while let Some(Reverse((_, i))) = heap.pop() {
        let p = streams[i].next().expect("peeked");
        if let Some(next) = streams[i].peek() {
            heap.push(Reverse((next.key(), i)));
        }
        let r = Rejection {
            file: file_names[p.file].clone(),
            line: line_of(&p),
            column: p.error.column,
            reason: p.error.reason,
            raw: p.raw,
        };
        w.write_record([
            safe_text(&r.file).as_ref(),
            &r.line.to_string(),
            r.column.unwrap_or(""),
            &safe_text(&r.reason),
            &safe_text(&r.raw),
        ])?;
        count += 1;
        if first.len() < FIRST_KEPT {
            first.push(r);
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.flush()?;
    Ok(Rejections { count, first, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_and_kept_rows_merge_in_input_order() {
        // Two workers took alternate chunks of one file; 40,000 rejections force spills.
        let mut a = Store::default();
        let mut b = Store::default();
        for seq in 0..40u64 {
            let store = if seq % 2 == 0 { &mut a } else { &mut b };
            for rel in 1..=1000 {
                store.push(Pending {
                    file: 0,
                    seq,
                    rel_line: rel,
                    error: RowError::new(Some("ts"), "bad"),
                    raw: format!("{seq}/{rel}"),
                });
            }
        }
        assert!(a.spilled > 0 && b.spilled > 0);
        let r = merge(vec![a, b], &["f".to_string()], |p| {
            p.seq * 1000 + p.rel_line
        })
        .unwrap();
        assert_eq!(r.count, 40_000);
        let text = std::fs::read_to_string(r.csv_path()).unwrap();
        let lines: Vec<u64> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(lines, (1..=40_000).collect::<Vec<_>>());
        assert!(text.lines().nth(1).unwrap().ends_with(",ts,bad,0/1"));
    }
}
