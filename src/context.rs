//! The run context: what a command's options mean, resolved once (as ripgrep's `HiArgs` is built
//! from its parsed `LowArgs`) and passed down. Stages receive plain values from it (a rate table,
//! a log set, a period); they never see the command line.
//!
//! The tables in the rate directory are loaded on first use and kept: a command loads only what
//! it needs, so a `fees.toml` being edited cannot break `daily`, and nothing is read twice.
//!
//! The context also knows what the run read (the command line, the config file, the rate tables
//! loaded, the log files with the digests the read computed), so [`Context::commit`] can write
//! `run.json` beside the outputs and put them in place together.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use chrono_tz::Tz;

use crate::aggregate::Daily;
use crate::cli::{CommonArgs, FeeArgs, LogArgs, MatchArgs};
use crate::domain::{Money, Period, Tolerance, UsageGroup};
use crate::engines::cut::{self, Cut};
use crate::engines::sql::{self, Dialect, Query, Request, Table};
use crate::fees::policy::FeeBook;
use crate::output::{Input, Out, RunRecord};
use crate::pricing::aliases::{self, ModelNames};
use crate::pricing::slugs::{self, SlugMap};
use crate::pricing::{self as rate_table, RateTable};
use crate::reconcile::{self, Inputs, Reconciliation, UsageInput};
use crate::showback::{self, FromLogs, Grain, GroupBy, Showback};
use crate::sources::database::{self, DbSource};
use crate::sources::digest::{hash_bytes, hash_path};
use crate::sources::schema::Schema;
use crate::sources::{mask_secrets, sheet, usage_file, LogSet, ScanReport};

/// One run's resolved options.
pub(crate) struct Context {
    pub logs: LogSet,
    /// `--from`/`--to`, checked to be in order.
    pub period: Period,
    /// `--tz`; `None` is UTC.
    pub tz: Option<Tz>,
    /// Where the tables go and how (`--out`, `--format`, `--quiet`).
    pub out: Out,
    tables: RateFiles,
    rates: OnceCell<RateTable>,
    slugs: OnceCell<SlugMap>,
    names: OnceCell<ModelNames>,
    fees: OnceCell<FeeBook>,
    /// The command line as given, secrets masked (for run.json).
    command_line: Vec<String>,
    /// The config file the options' defaults came from.
    config: Option<PathBuf>,
    /// `--schema` as given, when given.
    schema_spec: Option<String>,
    /// `--usage`: usage files in place of the logs.
    pub usage: Vec<PathBuf>,
    /// The usage files' digests once read (for run.json).
    usage_digests: OnceCell<Vec<crate::sources::digest::FileDigest>>,
    /// `--in-database`: the usage groups computed where the table is.
    pub in_database: bool,
    /// `--by`, once checked ([`Context::group_by`]): the group column usage files must carry.
    by: Option<GroupBy>,
}

impl Context {
    pub(crate) fn new(common: &CommonArgs, logs: &LogArgs) -> Result<Context> {
        let argv: Vec<OsString> = std::env::args_os().collect();
        if let (Some(f), Some(t)) = (logs.from, logs.to) {
            if f > t {
                bail!("--from {f} is after --to {t}");
            }
        }
        Ok(Context {
            logs: LogSet {
                paths: logs.paths.clone(),
                strict: logs.strict,
                threads: logs.threads,
                progress: !common.quiet,
                hash: common.out.is_some(),
                digests: OnceCell::new(),
                schema: match &logs.schema {
                    None => Schema::Native,
                    Some(spec) => Schema::resolve(spec)?,
                },
                period: Period {
                    from: logs.from,
                    to: logs.to,
                },
            },
            period: Period {
                from: logs.from,
                to: logs.to,
            },
            tz: logs.tz,
            out: Out::new(common.out.as_deref(), common.format, common.quiet),
            tables: RateFiles {
                dir: common.rates.clone(),
                rates_override: common.rates_override.clone(),
            },
            rates: OnceCell::new(),
            slugs: OnceCell::new(),
            names: OnceCell::new(),
            fees: OnceCell::new(),
            command_line: argv.iter().map(shown_arg).collect(),
            schema_spec: logs.schema.clone(),
            usage: logs.usage.clone(),
            usage_digests: OnceCell::new(),
            in_database: logs.in_database,
            by: None,
            config: crate::config::locate(argv.get(1..).unwrap_or_default())
                .ok()
                .flatten(),
        })
    }

