//! Shadow traffic: every shadow call (`shadow` true) against its primary, the call whose
//! `request_id` its `shadow_of` names → `shadow.csv` (per day × model: pairs, unpaired, median and
//! max drift, pairs over tolerance) and `shadow_pairs.csv` (the pairs over tolerance, one by one).
//!
//! What counts (the README's "Shadow traffic" section says the same for users):
//! - A pair's day (in `--tz`) and model are the shadow call's; `--from`/`--to` select shadow calls
//!   by their day. The primary may lie anywhere in the logs (another day, outside the period, any
//!   provider): request ids are matched across all of them.
//! - Only 2xx shadow calls are compared. A non-2xx shadow call is neither a pair nor unpaired; it
//!   is counted apart ([`Totals::failed_shadows`]) and named in the summary.
//! - A 2xx shadow call is *unpaired* when it has no `shadow_of`, names its own `request_id`,
//!   names a request id no logged call has, names only non-2xx calls, or names several 2xx calls
//!   whose token counts differ (ambiguous: which one it mirrors cannot be told). Several 2xx
//!   calls with that id and the *same* counts (one call logged twice) pair as that one call. The
//!   rule does not depend on input order, which parallel reading does not keep.
//! - A primary named by several shadow calls pairs with each of them.
//! - Drift = shadow − primary, signed, prompt and completion apart. The median is the nearest-rank
//!   one, the ⌈n/2⌉-th smallest; the max is the drift of largest magnitude with its sign, and of
//!   +d and −d the positive one.
//! - A pair is over tolerance when its prompt or its completion drift is outside
//!   max(`--tolerance-tokens`, `--tolerance-pct` % of the primary's count): |Δ| > that bound.
//!
//! Memory stays bounded whatever the input size. Pass 1 reads the logs and writes each 2xx shadow
//! call with a `shadow_of` as a small binary record into one of [`PARTS`] partitions chosen by a
//! 64-bit hash of the named id, and marks the hash in a fixed-size Bloom filter. Pass 2 reads the
//! logs again and keeps only calls whose `request_id` hash the filter holds (the wanted primaries
//! and a few false positives), partitioned the same way. Partitions stay in memory up to a budget
//! and spill to temporary files beyond it. The join then runs partition by partition (a grace hash
//! join): the primaries of one partition go into a map keyed by the **full** request id, and the
//! shadow records stream past it, so hash collisions narrow the search but never make a pair.
//! Drifts are kept as per day × model histograms (their size is the number of distinct drift
//! values, not of pairs), and the over-tolerance pairs are sorted in bounded runs merged from
//! temporary files.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::hash::Hasher;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use chrono_tz::Tz;
use rustc_hash::{FxHashMap, FxHasher};

use crate::domain::text::safe_text;
use crate::domain::{Call, Day, DayCutter, Money, Period, Tolerance};
use crate::output::Table;
use crate::sources::record::{FieldId, FieldSet};
use crate::sources::{CallSink, Disposition};

/// What the shadow comparison reads of a record: daily aggregation's fields (so the same rows
/// are rejected as by `daily`) and the ids.
pub const FIELDS: FieldSet =
    crate::aggregate::FIELDS.with(&[FieldId::RequestId, FieldId::Shadow, FieldId::ShadowOf]);

/// Hash partitions of the join.
pub const PARTS: usize = 128;
/// A worker hands its records to the shared partitions in batches of about this size.
const BATCH_BYTES: usize = 16 << 10;

/// `shadow.csv` (CONTRACT §6).
pub const HEADER: [&str; 9] = [
    "day",
    "model",
    "pairs",
    "unpaired",
    "median_prompt_drift",
    "max_prompt_drift",
    "median_completion_drift",
    "max_completion_drift",
    "over_tolerance",
];

/// `shadow_pairs.csv` (CONTRACT §6).
pub const PAIRS_HEADER: [&str; 6] = [
    "day",
    "model",
    "primary_request_id",
    "shadow_request_id",
    "prompt_drift",
    "completion_drift",
];

/// Memory bounds of a run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of partition records kept in memory per side (shadow calls, primaries) before
    /// partitions spill to temporary files.
    pub memory_bytes: usize,
    /// Bytes of over-tolerance pairs sorted in memory before a sorted run goes to a file.
    pub run_bytes: usize,
    /// log2 of the Bloom filter's size in bits (27: 16 MiB).
    pub bloom_bits_log2: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            run_bytes: 32 << 20,
            bloom_bits_log2: 27,
        }
    }
}

