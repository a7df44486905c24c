//! BYOK fees: a percentage of each BYOK call's list cost, charged only past a monthly free
//! allowance that is counted in call order (docs/formats.md §2, `rates/fees.toml`).
//!
//! Call order matters only for the one call that crosses an allowance in requests, so the scan
//! keeps per-minute buckets (count and list cost of the BYOK calls of a provider in that UTC
//! minute): exact for every minute wholly before or after the allowance runs out, and small
//! whatever the number of calls (a month is 44,640 minutes). The minute in which the allowance
//! runs out is taken call by call, ordered by timestamp; calls logged in the same millisecond
//! are taken cheapest first, the order that charges the most. An allowance in list-price USD
//! needs no order: the part of the month's list cost past it is charged, however the calls fall.
//!
//! The scan itself keeps no bucket: each BYOK call becomes a 78-byte record (provider, timestamp,
//! its integer tokens with the rate row and tier that price them, the cost the gateway reported)
//! sorted in bounded memory ([`FixedSorter`]: runs on disk past 16 MiB a worker). After the scan
//! the records come back in provider and time order, so the minutes are summed one after
//! another and priced once each (integers in the loop, decimals once a minute); the calls of a
//! crossing minute are read back from the same records, not from a second pass over the logs.
//!
//! Minutes never straddle a local midnight (time zones are whole minutes from UTC), so each
//! bucket has one day in `--tz`, one month and one policy.
//!
//! What was charged comes from the logs themselves: on a BYOK call the gateway's reported `cost`
//! (OpenRouter's `usage.cost`) is its BYOK fee, the usage being billed upstream.

use std::io;

use rust_decimal::prelude::ToPrimitive;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::aggregate::Names;
use crate::domain::{Call, Day, DayCutter, Money, Month, Tier, TokenSums, UsageGroup};
use crate::fees::policy::{AllowanceUnit, FeeBook};
use crate::pricing::aliases::ModelNames;
use crate::pricing::{self, RateTable};
use crate::sources::spill::{id_key, Fixed, FixedSorted, FixedSorter};
use crate::sources::{CallSink, Disposition, PerProvider};

const MINUTE_MS: i64 = 60_000;

/// The BYOK calls of a provider in one UTC minute.
#[derive(Debug, Clone, Default)]
struct Bucket {
    calls: u64,
    /// List cost of the priced calls.
    list_usd: Money,
    unpriced: u64,
    /// What the gateway reported charging (`cost`) on the calls that carry it.
    reported_usd: Money,
    reported: u64,
}

/// Bytes of BYOK calls one worker keeps in memory before it writes a run.
const CALLS_BUDGET: usize = 16 << 20;

/// [`ByokCall::rate`] of a call no rate row prices.
const UNPRICED: u32 = u32::MAX;

/// One billable BYOK call: its tokens (uncached input, cache reads, five-minute and one-hour
/// cache writes, completion), the rate row and tier that price them, and the cost the gateway
/// reported. Ordered by provider (a 64-bit hash of its name), then time, and no further: calls
/// of one millisecond compare equal (a crossing minute orders them by cost when it is taken),
/// which keeps the sort of 78-byte records cheap.
#[derive(Debug, Clone, Copy)]
struct ByokCall {
    provider: u64,
    ts_ms: i64,
    rate: u32,
    tier: u8,
    tokens: [u64; 5],
    reported: Option<Money>,
}

impl PartialEq for ByokCall {
    fn eq(&self, other: &Self) -> bool {
        (self.provider, self.ts_ms) == (other.provider, other.ts_ms)
    }
}

impl Eq for ByokCall {}

impl Ord for ByokCall {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.provider, self.ts_ms).cmp(&(other.provider, other.ts_ms))
    }
}

impl PartialOrd for ByokCall {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl ByokCall {
    fn minute(&self) -> i64 {
        self.ts_ms.div_euclid(MINUTE_MS)
    }

    fn sums(&self) -> TokenSums {
        let t = self.tokens.map(u128::from);
        TokenSums {
            uncached_input: t[0],
            cached: t[1],
            cache_write_5m: t[2],
            cache_write_1h: t[3],
            completion: t[4],
        }
    }

