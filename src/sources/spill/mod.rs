//! Sorting more records than fit in memory: records are kept as bytes in a buffer; when the
//! buffer passes its budget it is sorted and written to a temporary file (a *run*, unnamed, in
//! `std::env::temp_dir()`, so `TMPDIR` moves it, and removed by the OS when closed), and at the
//! end the runs and the buffer are merged in order. Per-call matching (`reconcile`,
//! docs/formats.md §11) sorts both sides' calls by id this way, so ten million calls a side
//! stay within a few hundred MiB.
//!
//! A record is a sort key (`u64`, then a tie-breaker `u64`) and an opaque payload the caller
//! encodes and decodes.

use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

mod fixed;

pub(crate) use fixed::{Fixed, FixedSorted, FixedSorter};

/// A 64-bit key of a provider and a string, with SipHash. The BYOK calls order their
/// providers by it ([`crate::fees::byok`]); per-call matching uses the faster [`call_key`].
pub(crate) fn id_key(provider: &str, id: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (provider, id).hash(&mut h);
    h.finish()
}

/// The 64-bit key both sides of per-call matching sort by: the provider and the call's id, with
/// rustc-hash's string hash (as the duplicate-id check's, several times faster than SipHash on
/// ten million ids a side). Ids are kept as this hash for matching; two distinct ids of one
/// provider that share it are told apart by the ids themselves when matched.
pub(crate) fn call_key(provider: &str, id: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    (provider, id).hash(&mut h);
    h.finish()
}

/// Bytes a sorter keeps in memory before it writes a run: 64 MiB.
pub(crate) const DEFAULT_BUDGET: usize = 64 << 20;

/// The index entry of a record in memory: key, tie, offset and length in the arena.
type Slot = (u64, u64, u32, u32);

/// Records in memory: payloads one after another in `arena`, and their [`Slot`]s.
#[derive(Default)]
struct Buffer {
    arena: Vec<u8>,
    index: Vec<Slot>,
}

impl Buffer {
    fn bytes(&self) -> usize {
        self.arena.len() + self.index.len() * std::mem::size_of::<Slot>()
    }

    fn payload(&self, s: &Slot) -> &[u8] {
        &self.arena[s.2 as usize..][..s.3 as usize]
    }

    /// Sorts the index by key, tie, then payload (so equal keys come out in one order,
    /// whichever thread or run held them).
    fn sort(&mut self) {
        let arena = &self.arena;
        self.index.sort_unstable_by(|a, b| {
            (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| {
                arena[a.2 as usize..][..a.3 as usize].cmp(&arena[b.2 as usize..][..b.3 as usize])
            })
        });
    }

    /// Sorts the buffer and writes it to a new temporary file, rewound.
    fn write_run(&mut self) -> io::Result<File> {
        self.sort();
        let mut w = BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
        for s in &self.index {
            write_record(&mut w, s.0, s.1, self.payload(s))?;
        }
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        f.rewind()?;
        Ok(f)
    }

    fn clear(&mut self) {
        self.arena.clear();
        self.index.clear();
    }
}

/// A run being written on a thread of its own: the file, and the buffer back for reuse.
type Writing = std::thread::JoinHandle<(io::Result<File>, Buffer)>;

/// Records sorted by `(key, tie)`, in memory up to a budget, then in runs on disk.
pub(crate) struct Sorter {
    budget: usize,
    buf: Buffer,
    /// The buffers of the sorters merged into this one, kept as they are (each within its own
    /// budget): sorted at the end, not copied into this one's runs.
    held: Vec<Buffer>,
    runs: Vec<File>,
    len: u64,
    /// With [`Sorter::in_background`]: the run being sorted and written while the next buffer
    /// fills, and the buffer it frees.
    writing: Option<Writing>,
    background: bool,
    spare: Option<Buffer>,
}

impl Sorter {
    /// A sorter that keeps at most about `budget` bytes (records and their index) in memory.
    pub(crate) fn new(budget: usize) -> Sorter {
        Sorter {
            budget: budget.max(1),
            buf: Buffer::default(),
            held: Vec::new(),
            runs: Vec::new(),
            len: 0,
            writing: None,
            background: false,
            spare: None,
        }
    }

    /// Sorts and writes each full buffer on a thread of its own while the next one fills (two
    /// buffers in memory, twice the budget): for a sorter filled by one thread while the other
    /// core has nothing to do, as the bill is read before the logs.
    pub(crate) fn in_background(mut self) -> Sorter {
        self.background = true;
        self
    }