/// 64-bit hash of an id: FxHash finished with MurmurHash3's mixer, so every bit is usable for
/// the partition and the filter.
fn id_hash(id: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(id.as_bytes());
    let mut k = h.finish();
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

fn partition(h: u64) -> usize {
    (h >> 57) as usize % PARTS
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The set of wanted primary-id hashes: a blocked Bloom filter (three bits in one 64-bit word,
/// one memory access per lookup). False positives only let a few extra calls into the join.
struct Bloom {
    words: Vec<AtomicU64>,
    mask: u64,
}

impl Bloom {
    fn new(bits_log2: u32) -> Self {
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

    fn insert(&self, h: u64) {
        let (w, bits) = self.slot(h);
        if self.words[w].load(Ordering::Relaxed) & bits != bits {
            self.words[w].fetch_or(bits, Ordering::Relaxed);
        }
    }

    fn contains(&self, h: u64) -> bool {
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
struct Store {
    parts: Vec<Mutex<Part>>,
    in_memory: AtomicUsize,
    spilled: AtomicU64,
    budget: usize,
}

impl Store {
    fn new(budget: usize) -> Self {
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
    fn take(&self, p: usize) -> io::Result<Box<dyn Read>> {
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
struct Batches {
    bufs: Vec<Vec<u8>>,
}

impl Batches {
    fn new() -> Self {
        Batches {
            bufs: vec![Vec::new(); PARTS],
        }
    }

    fn push(
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

    fn flush(&mut self, store: &Store) -> io::Result<()> {
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

fn put_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// Reads one record field by field; `None` at a clean end of the stream.
struct Decoder<R> {
    r: R,
}

impl<R: Read> Decoder<R> {
    /// The first field of a record: `None` when the stream ends before it.
    fn first<const N: usize>(&mut self) -> io::Result<Option<[u8; N]>> {
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

    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }

    fn i64(&mut self) -> io::Result<i64> {
        Ok(i64::from_le_bytes(self.bytes()?))
    }

    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn str_into(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let n = self.u32()? as usize;
        out.clear();
        out.resize(n, 0);
        self.r.read_exact(out)
    }
}

/// Why a 2xx shadow call has no pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unpaired {
    /// No `shadow_of`.
    pub no_shadow_of: u64,
    /// `shadow_of` is the call's own `request_id`.
    pub names_itself: u64,
    /// No logged call has the named request id.
    pub missing: u64,
    /// Every call with the named request id is non-2xx.
    pub failed_primary: u64,
    /// Several 2xx calls have the named request id, with different token counts.
    pub ambiguous: u64,
}

impl Unpaired {
    pub fn total(&self) -> u64 {
        self.no_shadow_of + self.names_itself + self.missing + self.failed_primary + self.ambiguous
    }

    fn add(&mut self, o: &Unpaired) {
        self.no_shadow_of += o.no_shadow_of;
        self.names_itself += o.names_itself;
        self.missing += o.missing;
        self.failed_primary += o.failed_primary;
        self.ambiguous += o.ambiguous;
    }
}

/// Count of each drift value: enough for the nearest-rank median and the max, in memory
/// proportional to the distinct values.
#[derive(Debug, Clone, Default)]
struct Histogram(FxHashMap<i64, u64>);

impl Histogram {
    fn add(&mut self, d: i64) {
        *self.0.entry(d).or_default() += 1;
    }

    /// (nearest-rank median, max by magnitude with +d over −d); `None` when empty.
    fn median_max(&self) -> Option<(i64, i64)> {
        let mut v: Vec<(i64, u64)> = self.0.iter().map(|(d, n)| (*d, *n)).collect();
        v.sort_unstable();
        let n: u64 = v.iter().map(|(_, c)| c).sum();
        if n == 0 {
            return None;
        }
        let rank = n.div_ceil(2);
        let mut seen = 0;
        let mut median = v[0].0;
        for (d, c) in &v {
            seen += c;
            if seen >= rank {
                median = *d;
                break;
            }
        }
        let max = v
            .iter()
            .map(|(d, _)| *d)
            .max_by_key(|d| (d.unsigned_abs(), *d > 0))
            .expect("non-empty");
        Some((median, max))
    }
}

/// Per day × model state.
#[derive(Debug, Clone, Default)]
struct Group {
    pairs: u64,
    unpaired: Unpaired,
    failed_shadows: u64,
    over: u64,
    prompt: Histogram,
    completion: Histogram,
}

/// What pass 1 counts without the join: key (local day, global model id).
#[derive(Debug, Clone, Copy, Default)]
struct Direct {
    failed_shadows: u64,
    unpaired: Unpaired,
}

/// One row of `shadow.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowRow {
    pub day: Day,
    pub model: String,
    pub pairs: u64,
    pub unpaired: u64,
    /// (median, max); `None` without pairs.
    pub prompt_drift: Option<(i64, i64)>,
    pub completion_drift: Option<(i64, i64)>,
    pub over_tolerance: u64,
}

/// Run-wide counts for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// 2xx shadow calls in the period (pairs + unpaired).
    pub shadow_calls: u64,
    pub pairs: u64,
    pub unpaired: Unpaired,
    pub over_tolerance: u64,
    /// Non-2xx shadow calls in the period: not compared.
    pub failed_shadows: u64,
    /// Calls with a `shadow_of` but not marked `shadow`: user traffic, not compared.
    pub unmarked: u64,
    /// Bytes of partition records that went to temporary files.
    pub spilled_bytes: u64,
    /// Over-tolerance pairs sorted through temporary runs.
    pub sort_runs: usize,
}

/// The result: `shadow.csv`'s rows, `shadow_pairs.csv` (complete, header included) in a
/// temporary file, and the totals.
pub struct ShadowReport {
    pub rows: Vec<ShadowRow>,
    pub pairs_csv: tempfile::NamedTempFile,
    pub totals: Totals,
}

impl ShadowReport {
    /// `shadow.csv`. Empty cells where a row has no pairs.
    pub fn table(&self) -> Table {
        let opt = |v: Option<i64>| v.map(|d| d.to_string()).unwrap_or_default();
        Table {
            header: HEADER.to_vec(),
            rows: self
                .rows
                .iter()
                .map(|r| {
                    vec![
                        r.day.to_string(),
                        r.model.clone(),
                        r.pairs.to_string(),
                        r.unpaired.to_string(),
                        opt(r.prompt_drift.map(|x| x.0)),
                        opt(r.prompt_drift.map(|x| x.1)),
                        opt(r.completion_drift.map(|x| x.0)),
                        opt(r.completion_drift.map(|x| x.1)),
                        r.over_tolerance.to_string(),
                    ]
                })
                .collect(),
        }
    }

    /// Anything to flag: a pair over tolerance or an unpaired shadow call.
    pub fn flagged(&self) -> bool {
        self.totals.over_tolerance > 0 || self.totals.unpaired.total() > 0
    }
}

/// The state shared by every worker of both passes.
pub struct ShadowRun {
    tz: Option<Tz>,
    period: Period,
    limits: Limits,
    shadows: Store,
    primaries: Store,
    wanted: Bloom,
    models: Mutex<Models>,
}

/// Model names ↔ ids every worker shares.
#[derive(Default)]
struct Models {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Models {
    fn id(&mut self, model: &str) -> u32 {
        if let Some(&id) = self.ids.get(model) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(model.to_string());
        self.ids.insert(model.to_string(), id);
        id
    }
}

/// What pass 1 found, besides the records in the partitions.
pub struct Collected {
    direct: FxHashMap<(Day, u32), Direct>,
    /// Shadow calls sent to the join.
    pub joined: u64,
    unmarked: u64,
}

impl ShadowRun {
    pub fn new(tz: Option<Tz>, period: Period, limits: Limits) -> Self {
        ShadowRun {
            tz,
            period,
            limits,
            shadows: Store::new(limits.memory_bytes),
            primaries: Store::new(limits.memory_bytes),
            wanted: Bloom::new(limits.bloom_bits_log2),
            models: Mutex::new(Models::default()),
        }
    }

    /// A pass-1 sink: collects the shadow calls.
    pub fn collector(&self) -> ShadowCollector<'_> {
        ShadowCollector {
            run: self,
            cutter: DayCutter::new(self.tz),
            local: FxHashMap::default(),
            batches: Batches::new(),
            direct: FxHashMap::default(),
            joined: 0,
            unmarked: 0,
            error: None,
        }
    }

    /// A pass-2 sink: collects the calls whose request id a shadow call named.
    pub fn primary_collector(&self) -> PrimaryCollector<'_> {
        PrimaryCollector {
            run: self,
            batches: Batches::new(),
            error: None,
        }
    }

    /// Joins the partitions, partition by partition.
    pub fn join(self, collected: Collected, tol: &Tolerance) -> io::Result<ShadowReport> {
        let models = self.models.into_inner().unwrap_or_else(|e| e.into_inner());
        // Rank of each model id in name order, for sorting the pairs list.
        let names = &models.names;
        let mut order: Vec<u32> = (0..names.len() as u32).collect();
        order.sort_by(|a, b| names[*a as usize].cmp(&names[*b as usize]));
        let mut rank = vec![0u32; names.len()];
        for (r, id) in order.iter().enumerate() {
            rank[*id as usize] = r as u32;
        }

        let mut groups: FxHashMap<(Day, u32), Group> = FxHashMap::default();
        for (k, d) in &collected.direct {
            let g = groups.entry(*k).or_default();
            g.failed_shadows += d.failed_shadows;
            g.unpaired.add(&d.unpaired);
        }
        let mut sorter = PairSorter::new(self.limits.run_bytes);
        let (mut id, mut of) = (Vec::new(), Vec::new());
        for p in 0..PARTS {
            // The partition's primaries by full request id.
            let mut primaries: FxHashMap<Box<[u8]>, Primary> = FxHashMap::default();
            let mut dec = Decoder {
                r: self.primaries.take(p)?,
            };
            while let Some(status) = dec.first::<2>()? {
                let status = u16::from_le_bytes(status);
                let (prompt, completion) = (dec.u64()?, dec.u64()?);
                dec.str_into(&mut id)?;
                let e = match primaries.get_mut(&id[..]) {
                    Some(e) => e,
                    None => primaries.entry(id.clone().into_boxed_slice()).or_default(),
                };
                if (200..300).contains(&status) {
                    if e.ok == 0 {
                        (e.prompt, e.completion) = (prompt, completion);
                    } else if (e.prompt, e.completion) != (prompt, completion) {
                        e.conflict = true;
                    }
                    e.ok += 1;
                }
            }
            let mut dec = Decoder {
                r: self.shadows.take(p)?,
            };
            while let Some(day) = dec.first::<4>()? {
                let day = Day(i32::from_le_bytes(day));
                let model = dec.u32()?;
                let (prompt, completion) = (dec.u64()?, dec.u64()?);
                dec.str_into(&mut of)?;
                dec.str_into(&mut id)?;
                let g = groups.entry((day, model)).or_default();
                let prim = match primaries.get(&of[..]) {
                    None => {
                        g.unpaired.missing += 1;
                        continue;
                    }
                    Some(p) if p.ok == 0 => {
                        g.unpaired.failed_primary += 1;
                        continue;
                    }
                    Some(p) if p.conflict => {
                        g.unpaired.ambiguous += 1;
                        continue;
                    }
                    Some(p) => p,
                };
                let dp = drift(prompt, prim.prompt);
                let dc = drift(completion, prim.completion);
                g.pairs += 1;
                g.prompt.add(dp);
                g.completion.add(dc);
                if outside(dp, prim.prompt, tol) || outside(dc, prim.completion, tol) {
                    g.over += 1;
                    sorter.push(PairRow {
                        day,
                        rank: rank[model as usize],
                        primary: String::from_utf8_lossy(&of).into_owned(),
                        shadow: String::from_utf8_lossy(&id).into_owned(),
                        prompt_drift: dp,
                        completion_drift: dc,
                    })?;
                }
            }
        }

        let mut totals = Totals {
            unmarked: collected.unmarked,
            spilled_bytes: self.shadows.spilled.load(Ordering::Relaxed)
                + self.primaries.spilled.load(Ordering::Relaxed),
            ..Default::default()
        };
        let mut rows: BTreeMap<(Day, &str), ShadowRow> = BTreeMap::new();
        for ((day, model), g) in &groups {
            totals.pairs += g.pairs;
            totals.unpaired.add(&g.unpaired);
            totals.over_tolerance += g.over;
            totals.failed_shadows += g.failed_shadows;
            if g.pairs == 0 && g.unpaired.total() == 0 {
                continue;
            }
            let name = names[*model as usize].as_str();
            rows.insert(
                (*day, name),
                ShadowRow {
                    day: *day,
                    model: name.to_string(),
                    pairs: g.pairs,
                    unpaired: g.unpaired.total(),
                    prompt_drift: g.prompt.median_max(),
                    completion_drift: g.completion.median_max(),
                    over_tolerance: g.over,
                },
            );
        }
        totals.shadow_calls = totals.pairs + totals.unpaired.total();
        let by_rank: Vec<&str> = order
            .iter()
            .map(|id| names[*id as usize].as_str())
            .collect();
        totals.sort_runs = sorter.runs.len();
        let pairs_csv = sorter.finish(&by_rank)?;
        Ok(ShadowReport {
            rows: rows.into_values().collect(),
            pairs_csv,
            totals,
        })
    }
}

fn drift(shadow: u64, primary: u64) -> i64 {
    // Token counts are at most 2^53 (the readers reject more), so the difference fits.
    shadow as i64 - primary as i64
}

/// |Δ| > max(tokens, pct % of the primary's count).
fn outside(d: i64, primary: u64, tol: &Tolerance) -> bool {
    let a = d.unsigned_abs();
    if a <= tol.tokens {
        return false;
    }
    Money::from(a) > tol.tokens_for(primary as u128)
}

#[derive(Debug, Clone, Copy, Default)]
struct Primary {
    /// 2xx calls with the id.
    ok: u32,
    /// The counts of the first 2xx call read.
    prompt: u64,
    completion: u64,
    /// A later 2xx call with the id had other counts.
    conflict: bool,
}

/// Pass 1: the shadow calls.
pub struct ShadowCollector<'s> {
    run: &'s ShadowRun,
    cutter: DayCutter,
    /// Model name → the id every worker shares, cached per worker.
    local: FxHashMap<String, u32>,
    batches: Batches,
    direct: FxHashMap<(Day, u32), Direct>,
    joined: u64,
    unmarked: u64,
    error: Option<io::Error>,
}

impl ShadowCollector<'_> {
    fn model_id(&mut self, model: &str) -> u32 {
        if let Some(&id) = self.local.get(model) {
            return id;
        }
        let id = lock(&self.run.models).id(model);
        self.local.insert(model.to_string(), id);
        id
    }

    /// Hands the last partial batches to the partitions; call on the merged sink.
    pub fn finish(mut self) -> io::Result<Collected> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.batches.flush(&self.run.shadows)?;
        Ok(Collected {
            direct: self.direct,
            joined: self.joined,
            unmarked: self.unmarked,
        })
    }
}

impl CallSink for ShadowCollector<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let day = self.cutter.local_day(call.ts_ms);
        if !self.run.period.contains(day) {
            return Disposition::OutOfRange;
        }
        if !call.shadow {
            if call.shadow_of.is_some() {
                self.unmarked += 1;
            }
            return Disposition::Used;
        }
        let model = self.model_id(&call.model);
        let direct = self.direct.entry((day, model)).or_default();
        if !call.billable() {
            direct.failed_shadows += 1;
            return Disposition::Used;
        }
        let of = match &call.shadow_of {
            None => {
                direct.unpaired.no_shadow_of += 1;
                return Disposition::Used;
            }
            Some(of) if call.request_id.as_deref() == Some(of) => {
                direct.unpaired.names_itself += 1;
                return Disposition::Used;
            }
            Some(of) => of,
        };
        if self.error.is_some() {
            return Disposition::Used;
        }
        let h = id_hash(of);
        self.run.wanted.insert(h);
        self.joined += 1;
        let r = self.batches.push(&self.run.shadows, partition(h), |b| {
            b.extend_from_slice(&day.0.to_le_bytes());
            b.extend_from_slice(&model.to_le_bytes());
            b.extend_from_slice(&call.usage.prompt.to_le_bytes());
            b.extend_from_slice(&call.usage.completion.to_le_bytes());
            put_str(b, of);
            put_str(b, call.request_id.as_deref().unwrap_or(""));
        });
        if let Err(e) = r {
            self.error = Some(e);
        }
        Disposition::Used
    }

    fn merge(&mut self, mut other: Self) {
        if let Err(e) = other.batches.flush(&self.run.shadows) {
            other.error.get_or_insert(e);
        }
        if self.error.is_none() {
            self.error = other.error;
        }
        for (k, d) in other.direct {
            let mine = self.direct.entry(k).or_default();
            mine.failed_shadows += d.failed_shadows;
            mine.unpaired.add(&d.unpaired);
        }
        self.joined += other.joined;
        self.unmarked += other.unmarked;
    }
}

/// Pass 2: every call (whatever its day, provider or status) whose request id a shadow call
/// may have named.
pub struct PrimaryCollector<'s> {
    run: &'s ShadowRun,
    batches: Batches,
    error: Option<io::Error>,
}

impl PrimaryCollector<'_> {
    /// Hands the last partial batches to the partitions; call on the merged sink.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.batches.flush(&self.run.primaries)
    }
}

