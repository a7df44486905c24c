//! Sorting more records than fit in memory: records are kept as bytes in a buffer; when the
//! buffer passes its budget it is sorted and written to a temporary file (a *run*, unnamed, in
//! `std::env::temp_dir()`, so `TMPDIR` moves it, and removed by the OS when closed), and at the
//! end the runs and the buffer are merged in order. Per-call matching (`reconcile`,
//! docs/formats.md §11) sorts both sides' calls by id this way, so ten million calls a side
//! stay within a few hundred MiB.
//!
//! A record is a sort key (`u64`, then a tie-breaker `u64`) and an opaque payload the caller
//! encodes and decodes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

/// The 64-bit key both sides of per-call matching sort by: the provider and the call's id. Ids
/// are kept as this hash for matching; two distinct ids of one provider share it with odds of
/// about n / 2^64.
pub(crate) fn id_key(provider: &str, id: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (provider, id).hash(&mut h);
    h.finish()
}

/// Bytes a sorter keeps in memory before it writes a run: 64 MiB.
pub(crate) const DEFAULT_BUDGET: usize = 64 << 20;

/// Records sorted by `(key, tie)`, in memory up to a budget, then in runs on disk.
pub(crate) struct Sorter {
    budget: usize,
    /// The records in memory: `payload` bytes one after another.
    arena: Vec<u8>,
    /// (key, tie, offset, len) of each record in `arena`.
    index: Vec<(u64, u64, u32, u32)>,
    runs: Vec<File>,
    len: u64,
}

impl Sorter {
    /// A sorter that keeps at most about `budget` bytes (records and their index) in memory.
    pub(crate) fn new(budget: usize) -> Sorter {
        Sorter {
            budget: budget.max(1),
            arena: Vec::new(),
            index: Vec::new(),
            runs: Vec::new(),
            len: 0,
        }
    }

    /// Records pushed so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Runs written to disk so far.
    #[cfg(test)]
    fn runs(&self) -> usize {
        self.runs.len()
    }

    pub(crate) fn push(&mut self, key: u64, tie: u64, payload: &[u8]) -> io::Result<()> {
        if self.arena.len() + payload.len() > u32::MAX as usize || self.in_memory() >= self.budget {
            self.spill()?;
        }
        self.index.push((
            key,
            tie,
            self.arena.len() as u32,
            payload.len().min(u32::MAX as usize) as u32,
        ));
        self.arena.extend_from_slice(payload);
        self.len += 1;
        Ok(())
    }

    fn in_memory(&self) -> usize {
        self.arena.len() + self.index.len() * std::mem::size_of::<(u64, u64, u32, u32)>()
    }

    /// Sorts the buffer and writes it to a new run.
    fn spill(&mut self) -> io::Result<()> {
        if self.index.is_empty() {
            return Ok(());
        }
        self.sort();
        let mut w = BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
        for &(key, tie, off, len) in &self.index {
            write_record(
                &mut w,
                key,
                tie,
                &self.arena[off as usize..(off + len) as usize],
            )?;
        }
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        f.rewind()?;
        self.runs.push(f);
        self.arena.clear();
        self.index.clear();
        Ok(())
    }

    fn sort(&mut self) {
        let arena = &self.arena;
        self.index.sort_unstable_by(|a, b| {
            (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| {
                arena[a.2 as usize..][..a.3 as usize].cmp(&arena[b.2 as usize..][..b.3 as usize])
            })
        });
    }

    /// Takes in the records of another sorter (a worker thread's).
    pub(crate) fn merge(&mut self, mut other: Sorter) -> io::Result<()> {
        self.runs.append(&mut other.runs);
        self.len += other.len - other.index.len() as u64;
        for &(key, tie, off, len) in &other.index {
            self.push(key, tie, &other.arena[off as usize..(off + len) as usize])?;
        }
        Ok(())
    }

    /// Every record, in `(key, tie, payload)` order.
    pub(crate) fn finish(mut self) -> io::Result<Sorted> {
        self.sort();
        let mut sources: Vec<Source> = self
            .runs
            .into_iter()
            .map(|f| Source::Run(BufReader::with_capacity(1 << 16, f)))
            .collect();
        sources.push(Source::Memory {
            arena: self.arena,
            index: self.index,
            at: 0,
        });
        let mut heap = BinaryHeap::with_capacity(sources.len());
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some((key, tie, payload)) = s.next()? {
                heap.push(Reverse((key, tie, payload, i)));
            }
        }
        Ok(Sorted { sources, heap })
    }
}

