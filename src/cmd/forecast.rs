//! `spendrecon forecast`: month-end spend per provider × model → forecast.csv; with `--move` or
//! `--months`, the same traffic under other routings, fees included → whatif.csv; with `--by`,
//! each tenant's month and its month end → showback.csv, showback_forecast.csv.

use anyhow::{anyhow, bail, Result};

use crate::aggregate::{self, DailyAggregator};
use crate::cli::ForecastArgs;
use crate::context::Context;
use crate::domain::{Money, Month, Outcome};
use crate::engines::usage;
use crate::forecast::run_rate::{self, MonthSpan};
use crate::forecast::scenarios::{check_moves, forecast_scenarios};
use crate::forecast::whatif::{Projection, TrafficSink};
use crate::output::{summary, tables};
use crate::showback::{self, Grain};
use crate::sources::record::FieldId;

pub(crate) fn run(args: &ForecastArgs) -> Result<Outcome> {
    let mut ctx = Context::new(&args.common, &args.logs)?;
    let by = ctx.group_by(args.showback.by)?;
    let (rates, slugs, book) = (ctx.rates()?, ctx.slugs()?, ctx.fee_book()?);
    let names = ctx.names()?;
    let (tz, period) = (ctx.tz, ctx.period);
    check_moves(&args.moves).map_err(|m| anyhow!(m))?;
    let fields = aggregate::FIELDS.with(&[FieldId::Byok]);
    let fields = by.map_or(fields, |b| b.fields(fields));
    let (daily, traffic, tenants, report, groups) = if !ctx.reads_groups() {
        let (((agg, traffic), tenants), report) = ctx.logs.scan(fields, || {
            (
                (
                    DailyAggregator::new(rates, names, tz, period),
                    TrafficSink::new(rates, names, tz, period),
                ),
                // Each tenant is forecast from its days.
                by.map(|b| showback::sinks(b, Grain::Day, rates, names, tz, period)),
            )
        })?;
        (agg.finish(), traffic.finish(), tenants, report, None)
    } else {
        let (groups, cut, report) = ctx.usage_groups()?;
        let mut traffic = TrafficSink::new(rates, names, tz, period);
        for g in &groups {
            traffic.add_group(g, &cut.thresholds);
        }
        let daily = usage::daily(&groups, &cut, rates, names, tz, period, true);
        let tenants = by.map(|b| showback::sinks(b, Grain::Day, rates, names, tz, period));
        (
            daily,
            traffic.finish(),
            tenants,
            report,
            Some((groups, cut)),
        )
    };
    let showback = ctx.showback(
        tenants,
        &daily,
        args.byok_subscription,
        groups.as_ref().map(|(g, c)| (&g[..], c)),
    )?;
    let Some(last) = daily.rows.iter().map(|r| r.day).max() else {
        bail!("the logs hold no call to forecast from");
    };
    let month = args.month.unwrap_or(Month::of(last));
    let rows = run_rate::forecast(&daily, month);
    if rows.is_empty() {
        bail!("the logs hold no call in {month} (they run to {last})");
    }
    let forecast_table = tables::forecast_table(&rows);
    ctx.out.write_main("forecast", &forecast_table)?;
    ctx.out.write_accounting(Some(&report), &[], &[])?;

    let whatif = if args.moves.is_empty() && args.months.is_none() {
        Vec::new()
    } else {
        let projection = Projection {
            traffic: &traffic,
            base: month,
            rates,
            slugs,
            book,
            subscription_price: args.byok_subscription,
            scale: rows
                .iter()
                .map(|r| ((r.provider.clone(), r.model.clone()), r.scale))
                .collect(),
        };
        let mut out = Vec::new();
        let scenarios = forecast_scenarios(
            &args.moves,
            args.byok_subscription,
            args.months.is_some(),
            book,
        );
        for s in scenarios {
            out.extend(projection.month(&s, month, Money::ONE));
            if let Some(n) = args.months {
                out.extend(projection.months_after(&s, n, args.growth_pct));
            }
        }
        out.sort_by(|a, b| (a.month, &a.scenario).cmp(&(b.month, &b.scenario)));
        out
    };
    let whatif_table = tables::scenarios_table(&whatif);
    let mut sheets = vec![("Forecast", &forecast_table)];
    if !whatif.is_empty() {
        ctx.out.write_secondary("whatif.csv", &whatif_table)?;
        sheets.push(("What-if", &whatif_table));
    }
    // Each tenant's month end, on the days seen and to come of forecast.csv.
    let span = MonthSpan::of(month, daily.rows.iter().map(|r| r.day));
    let showback_tables = showback.as_ref().zip(span).map(|(s, span)| {
        let rows = showback::forecast::forecast(&s.days, &span);
        (
            tables::showback_table(s),
            tables::showback_forecast_table(&rows),
        )
    });
    if let Some((t, f)) = &showback_tables {
        ctx.out.write_secondary("showback.csv", t)?;
        ctx.out.write_secondary("showback_forecast.csv", f)?;
        sheets.push(("Showback", t));
        sheets.push(("Showback forecast", f));
    }
    ctx.out
        .write_xlsx(args.book.xlsx.as_deref(), &sheets, Some(&report), &[], &[])?;
    ctx.commit(&[])?;
    summary::forecast(&ctx.out, &report, &rows, &whatif);
    if let Some(s) = &showback {
        summary::showback(&ctx.out, s);
    }
    Ok(Outcome::flagged_if(
        !report.rejections.is_empty() || rows.iter().any(|r| r.actual_usd.is_none()),
    ))
}
