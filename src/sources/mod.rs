//! Input readers: find the log files, read them in large chunks on one thread, parse the chunks on
//! worker threads, and hand every call to a per-thread [`CallSink`].
//!
//! Every format goes through the same pipeline and the same accounting: a row is used, outside
//! the requested days, or rejected with file, line and reason. Line numbers survive parallelism
//! because each chunk carries its sequence number and its line count is resolved afterwards.

pub mod delimited;
pub mod invoices;
pub mod jsonl;
mod logset;
pub(crate) mod parquet;
pub mod record;
pub(crate) mod rejects;
pub(crate) mod sheet;
pub(crate) mod timestamp;
pub mod topups;

pub use logset::{strict_stop, LogSet};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::domain::Call;
use delimited::CsvLayout;
use record::{FieldSet, RowError};

/// Formats the contract names, detected from the file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    Parquet,
}

#[derive(Debug, Clone)]
pub struct LogFile {
    pub path: PathBuf,
    pub format: Format,
    pub gzip: bool,
}

impl LogFile {
    /// `None` when the name is not a log format we read.
    pub fn detect(path: &Path) -> Option<LogFile> {
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
        })
    }
}

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
/// recursive). Other files in a directory are skipped and named in the returned notes.
pub fn discover(paths: &[PathBuf]) -> Result<(Vec<LogFile>, Vec<String>), InputError> {
    let mut files = Vec::new();
    let mut notes = Vec::new();
    for p in paths {
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
            files.push(LogFile::detect(p).ok_or_else(|| {
                file_error(p, "unknown log format: expected .jsonl, .ndjson, .csv or .parquet, optionally .gz")
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

/// What a sink did with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Used,
    /// Outside `--from`/`--to`: read and valid, deliberately not counted.
    OutOfRange,
    /// Valid but refused by a limit (the reason names it): a rejected row like any other.
    Rejected(&'static str),
}

/// Per-thread consumer of calls; the stages after the readers implement it.
pub trait CallSink: Send {
    fn accept(&mut self, call: &Call<'_>) -> Disposition;
    fn merge(&mut self, other: Self);
}

/// Two sinks fed the same calls in one pass; the first one's disposition counts, and a call it
/// rejects is not passed on.
impl<A: CallSink, B: CallSink> CallSink for (A, B) {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let d = self.0.accept(call);
        if !matches!(d, Disposition::Rejected(_)) {
            self.1.accept(call);
        }
        d
    }

    fn merge(&mut self, other: Self) {
        self.0.merge(other.0);
        self.1.merge(other.1);
    }
}

/// A sink that may not be needed this run.
impl<S: CallSink> CallSink for Option<S> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        self.as_mut().map_or(Disposition::Used, |s| s.accept(call))
    }

    fn merge(&mut self, other: Self) {
        if let (Some(a), Some(b)) = (self.as_mut(), other) {
            a.merge(b);
        }
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

/// Rows read, used, out of range and rejected for one file: read = used + out_of_range + rejected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileStats {
    pub file: String,
    pub read: u64,
    pub used: u64,
    pub out_of_range: u64,
    pub rejected: u64,
}

#[derive(Debug)]
pub struct ScanReport {
    pub files: Vec<FileStats>,
    pub rejections: rejects::Rejections,
    pub notes: Vec<String>,
}

pub struct ScanOptions {
    /// The fields the consumer reads; the rest are skipped (and not validated).
    pub needed: FieldSet,
    pub threads: usize,
    pub chunk_bytes: usize,
    /// Stop reading at the first rejected row.
    pub strict: bool,
    /// Show a progress bar on stderr (when it is a terminal and the inputs are large).
    pub progress: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            needed: FieldSet::ALL,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            chunk_bytes: 4 << 20,
            strict: false,
            progress: false,
        }
    }
}

/// A line longer than this is not a log record; stop rather than buffer without bound.
pub(crate) const MAX_RECORD_BYTES: usize = 64 << 20;

enum Work {
    Text {
        file: usize,
        seq: u64,
        csv: Option<Arc<CsvLayout>>,
        buf: Vec<u8>,
        len: usize,
    },
    /// A chunk of an uncompressed file, parsed in place from the page cache.
    Mapped {
        file: usize,
        seq: u64,
        csv: Option<Arc<CsvLayout>>,
        map: memmap2::Mmap,
        len: usize,
    },
    Frame {
        file: usize,
        first_row: u64,
        frame: polars::prelude::DataFrame,
    },
}

struct Worker<S> {
    sink: S,
    needed: FieldSet,
    stats: Vec<FileStats>,
    rejections: rejects::Store,
    /// (file, seq, lines in chunk) for resolving line numbers.
    chunk_lines: Vec<(usize, u64, u64)>,
}

impl<S: CallSink> Worker<S> {
    fn take(&mut self, file: usize, result: Result<Call<'_>, RowError>) -> Option<RowError> {
        let st = &mut self.stats[file];
        st.read += 1;
        match result {
            Ok(call) => {
                match self.sink.accept(&call) {
                    Disposition::Used => st.used += 1,
                    Disposition::OutOfRange => st.out_of_range += 1,
                    Disposition::Rejected(reason) => {
                        st.rejected += 1;
                        return Some(RowError::new(Some("model"), reason.to_string()));
                    }
                }
                None
            }
            Err(e) => {
                st.rejected += 1;
                Some(e)
            }
        }
    }

    fn reject(&mut self, file: usize, seq: u64, rel_line: u64, error: RowError, raw: &[u8]) {
        self.rejections.push(rejects::Pending {
            file,
            seq,
            rel_line,
            error,
            raw: mask_raw(raw),
        });
    }

    /// Calls `f` with each non-blank line (CR stripped) and its 1-based number in the chunk;
    /// returns the chunk's line count (blank lines included), as [`count_lines`] would.
    fn each_line(&mut self, data: &[u8], mut f: impl FnMut(&mut Self, u64, &[u8])) -> u64 {
        let mut rel = 0u64;
        let mut start = 0;
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let line = &data[start..end];
            start = end + 1;
            rel += 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.iter().all(u8::is_ascii_whitespace) {
                f(self, rel, line);
            }
        }
        rel
    }

    fn note_reject(&mut self, stop: &AtomicBool, strict: bool) {
        if strict {
            stop.store(true, Ordering::Relaxed);
        }
    }

    fn run_text(
        &mut self,
        (file, seq): (usize, u64),
        csv: Option<&CsvLayout>,
        data: &[u8],
        stop: &AtomicBool,
        strict: bool,
    ) {
        // The line-by-line paths count lines as they go; only the csv crate's needs a recount.
        let lines = match csv {
            None => self.each_line(data, |w, rel, line| {
                if let Some(e) = w.take(file, jsonl::parse_line(line, w.needed)) {
                    w.reject(file, seq, rel, e, line);
                    w.note_reject(stop, strict);
                }
            }),
            Some(layout) if memchr::memchr(b'"', data).is_none() => {
                self.each_line(data, |w, rel, line| {
                    if let Some(e) = w.take(file, delimited::parse_plain_line(layout, line)) {
                        w.reject(file, seq, rel, e, line);
                        w.note_reject(stop, strict);
                    }
                })
            }
            Some(layout) => {
                let mut rdr = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(data);
                let mut rec = csv::ByteRecord::new();
                loop {
                    let start = rdr.position().clone();
                    match rdr.read_byte_record(&mut rec) {
                        Ok(false) => break,
                        Ok(true) => {
                            if rec.len() == 1 && rec[0].iter().all(u8::is_ascii_whitespace) {
                                continue;
                            }
                            if let Some(e) = self.take(file, delimited::parse_record(layout, &rec))
                            {
                                let (line, raw) =
                                    record_start(data, rec.position().unwrap_or(&start));
                                self.reject(file, seq, line, e, raw);
                                self.note_reject(stop, strict);
                            }
                        }
                        Err(e) => {
                            self.stats[file].read += 1;
                            self.stats[file].rejected += 1;
                            let (line, raw) = record_start(data, &start);
                            let err = RowError::new(None, format!("malformed CSV: {e}"));
                            self.reject(file, seq, line, err, raw);
                            self.note_reject(stop, strict);
                        }
                    }
                }
                count_lines(data)
            }
        };
        self.chunk_lines.push((file, seq, lines));
    }

    fn run_frame(
        &mut self,
        file: usize,
        first_row: u64,
        frame: &polars::prelude::DataFrame,
        stop: &AtomicBool,
        strict: bool,
    ) {
        match parquet::FrameColumns::new(frame, self.needed) {
            Ok(cols) => {
                cols.for_each_row(|i, fields| {
                    if let Some(e) = self.take(file, fields.take_call()) {
                        // Parquet rows have no line; the 1-based row number stands in.
                        self.rejections.push(rejects::Pending {
                            file,
                            seq: u64::MAX,
                            rel_line: first_row + i as u64 + 1,
                            error: e,
                            raw: String::new(),
                        });
                        self.note_reject(stop, strict);
                    }
                });
            }
            Err(e) => {
                // One rejection per row keeps read = used + rejected exact.
                for i in 0..frame.height() as u64 {
                    self.stats[file].read += 1;
                    self.stats[file].rejected += 1;
                    self.rejections.push(rejects::Pending {
                        file,
                        seq: u64::MAX,
                        rel_line: first_row + i + 1,
                        error: RowError::new(None, e.clone()),
                        raw: String::new(),
                    });
                }
                self.note_reject(stop, strict);
            }
        }
    }
}

fn count_lines(data: &[u8]) -> u64 {
    let n = memchr::memchr_iter(b'\n', data).count() as u64;
    if data.last().is_some_and(|&b| b != b'\n') {
        n + 1
    } else {
        n
    }
}

/// The line a record starts on and its first line's bytes. After a CRLF the csv crate places
/// the next record at the `\n` it has not consumed yet, a line early.
fn record_start<'d>(data: &'d [u8], pos: &csv::Position) -> (u64, &'d [u8]) {
    let mut from = (pos.byte() as usize).min(data.len());
    let mut line = pos.line();
    if data.get(from) == Some(&b'\n') {
        from += 1;
        line += 1;
    }
    let rest = &data[from..];
    let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len()).min(200);
    let first = &rest[..end];
    (line, first.strip_suffix(b"\r").unwrap_or(first))
}

