//! The parallel read behind [`scan`]: one thread reads the log files in large chunks of whole
//! records (`pump`), worker threads parse the chunks and hand every call to their own sink, and
//! [`finish`] merges the workers' sinks, counts and rejections, resolving each chunk's line
//! numbers once every chunk before it is known.

mod pump;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::bounded;

use super::delimited::{self, CsvLayout};
use super::digest::{hash_file, FileDigest};
use super::record::{FieldSet, RowError};
use super::schema::{self, Records, Schema};
use super::{
    file_error, jsonl, mask_secrets, parquet, rejects, CallSink, Disposition, FileStats, Format,
    InputError, LogFile, ScanOptions, ScanOrder, ScanReport,
};
use crate::domain::Call;
use pump::{read_text_file, Pump};

pub(super) enum Work {
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

struct Worker<'o, S> {
    sink: S,
    needed: FieldSet,
    schema: &'o Schema,
    stats: Vec<FileStats>,
    rejections: rejects::Store,
    /// (file, seq, lines in chunk) for resolving line numbers.
    chunk_lines: Vec<(usize, u64, u64)>,
}

impl<S: CallSink> Worker<'_, S> {
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

    /// As [`Worker::take`] for a schema's reader, where `None` is a record that is not a call
    /// (no token counts): read and skipped, not rejected.
    fn take_or_skip(
        &mut self,
        file: usize,
        result: Result<Option<Call<'_>>, RowError>,
    ) -> Option<RowError> {
        match result {
            Ok(Some(call)) => self.take(file, Ok(call)),
            Ok(None) => {
                let st = &mut self.stats[file];
                st.read += 1;
                st.skipped += 1;
                None
            }
            Err(e) => self.take(file, Err(e)),
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
        self.sink.chunk(ScanOrder::text_chunk(file, seq));
        // The line-by-line paths count lines as they go; only the csv crate's needs a recount.
        let lines = match csv {
            None => match self.schema {
                Schema::Native => self.each_line(data, |w, rel, line| {
                    if let Some(e) = w.take(file, jsonl::parse_line(line, w.needed)) {
                        w.reject(file, seq, rel, e, line);
                        w.note_reject(stop, strict);
                    }
                }),
                Schema::Mapped(m) if m.records == Records::Otlp => {
                    self.each_line(data, |w, rel, line| {
                        schema::otlp::each_record(line, m, w.needed, |r| {
                            if let Some(e) = w.take_or_skip(file, r) {
                                w.reject(file, seq, rel, e, line);
                                w.note_reject(stop, strict);
                            }
                        })
                    })
                }
                Schema::Mapped(m) => self.each_line(data, |w, rel, line| {
                    let r = schema::rows::parse_line(line, m, w.needed)
                        .and_then(|f| f.map(|f| f.into_call()).transpose());
                    if let Some(e) = w.take_or_skip(file, r) {
                        w.reject(file, seq, rel, e, line);
                        w.note_reject(stop, strict);
                    }
                }),
            },
            Some(layout) if memchr::memchr(b'"', data).is_none() => {
                self.each_line(data, |w, rel, line| {
                    if let Some(e) = w.take_or_skip(file, delimited::parse_plain_line(layout, line))
                    {
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
                            if let Some(e) =
                                self.take_or_skip(file, delimited::parse_record(layout, &rec))
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
        self.sink.chunk(ScanOrder::row(file, first_row));
        match parquet::FrameColumns::new(frame, self.needed, self.schema.rows()) {
            Ok(cols) => {
                cols.for_each_row(|i, r| {
                    if let Some(e) = self.take_or_skip(file, r) {
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

fn mask_raw(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(400)]);
    let mut masked = mask_secrets(&text);
    if masked.chars().count() > 200 {
        masked = masked.chars().take(200).collect::<String>() + "...";
    }
    masked
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
pub(crate) fn scan<S: CallSink>(
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
    // Database streams are hashed as they are read, not by the hashing thread.
    let mut stream_digests: Vec<(usize, FileDigest)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let (progress, sizes) = progress_bar(files, opts.progress);

    type Parsed<'o, S> = (Vec<Worker<'o, S>>, Vec<FileDigest>);
    let workers = std::thread::scope(|scope| -> Result<Parsed<'_, S>, InputError> {
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
                        schema: &opts.schema,
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

        // The files' digests, for run.json: a thread of its own reads each file once more (from
        // the page cache) while the workers parse, so the hash adds no pass of its own.
        let hasher = opts.hash.then(|| scope.spawn(|| hash_files(files, &stop)));

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
                _ if !readable(&opts.schema, f.format) => {
                    result = Err(file_error(
                        &f.path,
                        format!(
                            "schema `{}` reads OTLP/JSON lines; a {} file cannot hold them",
                            opts.schema.name(),
                            f.format.name()
                        ),
                    ));
                    break;
                }
                Format::Parquet => parquet::pump(i, f, opts.needed, &opts.schema, &tx, &stop),
                Format::Jsonl | Format::Csv => match read_text_file(&pump, i, f, opts) {
                    Ok(read) => {
                        header_lines[i] = read.header_lines;
                        stream_digests.extend(read.digest.map(|d| (i, d)));
                        notes.extend(read.note);
                        match read.body {
                            // A table's rows come whole or not at all: a connection that
                            // breaks off mid-read ends the run (no outputs are written).
                            Err(message) if f.db.is_some() => {
                                result = Err(file_error(
                                    &f.path,
                                    format!(
                                        "{message}; no outputs were written (the previous run's files are kept)"
                                    ),
                                ));
                                break;
                            }
                            body => body,
                        }
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
        let workers: Vec<Worker<'_, S>> = handles
            .into_iter()
            .map(|h| h.join().expect("worker thread panicked"))
            .collect();
        progress.finish_and_clear();
        let digests = match hasher.map(|h| h.join().expect("hashing thread panicked")) {
            Some(Err(e)) if result.is_ok() => return Err(e),
            Some(Ok(d)) => d,
            _ => Vec::new(),
        };
        result.map(|_| (workers, digests))
    })?;

    let (workers, mut digests) = workers;
    for (i, d) in stream_digests {
        if let Some(slot) = digests.get_mut(i) {
            *slot = d;
        }
    }
    let (sink, mut report) = finish(files, workers, header_lines, read_errors)?;
    report.digests = digests;
    report.notes.extend(notes);
    Ok((sink, report))
}

/// OTLP exports are JSON lines only.
fn readable(schema: &Schema, format: Format) -> bool {
    !matches!(schema, Schema::Mapped(m) if m.records == Records::Otlp) || format == Format::Jsonl
}

/// Size and SHA-256 of each file; stops early (an empty list) when the read is stopped.
fn hash_files(files: &[LogFile], stop: &AtomicBool) -> Result<Vec<FileDigest>, InputError> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        if f.db.is_some() {
            // Filled in from the stream as it was read.
            out.push(FileDigest {
                path: f.path.display().to_string(),
                size: 0,
                sha256: String::new(),
            });
            continue;
        }
        match hash_file(&f.path, stop) {
            Ok(Some(d)) => out.push(d),
            Ok(None) => return Ok(Vec::new()),
            Err(e) => return Err(file_error(&f.path, format!("cannot hash the file: {e}"))),
        }
    }
    Ok(out)
}

fn finish<S: CallSink>(
    files: &[LogFile],
    workers: Vec<Worker<'_, S>>,
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
            stats[i].skipped += s.skipped;
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
            digests: Vec::new(),
        },
    ))
}
