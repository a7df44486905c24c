//! The canary dashboard (`rollout.csv`): per day × provider, the user calls, the provider's share
//! of the day's calls, errors, nearest-rank p50/p95 latency and the cost per call and per million
//! tokens, to watch a 10 % → 25/50/100 % ramp from one gateway to another.
//!
//! Decisions (docs/commands/rollout.md says the same):
//! - User traffic only: shadow calls (`shadow` true) are left out of every column. They still
//!   count as *used* rows in `files.csv` (read and valid); the summary says how many were left out.
//! - `calls` counts every status, `errors` the non-2xx calls, `share_pct` is `calls` over all
//!   providers' calls of the day. Percentages are rounded half-up to 2 decimals, so a day's shares
//!   may sum to 99.99 or 100.01.
//! - Cost comes from the 2xx calls, priced exactly as `daily` prices them: the calls go through the
//!   same [`DailyAggregator`] (integer token sums per day × provider × model × UTC day × rate row ×
//!   tier, each group priced once), and a row's `cost_usd` is the exact sum of what would be its
//!   `daily.csv` rows' `cost_usd`, not rounded. If any 2xx call of the row has no rate, the three
//!   cost columns are empty (never silently free) and the summary names the provider × model.
//!   `cost_per_call_usd` = cost / 2xx calls, `cost_per_mtok_usd` = cost × 1,000,000 / (prompt +
//!   completion tokens of the 2xx calls), each rounded half-up to 6 decimals from the exact ratio;
//!   empty when the divisor is 0.
//! - Latency percentiles are exact nearest-rank values (the ⌈p·n⌉-th smallest) over the row's
//!   calls of any status that have a latency; empty when none has. A latency is shown as the log
//!   wrote it, in its shortest form (`2713`, `2713.5`; `2713.50` shows as `2713.5`).
//! - Memory does not grow with the number of calls: per row, [`LatencyCounts`] keeps one count per
//!   distinct latency value.

use std::collections::hash_map::Entry;
use std::collections::BTreeMap;

use chrono_tz::Tz;
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::RoundingStrategy;
use rustc_hash::FxHashMap;

use crate::aggregate::{self, DailyAggregator};
use crate::domain::{Call, Day, DayCutter, Money, Period};
use crate::pricing::aliases::ModelNames;
use crate::pricing::RateTable;
use crate::sources::record::{FieldId, FieldSet};
use crate::sources::{CallSink, Disposition};

/// What the dashboard reads of a record: what `daily` reads, the latency and the shadow flag.
pub(crate) const FIELDS: FieldSet = aggregate::FIELDS.with(&[FieldId::LatencyMs, FieldId::Shadow]);

pub(crate) const HEADER: [&str; 11] = [
    "day",
    "provider",
    "calls",
    "share_pct",
    "errors",
    "error_rate_pct",
    "p50_latency_ms",
    "p95_latency_ms",
    "cost_usd",
    "cost_per_call_usd",
    "cost_per_mtok_usd",
];

/// A row's latencies wait in a list until it holds this many, or half as many as the row's
/// distinct values so far, before they are sorted and counted.
const MIN_PENDING: usize = if cfg!(test) { 4 } else { 1 << 11 };

/// Exact counts per distinct latency value: memory grows with the number of distinct values,
/// never with the number of calls.
///
/// A latency is keyed by the bits of its `f64`. The log reader rejects negative and non-finite
/// latencies, and `-0` is keyed as `0`; for non-negative finite doubles the bits order exactly like
/// the values, so no value is rounded or merged with a neighbour. Counts live in two sorted arrays
/// (value, count), 16 bytes per distinct value. New latencies are appended to a short list; once
/// it holds `max(2,048, distinct values / 2)` of them it is sorted, run-length counted and merged
/// into the arrays in one sequential pass. A hash map per row was slower: calls arrive in no
/// order of day or provider, and once the rows' maps together outgrow the cache nearly every call
/// misses it (on the benchmark's 10M calls a third of the run's time went there; the lists take
/// about 5 %). Memory: 16 bytes per distinct value plus the pending list (8 bytes per distinct
/// value / 2, at least 16 KiB a row); logs in whole milliseconds have at most a few thousand
/// distinct values a row, so a few hundred KiB a row.
#[derive(Debug, Clone, Default)]
pub(crate) struct LatencyCounts {
    /// Keys not yet counted, in arrival order.
    pending: Vec<u64>,
    /// Sorted, distinct; `counts[i]` calls had latency `values[i]`.
    values: Vec<u64>,
    counts: Vec<u64>,
    n: u64,
}

