//! The invoice shapes (`SHAPES`, one per header the reader knows) and the parsing of one row of
//! each into a [`Parsed`] line at its grain, its model named through [`Namer`].

use chrono::TimeZone;

use super::{Grain, ALL_MODELS};
use super::{NameKind, Namer};
use crate::domain::{Day, Money, Month};
use crate::pricing::aliases::How;
use crate::sources::sheet::{
    self, amount, day, instant, text, tokens, Cell, Columns, Row, RowError, Shape,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ShapeKind {
    Daily,
    Activity,
    Aggregated,
    OpenAiCosts,
    OpenAiUsage,
    AnthropicUsage,
    AnthropicCost,
    MonthlyStatement,
}

pub(super) const SHAPES: [Shape<ShapeKind>; 8] = [
    Shape {
        kind: ShapeKind::Daily,
        title: "daily invoice lines",
        required: &[
            "date",
            "provider",
            "model",
            "prompt_tokens",
            "completion_tokens",
            "amount_usd",
        ],
        optional: &["cached_tokens", "cache_write_tokens", "requests"],
    },
    Shape {
        kind: ShapeKind::Activity,
        title: "OpenRouter activity export",
        required: &[
            "created_at",
            "cost_total",
            "tokens_prompt",
            "tokens_completion",
            "model_permaslug",
        ],
        optional: &["tokens_cached", "generation_id"],
    },
    Shape {
        kind: ShapeKind::Aggregated,
        title: "OpenRouter aggregated activity export",
        required: &[
            "date",
            "slug",
            "usage",
            "requests",
            "prompt tokens",
            "completion tokens",
        ],
        optional: &["byok usage", "reasoning tokens"],
    },
    Shape {
        kind: ShapeKind::OpenAiCosts,
        title: "OpenAI costs export",
        required: &["start_time", "amount_value", "line_item"],
        optional: &[
            "amount_currency",
            "start_time_iso",
            "end_time",
            "end_time_iso",
            "project_id",
        ],
    },
    Shape {
        kind: ShapeKind::OpenAiUsage,
        title: "OpenAI completions usage export",
        required: &["start_time", "model", "input_tokens", "output_tokens"],
        optional: &[
            "start_time_iso",
            "end_time",
            "end_time_iso",
            "num_model_requests",
            "input_cached_tokens",
        ],
    },
    Shape {
        kind: ShapeKind::AnthropicCost,
        title: "Anthropic cost export",
        required: &["usage_date_utc", "model", "cost_usd"],
        optional: &["token_type", "list_price_usd"],
    },
    Shape {
        kind: ShapeKind::AnthropicUsage,
        title: "Anthropic usage export",
        required: &[
            "usage_date_utc",
            "model_version",
            "usage_input_tokens_no_cache",
            "usage_output_tokens",
        ],
        optional: &[
            "usage_input_tokens_cache_write_5m",
            "usage_input_tokens_cache_write_1h",
            "usage_input_tokens_cache_read",
            "workspace",
            "api_key",
        ],
    },
    Shape {
        kind: ShapeKind::MonthlyStatement,
        title: "monthly statement",
        required: &["month", "provider", "amount_usd"],
        optional: &["invoice_id"],
    },
];

/// The columns that say which bucket an OpenAI export row is: an idle bucket fills only these.
const BUCKET_COLUMNS: [&str; 4] = ["start_time", "end_time", "start_time_iso", "end_time_iso"];

/// One parsed row, before summing. A day total or a month's statement has model [`ALL_MODELS`];
/// a month's `day` is its first day.
pub(super) struct Parsed {
    pub day: Day,
    pub provider: String,
    /// The name the line counts under: the slug the written name resolves to, else the name
    /// kept ([`Namer`]).
    pub model: String,
    /// The model as the row writes it, when it differs from `model`.
    pub written: Option<String>,
    pub grain: Grain,
    pub prompt: u128,
    pub completion: u128,
    pub cached: Option<u128>,
    pub cache_write: Option<u128>,
    pub requests: Option<u64>,
    pub amount: Money,
    pub generation_id: Option<String>,
    /// An activity export row's `created_at`, milliseconds since the Unix epoch (UTC).
    pub at_ms: Option<i64>,
    pub invoice_id: Option<String>,
    pub tokens_known: bool,
    pub amount_known: bool,
    /// How `model` resolved.
    pub how: How,
}

impl Parsed {
    /// A day × provider × model line; the shapes fill in the rest.
    fn line(day: Day, provider: &str, model: String) -> Parsed {
        Parsed {
            day,
            provider: provider.to_string(),
            model,
            written: None,
            grain: Grain::DayModel,
            prompt: 0,
            completion: 0,
            cached: None,
            cache_write: None,
            requests: None,
            amount: Money::ZERO,
            generation_id: None,
            at_ms: None,
            invoice_id: None,
            tokens_known: false,
            amount_known: false,
            how: How::Slug,
        }
    }

    /// A day × provider × model line of the model `written`, counted under `name` (what
    /// [`Namer::name`] gave it; none: the name as written).
    pub(super) fn named(
        day: Day,
        provider: &str,
        written: &str,
        name: Option<(String, How)>,
    ) -> Parsed {
        let (model, how) = name.unwrap_or_else(|| (written.to_string(), How::Unresolved));
        Parsed {
            written: (model != written).then(|| written.to_string()),
            how,
            ..Parsed::line(day, provider, model)
        }
    }
}

pub(super) fn amount_column(kind: ShapeKind) -> &'static str {
    match kind {
        ShapeKind::Daily => "amount_usd",
        ShapeKind::Activity => "cost_total",
        ShapeKind::Aggregated => "usage",
        ShapeKind::OpenAiCosts => "amount_value",
        ShapeKind::OpenAiUsage => "output_tokens",
        ShapeKind::AnthropicUsage => "usage_output_tokens",
        ShapeKind::AnthropicCost => "cost_usd",
        ShapeKind::MonthlyStatement => "amount_usd",
    }
}