    /// Records pushed so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Runs written to disk so far.
    #[cfg(test)]
    fn runs(&self) -> usize {
        self.runs.len() + usize::from(self.writing.is_some())
    }

    #[cfg(test)]
    pub(crate) fn push(&mut self, key: u64, tie: u64, payload: &[u8]) -> io::Result<()> {
        self.push_with(key, tie, |b| b.extend_from_slice(payload))
    }

    /// Pushes the record `write` appends to the buffer it is given (the payload is encoded in
    /// place, with no copy of its own).
    pub(crate) fn push_with(
        &mut self,
        key: u64,
        tie: u64,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        // A payload is at most a few hundred KiB; the arena stays far below 4 GiB.
        if self.buf.bytes() >= self.budget || self.buf.arena.len() >= (u32::MAX / 2) as usize {
            self.spill()?;
        }
        let off = self.buf.arena.len();
        write(&mut self.buf.arena);
        let len = self.buf.arena.len() - off;
        self.buf.index.push((key, tie, off as u32, len as u32));
        self.len += 1;
        Ok(())
    }

    /// Waits for the run being written, if any.
    fn wait(&mut self) -> io::Result<()> {
        if let Some(h) = self.writing.take() {
            let (file, mut buf) = h.join().expect("sorting thread panicked");
            buf.clear();
            self.spare = Some(buf);
            self.runs.push(file?);
        }
        Ok(())
    }

    /// Sorts the buffer and writes it to a new run (on a thread, in the background).
    fn spill(&mut self) -> io::Result<()> {
        if self.buf.index.is_empty() {
            return Ok(());
        }
        if !self.background {
            let f = self.buf.write_run()?;
            self.runs.push(f);
            self.buf.clear();
            return Ok(());
        }
        self.wait()?;
        let next = self.spare.take().unwrap_or_default();
        let mut full = std::mem::replace(&mut self.buf, next);
        self.writing = Some(
            std::thread::Builder::new()
                .name("spill".into())
                .spawn(move || (full.write_run(), full))?,
        );
        Ok(())
    }

    /// Takes in the records of another sorter (a worker thread's).
    pub(crate) fn merge(&mut self, mut other: Sorter) -> io::Result<()> {
        other.wait()?;
        self.runs.append(&mut other.runs);
        self.len += other.len;
        self.held.append(&mut other.held);
        if !other.buf.index.is_empty() {
            self.held.push(other.buf);
        }
        Ok(())
    }

    /// Every record, in `(key, tie, payload)` order.
    pub(crate) fn finish(mut self) -> io::Result<Sorted> {
        self.wait()?;
        self.spare = None;
        self.held.push(std::mem::take(&mut self.buf));
        let mut sources: Vec<Source> = self
            .runs
            .into_iter()
            .map(|f| Source::Run(BufReader::with_capacity(1 << 16, f)))
            .collect();
        for mut b in self.held.into_iter().filter(|b| !b.index.is_empty()) {
            b.sort();
            sources.push(Source::Memory(b, 0));
        }
        let mut heads = Vec::with_capacity(sources.len());
        for s in &mut sources {
            let mut payload = Vec::new();
            heads.push(s.next(&mut payload)?.map(|(k, t)| (k, t, payload)));
        }
        let heap: Vec<usize> = (0..sources.len()).filter(|&i| heads[i].is_some()).collect();
        let mut sorted = Sorted {
            sources,
            heads,
            heap,
            current: None,
            out: Vec::new(),
        };
        // Heapify: sift down every inner node.
        for i in (0..sorted.heap.len() / 2).rev() {
            sorted.sift_down(i);
        }
        sorted.advance()?;
        Ok(sorted)
    }
}

fn write_record(w: &mut impl Write, key: u64, tie: u64, payload: &[u8]) -> io::Result<()> {
    w.write_all(&key.to_le_bytes())?;
    w.write_all(&tie.to_le_bytes())?;
    w.write_all(&(payload.len() as u32).to_le_bytes())?;
    w.write_all(payload)
}

enum Source {
    Run(BufReader<File>),
    /// A sorted buffer and the next record's place in its index.
    Memory(Buffer, usize),
}

