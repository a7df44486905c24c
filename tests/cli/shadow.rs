//! End-to-end tests of `spendrecon shadow` (tests/fixtures/shadow): pairs, drifts, medians, the
//! tolerance edge, unpaired shadow calls, `--tz`, `--from/--to`, JSONL and CSV inputs, exit status.
//!
//! logs.jsonl, acme/big on 2026-04-01 (UTC noon), drift = shadow − primary:
//!   gen-1  1000/100 ← omg-1   995/102  → prompt −5, completion +2
//!   gen-2  2000/200 ← omg-2  2001/197  → +1, −3
//!   omg-3p  500/50  ← gen-3s  503/50   → +3, 0   (primary on ominigate, shadow on openrouter,
//!                                                 nested `usage` object)
//!   gen-4   800/80  ← omg-4   605+200 cache read = 805 / 84 (Anthropic shape) → +5, +4
//!   omg-f1: a 502 shadow of gen-1 → not compared, neither pair nor unpaired
//!   prompt −5 1 3 5: nearest-rank median of 4 = the 2nd smallest = 1 (not the mean 2); max: −5
//!   and +5 tie on magnitude → +5. Completion −3 0 2 4 → median 0, max 4.
//!   → 2026-04-01,acme/big,4,0,1,5,0,4,0
//!   gen-11 700/70 at 2026-04-02T02:00Z ← omg-11 700/63 → 0, −7
//!   → 2026-04-02,acme/big,1,0,0,0,-7,-7,0
//!   In America/New_York (UTC−4) that pair is on 04-01 22:00 and joins the four above:
//!   prompt −5 0 1 3 5 → the 3rd = 1, max 5; completion −7 −3 0 2 4 → 0, max −7.
//!   → 2026-04-01,acme/big,5,0,1,5,0,-7,0
//! logs.jsonl, acme/small on 2026-04-01, tolerance max(10, 0.1 % of the primary's count):
//!   gen-5 20000/1000 ← 20020/1000 → +20 = max(10, 20): at the edge, within
//!   gen-6 20000/1000 ← 20021/1000 → +21 > 20: over
//!   gen-7   100/10   ←   100/21   → completion +11 > max(10, 0.01): over
//!   gen-8   100/10   ←   100/20   → +10: at the edge, within
//!   omg-9 names gen-404, which no call has → unpaired
//!   omg-10 names gen-10, a 500 → unpaired
//!   prompt 0 0 20 21 → 0, max 21; completion 0 0 10 11 → 0, max 11
//!   → 2026-04-01,acme/small,4,2,0,21,0,11,2
//! logs.csv, acme/csv on 2026-04-03:
//!   gen-c1 300/30 ← omg-c1 301/30 → +1, 0
//!   gen-c2 300/30 logged twice alike ← omg-c2 302/31 → +2, +1 (pairs as one call)
//!   gen-c3 logged twice, 300/30 and 310/30 ← omg-c3 → unpaired (ambiguous)
//!   omg-c4 1000/100 names gen-1 of logs.jsonl (another file, another day) → 0, 0
//!   omg-c5 has no shadow_of → unpaired
//!   prompt 0 1 2 → 1, max 2; completion 0 0 1 → 0, max 1
//!   → 2026-04-03,acme/csv,3,2,1,2,0,1,0

use crate::util::{fixture, read, root, run_out, spendrecon};
use assert_cmd::Command;

const HEADER: &str = "day,model,pairs,unpaired,median_prompt_drift,max_prompt_drift,median_completion_drift,max_completion_drift,over_tolerance\n";
const PAIRS_HEADER: &str =
    "day,model,primary_request_id,shadow_request_id,prompt_drift,completion_drift\n";

fn cmd(logs: &[&str], extra: &[&str]) -> Command {
    let mut c = spendrecon();
    c.arg("shadow");
    for l in logs {
        c.arg("--logs").arg(fixture("shadow").join(l));
    }
    c.args(extra);
    c
}