impl CallSink for PrimaryCollector<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let Some(id) = call.request_id.as_deref() else {
            return Disposition::Used;
        };
        let h = id_hash(id);
        if self.error.is_some() || !self.run.wanted.contains(h) {
            return Disposition::Used;
        }
        let r = self.batches.push(&self.run.primaries, partition(h), |b| {
            b.extend_from_slice(&call.status.to_le_bytes());
            b.extend_from_slice(&call.usage.prompt.to_le_bytes());
            b.extend_from_slice(&call.usage.completion.to_le_bytes());
            put_str(b, id);
        });
        if let Err(e) = r {
            self.error = Some(e);
        }
        Disposition::Used
    }

    fn merge(&mut self, mut other: Self) {
        if let Err(e) = other.batches.flush(&self.run.primaries) {
            other.error.get_or_insert(e);
        }
        if self.error.is_none() {
            self.error = other.error;
        }
    }
}

/// One line of `shadow_pairs.csv`; the field order is the sort order (model by its rank in
/// name order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PairRow {
    day: Day,
    rank: u32,
    primary: String,
    shadow: String,
    prompt_drift: i64,
    completion_drift: i64,
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
struct PairSorter {
    buf: Vec<PairRow>,
    bytes: usize,
    budget: usize,
    runs: Vec<File>,
}