    /// The call's list cost, `None` without a rate.
    fn cost(&self, rates: &RateTable) -> Option<Money> {
        (self.rate != UNPRICED).then(|| {
            pricing::cost(
                rates.get(self.rate as usize),
                tier_of(self.tier),
                &self.sums(),
            )
        })
    }
}

impl Fixed for ByokCall {
    const SIZE: usize = 78;

    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.provider.to_le_bytes());
        out.extend_from_slice(&self.ts_ms.to_le_bytes());
        out.extend_from_slice(&self.rate.to_le_bytes());
        out.push(self.tier);
        for t in self.tokens {
            out.extend_from_slice(&t.to_le_bytes());
        }
        out.push(u8::from(self.reported.is_some()));
        out.extend_from_slice(&self.reported.unwrap_or_default().serialize());
    }

    fn get(b: &[u8]) -> Self {
        let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        let reported = Money::deserialize(b[62..78].try_into().unwrap_or_default());
        ByokCall {
            provider: u(0),
            ts_ms: u(8) as i64,
            rate: u32::from_le_bytes(b[16..20].try_into().unwrap_or_default()),
            tier: b[20],
            tokens: [u(21), u(29), u(37), u(45), u(53)],
            reported: (b[61] == 1).then_some(reported),
        }
    }

    fn lead(&self) -> u64 {
        self.provider
    }
}

fn tier_of(t: u8) -> Tier {
    if t == Tier::LongContext as u8 {
        Tier::LongContext
    } else {
        Tier::Standard
    }
}

/// The 64-bit key of a provider's name in [`ByokCall`].
fn provider_key(provider: &str) -> u64 {
    id_key(provider, "")
}

/// Per-thread: the BYOK calls, sorted by provider and time.
pub(crate) struct ByokSink<'r> {
    rates: &'r RateTable,
    names: Names<'r>,
    /// The rate row of a provider × model pair on a UTC day.
    rate_of: FxHashMap<(u32, Day), Option<usize>>,
    /// Provider names and their keys.
    providers: PerProvider<u64>,
    calls: FixedSorter<ByokCall>,
    error: Option<io::Error>,
}

impl<'r> ByokSink<'r> {
    pub(crate) fn new(rates: &'r RateTable, names: &'r ModelNames) -> Self {
        ByokSink {
            rates,
            names: Names::new(names),
            rate_of: FxHashMap::default(),
            providers: PerProvider::default(),
            calls: FixedSorter::new(CALLS_BUDGET),
            error: None,
        }
    }

    fn provider_key(&mut self, p: &str) -> u64 {
        let key = self.providers.get(p);
        if *key == 0 {
            *key = provider_key(p);
        }
        *key
    }

    /// The calls summed per provider × UTC minute, in time order.
    pub(crate) fn finish(self) -> ByokTally<'r> {
        let rates = self.rates;
        let mut tally = ByokTally {
            rates,
            providers: Vec::new(),
            calls: None,
            error: self.error.map(|e| e.to_string()),
        };
        if tally.error.is_some() {
            return tally;
        }
        let sorted = self.calls.sorted();
        let names: FxHashMap<u64, String> =
            self.providers.into_items().map(|(n, k)| (k, n)).collect();
        match minutes(&sorted, rates, &names) {
            Ok(per) => {
                tally.providers = per;
                tally.calls = Some(sorted);
            }
            Err(e) => tally.error = Some(e.to_string()),
        }
        tally
    }
}

/// A provider and its minutes with BYOK calls, in time order.
type Minutes = (String, Vec<(i64, Bucket)>);

