//! Property tests of `spendrecon daily`, end to end through the built binary.
//!
//! Random calls are written as request logs (JSON lines, CSV, Parquet, optionally gzip), the
//! binary prices them with the fixture rate table (tests/fixtures/daily/rates), and what it writes
//! is checked against a small reference model computed here from the contract (docs/formats.md §1, §2,
//! §6 and the README's documented choices):
//!
//! 1. `daily.csv` equals the reference table exactly (tokens, cost, failed calls, exit status),
//!    under random `--tz`, `--from`/`--to` and `--threads`;
//! 2. shuffling the rows does not change `daily.csv` (byte-identical);
//! 3. splitting the rows over several files of any format, given as several `--logs` or as one
//!    directory, does not change `daily.csv` (byte-identical);
//! 4. the `cost_usd` column sums to the sum of the per-call costs to the last digit, and every
//!    row written is accounted for: per file in `files.csv`, and in `requests + failed_requests`.
//!
//! `big_files_cut_into_chunks_match_the_reference` writes ~9 MB files so that the reader's
//! 4 MiB chunks cut them (a CSV with quoted newlines among them), and compares with the reference.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::util::{daily_rates, spendrecon};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------------
// The calls
// ---------------------------------------------------------------------------------------------

/// 2026-03-30T00:00:00Z in epoch milliseconds; calls fall in 2026-03-30..=2026-04-03 (UTC), plus
/// a few seconds either side of each midnight.
const START_MS: i64 = 1_774_828_800_000;
const DAY_MS: i64 = 86_400_000;

/// Fraction of a second in an RFC 3339 timestamp.
#[derive(Debug, Clone, Copy)]
enum Frac {
    None,
    Tenth,
    Milli,
    /// Milliseconds plus three more digits, which only truncate (never round up to the next ms).
    Micro(u16),
}

#[derive(Debug, Clone, Copy)]
enum OffsetStyle {
    /// `+05:30`
    Colon,
    /// `+0530`
    Compact,
    /// `+05` (only for whole hours)
    Hours,
}

#[derive(Debug, Clone, Copy)]
enum TsForm {
    Rfc3339 {
        /// Minutes east of UTC; `None` writes `Z`.
        offset_min: Option<i32>,
        space: bool,
        style: OffsetStyle,
        frac: Frac,
    },
    EpochSeconds,
    EpochMillis,
    /// Seconds with three decimals (`1775131200.123`).
    EpochSecondsFrac,
}

/// How the token counts are written (docs/formats.md §1).
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `prompt_tokens`, `completion_tokens`, `cached_tokens`, `cache_write_tokens`; with `alias`
    /// the cache counts are named `cache_read_input_tokens` / `cache_creation_input_tokens` (still
    /// the OpenAI convention: the record has `prompt_tokens`, which includes them). With `twin`
    /// a JSON record also carries wrong `usage.prompt_tokens` / `usage.completion_tokens`, which
    /// the flat fields must win over (README), whichever comes first in the line.
    Flat { alias: bool, twin: bool },
    /// The OpenAI SDK's `usage` object (`usage.prompt_tokens_details.cached_tokens`, …); in CSV
    /// and Parquet the dotted column names.
    Nested { alias: bool },
    /// Anthropic Messages: `input_tokens` EXCLUDES the cache tokens.
    Anthropic { nested: bool },
}

#[derive(Debug, Clone)]
struct Call {
    id: usize,
    ts_ms: i64,
    ts_form: TsForm,
    /// Epoch timestamps written as JSON strings rather than numbers.
    epoch_as_text: bool,
    /// As logged; the tool lower-cases gateway names (README).
    provider: &'static str,
    model: &'static str,
    prompt: u64,
    cached: u64,
    cache_write: u64,
    completion: u64,
    /// `None`: the field is absent, which means 200.
    status: Option<u16>,
    shape: Shape,
    /// Write zero cache counts and `total_tokens` explicitly instead of leaving them out.
    explicit: bool,
    tenant: Option<&'static str>,
}

impl Call {
    fn billable(&self) -> bool {
        (200..300).contains(&self.status.unwrap_or(200))
    }

    fn utc_day(&self) -> NaiveDate {
        DateTime::from_timestamp_millis(self.ts_ms)
            .unwrap()
            .date_naive()
    }

    fn provider(&self) -> String {
        self.provider.to_ascii_lowercase()
    }
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

/// Prices in USD per million tokens.
#[derive(Debug, Clone, Copy)]
struct Prices {
    input: Decimal,
    output: Decimal,
    cache_read: Decimal,
    cache_write: Decimal,
}

/// The fixture rate table, tests/fixtures/daily/rates/models.csv (checked by
/// `fixture_rate_table_is_the_one_modelled`), USD per million tokens:
///   *          acme/big   from 2026-01-01: input 3, output 15, cache read 0.30, cache write 3.75
///   ominigate  acme/big   from 2026-04-02: input 2, output 10, cache read 0.20, cache write 2.50
///   *          acme/long  from 2026-01-01: input 2, output 12, cache read 0.20, cache write empty
///              (= the input price 2); over 1000 prompt tokens the whole call is priced at the
///              long input 4 and long output 18, cache prices unchanged (README).
/// A row naming the gateway wins over `*`; rows are chosen by the call's UTC day (README).
fn prices(provider: &str, model: &str, utc_day: NaiveDate, prompt: u64) -> Option<Prices> {
    let p = |input, output, cache_read, cache_write| Prices {
        input,
        output,
        cache_read,
        cache_write,
    };
    match model {
        "acme/big" if provider == "ominigate" && utc_day >= day("2026-04-02") => {
            Some(p(dec!(2), dec!(10), dec!(0.20), dec!(2.50)))
        }
        "acme/big" => Some(p(dec!(3), dec!(15), dec!(0.30), dec!(3.75))),
        "acme/long" if prompt > 1000 => Some(p(dec!(4), dec!(18), dec!(0.20), dec!(2))),
        "acme/long" => Some(p(dec!(2), dec!(12), dec!(0.20), dec!(2))),
        _ => None,
    }
}

/// docs/formats.md §2, the cost of one call:
///
/// ```text
/// (prompt − cached − cache_write) × input + cached × cache_read
///     + cache_write × cache_write_price + completion × output, each per 1,000,000 tokens
/// ```
///
/// `None` when no rate prices the call.
fn call_cost(c: &Call) -> Option<Decimal> {
    let p = prices(&c.provider(), c.model, c.utc_day(), c.prompt)?;
    let n = Decimal::from;
    let per_mtok = n(c.prompt - c.cached - c.cache_write) * p.input
        + n(c.cached) * p.cache_read
        + n(c.cache_write) * p.cache_write
        + n(c.completion) * p.output;
    Some(per_mtok / dec!(1000000))
}

/// How the binary is run: the options that change which rows count and on which day.
#[derive(Debug, Clone, Copy)]
struct RunOpts {
    threads: usize,
    tz: Option<&'static str>,
    /// Inclusive `--from`, `--to` (local days).
    range: Option<(NaiveDate, NaiveDate)>,
}

impl RunOpts {
    const PLAIN: RunOpts = RunOpts {
        threads: 1,
        tz: None,
        range: None,
    };

