//! End-to-end tests of `spendrecon rates import-litellm` and `--rates-override`
//! (tests/fixtures/litellm).
//!
//! The fixture table (rates/models.csv), USD per million tokens, all provider `*` from 2026-01-01:
//!   anthropic/claude-sonnet-4.5  3 / 15, cache 0.30 / 3.75 / 1h 6, over 200000: 6 / 22.50
//!   openai/gpt-5                 1.25 / 10, cache read 0.125
//!   deepseek/deepseek-chat       0.28 / 0.42, cache read 0.028 (line 4)
//!
//! model_prices.json (per token × 1,000,000), imported from 2026-05-01:
//!   claude-haiku-4-5        → anthropic/claude-haiku-4.5 NEW: 1 / 5, cache 0.1 / 1.25 / 1h 2
//!   claude-sonnet-4-5       → anthropic/claude-sonnet-4.5 UNCHANGED (3e-06 = 3, 2.25e-05 = 22.5 …;
//!                             its long-tier cache read has no column and is not compared)
//!   deepseek/deepseek-chat  → CHANGED: 0.27 / 1.1, cache read 0.07; the old row closes 2026-04-30
//!   gemini/gemini-2.5-pro   → google/gemini-2.5-pro NEW: 1.25 / 10, cache read 0.125,
//!                             over 200000: 2.5 / 15
//!   gpt-5 (mode responses)  → openai/gpt-5 UNCHANGED; openrouter/openai/gpt-5 (1.3) loses to it
//!   sample_spec, text-embedding-3-small: skipped (mode)
//!
//! calls.jsonl priced by the written table, cost = Σ tokens × price / 1e6:
//!   04-30 deepseek p10000 (4000 cached) c2000, old row: 6000×0.28 + 4000×0.028 + 2000×0.42
//!         = 1680 + 112 + 840 = 2632 → 0.002632
//!   05-02 deepseek, same tokens, new row: 6000×0.27 + 4000×0.07 + 2000×1.1
//!         = 1620 + 280 + 2200 = 4100 → 0.0041
//!   05-02 gemini p250000 > 200000 → long tier: 250000×2.5 + 1000×15 = 640000 → 0.64
//!   05-02 gpt-5 p1000 c100: 1250 + 1000 = 2250 → 0.00225
//!
//! override.csv sets openai/gpt-5 to 2 / 20: the gpt-5 call costs 2000 + 2000 = 4000 → 0.004.

use std::path::{Path, PathBuf};

use crate::util::{fixture, spendrecon};
use assert_cmd::Command;
use predicates::str::contains;

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// A temporary copy of the fixture rate directory, to write into.
fn rates_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("litellm/rates/models.csv"),
        dir.path().join("models.csv"),
    )
    .unwrap();
    dir
}

fn import(rates: &Path, json: &Path, extra: &[&str]) -> Command {
    import_on("2026-05-01", rates, json, extra)
}

fn import_on(day: &str, rates: &Path, json: &Path, extra: &[&str]) -> Command {
    let mut cmd = spendrecon();
    cmd.args(["rates", "import-litellm"])
        .arg(json)
        .arg("--rates")
        .arg(rates)
        .args(["--effective-from", day])
        .args(extra);
    cmd
}

#[test]
fn report_lists_new_changed_unchanged_and_leaves_the_table_alone() {
    let rates = rates_copy();
    let before = std::fs::read(rates.path().join("models.csv")).unwrap();
    let out = import(rates.path(), &fixture("litellm/model_prices.json"), &[])
        .assert()
        .success()
        .stderr(contains(
            "5 chat models priced per token: 2 new, 1 changed, 2 unchanged, 0 conflicts; skipped 2 not chat (mode), 0 without per-token prices, 0 from other hosts, 1 duplicate slugs",
        ))
        .stderr(contains("report only: nothing written"))
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        read(&fixture("litellm/expected_report.csv"))
    );
    assert_eq!(
        std::fs::read(rates.path().join("models.csv")).unwrap(),
        before
    );
}

