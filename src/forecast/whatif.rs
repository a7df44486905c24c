//! What the same traffic costs under other routings, fees included, month by month: "what does a
//! year cost on each gateway", "what if a quarter of OpenRouter's traffic moved to OminiGate",
//! percentage against subscription for BYOK.
//!
//! The base is one month of logged traffic (2xx calls per model, BYOK apart, token sums per
//! price tier), optionally scaled per model to a whole month by the forecast. A scenario routes
//! each logged gateway's traffic (as logged, all to one gateway, or shares moved); traffic that
//! changes gateway is mapped to that gateway's slug (`rates/slugs.csv`; a slug retired by the month
//! priced goes to its replacement). Everything is priced at the receiving gateway's rates on the
//! month's first day; calls keep the price tier they had as logged. Fees follow the receiving
//! gateway's policy on that day:
//! - top-ups: its non-BYOK usage is bought as one card top-up in the month;
//! - BYOK: the percentage on the calls past the allowance, each taken at the month's average BYOK
//!   call cost (an allowance in list USD: on the list cost past it);
//! - subscription: its price, and in a subscription scenario instead of the percentage.

use std::collections::BTreeMap;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::RoundingStrategy;
use rustc_hash::FxHashMap;

use crate::aggregate::Names;
use crate::domain::{Call, Day, DayCutter, Money, Month, Period, Tier, TokenSums, UsageGroup};
use crate::fees::policy::{AllowanceUnit, FeeBook, SubscriptionPrice};
use crate::pricing::aliases::ModelNames;
use crate::pricing::slugs::SlugMap;
use crate::pricing::{self, RateTable};
use crate::sources::{CallSink, Disposition};

#[derive(Debug, Clone, Default)]
struct Group {
    calls: u64,
    tokens: TokenSums,
}

/// 2xx traffic per model × month × BYOK × tier.
pub(crate) struct TrafficSink<'r> {
    rates: &'r RateTable,
    cutter: DayCutter,
    period: Period,
    names: Names<'r>,
    rates_seen: FxHashMap<(u32, Day), Option<usize>>,
    groups: FxHashMap<(u32, Month, bool, Tier), Group>,
}

impl<'r> TrafficSink<'r> {
    pub(crate) fn new(
        rates: &'r RateTable,
        names: &'r ModelNames,
        tz: Option<chrono_tz::Tz>,
        period: Period,
    ) -> Self {
        TrafficSink {
            rates,
            cutter: DayCutter::new(tz),
            period,
            names: Names::new(names),
            rates_seen: FxHashMap::default(),
            groups: FxHashMap::default(),
        }
    }

    /// Adds a usage group's billable calls (docs/engines.md), as if read one by one.
    pub(crate) fn add_group(&mut self, u: &UsageGroup, thresholds: &[u64]) {
        if u.calls == 0 || !self.period.contains(u.day) {
            return;
        }
        let id = self.names.id(&u.provider, &u.model);
        let (rates, names) = (self.rates, &self.names);
        let rate = *self.rates_seen.entry((id, u.utc_day)).or_insert_with(|| {
            let (provider, model) = names.get(id);
            rates.lookup(provider, model, u.utc_day)
        });
        let tier = crate::aggregate::group_tier(rates, rate, u.band, thresholds);
        let g = self
            .groups
            .entry((id, Month::of(u.day), u.byok, tier))
            .or_default();
        g.calls += u.calls;
        g.tokens.merge(&u.sums());
    }

    /// Groups sorted by month, provider, model, BYOK, tier: one per slug, whatever the
    /// spellings its calls were written in.
    pub(crate) fn finish(self) -> Traffic {
        let mut merged: BTreeMap<(Month, &str, &str, bool, Tier), Group> = BTreeMap::new();
        for ((id, month, byok, tier), g) in &self.groups {
            let (p, m) = self.names.get(*id);
            let e = merged.entry((*month, p, m, *byok, *tier)).or_default();
            e.calls += g.calls;
            e.tokens.merge(&g.tokens);
        }
        let groups = merged
            .into_iter()
            .map(|((month, p, m, byok, tier), g)| TrafficGroup {
                month,
                provider: p.to_string(),
                model: m.to_string(),
                byok,
                tier,
                calls: g.calls,
                tokens: g.tokens,
            })
            .collect();
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
            let (rates, names) = (self.rates, &self.names);
            let rate = *self.rates_seen.entry((id, utc)).or_insert_with(|| {
                let (provider, model) = names.get(id);
                rates.lookup(provider, model, utc)
            });
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
            let (p, m) = other.names.written(id);
            let mine = self.names.id(p, m);
            let e = self.groups.entry((mine, month, byok, tier)).or_default();
            e.calls += g.calls;
            e.tokens.merge(&g.tokens);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrafficGroup {
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
pub(crate) struct Traffic {
    pub groups: Vec<TrafficGroup>,
}

impl Traffic {
    /// The last month with traffic.
    pub(crate) fn last_month(&self) -> Option<Month> {
        self.groups.iter().map(|g| g.month).max()
    }
}

/// One row of the scenario table (`whatif.csv`'s columns, docs/formats.md §6).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ScenarioRow {
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
    pub(crate) fn total_usd(&self) -> Money {
        self.usage_usd + self.topup_fee_usd + self.byok_fee_usd + self.subscription_usd
    }
}

/// How a scenario charges BYOK.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ByokMode {
    /// As the gateway's policy says.
    Policy,
    /// A fixed monthly subscription instead of any percentage, on gateways whose policy
    /// charges one.
    Subscription(Money),
}

/// A share of one gateway's traffic sent to another (`--move openrouter=ominigate:25`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Move {
    pub from: String,
    pub to: String,
    /// Percent of `from`'s traffic, 0..=100.
    pub pct: Money,
}

