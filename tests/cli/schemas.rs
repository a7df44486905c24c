//! Log schemas (`--schema NAME|FILE`, contract §8): the same six calls, written in each built-in
//! schema's real shape (tests/fixtures/schemas, sources named in its README.md), give the same
//! hand-computed daily.csv byte for byte (tests/fixtures/schemas/expected_daily.csv, arithmetic in
//! expected.md). Then the cache conventions per schema, bad input per schema (rejected with file,
//! line and a reason naming the field; records that are not calls skipped and counted), `schema
//! show` reading back as a schema file, a typo in a schema file, and the built-in schema files
//! keeping to the mapping format (docs/schemas.md, mirrored in `SPEC_KEYS` below).
//!
//! The six calls: 2026-04-28 and 2026-04-29; gateways openrouter and ominigate; models
//! openai/gpt-5-mini, anthropic/claude-sonnet-4.6 and google/gemini-2.5-flash at the prices of
//! rates/models.csv (copied to tests/fixtures/schemas/rates so that a price change there does not
//! move these numbers); one call with cache reads and writes (Anthropic convention at the source),
//! one with cached tokens (OpenAI convention), one failed call. OpenRouter's generation records
//! exist only for OpenRouter calls, so that fixture holds the three OpenRouter calls and is
//! compared with the openrouter rows of the same expected file.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util::{fixture, fixture_bytes, root, run_out, spendrecon};

/// The rate table of these tests: the three rows of rates/models.csv the calls use.
fn rates() -> PathBuf {
    fixture("schemas/rates")
}

fn expected() -> String {
    String::from_utf8(fixture_bytes("schemas/expected_daily.csv")).unwrap()
}

/// The header and the rows of `expected_daily.csv` whose provider is `provider`.
fn expected_for(provider: &str) -> String {
    let text = expected();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for l in lines.filter(|l| l.split(',').nth(1) == Some(provider)) {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// `spendrecon daily [--schema SCHEMA] --rates <fixture rates> --logs LOGS -q --out <tmp>`.
fn daily(schema: Option<&str>, logs: &Path) -> (tempfile::TempDir, Output) {
    let mut cmd = spendrecon();
    cmd.current_dir(root()).arg("daily");
    if let Some(s) = schema {
        cmd.arg("--schema").arg(s);
    }
    cmd.arg("--rates")
        .arg(rates())
        .arg("--logs")
        .arg(logs)
        .arg("-q");
    run_out(&mut cmd)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The output file `name` of a run; a missing file fails the test with the run's stderr.
fn out_file(dir: &Path, name: &str, o: &Output) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| {
        panic!(
            "{name}: {e}; exit {:?}, stderr:\n{}",
            o.status.code(),
            stderr(o)
        )
    })
}

/// daily.csv rows by (day, provider, model).
fn rows(csv_text: &str) -> Vec<(String, Vec<String>)> {
    csv_text
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<String> = l.split(',').map(str::to_owned).collect();
            (format!("{} {} {}", cells[0], cells[1], cells[2]), cells)
        })
        .collect()
}

/// The rows whose tokens depend on a cache convention, checked one by one with a message that
/// says what went wrong, before the byte comparison.
fn check_cache_rows(what: &str, got: &str, want: &str) {
    let got = rows(got);
    let cache_rows = [
        (
            "2026-04-28 ominigate anthropic/claude-sonnet-4.6",
            "cache reads and writes, Anthropic convention at the source: prompt_tokens 35200 = \
             input 1200 + cache reads 30000 + cache writes 4000. OTel's gen_ai.usage.input_tokens, \
             LiteLLM's prompt_tokens and Langfuse's inputUsage already include the cache tokens \
             (adding them again double-counts); Langfuse's usageDetails.input excludes them",
        ),
        (
            "2026-04-28 openrouter openai/gpt-5-mini",
            "cached tokens, OpenAI convention: prompt_tokens 12000 include the 8000 cached tokens; \
             completion_tokens 900 include the 320 reasoning tokens (Langfuse's usageDetails.output \
             excludes them)",
        ),
    ];
    for (key, convention) in cache_rows {
        let Some((_, want_row)) = rows(want).into_iter().find(|(k, _)| k == key) else {
            continue;
        };
        let got_row = got.iter().find(|(k, _)| k == key).map(|(_, r)| r);
        assert_eq!(got_row, Some(&want_row), "{what}: row {key}: {convention}");
    }
}

