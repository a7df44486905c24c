//! `spendrecon forecast`: month-end spend per provider × model → forecast.csv; with `--move` or
//! `--months`, the same traffic under other routings, fees included → whatif.csv.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::aggregate::DailyAggregator;
use crate::cli::{ForecastArgs, Outcome};
use crate::domain::money;
use crate::domain::{Money, Month};
use crate::forecast::run_rate::{self, ForecastRow};
use crate::forecast::whatif::{ByokMode, Projection, Route, Scenario, ScenarioRow, TrafficSink};
use crate::output;
use crate::sources::record::FieldId;

pub fn run(args: &ForecastArgs) -> Result<Outcome> {
    let rates = super::load_rates(&args.common)?;
    let slugs = super::load_slugs(&args.common)?;
    let book = super::load_fees(&args.common)?;
    let period = super::period(&args.logs)?;
    let tz = args.logs.tz;
    check_moves(args)?;
    let fields = crate::aggregate::FIELDS.with(&[FieldId::Byok]);
    let ((agg, traffic), report) = super::scan_logs(&args.logs, fields, || {
        (
            DailyAggregator::new(&rates, tz, period),
            TrafficSink::new(&rates, tz, period),
        )
    })?;
    let daily = agg.finish();
    let traffic = traffic.finish();
    let Some(last) = daily.rows.iter().map(|r| r.day).max() else {
        bail!("the logs hold no call to forecast from");
    };
    let month = args.month.unwrap_or(Month::of(last));
    let rows = run_rate::forecast(&daily, month);
    if rows.is_empty() {
        bail!("the logs hold no call in {month} (they run to {last})");
    }
    super::write_main(&args.common, "forecast", &output::forecast_table(&rows))?;
    super::write_accounting(&args.common, Some(&report), &[], &[])?;

    let whatif = if args.moves.is_empty() && args.months.is_none() {
        Vec::new()
    } else {
        let projection = Projection {
            traffic: &traffic,
            base: month,
            rates: &rates,
            slugs: &slugs,
            book: &book,
            subscription_price: args.byok_subscription,
            scale: rows
                .iter()
                .map(|r| ((r.provider.clone(), r.model.clone()), r.scale))
                .collect(),
        };
        let mut out = Vec::new();
        for s in scenarios(args, &book) {
            out.extend(projection.month(&s, month, Money::ONE));
            if let Some(n) = args.months {
                out.extend(projection.months_after(&s, n, args.growth_pct));
            }
        }
        out.sort_by(|a, b| (a.month, &a.scenario).cmp(&(b.month, &b.scenario)));
        out
    };
    let forecast_table = output::forecast_table(&rows);
    let whatif_table = output::scenarios_table(&whatif);
    if !whatif.is_empty() {
        super::sink(&args.common).write_secondary("whatif.csv", &whatif_table.csv())?;
    }
    let mut sheets = vec![("Forecast", &forecast_table)];
    if !whatif.is_empty() {
        sheets.push(("What-if", &whatif_table));
    }
    super::write_xlsx(args.book.xlsx.as_deref(), &sheets, Some(&report), &[], &[])?;
    if !args.common.quiet {
        print(args, &report, &rows, &whatif);
    }
    let flagged = !report.rejections.is_empty() || rows.iter().any(|r| r.actual_usd.is_none());
    Ok(if flagged {
        Outcome::Flagged
    } else {
        Outcome::Reconciled
    })
}

/// A gateway cannot give away more than all its traffic.
fn check_moves(args: &ForecastArgs) -> Result<()> {
    let mut out: BTreeMap<&str, Money> = BTreeMap::new();
    for m in &args.moves {
        *out.entry(&m.from).or_default() += m.pct;
    }
    if let Some((from, pct)) = out.iter().find(|(_, p)| **p > Money::ONE_HUNDRED) {
        bail!("--move takes {pct} % of {from}'s traffic in all: at most 100 %");
    }
    Ok(())
}

/// As logged; moved (all `--move`s together); and with `--months` all traffic on each gateway of
/// fees.toml. With `--byok-subscription`, each once more with the subscription.
fn scenarios(args: &ForecastArgs, book: &crate::fees::policy::FeeBook) -> Vec<Scenario> {
    let mut base = vec![Scenario {
        name: "as_logged".into(),
        route: Route::AsLogged,
        byok: ByokMode::Policy,
    }];
    if !args.moves.is_empty() {
        let name = args
            .moves
            .iter()
            .map(|m| format!("{}={}:{}", m.from, m.to, m.pct))
            .collect::<Vec<_>>()
            .join(",");
        base.push(Scenario {
            name: format!("move {name}"),
            route: Route::Moves(args.moves.clone()),
            byok: ByokMode::Policy,
        });
    }
    let mut out = Vec::new();
    for s in base {
        if let Some(price) = args.byok_subscription {
            out.push(Scenario {
                name: format!("{} byok_subscription", s.name),
                byok: ByokMode::Subscription(price),
                ..s.clone()
            });
        }
        out.push(s);
    }
    if args.months.is_some() {
        out.extend(super::fees::gateway_scenarios(book, args.byok_subscription));
    }
    out
}

fn print(
    args: &ForecastArgs,
    report: &crate::sources::ScanReport,
    rows: &[ForecastRow],
    whatif: &[ScenarioRow],
) {
    super::print_scan(&args.common, report);
    let mut per: BTreeMap<&str, [Money; 4]> = BTreeMap::new();
    for r in rows {
        let t = per.entry(&r.provider).or_default();
        for (acc, v) in t
            .iter_mut()
            .zip([r.actual_usd, r.low_usd, r.forecast_usd, r.high_usd])
        {
            *acc += v.unwrap_or_default();
        }
    }
    if let Some(r) = rows.first() {
        eprintln!(
            "{}: {} of {} days seen",
            r.month, r.days_seen, r.days_in_month
        );
    }
    for (p, [actual, low, fc, high]) in per {
        eprintln!(
            "{p}: USD {} so far; month end USD {} (range {} to {})",
            money(actual),
            money(fc),
            money(low),
            money(high)
        );
    }
    for r in rows.iter().filter(|r| r.actual_usd.is_none()) {
        eprintln!("UNPRICED: {} {}: not forecast", r.provider, r.model);
    }
    let mut totals: BTreeMap<(&str, Month), Money> = BTreeMap::new();
    for r in whatif {
        *totals.entry((&r.scenario, r.month)).or_default() += r.total_usd();
    }
    let mut by_scenario: BTreeMap<&str, (Money, u32)> = BTreeMap::new();
    for ((s, _), t) in &totals {
        let e = by_scenario.entry(s).or_default();
        e.0 += *t;
        e.1 += 1;
    }
    for (s, (t, n)) in by_scenario {
        eprintln!(
            "whatif {s}: USD {} over {n} month(s), fees included",
            money(t)
        );
    }
    if !whatif.is_empty() && args.common.out.is_none() {
        eprintln!("note: whatif.csv is written with --out DIR");
    }
}
