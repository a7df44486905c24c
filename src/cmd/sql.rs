//! `spendrecon sql`: the statement that computes the usage groups where the logs live, on
//! stdout (docs/engines.md). Nothing is read but the rate directory and the schema, nothing is
//! written but the statement: no output files, no run.json.

use anyhow::{Context as _, Result};

use crate::cli::SqlArgs;
use crate::context::Context;
use crate::domain::Outcome;
use crate::engines::cut::Cut;
use crate::engines::sql::{self, Request, Table};
use crate::output::to_stdout;

pub(crate) fn run(args: &SqlArgs) -> Result<Outcome> {
    if args.logs.in_database {
        anyhow::bail!("sql prints the statement; --in-database runs it: give --in-database to daily, reconcile, fees, forecast, audit or report with --logs postgresql://…");
    }
    let mut ctx = Context::new(&args.common, &args.logs)?;
    let by = ctx.group_by(args.by)?;
    let table = Table::parse(&args.table)?;
    let cut = Cut::new(ctx.rates()?, ctx.fee_book()?, ctx.tz);
    let request = Request {
        dialect: args.dialect,
        table: &table,
        schema: &ctx.logs.schema,
        period: ctx.period,
        by: by.as_ref().map(|b| b.name()),
    };
    let text = sql::render(args.query, &request, &cut)?;
    to_stdout(text.as_bytes()).context("writing the statement to stdout")?;
    Ok(Outcome::Reconciled)
}
