//! The command layer: one short file per subcommand wiring the stages (sources → aggregation →
//! pricing → reconciliation, fees, forecast, insight → writers) with the run context. A command
//! file parses nothing and computes nothing itself; commands never import each other.

mod audit;
mod completions;
mod daily;
mod fees;
mod forecast;
mod rates;
mod reconcile;
mod report;
mod rollout;
mod schema;
mod shadow;
mod sql;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, RatesCommand, SchemaCommand};

/// Parses the command line (with `spendrecon.toml`'s defaults), runs the command, and turns its
/// outcome into the exit status: 0 reconciled, 1 flagged, 2 bad input or usage.
pub fn run() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let config = match crate::config::find(args.get(1..).unwrap_or_default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("spendrecon: error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let mut command = Cli::command();
    if let Some(c) = &config {
        command = crate::config::apply(command, c);
    }
    let matches = command.get_matches_from(args);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Daily(args) => daily::run(&args),
        Command::Reconcile(args) => reconcile::run(&args),
        Command::Fees(args) => fees::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Forecast(args) => forecast::run(&args),
        Command::Shadow(args) => shadow::run(&args),
        Command::Rollout(args) => rollout::run(&args),
        Command::Completions { shell } => completions::run(shell),
        Command::Man => completions::man(),
        Command::Report(args) => report::run(&args),
        Command::Sql(args) => sql::run(&args),
        Command::Rates {
            command: RatesCommand::ImportLitellm(args),
        } => rates::import_litellm(&args),
        Command::Schema {
            command: SchemaCommand::Show { name },
        } => schema::show(&name),
        Command::Schema {
            command: SchemaCommand::List,
        } => schema::list(),
    };
    match result {
        Ok(o) => o.into(),
        Err(e) => {
            eprintln!("spendrecon: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
