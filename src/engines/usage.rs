//! The usage groups from the logs, as the query of `spendrecon sql` computes them in an engine
//! (docs/engines.md): what `daily --usage-out` writes, so shards read on several machines, or in
//! an engine, merge the same way.
//!
//! Everything but `past_allowance` is a per-call decision. Which BYOK calls are past a monthly
//! allowance in requests depends on their order in the month, so the scan keeps BYOK calls per
//! UTC minute (as the fee tally does) and settles the minutes after it: a minute wholly before or
//! after the allowance runs out is settled whole, and the minute in which it runs out, if any, is
//! read once more call by call and ordered as the query orders them.

use chrono_tz::Tz;
use rustc_hash::{FxHashMap, FxHashSet};

use super::cut::Cut;
use crate::aggregate::{Daily, DailyAggregator, Names};
use crate::domain::{Call, Day, DayCutter, Money, Month, Period, UsageGroup};
use crate::pricing::aliases::ModelNames;
use crate::pricing::RateTable;
use crate::showback::GroupBy;
use crate::sources::record::{FieldId, FieldSet};
use crate::sources::{CallSink, Disposition, InputError, LogSet};

const MINUTE_MS: i64 = 60_000;
/// Not a BYOK call counted against an allowance.
const NO_MINUTE: i64 = i64::MIN;

/// What the usage groups read of a record.
pub(crate) const FIELDS: FieldSet = {
    use FieldId::*;
    crate::aggregate::FIELDS.with(&[Byok, ReasoningTokens, RequestId, Cost])
};

/// (pair id, local day, UTC day, BYOK, band, UTC minute of a BYOK call under an allowance,
/// group id or [`NO_GROUP`]).
type Key = (u32, Day, Day, bool, u8, i64, u32);

/// A group's key columns: (provider, model as written, day, UTC day, BYOK, band, past allowance,
/// the `--by` value).
type OutKey = (String, String, Day, Day, bool, u8, bool, Option<String>);

/// A call without a `--by` value, or a run without `--by`.
const NO_GROUP: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    calls: u64,
    failed: u64,
    prompt: u128,
    cached: u128,
    cache_write: u128,
    cache_write_1h: u128,
    completion: u128,
    reasoning: u128,
    reported: u64,
    reported_nanos: i128,
}

impl Sums {
    fn add_call(&mut self, call: &Call<'_>) {
        let u = &call.usage;
        self.calls += 1;
        self.prompt += u128::from(u.prompt);
        self.cached += u128::from(u.cached);
        self.cache_write += u128::from(u.cache_write);
        self.cache_write_1h += u128::from(u.cache_write_1h);
        self.completion += u128::from(u.completion);
        self.reasoning += u128::from(u.reasoning);
        if let Some(c) = call.cost {
            self.reported += 1;
            self.reported_nanos += nanos(c);
        }
    }

    fn merge(&mut self, o: &Sums) {
        self.calls += o.calls;
        self.failed += o.failed;
        self.prompt += o.prompt;
        self.cached += o.cached;
        self.cache_write += o.cache_write;
        self.cache_write_1h += o.cache_write_1h;
        self.completion += o.completion;
        self.reasoning += o.reasoning;
        self.reported += o.reported;
        self.reported_nanos += o.reported_nanos;
    }
}

/// Per-thread usage groups of the calls in the period, and the BYOK calls of every minute (in
/// the period or not: an allowance counts the whole month).
pub(crate) struct UsageSink<'r> {
    cut: &'r Cut,
    cutter: DayCutter,
    period: Period,
    names: Names<'r>,
    /// `--by`: the group is one more key (the engine's query groups by it alike). Not capped:
    /// the query's groups are not either, and the file must be the same.
    by: Option<GroupBy>,
    groups_seen: FxHashMap<String, u32>,
    group_names: Vec<String>,
    groups: FxHashMap<Key, Sums>,
    /// (provider, UTC minute) → BYOK calls under an allowance, in the period or not.
    minutes: FxHashMap<(String, i64), u64>,
}

impl<'r> UsageSink<'r> {
    pub(crate) fn new(
        cut: &'r Cut,
        names: &'r ModelNames,
        tz: Option<Tz>,
        period: Period,
        by: Option<GroupBy>,
    ) -> Self {
        UsageSink {
            cut,
            cutter: DayCutter::new(tz),
            period,
            names: Names::new(names),
            by,
            groups_seen: FxHashMap::default(),
            group_names: Vec::new(),
            groups: FxHashMap::default(),
            minutes: FxHashMap::default(),
        }
    }

    /// The id of a `--by` value ([`NO_GROUP`] for none).
    fn group_id(&mut self, value: Option<&str>) -> u32 {
        let Some(v) = value else {
            return NO_GROUP;
        };
        if let Some(&id) = self.groups_seen.get(v) {
            return id;
        }
        let id = self.group_names.len() as u32;
        self.groups_seen.insert(v.to_string(), id);
        self.group_names.push(v.to_string());
        id
    }