impl PairSorter {
    fn new(budget: usize) -> Self {
        PairSorter {
            buf: Vec::new(),
            bytes: 0,
            budget,
            runs: Vec::new(),
        }
    }

    fn push(&mut self, row: PairRow) -> io::Result<()> {
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
    fn finish(mut self, names: &[&str]) -> io::Result<tempfile::NamedTempFile> {
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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::domain::Usage;

    const DAY_MS: i64 = 86_400_000;
    /// 2026-04-01T00:00:00Z.
    const APR1: i64 = 1_775_001_600_000;

    fn call<'a>(
        ts_ms: i64,
        model: &'a str,
        id: Option<&'a str>,
        status: u16,
        prompt: u64,
        completion: u64,
    ) -> Call<'a> {
        Call {
            ts_ms,
            provider: Cow::Borrowed("openrouter"),
            model: Cow::Borrowed(model),
            usage: Usage {
                prompt,
                completion,
                ..Default::default()
            },
            total_logged: None,
            status,
            request_id: id.map(Cow::Borrowed),
            latency_ms: None,
            byok: false,
            shadow: false,
            shadow_of: None,
            tenant: None,
            response_model: None,
            cost: None,
        }
    }

    fn shadow<'a>(c: Call<'a>, of: Option<&'a str>) -> Call<'a> {
        Call {
            shadow: true,
            shadow_of: of.map(Cow::Borrowed),
            provider: Cow::Borrowed("ominigate"),
            ..c
        }
    }