    /// The calendar day of `--tz` (default UTC) the call falls on.
    fn local_day(&self, c: &Call) -> NaiveDate {
        let t = Utc.timestamp_millis_opt(c.ts_ms).unwrap();
        match self.tz {
            None => t.date_naive(),
            Some(z) => t
                .with_timezone(&z.parse::<chrono_tz::Tz>().unwrap())
                .date_naive(),
        }
    }

    fn in_range(&self, c: &Call) -> bool {
        self.range.is_none_or(|(from, to)| {
            let d = self.local_day(c);
            from <= d && d <= to
        })
    }
}

#[derive(Debug, Clone)]
struct RefRow {
    requests: u64,
    prompt: u64,
    cached: u64,
    cache_write: u64,
    completion: u64,
    /// `None` as soon as one billable call of the row has no rate (never silently free).
    cost: Option<Decimal>,
    failed: u64,
}

/// The expected rows of `daily.csv`, keyed and so sorted by (day, provider, model).
fn reference_rows(calls: &[Call], o: &RunOpts) -> BTreeMap<(NaiveDate, String, String), RefRow> {
    let mut rows = BTreeMap::new();
    for c in calls.iter().filter(|c| o.in_range(c)) {
        let row = rows
            .entry((o.local_day(c), c.provider(), c.model.to_string()))
            .or_insert(RefRow {
                requests: 0,
                prompt: 0,
                cached: 0,
                cache_write: 0,
                completion: 0,
                cost: Some(Decimal::ZERO),
                failed: 0,
            });
        // docs/formats.md §6: only 2xx calls count in requests and tokens; the rest in failed_requests.
        if c.billable() {
            row.requests += 1;
            row.prompt += c.prompt;
            row.cached += c.cached;
            row.cache_write += c.cache_write;
            row.completion += c.completion;
            row.cost = row.cost.zip(call_cost(c)).map(|(a, b)| a + b);
        } else {
            row.failed += 1;
        }
    }
    rows
}

/// README: money is exact decimal text, no exponent, at least two decimals.
fn money(d: Decimal) -> String {
    let mut d = d.normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

const DAILY_HEADER: &str = "day,provider,model,requests,prompt_tokens,cached_tokens,\
cache_write_tokens,completion_tokens,total_tokens,cost_usd,failed_requests";

fn reference_csv(calls: &[Call], o: &RunOpts) -> String {
    let mut out = format!("{DAILY_HEADER}\n");
    for ((d, provider, model), r) in reference_rows(calls, o) {
        out.push_str(&format!(
            "{d},{provider},{model},{},{},{},{},{},{},{},{}\n",
            r.requests,
            r.prompt,
            r.cached,
            r.cache_write,
            r.completion,
            r.prompt + r.completion,
            r.cost.map(money).unwrap_or_default(),
            r.failed
        ));
    }
    out
}

/// Exit status 1 when a billable call in range has no rate, else 0 (no row is ever rejected).
fn reference_exit(calls: &[Call], o: &RunOpts) -> i32 {
    let unpriced = calls
        .iter()
        .any(|c| o.in_range(c) && c.billable() && call_cost(c).is_none());
    i32::from(unpriced)
}

// ---------------------------------------------------------------------------------------------
// Writing the logs
// ---------------------------------------------------------------------------------------------

fn ts_text(c: &Call) -> String {
    let (secs, ms) = (c.ts_ms.div_euclid(1000), c.ts_ms.rem_euclid(1000));
    match c.ts_form {
        TsForm::EpochSeconds => secs.to_string(),
        TsForm::EpochMillis => c.ts_ms.to_string(),
        TsForm::EpochSecondsFrac => format!("{secs}.{ms:03}"),
        TsForm::Rfc3339 {
            offset_min,
            space,
            style,
            frac,
        } => {
            let off = offset_min.unwrap_or(0);
            let local = DateTime::from_timestamp_millis(c.ts_ms + i64::from(off) * 60_000)
                .unwrap()
                .naive_utc();
            let fmt = if space {
                "%Y-%m-%d %H:%M:%S"
            } else {
                "%Y-%m-%dT%H:%M:%S"
            };
            let mut s = local.format(fmt).to_string();
            match frac {
                Frac::None => {}
                Frac::Tenth => s.push_str(&format!(".{}", ms / 100)),
                Frac::Milli => s.push_str(&format!(".{ms:03}")),
                Frac::Micro(extra) => s.push_str(&format!(".{ms:03}{extra:03}")),
            }
            match offset_min {
                None => s.push('Z'),
                Some(m) => {
                    let sign = if m < 0 { '-' } else { '+' };
                    let (h, mm) = (m.abs() / 60, m.abs() % 60);
                    s.push_str(&match style {
                        OffsetStyle::Colon => format!("{sign}{h:02}:{mm:02}"),
                        OffsetStyle::Compact => format!("{sign}{h:02}{mm:02}"),
                        OffsetStyle::Hours => format!("{sign}{h:02}"),
                    });
                }
            }
            s
        }
    }
}

fn ts_json(c: &Call) -> Value {
    match c.ts_form {
        TsForm::Rfc3339 { .. } => json!(ts_text(c)),
        _ if c.epoch_as_text => json!(ts_text(c)),
        TsForm::EpochSeconds => json!(c.ts_ms / 1000),
        TsForm::EpochMillis => json!(c.ts_ms),
        TsForm::EpochSecondsFrac => json!(ts_text(c).parse::<f64>().unwrap()),
    }
}

/// The token fields of a call as flat `name → count` pairs; dotted names are nested `usage`
/// paths. JSON nests them; CSV and Parquet use the dotted names as column names.
fn token_fields(c: &Call) -> Vec<(&'static str, u64)> {
    let mut f = Vec::new();
    let opt = |f: &mut Vec<_>, name, n| {
        if n > 0 || c.explicit {
            f.push((name, n));
        }
    };
    let total = c.prompt + c.completion;
    match c.shape {
        Shape::Flat { alias, .. } => {
            f.push(("prompt_tokens", c.prompt));
            f.push(("completion_tokens", c.completion));
            let (cr, cw) = if alias {
                ("cache_read_input_tokens", "cache_creation_input_tokens")
            } else {
                ("cached_tokens", "cache_write_tokens")
            };
            opt(&mut f, cr, c.cached);
            opt(&mut f, cw, c.cache_write);
            opt(&mut f, "total_tokens", total);
        }
        Shape::Nested { alias } => {
            f.push(("usage.prompt_tokens", c.prompt));
            f.push(("usage.completion_tokens", c.completion));
            opt(
                &mut f,
                "usage.prompt_tokens_details.cached_tokens",
                c.cached,
            );
            let cw = if alias {
                "usage.cache_creation_input_tokens"
            } else {
                "usage.prompt_tokens_details.cache_write_tokens"
            };
            opt(&mut f, cw, c.cache_write);
            opt(&mut f, "usage.total_tokens", total);
        }
        Shape::Anthropic { nested } => {
            let input = c.prompt - c.cached - c.cache_write;
            let names = if nested {
                [
                    "usage.input_tokens",
                    "usage.output_tokens",
                    "usage.cache_read_input_tokens",
                    "usage.cache_creation_input_tokens",
                ]
            } else {
                [
                    "input_tokens",
                    "output_tokens",
                    "cache_read_input_tokens",
                    "cache_creation_input_tokens",
                ]
            };
            f.push((names[0], input));
            f.push((names[1], c.completion));
            f.push((names[2], c.cached));
            f.push((names[3], c.cache_write));
        }
    }
    f
}

/// Inserts `value` at a dotted path, creating the nested objects.
fn insert_path(obj: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            obj.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let inner = obj
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            insert_path(inner.as_object_mut().unwrap(), rest, value);
        }
    }
}

