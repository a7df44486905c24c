//! Log-level findings that no invoice line can show: the same call logged twice, records whose
//! own arithmetic is off, a different model answering than the one asked, and gateway-reported
//! costs that disagree with the rate table.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::io;
use std::sync::atomic::AtomicU32;

use chrono_tz::Tz;
use rustc_hash::FxHashMap;

use crate::aggregate::Names;
use crate::domain::{Call, Day, DayCutter, Money, Period, Tier, TokenSums, UsageGroup};
use crate::pricing::aliases::ModelNames;
use crate::pricing::{self, RateTable};
use crate::sources::{CallSink, Disposition, ScanOrder};

use super::duplicates::{self, IdLog};

#[derive(Default, Clone)]
struct Counts {
    total_mismatch: u64,
    response_model_mismatch: u64,
    /// Sum of `cost` over 2xx, non-BYOK calls that reported one, and what the rate table says
    /// those same calls cost (as token sums, priced at the end).
    reported: Money,
    reported_calls: u64,
    reported_tokens: [TokenSums; 2],
    rate: Option<usize>,
}

/// One row of `findings.csv`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub kind: &'static str,
    pub day: Option<Day>,
    pub provider: String,
    pub model: String,
    pub count: u64,
    pub detail: String,
}

pub(crate) struct FindingsSink<'r> {
    rates: &'r RateTable,
    /// The request ids, for `duplicate_request_id`, each logged under the number of its
    /// call's entry (its group).
    ids: IdLog,
    /// The groups of the workers merged into this one: (pair, local day) by number, their
    /// pairs as this sink numbers them.
    merged: FxHashMap<u32, Vec<(u32, Day)>>,
    cutter: DayCutter,
    period: Period,
    names: Names<'r>,
    /// Whether a response's model (by its hash) names the same model as the pair requested:
    /// resolved once per pair and name.
    same_model: FxHashMap<(u32, u64), bool>,
    /// Per pair × local day × UTC day, the number of its entry: a small map that stays in
    /// cache, so most calls touch no entry at all. Every call used makes its entry, so the days
    /// with a log record are the keys' local days.
    index: FxHashMap<(u32, Day, Day), u32>,
    entries: Vec<((u32, Day, Day), Counts)>,
}

impl<'r> FindingsSink<'r> {
    pub(crate) fn new(
        rates: &'r RateTable,
        names: &'r ModelNames,
        workers: &AtomicU32,
        tz: Option<Tz>,
        period: Period,
    ) -> Self {
        FindingsSink {
            rates,
            ids: IdLog::new(workers, duplicates::BUDGET),
            merged: FxHashMap::default(),
            cutter: DayCutter::new(tz),
            period,
            names: Names::new(names),
            same_model: FxHashMap::default(),
            index: FxHashMap::default(),
            entries: Vec::new(),
        }
    }

    /// A usage group (docs/engines.md) in place of its calls: its day has log records, and the
    /// gateway's reported cost is compared when every billable call of the group reports one
    /// (then the group's tokens are those calls' tokens). False when some but not all do: that
    /// part cannot be compared from sums.
    pub(crate) fn add_group(&mut self, g: &UsageGroup, thresholds: &[u64]) -> bool {
        // Its entry marks the day as one with log records, as a call's does.
        let id = self.names.id(&g.provider, &g.model);
        let n = self.entry((id, g.day, g.utc_day)) as usize;
        if g.byok || g.reported_calls == 0 {
            return true;
        }
        if g.reported_calls < g.calls {
            return false;
        }
        let rates = self.rates;
        let c = &mut self.entries[n].1;
        c.reported += g.reported_usd();
        c.reported_calls += g.reported_calls;
        let tier = crate::aggregate::group_tier(rates, c.rate, g.band, thresholds);
        c.reported_tokens[tier as usize].merge(&g.sums());
        true
    }

