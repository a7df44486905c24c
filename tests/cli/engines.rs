//! The generated SQL run in real engines (issue 17, CONTRACT §10): the sample month loaded into
//! DuckDB and into Apache Spark (local mode) as a table of log records, the query `spendrecon
//! sql` prints run there, and its result must be the usage groups `daily --usage-out` writes from
//! the logs, byte for byte; then `daily`, `reconcile` and `fees` from the engine's groups must
//! write the same result files as from the logs. DuckDB also groups by tenant (`--by tenant`),
//! and the showback from its groups is the logs'.
//!
//! The engines come from a Python venv (`.ci/engine-venv` makes it, pins in
//! scripts/engine-check/requirements.txt): `SPENDRECON_ENGINE_PYTHON`, else target/engine-venv.
//! Without either the test says so and passes; `.ci/run` always sets it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{read, root, run_out, spendrecon, SAMPLE_MONTH};

pub fn engine_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SPENDRECON_ENGINE_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = root().join("target/engine-venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "no engine venv under CI: .ci/run makes it"
    );
    eprintln!(
        "skipped: no engine venv (run `bash .ci/engine-venv`, or set SPENDRECON_ENGINE_PYTHON)"
    );
    None
}

fn script(name: &str) -> PathBuf {
    root().join("scripts/engine-check").join(name)
}

fn python(py: &Path, args: &[&Path]) {
    let o = Command::new(py).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{} failed:\n{}",
        args[0].display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `spendrecon` with `args` and `--out` a fresh dir; exit status 0 or 1 (the sample month flags).
fn run(args: &[&str]) -> tempfile::TempDir {
    let mut c = spendrecon();
    c.current_dir(root()).args(args);
    let (out, o) = run_out(&mut c);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// The sample month's bills: its invoices and ledger.
const BILLS: &[&str] = SAMPLE_MONTH.split_at(2).1;

fn check_engine(py: &Path, engine: &str, tz: &str) {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.csv");
    let logs = run(&[
        "daily",
        "--tz",
        tz,
        "--logs",
        "sample-data/logs",
        "--usage-out",
        local.to_str().unwrap(),
    ]);
    // The table: every row an engine can type (the rest are the rows spendrecon rejected).
    let calls = dir.path().join("calls.csv");
    python(
        py,
        &[
            &script("load.py"),
            &root().join("sample-data/logs"),
            &logs.path().join("rejected.csv"),
            &calls,
        ],
    );
    let o = spendrecon()
        .current_dir(root())
        .args(["sql", "--dialect", engine, "--table", "calls", "--tz", tz])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let query = dir.path().join("query.sql");
    std::fs::write(&query, &o.stdout).unwrap();
    let groups = dir.path().join(format!("{engine}.csv"));
    python(
        py,
        &[
            &script(&format!("{engine}_run.py")),
            &calls,
            &query,
            &groups,
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&groups).unwrap(),
        std::fs::read_to_string(&local).unwrap(),
        "{engine} in {tz}: the engine's groups differ from daily --usage-out"
    );
    // The commands from the engine's groups.
    let g = groups.to_str().unwrap();
    let cases: [(&str, &[&str], &[&str]); 3] = [
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
        ("fees", &BILLS[4..], &["fees.csv", "topups.csv"]),
    ];
    for (command, extra, files) in cases {
        let mut from_logs: Vec<&str> = vec![command, "--tz", tz, "--logs", "sample-data/logs"];
        from_logs.extend(extra);
        let mut from_engine: Vec<&str> = vec![command, "--tz", tz, "--usage", g];
        from_engine.extend(extra);
        let (a, b) = (run(&from_logs), run(&from_engine));
        for f in files {
            assert_eq!(
                read(a.path(), f),
                read(b.path(), f),
                "{engine} {tz} {command} {f}"
            );
        }
    }
}

/// `--by tenant` (issue 19): the engine's groups with the tenant as one more key are the ones
/// `daily --usage-out --by tenant` writes, and `daily`, `reconcile` and `forecast --by tenant`
/// from them write the showback of the logs.
fn check_engine_by_tenant(py: &Path, engine: &str, tz: &str) {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.csv");
    let logs = run(&[
        "daily",
        "--tz",
        tz,
        "--logs",
        "sample-data/logs",
        "--by",
        "tenant",
        "--usage-out",
        local.to_str().unwrap(),
    ]);
    let calls = dir.path().join("calls.csv");
    python(
        py,
        &[
            &script("load.py"),
            &root().join("sample-data/logs"),
            &logs.path().join("rejected.csv"),
            &calls,
        ],
    );
    let o = spendrecon()
        .current_dir(root())
        .args(["sql", "--dialect", engine, "--table", "calls", "--tz", tz])
        .args(["--by", "tenant"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let query = dir.path().join("query.sql");
    std::fs::write(&query, &o.stdout).unwrap();
    let groups = dir.path().join(format!("{engine}.csv"));
    python(
        py,
        &[
            &script(&format!("{engine}_run.py")),
            &calls,
            &query,
            &groups,
        ],
    );
    let text = std::fs::read_to_string(&groups).unwrap();
    assert!(text.lines().next().unwrap().ends_with(",tenant"));
    assert_eq!(
        text,
        std::fs::read_to_string(&local).unwrap(),
        "{engine} in {tz} --by tenant: the engine's groups differ from daily --usage-out --by tenant"
    );
    let g = groups.to_str().unwrap();
    let cases: [(&str, &[&str], &[&str]); 3] = [
        ("daily", &[], &["showback.csv", "daily.csv"]),
        (
            "reconcile",
            BILLS,
            &["showback.csv", "summary.csv", "fees.csv"],
        ),
        ("forecast", &[], &["showback.csv", "showback_forecast.csv"]),
    ];
    for (command, extra, files) in cases {
        let mut from_logs: Vec<&str> = vec![command, "--tz", tz, "--logs", "sample-data/logs"];
        let mut from_engine: Vec<&str> = vec![command, "--tz", tz, "--usage", g];
        for a in [&mut from_logs, &mut from_engine] {
            a.extend(extra);
            a.extend(["--by", "tenant"]);
        }
        let (a, b) = (run(&from_logs), run(&from_engine));
        for f in files {
            assert_eq!(
                read(a.path(), f),
                read(b.path(), f),
                "{engine} {tz} {command} --by tenant {f}"
            );
        }
    }
}

#[test]
fn duckdb_computes_the_usage_groups_by_tenant() {
    let Some(py) = engine_python() else { return };
    check_engine_by_tenant(&py, "duckdb", "Asia/Kolkata");
}

#[test]
fn duckdb_computes_the_usage_groups_of_the_sample_month() {
    let Some(py) = engine_python() else { return };
    check_engine(&py, "duckdb", "UTC");
    check_engine(&py, "duckdb", "Asia/Kolkata");
}

#[test]
fn spark_computes_the_usage_groups_of_the_sample_month() {
    let Some(py) = engine_python() else { return };
    check_engine(&py, "spark", "America/New_York");
}