/// Masks anything that looks like an API key (`sk-…`) so rejected rows can be shared.
pub fn mask_secrets(s: &str) -> String {
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

fn mask_raw(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(400)]);
    let mut masked = mask_secrets(&text);
    if masked.chars().count() > 200 {
        masked = masked.chars().take(200).collect::<String>() + "…";
    }
    masked
}

/// Where a complete record ends in `buf[..len]`: after the last newline that is outside quotes.
fn record_boundary(buf: &[u8], csv: bool) -> Option<usize> {
    if !csv || memchr::memchr(b'"', buf).is_none() {
        return memchr::memrchr(b'\n', buf).map(|i| i + 1);
    }
    // Quote parity tells whether a newline is inside a quoted field; RFC 4180's doubled quotes
    // keep the parity, so counting quote characters is exact.
    let mut in_quotes = false;
    let mut last = None;
    for i in memchr::memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            last = Some(i + 1);
        }
    }
    last
}

/// Where the first CSV record ends: after the first newline outside quotes.
fn first_record_end(buf: &[u8]) -> Option<usize> {
    let mut in_quotes = false;
    for i in memchr::memchr2_iter(b'"', b'\n', buf) {
        if buf[i] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            return Some(i + 1);
        }
    }
    None
}

/// Reads until `buf[..*len]` holds at least `want` bytes or the input ends; returns true at end.
fn fill(r: &mut dyn Read, buf: &mut Vec<u8>, len: &mut usize, want: usize) -> io::Result<bool> {
    if buf.len() < want {
        buf.resize(want, 0);
    }
    while *len < want {
        match r.read(&mut buf[*len..want]) {
            Ok(0) => return Ok(true),
            Ok(n) => *len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

struct Pump<'a> {
    tx: &'a Sender<Work>,
    free: &'a Receiver<Vec<u8>>,
    chunk: usize,
    stop: &'a AtomicBool,
    progress: &'a ProgressBar,
}

impl Pump<'_> {
    fn buffer(&self) -> Vec<u8> {
        self.free.try_recv().unwrap_or_default()
    }

    /// Streams a text file as chunks of whole records. Returns the sequence numbers used.
    fn text(
        &self,
        file: usize,
        r: &mut dyn Read,
        csv: Option<Arc<CsvLayout>>,
        mut carry: Vec<u8>,
    ) -> io::Result<u64> {
        let mut seq = 0;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(seq);
            }
            let mut buf = self.buffer();
            let mut len = carry.len();
            // A carry holds no record end: grow by doubling (a long line, or a gzip bomb of one
            // line, costs linear time, not a rescan per 64 KiB) up to just past the record limit.
            let grown = (len * 2).min(MAX_RECORD_BYTES + (1 << 16));
            let want = self.chunk.max(grown).max(len + (1 << 16));
            if buf.len() < want {
                buf.resize(want, 0);
            }
            buf[..len].copy_from_slice(&carry);
            carry.clear();
            let eof = match fill(r, &mut buf, &mut len, want) {
                Ok(eof) => eof,
                Err(e) => {
                    // Keep the complete records read before the break; the caller reports it.
                    if let Some(cut) = record_boundary(&buf[..len], csv.is_some()) {
                        self.send(Work::Text {
                            file,
                            seq,
                            csv,
                            buf,
                            len: cut,
                        });
                    }
                    return Err(e);
                }
            };
            if eof {
                if len > 0 {
                    self.send(Work::Text {
                        file,
                        seq,
                        csv,
                        buf,
                        len,
                    });
                    seq += 1;
                }
                return Ok(seq);
            }
            match record_boundary(&buf[..len], csv.is_some()) {
                Some(cut) => {
                    carry.extend_from_slice(&buf[cut..len]);
                    self.send(Work::Text {
                        file,
                        seq,
                        csv: csv.clone(),
                        buf,
                        len: cut,
                    });
                    seq += 1;
                }
                None if len > MAX_RECORD_BYTES => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a record longer than 64 MiB (no line end found): not a log file?",
                    ));
                }
                None => carry.extend_from_slice(&buf[..len]),
            }
        }
    }

    /// Streams an uncompressed file from byte `start` as mapped chunks of whole records. Mapping
    /// instead of reading saves copying every byte out of the page cache (the costliest part of
    /// reading a cached file), and each chunk is unmapped once parsed, so resident memory stays
    /// a few chunks whatever the file size.
    fn mapped(
        &self,
        file: usize,
        f: &File,
        start: u64,
        csv: Option<Arc<CsvLayout>>,
    ) -> io::Result<u64> {
        let size = f.metadata()?.len();
        let mut pos = start;
        let mut seq = 0;
        while pos < size {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            let mut len = (self.chunk as u64).min(size - pos) as usize;
            loop {
                // SAFETY: the map is read-only and private to this process. A log file must not be
                // truncated while it is read (appending is harmless: the mapped range exists).
                let map = unsafe { memmap2::MmapOptions::new().offset(pos).len(len).map(f)? };
                let _ = map.advise(memmap2::Advice::Sequential);
                let cut = if pos + len as u64 == size {
                    Some(len)
                } else {
                    record_boundary(&map[..], csv.is_some())
                };
                if let Some(cut) = cut {
                    self.send(Work::Mapped {
                        file,
                        seq,
                        csv: csv.clone(),
                        map,
                        len: cut,
                    });
                    seq += 1;
                    pos += cut as u64;
                    self.progress.inc(cut as u64);
                    break;
                }
                if len > MAX_RECORD_BYTES {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a record longer than 64 MiB (no line end found): not a log file?",
                    ));
                }
                len = (len as u64 * 2).min(size - pos) as usize;
            }
        }
        Ok(seq)
    }

    fn send(&self, w: Work) {
        // Workers only hang up after the channel closes, so a failed send means they panicked;
        // the join below reports that.
        let _ = self.tx.send(w);
    }
}

