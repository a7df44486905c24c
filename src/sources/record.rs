//! One log record, format-neutral: the fields docs/formats.md §1 names, as the reader found them, and the
//! rules that turn them into a [`Call`] or a reason for rejecting the row.
//!
//! Every reader (JSON lines, CSV, Parquet) fills [`Fields`] and calls [`Fields::into_call`], so the
//! conventions (OpenAI vs Anthropic token counting, aliases, defaults) live in one place.

use std::borrow::Cow;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::domain::{Call, Money, Usage};
use crate::sources::timestamp::{epoch_to_ms, parse_ts_str};

/// Token counts above 2^53 cannot round-trip through JSON numbers (IEEE doubles), so a log that
/// holds one is corrupt rather than busy.
pub(crate) const MAX_TOKENS: u64 = 1 << 53;

/// Why one input row was not used.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub column: Option<&'static str>,
    pub reason: String,
}

impl RowError {
    pub(crate) fn new(column: Option<&'static str>, reason: impl Into<String>) -> Self {
        RowError {
            column,
            reason: reason.into(),
        }
    }

    fn col(column: &'static str, reason: impl Into<String>) -> Self {
        Self::new(Some(column), reason)
    }
}

/// A scalar as it appears in any input format, not yet interpreted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    U(u64),
    I(i64),
    F(f64),
    B(bool),
    S(Cow<'a, str>),
}

impl Scalar<'_> {
    /// The same value, owning its text (for values read from a decoded copy of the input).
    pub(crate) fn into_owned(self) -> Scalar<'static> {
        match self {
            Scalar::U(n) => Scalar::U(n),
            Scalar::I(n) => Scalar::I(n),
            Scalar::F(f) => Scalar::F(f),
            Scalar::B(b) => Scalar::B(b),
            Scalar::S(s) => Scalar::S(Cow::Owned(s.into_owned())),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::U(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::I(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::F(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::B(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::S(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::S(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::S(Cow::Owned(v)))
            }
        }
        d.deserialize_any(V)
    }
}

/// The contract's fields, each as found (flat names and aliases kept apart so precedence is
/// explicit). Absent and JSON `null` are both `None`; an empty CSV cell is `None` too.
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields<'a> {
    pub ts: Option<Scalar<'a>>,
    pub provider: Option<Scalar<'a>>,
    pub model: Option<Scalar<'a>>,
    pub prompt_tokens: Option<Scalar<'a>>,
    pub completion_tokens: Option<Scalar<'a>>,
    pub total_tokens: Option<Scalar<'a>>,
    pub cached_tokens: Option<Scalar<'a>>,
    pub cache_read_input_tokens: Option<Scalar<'a>>,
    pub cache_write_tokens: Option<Scalar<'a>>,
    pub cache_creation_input_tokens: Option<Scalar<'a>>,
    pub cache_write_1h_tokens: Option<Scalar<'a>>,
    pub reasoning_tokens: Option<Scalar<'a>>,
    /// Anthropic Messages convention: excludes cache tokens.
    pub input_tokens: Option<Scalar<'a>>,
    pub output_tokens: Option<Scalar<'a>>,
    pub request_id: Option<Scalar<'a>>,
    pub status: Option<Scalar<'a>>,
    pub latency_ms: Option<Scalar<'a>>,
    pub byok: Option<Scalar<'a>>,
    pub shadow: Option<Scalar<'a>>,
    pub shadow_of: Option<Scalar<'a>>,
    pub tenant: Option<Scalar<'a>>,
    pub response_model: Option<Scalar<'a>>,
    pub cost: Option<Scalar<'a>>,
    /// The call's time already converted by a schema's timestamp form; wins over `ts`.
    pub ts_ms: Option<i64>,
}

/// A contract field, resolved once per column header so tabular readers do no name matching per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldId {
    Ts,
    Provider,
    Model,
    PromptTokens,
    CompletionTokens,
    TotalTokens,
    CachedTokens,
    CacheReadInputTokens,
    CacheWriteTokens,
    CacheCreationInputTokens,
    CacheWrite1hTokens,
    ReasoningTokens,
    InputTokens,
    OutputTokens,
    RequestId,
    Status,
    LatencyMs,
    Byok,
    Shadow,
    ShadowOf,
    Tenant,
    ResponseModel,
    Cost,
}

