//! The files of one run: the main table in `--format` (to `--out` or stdout), the secondary
//! tables, the accounting of every input row (`rejected.csv`, `files.csv`), the optional
//! workbook and FOCUS dataset, and `run.json`. Every file is staged and the set is committed
//! together at the end ([`super::staging`]): a run that fails leaves the previous run's files.

use std::cell::RefCell;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::manifest::{self, RunRecord};
use super::staging::{Staged, Staging};
use super::{focus, tables, to_stdout, xlsx, Format, Table};
use crate::domain::text::unsafe_text;
use crate::sources::{FileStats, Rejection, ScanReport};

/// Where a run's tables go and how: `--out`, `--format`, `--quiet`; and the files staged so far.
pub(crate) struct Out {
    dir: Option<PathBuf>,
    pub format: Format,
    /// No human summary on stderr.
    pub quiet: bool,
    staging: RefCell<Staging>,
}

impl Out {
    pub(crate) fn new(dir: Option<&Path>, format: Format, quiet: bool) -> Out {
        Out {
            dir: dir.map(Path::to_path_buf),
            format,
            quiet,
            staging: RefCell::default(),
        }
    }

    /// `--out DIR`, when given.
    pub(crate) fn dir(&self) -> Option<&PathBuf> {
        self.dir.as_ref()
    }

    /// Stages `body` as the file `target` of this run.
    fn stage(&self, target: &Path, shown: &str, body: &mut dyn Read) -> Result<()> {
        self.staging
            .borrow_mut()
            .stage(target, body)
            .with_context(|| format!("writing {shown}"))
    }

    /// Stages `body` as `name` in `--out` (nothing without it).
    fn stage_in_out(&self, name: &str, body: &mut dyn Read) -> Result<()> {
        match &self.dir {
            Some(d) => self.stage(&d.join(name), name, body),
            None => Ok(()),
        }
    }

    /// Writes the command's main table in `--format` (to `--out/NAME.csv` or stdout).
    pub(crate) fn write_main(&self, name: &str, table: &Table) -> Result<()> {
        let (file, body) = match self.format {
            Format::Csv => (format!("{name}.csv"), table.csv()),
            Format::Json => (format!("{name}.jsonl"), table.json_lines()),
            Format::Table => {
                to_stdout(table.terminal().as_bytes()).context("writing the table to stdout")?;
                return self.stage_in_out(&format!("{name}.csv"), &mut &table.csv()[..]);
            }
        };
        match &self.dir {
            Some(_) => self.stage_in_out(&file, &mut &body[..]),
            None => to_stdout(&body).with_context(|| format!("writing {file}")),
        }
    }

    /// Declares `NAME` in `--out` (`evidence`) the run's own: when the run's files are put in
    /// place, files there that this run did not write (a previous run's claims) are removed, so
    /// the directory holds exactly the files this run's tables name.
    pub(crate) fn own_dir(&self, name: &str) {
        if let Some(d) = &self.dir {
            self.staging.borrow_mut().own_dir(&d.join(name));
        }
    }

    /// A secondary table as `NAME` in `--out` (nothing without it: stdout has room for one).
    pub(crate) fn write_secondary(&self, name: &str, table: &Table) -> Result<()> {
        self.stage_in_out(name, &mut &table.csv()[..])
    }

    /// A finished file copied in as `NAME` in `--out` (nothing without it).
    pub(crate) fn copy_secondary(&self, name: &str, from: &Path) -> Result<()> {
        if self.dir.is_none() {
            return Ok(());
        }
        let mut file = std::fs::File::open(from).with_context(|| format!("writing {name}"))?;
        self.stage_in_out(name, &mut file)
    }

    /// A file of the command's own (`report.html`) in `--out`.
    pub(crate) fn write_file(&self, name: &str, body: &[u8]) -> Result<()> {
        self.stage_in_out(name, &mut &body[..])
    }

