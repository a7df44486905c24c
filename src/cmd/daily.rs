//! `spendrecon daily`: logs → tokens and exact cost per day × provider × model.

use anyhow::Result;

use crate::aggregate::{self, DailyAggregator};
use crate::cli::{DailyArgs, Outcome};
use crate::output;

pub fn run(args: &DailyArgs) -> Result<Outcome> {
    let rates = super::load_rates(&args.common)?;
    let period = super::period(&args.logs)?;
    let tz = args.logs.tz;
    let (agg, report) = super::scan_logs(&args.logs, aggregate::FIELDS, || {
        DailyAggregator::new(&rates, tz, period)
    })?;
    let daily = agg.finish();
    let table = output::daily_table(&daily);
    super::write_main(&args.common, "daily", &table)?;
    super::write_accounting(&args.common, Some(&report), &[], &[])?;
    super::write_xlsx(
        args.book.xlsx.as_deref(),
        &[("Daily", &table)],
        Some(&report),
        &[],
        &[],
    )?;
    super::write_focus(
        args.focus.focus.as_deref(),
        &output::focus::FocusInput {
            daily: &daily.rows,
            invoices: None,
            fees: &[],
            tz: args.logs.tz,
        },
    )?;
    super::print_summary(&args.common, &report, &daily);
    let flagged = !report.rejections.is_empty() || !daily.unpriced().is_empty();
    Ok(if flagged {
        Outcome::Flagged
    } else {
        Outcome::Reconciled
    })
}
