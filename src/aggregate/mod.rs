//! Daily aggregation: integer token sums per day × provider × model, split by the rate row and
//! tier that will price them, so pricing later is one exact multiplication per group.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use rustc_hash::FxHashMap;

use crate::domain::{Call, Day, DayCutter, Money, Period, Tier, TokenSums, UsageGroup};
use crate::pricing::aliases::{How, ModelNames, NameUse};
use crate::pricing::{self, RateTable};
use crate::sources::record::{FieldId, FieldSet};
use crate::sources::{CallSink, Disposition};

#[derive(Debug, Clone, Default)]
struct Group {
    requests: u64,
    failed: u64,
    rate: Option<usize>,
    tiers: [TokenSums; 2],
}

/// (provider × model, local day, UTC day, BYOK): BYOK usage is paid upstream, so it is kept apart.
type GroupKey = (u32, Day, Day, bool);

/// provider × model ↔ small integer ids, so per-call keys are integers. Keyed by a 64-bit hash
/// of the names as written and checked against them (a collision, however unlikely, falls back
/// to `spill`): no string is built per call.
///
/// A pair's model is resolved to its slug ([`ModelNames::resolve`]) once, when the pair gets its
/// id: [`Names::get`] gives the model the usage counts under (the slug, or the name as written
/// when it resolves to nothing), [`Names::written`] the name as written.
pub(crate) struct Names<'n> {
    resolver: &'n ModelNames,
    ids: FxHashMap<u64, u32>,
    spill: FxHashMap<(String, String), u32>,
    /// (provider, model as written, model counted under, how it resolved), by id.
    names: Vec<Interned>,
}

struct Interned {
    provider: String,
    written: String,
    model: String,
    how: How,
}

/// Distinct provider × model pairs one worker keeps: real traffic has dozens; a log with more is
/// hostile or broken, and its further pairs are rejected rather than grown without bound.
pub(crate) const MAX_NAMES: usize = 100_000;

impl<'n> Names<'n> {
    pub(crate) fn new(resolver: &'n ModelNames) -> Self {
        Names {
            resolver,
            ids: FxHashMap::default(),
            spill: FxHashMap::default(),
            names: Vec::new(),
        }
    }

    /// The id of a pair, or `None` when it would be a new pair beyond [`MAX_NAMES`].
    pub(crate) fn id_capped(&mut self, provider: &str, model: &str) -> Option<u32> {
        if self.names.len() < MAX_NAMES {
            return Some(self.id(provider, model));
        }
        self.find(provider, model)
    }

    fn same(&self, id: u32, provider: &str, model: &str) -> bool {
        let n = &self.names[id as usize];
        n.provider == provider && n.written == model
    }

    fn find(&self, provider: &str, model: &str) -> Option<u32> {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        (provider, model).hash(&mut h);
        match self.ids.get(&h.finish()) {
            Some(&id) if self.same(id, provider, model) => Some(id),
            _ => self
                .spill
                .get(&(provider.to_string(), model.to_string()))
                .copied(),
        }
    }

    /// The id of a pair as written; a new pair's model is resolved here, once.
    pub(crate) fn id(&mut self, provider: &str, model: &str) -> u32 {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        (provider, model).hash(&mut h);
        let h = h.finish();
        let new_id = self.names.len() as u32;
        match self.ids.get(&h) {
            Some(&id) if self.same(id, provider, model) => return id,
            Some(_) => {}
            None => {
                self.ids.insert(h, new_id);
                self.intern(provider, model);
                return new_id;
            }
        }
        let key = (provider.to_string(), model.to_string());
        if let Some(&id) = self.spill.get(&key) {
            return id;
        }
        self.spill.insert(key, new_id);
        self.intern(provider, model);
        new_id
    }

    fn intern(&mut self, provider: &str, written: &str) {
        let r = self.resolver.resolve(provider, written);
        self.names.push(Interned {
            provider: provider.to_string(),
            written: written.to_string(),
            model: r.name_or(written).to_string(),
            how: r.how,
        });
    }

    /// The provider and the model the pair's usage counts under (its slug, or the name as
    /// written when it resolves to nothing).
    pub(crate) fn get(&self, id: u32) -> (&str, &str) {
        let n = &self.names[id as usize];
        (&n.provider, &n.model)
    }