/// `None`, `true`, `false` by the call's id: read and validated by the tool, not priced.
fn byok(c: &Call) -> Option<bool> {
    [None, Some(true), Some(false)][c.id % 3]
}

/// One JSON line. Top-level keys come in an order drawn from the call's id (so a flat field may
/// come before or after `usage`), and every fourth line is spaced out (`{ "ts" : … ,\t… }`).
fn json_line(c: &Call) -> String {
    let mut o = Map::new();
    o.insert("ts".into(), ts_json(c));
    o.insert("provider".into(), json!(c.provider));
    o.insert("model".into(), json!(c.model));
    o.insert("request_id".into(), json!(format!("gen-{}", c.id)));
    for (name, n) in token_fields(c) {
        insert_path(&mut o, name, json!(n));
    }
    if let Shape::Flat { twin: true, .. } = c.shape {
        insert_path(&mut o, "usage.prompt_tokens", json!(c.prompt + 1000));
        insert_path(
            &mut o,
            "usage.completion_tokens",
            json!(c.completion + 1000),
        );
    }
    if let Some(s) = c.status {
        o.insert("status".into(), json!(s));
    }
    if let Some(t) = c.tenant {
        o.insert("tenant".into(), json!(t));
    }
    if let Some(b) = byok(c) {
        o.insert("byok".into(), json!(b));
    }
    // Fields the daily table must not be swayed by: a gateway-reported cost that is wrong on
    // purpose, latency, and fields the contract does not know.
    if c.id.is_multiple_of(5) {
        insert_path(&mut o, "usage.cost", json!(9.99));
        insert_path(&mut o, "usage.is_byok", json!(true));
    }
    if c.id.is_multiple_of(7) {
        o.insert("latency_ms".into(), json!(123.5));
        o.insert("extra".into(), json!({"x": [1, 2, {"prompt_tokens": 5}]}));
    }
    if c.explicit && !o.contains_key("usage") {
        o.insert("usage".into(), Value::Null);
    }
    let mut entries: Vec<(String, Value)> = o.into_iter().collect();
    let n = entries.len();
    entries.rotate_left(c.id * 7 % n);
    let (open, colon, comma, close) = if c.id % 4 == 1 {
        ("{ ", " : ", " ,\t", " }")
    } else {
        ("{", ":", ",", "}")
    };
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}{colon}{v}", json!(k)))
        .collect();
    format!("{open}{}{close}", body.join(comma))
}

/// Every column a tabular log (CSV, Parquet) may carry.
const COLUMNS: [&str; 24] = [
    "ts",
    "provider",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "usage.prompt_tokens",
    "usage.completion_tokens",
    "usage.total_tokens",
    "usage.prompt_tokens_details.cached_tokens",
    "usage.prompt_tokens_details.cache_write_tokens",
    "usage.cache_creation_input_tokens",
    "usage.cache_read_input_tokens",
    "usage.input_tokens",
    "usage.output_tokens",
    "input_tokens",
    "output_tokens",
    "status",
    "tenant",
    "byok",
];

/// Column name → cell text of one call; absent columns are empty cells.
fn cells(c: &Call) -> BTreeMap<&'static str, String> {
    let mut m: BTreeMap<&'static str, String> = token_fields(c)
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    m.insert("ts", ts_text(c));
    m.insert("provider", c.provider.to_string());
    m.insert("model", c.model.to_string());
    if let Some(s) = c.status {
        m.insert("status", s.to_string());
    }
    if let Some(t) = c.tenant {
        m.insert("tenant", t.to_string());
    }
    if let Some(b) = byok(c) {
        m.insert("byok", b.to_string());
    }
    m
}

/// The columns in an order drawn from `seed` (readers must map columns by header, not position).
fn column_order(seed: u64) -> Vec<&'static str> {
    let mut cols = COLUMNS.to_vec();
    let mut x = seed | 1;
    for i in (1..cols.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cols.swap(i, (x % (i as u64 + 1)) as usize);
    }
    cols
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Jsonl,
    JsonlGz,
    Ndjson,
    Csv,
    CsvGz,
    Parquet,
}

impl Fmt {
    const ALL: [Fmt; 6] = [
        Fmt::Jsonl,
        Fmt::JsonlGz,
        Fmt::Ndjson,
        Fmt::Csv,
        Fmt::CsvGz,
        Fmt::Parquet,
    ];

