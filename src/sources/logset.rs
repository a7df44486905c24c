//! The request logs of one run and how they are read. Every command and stage that reads logs
//! goes through [`LogSet::scan`], so `--strict`, `--threads` and the progress bar mean the same
//! everywhere.

use std::cell::OnceCell;
use std::path::PathBuf;

use super::digest::FileDigest;
use super::record::FieldSet;
use super::schema::Schema;
use super::{discover, scan, CallSink, InputError, ScanOptions, ScanReport};

/// `--logs` paths with the options that say how to read them.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogSet {
    pub paths: Vec<PathBuf>,
    /// Stop at the first rejected row (`--strict`).
    pub strict: bool,
    /// Parsing threads (`--threads`); all cores when `None`.
    pub threads: Option<usize>,
    /// A progress bar on stderr may show (not `--quiet`; shown only on a terminal, for large
    /// inputs).
    pub progress: bool,
    /// Hash the files while reading them (the run writes `run.json`).
    pub hash: bool,
    /// The files' digests, from the first read that hashed them (a second pass needs none).
    pub digests: OnceCell<Vec<FileDigest>>,
    /// How the records are shaped (`--schema`).
    pub schema: Schema,
    /// `--from/--to`, pushed into a database source's query.
    pub period: crate::domain::Period,
}

impl LogSet {
    pub(crate) fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Reads every log file through `make_sink` (one sink per thread, merged at the end); in
    /// `--strict` mode the first rejected row is fatal.
    pub(crate) fn scan<S: CallSink>(
        &self,
        needed: FieldSet,
        make_sink: impl Fn() -> S + Sync,
    ) -> Result<(S, ScanReport), InputError> {
        let (files, notes) = discover(&self.paths)?;
        let mut opts = ScanOptions {
            needed,
            strict: self.strict,
            progress: self.progress,
            hash: self.hash && self.digests.get().is_none(),
            schema: self.schema.clone(),
            period: self.period,
            ..Default::default()
        };
        if let Some(n) = self.threads {
            opts.threads = n.max(1);
        }
        let (sink, mut report) = scan(&files, &opts, make_sink)?;
        report.notes.extend(notes);
        if let Schema::Mapped(m) = &self.schema {
            let why = if m.call_when {
                "not calls by the schema's call_when, or matched by its skip_when"
            } else {
                "no token counts: not LLM calls"
            };
            for f in report.files.iter().filter(|f| f.skipped > 0) {
                report.notes.push(format!(
                    "{}: {} record(s) skipped ({why}; schema `{}`)",
                    f.file, f.skipped, m.name
                ));
            }
        }
        if opts.hash {
            let _ = self.digests.set(report.digests.clone());
        }
        if self.strict {
            if let Some(r) = report.rejections.first.first() {
                return Err(strict_stop(r));
            }
        }
        Ok((sink, report))
    }
}

/// The error `--strict` stops with at a rejected row of any input.
pub(crate) fn strict_stop(r: &impl std::fmt::Display) -> InputError {
    InputError::Usage(format!("{r} (--strict stops at the first rejected row)"))
}