/// Per provider (by name), its minutes in time order: the sorted calls summed a minute at a
/// time, each minute's tokens priced once per rate row and tier.
fn minutes(
    sorted: &FixedSorted<ByokCall>,
    rates: &RateTable,
    names: &FxHashMap<u64, String>,
) -> io::Result<Vec<Minutes>> {
    let mut per: Vec<Minutes> = Vec::new();
    let mut at: Option<(u64, i64)> = None;
    let mut bucket = Bucket::default();
    let mut parts: Vec<(u32, u8, TokenSums)> = Vec::new();
    let close = |per: &mut Vec<Minutes>,
                 minute: i64,
                 mut b: Bucket,
                 parts: &mut Vec<(u32, u8, TokenSums)>| {
        for (rate, tier, sums) in parts.drain(..) {
            b.list_usd += pricing::cost(rates.get(rate as usize), tier_of(tier), &sums);
        }
        if let Some(last) = per.last_mut() {
            last.1.push((minute, b));
        }
    };
    let mut calls = sorted.merge()?;
    while let Some(c) = calls.next_record()? {
        let here = (c.provider, c.minute());
        if at != Some(here) {
            if let Some((_, minute)) = at {
                close(&mut per, minute, std::mem::take(&mut bucket), &mut parts);
            }
            if at.is_none_or(|(p, _)| p != c.provider) {
                let name = names.get(&c.provider).cloned().unwrap_or_default();
                per.push((name, Vec::new()));
            }
            at = Some(here);
        }
        bucket.calls += 1;
        if c.rate == UNPRICED {
            bucket.unpriced += 1;
        } else {
            let sums = c.sums();
            match parts.iter_mut().find(|p| p.0 == c.rate && p.1 == c.tier) {
                Some(p) => p.2.merge(&sums),
                None => parts.push((c.rate, c.tier, sums)),
            }
        }
        if let Some(r) = c.reported {
            bucket.reported_usd += r;
            bucket.reported += 1;
        }
    }
    if let Some((_, minute)) = at {
        close(&mut per, minute, bucket, &mut parts);
    }
    per.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(per)
}

impl CallSink for ByokSink<'_> {
    /// Every BYOK call counts towards its month's allowance, whatever `--from`/`--to` say: the
    /// gateway counts them all.
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        if !(call.byok && call.billable()) || self.error.is_some() {
            return Disposition::Used;
        }
        let provider = self.provider_key(&call.provider);
        let id = self.names.id(&call.provider, &call.model);
        let utc = DayCutter::utc_day(call.ts_ms);
        let (rates, names) = (self.rates, &self.names);
        let rate = *self.rate_of.entry((id, utc)).or_insert_with(|| {
            let (provider, model) = names.get(id);
            rates.lookup(provider, model, utc)
        });
        let (rate, tier) = match rate {
            Some(r) => (r as u32, rates.get(r).tier_for(call.usage.prompt) as u8),
            None => (UNPRICED, Tier::Standard as u8),
        };
        let u = &call.usage;
        let c = ByokCall {
            provider,
            ts_ms: call.ts_ms,
            rate,
            tier,
            tokens: [
                u.uncached_input(),
                u.cached,
                u.cache_write - u.cache_write_1h,
                u.cache_write_1h,
                u.completion,
            ],
            reported: call.cost,
        };
        if let Err(e) = self.calls.push(c) {
            self.error = Some(e);
        }
        Disposition::Used
    }

    fn merge(&mut self, other: Self) {
        if let Some(e) = other.error {
            self.error.get_or_insert(e);
        }
        for (p, _) in other.providers.iter() {
            self.provider_key(p);
        }
        if let Err(e) = self.calls.merge(other.calls) {
            self.error.get_or_insert(e);
        }
    }
}

/// A minute whose calls must be taken one by one: the allowance runs out inside it.
pub(crate) type CrossingMinute = (String, i64);

/// A crossing minute's calls: (timestamp, list cost) each.
pub(crate) type MinuteCalls = FxHashMap<CrossingMinute, Vec<(i64, Option<Money>)>>;

/// What a provider's BYOK calls of one month cost in fees.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ByokMonth {
    pub month: Month,
    pub provider: String,
    /// Billable BYOK calls of the month.
    pub calls: u64,
    /// Their list cost (priced calls only).
    pub list_usd: Money,
    pub unpriced_calls: u64,
    /// Calls past a request allowance (or all, without an allowance) on days with a percentage.
    pub charged_calls: u64,
    /// List cost the percentage applies to.
    pub basis_usd: Money,
    /// The expected percentage fee (exact, not rounded: the gateway deducts it per call).
    pub fee_usd: Money,
    /// Unpriced calls that would have been charged: their fee is unknown.
    pub unpriced_charged: u64,
    /// BYOK calls on days no policy of the provider covers.
    pub no_policy_calls: u64,
    /// The `cost` the gateway reported on BYOK calls (its BYOK fee: the usage is paid upstream),
    /// summed over the calls that carry one.
    pub reported_fee_usd: Money,
    /// How many calls carry a reported `cost`.
    pub reported_calls: u64,
}

