//! Reading records through a [`Mapping`]: the JSON key-tree scanner (one pass, strings borrowed,
//! no value tree), its `serde_json` fallback for lines the scanner declines, the column maps of
//! CSV and Parquet files, and [`Found::finish`], which applies the schema's conventions
//! (timestamp form, gateway host, constants, status text) and hands on the §1 fields.

use std::borrow::Cow;

use chrono::{NaiveDateTime, TimeZone};

use super::mapping::{Dest, Leaf, Mapping, TsForm};
use crate::sources::json_scan::Scan;
use crate::sources::record::{auto_ts_ms, short, FieldId, FieldSet, Fields, RowError, Scalar};
use crate::sources::timestamp::parse_ts_str;

const NONE: u8 = u8::MAX;
/// Host paths a record keeps (`[gateway] hosts_from` holds at most this many).
pub(crate) const MAX_HOSTS: usize = 4;
/// Paths `[schema] skip_when` may test.
pub(crate) const MAX_SKIPS: usize = 4;

/// What a record gave so far, each field with the rank of the path it came from.
pub(crate) struct Found<'a> {
    pub f: Fields<'a>,
    ranks: [u8; 24],
    end: Option<(u8, Scalar<'a>)>,
    hosts: [Option<Scalar<'a>>; MAX_HOSTS],
    failed: bool,
    called: bool,
    skip_seen: [Option<Scalar<'a>>; MAX_SKIPS],
}

impl Default for Found<'_> {
    fn default() -> Self {
        Found {
            f: Fields::default(),
            ranks: [NONE; 24],
            end: None,
            hosts: Default::default(),
            failed: false,
            called: false,
            skip_seen: Default::default(),
        }
    }
}

/// A present value that says yes: `true`, a non-zero number, or text other than empty, `0`,
/// `false`, `no`.
fn truthy(v: &Scalar) -> bool {
    match v {
        Scalar::B(b) => *b,
        Scalar::U(n) => *n != 0,
        Scalar::I(n) => *n != 0,
        Scalar::F(f) => *f != 0.0,
        Scalar::S(s) => {
            let t = s.trim();
            !(t.is_empty()
                || t == "0"
                || t.eq_ignore_ascii_case("false")
                || t.eq_ignore_ascii_case("no"))
        }
    }
}

impl<'a> Found<'a> {
    /// Gives `v` to each destination of a path; a field keeps the value of its best-ranked path.
    /// Empty text counts as absent, as an empty CSV cell does.
    #[inline]
    pub(crate) fn put(&mut self, leaves: &[Leaf], v: Scalar<'a>) {
        if matches!(&v, Scalar::S(s) if s.is_empty()) {
            return;
        }
        for leaf in leaves {
            match leaf.dest {
                Dest::Field(id) => {
                    let r = &mut self.ranks[id as usize];
                    if leaf.rank < *r {
                        *r = leaf.rank;
                        *self.f.slot(id) = Some(v.clone());
                    }
                }
                Dest::End => {
                    if self.end.as_ref().is_none_or(|(r, _)| leaf.rank < *r) {
                        self.end = Some((leaf.rank, v.clone()));
                    }
                }
                Dest::Host => {
                    if let Some(h) = self.hosts.get_mut(leaf.rank as usize) {
                        *h = Some(v.clone());
                    }
                }
                Dest::Failed => self.failed |= truthy(&v),
                Dest::Call => self.called = true,
                Dest::SkipWhen(i) => {
                    if let Some(s) = self.skip_seen.get_mut(i as usize) {
                        *s = Some(v.clone());
                    }
                }
            }
        }
    }

    fn has(&self, id: FieldId) -> bool {
        self.ranks[id as usize] != NONE
    }

    /// Applies the schema's conventions. `Ok(None)`: the record carries no token count at all,
    /// so it is not an LLM call (an HTTP span, a tool call) and is skipped, not rejected.
    pub(crate) fn finish<'m: 'a>(
        mut self,
        m: &'m Mapping,
        needed: FieldSet,
    ) -> Result<Option<Fields<'a>>, RowError> {
        for (seen, values) in self.skip_seen.iter().zip(&m.skip_values) {
            let hit = match seen {
                Some(Scalar::S(s)) => values.iter().any(|v| s.trim().eq_ignore_ascii_case(v)),
                Some(Scalar::U(n)) => values.contains(&n.to_string()),
                Some(Scalar::I(n)) => values.contains(&n.to_string()),
                Some(Scalar::B(b)) => values.contains(&b.to_string()),
                _ => false,
            };
            if hit {
                return Ok(None);
            }
        }
        let has_tokens = m.token_fields.iter().any(|&id| self.has(id));
        if !(if m.call_when { self.called } else { has_tokens }) {
            return Ok(None);
        }
        // The gateway: a known host first (an OpenAI SDK pointed at a gateway reports
        // `openai` as its provider), then the provider as written, then the constant.
        for h in self.hosts.iter().flatten() {
            if let Scalar::S(s) = h {
                if let Some(g) = m.gateway_of_host(s) {
                    self.f.provider = Some(Scalar::S(Cow::Borrowed(g)));
                    self.ranks[FieldId::Provider as usize] = 0;
                    break;
                }
            }
        }
        for (id, v) in &m.constants {
            if !self.has(*id) {
                *self.f.slot(*id) = Some(Scalar::S(Cow::Borrowed(v)));
            }
        }
        if let Some(ts) = &self.f.ts {
            if m.ts_form != TsForm::Auto || self.end.is_some() {
                let ns = ts_ns(ts, m).map_err(|e| RowError::new(Some("ts"), e))?;
                self.f.ts_ms = Some(ns.div_euclid(1_000_000) as i64);
                if let (Some((_, end)), None) = (&self.end, &self.f.latency_ms) {
                    let end = ts_ns(end, m).map_err(|e| RowError::new(Some("latency_ms"), e))?;
                    if end >= ns {
                        self.f.latency_ms = Some(Scalar::F((end - ns) as f64 / 1e6));
                    }
                }
            }
        }
        if let Some(Scalar::S(s)) = &self.f.status {
            if s.trim().parse::<u64>().is_err() {
                match m.status_of_text(s) {
                    Some(code) => self.f.status = Some(Scalar::U(code as u64)),
                    None => {
                        return Err(RowError::new(
                            Some("status"),
                            format!(
                                "status `{}` is neither an HTTP status nor a [status] text of schema `{}`",
                                short(s),
                                m.name
                            ),
                        ))
                    }
                }
            }
        }
        if self.failed {
            let ok = match &self.f.status {
                None => true,
                Some(Scalar::U(n)) => (200..300).contains(n),
                Some(Scalar::S(s)) => s.trim().starts_with('2'),
                Some(_) => false,
            };
            if ok {
                self.f.status = Some(Scalar::U(500));
            }
        }
        // A failed call that reports no usage (an error span, a refused request) used no
        // tokens; a successful one without counts is rejected for the missing field.
        let failed = match &self.f.status {
            Some(Scalar::U(n)) => !(200..300).contains(n),
            Some(Scalar::I(n)) => !(200..300).contains(n),
            Some(Scalar::S(s)) => s
                .trim()
                .parse::<u64>()
                .is_ok_and(|n| !(200..300).contains(&n)),
            _ => false,
        };
        if failed && !has_tokens {
            self.f.prompt_tokens = Some(Scalar::U(0));
            self.f.completion_tokens = Some(Scalar::U(0));
        }
        // Fields the command does not read are not checked, as with §1 records.
        self.f.retain(needed);
        Ok(Some(self.f))
    }
}