    /// `--by`, checked against what the run reads: the log schema in force, which from then on
    /// reads the chosen field into the tenant slot (and only that field); usage files are
    /// checked when read (their group column names the field they were cut by).
    pub(crate) fn group_by(&mut self, by: Option<GroupBy>) -> Result<Option<GroupBy>> {
        let Some(by) = by else {
            return Ok(None);
        };
        if self.usage.is_empty() {
            self.logs.schema = (self.logs.schema)
                .grouped_by(self.schema_spec.as_deref(), by.name())
                .map_err(|m| anyhow!(m))?;
        }
        self.by = Some(by);
        Ok(Some(by))
    }

    /// `rates/models.csv`, with `--rates-override`'s rows in place of the same provider and
    /// model.
    pub(crate) fn rates(&self) -> Result<&RateTable> {
        cached(&self.rates, || self.tables.rates())
    }

    /// `rates/slugs.csv` from the same place as the rate table.
    pub(crate) fn slugs(&self) -> Result<&SlugMap> {
        cached(&self.slugs, || {
            Ok(match self.tables.find("slugs.csv") {
                Some(dir) => SlugMap::load_dir(&dir)?,
                None => SlugMap::builtin(),
            })
        })
    }

    /// `rates/aliases.csv` from the same place as the rate table, over the rate table and the
    /// slug map: the one resolver of model names (loads both).
    pub(crate) fn names(&self) -> Result<&ModelNames> {
        let (rates, slugs) = (self.rates()?, self.slugs()?);
        cached(&self.names, || {
            Ok(match self.tables.find("aliases.csv") {
                Some(dir) => ModelNames::load_dir(&dir, rates, slugs)?,
                None => ModelNames::builtin_with(rates, slugs),
            })
        })
    }

    /// `rates/fees.toml` from the same place as the rate table, as written.
    pub(crate) fn fee_book(&self) -> Result<&FeeBook> {
        cached(&self.fees, || {
            Ok(match self.tables.find("fees.toml") {
                Some(dir) => FeeBook::load_dir(&dir)?,
                None => FeeBook::builtin(),
            })
        })
    }

    /// The fee policies with `--byok-subscription` applied, and notes on what it changed.
    pub(crate) fn fee_book_with(&self, fees: &FeeArgs) -> Result<(FeeBook, Vec<String>)> {
        let mut book = self.fee_book()?.clone();
        let notes = crate::fees::apply_subscription(&mut book, fees.byok_subscription)
            .map_err(|m| anyhow!(m))?;
        Ok((book, notes))
    }

    /// The reconciliation `reconcile` and `report` ask for (`report`'s invoices may be none),
    /// with the notes on what `--byok-subscription` changed.
    pub(crate) fn reconciliation(
        &self,
        invoices: &[PathBuf],
        matching: &MatchArgs,
        fees: &FeeArgs,
        by: Option<(GroupBy, Grain)>,
    ) -> Result<(Reconciliation, Vec<String>)> {
        let (rates, slugs, names) = (self.rates()?, self.slugs()?, self.names()?);
        let (book, notes) = self.fee_book_with(fees)?;
        let usage = match !self.reads_groups() {
            true => None,
            false => Some(self.usage_groups()?),
        };
        let mut r = reconcile::compute(&Inputs {
            logs: &self.logs,
            period: self.period,
            tz: self.tz,
            rates,
            slugs,
            names,
            book: &book,
            invoices,
            sheet: matching.sheet.as_deref(),
            tolerance: tolerance(matching),
            topups: &fees.topups,
            subscription_price: fees.byok_subscription,
            by,
            usage: usage.as_ref().map(|(groups, cut, _)| UsageInput {
                groups,
                thresholds: &cut.thresholds,
            }),
        })?;
        if let Some((_, _, mut report)) = usage {
            report.notes.append(&mut r.report.notes);
            r.report = report;
        }
        Ok((r, notes))
    }

