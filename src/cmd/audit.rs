//! `spendrecon audit`: every model slug in the logs against the rate table and the slug map →
//! audit.csv.

use anyhow::Result;

use crate::aggregate::{self, DailyAggregator};
use crate::cli::AuditArgs;
use crate::context::Context;
use crate::domain::Outcome;
use crate::engines::usage;
use crate::insight::audit::{self, AuditStatus};
use crate::output::{summary, tables};

pub(crate) fn run(args: &AuditArgs) -> Result<Outcome> {
    let ctx = Context::new(&args.common, &args.logs)?;
    let (rates, slugs, names) = (ctx.rates()?, ctx.slugs()?, ctx.names()?);
    let (daily, report) = if !ctx.reads_groups() {
        let (agg, report) = ctx.logs.scan(aggregate::FIELDS, || {
            DailyAggregator::new(rates, names, ctx.tz, ctx.period)
        })?;
        (agg.finish(), report)
    } else {
        // Built on the daily rows: usage groups give the same (docs/engines.md).
        let (groups, cut, report) = ctx.usage_groups()?;
        let daily = usage::daily(&groups, &cut, rates, names, ctx.tz, ctx.period, false);
        (daily, report)
    };
    let rows = audit::audit(&daily, rates, slugs);

    ctx.out.write_main("audit", &tables::audit_table(&rows))?;
    ctx.out.write_accounting(Some(&report), &[], &[])?;
    ctx.commit(&[])?;
    summary::audit(&ctx.out, &report, &rows);
    Ok(Outcome::flagged_if(
        rows.iter().any(|r| r.status != AuditStatus::Ok) || !report.rejections.is_empty(),
    ))
}
