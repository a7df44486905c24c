//! The command line (docs/formats.md §5): clap definitions only, one subcommand per job, common
//! options shared. What the options mean is resolved once in [`crate::context`].

use std::path::PathBuf;

use chrono_tz::Tz;
use clap::{Args, Parser, Subcommand};

use crate::domain::{Day, Money, Month};
use crate::engines::sql::{Dialect, Query};
pub(crate) use crate::output::Format;
use crate::showback::GroupBy;

#[derive(Parser, Debug)]
#[command(
    name = "spendrecon",
    version,
    about = "What your LLM API traffic really cost, and whether the gateways' bills are right",
    after_help = "Exit status: 0 all reconciled, 1 something was flagged (rejected rows, unpriced calls, mismatches), 2 bad input or usage."
)]
pub(crate) struct Cli {
    /// Defaults for the options from this file (default: ./spendrecon.toml when present);
    /// flags on the command line win
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Tokens and priced cost per day × provider × model → daily.csv
    Daily(DailyArgs),
    /// Logs against gateway invoices → recon.csv, findings.csv, daily.csv, summary.csv, rejected.csv
    /// (and fees.csv, topups.csv with --topups)
    Reconcile(ReconcileArgs),
    /// Top-up surcharges, BYOK fees and subscriptions per month → fees.csv, topups.csv
    Fees(FeesArgs),
    /// Retired, retiring, never-listed, pinned and unpriced model slugs → audit.csv
    Audit(AuditArgs),
    /// Month-end spend per provider × model with a range → forecast.csv; --move and --months add
    /// whatif.csv
    Forecast(ForecastArgs),
    /// Token drift between shadow calls and their primaries → shadow.csv, shadow_pairs.csv
    Shadow(ShadowArgs),
    /// Per day × provider: calls, share, errors, p50/p95 latency, cost per call → rollout.csv
    Rollout(RolloutArgs),
    /// Shell completion script on stdout (e.g. `spendrecon completions bash > /etc/bash_completion.d/spendrecon`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout: `spendrecon man > spendrecon.1`
    Man,
    /// One self-contained HTML page with charts: daily cost per provider, logged vs invoiced
    /// tokens, top models, fees, month-end forecast → report.html (needs --out)
    Report(ReportArgs),
    /// Maintain the rate table (rates/models.csv)
    Rates {
        #[command(subcommand)]
        command: RatesCommand,
    },
    /// One SELECT statement on stdout that computes the usage groups (or, with --query
    /// duplicates, the request ids logged twice) in the engine where the logs live:
    /// `spendrecon sql --dialect duckdb --table calls`
    Sql(SqlArgs),
    /// Log schemas (--schema): print a built-in one as a schema file to start from
    Schema {
        #[command(subcommand)]
        command: SchemaCommand,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum SchemaCommand {
    /// Print a built-in schema (spendrecon, otel, litellm, openrouter, langfuse) as a schema
    /// file on stdout: `spendrecon schema show otel > my-otel.toml`
    Show {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// The built-in schemas, one a line
    List,
}

#[derive(Subcommand, Debug)]
pub(crate) enum RatesCommand {
    /// Compare LiteLLM's model_prices_and_context_window.json with the rate table: new, changed
    /// and unchanged slugs on stdout; --write adds the rows to DIR/models.csv
    ImportLitellm(ImportArgs),
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ImportArgs {
    /// LiteLLM's model_prices_and_context_window.json, downloaded beforehand (no network use)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Rate directory whose models.csv is compared and written; default ./rates if present, else
    /// the table built into the binary (report only)
    #[arg(long, value_name = "DIR")]
    pub rates: Option<PathBuf>,
    /// Write the new and changed rows into DIR/models.csv (without it: report only)
    #[arg(long)]
    pub write: bool,
    /// The provider column of the imported rows (`*`: every gateway)
    #[arg(long, default_value = "*", value_name = "P")]
    pub provider: String,
    /// First day the imported prices apply (required: the import must not depend on the day
    /// it is run)
    #[arg(long, required = true, value_parser = parse_day, value_name = "YYYY-MM-DD")]
    pub effective_from: Day,
    /// Import only slugs the table already has a row of (any provider); others are counted
    #[arg(long)]
    pub only_known: bool,
    /// Output format of the report
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// No summary on stderr
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ForecastArgs {
    #[command(flatten)]
    pub logs: LogArgs,
    /// Month to forecast (default: the month of the last logged day)
    #[arg(long, value_parser = parse_month, value_name = "YYYY-MM")]
    pub month: Option<Month>,
    /// What-if: move PCT % of FROM's traffic to TO (repeatable; together they form one scenario)
    #[arg(long = "move", value_name = "FROM=TO:PCT")]
    pub moves: Vec<crate::forecast::whatif::Move>,
    /// Also project N months after the forecast month (each gateway, as logged and moved)
    #[arg(long, value_name = "N")]
    pub months: Option<u32>,
    /// Traffic growth per month for --months, in percent
    #[arg(long, default_value = "0", value_name = "PCT")]
    pub growth_pct: Money,
    /// Monthly price of a BYOK subscription: adds each scenario once more with it in place of
    /// the BYOK percentage, and prices fees.toml policies whose price is "parameter"
    #[arg(long, value_name = "USD")]
    pub byok_subscription: Option<Money>,
    #[command(flatten)]
    pub showback: ShowbackArgs,
    #[command(flatten)]
    pub book: XlsxArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The fee model's inputs, shared by `fees` and `reconcile`.
#[derive(Args, Debug, Clone)]
pub(crate) struct FeeArgs {
    /// Top-up ledger, .csv or .xlsx: date,provider,amount_usd,method[,fee_usd] (repeatable)
    #[arg(long = "topups", value_name = "PATH")]
    pub topups: Vec<PathBuf>,
    /// Monthly price of a BYOK subscription: fills fees.toml policies whose price is
    /// "parameter"; without such a policy, replaces every BYOK percentage for the whole run
    #[arg(long, value_name = "USD")]
    pub byok_subscription: Option<Money>,
}

#[derive(Args, Debug, Clone)]
#[command(mut_group("input", |g| g.required(false)))]
pub(crate) struct FeesArgs {
    #[command(flatten)]
    pub logs: LogArgs,
    #[command(flatten)]
    pub fees: FeeArgs,
    /// XLSX sheet of the top-up ledger (default: the first)
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Also write scenarios.csv: the last logged month's traffic sent wholly through each
    /// gateway of fees.toml for N months, fees included (needs --logs and --out)
    #[arg(long, value_name = "N")]
    pub months: Option<u32>,
    /// Traffic growth per month for --months, in percent (e.g. 10)
    #[arg(long, default_value = "0", value_name = "PCT")]
    pub growth_pct: Money,
    /// Money drift allowed between a charged and an expected fee, in USD
    #[arg(long, default_value = "0.01", value_name = "X")]
    pub tolerance_usd: Money,
    #[command(flatten)]
    pub book: XlsxArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ReconcileArgs {
    #[command(flatten)]
    pub logs: LogArgs,
    /// Invoice or activity export, .csv or .xlsx, or OpenRouter generation records, JSON lines
    /// (repeatable)
    #[arg(long = "invoices", required = true, value_name = "PATH")]
    pub invoices: Vec<PathBuf>,
    #[command(flatten)]
    pub matching: MatchArgs,
    #[command(flatten)]
    pub fees: FeeArgs,
    #[command(flatten)]
    pub showback: ShowbackArgs,
    #[command(flatten)]
    pub focus: FocusArgs,
    #[command(flatten)]
    pub book: XlsxArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// How invoices are read and matched, shared by `reconcile` and `report`.
#[derive(Args, Debug, Clone)]
pub(crate) struct MatchArgs {
    /// XLSX sheet to read (default: the first)
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Token drift allowed before a mismatch, as a count
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub tolerance_tokens: u64,
    /// Token drift allowed before a mismatch, as a percent of the logged count
    #[arg(long, default_value = "0.1", value_name = "P")]
    pub tolerance_pct: Money,
    /// Money drift allowed before a cost mismatch, in USD
    #[arg(long, default_value = "0.01", value_name = "X")]
    pub tolerance_usd: Money,
}

/// `reconcile`'s options with the invoices optional: without them the page shows what the logs
/// cost and skips the comparison.
#[derive(Args, Debug, Clone)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub logs: LogArgs,
    /// Invoice or activity export, .csv or .xlsx, or OpenRouter generation records, JSON lines
    /// (repeatable; optional)
    #[arg(long = "invoices", value_name = "PATH")]
    pub invoices: Vec<PathBuf>,
    #[command(flatten)]
    pub matching: MatchArgs,
    #[command(flatten)]
    pub fees: FeeArgs,
    #[command(flatten)]
    pub showback: ShowbackArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct ShadowArgs {
    #[command(flatten)]
    pub logs: LogArgs,
    /// Token drift allowed between a shadow call and its primary, as a count
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub tolerance_tokens: u64,
    /// Token drift allowed, as a percent of the primary's count
    #[arg(long, default_value = "0.1", value_name = "P")]
    pub tolerance_pct: Money,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct DailyArgs {
    #[command(flatten)]
    pub logs: LogArgs,
    /// Also write the usage groups of the logs (docs/engines.md) to FILE: what `spendrecon sql`
    /// computes in an engine, so shards merge with --usage
    #[arg(long, value_name = "FILE")]
    pub usage_out: Option<PathBuf>,
    #[command(flatten)]
    pub showback: ShowbackArgs,
    #[command(flatten)]
    pub book: XlsxArgs,
    #[command(flatten)]
    pub focus: FocusArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub logs: LogArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct RolloutArgs {
    #[command(flatten)]
    pub logs: LogArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `sql`'s options. It reads no logs and writes no files: of the log options it takes the
/// period, zone and schema, of the common ones the rate directory (thresholds, allowances);
/// `--logs`, `--strict`, `--threads`, `--out` and `--format` (from spendrecon.toml, say) are
/// ignored.
#[derive(Args, Debug, Clone)]
#[command(
    mut_group("input", |g| g.required(false)),
    mut_arg("paths", |a| a.hide(true)),
    mut_arg("usage", |a| a.hide(true)),
    mut_arg("strict", |a| a.hide(true)),
    mut_arg("threads", |a| a.hide(true)),
    mut_arg("out", |a| a.hide(true)),
    mut_arg("format", |a| a.hide(true))
)]
pub(crate) struct SqlArgs {
    /// The engine the statement is written for
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub dialect: Dialect,
    /// The table of log records, optionally qualified (catalog.schema.table); each part is
    /// letters, digits, `_`, `$` or `-`, and is quoted
    #[arg(long, value_name = "NAME")]
    pub table: String,
    /// Which statement: the usage groups, or the request ids logged more than once
    /// (rollout and shadow need the logs themselves: exit 2)
    #[arg(long, value_enum, default_value_t = Query::Groups, value_name = "QUERY")]
    pub query: Query,
    /// Group the usage by this field too (tenant, or a group field of the schema's [by] table):
    /// one more column, of that name, which --usage FILE --by FIELD reads
    #[arg(long, value_name = "FIELD", value_parser = parse_by)]
    pub by: Option<GroupBy>,
    #[command(flatten)]
    pub logs: LogArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Where the request logs are and which days of them count.
#[derive(Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("input").args(["paths", "usage"]).required(true)))]
pub(crate) struct LogArgs {
    /// Log file or directory (repeatable): .jsonl, .ndjson, .csv, .parquet, optionally .gz;
    /// or a table: postgresql://USER@HOST:PORT/DB?table=NAME, or mysql://… (the password from
    /// ~/.pgpass, PGPASSWORD, a service file, ~/.my.cnf or MYSQL_PWD)
    #[arg(long = "logs", value_name = "PATH|URL")]
    pub paths: Vec<PathBuf>,
    /// Usage groups computed where the logs live (`spendrecon sql`, or `daily --usage-out`),
    /// in place of --logs (repeatable; files merge by summing). CSV, optionally .gz
    #[arg(long = "usage", value_name = "FILE", conflicts_with = "paths")]
    pub usage: Vec<PathBuf>,
    /// First day to include (inclusive, in --tz)
    #[arg(long, value_parser = parse_day, value_name = "YYYY-MM-DD")]
    pub from: Option<Day>,
    /// Last day to include (inclusive, in --tz)
    #[arg(long, value_parser = parse_day, value_name = "YYYY-MM-DD")]
    pub to: Option<Day>,
    /// IANA time zone that cuts days (e.g. Europe/Berlin); default UTC
    #[arg(long, value_parser = parse_tz, value_name = "ZONE")]
    pub tz: Option<Tz>,
    /// Stop at the first rejected row with exit status 2
    #[arg(long)]
    pub strict: bool,
    /// Worker threads for parsing (default: all cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// How the log records are shaped: spendrecon (default), otel, litellm, openrouter,
    /// langfuse, or a schema file (TOML; `spendrecon schema show NAME` prints one to start from)
    #[arg(long, value_name = "NAME|FILE")]
    pub schema: Option<String>,
    /// With --logs postgresql://…?table=NAME: group the calls inside the database (the
    /// `postgres` statement of `spendrecon sql`) and read back only the usage groups
    #[arg(long)]
    pub in_database: bool,
}

/// `--focus`, on the commands that price usage against bills.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct FocusArgs {
    /// Also write the priced usage (and the fees) as a FinOps FOCUS 1.2 dataset (CSV)
    #[arg(long, value_name = "FILE")]
    pub focus: Option<PathBuf>,
}

/// `--xlsx`, on the commands whose tables end in a spreadsheet.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct XlsxArgs {
    /// Also write the tables as one workbook: a sheet each, plus Rejected and Files
    #[arg(long, value_name = "FILE")]
    pub xlsx: Option<PathBuf>,
}

/// `--by`, on the commands that show spend back to the teams that caused it.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct ShowbackArgs {
    /// Also write showback.csv: per month, tenant and provider the calls, their usage at list
    /// prices and their share of the fees (FIELD: tenant, or a group field of the log schema's
    /// [by] table, e.g. api_key with --schema litellm)
    #[arg(long, value_name = "FIELD", value_parser = parse_by)]
    pub by: Option<GroupBy>,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct CommonArgs {
    /// Rate directory (models.csv, slugs.csv, fees.toml); default ./rates if present, else the
    /// tables built into the binary
    #[arg(long, value_name = "DIR")]
    pub rates: Option<PathBuf>,
    /// Rate rows (models.csv columns) that replace every row of the same provider and model
    #[arg(long, value_name = "FILE")]
    pub rates_override: Option<PathBuf>,
    /// Directory for the CSV files; without it the main table goes to stdout
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Output format of the main table
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// No human summary on stderr
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_day(s: &str) -> Result<Day, String> {
    Day::parse(s).ok_or_else(|| format!("`{s}` is not a day (YYYY-MM-DD)"))
}

fn parse_month(s: &str) -> Result<Month, String> {
    Month::parse(s).ok_or_else(|| format!("`{s}` is not a month (YYYY-MM)"))
}

fn parse_by(s: &str) -> Result<GroupBy, String> {
    GroupBy::parse(s)
}

fn parse_tz(s: &str) -> Result<Tz, String> {
    s.parse::<Tz>()
        .map_err(|_| format!("`{s}` is not an IANA time zone name (e.g. UTC, Europe/Berlin)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn fees_takes_logs_optionally_and_daily_requires_them() {
        let c = Cli::try_parse_from(["spendrecon", "fees", "--topups", "t.csv"]).unwrap();
        assert!(matches!(c.command, Command::Fees(a) if a.logs.paths.is_empty()));
        assert!(Cli::try_parse_from(["spendrecon", "daily"]).is_err());
    }
}
