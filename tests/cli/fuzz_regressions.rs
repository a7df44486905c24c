//! The fuzz targets' checks on stable: each target's body (tests/fuzz/harness.rs) over its
//! committed seed corpus (tests/fuzz/seeds/), and the inputs the fuzzer found crashing
//! (tests/fixtures/fuzz/) with the outcome each must now have.

#[path = "../fuzz/harness.rs"]
mod harness;

use crate::util::{daily_rates, fixture, fixture_bytes, root, spendrecon};
use std::path::{Path, PathBuf};

fn files(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = root().join(dir);
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{} holds no inputs", dir.display());
    out
}

fn run_seeds(target: &str, body: fn(&[u8])) {
    for (path, data) in files(&format!("tests/fuzz/seeds/{target}")) {
        let r = std::panic::catch_unwind(|| body(&data));
        assert!(r.is_ok(), "{target} fails on seed {}", path.display());
    }
}

#[test]
fn log_line_seeds() {
    run_seeds("log_line", harness::log_line);
}

#[test]
fn invoice_csv_seeds() {
    run_seeds("invoice_csv", harness::invoice_csv);
}

#[test]
fn rate_table_seeds() {
    run_seeds("rate_table", harness::rate_table);
}

/// log_line, found after about 100 runs: the fast JSON scanner accepted a line with invalid
/// UTF-8 in a key it skips (`{"\xff":""}`), which serde_json rejects, so the two parsers
/// disagreed. Such a line is now rejected on both paths, as invalid UTF-8 in a known field's
/// value always was. Invalid UTF-8 in the value of an unknown field is skipped by serde_json
/// unread, so that line stays usable on both paths.
#[test]
fn invalid_utf8_in_a_key_rejects_the_line_both_ways() {
    use spendrecon::sources::jsonl::{parse_line, parse_line_serde};
    use spendrecon::sources::record::FieldSet;
    let data = fixture_bytes("fuzz/log_line-invalid-utf8-key.jsonl");
    let e = parse_line(&data, FieldSet::ALL).unwrap_err();
    assert!(
        e.reason
            .starts_with("not a valid JSON object: invalid unicode code point"),
        "{}",
        e.reason
    );
    assert_eq!(
        format!("{:?}", parse_line_serde(&data, FieldSet::ALL)),
        format!("{:?}", Err::<(), _>(e))
    );
    harness::log_line(&data);

    let data = fixture_bytes("fuzz/log_line-invalid-utf8-skipped-value.jsonl");
    let call = parse_line(&data, FieldSet::ALL).unwrap();
    assert_eq!((call.usage.prompt, call.usage.completion), (1, 1));
    assert_eq!(
        format!("{call:?}"),
        format!("{:?}", parse_line_serde(&data, FieldSet::ALL).unwrap())
    );
    harness::log_line(&data);
}

/// rate_table, on the shipped `rates/fees.toml` seed: the top-up fee of the largest amount a
/// ledger cell can hold overflowed the decimal range (a panic, exit status 101, for
/// `spendrecon fees --topups` on a ledger row of USD 79228162514264337593543950335). The fee is
/// now the percentage of it, computed without overflow.
#[test]
fn card_fee_on_the_largest_amount_does_not_overflow() {
    use rust_decimal_macros::dec;
    use spendrecon::domain::{Day, Money};
    use spendrecon::fees::policy::FeeBook;
    let data = fixture_bytes("fuzz/rate_table-card-fee-on-largest-amount.toml");
    let book = FeeBook::parse(Path::new("fees.toml"), std::str::from_utf8(&data).unwrap()).unwrap();
    let card = &book
        .on("openrouter", Day::parse("2026-04-01").unwrap())
        .unwrap()
        .card;
    // 5.5 % of 79228162514264337593543950335, to the precision a decimal holds.
    assert_eq!(card.on(Money::MAX), dec!(4357548938284538567644917268.4));
    assert_eq!(card.on(dec!(1000)), dec!(55.00));
    assert_eq!(card.on(dec!(10)), dec!(0.80));
    harness::rate_table(&data);
}

/// The guard behind that fix: a fee percentage over 100 (here a BYOK fee of 10^27 %, which
/// overflowed the BYOK fee of an ordinary month) is an error in `fees.toml`, naming the policy.
#[test]
fn fee_percentage_over_100_is_an_error() {
    use spendrecon::fees::policy::FeeBook;
    let data = fixture_bytes("fuzz/rate_table-fee-pct-over-100.toml");
    let e =
        FeeBook::parse(Path::new("fees.toml"), std::str::from_utf8(&data).unwrap()).unwrap_err();
    assert_eq!(
        e.message,
        "policy 1: byok fee of 1000000000000000000000000000 % is over 100 %"
    );
    harness::rate_table(&data);
}