/// Runs `daily --schema SCHEMA` on the fixture `file` and compares daily.csv with `want`.
fn assert_daily(schema: Option<&str>, file: &str, want: &str) {
    let logs = fixture(&format!("schemas/{file}"));
    let (out, o) = daily(schema, &logs);
    let what = format!("--schema {} --logs {file}", schema.unwrap_or("(default)"));
    assert_ne!(
        o.status.code(),
        Some(2),
        "{what}: bad input or usage\n{}",
        stderr(&o)
    );
    let got = out_file(out.path(), "daily.csv", &o);
    check_cache_rows(&what, &got, want);
    assert_eq!(got, want, "{what}: daily.csv\nstderr:\n{}", stderr(&o));
}

#[test]
fn section_1_jsonl_gives_the_expected_daily_csv() {
    assert_daily(None, "spendrecon.jsonl", &expected());
}

#[test]
fn schema_spendrecon_is_the_default() {
    assert_daily(Some("spendrecon"), "spendrecon.jsonl", &expected());
}

#[test]
fn otel_spans_and_log_records_give_the_same_daily_csv() {
    assert_daily(Some("otel"), "otel.jsonl", &expected());
}

#[test]
fn litellm_spendlogs_csv_gives_the_same_daily_csv() {
    assert_daily(Some("litellm"), "litellm_spendlogs.csv", &expected());
}

#[test]
fn litellm_spendlogs_jsonl_gives_the_same_daily_csv() {
    assert_daily(Some("litellm"), "litellm_spendlogs.jsonl", &expected());
}

#[test]
fn openrouter_generations_give_the_openrouter_rows() {
    assert_daily(
        Some("openrouter"),
        "openrouter_generations.jsonl",
        &expected_for("openrouter"),
    );
}

#[test]
fn langfuse_observations_jsonl_gives_the_same_daily_csv() {
    assert_daily(Some("langfuse"), "langfuse_observations.jsonl", &expected());
}

#[test]
fn langfuse_observations_csv_gives_the_same_daily_csv() {
    assert_daily(Some("langfuse"), "langfuse_observations.csv", &expected());
}

/// files.csv of a run as (rows read, used, out of range, rejected, skipped) for the file whose
/// name ends with `file`.
fn accounting(dir: &Path, file: &str, o: &Output) -> (u64, u64, u64, u64, u64) {
    let text = out_file(dir, "files.csv", o);
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header = rdr.headers().unwrap().clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        [
            "file",
            "rows_read",
            "rows_used",
            "rows_out_of_range",
            "rows_rejected",
            "rows_skipped"
        ]
    );
    let r = rdr
        .records()
        .map(Result::unwrap)
        .find(|r| r[0].ends_with(file))
        .unwrap_or_else(|| panic!("{file} not in files.csv\n{text}"));
    let n = |i: usize| r[i].parse::<u64>().unwrap();
    (n(1), n(2), n(3), n(4), n(5))
}

/// Every record of the main fixtures is accounted for: the non-LLM records (an HTTP span, a
/// Langfuse SPAN observation) are skipped and counted, the failed call is used (it is counted in
/// failed_requests), nothing is rejected.
/// files.csv's counts of one file: read, used, out of range, rejected, skipped.
type Counts = (u64, u64, u64, u64, u64);

