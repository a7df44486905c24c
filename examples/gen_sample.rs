//! Writes a synthetic, reproducible month (2026-04, UTC) of request logs for an app migrating
//! from OpenRouter to OminiGate, in every log shape `spendrecon` reads.
//!
//! ```text
//! cargo run --release --example gen_sample -- [OUT_DIR=sample-data] [--calls N=200000] [--seed S=42]
//! ```
//!
//! `N` counts user calls; shadow calls (days 1–7) and the planted bad rows come on top. The same
//! seed gives byte-identical files: one seeded `StdRng` drives everything in a fixed order, no
//! hash-map order reaches the output, gzip headers carry no time or name, floating-point work uses
//! only the basic IEEE operations (no platform `exp`/`ln`), and prices are read from the
//! `rates/models.csv` built into this example at compile time.
//!
//! Layout (day files, UTC days):
//! - `logs/2026-04-01..10.jsonl.gz`        flat JSON lines
//! - `logs/2026-04-11..20.nested.jsonl.gz` OpenAI SDK / OpenRouter `usage` object, and for some
//!   Anthropic-model calls the Anthropic Messages `usage` shape
//! - `logs/2026-04-21..25.csv.gz`          CSV; `ts` as RFC 3339 `+02:00` or epoch milliseconds
//! - `logs/2026-04-26..30.parquet`         flat typed columns
//!
//! It also writes `README.md` (files, ramp, per-day oracle totals, planted bad rows, invoices and
//! the reconciliation they must give) and `bad_rows.csv` (the planted bad rows, machine-readable)
//! into `OUT_DIR`, and the gateways' invoices for the month into `OUT_DIR/invoices/`:
//! - `openrouter-2026-04.xlsx` daily invoice lines, a title row above the header, date cells
//! - `ominigate-2026-04.csv`   daily invoice lines
//!
//! The invoices bill the logged 2xx calls (shadow calls included; BYOK calls with their tokens but
//! not their usage, which the customer pays upstream) at the rate table, rounded half-up to the cent, with four planted faults (a double-counted day, a missing day,
//! tokenizer drift, a model the logs never called). Their randomness comes from a second `StdRng`
//! seeded from `S`, so the logs are the same bytes with or without them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Weekday};
use flate2::{Compression, GzBuilder};
use polars::prelude::{Column, DataFrame, NamedFrom, ParquetCompression, ParquetWriter, Series};
use rand::distr::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::{Decimal, RoundingStrategy};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};

const RATES_CSV: &str = include_str!("../rates/models.csv");
const DAYS: u32 = 30;
const SHADOW_SHARE: f64 = 0.05;
const BYOK_SHARE: f64 = 0.08;
const LONG_CONTEXT_SHARE: f64 = 0.0015;
/// Expected number of calls to the never-listed slug, whatever `--calls` is.
const NEVER_LISTED_CALLS: f64 = 8.0;
/// Share of Anthropic-model calls on days 11–20 logged in the Anthropic Messages `usage` shape.
const ANTHROPIC_SHAPE_SHARE: f64 = 0.4;
/// Share of Anthropic-shape cache writes that are one-hour writes.
const ONE_HOUR_WRITE_SHARE: f64 = 0.15;

// ---------------------------------------------------------------------------------------------
// Arguments

struct Args {
    out: PathBuf,
    calls: usize,
    seed: u64,
}

const USAGE: &str = "usage: gen_sample [OUT_DIR=sample-data] [--calls N=200000] [--seed S=42]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        out: PathBuf::from("sample-data"),
        calls: 200_000,
        seed: 42,
    };
    let mut out_seen = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--calls" => {
                let v = value("--calls")?;
                args.calls = v
                    .parse()
                    .map_err(|_| format!("--calls: `{v}` is not a whole number"))?;
                if args.calls == 0 {
                    return Err("--calls must be at least 1".into());
                }
            }
            "--seed" => {
                let v = value("--seed")?;
                args.seed = v
                    .parse()
                    .map_err(|_| format!("--seed: `{v}` is not a whole number"))?;
            }
            f if f.starts_with('-') => return Err(format!("unknown option {f}\n{USAGE}")),
            _ if !out_seen => {
                args.out = PathBuf::from(&a);
                out_seen = true;
            }
            _ => return Err(format!("unexpected argument {a}\n{USAGE}")),
        }
    }
    Ok(args)
}

// ---------------------------------------------------------------------------------------------
// Deterministic numerics: only +, −, ×, ÷ and rounding, which IEEE 754 makes exact everywhere.

fn exp(x: f64) -> f64 {
    let k = (x / std::f64::consts::LN_2).round();
    let r = x - k * std::f64::consts::LN_2;
    let (mut term, mut sum) = (1.0, 1.0);
    for i in 1..=16 {
        term *= r / i as f64;
        sum += term;
    }
    sum * 2f64.powi(k as i32)
}

/// Standard normal, approximated by the Irwin–Hall sum of twelve uniforms.
fn normal(rng: &mut StdRng) -> f64 {
    (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0
}

fn lognormal(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    median * exp(sigma * normal(rng))
}

fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Index drawn from non-negative weights.
fn pick(rng: &mut StdRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

// ---------------------------------------------------------------------------------------------
// The world: providers, tenants, models, rates

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Provider {
    OpenRouter,
    OminiGate,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::OpenRouter => "openrouter",
            Provider::OminiGate => "ominigate",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Anthropic,
    OpenAi,
    Google,
    DeepSeek,
    Meta,
}

struct ModelSpec {
    slug: &'static str,
    family: Family,
    /// Share of ordinary traffic (the two special slugs are drawn separately: weight 0).
    weight: f64,
    /// median, log-sigma, min, max
    prompt: (f64, f64, u64, u64),
    completion: (f64, f64, u64, u64),
    reasoning: bool,
    ttft_ms: f64,
    ms_per_token: f64,
}

const GPT_MINI: usize = 2;
const GEMINI_PREVIEW: usize = 4;
const SNAPSHOT: usize = 7;
const NEVER_LISTED: usize = 8;

const MODELS: [ModelSpec; 9] = [
    ModelSpec {
        slug: "anthropic/claude-sonnet-4.6",
        family: Family::Anthropic,
        weight: 27.0,
        prompt: (3200.0, 0.9, 200, 150_000),
        completion: (380.0, 0.8, 5, 8_000),
        reasoning: false,
        ttft_ms: 650.0,
        ms_per_token: 11.0,
    },
    ModelSpec {
        slug: "anthropic/claude-haiku-4.5",
        family: Family::Anthropic,
        weight: 16.0,
        prompt: (1600.0, 0.8, 80, 100_000),
        completion: (220.0, 0.7, 3, 4_000),
        reasoning: false,
        ttft_ms: 380.0,
        ms_per_token: 5.5,
    },
    ModelSpec {
        slug: "openai/gpt-5.4-mini",
        family: Family::OpenAi,
        weight: 18.0,
        prompt: (1300.0, 0.8, 50, 120_000),
        completion: (300.0, 0.8, 3, 6_000),
        reasoning: false,
        ttft_ms: 420.0,
        ms_per_token: 7.0,
    },
    ModelSpec {
        slug: "openai/gpt-5.4",
        family: Family::OpenAi,
        weight: 10.0,
        prompt: (4200.0, 0.9, 100, 180_000),
        completion: (900.0, 0.8, 10, 16_000),
        reasoning: true,
        ttft_ms: 950.0,
        ms_per_token: 13.0,
    },
    ModelSpec {
        slug: "google/gemini-3.1-pro-preview",
        family: Family::Google,
        weight: 8.0,
        prompt: (7000.0, 1.0, 200, 190_000),
        completion: (1100.0, 0.8, 10, 16_000),
        reasoning: true,
        ttft_ms: 1300.0,
        ms_per_token: 9.0,
    },
    ModelSpec {
        slug: "deepseek/deepseek-v4-flash",
        family: Family::DeepSeek,
        weight: 11.0,
        prompt: (2100.0, 0.8, 50, 120_000),
        completion: (520.0, 0.8, 5, 8_000),
        reasoning: false,
        ttft_ms: 520.0,
        ms_per_token: 8.0,
    },
    ModelSpec {
        slug: "meta-llama/llama-3.3-70b-instruct",
        family: Family::Meta,
        weight: 9.5,
        prompt: (1000.0, 0.7, 30, 60_000),
        completion: (260.0, 0.7, 3, 4_000),
        reasoning: false,
        ttft_ms: 300.0,
        ms_per_token: 4.5,
    },
    // A legacy service pinned to a dated snapshot; only on OpenRouter (routed to OminiGate, the
    // app maps it to claude-sonnet-4.6 as rates/slugs.csv says).
    ModelSpec {
        slug: "anthropic/claude-sonnet-4-20250514",
        family: Family::Anthropic,
        weight: 0.0,
        prompt: (3200.0, 0.9, 200, 150_000),
        completion: (380.0, 0.8, 5, 8_000),
        reasoning: false,
        ttft_ms: 700.0,
        ms_per_token: 12.0,
    },
    // A typo'd slug no gateway lists; it has no rate, so it shows as unpriced.
    ModelSpec {
        slug: "google/gemini-3.1-pro",
        family: Family::Google,
        weight: 0.0,
        prompt: (7000.0, 1.0, 200, 190_000),
        completion: (1100.0, 0.8, 10, 16_000),
        reasoning: true,
        ttft_ms: 1300.0,
        ms_per_token: 9.0,
    },
];

/// Share of OpenRouter user calls pinned to the dated snapshot.
const SNAPSHOT_SHARE: f64 = 0.004;

/// Cost centres; the CSV days log `ts` per service: `+02:00` for the first two, epoch ms for the rest.
const TENANTS: [(&str, f64); 5] = [
    ("search", 30.0),
    ("support-bot", 25.0),
    ("doc-summaries", 20.0),
    ("analytics", 15.0),
    ("internal-tools", 10.0),
];
const TENANTS_WITH_OFFSET_TS: usize = 2;

/// Hour-of-day weights (UTC): EU and US working hours.
const HOURS: [f64; 24] = [
    2.0, 1.5, 1.2, 1.0, 1.0, 1.2, 2.0, 3.5, 5.0, 6.5, 7.0, 7.2, 7.0, 7.2, 7.5, 7.8, 7.5, 6.8, 5.8,
    5.0, 4.5, 4.0, 3.2, 2.5,
];

/// OminiGate's share of user traffic on a day of April.
fn ominigate_share(day: u32) -> f64 {
    match day {
        1..=7 => 0.0,
        8..=14 => 0.10,
        15..=21 => 0.25,
        22..=25 => 0.50,
        _ => 1.0,
    }
}

fn file_name(day: u32) -> String {
    match day {
        1..=10 => format!("2026-04-{day:02}.jsonl.gz"),
        11..=20 => format!("2026-04-{day:02}.nested.jsonl.gz"),
        21..=25 => format!("2026-04-{day:02}.csv.gz"),
        _ => format!("2026-04-{day:02}.parquet"),
    }
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, day).expect("a day of April 2026")
}

fn day_start_ms(day: u32) -> i64 {
    date(day)
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_millis()
}

/// One row of `rates/models.csv`, as far as this generator prices calls.
struct Rate {
    provider: String,
    model: String,
    from: NaiveDate,
    to: Option<NaiveDate>,
    input: Decimal,
    output: Decimal,
    cache_read: Decimal,
    cache_write: Decimal,
    cache_write_1h: Decimal,
    long: Option<(u64, Decimal, Decimal)>,
}

fn load_rates() -> Vec<Rate> {
    let mut rdr = csv::Reader::from_reader(RATES_CSV.as_bytes());
    let headers = rdr.headers().expect("rates header").clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut rates = Vec::new();
    for rec in rdr.records() {
        let rec = rec.expect("a readable rates row");
        let get = |name: &str| col(name).and_then(|i| rec.get(i)).unwrap_or("").trim();
        let dec = |name: &str| {
            let v = get(name);
            (!v.is_empty()).then(|| Decimal::from_str(v).expect("a decimal price"))
        };
        let day = |name: &str| {
            let v = get(name);
            (!v.is_empty()).then(|| NaiveDate::parse_from_str(v, "%Y-%m-%d").expect("a date"))
        };
        let input = dec("input_per_mtok").expect("input price");
        let cache_write = dec("cache_write_per_mtok").unwrap_or(input);
        let long = match (
            get("long_context_threshold"),
            dec("long_input_per_mtok"),
            dec("long_output_per_mtok"),
        ) {
            ("", _, _) => None,
            (t, Some(i), Some(o)) => Some((t.parse().expect("a threshold"), i, o)),
            _ => panic!("incomplete long-context columns in rates/models.csv"),
        };
        rates.push(Rate {
            provider: get("provider").to_ascii_lowercase(),
            model: get("model").to_string(),
            from: day("effective_from").expect("effective_from"),
            to: day("effective_to"),
            input,
            output: dec("output_per_mtok").expect("output price"),
            cache_read: dec("cache_read_per_mtok").unwrap_or(input),
            cache_write,
            cache_write_1h: dec("cache_write_1h_per_mtok").unwrap_or(cache_write),
            long,
        });
    }
    rates
}

fn lookup<'r>(rates: &'r [Rate], provider: Provider, model: &str, day: u32) -> Option<&'r Rate> {
    let d = date(day);
    let covers = |r: &&Rate| r.model == model && r.from <= d && r.to.is_none_or(|t| d <= t);
    rates
        .iter()
        .filter(covers)
        .find(|r| r.provider == provider.name())
        .or_else(|| rates.iter().filter(covers).find(|r| r.provider == "*"))
}

