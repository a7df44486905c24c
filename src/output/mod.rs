//! Writers: every table and file the tool writes, in CSV, JSON lines, terminal tables, XLSX,
//! HTML and FOCUS, and the run's manifest (`run.json`); a run's files are staged and appear
//! together ([`staging`]). Depends on `domain` and the stages' result types only; no stage
//! imports it.
//!
//! Text cells that a spreadsheet would run as a formula are neutralised (OWASP CSV injection):
//! a leading single quote, and RFC 4180 quoting by the `csv` crate.

pub(crate) mod focus;
pub(crate) mod html;
mod manifest;
pub(crate) mod report_page;
pub(crate) mod run;
mod staging;
pub(crate) mod summary;
mod table;
pub(crate) mod tables;
pub(crate) mod usage_file;
pub(crate) mod xlsx;

use std::io::{self, Write};
use std::path::Path;

pub(crate) use manifest::{Input, RunRecord};
pub(crate) use run::Out;
pub(crate) use table::{is_flagged, Kind, Table};

/// Output format of a command's main table (`--format`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    /// JSON lines with the CSV's columns
    Json,
    /// An aligned table on stdout (the CSV files are still written to --out)
    Table,
}

/// Writes to stdout; a reader that stopped early (`| head`) is no error.
pub(crate) fn to_stdout(body: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(body).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// Replaces one file whole (`rates import-litellm --write`): a temporary file in the same
/// directory, renamed into place, so a killed run leaves the old file or the new, never half.
pub(crate) fn write_atomic(path: &Path, body: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut w = io::BufWriter::new(tmp.as_file_mut());
        w.write_all(body)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    // Temporary files are private (0600); a report is as shareable as any file the user writes.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o777);
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        write_atomic(&p, b"a\n").unwrap();
        write_atomic(&p, b"b\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"b\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