fn write_record(w: &mut impl Write, key: u64, tie: u64, payload: &[u8]) -> io::Result<()> {
    w.write_all(&key.to_le_bytes())?;
    w.write_all(&tie.to_le_bytes())?;
    w.write_all(&(payload.len() as u32).to_le_bytes())?;
    w.write_all(payload)
}

type Record = (u64, u64, Vec<u8>);

/// A record and the source it came from.
type Head = (u64, u64, Vec<u8>, usize);

enum Source {
    Run(BufReader<File>),
    Memory {
        arena: Vec<u8>,
        index: Vec<(u64, u64, u32, u32)>,
        at: usize,
    },
}

impl Source {
    fn next(&mut self) -> io::Result<Option<Record>> {
        match self {
            Source::Run(r) => {
                let mut head = [0u8; 20];
                match r.read_exact(&mut head) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e),
                }
                let key = u64::from_le_bytes(head[0..8].try_into().unwrap_or_default());
                let tie = u64::from_le_bytes(head[8..16].try_into().unwrap_or_default());
                let len = u32::from_le_bytes(head[16..20].try_into().unwrap_or_default());
                let mut payload = vec![0; len as usize];
                r.read_exact(&mut payload)?;
                Ok(Some((key, tie, payload)))
            }
            Source::Memory { arena, index, at } => {
                let Some(&(key, tie, off, len)) = index.get(*at) else {
                    return Ok(None);
                };
                *at += 1;
                Ok(Some((
                    key,
                    tie,
                    arena[off as usize..(off + len) as usize].to_vec(),
                )))
            }
        }
    }
}

/// The merged records of a [`Sorter`], in order.
pub(crate) struct Sorted {
    sources: Vec<Source>,
    /// The smallest head of each source: (key, tie, payload, source).
    heap: BinaryHeap<Reverse<Head>>,
}

impl Sorted {
    /// The next record, or `None` at the end.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<Record>> {
        let Some(Reverse((key, tie, payload, i))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some((k, t, p)) = self.sources[i].next()? {
            self.heap.push(Reverse((k, t, p, i)));
        }
        Ok(Some((key, tie, payload)))
    }
}

/// Little-endian writing and reading of a payload's fields.
pub(crate) mod codec {
    use crate::domain::Money;

    pub(crate) fn put_u64(b: &mut Vec<u8>, v: u64) {
        b.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn put_i64(b: &mut Vec<u8>, v: i64) {
        b.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn put_money(b: &mut Vec<u8>, v: Money) {
        b.extend_from_slice(&v.serialize());
    }

    /// A string of up to 65,535 bytes (longer is cut at a character boundary).
    pub(crate) fn put_str(b: &mut Vec<u8>, s: &str) {
        let mut end = s.len().min(u16::MAX as usize);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        b.extend_from_slice(&(end as u16).to_le_bytes());
        b.extend_from_slice(&s.as_bytes()[..end]);
    }

    /// Reads the fields back in the order written.
    pub(crate) struct Reader<'a>(pub &'a [u8]);

    impl Reader<'_> {
        fn take(&mut self, n: usize) -> &[u8] {
            let n = n.min(self.0.len());
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            a
        }

        pub(crate) fn u64(&mut self) -> u64 {
            u64::from_le_bytes(self.take(8).try_into().unwrap_or_default())
        }

        pub(crate) fn i64(&mut self) -> i64 {
            i64::from_le_bytes(self.take(8).try_into().unwrap_or_default())
        }

        pub(crate) fn u8(&mut self) -> u8 {
            self.take(1).first().copied().unwrap_or_default()
        }

        pub(crate) fn money(&mut self) -> Money {
            Money::deserialize(self.take(16).try_into().unwrap_or_default())
        }

        pub(crate) fn str(&mut self) -> String {
            let n = u16::from_le_bytes(self.take(2).try_into().unwrap_or_default());
            String::from_utf8_lossy(self.take(n as usize)).into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A budget of a few records: many runs, merged in order with the buffer's rest.
    #[test]
    fn spilled_runs_merge_in_order() {
        let mut a = Sorter::new(200);
        let mut b = Sorter::new(200);
        let mut want = Vec::new();
        for i in 0..500u64 {
            let key = (i * 7919) % 101;
            let payload = format!("p{i}").into_bytes();
            want.push((key, i, payload.clone()));
            if i % 3 == 0 { &mut a } else { &mut b }
                .push(key, i, &payload)
                .unwrap();
        }
        assert!(a.runs() > 1 && b.runs() > 1);
        a.merge(b).unwrap();
        assert_eq!(a.len(), 500);
        want.sort();
        let mut s = a.finish().unwrap();
        let mut got = Vec::new();
        while let Some(r) = s.next_record().unwrap() {
            got.push(r);
        }
        assert_eq!(got, want);
    }
}