fn key(ms: f64) -> u64 {
    debug_assert!(
        ms.is_finite() && ms >= 0.0,
        "latency {ms} passed the reader"
    );
    if ms == 0.0 {
        0
    } else {
        ms.to_bits()
    }
}

impl LatencyCounts {
    pub(crate) fn add(&mut self, ms: f64) {
        self.pending.push(key(ms));
        self.n += 1;
        if self.pending.len() >= MIN_PENDING.max(self.values.len() / 2) {
            self.flush();
        }
    }

    /// Calls with a latency.
    #[cfg(test)]
    fn len(&self) -> u64 {
        self.n
    }

    /// Sorts the pending keys, counts each value's run and merges the runs into the arrays.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut keys = std::mem::take(&mut self.pending);
        keys.sort_unstable();
        let mut counts: Vec<u64> = Vec::new();
        let mut w = 0;
        for r in 0..keys.len() {
            if w > 0 && keys[w - 1] == keys[r] {
                *counts.last_mut().expect("a run is open") += 1;
            } else {
                keys[w] = keys[r];
                counts.push(1);
                w += 1;
            }
        }
        self.merge_sorted(keys[..w].iter().copied().zip(counts));
        keys.clear();
        self.pending = keys;
    }

    /// Merges sorted distinct (value, count) pairs into the arrays, in place: from the back,
    /// adding the counts of values already there, then closing the gap the duplicates left.
    fn merge_sorted<I>(&mut self, mut new: I)
    where
        I: DoubleEndedIterator<Item = (u64, u64)> + ExactSizeIterator,
    {
        let old = self.values.len();
        let total = old + new.len();
        self.values.reserve_exact(new.len());
        self.counts.reserve_exact(new.len());
        self.values.resize(total, 0);
        self.counts.resize(total, 0);
        // Invariant: w − i = (new pairs not yet placed) + (duplicates merged so far) ≥ 0, so
        // writing at w never overwrites an old entry not yet read.
        let (mut i, mut w) = (old, total);
        let mut next = new.next_back();
        while let Some((k, c)) = next {
            w -= 1;
            if i > 0 && self.values[i - 1] > k {
                self.values[w] = self.values[i - 1];
                self.counts[w] = self.counts[i - 1];
                i -= 1;
            } else if i > 0 && self.values[i - 1] == k {
                self.values[w] = k;
                self.counts[w] = self.counts[i - 1] + c;
                i -= 1;
                next = new.next_back();
            } else {
                self.values[w] = k;
                self.counts[w] = c;
                next = new.next_back();
            }
        }
        // 0..i are the old entries below every new one, already in place; w..total the merged.
        if w > i {
            self.values.copy_within(w..total, i);
            self.counts.copy_within(w..total, i);
            self.values.truncate(total - (w - i));
            self.counts.truncate(total - (w - i));
        }
    }

    pub(crate) fn merge(&mut self, mut other: LatencyCounts) {
        if self.n == 0 {
            *self = other;
            return;
        }
        self.flush();
        other.flush();
        self.n += other.n;
        self.merge_sorted(other.values.into_iter().zip(other.counts));
    }

    /// The nearest-rank percentile `num / den`: the ⌈num/den · n⌉-th smallest latency (the
    /// smallest when that rank is 0); `None` without latencies.
    pub(crate) fn nearest_rank(&mut self, num: u64, den: u64) -> Option<f64> {
        self.flush();
        if self.n == 0 {
            return None;
        }
        let rank = (num as u128 * self.n as u128).div_ceil(den as u128).max(1);
        let mut seen = 0u128;
        for (v, c) in self.values.iter().zip(&self.counts) {
            seen += *c as u128;
            if seen >= rank {
                return Some(f64::from_bits(*v));
            }
        }
        unreachable!("rank {rank} ≤ n = {}", self.n)
    }
}

