//! Which log files a run reads and in which format: `--logs` paths expanded (a directory to the
//! log files inside it), the format told by the file name, and each file read once however often
//! it is named. The spreadsheet inputs list their files with the same helpers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::database::{self, DbSource};
use super::{file_error, InputError};

/// Formats the contract names, detected from the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Jsonl,
    Csv,
    Parquet,
}

impl Format {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "JSON lines",
            Format::Csv => "CSV",
            Format::Parquet => "Parquet",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct LogFile {
    /// The file as named; for a database table, its shown URL (no password).
    pub path: PathBuf,
    pub format: Format,
    pub gzip: bool,
    /// A database table read as a CSV stream (`--logs postgresql://…`), not a file.
    pub db: Option<Arc<DbSource>>,
}

impl LogFile {
    /// `None` when the name is not a log format we read.
    pub(crate) fn detect(path: &Path) -> Option<LogFile> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let (stem, gzip) = match name.strip_suffix(".gz") {
            Some(s) => (s, true),
            None => (name.as_str(), false),
        };
        let format = if stem.ends_with(".jsonl") || stem.ends_with(".ndjson") {
            Format::Jsonl
        } else if stem.ends_with(".csv") {
            Format::Csv
        } else if stem.ends_with(".parquet") {
            Format::Parquet
        } else {
            return None;
        };
        Some(LogFile {
            path: path.to_path_buf(),
            format,
            gzip,
            db: None,
        })
    }
}

/// `x.json` or `x.json.gz`, read as JSON lines.
fn json_lines(path: &Path) -> Option<LogFile> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let gzip = name.ends_with(".json.gz");
    (gzip || name.ends_with(".json")).then(|| LogFile {
        path: path.to_path_buf(),
        format: Format::Jsonl,
        gzip,
        db: None,
    })
}

/// The files (not directories) directly inside `dir`, in name order.
pub(crate) fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| file_error(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    Ok(entries)
}

/// Expands `--logs` arguments: files as given, directories to every log file inside (sorted, not
/// recursive), database URLs to their table. Other files in a directory are skipped and named in
/// the returned notes.
pub(crate) fn discover(paths: &[PathBuf]) -> Result<(Vec<LogFile>, Vec<String>), InputError> {
    let mut files = Vec::new();
    let mut notes = Vec::new();
    for p in paths {
        if database::is_database(p) {
            let src = DbSource::parse(&p.to_string_lossy())?;
            files.push(LogFile {
                path: PathBuf::from(&src.shown),
                format: Format::Csv,
                gzip: false,
                db: Some(Arc::new(src)),
            });
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|e| file_error(p, e))?;
        if meta.is_dir() {
            let entries = dir_files(p)?;
            let before = files.len();
            for e in entries {
                match LogFile::detect(&e) {
                    Some(f) => files.push(f),
                    None => notes.push(format!("skipped {} (not a log file)", e.display())),
                }
            }
            if files.len() == before {
                return Err(file_error(
                    p,
                    "directory holds no .jsonl, .ndjson, .csv or .parquet files (optionally .gz)",
                ));
            }
        } else {
            // A file named on its own may also be `.json` holding JSON lines (the OpenTelemetry
            // Collector's file exporter writes whatever name it is given); in a directory
            // `.json` files are left alone (run.json, price files).
            let named = LogFile::detect(p).or_else(|| json_lines(p));
            files.push(named.ok_or_else(|| {
                file_error(p, "unknown log format: expected .jsonl, .ndjson, .json, .csv or .parquet, optionally .gz")
            })?);
        }
    }
    if files.is_empty() {
        return Err(InputError::Usage("no log files given (--logs)".into()));
    }
    let files = once_each(files, |f| &f.path, &mut notes);
    Ok((files, notes))
}

/// Each file once: the same file named twice (`--logs dir --logs dir/a.jsonl`, a symlink) would
/// count its rows twice. Later mentions are dropped with a note.
pub(crate) fn once_each<T>(
    files: Vec<T>,
    path: impl Fn(&T) -> &Path,
    notes: &mut Vec<String>,
) -> Vec<T> {
    let mut seen: HashMap<PathBuf, PathBuf> = HashMap::new();
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let p = path(&f);
        let key = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        match seen.get(&key) {
            Some(first) => notes.push(format!(
                "{} names the same file as {}: read once",
                p.display(),
                first.display()
            )),
            None => {
                seen.insert(key, p.to_path_buf());
                out.push(f);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        let d = |n: &str| LogFile::detect(Path::new(n)).map(|f| (f.format, f.gzip));
        assert_eq!(d("a.jsonl.gz"), Some((Format::Jsonl, true)));
        assert_eq!(d("a.NDJSON"), Some((Format::Jsonl, false)));
        assert_eq!(d("a.csv"), Some((Format::Csv, false)));
        assert_eq!(d("a.parquet"), Some((Format::Parquet, false)));
        assert_eq!(d("a.txt"), None);
    }
}