    /// Whether the run reads usage groups (`--usage` files, or `--in-database`) instead of the
    /// log records.
    pub(crate) fn reads_groups(&self) -> bool {
        !self.usage.is_empty() || self.in_database
    }

    /// For a command that needs the logs' records one by one: `--usage` and `--in-database`
    /// are refused.
    pub(crate) fn require_logs(&self, command: &str) -> Result<()> {
        if self.in_database {
            bail!("{command} needs the log records one by one: drop --in-database to stream the table's rows (the usage groups carry sums only; docs/engines.md says which commands read them)");
        }
        if !self.usage.is_empty() {
            bail!("{command} needs the log records one by one: give --logs (--usage groups carry sums only; docs/engines.md says which commands read them)");
        }
        Ok(())
    }

    /// `--in-database`: the one table named by `--logs`, grouped there by the `postgres`
    /// statement of `spendrecon sql`; the groups come back as a usage file's rows.
    fn groups_in_database(&self, cut: &Cut) -> Result<usage_file::UsageRead> {
        let mut tables = self.logs.paths.iter().filter(|p| database::is_database(p));
        let (Some(url), None) = (tables.next(), tables.next()) else {
            bail!(
                "--in-database needs exactly one --logs postgresql://USER@HOST:PORT/DB?table=NAME"
            );
        };
        if self.logs.paths.len() > 1 {
            bail!("--in-database reads one table: give its URL as the only --logs (files are read with the rows, without --in-database)");
        }
        let src = DbSource::parse(&url.to_string_lossy())?;
        let native = matches!(self.logs.schema, Schema::Native);
        let bytes = database::query_csv(&src, native, |table| {
            let table = Table::parse(table).map_err(|e| e.to_string())?;
            let request = Request {
                dialect: Dialect::Postgres,
                table: &table,
                schema: &self.logs.schema,
                period: self.period,
                by: self.by.as_ref().map(GroupBy::name),
            };
            sql::render(Query::Groups, &request, cut).map_err(|e| e.to_string())
        })?;
        Ok(usage_file::read_usage_bytes(
            &src.shown,
            bytes,
            cut::FORMAT,
            self.period,
            self.by.as_ref().map(GroupBy::name),
        )?)
    }

    /// `--usage`: the usage files read, merged and checked against this run's cut (its rate
    /// table's thresholds, fee book and zone), with their accounting as a scan's.
    pub(crate) fn usage_groups(&self) -> Result<(Vec<UsageGroup>, Cut, ScanReport)> {
        let cut = Cut::new(self.rates()?, self.fee_book()?, self.tz);
        let by = self.by.as_ref().map(GroupBy::name);
        let read = match self.in_database {
            true => self.groups_in_database(&cut)?,
            false => usage_file::read_usage(&self.usage, cut::FORMAT, self.period, by)?,
        };
        if let Some(c) = &read.cut {
            if c.tz != cut.tz {
                bail!(
                    "{}: the usage groups were cut in zone {}; run with --tz {} (or cut them again for {})",
                    c.file.display(),
                    c.tz,
                    c.tz,
                    cut.tz
                );
            }
            if c.fingerprint != cut.fingerprint() {
                bail!(
                    "{}: the usage groups were cut with rates_fingerprint {}, this run's rate table and fee policies give {} (the long-context thresholds or BYOK allowances differ): cut them again with `spendrecon sql` for these tables\nthis run's cut:\n{}",
                    c.file.display(),
                    c.fingerprint,
                    cut.fingerprint(),
                    cut.text()
                );
            }
        }
        let _ = self.usage_digests.set(read.digests);
        let mut report = ScanReport::empty()?;
        report.files = read.files;
        if self.in_database {
            report.notes.push(
                "grouped inside the database (--in-database): the table's rows were not read here"
                    .into(),
            );
        }
        report.notes.push(
            "read from usage groups (docs/engines.md): checks of single calls (duplicate request ids, total_tokens, response model, the gateway's reported cost, per-call matching) need the logs".into(),
        );
        Ok((read.groups, cut, report))
    }