    /// The provider and the model as written: what another worker's [`Names::id`] takes.
    pub(crate) fn written(&self, id: u32) -> (&str, &str) {
        let n = &self.names[id as usize];
        (&n.provider, &n.written)
    }

    /// How the pair's model resolved.
    pub(crate) fn how(&self, id: u32) -> How {
        self.names[id as usize].how
    }

    /// Whether `other`, written on the pair's provider, counts under the pair's model.
    pub(crate) fn resolves_to(&self, id: u32, other: &str) -> bool {
        let n = &self.names[id as usize];
        self.resolver.resolve(&n.provider, other).name_or(other) == n.model
    }
}

/// What daily aggregation reads of a record.
pub const FIELDS: FieldSet = {
    use FieldId::*;
    FieldSet::of(&[
        Ts,
        Provider,
        Model,
        PromptTokens,
        CompletionTokens,
        CachedTokens,
        CacheReadInputTokens,
        CacheWriteTokens,
        CacheCreationInputTokens,
        CacheWrite1hTokens,
        InputTokens,
        OutputTokens,
        Status,
    ])
};

const TOO_MANY_NAMES: &str =
    "more than 100,000 distinct provider x model pairs: further new pairs are rejected (not real traffic)";

/// Per-thread aggregation state; merged into one at the end of the scan.
pub(crate) struct DailyAggregator<'r> {
    rates: &'r RateTable,
    cutter: DayCutter,
    period: Period,
    names: Names<'r>,
    groups: FxHashMap<GroupKey, Group>,
}

impl<'r> DailyAggregator<'r> {
    pub(crate) fn new(
        rates: &'r RateTable,
        names: &'r ModelNames,
        tz: Option<Tz>,
        period: Period,
    ) -> Self {
        DailyAggregator {
            rates,
            cutter: DayCutter::new(tz),
            period,
            names: Names::new(names),
            groups: FxHashMap::default(),
        }
    }

    /// Daily rows sorted by day, provider, model, priced exactly; a row per slug, whatever the
    /// spellings its calls were written in.
    pub(crate) fn finish(self) -> Daily {
        let mut rows: BTreeMap<(Day, &str, &str), DailyRow> = BTreeMap::new();
        let mut calls: BTreeMap<u32, u64> = BTreeMap::new();
        for ((id, local, _utc, byok), g) in &self.groups {
            let (provider, model) = &self.names.get(*id);
            let written = self.names.written(*id).1;
            *calls.entry(*id).or_default() += g.requests + g.failed;
            let row = rows
                .entry((*local, provider, model))
                .or_insert_with(|| DailyRow {
                    day: *local,
                    provider: provider.to_string(),
                    model: model.to_string(),
                    cost_usd: Some(Money::ZERO),
                    ..Default::default()
                });
            if written != *model && !row.written.iter().any(|w| w == written) {
                row.written.push(written.to_string());
            }
            row.requests += g.requests;
            row.failed_requests += g.failed;
            if *byok {
                row.byok_requests += g.requests;
            }
            for (tier, t) in [Tier::Standard, Tier::LongContext]
                .into_iter()
                .zip(&g.tiers)
            {
                if !t.is_empty() {
                    row.add_part(g.rate, tier, *byok, t);
                }
                row.prompt_tokens += t.prompt();
                row.cached_tokens += t.cached;
                row.cache_write_tokens += t.cache_write_5m + t.cache_write_1h;
                row.completion_tokens += t.completion;
            }
            match g.rate {
                Some(r) => {
                    let rate = self.rates.get(r);
                    let c = pricing::cost(rate, Tier::Standard, &g.tiers[0])
                        + pricing::cost(rate, Tier::LongContext, &g.tiers[1]);
                    if let Some(total) = &mut row.cost_usd {
                        *total += c;
                    }
                    if *byok {
                        row.byok_cost_usd += c;
                    }
                }
                None if g.requests > 0 => {
                    row.unpriced_requests += g.requests;
                    row.cost_usd = None;
                }
                None => {}
            }
        }
        let mut rows: Vec<DailyRow> = rows.into_values().collect();
        // The groups come out of a hash map: sorted, the parts are the same on every run.
        for r in &mut rows {
            r.parts.sort_by_key(|p| (p.rate, p.tier, p.byok));
            r.written.sort();
        }
        let mut names: Vec<NameUse> = calls
            .into_iter()
            .filter(|(id, _)| self.names.how(*id) != How::Slug)
            .map(|(id, count)| {
                let ((provider, written), model) = (self.names.written(id), self.names.get(id).1);
                NameUse {
                    provider: provider.to_string(),
                    written: written.to_string(),
                    model: model.to_string(),
                    how: self.names.how(id),
                    count,
                }
            })
            .collect();
        names.sort_by(|a, b| (&a.provider, &a.written).cmp(&(&b.provider, &b.written)));
        Daily { rows, names }
    }
}

