//! The files of one run: the main table in `--format` (to `--out` or stdout), the secondary
//! tables, the accounting of every input row (`rejected.csv`, `files.csv`), and the optional
//! workbook and FOCUS dataset. Each file is written whole or not at all.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{focus, tables, to_stdout, write_atomic, write_atomic_from, xlsx, Format, Sink, Table};
use crate::domain::text::unsafe_text;
use crate::sources::{FileStats, Rejection, ScanReport};

/// Where a run's tables go and how: `--out`, `--format`, `--quiet`.
pub(crate) struct Out {
    pub sink: Sink,
    pub format: Format,
    /// No human summary on stderr.
    pub quiet: bool,
}

impl Out {
    pub(crate) fn new(dir: Option<&Path>, format: Format, quiet: bool) -> Out {
        Out {
            sink: match dir {
                Some(d) => Sink::Dir(d.to_path_buf()),
                None => Sink::Stdout,
            },
            format,
            quiet,
        }
    }

    /// `--out DIR`, when given.
    pub(crate) fn dir(&self) -> Option<&PathBuf> {
        match &self.sink {
            Sink::Dir(d) => Some(d),
            Sink::Stdout => None,
        }
    }

    /// Writes the command's main table in `--format` (to `--out/NAME.csv` or stdout).
    pub(crate) fn write_main(&self, name: &str, table: &Table) -> Result<()> {
        let (file, body) = match self.format {
            Format::Csv => (format!("{name}.csv"), table.csv()),
            Format::Json => (format!("{name}.jsonl"), table.json_lines()),
            Format::Table => {
                to_stdout(table.terminal().as_bytes()).context("writing the table to stdout")?;
                self.sink
                    .write_secondary(&format!("{name}.csv"), &table.csv())
                    .with_context(|| format!("writing {name}.csv"))?;
                return Ok(());
            }
        };
        self.sink
            .write(&file, &body)
            .with_context(|| format!("writing {file}"))
    }

    /// A secondary table as `NAME` in `--out` (nothing without it: stdout has room for one).
    pub(crate) fn write_secondary(&self, name: &str, table: &Table) -> Result<()> {
        self.sink
            .write_secondary(name, &table.csv())
            .with_context(|| format!("writing {name}"))
    }

    /// `rejected.csv` (the log rows, then `extra` rows of other inputs) and `files.csv` (the log
    /// files, then `extra_files`) next to the main table (only with `--out`).
    pub(crate) fn write_accounting(
        &self,
        report: Option<&ScanReport>,
        extra: &[Rejection],
        extra_files: &[FileStats],
    ) -> Result<()> {
        let Some(dir) = self.dir() else {
            return Ok(());
        };
        let extra_table = tables::rejections_table(extra);
        match report {
            Some(report) => {
                let extra_csv = extra_table.csv_rows();
                let mut body = std::fs::File::open(report.rejections.csv_path())
                    .context("reading back the rejected rows")?
                    .chain(&extra_csv[..]);
                write_atomic_from(&dir.join("rejected.csv"), &mut body)
            }
            None => write_atomic(&dir.join("rejected.csv"), &extra_table.csv()),
        }
        .context("writing rejected.csv")?;
        let files = all_files(report, extra_files);
        write_atomic(&dir.join("files.csv"), &tables::files_table(&files).csv())
            .context("writing files.csv")?;
        Ok(())
    }
}

fn all_files(report: Option<&ScanReport>, extra_files: &[FileStats]) -> Vec<FileStats> {
    let log_files = report.map(|r| &r.files[..]).unwrap_or_default();
    log_files.iter().chain(extra_files).cloned().collect()
}

/// `--focus FILE`: the FOCUS dataset of `input`, written whole or not at all.
pub(crate) fn write_focus(path: Option<&Path>, input: &focus::FocusInput) -> Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let table = focus::focus_table(input);
    write_atomic(path, &table.csv()).with_context(|| format!("writing {}", path.display()))
}

/// `--xlsx FILE`: `sheets` in order, then Rejected and Files, the same rows as rejected.csv and
/// files.csv (Rejected holds the first [`xlsx::MAX_SHEET_ROWS`]; the CSV has them all).
pub(crate) fn write_xlsx(
    path: Option<&Path>,
    sheets: &[(&str, &Table)],
    report: Option<&ScanReport>,
    extra: &[Rejection],
    extra_files: &[FileStats],
) -> Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let mut book = xlsx::Workbook::new();
    for (name, table) in sheets {
        book.sheet(name, table)?;
    }
    let max = xlsx::MAX_SHEET_ROWS;
    let mut rejected = tables::rejections_table(&[]);
    let mut total = extra.len();
    if let Some(report) = report {
        total += report.rejections.count as usize;
        let mut rdr = csv::Reader::from_path(report.rejections.csv_path())
            .context("reading back the rejected rows")?;
        for rec in rdr.records().take(max) {
            let rec = rec.context("reading back the rejected rows")?;
            // rejected.csv's text is neutralised for CSV; a sheet's string cell needs no quote.
            rejected
                .rows
                .push(rec.iter().map(|c| unsafe_text(c).to_string()).collect());
        }
    }
    let room = max.saturating_sub(rejected.rows.len());
    rejected
        .rows
        .extend(tables::rejections_table(extra).rows.into_iter().take(room));
    book.sheet_part("Rejected", &rejected, total - rejected.rows.len())?;
    book.sheet(
        "Files",
        &tables::files_table(&all_files(report, extra_files)),
    )?;
    book.save(path)
}
