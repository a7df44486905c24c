//! JSON lines: one object per line, flat fields or the OpenAI / Anthropic / OpenRouter `usage`
//! object. Parsed with `serde_json` into borrowed structs: only the contract's fields are kept,
//! strings borrow from the input, and no `Value` tree is built per line.

use serde::Deserialize;

use crate::domain::Call;
use crate::sources::record::{FieldSet, Fields, RowError, Scalar};

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
            ts_ms: None,
        }
    }
}

/// Parses one line (without its newline) into a call: the fast scanner for the common shapes,
/// `serde_json` for anything it declines (escapes, odd numbers, malformed lines), so every
/// error message is serde_json's and every accepted line means the same either way.
pub fn parse_line(line: &[u8], needed: FieldSet) -> Result<Call<'_>, RowError> {
    let mut f = Fields::default();
    match fast::fields(line, &mut f, needed) {
        Some(()) => f.into_call(),
        None => parse_line_serde(line, needed),
    }
}

/// The reference parse: `serde_json` into borrowed structs.
pub fn parse_line_serde(line: &[u8], needed: FieldSet) -> Result<Call<'_>, RowError> {
    let rec: JsonRecord = serde_json::from_slice(line).map_err(|e| {
        let what = if e.is_eof() {
            "line is cut short"
        } else {
            "not a valid JSON object"
        };
        // serde_json counts lines within the row; only the column means anything here.
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg);
        RowError::new(None, format!("{what}: {msg} (at character {})", e.column()))
    })?;
    let mut f = rec.into_fields();
    f.retain(needed);
    f.into_call()
}

/// A single-pass scanner for the records loggers actually write: one object, keys without
/// escapes, plain numbers, known nested `usage` objects. It declines (returns `None`) rather than
/// guess, and the caller falls back to `serde_json`. Most of a month's bytes go through here, so
/// it touches each byte once and allocates nothing.
mod fast {
    use std::ops::{Deref, DerefMut};

    #[cfg(test)]
    pub(super) use crate::sources::json_scan::string_end;
    use crate::sources::json_scan::Scan;
    use crate::sources::record::{FieldId, FieldSet, Fields};