// ---------------------------------------------------------------------------------------------
// Records

#[derive(Clone)]
struct Rec {
    day: u32,
    ts_ms: i64,
    provider: Provider,
    model: usize,
    request_id: String,
    tenant: usize,
    prompt: u64,
    completion: u64,
    cached: u64,
    cache_write: u64,
    cache_write_1h: u64,
    reasoning: u64,
    status: u16,
    latency_tenths: u64,
    byok: bool,
    shadow_of: Option<String>,
    /// The gateway-reported cost (OpenRouter only).
    cost: Option<Decimal>,
    /// Rate-table cost of a 2xx call (`None`: unpriced or failed).
    list_cost: Option<Decimal>,
    /// Days 11–20: usage in the Anthropic Messages shape instead of the OpenAI one.
    anthropic_shape: bool,
}

impl Rec {
    fn spec(&self) -> &'static ModelSpec {
        &MODELS[self.model]
    }
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    fn has_cached(&self) -> bool {
        self.spec().family != Family::Meta
    }
    fn has_cache_write(&self) -> bool {
        self.spec().family == Family::Anthropic
    }
    fn has_reasoning(&self) -> bool {
        self.spec().reasoning
    }
    fn total(&self) -> u64 {
        self.prompt + self.completion
    }
    fn latency(&self) -> String {
        format!("{}.{}", self.latency_tenths / 10, self.latency_tenths % 10)
    }
    fn ts_utc(&self) -> String {
        DateTime::from_timestamp_millis(self.ts_ms)
            .expect("an in-range timestamp")
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    }
    fn ts_plus_two(&self) -> String {
        DateTime::from_timestamp_millis(self.ts_ms)
            .expect("an in-range timestamp")
            .with_timezone(&FixedOffset::east_opt(2 * 3600).expect("+02:00"))
            .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string()
    }
}

fn request_id(rng: &mut StdRng, provider: Provider, ts_ms: i64) -> String {
    match provider {
        // OpenRouter's shape: gen-<unix seconds>-<20 alphanumerics>.
        Provider::OpenRouter => {
            let tail: String = (&mut *rng)
                .sample_iter(Alphanumeric)
                .take(20)
                .map(char::from)
                .collect();
            format!("gen-{}-{tail}", ts_ms / 1000)
        }
        Provider::OminiGate => {
            format!(
                "omg-{:016x}{:08x}",
                rng.random::<u64>(),
                rng.random::<u32>()
            )
        }
    }
}

fn draw(rng: &mut StdRng, (median, sigma, lo, hi): (f64, f64, u64, u64)) -> u64 {
    (lognormal(rng, median, sigma).round() as u64).clamp(lo, hi)
}

/// Cache reads and writes for a call of `prompt` tokens, as the model's provider reports them.
fn cache_tokens(rng: &mut StdRng, family: Family, prompt: u64) -> (u64, u64) {
    let frac = |rng: &mut StdRng, lo, hi| (prompt as f64 * uniform(rng, lo, hi)).round() as u64;
    match family {
        Family::Anthropic => {
            let cached = if prompt >= 1024 && rng.random_bool(0.65) {
                frac(rng, 0.40, 0.95)
            } else {
                0
            };
            let write = if prompt >= 1024 && rng.random_bool(0.30) {
                ((prompt - cached) as f64 * uniform(rng, 0.3, 0.9)).round() as u64
            } else {
                0
            };
            (cached, write)
        }
        // OpenAI caches prompts of 1024+ tokens in 128-token steps.
        Family::OpenAi if prompt >= 1024 && rng.random_bool(0.45) => {
            let c = frac(rng, 0.3, 0.9) / 128 * 128;
            (c.max(1024).min(prompt / 128 * 128), 0)
        }
        Family::Google if prompt >= 2048 && rng.random_bool(0.30) => (frac(rng, 0.2, 0.8), 0),
        // DeepSeek's disk cache works in 64-token units.
        Family::DeepSeek if prompt >= 64 && rng.random_bool(0.50) => {
            (frac(rng, 0.3, 0.9) / 64 * 64, 0)
        }
        _ => (0, 0),
    }
}

fn reasoning_tokens(rng: &mut StdRng, spec: &ModelSpec, completion: u64) -> u64 {
    if !spec.reasoning || completion == 0 {
        return 0;
    }
    match spec.family {
        Family::OpenAi if rng.random_bool(0.3) => 0,
        Family::OpenAi => (completion as f64 * uniform(rng, 0.2, 0.8)).round() as u64,
        _ => (completion as f64 * uniform(rng, 0.3, 0.9)).round() as u64,
    }
    .min(completion)
}

fn error_status(rng: &mut StdRng, provider: Provider, day: u32) -> u16 {
    // OminiGate's first canary days have a few more upstream 502s.
    let p502 = if provider == Provider::OminiGate && (8..=10).contains(&day) {
        0.012
    } else {
        0.003
    };
    let u = rng.random::<f64>();
    if u < 0.007 {
        429
    } else if u < 0.010 {
        500
    } else if u < 0.010 + p502 {
        502
    } else {
        200
    }
}

fn latency_tenths(rng: &mut StdRng, r: &Rec) -> u64 {
    let ms = match r.status {
        429 => uniform(rng, 15.0, 120.0),
        s if !(200..300).contains(&s) => uniform(rng, 800.0, 30_000.0),
        _ => {
            let spec = r.spec();
            let base =
                spec.ttft_ms + r.completion as f64 * spec.ms_per_token + r.prompt as f64 * 0.004;
            let gateway = match r.provider {
                Provider::OpenRouter => 1.0,
                Provider::OminiGate => 0.93,
            };
            base * gateway * exp(0.25 * normal(rng))
        }
    };
    (ms * 10.0).round() as u64
}

/// Sets both costs: the rate-table one and, on OpenRouter, the one the gateway reports (0 for
/// failed calls and for BYOK calls, which fall within the free 1,000,000 BYOK requests a month).
fn price(rates: &[Rate], r: &mut Rec) {
    r.list_cost = None;
    if r.ok() {
        if let Some(rate) = lookup(rates, r.provider, r.spec().slug, r.day) {
            let (input, output) = match rate.long {
                Some((t, li, lo)) if r.prompt > t => (li, lo),
                _ => (rate.input, rate.output),
            };
            let d = Decimal::from;
            let uncached = r.prompt - r.cached - r.cache_write;
            let per_mtok = d(uncached) * input
                + d(r.cached) * rate.cache_read
                + d(r.cache_write - r.cache_write_1h) * rate.cache_write
                + d(r.cache_write_1h) * rate.cache_write_1h
                + d(r.completion) * output;
            r.list_cost = Some((per_mtok / Decimal::from(1_000_000)).normalize());
        }
    }
    r.cost = match r.provider {
        Provider::OminiGate => None,
        Provider::OpenRouter if !r.ok() || r.byok => Some(Decimal::ZERO),
        Provider::OpenRouter => r.list_cost,
    };
}

