//! A run as a whole (docs/formats.md §6, `run.json` and "Together or not at all"): `run.json`
//! names every input and output with hashes that match the files, and a run that fails part-way
//! leaves the previous run's files exactly as they were, with no staging directory behind.
//!
//! Inputs: the reconcile fixture (tests/cli/reconcile.rs), its two log files copied into one
//! directory (so `--logs DIR` has to be expanded), and the top-up ledger of tests/cli/topups.rs.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::util::{fixture, root, spendrecon};

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file under `dir` (names relative to it) with its bytes; directories listed as such.
fn snapshot(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        out.insert(name, p.is_file().then(|| std::fs::read(&p).unwrap()));
    }
    out
}

/// The temporary directory of a case: `logs/` holds the two log files of the fixture.
fn case() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::copy(fixture("daily/logs.jsonl"), logs.join("a.jsonl")).unwrap();
    std::fs::copy(fixture("reconcile/extra.jsonl"), logs.join("b.jsonl")).unwrap();
    dir
}

/// `reconcile` on the case in `dir`, writing to `dir/out`, then `extra`: the arguments (after
/// the program name) and the process's output.
fn reconcile(dir: &Path, extra: &[&str]) -> (Vec<OsString>, std::process::Output) {
    let mut args: Vec<OsString> = vec!["reconcile".into(), "--logs".into()];
    args.push(dir.join("logs").into());
    args.push("--invoices".into());
    args.push(fixture("reconcile/invoice.csv").into());
    args.push("--rates".into());
    args.push(fixture("reconcile/rates").into());
    args.push("--out".into());
    args.push(dir.join("out").into());
    args.push("-q".into());
    args.extend(extra.iter().map(OsString::from));
    // A working directory without a spendrecon.toml: no config file comes in by accident.
    let o = spendrecon().current_dir(dir).args(&args).output().unwrap();
    (args, o)
}