impl FieldId {
    pub(crate) const EVERY: [FieldId; 23] = {
        use FieldId::*;
        [
            Ts,
            Provider,
            Model,
            PromptTokens,
            CompletionTokens,
            TotalTokens,
            CachedTokens,
            CacheReadInputTokens,
            CacheWriteTokens,
            CacheCreationInputTokens,
            CacheWrite1hTokens,
            ReasoningTokens,
            InputTokens,
            OutputTokens,
            RequestId,
            Status,
            LatencyMs,
            Byok,
            Shadow,
            ShadowOf,
            Tenant,
            ResponseModel,
            Cost,
        ]
    };

    /// The contract's name for the field, for messages.
    pub(crate) fn name(self) -> &'static str {
        use FieldId::*;
        match self {
            Ts => "ts",
            Provider => "provider",
            Model => "model",
            PromptTokens => "prompt_tokens",
            CompletionTokens => "completion_tokens",
            TotalTokens => "total_tokens",
            CachedTokens => "cached_tokens",
            CacheReadInputTokens => "cache_read_input_tokens",
            CacheWriteTokens => "cache_write_tokens",
            CacheCreationInputTokens => "cache_creation_input_tokens",
            CacheWrite1hTokens => "cache_write_1h_tokens",
            ReasoningTokens => "reasoning_tokens",
            InputTokens => "input_tokens",
            OutputTokens => "output_tokens",
            RequestId => "request_id",
            Status => "status",
            LatencyMs => "latency_ms",
            Byok => "byok",
            Shadow => "shadow",
            ShadowOf => "shadow_of",
            Tenant => "tenant",
            ResponseModel => "response_model",
            Cost => "cost",
        }
    }

    /// Column names (flat, dotted-nested, and aliases) a tabular reader maps onto [`Fields`].
    /// Matching ignores case and surrounding spaces.
    pub(crate) fn from_name(name: &str) -> Option<FieldId> {
        use FieldId::*;
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "ts" | "timestamp" => Ts,
            "provider" => Provider,
            "model" => Model,
            "prompt_tokens" | "usage.prompt_tokens" => PromptTokens,
            "completion_tokens" | "usage.completion_tokens" => CompletionTokens,
            "total_tokens" | "usage.total_tokens" => TotalTokens,
            "cached_tokens" | "usage.prompt_tokens_details.cached_tokens" => CachedTokens,
            "cache_read_input_tokens" | "usage.cache_read_input_tokens" => CacheReadInputTokens,
            "cache_write_tokens" | "usage.prompt_tokens_details.cache_write_tokens" => {
                CacheWriteTokens
            }
            "cache_creation_input_tokens" | "usage.cache_creation_input_tokens" => {
                CacheCreationInputTokens
            }
            "cache_write_1h_tokens" | "usage.cache_creation.ephemeral_1h_input_tokens" => {
                CacheWrite1hTokens
            }
            "reasoning_tokens" | "usage.completion_tokens_details.reasoning_tokens" => {
                ReasoningTokens
            }
            "input_tokens" | "usage.input_tokens" => InputTokens,
            "output_tokens" | "usage.output_tokens" => OutputTokens,
            "request_id" => RequestId,
            "status" => Status,
            "latency_ms" => LatencyMs,
            "byok" | "usage.is_byok" => Byok,
            "shadow" => Shadow,
            "shadow_of" => ShadowOf,
            "tenant" => Tenant,
            "response_model" => ResponseModel,
            "cost" | "usage.cost" => Cost,
            _ => return None,
        })
    }
}

/// The fields a command reads. Rows are validated on these only, in every format alike, and
/// readers skip the rest (a Parquet scan does not even decode them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSet(u32);

impl FieldSet {
    pub const ALL: FieldSet = FieldSet(u32::MAX);

    pub(crate) const fn of(ids: &[FieldId]) -> FieldSet {
        let mut bits = 0;
        let mut i = 0;
        while i < ids.len() {
            bits |= 1 << ids[i] as u32;
            i += 1;
        }
        FieldSet(bits)
    }

    /// These fields and `ids` too.
    pub(crate) const fn with(self, ids: &[FieldId]) -> FieldSet {
        FieldSet(self.0 | FieldSet::of(ids).0)
    }

    /// These fields and those of `other` too.
    pub(crate) const fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 | other.0)
    }

    #[inline]
    pub(crate) fn contains(self, id: FieldId) -> bool {
        self.0 & (1 << id as u32) != 0
    }
}

