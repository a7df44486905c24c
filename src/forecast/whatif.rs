//! What the same traffic costs on each gateway, fees included, month by month: "what does a year
//! cost on each gateway", and percentage against subscription for BYOK.
//!
//! The base is one month of logged traffic (2xx calls per model, BYOK apart, token sums per
//! price tier). Each scenario sends all of it through one gateway: models are mapped to that
//! gateway's slug (`rates/slugs.csv`; a slug retired by the month priced is priced at its
//! replacement) and priced at its rates on the month's first day; calls keep the price tier they
//! had as logged. Month k (1 = the month after the base) carries the base traffic × (1 + growth)^k.
//! Fees follow the gateway's policy in force on the month's first day:
//! - top-ups: the month's non-BYOK usage is bought as one card top-up in that month;
//! - BYOK: the percentage on the calls past the allowance, each taken at the month's average BYOK
//!   call cost (an allowance in list USD: on the list cost past it);
//! - subscription: its monthly price, in the subscription scenario, instead of the percentage.

use std::collections::BTreeMap;

use rust_decimal::RoundingStrategy;
use rustc_hash::FxHashMap;

use crate::aggregate::{DayCutter, Names, Period};
use crate::domain::{Call, Day, Money, Month, Tier, TokenSums};
use crate::fees::policy::{AllowanceUnit, FeeBook, SubscriptionPrice};
use crate::input::{CallSink, Disposition};
use crate::pricing::slugs::SlugMap;
use crate::pricing::{self, RateTable};

#[derive(Debug, Clone, Default)]
struct Group {
    calls: u64,
    tokens: TokenSums,
}

/// 2xx traffic per model × month × BYOK × tier.
pub struct TrafficSink<'r> {
    rates: &'r RateTable,
    cutter: DayCutter,
    period: Period,
    names: Names,
    rates_seen: FxHashMap<(u32, Day), Option<usize>>,
    groups: FxHashMap<(u32, Month, bool, Tier), Group>,
}

impl<'r> TrafficSink<'r> {
    pub fn new(rates: &'r RateTable, tz: Option<chrono_tz::Tz>, period: Period) -> Self {
        TrafficSink {
            rates,
            cutter: DayCutter::new(tz),
            period,
            names: Names::default(),
            rates_seen: FxHashMap::default(),
            groups: FxHashMap::default(),
        }
    }

    pub fn finish(self) -> Traffic {
        let mut groups = Vec::new();
        for ((id, month, byok, tier), g) in self.groups {
            let (p, m) = self.names.get(id);
            groups.push(TrafficGroup {
                month,
                provider: p.to_string(),
                model: m.to_string(),
                byok,
                tier,
                calls: g.calls,
                tokens: g.tokens,
            });
        }
        groups.sort_by(|a, b| {
            (a.month, &a.provider, &a.model, a.byok, a.tier).cmp(&(
                b.month,
                &b.provider,
                &b.model,
                b.byok,
                b.tier,
            ))
        });
        Traffic { groups }
    }
}

impl CallSink for TrafficSink<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let day = self.cutter.local_day(call.ts_ms);
        if !self.period.contains(day) {
            return Disposition::OutOfRange;
        }
        if call.billable() {
            let id = self.names.id(&call.provider, &call.model);
            let utc = DayCutter::utc_day(call.ts_ms);
            let rates = self.rates;
            let rate = *self
                .rates_seen
                .entry((id, utc))
                .or_insert_with(|| rates.lookup(&call.provider, &call.model, utc));
            // The tier the call was priced in as logged (unpriced calls: standard).
            let tier = rate.map_or(Tier::Standard, |r| rates.get(r).tier_for(call.usage.prompt));
            let g = self
                .groups
                .entry((id, Month::of(day), call.byok, tier))
                .or_default();
            g.calls += 1;
            g.tokens.add(&call.usage);
        }
        Disposition::Used
    }

    fn merge(&mut self, other: Self) {
        for ((id, month, byok, tier), g) in other.groups {
            let (p, m) = other.names.get(id);
            let mine = self.names.id(p, m);
            let e = self.groups.entry((mine, month, byok, tier)).or_default();
            e.calls += g.calls;
            e.tokens.merge(&g.tokens);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrafficGroup {
    pub month: Month,
    pub provider: String,
    pub model: String,
    pub byok: bool,
    pub tier: Tier,
    pub calls: u64,
    pub tokens: TokenSums,
}

/// The logged traffic, sorted by month, provider, model.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    pub groups: Vec<TrafficGroup>,
}

impl Traffic {
    /// The last month with traffic.
    pub fn last_month(&self) -> Option<Month> {
        self.groups.iter().map(|g| g.month).max()
    }
}

/// One row of the scenario table (`whatif.csv`'s columns, CONTRACT §6).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioRow {
    pub month: Month,
    pub scenario: String,
    pub provider: String,
    pub usage_usd: Money,
    pub topup_fee_usd: Money,
    pub byok_fee_usd: Money,
    pub subscription_usd: Money,
    /// Calls (all / BYOK) of the month, for the notes.
    pub calls: u64,
    pub unpriced_calls: u64,
}