/// `num × mul / den` rounded half-up to `dp` decimals (`num` ≥ 0, `den` > 0), from the exact
/// ratio: integer division of the decimal's mantissa, so no intermediate rounding can move a
/// value across a midpoint. Falls back to decimal division if the integers would overflow;
/// `None` only when the result has no room for `dp` decimals in a decimal's 28 digits.
fn ratio(num: Money, mul: u64, den: u128, dp: u32) -> Option<Money> {
    debug_assert!(den > 0 && !num.is_sign_negative());
    let exact = (|| {
        let x = (num.mantissa().unsigned_abs())
            .checked_mul(mul as u128)?
            .checked_mul(10u128.checked_pow(dp)?)?;
        let y = 10u128.checked_pow(num.scale())?.checked_mul(den)?;
        let (q, r) = (x / y, x % y);
        let q = if r >= y - r { q + 1 } else { q };
        Money::try_from_i128_with_scale(i128::try_from(q).ok()?, dp).ok()
    })();
    exact.or_else(|| {
        let (mul, den) = (Money::from(mul), Money::from_u128(den)?);
        let q = match num.checked_mul(mul) {
            Some(x) => x.checked_div(den)?,
            None => num.checked_div(den)?.checked_mul(mul)?,
        };
        let mut m = q.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
        m.rescale(dp);
        (m.scale() == dp).then_some(m)
    })
}

/// Provider names ↔ small ids, so the per-call key is integers. (Not `aggregate::Names` with an
/// empty model: comparing an empty `&str` costs about 80 ns a call on the AVX-512 machine the
/// benchmark ran on, the masked load of glibc's `memcmp` from the empty string's dangling
/// pointer taking a slow path.)
#[derive(Default)]
struct Providers {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Providers {
    fn id(&mut self, provider: &str) -> u32 {
        if let Some(&id) = self.ids.get(provider) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(provider.into());
        self.ids.insert(provider.into(), id);
        id
    }

    fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// Per-thread state of the dashboard; merged into one at the end of the scan.
pub(crate) struct RolloutSink<'r> {
    /// The 2xx calls' cost and every call's status, exactly as `daily` counts them.
    daily: DailyAggregator<'r>,
    cutter: DayCutter,
    period: Period,
    providers: Providers,
    latencies: FxHashMap<(Day, u32), LatencyCounts>,
    shadow_calls: u64,
}

impl<'r> RolloutSink<'r> {
    pub(crate) fn new(
        rates: &'r RateTable,
        names: &'r ModelNames,
        tz: Option<Tz>,
        period: Period,
    ) -> Self {
        RolloutSink {
            daily: DailyAggregator::new(rates, names, tz, period),
            cutter: DayCutter::new(tz),
            period,
            providers: Providers::default(),
            latencies: FxHashMap::default(),
            shadow_calls: 0,
        }
    }