impl<'a> Fields<'a> {
    /// Clears every field outside `set`.
    pub(crate) fn retain(&mut self, set: FieldSet) {
        for id in FieldId::EVERY {
            if !set.contains(id) {
                *self.slot(id) = None;
            }
        }
    }

    pub(crate) fn slot(&mut self, id: FieldId) -> &mut Option<Scalar<'a>> {
        use FieldId::*;
        match id {
            Ts => &mut self.ts,
            Provider => &mut self.provider,
            Model => &mut self.model,
            PromptTokens => &mut self.prompt_tokens,
            CompletionTokens => &mut self.completion_tokens,
            TotalTokens => &mut self.total_tokens,
            CachedTokens => &mut self.cached_tokens,
            CacheReadInputTokens => &mut self.cache_read_input_tokens,
            CacheWriteTokens => &mut self.cache_write_tokens,
            CacheCreationInputTokens => &mut self.cache_creation_input_tokens,
            CacheWrite1hTokens => &mut self.cache_write_1h_tokens,
            ReasoningTokens => &mut self.reasoning_tokens,
            InputTokens => &mut self.input_tokens,
            OutputTokens => &mut self.output_tokens,
            RequestId => &mut self.request_id,
            Status => &mut self.status,
            LatencyMs => &mut self.latency_ms,
            Byok => &mut self.byok,
            Shadow => &mut self.shadow,
            ShadowOf => &mut self.shadow_of,
            Tenant => &mut self.tenant,
            ResponseModel => &mut self.response_model,
            Cost => &mut self.cost,
        }
    }
}

fn tokens(v: &Option<Scalar>, column: &'static str) -> Result<Option<u64>, RowError> {
    let Some(v) = v else { return Ok(None) };
    let n = match v {
        Scalar::U(n) => *n,
        Scalar::I(n) if *n < 0 => {
            return Err(RowError::col(column, format!("negative token count {n}")))
        }
        Scalar::I(n) => *n as u64,
        Scalar::F(f) => float_tokens(*f, column)?,
        Scalar::B(_) => {
            return Err(RowError::col(
                column,
                "expected an integer token count, found a boolean",
            ))
        }
        Scalar::S(s) => {
            if let Some(n) = plain_digits(s.as_bytes()) {
                n
            } else {
                let t = s.trim();
                if t.is_empty() {
                    return Ok(None);
                }
                match t.parse::<u64>() {
                    Ok(n) => n,
                    Err(_) => match t.parse::<f64>() {
                        Ok(f) => float_tokens(f, column)?,
                        Err(_) => {
                            return Err(RowError::col(
                                column,
                                format!("expected an integer token count, found `{}`", short(t)),
                            ))
                        }
                    },
                }
            }
        }
    };
    if n > MAX_TOKENS {
        return Err(RowError::col(
            column,
            format!("token count {n} exceeds 2^53"),
        ));
    }
    Ok(Some(n))
}

/// 1 to 19 ASCII digits, the form nearly every token count takes; anything else goes the slow way.
#[inline]
fn plain_digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + d as u64;
    }
    Some(n)
}

fn float_tokens(f: f64, column: &'static str) -> Result<u64, RowError> {
    if f < 0.0 {
        Err(RowError::col(column, format!("negative token count {f}")))
    } else if f.fract() != 0.0 || !f.is_finite() {
        Err(RowError::col(
            column,
            format!("token count {f} is not an integer"),
        ))
    } else if f > MAX_TOKENS as f64 {
        Err(RowError::col(
            column,
            format!("token count {f} exceeds 2^53"),
        ))
    } else {
        Ok(f as u64)
    }
}

fn text<'a>(v: Option<Scalar<'a>>, column: &'static str) -> Result<Option<Cow<'a, str>>, RowError> {
    match v {
        None => Ok(None),
        Some(Scalar::S(s)) if s.is_empty() => Ok(None),
        Some(Scalar::S(s)) => Ok(Some(s)),
        Some(Scalar::U(n)) => Ok(Some(Cow::Owned(n.to_string()))),
        Some(Scalar::I(n)) => Ok(Some(Cow::Owned(n.to_string()))),
        Some(_) => Err(RowError::col(column, "expected a string")),
    }
}