impl ScenarioRow {
    pub fn total_usd(&self) -> Money {
        self.usage_usd + self.topup_fee_usd + self.byok_fee_usd + self.subscription_usd
    }
}

/// How a scenario charges BYOK.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ByokMode {
    /// As the gateway's policy says.
    Policy,
    /// A fixed monthly subscription instead of any percentage.
    Subscription(Money),
}

/// The month-by-month cost of `base` month's traffic sent wholly through `gateway`.
#[allow(clippy::too_many_arguments)]
pub fn scenario(
    traffic: &Traffic,
    base: Month,
    months: u32,
    growth_pct: Money,
    gateway: &str,
    mode: ByokMode,
    name: &str,
    rates: &RateTable,
    slugs: &SlugMap,
    book: &FeeBook,
    subscription_price: Option<Money>,
) -> Vec<ScenarioRow> {
    let growth = Money::ONE + growth_pct / Money::ONE_HUNDRED;
    let mut factor = Money::ONE;
    let mut out = Vec::new();
    let mut month = base;
    for _ in 0..months {
        month = month.next();
        factor *= growth;
        let first = month.first_day();
        // Usage at the gateway's prices, BYOK apart.
        let (mut usage, mut byok_usage) = (Money::ZERO, Money::ZERO);
        let (mut calls, mut byok_calls, mut unpriced) = (0u64, 0u64, 0u64);
        let mut priced: BTreeMap<(String, String), Option<usize>> = BTreeMap::new();
        for g in traffic.groups.iter().filter(|g| g.month == base) {
            let rate = *priced
                .entry((g.provider.clone(), g.model.clone()))
                .or_insert_with(|| {
                    let model = target_slug(slugs, &g.provider, &g.model, gateway, first);
                    rates.lookup(gateway, &model, first)
                });
            calls += g.calls;
            if g.byok {
                byok_calls += g.calls;
            }
            match rate {
                Some(r) => {
                    let c = pricing::cost(rates.get(r), g.tier, &g.tokens);
                    if g.byok {
                        byok_usage += c;
                    } else {
                        usage += c;
                    }
                }
                None => unpriced += g.calls,
            }
        }
        let usage = usage * factor;
        let byok_usage = byok_usage * factor;
        let byok_calls_k = Money::from(byok_calls) * factor;
        let policy = book.on(gateway, first);
        let topup = policy.map_or(Money::ZERO, |p| p.card.on(usage));
        let (byok_fee, subscription) = match (mode, policy) {
            (ByokMode::Subscription(price), _) => (Money::ZERO, price),
            (ByokMode::Policy, None) => (Money::ZERO, Money::ZERO),
            (ByokMode::Policy, Some(p)) => {
                let f = p.byok;
                let basis = match f.unit {
                    None => byok_usage,
                    Some(AllowanceUnit::ListUsd) => (byok_usage - f.allowance).max(Money::ZERO),
                    Some(AllowanceUnit::Requests) if byok_calls_k > f.allowance => {
                        byok_usage * (byok_calls_k - f.allowance) / byok_calls_k
                    }
                    Some(AllowanceUnit::Requests) => Money::ZERO,
                };
                let sub = match f.subscription {
                    Some(SubscriptionPrice::Usd(m)) => m,
                    Some(SubscriptionPrice::FromCommandLine) => {
                        subscription_price.unwrap_or_default()
                    }
                    None => Money::ZERO,
                };
                (basis * f.pct / Money::ONE_HUNDRED, sub)
            }
        };
        let cents = |m: Money| m.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        out.push(ScenarioRow {
            month,
            scenario: name.to_string(),
            provider: gateway.to_string(),
            usage_usd: cents(usage + byok_usage),
            topup_fee_usd: cents(topup),
            byok_fee_usd: cents(byok_fee),
            subscription_usd: cents(subscription),
            calls,
            unpriced_calls: unpriced,
        });
    }
    out
}

/// The slug a model has on `gateway` on `day`: the counterpart in `rates/slugs.csv`, then its
/// replacement when retired by that day.
fn target_slug(slugs: &SlugMap, provider: &str, model: &str, gateway: &str, day: Day) -> String {
    let mut m = if provider == gateway {
        model.to_string()
    } else {
        slugs
            .counterpart(provider, model, gateway)
            .unwrap_or(model)
            .to_string()
    };
    for _ in 0..8 {
        match slugs.retirement(gateway, &m) {
            Some(r) if r.retired_on <= day && !r.replacement.is_empty() && r.replacement != m => {
                m = r.replacement.clone();
            }
            _ => break,
        }
    }
    m
}
