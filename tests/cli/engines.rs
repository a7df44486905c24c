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

use crate::util::{
    assert_same_results, case_results, root, run_ok, spendrecon, Case, BILLS, SAMPLE_CASES,
};

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
    run_ok(args).0
}

/// With `--by tenant` (issue 19): `daily`, `reconcile` and `forecast`, and the showback files.
const BY_TENANT_CASES: &[Case] = &[
    ("daily", &[], &["showback.csv", "daily.csv"]),
    (
        "reconcile",
        BILLS,
        &["showback.csv", "summary.csv", "fees.csv"],
    ),
    ("forecast", &[], &["showback.csv", "showback_forecast.csv"]),
];

/// The engine's groups are the ones `daily --usage-out` writes, and `daily`, `reconcile` and
/// `fees` from them write the logs' files. `--by tenant` (issue 19): the groups carry the tenant
/// as one more key (`daily --usage-out --by tenant`), and `daily`, `reconcile` and `forecast
/// --by tenant` from them write the showback of the logs.
fn check_engine(py: &Path, engine: &str, tz: &str, by_tenant: bool) {
    let by: &[&str] = if by_tenant { &["--by", "tenant"] } else { &[] };
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.csv");
    let mut args = vec!["daily", "--tz", tz, "--logs", "sample-data/logs"];
    args.extend(by);
    args.extend(["--usage-out", local.to_str().unwrap()]);
    let logs = run(&args);
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
        .args(by)
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
    if by_tenant {
        assert!(text.lines().next().unwrap().ends_with(",tenant"));
    }
    assert_eq!(
        text,
        std::fs::read_to_string(&local).unwrap(),
        "{engine} in {tz} {by:?}: the engine's groups differ from daily --usage-out"
    );
    // The commands from the engine's groups.
    let cases = if by_tenant {
        BY_TENANT_CASES
    } else {
        SAMPLE_CASES
    };
    let g = groups.to_str().unwrap();
    assert_same_results(
        &format!("{engine} {tz} {by:?}"),
        &case_results(cases, &["--usage", g], tz, by),
        &case_results(cases, &["--logs", "sample-data/logs"], tz, by),
    );
}

#[test]
fn duckdb_computes_the_usage_groups_by_tenant() {
    let Some(py) = engine_python() else { return };
    check_engine(&py, "duckdb", "Asia/Kolkata", true);
}

#[test]
fn duckdb_computes_the_usage_groups_of_the_sample_month() {
    let Some(py) = engine_python() else { return };
    check_engine(&py, "duckdb", "UTC", false);
    check_engine(&py, "duckdb", "Asia/Kolkata", false);
}

#[test]
fn spark_computes_the_usage_groups_of_the_sample_month() {
    let Some(py) = engine_python() else { return };
    check_engine(&py, "spark", "America/New_York", false);
}
