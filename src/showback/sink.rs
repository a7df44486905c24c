//! The showback's pass over the logs: integer token sums per tenant × provider × model × day (or
//! month) × rate row, split by tier, priced once per group at the end (as
//! [`crate::aggregate::DailyAggregator`] does per day). Only billable (2xx) calls count.
//!
//! Per month unless the command draws or forecasts days ([`Grain`]): a month's groups are a
//! thirtieth of its days', small enough to stay in the processor's cache, which is what a pass
//! over millions of calls spends its time on otherwise (measured in docs/performance.md).

use std::collections::BTreeMap;

use chrono_tz::Tz;
use rustc_hash::FxHashMap;

use super::{GroupBy, NONE};
use crate::aggregate::{group_tier, Names};
use crate::domain::{Call, Day, DayCutter, Money, Month, Period, Tier, TokenSums, UsageGroup};
use crate::pricing::aliases::ModelNames;
use crate::pricing::{self, RateTable};
use crate::sources::{CallSink, Disposition};

/// Distinct tenants one worker keeps apart: real traffic has dozens to thousands (API keys); a
/// log with more is hostile or broken, and its further tenants are summed as [`OTHER`] so memory
/// stays bounded and no call is lost.
const MAX_KEYS: usize = 100_000;

/// Where the calls of tenants past [`MAX_KEYS`] go.
pub(crate) const OTHER: &str = "(other)";

/// How finely the sums keep the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grain {
    /// Per local day: the report's chart and the per-tenant forecast need days.
    Day,
    /// Per local month (kept on its first day): what `showback.csv` needs.
    Month,
}

#[derive(Debug, Clone, Default)]
struct Group {
    calls: u64,
    tiers: [TokenSums; 2],
}

/// No rate row.
const UNPRICED: u32 = u32::MAX;

/// (provider × model, tenant, local day or month's first day, rate row or [`UNPRICED`], BYOK).
/// BYOK calls are kept apart for the FOCUS rows, which leave them out (the gateway bills none).
type Key = (u32, u32, Day, u32, bool);

/// Per-thread showback sums; merged into one at the end of the scan.
pub(crate) struct ShowbackSink<'r> {
    by: GroupBy,
    grain: Grain,
    rates: &'r RateTable,
    cutter: DayCutter,
    period: Period,
    names: Names<'r>,
    /// The rate row of each provider × model on each UTC day, looked up once.
    rates_seen: FxHashMap<(u32, Day), u32>,
    /// The last local day and its bucket (the calls of a chunk mostly share a day).
    last: (Day, Day),
    keys: FxHashMap<String, u32>,
    key_names: Vec<String>,
    capped: bool,
    groups: FxHashMap<Key, Group>,
}

impl<'r> ShowbackSink<'r> {
    pub(crate) fn new(
        by: GroupBy,
        grain: Grain,
        rates: &'r RateTable,
        names: &'r ModelNames,
        tz: Option<Tz>,
        period: Period,
    ) -> Self {
        ShowbackSink {
            by,
            grain,
            rates,
            cutter: DayCutter::new(tz),
            period,
            names: Names::new(names),
            rates_seen: FxHashMap::default(),
            last: (Day(i32::MIN), Day(i32::MIN)),
            keys: FxHashMap::default(),
            key_names: Vec::new(),
            capped: false,
            groups: FxHashMap::default(),
        }
    }

    fn key_id(&mut self, key: &str) -> u32 {
        if let Some(&id) = self.keys.get(key) {
            return id;
        }
        let key = if self.key_names.len() >= MAX_KEYS {
            self.capped = true;
            if let Some(&id) = self.keys.get(OTHER) {
                return id;
            }
            OTHER
        } else {
            key
        };
        let id = self.key_names.len() as u32;
        self.keys.insert(key.to_string(), id);
        self.key_names.push(key.to_string());
        id
    }

    fn bucket(&mut self, local: Day) -> Day {
        if self.last.0 != local {
            let b = match self.grain {
                Grain::Day => local,
                Grain::Month => Month::of(local).first_day(),
            };
            self.last = (local, b);
        }
        self.last.1
    }

