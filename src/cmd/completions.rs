//! `spendrecon completions SHELL` and `spendrecon man`: generated from the same clap
//! definitions as the parser, so they cannot drift from it.

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;
use crate::domain::Outcome;
use crate::output::to_stdout;

pub(crate) fn run(shell: clap_complete::Shell) -> Result<Outcome> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "spendrecon", &mut out);
    to_stdout(&out).context("writing the completion script")?;
    Ok(Outcome::Reconciled)
}

pub(crate) fn man() -> Result<Outcome> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .context("rendering the manual page")?;
    to_stdout(&out).context("writing the manual page")?;
    Ok(Outcome::Reconciled)
}