    /// `rejected.csv` (the log rows, then `extra` rows of other inputs) and `files.csv` (the log
    /// files, then `extra_files`) next to the main table (only with `--out`).
    pub(crate) fn write_accounting(
        &self,
        report: Option<&ScanReport>,
        extra: &[Rejection],
        extra_files: &[FileStats],
    ) -> Result<()> {
        if self.dir.is_none() {
            return Ok(());
        }
        let extra_table = tables::rejections_table(extra);
        match report {
            Some(report) => {
                let extra_csv = extra_table.csv_rows();
                let mut body = std::fs::File::open(report.rejections.csv_path())
                    .context("reading back the rejected rows")?
                    .chain(&extra_csv[..]);
                self.stage_in_out("rejected.csv", &mut body)
            }
            None => self.stage_in_out("rejected.csv", &mut &extra_table.csv()[..]),
        }?;
        let files = all_files(report, extra_files);
        self.stage_in_out("files.csv", &mut &tables::files_table(&files).csv()[..])
    }

    /// `--focus FILE`: the FOCUS dataset of `input`.
    pub(crate) fn write_focus(&self, path: Option<&Path>, input: &focus::FocusInput) -> Result<()> {
        let Some(path) = path else {
            return Ok(());
        };
        let table = focus::focus_table(input);
        self.stage(path, &path.display().to_string(), &mut &table.csv()[..])
    }

    /// `--usage-out FILE`: the usage groups (docs/engines.md), with the rest of the run.
    pub(crate) fn write_usage(&self, path: Option<&Path>, body: &[u8]) -> Result<()> {
        match path {
            Some(path) => self.stage(path, &path.display().to_string(), &mut &body[..]),
            None => Ok(()),
        }
    }

    /// `--xlsx FILE`: `sheets` in order, then Rejected and Files, the same rows as rejected.csv
    /// and files.csv (Rejected holds the first [`xlsx::MAX_SHEET_ROWS`]; the CSV has them all).
    pub(crate) fn write_xlsx(
        &self,
        path: Option<&Path>,
        sheets: &[(&str, &Table)],
        report: Option<&ScanReport>,
        extra: &[Rejection],
        extra_files: &[FileStats],
    ) -> Result<()> {
        let Some(path) = path else {
            return Ok(());
        };
        let body = workbook(sheets, report, extra, extra_files)?;
        self.stage(path, &path.display().to_string(), &mut &body[..])
    }

    /// Ends the run: with `--out`, stages `run.json` (`record` and every file staged), then
    /// puts every file in place together.
    pub(crate) fn commit(&self, record: &RunRecord) -> Result<()> {
        let mut staging = self.staging.take();
        if let Some(dir) = &self.dir {
            let out_dir = Staging::target_dir(&dir.join("run.json"))
                .with_context(|| format!("writing {}", dir.display()))?;
            let outputs: Vec<(String, &Staged)> = staging
                .files()
                .iter()
                .map(|f| (shown_path(&staging, f, &out_dir), f))
                .collect();
            let body = manifest::render(record, &outputs);
            staging
                .stage(&dir.join("run.json"), &mut &body[..])
                .context("writing run.json")?;
        }
        staging
            .commit()
            .context("putting the run's files in place (the previous files are as they were)")
    }
}

/// How run.json names an output: by its path inside `--out` (`recon.csv`, `evidence/….csv`),
/// else by the path as given.
fn shown_path(staging: &Staging, f: &Staged, out_dir: &Path) -> String {
    match (
        f.target.file_name(),
        staging.dir_of(f).strip_prefix(out_dir),
    ) {
        (Some(name), Ok(sub)) => sub.join(name).to_string_lossy().into_owned(),
        _ => f.target.display().to_string(),
    }
}

fn all_files(report: Option<&ScanReport>, extra_files: &[FileStats]) -> Vec<FileStats> {
    let log_files = report.map(|r| &r.files[..]).unwrap_or_default();
    log_files.iter().chain(extra_files).cloned().collect()
}

/// The workbook of `--xlsx`, as bytes.
fn workbook(
    sheets: &[(&str, &Table)],
    report: Option<&ScanReport>,
    extra: &[Rejection],
    extra_files: &[FileStats],
) -> Result<Vec<u8>> {
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
    book.into_bytes()
}
