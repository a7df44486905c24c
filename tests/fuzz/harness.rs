//! The bodies of the fuzz targets in `fuzz_targets/`, one function per target. They live here so
//! that `tests/cli/fuzz_regressions.rs` runs the very same checks on stable over the committed seed
//! corpus and crash inputs. Any input may be rejected (`Err`, a rejected row); a panic or a
//! failed assertion is a bug.

use std::path::Path;
use std::sync::OnceLock;

use spendrecon::domain::{Money, Tier, TokenSums, TopupMethod};
use spendrecon::fees::policy::FeeBook;
use spendrecon::pricing::aliases::ModelNames;
use spendrecon::pricing::slugs::SlugMap;
use spendrecon::pricing::{cost, RateTable};
use spendrecon::sources::delimited::{parse_plain_line, parse_record, CsvLayout};
use spendrecon::sources::invoices::{read_invoice_csv_bytes, InvoiceRead};
use spendrecon::sources::jsonl::{parse_line, parse_line_serde};
use spendrecon::sources::record::FieldSet;

/// The header of `tests/fixtures/daily/logs.csv`.
const FIXTURE_HEADER: &str = "ts,provider,model,prompt_tokens,completion_tokens,cached_tokens,cache_write_tokens,status,input_tokens,output_tokens,cache_read_input_tokens,cache_creation_input_tokens,request_id";

/// Every contract field, with a dotted `usage.*` twin or an alias next to some of them.
const WIDE_HEADER: &str = "timestamp,provider,model,usage.prompt_tokens,prompt_tokens,completion_tokens,total_tokens,usage.prompt_tokens_details.cached_tokens,cache_write_tokens,usage.cache_creation.ephemeral_1h_input_tokens,reasoning_tokens,usage.input_tokens,output_tokens,cache_read_input_tokens,cache_creation_input_tokens,request_id,status,latency_ms,usage.is_byok,shadow,shadow_of,tenant,response_model,usage.cost,junk";

fn layouts() -> &'static [CsvLayout; 2] {
    static L: OnceLock<[CsvLayout; 2]> = OnceLock::new();
    L.get_or_init(|| {
        let layout = |h: &str| {
            let names: Vec<&str> = h.split(',').collect();
            CsvLayout::from_header(&names, 1, FieldSet::ALL).expect("a valid header")
        };
        [layout(FIXTURE_HEADER), layout(WIDE_HEADER)]
    })
}

fn builtin_names() -> &'static ModelNames {
    static S: OnceLock<ModelNames> = OnceLock::new();
    S.get_or_init(ModelNames::builtin)
}

/// `log_line`: the bytes as one JSON line and as CSV log lines.
///
/// - JSON: `parse_line` (the fast scanner, falling back to serde_json when it declines) must give
///   exactly what `parse_line_serde` gives: the same call, or the same error.
/// - CSV: every line goes through `parse_plain_line` (the path for chunks without quotes); a line
///   without `"` and `\r` must give the same result there as through the csv crate and
///   `parse_record` (the path for chunks with quotes); and the whole input goes through the csv
///   crate as the reader does.
pub fn log_line(data: &[u8]) {
    let fast = format!("{:?}", parse_line(data, FieldSet::ALL));
    let serde = format!("{:?}", parse_line_serde(data, FieldSet::ALL));
    assert_eq!(
        fast,
        serde,
        "fast scanner and serde_json disagree on {:?}",
        String::from_utf8_lossy(data)
    );

    for layout in layouts() {
        for line in data.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let plain = format!("{:?}", parse_plain_line(layout, line));
            // A line that is one BOM is no record to the csv crate, which drops a BOM at the
            // start of its input (noted in the README: not compared).
            let bom_only = line == b"\xEF\xBB\xBF";
            if !line.contains(&b'"') && !line.contains(&b'\r') && !bom_only {
                let mut rdr = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(line);
                let mut rec = csv::ByteRecord::new();
                let got = rdr.read_byte_record(&mut rec);
                assert!(
                    matches!(got, Ok(true)),
                    "the csv crate reads no record from a plain line"
                );
                let record = format!("{:?}", parse_record(layout, &rec));
                assert_eq!(
                    plain,
                    record,
                    "plain and csv paths disagree on {:?}",
                    String::from_utf8_lossy(line)
                );
            }
        }
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(data);
        let mut rec = csv::ByteRecord::new();
        while let Ok(true) = rdr.read_byte_record(&mut rec) {
            let _ = parse_record(layout, &rec);
        }
    }
}