    /// Each group priced once; rows per day (or month) × tenant × provider, sorted.
    pub(crate) fn finish(self) -> TenantUsage {
        let mut days: BTreeMap<(Day, &str, &str), TenantDay> = BTreeMap::new();
        let mut unpriced: BTreeMap<(Month, &str, &str, &str), UnpricedCalls> = BTreeMap::new();
        let mut parts: Vec<TenantPart> = Vec::with_capacity(self.groups.len() * 2);
        for ((id, key, day, rate, byok), g) in &self.groups {
            let (provider, model) = self.names.get(*id);
            let tenant = self.key_names[*key as usize].as_str();
            let row = days
                .entry((*day, tenant, provider))
                .or_insert_with(|| TenantDay {
                    day: *day,
                    tenant: tenant.to_string(),
                    provider: provider.to_string(),
                    ..Default::default()
                });
            row.calls += g.calls;
            for t in &g.tiers {
                row.prompt_tokens += t.prompt();
                row.completion_tokens += t.completion;
            }
            let priced = (*rate != UNPRICED).then_some(*rate as usize);
            for (tier, t) in [Tier::Standard, Tier::LongContext]
                .into_iter()
                .zip(&g.tiers)
            {
                if !t.is_empty() || (tier == Tier::Standard && g.calls > 0) {
                    parts.push(TenantPart {
                        day: *day,
                        tenant: tenant.to_string(),
                        provider: provider.to_string(),
                        model: model.to_string(),
                        rate: priced,
                        tier,
                        byok: *byok,
                        // The calls on the standard tier's part, so they are counted once.
                        calls: if tier == Tier::Standard { g.calls } else { 0 },
                        tokens: *t,
                    });
                }
            }
            match (*rate != UNPRICED).then_some(*rate as usize) {
                Some(r) => {
                    let rate = self.rates.get(r);
                    row.usage_usd += pricing::cost(rate, Tier::Standard, &g.tiers[0])
                        + pricing::cost(rate, Tier::LongContext, &g.tiers[1]);
                }
                None => {
                    row.unpriced_calls += g.calls;
                    let u = unpriced
                        .entry((Month::of(*day), tenant, provider, model))
                        .or_insert_with(|| UnpricedCalls {
                            month: Month::of(*day),
                            tenant: tenant.to_string(),
                            provider: provider.to_string(),
                            model: model.to_string(),
                            ..Default::default()
                        });
                    u.calls += g.calls;
                    u.tokens += g
                        .tiers
                        .iter()
                        .map(|t| t.prompt() + t.completion)
                        .sum::<u128>();
                }
            }
        }
        parts.sort_by(|a, b| {
            (
                a.day,
                &a.provider,
                &a.model,
                &a.tenant,
                a.rate,
                a.tier,
                a.byok,
            )
                .cmp(&(
                    b.day,
                    &b.provider,
                    &b.model,
                    &b.tenant,
                    b.rate,
                    b.tier,
                    b.byok,
                ))
        });
        TenantUsage {
            by: self.by,
            grain: self.grain,
            parts,
            days: days.into_values().collect(),
            unpriced: unpriced.into_values().collect(),
            capped: self.capped,
        }
    }
}

impl ShowbackSink<'_> {
    /// A usage group (docs/engines.md) read in place of its calls: its `--by` value is the
    /// tenant, its band decides the tier under the rate row of its UTC day, as
    /// [`crate::aggregate::DailyAggregator::add_group`] does.
    pub(crate) fn add_group(&mut self, g: &UsageGroup, thresholds: &[u64]) {
        if g.calls == 0 || !self.period.contains(g.day) {
            return;
        }
        let id = self.names.id(&g.provider, &g.model);
        let (rates, names) = (self.rates, &self.names);
        let rate = *self.rates_seen.entry((id, g.utc_day)).or_insert_with(|| {
            let (provider, model) = names.get(id);
            rates
                .lookup(provider, model, g.utc_day)
                .map_or(UNPRICED, |r| r as u32)
        });
        let tier = group_tier(
            rates,
            (rate != UNPRICED).then_some(rate as usize),
            g.band,
            thresholds,
        );
        let key = self.key_id(g.tenant.as_deref().unwrap_or(NONE));
        let bucket = self.bucket(g.day);
        let e = self
            .groups
            .entry((id, key, bucket, rate, g.byok))
            .or_default();
        e.calls += g.calls;
        e.tiers[tier as usize].merge(&g.sums());
    }
}

impl CallSink for ShowbackSink<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let local = self.cutter.local_day(call.ts_ms);
        if !self.period.contains(local) {
            return Disposition::OutOfRange;
        }
        if !call.billable() {
            return Disposition::Used;
        }
        let utc = DayCutter::utc_day(call.ts_ms);
        let id = self.names.id(&call.provider, &call.model);
        let (rates, names) = (self.rates, &self.names);
        let rate = *self.rates_seen.entry((id, utc)).or_insert_with(|| {
            let (provider, model) = names.get(id);
            rates
                .lookup(provider, model, utc)
                .map_or(UNPRICED, |r| r as u32)
        });
        let key = self.key_id(self.by.key(call).unwrap_or(NONE));
        let bucket = self.bucket(local);
        let g = self
            .groups
            .entry((id, key, bucket, rate, call.byok))
            .or_default();
        g.calls += 1;
        let tier = if rate == UNPRICED {
            Tier::Standard
        } else {
            rates.get(rate as usize).tier_for(call.usage.prompt)
        };
        g.tiers[tier as usize].add(&call.usage);
        Disposition::Used
    }

    fn merge(&mut self, other: Self) {
        self.capped |= other.capped;
        for ((id, key, bucket, rate, byok), g) in other.groups {
            let (p, m) = other.names.written(id);
            let mine = self.names.id(p, m);
            // Merged workers may hold more tenants than one: the cap bounds each worker.
            let name = &other.key_names[key as usize];
            let k = match self.keys.get(name.as_str()) {
                Some(&k) => k,
                None => {
                    let k = self.key_names.len() as u32;
                    self.keys.insert(name.clone(), k);
                    self.key_names.push(name.clone());
                    k
                }
            };
            let e = self
                .groups
                .entry((mine, k, bucket, rate, byok))
                .or_default();
            e.calls += g.calls;
            for (a, b) in e.tiers.iter_mut().zip(&g.tiers) {
                a.merge(b);
            }
        }
    }
}

