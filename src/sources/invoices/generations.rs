//! OpenRouter generation records as a bill (docs/formats.md §3): what
//! `GET /api/v1/generation?id=…` returns, `{"data": {…}}` or the data object alone, one JSON
//! object a line (`.jsonl`, `.json`, either optionally gzip-compressed). A file is taken for one by
//! its content, not its name: among its first [`SNIFF_LINES`] non-blank lines, one is a JSON
//! object whose object (or `data` object) has `id`, `total_cost` and `created_at`.
//!
//! Each record is one billed generation, read as an activity-export row is: `id` is the
//! `generation_id`, tokens are the counts OpenRouter bills (`native_tokens_prompt`,
//! `native_tokens_completion`, `native_tokens_cached`; the normalised `tokens_prompt` /
//! `tokens_completion` are not read), the amount is `total_cost` (its JSON text, exactly, never
//! through a float), the day is `created_at`'s in `--tz`. `is_byok`, `upstream_inference_cost`
//! and `cancelled` are not read: as in the activity export, `total_cost` is what OpenRouter
//! bills (a BYOK generation's OpenRouter fee; its upstream cost is paid with the customer's own
//! key), and a cancelled generation is billed for what was generated.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use chrono::TimeZone;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::shapes::Parsed;
use super::{NameKind, Namer};
use crate::domain::Day;
use crate::sources::sheet::{amount, instant_text, tokens, Cell, RowError};
use crate::sources::{file_error, mask_secrets, InputError, Rejection, MAX_RECORD_BYTES};

/// The column an amount overflow is reported in.
pub(super) const AMOUNT: &str = "total_cost";

/// How many non-blank lines are looked at to recognise a file (as a header is searched for).
const SNIFF_LINES: usize = 20;

/// The fields read; every other key of the record is ignored.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Record<'a> {
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    created_at: Option<&'a RawValue>,
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    total_cost: Option<&'a RawValue>,
    #[serde(borrow)]
    native_tokens_prompt: Option<&'a RawValue>,
    #[serde(borrow)]
    native_tokens_completion: Option<&'a RawValue>,
    #[serde(borrow)]
    native_tokens_cached: Option<&'a RawValue>,
}

impl<'a> Record<'a> {
    /// The record on one line: the `data` object when the line holds one, else the line.
    fn of(line: &'a [u8]) -> Result<Record<'a>, String> {
        let outer: Record = serde_json::from_slice(line).map_err(json_error)?;
        match outer.data {
            Some(d) if d.get().starts_with('{') => {
                serde_json::from_str(d.get()).map_err(|e| format!("in `data`: {}", json_error(e)))
            }
            _ => Ok(outer),
        }
    }

    fn recognised(&self) -> bool {
        self.id.is_some() && self.total_cost.is_some() && self.created_at.is_some()
    }
}

fn json_error(e: serde_json::Error) -> String {
    let what = if e.is_eof() {
        "line is cut short"
    } else if e.is_data() {
        "not a generation record"
    } else {
        "not a valid JSON object"
    };
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    format!("{what}: {msg} (at character {})", e.column())
}

/// A JSON value as a cell: a number keeps its text (read exactly), a string its content;
/// `null` is absent.
fn cell(v: Option<&RawValue>, name: &'static str) -> Result<Option<Cell>, RowError> {
    let Some(v) = v else { return Ok(None) };
    let t = v.get();
    let bad = |what: &str| RowError {
        column: Some(name),
        reason: format!("`{name}` is {what}"),
    };
    match t.as_bytes().first() {
        Some(b'n') => Ok(None),
        Some(b'"') => {
            let s: String = serde_json::from_str(t).map_err(|_| bad("not a valid string"))?;
            Ok(Some(Cell::text(&s)).filter(|c| *c != Cell::Empty))
        }
        Some(b'-' | b'0'..=b'9') => Ok(Some(Cell::Text(t.to_string()))),
        Some(b't' | b'f') => Err(bad("a boolean")),
        _ => Err(bad("an object or a list")),
    }
}

fn required(v: Option<&RawValue>, name: &'static str) -> Result<Cell, RowError> {
    cell(v, name)?.ok_or_else(|| RowError {
        column: Some(name),
        reason: format!("missing required field `{name}`"),
    })
}

/// A JSON string field.
fn string(v: Option<&RawValue>, name: &'static str) -> Result<String, RowError> {
    match required(v, name)? {
        Cell::Text(s) if v.is_some_and(|v| v.get().starts_with('"')) => Ok(s),
        _ => Err(RowError {
            column: Some(name),
            reason: format!("`{name}` is not a string"),
        }),
    }
}

/// One line of a generation-records file as a billed generation.
pub(super) fn parse(
    line: &[u8],
    tz: Option<chrono_tz::Tz>,
    namer: &mut Namer<'_>,
) -> Result<Parsed, RowError> {
    let r = Record::of(line).map_err(|reason| RowError {
        column: None,
        reason,
    })?;
    let field = RowError::field;
    let id = string(r.id, "id")?;
    let created = string(r.created_at, "created_at")?;
    let at = instant_text(&created).map_err(field("created_at"))?;
    let date = match tz {
        None => at.date(),
        Some(tz) => tz.from_utc_datetime(&at).date_naive(),
    };
    let model = string(r.model, "model")?;
    let count = |v, name| tokens(&required(v, name)?).map_err(field(name));
    let prompt = count(r.native_tokens_prompt, "native_tokens_prompt")?;
    let completion = count(r.native_tokens_completion, "native_tokens_completion")?;
    let cached = match cell(r.native_tokens_cached, "native_tokens_cached")? {
        Some(c) => tokens(&c).map_err(field("native_tokens_cached"))?,
        None => 0,
    };
    if cached > prompt {
        return Err(RowError {
            column: Some("native_tokens_cached"),
            reason: format!(
                "native_tokens_cached ({cached}) exceed native_tokens_prompt ({prompt})"
            ),
        });
    }
    let amount = amount(&required(r.total_cost, AMOUNT)?).map_err(field(AMOUNT))?;
    // The public slug, as the logs name the model: resolved, else kept as written.
    let name = namer.name(NameKind::Daily, "openrouter", &model);
    Ok(Parsed {
        prompt,
        completion,
        cached: Some(cached),
        requests: Some(1),
        amount,
        generation_id: Some(id),
        at_ms: Some(at.and_utc().timestamp_millis()),
        tokens_known: true,
        amount_known: true,
        ..Parsed::named(Day::from_date(date), "openrouter", &model, name)
    })
}

/// A rejected line: file, line, field and reason, the line's text cut and masked.
pub(super) fn rejection(file: &str, line: u64, raw: &[u8], e: RowError) -> Rejection {
    let text = String::from_utf8_lossy(&raw[..raw.len().min(400)]);
    let mut shown = mask_secrets(&text);
    if shown.chars().count() > 200 {
        shown = shown.chars().take(200).collect::<String>() + "...";
    }
    Rejection {
        file: file.to_string(),
        line,
        column: e.column,
        reason: mask_secrets(&e.reason),
        raw: shown,
    }
}

/// A directory's file taken as JSON lines: `.jsonl`, `.json`, either with `.gz`.
pub(super) fn json_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    name.ends_with(".jsonl") || name.ends_with(".json")
}

