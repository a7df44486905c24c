//! `spendrecon fees`: top-up surcharges, BYOK fees and subscriptions per month → fees.csv,
//! topups.csv; with `--months`, all traffic on each gateway → scenarios.csv.

use anyhow::{anyhow, bail, Result};

use crate::aggregate::DailyAggregator;
use crate::cli::FeesArgs;
use crate::context::Context;
use crate::domain::Outcome;
use crate::engines::usage;
use crate::fees::byok::{months_from_groups, ByokSink};
use crate::fees::{self, FeeInputs};
use crate::forecast::scenarios::fee_scenarios;
use crate::forecast::whatif::TrafficSink;
use crate::output::{summary, tables};
use crate::sources::topups;

pub(crate) fn run(args: &FeesArgs) -> Result<Outcome> {
    let no_traffic = args.logs.paths.is_empty() && args.logs.usage.is_empty();
    if no_traffic && args.fees.topups.is_empty() {
        bail!("give --topups (the top-up ledger), --logs or --usage (for BYOK fees), or both");
    }
    if args.months.is_some() && (no_traffic || args.common.out.is_none()) {
        bail!("--months needs --logs or --usage (the traffic) and --out (it writes scenarios.csv)");
    }
    let ctx = Context::new(&args.common, &args.logs)?;
    let (rates, names) = (ctx.rates()?, ctx.names()?);
    let mut book = ctx.fee_book()?.clone();
    let notes =
        fees::apply_subscription(&mut book, args.fees.byok_subscription).map_err(|m| anyhow!(m))?;
    let (tz, period) = (ctx.tz, ctx.period);
    let ledger = topups::read_ledger(
        &args.fees.topups,
        args.sheet.as_deref(),
        tz,
        ctx.logs.strict,
        period,
    )?;
    let mut traffic_seen = None;
    let mut byok_months = None;
    let scanned = if ctx.reads_groups() {
        let (groups, cut, report) = ctx.usage_groups()?;
        let daily = usage::daily(&groups, &cut, rates, names, tz, period, true);
        if args.months.is_some() {
            let mut traffic = TrafficSink::new(rates, names, tz, period);
            for g in &groups {
                traffic.add_group(g, &cut.thresholds);
            }
            traffic_seen = Some(traffic.finish());
        }
        byok_months = Some(
            months_from_groups(&groups, &cut.thresholds, &book, rates, names)
                .map_err(|m| anyhow!(m))?,
        );
        Some((daily, None, report))
    } else if ctx.logs.is_empty() {
        None
    } else {
        // The BYOK tally sees every call, even those outside `--from`/`--to`: a month's
        // allowance counts them all.
        let (((daily, traffic), byok), report) = ctx.logs.scan(fees::FIELDS, || {
            (
                (
                    DailyAggregator::new(rates, names, tz, period),
                    args.months
                        .map(|_| TrafficSink::new(rates, names, tz, period)),
                ),
                ByokSink::new(rates, names),
            )
        })?;
        traffic_seen = traffic.map(TrafficSink::finish);
        Some((daily.finish(), Some(byok.finish()), report))
    };
    let daily = scanned.as_ref().map(|s| &s.0);
    let report = fees::fee_report(&FeeInputs {
        book: &book,
        tz,
        period,
        daily,
        tally: scanned.as_ref().and_then(|s| s.1.as_ref()),
        byok_months: byok_months.as_deref(),
        purchases: &ledger.purchases,
        subscription_price: args.fees.byok_subscription,
        tolerance: args.tolerance_usd,
    })?;
    let scenarios = match (&traffic_seen, args.months) {
        (Some(traffic), Some(n)) => {
            let slugs = ctx.slugs()?;
            // The policies as written: the subscription is a scenario of its own here.
            let book = ctx.fee_book()?;
            let price = args.fees.byok_subscription;
            fee_scenarios(traffic, n, args.growth_pct, rates, slugs, book, price)
                .ok_or_else(|| anyhow!("--months: the logs hold no billable call to project"))?
        }
        _ => Vec::new(),
    };

    let fees_table = tables::fees_table(&report.rows);
    let topups_table = tables::topups_table(&report.checks);
    let scenarios_table = tables::scenarios_table(&scenarios);
    ctx.out.write_main("fees", &fees_table)?;
    let mut sheets = vec![("Fees", &fees_table)];
    if !args.fees.topups.is_empty() {
        ctx.out.write_secondary("topups.csv", &topups_table)?;
        sheets.push(("Top-ups", &topups_table));
    }
    if traffic_seen.is_some() && args.months.is_some() {
        ctx.out.write_secondary("scenarios.csv", &scenarios_table)?;
        sheets.push(("Scenarios", &scenarios_table));
    }
    let scan = scanned.as_ref().map(|s| &s.2);
    ctx.out
        .write_accounting(scan, &ledger.rejections, &ledger.files)?;
    ctx.out.write_xlsx(
        args.book.xlsx.as_deref(),
        &sheets,
        scan,
        &ledger.rejections,
        &ledger.files,
    )?;

    ctx.commit(&[("topups", &args.fees.topups)])?;
    summary::notes(&ctx.out, &notes);
    if let Some((daily, _, scan)) = &scanned {
        summary::daily(&ctx.out, scan, daily);
    }
    summary::ledger_files(&ctx.out, &ledger.files);
    summary::rejections(&ctx.out, &ledger.rejections);
    summary::effective(&ctx.out, daily, &report);
    summary::fee_scenarios(&ctx.out, &scenarios);
    let log_rejected = scan.is_some_and(|s| !s.rejections.is_empty());
    Ok(Outcome::flagged_if(
        report.flagged() || log_rejected || !ledger.rejections.is_empty(),
    ))
}
