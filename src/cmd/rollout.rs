//! `spendrecon rollout`: logs → the canary dashboard per day × provider (rollout.csv).

use std::collections::BTreeMap;

use anyhow::Result;
use rust_decimal::RoundingStrategy;

use crate::cli::{Outcome, RolloutArgs};
use crate::domain::Money;
use crate::insight::rollout::{self, RolloutSink};

pub fn run(args: &RolloutArgs) -> Result<Outcome> {
    let rates = super::load_rates(&args.common)?;
    let period = super::period(&args.logs)?;
    let tz = args.logs.tz;
    let (sink, report) = super::scan_logs(&args.logs, rollout::FIELDS, || {
        RolloutSink::new(&rates, tz, period)
    })?;
    let dash = sink.finish();
    super::write_main(&args.common, "rollout", &rollout::table(&dash))?;
    super::write_accounting(&args.common, Some(&report), &[], &[])?;
    if !args.common.quiet {
        super::print_scan(&args.common, &report);
        // Per provider over the whole period: calls, share, errors.
        let mut per: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for r in &dash.rows {
            let e = per.entry(&r.provider).or_default();
            e.0 += r.calls;
            e.1 += r.errors;
        }
        let all: u64 = per.values().map(|v| v.0).sum();
        let pct = |a: u64, b: u64| {
            let mut p = (Money::from(a) * Money::ONE_HUNDRED / Money::from(b))
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            p.rescale(2);
            p
        };
        for (p, (calls, errors)) in &per {
            eprintln!(
                "{p}: {calls} calls ({} % of all), {errors} errors ({} %)",
                pct(*calls, all),
                pct(*errors, *calls)
            );
        }
        let days = dash
            .rows
            .iter()
            .map(|r| r.day)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        eprintln!(
            "total: {all} user calls on {days} days, {} shadow calls left out, USD {} priced",
            dash.shadow_calls,
            crate::domain::money(dash.priced_total())
        );
        for ((p, m), (calls, toks)) in &dash.unpriced {
            eprintln!("UNPRICED: {p} {m}: {calls} calls, {toks} tokens have no rate (cost columns left empty in rollout.csv)");
        }
    }
    let flagged = !report.rejections.is_empty() || !dash.unpriced.is_empty();
    Ok(if flagged {
        Outcome::Flagged
    } else {
        Outcome::Reconciled
    })
}