    /// The showback of a run without a ledger (`daily`, `forecast`) from its scan's sinks (or,
    /// with `usage`, from the usage groups added to them): the BYOK fees and subscriptions of
    /// `fees.toml` as written (`price` fills a subscription whose price is "parameter") shared
    /// among the tenants.
    pub(crate) fn showback(
        &self,
        sinks: Option<showback::Sinks<'_>>,
        daily: &Daily,
        price: Option<Money>,
        usage: Option<(&[UsageGroup], &Cut)>,
    ) -> Result<Option<Showback>> {
        let Some(mut sinks) = sinks else {
            return Ok(None);
        };
        let byok_months = match usage {
            None => None,
            Some((groups, cut)) => {
                for g in groups {
                    sinks.0.add_group(g, &cut.thresholds);
                }
                let (book, rates, names) = (self.fee_book()?, self.rates()?, self.names()?);
                Some(
                    crate::fees::byok::months_from_groups(
                        groups,
                        &cut.thresholds,
                        book,
                        rates,
                        names,
                    )
                    .map_err(|m| anyhow!(m))?,
                )
            }
        };
        let (s, _) = showback::from_logs(FromLogs {
            sinks,
            daily,
            book: self.fee_book()?,
            tz: self.tz,
            period: self.period,
            subscription_price: price,
            byok_months,
        })?;
        Ok(Some(s))
    }