/// Every provider's BYOK minutes, in time order, and the calls for [`ByokTally::calls_in`].
pub(crate) struct ByokTally<'r> {
    rates: &'r RateTable,
    providers: Vec<Minutes>,
    calls: Option<FixedSorted<ByokCall>>,
    /// The sorted calls could not be written or read back (the tally is then empty).
    error: Option<String>,
}

impl ByokTally<'_> {
    /// Why the calls could not be tallied: their sorted runs failed to be written or read.
    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The calls of `minutes`, each with its list cost, read back from the sorted calls.
    pub(crate) fn calls_in(&self, minutes: &FxHashSet<CrossingMinute>) -> io::Result<MinuteCalls> {
        let mut out = MinuteCalls::default();
        let Some(sorted) = &self.calls else {
            return Ok(out);
        };
        let wanted: FxHashMap<(u64, i64), &CrossingMinute> = minutes
            .iter()
            .map(|m| ((provider_key(&m.0), m.1), m))
            .collect();
        let mut calls = sorted.merge()?;
        while let Some(c) = calls.next_record()? {
            if let Some(m) = wanted.get(&(c.provider, c.minute())) {
                out.entry((*m).clone())
                    .or_default()
                    .push((c.ts_ms, c.cost(self.rates)));
            }
        }
        Ok(out)
    }

    /// Providers with BYOK calls, by name.
    pub(crate) fn providers(&self) -> impl Iterator<Item = &str> {
        self.providers.iter().map(|(p, _)| p.as_str())
    }

    /// The BYOK fees per month × provider of every provider `book` knows. Crossing minutes found
    /// in `detail` are taken call by call; those missing are returned, to be read and passed in
    /// on a second call (until then their calls count as not charged).
    pub(crate) fn fees(
        &self,
        book: &FeeBook,
        tz: Option<chrono_tz::Tz>,
        detail: &MinuteCalls,
    ) -> (Vec<ByokMonth>, FxHashSet<CrossingMinute>) {
        let mut cutter = DayCutter::new(tz);
        let mut out = Vec::new();
        let mut missing = FxHashSet::default();
        for (provider, minutes) in &self.providers {
            if !book.knows(provider) {
                continue;
            }
            let mut cur: Option<ByokMonth> = None;
            let (mut seen_calls, mut seen_usd) = (0u128, Money::ZERO);
            for (minute, b) in minutes {
                let day = cutter.local_day(minute * MINUTE_MS);
                let month = Month::of(day);
                if cur.as_ref().is_none_or(|m| m.month != month) {
                    out.extend(cur.take());
                    cur = Some(ByokMonth {
                        month,
                        provider: provider.clone(),
                        ..Default::default()
                    });
                    (seen_calls, seen_usd) = (0, Money::ZERO);
                }
                let m = cur.as_mut().expect("set above");
                m.calls += b.calls;
                m.list_usd += b.list_usd;
                m.unpriced_calls += b.unpriced;
                m.reported_fee_usd += b.reported_usd;
                m.reported_calls += b.reported;
                let Some(policy) = book.on(provider, day) else {
                    m.no_policy_calls += b.calls;
                    seen_calls += u128::from(b.calls);
                    seen_usd += b.list_usd;
                    continue;
                };
                let fee = policy.byok;
                // (calls charged, their list cost, unpriced among them)
                let (charged, basis, unpriced) = if fee.pct.is_zero() {
                    (0, Money::ZERO, 0)
                } else {
                    match fee.unit {
                        None => (b.calls, b.list_usd, b.unpriced),
                        Some(AllowanceUnit::Requests) => {
                            let allowance = fee.allowance.trunc().to_u128().unwrap_or(0);
                            let after = seen_calls + u128::from(b.calls);
                            if seen_calls >= allowance {
                                (b.calls, b.list_usd, b.unpriced)
                            } else if after <= allowance {
                                (0, Money::ZERO, 0)
                            } else {
                                let free = (allowance - seen_calls) as usize;
                                let key = (provider.clone(), *minute);
                                match detail.get(&key) {
                                    Some(calls) => {
                                        let mut calls = calls.clone();
                                        calls.sort_by_key(|&(ts, c)| (ts, c.unwrap_or(Money::MAX)));
                                        let past = &calls[free.min(calls.len())..];
                                        (
                                            past.len() as u64,
                                            past.iter().filter_map(|c| c.1).sum(),
                                            past.iter().filter(|c| c.1.is_none()).count() as u64,
                                        )
                                    }
                                    None => {
                                        missing.insert(key);
                                        (0, Money::ZERO, 0)
                                    }
                                }
                            }
                        }
                        Some(AllowanceUnit::ListUsd) => {
                            let after = seen_usd + b.list_usd;
                            let past = after - seen_usd.max(fee.allowance);
                            if past > Money::ZERO {
                                (b.calls, past, b.unpriced)
                            } else {
                                (0, Money::ZERO, b.unpriced)
                            }
                        }
                    }
                };
                m.charged_calls += charged;
                m.basis_usd += basis;
                m.fee_usd += basis * fee.pct / Money::ONE_HUNDRED;
                m.unpriced_charged += unpriced;
                seen_calls += u128::from(b.calls);
                seen_usd += b.list_usd;
            }
            out.extend(cur);
        }
        out.sort_by(|a, b| (a.month, &a.provider).cmp(&(b.month, &b.provider)));
        (out, missing)
    }
}