/// An OpenAI export row of an idle bucket: every cell empty but the bucket's times (OpenAI
/// writes such a row for a day without usage, grouped or not).
fn idle(cols: &Columns<ShapeKind>, row: &Row) -> bool {
    let bucket: Vec<usize> = BUCKET_COLUMNS.iter().filter_map(|c| cols.pos(c)).collect();
    row.cells
        .iter()
        .enumerate()
        .all(|(i, c)| *c == Cell::Empty || bucket.contains(&i))
}

/// A statement's month: `2026-04`, or the month's first day (text, a date cell, an Excel
/// serial). Another day is refused rather than guessed: a statement dated on its last day and
/// one dated on the first of the next month would otherwise name different months.
fn month(c: &Cell) -> Result<Month, String> {
    if let Cell::Text(s) = c {
        if let Some(m) = Month::parse(s).filter(|_| s.len() == 7) {
            return Ok(m);
        }
    }
    let not_a_month = || {
        format!(
            "`{}` is not a month (YYYY-MM, or the month's first day)",
            c.shown()
        )
    };
    let d = day(c).map_err(|_| not_a_month())?;
    let m = Month::of(d);
    if m.first_day() != d {
        return Err(not_a_month());
    }
    Ok(m)
}

/// The UTC day of an OpenAI export's bucket: `start_time_iso` when the export has it (newer
/// ones), else `start_time` in Unix seconds.
fn openai_day(cols: &Columns<ShapeKind>, row: &Row) -> Result<Day, RowError> {
    match cols.optional(row, "start_time_iso") {
        Some(c) => day(c).map_err(RowError::field("start_time_iso")),
        None => epoch_day(cols.required(row, "start_time")?).map_err(RowError::field("start_time")),
    }
}

/// A day from a Unix time in seconds (OpenAI's `start_time`, a UTC bucket start).
fn epoch_day(c: &sheet::Cell) -> Result<Day, String> {
    let secs: i64 = match c {
        sheet::Cell::Int(i) => *i,
        sheet::Cell::Float(f) if f.fract() == 0.0 => *f as i64,
        other => other
            .shown()
            .trim()
            .parse()
            .map_err(|_| format!("`{}` is not a Unix time in seconds", other.shown()))?,
    };
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| Day::from_date(t.date_naive()))
        .ok_or_else(|| format!("`{secs}` is not a Unix time in seconds"))
}

/// An amount that may carry more decimals than an exact decimal holds (OpenAI writes up to 30):
/// exact when it fits, else rounded at the 28th significant digit, far below a cent.
fn long_amount(c: &sheet::Cell) -> Result<Money, String> {
    match amount(c) {
        Ok(m) => Ok(m),
        Err(e) => {
            let s = c.shown();
            let s = s.trim();
            let digits_only = s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            match s.parse::<Money>() {
                Ok(m) if digits_only => Ok(m),
                _ => Err(e),
            }
        }
    }
}

