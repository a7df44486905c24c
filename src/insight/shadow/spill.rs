//! What keeps the join's memory bounded: the hash partitions of each side (in memory up to a
//! budget, in temporary files beyond it), the Bloom filter of wanted primary ids, and the small
//! binary records both passes write and the join reads back.

use std::fs::File;
use std::hash::Hasher;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use rustc_hash::FxHasher;

use super::PARTS;

/// A worker hands its records to the shared partitions in batches of about this size.
const BATCH_BYTES: usize = 16 << 10;

/// 64-bit hash of an id: FxHash finished with MurmurHash3's mixer, so every bit is usable for
/// the partition and the filter.
pub(super) fn id_hash(id: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(id.as_bytes());
    let mut k = h.finish();
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

pub(super) fn partition(h: u64) -> usize {
    (h >> 57) as usize % PARTS
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The set of wanted primary-id hashes: a blocked Bloom filter (three bits in one 64-bit word,
/// one memory access per lookup). False positives only let a few extra calls into the join.
pub(super) struct Bloom {
    words: Vec<AtomicU64>,
    mask: u64,
}

impl Bloom {
    pub(super) fn new(bits_log2: u32) -> Self {
        let words = 1usize << bits_log2.clamp(6, 40).saturating_sub(6);
        Bloom {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
            mask: words as u64 - 1,
        }
    }

    fn slot(&self, h: u64) -> (usize, u64) {
        let bits =
            (1u64 << ((h >> 40) & 63)) | (1u64 << ((h >> 46) & 63)) | (1u64 << ((h >> 52) & 63));
        ((h & self.mask) as usize, bits)
    }

    pub(super) fn insert(&self, h: u64) {
        let (w, bits) = self.slot(h);
        if self.words[w].load(Ordering::Relaxed) & bits != bits {
            self.words[w].fetch_or(bits, Ordering::Relaxed);
        }
    }

    pub(super) fn contains(&self, h: u64) -> bool {
        let (w, bits) = self.slot(h);
        self.words[w].load(Ordering::Relaxed) & bits == bits
    }
}

#[derive(Default)]
struct Part {
    /// Batches as handed over, each allocated to its exact size (a growing `Vec` would hold up
    /// to twice its length).
    mem: Vec<Box<[u8]>>,
    mem_bytes: usize,
    file: Option<File>,
}

/// Hash-partitioned records of one side of the join: in memory while the side's total stays
/// within the budget, appended to a temporary file per partition beyond it.
pub(super) struct Store {
    parts: Vec<Mutex<Part>>,
    in_memory: AtomicUsize,
    pub(super) spilled: AtomicU64,
    budget: usize,
}

impl Store {
    pub(super) fn new(budget: usize) -> Self {
        Store {
            parts: (0..PARTS).map(|_| Mutex::new(Part::default())).collect(),
            in_memory: AtomicUsize::new(0),
            spilled: AtomicU64::new(0),
            budget,
        }
    }

    /// Adds whole records to partition `p`.
    fn append(&self, p: usize, batch: &[u8]) -> io::Result<()> {
        let mut part = lock(&self.parts[p]);
        if self.in_memory.load(Ordering::Relaxed) + batch.len() <= self.budget {
            part.mem.push(batch.into());
            part.mem_bytes += batch.len();
            self.in_memory.fetch_add(batch.len(), Ordering::Relaxed);
            return Ok(());
        }
        let mem = std::mem::take(&mut part.mem);
        let mem_bytes = std::mem::take(&mut part.mem_bytes);
        let file = match &mut part.file {
            Some(f) => f,
            None => part.file.insert(tempfile::tempfile()?),
        };
        let mut w = BufWriter::with_capacity(256 << 10, file);
        for b in &mem {
            w.write_all(b)?;
        }
        w.write_all(batch)?;
        w.flush()?;
        self.in_memory.fetch_sub(mem_bytes, Ordering::Relaxed);
        self.spilled
            .fetch_add((mem_bytes + batch.len()) as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Partition `p`'s records (the spilled ones, then those in memory), emptying it.
    pub(super) fn take(&self, p: usize) -> io::Result<Box<dyn Read>> {
        let mut part = lock(&self.parts[p]);
        let mem = Chunks {
            rest: std::mem::take(&mut part.mem).into_iter(),
            cur: Box::default(),
            pos: 0,
        };
        self.in_memory
            .fetch_sub(std::mem::take(&mut part.mem_bytes), Ordering::Relaxed);
        Ok(match part.file.take() {
            Some(mut f) => {
                f.seek(SeekFrom::Start(0))?;
                Box::new(BufReader::with_capacity(1 << 20, f).chain(mem))
            }
            None => Box::new(mem),
        })
    }
}

/// Reads a partition's in-memory batches in order, freeing each once read.
struct Chunks {
    rest: std::vec::IntoIter<Box<[u8]>>,
    cur: Box<[u8]>,
    pos: usize,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.cur.len() {
                let n = buf.len().min(self.cur.len() - self.pos);
                buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            match self.rest.next() {
                Some(c) => (self.cur, self.pos) = (c, 0),
                None => return Ok(0),
            }
        }
    }
}

/// A worker's partly filled batch per partition.
pub(super) struct Batches {
    bufs: Vec<Vec<u8>>,
}

impl Batches {
    pub(super) fn new() -> Self {
        Batches {
            bufs: vec![Vec::new(); PARTS],
        }
    }

    pub(super) fn push(
        &mut self,
        store: &Store,
        p: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        let buf = &mut self.bufs[p];
        write(buf);
        if buf.len() >= BATCH_BYTES {
            store.append(p, buf)?;
            buf.clear();
        }
        Ok(())
    }

    pub(super) fn flush(&mut self, store: &Store) -> io::Result<()> {
        for (p, buf) in self.bufs.iter_mut().enumerate() {
            if !buf.is_empty() {
                store.append(p, buf)?;
            }
            *buf = Vec::new();
        }
        Ok(())
    }
}

// Record encoding: little-endian integers, strings as a u32 length and the bytes.

pub(super) fn put_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// Reads one record field by field; `None` at a clean end of the stream.
pub(super) struct Decoder<R> {
    pub(super) r: R,
}

impl<R: Read> Decoder<R> {
    /// The first field of a record: `None` when the stream ends before it.
    pub(super) fn first<const N: usize>(&mut self) -> io::Result<Option<[u8; N]>> {
        let mut b = [0u8; N];
        let mut got = 0;
        while got < N {
            match self.r.read(&mut b[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Some(b))
    }

    fn bytes<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r.read_exact(&mut b)?;
        Ok(b)
    }

    pub(super) fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }

    pub(super) fn i64(&mut self) -> io::Result<i64> {
        Ok(i64::from_le_bytes(self.bytes()?))
    }

    pub(super) fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    pub(super) fn str_into(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let n = self.u32()? as usize;
        out.clear();
        out.resize(n, 0);
        self.r.read_exact(out)
    }
}