    fn tol() -> Tolerance {
        Tolerance {
            tokens: 10,
            pct: Money::new(1, 1),
            usd: Money::ZERO,
        }
    }

    /// Runs both passes over `calls`, split across `workers` sinks (merged like the scan does).
    fn run_with(calls: &[Call], workers: usize, limits: Limits, period: Period) -> ShadowReport {
        let run = ShadowRun::new(None, period, limits);
        let mut sinks: Vec<_> = (0..workers).map(|_| run.collector()).collect();
        for (i, c) in calls.iter().enumerate() {
            sinks[i % workers].accept(c);
        }
        let mut first = sinks.remove(0);
        for s in sinks {
            first.merge(s);
        }
        let collected = first.finish().unwrap();
        let mut sinks: Vec<_> = (0..workers).map(|_| run.primary_collector()).collect();
        for (i, c) in calls.iter().enumerate().rev() {
            sinks[i % workers].accept(c);
        }
        let mut first = sinks.remove(0);
        for s in sinks {
            first.merge(s);
        }
        first.finish().unwrap();
        run.join(collected, &tol()).unwrap()
    }

    fn run(calls: &[Call]) -> ShadowReport {
        run_with(calls, 2, Limits::default(), Period::default())
    }

    fn pairs_csv(r: &ShadowReport) -> String {
        std::fs::read_to_string(r.pairs_csv.path()).unwrap()
    }