fn required_text<'a>(
    v: Option<Scalar<'a>>,
    column: &'static str,
) -> Result<Cow<'a, str>, RowError> {
    match v {
        Some(Scalar::S(s)) if !s.trim().is_empty() => Ok(s),
        None | Some(Scalar::S(_)) => Err(RowError::col(
            column,
            format!("missing required field `{column}`"),
        )),
        Some(other) => Err(RowError::col(
            column,
            format!("expected a string, found {}", describe(&other)),
        )),
    }
}

fn describe(v: &Scalar) -> String {
    match v {
        Scalar::U(n) => format!("the number {n}"),
        Scalar::I(n) => format!("the number {n}"),
        Scalar::F(f) => format!("the number {f}"),
        Scalar::B(b) => format!("the boolean {b}"),
        Scalar::S(s) => format!("`{}`", short(s)),
    }
}

fn flag(v: &Option<Scalar>, column: &'static str) -> Result<bool, RowError> {
    match v {
        None => Ok(false),
        Some(Scalar::B(b)) => Ok(*b),
        Some(Scalar::U(0) | Scalar::I(0)) => Ok(false),
        Some(Scalar::U(1) | Scalar::I(1)) => Ok(true),
        // The spellings logs write, first, without a trim or a case fold.
        Some(Scalar::S(s)) if matches!(s.as_bytes(), b"false" | b"0") => Ok(false),
        Some(Scalar::S(s)) if matches!(s.as_bytes(), b"true" | b"1") => Ok(true),
        Some(Scalar::S(s)) => {
            let t = s.trim();
            let is = |words: &[&str]| words.iter().any(|w| t.eq_ignore_ascii_case(w));
            if is(&["", "false", "0", "no", "f", "n"]) {
                Ok(false)
            } else if is(&["true", "1", "yes", "t", "y"]) {
                Ok(true)
            } else {
                Err(RowError::col(
                    column,
                    format!("expected true or false, found `{}`", short(t)),
                ))
            }
        }
        Some(_) => Err(RowError::col(column, "expected true or false")),
    }
}

fn number(v: &Option<Scalar>, column: &'static str) -> Result<Option<f64>, RowError> {
    let f = match v {
        None => return Ok(None),
        Some(Scalar::U(n)) => *n as f64,
        Some(Scalar::I(n)) => *n as f64,
        Some(Scalar::F(f)) => *f,
        Some(Scalar::S(s)) if s.trim().is_empty() => return Ok(None),
        Some(Scalar::S(s)) => s.trim().parse::<f64>().map_err(|_| {
            RowError::col(column, format!("expected a number, found `{}`", short(s)))
        })?,
        Some(Scalar::B(_)) => {
            return Err(RowError::col(column, "expected a number, found a boolean"))
        }
    };
    if !f.is_finite() || f < 0.0 {
        return Err(RowError::col(
            column,
            format!("expected a number >= 0, found {f}"),
        ));
    }
    Ok(Some(f))
}

/// Gateway-reported cost. JSON numbers arrive as doubles; their shortest round-trip text is the
/// decimal the logger wrote (for up to 17 significant digits), so that text is what gets parsed.
fn decimal(v: &Option<Scalar>, column: &'static str) -> Result<Option<Money>, RowError> {
    let parsed = match v {
        None => return Ok(None),
        Some(Scalar::U(n)) => Ok(Money::from(*n)),
        Some(Scalar::I(n)) => Ok(Money::from(*n)),
        Some(Scalar::F(f)) => {
            Money::from_str(&f.to_string()).or_else(|_| Money::from_scientific(&format!("{f:e}")))
        }
        Some(Scalar::S(s)) if s.trim().is_empty() => return Ok(None),
        Some(Scalar::S(s)) => {
            Money::from_str(s.trim()).or_else(|_| Money::from_scientific(s.trim()))
        }
        Some(Scalar::B(_)) => {
            return Err(RowError::col(
                column,
                "expected a decimal amount, found a boolean",
            ))
        }
    };
    let m = parsed.map_err(|_| RowError::col(column, "expected a decimal amount"))?;
    if m.abs() > Money::from(crate::sources::sheet::MAX_USD) {
        return Err(RowError::col(column, "over USD 10^15: not a real amount"));
    }
    Ok(Some(m))
}

