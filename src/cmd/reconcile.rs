//! `spendrecon reconcile`: logs and invoices → recon.csv, findings.csv, daily.csv, summary.csv,
//! rejected.csv.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::fees::{Effective, FeeReport, WithByok};
use crate::aggregate::{Daily, DailyAggregator};
use crate::cli::{CommonArgs, FeeArgs, LogArgs, Outcome, ReconcileArgs};
use crate::domain::Day;
use crate::domain::{money, Status, Tolerance};
use crate::fees::byok::ByokSink;
use crate::output;
use crate::reconcile::findings::{Finding, FindingsSink, SeenIds};
use crate::reconcile::{self, ProviderSummary, ReconRow};
use crate::sources::invoices;
use crate::sources::record::{FieldId, FieldSet};
use crate::sources::{CallSink, Disposition, FileStats, Rejection, ScanReport};

/// Daily aggregation and log findings in one pass.
struct Both<'r> {
    daily: DailyAggregator<'r>,
    findings: FindingsSink<'r>,
}

impl CallSink for Both<'_> {
    fn accept(&mut self, call: &crate::domain::Call<'_>) -> Disposition {
        match self.daily.accept(call) {
            Disposition::Used => self.findings.accept(call),
            d => d,
        }
    }

    fn merge(&mut self, other: Self) {
        self.daily.merge(other.daily);
        self.findings.merge(other.findings);
    }
}

/// Daily aggregation's fields and what the findings and the BYOK tally read.
const FIELDS: FieldSet = {
    use FieldId::*;
    super::fees::FIELDS.with(&[TotalTokens, RequestId, ResponseModel, Cost, Byok])
};

/// What `reconcile` reads and how strictly it compares: its own options, or `report`'s (where
/// invoices are optional).
pub struct Inputs<'a> {
    pub logs: &'a LogArgs,
    pub invoices: &'a [PathBuf],
    pub sheet: Option<&'a str>,
    pub tolerance: Tolerance,
    pub fees: &'a FeeArgs,
    pub common: &'a CommonArgs,
}

/// Everything `reconcile` computes before writing, so `report` draws the same numbers the CSV
/// files hold.
pub struct Reconciliation {
    pub daily: Daily,
    pub rows: Vec<ReconRow>,
    pub findings: Vec<Finding>,
    pub summary: Vec<ProviderSummary>,
    pub effective: BTreeMap<String, Effective>,
    pub fee_report: FeeReport,
    pub fee_notes: Vec<String>,
    pub report: ScanReport,
    /// Rejected rows of the invoices, then of the ledger.
    pub other_rejections: Vec<Rejection>,
    /// The invoice files, then the ledger files.
    pub other_files: Vec<FileStats>,
    /// How many of `other_files` are invoices.
    pub invoice_files: usize,
    /// The invoices' daily lines (for `--focus`).
    pub invoice_lines: Vec<invoices::InvoiceLine>,
}

impl Reconciliation {
    /// Exit status 1: a row not `ok`/`drift`, a finding, a rejected row or a flagged fee.
    pub fn flagged(&self) -> bool {
        self.rows.iter().any(|r| !r.status.reconciled())
            || !self.findings.is_empty()
            || !self.report.rejections.is_empty()
            || !self.other_rejections.is_empty()
            || self.fee_report.flagged()
    }
}

