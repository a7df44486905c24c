//! The consumer side of the log readers: a [`CallSink`] takes every call a worker thread parses
//! and says what it did with it; sinks of several stages combine as a pair, or as an option when
//! a stage is not needed this run.

use crate::domain::Call;

/// What a sink did with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    Used,
    /// Outside `--from`/`--to`: read and valid, deliberately not counted.
    OutOfRange,
    /// Valid but refused by a limit (the reason names it): a rejected row like any other.
    Rejected(&'static str),
}

/// Per-thread consumer of calls; the stages after the readers implement it.
pub(crate) trait CallSink: Send {
    fn accept(&mut self, call: &Call<'_>) -> Disposition;
    fn merge(&mut self, other: Self);

    /// The calls handed over next come from the chunk that starts at `at`, in file order, until
    /// the next `chunk`. Called once per chunk, for sinks that need each call's place in the
    /// scan ([`ScanOrder`]); the others ignore it.
    fn chunk(&mut self, _at: ScanOrder) {}
}

/// A call's place in the scan: numbers that order calls as the log set lists them (files in
/// order, then lines or Parquet rows), whichever worker thread read them. A worker reads its
/// chunks whole and in file order but chunks of one file go to all workers, so the number is
/// made of the file's index, the chunk's place in the file (its sequence number, or a Parquet
/// slice's first row) and the call's place in the chunk.
///
/// Bits, high to low: the file (20), then, in a text file, the chunk (22) and the call within it
/// (22); in a Parquet file, the row (44). A log set of more than a million files, a text file of
/// more than 4M chunks (16 TiB at 4 MiB a chunk), a chunk of more than 4M calls or a Parquet file
/// of more than 2^44 rows would wrap into the next field and misplace calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ScanOrder(u64);

impl ScanOrder {
    const FILE_SHIFT: u32 = 44;
    const CHUNK_SHIFT: u32 = 22;

    /// The first call of chunk `seq` of text file `file`.
    pub(crate) fn text_chunk(file: usize, seq: u64) -> ScanOrder {
        ScanOrder(((file as u64) << Self::FILE_SHIFT) | (seq << Self::CHUNK_SHIFT))
    }

    /// The call on 0-based row `row` of Parquet file `file` (a slice starts at its first row;
    /// skipped rows leave gaps, which keep the order).
    pub(crate) fn row(file: usize, row: u64) -> ScanOrder {
        ScanOrder(((file as u64) << Self::FILE_SHIFT) | row)
    }

    /// This call's number; the next call's is one more.
    pub(crate) fn next(&mut self) -> u64 {
        let n = self.0;
        self.0 += 1;
        n
    }
}

/// Two sinks fed the same calls in one pass; the first one's disposition counts, and a call it
/// rejects is not passed on.
impl<A: CallSink, B: CallSink> CallSink for (A, B) {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let d = self.0.accept(call);
        if !matches!(d, Disposition::Rejected(_)) {
            self.1.accept(call);
        }
        d
    }

    fn merge(&mut self, other: Self) {
        self.0.merge(other.0);
        self.1.merge(other.1);
    }

    fn chunk(&mut self, at: ScanOrder) {
        self.0.chunk(at);
        self.1.chunk(at);
    }
}

/// A sink that may not be needed this run.
impl<S: CallSink> CallSink for Option<S> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        self.as_mut().map_or(Disposition::Used, |s| s.accept(call))
    }

    fn merge(&mut self, other: Self) {
        if let (Some(a), Some(b)) = (self.as_mut(), other) {
            a.merge(b);
        }
    }

    fn chunk(&mut self, at: ScanOrder) {
        if let Some(s) = self.as_mut() {
            s.chunk(at);
        }
    }
}

/// A value per provider, for a sink's per-call path: real logs name a handful of providers,
/// found faster by comparing names than by hashing them; past [`PerProvider::FEW`] (a hostile
/// log), a map finds the rest.
#[derive(Debug, Default)]
pub(crate) struct PerProvider<V> {
    items: Vec<(String, V)>,
    more: rustc_hash::FxHashMap<String, usize>,
}

impl<V: Default> PerProvider<V> {
    const FEW: usize = 8;

    /// The provider's value, made when new.
    pub(crate) fn get(&mut self, provider: &str) -> &mut V {
        let found = match self
            .items
            .iter()
            .take(Self::FEW)
            .position(|i| i.0 == provider)
        {
            Some(i) => Some(i),
            None if self.items.len() > Self::FEW => self.more.get(provider).copied(),
            None => None,
        };
        let i = found.unwrap_or_else(|| {
            let i = self.items.len();
            if i >= Self::FEW {
                self.more.insert(provider.to_string(), i);
            }
            self.items.push((provider.to_string(), V::default()));
            i
        });
        &mut self.items[i].1
    }

    /// Every provider and its value, in the order first seen.
    pub(crate) fn into_items(self) -> impl Iterator<Item = (String, V)> {
        self.items.into_iter()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.items.iter().map(|(p, v)| (p.as_str(), v))
    }
}