/// Reads the CSV header (which may span lines if quoted) and returns it with the bytes after it.
fn read_csv_header(
    r: &mut dyn Read,
    path: &Path,
    needed: FieldSet,
) -> Result<(CsvLayout, Vec<u8>, u64), InputError> {
    let mut buf = Vec::new();
    let mut len = 0;
    loop {
        let want = len + (1 << 16);
        let eof = fill(r, &mut buf, &mut len, want).map_err(|e| file_error(path, e))?;
        let data = &buf[..len];
        let cut = first_record_end(data).or(if eof { Some(len) } else { None });
        if let Some(cut) = cut {
            let header = strip_bom(&data[..cut]);
            if header.iter().all(u8::is_ascii_whitespace) {
                return Err(file_error(path, "empty file: no CSV header"));
            }
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(header);
            let mut rec = csv::StringRecord::new();
            rdr.read_record(&mut rec)
                .map_err(|e| file_error(path, format!("line 1: unreadable CSV header: {e}")))?;
            let names: Vec<&str> = rec.iter().collect();
            let layout = CsvLayout::from_header(&names, count_lines(&data[..cut]), needed)
                .map_err(|e| file_error(path, format!("line 1: {e}")))?;
            return Ok((layout, data[cut..].to_vec(), cut as u64));
        }
        if len > MAX_RECORD_BYTES {
            return Err(file_error(path, "no CSV header line within 64 MiB"));
        }
    }
}