pub fn compute(i: &Inputs<'_>) -> Result<Reconciliation> {
    let rates = super::load_rates(i.common)?;
    let slugs = super::load_slugs(i.common)?;
    let period = super::period(i.logs)?;
    let tz = i.logs.tz;
    let tol = i.tolerance;
    let (book, fee_notes) = super::fees::load_book(i.common, i.fees)?;
    // `reconcile` requires invoices (clap says so); `report` may have none: nothing to match.
    let inv = if i.invoices.is_empty() {
        invoices::InvoiceRead::default()
    } else {
        invoices::read_invoices(i.invoices, i.sheet, tz, &slugs)?
    };
    if i.logs.strict {
        if let Some(r) = inv.rejections.first() {
            anyhow::bail!("{r} (--strict stops at the first rejected row)");
        }
    }
    let ledger = super::fees::read_ledger(i.fees, i.sheet, i.logs, period)?;
    let ids = SeenIds::default();
    let (with, report) = super::scan_logs(i.logs, FIELDS, || WithByok {
        inner: Both {
            daily: DailyAggregator::new(&rates, tz, period),
            findings: FindingsSink::new(&rates, &ids, tz, period),
        },
        byok: ByokSink::new(&rates),
    })?;
    let both = with.inner;
    let tally = with.byok.finish();
    let daily = both.daily.finish();
    let fee_report = super::fees::fee_report(
        &book,
        i.fees,
        Some(i.logs),
        &rates,
        period,
        Some(&daily),
        Some(&tally),
        &ledger,
        tol.usd,
    )?;
    let effective = super::fees::effective(&daily, &fee_report);
    let rows = reconcile::reconcile(&daily, &inv.lines, &slugs, &tol, period);

    // Days with no log record at all, over the period the run covers.
    let days = daily
        .rows
        .iter()
        .map(|r| r.day)
        .chain(inv.lines.iter().map(|l| l.day));
    let span = match (period.from, period.to) {
        (Some(f), Some(t)) => Some((f, t)),
        (f, t) => {
            let v: Vec<Day> = days.collect();
            v.iter()
                .min()
                .zip(v.iter().max())
                .map(|(a, b)| (f.unwrap_or(*a), t.unwrap_or(*b)))
        }
    };
    let findings = both.findings.finish(tol.usd, span);
    let summary = reconcile::summarize(&rows);
    let other_rejections: Vec<_> = inv
        .rejections
        .iter()
        .chain(&ledger.rejections)
        .cloned()
        .collect();
    let other_files: Vec<_> = inv.files.iter().chain(&ledger.files).cloned().collect();
    Ok(Reconciliation {
        invoice_files: inv.files.len(),
        invoice_lines: inv.lines,
        daily,
        rows,
        findings,
        summary,
        effective,
        fee_report,
        fee_notes,
        report,
        other_rejections,
        other_files,
    })
}