/// One row of the file, at its grain; `Ok(None)` for an idle export row (skipped and counted).
pub(super) fn parse_row(
    row: &Row,
    is_csv: bool,
    cols: &Columns<ShapeKind>,
    tz: Option<chrono_tz::Tz>,
    namer: &mut Namer<'_>,
) -> Result<Option<Parsed>, RowError> {
    cols.check_row(row, is_csv)?;
    let field = RowError::field;
    let required = |name: &'static str| cols.required(row, name);
    let optional = |name: &'static str| cols.optional(row, name);
    let required_tokens = |name: &'static str| tokens(required(name)?).map_err(field(name));
    let optional_tokens = |name: &'static str| {
        optional(name)
            .map(|c| tokens(c).map_err(field(name)))
            .transpose()
    };
    let optional_text = |name: &'static str| {
        optional(name)
            .map(|c| text(c).map_err(field(name)))
            .transpose()
    };
    let p = match cols.kind {
        ShapeKind::Daily => {
            let day = day(required("date")?).map_err(field("date"))?;
            let provider = text(required("provider")?)
                .map_err(field("provider"))?
                .to_ascii_lowercase();
            // No model (or `*`): the day's total for the provider, amounts and, where the line
            // gives them, tokens.
            let mut p = match optional_text("model")? {
                Some(m) if m != ALL_MODELS => {
                    let name = namer.name(NameKind::Daily, &provider, &m);
                    Parsed::named(day, &provider, &m, name)
                }
                _ => Parsed {
                    grain: Grain::Day,
                    ..Parsed::line(day, &provider, ALL_MODELS.into())
                },
            };
            p.tokens_known = p.grain == Grain::DayModel
                || optional("prompt_tokens").is_some()
                || optional("completion_tokens").is_some();
            if p.tokens_known {
                p.prompt = required_tokens("prompt_tokens")?;
                p.completion = required_tokens("completion_tokens")?;
            }
            p.cached = optional_tokens("cached_tokens")?;
            p.cache_write = optional_tokens("cache_write_tokens")?;
            p.requests = optional_tokens("requests")?.map(|n| n as u64);
            p.amount = amount(required("amount_usd")?).map_err(field("amount_usd"))?;
            p.amount_known = true;
            let (cached, cache_write) = (p.cached.unwrap_or(0), p.cache_write.unwrap_or(0));
            if cached + cache_write > p.prompt {
                return Err(RowError {
                    column: Some(if p.cached.is_some() {
                        "cached_tokens"
                    } else {
                        "cache_write_tokens"
                    }),
                    reason: format!(
                        "cached_tokens + cache_write_tokens ({cached} + {cache_write}) exceed prompt_tokens ({})",
                        p.prompt
                    ),
                });
            }
            p
        }
        ShapeKind::Activity => {
            let at = instant(required("created_at")?).map_err(field("created_at"))?;
            let date = match tz {
                None => at.date(),
                Some(tz) => tz.from_utc_datetime(&at).date_naive(),
            };
            let permaslug = text(required("model_permaslug")?).map_err(field("model_permaslug"))?;
            let name = namer
                .name(NameKind::Permaslug, "openrouter", &permaslug)
                .ok_or_else(|| RowError {
                    column: Some("model_permaslug"),
                    reason: format!(
                        "permaslug `{permaslug}` maps to no public slug (not in rates/aliases.csv, and not an author/model slug)"
                    ),
                })?;
            let prompt = required_tokens("tokens_prompt")?;
            let completion = required_tokens("tokens_completion")?;
            let cached = optional_tokens("tokens_cached")?.unwrap_or(0);
            if cached > prompt {
                return Err(RowError {
                    column: Some("tokens_cached"),
                    reason: format!("tokens_cached ({cached}) exceed tokens_prompt ({prompt})"),
                });
            }
            Parsed {
                prompt,
                completion,
                cached: Some(cached),
                requests: Some(1),
                amount: amount(required("cost_total")?).map_err(field("cost_total"))?,
                generation_id: optional("generation_id")
                    .map(|c| c.shown().trim().to_string())
                    .filter(|id| !id.is_empty()),
                at_ms: Some(at.and_utc().timestamp_millis()),
                tokens_known: true,
                amount_known: true,
                ..Parsed::named(Day::from_date(date), "openrouter", &permaslug, Some(name))
            }
        }
        ShapeKind::Aggregated => {
            let day = day(required("date")?).map_err(field("date"))?;
            let slug = text(required("slug")?).map_err(field("slug"))?;
            let name = namer
                .name(NameKind::Permaslug, "openrouter", &slug)
                .ok_or_else(|| RowError {
                    column: Some("slug"),
                    reason: format!(
                        "slug `{slug}` maps to no public slug (not in rates/aliases.csv, and not an author/model slug)"
                    ),
                })?;
            // `BYOK Usage` is read only to check it is a number: it is paid upstream.
            if let Some(c) = optional("byok usage") {
                amount(c).map_err(field("byok usage"))?;
            }
            Parsed {
                prompt: required_tokens("prompt tokens")?,
                completion: required_tokens("completion tokens")?,
                requests: Some(required_tokens("requests")? as u64),
                amount: amount(required("usage")?).map_err(field("usage"))?,
                tokens_known: true,
                amount_known: true,
                ..Parsed::named(day, "openrouter", &slug, Some(name))
            }
        }
        ShapeKind::OpenAiCosts => {
            let day = openai_day(cols, row)?;
            if idle(cols, row) {
                return Ok(None);
            }
            // No line item: the export was not grouped by line item, one amount per day.
            let mut p = match optional_text("line_item")? {
                None => Parsed {
                    grain: Grain::Day,
                    ..Parsed::line(day, "openai", ALL_MODELS.into())
                },
                Some(item) => {
                    let model = item.split(',').next().unwrap_or_default().trim();
                    if model.is_empty() {
                        return Err(RowError {
                            column: Some("line_item"),
                            reason: format!("line item `{item}` names no model"),
                        });
                    }
                    let name = namer.name(NameKind::OpenAi, "openai", model);
                    Parsed::named(day, "openai", model, name)
                }
            };
            if let Some(cur) = optional_text("amount_currency")? {
                if !cur.eq_ignore_ascii_case("usd") {
                    return Err(RowError {
                        column: Some("amount_currency"),
                        reason: format!("amount in `{cur}`, not USD"),
                    });
                }
            }
            // A bucket without an amount bills nothing: read, and no line.
            let amount = optional("amount_value")
                .map(|c| long_amount(c).map_err(field("amount_value")))
                .transpose()?;
            p.amount = amount.unwrap_or_default();
            p.amount_known = amount.is_some();
            p
        }
        ShapeKind::OpenAiUsage => {
            let day = openai_day(cols, row)?;
            if idle(cols, row) {
                return Ok(None);
            }
            let model = optional_text("model")?.ok_or_else(|| RowError {
                column: Some("model"),
                reason: "no model: export the usage grouped by model".into(),
            })?;
            let prompt = required_tokens("input_tokens")?;
            let cached = optional_tokens("input_cached_tokens")?;
            if cached.unwrap_or(0) > prompt {
                return Err(RowError {
                    column: Some("input_cached_tokens"),
                    reason: format!(
                        "input_cached_tokens ({}) exceed input_tokens ({prompt})",
                        cached.unwrap_or(0)
                    ),
                });
            }
            Parsed {
                prompt,
                completion: required_tokens("output_tokens")?,
                cached,
                requests: optional_tokens("num_model_requests")?.map(|n| n as u64),
                tokens_known: true,
                ..Parsed::named(
                    day,
                    "openai",
                    &model,
                    namer.name(NameKind::OpenAi, "openai", &model),
                )
            }
        }
        ShapeKind::AnthropicCost => {
            let day = day(required("usage_date_utc")?).map_err(field("usage_date_utc"))?;
            let name = text(required("model")?).map_err(field("model"))?;
            Parsed {
                amount: long_amount(required("cost_usd")?).map_err(field("cost_usd"))?,
                amount_known: true,
                ..Parsed::named(
                    day,
                    "anthropic",
                    &name,
                    namer.name(NameKind::Anthropic, "anthropic", &name),
                )
            }
        }
        ShapeKind::AnthropicUsage => {
            let day = day(required("usage_date_utc")?).map_err(field("usage_date_utc"))?;
            let version = text(required("model_version")?).map_err(field("model_version"))?;
            let no_cache = required_tokens("usage_input_tokens_no_cache")?;
            let write_5m = optional_tokens("usage_input_tokens_cache_write_5m")?.unwrap_or(0);
            let write_1h = optional_tokens("usage_input_tokens_cache_write_1h")?.unwrap_or(0);
            let read = optional_tokens("usage_input_tokens_cache_read")?.unwrap_or(0);
            Parsed {
                prompt: no_cache + write_5m + write_1h + read,
                completion: required_tokens("usage_output_tokens")?,
                cached: Some(read),
                cache_write: Some(write_5m + write_1h),
                tokens_known: true,
                ..Parsed::named(
                    day,
                    "anthropic",
                    &version,
                    namer.name(NameKind::Anthropic, "anthropic", &version),
                )
            }
        }
        ShapeKind::MonthlyStatement => {
            let month = month(required("month")?).map_err(field("month"))?;
            let provider = text(required("provider")?)
                .map_err(field("provider"))?
                .to_ascii_lowercase();
            Parsed {
                grain: Grain::Month,
                amount: amount(required("amount_usd")?).map_err(field("amount_usd"))?,
                amount_known: true,
                invoice_id: optional_text("invoice_id")?,
                ..Parsed::line(month.first_day(), &provider, ALL_MODELS.into())
            }
        }
    };
    Ok(Some(p))
}
