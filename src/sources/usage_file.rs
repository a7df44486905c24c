//! Usage files (`--usage FILE`, docs/engines.md): the usage groups an engine computed from the
//! logs where they live, or `daily --usage-out` wrote. CSV with a header row, optionally gzip.
//!
//! A usage file is machine-written, so a row that does not read is an error that stops the run
//! (exit 2, with file and line): a file with one bad row is not to be trusted for the others.
//! Rows with the same key are summed (shards, days and engines merge by concatenation).
//!
//! After the columns of version 1 a file may carry one group column, named after the `--by`
//! field it was cut by (`tenant`, `api_key`): a run with `--by` that field keeps it as a key, a
//! run without `--by` sums over it, and a run with `--by` another field (or a file without the
//! column) is refused.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::digest::{self, FileDigest};
use super::schema::mapping::valid_group_name;
use super::{file_error, FileStats, InputError};
use crate::domain::{Day, Period, UsageGroup};

/// The columns of version 1, in order.
pub const COLUMNS: [&str; 20] = [
    "format",
    "rates_fingerprint",
    "tz",
    "day",
    "utc_day",
    "provider",
    "model",
    "byok",
    "band",
    "past_allowance",
    "calls",
    "failed_calls",
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "reported_calls",
    "reported_cost_nanos",
];

/// What the usage files hold, merged.
#[derive(Debug, Default)]
pub(crate) struct UsageRead {
    /// Summed by key, sorted by it.
    pub groups: Vec<UsageGroup>,
    /// The cut every row carries (checked equal across rows and files); `None` without rows.
    pub cut: Option<FileCut>,
    pub files: Vec<FileStats>,
    pub digests: Vec<FileDigest>,
}

/// The `rates_fingerprint` and `tz` of a usage file's rows, and the first file that gave them.
#[derive(Debug, Clone)]
pub(crate) struct FileCut {
    pub fingerprint: String,
    pub tz: String,
    pub file: PathBuf,
}

type Key = (Day, Day, String, String, bool, u8, bool, Option<String>);

/// Reads and merges the usage files. `format` is the version this build reads; `by` the group
/// column the run keeps (`--by`).
pub(crate) fn read_usage(
    paths: &[PathBuf],
    format: &str,
    period: Period,
    by: Option<&str>,
) -> Result<UsageRead, InputError> {
    let mut merged: BTreeMap<Key, UsageGroup> = BTreeMap::new();
    let mut out = UsageRead::default();
    let how = Reading { format, period, by };
    for path in paths {
        let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
        read_one(path, bytes, true, &how, &mut out, &mut merged)?;
    }
    out.groups = merged.into_values().collect();
    Ok(out)
}

/// How the rows are read: the version this build reads, the period, the group column kept.
struct Reading<'a> {
    format: &'a str,
    period: Period,
    by: Option<&'a str>,
}

/// The usage groups a database computed (`--in-database`): its query's CSV result, named
/// `name` (the source's shown URL) in messages and files.csv.
pub(crate) fn read_usage_bytes(
    name: &str,
    bytes: Vec<u8>,
    format: &str,
    period: Period,
    by: Option<&str>,
) -> Result<UsageRead, InputError> {
    let mut merged: BTreeMap<Key, UsageGroup> = BTreeMap::new();
    let mut out = UsageRead::default();
    let how = Reading { format, period, by };
    read_one(Path::new(name), bytes, false, &how, &mut out, &mut merged)?;
    out.groups = merged.into_values().collect();
    Ok(out)
}

/// One file's (or query result's) rows into `merged`; `is_file` says whether the name's
/// extension tells gzip or Parquet.
fn read_one(
    path: &Path,
    bytes: Vec<u8>,
    is_file: bool,
    how: &Reading<'_>,
    out: &mut UsageRead,
    merged: &mut BTreeMap<Key, UsageGroup>,
) -> Result<(), InputError> {
    {
        out.digests
            .push(digest::hash_bytes(&path.display().to_string(), &bytes));
        let ext = |x: &str| is_file && path.extension().is_some_and(|e| e == x);
        let text = if ext("gz") {
            let mut s = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut s)
                .map_err(|e| file_error(path, format!("not readable gzip: {e}")))?;
            s
        } else {
            bytes
        };
        if ext("parquet") {
            return Err(file_error(
                path,
                "Parquet usage files are not read yet: save the query's result as CSV",
            ));
        }
        let (rows, out_of_range) = read_csv(
            path,
            &text,
            how.format,
            how.period,
            how.by,
            &mut out.cut,
            merged,
        )?;
        out.files.push(FileStats {
            file: path.display().to_string(),
            read: rows,
            used: rows - out_of_range,
            out_of_range,
            ..Default::default()
        });
    }
    Ok(())
}