    /// The number of the entry of pair `id` on a local and a UTC day, made when new.
    fn entry(&mut self, key: (u32, Day, Day)) -> u32 {
        if let Some(&n) = self.index.get(&key) {
            return n;
        }
        let (provider, model) = self.names.get(key.0);
        let rate = self.rates.lookup(provider, model, key.2);
        let n = self.entries.len() as u32;
        self.entries.push((
            key,
            Counts {
                rate,
                ..Default::default()
            },
        ));
        self.index.insert(key, n);
        n
    }

    /// Findings sorted by day, provider, model, kind; `tolerance_usd` bounds cost disagreements.
    /// `span` is the period whose days without any log record are reported. Fails only when
    /// the request ids' sorted runs cannot be written or read back.
    pub(crate) fn finish(
        self,
        tolerance_usd: Money,
        span: Option<(Day, Day)>,
    ) -> io::Result<Vec<Finding>> {
        let mut per: BTreeMap<(Day, String, String), Counts> = BTreeMap::new();
        let mut dups: BTreeMap<(Day, String, String), u64> = BTreeMap::new();
        let own = self.ids.worker();
        for ((worker, group), n) in self.ids.finish()? {
            let group = group as usize;
            let found = match self.merged.get(&worker) {
                Some(t) => t.get(group).copied(),
                None if worker == own => self.entries.get(group).map(|(k, _)| (k.0, k.1)),
                None => None,
            };
            let Some((id, local)) = found else {
                continue;
            };
            let (p, m) = self.names.get(id);
            *dups
                .entry((local, p.to_string(), m.to_string()))
                .or_default() += n;
        }
        let mut expected: BTreeMap<(Day, String, String), Money> = BTreeMap::new();
        for ((id, local, _), c) in &self.entries {
            let (p, m) = self.names.get(*id);
            let key = (*local, p.to_string(), m.to_string());
            if let Some(r) = c.rate {
                let rate = self.rates.get(r);
                *expected.entry(key.clone()).or_default() +=
                    pricing::cost(rate, Tier::Standard, &c.reported_tokens[0])
                        + pricing::cost(rate, Tier::LongContext, &c.reported_tokens[1]);
            }
            let e = per.entry(key).or_default();
            e.total_mismatch += c.total_mismatch;
            e.response_model_mismatch += c.response_model_mismatch;
            e.reported += c.reported;
            e.reported_calls += c.reported_calls;
        }
        let mut out = Vec::new();
        for ((day, p, m), c) in per {
            let duplicates = dups.get(&(day, p.clone(), m.clone())).copied().unwrap_or(0);
            let mut push = |kind, count, detail: String| {
                out.push(Finding {
                    kind,
                    day: Some(day),
                    provider: p.clone(),
                    model: m.clone(),
                    count,
                    detail,
                })
            };
            if duplicates > 0 {
                push(
                    "duplicate_request_id",
                    duplicates,
                    format!("{duplicates} records repeat a request_id already logged (the same call logged twice)"),
                );
            }
            if c.total_mismatch > 0 {
                push(
                    "total_tokens_mismatch",
                    c.total_mismatch,
                    format!(
                        "{} records have total_tokens != prompt_tokens + completion_tokens",
                        c.total_mismatch
                    ),
                );
            }
            if c.response_model_mismatch > 0 {
                push(
                    "response_model_mismatch",
                    c.response_model_mismatch,
                    format!(
                        "{} responses name another model than the one requested",
                        c.response_model_mismatch
                    ),
                );
            }
            if c.reported_calls > 0 {
                if let Some(exp) = expected.get(&(day, p.clone(), m.clone())) {
                    let diff = c.reported - exp;
                    if diff.abs() > tolerance_usd {
                        push(
                            "gateway_cost_mismatch",
                            c.reported_calls,
                            format!(
                                "gateway-reported cost USD {} vs rate table USD {} ({}{})",
                                c.reported.round_dp(6).normalize(),
                                exp.round_dp(6).normalize(),
                                if diff.is_sign_positive() { "+" } else { "" },
                                diff.round_dp(6).normalize()
                            ),
                        );
                    }
                }
            }
        }
        if let Some((from, to)) = span {
            let seen: BTreeSet<Day> = self.entries.iter().map(|(k, _)| k.1).collect();
            for d in from.0..=to.0 {
                if !seen.contains(&Day(d)) {
                    out.push(Finding {
                        kind: "missing_log_day",
                        day: Some(Day(d)),
                        provider: String::new(),
                        model: String::new(),
                        count: 0,
                        detail: "no log record at all on this day".into(),
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            (a.day, &a.provider, &a.model, a.kind).cmp(&(b.day, &b.provider, &b.model, b.kind))
        });
        Ok(out)
    }
}

impl CallSink for FindingsSink<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let local = self.cutter.local_day(call.ts_ms);
        if !self.period.contains(local) {
            return Disposition::OutOfRange;
        }
        let utc = DayCutter::utc_day(call.ts_ms);
        let id = self.names.id(&call.provider, &call.model);
        let group = self.entry((id, local, utc));
        if let Some(rid) = &call.request_id {
            self.ids.push(&call.provider, rid, group);
        }
        let (rates, names) = (self.rates, &self.names);
        let c = &mut self.entries[group as usize].1;
        if call
            .total_logged
            .is_some_and(|t| t != call.usage.prompt + call.usage.completion)
        {
            c.total_mismatch += 1;
        }
        // Another spelling of the same model (`gpt-5-mini-2025-08-07` answering `openai/gpt-5-mini`)
        // is the model requested.
        if let Some(r) = call.response_model.as_ref().filter(|r| **r != call.model) {
            let mut h = rustc_hash::FxHasher::default();
            r.hash(&mut h);
            let same = *self
                .same_model
                .entry((id, h.finish()))
                .or_insert_with(|| names.resolves_to(id, r));
            if !same {
                c.response_model_mismatch += 1;
            }
        }
        // BYOK usage is billed by the upstream provider, not the gateway, so its reported cost
        // is not comparable with list prices; failed calls are not billed.
        if let (Some(cost), true, false) = (call.cost, call.billable(), call.byok) {
            c.reported += cost;
            c.reported_calls += 1;
            let tier = c
                .rate
                .map_or(Tier::Standard, |r| rates.get(r).tier_for(call.usage.prompt));
            c.reported_tokens[tier as usize].add(&call.usage);
        }
        Disposition::Used
    }

    fn chunk(&mut self, at: ScanOrder) {
        self.ids.chunk(at);
    }

    fn merge(&mut self, other: Self) {
        // The other worker's groups (and those merged into it), their pairs renumbered as here.
        let mut remap = |table: &[(u32, Day)]| -> Vec<(u32, Day)> {
            table
                .iter()
                .map(|&(id, day)| {
                    let (p, m) = other.names.written(id);
                    (self.names.id(p, m), day)
                })
                .collect()
        };
        let groups: Vec<(u32, Day)> = other.entries.iter().map(|(k, _)| (k.0, k.1)).collect();
        let mut tables = vec![(other.ids.worker(), remap(&groups))];
        for (w, t) in &other.merged {
            tables.push((*w, remap(t)));
        }
        self.merged.extend(tables);
        self.ids.merge(other.ids);
        for ((id, local, utc), c) in other.entries {
            let (p, m) = other.names.written(id);
            let mine = self.names.id(p, m);
            let n = self.entry((mine, local, utc));
            let e = &mut self.entries[n as usize].1;
            e.total_mismatch += c.total_mismatch;
            e.response_model_mismatch += c.response_model_mismatch;
            e.reported += c.reported;
            e.reported_calls += c.reported_calls;
            e.rate = e.rate.or(c.rate);
            for (a, b) in e.reported_tokens.iter_mut().zip(&c.reported_tokens) {
                a.merge(b);
            }
        }
    }
}
