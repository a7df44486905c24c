//! JSON lines: one object per line, flat fields or the OpenAI / Anthropic / OpenRouter `usage`
//! object. Parsed with `serde_json` into borrowed structs: only the contract's fields are kept,
//! strings borrow from the input, and no `Value` tree is built per line.

use serde::Deserialize;

use crate::domain::Call;
use crate::input::record::{Fields, RowError, Scalar};

#[derive(Deserialize, Default)]
#[serde(default)]
struct JsonRecord<'a> {
    #[serde(borrow)]
    ts: Option<Scalar<'a>>,
    #[serde(borrow)]
    timestamp: Option<Scalar<'a>>,
    #[serde(borrow)]
    provider: Option<Scalar<'a>>,
    #[serde(borrow)]
    model: Option<Scalar<'a>>,
    #[serde(borrow)]
    prompt_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    completion_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    total_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    cached_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    cache_read_input_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    cache_write_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    cache_creation_input_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    cache_write_1h_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    reasoning_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    input_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    output_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    request_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    status: Option<Scalar<'a>>,
    #[serde(borrow)]
    latency_ms: Option<Scalar<'a>>,
    #[serde(borrow)]
    byok: Option<Scalar<'a>>,
    #[serde(borrow)]
    shadow: Option<Scalar<'a>>,
    #[serde(borrow)]
    shadow_of: Option<Scalar<'a>>,
    #[serde(borrow)]
    tenant: Option<Scalar<'a>>,
    #[serde(borrow)]
    response_model: Option<Scalar<'a>>,
    #[serde(borrow)]
    cost: Option<Scalar<'a>>,
    #[serde(borrow)]
    usage: Option<UsageObject<'a>>,
}

/// The union of the OpenAI, OpenRouter and Anthropic Messages usage objects.
#[derive(Deserialize, Default)]
#[serde(default)]
struct UsageObject<'a> {
    #[serde(borrow)]
    prompt_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    completion_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    total_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    prompt_tokens_details: Option<PromptDetails<'a>>,
    #[serde(borrow)]
    completion_tokens_details: Option<CompletionDetails<'a>>,
    #[serde(borrow)]
    cache_creation_input_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    cache_read_input_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    cache_creation: Option<CacheCreation<'a>>,
    #[serde(borrow)]
    input_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    output_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    cost: Option<Scalar<'a>>,
    #[serde(borrow)]
    is_byok: Option<Scalar<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PromptDetails<'a> {
    #[serde(borrow)]
    cached_tokens: Option<Scalar<'a>>,
    #[serde(borrow)]
    cache_write_tokens: Option<Scalar<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompletionDetails<'a> {
    #[serde(borrow)]
    reasoning_tokens: Option<Scalar<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CacheCreation<'a> {
    #[serde(borrow)]
    ephemeral_1h_input_tokens: Option<Scalar<'a>>,
}

fn first<'a>(a: Option<Scalar<'a>>, b: Option<Scalar<'a>>) -> Option<Scalar<'a>> {
    a.or(b)
}

