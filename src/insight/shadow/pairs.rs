//! `shadow_pairs.csv`: the over-tolerance pairs sorted by day, model and ids in runs of bounded
//! size (temporary files past the budget), merged as the file is written.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use super::spill::Decoder;
use super::PAIRS_HEADER;
use crate::domain::text::safe_text;
use crate::domain::Day;

/// One line of `shadow_pairs.csv`; the field order is the sort order (model by its rank in
/// name order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PairRow {
    pub(super) day: Day,
    pub(super) rank: u32,
    pub(super) primary: String,
    pub(super) shadow: String,
    pub(super) prompt_drift: i64,
    pub(super) completion_drift: i64,
}

impl PairRow {
    fn size(&self) -> usize {
        std::mem::size_of::<PairRow>() + self.primary.len() + self.shadow.len()
    }

    fn encode(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.day.0.to_le_bytes())?;
        w.write_all(&self.rank.to_le_bytes())?;
        w.write_all(&self.prompt_drift.to_le_bytes())?;
        w.write_all(&self.completion_drift.to_le_bytes())?;
        for s in [&self.primary, &self.shadow] {
            w.write_all(&(s.len() as u32).to_le_bytes())?;
            w.write_all(s.as_bytes())?;
        }
        Ok(())
    }

    fn decode(d: &mut Decoder<impl Read>) -> io::Result<Option<PairRow>> {
        let Some(day) = d.first::<4>()? else {
            return Ok(None);
        };
        let rank = d.u32()?;
        let (prompt_drift, completion_drift) = (d.i64()?, d.i64()?);
        let mut s = Vec::new();
        d.str_into(&mut s)?;
        let primary = String::from_utf8_lossy(&s).into_owned();
        d.str_into(&mut s)?;
        let shadow = String::from_utf8_lossy(&s).into_owned();
        Ok(Some(PairRow {
            day: Day(i32::from_le_bytes(day)),
            rank,
            primary,
            shadow,
            prompt_drift,
            completion_drift,
        }))
    }
}

/// External sort of the over-tolerance pairs: sorted runs of bounded size, merged at the end.
pub(super) struct PairSorter {
    buf: Vec<PairRow>,
    bytes: usize,
    budget: usize,
    pub(super) runs: Vec<File>,
}

impl PairSorter {
    pub(super) fn new(budget: usize) -> Self {
        PairSorter {
            buf: Vec::new(),
            bytes: 0,
            budget,
            runs: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, row: PairRow) -> io::Result<()> {
        self.bytes += row.size();
        self.buf.push(row);
        if self.bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.buf.sort_unstable();
        let mut f = tempfile::tempfile()?;
        {
            let mut w = BufWriter::with_capacity(1 << 20, &mut f);
            for r in self.buf.drain(..) {
                r.encode(&mut w)?;
            }
            w.flush()?;
        }
        f.seek(SeekFrom::Start(0))?;
        self.runs.push(f);
        self.buf = Vec::new();
        self.bytes = 0;
        Ok(())
    }

    /// `shadow_pairs.csv`, header included; `names` are the model names in rank order.
    pub(super) fn finish(mut self, names: &[&str]) -> io::Result<tempfile::NamedTempFile> {
        let mut out = tempfile::NamedTempFile::new()?;
        {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(BufWriter::with_capacity(1 << 20, out.as_file_mut()));
            w.write_record(PAIRS_HEADER)?;
            let mut write = |r: &PairRow| -> io::Result<()> {
                let (day, dp, dc) = (
                    r.day.to_string(),
                    r.prompt_drift.to_string(),
                    r.completion_drift.to_string(),
                );
                w.write_record([
                    day.as_str(),
                    &*safe_text(names[r.rank as usize]),
                    &*safe_text(&r.primary),
                    &*safe_text(&r.shadow),
                    dp.as_str(),
                    dc.as_str(),
                ])?;
                Ok(())
            };
            if self.runs.is_empty() {
                self.buf.sort_unstable();
                for r in &self.buf {
                    write(r)?;
                }
            } else {
                if !self.buf.is_empty() {
                    self.spill()?;
                }
                let mut decoders: Vec<Decoder<BufReader<File>>> = self
                    .runs
                    .drain(..)
                    .map(|f| Decoder {
                        r: BufReader::with_capacity(256 << 10, f),
                    })
                    .collect();
                let mut heap = BinaryHeap::new();
                for (i, d) in decoders.iter_mut().enumerate() {
                    if let Some(r) = PairRow::decode(d)? {
                        heap.push(Reverse((r, i)));
                    }
                }
                while let Some(Reverse((r, i))) = heap.pop() {
                    write(&r)?;
                    if let Some(next) = PairRow::decode(&mut decoders[i])? {
                        heap.push(Reverse((next, i)));
                    }
                }
            }
            w.flush()?;
        }
        Ok(out)
    }
}