/// Runs with `--out` into a fresh directory: (dir, exit code).
fn run(logs: &[&str], extra: &[&str]) -> (tempfile::TempDir, i32) {
    let (out, o) = run_out(cmd(logs, extra).arg("-q"));
    (out, o.status.code().unwrap())
}

#[test]
fn jsonl_and_csv_pairs_drifts_and_unpaired_in_utc() {
    let (out, code) = run(&["logs.jsonl", "logs.csv"], &[]);
    // Two pairs over tolerance and four unpaired shadow calls: flagged.
    assert_eq!(code, 1);
    assert_eq!(
        read(&out, "shadow.csv"),
        HEADER.to_string()
            + "2026-04-01,acme/big,4,0,1,5,0,4,0\n\
               2026-04-01,acme/small,4,2,0,21,0,11,2\n\
               2026-04-02,acme/big,1,0,0,0,-7,-7,0\n\
               2026-04-03,acme/csv,3,2,1,2,0,1,0\n"
    );
    assert_eq!(
        read(&out, "shadow_pairs.csv"),
        PAIRS_HEADER.to_string()
            + "2026-04-01,acme/small,gen-6,omg-6,21,0\n\
               2026-04-01,acme/small,gen-7,omg-7,0,11\n"
    );
    assert_eq!(read(&out, "rejected.csv"), "file,line,column,reason,raw\n");
    let files = read(&out, "files.csv");
    assert!(files.contains("logs.jsonl,22,22,0,0,0\n"), "{files}");
    assert!(files.contains("logs.csv,10,10,0,0,0\n"), "{files}");
}

#[test]
fn tz_moves_a_pair_to_the_previous_day() {
    let (out, code) = run(&["logs.jsonl", "logs.csv"], &["--tz", "America/New_York"]);
    assert_eq!(code, 1);
    assert_eq!(
        read(&out, "shadow.csv"),
        HEADER.to_string()
            + "2026-04-01,acme/big,5,0,1,5,0,-7,0\n\
               2026-04-01,acme/small,4,2,0,21,0,11,2\n\
               2026-04-03,acme/csv,3,2,1,2,0,1,0\n"
    );
}

#[test]
fn period_selects_shadow_calls_and_primaries_outside_it_still_pair() {
    let (out, code) = run(
        &["logs.jsonl", "logs.csv"],
        &["--from", "2026-04-03", "--to", "2026-04-03"],
    );
    assert_eq!(code, 1);
    // omg-c4's primary gen-1 is on 04-01, outside the period: still a pair (3 pairs, not 2).
    assert_eq!(
        read(&out, "shadow.csv"),
        HEADER.to_string() + "2026-04-03,acme/csv,3,2,1,2,0,1,0\n"
    );
    assert_eq!(read(&out, "shadow_pairs.csv"), PAIRS_HEADER);
    let files = read(&out, "files.csv");
    assert!(files.contains("logs.jsonl,22,0,22,0,0\n"), "{files}");
}

#[test]
fn tolerance_options_move_the_edge() {
    // max(25, 0.1 %): +21 and +11 are within now; the unpaired calls still flag the run.
    let (out, code) = run(&["logs.jsonl"], &["--tolerance-tokens", "25"]);
    assert_eq!(code, 1);
    assert!(read(&out, "shadow.csv").contains("2026-04-01,acme/small,4,2,0,21,0,11,0\n"));
    assert_eq!(read(&out, "shadow_pairs.csv"), PAIRS_HEADER);
    // max(10, 0.2 % of 20000 = 40): +21 within; +11 on a completion of 10 still over.
    let (out, _) = run(&["logs.jsonl"], &["--tolerance-pct", "0.2"]);
    assert_eq!(
        read(&out, "shadow_pairs.csv"),
        PAIRS_HEADER.to_string() + "2026-04-01,acme/small,gen-7,omg-7,0,11\n"
    );
}

