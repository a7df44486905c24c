//! Input readers: find the log files, read them in large chunks on one thread, parse the chunks on
//! worker threads, and hand every call to a per-thread [`CallSink`].
//!
//! Every format goes through the same pipeline and the same accounting: a row is used, outside
//! the requested days, or rejected with file, line and reason. Line numbers survive parallelism
//! because each chunk carries its sequence number and its line count is resolved afterwards.
//!
//! The log readers' own code is in `discovery` (which files, in which format), `sink` (the
//! consumer of calls) and `pipeline` (the chunked, parallel read); this file holds the types
//! every reader shares: the fatal error, a rejected row, the per-file counts and the options.

pub(crate) mod database;
pub mod delimited;
pub(crate) mod digest;
pub mod invoices;
pub(crate) mod json_scan;
pub mod jsonl;
mod logset;
pub(crate) mod parquet;
pub mod record;
pub(crate) mod rejects;
pub(crate) mod schema;
pub(crate) mod sheet;
pub(crate) mod spill;
pub(crate) mod timestamp;
pub mod topups;
pub(crate) mod usage_file;

mod discovery;
mod pipeline;
mod sink;

pub(crate) use logset::{strict_stop, LogSet};

pub(crate) use discovery::{dir_files, once_each};
pub(crate) use discovery::{discover, Format, LogFile};
pub(crate) use pipeline::scan;
// The Parquet reader sends its frames to the workers itself.
use pipeline::Work;
pub(crate) use sink::{CallSink, Disposition, PerProvider, ScanOrder};

use std::path::Path;

use record::FieldSet;

/// A problem that stops the run (exit status 2), as opposed to a rejected row.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    Usage(String),
}

pub(crate) fn file_error(path: &Path, message: impl ToString) -> InputError {
    InputError::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// One rejected row.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub file: String,
    /// Physical line (text formats, 1-based, header included) or row number (Parquet, 1-based).
    pub line: u64,
    pub column: Option<&'static str>,
    pub reason: String,
    /// The row as read, cut to 200 characters, API keys masked.
    pub raw: String,
}

/// `file:line: column X: reason`, as messages show a rejected row.
impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(c) = self.column {
            write!(f, "column {c}: ")?;
        }
        f.write_str(&self.reason)
    }
}

/// Rows read, used, out of range, skipped and rejected for one file:
/// read = used + out_of_range + skipped + rejected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileStats {
    pub file: String,
    pub read: u64,
    pub used: u64,
    pub out_of_range: u64,
    pub rejected: u64,
    /// Rows that hold nothing to use and nothing wrong: an export's idle bucket (every value
    /// empty but the bucket's times). Counted, never rejected.
    pub skipped: u64,
}

#[derive(Debug)]
pub(crate) struct ScanReport {
    pub files: Vec<FileStats>,
    pub rejections: rejects::Rejections,
    pub notes: Vec<String>,
    /// Size and SHA-256 of every file read, in order, when [`ScanOptions::hash`] asked for them.
    pub digests: Vec<digest::FileDigest>,
}

impl ScanReport {
    /// No file, no row: what a run reports before its inputs are counted another way.
    pub(crate) fn empty() -> std::io::Result<ScanReport> {
        Ok(ScanReport {
            files: Vec::new(),
            rejections: rejects::Rejections::none()?,
            notes: Vec::new(),
            digests: Vec::new(),
        })
    }
}

pub(crate) struct ScanOptions {
    /// The fields the consumer reads; the rest are skipped (and not validated).
    pub needed: FieldSet,
    pub threads: usize,
    pub chunk_bytes: usize,
    /// Stop reading at the first rejected row.
    pub strict: bool,
    /// Show a progress bar on stderr (when it is a terminal and the inputs are large).
    pub progress: bool,
    /// Hash every file (for `run.json`) on a thread of its own while the workers parse.
    pub hash: bool,
    /// How records are read (`--schema`).
    pub schema: schema::Schema,
    /// `--from/--to`: a database source reads only the months they touch.
    pub period: crate::domain::Period,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            needed: FieldSet::ALL,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            chunk_bytes: 4 << 20,
            strict: false,
            progress: false,
            hash: false,
            schema: schema::Schema::Native,
            period: crate::domain::Period::default(),
        }
    }
}

/// A line longer than this is not a log record; stop rather than buffer without bound.
pub(crate) const MAX_RECORD_BYTES: usize = 64 << 20;

/// Masks anything that looks like an API key (`sk-…`) so rejected rows can be shared.
pub(crate) fn mask_secrets(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("sk-") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let n = tail
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map_or(tail.len(), |(j, _)| j);
        if n >= 12 {
            out.push_str("sk-***");
        } else {
            out.push_str(&tail[..n]);
        }
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        assert_eq!(
            mask_secrets(r#"{"key":"sk-or-v1-abcdef0123456789","m":"sk-x"}"#),
            r#"{"key":"sk-***","m":"sk-x"}"#
        );
    }
}
