//! Per-call matching and disputes (docs/formats.md §11) on tests/fixtures/disputes: a month with
//! planted faults in an OpenRouter activity export, its hand-computed `disputes.csv` and
//! evidence files (the fixture's README has the arithmetic).

use std::path::Path;

use crate::util::{fixture, read, root, run_out, spendrecon};

const FIX: &str = "tests/fixtures/disputes";

fn reconcile(invoice: &str, ledger: bool) -> (tempfile::TempDir, std::process::Output) {
    let mut cmd = spendrecon();
    cmd.current_dir(root()).args([
        "reconcile",
        "--rates",
        &format!("{FIX}/rates"),
        "--logs",
        &format!("{FIX}/logs.jsonl"),
        "--invoices",
        &format!("{FIX}/{invoice}"),
    ]);
    if ledger {
        cmd.args(["--topups", &format!("{FIX}/ledger.csv")]);
    }
    run_out(&mut cmd)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn planted_faults_become_the_hand_computed_claims() {
    let (out, o) = reconcile("activity.csv", true);
    assert_eq!(o.status.code(), Some(1));
    let expected = fixture("disputes/expected");
    assert_eq!(read(&out, "disputes.csv"), read(&expected, "disputes.csv"));
    let want = files_in(&expected.join("evidence"));
    assert_eq!(files_in(&out.path().join("evidence")), want);
    assert_eq!(want.len(), 6);
    for f in &want {
        assert_eq!(
            read(out.path().join("evidence"), f),
            read(expected.join("evidence"), f),
            "{f}"
        );
    }
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("DISPUTES openrouter: claimable USD 1.105 in 6 rows")
            && stderr.contains("USD 0.012 of logged calls not billed (in our favour)"),
        "{stderr}"
    );
    // The generations listed twice are billed, not rejected: the day is flagged, and its note
    // says why, adding up to the day's difference.
    let recon = read(&out, "recon.csv");
    let day2 = recon.lines().find(|l| l.starts_with("2026-04-02")).unwrap();
    assert!(day2.contains(",42000,4200,"), "{day2}");
    assert!(day2.contains("token_mismatch"), "{day2}");
    assert!(
        day2.contains("per call: 6 generations billed twice (claim USD 0.063); claims less unbilled calls = the difference, USD 0.063"),
        "{day2}"
    );
    let day5 = recon.lines().find(|l| l.starts_with("2026-04-05")).unwrap();
    assert!(
        day5.contains("2 logged but never billed (USD 0.012 in our favour)"),
        "{day5}"
    );
    assert_eq!(read(&out, "rejected.csv").lines().count(), 1);
    // run.json names the evidence files by their place in --out.
    assert!(read(&out, "run.json").contains("\"evidence/openrouter-2026-04-02-billed_twice.csv\""));
}

#[test]
fn a_day_level_invoice_without_ids_gives_no_per_call_rows_and_says_why() {
    let (out, o) = reconcile("daily_invoice.csv", false);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        read(&out, "disputes.csv"),
        "provider,day,kind,calls,prompt_tokens,completion_tokens,amount_usd,evidence,note\n"
    );
    assert!(!out.path().join("evidence").exists());
    let recon = read(&out, "recon.csv");
    let day2 = recon.lines().find(|l| l.starts_with("2026-04-02")).unwrap();
    assert!(day2.contains("token_mismatch"), "{day2}");
    assert!(
        day2.contains(
            "no per-call claim: the bill has no call ids (day-level lines, no generation_id)"
        ),
        "{day2}"
    );
    // Reconciled rows carry no such note.
    let day1 = recon.lines().find(|l| l.starts_with("2026-04-01")).unwrap();
    assert!(day1.ends_with(",ok,"), "{day1}");
}

/// A run into an --out that holds a previous run's evidence leaves only its own claims there:
/// first the activity export (5 evidence files), then the day-level invoice (no claims).
#[test]
fn a_rerun_leaves_no_previous_evidence_behind() {
    let out = tempfile::tempdir().unwrap();
    let run = |invoice: &str| {
        let o = spendrecon()
            .current_dir(root())
            .args(["reconcile", "--rates", &format!("{FIX}/rates")])
            .args(["--logs", &format!("{FIX}/logs.jsonl")])
            .args(["--invoices", &format!("{FIX}/{invoice}"), "--out"])
            .arg(out.path())
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run("activity.csv");
    // The fixture's six claims less the top-up fee's (no ledger here).
    assert_eq!(files_in(&out.path().join("evidence")).len(), 5);
    // A file of the user's own beside the outputs is left alone.
    std::fs::write(out.path().join("notes.txt"), "mine").unwrap();
    run("daily_invoice.csv");
    assert_eq!(files_in(&out.path().join("evidence")), Vec::<String>::new());
    assert!(!read(&out, "run.json").contains("evidence/"));
    assert_eq!(read(&out, "notes.txt"), "mine");
}

/// Providers named `../../x` and `CON` with overcharged top-up fees: their evidence files are
/// named from safe parts, inside --out/evidence, and nothing is written anywhere else.
#[test]
fn hostile_provider_names_write_nothing_outside_the_evidence_directory() {
    let dir = tempfile::tempdir().unwrap();
    let rates = dir.path().join("rates");
    std::fs::create_dir(&rates).unwrap();
    std::fs::copy(
        fixture("disputes/rates/models.csv"),
        rates.join("models.csv"),
    )
    .unwrap();
    let mut toml = String::new();
    for p in ["../../x", "con", "openrouter"] {
        toml += &format!(
            "[[policy]]\nprovider = \"{p}\"\neffective_from = \"2025-01-01\"\ntopup.card = {{ pct = \"5.5\", min_usd = \"0.80\" }}\n\n"
        );
    }
    std::fs::write(rates.join("fees.toml"), toml).unwrap();
    let ledger = dir.path().join("ledger.csv");
    std::fs::write(
        &ledger,
        "date,provider,amount_usd,method,fee_usd\n2026-04-01,../../x,100,card,9.00\n2026-04-02,CON,100,card,9.00\n",
    )
    .unwrap();
    let out = dir.path().join("a/b/out");
    let o = spendrecon()
        .current_dir(root())
        .arg("reconcile")
        .arg("--rates")
        .arg(&rates)
        .args(["--logs", &format!("{FIX}/logs.jsonl")])
        .args(["--invoices", &format!("{FIX}/activity.csv")])
        .arg("--topups")
        .arg(&ledger)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let evidence = files_in(&out.join("evidence"));
    let hostile: Vec<&String> = evidence
        .iter()
        .filter(|f| f.contains("fee_overcharged"))
        .collect();
    assert_eq!(hostile.len(), 2, "{evidence:?}");
    for f in &hostile {
        assert!(
            f.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c)),
            "{f}"
        );
        assert!(!f.starts_with("con-2026") && !f.starts_with('.'), "{f}");
    }
    // Nothing beside --out: the temporary directory holds rates/, the ledger and a/ only, and
    // a/ holds b/out only.
    assert_eq!(files_in(dir.path()), ["a", "ledger.csv", "rates"]);
    assert_eq!(files_in(&dir.path().join("a")), ["b"]);
    assert_eq!(files_in(&dir.path().join("a/b")), ["out"]);
    let disputes = std::fs::read_to_string(out.join("disputes.csv")).unwrap();
    assert!(
        disputes.contains("../../x,2026-04-01,fee_overcharged,1,0,0,3.50,evidence/x-"),
        "{disputes}"
    );
}