    #[test]
    fn nearest_rank_median_and_signed_max() {
        let h = |v: &[i64]| {
            let mut h = Histogram::default();
            for d in v {
                h.add(*d);
            }
            h.median_max()
        };
        // Sorted −3 1 2 5: n = 4, ⌈4/2⌉ = 2nd smallest = 1; largest magnitude 5.
        assert_eq!(h(&[5, -3, 2, 1]), Some((1, 5)));
        // n = 3: the 2nd smallest; −7 beats +4 by magnitude and keeps its sign.
        assert_eq!(h(&[4, -7, 0]), Some((0, -7)));
        // Ties of magnitude: +5 over −5, whatever the order.
        assert_eq!(h(&[-5, 5, 0, 0]), Some((0, 5)));
        assert_eq!(h(&[5, -5]), Some((-5, 5)));
        // Repeated values count with their multiplicity: −1 −1 −1 9 → 2nd = −1.
        assert_eq!(h(&[-1, 9, -1, -1]), Some((-1, 9)));
        assert_eq!(h(&[]), None);
    }

    #[test]
    fn tolerance_bites_just_past_its_edge() {
        let t = tol();
        // max(10, 0.1 % of 1000 = 1) = 10.
        assert!(!outside(10, 1000, &t) && !outside(-10, 1000, &t));
        assert!(outside(11, 1000, &t) && outside(-11, 1000, &t));
        // max(10, 0.1 % of 20000 = 20) = 20.
        assert!(!outside(20, 20_000, &t));
        assert!(outside(21, 20_000, &t));
        // 0.1 % of 20500 = 20.5: 20 within, 21 over.
        assert!(!outside(-20, 20_500, &t) && outside(-21, 20_500, &t));
    }