#[test]
fn run_json_names_every_input_and_output_with_their_hashes() {
    let dir = case();
    let book = dir.path().join("book.xlsx");
    let ledger = fixture("topups/ledger.csv");
    let (args, o) = reconcile(
        dir.path(),
        &[
            "--xlsx",
            book.to_str().unwrap(),
            "--topups",
            ledger.to_str().unwrap(),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = dir.path().join("out");
    let text = std::fs::read_to_string(out.join("run.json")).unwrap();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();

    // The keys in their fixed order, at the top and in each entry (as written: serde_json's
    // Value sorts them).
    let keys_at = |indent: usize| -> Vec<&str> {
        text.lines()
            .filter_map(|l| {
                let key = l.strip_prefix(&" ".repeat(indent))?.strip_prefix('"')?;
                (!key.starts_with(' ')).then(|| key.split('"').next().unwrap())
            })
            .filter(|k| !k.is_empty())
            .collect()
    };
    assert_eq!(
        keys_at(2),
        ["tool", "version", "command_line", "inputs", "outputs"]
    );
    let entries = keys_at(6);
    let (n_in, n_out) = (
        m["inputs"].as_array().unwrap().len(),
        m["outputs"].as_array().unwrap().len(),
    );
    let want: Vec<&str> = ["role", "path", "size", "sha256"]
        .repeat(n_in)
        .into_iter()
        .chain(["path", "size", "sha256"].repeat(n_out))
        .collect();
    assert_eq!(entries, want);
    assert_eq!(m["tool"], "spendrecon");
    assert_eq!(m["version"], env!("CARGO_PKG_VERSION"));

    // The command line as given: the program, then the arguments.
    let argv: Vec<String> = m["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let given: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
    assert_eq!(argv[1..], given[..]);
    assert!(argv[0].ends_with("spendrecon"), "{argv:?}");

    // Inputs: the directory's two logs, the invoice, the ledger, the fixture's models.csv and
    // slugs.csv, and aliases.csv and fees.toml built in (the binary's copies of rates/: the
    // same hashes).
    let logs = dir.path().join("logs");
    let want_inputs: Vec<(&str, String, PathBuf)> = vec![
        (
            "logs",
            logs.join("a.jsonl").display().to_string(),
            logs.join("a.jsonl"),
        ),
        (
            "logs",
            logs.join("b.jsonl").display().to_string(),
            logs.join("b.jsonl"),
        ),
        (
            "invoices",
            fixture("reconcile/invoice.csv").display().to_string(),
            fixture("reconcile/invoice.csv"),
        ),
        ("topups", ledger.display().to_string(), ledger.clone()),
        (
            "rates",
            fixture("reconcile/rates/models.csv").display().to_string(),
            fixture("reconcile/rates/models.csv"),
        ),
        (
            "slugs",
            fixture("reconcile/rates/slugs.csv").display().to_string(),
            fixture("reconcile/rates/slugs.csv"),
        ),
        (
            "aliases",
            "built-in".into(),
            root().join("rates/aliases.csv"),
        ),
        ("fees", "built-in".into(), root().join("rates/fees.toml")),
    ];
    let inputs = m["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), want_inputs.len(), "{text}");
    for (got, (role, path, file)) in inputs.iter().zip(&want_inputs) {
        assert_eq!(got["role"], *role, "{got}");
        assert_eq!(got["path"], *path, "{got}");
        assert_eq!(got["size"], std::fs::metadata(file).unwrap().len(), "{got}");
        assert_eq!(got["sha256"], sha256(file), "{got}");
    }

    // Outputs: every file in --out but run.json itself, by name, and the workbook by its path
    // as given; sorted by path; each hash that of the file on disk.
    let mut want_outputs: Vec<(String, PathBuf)> = snapshot(&out)
        .into_keys()
        .filter(|n| n != "run.json")
        .map(|n| (n.clone(), out.join(n)))
        .collect();
    want_outputs.push((book.display().to_string(), book.clone()));
    want_outputs.sort();
    let names: Vec<&str> = want_outputs.iter().map(|(n, _)| n.as_str()).collect();
    for f in [
        "recon.csv",
        "fees.csv",
        "topups.csv",
        "rejected.csv",
        "files.csv",
    ] {
        assert!(names.contains(&f), "{names:?}");
    }
    let outputs = m["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), want_outputs.len(), "{text}");
    for (got, (name, file)) in outputs.iter().zip(&want_outputs) {
        assert_eq!(got["path"], *name);
        assert_eq!(got["size"], std::fs::metadata(file).unwrap().len(), "{got}");
        assert_eq!(got["sha256"], sha256(file), "{got}");
    }
}

#[test]
fn run_json_lists_the_built_in_tables_and_the_config_file() {
    let dir = case();
    // Defaults from ./spendrecon.toml; no --rates and no ./rates: the built-in table.
    std::fs::write(dir.path().join("spendrecon.toml"), "tolerance-usd = 0.05\n").unwrap();
    let o = spendrecon()
        .current_dir(dir.path())
        .args(["daily", "--logs", "logs/a.jsonl", "--out", "out", "-q"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/run.json")).unwrap())
            .unwrap();
    let inputs: Vec<(String, String, String)> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap().to_string();
            (s("role"), s("path"), s("sha256"))
        })
        .collect();
    // `daily` loads the rate table and the model names (the alias table over the rate table
    // and the slug map): no fee policies.
    assert_eq!(
        inputs,
        [
            (
                "logs".into(),
                "logs/a.jsonl".into(),
                sha256(&fixture("daily/logs.jsonl"))
            ),
            (
                "rates".into(),
                "built-in".into(),
                sha256(&root().join("rates/models.csv"))
            ),
            (
                "slugs".into(),
                "built-in".into(),
                sha256(&root().join("rates/slugs.csv"))
            ),
            (
                "aliases".into(),
                "built-in".into(),
                sha256(&root().join("rates/aliases.csv"))
            ),
            (
                "config".into(),
                "spendrecon.toml".into(),
                sha256(&dir.path().join("spendrecon.toml"))
            ),
        ]
    );
    assert_eq!(
        m["command_line"].as_array().unwrap()[1..],
        ["daily", "--logs", "logs/a.jsonl", "--out", "out", "-q"]
    );
}

/// No `.spendrecon-staging-*` directory under `dir`.
fn assert_no_staging(dir: &Path) {
    let left: Vec<String> = snapshot(dir)
        .into_keys()
        .filter(|n| n.starts_with(".spendrecon-staging"))
        .collect();
    assert!(left.is_empty(), "{}: {left:?}", dir.display());
}

#[test]
fn a_run_that_cannot_put_one_file_in_place_leaves_the_previous_set() {
    let dir = case();
    let book = dir.path().join("book.xlsx");
    let (_, first) = reconcile(dir.path(), &["--xlsx", book.to_str().unwrap()]);
    assert_eq!(first.status.code(), Some(1));
    let out = dir.path().join("out");
    let before = snapshot(&out);
    let book_before = std::fs::read(&book).unwrap();
    assert!(!before.contains_key("fees.csv") && before.contains_key("run.json"));

    // The second run adds the ledger (fees.csv and topups.csv are new, summary.csv and
    // run.json change) and a money tolerance that turns the cost mismatch ok (recon.csv
    // changes); fees.csv is taken by a directory, so it cannot be put in place.
    std::fs::create_dir(out.join("fees.csv")).unwrap();
    let ledger = fixture("topups/ledger.csv");
    let second_args = [
        "--xlsx",
        book.to_str().unwrap(),
        "--topups",
        ledger.to_str().unwrap(),
        "--tolerance-usd",
        "1",
    ];
    let (_, second) = reconcile(dir.path(), &second_args);
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains("fees.csv: a directory is in the way"), "{err}");
    let mut after = snapshot(&out);
    assert_eq!(after.remove("fees.csv"), Some(None), "the directory stays");
    let mut before_files = before.clone();
    before_files.remove("fees.csv");
    assert_eq!(
        after, before_files,
        "every previous file as it was, no new file"
    );
    assert_eq!(std::fs::read(&book).unwrap(), book_before);
    assert_no_staging(&out);
    assert_no_staging(dir.path());

    // The same run with the way clear writes a different set: the check above could fail.
    std::fs::remove_dir(out.join("fees.csv")).unwrap();
    let (_, third) = reconcile(dir.path(), &second_args);
    assert_eq!(
        third.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    let now = snapshot(&out);
    for changed in ["recon.csv", "summary.csv", "run.json"] {
        assert_ne!(now[changed], before[changed], "{changed}");
    }
    assert!(now.contains_key("fees.csv") && now.contains_key("topups.csv"));
    assert_ne!(std::fs::read(&book).unwrap(), book_before);
    assert_no_staging(&out);
}

#[test]
fn a_run_that_fails_while_writing_leaves_the_previous_set() {
    let dir = case();
    let (_, first) = reconcile(dir.path(), &[]);
    assert_eq!(first.status.code(), Some(1));
    let out = dir.path().join("out");
    let before = snapshot(&out);

    // The workbook is written after the CSV files: its directory is a regular file, so the
    // write fails with the run's CSV files already written to staging.
    let not_a_dir = dir.path().join("plain");
    std::fs::write(&not_a_dir, "x").unwrap();
    let book = not_a_dir.join("book.xlsx");
    let (_, second) = reconcile(
        dir.path(),
        &["--xlsx", book.to_str().unwrap(), "--tolerance-usd", "1"],
    );
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains("book.xlsx"), "{err}");
    assert_eq!(snapshot(&out), before);
    assert_no_staging(&out);
    assert_no_staging(dir.path());
}
