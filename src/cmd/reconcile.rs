//! `spendrecon reconcile`: logs and invoices → recon.csv, findings.csv, daily.csv, summary.csv,
//! rejected.csv.

use std::io::Read;

use anyhow::{Context, Result};

use crate::aggregate::DailyAggregator;
use crate::cli::{Outcome, ReconcileArgs};
use crate::domain::Day;
use crate::input::invoices;
use crate::input::record::{FieldId, FieldSet};
use crate::input::{CallSink, Disposition};
use crate::output::{self, money, safe_text};
use crate::reconcile::findings::{FindingsSink, SeenIds};
use crate::reconcile::{self, Status, Tolerance};

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

/// Daily aggregation's fields and what the findings read.
const FIELDS: FieldSet = {
    use FieldId::*;
    crate::aggregate::FIELDS.with(&[TotalTokens, RequestId, ResponseModel, Cost, Byok])
};

pub fn run(args: &ReconcileArgs) -> Result<Outcome> {
    let rates = super::load_rates(&args.common)?;
    let slugs = super::load_slugs(&args.common)?;
    let period = super::period(&args.logs)?;
    let tz = args.logs.tz;
    let tol = Tolerance {
        tokens: args.tolerance_tokens,
        pct: args.tolerance_pct,
        usd: args.tolerance_usd,
    };
    let inv = invoices::read_invoices(&args.invoices, args.sheet.as_deref(), tz, &slugs)?;
    if args.logs.strict {
        if let Some(r) = inv.rejections.first() {
            anyhow::bail!("{r} (--strict stops at the first rejected row)");
        }
    }
    let ids = SeenIds::default();
    let (both, mut report) = super::scan_logs(&args.logs, FIELDS, || Both {
        daily: DailyAggregator::new(&rates, tz, period),
        findings: FindingsSink::new(&rates, &ids, tz, period),
    })?;
    let daily = both.daily.finish();
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
                    safe_text(&r.provider).into_owned(),
                    safe_text(&r.model).into_owned(),
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
                    safe_text(&r.note).into_owned(),
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
                    safe_text(&f.provider).into_owned(),
                    safe_text(&f.model).into_owned(),
                    f.count.to_string(),
                    safe_text(&f.detail).into_owned(),
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
    let summary_table = output::Table {
        header: summary_header,
        rows: summary
            .iter()
            .map(|s| {
                let mut v = vec![
                    safe_text(&s.provider).into_owned(),
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
                v
            })
            .collect(),
    };

    super::write_main(&args.common, "recon", &recon_table)?;
    let sink = super::sink(&args.common);
    sink.write_secondary("findings.csv", &findings_table.csv())
        .context("writing findings.csv")?;
    sink.write_secondary("daily.csv", &output::daily_table(&daily).csv())
        .context("writing daily.csv")?;
    sink.write_secondary("summary.csv", &summary_table.csv())
        .context("writing summary.csv")?;
    // rejected.csv: the log rows (already a file) followed by the invoice rows.
    let extra = output::Table {
        header: vec![],
        rows: inv
            .rejections
            .iter()
            .map(|r| {
                vec![
                    safe_text(&r.file).into_owned(),
                    r.line.to_string(),
                    r.column.unwrap_or("").to_string(),
                    safe_text(&r.reason).into_owned(),
                    safe_text(&r.raw).into_owned(),
                ]
            })
            .collect(),
    };
    let extra_csv = extra.csv_rows();
    if let crate::output::Sink::Dir(dir) = &sink {
        let mut body = std::fs::File::open(report.rejections.csv_path())?.chain(&extra_csv[..]);
        output::write_atomic_from(&dir.join("rejected.csv"), &mut body)
            .context("writing rejected.csv")?;
    }
    report.files.extend(inv.files.iter().cloned());
    sink.write_secondary("files.csv", &output::files_table(&report.files).csv())
        .context("writing files.csv")?;

    if !args.common.quiet {
        super::print_summary(&args.common, &report, &daily);
        for r in inv.rejections.iter().take(10) {
            eprintln!("  rejected {r}");
        }
        for s in &summary {
            let flagged: Vec<String> = s
                .rows
                .iter()
                .filter(|(k, _)| **k != "ok" && **k != "drift")
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            eprintln!(
                "{}: logged USD {} at list prices, invoiced USD {}, difference {}; {}",
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
        for f in &findings {
            eprintln!(
                "finding {} {} {} {}: {}",
                f.kind,
                f.day.map(|d| d.to_string()).unwrap_or_default(),
                f.provider,
                f.model,
                f.detail
            );
        }
    }
    let flagged = rows.iter().any(|r| !r.status.reconciled())
        || !findings.is_empty()
        || !report.rejections.is_empty()
        || !inv.rejections.is_empty();
    Ok(if flagged {
        Outcome::Flagged
    } else {
        Outcome::Reconciled
    })
}
