//! Helpers shared by the test modules.

use std::path::Path;

/// Sets the uncompressed size that the zip directory of `path` declares for part `part`.
pub fn declare_size(path: &Path, part: &str, size: u32) {
    let mut b = std::fs::read(path).unwrap();
    let mut found = false;
    for o in 0..b.len().saturating_sub(46) {
        if b[o..o + 4] != *b"PK\x01\x02" {
            continue;
        }
        let name_len = u16::from_le_bytes([b[o + 28], b[o + 29]]) as usize;
        if &b[o + 46..o + 46 + name_len] == part.as_bytes() {
            b[o + 24..o + 28].copy_from_slice(&size.to_le_bytes());
            found = true;
        }
    }
    assert!(found, "no part {part}");
    std::fs::write(path, b).unwrap();
}