    fn ext(self) -> &'static str {
        match self {
            Fmt::Jsonl => "jsonl",
            Fmt::JsonlGz => "jsonl.gz",
            Fmt::Ndjson => "ndjson",
            Fmt::Csv => "csv",
            Fmt::CsvGz => "csv.gz",
            Fmt::Parquet => "parquet",
        }
    }
}

/// One log file's format and layout.
#[derive(Debug, Clone, Copy)]
struct FileSpec {
    fmt: Fmt,
    /// CRLF line ends (text formats).
    crlf: bool,
    /// Column order of CSV and Parquet.
    col_seed: u64,
}

fn text_log(calls: &[Call], spec: &FileSpec) -> Vec<u8> {
    let eol: &[u8] = if spec.crlf { b"\r\n" } else { b"\n" };
    match spec.fmt {
        Fmt::Jsonl | Fmt::JsonlGz | Fmt::Ndjson => {
            let mut out = Vec::new();
            for c in calls {
                out.extend_from_slice(json_line(c).as_bytes());
                out.extend_from_slice(eol);
            }
            out
        }
        Fmt::Csv | Fmt::CsvGz => {
            let cols = column_order(spec.col_seed);
            let term = if spec.crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            };
            let mut w = csv::WriterBuilder::new()
                .terminator(term)
                .from_writer(Vec::new());
            w.write_record(&cols).unwrap();
            for c in calls {
                let cells = cells(c);
                w.write_record(cols.iter().map(|k| cells.get(k).map_or("", |s| s.as_str())))
                    .unwrap();
            }
            w.into_inner().unwrap()
        }
        Fmt::Parquet => unreachable!("Parquet is not a text format"),
    }
}

fn parquet_log(calls: &[Call], spec: &FileSpec, path: &Path) {
    use polars::prelude::*;
    let rows: Vec<BTreeMap<&str, String>> = calls.iter().map(cells).collect();
    let text =
        |k: &str| -> Vec<Option<String>> { rows.iter().map(|r| r.get(k).cloned()).collect() };
    let int = |k: &str| -> Vec<Option<i64>> {
        rows.iter()
            .map(|r| r.get(k).map(|s| s.parse().unwrap()))
            .collect()
    };
    let epoch_ints = calls
        .iter()
        .all(|c| matches!(c.ts_form, TsForm::EpochSeconds | TsForm::EpochMillis));
    let columns: Vec<Column> = column_order(spec.col_seed)
        .into_iter()
        .map(|k| match k {
            // Epoch numbers as an integer column when every timestamp of the file is one.
            "ts" if epoch_ints => Column::new(k.into(), int(k)),
            "ts" | "provider" | "model" | "tenant" => Column::new(k.into(), text(k)),
            // A Boolean column: an integer 0/1 column is rejected by the reader, see
            // `parquet_integer_byok_column_is_read`.
            "byok" => Column::new(
                k.into(),
                calls.iter().map(byok).collect::<Vec<Option<bool>>>(),
            ),
            "completion_tokens" | "output_tokens" => Column::new(
                k.into(),
                int(k)
                    .into_iter()
                    .map(|v| v.map(|v| v as u32))
                    .collect::<Vec<_>>(),
            ),
            _ => Column::new(k.into(), int(k)),
        })
        .collect();
    let mut df = DataFrame::new(calls.len(), columns).unwrap();
    ParquetWriter::new(std::fs::File::create(path).unwrap())
        .finish(&mut df)
        .unwrap();
}

/// Writes `calls` as `dir/name.EXT` in the given format and returns the path.
fn write_log(dir: &Path, name: &str, calls: &[Call], spec: &FileSpec) -> PathBuf {
    let path = dir.join(format!("{name}.{}", spec.fmt.ext()));
    match spec.fmt {
        Fmt::Parquet => parquet_log(calls, spec, &path),
        Fmt::JsonlGz | Fmt::CsvGz => write_text(&path, &text_log(calls, spec), Some(1)),
        _ => write_text(&path, &text_log(calls, spec), None),
    }
    path
}

/// Writes `text`, gzip-compressed at `level` (0 = stored blocks) when given.
fn write_text(path: &Path, text: &[u8], gzip_level: Option<u32>) {
    if let Some(level) = gzip_level {
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::new(level),
        );
        enc.write_all(text).unwrap();
        enc.finish().unwrap();
    } else {
        std::fs::write(path, text).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Output {
    daily: String,
    /// `files.csv` rows: file → (rows_read, rows_used, rows_out_of_range, rows_rejected); a log
    /// file skips no row (rows_skipped, checked 0 here).
    files: BTreeMap<String, [u64; 4]>,
    rejected: String,
    code: i32,
}

fn run_daily(logs: &[PathBuf], o: &RunOpts) -> Output {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = spendrecon();
    cmd.arg("daily")
        .arg("--rates")
        .arg(daily_rates())
        .arg("--out")
        .arg(out.path())
        .arg("--threads")
        .arg(o.threads.to_string())
        .arg("--quiet");
    if let Some(tz) = o.tz {
        cmd.args(["--tz", tz]);
    }
    if let Some((from, to)) = o.range {
        cmd.args(["--from", &from.to_string(), "--to", &to.to_string()]);
    }
    for l in logs {
        cmd.arg("--logs").arg(l);
    }
    let res = cmd.output().unwrap();
    let code = res.status.code().expect("exit status");
    assert!(
        code == 0 || code == 1,
        "exit status {code}: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap();
    let mut files = BTreeMap::new();
    for line in read("files.csv").lines().skip(1) {
        let mut rec = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes());
        let r = rec.records().next().unwrap().unwrap();
        let n = |i: usize| r[i].parse::<u64>().unwrap();
        assert_eq!(n(5), 0, "a log row is never skipped: {r:?}");
        files.insert(r[0].to_string(), [n(1), n(2), n(3), n(4)]);
    }
    Output {
        daily: read("daily.csv"),
        files,
        rejected: read("rejected.csv"),
        code,
    }
}

/// `daily.csv` parsed back: the cost cells, and requests + failed_requests of every row.
fn cost_and_calls(daily: &str) -> (Vec<Option<Decimal>>, u64) {
    let mut rdr = csv::Reader::from_reader(daily.as_bytes());
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>().join(","),
        DAILY_HEADER
    );
    let mut costs = Vec::new();
    let mut calls = 0;
    for r in rdr.records() {
        let r = r.unwrap();
        let cost = &r[9];
        costs.push((!cost.is_empty()).then(|| cost.parse::<Decimal>().unwrap()));
        calls += r[3].parse::<u64>().unwrap() + r[10].parse::<u64>().unwrap();
    }
    (costs, calls)
}