/// log_line, found after about 135,000 runs: a line that starts with a UTF-8 BOM (as when CSV
/// files are joined end to end) kept the BOM in its first cell on the plain path, while the csv
/// crate drops a BOM at the start of its input, i.e. of a chunk with quotes. A row was thus
/// used or rejected depending on where chunks were cut. A BOM opening a record is now no data on
/// either path.
#[test]
fn a_bom_opening_a_csv_line_is_not_data() {
    use spendrecon::sources::delimited::{parse_plain_line, parse_record, CsvLayout};
    use spendrecon::sources::record::FieldSet;
    let data = fixture_bytes("fuzz/log_line-bom-opens-a-line.csv");
    harness::log_line(&data);
    let data = fixture_bytes("fuzz/log_line-bom-opens-a-data-line.csv");
    harness::log_line(&data);
    let layout = CsvLayout::from_header(
        &[
            "ts",
            "provider",
            "model",
            "prompt_tokens",
            "completion_tokens",
        ],
        1,
        FieldSet::ALL,
    )
    .unwrap();
    let line = data.split(|&b| b == b'\n').nth(2).unwrap();
    assert!(line.starts_with(b"\xEF\xBB\xBF"));
    let plain = parse_plain_line(&layout, line).unwrap().unwrap();
    assert_eq!((plain.usage.prompt, plain.usage.completion), (1000, 200));
    let mut rec = csv::ByteRecord::new();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line)
        .read_byte_record(&mut rec)
        .unwrap();
    let record = parse_record(&layout, &rec).unwrap().unwrap();
    assert_eq!(format!("{plain:?}"), format!("{record:?}"));

    // End to end: the BOM line sits inside a chunk without quotes (the plain path) and is used.
    let out = tempfile::tempdir().unwrap();
    let path = fixture("fuzz/log_line-bom-opens-a-data-line.csv");
    spendrecon()
        .arg("daily")
        .arg("--rates")
        .arg(daily_rates())
        .arg("--logs")
        .arg(&path)
        .arg("--out")
        .arg(out.path())
        .assert()
        .code(0);
    let files = std::fs::read_to_string(out.path().join("files.csv")).unwrap();
    assert!(files.trim_end().ends_with(",2,2,0,0,0"), "{files}");
}

/// log_line, found after about 41,000 runs: a key named twice inside `usage` (here
/// `output_tokens`). The fast scanner kept the first value and used the row; serde_json, the
/// reference, rejects a duplicate field. A repeated key that the scanner reads, in any object,
/// now declines the fast path, so the row is rejected with serde_json's message.
#[test]
fn a_key_named_twice_inside_usage_rejects_the_line() {
    use spendrecon::sources::jsonl::{parse_line, parse_line_serde};
    use spendrecon::sources::record::FieldSet;
    let data = fixture_bytes("fuzz/log_line-duplicate-key-in-usage.jsonl");
    // All fields, and what `daily` reads.
    let daily = spendrecon::aggregate::FIELDS;
    for needed in [FieldSet::ALL, daily] {
        let e = parse_line(&data, needed).unwrap_err();
        assert!(
            e.reason
                .starts_with("not a valid JSON object: duplicate field `output_tokens`"),
            "{}",
            e.reason
        );
        assert_eq!(
            format!("{:?}", parse_line_serde(&data, needed)),
            format!("{:?}", Err::<(), _>(e))
        );
    }
    harness::log_line(&data);
}

/// Beyond the rate_table finding: with the fee fixed, a ledger row of the largest decimal (and
/// two invoice lines or two logged `cost`s of 5 × 10^28) still panicked, summing amounts past
/// the decimal range (exit status 101). Amounts over USD 10^15 are now rejected rows.
#[test]
fn amounts_past_usd_10_15_are_rejected_rows() {
    let runs: [(&[&str], &str); 3] = [
        (
            &["fees", "--topups", "fuzz/topups-largest-amount.csv"],
            ":2: column amount_usd: 79228162514264337593543950335 is over USD 10^15",
        ),
        (
            &[
                "reconcile",
                "--logs",
                "daily/logs.csv",
                "--invoices",
                "fuzz/invoice-amounts-past-range.csv",
            ],
            ":3: column amount_usd: 50000000000000000000000000000 is over USD 10^15",
        ),
        (
            &["fees", "--logs", "fuzz/logs-cost-past-range.jsonl"],
            ":2: column cost: over USD 10^15",
        ),
    ];
    for (args, reason) in runs {
        let mut cmd = spendrecon();
        cmd.arg(args[0]).arg("--rates").arg(daily_rates());
        for pair in args[1..].chunks(2) {
            cmd.arg(pair[0]).arg(fixture(pair[1]));
        }
        let out = cmd.assert().code(1).get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}
