//! `spendrecon report`: the numbers of `reconcile`, `fees` and `forecast` on one HTML page
//! (`report.html` in `--out`), for readers who will not open CSV files. The invoices are
//! optional: without them the page shows what the logs cost and skips the comparison. With
//! `--by`, the page shows each tenant's cost and `showback.csv` is written beside it.

use anyhow::{bail, Context as _, Result};

use crate::cli::{Format, ReportArgs};
use crate::context::Context;
use crate::domain::{Month, Outcome};
use crate::forecast::run_rate;
use crate::output::{html, report_page, summary, tables};
use crate::showback::Grain;

pub(crate) fn run(args: &ReportArgs) -> Result<Outcome> {
    let Some(dir) = args.common.out.as_ref() else {
        bail!("report writes report.html: give --out DIR");
    };
    if args.common.format != Format::Csv {
        bail!("report writes HTML: --format does not apply");
    }
    let mut ctx = Context::new(&args.common, &args.logs)?;
    let by = ctx.group_by(args.showback.by)?;
    let (r, notes) = ctx.reconciliation(
        &args.invoices,
        &args.matching,
        &args.fees,
        // The page draws each tenant's days.
        by.map(|b| (b, Grain::Day)),
    )?;
    let last = r.daily.rows.iter().map(|d| d.day).max();
    let forecast = last
        .map(|d| run_rate::forecast(&r.daily, Month::of(d)))
        .unwrap_or_default();
    let page = report_page::page(&r, !args.invoices.is_empty(), &forecast);
    let body = html::render(&page).context("drawing the charts")?;
    ctx.out.write_file("report.html", body.as_bytes())?;
    if let Some(s) = &r.showback {
        ctx.out
            .write_secondary("showback.csv", &tables::showback_table(s))?;
    }
    ctx.out
        .write_accounting(Some(&r.report), &r.other_rejections, &r.other_files)?;
    ctx.commit(&[("invoices", &args.invoices), ("topups", &args.fees.topups)])?;
    summary::report(&ctx.out, &notes, &r, &page.flags, &dir.join("report.html"));
    if let Some(s) = &r.showback {
        summary::showback(&ctx.out, s);
    }
    Ok(Outcome::flagged_if(!page.flags.is_empty()))
}