/// Asserts the binary's output equals the reference for `calls` read from the files `written`
/// (file → calls in it).
fn check_against_reference(
    out: &Output,
    calls: &[Call],
    written: &[(PathBuf, usize)],
    o: &RunOpts,
) {
    assert_eq!(
        out.rejected.lines().count(),
        1,
        "rows rejected:\n{}",
        out.rejected
    );
    assert_eq!(out.daily, reference_csv(calls, o), "daily.csv, {o:?}");
    assert_eq!(out.code, reference_exit(calls, o), "exit status");
    let out_of_range = calls.iter().filter(|c| !o.in_range(c)).count() as u64;
    let used: u64 = out.files.values().map(|f| f[1]).sum();
    let skipped: u64 = out.files.values().map(|f| f[2]).sum();
    assert_eq!(skipped, out_of_range, "{:?}", out.files);
    assert_eq!(used, calls.len() as u64 - out_of_range, "{:?}", out.files);
    for (path, n) in written {
        let f = out.files[&path.display().to_string()];
        assert_eq!(f[0], *n as u64, "rows read of {}", path.display());
        assert_eq!(f[0], f[1] + f[2] + f[3], "{}", path.display());
        assert_eq!(f[3], 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn arb_ts_ms() -> impl Strategy<Value = i64> {
    prop_oneof![
        2 => (0..5 * DAY_MS).prop_map(|o| START_MS + o),
        // Within seconds of a midnight of UTC or of a zone below (UTC−9:30 … UTC+14), where an
        // off-by-one in the day cut would show.
        1 => (0i64..=5, -56i64..=40, -1500i64..=1500)
            .prop_map(|(d, q, e)| START_MS + d * DAY_MS + q * 15 * 60_000 + e),
    ]
}

fn arb_ts_form() -> impl Strategy<Value = TsForm> {
    let offset = prop::sample::select(vec![
        None,
        Some(0),
        Some(120),
        Some(-240),
        Some(-300),
        Some(330),
        Some(345),
        Some(-570),
        Some(840),
    ]);
    let style = prop::sample::select(vec![
        OffsetStyle::Colon,
        OffsetStyle::Compact,
        OffsetStyle::Hours,
    ]);
    let frac = prop_oneof![
        Just(Frac::None),
        Just(Frac::Tenth),
        Just(Frac::Milli),
        (0u16..1000).prop_map(Frac::Micro),
    ];
    prop_oneof![
        5 => (offset, any::<bool>(), style, frac).prop_map(|(offset_min, space, style, frac)| {
            TsForm::Rfc3339 { offset_min, space, style, frac }
        }),
        1 => Just(TsForm::EpochSeconds),
        1 => Just(TsForm::EpochMillis),
        1 => Just(TsForm::EpochSecondsFrac),
    ]
}

/// (prompt, cached, cache_write) with cached + cache_write ≤ prompt ≤ 5000, often around the
/// long-context threshold of acme/long (1000).
fn arb_prompt() -> impl Strategy<Value = (u64, u64, u64)> {
    prop_oneof![
        4 => 0u64..=5000,
        2 => 995u64..=1005,
        1 => Just(0u64),
    ]
    .prop_flat_map(|p| (Just(p), prop_oneof![Just(0), 0..=p]))
    .prop_flat_map(|(p, cached)| (Just(p), Just(cached), prop_oneof![Just(0), 0..=p - cached]))
}

fn arb_shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        3 => (any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(alias, twin)| Shape::Flat { alias, twin }),
        2 => any::<bool>().prop_map(|alias| Shape::Nested { alias }),
        2 => any::<bool>().prop_map(|nested| Shape::Anthropic { nested }),
    ]
}

fn arb_call() -> impl Strategy<Value = Call> {
    let who = (
        prop::sample::select(vec![
            "openrouter",
            "openrouter",
            "ominigate",
            "ominigate",
            "OpenRouter",
        ]),
        prop::sample::select(vec!["acme/big", "acme/big", "acme/long", "acme/unknown"]),
    );
    let status = prop_oneof![
        4 => Just(None),
        4 => Just(Some(200)),
        1 => Just(Some(201)),
        1 => Just(Some(500)),
        1 => Just(Some(429)),
    ];
    // Tenants that need CSV quoting (and JSON escapes, which the reader's fast JSON path leaves
    // to serde_json) are rare, so that many CSV files hold no quote at all (its fast path).
    let tenant = prop_oneof![
        30 => Just(None),
        10 => prop::sample::select(vec!["team-a", "ünïcødé", "=1+2"]).prop_map(Some),
        1 => prop::sample::select(vec!["ops, \"night\" shift", "two\nlines"]).prop_map(Some),
    ];
    (
        (arb_ts_ms(), arb_ts_form(), any::<bool>()),
        who,
        arb_prompt(),
        0u64..=4000,
        status,
        arb_shape(),
        any::<bool>(),
        tenant,
    )
        .prop_map(
            |(
                (ts_ms, ts_form, epoch_as_text),
                (provider, model),
                (prompt, cached, cache_write),
                completion,
                status,
                shape,
                explicit,
                tenant,
            )| {
                let mut call = Call {
                    id: 0,
                    ts_ms,
                    ts_form,
                    epoch_as_text,
                    provider,
                    model,
                    prompt,
                    cached,
                    cache_write,
                    completion,
                    status,
                    shape,
                    explicit,
                    tenant,
                };
                normalize(&mut call);
                call
            },
        )
}

/// Truncates the timestamp to what its written form can hold, and writes whole-hour offsets only
/// in the `+HH` style.
fn normalize(c: &mut Call) {
    let keep = match c.ts_form {
        TsForm::EpochSeconds
        | TsForm::Rfc3339 {
            frac: Frac::None, ..
        } => 1000,
        TsForm::Rfc3339 {
            frac: Frac::Tenth, ..
        } => 100,
        _ => 1,
    };
    c.ts_ms -= c.ts_ms.rem_euclid(keep);
    if let TsForm::Rfc3339 {
        offset_min: Some(m),
        style: style @ OffsetStyle::Hours,
        ..
    } = &mut c.ts_form
    {
        if *m % 60 != 0 {
            *style = OffsetStyle::Colon;
        }
    }
}

fn with_ids(mut calls: Vec<Call>) -> Vec<Call> {
    for (i, c) in calls.iter_mut().enumerate() {
        c.id = i;
    }
    calls
}

/// Mostly small sets of calls, sometimes a few thousand.
fn arb_calls() -> impl Strategy<Value = Vec<Call>> {
    prop_oneof![
        4 => prop::collection::vec(arb_call(), 0..150),
        1 => prop::collection::vec(arb_call(), 1000..3000),
    ]
    .prop_map(with_ids)
}

fn arb_spec() -> impl Strategy<Value = FileSpec> {
    (
        prop::sample::select(Fmt::ALL.to_vec()),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(fmt, crlf, col_seed)| FileSpec {
            fmt,
            crlf,
            col_seed,
        })
}

fn arb_opts() -> impl Strategy<Value = RunOpts> {
    let tz = prop::sample::select(vec![
        None,
        None,
        Some("UTC"),
        Some("America/New_York"),
        Some("Asia/Kolkata"),
        Some("Asia/Kathmandu"),
    ]);
    let range = prop_oneof![
        3 => Just(None),
        1 => (0i64..7, 0i64..3).prop_map(|(from, len)| {
            let from = day("2026-03-29") + chrono::Duration::days(from);
            Some((from, from + chrono::Duration::days(len)))
        }),
    ];
    (prop::sample::select(vec![1usize, 2]), tz, range).prop_map(|(threads, tz, range)| RunOpts {
        threads,
        tz,
        range,
    })
}

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

proptest! {
    // No regression files: this file is the only one the tests own; a failure prints its seed.
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// 1. daily.csv equals the independently computed table, in any input format, time zone,
    ///    day range and thread count; exit status and per-file accounting agree.
    #[test]
    fn daily_equals_reference(calls in arb_calls(), spec in arb_spec(), o in arb_opts()) {
        let dir = tempfile::tempdir().unwrap();
        let path = write_log(dir.path(), "logs", &calls, &spec);
        let out = run_daily(std::slice::from_ref(&path), &o);
        check_against_reference(&out, &calls, &[(path, calls.len())], &o);
    }

    /// 2. The order of the rows does not matter: byte-identical daily.csv.
    #[test]
    fn shuffling_rows_keeps_daily_identical(
        (calls, shuffled) in arb_calls()
            .prop_flat_map(|c| (Just(c.clone()), Just(c).prop_shuffle())),
        spec in arb_spec(),
        threads in (1usize..=2, 1usize..=2),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let a = write_log(dir.path(), "a", &calls, &spec);
        let b = write_log(dir.path(), "b", &shuffled, &spec);
        let o = |threads| RunOpts { threads, ..RunOpts::PLAIN };
        let first = run_daily(&[a], &o(threads.0));
        let second = run_daily(&[b], &o(threads.1));
        prop_assert_eq!(&first.daily, &second.daily);
        prop_assert_eq!(first.code, second.code);
    }

    /// 3. Splitting the rows over files of any formats, given one by one or as a directory,
    ///    gives byte-identical daily.csv.
    #[test]
    fn splitting_over_files_keeps_daily_identical(
        (calls, parts, specs) in arb_calls().prop_flat_map(|c| {
            let n = c.len();
            (1usize..=5).prop_flat_map(move |k| (
                Just(c.clone()),
                prop::collection::vec(0..k, n),
                prop::collection::vec(arb_spec(), k),
            ))
        }),
        as_dir in any::<bool>(),
        threads in 1usize..=2,
    ) {
        let whole = tempfile::tempdir().unwrap();
        let single = write_log(whole.path(), "all", &calls, &FileSpec {
            fmt: Fmt::Jsonl, crlf: false, col_seed: 0,
        });
        let baseline = run_daily(&[single], &RunOpts::PLAIN);

        let dir = tempfile::tempdir().unwrap();
        let mut written = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let part: Vec<Call> = calls
                .iter()
                .zip(&parts)
                .filter(|(_, &p)| p == i)
                .map(|(c, _)| c.clone())
                .collect();
            written.push((write_log(dir.path(), &format!("part{i}"), &part, spec), part.len()));
        }
        let logs: Vec<PathBuf> = if as_dir {
            vec![dir.path().to_path_buf()]
        } else {
            written.iter().map(|(p, _)| p.clone()).collect()
        };
        let o = RunOpts { threads, ..RunOpts::PLAIN };
        let split = run_daily(&logs, &o);
        prop_assert_eq!(&split.daily, &baseline.daily);
        prop_assert_eq!(split.code, baseline.code);
        check_against_reference(&split, &calls, &written, &o);
    }

    /// 5. Naming a file more than once (again, or through its directory) reads it once: daily.csv
    ///    is byte-identical to naming each file once.
    #[test]
    fn files_named_twice_are_read_once(
        (calls, parts) in arb_calls().prop_flat_map(|c| {
            let n = c.len();
            (Just(c), prop::collection::vec(0usize..3, n))
        }),
        spec in arb_spec(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut written = Vec::new();
        for i in 0..3 {
            let part: Vec<Call> = calls
                .iter()
                .zip(&parts)
                .filter(|(_, &p)| p == i)
                .map(|(c, _)| c.clone())
                .collect();
            written.push(write_log(dir.path(), &format!("part{i}"), &part, &spec));
        }
        let once = run_daily(&written, &RunOpts::PLAIN);
        let mut twice = vec![dir.path().to_path_buf()];
        twice.extend(written.iter().cloned());
        twice.push(dir.path().join(".").join(written[0].file_name().unwrap()));
        let again = run_daily(&twice, &RunOpts::PLAIN);
        prop_assert_eq!(&again.daily, &once.daily);
        prop_assert_eq!(again.files.len(), 3);
    }

    /// 6. An invoice made from the same logs (each UTC day × gateway × model's billable tokens,
    ///    and the exact cost of its non-BYOK calls rounded half-up to the cent) reconciles: every row `ok`, or
    ///    `unpriced` where the model has no rate; nothing else flagged.
    #[test]
    fn invoice_made_from_the_same_logs_reconciles(calls in arb_calls()) {
        let dir = tempfile::tempdir().unwrap();
        let log = write_log(dir.path(), "logs", &calls, &FileSpec {
            fmt: Fmt::Jsonl, crlf: false, col_seed: 0,
        });
        let rows = reference_rows(&calls, &RunOpts::PLAIN);
        let mut invoice = String::from("date,provider,model,prompt_tokens,completion_tokens,amount_usd\n");
        let mut expected = BTreeMap::new();
        for ((d, provider, model), r) in &rows {
            if r.requests == 0 {
                continue;
            }
            // BYOK usage is paid upstream: the gateway bills the other calls.
            let gateway: Decimal = calls
                .iter()
                // In JSON lines a flat `byok` wins over `usage.is_byok` (every fifth line).
                .filter(|c| c.billable() && !byok(c).unwrap_or(c.id.is_multiple_of(5)))
                .filter(|c| (c.utc_day(), c.provider(), c.model.to_string()) == (*d, provider.clone(), model.clone()))
                .filter_map(call_cost)
                .sum();
            let amount = gateway
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            invoice.push_str(&format!("{d},{provider},{model},{},{},{amount}\n", r.prompt, r.completion));
            expected.insert(
                (d.to_string(), provider.clone(), model.clone()),
                if r.cost.is_some() { "ok" } else { "unpriced" },
            );
        }
        let inv = dir.path().join("invoice.csv");
        std::fs::write(&inv, invoice).unwrap();
        let out = tempfile::tempdir().unwrap();
        let res = spendrecon()
            .arg("reconcile").arg("--rates").arg(daily_rates())
            .arg("--logs").arg(&log).arg("--invoices").arg(&inv)
            .arg("--out").arg(out.path()).arg("-q")
            .output().unwrap();
        let recon = std::fs::read_to_string(out.path().join("recon.csv")).unwrap();
        let mut got = BTreeMap::new();
        let mut rdr = csv::Reader::from_reader(recon.as_bytes());
        for r in rdr.records() {
            let r = r.unwrap();
            // Days and gateways with failed calls only have no invoice line and bill nothing.
            if r[3].is_empty() || r[3] != *"0" || !r[6].is_empty() {
                got.insert((r[0].to_string(), r[1].to_string(), r[2].to_string()), r[13].to_string());
            }
        }
        let got: BTreeMap<_, &str> = got.iter().map(|(k, v)| (k.clone(), v.as_str())).collect();
        prop_assert_eq!(&got, &expected, "{}", recon);
        // Random calls may leave a day without any log record between two that have some, and
        // every fifth line reports a gateway cost of 9.99 on purpose: those findings are right;
        // nothing else may be found.
        let findings = std::fs::read_to_string(out.path().join("findings.csv")).unwrap();
        let found = findings.lines().skip(1).count();
        prop_assert!(
            findings.lines().skip(1).all(|l| l.starts_with("missing_log_day,")
                || l.starts_with("gateway_cost_mismatch,")),
            "{}",
            findings
        );
        // The planted gateway cost also stands on some BYOK calls, where it is the BYOK fee the
        // gateway reports: a month whose every BYOK call reports it is a fee mismatch.
        let fees = std::fs::read_to_string(out.path().join("fees.csv")).unwrap_or_default();
        let fee_flag = fees.lines().skip(1).any(|l| l.contains(",fee_mismatch,"));
        let unpriced = expected.values().any(|s| *s == "unpriced");
        prop_assert_eq!(res.status.code(), Some(i32::from(unpriced || found > 0 || fee_flag)));
    }

    /// 4. The cost column sums to Σ per-call cost to the last digit, and every row written is
    ///    accounted for: per file (read = used + out of range, none rejected) and as
    ///    requests + failed_requests.
    #[test]
    fn totals_and_row_accounting(
        (calls, parts, specs) in arb_calls().prop_flat_map(|c| {
            let n = c.len();
            (1usize..=3).prop_flat_map(move |k| (
                Just(c.clone()),
                prop::collection::vec(0..k, n),
                prop::collection::vec(arb_spec(), k),
            ))
        }),
        o in arb_opts(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut written = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let part: Vec<Call> = calls
                .iter()
                .zip(&parts)
                .filter(|(_, &p)| p == i)
                .map(|(c, _)| c.clone())
                .collect();
            written.push((write_log(dir.path(), &format!("part{i}"), &part, spec), part.len()));
        }
        let logs: Vec<PathBuf> = written.iter().map(|(p, _)| p.clone()).collect();
        let out = run_daily(&logs, &o);

        let (costs, rows_in_daily) = cost_and_calls(&out.daily);
        let column_sum: Decimal = costs.iter().flatten().sum();
        // Σ per-call cost over the billable calls in range of every model with a rate (an
        // unpriced model's rows have an empty cost cell; the fixture table prices a model on
        // every day or never).
        let per_call_sum: Decimal = calls
            .iter()
            .filter(|c| o.in_range(c) && c.billable())
            .filter_map(call_cost)
            .sum();
        // Equal as numbers and digit for digit once trailing zeros are dropped.
        prop_assert_eq!(column_sum, per_call_sum);
        prop_assert_eq!(column_sum.normalize().to_string(), per_call_sum.normalize().to_string());
        let unpriced_rows = costs.iter().filter(|c| c.is_none()).count();
        let unpriced_keys: std::collections::BTreeSet<_> = calls
            .iter()
            .filter(|c| o.in_range(c) && c.billable() && call_cost(c).is_none())
            .map(|c| (o.local_day(c), c.provider(), c.model))
            .collect();
        prop_assert_eq!(unpriced_rows, unpriced_keys.len());

        let in_range = calls.iter().filter(|c| o.in_range(c)).count() as u64;
        prop_assert_eq!(rows_in_daily, in_range);
        let mut read = 0;
        for (path, n) in &written {
            let f = out.files[&path.display().to_string()];
            prop_assert_eq!(f[0], *n as u64, "rows read of {}", path.display());
            prop_assert_eq!(f[0], f[1] + f[2], "{:?}", f);
            prop_assert_eq!(f[3], 0, "rejected rows:\n{}", out.rejected);
            read += f[0];
        }
        prop_assert_eq!(read, calls.len() as u64);
        prop_assert_eq!(out.files.values().map(|f| f[1]).sum::<u64>(), rows_in_daily);
    }
}

// ---------------------------------------------------------------------------------------------
// Single tests
// ---------------------------------------------------------------------------------------------

/// Files of ~9 MB (JSON lines, CSV with CRLF, gzip CSV) are cut into three 4 MiB chunks parsed
/// on two threads; the CSV's first chunk holds quoted commas, quotes and newlines in `tenant`
/// cells (chunks are cut only outside quotes), its later chunks none (the unquoted fast path).
/// Each file must still give the reference table.
#[test]
fn big_files_cut_into_chunks_match_the_reference() {
    // A pool of generated calls, cycled with their timestamps moved by a prime number of seconds
    // per round (drawing 110,000 calls through proptest's value trees takes half a minute in a
    // debug build). CSV rows are ~80 bytes, JSON lines ~230: 110,000 calls make ~9 MB of CSV,
    // 40,000 of them ~9 MB of JSON lines.
    let mut runner = TestRunner::deterministic();
    let pool = prop::collection::vec(arb_call(), 2_000)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let all = with_ids(
        (0..110_000)
            .map(|i| {
                let mut c = pool[i % pool.len()].clone();
                let round = (i / pool.len()) as i64;
                c.ts_ms =
                    START_MS + (c.ts_ms - START_MS + round * 7_919_000).rem_euclid(5 * DAY_MS);
                normalize(&mut c);
                // Cells that need quoting only in the first ~2.5 MB of CSV: its first chunk goes
                // through the csv crate, the later ones through the unquoted fast path.
                if i >= 30_000 && c.tenant.is_some_and(|t| t.contains(['"', ',', '\n'])) {
                    c.tenant = None;
                }
                c
            })
            .collect(),
    );
    assert!(all[..30_000]
        .iter()
        .any(|c| c.tenant.is_some_and(|t| t.contains('\n'))));
    let dir = tempfile::tempdir().unwrap();
    let o = RunOpts {
        threads: 2,
        ..RunOpts::PLAIN
    };
    for (fmt, crlf, n) in [
        (Fmt::Jsonl, false, 40_000),
        (Fmt::Csv, true, all.len()),
        (Fmt::CsvGz, false, all.len()),
    ] {
        let calls = &all[..n];
        let spec = FileSpec {
            fmt,
            crlf,
            col_seed: 7,
        };
        let text = text_log(calls, &spec);
        assert!(
            text.len() > 2 * (4 << 20),
            "{fmt:?} is only {} bytes: not cut into 3+ chunks",
            text.len()
        );
        let path = dir.path().join(format!("big.{}", fmt.ext()));
        // Stored (level 0) gzip: compressing 9 MB in a debug build takes seconds.
        let gzip = matches!(fmt, Fmt::JsonlGz | Fmt::CsvGz).then_some(0);
        write_text(&path, &text, gzip);
        let out = run_daily(std::slice::from_ref(&path), &o);
        check_against_reference(&out, calls, &[(path, n)], &o);
    }
}

/// The reference model above hard-codes the fixture rate table; fail loudly if it changes.
#[test]
fn fixture_rate_table_is_the_one_modelled() {
    let table = std::fs::read_to_string(daily_rates().join("models.csv")).unwrap();
    let rows: Vec<&str> = table.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        rows[..4],
        [
            "provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok,source",
            "*,acme/big,2026-01-01,,3,15,0.30,3.75,,,,fixture",
            "ominigate,acme/big,2026-04-02,,2,10,0.20,2.50,,,,fixture: gateway-specific price from 2026-04-02",
            "*,acme/long,2026-01-01,,2,12,0.20,,1000,4,18,fixture: long tier over 1000 prompt tokens",
        ]
    );
    assert_eq!(rows.len(), 4);
    assert_eq!(
        DateTime::from_timestamp_millis(START_MS)
            .unwrap()
            .to_rfc3339(),
        "2026-03-30T00:00:00+00:00"
    );
}

