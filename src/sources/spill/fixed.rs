//! Sorting records of one fixed size ([`FixedSorter`]): the duplicate request id check and the
//! BYOK calls, streams of small records sorted in bounded memory like [`super::Sorter`]'s.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, Write};
use std::sync::Arc;

/// A record of a fixed size for [`FixedSorter`]: sorted by its `Ord`, written as `SIZE` bytes.
pub(crate) trait Fixed: Copy + Ord + Send + Sync {
    const SIZE: usize;
    fn put(&self, out: &mut Vec<u8>);
    /// The record from exactly `SIZE` bytes.
    fn get(b: &[u8]) -> Self;
    /// The record's first sort field, which [`FixedSorter::finish_parts`] splits the records
    /// by (its high byte): records with equal `lead` land in one part.
    fn lead(&self) -> u64;
}

/// As [`super::Sorter`], for records of one fixed size: kept as a `Vec` of records (no arena, no
/// index), sorted by their own order, written to runs as `SIZE` bytes each and merged without
/// allocating per record, by several threads at once if asked ([`FixedSorter::finish_parts`]).
/// For streams of small records: a duplicate request id check (24 bytes a call), BYOK calls.
///
/// Memory: the buffer (the budget; merged sorters keep theirs), then at the merge a read buffer
/// of 64 KiB a run and part. Past [`MAX_RUNS`] runs they are merged into one, so a merge never
/// holds more than that many read buffers (16 MiB a part) or open files.
pub(crate) struct FixedSorter<T> {
    /// Records in memory before a run is written.
    cap: usize,
    buf: Vec<T>,
    /// The buffers of the sorters merged into this one, kept as they are (each within its own
    /// budget): sorted side by side at the end, not copied into this one's runs.
    held: Vec<Vec<T>>,
    runs: Vec<Run>,
    len: u64,
}

/// Bytes written to a run at a time.
const WRITE_BYTES: usize = 1 << 20;
/// Bytes read from a run at a time, per run.
const READ_BYTES: usize = 64 << 10;
/// Runs kept before they are merged into one.
pub(crate) const MAX_RUNS: usize = 256;
/// The parts a sorted run is indexed by: its records' `lead` high byte.
const BUCKETS: usize = 256;

/// A sorted run on disk and, per bucket, where its records start (in records).
struct Run {
    file: Arc<File>,
    starts: Vec<u64>,
}

fn bucket<T: Fixed>(r: &T) -> usize {
    (r.lead() >> 56) as usize
}

/// Sorts `v` and returns where each bucket's records start (`BUCKETS + 1` entries, the last the
/// length). The records are first put in their buckets in place (an American flag sort: one
/// pass of swaps), then each bucket is sorted on its own, small enough to stay in cache: about
/// twice as fast as one sort of the whole buffer, whose records' leads are hashes.
fn sort_in_buckets<T: Fixed>(v: &mut [T]) -> Vec<u64> {
    let mut starts = vec![0u64; BUCKETS + 1];
    for r in v.iter() {
        starts[bucket(r) + 1] += 1;
    }
    for b in 0..BUCKETS {
        starts[b + 1] += starts[b];
    }
    let mut next: Vec<usize> = starts[..BUCKETS].iter().map(|&s| s as usize).collect();
    for b in 0..BUCKETS {
        let end = starts[b + 1] as usize;
        while next[b] < end {
            let d = bucket(&v[next[b]]);
            if d == b {
                next[b] += 1;
            } else {
                v.swap(next[b], next[d]);
                next[d] += 1;
            }
        }
    }
    for b in 0..BUCKETS {
        v[starts[b] as usize..starts[b + 1] as usize].sort_unstable();
    }
    starts
}

impl<T: Fixed> FixedSorter<T> {
    /// A sorter that keeps at most `budget` bytes of records in memory.
    pub(crate) fn new(budget: usize) -> Self {
        FixedSorter {
            cap: (budget / std::mem::size_of::<T>().max(1)).max(1),
            buf: Vec::new(),
            held: Vec::new(),
            runs: Vec::new(),
            len: 0,
        }
    }

    /// Records pushed so far.
    #[cfg(test)]
    fn len(&self) -> u64 {
        self.len
    }

    /// Runs on disk now.
    #[cfg(test)]
    pub(crate) fn runs(&self) -> usize {
        self.runs.len()
    }

    pub(crate) fn push(&mut self, r: T) -> io::Result<()> {
        if self.buf.len() == self.buf.capacity() {
            if self.buf.len() >= self.cap {
                self.spill()?;
            }
            // Grown by doubling up to the budget, never past it.
            let want = (self.buf.capacity() * 2).max(1024).min(self.cap);
            self.buf.reserve_exact(want - self.buf.len());
        }
        self.buf.push(r);
        self.len += 1;
        Ok(())
    }