impl DailyAggregator<'_> {
    /// Adds a usage group (docs/engines.md) as if its calls had been read one by one: its band
    /// says which side of the rate row's threshold its calls were, `thresholds` being the cut's.
    /// False (and nothing added) for a day outside the period.
    pub(crate) fn add_group(&mut self, u: &UsageGroup, thresholds: &[u64]) -> bool {
        if !self.period.contains(u.day) {
            return false;
        }
        let id = self.names.id(&u.provider, &u.model);
        let rates = self.rates;
        let names = &self.names;
        let g = self
            .groups
            .entry((id, u.day, u.utc_day, u.byok))
            .or_insert_with(|| {
                let (provider, model) = names.get(id);
                Group {
                    rate: rates.lookup(provider, model, u.utc_day),
                    ..Default::default()
                }
            });
        g.requests += u.calls;
        g.failed += u.failed_calls;
        g.tiers[group_tier(rates, g.rate, u.band, thresholds) as usize].merge(&u.sums());
        true
    }
}

/// The tier of a usage group's calls under rate row `rate`: long-context when their band reaches
/// the row's threshold in the cut's `thresholds` (docs/engines.md), as `Rate::tier_for` decides
/// for one call.
pub(crate) fn group_tier(
    rates: &RateTable,
    rate: Option<usize>,
    band: u8,
    thresholds: &[u64],
) -> Tier {
    let long = rate
        .and_then(|r| rates.get(r).long_context_threshold)
        .and_then(|t| thresholds.iter().position(|&x| x == t))
        .is_some_and(|k| usize::from(band) > k);
    if long {
        Tier::LongContext
    } else {
        Tier::Standard
    }
}

impl CallSink for DailyAggregator<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let local = self.cutter.local_day(call.ts_ms);
        if !self.period.contains(local) {
            return Disposition::OutOfRange;
        }
        let utc = DayCutter::utc_day(call.ts_ms);
        let Some(id) = self.names.id_capped(&call.provider, &call.model) else {
            return Disposition::Rejected(TOO_MANY_NAMES);
        };
        let rates = self.rates;
        let names = &self.names;
        let g = self
            .groups
            .entry((id, local, utc, call.byok && call.billable()))
            .or_insert_with(|| {
                let (provider, model) = names.get(id);
                Group {
                    rate: rates.lookup(provider, model, utc),
                    ..Default::default()
                }
            });
        if call.billable() {
            g.requests += 1;
            let tier = g
                .rate
                .map_or(Tier::Standard, |r| rates.get(r).tier_for(call.usage.prompt));
            g.tiers[tier as usize].add(&call.usage);
        } else {
            g.failed += 1;
        }
        Disposition::Used
    }

    fn merge(&mut self, other: Self) {
        for ((id, local, utc, byok), g) in other.groups {
            let (p, m) = other.names.written(id);
            let mine = self.names.id(p, m);
            let e = self.groups.entry((mine, local, utc, byok)).or_default();
            e.requests += g.requests;
            e.failed += g.failed;
            e.rate = e.rate.or(g.rate);
            for (a, b) in e.tiers.iter_mut().zip(&g.tiers) {
                a.merge(b);
            }
        }
    }
}

