//! The run context: what a command's options mean, resolved once (as ripgrep's `HiArgs` is built
//! from its parsed `LowArgs`) and passed down. Stages receive plain values from it (a rate table,
//! a log set, a period); they never see the command line.
//!
//! The tables in the rate directory are loaded on first use and kept: a command loads only what
//! it needs, so a `fees.toml` being edited cannot break `daily`, and nothing is read twice.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use chrono_tz::Tz;

use crate::aggregate::Daily;
use crate::cli::{CommonArgs, FeeArgs, LogArgs, MatchArgs};
use crate::domain::{Money, Period, Tolerance};
use crate::fees::policy::FeeBook;
use crate::output::{Out, Sink};
use crate::pricing::slugs::SlugMap;
use crate::pricing::RateTable;
use crate::reconcile::{self, Inputs, Reconciliation};
use crate::showback::{self, FromLogs, Grain, GroupBy, Showback};
use crate::sources::LogSet;

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
    fees: OnceCell<FeeBook>,
}

impl Context {
    pub(crate) fn new(common: &CommonArgs, logs: &LogArgs) -> Result<Context> {
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
            fees: OnceCell::new(),
        })
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
        let (rates, slugs) = (self.rates()?, self.slugs()?);
        let (book, notes) = self.fee_book_with(fees)?;
        let r = reconcile::compute(&Inputs {
            logs: &self.logs,
            period: self.period,
            tz: self.tz,
            rates,
            slugs,
            book: &book,
            invoices,
            sheet: matching.sheet.as_deref(),
            tolerance: tolerance(matching),
            topups: &fees.topups,
            subscription_price: fees.byok_subscription,
            by,
        })?;
        Ok((r, notes))
    }

    /// The showback of a run without a ledger (`daily`, `forecast`) from its scan's sinks: the
    /// BYOK fees and subscriptions of `fees.toml` as written (`price` fills a subscription whose
    /// price is "parameter") shared among the tenants.
    pub(crate) fn showback(
        &self,
        sinks: Option<showback::Sinks<'_>>,
        daily: &Daily,
        price: Option<Money>,
    ) -> Result<Option<Showback>> {
        let Some(sinks) = sinks else {
            return Ok(None);
        };
        let (s, _) = showback::from_logs(FromLogs {
            sinks,
            daily,
            logs: &self.logs,
            book: self.fee_book()?,
            rates: self.rates()?,
            tz: self.tz,
            period: self.period,
            subscription_price: price,
        })?;
        Ok(Some(s))
    }

    /// The output sink alone, for commands that read no logs.
    pub(crate) fn sink(&self) -> &Sink {
        &self.out.sink
    }
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