/// The file's text, gunzipped when it starts with gzip's magic bytes.
fn open(path: &Path) -> Result<Box<dyn BufRead>, InputError> {
    let mut f =
        BufReader::with_capacity(1 << 16, File::open(path).map_err(|e| file_error(path, e))?);
    let gz = f
        .fill_buf()
        .map_err(|e| file_error(path, e))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(f),
        ))
    } else {
        Box::new(f)
    })
}

/// Calls `each` with every non-blank line (1-based number, text without its line end, a
/// UTF-8 byte-order mark cut from the first) until it returns `false`.
fn lines(
    path: &Path,
    mut r: Box<dyn BufRead>,
    mut each: impl FnMut(u64, &[u8]) -> bool,
) -> Result<(), InputError> {
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        let got = (&mut r)
            .take(MAX_RECORD_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| file_error(path, format!("line {}: {e}", n + 1)))?;
        if got == 0 {
            return Ok(());
        }
        n += 1;
        if buf.len() > MAX_RECORD_BYTES {
            return Err(file_error(
                path,
                format!("line {n} is longer than 64 MiB: not a file of generation records"),
            ));
        }
        let mut line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        if n == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if !each(n, line) {
            return Ok(());
        }
    }
}

/// Whether the file holds generation records (module doc). A file whose first non-blank
/// line is a JSON object but none of whose first lines is a generation record is an error:
/// JSON lines of another kind are no bill.
pub(super) fn is_records(path: &Path) -> Result<bool, InputError> {
    let (mut seen, mut json, mut found) = (0, false, false);
    // A file that cannot be opened is an error whatever it holds.
    let r = open(path)?;
    lines(path, r, |_, line| {
        seen += 1;
        if seen == 1 {
            json = line.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            if !json {
                return false;
            }
        }
        found = Record::of(line).is_ok_and(|r| r.recognised());
        !found && seen < SNIFF_LINES
    })
    // Not JSON: the spreadsheet reader says what is wrong with it.
    .or_else(|e| if json { Err(e) } else { Ok(()) })?;
    if json && !found {
        return Err(file_error(
            path,
            format!(
                "JSON lines, but none of the first {SNIFF_LINES} is an OpenRouter generation \
                 record (an object, or a `data` object, with `id`, `total_cost` and `created_at`)"
            ),
        ));
    }
    Ok(found)
}

/// Hands every non-blank line of a generation-records file to `each` with its number.
pub(super) fn read(path: &Path, mut each: impl FnMut(u64, &[u8])) -> Result<(), InputError> {
    lines(path, open(path)?, |n, line| {
        each(n, line);
        true
    })
}
