//! The per-call side of the bills (docs/formats.md §11): every row of an OpenRouter activity
//! export that names its `generation_id`, and every OpenRouter generation record, is also kept as
//! one billed call, for `reconcile` to
//! match one to one with the logged calls. Rows are kept sorted by id in a [`Sorter`] (in
//! memory up to its budget, then in runs on disk), not as strings in a map, so ten million
//! generations fit. A `generation_id` listed twice is two billed calls: the gateway billed both.

use std::fmt;
use std::io;

use crate::domain::{Day, Money};
use crate::sources::spill::{call_key, codec, Sorted, Sorter, DEFAULT_BUDGET};

/// One billed generation. Its strings are `String`s as read back; a bill's reader pushes one
/// with borrowed `&str`s (no copy of its own).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BilledCall<S = String> {
    pub provider: S,
    pub id: S,
    pub model: S,
    /// `created_at`, milliseconds since the Unix epoch, UTC.
    pub ts_ms: i64,
    /// The day in `--tz`, as the daily lines count it.
    pub day: Day,
    pub prompt: u64,
    pub completion: u64,
    pub amount: Money,
    /// Where the row was read: index into [`BilledCalls::files`], and its line.
    pub file: usize,
    pub line: u64,
}

impl<S: AsRef<str>> BilledCall<S> {
    fn encode_into(&self, b: &mut Vec<u8>) {
        codec::put_i64(b, self.ts_ms);
        codec::put_i64(b, self.day.0 as i64);
        codec::put_u64(b, self.prompt);
        codec::put_u64(b, self.completion);
        codec::put_money(b, self.amount);
        codec::put_u64(b, self.file as u64);
        codec::put_u64(b, self.line);
        codec::put_str(b, self.provider.as_ref());
        codec::put_str(b, self.model.as_ref());
        codec::put_str(b, self.id.as_ref());
    }
}

impl BilledCall {
    /// Reads a payload into `self`, reusing its strings' buffers.
    fn decode_into(&mut self, payload: &[u8]) {
        let mut r = codec::Reader(payload);
        self.ts_ms = r.i64();
        self.day = Day(r.i64() as i32);
        self.prompt = r.u64();
        self.completion = r.u64();
        self.amount = r.money();
        self.file = r.u64() as usize;
        self.line = r.u64();
        r.str_into(&mut self.provider);
        r.str_into(&mut self.model);
        r.str_into(&mut self.id);
    }
}

/// The billed calls of every file read, by id.
pub struct BilledCalls {
    sorter: Sorter,
    /// The invoice files, for a call's `file`.
    pub files: Vec<String>,
    /// The providers that have billed calls.
    pub providers: std::collections::BTreeSet<String>,
    /// Per provider, the rows of its bill that name no call (a daily line, an export row
    /// without `generation_id`).
    pub rows_without_ids: std::collections::BTreeMap<String, u64>,
    error: Option<io::Error>,
}

impl Default for BilledCalls {
    fn default() -> Self {
        BilledCalls::with_budget(DEFAULT_BUDGET)
    }
}

impl BilledCalls {
    /// Billed calls kept in memory up to `budget` bytes, then in runs on disk.
    pub(crate) fn with_budget(budget: usize) -> Self {
        BilledCalls {
            // Filled while the bill is read, before the logs: the other core sorts the runs.
            sorter: Sorter::new(budget).in_background(),
            files: Vec::new(),
            providers: Default::default(),
            rows_without_ids: Default::default(),
            error: None,
        }
    }
}

impl fmt::Debug for BilledCalls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BilledCalls({} calls)", self.sorter.len())
    }
}

impl BilledCalls {
    /// Billed calls read.
    pub fn len(&self) -> u64 {
        self.sorter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorter.len() == 0
    }

    pub(crate) fn push<S: AsRef<str>>(&mut self, call: &BilledCall<S>) {
        if self.error.is_some() {
            return;
        }
        let provider = call.provider.as_ref();
        if !self.providers.contains(provider) {
            self.providers.insert(provider.to_string());
        }
        let key = call_key(provider, call.id.as_ref());
        if let Err(e) = self
            .sorter
            .push_with(key, call.ts_ms as u64, |b| call.encode_into(b))
        {
            self.error = Some(e);
        }
    }

    /// Every billed call in id-key order (then time), or the error of writing them to disk.
    pub(crate) fn sorted(self) -> io::Result<BilledIter> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(BilledIter(self.sorter.finish()?))
    }
}

/// [`BilledCalls`] in order, one call at a time.
pub(crate) struct BilledIter(Sorted);

impl BilledIter {
    /// The key of the call at hand; `None` at the end.
    pub(crate) fn key(&self) -> Option<u64> {
        self.0.current().map(|(k, _, _)| k)
    }

    /// Reads the call at hand into `into` and moves on.
    pub(crate) fn take(&mut self, into: &mut BilledCall) -> io::Result<()> {
        if let Some((_, _, p)) = self.0.current() {
            into.decode_into(p);
        }
        self.0.advance()
    }
}
