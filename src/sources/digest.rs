//! The size and SHA-256 of an input file, for the run's manifest (`run.json`, docs/formats.md
//! §6): months later, a number can be traced to the exact bytes that produced it.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

/// An input file as the run read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileDigest {
    /// The path as the run named it (as given, or found in a directory given).
    pub path: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// Bytes are hashed in blocks this large; `stop` is looked at between blocks.
const BLOCK: usize = 1 << 20;

/// A regular file is mapped this much at a time: hashed straight from the page cache (no copy
/// into a buffer, a third of the hash's cost when read), with resident memory bounded.
const WINDOW: u64 = 8 << 20;

/// Hashes the file at `path`. Returns `Ok(None)` when `stop` was raised on the way (the run is
/// ending on an error: the digest would not be used).
pub(crate) fn hash_file(path: &Path, stop: &AtomicBool) -> io::Result<Option<FileDigest>> {
    hash_file_by(path, stop, WINDOW)
}

/// As [`hash_file`], mapping `window` bytes (a multiple of the page size) at a time.
fn hash_file_by(path: &Path, stop: &AtomicBool, window: u64) -> io::Result<Option<FileDigest>> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let mut sha = Sha256::new();
    let mut size = 0u64;
    if meta.is_file() && meta.len() > 0 {
        while size < meta.len() {
            let len = window.min(meta.len() - size);
            // SAFETY: read-only and private, as the log reader's own maps; a log file must not
            // be truncated while it is read.
            let map = unsafe {
                memmap2::MmapOptions::new()
                    .offset(size)
                    .len(len as usize)
                    .map(&file)?
            };
            let _ = map.advise(memmap2::Advice::Sequential);
            for block in map.chunks(BLOCK) {
                if stop.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                sha.update(block);
            }
            size += len;
        }
    } else {
        let mut buf = vec![0u8; BLOCK];
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            sha.update(&buf[..n]);
            size += n as u64;
        }
    }
    Ok(Some(FileDigest {
        path: path.display().to_string(),
        size,
        sha256: hex(&sha.finalize()),
    }))
}

/// Hashes the file at `path` whole.
pub(crate) fn hash_path(path: &Path) -> io::Result<FileDigest> {
    let never = AtomicBool::new(false);
    Ok(hash_file(path, &never)?.expect("never stopped"))
}

/// The digest of bytes the binary carries (the built-in rate tables), under the name `path`.
pub(crate) fn hash_bytes(path: &str, bytes: &[u8]) -> FileDigest {
    FileDigest {
        path: path.to_string(),
        size: bytes.len() as u64,
        sha256: hex(&Sha256::digest(bytes)),
    }
}

/// Hashes what is read through it: a stream's digest (a database table's rows as read), taken
/// while the rows are parsed, with no second read.
pub(crate) struct HashingReader<R> {
    inner: R,
    sha: Sha256,
    size: u64,
    done: std::sync::Arc<std::sync::Mutex<Option<FileDigest>>>,
    path: String,
}

impl<R: Read> HashingReader<R> {
    /// The reader, and where its digest appears once the stream has ended.
    pub(crate) fn new(
        inner: R,
        path: &str,
    ) -> (Self, std::sync::Arc<std::sync::Mutex<Option<FileDigest>>>) {
        let done = std::sync::Arc::new(std::sync::Mutex::new(None));
        let r = HashingReader {
            inner,
            sha: Sha256::new(),
            size: 0,
            done: std::sync::Arc::clone(&done),
            path: path.to_string(),
        };
        (r, done)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            if let Ok(mut d) = self.done.lock() {
                *d = Some(FileDigest {
                    path: self.path.clone(),
                    size: self.size,
                    sha256: hex(&self.sha.clone().finalize()),
                });
            }
        } else {
            self.sha.update(&buf[..n]);
            self.size += n as u64;
        }
        Ok(n)
    }
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_known_sha256() {
        // FIPS 180-2 test vector "abc", and the empty input.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hash_bytes("x", b"abc").sha256, abc);
        assert_eq!(
            hash_bytes("x", b"").sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        // Larger than one block, so the blocks are chained.
        let body: Vec<u8> = (0..3 * BLOCK + 7).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &body).unwrap();
        let d = hash_file(&p, &AtomicBool::new(false)).unwrap().unwrap();
        assert_eq!(d.size, body.len() as u64);
        assert_eq!(d.sha256, hash_bytes("x", &body).sha256);
        assert_eq!(hash_file(&p, &AtomicBool::new(true)).unwrap(), None);
        // Mapped one block at a time: four windows, the last of 7 bytes.
        let by_window = hash_file_by(&p, &AtomicBool::new(false), BLOCK as u64);
        assert_eq!(by_window.unwrap().unwrap(), d);
    }
}
