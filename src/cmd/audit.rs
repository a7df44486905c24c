//! `spendrecon audit`: every model slug in the logs against the rate table and the slug map →
//! audit.csv.

use anyhow::Result;

use crate::aggregate::{self, DailyAggregator};
use crate::cli::{DailyArgs, Outcome};
use crate::insight::audit::{self, AuditStatus};
use crate::output;

pub fn run(args: &DailyArgs) -> Result<Outcome> {
    let rates = super::load_rates(&args.common)?;
    let slugs = super::load_slugs(&args.common)?;
    let period = super::period(&args.logs)?;
    let tz = args.logs.tz;
    let (agg, report) = super::scan_logs(&args.logs, aggregate::FIELDS, || {
        DailyAggregator::new(&rates, tz, period)
    })?;
    let daily = agg.finish();
    let rows = audit::audit(&daily, &rates, &slugs);
    super::write_main(&args.common, "audit", &output::audit_table(&rows))?;
    super::write_accounting(&args.common, Some(&report), &[], &[])?;
    if !args.common.quiet {
        super::print_scan(&args.common, &report);
        for r in rows.iter().filter(|r| r.status != AuditStatus::Ok) {
            eprintln!(
                "{} {} {}: {} calls, {} to {}: {}",
                r.status.as_str().to_uppercase(),
                r.provider,
                r.model,
                r.calls,
                r.first_day,
                r.last_day,
                r.note
            );
        }
        let flagged = rows.iter().filter(|r| r.status != AuditStatus::Ok).count();
        eprintln!(
            "audit: {} provider × model rows, {flagged} flagged",
            rows.len()
        );
    }
    let flagged = rows.iter().any(|r| r.status != AuditStatus::Ok) || !report.rejections.is_empty();
    Ok(if flagged {
        Outcome::Flagged
    } else {
        Outcome::Reconciled
    })
}