/// One day (or month, on its first day) × tenant × provider: billable calls, their tokens and
/// their priced cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TenantDay {
    pub day: Day,
    pub tenant: String,
    pub provider: String,
    pub calls: u64,
    pub prompt_tokens: u128,
    pub completion_tokens: u128,
    /// The priced calls at list price (BYOK calls included: the team pays them upstream).
    pub usage_usd: Money,
    /// Calls without a rate: counted in `calls` and the tokens, not in `usage_usd`.
    pub unpriced_calls: u64,
}

/// Billable calls without a rate, per month × tenant × provider × model: named in the summary
/// and in the row's note.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct UnpricedCalls {
    pub month: Month,
    pub tenant: String,
    pub provider: String,
    pub model: String,
    pub calls: u64,
    pub tokens: u128,
}

/// One day (or month) × tenant × provider × model's tokens priced alike (rate row, tier, BYOK),
/// as [`crate::aggregate::PricedPart`] is per daily row: what the FOCUS rows split per tenant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TenantPart {
    pub day: Day,
    pub tenant: String,
    pub provider: String,
    pub model: String,
    /// The rate row; `None` when no row prices the model.
    pub rate: Option<usize>,
    pub tier: Tier,
    pub byok: bool,
    /// Billable calls (on the standard tier's part of a group, 0 on the long-context one).
    pub calls: u64,
    pub tokens: TokenSums,
}

/// The showback's sums, before the fees are shared.
#[derive(Debug, Clone)]
pub(crate) struct TenantUsage {
    pub by: GroupBy,
    /// How finely `days` and `parts` keep the calendar.
    pub grain: Grain,
    /// Sorted by day, provider, model, tenant, rate, tier, BYOK.
    pub parts: Vec<TenantPart>,
    /// Sorted by day, tenant, provider; per month (on its first day) with [`Grain::Month`].
    pub days: Vec<TenantDay>,
    /// Sorted by month, tenant, provider, model.
    pub unpriced: Vec<UnpricedCalls>,
    /// Some worker met more than [`MAX_KEYS`] tenants: the rest are summed as [`OTHER`].
    pub capped: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Usage;
    use std::borrow::Cow;
    use std::path::Path;

    /// acme/m: 1 USD per million prompt tokens.
    fn rates() -> RateTable {
        RateTable::parse(
            Path::new("models.csv"),
            b"provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok\n*,acme/m,2026-01-01,,1,2,,,,,\n",
        )
        .unwrap()
    }

    fn call(tenant: Option<String>, prompt: u64, status: u16) -> Call<'static> {
        Call {
            ts_ms: 1_775_044_800_000, // 2026-04-01T12:00:00Z
            provider: Cow::Borrowed("p"),
            model: Cow::Borrowed("acme/m"),
            usage: Usage {
                prompt,
                ..Default::default()
            },
            total_logged: None,
            status,
            request_id: None,
            latency_ms: None,
            byok: false,
            shadow: false,
            shadow_of: None,
            tenant: tenant.map(Cow::Owned),
            response_model: None,
            cost: None,
        }
    }

    #[test]
    fn tenants_past_the_cap_are_summed_as_other_and_nothing_is_lost() {
        let (r, n) = (rates(), ModelNames::default());
        let (mut a, mut b) = (
            ShowbackSink::new(
                GroupBy::TENANT,
                Grain::Month,
                &r,
                &n,
                None,
                Period::default(),
            ),
            ShowbackSink::new(
                GroupBy::TENANT,
                Grain::Month,
                &r,
                &n,
                None,
                Period::default(),
            ),
        );
        // MAX_KEYS tenants fill worker a; two more tenants go to (other) there.
        for i in 0..MAX_KEYS + 2 {
            a.accept(&call(Some(format!("t{i}")), 1_000_000, 200));
        }
        // Worker b: a blank tenant is (none); a failed call counts nowhere.
        b.accept(&call(Some(" ".into()), 2_000_000, 200));
        b.accept(&call(None, 3_000_000, 200));
        b.accept(&call(Some("t0".into()), 5_000_000, 500));
        a.merge(b);
        let u = a.finish();
        assert!(u.capped);
        let of = |t: &str| u.days.iter().find(|d| d.tenant == t).unwrap();
        assert_eq!((of(OTHER).calls, of(OTHER).usage_usd), (2, Money::from(2)));
        assert_eq!((of(NONE).calls, of(NONE).usage_usd), (2, Money::from(5)));
        assert_eq!(of("t0").calls, 1);
        let calls: u64 = u.days.iter().map(|d| d.calls).sum();
        assert_eq!(calls, MAX_KEYS as u64 + 4);
        assert_eq!(u.days.len(), MAX_KEYS + 2);
    }
}