/// Sends one JSON-lines or CSV file through the pump: mapped when plain, streamed through the
/// decoder when gzip. Returns the header's line count and the outcome of reading the body (a
/// failure there is a rejection after the rows read so far, not a fatal error).
fn read_text_file(
    pump: &Pump,
    i: usize,
    f: &LogFile,
    needed: FieldSet,
) -> Result<(u64, Result<(), String>), InputError> {
    let mut reader = open(f, pump.progress)?;
    let (layout, carry, header_len, header_lines) = if f.format == Format::Csv {
        let (l, c, len) = read_csv_header(&mut reader, &f.path, needed)?;
        let lines = l.header_lines;
        (Some(Arc::new(l)), c, len, lines)
    } else {
        (None, Vec::new(), 0, 0)
    };
    // SPENDRECON_READ=stream reads plain files through the buffered path too (for benchmarks).
    let stream = f.gzip || std::env::var_os("SPENDRECON_READ").is_some_and(|v| v == "stream");
    let body = if stream {
        let mut first = true;
        let mut bom_skipping = BomSkip {
            inner: &mut reader,
            first: &mut first,
            active: layout.is_none(),
        };
        pump.text(i, &mut bom_skipping, layout, carry)
    } else {
        drop(reader);
        File::open(&f.path).and_then(|file| {
            let mut start = header_len;
            if layout.is_none() {
                let mut head = [0u8; 3];
                let n = (&file).read(&mut head)?;
                if n == 3 && head == *b"\xEF\xBB\xBF" {
                    start = 3;
                }
            }
            pump.mapped(i, &file, start, layout)
        })
    };
    Ok((header_lines, body.map(|_| ()).map_err(|e| e.to_string())))
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

/// Opens a log file for reading, decompressed when gzip; the compressed bytes read advance
/// `progress`.
fn open(f: &LogFile, progress: &ProgressBar) -> Result<Box<dyn Read + Send>, InputError> {
    let file = File::open(&f.path).map_err(|e| file_error(&f.path, e))?;
    Ok(if f.gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 20,
            progress.wrap_read(file),
        )))
    } else {
        Box::new(file)
    })
}

