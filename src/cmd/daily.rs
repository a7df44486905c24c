//! `spendrecon daily`: logs (or usage groups) → tokens and exact cost per day × provider × model
//! → daily.csv; with `--by`, each tenant's usage and share of the fees → showback.csv; with
//! `--usage-out`, the usage groups (docs/engines.md), the `--by` field one more key.

use anyhow::{bail, Result};

use crate::aggregate::{self, DailyAggregator};
use crate::cli::DailyArgs;
use crate::context::Context;
use crate::domain::Outcome;
use crate::engines::cut::{self, Cut};
use crate::engines::usage::{self, UsageSink};
use crate::output::focus::{FocusInput, FocusTenants};
use crate::output::usage_file::usage_csv;
use crate::output::{summary, tables};
use crate::showback::{self, Grain};

pub(crate) fn run(args: &DailyArgs) -> Result<Outcome> {
    let mut ctx = Context::new(&args.common, &args.logs)?;
    let by = ctx.group_by(args.showback.by)?;
    let (rates, names) = (ctx.rates()?, ctx.names()?);
    if by.is_some() && ctx.fee_book()?.needs_subscription_price() {
        bail!("--by: fees.toml has a BYOK subscription whose price is \"parameter\", and daily takes no --byok-subscription: use reconcile, report or forecast --by with --byok-subscription USD");
    }
    // Per month for showback.csv; per day when the FOCUS rows are split per tenant.
    let grain = match args.focus.focus {
        Some(_) => Grain::Day,
        None => Grain::Month,
    };
    let (daily, tenants, report, groups) = if !ctx.reads_groups() {
        // Without --by the pass is the plain daily sums: the showback's sinks cost nothing then.
        let mut fields = by.map_or(aggregate::FIELDS, |b| b.fields(aggregate::FIELDS));
        let cut = match &args.usage_out {
            Some(_) => {
                fields = fields.union(usage::FIELDS);
                Some(Cut::new(rates, ctx.fee_book()?, ctx.tz))
            }
            None => None,
        };
        let (((agg, tenants), groups), report) = ctx.logs.scan(fields, || {
            (
                (
                    DailyAggregator::new(rates, names, ctx.tz, ctx.period),
                    by.map(|b| showback::sinks(b, grain, rates, names, ctx.tz, ctx.period)),
                ),
                cut.as_ref()
                    .map(|c| UsageSink::new(c, names, ctx.tz, ctx.period, by)),
            )
        })?;
        let groups = match groups {
            Some(g) => Some(g.finish(&ctx.logs, ctx.tz)?),
            None => None,
        };
        let groups = groups.zip(cut);
        (agg.finish(), tenants, report, groups)
    } else {
        let (groups, cut, report) = ctx.usage_groups()?;
        // daily does not read `byok` from logs (BYOK calls are priced as any call) unless --by
        // has it read for the fees: alike here.
        let daily = usage::daily(
            &groups,
            &cut,
            rates,
            names,
            ctx.tz,
            ctx.period,
            by.is_some(),
        );
        let tenants = by.map(|b| showback::sinks(b, grain, rates, names, ctx.tz, ctx.period));
        (daily, tenants, report, Some((groups, cut)))
    };
    let from_usage = match !ctx.reads_groups() {
        true => None,
        false => groups.as_ref().map(|(g, c)| (&g[..], c)),
    };
    let showback = ctx.showback(tenants, &daily, None, from_usage)?;

    let table = tables::daily_table(&daily);
    ctx.out.write_main("daily", &table)?;
    let mut sheets = vec![("Daily", &table)];
    let showback_table = showback.as_ref().map(tables::showback_table);
    if let Some(t) = &showback_table {
        ctx.out.write_secondary("showback.csv", t)?;
        sheets.push(("Showback", t));
    }
    ctx.out.write_accounting(Some(&report), &[], &[])?;
    ctx.out
        .write_xlsx(args.book.xlsx.as_deref(), &sheets, Some(&report), &[], &[])?;
    ctx.out.write_focus(
        args.focus.focus.as_deref(),
        &FocusInput {
            daily: &daily.rows,
            rates,
            invoices: None,
            fees: &[],
            tz: ctx.tz,
            tenants: showback.as_ref().and_then(|s| FocusTenants::of(s, false)),
        },
    )?;
    if let (Some(path), Some((groups, cut))) = (&args.usage_out, &groups) {
        let by = by.as_ref().map(|b| b.name());
        let body = usage_csv(groups, cut::FORMAT, &cut.fingerprint(), &cut.tz, by);
        ctx.out.write_usage(Some(path), &body)?;
    }
    ctx.commit(&[])?;
    summary::daily(&ctx.out, &report, &daily);
    if let Some(s) = &showback {
        summary::showback(&ctx.out, s);
    }
    Ok(Outcome::flagged_if(
        !report.rejections.is_empty() || !daily.unpriced().is_empty(),
    ))
}