fn status(v: &Option<Scalar>) -> Result<u16, RowError> {
    let n = match v {
        None => return Ok(200),
        Some(Scalar::U(n)) => *n,
        Some(Scalar::I(n)) if *n >= 0 => *n as u64,
        Some(Scalar::F(f)) if f.fract() == 0.0 && *f >= 0.0 => *f as u64,
        Some(Scalar::S(s)) if s.trim().is_empty() => return Ok(200),
        Some(Scalar::S(s)) => s.trim().parse::<u64>().map_err(|_| {
            RowError::col(
                "status",
                format!("expected an HTTP status, found `{}`", short(s)),
            )
        })?,
        Some(other) => {
            return Err(RowError::col(
                "status",
                format!("expected an HTTP status, found {other:?}"),
            ))
        }
    };
    if !(100..=599).contains(&n) {
        return Err(RowError::col(
            "status",
            format!("HTTP status {n} is outside 100-599"),
        ));
    }
    Ok(n as u16)
}

/// Today's timestamp rule: RFC 3339 text, or epoch seconds/milliseconds told apart by size.
pub(crate) fn auto_ts_ms(v: &Scalar) -> Result<i64, String> {
    match v {
        Scalar::S(s) => parse_ts_str(s),
        Scalar::U(n) => epoch_to_ms(*n as f64),
        Scalar::I(n) => epoch_to_ms(*n as f64),
        Scalar::F(f) => epoch_to_ms(*f),
        Scalar::B(_) => Err("expected a timestamp, found a boolean".into()),
    }
}

