//! The per-call side of the bills (docs/formats.md §11): every row of an OpenRouter activity
//! export that names its `generation_id` is also kept as one billed call, for `reconcile` to
//! match one to one with the logged calls. Rows are kept sorted by id in a [`Sorter`] (in
//! memory up to its budget, then in runs on disk), not as strings in a map, so ten million
//! generations fit. A `generation_id` listed twice is two billed calls: the gateway billed both.

use std::fmt;
use std::io;

use crate::domain::{Day, Money};
use crate::sources::spill::{codec, id_key, Sorted, Sorter, DEFAULT_BUDGET};

/// One billed generation.
#[derive(Debug, Clone, PartialEq)]
pub struct BilledCall {
    pub provider: String,
    pub id: String,
    pub model: String,
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

impl BilledCall {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(80 + self.id.len() + self.model.len());
        codec::put_i64(&mut b, self.ts_ms);
        codec::put_i64(&mut b, self.day.0 as i64);
        codec::put_u64(&mut b, self.prompt);
        codec::put_u64(&mut b, self.completion);
        codec::put_money(&mut b, self.amount);
        codec::put_u64(&mut b, self.file as u64);
        codec::put_u64(&mut b, self.line);
        codec::put_str(&mut b, &self.provider);
        codec::put_str(&mut b, &self.model);
        codec::put_str(&mut b, &self.id);
        b
    }

    fn decode(payload: &[u8]) -> BilledCall {
        let mut r = codec::Reader(payload);
        BilledCall {
            ts_ms: r.i64(),
            day: Day(r.i64() as i32),
            prompt: r.u64(),
            completion: r.u64(),
            amount: r.money(),
            file: r.u64() as usize,
            line: r.u64(),
            provider: r.str(),
            model: r.str(),
            id: r.str(),
        }
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
            sorter: Sorter::new(budget),
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

    pub(crate) fn push(&mut self, call: &BilledCall) {
        if self.error.is_some() {
            return;
        }
        if !self.providers.contains(&call.provider) {
            self.providers.insert(call.provider.clone());
        }
        let key = id_key(&call.provider, &call.id);
        if let Err(e) = self.sorter.push(key, call.ts_ms as u64, &call.encode()) {
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

/// [`BilledCalls`] in order: `(key, call)`.
pub(crate) struct BilledIter(Sorted);

impl BilledIter {
    pub(crate) fn next_call(&mut self) -> io::Result<Option<(u64, BilledCall)>> {
        Ok(self
            .0
            .next_record()?
            .map(|(key, _, p)| (key, BilledCall::decode(&p))))
    }
}