    /// Ends the run: with `--out`, writes `run.json` (what was read, from `bills` too: the
    /// invoice and ledger paths as given, with their role), then puts every output file in
    /// place together.
    pub(crate) fn commit(&self, bills: &[(&'static str, &[PathBuf])]) -> Result<()> {
        let record = match self.out.dir() {
            Some(_) => self.record(bills)?,
            None => RunRecord::default(),
        };
        self.out.commit(&record)
    }

    /// Every input of the run with its size and SHA-256: the log files (hashed while read), the
    /// bills, the rate tables loaded and the config file.
    fn record(&self, bills: &[(&'static str, &[PathBuf])]) -> Result<RunRecord> {
        let mut inputs: Vec<Input> = (self.logs.digests.get().into_iter().flatten())
            .map(|d| Input::new("logs", d.clone()))
            .chain(
                (self.usage_digests.get().into_iter().flatten())
                    .map(|d| Input::new("usage", d.clone())),
            )
            .collect();
        for (role, paths) in bills.iter().filter(|(_, p)| !p.is_empty()) {
            let files = if *role == "invoices" {
                crate::sources::invoices::invoice_files(paths, role)?
            } else {
                sheet::expand(paths, role, role)?
            };
            for p in files {
                inputs.push(Input::new(role, hashed(&p)?));
            }
        }
        let loaded = [
            (
                "rates",
                "models.csv",
                rate_table::BUILTIN,
                self.rates.get().is_some(),
            ),
            (
                "slugs",
                "slugs.csv",
                slugs::BUILTIN,
                self.slugs.get().is_some(),
            ),
            (
                "aliases",
                "aliases.csv",
                aliases::BUILTIN,
                self.names.get().is_some(),
            ),
            (
                "fees",
                "fees.toml",
                crate::fees::policy::BUILTIN,
                self.fees.get().is_some(),
            ),
        ];
        for (role, name, builtin, _) in loaded.iter().filter(|t| t.3) {
            let d = match self.tables.source(name) {
                Some(path) => hashed(&path)?,
                None => hash_bytes("built-in", builtin.as_bytes()),
            };
            inputs.push(Input::new(role, d));
        }
        if let (Some(file), Some(_)) = (&self.tables.rates_override, self.rates.get()) {
            inputs.push(Input::new("rates_override", hashed(file)?));
        }
        if let Some(file) = &self.config {
            inputs.push(Input::new("config", hashed(file)?));
        }
        // The schema the logs were read through, when not the default.
        if let Some(spec) = &self.schema_spec {
            let d = match crate::sources::schema::builtin_text(spec) {
                Some(text) => hash_bytes("built-in", text.as_bytes()),
                None => hashed(Path::new(spec))?,
            };
            inputs.push(Input::new("schema", d));
        }
        Ok(RunRecord {
            command_line: self.command_line.clone(),
            inputs,
        })
    }
}

/// The digest of an input file for run.json.
fn hashed(path: &Path) -> Result<crate::sources::digest::FileDigest> {
    hash_path(path)
        .with_context(|| format!("{}: cannot hash the file for run.json", path.display()))
}

/// A command-line argument as run.json shows it: API keys (`sk-...`) and the password of a
/// URL (`postgres://user:secret@host`, `?password=…`) masked, as database sources mask theirs.
fn shown_arg(a: &OsString) -> String {
    database::mask_url(&mask_secrets(&a.to_string_lossy()))
}

/// A table loaded on first use, then kept.
fn cached<T>(cell: &OnceCell<T>, load: impl FnOnce() -> Result<T>) -> Result<&T> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let v = load()?;
    Ok(cell.get_or_init(|| v))
}

/// The tolerances of `reconcile` and `report`.
fn tolerance(m: &MatchArgs) -> Tolerance {
    Tolerance {
        tokens: m.tolerance_tokens,
        pct: m.tolerance_pct,
        usd: m.tolerance_usd,
    }
}

/// Where the rate directory's tables come from: `--rates DIR`, else `./rates` when it holds the
/// table, else the tables built into the binary (a copy of `rates/` at build time).
struct RateFiles {
    dir: Option<PathBuf>,
    rates_override: Option<PathBuf>,
}

impl RateFiles {
    fn dir(&self) -> &Path {
        self.dir.as_deref().unwrap_or(Path::new("rates"))
    }

    /// The file the table `name` was read from: `None` for the built-in one. (The rate table
    /// is read from `--rates DIR` whenever it is given: [`RateFiles::rates`].)
    fn source(&self, name: &str) -> Option<PathBuf> {
        match (&self.dir, name) {
            (Some(dir), "models.csv") => Some(dir.join(name)),
            _ => self.find(name).map(|d| d.join(name)),
        }
    }

    /// The directory holding `name`, if it does.
    fn find(&self, name: &str) -> Option<PathBuf> {
        self.dir()
            .join(name)
            .is_file()
            .then(|| self.dir().to_path_buf())
    }

    fn rates(&self) -> Result<RateTable> {
        // A directory given must hold the table: its absence is an error, not the built-in.
        let table = match self.dir.clone().or_else(|| self.find("models.csv")) {
            Some(dir) => RateTable::load_dir(&dir)?,
            None => RateTable::builtin(),
        };
        Ok(match &self.rates_override {
            Some(file) => {
                let over = RateTable::load(file)?;
                table
                    .with_override(over)
                    .map_err(|m| anyhow!("{}: {m}", file.display()))?
            }
            None => table,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_json_masks_keys_and_url_passwords_in_the_command_line() {
        let shown = |s: &str| shown_arg(&OsString::from(s));
        assert_eq!(
            shown("postgresql://app:s3cret@db:5432/logs?table=calls"),
            "postgresql://app:***@db:5432/logs?table=calls"
        );
        assert_eq!(shown("postgres://app@db/logs"), "postgres://app@db/logs");
        assert_eq!(shown("--key=sk-or-v1-0123456789abcdef"), "--key=sk-***");
        assert_eq!(shown("https://host/a:b@c"), "https://host/a:b@c");
        assert_eq!(shown("out/2026-04"), "out/2026-04");
        assert_eq!(
            shown("postgresql://app@db/logs?table=calls&password=s3cret"),
            "postgresql://app@db/logs?table=calls&password=***"
        );
    }
}