#[test]
fn a_clean_run_exits_0_and_stdout_holds_only_the_main_table() {
    // gen-a 100/10 ← omg-a 102/9: +2, −1.
    let o = cmd(&["clean.jsonl"], &["-q"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        HEADER.to_string() + "2026-04-05,acme/big,1,0,2,2,-1,-1,0\n"
    );
    assert!(o.stderr.is_empty());
    let (out, code) = run(&["clean.jsonl"], &[]);
    assert_eq!(code, 0);
    assert_eq!(read(&out, "shadow_pairs.csv"), PAIRS_HEADER);
}

#[test]
fn json_format_writes_shadow_jsonl() {
    let (out, code) = run(&["clean.jsonl"], &["--format", "json"]);
    assert_eq!(code, 0);
    let line = read(&out, "shadow.jsonl");
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["day"], "2026-04-05");
    assert_eq!(v["median_completion_drift"], "-1");
    assert_eq!(v["over_tolerance"], "0");
}

#[test]
fn summary_names_why_calls_are_unpaired() {
    let o = cmd(&["logs.jsonl", "logs.csv"], &[]).output().unwrap();
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("shadow: 16 2xx shadow calls: 12 pairs, 4 unpaired, 2 pairs over tolerance"),
        "{err}"
    );
    assert!(
        err.contains("1 name a request id no logged call has"),
        "{err}"
    );
    assert!(err.contains("1 name a primary that failed"), "{err}");
    assert!(
        err.contains("1 name a request id shared by 2xx calls"),
        "{err}"
    );
    assert!(err.contains("1 have no shadow_of"), "{err}");
    assert!(
        err.contains("shadow calls that failed (non-2xx), not compared: 1"),
        "{err}"
    );
}

#[test]
fn rejected_rows_flag_the_run_and_strict_stops_it() {
    // Line 2 (omg-a) is rejected; omg-b pairs with gen-a at 0/0, within tolerance.
    let (out, code) = run(&["bad.jsonl"], &[]);
    assert_eq!(code, 1);
    assert_eq!(
        read(&out, "shadow.csv"),
        HEADER.to_string() + "2026-04-05,acme/big,1,0,0,0,0,0,0\n"
    );
    let rejected = read(&out, "rejected.csv");
    assert!(
        rejected.contains("bad.jsonl,2,prompt_tokens,"),
        "{rejected}"
    );
    let o = cmd(&["bad.jsonl"], &["--strict", "-q"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8(o.stderr).unwrap().contains("bad.jsonl:2"));
}

#[test]
fn bad_usage_exits_2() {
    let o = cmd(&["missing.jsonl"], &["-q"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = cmd(&["clean.jsonl"], &["--tolerance-pct", "-1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = cmd(
        &["clean.jsonl"],
        &["--from", "2026-04-05", "--to", "2026-04-01"],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// The sample month's shadow week (days 1–7, sample-data/README.md): 2241 pairs, 17 unpaired
/// (their primaries failed), 21 pairs over max(10, 0.1 %), each listed once.
#[test]
fn sample_month_shadow_week_matches_the_generator() {
    let out = tempfile::tempdir().unwrap();
    let mut c = spendrecon();
    c.current_dir(root())
        .arg("shadow")
        .arg("-q")
        .arg("--out")
        .arg(out.path());
    for d in 1..=7 {
        c.arg("--logs")
            .arg(format!("sample-data/logs/2026-04-{d:02}.jsonl.gz"));
    }
    // Rejected planted rows on days 3 and 6 flag the run too.
    assert_eq!(c.output().unwrap().status.code(), Some(1));
    let table = read(&out, "shadow.csv");
    let mut sums = [0u64; 3];
    for r in csv::Reader::from_reader(table.as_bytes()).records() {
        let r = r.unwrap();
        sums[0] += r[2].parse::<u64>().unwrap();
        sums[1] += r[3].parse::<u64>().unwrap();
        sums[2] += r[8].parse::<u64>().unwrap();
    }
    assert_eq!(sums, [2241, 17, 21]);
    assert_eq!(read(&out, "shadow_pairs.csv").lines().count(), 1 + 21);
}
