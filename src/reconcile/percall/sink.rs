//! The log side of per-call matching: each billable logged call of a provider whose bill names
//! its calls, as a compact record (id, day, model, tokens, its cost at the rate table) sorted by
//! id in a [`Sorter`], in memory up to a budget per worker thread, then in runs on disk.

use std::collections::BTreeSet;
use std::io;

use chrono_tz::Tz;
use rustc_hash::FxHashMap;

use crate::aggregate::Names;
use crate::domain::{Call, Day, DayCutter, Money, TokenSums};
use crate::pricing::aliases::ModelNames;
use crate::pricing::{self, RateTable};
use crate::sources::spill::{call_key, codec, Sorted, Sorter};
use crate::sources::{CallSink, Disposition, PerProvider};

/// Bytes one worker's sorter keeps in memory before it writes a run.
const WORKER_BUDGET: usize = 48 << 20;

/// One logged call, as matching reads it back (`String`s); the sink pushes one with borrowed
/// `&str`s, encoded in place.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct LoggedCall<S = String> {
    pub provider: S,
    pub id: S,
    pub model: S,
    pub ts_ms: i64,
    /// The day in `--tz`.
    pub day: Day,
    pub prompt: u64,
    pub completion: u64,
    /// The call at the rate table (`None`: no rate).
    pub expected: Option<Money>,
    /// A BYOK call: its usage is paid upstream; the gateway bills at most its fee.
    pub byok: bool,
}

impl<S: AsRef<str>> LoggedCall<S> {
    pub(crate) fn encode_into(&self, b: &mut Vec<u8>) {
        codec::put_i64(b, self.ts_ms);
        codec::put_i64(b, self.day.0 as i64);
        codec::put_u64(b, self.prompt);
        codec::put_u64(b, self.completion);
        b.push(u8::from(self.expected.is_some()) | (u8::from(self.byok) << 1));
        codec::put_money(b, self.expected.unwrap_or_default());
        codec::put_str(b, self.provider.as_ref());
        codec::put_str(b, self.model.as_ref());
        codec::put_str(b, self.id.as_ref());
    }

    #[cfg(test)]
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        self.encode_into(&mut b);
        b
    }
}

impl LoggedCall {
    /// Reads a payload into `self`, reusing its strings' buffers.
    pub(crate) fn decode_into(&mut self, p: &[u8]) {
        let mut r = codec::Reader(p);
        self.ts_ms = r.i64();
        self.day = Day(r.i64() as i32);
        self.prompt = r.u64();
        self.completion = r.u64();
        let flags = r.u8();
        let expected = r.money();
        self.expected = (flags & 1 == 1).then_some(expected);
        self.byok = flags & 2 == 2;
        r.str_into(&mut self.provider);
        r.str_into(&mut self.model);
        r.str_into(&mut self.id);
    }
}

/// Per provider: billable logged calls with a request id, and without one.
pub(crate) type IdCounts = std::collections::BTreeMap<String, (u64, u64)>;

/// Collects the logged calls of `providers` (those whose bill names its calls), and counts per
/// provider the billable calls with and without a request id. Put after the daily aggregation,
/// so it sees only the calls the daily sums use.
pub(crate) struct CallLog<'r> {
    rates: &'r RateTable,
    providers: &'r BTreeSet<String>,
    cutter: DayCutter,
    names: Names<'r>,
    rate_of: FxHashMap<(u32, Day), Option<usize>>,
    sorter: Sorter,
    /// Per provider: billable calls with a request id, and without.
    counts: PerProvider<(u64, u64)>,
    error: Option<io::Error>,
}

impl<'r> CallLog<'r> {
    pub(crate) fn new(
        rates: &'r RateTable,
        resolver: &'r ModelNames,
        providers: &'r BTreeSet<String>,
        tz: Option<Tz>,
    ) -> Self {
        CallLog {
            rates,
            providers,
            cutter: DayCutter::new(tz),
            names: Names::new(resolver),
            rate_of: FxHashMap::default(),
            sorter: Sorter::new(if providers.is_empty() {
                1
            } else {
                WORKER_BUDGET
            }),
            counts: PerProvider::default(),
            error: None,
        }
    }

    /// The calls in id order and, per provider, how many calls had an id and how many had none.
    pub(crate) fn finish(self) -> io::Result<(LoggedIter, IdCounts)> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut counts = IdCounts::new();
        for (p, (with, without)) in self.counts.into_items() {
            let e = counts.entry(p).or_default();
            e.0 += with;
            e.1 += without;
        }
        Ok((LoggedIter(self.sorter.finish()?), counts))
    }
}

impl CallSink for CallLog<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        if self.error.is_some() || !call.billable() {
            return Disposition::Used;
        }
        let count = self.counts.get(&call.provider);
        let Some(id) = call.request_id.as_deref().filter(|id| !id.is_empty()) else {
            count.1 += 1;
            return Disposition::Used;
        };
        count.0 += 1;
        if !self.providers.contains(call.provider.as_ref()) {
            return Disposition::Used;
        }
        let utc = DayCutter::utc_day(call.ts_ms);
        let mid = self.names.id(&call.provider, &call.model);
        let rates = self.rates;
        let rate = *self
            .rate_of
            .entry((mid, utc))
            .or_insert_with(|| rates.lookup(&call.provider, &call.model, utc));
        let expected = rate.map(|r| {
            let rate = rates.get(r);
            let mut t = TokenSums::default();
            t.add(&call.usage);
            pricing::cost(rate, rate.tier_for(call.usage.prompt), &t)
        });
        let logged = LoggedCall {
            provider: call.provider.as_ref(),
            id,
            model: call.model.as_ref(),
            ts_ms: call.ts_ms,
            day: self.cutter.local_day(call.ts_ms),
            prompt: call.usage.prompt,
            completion: call.usage.completion,
            expected,
            byok: call.byok,
        };
        let key = call_key(&call.provider, id);
        if let Err(e) = self
            .sorter
            .push_with(key, call.ts_ms as u64, |b| logged.encode_into(b))
        {
            self.error = Some(e);
        }
        Disposition::Used
    }

    fn merge(&mut self, other: Self) {
        if let Some(e) = other.error {
            self.error.get_or_insert(e);
        }
        for (p, (with, without)) in other.counts.into_items() {
            let c = self.counts.get(&p);
            c.0 += with;
            c.1 += without;
        }
        if let Err(e) = self.sorter.merge(other.sorter) {
            self.error.get_or_insert(e);
        }
    }
}

/// The logged calls in id-key order, one at a time.
pub(crate) struct LoggedIter(pub(super) Sorted);

impl LoggedIter {
    /// The key of the call at hand; `None` at the end.
    pub(crate) fn key(&self) -> Option<u64> {
        self.0.current().map(|(k, _, _)| k)
    }

    /// Reads the call at hand into `into` and moves on.
    pub(crate) fn take(&mut self, into: &mut LoggedCall) -> io::Result<()> {
        if let Some((_, _, p)) = self.0.current() {
            into.decode_into(p);
        }
        self.0.advance()
    }
}