/// A timestamp in the schema's form, as nanoseconds since the epoch.
fn ts_ns(v: &Scalar, m: &Mapping) -> Result<i128, String> {
    const NS: i128 = 1_000_000_000;
    let int = |v: &Scalar| -> Result<Option<u64>, String> {
        Ok(match v {
            Scalar::U(n) => Some(*n),
            Scalar::I(n) if *n < 0 => return Err(format!("negative epoch timestamp {n}")),
            Scalar::I(n) => Some(*n as u64),
            Scalar::S(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        })
    };
    let float = |v: &Scalar| -> Result<f64, String> {
        let f = match v {
            Scalar::U(n) => *n as f64,
            Scalar::I(n) => *n as f64,
            Scalar::F(f) => *f,
            Scalar::S(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("`{}` is not an epoch number", short(s)))?,
            Scalar::B(_) => return Err("expected a timestamp, found a boolean".into()),
        };
        if !f.is_finite() || f < 0.0 {
            return Err(format!("epoch timestamp {f} is negative or not a number"));
        }
        Ok(f)
    };
    // Up to the year 5138, as for every other timestamp the tool reads.
    let bounded = |ns: i128| -> Result<i128, String> {
        if ns <= 0 {
            Err("timestamp is 0 or before 1970 (unset?)".into())
        } else if ns >= 100_000_000_000_000 * 1_000_000 {
            Err("timestamp is after the year 5138".into())
        } else {
            Ok(ns)
        }
    };
    match m.ts_form {
        TsForm::Auto => Ok(auto_ts_ms(v)? as i128 * 1_000_000),
        TsForm::Rfc3339 => match v {
            Scalar::S(s) => Ok(parse_ts_str(s)? as i128 * 1_000_000),
            _ => Err("expected RFC 3339 text".into()),
        },
        TsForm::EpochNs => match int(v)? {
            Some(n) if n > i64::MAX as u64 => Err(format!(
                "epoch nanoseconds {n} are past the year 2262 (the 64-bit limit)"
            )),
            Some(n) => bounded(n as i128),
            None => Err("expected integer epoch nanoseconds".into()),
        },
        TsForm::EpochUs => match int(v)? {
            Some(n) => bounded(n as i128 * 1_000),
            None => bounded(float(v)?.round() as i128 * 1_000),
        },
        TsForm::EpochMs => match int(v)? {
            Some(n) => bounded(n as i128 * 1_000_000),
            None => bounded((float(v)? * 1e3).round() as i128 * 1_000),
        },
        TsForm::EpochS => match int(v)? {
            Some(n) => bounded(n as i128 * NS),
            // Fractions of a second to the millisecond, as the auto form reads them.
            None => bounded((float(v)? * 1e3).round() as i128 * 1_000_000),
        },
        TsForm::Naive => match v {
            Scalar::S(s) => naive_ns(s.trim(), m),
            _ => Err("expected a date and time as text".into()),
        },
    }
}

/// `2026-04-28 13:05:22.123` (or with `T`) read in the schema's zone; text with an offset or
/// `Z` keeps its own.
fn naive_ns(s: &str, m: &Mapping) -> Result<i128, String> {
    let parsed = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"));
    match parsed {
        Ok(t) => {
            let at = m.zone.from_local_datetime(&t).earliest().ok_or_else(|| {
                format!(
                    "`{}` does not exist in {} (a daylight-saving gap)",
                    short(s),
                    m.zone
                )
            })?;
            let ns = at.timestamp() as i128 * 1_000_000_000 + at.timestamp_subsec_nanos() as i128;
            Ok(ns)
        }
        Err(_) => Ok(parse_ts_str(s)? as i128 * 1_000_000),
    }
}

/// Reads one JSON line through the mapping: `Ok(None)` for a record that is not a call.
pub(crate) fn parse_line<'a>(
    line: &'a [u8],
    m: &'a Mapping,
    needed: FieldSet,
) -> Result<Option<Fields<'a>>, RowError> {
    let mut found = Found::default();
    let mut s = Scan::new(line);
    s.ws();
    let fast = object(&mut s, m, 0, &mut found, |v| v, 0).and_then(|()| {
        s.ws();
        (s.i == s.b.len()).then_some(())
    });
    if fast.is_none() {
        return parse_line_serde(line, m, needed);
    }
    found.finish(m, needed)
}