#[test]
fn the_main_fixtures_are_accounted_for() {
    let cases: &[(Option<&str>, &str, Counts)] = &[
        (None, "spendrecon.jsonl", (6, 6, 0, 0, 0)),
        // 5 chat spans, 1 log record, 1 HTTP span.
        (Some("otel"), "otel.jsonl", (7, 6, 0, 0, 1)),
        (Some("litellm"), "litellm_spendlogs.csv", (6, 6, 0, 0, 0)),
        (Some("litellm"), "litellm_spendlogs.jsonl", (6, 6, 0, 0, 0)),
        (
            Some("openrouter"),
            "openrouter_generations.jsonl",
            (3, 3, 0, 0, 0),
        ),
        // 6 generations and the trace's root SPAN.
        (
            Some("langfuse"),
            "langfuse_observations.jsonl",
            (7, 6, 0, 0, 1),
        ),
        (
            Some("langfuse"),
            "langfuse_observations.csv",
            (7, 6, 0, 0, 1),
        ),
    ];
    for (schema, file, want) in cases {
        let (out, o) = daily(*schema, &fixture(&format!("schemas/{file}")));
        let what = format!("--schema {} {file}", schema.unwrap_or("(default)"));
        assert_eq!(o.status.code(), Some(0), "{what}\n{}", stderr(&o));
        assert_eq!(
            accounting(out.path(), file, &o),
            *want,
            "{what}: (read, used, out of range, rejected, skipped)\n{}",
            out_file(out.path(), "rejected.csv", &o)
        );
        let rejected = out_file(out.path(), "rejected.csv", &o);
        assert_eq!(
            rejected.lines().count(),
            1,
            "{what}: no row rejected\n{rejected}"
        );
    }
}

/// One bad-input fixture per schema (tests/fixtures/schemas/bad, expected outcome per record in
/// its README.md).
struct BadCase {
    schema: &'static str,
    file: &'static str,
    /// Rejected records: (line, words of which the reason or the column must name one: the
    /// source's field or the contract §1 field it maps to).
    rejected: &'static [(u64, &'static [&'static str])],
    /// (rows read, used, out of range, rejected, skipped).
    accounting: (u64, u64, u64, u64, u64),
}

const BAD: &[BadCase] = &[
    BadCase {
        schema: "otel",
        file: "otel_bad.jsonl",
        rejected: &[
            // {"intValue":"12x"}
            (2, &["gen_ai.usage.input_tokens", "prompt_tokens"]),
            // no startTimeUnixNano
            (3, &["startTimeUnixNano", "ts", "timestamp"]),
            // startTimeUnixNano "9300000000000000000": a valid fixed64, past i64 nanoseconds (2262)
            (4, &["startTimeUnixNano", "ts", "timestamp"]),
        ],
        // line 1: an invoke_agent span without gen_ai usage (skipped); line 5: good.
        accounting: (5, 1, 0, 3, 1),
    },
    BadCase {
        schema: "litellm",
        file: "litellm_bad.csv",
        rejected: &[
            // prompt_tokens "abc"
            (2, &["prompt_tokens"]),
            // startTime NULL (an empty cell)
            (3, &["startTime", "ts", "timestamp"]),
        ],
        // line 4: an MCP tool-call row (no model, 0 tokens: skipped); line 5: good.
        accounting: (4, 1, 0, 2, 1),
    },
    BadCase {
        schema: "openrouter",
        file: "openrouter_bad.jsonl",
        rejected: &[
            // native_tokens_prompt "12x"
            (1, &["native_tokens_prompt", "prompt_tokens"]),
            // no created_at
            (2, &["created_at", "ts", "timestamp"]),
        ],
        // line 3: a video generation with every native_tokens_* null (skipped); line 4: good.
        accounting: (4, 1, 0, 2, 1),
    },
    BadCase {
        schema: "langfuse",
        file: "langfuse_bad.jsonl",
        rejected: &[
            // inputUsage "12x"
            (2, &["inputUsage", "prompt_tokens"]),
            // startTime null
            (3, &["startTime", "ts", "timestamp"]),
        ],
        // line 1: a SPAN observation (no model, no usage: skipped); line 4: good.
        accounting: (4, 1, 0, 2, 1),
    },
];

/// True when the rejected row's column is one of `words` or its reason contains one of them
/// (words of two letters, such as `ts`, only as the column).
fn names_field(column: &str, reason: &str, words: &[&str]) -> bool {
    words
        .iter()
        .any(|w| column == *w || (w.len() > 2 && (reason.contains(w) || column.contains(w))))
}

#[test]
fn bad_input_is_rejected_with_file_line_and_field_per_schema() {
    for case in BAD {
        let file = fixture(&format!("schemas/bad/{}", case.file));
        let (out, o) = daily(Some(case.schema), &file);
        let what = format!("--schema {} {}", case.schema, case.file);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{what}: rejected rows\n{}",
            stderr(&o)
        );
        let rejected = out_file(out.path(), "rejected.csv", &o);
        let mut rdr = csv::Reader::from_reader(rejected.as_bytes());
        let got: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        assert_eq!(got.len(), case.rejected.len(), "{what}\n{rejected}");
        for (r, (line, words)) in got.iter().zip(case.rejected) {
            assert!(r[0].ends_with(case.file), "{what}: file in {r:?}");
            assert_eq!(
                r[1].parse::<u64>().ok(),
                Some(*line),
                "{what}: line in {r:?}"
            );
            assert!(
                names_field(&r[2], &r[3], words),
                "{what}: line {line}: the reason names none of {words:?}: {r:?}"
            );
            assert!(!r[3].contains('\n'), "{what}: one-line reason {r:?}");
        }
        assert_eq!(
            accounting(out.path(), case.file, &o),
            case.accounting,
            "{what}: (read, used, out of range, rejected, skipped)"
        );
        // The good record is priced: one row, one request.
        let daily_csv = out_file(out.path(), "daily.csv", &o);
        let data: Vec<&str> = daily_csv.lines().skip(1).collect();
        assert_eq!(data.len(), 1, "{what}: daily.csv\n{daily_csv}");
        assert_eq!(data[0].split(',').nth(3), Some("1"), "{what}: {daily_csv}");
    }
}

