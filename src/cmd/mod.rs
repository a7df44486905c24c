//! One small file per subcommand, wiring the stages: readers → aggregation → pricing → writers.
//! Shared wiring (rate table, log scan, the human summary) lives here.

pub mod audit;
pub mod completions;
pub mod daily;
pub mod fees;
pub mod forecast;
pub mod rates;
pub mod reconcile;
pub mod report;
pub mod rollout;
pub mod shadow;

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::aggregate::Daily;
use crate::cli::{CommonArgs, Format, LogArgs};
use crate::domain::Period;
use crate::fees::policy::FeeBook;
use crate::output::{self, Sink, Table};
use crate::pricing::slugs::SlugMap;
use crate::pricing::RateTable;
use crate::sources::record::FieldSet;
use crate::sources::{self, CallSink, FileStats, Rejection, ScanOptions, ScanReport};

/// `--rates DIR`, else `./rates` when it holds a `models.csv`, else the table built into the
/// binary; then `--rates-override FILE`'s rows in place of the same provider and model.
pub fn load_rates(common: &CommonArgs) -> Result<RateTable> {
    let table = match &common.rates {
        Some(dir) => RateTable::load_dir(dir)?,
        None if Path::new("rates/models.csv").is_file() => RateTable::load_dir(Path::new("rates"))?,
        None => RateTable::builtin(),
    };
    Ok(match &common.rates_override {
        Some(file) => rates::with_override(table, file)?,
        None => table,
    })
}

/// `rates/slugs.csv` from the same place as the rate table.
pub fn load_slugs(common: &CommonArgs) -> Result<SlugMap> {
    Ok(match &common.rates {
        Some(dir) if dir.join("slugs.csv").is_file() => SlugMap::load_dir(dir)?,
        None if Path::new("rates/slugs.csv").is_file() => SlugMap::load_dir(Path::new("rates"))?,
        _ => SlugMap::builtin(),
    })
}

/// `rates/fees.toml` from the same place as the rate table.
pub fn load_fees(common: &CommonArgs) -> Result<FeeBook> {
    Ok(match &common.rates {
        Some(dir) if dir.join("fees.toml").is_file() => FeeBook::load_dir(dir)?,
        None if Path::new("rates/fees.toml").is_file() => FeeBook::load_dir(Path::new("rates"))?,
        _ => FeeBook::builtin(),
    })
}

pub fn period(logs: &LogArgs) -> Result<Period> {
    if let (Some(f), Some(t)) = (logs.from, logs.to) {
        if f > t {
            bail!("--from {f} is after --to {t}");
        }
    }
    Ok(Period {
        from: logs.from,
        to: logs.to,
    })
}

/// Whether the log scan may show a progress bar: set once from `--quiet` before the command
/// runs (the bar is for people at a terminal; `--quiet` asks for silence).
pub static PROGRESS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Reads every log file through `make_sink`; in `--strict` mode the first rejected row is fatal.
pub fn scan_logs<S: CallSink>(
    logs: &LogArgs,
    needed: FieldSet,
    make_sink: impl Fn() -> S + Sync,
) -> Result<(S, ScanReport)> {
    let (files, notes) = sources::discover(&logs.paths)?;
    let mut opts = ScanOptions {
        needed,
        strict: logs.strict,
        progress: PROGRESS.load(std::sync::atomic::Ordering::Relaxed),
        ..Default::default()
    };
    if let Some(n) = logs.threads {
        opts.threads = n.max(1);
    }
    let (sink, mut report) = sources::scan(&files, &opts, make_sink)?;
    report.notes.extend(notes);
    if logs.strict {
        if let Some(r) = report.rejections.first.first() {
            bail!("{r} (--strict stops at the first rejected row)");
        }
    }
    Ok((sink, report))
}

pub fn sink(common: &CommonArgs) -> Sink {
    match &common.out {
        Some(d) => Sink::Dir(d.clone()),
        None => Sink::Stdout,
    }
}

/// Writes the command's main table in `--format` (to `--out/NAME.csv` or stdout).
pub fn write_main(common: &CommonArgs, name: &str, table: &Table) -> Result<()> {
    let sink = sink(common);
    let (file, body) = match common.format {
        Format::Csv => (format!("{name}.csv"), table.csv()),
        Format::Json => (format!("{name}.jsonl"), table.json_lines()),
        Format::Table => {
            output::to_stdout(table.terminal().as_bytes())
                .context("writing the table to stdout")?;
            sink.write_secondary(&format!("{name}.csv"), &table.csv())
                .with_context(|| format!("writing {name}.csv"))?;
            return Ok(());
        }
    };
    sink.write(&file, &body)
        .with_context(|| format!("writing {file}"))
}