    fn group_name(&self, id: u32) -> Option<String> {
        (id != NO_GROUP).then(|| self.group_names[id as usize].clone())
    }
}

impl CallSink for UsageSink<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let local = self.cutter.local_day(call.ts_ms);
        let billable = call.billable();
        let byok = call.byok && billable;
        let minute = match byok && self.cut.allowance(&call.provider, local).is_some() {
            true => call.ts_ms.div_euclid(MINUTE_MS),
            false => NO_MINUTE,
        };
        if minute != NO_MINUTE {
            *self
                .minutes
                .entry((call.provider.to_string(), minute))
                .or_default() += 1;
        }
        if !self.period.contains(local) {
            return Disposition::OutOfRange;
        }
        let Some(id) = self.names.id_capped(&call.provider, &call.model) else {
            return Disposition::Rejected(
                "more than 100,000 distinct provider x model pairs: further new pairs are rejected (not real traffic)",
            );
        };
        let band = if billable {
            self.cut.band(call.usage.prompt)
        } else {
            0
        };
        let utc = DayCutter::utc_day(call.ts_ms);
        let group = match self.by {
            Some(by) => self.group_id(by.key(call)),
            None => NO_GROUP,
        };
        let g = self
            .groups
            .entry((id, local, utc, byok, band, minute, group))
            .or_default();
        if billable {
            g.add_call(call);
        } else {
            g.failed += 1;
        }
        Disposition::Used
    }

    fn merge(&mut self, other: Self) {
        for ((id, local, utc, byok, band, minute, group), s) in other.groups {
            let (p, m) = other.names.written(id);
            let mine = self.names.id(p, m);
            let group = match group {
                NO_GROUP => NO_GROUP,
                g => self.group_id(Some(&other.group_names[g as usize])),
            };
            self.groups
                .entry((mine, local, utc, byok, band, minute, group))
                .or_default()
                .merge(&s);
        }
        for (k, n) in other.minutes {
            *self.minutes.entry(k).or_default() += n;
        }
    }
}

/// A BYOK call of a minute in which an allowance runs out, with what orders it as the query
/// does: time, prompt and completion tokens, model, request id (none first).
struct Numbered {
    ts_ms: i64,
    prompt: u64,
    completion: u64,
    model: String,
    request_id: Option<String>,
    in_period: bool,
    local: Day,
    utc: Day,
    band: u8,
    group: Option<String>,
    sums: Sums,
}

/// The second look: every BYOK call of the minutes in which an allowance runs out.
struct CrossingSink<'w> {
    cut: &'w Cut,
    by: Option<GroupBy>,
    cutter: DayCutter,
    period: Period,
    wanted: &'w FxHashSet<(String, i64)>,
    calls: FxHashMap<(String, i64), Vec<Numbered>>,
}

impl CallSink for CrossingSink<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        if !(call.byok && call.billable()) {
            return Disposition::Used;
        }
        let key = (call.provider.to_string(), call.ts_ms.div_euclid(MINUTE_MS));
        if self.wanted.contains(&key) {
            let local = self.cutter.local_day(call.ts_ms);
            let mut sums = Sums::default();
            sums.add_call(call);
            self.calls.entry(key).or_default().push(Numbered {
                ts_ms: call.ts_ms,
                prompt: call.usage.prompt,
                completion: call.usage.completion,
                model: call.model.to_string(),
                request_id: call.request_id.as_deref().map(str::to_string),
                in_period: self.period.contains(local),
                local,
                utc: DayCutter::utc_day(call.ts_ms),
                band: self.cut.band(call.usage.prompt),
                group: self.by.and_then(|b| b.key(call)).map(str::to_string),
                sums,
            });
        }
        Disposition::Used
    }

    fn merge(&mut self, other: Self) {
        for (k, v) in other.calls {
            self.calls.entry(k).or_default().extend(v);
        }
    }
}