/// The reference model itself, on calls worked by hand (tests/cli/daily.rs, calls 1, 4, 7 and 9).
#[test]
fn reference_model_agrees_with_hand_computed_calls() {
    let call = |provider, model, ts: &str, (prompt, cached, cache_write, completion)| Call {
        id: 0,
        ts_ms: DateTime::parse_from_rfc3339(ts).unwrap().timestamp_millis(),
        ts_form: TsForm::EpochMillis,
        epoch_as_text: false,
        provider,
        model,
        prompt,
        cached,
        cache_write,
        completion,
        status: None,
        shape: Shape::Flat {
            alias: false,
            twin: false,
        },
        explicit: false,
        tenant: None,
    };
    let c1 = call(
        "openrouter",
        "acme/big",
        "2026-04-01T10:00:00Z",
        (1000, 400, 100, 200),
    );
    assert_eq!(call_cost(&c1), Some(dec!(0.004995)));
    let c4 = call(
        "ominigate",
        "acme/big",
        "2026-04-02T00:00:00Z",
        (1000, 500, 0, 100),
    );
    assert_eq!(call_cost(&c4), Some(dec!(0.0021)));
    let c7 = call(
        "openrouter",
        "acme/long",
        "2026-04-02T09:00:00Z",
        (1001, 1, 0, 10),
    );
    assert_eq!(call_cost(&c7), Some(dec!(0.0041802)));
    let c9 = call(
        "openrouter",
        "acme/unknown",
        "2026-04-02T12:00:00Z",
        (10, 0, 0, 5),
    );
    assert_eq!(call_cost(&c9), None);
    assert_eq!(money(dec!(0.00)), "0.00");
    assert_eq!(money(dec!(12.5)), "12.50");
    assert_eq!(money(dec!(0.0041802)), "0.0041802");
}

