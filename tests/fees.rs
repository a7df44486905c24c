//! End-to-end tests of `spendrecon fees`: the BYOK allowance at its threshold with the shipped
//! policy (tests/fixtures/fees/rates holds only models.csv, so the built-in fees.toml applies),
//! top-up fees at theirs, and a policy change in the middle of a month.
//!
//! Rate: acme/m costs 1 USD per million prompt tokens, so a call of n prompt tokens costs
//! n / 1,000,000 USD.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

/// Runs `spendrecon fees` with the fixture rates; returns fees.csv's rows (header dropped) and
/// the exit status.
fn fees(args: &[&std::ffi::OsStr]) -> (Vec<String>, i32, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let status = Command::cargo_bin("spendrecon")
        .unwrap()
        .arg("fees")
        .args(args)
        .arg("--rates")
        .arg(fixture("fees/rates"))
        .arg("--out")
        .arg(out.path())
        .arg("-q")
        .output()
        .unwrap()
        .status;
    let text = std::fs::read_to_string(out.path().join("fees.csv")).unwrap();
    let mut lines = text.lines().map(str::to_string);
    assert_eq!(
        lines.next().unwrap(),
        "month,provider,kind,basis_usd,fee_usd,expected_fee_usd,status,note"
    );
    (lines.collect(), status.code().unwrap(), out)
}

/// A CSV log of BYOK calls on OpenRouter one millisecond apart from 2026-04-01T00:00:00Z, with
/// the given prompt tokens per call.
fn byok_log(dir: &Path, prompts: impl Iterator<Item = u64>) -> PathBuf {
    let path = dir.join("byok.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "ts,provider,model,prompt_tokens,completion_tokens,byok").unwrap();
    let t0: u64 = 1_775_001_600_000; // 2026-04-01T00:00:00Z
    for (i, p) in prompts.enumerate() {
        writeln!(w, "{},openrouter,acme/m,{p},0,true", t0 + i as u64).unwrap();
    }
    path
}

#[test]
fn the_millionth_byok_call_is_free_and_the_next_is_charged() {
    let dir = tempfile::tempdir().unwrap();
    // 999,999 calls of 1 token, then a 2,000,000-token call (2 USD) as the 1,000,000th: free.
    let log = byok_log(
        dir.path(),
        std::iter::repeat_n(1, 999_999).chain([2_000_000]),
    );
    let (rows, code, _o) = fees(&["--logs".as_ref(), log.as_os_str()]);
    assert_eq!(
        rows,
        ["2026-04,openrouter,byok,0.00,,0.00,unchecked,\"1000000 BYOK calls, list USD 2.999999; 0 charged\""]
    );
    assert_eq!(code, 0);

    // The same with a 1,000,001st call of 2,000,000 tokens: 5 % of 2 USD = 0.10.
    let log = byok_log(
        dir.path(),
        std::iter::repeat_n(1, 999_999).chain([2_000_000, 2_000_000]),
    );
    let (rows, code, _o) = fees(&["--logs".as_ref(), log.as_os_str()]);
    assert_eq!(
        rows,
        ["2026-04,openrouter,byok,2.00,,0.10,unchecked,\"1000001 BYOK calls, list USD 4.999999; 1 charged\""]
    );
    assert_eq!(code, 0);
}
