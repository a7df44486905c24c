//! Helpers shared by the test modules: where the fixtures are, the binary under test, running it
//! into a fresh output directory and reading back what it wrote, and what the invoice and top-up
//! readers' tests compare against.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use spendrecon::domain::Day;
use spendrecon::sources::{FileStats, Rejection};

/// The crate's root (where Cargo.toml is): the directory that `rates/` and `sample-data/` are
/// relative to.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `p` under tests/fixtures: `fixture("daily/rates")`.
pub fn fixture(p: &str) -> PathBuf {
    root().join("tests/fixtures").join(p)
}

/// The bytes of the fixture `p`; a missing file panics with its path.
pub fn fixture_bytes(p: &str) -> Vec<u8> {
    let p = fixture(p);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// tests/fixtures/daily/rates: the rate table of the hand-priced daily calls (acme/big at 3 / 15
/// USD per million tokens, acme/long with its long-context tier).
pub fn daily_rates() -> PathBuf {
    fixture("daily/rates")
}

/// The sample month's inputs (sample-data/, relative to [`root`]): its logs, both gateways'
/// invoices and the top-up ledger.
pub const SAMPLE_MONTH: &[&str] = &[
    "--logs",
    "sample-data/logs",
    "--invoices",
    "sample-data/invoices/openrouter-2026-04.xlsx",
    "--invoices",
    "sample-data/invoices/ominigate-2026-04.csv",
    "--topups",
    "sample-data/topups/ledger-2026-04.csv",
];

/// The `spendrecon` binary that cargo built for the tests.
pub fn spendrecon() -> Command {
    Command::cargo_bin("spendrecon").unwrap()
}

/// Runs `cmd` with `--out` a fresh directory (its last arguments): the directory and the
/// process's output.
pub fn run_out(cmd: &mut Command) -> (tempfile::TempDir, Output) {
    let out = tempfile::tempdir().unwrap();
    let o = cmd.arg("--out").arg(out.path()).output().unwrap();
    (out, o)
}

/// The text of the file `name` in `dir` (a run's output directory).
pub fn read(dir: impl AsRef<Path>, name: &str) -> String {
    std::fs::read_to_string(dir.as_ref().join(name)).unwrap()
}

/// The day `s` (YYYY-MM-DD).
pub fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

/// The accounting of one input file of which nothing is out of range.
pub fn stats(file: &Path, read: u64, used: u64, rejected: u64) -> FileStats {
    FileStats {
        file: file.display().to_string(),
        read,
        used,
        out_of_range: 0,
        rejected,
        skipped: 0,
    }
}

/// Rejections as (line, column, reason).
pub fn rejected(r: &[Rejection]) -> Vec<(u64, Option<&'static str>, String)> {
    r.iter()
        .map(|x| (x.line, x.column, x.reason.clone()))
        .collect()
}

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