    /// Sorts the buffer and writes it as a run; past [`MAX_RUNS`], merges the runs into one.
    fn spill(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let starts = sort_in_buckets(&mut self.buf);
        let file = write_run(self.buf.iter().map(|&r| Ok(r)))?;
        self.runs.push(Run { file, starts });
        self.buf.clear();
        self.compact()
    }

    /// Past [`MAX_RUNS`] runs, merges them into one.
    fn compact(&mut self) -> io::Result<()> {
        if self.runs.len() >= MAX_RUNS {
            let runs = std::mem::take(&mut self.runs);
            let mut starts = vec![0u64; BUCKETS + 1];
            for r in &runs {
                for (s, x) in starts.iter_mut().zip(&r.starts) {
                    *s += x;
                }
            }
            let mut merged = merge_part::<T>(&runs, &[], 0..BUCKETS)?;
            let file = write_run(std::iter::from_fn(|| merged.next_record().transpose()))?;
            self.runs.push(Run { file, starts });
        }
        Ok(())
    }

    /// Takes in the records of another sorter (a worker thread's).
    pub(crate) fn merge(&mut self, mut other: FixedSorter<T>) -> io::Result<()> {
        self.runs.append(&mut other.runs);
        self.compact()?;
        self.len += other.len;
        self.held.append(&mut other.held);
        if !other.buf.is_empty() {
            self.held.push(other.buf);
        }
        Ok(())
    }

    /// Every record in `n` parts that can be merged on threads of their own (see
    /// [`FixedSorted::parts`]).
    pub(crate) fn finish_parts(self, n: usize) -> io::Result<Vec<FixedMerge<T>>> {
        self.sorted().parts(n)
    }

    /// The records sorted, to be merged as often as needed.
    /// The records sorted, to be merged as often as needed. The buffers in memory (this one's
    /// and those merged in) are sorted on a thread each.
    pub(crate) fn sorted(mut self) -> FixedSorted<T> {
        self.held.push(self.buf);
        let memory = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .held
                .into_iter()
                .filter(|b| !b.is_empty())
                .map(|mut b| s.spawn(move || (sort_in_buckets(&mut b), Arc::new(b))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("sorting thread panicked"))
                .collect()
        });
        FixedSorted {
            memory,
            runs: self.runs,
        }
    }
}

/// The sorted records of a [`FixedSorter`]: its runs and the rest of its buffers, sorted.
pub(crate) struct FixedSorted<T> {
    runs: Vec<Run>,
    /// Sorted buffers, each with where its buckets start.
    memory: Vec<(Vec<u64>, Arc<Vec<T>>)>,
}

impl<T: Fixed> FixedSorted<T> {
    /// Every record, in order (each call reads the runs again).
    pub(crate) fn merge(&self) -> io::Result<FixedMerge<T>> {
        self.part(0..BUCKETS)
    }

    /// Every record in `n` parts (1 to 256) that can be merged on threads of their own: part `i`
    /// holds the records whose `lead` high byte is in the `i`-th of `n` equal ranges, in order.
    pub(crate) fn parts(&self, n: usize) -> io::Result<Vec<FixedMerge<T>>> {
        let n = n.clamp(1, BUCKETS);
        (0..n)
            .map(|i| self.part(i * BUCKETS / n..(i + 1) * BUCKETS / n))
            .collect()
    }

    fn part(&self, buckets: std::ops::Range<usize>) -> io::Result<FixedMerge<T>> {
        let slices: Vec<_> = self
            .memory
            .iter()
            .map(|(starts, data)| {
                let range = starts[buckets.start] as usize..starts[buckets.end] as usize;
                (data.clone(), range)
            })
            .collect();
        merge_part(&self.runs, &slices, buckets)
    }
}

/// Writes records as a run to a new temporary file.
fn write_run<T: Fixed>(records: impl Iterator<Item = io::Result<T>>) -> io::Result<Arc<File>> {
    let mut f = tempfile::tempfile()?;
    let mut bytes = Vec::with_capacity(WRITE_BYTES + T::SIZE);
    for r in records {
        r?.put(&mut bytes);
        if bytes.len() >= WRITE_BYTES {
            f.write_all(&bytes)?;
            bytes.clear();
        }
    }
    f.write_all(&bytes)?;
    Ok(Arc::new(f))
}