impl Source {
    /// The next record's key and tie, its payload put in `payload` (reused, no allocation once
    /// it is large enough).
    fn next(&mut self, payload: &mut Vec<u8>) -> io::Result<Option<(u64, u64)>> {
        payload.clear();
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
                payload.resize(len as usize, 0);
                r.read_exact(payload)?;
                Ok(Some((key, tie)))
            }
            Source::Memory(b, at) => {
                let Some(s) = b.index.get(*at) else {
                    return Ok(None);
                };
                *at += 1;
                payload.extend_from_slice(b.payload(s));
                Ok(Some((s.0, s.1)))
            }
        }
    }
}

/// The merged records of a [`Sorter`], in order, one at a time: [`Sorted::current`] is the
/// record at hand, [`Sorted::advance`] moves to the next. The merge allocates nothing per
/// record: each source's head and the record at hand are buffers reused.
pub(crate) struct Sorted {
    sources: Vec<Source>,
    /// Each source's smallest record not yet handed out.
    heads: Vec<Option<(u64, u64, Vec<u8>)>>,
    /// A binary min-heap of the sources with a head, by their heads.
    heap: Vec<usize>,
    current: Option<(u64, u64)>,
    out: Vec<u8>,
}

impl Sorted {
    /// Whether source `a`'s head sorts before `b`'s: key, tie, payload, then the source.
    fn less(&self, a: usize, b: usize) -> bool {
        match (&self.heads[a], &self.heads[b]) {
            (Some(x), Some(y)) => (x.0, x.1, &x.2, a) < (y.0, y.1, &y.2, b),
            _ => false,
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < n && self.less(self.heap[l], self.heap[m]) {
                m = l;
            }
            if r < n && self.less(self.heap[r], self.heap[m]) {
                m = r;
            }
            if m == i {
                return;
            }
            self.heap.swap(i, m);
            i = m;
        }
    }

    /// The record at hand: key, tie and payload; `None` at the end.
    pub(crate) fn current(&self) -> Option<(u64, u64, &[u8])> {
        self.current.map(|(k, t)| (k, t, self.out.as_slice()))
    }

    /// Moves to the next record.
    pub(crate) fn advance(&mut self) -> io::Result<()> {
        let Some(&top) = self.heap.first() else {
            self.current = None;
            return Ok(());
        };
        let (key, tie, payload) = self.heads[top].take().unwrap_or_default();
        // The record's payload becomes the one at hand; the old one's buffer is reused.
        let mut spare = std::mem::replace(&mut self.out, payload);
        self.current = Some((key, tie));
        match self.sources[top].next(&mut spare)? {
            Some((k, t)) => self.heads[top] = Some((k, t, spare)),
            None => {
                let last = self.heap.len() - 1;
                self.heap.swap(0, last);
                self.heap.pop();
            }
        }
        self.sift_down(0);
        Ok(())
    }

    /// The record at hand, copied out, and moves on (tests).
    #[cfg(test)]
    pub(crate) fn next_record(&mut self) -> io::Result<Option<(u64, u64, Vec<u8>)>> {
        let r = self.current().map(|(k, t, p)| (k, t, p.to_vec()));
        self.advance()?;
        Ok(r)
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

        /// A string into `s`, reusing its buffer.
        pub(crate) fn str_into(&mut self, s: &mut String) {
            let n = u16::from_le_bytes(self.take(2).try_into().unwrap_or_default());
            let b = self.take(n as usize);
            s.clear();
            // Written from a `&str` cut at a character boundary: valid, unless the run was
            // damaged on disk.
            match std::str::from_utf8(b) {
                Ok(t) => s.push_str(t),
                Err(_) => s.push_str(&String::from_utf8_lossy(b)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A budget of a few records: many runs (written in the background or not), merged in
    /// order with the buffers' rests; records with equal key and tie in payload order.
    #[test]
    fn spilled_runs_merge_in_order() {
        for background in [false, true] {
            let sorter = |budget| {
                let s = Sorter::new(budget);
                if background {
                    s.in_background()
                } else {
                    s
                }
            };
            let (mut a, mut b) = (sorter(200), sorter(300));
            let mut want = Vec::new();
            for i in 0..500u64 {
                let key = (i * 7919) % 101;
                let tie = i % 7;
                let payload = format!("p{}", 1000 - i).into_bytes();
                want.push((key, tie, payload.clone()));
                if i % 3 == 0 { &mut a } else { &mut b }
                    .push_with(key, tie, |w| w.extend_from_slice(&payload))
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
            assert_eq!(got, want, "background {background}");
        }
    }
}