/// A Parquet log whose `byok` column is an integer 0/1 column (Int64, the type polars and
/// pandas write for integers). The README says integer columns are read, and `status` is; but the
/// reader turns signed integers into `Scalar::I`, which `flag()` in src/input/record.rs does not
/// accept (only `U(0)`/`U(1)`), so every row is rejected ("byok: expected true or false") and
/// its tokens vanish from daily.csv. Ignored until fixed; the properties write a Boolean column.
#[test]
fn parquet_integer_byok_column_is_read() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs.parquet");
    let mut df = DataFrame::new(
        2,
        vec![
            Column::new(
                "ts".into(),
                ["2026-04-01T10:00:00Z", "2026-04-01T11:00:00Z"],
            ),
            Column::new("provider".into(), ["openrouter", "openrouter"]),
            Column::new("model".into(), ["acme/big", "acme/big"]),
            Column::new("prompt_tokens".into(), [1000i64, 1000]),
            Column::new("completion_tokens".into(), [0i64, 0]),
            Column::new("status".into(), [200i64, 500]),
            Column::new("byok".into(), [0i64, 1]),
        ],
    )
    .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let out = run_daily(std::slice::from_ref(&path), &RunOpts::PLAIN);
    assert_eq!(out.rejected.lines().count(), 1, "{}", out.rejected);
    // 1000 × 3 / 1e6 = 0.003; the 500 is a failed request.
    assert_eq!(
        out.daily,
        format!("{DAILY_HEADER}\n2026-04-01,openrouter,acme/big,1,1000,0,0,0,1000,0.003,1\n")
    );
}