/// `invoice_csv`: the bytes as an invoice CSV file, with the shipped slug map, in UTC and in a
/// zone with a half-hour offset. Any `Ok`/`Err`; every row is accounted for and every summed
/// line is consistent.
pub fn invoice_csv(data: &[u8]) {
    let utc = read_invoice_csv_bytes("x.csv", data, None, builtin_names());
    let kolkata = read_invoice_csv_bytes(
        "x.csv",
        data,
        Some(chrono_tz::Asia::Kolkata),
        builtin_names(),
    );
    match (&utc, &kolkata) {
        (Ok(a), Ok(b)) => {
            check_invoices(a);
            check_invoices(b);
            // The zone moves days, never rows.
            assert_eq!(a.files[0].read, b.files[0].read);
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("the zone decided whether the file is readable: {utc:?} vs {kolkata:?}"),
    }
}

fn check_invoices(r: &InvoiceRead) {
    assert_eq!(r.files.len(), 1);
    let f = &r.files[0];
    assert_eq!(
        f.read,
        f.used + f.skipped + f.rejected,
        "read = used + skipped + rejected: {f:?}"
    );
    assert_eq!(f.out_of_range, 0);
    assert_eq!(r.rejections.len() as u64, f.rejected);
    for rej in &r.rejections {
        assert!(rej.line >= 1, "{rej:?}");
        assert!(!rej.reason.is_empty(), "{rej:?}");
    }
    assert!(r.rejections.windows(2).all(|w| w[0].line <= w[1].line));
    if f.used == 0 {
        assert!(r.lines.is_empty());
    }
    assert!(r.lines.len() as u64 <= f.used);
    for w in r.lines.windows(2) {
        let key = |l: &spendrecon::sources::invoices::InvoiceLine| {
            (l.day, l.provider.clone(), l.model.clone(), l.grain)
        };
        assert!(key(&w[0]) < key(&w[1]), "lines sorted and summed per key");
    }
    for l in &r.lines {
        assert!(!l.amount_usd.is_sign_negative() || l.amount_usd.is_zero());
        assert!(
            l.cached_tokens.unwrap_or(0) + l.cache_write_tokens.unwrap_or(0) <= l.prompt_tokens,
            "{l:?}"
        );
        assert!(!l.provider.is_empty() && !l.model.is_empty(), "{l:?}");
    }
}

/// A call of ordinary size and sums far past any real month, both priced at every row.
const SUMS: [TokenSums; 3] = [
    TokenSums {
        uncached_input: 1_200_000,
        cached: 300_000,
        cache_write_5m: 50_000,
        cache_write_1h: 20_000,
        completion: 400_000,
    },
    TokenSums {
        uncached_input: u64::MAX as u128,
        cached: u64::MAX as u128,
        cache_write_5m: u64::MAX as u128,
        cache_write_1h: u64::MAX as u128,
        completion: u64::MAX as u128,
    },
    TokenSums {
        uncached_input: u128::MAX,
        cached: u128::MAX,
        cache_write_5m: u128::MAX,
        cache_write_1h: u128::MAX,
        completion: u128::MAX,
    },
];

/// `rate_table`: the bytes as `models.csv`, `slugs.csv`, `aliases.csv` and (when UTF-8)
/// `fees.toml`; each line as a model name to resolve. A table
/// that loads must price every row without panicking (overflow saturates), find each row on its
/// first day, and a fee book must charge every top-up without panicking.
pub fn rate_table(data: &[u8]) {
    if let Ok(table) = RateTable::parse(Path::new("models.csv"), data) {
        for (i, r) in table.rates().iter().enumerate() {
            assert!(r.effective_to.is_none_or(|to| to >= r.effective_from));
            assert_eq!(
                table.lookup(&r.provider, &r.model, r.effective_from),
                Some(i),
                "row {i} is the one in force on its first day"
            );
            for tier in [Tier::Standard, Tier::LongContext] {
                assert_eq!(cost(r, tier, &TokenSums::default()), Money::ZERO);
                let mut last = Money::ZERO;
                for sums in &SUMS {
                    let c = cost(r, tier, sums);
                    assert!(c >= last, "cost grows with tokens: {c} < {last} at {r:?}");
                    last = c;
                }
            }
            let _ = r.tier_for(u64::MAX);
        }
    }

    if let Ok(map) = SlugMap::parse(Path::new("slugs.csv"), data) {
        for row in map.rows() {
            let _ = map.retirement(&row.from_provider, &row.from_model);
            let _ = map.counterpart(&row.from_provider, &row.from_model, &row.to_provider);
            let _ = map.counterpart(&row.to_provider, &row.to_model, &row.from_provider);
        }
    }
    static SHIPPED: OnceLock<(RateTable, SlugMap)> = OnceLock::new();
    let (rates, slugs) = SHIPPED.get_or_init(|| (RateTable::builtin(), SlugMap::builtin()));
    if let Ok(names) = ModelNames::parse(Path::new("aliases.csv"), data, rates, slugs) {
        for row in names.rows() {
            if let Some(s) = names.resolve("openrouter", &row.alias).slug {
                assert!(
                    names.knows(&s),
                    "{:?} → {s:?}, a slug no table knows",
                    row.alias
                );
            }
        }
    }
    // The resolver and the permaslug prefix rule on every line as a name.
    let names = builtin_names();
    for line in String::from_utf8_lossy(data).lines() {
        if let Some(s) = names.resolve("openrouter", line).slug {
            assert!(names.knows(&s), "{line:?} → {s:?}, a slug no table knows");
        }
        if let Some((s, _)) = names.permaslug(line) {
            assert!(s.contains('/') && !s.ends_with('/'), "{line:?} → {s:?}");
        }
    }

    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(book) = FeeBook::parse(Path::new("fees.toml"), text) {
            for p in book.policies() {
                let found = book.on(&p.provider, p.effective_from);
                assert_eq!(found, Some(p), "a policy is in force on its first day");
                for method in TopupMethod::ALL {
                    for amount in [
                        Money::ZERO,
                        Money::new(1, 2),
                        Money::from(1000),
                        Money::from(1_000_000_000_000i64),
                        Money::MAX,
                    ] {
                        let fee = p.topup(method).on(amount);
                        assert!(!fee.is_sign_negative() || fee.is_zero(), "{fee}");
                    }
                }
            }
        }
    }
}
