//! The zip checks run on an XLSX file before the XLSX library opens it: the sizes its parts
//! declare, and a read-through of the large ones, so that a zip bomb or an endless text is
//! refused before anything is held in memory.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::{MAX_XLSX_HELD_PART_BYTES, MAX_XLSX_PART_BYTES};
use crate::sources::{file_error, InputError};

/// An XLSX part declared larger than this is read through once before use ([`scan_part`]).
const SCAN_PARTS_OVER: u64 = 64 << 20;
/// The longest text or tag (the bytes between two `<`) an XLSX part may hold.
const MAX_XML_STRETCH: u64 = 1 << 20;

/// Checks an XLSX archive's parts before the XLSX library reads any, from the sizes its
/// directory declares: no part over [`MAX_XLSX_PART_BYTES`], no part the library holds whole
/// over [`MAX_XLSX_HELD_PART_BYTES`]. A part declared over [`SCAN_PARTS_OVER`] is read through
/// once first ([`scan_part`]), counting what it really holds. The zip reader also stops any part
/// at its declared size, so a directory that understates a size gets an error, not the bytes.
/// A file that is no zip archive is left to the XLSX library to refuse.
pub(super) fn check_parts(path: &Path) -> Result<(), InputError> {
    let Ok(f) = File::open(path) else {
        return Ok(());
    };
    let Ok(mut zip) = zip::ZipArchive::new(BufReader::new(f)) else {
        return Ok(());
    };
    let mut scan = Vec::new();
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index_data(i) else {
            continue;
        };
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        // Only XML parts are read (pictures and embedded files are not).
        if !(lower.ends_with(".xml") || lower.ends_with(".rels")) {
            continue;
        }
        let base = lower.rsplit('/').next().unwrap_or_default();
        let held = lower.ends_with(".rels")
            || base.starts_with("theme")
            || matches!(base, "sharedstrings.xml" | "styles.xml" | "workbook.xml");
        let (limit, what) = if held {
            (MAX_XLSX_HELD_PART_BYTES, "a part read whole into memory")
        } else {
            (MAX_XLSX_PART_BYTES, "one part (a sheet's XML)")
        };
        let size = entry.size();
        if size > limit {
            return Err(file_error(
                path,
                format!(
                    "XLSX part `{name}` uncompresses to {} ({size} bytes), over the {} limit for \
                     {what}: refused, as a zip bomb would be",
                    bytes(size),
                    bytes(limit)
                ),
            ));
        }
        if size > SCAN_PARTS_OVER {
            scan.push((i, name, size));
        }
    }
    for (i, name, size) in scan {
        let part = zip
            .by_index(i)
            .map_err(|e| file_error(path, format!("cannot read XLSX part `{name}`: {e}")))?;
        scan_part(part, size, MAX_XML_STRETCH)
            .map_err(|m| file_error(path, format!("XLSX part `{name}` {m}")))?;
    }
    Ok(())
}

/// Reads an XML part through, counting its bytes (more than `declared` is an error) and the
/// longest stretch between two `<` (a text or a tag; over `max_stretch` is an error). The XLSX
/// library holds a text or a tag whole while it reads it, so this bounds its memory to a few
/// `max_stretch`; a cell's text is at most 32,767 characters, far below.
fn scan_part(mut r: impl Read, declared: u64, max_stretch: u64) -> Result<u64, String> {
    let mut buf = vec![0u8; 1 << 16];
    let (mut total, mut stretch) = (0u64, 0u64);
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("cannot be read: {e}")),
        };
        total += n as u64;
        if total > declared {
            return Err(format!(
                "holds more than the {declared} bytes its directory entry declares"
            ));
        }
        let mut from = 0;
        for at in memchr::memchr_iter(b'<', &buf[..n]) {
            if stretch + (at - from) as u64 > max_stretch {
                break;
            }
            stretch = 0;
            from = at;
        }
        stretch += (n - from) as u64;
        if stretch > max_stretch {
            return Err(format!(
                "holds a text or tag longer than {}, more than any cell or formula: refused",
                bytes(max_stretch)
            ));
        }
    }
}

/// `2 GiB`, `512 MiB`, `3.5 GiB`.
fn bytes(n: u64) -> String {
    let (v, unit) = if n >= 1 << 30 {
        (n as f64 / (1u64 << 30) as f64, "GiB")
    } else {
        (n as f64 / (1u64 << 20) as f64, "MiB")
    };
    if v.fract() == 0.0 {
        format!("{v} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_parts_are_counted_and_long_stretches_refused() {
        let xml = b"<a><b>text</b></a>";
        assert_eq!(scan_part(&xml[..], 18, 8), Ok(18));
        assert!(scan_part(&xml[..], 17, 8)
            .unwrap_err()
            .contains("more than the 17 bytes"));
        // `<b>text` is the longest stretch between two `<`: 7 bytes.
        assert!(scan_part(&xml[..], 100, 7).is_ok());
        assert!(scan_part(&xml[..], 100, 6)
            .unwrap_err()
            .contains("a text or tag longer than"));
        // Across reads, and at the end of a part.
        let long = [b"<a>".as_slice(), &[b'x'; 200_000]].concat();
        assert!(scan_part(&long[..], 1 << 20, 200_003).is_ok());
        assert!(scan_part(&long[..], 1 << 20, 100_000).is_err());
        assert_eq!(bytes(2 << 30), "2 GiB");
        assert_eq!(bytes(512 << 20), "512 MiB");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
    }
}
