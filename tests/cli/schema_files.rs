//! Schema files (`--schema FILE`): the mapping engine against the built-in reader on the sample
//! month, typos in a schema file, a schema from spendrecon.toml, and OTLP in the wrong format.

use crate::util::{read, root, run_out, spendrecon};

/// `schema show spendrecon` written to a file and read back as a mapping reads the sample month
/// (JSON lines flat and nested, CSV, Parquet, gzip, with its bad rows) exactly as the built-in
/// scanner does: the same daily.csv, files.csv and rejected.csv, byte for byte.
#[test]
fn the_shown_spendrecon_schema_reads_the_sample_month_like_the_builtin_reader() {
    let shown = spendrecon()
        .args(["schema", "show", "spendrecon"])
        .output()
        .unwrap();
    assert!(shown.status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, &shown.stdout).unwrap();

    let (native, o1) = run_out(spendrecon().current_dir(root()).args([
        "daily",
        "--logs",
        "sample-data/logs",
        "--quiet",
    ]));
    let (mapped, o2) = run_out(
        spendrecon()
            .current_dir(root())
            .args(["daily", "--logs", "sample-data/logs", "--quiet", "--schema"])
            .arg(&file),
    );
    assert_eq!(o1.status.code(), o2.status.code());
    for name in ["daily.csv", "files.csv", "rejected.csv"] {
        assert_eq!(read(&native, name), read(&mapped, name), "{name}");
    }
    // The sample month has rejected rows, so the comparison covers the error paths too.
    assert!(read(&mapped, "rejected.csv").lines().count() > 1);
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const MINE: &str = "[schema]\nname = \"mine\"\n\n[fields]\nts = \"when\"\nmodel = \"llm.model\"\nprompt_tokens = \"usage.input\"\ncompletion_tokens = \"usage.output\"\ntenant = \"app\"\n\n[timestamp]\nform = \"epoch_ms\"\n\n[constants]\nprovider = \"ominigate\"\n";

/// A layout of the user's own, in JSON lines and CSV: paths, an epoch-millisecond timestamp and a
/// constant gateway; a row without usage is skipped and counted, a row with a bad count rejected.
#[test]
fn a_mapping_of_ones_own_reads_json_and_csv_alike() {
    let dir = tempfile::tempdir().unwrap();
    let schema = write(dir.path(), "mine.toml", MINE);
    // 2026-04-28T13:05:22.123Z = 1777381522123 ms.
    let jsonl = write(
        dir.path(),
        "app.jsonl",
        concat!(
            r#"{"when":1777381522123,"llm":{"model":"openai/gpt-5"},"usage":{"input":1000,"output":100},"app":"search"}"#,
            "\n",
            r#"{"when":1777381523123,"llm":{"model":"openai/gpt-5"},"usage":{"input":500,"output":50}}"#,
            "\n",
            r#"{"when":1777381524123,"event":"cache-warmup"}"#,
            "\n",
            r#"{"when":1777381525123,"llm":{"model":"openai/gpt-5"},"usage":{"input":"lots","output":50}}"#,
            "\n",
        ),
    );
    let csv = write(
        dir.path(),
        "app.csv",
        "when,llm.model,usage.input,usage.output,app\n1777381522123,openai/gpt-5,1000,100,search\n1777381523123,openai/gpt-5,500,50,\n1777381524123,,,,\n1777381525123,openai/gpt-5,lots,50,\n",
    );
    let mut dailies = Vec::new();
    for (logs, bad_line) in [(&jsonl, 4), (&csv, 5)] {
        let (out, o) = run_out(
            spendrecon()
                .args(["daily", "--quiet", "--schema"])
                .arg(&schema)
                .arg("--logs")
                .arg(logs),
        );
        // A rejected row is flagged: exit status 1.
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let daily = read(&out, "daily.csv");
        // 2 calls, 1500 prompt and 150 completion tokens on one row.
        let row = daily.lines().nth(1).unwrap();
        assert!(
            row.starts_with("2026-04-28,ominigate,openai/gpt-5,2,1500,0,0,150,1650,"),
            "{row}"
        );
        let files = read(&out, "files.csv");
        // 4 rows read: 2 used, 1 rejected, 1 skipped (no usage: not a call).
        assert!(
            files.lines().nth(1).unwrap().ends_with(",4,2,0,1,1"),
            "{files}"
        );
        let rejected = read(&out, "rejected.csv");
        assert!(
            rejected.contains(&format!(",{bad_line},prompt_tokens,")),
            "{rejected}"
        );
        assert!(rejected.contains("lots"), "{rejected}");
        // run.json names the schema file among the inputs.
        let run: serde_json::Value = serde_json::from_str(&read(&out, "run.json")).unwrap();
        let schema_input = run["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["role"] == "schema")
            .expect("run.json lists the schema");
        assert_eq!(schema_input["path"], schema.display().to_string());
        dailies.push(daily);
    }
    assert_eq!(dailies[0], dailies[1]);
}

/// A typo in a schema file is exit 2 naming the file, the line and the key; so is a path with an
/// empty key and an unknown timestamp form.
#[test]
fn a_schema_file_with_a_typo_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let logs = write(dir.path(), "a.jsonl", "");
    for (text, line, words) in [
        (MINE.replace("tenant = ", "tennant = "), 9, "tennant"),
        (MINE.replace("llm.model", "llm..model"), 6, "bad path"),
        (MINE.replace("epoch_ms", "epoch_millis"), 12, "epoch_millis"),
        (MINE.replace("[constants]", "[constant]"), 14, "constant"),
    ] {
        let schema = write(dir.path(), "bad.toml", &text);
        let o = spendrecon()
            .args(["daily", "--schema"])
            .arg(&schema)
            .arg("--logs")
            .arg(&logs)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("{}:{line}:", schema.display())),
            "want line {line}: {err}"
        );
        assert!(err.contains(words), "want {words}: {err}");
    }
    // An unknown name that is no file either.
    let o = spendrecon()
        .args(["daily", "--schema", "opentelemetry", "--logs"])
        .arg(&logs)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("otel, litellm"));
}

/// `schema = "otel"` in spendrecon.toml is a built-in name, not a path; OTLP in a CSV file is a
/// clear error, not a row of rejections.
#[test]
fn the_schema_from_the_config_file_and_otlp_only_in_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "spendrecon.toml", "schema = \"otel\"\n");
    let csv = write(dir.path(), "spans.csv", "a,b\n1,2\n");
    let o = spendrecon()
        .current_dir(dir.path())
        .args(["daily", "--quiet", "--logs"])
        .arg(&csv)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("schema `otel` reads OTLP/JSON lines"), "{err}");
    let list = spendrecon().args(["schema", "list"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&list.stdout),
        "spendrecon\notel\nlitellm\nopenrouter\nlangfuse\n"
    );
}