/// A bar on stderr while the logs are read, when stderr is a terminal, the inputs are larger
/// than a few MB and the summary is not silenced; otherwise a hidden bar that costs nothing.
fn progress_bar(files: &[LogFile], wanted: bool) -> (ProgressBar, Vec<u64>) {
    use std::io::IsTerminal;
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(&f.path).map_or(0, |m| m.len()))
        .collect();
    let total: u64 = sizes.iter().sum();
    if !wanted || total < PROGRESS_FROM_BYTES || !std::io::stderr().is_terminal() {
        return (ProgressBar::hidden(), sizes);
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
    ) {
        bar.set_style(style);
    }
    (bar, sizes)
}

/// Inputs smaller than this are read before a bar would be seen.
const PROGRESS_FROM_BYTES: u64 = 8 << 20;

/// Reads every file through the worker pool. Returns the merged sink and the accounting.
pub fn scan<S: CallSink>(
    files: &[LogFile],
    opts: &ScanOptions,
    make_sink: impl Fn() -> S + Sync,
) -> Result<(S, ScanReport), InputError> {
    let threads = opts.threads.max(1);
    let (tx, rx) = bounded::<Work>(threads * 2);
    let (free_tx, free_rx) = bounded::<Vec<u8>>(threads * 3);
    let stop = AtomicBool::new(false);
    // Per file: lines before the first chunk (CSV header), and a read error with the sequence
    // number it happened after.
    let mut header_lines = vec![0u64; files.len()];
    let mut read_errors: Vec<(usize, u64, String)> = Vec::new();
    let (progress, sizes) = progress_bar(files, opts.progress);

    let workers = std::thread::scope(|scope| -> Result<Vec<Worker<S>>, InputError> {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let rx = rx.clone();
                let free_tx = free_tx.clone();
                let stop = &stop;
                let make_sink = &make_sink;
                let n_files = files.len();
                scope.spawn(move || {
                    let mut w = Worker {
                        sink: make_sink(),
                        needed: opts.needed,
                        stats: vec![FileStats::default(); n_files],
                        rejections: rejects::Store::default(),
                        chunk_lines: Vec::new(),
                    };
                    for work in rx.iter() {
                        match work {
                            Work::Text {
                                file,
                                seq,
                                csv,
                                buf,
                                len,
                            } => {
                                w.run_text(
                                    (file, seq),
                                    csv.as_deref(),
                                    &buf[..len],
                                    stop,
                                    opts.strict,
                                );
                                let _ = free_tx.try_send(buf);
                            }
                            Work::Mapped {
                                file,
                                seq,
                                csv,
                                map,
                                len,
                            } => {
                                w.run_text(
                                    (file, seq),
                                    csv.as_deref(),
                                    &map[..len],
                                    stop,
                                    opts.strict,
                                );
                            }
                            Work::Frame {
                                file,
                                first_row,
                                frame,
                            } => w.run_frame(file, first_row, &frame, stop, opts.strict),
                        }
                    }
                    w
                })
            })
            .collect();
        drop(rx);

        let pump = Pump {
            tx: &tx,
            free: &free_rx,
            chunk: opts.chunk_bytes,
            stop: &stop,
            progress: &progress,
        };
        let mut result = Ok(());
        let mut done = 0;
        for (i, f) in files.iter().enumerate() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            progress.set_message(f.path.display().to_string());
            let r = match f.format {
                Format::Parquet => parquet::pump(i, f, opts.needed, &tx, &stop),
                Format::Jsonl | Format::Csv => match read_text_file(&pump, i, f, opts.needed) {
                    Ok((lines, r)) => {
                        header_lines[i] = lines;
                        r
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                },
            };
            if let Err(message) = r {
                // Rows read before the failure stay counted; the failure itself is a rejection
                // placed after the last complete chunk.
                read_errors.push((i, u64::MAX, message));
            }
            done += sizes[i];
            progress.set_position(done);
        }
        drop(tx);
        let workers: Vec<Worker<S>> = handles
            .into_iter()
            .map(|h| h.join().expect("worker thread panicked"))
            .collect();
        progress.finish_and_clear();
        result.map(|_| workers)
    })?;

    finish(files, workers, header_lines, read_errors)
}