/// `rejected.csv` (the log rows, then `extra` rows of other inputs) and `files.csv` (the log
/// files, then `extra_files`) next to the main table (only with `--out`).
pub fn write_accounting(
    common: &CommonArgs,
    report: Option<&ScanReport>,
    extra: &[Rejection],
    extra_files: &[FileStats],
) -> Result<()> {
    let Sink::Dir(dir) = sink(common) else {
        return Ok(());
    };
    let extra_table = output::rejections_table(extra);
    match report {
        Some(report) => {
            let extra_csv = extra_table.csv_rows();
            let mut body = std::fs::File::open(report.rejections.csv_path())
                .context("reading back the rejected rows")?
                .chain(&extra_csv[..]);
            output::write_atomic_from(&dir.join("rejected.csv"), &mut body)
        }
        None => output::write_atomic(&dir.join("rejected.csv"), &extra_table.csv()),
    }
    .context("writing rejected.csv")?;
    let log_files = report.map(|r| &r.files[..]).unwrap_or_default();
    let files: Vec<FileStats> = log_files.iter().chain(extra_files).cloned().collect();
    output::write_atomic(&dir.join("files.csv"), &output::files_table(&files).csv())
        .context("writing files.csv")?;
    Ok(())
}

/// `--focus FILE`: the FOCUS dataset of `input`, written whole or not at all.
pub fn write_focus(path: Option<&Path>, input: &output::focus::FocusInput) -> Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let table = output::focus::focus_table(input);
    output::write_atomic(path, &table.csv()).with_context(|| format!("writing {}", path.display()))
}

/// `--xlsx FILE`: `sheets` in order, then Rejected and Files, the same rows as rejected.csv and
/// files.csv (Rejected holds the first [`output::xlsx::MAX_SHEET_ROWS`]; the CSV has them all).
pub fn write_xlsx(
    path: Option<&Path>,
    sheets: &[(&str, &Table)],
    report: Option<&ScanReport>,
    extra: &[Rejection],
    extra_files: &[FileStats],
) -> Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let mut book = output::xlsx::Workbook::new();
    for (name, table) in sheets {
        book.sheet(name, table)?;
    }
    let max = output::xlsx::MAX_SHEET_ROWS;
    let mut rejected = output::rejections_table(&[]);
    let mut total = extra.len();
    if let Some(report) = report {
        total += report.rejections.count as usize;
        let mut rdr = csv::Reader::from_path(report.rejections.csv_path())
            .context("reading back the rejected rows")?;
        for rec in rdr.records().take(max) {
            let rec = rec.context("reading back the rejected rows")?;
            // rejected.csv's text is neutralised for CSV; a sheet's string cell needs no quote.
            rejected.rows.push(
                rec.iter()
                    .map(|c| crate::domain::text::unsafe_text(c).to_string())
                    .collect(),
            );
        }
    }
    let room = max.saturating_sub(rejected.rows.len());
    rejected
        .rows
        .extend(output::rejections_table(extra).rows.into_iter().take(room));
    book.sheet_part("Rejected", &rejected, total - rejected.rows.len())?;
    let log_files = report.map(|r| &r.files[..]).unwrap_or_default();
    let files: Vec<FileStats> = log_files.iter().chain(extra_files).cloned().collect();
    book.sheet("Files", &output::files_table(&files))?;
    book.save(path)
}

/// Rejected rows of the non-log inputs, as the summary shows them (the log rows are shown by
/// [`print_summary`]).
pub fn print_rejections(common: &CommonArgs, extra: &[Rejection]) {
    if common.quiet {
        return;
    }
    for r in extra.iter().take(10) {
        eprintln!("  rejected {r}");
    }
    if extra.len() > 10 {
        eprintln!("  … and {} more rejected rows", extra.len() - 10);
    }
}

/// The human summary on stderr: rows per file, rejections, unpriced calls, total cost.
pub fn print_summary(common: &CommonArgs, report: &ScanReport, daily: &Daily) {
    if common.quiet {
        return;
    }
    print_scan(common, report);
    let requests: u64 = daily.rows.iter().map(|r| r.requests).sum();
    let failed: u64 = daily.rows.iter().map(|r| r.failed_requests).sum();
    let tokens: u128 = daily.rows.iter().map(|r| r.total_tokens()).sum();
    eprintln!(
        "total: {requests} billable calls, {failed} failed calls, {tokens} tokens, USD {} priced",
        crate::domain::money(daily.priced_total())
    );
    for ((p, m), (calls, toks)) in daily.unpriced() {
        eprintln!("UNPRICED: {p} {m}: {calls} calls, {toks} tokens have no rate (cost left empty in daily.csv)");
    }
}

/// The scan's part of the summary: notes, rows per file, the first rejected rows.
pub fn print_scan(common: &CommonArgs, report: &ScanReport) {
    if common.quiet {
        return;
    }
    for n in &report.notes {
        eprintln!("note: {n}");
    }
    for f in &report.files {
        eprintln!(
            "{}: {} rows read, {} used, {} outside --from/--to, {} rejected{}",
            f.file,
            f.read,
            f.used,
            f.out_of_range,
            f.rejected,
            if f.read == 0 {
                " (the file holds no rows: empty, or a header only)"
            } else {
                ""
            }
        );
    }
    for r in &report.rejections.first {
        eprintln!("  rejected {r}");
    }
    if report.rejections.count > report.rejections.first.len() as u64 {
        let where_ = if common.out.is_some() {
            "see rejected.csv"
        } else {
            "use --out to get rejected.csv"
        };
        eprintln!(
            "  … and {} more rejected rows ({where_})",
            report.rejections.count - report.rejections.first.len() as u64
        );
    }
}
