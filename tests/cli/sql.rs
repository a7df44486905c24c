//! `spendrecon sql` (docs/engines.md, "spendrecon sql"): the statements byte for byte against
//! golden files per dialect (`SPENDRECON_BLESS=1 cargo test sql` rewrites them: read the diff),
//! each golden file parsed by sqlglot in its dialect, the duckdb statement run in DuckDB (and the
//! postgres one in PostgreSQL when a server answers) on a fixture table and compared with the
//! hand-computed groups of tests/fixtures/sql/README.md, and the refusals.
//!
//! sqlglot and duckdb come from target/engine-venv (`.ci/engine-venv`), else from `python3`; where
//! neither has them the checks say they skipped, and fail under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use crate::util::{fixture, root, spendrecon};

const DIALECTS: [&str; 7] = [
    "duckdb",
    "spark",
    "trino",
    "bigquery",
    "clickhouse",
    "snowflake",
    "postgres",
];

/// The options of every golden statement: the fixture rates, New York (DST starts 2026-03-08),
/// March 2026.
fn march(dialect: &str, extra: &[&str]) -> Vec<String> {
    let rates = fixture("sql/rates");
    let mut a: Vec<String> = [
        "sql",
        "--dialect",
        dialect,
        "--table",
        "calls",
        "--rates",
        rates.to_str().unwrap(),
        "--tz",
        "America/New_York",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn statement(args: &[String]) -> String {
    let o = spendrecon().args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Where each kind of golden statement lives, and the extra options that make it.
fn goldens() -> Vec<(PathBuf, Vec<String>)> {
    let mapped = fixture("sql/mapped.toml");
    let mut v = Vec::new();
    for d in DIALECTS {
        v.push((fixture(&format!("sql/{d}.sql")), march(d, &[])));
        v.push((
            fixture(&format!("sql/duplicates/{d}.sql")),
            march(d, &["--query", "duplicates"]),
        ));
        v.push((
            fixture(&format!("sql/mapped/{d}.sql")),
            march(d, &["--schema", mapped.to_str().unwrap()]),
        ));
        v.push((
            fixture(&format!("sql/by_tenant/{d}.sql")),
            march(d, &["--by", "tenant"]),
        ));
    }
    v
}

#[test]
fn statements_match_the_golden_files() {
    let bless = std::env::var_os("SPENDRECON_BLESS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (path, args) in goldens() {
        let got = statement(&args);
        assert!(
            got.starts_with("WITH ") && got.ends_with('\n') && !got.contains(';'),
            "{}: not one statement:\n{got}",
            path.display()
        );
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == got => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    assert!(
        stale.is_empty(),
        "statements differ from their golden files (SPENDRECON_BLESS=1 rewrites them; review the diff): {stale:#?}"
    );
}

/// A Python that imports `module`: `SPENDRECON_SQL_PYTHON`, `SPENDRECON_ENGINE_PYTHON`, else
/// target/engine-venv's (`.ci/engine-venv`), else `python3`. `None` (after saying so) where there is none; for a module .ci/run installs
/// (`required`), that fails the test under CI=true.
fn python_with(module: &str, required: bool) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = ["SPENDRECON_SQL_PYTHON", "SPENDRECON_ENGINE_PYTHON"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .collect();
    candidates.push(root().join("target/engine-venv/bin/python"));
    candidates.push(PathBuf::from("python3"));
    for p in candidates {
        let ok = Std::new(&p)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(p);
        }
    }
    let msg = format!(
        "skipped: no Python with `{module}` (run `bash .ci/engine-venv`, or set SPENDRECON_SQL_PYTHON)"
    );
    assert!(
        !(required && std::env::var("CI").as_deref() == Ok("true")),
        "{msg}"
    );
    eprintln!("{msg}");
    None
}

#[test]
fn golden_statements_parse_in_their_dialects() {
    let Some(py) = python_with("sqlglot", true) else {
        return;
    };
    let files: Vec<PathBuf> = goldens().into_iter().map(|(p, _)| p).collect();
    let o = Std::new(py)
        .arg(root().join("scripts/sql-check/parse.py"))
        .args(&files)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("28 passed, 0 failed"), "{out}");
}

/// The statement run by `scripts/sql-check/run_<engine>.py` on `calls` (a fixture), as CSV.
fn run_script(py: &Path, engine: &str, query: &str, calls: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q.sql");
    std::fs::write(&q, query).unwrap();
    let o = Std::new(py)
        .arg(root().join(format!("scripts/sql-check/run_{engine}.py")))
        .arg(&q)
        .arg(fixture(calls))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{engine}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The groups and the duplicates of `engine` (its statement reading `table`) against the
/// hand-computed files.
fn compare_run(py: &Path, engine: &str, table: &str) {
    let with_table = |extra: &[&str]| {
        let mut a = march(engine, extra);
        a[4] = table.to_string();
        a
    };
    let want = std::fs::read_to_string(fixture("sql/expected_groups.csv")).unwrap();
    assert_eq!(
        run_script(py, engine, &statement(&with_table(&[])), "sql/calls.csv"),
        want,
        "{engine}"
    );
    let want = std::fs::read_to_string(fixture("sql/expected_duplicates.csv")).unwrap();
    let dup = statement(&with_table(&["--query", "duplicates"]));
    assert_eq!(
        run_script(py, engine, &dup, "sql/calls.csv"),
        want,
        "{engine}"
    );
}

#[test]
fn duckdb_computes_the_hand_computed_groups() {
    if let Some(py) = python_with("duckdb", true) {
        compare_run(&py, "duckdb", "calls");
    }
}

/// The schema file's statement (nested structs, epoch milliseconds, input + cache tokens, status
/// texts, failed_when, call_when, skip_when, hosts) on a DuckDB table of its shape.
#[test]
fn duckdb_reads_a_schema_files_columns() {
    let Some(py) = python_with("duckdb", true) else {
        return;
    };
    let mapped = fixture("sql/mapped.toml");
    let args = march("duckdb", &["--schema", mapped.to_str().unwrap()]);
    let got = run_script(&py, "duckdb", &statement(&args), "sql/mapped_calls.sql");
    let want = std::fs::read_to_string(fixture("sql/expected_mapped.csv")).unwrap();
    assert_eq!(got, want);
}

/// ClickHouse in-process (chDB) and local Spark are not installed by .ci/run (both are large):
/// these run where SPENDRECON_SQL_PYTHON (or python3) has them.
#[test]
fn clickhouse_computes_the_same_groups_where_chdb_is_installed() {
    if let Some(py) = python_with("chdb", false) {
        compare_run(&py, "clickhouse", "logs.calls");
    }
}

#[test]
fn spark_computes_the_same_groups_where_pyspark_and_java_are_installed() {
    let java = Std::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    match python_with("pyspark", false) {
        Some(py) if java => compare_run(&py, "spark", "calls"),
        Some(_) => eprintln!("skipped: pyspark without java"),
        None => {}
    }
}

/// psql's CSV writes booleans as t/f.
fn pg_booleans(csv: &str) -> String {
    csv.lines()
        .map(|l| {
            l.split(',')
                .map(|f| match f {
                    "t" => "true",
                    "f" => "false",
                    x => x,
                })
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect()
}

/// The postgres statement run by psql on the same calls, in a temporary table; `None` where no
/// server answers (`SPENDRECON_TEST_PG` names the database, default `dbname=test`).
fn run_postgres(query: &str) -> Option<String> {
    let db = std::env::var("SPENDRECON_TEST_PG").unwrap_or_else(|_| "dbname=test".into());
    let up = Std::new("psql")
        .args(["-X", "-q", "-d", &db, "-c", "SELECT 1"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !up {
        eprintln!("skipped: no PostgreSQL answers to psql -d '{db}' (set SPENDRECON_TEST_PG)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("run.sql");
    std::fs::write(
        &script,
        format!(
            "SET TIME ZONE 'Asia/Kolkata';\n\
             CREATE TEMP TABLE calls (ts timestamp, provider text, model text, prompt_tokens bigint, completion_tokens bigint, cached_tokens bigint, cache_write_tokens bigint, reasoning_tokens bigint, status integer, byok boolean, request_id text, cache_write_1h_tokens bigint, cost numeric);\n\
             \\copy calls FROM '{}' WITH (FORMAT csv, HEADER)\n\
             COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER);\n",
            fixture("sql/calls.csv").display()
        ),
    )
    .unwrap();
    let o = Std::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db, "-f"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(pg_booleans(&String::from_utf8(o.stdout).unwrap()))
}

#[test]
fn postgres_computes_the_same_groups() {
    let Some(got) = run_postgres(&statement(&march("postgres", &[]))) else {
        return;
    };
    let want = std::fs::read_to_string(fixture("sql/expected_groups.csv")).unwrap();
    assert_eq!(got, want);
    let dup = statement(&march("postgres", &["--query", "duplicates"]));
    let want = std::fs::read_to_string(fixture("sql/expected_duplicates.csv")).unwrap();
    assert_eq!(run_postgres(&dup).unwrap(), want);
}

/// Exit 2, nothing on stdout, and the reason on stderr.
fn refused(args: &[&str], reason: &str) {
    let o = spendrecon().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(o.stdout.is_empty(), "{args:?} printed to stdout");
    assert!(err.contains(reason), "{args:?}: {err}");
}

#[test]
fn what_sql_cannot_write_is_refused_with_exit_2() {
    let base = ["sql", "--dialect", "duckdb", "--table"];
    refused(
        &[&base[..], &["calls", "--query", "rollout"]].concat(),
        "per-call local path",
    );
    refused(
        &[&base[..], &["calls", "--query", "shadow"]].concat(),
        "spendrecon shadow",
    );
    refused(
        &[&base[..], &["calls; DROP TABLE calls"]].concat(),
        "--table",
    );
    refused(&[&base[..], &["calls\" --"]].concat(), "--table");
    refused(
        &[&base[..], &["calls", "--schema", "otel"]].concat(),
        "OTLP",
    );
    let zone = tempfile::tempdir().unwrap();
    let schema = zone.path().join("berlin.toml");
    std::fs::write(
        &schema,
        "[fields]\nts = \"t\"\nprovider = \"p\"\nmodel = \"m\"\nprompt_tokens = \"i\"\ncompletion_tokens = \"o\"\n[timestamp]\nform = \"naive\"\nzone = \"Europe/Berlin\"\n",
    )
    .unwrap();
    refused(
        &[&base[..], &["calls", "--schema", schema.to_str().unwrap()]].concat(),
        "holding UTC",
    );
}

#[test]
fn sql_writes_no_files_and_defaults_to_utc_and_the_builtin_tables() {
    let out = tempfile::tempdir().unwrap();
    let o = spendrecon()
        .args([
            "sql",
            "--dialect",
            "bigquery",
            "--table",
            "my-project.logs.calls",
        ])
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    let q = String::from_utf8(o.stdout).unwrap();
    assert!(q.contains("FROM `my-project`.`logs`.`calls` AS r"), "{q}");
    assert!(q.contains("'UTC' AS `tz`"), "{q}");
    // The built-in fee book's OpenRouter allowance, open-ended.
    assert!(
        q.contains("c_provider = 'openrouter' AND c_day >= DATE '2025-01-01' THEN c_seq > 1000000"),
        "{q}"
    );
    // No period: no day filter.
    assert!(!q.contains("BETWEEN DATE"), "{q}");
}
