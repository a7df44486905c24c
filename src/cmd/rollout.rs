//! `spendrecon rollout`: logs → the canary dashboard per day × provider → rollout.csv.

use anyhow::Result;

use crate::cli::RolloutArgs;
use crate::context::Context;
use crate::domain::Outcome;
use crate::insight::rollout::{self, RolloutSink};
use crate::output::{summary, tables};

pub(crate) fn run(args: &RolloutArgs) -> Result<Outcome> {
    let ctx = Context::new(&args.common, &args.logs)?;
    ctx.require_logs("rollout")?;
    let (rates, names) = (ctx.rates()?, ctx.names()?);
    let (sink, report) = ctx.logs.scan(rollout::FIELDS, || {
        RolloutSink::new(rates, names, ctx.tz, ctx.period)
    })?;
    let dash = sink.finish();

    ctx.out
        .write_main("rollout", &tables::rollout_table(&dash))?;
    ctx.out.write_accounting(Some(&report), &[], &[])?;
    ctx.commit(&[])?;
    summary::rollout(&ctx.out, &report, &dash);
    Ok(Outcome::flagged_if(
        !report.rejections.is_empty() || !dash.unpriced.is_empty(),
    ))
}