/// One row of `daily.csv`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DailyRow {
    pub day: Day,
    pub provider: String,
    pub model: String,
    /// Billable (2xx) calls.
    pub requests: u64,
    pub prompt_tokens: u128,
    pub cached_tokens: u128,
    pub cache_write_tokens: u128,
    pub completion_tokens: u128,
    /// Exact cost; `None` when some billable call of the row has no rate (never silently free).
    pub cost_usd: Option<Money>,
    pub failed_requests: u64,
    pub unpriced_requests: u64,
    /// Billable BYOK calls (only when the command reads the `byok` field) and their list cost
    /// (priced ones): usage the customer pays upstream with its own key, not to the gateway.
    pub byok_requests: u64,
    pub byok_cost_usd: Money,
    /// The names the row's calls were written in where they differ from `model` (sorted):
    /// spellings resolved to this slug ([`crate::pricing::aliases`]).
    pub written: Vec<String>,
    /// The row's tokens by the price that applies to them (rate row, tier, BYOK), for what
    /// prices each kind of token apart (the FOCUS rows, one per kind and price). Usually one.
    pub parts: Vec<PricedPart>,
}

/// Tokens of a daily row priced alike: one rate row (an index into the run's rate table, `None`
/// when no row prices them), one tier, BYOK or not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PricedPart {
    pub rate: Option<usize>,
    pub tier: Tier,
    pub byok: bool,
    pub tokens: TokenSums,
}

impl DailyRow {
    /// Adds `t` to the part priced by (`rate`, `tier`, `byok`): a local day can span two UTC
    /// days, whose groups merge here when the same row prices both.
    fn add_part(&mut self, rate: Option<usize>, tier: Tier, byok: bool, t: &TokenSums) {
        match self
            .parts
            .iter_mut()
            .find(|p| p.rate == rate && p.tier == tier && p.byok == byok)
        {
            Some(p) => p.tokens.merge(t),
            None => self.parts.push(PricedPart {
                rate,
                tier,
                byok,
                tokens: *t,
            }),
        }
    }

    /// What the gateway itself bills for the row's usage: the list cost less BYOK usage.
    pub(crate) fn gateway_usd(&self) -> Option<Money> {
        self.cost_usd.map(|c| c - self.byok_cost_usd)
    }

    pub(crate) fn total_tokens(&self) -> u128 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// The daily table with its totals.
#[derive(Debug, Clone, Default)]
pub(crate) struct Daily {
    pub rows: Vec<DailyRow>,
    /// Every provider × name of the logs not written as its slug: resolved by an alias or a
    /// rule, or to nothing; with its calls (failed ones too). Sorted by provider, name.
    pub names: Vec<NameUse>,
}

impl Daily {
    /// Sum of priced rows' cost: by construction the sum of the `cost_usd` column.
    pub(crate) fn priced_total(&self) -> Money {
        self.rows.iter().filter_map(|r| r.cost_usd).sum()
    }

    /// Unpriced billable calls and their tokens, per provider × model.
    pub(crate) fn unpriced(&self) -> BTreeMap<(String, String), (u64, u128)> {
        let mut out: BTreeMap<(String, String), (u64, u128)> = BTreeMap::new();
        for r in self.rows.iter().filter(|r| r.unpriced_requests > 0) {
            let e = out
                .entry((r.provider.clone(), r.model.clone()))
                .or_default();
            e.0 += r.unpriced_requests;
            e.1 += r.total_tokens();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tz_cuts_days_locally() {
        let ms = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_millis()
        };
        let mut utc = DayCutter::new(None);
        let mut ny = DayCutter::new(Some(chrono_tz::America::New_York));
        let t = ms("2026-04-28T02:30:00Z");
        assert_eq!(utc.local_day(t).to_string(), "2026-04-28");
        assert_eq!(ny.local_day(t).to_string(), "2026-04-27");
        // Midnight belongs to the new day.
        assert_eq!(
            ny.local_day(ms("2026-04-28T04:00:00Z")).to_string(),
            "2026-04-28"
        );
        assert_eq!(
            ny.local_day(ms("2026-04-28T03:59:59.999Z")).to_string(),
            "2026-04-27"
        );
        // Winter time: UTC-5.
        assert_eq!(
            ny.local_day(ms("2026-01-15T04:30:00Z")).to_string(),
            "2026-01-14"
        );
        assert_eq!(
            ny.local_day(ms("2026-01-15T05:00:00Z")).to_string(),
            "2026-01-15"
        );
    }
}