    /// Rows sorted by day, provider.
    pub(crate) fn finish(self) -> Rollout {
        let daily = self.daily.finish();
        let unpriced = daily.unpriced();
        let mut latencies: BTreeMap<(Day, &str), LatencyCounts> = BTreeMap::new();
        for ((day, id), l) in self.latencies {
            latencies.insert((day, self.providers.name(id)), l);
        }
        let mut rows: Vec<RolloutRow> = Vec::new();
        // daily's rows are sorted by day, provider, model: a row here is a run of them.
        for d in &daily.rows {
            let row = match rows.last_mut() {
                Some(r) if r.day == d.day && r.provider == d.provider => r,
                _ => {
                    rows.push(RolloutRow {
                        day: d.day,
                        provider: d.provider.clone(),
                        cost_usd: Some(Money::ZERO),
                        ..Default::default()
                    });
                    rows.last_mut().expect("just pushed")
                }
            };
            row.billable += d.requests;
            row.errors += d.failed_requests;
            row.calls += d.requests + d.failed_requests;
            row.tokens += d.total_tokens();
            row.cost_usd = row.cost_usd.zip(d.cost_usd).map(|(a, b)| a + b);
        }
        let mut day_calls: BTreeMap<Day, u64> = BTreeMap::new();
        for r in &rows {
            *day_calls.entry(r.day).or_default() += r.calls;
        }
        for r in &mut rows {
            let pct = |part: u64, whole: u64| {
                ratio(Money::from(part), 100, whole as u128, 2).expect("a percentage ≤ 100 fits")
            };
            r.share_pct = pct(r.calls, day_calls[&r.day]);
            r.error_rate_pct = pct(r.errors, r.calls);
            if let Some(l) = latencies.get_mut(&(r.day, r.provider.as_str())) {
                r.p50_latency_ms = l.nearest_rank(50, 100);
                r.p95_latency_ms = l.nearest_rank(95, 100);
            }
            if let Some(cost) = r.cost_usd {
                r.cost_per_call_usd = (r.billable > 0)
                    .then(|| ratio(cost, 1, r.billable as u128, 6))
                    .flatten();
                r.cost_per_mtok_usd = (r.tokens > 0)
                    .then(|| ratio(cost, 1_000_000, r.tokens, 6))
                    .flatten();
            }
        }
        Rollout {
            rows,
            shadow_calls: self.shadow_calls,
            unpriced,
        }
    }
}

impl CallSink for RolloutSink<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        if call.shadow {
            if !self.period.contains(self.cutter.local_day(call.ts_ms)) {
                return Disposition::OutOfRange;
            }
            self.shadow_calls += 1;
            return Disposition::Used;
        }
        if self.daily.accept(call) == Disposition::OutOfRange {
            return Disposition::OutOfRange;
        }
        if let Some(ms) = call.latency_ms {
            let day = self.cutter.local_day(call.ts_ms);
            let id = self.providers.id(&call.provider);
            self.latencies.entry((day, id)).or_default().add(ms);
        }
        Disposition::Used
    }

    fn merge(&mut self, other: Self) {
        self.daily.merge(other.daily);
        self.shadow_calls += other.shadow_calls;
        for ((day, id), l) in other.latencies {
            let mine = self.providers.id(other.providers.name(id));
            match self.latencies.entry((day, mine)) {
                Entry::Occupied(e) => e.into_mut().merge(l),
                Entry::Vacant(e) => {
                    e.insert(l);
                }
            }
        }
    }
}

/// One row of `rollout.csv`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RolloutRow {
    pub day: Day,
    pub provider: String,
    /// User calls of any status.
    pub calls: u64,
    /// Non-2xx calls.
    pub errors: u64,
    /// 2xx calls and their prompt + completion tokens.
    pub billable: u64,
    pub tokens: u128,
    /// Exact cost of the 2xx calls; `None` when one of them has no rate.
    pub cost_usd: Option<Money>,
    pub share_pct: Money,
    pub error_rate_pct: Money,
    pub p50_latency_ms: Option<f64>,
    pub p95_latency_ms: Option<f64>,
    pub cost_per_call_usd: Option<Money>,
    pub cost_per_mtok_usd: Option<Money>,
}

/// The dashboard with what the summary reports.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rollout {
    pub rows: Vec<RolloutRow>,
    /// Shadow calls in `--from/--to`, left out of every row.
    pub shadow_calls: u64,
    /// Unpriced 2xx calls and their tokens, per provider × model.
    pub unpriced: BTreeMap<(String, String), (u64, u128)>,
}

