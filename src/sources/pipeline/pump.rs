//! The reading side of the pipeline, on one thread: each log file opened (mapped when plain,
//! decoded when gzip), its CSV header read, and its body cut into chunks of whole records that
//! never split a quoted field, sent to the workers.

use indicatif::ProgressBar;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use super::{count_lines, Work};
use crate::sources::database::{self, DbSource};
use crate::sources::delimited::CsvLayout;
use crate::sources::digest::{FileDigest, HashingReader};
use crate::sources::ScanOptions;
use crate::sources::{file_error, Format, InputError, LogFile, MAX_RECORD_BYTES};

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

pub(super) struct Pump<'a> {
    pub(super) tx: &'a Sender<Work>,
    pub(super) free: &'a Receiver<Vec<u8>>,
    pub(super) chunk: usize,
    pub(super) stop: &'a AtomicBool,
    pub(super) progress: &'a ProgressBar,
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
    opts: &ScanOptions,
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
            let layout = CsvLayout::from_header_with(
                &names,
                count_lines(&data[..cut]),
                opts.needed,
                opts.schema.rows(),
            )
            .map_err(|e| file_error(path, format!("line 1: {e}")))?;
            return Ok((layout, data[cut..].to_vec(), cut as u64));
        }
        if len > MAX_RECORD_BYTES {
            return Err(file_error(path, "no CSV header line within 64 MiB"));
        }
    }
}

/// What reading one text source gave besides its rows.
pub(super) struct TextRead {
    /// Lines the CSV header took.
    pub header_lines: u64,
    /// The body's outcome: a failure is a rejection after the rows read so far for a file, and
    /// fatal for a database stream.
    pub body: Result<(), String>,
    /// A database stream's digest, taken as it was read (files are hashed on their own thread).
    pub digest: Option<FileDigest>,
    /// For the run's notes.
    pub note: Option<String>,
}

/// A database table's rows as a CSV stream with a header (docs/databases.md), hashed as read
/// when the run writes run.json.
fn read_table(
    pump: &Pump,
    i: usize,
    f: &LogFile,
    src: &Arc<DbSource>,
    opts: &ScanOptions,
) -> Result<TextRead, InputError> {
    let (rows, note) = database::open_rows(src, &opts.schema, opts.needed, opts.period)?;
    let (mut reader, digest): (Box<dyn Read + Send>, _) = if opts.hash {
        let (r, d) = HashingReader::new(rows, &src.shown);
        (Box::new(r), Some(d))
    } else {
        (rows, None)
    };
    let (layout, carry, _) = read_csv_header(&mut reader, &f.path, opts)?;
    let header_lines = layout.header_lines;
    let body = pump
        .text(i, &mut reader, Some(Arc::new(layout)), carry)
        .map(|_| ())
        .map_err(|e| e.to_string());
    let digest = digest.and_then(|d| d.lock().ok().and_then(|mut d| d.take()));
    Ok(TextRead {
        header_lines,
        body,
        digest,
        note,
    })
}

/// Sends one JSON-lines or CSV file (or a database table's rows) through the pump: mapped when
/// plain, streamed through the decoder when gzip.
pub(super) fn read_text_file(
    pump: &Pump,
    i: usize,
    f: &LogFile,
    opts: &ScanOptions,
) -> Result<TextRead, InputError> {
    if let Some(src) = &f.db {
        return read_table(pump, i, f, src, opts);
    }
    let mut reader = open(f, pump.progress)?;
    let (layout, carry, header_len, header_lines) = if f.format == Format::Csv {
        let (l, c, len) = read_csv_header(&mut reader, &f.path, opts)?;
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
    Ok(TextRead {
        header_lines,
        body: body.map(|_| ()).map_err(|e| e.to_string()),
        digest: None,
        note: None,
    })
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
}