impl<'a> JsonRecord<'a> {
    /// Flat fields win; the `usage` object fills what they leave empty.
    fn into_fields(self) -> Fields<'a> {
        let u = self.usage.unwrap_or_default();
        let pd = u.prompt_tokens_details.unwrap_or_default();
        let cd = u.completion_tokens_details.unwrap_or_default();
        let cc = u.cache_creation.unwrap_or_default();
        Fields {
            ts: first(self.ts, self.timestamp),
            provider: self.provider,
            model: self.model,
            prompt_tokens: first(self.prompt_tokens, u.prompt_tokens),
            completion_tokens: first(self.completion_tokens, u.completion_tokens),
            total_tokens: first(self.total_tokens, u.total_tokens),
            cached_tokens: first(self.cached_tokens, pd.cached_tokens),
            cache_read_input_tokens: first(self.cache_read_input_tokens, u.cache_read_input_tokens),
            cache_write_tokens: first(self.cache_write_tokens, pd.cache_write_tokens),
            cache_creation_input_tokens: first(
                self.cache_creation_input_tokens,
                u.cache_creation_input_tokens,
            ),
            cache_write_1h_tokens: first(self.cache_write_1h_tokens, cc.ephemeral_1h_input_tokens),
            reasoning_tokens: first(self.reasoning_tokens, cd.reasoning_tokens),
            input_tokens: first(self.input_tokens, u.input_tokens),
            output_tokens: first(self.output_tokens, u.output_tokens),
            request_id: self.request_id,
            status: self.status,
            latency_ms: self.latency_ms,
            byok: first(self.byok, u.is_byok),
            shadow: self.shadow,
            shadow_of: self.shadow_of,
            tenant: self.tenant,
            response_model: self.response_model,
            cost: first(self.cost, u.cost),
        }
    }
}

/// Parses one line (without its newline) into a call.
pub fn parse_line(line: &[u8]) -> Result<Call<'_>, RowError> {
    let rec: JsonRecord = serde_json::from_slice(line).map_err(|e| {
        let what = if e.is_eof() {
            "line is cut short"
        } else {
            "not a valid JSON object"
        };
        RowError::new(None, format!("{what}: {e}"))
    })?;
    rec.into_fields().into_call()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_record() {
        let c = parse_line(br#"{"ts":"2026-04-28T13:05:22.123Z","provider":"openrouter","model":"openai/gpt-5.4","prompt_tokens":120,"completion_tokens":30,"cached_tokens":20,"status":200,"extra":{"x":[1,2]}}"#).unwrap();
        assert_eq!(c.usage.prompt, 120);
        assert_eq!(c.usage.cached, 20);
        assert_eq!(c.model, "openai/gpt-5.4");
    }

    #[test]
    fn nested_openai_usage() {
        let c = parse_line(br#"{"ts":1777381522,"provider":"ominigate","model":"m","usage":{"prompt_tokens":100,"completion_tokens":7,"total_tokens":107,"prompt_tokens_details":{"cached_tokens":40,"cache_write_tokens":10},"completion_tokens_details":{"reasoning_tokens":5},"cost":0.0042,"is_byok":true}}"#).unwrap();
        assert_eq!(c.usage.prompt, 100);
        assert_eq!(c.usage.cached, 40);
        assert_eq!(c.usage.cache_write, 10);
        assert_eq!(c.usage.reasoning, 5);
        assert!(c.byok);
        assert_eq!(c.total_logged, Some(107));
        assert_eq!(c.cost.unwrap().to_string(), "0.0042");
    }

    #[test]
    fn nested_anthropic_usage() {
        // prompt = input 10 + cache read 200 + cache write 50 = 260
        let c = parse_line(br#"{"ts":"2026-04-28T00:00:00Z","provider":"openrouter","model":"anthropic/claude-sonnet-4.6","usage":{"input_tokens":10,"output_tokens":3,"cache_read_input_tokens":200,"cache_creation_input_tokens":50,"cache_creation":{"ephemeral_1h_input_tokens":20}}}"#).unwrap();
        assert_eq!(c.usage.prompt, 260);
        assert_eq!(c.usage.cached, 200);
        assert_eq!(c.usage.cache_write, 50);
        assert_eq!(c.usage.cache_write_1h, 20);
        assert_eq!(c.usage.completion, 3);
    }

    #[test]
    fn broken_lines_are_errors() {
        let e = parse_line(br#"{"ts":"2026-04-28T00:00:00Z","provider":"x","#).unwrap_err();
        assert!(e.reason.contains("cut short"), "{}", e.reason);
        assert!(parse_line(b"[1,2]").is_err());
        assert!(parse_line(b"{\"model\":\"caf\xe9\"}").is_err());
    }
}