/// Skips a UTF-8 byte-order mark at the very start of a JSON-lines stream.
struct BomSkip<'a> {
    inner: &'a mut dyn Read,
    first: &'a mut bool,
    active: bool,
}

impl Read for BomSkip<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.active && *self.first {
            *self.first = false;
            let mut head = [0u8; 3];
            let mut n = 0;
            while n < 3 {
                match self.inner.read(&mut head[n..])? {
                    0 => break,
                    k => n += k,
                }
            }
            let start = if n == 3 && head == [0xEF, 0xBB, 0xBF] {
                3
            } else {
                0
            };
            let keep = &head[start..n];
            buf[..keep.len()].copy_from_slice(keep);
            if !keep.is_empty() || n == 0 {
                return Ok(keep.len());
            }
        }
        self.inner.read(buf)
    }
}

fn finish<S: CallSink>(
    files: &[LogFile],
    workers: Vec<Worker<S>>,
    header_lines: Vec<u64>,
    read_errors: Vec<(usize, u64, String)>,
) -> Result<(S, ScanReport), InputError> {
    let mut stats: Vec<FileStats> = files
        .iter()
        .map(|f| FileStats {
            file: f.path.display().to_string(),
            ..Default::default()
        })
        .collect();
    let mut chunk_lines: Vec<(usize, u64, u64)> = Vec::new();
    let mut stores = Vec::new();
    let mut sink: Option<S> = None;
    for w in workers {
        for (i, s) in w.stats.iter().enumerate() {
            stats[i].read += s.read;
            stats[i].used += s.used;
            stats[i].out_of_range += s.out_of_range;
            stats[i].rejected += s.rejected;
        }
        chunk_lines.extend(w.chunk_lines);
        stores.push(w.rejections);
        match &mut sink {
            None => sink = Some(w.sink),
            Some(s) => s.merge(w.sink),
        }
    }
    // First line of each chunk = header lines + lines of all earlier chunks of the file.
    chunk_lines.sort_unstable();
    let mut first_line: rustc_hash::FxHashMap<(usize, u64), u64> = Default::default();
    let mut total_lines = vec![0u64; files.len()];
    for &(file, seq, n) in &chunk_lines {
        first_line.insert((file, seq), header_lines[file] + total_lines[file]);
        total_lines[file] += n;
    }
    // A read error sorts after every row of its file and sits on the line after the last one read.
    let mut errors = rejects::Store::default();
    for (file, _, message) in read_errors {
        stats[file].read += 1;
        stats[file].rejected += 1;
        errors.push(rejects::Pending {
            file,
            seq: u64::MAX,
            rel_line: u64::MAX,
            error: RowError::new(None, format!("file unreadable from here on: {message}")),
            raw: String::new(),
        });
    }
    stores.push(errors);
    let names: Vec<String> = stats.iter().map(|s| s.file.clone()).collect();
    let rejections = rejects::merge(stores, &names, |p| match (p.seq, p.rel_line) {
        (u64::MAX, u64::MAX) => header_lines[p.file] + total_lines[p.file] + 1,
        (u64::MAX, row) => row,
        (seq, rel) => first_line.get(&(p.file, seq)).copied().unwrap_or(0) + rel,
    })
    .map_err(|e| {
        InputError::Usage(format!(
            "cannot write the list of rejected rows to a temporary file: {e}"
        ))
    })?;
    let sink = sink.expect("at least one worker");
    Ok((
        sink,
        ScanReport {
            files: stats,
            rejections,
            notes: Vec::new(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_respects_quoted_newlines() {
        let b = b"a,\"x\ny\",1\nb,\"z";
        assert_eq!(record_boundary(b, true), Some(10));
        assert_eq!(record_boundary(b, false), Some(10));
        let b = b"a,\"x\ny";
        assert_eq!(record_boundary(b, true), None);
        assert_eq!(first_record_end(b"\"h\n1\",b\nx,y\nz"), Some(8));
    }

    #[test]
    fn secrets_are_masked() {
        assert_eq!(
            mask_secrets(r#"{"key":"sk-or-v1-abcdef0123456789","m":"sk-x"}"#),
            r#"{"key":"sk-***","m":"sk-x"}"#
        );
    }

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