/// The merge of `buckets` of `runs` and of sorted in-memory slices.
fn merge_part<T: Fixed>(
    runs: &[Run],
    memory: &[(Arc<Vec<T>>, std::ops::Range<usize>)],
    buckets: std::ops::Range<usize>,
) -> io::Result<FixedMerge<T>> {
    let mut sources: Vec<FixedSource<T>> = runs
        .iter()
        .map(|r| FixedSource::Run {
            file: r.file.clone(),
            at: r.starts[buckets.start] * T::SIZE as u64,
            end: r.starts[buckets.end] * T::SIZE as u64,
            bytes: Vec::new(),
            pos: 0,
        })
        .collect();
    for (data, range) in memory {
        sources.push(FixedSource::Memory {
            data: data.clone(),
            at: range.start,
            end: range.end,
        });
    }
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (i, s) in sources.iter_mut().enumerate() {
        if let Some(r) = s.next()? {
            heap.push(Reverse((r, i)));
        }
    }
    Ok(FixedMerge { sources, heap })
}

enum FixedSource<T> {
    Run {
        file: Arc<File>,
        /// Byte offsets: the next read, the end of the part.
        at: u64,
        end: u64,
        bytes: Vec<u8>,
        pos: usize,
    },
    Memory {
        data: Arc<Vec<T>>,
        at: usize,
        end: usize,
    },
}

impl<T: Fixed> FixedSource<T> {
    fn next(&mut self) -> io::Result<Option<T>> {
        match self {
            FixedSource::Memory { data, at, end } => {
                if *at >= *end {
                    return Ok(None);
                }
                *at += 1;
                Ok(Some(data[*at - 1]))
            }
            FixedSource::Run {
                file,
                at,
                end,
                bytes,
                pos,
            } => {
                if *pos >= bytes.len() {
                    let n = ((*end - *at) as usize).min(READ_BYTES / T::SIZE * T::SIZE);
                    if n == 0 {
                        return Ok(None);
                    }
                    bytes.resize(n, 0);
                    read_exact_at(file, bytes, *at)?;
                    *at += n as u64;
                    *pos = 0;
                }
                let r = T::get(&bytes[*pos..*pos + T::SIZE]);
                *pos += T::SIZE;
                Ok(Some(r))
            }
        }
    }
}

/// Reads exactly `buf.len()` bytes at `offset`, without moving a shared cursor: the parts of one
/// run are read by several threads.
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(file, buf, offset);
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(file, buf, offset);
        match n {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The merged records of a [`FixedSorter`] (or of one part of them), in order.
pub(crate) struct FixedMerge<T> {
    sources: Vec<FixedSource<T>>,
    heap: BinaryHeap<Reverse<(T, usize)>>,
}

impl<T: Fixed> FixedMerge<T> {
    /// The next record, or `None` at the end.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<T>> {
        let Some(mut top) = self.heap.peek_mut() else {
            return Ok(None);
        };
        let Reverse((r, i)) = *top;
        match self.sources[i].next()? {
            // The source's next record takes the place of its last: one sift, not a pop and a
            // push.
            Some(n) => top.0 .0 = n,
            None => {
                std::collections::binary_heap::PeekMut::pop(top);
            }
        }
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    struct R(u64, u64);

    impl Fixed for R {
        const SIZE: usize = 16;

        fn put(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.0.to_le_bytes());
            out.extend_from_slice(&self.1.to_le_bytes());
        }

        fn get(b: &[u8]) -> Self {
            let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
            R(u(0), u(8))
        }

        fn lead(&self) -> u64 {
            self.0
        }
    }

    fn drain(mut m: FixedMerge<R>) -> Vec<R> {
        let mut out = Vec::new();
        while let Some(r) = m.next_record().unwrap() {
            out.push(r);
        }
        out
    }

    /// Runs of a few records, past MAX_RUNS (so they are merged into one on the way), from two
    /// sorters: merged whole, and in parts that together are the whole, in order.
    #[test]
    fn fixed_runs_merge_in_order_whole_and_in_parts() {
        let records: Vec<R> = (0..700u64)
            .map(|i| R((i % 350).wrapping_mul(0x9E37_79B9_7F4A_7C15), i % 7))
            .collect();
        let mut want = records.clone();
        want.sort();
        for parts in [1, 3, 256] {
            let (mut a, mut b) = (FixedSorter::new(3 * 16), FixedSorter::new(2 * 16));
            for (i, r) in records.iter().enumerate() {
                if i % 5 == 0 { &mut a } else { &mut b }.push(*r).unwrap();
            }
            assert!(b.runs() < MAX_RUNS && b.len() > 3 * MAX_RUNS as u64 / 2);
            a.merge(b).unwrap();
            assert_eq!(a.len(), 700);
            let got: Vec<R> = a
                .finish_parts(parts)
                .unwrap()
                .into_iter()
                .flat_map(drain)
                .collect();
            assert_eq!(got, want, "{parts} parts");
        }
        let mut s = FixedSorter::new(1 << 20);
        records.iter().for_each(|r| s.push(*r).unwrap());
        assert_eq!(s.runs(), 0);
        assert_eq!(drain(s.sorted().merge().unwrap()), want);
    }
}
