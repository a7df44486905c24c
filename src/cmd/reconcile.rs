//! `spendrecon reconcile`: logs and invoices → recon.csv, findings.csv, daily.csv, summary.csv,
//! disputes.csv and evidence/, rejected.csv, files.csv; fees.csv and topups.csv with fees or a ledger; showback.csv with
//! `--by`.

use anyhow::Result;

use crate::cli::ReconcileArgs;
use crate::context::Context;
use crate::domain::Outcome;
use crate::output::focus::{FocusInput, FocusTenants};
use crate::output::{summary, tables};
use crate::showback::Grain;

pub(crate) fn run(args: &ReconcileArgs) -> Result<Outcome> {
    let mut ctx = Context::new(&args.common, &args.logs)?;
    let by = ctx.group_by(args.showback.by)?;
    let (r, notes) = ctx.reconciliation(
        &args.invoices,
        &args.matching,
        &args.fees,
        // Per month for showback.csv; per day when the FOCUS rows are split per tenant.
        by.map(|b| match args.focus.focus {
            Some(_) => (b, Grain::Day),
            None => (b, Grain::Month),
        }),
    )?;

    let recon_table = tables::recon_table(&r.rows);
    let findings_table = tables::findings_table(&r.findings);
    let summary_table = tables::summary_table(&r.summary, &r.effective);
    let daily_table = tables::daily_table(&r.daily);
    let fees_table = tables::fees_table(&r.fee_report.rows);
    let topups_table = tables::topups_table(&r.fee_report.checks);
    let disputes_table = tables::disputes_table(&r.disputes);
    let claims_table = tables::claims_table(&r.disputes);
    ctx.out.write_main("recon", &recon_table)?;
    ctx.out.write_secondary("findings.csv", &findings_table)?;
    ctx.out.write_secondary("daily.csv", &daily_table)?;
    ctx.out.write_secondary("summary.csv", &summary_table)?;
    // disputes.csv always (a header alone: nothing to claim); one evidence file per row, its
    // name built from safe parts only (docs/formats.md §11).
    ctx.out.write_secondary("disputes.csv", &disputes_table)?;
    // evidence/ holds this run's claims only: a previous run's files there are removed.
    ctx.out.own_dir("evidence");
    for d in &r.disputes {
        ctx.out
            .write_secondary(&d.evidence, &tables::evidence_table(d))?;
    }
    let mut sheets = vec![
        ("Summary", &summary_table),
        ("Reconciliation", &recon_table),
        ("Findings", &findings_table),
        ("Daily", &daily_table),
        ("Disputes", &disputes_table),
        ("Claims", &claims_table),
    ];
    let ledger = !args.fees.topups.is_empty();
    if ledger || !r.fee_report.rows.is_empty() {
        ctx.out.write_secondary("fees.csv", &fees_table)?;
        sheets.push(("Fees", &fees_table));
    }
    if ledger {
        ctx.out.write_secondary("topups.csv", &topups_table)?;
        sheets.push(("Top-ups", &topups_table));
    }
    let showback_table = r.showback.as_ref().map(tables::showback_table);
    if let Some(t) = &showback_table {
        ctx.out.write_secondary("showback.csv", t)?;
        sheets.push(("Showback", t));
    }
    // rejected.csv and files.csv: the logs, then the invoices, then the ledger.
    ctx.out
        .write_accounting(Some(&r.report), &r.other_rejections, &r.other_files)?;
    ctx.out.write_xlsx(
        args.book.xlsx.as_deref(),
        &sheets,
        Some(&r.report),
        &r.other_rejections,
        &r.other_files,
    )?;
    ctx.out.write_focus(
        args.focus.focus.as_deref(),
        &FocusInput {
            daily: &r.daily.rows,
            rates: ctx.rates()?,
            invoices: Some(&r.invoice_lines),
            fees: &r.fee_report.rows,
            tz: ctx.tz,
            tenants: r.showback.as_ref().and_then(|s| FocusTenants::of(s, true)),
        },
    )?;
    ctx.commit(&[("invoices", &args.invoices), ("topups", &args.fees.topups)])?;
    summary::reconciliation(&ctx.out, &notes, &r);
    if let Some(s) = &r.showback {
        summary::showback(&ctx.out, s);
    }
    Ok(Outcome::flagged_if(r.flagged()))
}