/// Makes a failed call's usage what gateways log for it: no output, no cache, and for 429
/// (refused before the model saw it) no input either.
fn apply_failure(r: &mut Rec) {
    if !r.ok() {
        r.completion = 0;
        r.cached = 0;
        r.cache_write = 0;
        r.cache_write_1h = 0;
        r.reasoning = 0;
        if r.status == 429 {
            r.prompt = 0;
        }
    }
}

struct Ctx<'a> {
    rng: StdRng,
    rates: &'a [Rate],
    never_listed_p: f64,
}

impl Ctx<'_> {
    /// One user call.
    fn call(&mut self, day: u32, ts_ms: i64, force_ok: bool) -> Rec {
        let rng = &mut self.rng;
        let provider = if rng.random_bool(ominigate_share(day)) {
            Provider::OminiGate
        } else {
            Provider::OpenRouter
        };
        let tenant = pick(rng, &TENANTS.map(|t| t.1));
        let mut model = pick(rng, &MODELS.map(|m| m.weight));
        if rng.random_bool(self.never_listed_p) {
            model = NEVER_LISTED;
        } else if rng.random_bool(SNAPSHOT_SHARE) && provider == Provider::OpenRouter {
            model = SNAPSHOT;
        }
        let spec = &MODELS[model];
        let mut prompt = draw(rng, spec.prompt);
        if model == GEMINI_PREVIEW && rng.random_bool(LONG_CONTEXT_SHARE) {
            prompt = rng.random_range(200_001..=420_000);
        }
        let completion = draw(rng, spec.completion);
        let (cached, cache_write) = if prompt > 200_000 {
            (0, 0)
        } else {
            cache_tokens(rng, spec.family, prompt)
        };
        let reasoning = reasoning_tokens(rng, spec, completion);
        let status = if force_ok {
            200
        } else {
            error_status(rng, provider, day)
        };
        let byok = provider == Provider::OpenRouter && rng.random_bool(BYOK_SHARE);
        let anthropic_shape = (11..=20).contains(&day)
            && spec.family == Family::Anthropic
            && rng.random_bool(ANTHROPIC_SHAPE_SHARE);
        let cache_write_1h =
            if anthropic_shape && cache_write > 0 && rng.random_bool(ONE_HOUR_WRITE_SHARE) {
                cache_write
            } else {
                0
            };
        let request_id = request_id(rng, provider, ts_ms);
        let mut r = Rec {
            day,
            ts_ms,
            provider,
            model,
            request_id,
            tenant,
            prompt,
            completion,
            cached,
            cache_write,
            cache_write_1h,
            reasoning,
            status,
            latency_tenths: 0,
            byok,
            shadow_of: None,
            cost: None,
            list_cost: None,
            anthropic_shape,
        };
        apply_failure(&mut r);
        r.latency_tenths = latency_tenths(rng, &r);
        price(self.rates, &mut r);
        r
    }

    /// A shadow call on OminiGate mirroring `p`: the same model and tenant, token counts within
    /// a few tokens of the primary's (tokenizer drift), now and then exactly equal.
    fn shadow(&mut self, p: &Rec) -> Rec {
        let rng = &mut self.rng;
        let day_end = day_start_ms(p.day) + 86_400_000 - 1;
        let ts_ms = (p.ts_ms + rng.random_range(1..=40)).min(day_end);
        let spec = p.spec();
        let (mut prompt, mut completion, mut cached, mut cache_write, mut reasoning);
        if p.ok() {
            let drift = |rng: &mut StdRng, max: i64| -> i64 {
                if rng.random_bool(0.3) {
                    0
                } else {
                    rng.random_range(-max..=max)
                }
            };
            let dp = drift(rng, 4);
            // About one pair in a hundred drifts well past the default tolerance.
            let dc = if rng.random_bool(0.01) {
                let m = rng.random_range(15..=60);
                if rng.random_bool(0.5) {
                    m
                } else {
                    -m
                }
            } else {
                drift(rng, 5)
            };
            prompt = (p.prompt as i64 + dp).max(1) as u64;
            completion = (p.completion as i64 + dc).max(1) as u64;
            cached = p.cached.min(prompt);
            cache_write = p.cache_write.min(prompt - cached);
            reasoning = p.reasoning.min(completion);
        } else {
            // The primary failed; the shadow ran on its own.
            prompt = draw(rng, spec.prompt);
            completion = draw(rng, spec.completion);
            (cached, cache_write) = cache_tokens(rng, spec.family, prompt);
            reasoning = reasoning_tokens(rng, spec, completion);
        }
        let status = if rng.random_bool(0.005) { 502 } else { 200 };
        if status != 200 {
            (completion, cached, cache_write, reasoning) = (0, 0, 0, 0);
        }
        if prompt == 0 {
            prompt = 1;
        }
        let request_id = request_id(rng, Provider::OminiGate, ts_ms);
        let mut r = Rec {
            day: p.day,
            ts_ms,
            provider: Provider::OminiGate,
            model: p.model,
            request_id,
            tenant: p.tenant,
            prompt,
            completion,
            cached,
            cache_write,
            cache_write_1h: 0,
            reasoning,
            status,
            latency_tenths: 0,
            byok: false,
            shadow_of: Some(p.request_id.clone()),
            cost: None,
            list_cost: None,
            anthropic_shape: false,
        };
        r.latency_tenths = latency_tenths(rng, &r);
        price(self.rates, &mut r);
        r
    }
}

// ---------------------------------------------------------------------------------------------
// Serialisation

fn json_head(r: &Rec, out: &mut String) {
    let _ = write!(
        out,
        r#"{{"ts":"{}","provider":"{}","model":"{}","request_id":"{}","tenant":"{}","status":{},"latency_ms":{}"#,
        r.ts_utc(),
        r.provider.name(),
        r.spec().slug,
        r.request_id,
        TENANTS[r.tenant].0,
        r.status,
        r.latency()
    );
}

