//! `spendrecon shadow`: shadow calls against their primaries → shadow.csv, shadow_pairs.csv.
//!
//! Two passes over the logs (see [`crate::insight::shadow`]): the first collects the shadow calls
//! and gives the accounting (files.csv, rejected.csv), the second only the calls they name.

use anyhow::{bail, Context as _, Result};

use crate::cli::ShadowArgs;
use crate::context::Context;
use crate::domain::{Money, Outcome, Tolerance};
use crate::insight::shadow::{self, Limits, ShadowRun};
use crate::output::{summary, tables};

pub(crate) fn run(args: &ShadowArgs) -> Result<Outcome> {
    if args.tolerance_pct < Money::ZERO {
        bail!("--tolerance-pct must not be negative");
    }
    let ctx = Context::new(&args.common, &args.logs)?;
    ctx.require_logs("shadow")?;
    let tol = Tolerance {
        tokens: args.tolerance_tokens,
        pct: args.tolerance_pct,
        usd: Money::ZERO,
    };
    let run = ShadowRun::new(ctx.tz, ctx.period, Limits::default());
    let (collector, report) = ctx.logs.scan(shadow::FIELDS, || run.collector())?;
    let collected = collector
        .finish()
        .context("writing shadow calls to temporary files")?;
    if collected.joined > 0 {
        // The second pass reads the same rows; its accounting repeats the first one's.
        let (primaries, _) = ctx.logs.scan(shadow::FIELDS, || run.primary_collector())?;
        primaries
            .finish()
            .context("writing primary calls to temporary files")?;
    }
    let result = run
        .join(collected, &tol)
        .context("joining shadow calls with their primaries")?;

    ctx.out
        .write_main("shadow", &tables::shadow_table(&result))?;
    ctx.out
        .copy_secondary("shadow_pairs.csv", result.pairs_csv.path())?;
    ctx.out.write_accounting(Some(&report), &[], &[])?;
    ctx.commit(&[])?;
    summary::shadow(&ctx.out, &report, &result, &tol);
    Ok(Outcome::flagged_if(
        result.flagged() || !report.rejections.is_empty(),
    ))
}