#[test]
fn write_closes_the_old_row_and_the_table_prices_calls() {
    let rates = rates_copy();
    import(
        rates.path(),
        &fixture("litellm/model_prices.json"),
        &["--write"],
    )
    .assert()
    .success()
    .stderr(contains("wrote"));
    assert_eq!(
        read(&rates.path().join("models.csv")),
        read(&fixture("litellm/expected_models.csv"))
    );

    let out = spendrecon()
        .args(["daily", "--quiet", "--logs"])
        .arg(fixture("litellm/calls.jsonl"))
        .arg("--rates")
        .arg(rates.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "day,provider,model,requests,prompt_tokens,cached_tokens,cache_write_tokens,completion_tokens,total_tokens,cost_usd,failed_requests
2026-04-30,openrouter,deepseek/deepseek-chat,1,10000,4000,0,2000,12000,0.002632,0
2026-05-02,openrouter,deepseek/deepseek-chat,1,10000,4000,0,2000,12000,0.0041,0
2026-05-02,openrouter,google/gemini-2.5-pro,1,250000,0,0,1000,251000,0.64,0
2026-05-02,openrouter,openai/gpt-5,1,1000,0,0,100,1100,0.00225,0
"
    );

    // Importing the same file again changes nothing.
    import(
        rates.path(),
        &fixture("litellm/model_prices.json"),
        &["--write"],
    )
    .assert()
    .success()
    .stderr(contains("0 new, 0 changed, 5 unchanged"))
    .stderr(contains("nothing to write"));
    assert_eq!(
        read(&rates.path().join("models.csv")),
        read(&fixture("litellm/expected_models.csv"))
    );

    // A day before rows the table already has is a conflict: left out, exit status 1. Here
    // every slug is a conflict or unchanged, so the table is not touched.
    let before = std::fs::read(rates.path().join("models.csv")).unwrap();
    import_on("2026-04-15", rates.path(), &fixture("litellm/model_prices.json"), &["--write"])
        .assert()
        .code(1)
        .stdout(contains(
            "conflict,*,deepseek/deepseek-chat,deepseek/deepseek-chat,the table already has a row from 2026-05-01 (line 5); edit it by hand",
        ))
        .stdout(contains("unchanged,*,openai/gpt-5,gpt-5,"))
        .stderr(contains("0 new, 0 changed, 2 unchanged, 3 conflicts"));
    assert_eq!(
        std::fs::read(rates.path().join("models.csv")).unwrap(),
        before
    );
}

fn bad_json(body: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("prices.json");
    std::fs::write(&p, body).unwrap();
    (dir, p)
}