fn json_tail(r: &Rec, out: &mut String, byok_flat: bool, cost_flat: bool) {
    if byok_flat && r.provider == Provider::OpenRouter {
        let _ = write!(out, r#","byok":{}"#, r.byok);
    }
    if let Some(of) = &r.shadow_of {
        let _ = write!(out, r#","shadow":true,"shadow_of":"{of}""#);
    }
    let _ = write!(out, r#","response_model":"{}""#, r.spec().slug);
    if cost_flat {
        if let Some(c) = r.cost {
            let _ = write!(out, r#","cost":{c}"#);
        }
    }
}

/// Days 1–10: every field at the top level.
fn json_flat(r: &Rec) -> String {
    let mut s = String::with_capacity(400);
    json_head(r, &mut s);
    let _ = write!(
        s,
        r#","prompt_tokens":{},"completion_tokens":{},"total_tokens":{}"#,
        r.prompt,
        r.completion,
        r.total()
    );
    if r.has_cached() {
        let _ = write!(s, r#","cached_tokens":{}"#, r.cached);
    }
    if r.has_cache_write() {
        let _ = write!(s, r#","cache_write_tokens":{}"#, r.cache_write);
    }
    if r.has_reasoning() {
        let _ = write!(s, r#","reasoning_tokens":{}"#, r.reasoning);
    }
    json_tail(r, &mut s, true, true);
    s.push('}');
    s
}

/// Days 11–20: the usage object as the OpenAI SDK / OpenRouter return it, or for some
/// Anthropic-model calls as the Anthropic Messages API returns it (`input_tokens` excludes the
/// cache tokens there).
fn json_nested(r: &Rec) -> String {
    let mut s = String::with_capacity(480);
    json_head(r, &mut s);
    let openrouter = r.provider == Provider::OpenRouter;
    if r.anthropic_shape {
        json_tail(r, &mut s, true, true);
        let input = r.prompt - r.cached - r.cache_write;
        let _ = write!(
            s,
            r#","usage":{{"input_tokens":{input},"output_tokens":{},"cache_read_input_tokens":{},"cache_creation_input_tokens":{},"cache_creation":{{"ephemeral_5m_input_tokens":{},"ephemeral_1h_input_tokens":{}}}}}}}"#,
            r.completion,
            r.cached,
            r.cache_write,
            r.cache_write - r.cache_write_1h,
            r.cache_write_1h
        );
        return s;
    }
    json_tail(r, &mut s, false, false);
    let _ = write!(
        s,
        r#","usage":{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}"#,
        r.prompt,
        r.completion,
        r.total()
    );
    if r.has_cached() {
        let _ = write!(
            s,
            r#","prompt_tokens_details":{{"cached_tokens":{}"#,
            r.cached
        );
        // OpenRouter reports cache writes inside prompt_tokens_details; OminiGate passes the
        // Anthropic field through at the usage level.
        if r.has_cache_write() && openrouter {
            let _ = write!(s, r#","cache_write_tokens":{}"#, r.cache_write);
        }
        s.push('}');
    }
    if r.has_reasoning() {
        let _ = write!(
            s,
            r#","completion_tokens_details":{{"reasoning_tokens":{}}}"#,
            r.reasoning
        );
    }
    if r.has_cache_write() && !openrouter {
        let _ = write!(s, r#","cache_creation_input_tokens":{}"#, r.cache_write);
    }
    if openrouter {
        if let Some(c) = r.cost {
            let _ = write!(s, r#","cost":{c}"#);
        }
        let _ = write!(s, r#","is_byok":{}"#, r.byok);
    }
    s.push_str("}}");
    s
}

const CSV_HEADER: [&str; 18] = [
    "ts",
    "provider",
    "model",
    "request_id",
    "tenant",
    "status",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "byok",
    "shadow",
    "shadow_of",
    "response_model",
    "cost",
];

/// Days 21–25: one CSV row; `ts` as RFC 3339 in +02:00 (two services log local CEST time) or
/// epoch milliseconds (the others).
fn csv_row(r: &Rec) -> Vec<String> {
    let opt = |present: bool, v: u64| {
        if present {
            v.to_string()
        } else {
            String::new()
        }
    };
    let openrouter = r.provider == Provider::OpenRouter;
    vec![
        if r.tenant < TENANTS_WITH_OFFSET_TS {
            r.ts_plus_two()
        } else {
            r.ts_ms.to_string()
        },
        r.provider.name().into(),
        r.spec().slug.into(),
        r.request_id.clone(),
        TENANTS[r.tenant].0.into(),
        r.status.to_string(),
        r.latency(),
        r.prompt.to_string(),
        r.completion.to_string(),
        r.total().to_string(),
        opt(r.has_cached(), r.cached),
        opt(r.has_cache_write(), r.cache_write),
        opt(r.has_reasoning(), r.reasoning),
        if openrouter {
            r.byok.to_string()
        } else {
            String::new()
        },
        r.shadow_of.is_some().to_string(),
        r.shadow_of.clone().unwrap_or_default(),
        r.spec().slug.into(),
        r.cost.map(|c| c.to_string()).unwrap_or_default(),
    ]
}

fn gz_writer(path: &Path) -> std::io::Result<flate2::write::GzEncoder<BufWriter<File>>> {
    // No file name and mtime 0 in the header, so the bytes depend on the content only.
    Ok(GzBuilder::new()
        .mtime(0)
        .write(BufWriter::new(File::create(path)?), Compression::best()))
}

/// A text file's lines (without the header), with planted bad rows at their places.
enum Line {
    Rec(usize),
    Raw(String),
    Fields(Vec<String>),
}

fn write_jsonl(path: &Path, recs: &[Rec], lines: &[Line], nested: bool) -> std::io::Result<()> {
    let mut w = gz_writer(path)?;
    for l in lines {
        match l {
            Line::Rec(i) => {
                let s = if nested {
                    json_nested(&recs[*i])
                } else {
                    json_flat(&recs[*i])
                };
                w.write_all(s.as_bytes())?;
            }
            Line::Raw(s) => w.write_all(s.as_bytes())?,
            Line::Fields(_) => unreachable!("CSV fields in a JSON-lines file"),
        }
        w.write_all(b"\n")?;
    }
    w.finish()?.flush()
}

fn write_csv(path: &Path, recs: &[Rec], lines: &[Line]) -> std::io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(gz_writer(path)?);
    w.write_record(CSV_HEADER)?;
    for l in lines {
        match l {
            Line::Rec(i) => w.write_record(csv_row(&recs[*i]))?,
            Line::Fields(f) => w.write_record(f)?,
            Line::Raw(_) => unreachable!("raw text in a CSV file"),
        }
    }
    let gz = w.into_inner().map_err(|e| e.into_error())?;
    gz.finish()?.flush()
}

fn write_parquet(path: &Path, recs: &[Rec]) -> Result<(), String> {
    let s = |name: &str, f: &dyn Fn(&Rec) -> String| -> Column {
        Series::new(name.into(), recs.iter().map(f).collect::<Vec<String>>()).into()
    };
    let i = |name: &str, f: &dyn Fn(&Rec) -> Option<i64>| -> Column {
        Series::new(
            name.into(),
            recs.iter().map(f).collect::<Vec<Option<i64>>>(),
        )
        .into()
    };
    let b = |name: &str, f: &dyn Fn(&Rec) -> bool| -> Column {
        Series::new(name.into(), recs.iter().map(f).collect::<Vec<bool>>()).into()
    };
    let columns = vec![
        s("ts", &|r| r.ts_utc()),
        s("provider", &|r| r.provider.name().into()),
        s("model", &|r| r.spec().slug.into()),
        s("request_id", &|r| r.request_id.clone()),
        s("tenant", &|r| TENANTS[r.tenant].0.into()),
        i("status", &|r| Some(r.status as i64)),
        Series::new(
            "latency_ms".into(),
            recs.iter()
                .map(|r| r.latency_tenths as f64 / 10.0)
                .collect::<Vec<f64>>(),
        )
        .into(),
        i("prompt_tokens", &|r| Some(r.prompt as i64)),
        i("completion_tokens", &|r| Some(r.completion as i64)),
        i("total_tokens", &|r| Some(r.total() as i64)),
        i("cached_tokens", &|r| {
            r.has_cached().then_some(r.cached as i64)
        }),
        i("cache_write_tokens", &|r| {
            r.has_cache_write().then_some(r.cache_write as i64)
        }),
        i("reasoning_tokens", &|r| {
            r.has_reasoning().then_some(r.reasoning as i64)
        }),
        b("byok", &|r| r.byok),
        b("shadow", &|r| r.shadow_of.is_some()),
        s("response_model", &|r| r.spec().slug.into()),
    ];
    let mut df = DataFrame::new_infer_height(columns).map_err(|e| e.to_string())?;
    let file = File::create(path).map_err(|e| e.to_string())?;
    ParquetWriter::new(BufWriter::new(file))
        .with_compression(ParquetCompression::Zstd(None))
        .set_parallel(false)
        .finish(&mut df)
        .map_err(|e| e.to_string())?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Planted bad rows

struct Bad {
    day: u32,
    kind: &'static str,
    column: &'static str,
    what: &'static str,
}

/// One of each kind; every one must be rejected by the reader.
static BAD_ROWS: [Bad; 7] = [
    Bad {
        day: 3,
        kind: "truncated_json",
        column: "",
        what: "a JSON line cut in half (the writer died mid-line)",
    },
    Bad {
        day: 6,
        kind: "cached_exceeds_prompt",
        column: "cached_tokens",
        what: "cached_tokens is 137 more than prompt_tokens",
    },
    Bad {
        day: 9,
        kind: "timestamp_without_zone",
        column: "ts",
        what: "ts `2026-04-09T14:22:05.118` has no UTC offset",
    },
    Bad {
        day: 13,
        kind: "negative_tokens",
        column: "completion_tokens",
        what: "usage.completion_tokens is -42",
    },
    Bad {
        day: 17,
        kind: "missing_model",
        column: "model",
        what: "no `model` field (and no response_model)",
    },
    Bad {
        day: 22,
        kind: "csv_too_few_fields",
        column: "",
        what: "a CSV row with 9 of the header's 18 fields",
    },
    Bad {
        day: 24,
        kind: "impossible_date",
        column: "ts",
        what: "ts `2026-04-31T09:12:44.201+02:00`: April has 30 days",
    },
];

/// The bad line for `bad`, built from a valid call of that day and then spoilt.
fn bad_line(ctx: &mut Ctx, bad: &Bad) -> Line {
    let day = bad.day;
    let ts = day_start_ms(day) + ctx.rng.random_range(8 * 3_600_000..20 * 3_600_000);
    let mut r = ctx.call(day, ts, true);
    r.anthropic_shape = false;
    match bad.kind {
        "truncated_json" => {
            let s = json_flat(&r);
            Line::Raw(s[..s.len() / 2].to_string())
        }
        "cached_exceeds_prompt" => {
            r.model = GPT_MINI;
            let mut s = json_flat(&r);
            let from = format!(r#""cached_tokens":{}"#, r.cached);
            let to = format!(r#""cached_tokens":{}"#, r.prompt + 137);
            s = s.replacen(&from, &to, 1);
            Line::Raw(s)
        }
        "timestamp_without_zone" => {
            let s = json_flat(&r);
            Line::Raw(s.replacen(&r.ts_utc(), "2026-04-09T14:22:05.118", 1))
        }
        "negative_tokens" => {
            let s = json_nested(&r);
            let from = format!(r#""completion_tokens":{}"#, r.completion);
            Line::Raw(s.replacen(&from, r#""completion_tokens":-42"#, 1))
        }
        "missing_model" => {
            let slug = r.spec().slug;
            let s = json_nested(&r)
                .replacen(&format!(r#","model":"{slug}""#), "", 1)
                .replacen(&format!(r#","response_model":"{slug}""#), "", 1);
            Line::Raw(s)
        }
        "csv_too_few_fields" => {
            r.tenant = TENANTS_WITH_OFFSET_TS; // epoch-ms ts
            let mut f = csv_row(&r);
            f.truncate(9);
            Line::Fields(f)
        }
        "impossible_date" => {
            r.tenant = 0; // +02:00 ts
            let mut f = csv_row(&r);
            f[0] = "2026-04-31T09:12:44.201+02:00".into();
            Line::Fields(f)
        }
        other => unreachable!("unknown bad-row kind {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Invoices: what the two gateways bill for the month, from the calls the generator made

/// The invoices' few random choices come from their own stream (seeded from `--seed` and this
/// salt), so the logs' stream, and so every log file, is the same as without invoices.
const INVOICE_SALT: u64 = 0x1A70_1CE5_5A17_0426;

const OPENROUTER_INVOICE: &str = "openrouter-2026-04.xlsx";
const OMINIGATE_INVOICE: &str = "ominigate-2026-04.csv";
const INVOICE_TITLE: &str = "OpenRouter — usage April 2026";
const INVOICE_SHEET: &str = "Usage";
/// Sheet rows (0-based) of the spreadsheet's column header and first line.
const INVOICE_HEADER_ROW: u32 = 3;
const INVOICE_HEADER: [&str; 9] = [
    "date",
    "provider",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "amount_usd",
    "cached_tokens",
    "cache_write_tokens",
    "requests",
];

/// Planted faults: (gateway, day[, model]).
const DOUBLED: (Provider, u32) = (Provider::OpenRouter, 9);
const MISSING: (Provider, u32) = (Provider::OminiGate, 27);
const DRIFTED: (Provider, u32) = (Provider::OminiGate, 16);
const NOT_CALLED: (Provider, u32, &str) = (Provider::OpenRouter, 15, "openai/o3");
/// Tokens added to each drifted line's prompt: at most this many, within the default tolerance
/// max(10, 0.1 % of the logged count) whatever the logged count.
const DRIFT_MAX: u64 = 8;

/// `reconcile`'s default tolerances (CONTRACT §6): tokens, percent of the logged count, USD.
const TOL_TOKENS: u64 = 10;

/// The 2xx calls of one day × provider × model (shadow calls included: they are billed), or the
/// counts an invoice line states.
#[derive(Default, Clone)]
struct Usage {
    requests: u64,
    prompt: u64,
    completion: u64,
    cached: u64,
    cache_write: u64,
    /// Rate-table cost of the priced calls, exact.
    cost: Decimal,
    /// The part of `cost` on BYOK calls: paid upstream with the customer's key, so no gateway
    /// bills it.
    byok_cost: Decimal,
    /// Calls whose model has no rate.
    unpriced: u64,
    /// What the gateways charge for those: the list price of the model the slug resolves to.
    unpriced_charge: Decimal,
}

/// (day, provider name, model slug): sorts as `recon.csv` does.
type Key = (u32, &'static str, &'static str);

/// Adds a day's 2xx calls to the month's usage.
fn tally(rates: &[Rate], usage: &mut BTreeMap<Key, Usage>, recs: &[Rec]) {
    for r in recs.iter().filter(|r| r.ok()) {
        let u = usage
            .entry((r.day, r.provider.name(), r.spec().slug))
            .or_default();
        u.requests += 1;
        u.prompt += r.prompt;
        u.completion += r.completion;
        u.cached += r.cached;
        u.cache_write += r.cache_write;
        match r.list_cost {
            Some(c) => {
                u.cost += c;
                if r.byok {
                    u.byok_cost += c;
                }
            }
            None => {
                // Only the never-listed slug lacks a rate; the gateways serve it as the preview.
                assert_eq!(r.model, NEVER_LISTED, "{} has no rate", r.spec().slug);
                let mut resolved = r.clone();
                resolved.model = GEMINI_PREVIEW;
                price(rates, &mut resolved);
                u.unpriced += 1;
                u.unpriced_charge += resolved.list_cost.expect("the preview model has a rate");
            }
        }
    }
}

/// Half-up to the cent, always written with two decimals.
fn cents(x: Decimal) -> Decimal {
    let mut c = x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    c.rescale(2);
    c
}

/// One daily invoice line.
struct InvoiceLine {
    day: u32,
    provider: &'static str,
    model: &'static str,
    counts: Usage,
    amount: Decimal,
    /// Tokens the tokenizer-drift fault added to the prompt.
    drift: u64,
}

/// The status `reconcile` must give one day × provider × model, by CONTRACT §6 with the default
/// tolerances. (`retired_model` cannot occur: no model of the sample is retired in April 2026.)
fn expected_status(log: Option<&Usage>, inv: Option<&InvoiceLine>) -> &'static str {
    let (l, i) = match (log, inv) {
        (Some(l), Some(i)) => (l, i),
        (Some(_), None) => return "missing_in_invoice",
        (None, _) => return "missing_in_logs",
    };
    let within = |logged: u64, billed: u64| {
        let allowed = (Decimal::from(logged) / Decimal::from(1000)).max(Decimal::from(TOL_TOKENS));
        Decimal::from(logged.abs_diff(billed)) <= allowed
    };
    if !within(l.prompt, i.counts.prompt) || !within(l.completion, i.counts.completion) {
        "token_mismatch"
    } else if l.unpriced > 0 {
        "unpriced"
    } else if (i.amount - (l.cost - l.byok_cost)).abs() > Decimal::new(1, 2) {
        "cost_mismatch"
    } else if l.prompt != i.counts.prompt || l.completion != i.counts.completion {
        "drift"
    } else {
        "ok"
    }
}

/// The month's invoices and the reconciliation they must give.
struct Invoices {
    /// Sorted by day, provider, model.
    lines: Vec<InvoiceLine>,
    /// Every day × provider × model of logs or invoices, with the status `reconcile` must give it.
    expected: Vec<(Key, &'static str)>,
    usage: BTreeMap<Key, Usage>,
    /// (file name, bytes)
    files: Vec<(&'static str, u64)>,
}

impl Invoices {
    /// The gateways bill the logged 2xx calls, rounded to the cent, with the four planted faults.
    fn bill(seed: u64, rates: &[Rate], usage: BTreeMap<Key, Usage>) -> Invoices {
        let mut rng = StdRng::seed_from_u64(seed ^ INVOICE_SALT);
        let is = |(p, d): (Provider, u32), (day, provider): (u32, &str)| {
            d == day && p.name() == provider
        };
        let mut lines = Vec::new();
        for (&(day, provider, model), u) in &usage {
            if is(MISSING, (day, provider)) {
                continue;
            }
            let mut counts = u.clone();
            let mut amount = cents(u.cost - u.byok_cost + u.unpriced_charge);
            let mut drift = 0;
            if is(DOUBLED, (day, provider)) {
                for n in [
                    &mut counts.requests,
                    &mut counts.prompt,
                    &mut counts.completion,
                    &mut counts.cached,
                    &mut counts.cache_write,
                ] {
                    *n *= 2;
                }
                amount *= Decimal::TWO;
            }
            if is(DRIFTED, (day, provider)) {
                drift = rng.random_range(1..=DRIFT_MAX);
                counts.prompt += drift;
            }
            lines.push(InvoiceLine {
                day,
                provider,
                model,
                counts,
                amount,
                drift,
            });
        }
        // A model the logs never called: a few dozen o3 calls at its list price, no cache.
        let (p, day, model) = NOT_CALLED;
        let rate = lookup(rates, p, model, day).expect("openai/o3 has a rate");
        let requests = rng.random_range(30..=60u64);
        let prompt: u64 = (0..requests).map(|_| rng.random_range(800..=6000u64)).sum();
        let completion: u64 = (0..requests).map(|_| rng.random_range(200..=3000u64)).sum();
        let cost = (Decimal::from(prompt) * rate.input + Decimal::from(completion) * rate.output)
            / Decimal::from(1_000_000);
        lines.push(InvoiceLine {
            day,
            provider: p.name(),
            model,
            counts: Usage {
                requests,
                prompt,
                completion,
                ..Usage::default()
            },
            amount: cents(cost),
            drift: 0,
        });
        lines.sort_by_key(|l| (l.day, l.provider, l.model));

        let mut keys: BTreeMap<Key, (Option<&Usage>, Option<&InvoiceLine>)> = BTreeMap::new();
        for (k, u) in &usage {
            keys.entry(*k).or_default().0 = Some(u);
        }
        for l in &lines {
            keys.entry((l.day, l.provider, l.model)).or_default().1 = Some(l);
        }
        let expected = keys
            .into_iter()
            .map(|(k, (u, l))| (k, expected_status(u, l)))
            .collect();
        Invoices {
            lines,
            expected,
            usage,
            files: Vec::new(),
        }
    }

    fn of(&self, provider: Provider) -> impl Iterator<Item = &InvoiceLine> {
        self.lines
            .iter()
            .filter(move |l| l.provider == provider.name())
    }

    /// Writes `invoices/` in `out`: OpenRouter's spreadsheet and OminiGate's CSV.
    fn write(&mut self, out: &Path) -> Result<(), String> {
        let dir = out.join("invoices");
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let xlsx = dir.join(OPENROUTER_INVOICE);
        self.write_xlsx(&xlsx)
            .map_err(|e| format!("{}: {e}", xlsx.display()))?;
        let csv = dir.join(OMINIGATE_INVOICE);
        self.write_csv(&csv)
            .map_err(|e| format!("{}: {e}", csv.display()))?;
        self.files.clear();
        for name in [OPENROUTER_INVOICE, OMINIGATE_INVOICE] {
            let bytes = fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0);
            self.files.push((name, bytes));
        }
        Ok(())
    }

    fn write_csv(&self, path: &Path) -> Result<(), csv::Error> {
        let mut w = csv::Writer::from_path(path)?;
        w.write_record(INVOICE_HEADER)?;
        for l in self.of(Provider::OminiGate) {
            let c = &l.counts;
            w.write_record([
                date(l.day).to_string(),
                l.provider.to_string(),
                l.model.to_string(),
                c.prompt.to_string(),
                c.completion.to_string(),
                l.amount.to_string(),
                c.cached.to_string(),
                c.cache_write.to_string(),
                c.requests.to_string(),
            ])?;
        }
        w.flush()?;
        Ok(())
    }

    /// A title and a subtitle above the header; `date` a date cell, amounts number cells shown to
    /// the cent. The document's creation time is fixed so the bytes depend on the content only.
    fn write_xlsx(&self, path: &Path) -> Result<(), XlsxError> {
        let mut wb = Workbook::new();
        wb.set_properties(
            &DocProperties::new()
                .set_title(INVOICE_TITLE)
                .set_author("OpenRouter (synthetic)")
                .set_creation_datetime(&ExcelDateTime::from_ymd(2026, 5, 1)?),
        );
        let bold = Format::new().set_bold();
        let title = Format::new().set_bold().set_font_size(14);
        let day = Format::new().set_num_format("yyyy-mm-dd");
        let tokens = Format::new().set_num_format("#,##0");
        let usd = Format::new().set_num_format("0.00");
        let ws = wb.add_worksheet();
        ws.set_name(INVOICE_SHEET)?;
        ws.write_string_with_format(0, 0, INVOICE_TITLE, &title)?;
        ws.write_string(
            1,
            0,
            "Daily usage by model, UTC days 2026-04-01 to 2026-04-30; amounts in USD",
        )?;
        for (c, h) in INVOICE_HEADER.iter().enumerate() {
            ws.write_string_with_format(INVOICE_HEADER_ROW, c as u16, *h, &bold)?;
        }
        for (row, l) in (INVOICE_HEADER_ROW + 1..).zip(self.of(Provider::OpenRouter)) {
            let c = &l.counts;
            let d = ExcelDateTime::from_ymd(2026, 4, l.day as u8)?;
            ws.write_date_with_format(row, 0, &d, &day)?;
            ws.write_string(row, 1, l.provider)?;
            ws.write_string(row, 2, l.model)?;
            // Token counts are far below 2^53, so a number cell holds them exactly; an amount
            // to the cent is written as the double whose shortest text is that amount.
            for (col, n) in [
                (3, c.prompt),
                (4, c.completion),
                (6, c.cached),
                (7, c.cache_write),
                (8, c.requests),
            ] {
                ws.write_number_with_format(row, col, n as f64, &tokens)?;
            }
            let amount: f64 = l.amount.to_string().parse().expect("an amount");
            ws.write_number_with_format(row, 5, amount, &usd)?;
        }
        ws.set_column_width(0, 12)?;
        ws.set_column_width(1, 12)?;
        ws.set_column_width(2, 38)?;
        for col in 3..=8 {
            ws.set_column_width(col, 18)?;
        }
        ws.set_freeze_panes(INVOICE_HEADER_ROW + 1, 0)?;
        wb.save(path)
    }

    /// Rows of the expected reconciliation with the status given.
    fn count(&self, provider: Provider, status: &str) -> usize {
        self.expected
            .iter()
            .filter(|((_, p, _), s)| *p == provider.name() && *s == status)
            .count()
    }

    fn keys_with<'a>(&'a self, status: &'a str) -> impl Iterator<Item = &'a Key> {
        self.expected
            .iter()
            .filter(move |(_, s)| *s == status)
            .map(|(k, _)| k)
    }
}

// ---------------------------------------------------------------------------------------------
// Per-day statistics for the README

#[derive(Default, Clone)]
struct DayStats {
    openrouter_user: u64,
    ominigate_user: u64,
    shadow: u64,
    failed: u64,
    byok: u64,
    unpriced_calls: u64,
    openrouter_usd: Decimal,
    ominigate_usd: Decimal,
    reported_usd: Decimal,
    /// 2xx shadow calls whose primary is a 2xx call.
    shadow_pairs: u64,
    /// 2xx shadow calls whose primary failed.
    shadow_unpaired: u64,
    /// Pairs with a drift beyond max(10 tokens, 0.1 % of the primary's count).
    shadow_over_tolerance: u64,
    /// 2xx calls over 200,000 prompt tokens.
    long_context: u64,
    snapshot_calls: u64,
    never_listed_calls: u64,
}

fn stats(recs: &[Rec]) -> DayStats {
    let mut s = DayStats::default();
    let by_id: BTreeMap<&str, &Rec> = recs.iter().map(|r| (r.request_id.as_str(), r)).collect();
    for r in recs {
        if let (Some(of), true) = (&r.shadow_of, r.ok()) {
            match by_id.get(of.as_str()) {
                Some(p) if p.ok() => {
                    s.shadow_pairs += 1;
                    let out = |a: u64, b: u64| a.abs_diff(b) as f64 > (b as f64 * 0.001).max(10.0);
                    if out(r.prompt, p.prompt) || out(r.completion, p.completion) {
                        s.shadow_over_tolerance += 1;
                    }
                }
                _ => s.shadow_unpaired += 1,
            }
        }
        if r.ok() && r.prompt > 200_000 {
            s.long_context += 1;
        }
        match r.model {
            SNAPSHOT => s.snapshot_calls += 1,
            NEVER_LISTED => s.never_listed_calls += 1,
            _ => {}
        }
        match (r.provider, r.shadow_of.is_some()) {
            (_, true) => s.shadow += 1,
            (Provider::OpenRouter, false) => s.openrouter_user += 1,
            (Provider::OminiGate, false) => s.ominigate_user += 1,
        }
        if !r.ok() {
            s.failed += 1;
        }
        if r.byok {
            s.byok += 1;
        }
        if r.ok() && r.list_cost.is_none() {
            s.unpriced_calls += 1;
        }
        let c = r.list_cost.unwrap_or_default();
        match r.provider {
            Provider::OpenRouter => s.openrouter_usd += c,
            Provider::OminiGate => s.ominigate_usd += c,
        }
        s.reported_usd += r.cost.unwrap_or_default();
    }
    s
}

// ---------------------------------------------------------------------------------------------

fn day_counts(rng: &mut StdRng, calls: usize) -> Vec<usize> {
    let weights: Vec<f64> = (1..=DAYS)
        .map(|d| {
            let dow = match date(d).weekday() {
                Weekday::Sat => 0.55,
                Weekday::Sun => 0.48,
                _ => 1.0,
            };
            // Slow growth over the month, and some day-to-day noise.
            dow * (1.0 + 0.004 * (d - 1) as f64) * uniform(rng, 0.96, 1.04)
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| calls as f64 * w / total).collect();
    let mut counts: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    let short = calls - counts.iter().sum::<usize>();
    for &i in order.iter().take(short) {
        counts[i] += 1;
    }
    counts
}

fn timestamps(rng: &mut StdRng, day: u32, n: usize) -> Vec<i64> {
    let start = day_start_ms(day);
    // Shadow calls start up to 40 ms after their primary; keep both inside the day.
    let mut ts: Vec<i64> = (0..n)
        .map(|_| {
            let h = pick(rng, &HOURS) as i64;
            (start + h * 3_600_000 + rng.random_range(0..3_600_000)).min(start + 86_400_000 - 41)
        })
        .collect();
    ts.sort_unstable();
    ts
}

struct Written {
    day: u32,
    file: String,
    lines: usize,
    bytes: u64,
    stats: DayStats,
}

fn run(args: &Args) -> Result<(), String> {
    let rates = load_rates();
    for m in MODELS.iter().filter(|m| m.weight > 0.0) {
        if lookup(&rates, Provider::OpenRouter, m.slug, 1).is_none() {
            return Err(format!("{} is not in rates/models.csv", m.slug));
        }
    }
    let logs = args.out.join("logs");
    fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    // Clear earlier output so a different --calls leaves no stale day files behind.
    let mut old: Vec<PathBuf> = fs::read_dir(&logs)
        .map_err(|e| format!("{}: {e}", logs.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.starts_with("2026-04-")
                && (n.ends_with(".jsonl.gz") || n.ends_with(".csv.gz") || n.ends_with(".parquet"))
        })
        .collect();
    old.sort();
    for p in old {
        fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    }

    let mut ctx = Ctx {
        rng: StdRng::seed_from_u64(args.seed),
        rates: &rates,
        never_listed_p: (NEVER_LISTED_CALLS / args.calls as f64).min(1.0),
    };
    let counts = day_counts(&mut ctx.rng, args.calls);
    let mut written = Vec::new();
    let mut planted = Vec::new(); // (file, line, &Bad)
    let mut usage = BTreeMap::new();
    for day in 1..=DAYS {
        let mut recs = Vec::with_capacity(counts[day as usize - 1] * 21 / 20);
        for ts in timestamps(&mut ctx.rng, day, counts[day as usize - 1]) {
            let r = ctx.call(day, ts, false);
            let mirror = day <= 7
                && r.model != SNAPSHOT
                && r.model != NEVER_LISTED
                && ctx.rng.random_bool(SHADOW_SHARE);
            let shadow = mirror.then(|| ctx.shadow(&r));
            recs.push(r);
            recs.extend(shadow);
        }
        recs.sort_by_key(|r| r.ts_ms);
        let stats = stats(&recs);
        tally(&rates, &mut usage, &recs);
        let name = file_name(day);
        let path = logs.join(&name);
        let mut lines: Vec<Line> = (0..recs.len()).map(Line::Rec).collect();
        let header = usize::from((21..=25).contains(&day));
        for bad in BAD_ROWS.iter().filter(|b| b.day == day) {
            let at = ctx.rng.random_range(0..=lines.len());
            lines.insert(at, bad_line(&mut ctx, bad));
            planted.push((name.clone(), at + 1 + header, bad));
        }
        match day {
            1..=10 => write_jsonl(&path, &recs, &lines, false),
            11..=20 => write_jsonl(&path, &recs, &lines, true),
            21..=25 => write_csv(&path, &recs, &lines),
            _ => write_parquet(&path, &recs).map_err(std::io::Error::other),
        }
        .map_err(|e| format!("{}: {e}", path.display()))?;
        let bytes = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        written.push(Written {
            day,
            file: name,
            lines: lines.len() + header,
            bytes,
            stats,
        });
    }
    // Planted rows were pushed in day order; the line of each is final once its day is written.
    write_bad_rows_csv(&args.out, &planted)?;
    let mut invoices = Invoices::bill(args.seed, &rates, usage);
    invoices.write(&args.out)?;
    write_topups(&args.out)?;
    write_readme(args, &written, &planted, &invoices)?;
    let total: u64 = written.iter().map(|w| w.bytes).sum();
    for w in &written {
        println!("{:>10}  logs/{}", w.bytes, w.file);
    }
    println!("{total:>10}  total in {}", logs.display());
    for (name, bytes) in &invoices.files {
        println!("{bytes:>10}  invoices/{name}");
    }
    Ok(())
}

fn write_bad_rows_csv(out: &Path, planted: &[(String, usize, &Bad)]) -> Result<(), String> {
    let path = out.join("bad_rows.csv");
    let mut w = csv::Writer::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut rows = vec![vec![
        "file".to_string(),
        "line".into(),
        "kind".into(),
        "column".into(),
        "what".into(),
    ]];
    for (file, line, bad) in planted {
        rows.push(vec![
            format!("logs/{file}"),
            line.to_string(),
            bad.kind.into(),
            bad.column.into(),
            bad.what.into(),
        ]);
    }
    for r in rows {
        w.write_record(r)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    w.flush().map_err(|e| format!("{}: {e}", path.display()))
}

fn write_readme(
    args: &Args,
    written: &[Written],
    planted: &[(String, usize, &Bad)],
    invoices: &Invoices,
) -> Result<(), String> {
    let mut s = String::new();
    let total_bytes: u64 = written.iter().map(|w| w.bytes).sum();
    let sum = |f: &dyn Fn(&DayStats) -> u64| written.iter().map(|w| f(&w.stats)).sum::<u64>();
    let usd = |f: &dyn Fn(&DayStats) -> Decimal| {
        written
            .iter()
            .map(|w| f(&w.stats))
            .sum::<Decimal>()
            .normalize()
    };
    let _ = writeln!(
        s,
        "# Sample request logs: one month of an OpenRouter → OminiGate migration\n\n\
Synthetic, generated by `examples/gen_sample.rs` (do not edit by hand; regenerate):\n\n\
```\ncargo run --release --example gen_sample -- {} --calls {} --seed {}\n```\n\n\
The same seed gives byte-identical files. `--calls` counts user calls; {} shadow calls and {} planted bad \
rows come on top. Month: 2026-04, UTC (2026-04-04 is a Saturday). Prices come from `rates/models.csv` as \
it was when the generator was built. Total size of `logs/`: {} bytes.\n",
        args.out.display(),
        args.calls,
        args.seed,
        sum(&|d| d.shadow),
        planted.len(),
        total_bytes
    );
    s.push_str(
        "## Files\n\n\
One file per UTC day in `logs/` (a record near midnight is in the file of its UTC day, even where its \
`ts` is written in `+02:00`).\n\n\
| days | files | shape |\n|---|---|---|\n\
| 1–10 | `2026-04-DD.jsonl.gz` | flat JSON lines: `ts` (RFC 3339, `Z`), `prompt_tokens`, `completion_tokens`, \
`total_tokens`, `cached_tokens`, `cache_write_tokens`, `reasoning_tokens`, `byok`, `shadow`, `shadow_of`, `cost`, … |\n\
| 11–20 | `2026-04-DD.nested.jsonl.gz` | OpenAI SDK / OpenRouter `usage` object: `usage.prompt_tokens`, \
`usage.prompt_tokens_details.cached_tokens`, `usage.completion_tokens_details.reasoning_tokens`, \
`usage.cost`, `usage.is_byok`; Anthropic-model cache writes as `usage.prompt_tokens_details.cache_write_tokens` \
(OpenRouter) or `usage.cache_creation_input_tokens` (OminiGate). About 40 % of Anthropic-model calls use the \
Anthropic Messages shape instead: `usage.input_tokens` (cache tokens **excluded**), `usage.output_tokens`, \
`usage.cache_read_input_tokens`, `usage.cache_creation_input_tokens`, `usage.cache_creation.ephemeral_{5m,1h}_input_tokens`, \
with `byok` and `cost` at the top level; prompt tokens = input + cache read + cache creation. About 15 % of \
those calls' cache writes are one-hour writes (priced at `cache_write_1h_per_mtok`). |\n\
| 21–25 | `2026-04-DD.csv.gz` | CSV with header; `ts` is RFC 3339 with a `+02:00` offset for tenants `search` \
and `support-bot` and epoch milliseconds for the others; empty cells where a field does not apply |\n\
| 26–30 | `2026-04-DD.parquet` | flat columns: `ts` string (`Z`), token columns Int64 (null where a field does \
not apply), `status` Int64, `byok`/`shadow` Boolean, `latency_ms` Float64; zstd pages. All OminiGate, so no \
`cost` or `shadow_of` columns |\n\n\
Every record: `provider` (`openrouter` ids `gen-<unix s>-<20 chars>`, `ominigate` ids `omg-<24 hex>`), \
`model`, `response_model` (= model), `request_id`, `tenant` (`search`, `support-bot`, `doc-summaries`, \
`analytics`, `internal-tools`), `status`, `latency_ms`. Token fields by model: cache reads and writes on \
Anthropic models, cache reads on OpenAI/Gemini/DeepSeek, none on Llama; reasoning tokens (≤ completion) on \
`openai/gpt-5.4` and the Gemini Pro models; `total_tokens` = prompt + completion wherever written.\n\n\
Status: mostly 200; about 0.7 % 429 (prompt and completion 0), 0.3 % 500 and 0.3 % 502 (prompt kept, \
completion, cache and reasoning 0); OminiGate has about 1.2 % 502 on its first canary days (8–10). \
`cost` is written on OpenRouter records only: the rate-table cost of the call, exact; `0` for failed calls \
and for BYOK calls (within OpenRouter's free 1,000,000 BYOK requests a month). About 8 % of OpenRouter calls \
are BYOK.\n\n\
Models (share of user calls): `anthropic/claude-sonnet-4.6` 27, `openai/gpt-5.4-mini` 18, \
`anthropic/claude-haiku-4.5` 16, `deepseek/deepseek-v4-flash` 11, `openai/gpt-5.4` 10, \
`meta-llama/llama-3.3-70b-instruct` 9.5, `google/gemini-3.1-pro-preview` 8 (about 0.15 % of its calls have \
200,001–420,000 prompt tokens, so the long-context tier applies); `anthropic/claude-sonnet-4-20250514` \
(dated snapshot, about 0.4 % of OpenRouter calls; on OminiGate the app sends `anthropic/claude-sonnet-4.6` \
instead); `google/gemini-3.1-pro` (never listed, no rate: unpriced), about 8 calls in the month.\n\n",
    );
    let _ = writeln!(
        s,
        "Exact counts for this seed (all statuses unless marked 2xx): {} calls to \
`anthropic/claude-sonnet-4-20250514`; {} calls to `google/gemini-3.1-pro`; {} 2xx calls over 200,000 prompt \
tokens (all `google/gemini-3.1-pro-preview`); shadow calls: {} in all, {} 2xx pairs with a 2xx primary, {} \
2xx shadows whose primary failed (unpaired), {} pairs with a drift beyond max(10, 0.1 % of the primary's \
count).\n",
        sum(&|d| d.snapshot_calls),
        sum(&|d| d.never_listed_calls),
        sum(&|d| d.long_context),
        sum(&|d| d.shadow),
        sum(&|d| d.shadow_pairs),
        sum(&|d| d.shadow_unpaired),
        sum(&|d| d.shadow_over_tolerance),
    );
    s.push_str(
        "## Ramp\n\n\
Days 1–7 all user traffic on OpenRouter, with about 5 % of calls mirrored to OminiGate as shadow calls \
(`shadow: true`, `shadow_of` = the primary's `request_id`, same model and tenant, up to 40 ms later; prompt \
drift −4…+4 and completion drift −5…+5 tokens, 30 % of each exactly equal; about 1 % of pairs have a \
completion drift of 15–60 tokens, past the default tolerance; about 0.5 % of shadow calls fail with 502; a \
shadow of a failed primary has its own token counts and is unpaired). Calls to the two special slugs are \
never mirrored. OminiGate canary: days 8–14 10 %, 15–21 25 %, 22–25 50 %, 26–30 100 %. Weekends carry about \
half a weekday's traffic.\n\n\
Per day (user calls by provider, shadow calls, non-2xx calls, BYOK calls, 2xx calls with no rate, and the \
rate-table cost of the 2xx calls in USD, exact):\n\n\
| day | dow | file | lines | openrouter | ominigate | shadow | failed | byok | unpriced | openrouter_usd | ominigate_usd |\n\
|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for w in written {
        let d = &w.stats;
        let _ = writeln!(
            s,
            "| 2026-04-{:02} | {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            w.day,
            date(w.day).weekday(),
            w.file,
            w.lines,
            d.openrouter_user,
            d.ominigate_user,
            d.shadow,
            d.failed,
            d.byok,
            d.unpriced_calls,
            d.openrouter_usd.normalize(),
            d.ominigate_usd.normalize()
        );
    }
    let _ = writeln!(
        s,
        "| **total** | | | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        written.iter().map(|w| w.lines as u64).sum::<u64>(),
        sum(&|d| d.openrouter_user),
        sum(&|d| d.ominigate_user),
        sum(&|d| d.shadow),
        sum(&|d| d.failed),
        sum(&|d| d.byok),
        sum(&|d| d.unpriced_calls),
        usd(&|d| d.openrouter_usd),
        usd(&|d| d.ominigate_usd),
    );
    let _ = writeln!(
        s,
        "`lines` counts physical lines (CSV header and planted bad rows included; Parquet: rows). Sum of the \
`cost` field on OpenRouter records: USD {}.\n",
        usd(&|d| d.reported_usd)
    );
    s.push_str(
        "## Planted bad rows\n\n\
Each must be rejected (and listed in `rejected.csv`); no other row should be. Also in `bad_rows.csv`. \
Line numbers are physical lines, 1-based, the CSV header being line 1.\n\n\
| file | line | kind | column | what is wrong |\n|---|---|---|---|---|\n",
    );
    for (file, line, bad) in planted {
        let _ = writeln!(
            s,
            "| `logs/{file}` | {line} | {} | {} | {} |",
            bad.kind,
            if bad.column.is_empty() {
                "—"
            } else {
                bad.column
            },
            bad.what
        );
    }
    s.push_str(
        "\nExpected from `spendrecon daily --logs sample-data/logs`: exit status 1 (rows rejected, and \
`google/gemini-3.1-pro` is unpriced).\n",
    );
    write_invoices_readme(&mut s, args, invoices);
    let path = args.out.join("README.md");
    fs::write(&path, s).map_err(|e| format!("{}: {e}", path.display()))
}

/// The README's sections on the invoices and on what `reconcile` must find.
fn write_invoices_readme(s: &mut String, args: &Args, inv: &Invoices) {
    let gateways = [Provider::OpenRouter, Provider::OminiGate];
    let lines = |p: Provider| inv.of(p).count();
    let billed = |p: Provider| inv.of(p).map(|l| l.amount).sum::<Decimal>();
    let logged = |p: Provider| {
        inv.usage
            .iter()
            .filter(|((_, q, _), _)| *q == p.name())
            .map(|(_, u)| u.cost - u.byok_cost)
            .sum::<Decimal>()
            .round_dp(2)
    };
    let bytes = |name: &str| {
        inv.files
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, b)| *b)
    };
    let day_rows = |(p, d): (Provider, u32)| {
        inv.expected
            .iter()
            .filter(|((day, q, _), _)| *day == d && *q == p.name())
            .count()
    };
    let out = args.out.display();
    let _ = writeln!(
        s,
        "\n## Invoices\n\n\
`invoices/` holds what the two gateways bill for the month, as daily invoice lines (CONTRACT §3): one line \
per day × model, columns `{}`. The generator computes them from the calls it made, not by running \
`spendrecon`.\n\n\
| file | gateway | shape | lines | bytes | amount_usd |\n|---|---|---|---|---|---|\n\
| `invoices/{OPENROUTER_INVOICE}` | OpenRouter | XLSX, sheet `{INVOICE_SHEET}`: a title row \"{INVOICE_TITLE}\" \
and a subtitle above the header (sheet row {}); `date` is a real date cell, tokens and amounts number cells \
(amounts shown to the cent) | {} | {} | {} |\n\
| `invoices/{OMINIGATE_INVOICE}` | OminiGate | CSV with header, `date` as `YYYY-MM-DD`, amounts with two \
decimals | {} | {} | {} |\n",
        INVOICE_HEADER.join(","),
        INVOICE_HEADER_ROW + 1,
        lines(Provider::OpenRouter),
        bytes(OPENROUTER_INVOICE),
        billed(Provider::OpenRouter),
        lines(Provider::OminiGate),
        bytes(OMINIGATE_INVOICE),
        billed(Provider::OminiGate),
    );
    s.push_str(
        "A line sums the day's 2xx calls to that model on that gateway, shadow calls included (they are \
billed), with their token counts exactly as the logs record them (prompt tokens include cache reads and \
writes, completion tokens include reasoning tokens); `requests` counts those calls. `amount_usd` is their \
exact rate-table cost (the cost in the per-day table above) less the usage of BYOK calls, rounded half-up \
to the cent, so a line is at most USD 0.005 off, within `reconcile`'s default USD 0.01 tolerance. \
Simplifications:\n\n\
- BYOK calls count on their line with their tokens and as requests, but their usage is not billed: the \
customer pays it upstream with its own key, and OpenRouter bills only its BYOK fee, 0 within the monthly \
allowance of 1,000,000 BYOK requests (the sample has far fewer).\n\
- The calls behind the planted bad log rows are not billed, as if they had never run, so that only the \
faults below disturb the reconciliation.\n\
- `google/gemini-3.1-pro` has no rate in `rates/models.csv`; the gateways bill it anyway, at \
`google/gemini-3.1-pro-preview` list price (the model the slug resolves to).\n\
- Any randomness of the invoices (the drift below, the `openai/o3` line) comes from its own seeded \
stream, so the logs are the same bytes as before the invoices existed.\n\n\
### Planted faults\n\n\
| # | gateway | day | model | fault | rows | status `reconcile` must give |\n|---|---|---|---|---|---|---|\n",
    );
    let _ = writeln!(
        s,
        "| 1 | OpenRouter | {} | every model of the day | double-counted day: every line's tokens, requests \
and amount doubled | {} | `token_mismatch` on each row, note \"invoice bills 2.00x the logged prompt tokens \
(…)\" and the same for completion tokens |",
        date(DOUBLED.1),
        day_rows(DOUBLED)
    );
    let _ = writeln!(
        s,
        "| 2 | OminiGate | {} | every model of the day | missing day: no invoice line at all for the day | {} \
| `missing_in_invoice` |",
        date(MISSING.1),
        day_rows(MISSING)
    );
    let drifts: Vec<String> = inv
        .of(DRIFTED.0)
        .filter(|l| l.day == DRIFTED.1)
        .map(|l| format!("`{}` +{}", l.model, l.drift))
        .collect();
    let _ = writeln!(
        s,
        "| 3 | OminiGate | {} | every model of the day | tokenizer drift: 1–{DRIFT_MAX} tokens added to each \
line's prompt tokens ({}), amounts unchanged; within the default tolerance max(10, 0.1 % of the logged \
count) | {} | `drift` |",
        date(DRIFTED.1),
        drifts.join(", "),
        day_rows(DRIFTED)
    );
    let o3 = inv
        .lines
        .iter()
        .find(|l| l.model == NOT_CALLED.2)
        .expect("the o3 line");
    let _ = writeln!(
        s,
        "| 4 | OpenRouter | {} | `{}` | a model billed that the logs never called: {} requests, {} prompt and \
{} completion tokens, USD {} | 1 | `missing_in_logs` |\n",
        date(NOT_CALLED.1),
        NOT_CALLED.2,
        o3.counts.requests,
        o3.counts.prompt,
        o3.counts.completion,
        o3.amount
    );
    let unpriced: Vec<String> = inv
        .keys_with("unpriced")
        .map(|(d, p, _)| format!("{} {p}", date(*d)))
        .collect();
    let snapshot: Vec<_> = inv
        .expected
        .iter()
        .filter(|((_, _, m), _)| *m == MODELS[SNAPSHOT].slug)
        .collect();
    let snapshot_faulty: Vec<String> = snapshot
        .iter()
        .filter(|(_, st)| *st != "ok")
        .map(|((d, p, _), st)| format!("{} {p}: `{st}`, fault 1", date(*d)))
        .collect();
    let _ = writeln!(
        s,
        "Besides these, only what the logs themselves cause is flagged: `google/gemini-3.1-pro` has no \
rate, so each of its {} rows (day × gateway with a 2xx call: {}) is `unpriced` (its invoice lines match the \
logged tokens). The dated snapshot `{}` retires on 2026-06-15, after April, so its rows are `ok`: {} of its {} \
rows{}. Every other row is `ok`.\n",
        unpriced.len(),
        unpriced.join(", "),
        MODELS[SNAPSHOT].slug,
        snapshot.len() - snapshot_faulty.len(),
        snapshot.len(),
        if snapshot_faulty.is_empty() {
            String::new()
        } else {
            format!(" (the others are part of a planted fault: {})", snapshot_faulty.join("; "))
        },
    );
    let _ = writeln!(
        s,
        "## Reconciling the sample month\n\n\
```\ncargo run --release -- reconcile --logs {out}/logs \\\n  --invoices {out}/invoices/{OPENROUTER_INVOICE} \\\n  \
--invoices {out}/invoices/{OMINIGATE_INVOICE} --out /tmp/sample-recon\n```\n\n\
(`--invoices {out}/invoices`, the directory, reads the same two files.) Expected: exit status 1, and \
`recon.csv` rows by gateway and status (`logged_usd`: the logs at list prices, unpriced calls left out; \
`invoiced_usd`: the invoice lines' sum):\n\n\
| provider | rows | ok | drift | token_mismatch | missing_in_invoice | missing_in_logs | unpriced | cost_mismatch | retired_model | logged_usd | invoiced_usd |\n\
|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    // recon.csv sorts providers by name: ominigate first.
    for p in [gateways[1], gateways[0]] {
        let n = |st: &str| inv.count(p, st);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.name(),
            inv.expected
                .iter()
                .filter(|((_, q, _), _)| *q == p.name())
                .count(),
            n("ok"),
            n("drift"),
            n("token_mismatch"),
            n("missing_in_invoice"),
            n("missing_in_logs"),
            n("unpriced"),
            n("cost_mismatch"),
            n("retired_model"),
            logged(p),
            billed(p),
        );
    }
    // invoiced − logged, by where it comes from.
    s.push_str("\nThe difference invoiced − logged, by cause:\n\n");
    for p in [gateways[1], gateways[0]] {
        let mut parts: BTreeMap<&str, Decimal> = BTreeMap::new();
        for (k, st) in inv.expected.iter().filter(|((_, q, _), _)| *q == p.name()) {
            let cost = inv
                .usage
                .get(k)
                .map_or(Decimal::ZERO, |u| u.cost - u.byok_cost);
            let amount = inv
                .lines
                .iter()
                .find(|l| (l.day, l.provider, l.model) == *k)
                .map_or(Decimal::ZERO, |l| l.amount);
            let cause = match *st {
                "token_mismatch" => "the double-counted day",
                "missing_in_invoice" => "the missing day",
                "missing_in_logs" => "the model the logs never called",
                "unpriced" => "`google/gemini-3.1-pro`, invoiced but unpriced in the logs",
                _ => "cent rounding of the other lines",
            };
            *parts.entry(cause).or_default() += amount - cost;
        }
        let total: Decimal = parts.values().sum();
        let mut list = String::new();
        // Largest first; signs as words so the sum reads.
        let mut parts: Vec<(&str, Decimal)> = parts.into_iter().collect();
        parts.sort_by(|a, b| b.1.abs().cmp(&a.1.abs()).then(a.0.cmp(b.0)));
        for (i, (cause, d)) in parts.iter().enumerate() {
            let sign = match (i, d.is_sign_negative()) {
                (0, false) => "",
                (0, true) => "−",
                (_, false) => " + ",
                (_, true) => " − ",
            };
            let _ = write!(list, "{sign}{} ({cause})", d.abs().round_dp(2));
        }
        let _ = writeln!(
            s,
            "- {}: USD {}{} = {list}",
            p.name(),
            if total.is_sign_negative() { "−" } else { "" },
            total.abs().round_dp(2)
        );
    }
    s.push('\n');
    s.push_str(FINDINGS_NOTE);
    s.push('\n');
    s.push_str(TOPUPS_NOTE);
}

/// What `findings.csv` holds for the sample month, as observed (see the README).
const FINDINGS_NOTE: &str = "On stderr `reconcile` prints the per-file counts (the 7 planted bad log rows rejected, both invoice files \
read whole: every line used, none rejected), the two `UNPRICED` lines for `google/gemini-3.1-pro`, and one \
line per gateway with the logged and invoiced totals and the flagged rows by status. `findings.csv` is \
empty (its header only): no request id is logged twice, every `total_tokens` equals prompt + completion, \
every `response_model` is the model asked for, and the `cost` OpenRouter records report agrees with the rate \
table (`reconcile` compares it over the 2xx calls that are not BYOK, since a BYOK call reports `0`, \
OpenRouter billing it only its BYOK fee, free within the monthly allowance), and every day of the month \
has log records. The exit status is 1 because of the flagged rows and the rejected log rows.
";

/// The month's credit purchases: card, crypto and invoice top-ups on both gateways with the fee
/// each charged, one of them wrong (2026-04-22: 18.00 charged where 5.5 % of 300 is 16.50).
const TOPUPS: &str = "date,provider,amount_usd,method,fee_usd
2026-04-01,openrouter,500.00,card,27.50
2026-04-08,ominigate,800.00,invoice,0.00
2026-04-10,openrouter,500.00,card,27.50
2026-04-12,openrouter,10.00,card,0.80
2026-04-15,openrouter,1000.00,crypto,50.00
2026-04-20,ominigate,200.00,card,0.00
2026-04-22,openrouter,300.00,card,18.00
2026-04-29T23:30:00Z,openrouter,14.55,card,0.80
";

const TOPUPS_NOTE: &str = "## Top-ups\n\n\
`topups/ledger-2026-04.csv` is the month's credit purchases (`date,provider,amount_usd,method,fee_usd`): \
OpenRouter card top-ups of 500, 500, 10 (the USD 0.80 minimum applies), 300 and 14.55 (5.5 % = 0.80025, \
rounded to the minimum), a crypto top-up of 1000 (5 % = 50.00), and OminiGate top-ups by invoice and card \
(no fee). One fee is wrong: on 2026-04-22 OpenRouter charged 18.00 on 300, where 5.5 % is 16.50. \
`spendrecon fees --topups sample-data/topups/ledger-2026-04.csv --logs sample-data/logs` flags exactly that \
row (`topup_card` of April, `fee_mismatch`; charged 74.60, expected 73.10) and exits 1 (the logs' planted bad \
rows count too); every other row is `ok`, the BYOK row included (10,646 BYOK calls, far below the free \
1,000,000 a month, each reporting a cost of 0).\n";

fn write_topups(out: &Path) -> Result<(), String> {
    let dir = out.join("topups");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("ledger-2026-04.csv");
    fs::write(&path, TOPUPS).map_err(|e| format!("{}: {e}", path.display()))
}

fn main() {
    let result = parse_args().and_then(|a| run(&a));
    if let Err(e) = result {
        eprintln!("gen_sample: {e}");
        std::process::exit(2);
    }
}