    /// The shared scanner plus the fields this command reads.
    struct Rec<'a> {
        s: Scan<'a>,
        needed: FieldSet,
    }

    impl<'a> Deref for Rec<'a> {
        type Target = Scan<'a>;
        fn deref(&self) -> &Scan<'a> {
            &self.s
        }
    }

    impl DerefMut for Rec<'_> {
        fn deref_mut(&mut self) -> &mut Self::Target {
            &mut self.s
        }
    }

    /// Where a value goes: a flat field (wins, may not repeat) or a nested twin (fills a gap).
    #[derive(Clone, Copy)]
    enum Dest {
        Primary(FieldId),
        Secondary(FieldId),
        Usage,
        PromptDetails,
        CompletionDetails,
        CacheCreation,
        Skip,
    }

    impl Dest {
        /// A bit per key an object can know (distinct within each object's key map); `None`
        /// for an unknown key.
        fn bit(self) -> Option<u64> {
            Some(match self {
                Dest::Primary(id) => 1 << id as u32,
                Dest::Secondary(id) => 1 << (32 + id as u32),
                Dest::Usage => 1 << 27,
                Dest::PromptDetails => 1 << 28,
                Dest::CompletionDetails => 1 << 29,
                Dest::CacheCreation => 1 << 30,
                Dest::Skip => return None,
            })
        }
    }

    fn top_key(k: &[u8]) -> Dest {
        use Dest::*;
        use FieldId::*;
        match k {
            b"ts" => Primary(Ts),
            b"timestamp" => Secondary(Ts),
            b"provider" => Primary(Provider),
            b"model" => Primary(Model),
            b"prompt_tokens" => Primary(PromptTokens),
            b"completion_tokens" => Primary(CompletionTokens),
            b"total_tokens" => Primary(TotalTokens),
            b"cached_tokens" => Primary(CachedTokens),
            b"cache_read_input_tokens" => Primary(CacheReadInputTokens),
            b"cache_write_tokens" => Primary(CacheWriteTokens),
            b"cache_creation_input_tokens" => Primary(CacheCreationInputTokens),
            b"cache_write_1h_tokens" => Primary(CacheWrite1hTokens),
            b"reasoning_tokens" => Primary(ReasoningTokens),
            b"input_tokens" => Primary(InputTokens),
            b"output_tokens" => Primary(OutputTokens),
            b"request_id" => Primary(RequestId),
            b"status" => Primary(Status),
            b"latency_ms" => Primary(LatencyMs),
            b"byok" => Primary(Byok),
            b"shadow" => Primary(Shadow),
            b"shadow_of" => Primary(ShadowOf),
            b"tenant" => Primary(Tenant),
            b"response_model" => Primary(ResponseModel),
            b"cost" => Primary(Cost),
            b"usage" => Usage,
            _ => Skip,
        }
    }

    fn usage_key(k: &[u8]) -> Dest {
        use Dest::*;
        use FieldId::*;
        match k {
            b"prompt_tokens" => Secondary(PromptTokens),
            b"completion_tokens" => Secondary(CompletionTokens),
            b"total_tokens" => Secondary(TotalTokens),
            b"cache_creation_input_tokens" => Secondary(CacheCreationInputTokens),
            b"cache_read_input_tokens" => Secondary(CacheReadInputTokens),
            b"input_tokens" => Secondary(InputTokens),
            b"output_tokens" => Secondary(OutputTokens),
            b"cost" => Secondary(Cost),
            b"is_byok" => Secondary(Byok),
            b"prompt_tokens_details" => PromptDetails,
            b"completion_tokens_details" => CompletionDetails,
            b"cache_creation" => CacheCreation,
            _ => Skip,
        }
    }

    fn prompt_details_key(k: &[u8]) -> Dest {
        match k {
            b"cached_tokens" => Dest::Secondary(FieldId::CachedTokens),
            b"cache_write_tokens" => Dest::Secondary(FieldId::CacheWriteTokens),
            _ => Dest::Skip,
        }
    }

    fn completion_details_key(k: &[u8]) -> Dest {
        match k {
            b"reasoning_tokens" => Dest::Secondary(FieldId::ReasoningTokens),
            _ => Dest::Skip,
        }
    }

    fn cache_creation_key(k: &[u8]) -> Dest {
        match k {
            b"ephemeral_1h_input_tokens" => Dest::Secondary(FieldId::CacheWrite1hTokens),
            _ => Dest::Skip,
        }
    }

    /// Fills `f` in place (no copies of the wide struct); `None` declines the line.
    pub(crate) fn fields<'a>(line: &'a [u8], f: &mut Fields<'a>, needed: FieldSet) -> Option<()> {
        let mut s = Rec {
            s: Scan::new(line),
            needed,
        };
        s.ws();
        s.object(f, top_key, 0)?;
        s.ws();
        (s.i == s.b.len()).then_some(())
    }

    impl<'a> Rec<'a> {
        /// Generic over the key map so each level's `match` is inlined, not called through a
        /// function pointer.
        fn object(
            &mut self,
            f: &mut Fields<'a>,
            key_of: impl Fn(&[u8]) -> Dest + Copy,
            depth: u8,
        ) -> Option<()> {
            self.eat(b'{')?;
            self.ws();
            if self.eat(b'}').is_some() {
                return Some(());
            }
            // The keys read in this object: serde_json rejects a field named twice, so a repeat
            // declines the line and serde_json reports it.
            let mut known = 0u64;
            loop {
                let key = self.raw_string()?;
                // serde_json reads the keys of the record and of its known nested objects as
                // text, so invalid UTF-8 in one, even an unknown one, rejects the line there.
                if !key.is_ascii() && std::str::from_utf8(key).is_err() {
                    return None;
                }
                self.ws();
                self.eat(b':')?;
                self.ws();
                let dest = match key_of(key) {
                    Dest::Primary(id) | Dest::Secondary(id) if !self.needed.contains(id) => {
                        Dest::Skip
                    }
                    d => d,
                };
                if let Some(bit) = dest.bit() {
                    if known & bit != 0 {
                        return None;
                    }
                    known |= bit;
                }
                match dest {
                    Dest::Primary(id) => {
                        let v = self.scalar()?;
                        if v.is_some() {
                            *f.slot(id) = v;
                        }
                    }
                    Dest::Secondary(id) => {
                        let v = self.scalar()?;
                        let slot = f.slot(id);
                        if slot.is_none() {
                            *slot = v;
                        }
                    }
                    Dest::Usage => self.nested(f, usage_key, depth)?,
                    Dest::PromptDetails => self.nested(f, prompt_details_key, depth)?,
                    Dest::CompletionDetails => self.nested(f, completion_details_key, depth)?,
                    Dest::CacheCreation => self.nested(f, cache_creation_key, depth)?,
                    Dest::Skip => self.skip(depth)?,
                }
                self.ws();
                match self.b.get(self.i)? {
                    b',' => {
                        self.i += 1;
                        self.ws();
                    }
                    b'}' => {
                        self.i += 1;
                        return Some(());
                    }
                    _ => return None,
                }
            }
        }

        /// A known nested object, or `null`.
        fn nested(
            &mut self,
            f: &mut Fields<'a>,
            key_of: impl Fn(&[u8]) -> Dest + Copy,
            depth: u8,
        ) -> Option<()> {
            if self.b[self.i..].starts_with(b"null") {
                self.i += 4;
                return Some(());
            }
            self.object(f, key_of, depth + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path must agree with serde_json on every line it accepts.
    fn agree(line: &[u8]) {
        let mut f = Fields::default();
        let fast =
            fast::fields(line, &mut f, FieldSet::ALL).map(|_| format!("{:?}", f.into_call()));
        let serde = format!("{:?}", parse_line_serde(line, FieldSet::ALL));
        if let Some(fast) = fast {
            assert_eq!(fast, serde, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn string_end_finds_the_first_stop_byte() {
        for (s, want) in [
            (&b"abc\"def"[..], Some(3)),
            (b"abcdefghij\"", Some(10)),
            (b"abcdefgh\\\"", Some(8)),
            (b"ab\x01cdefghijk\"", Some(2)),
            (b"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"", Some(10)),
            (b"abcdefghijklmnop", None),
            (b"", None),
        ] {
            assert_eq!(
                fast::string_end(s, 0),
                want,
                "{}",
                String::from_utf8_lossy(s)
            );
        }
        // Every position, every stop byte, against a plain scan.
        for len in 0..20 {
            for at in 0..len {
                for stop in [b'"', b'\\', 0x00, 0x1f] {
                    let mut v = vec![b'x'; len];
                    v[at] = stop;
                    assert_eq!(fast::string_end(&v, 0), Some(at));
                }
            }
        }
    }

    #[test]
    fn fast_path_agrees_with_serde() {
        for line in [
            &br#"{"ts":"2026-04-28T13:05:22.123Z","provider":"openrouter","model":"openai/gpt-5.4","prompt_tokens":120,"completion_tokens":30,"cached_tokens":20,"status":200,"extra":{"x":[1,2,{"y":null}]},"f":-1.5e3}"#[..],
            br#" { "ts" : 1777381522 , "provider":"ominigate","model":"m","usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":40},"completion_tokens_details":{"reasoning_tokens":5},"cost":0.0042,"is_byok":true}} "#,
            br#"{"ts":"2026-04-28T00:00:00Z","provider":"p","model":"m","usage":{"input_tokens":10,"output_tokens":3,"cache_read_input_tokens":200,"cache_creation_input_tokens":50,"cache_creation":{"ephemeral_1h_input_tokens":20}}}"#,
            br#"{"prompt_tokens":5,"ts":"2026-04-28T00:00:00Z","provider":"p","model":"m","usage":{"prompt_tokens":9,"completion_tokens":3},"completion_tokens":null}"#,
            br#"{"timestamp":"2026-04-28T00:00:00Z","ts":"2026-04-29T00:00:00Z","provider":"p","model":"m","prompt_tokens":-0,"completion_tokens":1}"#,
            br#"{"ts":"2026-04-28T00:00:00Z","provider":"p","model":"m","prompt_tokens":-3,"completion_tokens":1}"#,
            br#"{"ts":"2026-04-28T00:00:00Z","provider":"p","model":"m","prompt_tokens":18446744073709551616,"completion_tokens":1}"#,
            br#"{"ts":"2026-04-28T00:00:00Z","provider":"p","model":"m","prompt_tokens":1,"prompt_tokens":2,"completion_tokens":1}"#,
            br#"{"ts":"2026-04-28T00:00:00Z","provider":"p\u00e9","model":"m","prompt_tokens":1,"completion_tokens":1}"#,
            r#"{"ts":"2026-04-28T00:00:00Z","provider":"pé","model":"m","prompt_tokens":1.0,"completion_tokens":1e2,"usage":null}"#.as_bytes(),
            br#"{"ts":"2026-04-28T00:00:00Z","provider":"p","model":"m","prompt_tokens":01,"completion_tokens":1}"#,
            br#"{"ts":"2026-04-28T00:00:00Z"}x"#,
            // A key named twice inside `usage` (found by the log_line fuzz target), `timestamp`
            // or `usage` itself twice.
            br#"{"ts":"2026-04-28T00:00:00Z","provider":"p","model":"m","usage":{"input_tokens":1,"output_tokens":5,"output_tokens":6}}"#,
            br#"{"timestamp":1,"timestamp":2,"provider":"p","model":"m","prompt_tokens":1,"completion_tokens":1}"#,
            br#"{"ts":1,"provider":"p","model":"m","usage":{"prompt_tokens":1},"usage":{"completion_tokens":1}}"#,
            // Invalid UTF-8 in a key (found by the log_line fuzz target) or in a skipped value.
            b"{\"\xff\":\"\"}",
            b"{\"usage\":{\"\xff\":1}}",
            b"{\"ts\":\"2026-04-28T00:00:00Z\",\"provider\":\"p\",\"model\":\"m\",\"prompt_tokens\":1,\"completion_tokens\":1,\"x\":{\"\xff\":\"caf\xe9\"}}",
            br#"{"ts":"2026-04-28T00:00:00Z","#,
            b"{}",
            b"[1]",
        ] {
            agree(line);
        }
        // Declined shapes go to serde_json and still parse.
        let mut f = Fields::default();
        assert!(fast::fields(br#"{"provider":"p\u00e9"}"#, &mut f, FieldSet::ALL).is_none());
        assert!(parse_line(br#"{"ts":"2026-04-28T00:00:00Z","provider":"p\u00e9","model":"m","prompt_tokens":1,"completion_tokens":1}"#, FieldSet::ALL).is_ok());
        assert!(fast::fields(br#"{"a":1,"a":2}"#, &mut Fields::default(), FieldSet::ALL).is_some());
        assert!(
            fast::fields(br#"{"ts":1,"ts":2}"#, &mut Fields::default(), FieldSet::ALL).is_none()
        );
        // A repeat inside a nested object declines too.
        assert!(fast::fields(
            br#"{"usage":{"cost":1,"cost":2}}"#,
            &mut Fields::default(),
            FieldSet::ALL
        )
        .is_none());
    }

    #[test]
    fn flat_record() {
        let c = parse_line(br#"{"ts":"2026-04-28T13:05:22.123Z","provider":"openrouter","model":"openai/gpt-5.4","prompt_tokens":120,"completion_tokens":30,"cached_tokens":20,"status":200,"extra":{"x":[1,2]}}"#, FieldSet::ALL).unwrap();
        assert_eq!(c.usage.prompt, 120);
        assert_eq!(c.usage.cached, 20);
        assert_eq!(c.model, "openai/gpt-5.4");
    }

    #[test]
    fn nested_openai_usage() {
        let c = parse_line(br#"{"ts":1777381522,"provider":"ominigate","model":"m","usage":{"prompt_tokens":100,"completion_tokens":7,"total_tokens":107,"prompt_tokens_details":{"cached_tokens":40,"cache_write_tokens":10},"completion_tokens_details":{"reasoning_tokens":5},"cost":0.0042,"is_byok":true}}"#, FieldSet::ALL).unwrap();
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
        let c = parse_line(br#"{"ts":"2026-04-28T00:00:00Z","provider":"openrouter","model":"anthropic/claude-sonnet-4.6","usage":{"input_tokens":10,"output_tokens":3,"cache_read_input_tokens":200,"cache_creation_input_tokens":50,"cache_creation":{"ephemeral_1h_input_tokens":20}}}"#, FieldSet::ALL).unwrap();
        assert_eq!(c.usage.prompt, 260);
        assert_eq!(c.usage.cached, 200);
        assert_eq!(c.usage.cache_write, 50);
        assert_eq!(c.usage.cache_write_1h, 20);
        assert_eq!(c.usage.completion, 3);
    }

    #[test]
    fn broken_lines_are_errors() {
        let e = parse_line(
            br#"{"ts":"2026-04-28T00:00:00Z","provider":"x","#,
            FieldSet::ALL,
        )
        .unwrap_err();
        assert!(e.reason.contains("cut short"), "{}", e.reason);
        assert!(parse_line(b"[1,2]", FieldSet::ALL).is_err());
        assert!(parse_line(b"{\"model\":\"caf\xe9\"}", FieldSet::ALL).is_err());
    }
}