#[test]
fn malformed_json_and_negative_price_are_bad_input() {
    let rates = rates_copy();
    let before = std::fs::read(rates.path().join("models.csv")).unwrap();
    let (_d, p) = bad_json(r#"{"gpt-5": {"input_cost_per_token": 1e-06,"#);
    import(rates.path(), &p, &["--write"])
        .assert()
        .code(2)
        .stderr(contains("prices.json: not a LiteLLM price file"));
    let (_d, p) = bad_json(
        r#"{"gpt-5": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": -1.25e-06, "output_cost_per_token": 1e-05}}"#,
    );
    import(rates.path(), &p, &["--write"])
        .assert()
        .code(2)
        .stderr(contains(
            "prices.json: `gpt-5`: input_cost_per_token is negative (-1.25e-06)",
        ));
    assert_eq!(
        std::fs::read(rates.path().join("models.csv")).unwrap(),
        before
    );
}

#[test]
fn effective_from_is_required() {
    spendrecon()
        .args(["rates", "import-litellm"])
        .arg(fixture("litellm/model_prices.json"))
        .assert()
        .code(2)
        .stderr(contains("--effective-from"));
}

fn daily_csv(extra: &[&str]) -> String {
    let out = spendrecon()
        .args(["daily", "--quiet", "--logs"])
        .arg(fixture("litellm/calls.jsonl"))
        .arg("--rates")
        .arg(fixture("litellm/rates"))
        .args(extra)
        .assert()
        // google/gemini-2.5-pro is not in the fixture table: unpriced, flagged.
        .code(1)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn override_changes_only_the_overridden_slug() {
    let base = daily_csv(&[]);
    let over = fixture("litellm/override.csv");
    let with = daily_csv(&["--rates-override", over.to_str().unwrap()]);
    let gpt5 = "2026-05-02,openrouter,openai/gpt-5,1,1000,0,0,100,1100";
    assert!(base.contains(&format!("{gpt5},0.00225,0")), "{base}");
    assert!(with.contains(&format!("{gpt5},0.004,0")), "{with}");
    // Every other row is the same (deepseek at 0.002632 on both days, gemini unpriced).
    let others = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("openai/gpt-5"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(others(&base), others(&with));
    assert!(base.contains(
        "2026-05-02,openrouter,deepseek/deepseek-chat,1,10000,4000,0,2000,12000,0.002632,0"
    ));
}

#[test]
fn a_bad_override_file_is_bad_input() {
    let (_d, p) = bad_json("provider,model\n*,m\n");
    spendrecon()
        .args(["daily", "--logs"])
        .arg(fixture("litellm/calls.jsonl"))
        .arg("--rates-override")
        .arg(&p)
        .assert()
        .code(2)
        .stderr(contains("header lacks column `effective_from`"));
}

// ---------------------------------------------------------------------------------------------
// Entries copied from LiteLLM's real price file (tests/fixtures/litellm/README.md: BerriAI/litellm
// at commit 00035b69, read 2026) against the shipped table's rows of those models (known/).

/// A copy of the known-models table, `edit` applied to its text.
fn known_copy(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = read(&fixture("litellm/known/models.csv"));
    std::fs::write(dir.path().join("models.csv"), edit(text)).unwrap();
    dir
}

/// The report's rows as (status, model, litellm_key, changes).
fn report_rows(out: &[u8]) -> Vec<(String, String, String, String)> {
    csv::Reader::from_reader(out)
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].into(), r[2].into(), r[3].into(), r[4].into())
        })
        .collect()
}

/// First-party keys win for `*` rows: Claude 3.7 Sonnet from `claude-3-7-sonnet-20250219`
/// (cache read 0.3, write 3.75, one-hour 6) and not from `openrouter/anthropic/claude-3.7-sonnet`
/// (no cache prices); Sonnet 4 and Opus 4 from their dated snapshots (one-hour 6 and 30), not
/// from OpenRouter's entries without a one-hour price. Every known slug is unchanged, and the
/// report names the key each row came from; Bedrock entries are skipped as another host's.
#[test]
fn real_entries_keep_every_known_price_and_name_their_key() {
    let rates = known_copy(|t| t);
    let out = import_on(
        "2026-12-01",
        rates.path(),
        &fixture("litellm/berriai_entries.json"),
        &[],
    )
    .assert()
    .code(0)
    .stderr(contains(
        "12 chat models priced per token: 5 new, 0 changed, 7 unchanged, 0 conflicts; skipped 0 not chat (mode), 0 without per-token prices, 2 from other hosts, 5 duplicate slugs",
    ))
    .get_output()
    .stdout
    .clone();
    let rows = report_rows(&out);
    let known: Vec<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| r.0 != "new")
        .map(|r| (r.0.as_str(), r.1.as_str(), r.2.as_str()))
        .collect();
    assert_eq!(
        known,
        [
            (
                "unchanged",
                "anthropic/claude-3.7-sonnet",
                "claude-3-7-sonnet-20250219"
            ),
            (
                "unchanged",
                "anthropic/claude-opus-4",
                "claude-opus-4-20250514"
            ),
            (
                "unchanged",
                "anthropic/claude-opus-4-20250514",
                "claude-opus-4-20250514"
            ),
            (
                "unchanged",
                "anthropic/claude-sonnet-4",
                "claude-sonnet-4-20250514"
            ),
            (
                "unchanged",
                "anthropic/claude-sonnet-4-20250514",
                "claude-sonnet-4-20250514"
            ),
            (
                "unchanged",
                "anthropic/claude-sonnet-4.5",
                "claude-sonnet-4-5"
            ),
            ("unchanged", "openai/gpt-5", "gpt-5"),
        ]
    );
    // --write changes nothing a known slug has.
    let before = read(&rates.path().join("models.csv"));
    import_on(
        "2026-12-01",
        rates.path(),
        &fixture("litellm/berriai_entries.json"),
        &["--write", "--only-known"],
    )
    .assert()
    .code(0)
    .stderr(contains(
        "--only-known: 5 slugs the table has no row of left out",
    ))
    .stderr(contains("nothing to write"));
    assert_eq!(read(&rates.path().join("models.csv")), before);
}