/// The fixture each built-in schema reads, and the daily.csv it gives.
fn builtin_cases() -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("otel", "otel.jsonl", expected()),
        ("litellm", "litellm_spendlogs.csv", expected()),
        (
            "openrouter",
            "openrouter_generations.jsonl",
            expected_for("openrouter"),
        ),
        ("langfuse", "langfuse_observations.jsonl", expected()),
    ]
}

/// `spendrecon schema show NAME` prints the built-in as a schema file; read back with
/// `--schema that_file` it gives the same daily.csv as `--schema NAME`.
#[test]
fn schema_show_prints_a_file_that_reads_the_same() {
    for (name, file, want) in builtin_cases() {
        let o = spendrecon()
            .current_dir(root())
            .args(["schema", "show", name])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "schema show {name}\n{}",
            stderr(&o)
        );
        let text = String::from_utf8(o.stdout.clone()).unwrap();
        let parsed: toml::Table = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("schema show {name} is not TOML: {e}\n{text}"));
        assert!(
            parsed.contains_key("fields"),
            "schema show {name}: no [fields]\n{text}"
        );

        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join(format!("{name}-copy.toml"));
        std::fs::write(&copy, &text).unwrap();
        let logs = fixture(&format!("schemas/{file}"));
        let (out, o) = daily(Some(copy.to_str().unwrap()), &logs);
        assert_ne!(
            o.status.code(),
            Some(2),
            "--schema {}\n{}",
            copy.display(),
            stderr(&o)
        );
        let got = out_file(out.path(), "daily.csv", &o);
        assert_eq!(
            got,
            want,
            "--schema {} (schema show {name})",
            copy.display()
        );
    }
}

/// An unknown key in a schema file stops the run (exit 2) with the file, the line and the key.
#[test]
fn a_typo_in_a_schema_file_names_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo-schema.toml");
    std::fs::write(
        &file,
        "[schema]\nname = \"typo\"\n\n[fields]\nts = \"startTime\"\nmodle = \"x\"\nprompt_tokens = \"prompt_tokens\"\ncompletion_tokens = \"completion_tokens\"\n",
    )
    .unwrap();
    let o = spendrecon()
        .current_dir(root())
        .arg("daily")
        .arg("--schema")
        .arg(&file)
        .arg("--rates")
        .arg(rates())
        .arg("--logs")
        .arg(fixture("schemas/spendrecon.jsonl"))
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("typo-schema.toml"), "names the file: {err}");
    assert!(err.contains("modle"), "names the key: {err}");
    assert!(
        err.contains("line 6") || err.contains("typo-schema.toml:6"),
        "names line 6: {err}"
    );
}