impl UsageSink<'_> {
    /// The groups, sorted by their key columns. `logs` is read once more when an allowance runs
    /// out inside a minute.
    pub(crate) fn finish(
        self,
        logs: &LogSet,
        tz: Option<Tz>,
    ) -> Result<Vec<UsageGroup>, InputError> {
        let mut cutter = DayCutter::new(tz);
        // Walk each provider's minutes in order, numbering its BYOK calls within the month.
        let mut by_provider: FxHashMap<&str, Vec<(i64, u64)>> = FxHashMap::default();
        for ((p, minute), n) in &self.minutes {
            by_provider.entry(p).or_default().push((*minute, *n));
        }
        // (provider, minute) → past the allowance (whole minute); crossing minutes apart, with
        // how many calls of the month came before them.
        let mut settled: FxHashMap<(String, i64), bool> = FxHashMap::default();
        let mut crossing: FxHashMap<(String, i64), u64> = FxHashMap::default();
        for (p, minutes) in &mut by_provider {
            minutes.sort_unstable();
            let mut month: Option<Month> = None;
            let mut seen = 0u64;
            for &(minute, n) in minutes.iter() {
                let day = cutter.local_day(minute * MINUTE_MS);
                if month != Some(Month::of(day)) {
                    (month, seen) = (Some(Month::of(day)), 0);
                }
                let allowance = self.cut.allowance(p, day).unwrap_or(u64::MAX);
                let key = (p.to_string(), minute);
                if seen >= allowance {
                    settled.insert(key, true);
                } else if seen + n <= allowance {
                    settled.insert(key, false);
                } else {
                    crossing.insert(key, seen);
                }
                seen += n;
            }
        }
        let mut out: FxHashMap<OutKey, Sums> = FxHashMap::default();
        for ((id, local, utc, byok, band, minute, group), s) in &self.groups {
            let (p, m) = self.names.written(*id);
            let past = match *minute {
                NO_MINUTE => false,
                minute => match settled.get(&(p.to_string(), minute)) {
                    Some(&past) => past,
                    // A crossing minute: its calls are numbered one by one below.
                    None => continue,
                },
            };
            out.entry((
                p.to_string(),
                m.to_string(),
                *local,
                *utc,
                *byok,
                *band,
                past,
                self.group_name(*group),
            ))
            .or_default()
            .merge(s);
        }
        if !crossing.is_empty() {
            let wanted: FxHashSet<(String, i64)> = crossing.keys().cloned().collect();
            let fields = self.by.map_or(FIELDS, |b| b.fields(FIELDS));
            let (look, _) = logs.scan(fields, || CrossingSink {
                cut: self.cut,
                by: self.by,
                cutter: DayCutter::new(tz),
                period: self.period,
                wanted: &wanted,
                calls: FxHashMap::default(),
            })?;
            for ((p, minute), mut calls) in look.calls {
                calls.sort_by(|a, b| {
                    (
                        a.ts_ms,
                        a.prompt + a.completion,
                        a.prompt,
                        &a.model,
                        &a.request_id,
                    )
                        .cmp(&(
                            b.ts_ms,
                            b.prompt + b.completion,
                            b.prompt,
                            &b.model,
                            &b.request_id,
                        ))
                });
                let before = crossing[&(p.clone(), minute)];
                for (k, c) in calls.into_iter().enumerate() {
                    let allowance = self.cut.allowance(&p, c.local).unwrap_or(u64::MAX);
                    let past = before + k as u64 + 1 > allowance;
                    if c.in_period {
                        out.entry((
                            p.clone(),
                            c.model,
                            c.local,
                            c.utc,
                            true,
                            c.band,
                            past,
                            c.group,
                        ))
                        .or_default()
                        .merge(&c.sums);
                    }
                }
            }
        }
        let mut groups: Vec<UsageGroup> = out
            .into_iter()
            .map(
                |((provider, model, day, utc_day, byok, band, past_allowance, tenant), s)| {
                    UsageGroup {
                        day,
                        utc_day,
                        provider,
                        model,
                        byok,
                        band,
                        past_allowance,
                        calls: s.calls,
                        failed_calls: s.failed,
                        prompt_tokens: s.prompt,
                        cached_tokens: s.cached,
                        cache_write_tokens: s.cache_write,
                        cache_write_1h_tokens: s.cache_write_1h,
                        completion_tokens: s.completion,
                        reasoning_tokens: s.reasoning,
                        reported_calls: s.reported,
                        reported_cost_nanos: s.reported_nanos,
                        tenant,
                    }
                },
            )
            .collect();
        sort(&mut groups);
        Ok(groups)
    }
}

/// A reported cost in billionths of a USD, rounded half away from zero (as SQL's `ROUND`).
pub(crate) fn nanos(usd: Money) -> i128 {
    use rust_decimal::prelude::ToPrimitive;
    (usd * Money::from(1_000_000_000u64))
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .to_i128()
        .unwrap_or(0)
}

/// Groups in the order of their key columns (as the query's ORDER BY, byte order of names).
pub(crate) fn sort(groups: &mut [UsageGroup]) {
    groups.sort_by(|a, b| {
        (
            a.day,
            a.utc_day,
            &a.provider,
            &a.model,
            a.byok,
            a.band,
            a.past_allowance,
            &a.tenant,
        )
            .cmp(&(
                b.day,
                b.utc_day,
                &b.provider,
                &b.model,
                b.byok,
                b.band,
                b.past_allowance,
                &b.tenant,
            ))
    });
}

/// The daily sums of usage groups, as [`crate::aggregate::DailyAggregator`] makes them from the
/// calls: the same rows, priced the same way. Without `byok`, BYOK calls count as any call, as
/// for a command that does not read the `byok` field of the logs.
pub(crate) fn daily(
    groups: &[UsageGroup],
    cut: &Cut,
    rates: &RateTable,
    names: &ModelNames,
    tz: Option<Tz>,
    period: Period,
    byok: bool,
) -> Daily {
    let mut agg = DailyAggregator::new(rates, names, tz, period);
    for g in groups {
        if byok || !g.byok {
            agg.add_group(g, &cut.thresholds);
        } else {
            let g = UsageGroup {
                byok: false,
                ..g.clone()
            };
            agg.add_group(&g, &cut.thresholds);
        }
    }
    agg.finish()
}