/// `--only-known` limits the report to slugs the table has: the five new dated or reordered
/// names (`anthropic/claude-4-opus`, …) are left out and counted.
#[test]
fn only_known_leaves_out_slugs_the_table_lacks() {
    let rates = known_copy(|t| t);
    let json = fixture("litellm/berriai_entries.json");
    let all = import_on("2026-12-01", rates.path(), &json, &[])
        .output()
        .unwrap();
    let new: Vec<String> = report_rows(&all.stdout)
        .into_iter()
        .filter(|r| r.0 == "new")
        .map(|r| r.1)
        .collect();
    assert_eq!(
        new,
        [
            "anthropic/claude-3.7-sonnet-20250219",
            "anthropic/claude-4-opus",
            "anthropic/claude-4-opus-20250514",
            "anthropic/claude-4-sonnet",
            "anthropic/claude-4-sonnet-20250514",
        ]
    );
    let only = import_on("2026-12-01", rates.path(), &json, &["--only-known"])
        .assert()
        .code(0)
        .stderr(contains(
            "--only-known: 5 slugs the table has no row of left out",
        ))
        .get_output()
        .stdout
        .clone();
    let rows = report_rows(&only);
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|r| r.0 == "unchanged"), "{rows:?}");
}

/// With only the resold entries (no first-party key), the prices OpenRouter's entries leave out
/// are kept from the table: no cache price becomes the input price, no one-hour cache write the
/// five-minute price (Claude 3.7 Sonnet, Sonnet 4, Sonnet 4.5, Opus 4 all unchanged). A real
/// change is still made and reported, naming the key and the prices kept: with the table's Opus
/// 4 input at 16, the import corrects it to 15 and the new row keeps the one-hour price 30.
#[test]
fn resold_entries_never_degrade_cache_or_one_hour_prices() {
    let rates = known_copy(|t| t);
    let json = fixture("litellm/berriai_resold_only.json");
    let out = import_on("2026-12-01", rates.path(), &json, &[])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let rows = report_rows(&out);
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.0 == "unchanged"), "{rows:?}");

    let rates = known_copy(|t| {
        t.replace(
            "*,anthropic/claude-opus-4,2026-01-01,,15,",
            "*,anthropic/claude-opus-4,2026-01-01,,16,",
        )
    });
    let out = import_on("2026-12-01", rates.path(), &json, &["--write"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let opus = report_rows(&out)
        .into_iter()
        .find(|r| r.1 == "anthropic/claude-opus-4")
        .unwrap();
    assert_eq!(
        opus,
        (
            "changed".to_string(),
            "anthropic/claude-opus-4".to_string(),
            "openrouter/anthropic/claude-opus-4".to_string(),
            "input_per_mtok 16 -> 15 (row on line 3 closed 2026-11-30); kept from the table (not in `openrouter/anthropic/claude-opus-4`): cache_write_1h_per_mtok".to_string()
        )
    );
    let written = read(&rates.path().join("models.csv"));
    let new_row = written
        .lines()
        .find(|l| l.starts_with("*,anthropic/claude-opus-4,2026-12-01,"))
        .unwrap();
    // 15 / 75, cache read 1.5, write 18.75 from the entry; one-hour 30 kept from the table.
    assert!(
        new_row.starts_with("*,anthropic/claude-opus-4,2026-12-01,,15,75,1.5,18.75,,,,30,litellm berriai_resold_only.json sha256:"),
        "{new_row}"
    );
}