impl Rollout {
    /// Sum of the priced rows' `cost_usd`.
    pub(crate) fn priced_total(&self) -> Money {
        self.rows.iter().filter_map(|r| r.cost_usd).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn counts(values: &[f64]) -> LatencyCounts {
        let mut l = LatencyCounts::default();
        for v in values {
            l.add(*v);
        }
        l
    }

    #[test]
    fn nearest_rank_on_twenty_values_is_the_nineteenth() {
        // 1..=20: p95 rank ⌈0.95 × 20⌉ = 19, p50 rank ⌈10⌉ = 10.
        let v: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        let mut l = counts(&v);
        assert_eq!(l.nearest_rank(95, 100), Some(19.0));
        assert_eq!(l.nearest_rank(50, 100), Some(10.0));
        // 21 values: p95 rank ⌈19.95⌉ = 20, p50 rank ⌈10.5⌉ = 11.
        l.add(21.0);
        assert_eq!(l.nearest_rank(95, 100), Some(20.0));
        assert_eq!(l.nearest_rank(50, 100), Some(11.0));
        assert_eq!(l.len(), 21);
    }

    #[test]
    fn one_value_ties_and_none() {
        assert_eq!(counts(&[7.5]).nearest_rank(95, 100), Some(7.5));
        assert_eq!(counts(&[7.5]).nearest_rank(50, 100), Some(7.5));
        // 3, 3, 3, 9: rank 2 (p50) is a 3, rank 4 (p95) the 9.
        let mut l = counts(&[3.0, 9.0, 3.0, 3.0]);
        assert_eq!(l.nearest_rank(50, 100), Some(3.0));
        assert_eq!(l.nearest_rank(95, 100), Some(9.0));
        assert_eq!(LatencyCounts::default().nearest_rank(50, 100), None);
        // -0 and 0 are one value, below every positive one.
        let mut z = counts(&[-0.0, 0.0, 0.5]);
        assert_eq!(z.nearest_rank(50, 100), Some(0.0));
        assert_eq!(z.nearest_rank(50, 100).unwrap().to_bits(), 0);
    }

    #[test]
    fn exact_against_a_sorted_list_through_flushes_and_merges() {
        // MIN_PENDING is 4 under test, so this goes through many flushes and merges.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..50 {
            let n = 1 + (next() % 400) as usize;
            let spread = [3u64, 50, 100_000][round % 3];
            let vals: Vec<f64> = (0..n)
                .map(|_| (next() % spread) as f64 / [1.0, 2.0, 1000.0][round % 3])
                .collect();
            let (a, b) = vals.split_at(n / 3);
            let mut l = counts(a);
            l.merge(counts(b));
            let mut sorted = vals.clone();
            sorted.sort_by(f64::total_cmp);
            for (num, den) in [(50u64, 100u64), (95, 100), (1, 100), (100, 100)] {
                let rank = (num as usize * n).div_ceil(den as usize).max(1);
                assert_eq!(
                    l.nearest_rank(num, den),
                    Some(sorted[rank - 1]),
                    "round {round}"
                );
            }
            assert!(l.values.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(l.counts.iter().sum::<u64>(), n as u64);
        }
    }

    fn call(ts_s: i64, provider: &'static str, status: u16, latency: Option<f64>) -> Call<'static> {
        Call {
            ts_ms: ts_s * 1000,
            provider: provider.into(),
            model: "m".into(),
            usage: crate::domain::Usage {
                prompt: 1_000_000,
                ..Default::default()
            },
            total_logged: None,
            status,
            request_id: None,
            latency_ms: latency,
            byok: false,
            shadow: false,
            shadow_of: None,
            tenant: None,
            response_model: None,
            cost: None,
        }
    }

    #[test]
    fn worker_sinks_merge_to_what_one_sink_sees() {
        // One USD per million prompt tokens: each 2xx call costs 1.00.
        let rates = RateTable::parse(
            std::path::Path::new("models.csv"),
            b"provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok\n*,m,2026-01-01,,1,2,,,,,\n",
        )
        .unwrap();
        let names = ModelNames::default();
        let day = 1_775_001_600; // 2026-04-01T00:00:00Z
        let mut calls: Vec<Call<'static>> = (0..40)
            .map(|i| {
                let p = if i % 3 == 0 { "b" } else { "a" };
                let status = if i % 7 == 0 { 500 } else { 200 };
                let lat = (i % 5 != 0).then_some(f64::from(i * 37 % 23) + 0.25);
                call(day + i64::from(i) * 3600, p, status, lat)
            })
            .collect();
        let mut shadow = call(day, "a", 200, Some(1e9));
        shadow.shadow = true;
        calls.push(shadow);
        // A period ending on 04-01: calls of 04-02 are out of range.
        let period = Period {
            from: None,
            to: Day::parse("2026-04-01"),
        };
        let mut one = RolloutSink::new(&rates, &names, None, period);
        let disp: Vec<Disposition> = calls.iter().map(|c| one.accept(c)).collect();
        assert_eq!(
            disp.iter()
                .filter(|d| **d == Disposition::OutOfRange)
                .count(),
            16
        );
        // Worker 2 sees provider "b" first, so its provider ids differ from worker 1's.
        let mut w1 = RolloutSink::new(&rates, &names, None, period);
        let mut w2 = RolloutSink::new(&rates, &names, None, period);
        for c in calls.iter().rev() {
            if (c.ts_ms / 3_600_000) % 2 == 0 {
                w1.accept(c);
            } else {
                w2.accept(c);
            }
        }
        w1.merge(w2);
        let (a, b) = (one.finish(), w1.finish());
        assert_eq!(a.rows, b.rows);
        assert_eq!((a.shadow_calls, b.shadow_calls), (1, 1));
        // 24 calls on 04-01 (hours 0–23): "b" at i % 3 == 0 → 8 calls, "a" 16.
        let rows: Vec<_> = a
            .rows
            .iter()
            .map(|r| (r.provider.as_str(), r.calls))
            .collect();
        assert_eq!(rows, [("a", 16), ("b", 8)]);
        // a: failures at i = 7, 14 → 2 of 16 = 12.50 %; cost 14 × 1.00.
        assert_eq!(a.rows[0].error_rate_pct.to_string(), "12.50");
        assert_eq!(a.rows[0].cost_usd, Some(dec!(14)));
        assert_eq!(a.rows[0].share_pct.to_string(), "66.67");
    }

    #[test]
    fn ratio_rounds_half_up_exactly() {
        let r = |num: Money, mul: u64, den: u128, dp: u32| {
            ratio(num, mul, den, dp).unwrap().to_string()
        };
        // 1/8 = 12.5 % exactly; 1/3 = 33.333…; 2/3 = 66.666…
        assert_eq!(r(dec!(1), 100, 8, 2), "12.50");
        assert_eq!(r(dec!(1), 100, 3, 2), "33.33");
        assert_eq!(r(dec!(2), 100, 3, 2), "66.67");
        // 1/160 = 0.625 % → 0.63 (half-up, not to even); 3/8 = 37.5 %.
        assert_eq!(r(dec!(1), 100, 160, 2), "0.63");
        assert_eq!(r(dec!(3), 100, 8, 2), "37.50");
        assert_eq!(r(dec!(3), 100, 3, 2), "100.00");
        assert_eq!(r(dec!(0), 100, 3, 2), "0.00");
        // 0.0000125 per call → 0.000013; 0.00001249999… stays 0.000012.
        assert_eq!(r(dec!(0.000025), 1, 2, 6), "0.000013");
        assert_eq!(r(dec!(0.0000249999999999), 1, 2, 6), "0.000012");
        // Per million: 0.0075 USD over 2100 tokens = 3.571428571… → 3.571429.
        assert_eq!(r(dec!(0.0075), 1_000_000, 2100, 6), "3.571429");
        // A mantissa too large for the integer path (10^27 × 10^12 > 2^128) still rounds.
        let big = Money::from_i128_with_scale(10i128.pow(27), 5);
        assert_eq!(
            r(big, 1_000_000, 10u128.pow(12), 6),
            "10000000000000000.000000"
        );
        // No room for 6 decimals.
        assert_eq!(ratio(Money::MAX, 1, 1, 6), None);
    }
}