/// The BYOK fees per month × provider from usage groups (docs/engines.md), as
/// [`ByokTally::fees`] computes them from the calls: the query numbered the calls against a
/// request allowance (`past_allowance`), so no order is needed here. What the gateway reported
/// charging comes from the groups' reported cost (in billionths of a USD). An allowance in list USD is charged by call order across the month,
/// which the groups do not keep: an error names it.
pub(crate) fn months_from_groups(
    groups: &[UsageGroup],
    thresholds: &[u64],
    book: &FeeBook,
    rates: &RateTable,
    names: &ModelNames,
) -> Result<Vec<ByokMonth>, String> {
    let mut names = Names::new(names);
    let mut out: std::collections::BTreeMap<(Month, String), ByokMonth> = Default::default();
    for g in groups.iter().filter(|g| g.byok && g.calls > 0) {
        if !book.knows(&g.provider) {
            continue;
        }
        let id = names.id(&g.provider, &g.model);
        let (provider, model) = names.get(id);
        let idx = rates.lookup(provider, model, g.utc_day);
        let list = idx.map(|r| {
            let tier = crate::aggregate::group_tier(rates, Some(r), g.band, thresholds);
            pricing::cost(rates.get(r), tier, &g.sums())
        });
        let month = Month::of(g.day);
        let m = out
            .entry((month, g.provider.clone()))
            .or_insert_with(|| ByokMonth {
                month,
                provider: g.provider.clone(),
                ..Default::default()
            });
        m.calls += g.calls;
        m.reported_calls += g.reported_calls;
        m.reported_fee_usd += g.reported_usd();
        let unpriced = if list.is_none() { g.calls } else { 0 };
        m.list_usd += list.unwrap_or_default();
        m.unpriced_calls += unpriced;
        let Some(policy) = book.on(&g.provider, g.day) else {
            m.no_policy_calls += g.calls;
            continue;
        };
        let fee = policy.byok;
        let charged = !fee.pct.is_zero()
            && match fee.unit {
                None => true,
                Some(AllowanceUnit::Requests) => g.past_allowance,
                Some(AllowanceUnit::ListUsd) => {
                    return Err(format!(
                        "{}'s BYOK allowance is in list USD ({}): which calls pass it depends on their order in the month, which usage groups do not keep; read the logs (--logs)",
                        g.provider,
                        policy.period()
                    ))
                }
            };
        if charged {
            let basis = list.unwrap_or_default();
            m.charged_calls += g.calls;
            m.basis_usd += basis;
            m.fee_usd += basis * fee.pct / Money::ONE_HUNDRED;
            m.unpriced_charged += unpriced;
        }
    }
    Ok(out.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Usage;
    use rust_decimal_macros::dec;
    use std::borrow::Cow;
    use std::path::Path;

    /// One USD per million prompt tokens, so a call of `usd` × 1M prompt tokens costs `usd`.
    fn rates() -> RateTable {
        RateTable::parse(
            Path::new("models.csv"),
            b"provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok\n*,m,2026-01-01,,1,2,,,,,\n",
        )
        .unwrap()
    }

    fn book(byok: &str) -> FeeBook {
        FeeBook::parse(
            Path::new("fees.toml"),
            &format!("[[policy]]\nprovider = \"p\"\neffective_from = \"2026-01-01\"\n{byok}"),
        )
        .unwrap()
    }

    fn ts(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    fn call(ts_ms: i64, usd: u64, byok: bool, status: u16) -> Call<'static> {
        Call {
            ts_ms,
            provider: Cow::Borrowed("p"),
            model: Cow::Borrowed("m"),
            usage: Usage {
                prompt: usd * 1_000_000,
                ..Default::default()
            },
            total_logged: None,
            status,
            request_id: None,
            latency_ms: None,
            byok,
            shadow: false,
            shadow_of: None,
            tenant: None,
            response_model: None,
            cost: None,
        }
    }

    /// Runs calls through two sinks (split as the workers would), then the second look.
    fn run(calls: &[Call<'static>], book: &FeeBook, tz: Option<chrono_tz::Tz>) -> Vec<ByokMonth> {
        let r = rates();
        let n = ModelNames::default();
        let (mut a, mut b) = (ByokSink::new(&r, &n), ByokSink::new(&r, &n));
        for (i, c) in calls.iter().enumerate() {
            if i % 2 == 0 {
                a.accept(c)
            } else {
                b.accept(c)
            };
        }
        a.merge(b);
        let tally = a.finish();
        let (first, missing) = tally.fees(book, tz, &FxHashMap::default());
        if missing.is_empty() {
            return first;
        }
        let look = tally.calls_in(&missing).unwrap();
        let (months, still) = tally.fees(book, tz, &look);
        assert!(still.is_empty());
        months
    }

    const REQUESTS_3: &str = "byok = { pct = 5, allowance = 3, allowance_unit = \"requests\" }\n";

    #[test]
    fn allowance_in_requests_charges_only_later_calls() {
        // Calls of 1..5 USD a minute apart; the first three are free: 5 % of (4 + 5) = 0.45.
        let t0 = ts("2026-04-10T10:00:00Z");
        let calls: Vec<_> = (1..=5)
            .map(|i| call(t0 + i as i64 * 60_000, i, true, 200))
            .collect();
        let m = run(&calls, &book(REQUESTS_3), None);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].calls, m[0].charged_calls), (5, 2));
        assert_eq!(
            (m[0].list_usd, m[0].basis_usd, m[0].fee_usd),
            (dec!(15), dec!(9), dec!(0.45))
        );
    }

    #[test]
    fn crossing_minute_is_taken_call_by_call_in_time_order() {
        // Five calls in one minute, logged out of order; in time order they cost 5, 4, 3, 2, 1.
        // The three earliest are free: 5 % of (2 + 1) = 0.15. Non-BYOK and failed calls do not
        // count towards the allowance.
        let t0 = ts("2026-04-10T10:00:00Z");
        let mut calls: Vec<_> = (0..5)
            .map(|i| call(t0 + i as i64, 5 - i, true, 200))
            .collect();
        calls.reverse();
        calls.push(call(t0 + 1, 7, false, 200));
        calls.push(call(t0 + 1, 7, true, 500));
        let m = run(&calls, &book(REQUESTS_3), None);
        assert_eq!((m[0].calls, m[0].charged_calls), (5, 2));
        assert_eq!((m[0].basis_usd, m[0].fee_usd), (dec!(3), dec!(0.15)));
    }

    #[test]
    fn same_millisecond_ties_take_the_cheapest_first() {
        // Four calls in one millisecond (1, 2, 3, 4 USD): the free three are 1, 2, 3.
        let t0 = ts("2026-04-10T10:00:00Z");
        let calls: Vec<_> = [3, 1, 4, 2]
            .iter()
            .map(|&u| call(t0, u, true, 200))
            .collect();
        let m = run(&calls, &book(REQUESTS_3), None);
        assert_eq!((m[0].basis_usd, m[0].fee_usd), (dec!(4), dec!(0.20)));
    }

    #[test]
    fn allowance_restarts_at_local_midnight_of_the_month() {
        // Berlin is UTC+2 in April/May: 2026-04-30T22:00Z is May 1st, 00:00 local.
        let calls = vec![
            call(ts("2026-04-30T21:59:59.999Z"), 1, true, 200),
            call(ts("2026-04-30T22:00:00Z"), 2, true, 200),
            call(ts("2026-04-30T22:01:00Z"), 3, true, 200),
        ];
        let b = book("byok = { pct = 10, allowance = 1, allowance_unit = \"requests\" }\n");
        let berlin = run(&calls, &b, Some(chrono_tz::Europe::Berlin));
        let got: Vec<_> = berlin
            .iter()
            .map(|m| (m.month.to_string(), m.calls, m.fee_usd))
            .collect();
        // April: one call, free. May: 2 free, 3 charged at 10 %.
        assert_eq!(
            got,
            vec![
                ("2026-04".into(), 1, dec!(0)),
                ("2026-05".into(), 2, dec!(0.3))
            ]
        );
        let utc = run(&calls, &b, None);
        let got: Vec<_> = utc
            .iter()
            .map(|m| (m.month.to_string(), m.calls, m.fee_usd))
            .collect();
        // In UTC all three are April: 1 free, 2 + 3 charged.
        assert_eq!(got, vec![("2026-04".into(), 3, dec!(0.5))]);
    }

    #[test]
    fn policy_change_mid_month_keeps_counting_the_allowance() {
        // 5 % until the 15th, 10 % from the 16th; the allowance of 2 is counted over the month.
        let b = FeeBook::parse(
            Path::new("fees.toml"),
            "[[policy]]\nprovider = \"p\"\neffective_from = \"2026-01-01\"\neffective_to = \"2026-04-15\"\n\
             byok = { pct = 5, allowance = 2, allowance_unit = \"requests\" }\n\
             [[policy]]\nprovider = \"p\"\neffective_from = \"2026-04-16\"\n\
             byok = { pct = 10, allowance = 2, allowance_unit = \"requests\" }\n",
        )
        .unwrap();
        let calls = vec![
            call(ts("2026-04-14T12:00:00Z"), 1, true, 200),
            call(ts("2026-04-15T12:00:00Z"), 2, true, 200),
            call(ts("2026-04-15T23:59:00Z"), 4, true, 200),
            call(ts("2026-04-16T00:00:00Z"), 8, true, 200),
        ];
        let m = run(&calls, &b, None);
        // 4 × 5 % + 8 × 10 % = 0.2 + 0.8
        assert_eq!((m[0].basis_usd, m[0].fee_usd), (dec!(12), dec!(1.0)));
    }

    #[test]
    fn allowance_in_list_usd_charges_the_part_past_it() {
        // 2.5 USD free; four 1-USD calls: 1.5 USD past it at 5 % = 0.075, in whatever order.
        let b = book("byok = { pct = 5, allowance = \"2.5\", allowance_unit = \"list_usd\" }\n");
        let t0 = ts("2026-04-10T10:00:00Z");
        let calls: Vec<_> = (0..4)
            .map(|i| call(t0 + i * 3_600_000, 1, true, 200))
            .collect();
        let m = run(&calls, &b, None);
        assert_eq!((m[0].basis_usd, m[0].fee_usd), (dec!(1.5), dec!(0.075)));
    }

    #[test]
    fn unpriced_and_unknown_providers() {
        let b = book(REQUESTS_3);
        let mut c = call(ts("2026-04-10T10:00:00Z"), 1, true, 200);
        c.model = Cow::Borrowed("unknown");
        let mut other = call(ts("2026-04-10T10:00:00Z"), 1, true, 200);
        other.provider = Cow::Borrowed("elsewhere");
        let m = run(&[c, other], &b, None);
        assert_eq!(m.len(), 1, "a provider without policy gets no BYOK row");
        assert_eq!(
            (m[0].calls, m[0].unpriced_calls, m[0].list_usd),
            (1, 1, dec!(0))
        );
    }
}
