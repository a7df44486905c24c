//! Writers: every table and file the tool writes, in CSV, JSON lines, terminal tables, XLSX,
//! HTML and FOCUS, each file written whole or not at all. Depends on `domain` and the stages'
//! result types only; no stage imports it.
//!
//! Text cells that a spreadsheet would run as a formula are neutralised (OWASP CSV injection):
//! a leading single quote, and RFC 4180 quoting by the `csv` crate.

pub(crate) mod focus;
pub(crate) mod html;
pub(crate) mod report_page;
pub(crate) mod run;
pub(crate) mod summary;
mod table;
pub(crate) mod tables;
pub(crate) mod xlsx;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub(crate) use run::{write_focus, write_xlsx, Out};
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

/// Where a table goes: a file in `--out` (atomically) or stdout.
pub(crate) enum Sink {
    Dir(PathBuf),
    Stdout,
}

impl Sink {
    /// Writes `name` via a temporary file in the same directory, renamed into place, so a killed
    /// run never leaves half a CSV behind.
    pub(crate) fn write(&self, name: &str, body: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout => to_stdout(body),
            Sink::Dir(dir) => write_atomic(&dir.join(name), body),
        }
    }

    /// Copies a finished file into `--out` (atomically); nothing on stdout.
    pub(crate) fn copy_secondary(&self, name: &str, from: &Path) -> io::Result<()> {
        match self {
            Sink::Stdout => Ok(()),
            Sink::Dir(dir) => write_atomic_from(&dir.join(name), &mut std::fs::File::open(from)?),
        }
    }

    /// Secondary tables only go to `--out`; on stdout there is room for one table.
    pub(crate) fn write_secondary(&self, name: &str, body: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout => Ok(()),
            Sink::Dir(_) => self.write(name, body),
        }
    }
}

/// Writes to stdout; a reader that stopped early (`| head`) is no error.
pub(crate) fn to_stdout(body: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(body).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

pub(crate) fn write_atomic(path: &Path, body: &[u8]) -> io::Result<()> {
    write_atomic_from(path, &mut &body[..])
}

/// As [`write_atomic`], streaming the body from a reader.
pub(crate) fn write_atomic_from(path: &Path, body: &mut dyn io::Read) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut w = io::BufWriter::new(tmp.as_file_mut());
        io::copy(body, &mut w)?;
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