pub fn run(args: &ReconcileArgs) -> Result<Outcome> {
    let r = compute(&Inputs {
        logs: &args.logs,
        invoices: &args.invoices,
        sheet: args.matching.sheet.as_deref(),
        tolerance: args.matching.tolerance(),
        fees: &args.fees,
        common: &args.common,
    })?;
    let Reconciliation {
        daily,
        rows,
        findings,
        summary,
        effective,
        fee_report,
        fee_notes,
        report,
        other_rejections,
        other_files,
        ..
    } = &r;

    let recon_table = output::Table {
        header: vec![
            "day",
            "provider",
            "model",
            "log_requests",
            "log_prompt_tokens",
            "log_completion_tokens",
            "invoice_prompt_tokens",
            "invoice_completion_tokens",
            "delta_tokens",
            "delta_pct",
            "expected_usd",
            "invoiced_usd",
            "delta_usd",
            "status",
            "note",
        ],
        rows: rows
            .iter()
            .map(|r| {
                let opt = |v: Option<u128>| v.map(|n| n.to_string()).unwrap_or_default();
                vec![
                    r.day.to_string(),
                    r.provider.clone(),
                    r.model.clone(),
                    r.log_requests.map(|n| n.to_string()).unwrap_or_default(),
                    opt(r.log_prompt_tokens),
                    opt(r.log_completion_tokens),
                    opt(r.invoice_prompt_tokens),
                    opt(r.invoice_completion_tokens),
                    r.delta_tokens.map(|n| n.to_string()).unwrap_or_default(),
                    r.delta_pct.map(money).unwrap_or_default(),
                    r.expected_usd.map(money).unwrap_or_default(),
                    r.invoiced_usd.map(money).unwrap_or_default(),
                    r.delta_usd.map(money).unwrap_or_default(),
                    r.status.as_str().to_string(),
                    r.note.clone(),
                ]
            })
            .collect(),
    };
    let findings_table = output::Table {
        header: vec!["kind", "day", "provider", "model", "count", "detail"],
        rows: findings
            .iter()
            .map(|f| {
                vec![
                    f.kind.to_string(),
                    f.day.map(|d| d.to_string()).unwrap_or_default(),
                    f.provider.clone(),
                    f.model.clone(),
                    f.count.to_string(),
                    f.detail.clone(),
                ]
            })
            .collect(),
    };
    let mut summary_header = vec![
        "provider",
        "logged_usd",
        "invoiced_usd",
        "difference_usd",
        "rows",
    ];
    summary_header.extend(Status::ALL.iter().map(|s| s.as_str()));
    summary_header.extend([
        "topup_fee_usd",
        "byok_fee_usd",
        "subscription_usd",
        "effective_usd",
        "tokens",
        "effective_usd_per_mtok",
    ]);
    let summary_table = output::Table {
        header: summary_header,
        rows: summary
            .iter()
            .map(|s| {
                let mut v = vec![
                    s.provider.clone(),
                    money(s.logged_usd),
                    money(s.invoiced_usd),
                    money(s.invoiced_usd - s.logged_usd),
                    s.rows.values().sum::<u64>().to_string(),
                ];
                v.extend(
                    Status::ALL
                        .iter()
                        .map(|st| s.rows.get(st.as_str()).copied().unwrap_or(0).to_string()),
                );
                let e = effective.get(&s.provider).cloned().unwrap_or_default();
                v.extend([
                    money(e.fees.topup_usd),
                    money(e.fees.byok_usd),
                    money(e.fees.subscription_usd),
                    money(e.total()),
                    e.tokens.to_string(),
                    e.per_mtok()
                        .map(|m| money(m.round_dp(6)))
                        .unwrap_or_default(),
                ]);
                v
            })
            .collect(),
    };

    super::write_main(&args.common, "recon", &recon_table)?;
    let sink = super::sink(&args.common);
    let daily_table = output::daily_table(daily);
    let fees_table = output::fees_table(&fee_report.rows);
    let topups_table = output::topups_table(&fee_report.checks);
    sink.write_secondary("findings.csv", &findings_table.csv())
        .context("writing findings.csv")?;
    sink.write_secondary("daily.csv", &daily_table.csv())
        .context("writing daily.csv")?;
    sink.write_secondary("summary.csv", &summary_table.csv())
        .context("writing summary.csv")?;
    let mut sheets = vec![
        ("Summary", &summary_table),
        ("Reconciliation", &recon_table),
        ("Findings", &findings_table),
        ("Daily", &daily_table),
    ];
    if !args.fees.topups.is_empty() || !fee_report.rows.is_empty() {
        sink.write_secondary("fees.csv", &fees_table.csv())
            .context("writing fees.csv")?;
        sheets.push(("Fees", &fees_table));
    }
    if !args.fees.topups.is_empty() {
        sink.write_secondary("topups.csv", &topups_table.csv())
            .context("writing topups.csv")?;
        sheets.push(("Top-ups", &topups_table));
    }
    // rejected.csv and files.csv: the logs, then the invoices, then the ledger.
    super::write_accounting(&args.common, Some(report), other_rejections, other_files)?;
    super::write_xlsx(
        args.book.xlsx.as_deref(),
        &sheets,
        Some(report),
        other_rejections,
        other_files,
    )?;
    super::write_focus(
        args.focus.focus.as_deref(),
        &output::focus::FocusInput {
            daily: &daily.rows,
            invoices: Some(&r.invoice_lines),
            fees: &fee_report.rows,
            tz: args.logs.tz,
        },
    )?;

    if !args.common.quiet {
        for n in fee_notes {
            eprintln!("note: {n}");
        }
        super::print_summary(&args.common, report, daily);
        super::print_rejections(&args.common, other_rejections);
        for s in summary {
            let flagged: Vec<String> = s
                .rows
                .iter()
                .filter(|(k, _)| **k != "ok" && **k != "drift")
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            eprintln!(
                "{}: expected USD {} at list prices (BYOK usage is paid upstream), invoiced USD {}, difference {}; {}",
                s.provider,
                money(s.logged_usd.round_dp(2)),
                money(s.invoiced_usd.round_dp(2)),
                money((s.invoiced_usd - s.logged_usd).round_dp(2)),
                if flagged.is_empty() {
                    "all rows reconciled".to_string()
                } else {
                    flagged.join(", ")
                }
            );
        }
        for f in findings {
            eprintln!(
                "finding {} {} {} {}: {}",
                f.kind,
                f.day.map(|d| d.to_string()).unwrap_or_default(),
                f.provider,
                f.model,
                f.detail
            );
        }
        super::fees::print_effective(&args.common, Some(daily), fee_report);
    }
    Ok(if r.flagged() {
        Outcome::Flagged
    } else {
        Outcome::Reconciled
    })
}
