//! Which routings a projection prices: the traffic as logged, the `--move`s together, all traffic
//! on each gateway of fees.toml; each once more with a BYOK subscription when its price is given.

use std::collections::BTreeMap;

use super::whatif::{ByokMode, Move, Projection, Route, Scenario, ScenarioRow, Traffic};
use crate::domain::Money;
use crate::fees::policy::FeeBook;
use crate::pricing::slugs::SlugMap;
use crate::pricing::RateTable;

/// A gateway cannot give away more than all its traffic.
pub(crate) fn check_moves(moves: &[Move]) -> Result<(), String> {
    let mut out: BTreeMap<&str, Money> = BTreeMap::new();
    for m in moves {
        *out.entry(&m.from).or_default() += m.pct;
    }
    if let Some((from, pct)) = out.iter().find(|(_, p)| **p > Money::ONE_HUNDRED) {
        return Err(format!(
            "--move takes {pct} % of {from}'s traffic in all: at most 100 %"
        ));
    }
    Ok(())
}

/// All traffic on each gateway of fees.toml, by policy; and, with a subscription price, on each
/// gateway that charges a BYOK percentage once more with the subscription instead.
pub(crate) fn gateway_scenarios(book: &FeeBook, price: Option<Money>) -> Vec<Scenario> {
    let mut gateways: Vec<String> = book.policies().map(|p| p.provider.clone()).collect();
    gateways.dedup();
    let mut out = Vec::new();
    for g in gateways {
        out.push(Scenario {
            name: format!("all_on_{g}"),
            route: Route::AllOn(g.clone()),
            byok: ByokMode::Policy,
        });
        let charges_pct = book
            .policies()
            .any(|p| p.provider == g && !p.byok.pct.is_zero());
        if let (Some(price), true) = (price, charges_pct) {
            out.push(Scenario {
                name: format!("all_on_{g}_byok_subscription"),
                route: Route::AllOn(g),
                byok: ByokMode::Subscription(price),
            });
        }
    }
    out
}

/// `forecast`'s scenarios: as logged; moved (all `--move`s together); and with `--months` all
/// traffic on each gateway of fees.toml. With a subscription price, each once more with it.
pub(crate) fn forecast_scenarios(
    moves: &[Move],
    price: Option<Money>,
    months: bool,
    book: &FeeBook,
) -> Vec<Scenario> {
    let mut base = vec![Scenario {
        name: "as_logged".into(),
        route: Route::AsLogged,
        byok: ByokMode::Policy,
    }];
    if !moves.is_empty() {
        let name = moves
            .iter()
            .map(|m| format!("{}={}:{}", m.from, m.to, m.pct))
            .collect::<Vec<_>>()
            .join(",");
        base.push(Scenario {
            name: format!("move {name}"),
            route: Route::Moves(moves.to_vec()),
            byok: ByokMode::Policy,
        });
    }
    let mut out = Vec::new();
    for s in base {
        if let Some(price) = price {
            out.push(Scenario {
                name: format!("{} byok_subscription", s.name),
                byok: ByokMode::Subscription(price),
                ..s.clone()
            });
        }
        out.push(s);
    }
    if months {
        out.extend(gateway_scenarios(book, price));
    }
    out
}

/// `fees --months`: the last logged month's traffic wholly on each gateway for `months` months
/// after it, growing by `growth_pct` a month. `None` when the logs hold no billable call.
pub(crate) fn fee_scenarios(
    traffic: &Traffic,
    months: u32,
    growth_pct: Money,
    rates: &RateTable,
    slugs: &SlugMap,
    book: &FeeBook,
    price: Option<Money>,
) -> Option<Vec<ScenarioRow>> {
    let base = traffic.last_month()?;
    let projection = Projection {
        traffic,
        base,
        rates,
        slugs,
        book,
        subscription_price: price,
        scale: Default::default(),
    };
    let mut rows = Vec::new();
    for s in gateway_scenarios(book, price) {
        rows.extend(projection.months_after(&s, months, growth_pct));
    }
    rows.sort_by(|a, b| (a.month, &a.scenario).cmp(&(b.month, &b.scenario)));
    Some(rows)
}