fn read_csv(
    path: &Path,
    text: &[u8],
    format: &str,
    period: Period,
    by: Option<&str>,
    cut: &mut Option<FileCut>,
    merged: &mut BTreeMap<Key, UsageGroup>,
) -> Result<(u64, u64), InputError> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text);
    let header = r
        .headers()
        .map_err(|e| file_error(path, format!("not a CSV usage file: {e}")))?
        .clone();
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let group = match names.split_at_checked(COLUMNS.len()) {
        Some((head, [])) if head == COLUMNS => None,
        Some((head, [g])) if head == COLUMNS && valid_group_name(g) => Some(g.as_str()),
        _ => {
            return Err(file_error(
                path,
                format!(
                    "not a usage file: the header must be {}, then optionally one group column (e.g. tenant) (got {})",
                    COLUMNS.join(","),
                    names.join(",")
                ),
            ))
        }
    };
    let keep = match (by, group) {
        (None, _) => false,
        (Some(b), Some(g)) if g.eq_ignore_ascii_case(b) => true,
        (Some(b), g) => {
            return Err(file_error(
                path,
                format!(
                    "--by {b}: {}; cut them by {b} (`spendrecon sql --by {b}`, or `daily --usage-out FILE --by {b}`), or run without --by",
                    match g {
                        None => "the usage groups carry no group column".to_string(),
                        Some(g) => format!("the usage groups were cut by `{g}`, not `{b}`"),
                    }
                ),
            ))
        }
    };
    let (mut rows, mut out_of_range) = (0u64, 0u64);
    for rec in r.records() {
        let rec = rec.map_err(|e| file_error(path, format!("not readable CSV: {e}")))?;
        let line = rec.position().map_or(0, |p| p.line());
        let at = |m: String| file_error(path, format!("line {line}: {m}"));
        let cell = |i: usize| rec.get(i).unwrap_or("").trim();
        rows += 1;
        if cell(0) != format {
            return Err(at(format!(
                "format `{}`: this build reads `{format}` usage files",
                cell(0)
            )));
        }
        match cut {
            None => {
                *cut = Some(FileCut {
                    fingerprint: cell(1).to_string(),
                    tz: cell(2).to_string(),
                    file: path.to_path_buf(),
                })
            }
            Some(c) if c.fingerprint != cell(1) || c.tz != cell(2) => {
                return Err(at(format!(
                    "cut with rates_fingerprint {} in zone {} where {} has {} in {}: files cut with different rate tables, fee policies or zones do not merge; cut them again alike (spendrecon sql)",
                    cell(1),
                    cell(2),
                    c.file.display(),
                    c.fingerprint,
                    c.tz
                )))
            }
            Some(_) => {}
        }
        let day = |i: usize| {
            Day::parse(cell(i)).ok_or_else(|| {
                at(format!(
                    "{}: `{}` is not a YYYY-MM-DD day",
                    COLUMNS[i],
                    cell(i)
                ))
            })
        };
        let flag = |i: usize| match cell(i).to_ascii_lowercase().as_str() {
            "true" | "1" | "t" => Ok(true),
            "false" | "0" | "f" => Ok(false),
            v => Err(at(format!("{}: `{v}` is not true or false", COLUMNS[i]))),
        };
        let int = |i: usize| {
            cell(i).parse::<u128>().map_err(|_| {
                at(format!(
                    "{}: `{}` is not a whole number ≥ 0",
                    COLUMNS[i],
                    cell(i)
                ))
            })
        };
        let small = |i: usize| -> Result<u64, InputError> {
            u64::try_from(int(i)?).map_err(|_| at(format!("{}: too large", COLUMNS[i])))
        };
        let text = |i: usize| {
            let v = cell(i);
            if v.is_empty() {
                Err(at(format!("{}: empty", COLUMNS[i])))
            } else {
                Ok(v.to_string())
            }
        };
        let g = UsageGroup {
            day: day(3)?,
            utc_day: day(4)?,
            provider: text(5)?,
            model: text(6)?,
            byok: flag(7)?,
            band: u8::try_from(small(8)?).map_err(|_| at("band: too large".into()))?,
            past_allowance: flag(9)?,
            calls: small(10)?,
            failed_calls: small(11)?,
            prompt_tokens: int(12)?,
            cached_tokens: int(13)?,
            cache_write_tokens: int(14)?,
            cache_write_1h_tokens: int(15)?,
            completion_tokens: int(16)?,
            reasoning_tokens: int(17)?,
            reported_calls: small(18)?,
            reported_cost_nanos: cell(19).parse::<i128>().map_err(|_| {
                at(format!(
                    "reported_cost_nanos: `{}` is not a whole number",
                    cell(19)
                ))
            })?,
            // An empty cell: calls without a value (`(none)`).
            tenant: match keep {
                true => Some(rec.get(20).unwrap_or(""))
                    .filter(|t| !t.trim().is_empty())
                    .map(str::to_string),
                false => None,
            },
        };
        if g.reported_calls > g.calls {
            return Err(at("reported_calls exceeds calls".into()));
        }
        if g.cached_tokens + g.cache_write_tokens > g.prompt_tokens
            || g.cache_write_1h_tokens > g.cache_write_tokens
        {
            return Err(at(
                "the token sums do not add up: cached + cache-write tokens must be part of prompt tokens, one-hour writes part of cache writes".into(),
            ));
        }
        if g.provider.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(at(format!("provider `{}` is not lower-case", g.provider)));
        }
        if !period.contains(g.day) {
            out_of_range += 1;
            continue;
        }
        let key = (
            g.day,
            g.utc_day,
            g.provider.clone(),
            g.model.clone(),
            g.byok,
            g.band,
            g.past_allowance,
            g.tenant.clone(),
        );
        match merged.get_mut(&key) {
            Some(e) => add(e, &g),
            None => {
                merged.insert(key, g);
            }
        }
    }
    Ok((rows, out_of_range))
}

fn add(e: &mut UsageGroup, g: &UsageGroup) {
    e.calls += g.calls;
    e.failed_calls += g.failed_calls;
    e.prompt_tokens += g.prompt_tokens;
    e.cached_tokens += g.cached_tokens;
    e.cache_write_tokens += g.cache_write_tokens;
    e.cache_write_1h_tokens += g.cache_write_1h_tokens;
    e.completion_tokens += g.completion_tokens;
    e.reasoning_tokens += g.reasoning_tokens;
    e.reported_calls += g.reported_calls;
    e.reported_cost_nanos += g.reported_cost_nanos;
}