impl std::str::FromStr for Move {
    type Err = String;

    /// `FROM=TO:PCT`.
    fn from_str(s: &str) -> Result<Move, String> {
        let bad = || format!("`{s}` is not FROM=TO:PCT (e.g. openrouter=ominigate:25)");
        let (from, rest) = s.split_once('=').ok_or_else(bad)?;
        let (to, pct) = rest.rsplit_once(':').ok_or_else(bad)?;
        let pct = Money::from_str_exact(pct.trim().trim_end_matches('%')).map_err(|_| bad())?;
        let (from, to) = (
            from.trim().to_ascii_lowercase(),
            to.trim().to_ascii_lowercase(),
        );
        if from.is_empty() || to.is_empty() || from == to {
            return Err(bad());
        }
        if pct.is_sign_negative() || pct > Money::ONE_HUNDRED {
            return Err(format!("`{s}`: the share must be between 0 and 100 %"));
        }
        Ok(Move { from, to, pct })
    }
}

/// Where the traffic goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Route {
    AsLogged,
    AllOn(String),
    Moves(Vec<Move>),
}

impl Route {
    /// The gateways a logged provider's traffic goes to, with their shares (summing to 1).
    fn split(&self, provider: &str) -> Vec<(String, Money)> {
        match self {
            Route::AsLogged => vec![(provider.to_string(), Money::ONE)],
            Route::AllOn(g) => vec![(g.clone(), Money::ONE)],
            Route::Moves(moves) => {
                let mut out = Vec::new();
                let mut kept = Money::ONE;
                for m in moves.iter().filter(|m| m.from == provider) {
                    let share = m.pct / Money::ONE_HUNDRED;
                    kept -= share;
                    out.push((m.to.clone(), share));
                }
                if kept > Money::ZERO {
                    out.push((provider.to_string(), kept));
                }
                out
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scenario {
    pub name: String,
    pub route: Route,
    pub byok: ByokMode,
}

/// A base month of traffic, priced and charged under scenarios in later (or the same) months.
pub(crate) struct Projection<'a> {
    pub traffic: &'a Traffic,
    pub base: Month,
    pub rates: &'a RateTable,
    pub slugs: &'a SlugMap,
    pub book: &'a FeeBook,
    /// Fills fee policies whose subscription price is left to the command line.
    pub subscription_price: Option<Money>,
    /// Per logged provider × model: how the base month's traffic scales to a whole month (the
    /// forecast over the actual); 1 when absent.
    pub scale: BTreeMap<(String, String), Money>,
}

/// What one gateway receives in a scenario month.
#[derive(Default)]
struct Load {
    usage: Money,
    byok_usage: Money,
    byok_calls: Money,
    calls: Money,
    unpriced: Money,
}

impl Projection<'_> {
    /// The base traffic × `factor` in `month`, routed and charged as `scenario` says: one row per
    /// gateway that receives traffic, by gateway name.
    pub(crate) fn month(
        &self,
        scenario: &Scenario,
        month: Month,
        factor: Money,
    ) -> Vec<ScenarioRow> {
        let first = month.first_day();
        let mut loads: BTreeMap<String, Load> = BTreeMap::new();
        let mut priced: BTreeMap<(String, String, String), Option<usize>> = BTreeMap::new();
        for g in self.traffic.groups.iter().filter(|g| g.month == self.base) {
            let scale = self
                .scale
                .get(&(g.provider.clone(), g.model.clone()))
                .copied()
                .unwrap_or(Money::ONE)
                * factor;
            for (gw, share) in scenario.route.split(&g.provider) {
                let rate = *priced
                    .entry((gw.clone(), g.provider.clone(), g.model.clone()))
                    .or_insert_with(|| {
                        let model = if gw == g.provider {
                            g.model.clone()
                        } else {
                            target_slug(self.slugs, &g.provider, &g.model, &gw, first)
                        };
                        self.rates.lookup(&gw, &model, first)
                    });
                let k = share * scale;
                let load = loads.entry(gw).or_default();
                let calls = Money::from(g.calls) * k;
                load.calls += calls;
                if g.byok {
                    load.byok_calls += calls;
                }
                match rate {
                    Some(r) => {
                        let c = pricing::cost(self.rates.get(r), g.tier, &g.tokens) * k;
                        if g.byok {
                            load.byok_usage += c;
                        } else {
                            load.usage += c;
                        }
                    }
                    None => load.unpriced += calls,
                }
            }
        }
        let cents = |m: Money| m.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        let whole = |m: Money| m.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        loads
            .into_iter()
            .map(|(gw, l)| {
                let (topup, byok_fee, subscription) = self.fees(&gw, first, &l, scenario.byok);
                ScenarioRow {
                    month,
                    scenario: scenario.name.clone(),
                    provider: gw,
                    usage_usd: cents(l.usage + l.byok_usage),
                    topup_fee_usd: cents(topup),
                    byok_fee_usd: cents(byok_fee),
                    subscription_usd: cents(subscription),
                    calls: whole(l.calls).to_u64().unwrap_or(0),
                    unpriced_calls: whole(l.unpriced).to_u64().unwrap_or(0),
                }
            })
            .collect()
    }

    /// (top-up fee, BYOK fee, subscription) of a gateway's month, by its policy on `day`.
    fn fees(&self, gateway: &str, day: Day, l: &Load, mode: ByokMode) -> (Money, Money, Money) {
        let Some(p) = self.book.on(gateway, day) else {
            return (Money::ZERO, Money::ZERO, Money::ZERO);
        };
        let topup = p.card.on(l.usage);
        let f = p.byok;
        if let ByokMode::Subscription(price) = mode {
            if !f.pct.is_zero() || f.subscription.is_some() {
                return (topup, Money::ZERO, price);
            }
        }
        let basis = match f.unit {
            None => l.byok_usage,
            Some(AllowanceUnit::ListUsd) => (l.byok_usage - f.allowance).max(Money::ZERO),
            Some(AllowanceUnit::Requests) if l.byok_calls > f.allowance => {
                l.byok_usage * (l.byok_calls - f.allowance) / l.byok_calls
            }
            Some(AllowanceUnit::Requests) => Money::ZERO,
        };
        let sub = match f.subscription {
            Some(SubscriptionPrice::Usd(m)) => m,
            Some(SubscriptionPrice::FromCommandLine) => self.subscription_price.unwrap_or_default(),
            None => Money::ZERO,
        };
        (topup, basis * f.pct / Money::ONE_HUNDRED, sub)
    }

    /// `scenario` over `months` months after the base, traffic growing by `growth_pct` % a
    /// month (compounded): month k carries the base × (1 + growth)^k.
    pub(crate) fn months_after(
        &self,
        scenario: &Scenario,
        months: u32,
        growth_pct: Money,
    ) -> Vec<ScenarioRow> {
        let growth = Money::ONE + growth_pct / Money::ONE_HUNDRED;
        let (mut month, mut factor) = (self.base, Money::ONE);
        let mut out = Vec::new();
        for _ in 0..months {
            month = month.next();
            factor *= growth;
            out.extend(self.month(scenario, month, factor));
        }
        out
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn moves_parse_and_split_traffic() {
        let m: Move = "OpenRouter=ominigate:25".parse().unwrap();
        assert_eq!(
            (m.from.as_str(), m.to.as_str(), m.pct),
            ("openrouter", "ominigate", dec!(25))
        );
        assert!("openrouter=ominigate".parse::<Move>().is_err());
        assert!("openrouter=openrouter:5".parse::<Move>().is_err());
        assert!("openrouter=ominigate:101".parse::<Move>().is_err());
        let r = Route::Moves(vec![m, "openrouter=acme:75".parse().unwrap()]);
        assert_eq!(
            r.split("openrouter"),
            vec![
                ("ominigate".into(), dec!(0.25)),
                ("acme".into(), dec!(0.75))
            ],
            "all moved: nothing kept"
        );
        assert_eq!(r.split("ominigate"), vec![("ominigate".into(), Money::ONE)]);
    }
}