/// The keys of the schema file format (docs/schemas.md): table -> keys.
const SPEC_KEYS: &[(&str, &[&str])] = &[
    (
        "schema",
        &["name", "records", "root", "call_when", "skip_when"],
    ),
    (
        "fields",
        &[
            "ts",
            "provider",
            "model",
            "prompt_tokens",
            "input_tokens",
            "completion_tokens",
            "output_tokens",
            "total_tokens",
            "cached_tokens",
            "cache_write_tokens",
            "cache_write_1h_tokens",
            "reasoning_tokens",
            "request_id",
            "status",
            "latency_ms",
            "byok",
            "shadow",
            "shadow_of",
            "tenant",
            "response_model",
            "cost",
        ],
    ),
    ("timestamp", &["form", "zone", "end"]),
    ("gateway", &["hosts_from", "hosts"]),
    ("status", &["text", "failed_when"]),
];

/// The built-in schema files (src/sources/schema/builtin, compiled into the binary) are valid TOML
/// that keeps to the format's keys and values, and each names its sources in its header comment.
#[test]
fn builtin_schema_files_keep_to_the_format() {
    let dir = root().join("src/sources/schema/builtin");
    for name in ["otel", "litellm", "openrouter", "langfuse"] {
        let path = dir.join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with('#') && text.contains("Sources"),
            "{name}.toml: a header comment naming its sources"
        );
        let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}.toml: {e}"));
        for (table, value) in &doc {
            if table == "by" {
                // Group fields for --by: any name (an identifier, not a field of [fields]) → paths.
                let fields = SPEC_KEYS.iter().find(|(t, _)| *t == "fields").unwrap().1;
                for (key, v) in value.as_table().unwrap() {
                    assert!(
                        key.starts_with(|c: char| c.is_ascii_alphabetic())
                            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                            && !fields.contains(&key.as_str()),
                        "{name}.toml: [by] {key}"
                    );
                    assert!(
                        v.is_str()
                            || v.as_array()
                                .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x.is_str())),
                        "{name}.toml: by.{key} is a path or a list of paths"
                    );
                }
                continue;
            }
            let keys: &[&str] = if table == "constants" {
                SPEC_KEYS.iter().find(|(t, _)| *t == "fields").unwrap().1
            } else {
                SPEC_KEYS
                    .iter()
                    .find(|(t, _)| t == table)
                    .unwrap_or_else(|| panic!("{name}.toml: unknown table [{table}]"))
                    .1
            };
            let value = value
                .as_table()
                .unwrap_or_else(|| panic!("{name}.toml: {table} is not a table"));
            for (key, v) in value {
                assert!(
                    keys.contains(&key.as_str()),
                    "{name}.toml: unknown key {table}.{key}"
                );
                if table == "fields" || key == "hosts_from" || key == "failed_when" {
                    let paths_ok = v.is_str()
                        || v.as_array()
                            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x.is_str()));
                    assert!(
                        paths_ok,
                        "{name}.toml: {table}.{key} is a path or a list of paths"
                    );
                }
            }
        }
        let schema = doc["schema"].as_table().unwrap();
        assert_eq!(
            schema["name"].as_str(),
            Some(name),
            "{name}.toml: [schema] name"
        );
        let records = schema
            .get("records")
            .and_then(|v| v.as_str())
            .unwrap_or("rows");
        assert!(
            ["rows", "otlp"].contains(&records),
            "{name}.toml: records = {records}"
        );
        if let Some(form) = doc.get("timestamp").and_then(|t| t.get("form")) {
            let forms = [
                "auto", "rfc3339", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns", "naive",
            ];
            assert!(
                forms.contains(&form.as_str().unwrap()),
                "{name}.toml: form {form}"
            );
        }
        if let Some(text) = doc.get("status").and_then(|t| t.get("text")) {
            for (word, code) in text.as_table().unwrap() {
                assert!(
                    code.is_integer(),
                    "{name}.toml: status.text.{word} is an HTTP status"
                );
            }
        }
        let fields = doc["fields"].as_table().unwrap();
        for required in ["ts", "model", "completion_tokens"] {
            assert!(
                fields.contains_key(required),
                "{name}.toml: fields.{required}"
            );
        }
        assert!(
            fields.contains_key("prompt_tokens") ^ fields.contains_key("input_tokens"),
            "{name}.toml: one prompt convention, prompt_tokens or input_tokens"
        );
        let has_provider = fields.contains_key("provider")
            || doc
                .get("constants")
                .is_some_and(|c| c.get("provider").is_some());
        assert!(has_provider, "{name}.toml: a provider field or constant");
    }
}
