//! `spendrecon daily`: logs → tokens and exact cost per day × provider × model → daily.csv.

use anyhow::Result;

use crate::aggregate::{self, DailyAggregator};
use crate::cli::DailyArgs;
use crate::context::Context;
use crate::domain::Outcome;
use crate::output::focus::FocusInput;
use crate::output::{summary, tables};

pub(crate) fn run(args: &DailyArgs) -> Result<Outcome> {
    let ctx = Context::new(&args.common, &args.logs)?;
    let rates = ctx.rates()?;
    let (agg, report) = ctx.logs.scan(aggregate::FIELDS, || {
        DailyAggregator::new(rates, ctx.tz, ctx.period)
    })?;
    let daily = agg.finish();

    let table = tables::daily_table(&daily);
    ctx.out.write_main("daily", &table)?;
    ctx.out.write_accounting(Some(&report), &[], &[])?;
    ctx.out.write_xlsx(
        args.book.xlsx.as_deref(),
        &[("Daily", &table)],
        Some(&report),
        &[],
        &[],
    )?;
    ctx.out.write_focus(
        args.focus.focus.as_deref(),
        &FocusInput {
            daily: &daily.rows,
            rates,
            invoices: None,
            fees: &[],
            tz: ctx.tz,
        },
    )?;
    ctx.commit(&[])?;
    summary::daily(&ctx.out, &report, &daily);
    Ok(Outcome::flagged_if(
        !report.rejections.is_empty() || !daily.unpriced().is_empty(),
    ))
}
