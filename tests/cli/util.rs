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

/// The sample month's bills: its invoices and ledger.
pub const BILLS: &[&str] = SAMPLE_MONTH.split_at(2).1;

/// A command run on the sample month: its name, the bills it reads, the files compared.
pub type Case = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// `daily`, `reconcile` and `fees` on the sample month, and the result files each writes.
pub const SAMPLE_CASES: &[Case] = &[
    ("daily", &[], &["daily.csv"]),
    (
        "reconcile",
        BILLS,
        &[
            "recon.csv",
            "findings.csv",
            "daily.csv",
            "summary.csv",
            "fees.csv",
        ],
    ),
    ("fees", BILLS.split_at(4).1, &["fees.csv", "topups.csv"]),
];

/// `spendrecon ARGS --out DIR` from the repository root, asserting exit status 0 or 1 (the
/// sample month flags).
pub fn run_ok(args: &[&str]) -> (tempfile::TempDir, Output) {
    let mut c = spendrecon();
    c.current_dir(root()).args(args);
    let (out, o) = run_out(&mut c);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (out, o)
}

/// The result files of `cases` in `tz`, each command reading the logs through `source` (the
/// `--logs`/`--usage` arguments), then its bills, then `flags`: (`command file`, text).
pub fn case_results(
    cases: &[Case],
    source: &[&str],
    tz: &str,
    flags: &[&str],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (command, bills, files) in cases {
        let mut args = vec![*command, "--tz", tz];
        args.extend(source);
        args.extend(*bills);
        args.extend(flags);
        let (dir, _) = run_ok(&args);
        for f in *files {
            out.push((format!("{command} {f}"), read(dir.path(), f)));
        }
    }
    out
}

/// Two runs' [`case_results`] are the same, file by file.
pub fn assert_same_results(what: &str, got: &[(String, String)], want: &[(String, String)]) {
    assert_eq!(got.len(), want.len());
    for ((name, g), (_, w)) in got.iter().zip(want) {
        assert_eq!(g, w, "{what}: {name} differs from reading the log files");
    }
}

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