    #[test]
    fn pairs_drifts_and_every_kind_of_unpaired() {
        let t = APR1 + 3_600_000;
        let calls = vec![
            call(t, "m", Some("p1"), 200, 1000, 100),
            call(t, "m", Some("p2"), 200, 2000, 50),
            call(t, "m", Some("p3"), 500, 10, 0),
            call(t, "m", Some("dup"), 200, 300, 30),
            call(t, "m", Some("dup"), 200, 300, 31),
            call(t, "m", Some("twice"), 200, 400, 40),
            call(t, "m", Some("twice"), 200, 400, 40),
            // pairs: p1 (+2, −1), p1 again (−12, 0: over), p2 (0, +5), twice (+1, +1)
            shadow(call(t + 5, "m", Some("s1"), 200, 1002, 99), Some("p1")),
            shadow(call(t + 6, "m", Some("s2"), 200, 988, 100), Some("p1")),
            shadow(call(t + 7, "m", Some("s3"), 200, 2000, 55), Some("p2")),
            shadow(call(t + 8, "m", Some("s4"), 200, 401, 41), Some("twice")),
            // unpaired: failed primary, missing, ambiguous, no shadow_of, itself
            shadow(call(t + 9, "m", Some("s5"), 200, 10, 5), Some("p3")),
            shadow(call(t + 9, "m", Some("s6"), 200, 10, 5), Some("nope")),
            shadow(call(t + 9, "m", Some("s7"), 200, 300, 30), Some("dup")),
            shadow(call(t + 9, "m", Some("s8"), 200, 10, 5), None),
            shadow(call(t + 9, "m", Some("s9"), 200, 10, 5), Some("s9")),
            // a failed shadow call: neither
            shadow(call(t + 9, "m", Some("s10"), 502, 10, 0), Some("p1")),
            // shadow_of without shadow: user traffic
            Call {
                shadow_of: Some(Cow::Borrowed("p1")),
                ..call(t, "m", Some("u1"), 200, 1, 1)
            },
        ];
        let r = run(&calls);
        assert_eq!(r.rows.len(), 1);
        let row = &r.rows[0];
        assert_eq!(row.day.to_string(), "2026-04-01");
        assert_eq!((row.pairs, row.unpaired, row.over_tolerance), (4, 5, 1));
        // prompt drifts −12 0 1 2 → 2nd = 0, max −12; completion −1 0 1 5 → 0, max 5.
        assert_eq!(row.prompt_drift, Some((0, -12)));
        assert_eq!(row.completion_drift, Some((0, 5)));
        let u = r.totals.unpaired;
        assert_eq!(
            (
                u.failed_primary,
                u.missing,
                u.ambiguous,
                u.no_shadow_of,
                u.names_itself
            ),
            (1, 1, 1, 1, 1)
        );
        assert_eq!(r.totals.failed_shadows, 1);
        assert_eq!(r.totals.unmarked, 1);
        assert_eq!(r.totals.shadow_calls, 9);
        assert!(r.flagged());
        assert_eq!(
            pairs_csv(&r),
            "day,model,primary_request_id,shadow_request_id,prompt_drift,completion_drift\n\
             2026-04-01,m,p1,s2,-12,0\n"
        );
    }

    #[test]
    fn day_and_period_are_the_shadow_calls() {
        let late = APR1 + DAY_MS - 10;
        let calls = vec![
            call(late, "m", Some("p"), 200, 100, 10),
            // The shadow runs past midnight: its day, 04-02, is the pair's.
            shadow(call(late + 20, "m", Some("s"), 200, 100, 10), Some("p")),
        ];
        let r = run(&calls);
        assert_eq!(r.rows.len(), 1);
        assert_eq!(r.rows[0].day.to_string(), "2026-04-02");
        assert!(!r.flagged());
        // Only 04-02 selected: the primary (04-01) is outside the period and still pairs.
        let d2 = Day::parse("2026-04-02");
        let period = Period { from: d2, to: d2 };
        let r = run_with(&calls, 1, Limits::default(), period);
        assert_eq!(r.rows[0].pairs, 1);
        // Only 04-01: no shadow call in the period, no row.
        let d1 = Day::parse("2026-04-01");
        let r = run_with(&calls, 1, Limits::default(), Period { from: d1, to: d1 });
        assert!(r.rows.is_empty());
    }

