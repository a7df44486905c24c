//! `spendrecon.toml` and `--config`: the file's values are defaults, flags on the command line
//! win; relative paths are the file's; a typo is an error with the line. Then the generated
//! completion scripts and manual page.
//!
//! Logs: tests/fixtures/daily/logs.jsonl (hand-priced in tests/cli/daily.rs).

use crate::util::{fixture, spendrecon};

/// A directory holding `spendrecon.toml` with `body`, the fixture logs as `logs/` and the rate
/// table as `rates/` (so the file's relative paths are checked too).
fn setup(body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    std::fs::copy(
        fixture("daily/logs.jsonl"),
        dir.path().join("logs/logs.jsonl"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("rates")).unwrap();
    std::fs::copy(
        fixture("daily/rates/models.csv"),
        dir.path().join("rates/models.csv"),
    )
    .unwrap();
    std::fs::write(dir.path().join("spendrecon.toml"), body).unwrap();
    dir
}

fn days(csv: &str) -> Vec<String> {
    let mut v: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    v.dedup();
    v
}

#[test]
fn the_file_sets_defaults_and_a_flag_overrides_it() {
    let dir = setup("logs = [\"logs\"]\nrates = \"rates\"\nto = \"2026-04-01\"\nquiet = true\n");
    // From the file's directory: ./spendrecon.toml is found; --to from the file keeps April 1.
    let o = spendrecon()
        .current_dir(dir.path())
        .arg("daily")
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(days(&String::from_utf8(o.stdout).unwrap()), ["2026-04-01"]);
    assert!(o.stderr.is_empty(), "quiet from the file");

    // The flag wins over the file's --to.
    let o = spendrecon()
        .current_dir(dir.path())
        .args(["daily", "--to", "2026-04-02"])
        .output()
        .unwrap();
    assert_eq!(
        days(&String::from_utf8(o.stdout).unwrap()),
        ["2026-04-01", "2026-04-02"]
    );

    // From elsewhere with --config: the file's relative paths are its own directory's.
    let o = spendrecon()
        .current_dir(std::env::temp_dir())
        .arg("daily")
        .arg("--config")
        .arg(dir.path().join("spendrecon.toml"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(days(&String::from_utf8(o.stdout).unwrap()), ["2026-04-01"]);

    // --logs on the command line replaces the file's list (an empty directory: no rows).
    std::fs::create_dir(dir.path().join("none")).unwrap();
    std::fs::write(dir.path().join("none/empty.jsonl"), "").unwrap();
    let o = spendrecon()
        .current_dir(dir.path())
        .args(["daily", "--logs", "none"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(o.stdout).unwrap().lines().count(), 1);
}

#[test]
fn a_typo_in_the_file_is_an_error_with_its_line() {
    let dir = setup("logs = [\"logs\"]\ntolerence_usd = \"0.05\"\n");
    let o = spendrecon()
        .current_dir(dir.path())
        .arg("daily")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("spendrecon: error: spendrecon.toml:2: unknown key `tolerence_usd`"),
        "{err}"
    );
    let o = spendrecon()
        .args(["daily", "--config", "no-such.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such.toml: cannot read"));
}

#[test]
fn completions_and_the_manual_page_come_from_the_definitions() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = spendrecon().args(["completions", shell]).output().unwrap();
        assert!(o.status.success(), "{shell}");
        let text = String::from_utf8(o.stdout).unwrap();
        for word in ["reconcile", "forecast", "tolerance-usd"] {
            assert!(text.contains(word), "{shell} lacks {word}");
        }
    }
    let o = spendrecon().arg("man").output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains(".TH spendrecon 1"), "{text}");
    assert!(text.contains("reconcile") && text.contains("\\-\\-config"));
}