pub(crate) fn short(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

impl<'a> Fields<'a> {
    /// Applies docs/formats.md §1: required fields, the two token conventions, aliases and defaults.
    pub(crate) fn into_call(mut self) -> Result<Call<'a>, RowError> {
        self.take_call()
    }

    /// As [`Fields::into_call`], taking the strings out in place: readers that refill one
    /// `Fields` per row avoid copying the wide struct.
    #[inline]
    pub(crate) fn take_call(&mut self) -> Result<Call<'a>, RowError> {
        let ts_ms = match (self.ts_ms, &self.ts) {
            (Some(ms), _) => ms,
            (None, None) => return Err(RowError::col("ts", "missing required field `ts`")),
            (None, Some(v)) => auto_ts_ms(v).map_err(|e| RowError::col("ts", e))?,
        };

        let cached = match tokens(&self.cached_tokens, "cached_tokens")? {
            Some(n) => Some(n),
            None => tokens(&self.cache_read_input_tokens, "cache_read_input_tokens")?,
        };
        let cache_write = match tokens(&self.cache_write_tokens, "cache_write_tokens")? {
            Some(n) => Some(n),
            None => tokens(
                &self.cache_creation_input_tokens,
                "cache_creation_input_tokens",
            )?,
        };
        let cached = cached.unwrap_or(0);
        let cache_write = cache_write.unwrap_or(0);
        let cache_write_1h =
            tokens(&self.cache_write_1h_tokens, "cache_write_1h_tokens")?.unwrap_or(0);

        let prompt = match tokens(&self.prompt_tokens, "prompt_tokens")? {
            Some(p) => p,
            // Anthropic Messages shape: input_tokens excludes the cache tokens.
            None => match tokens(&self.input_tokens, "input_tokens")? {
                Some(i) => i + cached + cache_write,
                None => {
                    return Err(RowError::col(
                        "prompt_tokens",
                        "missing required field `prompt_tokens`",
                    ))
                }
            },
        };
        let completion = match tokens(&self.completion_tokens, "completion_tokens")? {
            Some(c) => c,
            None => match tokens(&self.output_tokens, "output_tokens")? {
                Some(c) => c,
                None => {
                    return Err(RowError::col(
                        "completion_tokens",
                        "missing required field `completion_tokens`",
                    ))
                }
            },
        };
        if cached.saturating_add(cache_write) > prompt {
            return Err(RowError::col(
                "cached_tokens",
                format!("cached ({cached}) + cache-write ({cache_write}) tokens exceed prompt tokens ({prompt})"),
            ));
        }
        if cache_write_1h > cache_write {
            return Err(RowError::col(
                "cache_write_1h_tokens",
                format!(
                    "one-hour cache writes ({cache_write_1h}) exceed cache writes ({cache_write})"
                ),
            ));
        }
        let usage = Usage {
            prompt,
            completion,
            cached,
            cache_write,
            cache_write_1h,
            reasoning: tokens(&self.reasoning_tokens, "reasoning_tokens")?.unwrap_or(0),
        };
        let total_logged = tokens(&self.total_tokens, "total_tokens")?;
        let status = status(&self.status)?;
        let latency_ms = number(&self.latency_ms, "latency_ms")?;
        let byok = flag(&self.byok, "byok")?;
        let shadow = flag(&self.shadow, "shadow")?;
        let cost = decimal(&self.cost, "cost")?;

        let mut provider = required_text(self.provider.take(), "provider")?;
        if provider.bytes().any(|b| b.is_ascii_uppercase()) {
            provider = Cow::Owned(provider.to_ascii_lowercase());
        }
        let model = required_text(self.model.take(), "model")?;
        Ok(Call {
            ts_ms,
            provider,
            model,
            usage,
            total_logged,
            status,
            request_id: text(self.request_id.take(), "request_id")?,
            latency_ms,
            byok,
            shadow,
            shadow_of: text(self.shadow_of.take(), "shadow_of")?,
            tenant: text(self.tenant.take(), "tenant")?,
            response_model: text(self.response_model.take(), "response_model")?,
            cost,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<Scalar<'_>> {
        Some(Scalar::S(Cow::Borrowed(v)))
    }

    fn base() -> Fields<'static> {
        Fields {
            ts: s("2026-04-28T13:05:22Z"),
            provider: s("OpenRouter"),
            model: s("anthropic/claude-sonnet-4.6"),
            ..Default::default()
        }
    }

    #[test]
    fn openai_convention_keeps_prompt_as_is() {
        let f = Fields {
            prompt_tokens: Some(Scalar::U(1000)),
            completion_tokens: Some(Scalar::U(50)),
            cached_tokens: Some(Scalar::U(600)),
            cache_creation_input_tokens: Some(Scalar::U(100)),
            ..base()
        };
        let c = f.into_call().unwrap();
        assert_eq!(c.usage.prompt, 1000);
        assert_eq!(c.usage.uncached_input(), 300);
        assert_eq!(c.provider, "openrouter");
        assert_eq!(c.status, 200);
    }

    #[test]
    fn anthropic_convention_adds_cache_tokens_to_input() {
        // input 300 + cache read 600 + cache write 100 = prompt 1000
        let f = Fields {
            input_tokens: Some(Scalar::U(300)),
            output_tokens: Some(Scalar::U(50)),
            cache_read_input_tokens: Some(Scalar::U(600)),
            cache_creation_input_tokens: Some(Scalar::U(100)),
            cache_write_1h_tokens: Some(Scalar::U(40)),
            ..base()
        };
        let c = f.into_call().unwrap();
        assert_eq!(c.usage.prompt, 1000);
        assert_eq!(c.usage.completion, 50);
        assert_eq!(c.usage.cached, 600);
        assert_eq!(c.usage.cache_write, 100);
        assert_eq!(c.usage.cache_write_1h, 40);
    }

    #[test]
    fn bad_token_counts_are_rejected_with_column() {
        for (v, want) in [
            (Scalar::I(-5), "negative"),
            (Scalar::F(1.5), "not an integer"),
            (Scalar::U(MAX_TOKENS + 1), "2^53"),
            (Scalar::F(1e20), "2^53"),
            (Scalar::S("abc".into()), "integer"),
        ] {
            let f = Fields {
                prompt_tokens: Some(v),
                completion_tokens: Some(Scalar::U(1)),
                ..base()
            };
            let e = f.into_call().unwrap_err();
            assert_eq!(e.column, Some("prompt_tokens"));
            assert!(e.reason.contains(want), "{} lacks {want}", e.reason);
        }
    }

    #[test]
    fn cache_larger_than_prompt_is_rejected() {
        let f = Fields {
            prompt_tokens: Some(Scalar::U(10)),
            completion_tokens: Some(Scalar::U(1)),
            cached_tokens: Some(Scalar::U(11)),
            ..base()
        };
        assert!(f.into_call().unwrap_err().reason.contains("exceed"));
    }

    #[test]
    fn cost_float_keeps_written_decimal() {
        let f = Fields {
            prompt_tokens: Some(Scalar::U(1)),
            completion_tokens: Some(Scalar::U(1)),
            cost: Some(Scalar::F(0.0123)),
            ..base()
        };
        assert_eq!(f.into_call().unwrap().cost.unwrap().to_string(), "0.0123");
    }
}