    #[test]
    fn a_shadow_of_a_shadow_pairs_link_by_link() {
        let t = APR1;
        let calls = vec![
            call(t, "m", Some("p"), 200, 100, 10),
            // s1 mirrors p (+1, 0); s2 mirrors s1 (+2, −1).
            shadow(call(t + 1, "m", Some("s1"), 200, 101, 10), Some("p")),
            shadow(call(t + 2, "m", Some("s2"), 200, 103, 9), Some("s1")),
        ];
        let r = run(&calls);
        assert_eq!(r.rows[0].pairs, 2);
        // prompt +1 +2 → 1st = 1, max 2; completion −1 0 → −1, max −1.
        assert_eq!(r.rows[0].prompt_drift, Some((1, 2)));
        assert_eq!(r.rows[0].completion_drift, Some((-1, -1)));
    }

    #[test]
    fn rows_sort_by_day_then_model_and_pairs_by_ids() {
        let t = APR1;
        let calls = vec![
            call(t, "b", Some("pb"), 200, 100, 10),
            call(t, "a", Some("pa2"), 200, 100, 10),
            call(t, "a", Some("pa1"), 200, 100, 10),
            shadow(call(t + DAY_MS, "b", Some("x"), 200, 200, 10), Some("pb")),
            shadow(call(t, "b", Some("y"), 200, 200, 10), Some("pb")),
            shadow(call(t, "a", Some("z"), 200, 200, 10), Some("pa2")),
            shadow(call(t, "a", Some("w"), 200, 200, 10), Some("pa1")),
            shadow(call(t, "=cmd", Some("@v"), 200, 1, 1), Some("-x")),
        ];
        let r = run(&calls);
        let keys: Vec<(String, &str)> = r
            .rows
            .iter()
            .map(|r| (r.day.to_string(), r.model.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("2026-04-01".to_string(), "=cmd"),
                ("2026-04-01".to_string(), "a"),
                ("2026-04-01".to_string(), "b"),
                ("2026-04-02".to_string(), "b"),
            ]
        );
        assert_eq!(r.table().rows[0][1], "=cmd");
        assert!(String::from_utf8(r.table().csv())
            .unwrap()
            .contains("\n2026-04-01,'=cmd,"));
        assert_eq!(
            pairs_csv(&r),
            "day,model,primary_request_id,shadow_request_id,prompt_drift,completion_drift\n\
             2026-04-01,a,pa1,w,100,0\n\
             2026-04-01,a,pa2,z,100,0\n\
             2026-04-01,b,pb,y,100,0\n\
             2026-04-02,b,pb,x,100,0\n"
        );
    }

    /// Tiny budgets: every partition spills to files and the pairs go through sorted runs; the
    /// result is the one computed in memory.
    #[test]
    fn spilled_join_and_external_sort_give_the_in_memory_result() {
        let mut owned: Vec<(String, String, u64)> = Vec::new();
        for i in 0..3000u64 {
            owned.push((format!("gen-{i}"), format!("omg-{i}"), i));
        }
        let mut calls = Vec::new();
        for (p, s, i) in &owned {
            let t = APR1 + (*i as i64 % 5) * DAY_MS;
            let model = ["x", "y", "z"][*i as usize % 3];
            calls.push(call(
                t,
                model,
                Some(p),
                if i % 97 == 0 { 500 } else { 200 },
                1000 + i,
                100,
            ));
            // Every 7th pair drifts by +50 (over tolerance), the rest by i % 11 (within).
            let d = if i % 7 == 0 { 50 } else { i % 11 };
            let shadow_of = if i % 101 == 0 { "missing" } else { p.as_str() };
            calls.push(shadow(
                call(t + 1, model, Some(s), 200, 1000 + i + d, 100 + (i % 3)),
                Some(shadow_of),
            ));
        }
        let small = Limits {
            memory_bytes: 4096,
            run_bytes: 2048,
            bloom_bits_log2: 8,
        };
        let a = run_with(&calls, 3, Limits::default(), Period::default());
        let b = run_with(&calls, 3, small, Period::default());
        assert_eq!(a.totals.spilled_bytes, 0);
        assert!(
            b.totals.spilled_bytes > 0 && b.totals.sort_runs > 1,
            "{:?}",
            b.totals
        );
        assert_eq!(a.rows, b.rows);
        assert_eq!(pairs_csv(&a), pairs_csv(&b));
        assert_eq!(
            (a.totals.pairs, a.totals.unpaired.total()),
            (b.totals.pairs, b.totals.unpaired.total())
        );
        // 3000 shadows: 30 name "missing" (i % 101 == 0), 31 have a failed primary (i % 97 == 0;
        // i = 0 is both and counts as missing).
        assert_eq!(a.totals.unpaired.missing, 30);
        assert_eq!(a.totals.unpaired.failed_primary, 30);
        assert_eq!(a.totals.pairs, 3000 - 60);
        let lines = pairs_csv(&a).lines().count() - 1;
        assert_eq!(lines as u64, a.totals.over_tolerance);
        assert!(a.totals.over_tolerance > 400);
    }
}