/// The reference read: `serde_json` into a value, walked with the same key tree.
fn parse_line_serde<'a>(
    line: &'a [u8],
    m: &'a Mapping,
    needed: FieldSet,
) -> Result<Option<Fields<'a>>, RowError> {
    let mut found = Found::default();
    let value: serde_json::Value = serde_json::from_slice(line).map_err(|e| {
        let what = if e.is_eof() {
            "line is cut short"
        } else {
            "not a valid JSON object"
        };
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        RowError::new(None, format!("{what}: {msg} (at character {})", e.column()))
    })?;
    let serde_json::Value::Object(map) = &value else {
        return Err(RowError::new(None, "not a JSON object"));
    };
    walk(map, m, 0, &mut found);
    found.finish(m, needed)
}

/// One object level of the key tree. `own` turns a scalar read from `s` into one that lives as
/// long as the record (the identity, or a copy for text decoded out of a JSON string).
pub(crate) fn object<'b, 'a>(
    s: &mut Scan<'b>,
    m: &Mapping,
    node: usize,
    out: &mut Found<'a>,
    own: fn(Scalar<'b>) -> Scalar<'a>,
    depth: u8,
) -> Option<()> {
    if depth > 32 {
        return None;
    }
    s.each_key(|s, key| {
        match m.edge(node, key) {
            None => s.skip(depth)?,
            Some(edge) => match (*s.b.get(s.i)?, edge.child) {
                (b'{', Some(child)) => object(s, m, child as usize, out, own, depth + 1)?,
                (b'"', child) => {
                    let text = s.string_cow()?;
                    if let Some(child) = child {
                        // A string holding JSON text (LiteLLM's `metadata`): read inside it.
                        let mut inner = Scan::new(text.as_bytes());
                        inner.ws();
                        let _ = object(
                            &mut inner,
                            m,
                            child as usize,
                            out,
                            Scalar::into_owned,
                            depth + 1,
                        );
                    }
                    if !edge.leaves.is_empty() {
                        let v = match text {
                            Cow::Borrowed(t) => own(Scalar::S(Cow::Borrowed(t))),
                            Cow::Owned(t) => Scalar::S(Cow::Owned(t)),
                        };
                        out.put(&edge.leaves, v);
                    }
                }
                _ if edge.leaves.is_empty() => s.skip(depth)?,
                (b'{' | b'[', None) => s.skip(depth)?,
                _ => {
                    if let Some(v) = s.scalar()? {
                        out.put(&edge.leaves, own(v));
                    }
                }
            },
        }
        Some(())
    })
}

/// The fallback: the same walk over a parsed `serde_json` value.
pub(crate) fn walk<'a>(
    map: &serde_json::Map<String, serde_json::Value>,
    m: &Mapping,
    node: usize,
    out: &mut Found<'a>,
) {
    use serde_json::Value;
    for (k, v) in map {
        let Some(edge) = m.edge(node, k.as_bytes()) else {
            continue;
        };
        match (v, edge.child) {
            (Value::Object(inner), Some(child)) => walk(inner, m, child as usize, out),
            (Value::String(text), child) => {
                if let Some(child) = child {
                    if let Ok(Value::Object(inner)) = serde_json::from_str::<Value>(text) {
                        walk(&inner, m, child as usize, out);
                    }
                }
                out.put(&edge.leaves, Scalar::S(Cow::Owned(text.clone())));
            }
            (Value::Bool(b), _) => out.put(&edge.leaves, Scalar::B(*b)),
            (Value::Number(n), _) => {
                let v = if let Some(u) = n.as_u64() {
                    Scalar::U(u)
                } else if let Some(i) = n.as_i64() {
                    Scalar::I(i)
                } else {
                    Scalar::F(n.as_f64().unwrap_or(f64::NAN))
                };
                out.put(&edge.leaves, v);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    pub(crate) fn mapping(text: &str) -> Mapping {
        Mapping::parse(Path::new("t.toml"), text, "t").unwrap()
    }

    pub(crate) const LITE: &str = r#"
[fields]
ts = "startTime"
model = "model"
provider = "custom_llm_provider"
prompt_tokens = "prompt_tokens"
completion_tokens = "completion_tokens"
cached_tokens = "metadata.usage_object.prompt_tokens_details.cached_tokens"
tenant = ["metadata.user_api_key_team_alias", "team_id"]
status = "status"
cost = "spend"
[timestamp]
form = "naive"
end = "endTime"
[gateway]
hosts_from = ["api_base"]
[status]
text = { success = 200, failure = 500 }
"#;

    #[test]
    fn json_rows_read_nested_paths_text_and_hosts() {
        let m = mapping(LITE);
        let line = br#"{"request_id":"r1","startTime":"2026-04-28 13:05:22.123","endTime":"2026-04-28 13:05:23.623","model":"gpt-5","custom_llm_provider":"openai","api_base":"https://api.ominigate.ai/v1","prompt_tokens":100,"completion_tokens":7,"spend":0.0012,"team_id":"t9","status":"success","metadata":"{\"usage_object\":{\"prompt_tokens_details\":{\"cached_tokens\":40}},\"user_api_key_team_alias\":\"search\"}"}"#;
        let f = parse_line(line, &m, FieldSet::ALL).unwrap().unwrap();
        let c = f.into_call().unwrap();
        assert_eq!(c.provider, "ominigate");
        assert_eq!(c.usage.prompt, 100);
        assert_eq!(c.usage.cached, 40);
        assert_eq!(c.tenant.as_deref(), Some("search"));
        assert_eq!(c.status, 200);
        assert_eq!(c.latency_ms, Some(1500.0));
        assert_eq!(c.ts_ms, 1777381522123);
        assert_eq!(c.cost.unwrap().to_string(), "0.0012");
    }

    #[test]
    fn the_fallback_reads_what_the_scanner_declines() {
        let m = mapping(LITE);
        // A key with an escape declines the scanner; serde_json reads it the same way.
        let line = br#"{"startTime":"2026-04-28 13:05:22","model":"gpt-\u0035","custom_llm_provider":"OpenRouter","prompt_tokens":100,"completion_tokens":7,"status":"failure","k\u0065y":1,"metadata":{"user_api_key_team_alias":"x"}}"#;
        let c = parse_line(line, &m, FieldSet::ALL)
            .unwrap()
            .unwrap()
            .into_call()
            .unwrap();
        assert_eq!(c.model, "gpt-5");
        assert_eq!(c.provider, "openrouter");
        assert_eq!(c.status, 500);
        assert_eq!(c.tenant.as_deref(), Some("x"));
    }

    #[test]
    fn records_without_tokens_are_skipped_and_bad_ones_rejected() {
        let m = mapping(LITE);
        assert!(parse_line(
            br#"{"startTime":"2026-04-28 13:05:22","model":"m"}"#,
            &m,
            FieldSet::ALL
        )
        .unwrap()
        .is_none());
        let e = parse_line(br#"{"startTime":"yesterday","model":"m","custom_llm_provider":"p","prompt_tokens":1,"completion_tokens":1}"#, &m, FieldSet::ALL).unwrap_err();
        assert_eq!(e.column, Some("ts"));
        let e = parse_line(br#"{"startTime":"2026-04-28 13:05:22","model":"m","custom_llm_provider":"p","prompt_tokens":1,"completion_tokens":1,"status":"pending"}"#, &m, FieldSet::ALL).unwrap_err();
        assert!(e.reason.contains("pending"), "{}", e.reason);
        let e = parse_line(br#"{"startTime":"2026-04-28 13:05:22","model":"m","custom_llm_provider":"p","prompt_tokens":"12x","completion_tokens":1}"#, &m, FieldSet::ALL)
            .unwrap()
            .unwrap()
            .into_call()
            .unwrap_err();
        assert_eq!(e.column, Some("prompt_tokens"));
        assert!(parse_line(br#"{"startTime":"#, &m, FieldSet::ALL)
            .unwrap_err()
            .reason
            .contains("cut short"));
    }

    proptest::proptest! {
        /// Cut or corrupted LiteLLM rows never panic; where the scanner reads a line, serde_json
        /// reads the same fields from it.
        #[test]
        fn mutated_rows_read_the_same_both_ways(cut in 0usize..3000, at in 0usize..3000, byte in proptest::prelude::any::<u8>()) {
            let m = match crate::sources::schema::Schema::resolve("litellm").unwrap() {
                crate::sources::schema::Schema::Mapped(m) => m,
                _ => unreachable!(),
            };
            let text = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/schemas/litellm_spendlogs.jsonl"),
            )
            .unwrap();
            for line in text.lines().filter(|l| !l.is_empty()) {
                let mut b = line.as_bytes().to_vec();
                let i = at % b.len();
                b[i] = byte;
                b.truncate(b.len() - cut % b.len());
                let shown = |r: Result<Option<Fields>, RowError>| {
                    format!("{:?}", r.map(|f| f.map(|f| f.into_call())))
                };
                let fast = shown(parse_line(&b, &m, FieldSet::ALL));
                let serde = shown(parse_line_serde(&b, &m, FieldSet::ALL));
                if serde.starts_with("Ok") {
                    proptest::prop_assert_eq!(fast, serde);
                }
            }
        }
    }

    #[test]
    fn timestamp_forms() {
        let at = |form: &str, v: Scalar| {
            let m = mapping(&format!(
                "[fields]\nts=\"t\"\nmodel=\"m\"\nprovider=\"p\"\nprompt_tokens=\"a\"\ncompletion_tokens=\"b\"\n[timestamp]\nform=\"{form}\"\nzone=\"Europe/Berlin\"\n"
            ));
            ts_ns(&v, &m)
        };
        let s = |t: &str| Scalar::S(Cow::Owned(t.to_string()));
        let want = 1_777_381_522_123_000_000i128;
        assert_eq!(at("epoch_ns", s("1777381522123000000")), Ok(want));
        assert_eq!(at("epoch_us", Scalar::U(1_777_381_522_123_000)), Ok(want));
        assert_eq!(at("epoch_ms", Scalar::U(1_777_381_522_123)), Ok(want));
        assert_eq!(at("epoch_s", Scalar::F(1_777_381_522.123)), Ok(want));
        assert_eq!(at("rfc3339", s("2026-04-28T13:05:22.123Z")), Ok(want));
        // Berlin is UTC+2 in April.
        assert_eq!(at("naive", s("2026-04-28 15:05:22.123")), Ok(want));
        assert_eq!(at("naive", s("2026-04-28T13:05:22.123Z")), Ok(want));
        assert!(at("epoch_ns", s("9300000000000000000"))
            .unwrap_err()
            .contains("2262"));
        assert!(at("epoch_ns", Scalar::U(0)).is_err());
        assert!(at("naive", s("2026-03-29 02:30:00"))
            .unwrap_err()
            .contains("gap"));
        assert!(at("rfc3339", Scalar::U(5)).is_err());
    }

    #[test]
    fn call_when_skip_when_and_dotted_keys() {
        let m = mapping(
            "[schema]\ncall_when = [\"model\"]\nskip_when = { cache_hit = [\"True\"] }\n[fields]\nts = \"t\"\nmodel = \"model\"\nprovider = \"p\"\nprompt_tokens = \"in\"\ncompletion_tokens = \"out\"\nstatus = \"level\"\n[gateway]\nhosts_from = [\"meta.attrs.server.address\"]\n[status]\ntext = { ERROR = 500, DEFAULT = 200 }\n",
        );
        let call = |line: &str| {
            parse_line(line.as_bytes(), &m, FieldSet::ALL).map(|f| {
                f.map(|f| {
                    f.into_call()
                        .map(|c| (c.provider.to_string(), c.status, c.usage.prompt))
                })
            })
        };
        // Tokens present (0) but no model: a span, skipped.
        assert_eq!(
            call(r#"{"t":"2026-04-28T00:00:00Z","in":0,"out":0}"#),
            Ok(None)
        );
        // A failed generation without usage: a failed call with 0 tokens.
        assert_eq!(
            call(r#"{"t":"2026-04-28T00:00:00Z","model":"m","p":"x","level":"ERROR"}"#),
            Ok(Some(Ok(("x".into(), 500, 0))))
        );
        // A successful one without usage is rejected for it.
        let e = call(r#"{"t":"2026-04-28T00:00:00Z","model":"m","p":"x","level":"DEFAULT"}"#)
            .unwrap()
            .unwrap()
            .unwrap_err();
        assert_eq!(e.column, Some("prompt_tokens"));
        // A response-cache hit: skipped, whatever its case.
        assert_eq!(
            call(
                r#"{"t":"2026-04-28T00:00:00Z","model":"m","p":"x","in":5,"out":1,"cache_hit":"true"}"#
            ),
            Ok(None)
        );
        // A key holding dots matches the steps it spells; the host decides the gateway.
        assert_eq!(
            call(
                r#"{"t":"2026-04-28T00:00:00Z","model":"m","p":"x","in":5,"out":1,"meta":{"attrs":{"server.address":"openrouter.ai"}}}"#
            ),
            Ok(Some(Ok(("openrouter".into(), 200, 5))))
        );
    }
}
