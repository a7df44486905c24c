//! The naming rules of [`super`]: pure functions from a written name to the spellings it may
//! stand for, most specific first. Which of them a table knows is [`super::ModelNames`]'s to
//! decide; nothing here knows a slug.

/// Routing prefixes of gateways and proxies, stripped from the front (repeatedly): the rest is
/// the name the gateway forwarded. (`openrouter/anthropic/claude-sonnet-4.6` as LiteLLM names an
/// OpenRouter model, `litellm_proxy/gpt-5` as it names a model behind a LiteLLM proxy.)
const ROUTERS: [&str; 2] = ["openrouter/", "litellm_proxy/"];

/// LiteLLM's prefixes of a host that serves a maker's models under the maker's own names
/// (`gemini/gemini-2.5-pro`, `vertex_ai/claude-opus-4-5@20251101`, `bedrock/us.anthropic.…`,
/// `azure/gpt-5`): one is stripped, then the name is read as a bare name.
const HOSTS: [&str; 5] = ["gemini/", "vertex_ai/", "bedrock/", "azure/", "meta_llama/"];

/// A bare name's maker, from how the name starts: the `author/` of the slugs the gateways use.
const MAKERS: [(&str, &str); 16] = [
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("codex-", "openai"),
    ("claude-", "anthropic"),
    ("gemini-", "google"),
    ("gemma-", "google"),
    ("deepseek-", "deepseek"),
    ("llama-", "meta-llama"),
    ("mistral-", "mistralai"),
    ("codestral-", "mistralai"),
    ("magistral-", "mistralai"),
    ("devstral-", "mistralai"),
    ("ministral-", "mistralai"),
    ("grok-", "x-ai"),
    ("qwen", "qwen"),
    ("kimi-", "moonshotai"),
];

/// Bedrock cross-region inference prefixes (`us.anthropic.claude-…`).
const REGIONS: [&str; 8] = [
    "us.", "eu.", "apac.", "au.", "jp.", "global.", "us-gov.", "ca.",
];

/// Bedrock's model-id makers (`anthropic.claude-…-v1:0`) → the slugs' author.
const BEDROCK_MAKERS: [(&str, &str); 4] = [
    ("anthropic.", "anthropic"),
    ("openai.", "openai"),
    ("deepseek.", "deepseek"),
    ("meta.", "meta-llama"),
];

/// Gateways: a provider name that is not a maker, so it is never taken as a bare name's author.
const GATEWAYS: [&str; 4] = ["openrouter", "ominigate", "litellm", "litellm_proxy"];

/// Lower case, trimmed, each run of white space one `-`: `Claude Opus 4.5` → `claude-opus-4.5`.
pub(super) fn normalise(written: &str) -> String {
    let mut out = String::with_capacity(written.len());
    for (i, word) in written.split_whitespace().enumerate() {
        if i > 0 {
            out.push('-');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// The name without the routing prefixes of [`ROUTERS`], one host prefix of [`HOSTS`] and a
/// Bedrock version `-vN:M`: `openrouter/openai/gpt-5` → `openai/gpt-5`,
/// `bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0` →
/// `us.anthropic.claude-3-5-haiku-20241022`.
pub(super) fn strip_routing(n: &str) -> &str {
    let mut n = n;
    while let Some(rest) = ROUTERS.iter().find_map(|p| n.strip_prefix(p)) {
        n = rest;
    }
    if let Some(rest) = HOSTS.iter().find_map(|p| n.strip_prefix(p)) {
        n = rest;
    }
    // A Bedrock version (`-v1:0`): the colon tells it from a name's own `-v3`.
    match n.rsplit_once("-v") {
        Some((head, v)) if !head.is_empty() && bedrock_version(v) && v.contains(':') => head,
        _ => n,
    }
}

/// `1:0`, `2:0`, `1`: a Bedrock model version after its `-v`.
fn bedrock_version(v: &str) -> bool {
    v.split(':')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A Bedrock model id (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`,
/// `anthropic.claude-opus-4-6-v1`) as `author/name` without its region and version suffix.
fn bedrock(n: &str) -> Option<String> {
    if n.contains('/') {
        return None;
    }
    let n = REGIONS.iter().find_map(|r| n.strip_prefix(r)).unwrap_or(n);
    let (author, name) = BEDROCK_MAKERS
        .iter()
        .find_map(|(p, a)| n.strip_prefix(p).map(|rest| (*a, rest)))?;
    // `-v1:0`, `-v2:0`, `-v1`.
    let name = match name.rsplit_once("-v") {
        Some((head, v)) if !head.is_empty() && bedrock_version(v) => head,
        _ => name,
    };
    (!name.is_empty()).then(|| format!("{author}/{name}"))
}

/// The maker of a bare name by how it starts ([`MAKERS`], and OpenAI's `o1`, `o3`, `o4-mini`…),
/// else the provider when it names no gateway.
fn maker<'a>(bare: &str, provider: &'a str) -> Option<&'a str> {
    let b = bare.as_bytes();
    if b.len() >= 2 && b[0] == b'o' && b[1].is_ascii_digit() {
        return Some("openai");
    }
    if let Some((_, m)) = MAKERS.iter().find(|(p, _)| bare.starts_with(p)) {
        return Some(m);
    }
    if bare == "claude" {
        return Some("anthropic");
    }
    let p = provider.trim();
    let known_gateway = GATEWAYS.iter().any(|g| p.eq_ignore_ascii_case(g));
    (!p.is_empty() && !known_gateway && !p.contains(['/', ' '])).then_some(p)
}

/// The name as an `author/name` slug: a Bedrock id rewritten, a bare name given its maker
/// ([`maker`]; `provider` is the fallback author). `None` for a bare name of no known maker, or
/// a name of more than one `/`.
pub(super) fn with_maker(stripped: &str, provider: &str) -> Option<String> {
    if let Some(b) = bedrock(stripped) {
        return Some(b);
    }
    match stripped.split_once('/') {
        Some((a, n)) => {
            (!a.is_empty() && !n.is_empty() && !n.contains('/')).then(|| stripped.to_string())
        }
        None if stripped.is_empty() => None,
        None => {
            let m = maker(stripped, provider)?;
            Some(format!("{}/{stripped}", m.to_ascii_lowercase()))
        }
    }
}

/// Cuts a trailing snapshot: `-YYYYMMDD` or `-YYYY-MM-DD` (a real calendar date), or a Vertex
/// pin `@…` (`claude-opus-4-5@20251101`, `claude-sonnet-4-6@default`).
pub(super) fn strip_date(name: &str) -> &str {
    if let Some((head, _)) = name.split_once('@') {
        if !head.is_empty() {
            return head;
        }
    }
    let is_date = |s: &str, fmt: &str| chrono::NaiveDate::parse_from_str(s, fmt).is_ok();
    let b = name.as_bytes();
    if b.len() >= 9 && b[b.len() - 9] == b'-' {
        let tail = &name[name.len() - 8..];
        if tail.bytes().all(|c| c.is_ascii_digit()) && is_date(tail, "%Y%m%d") {
            return &name[..name.len() - 9];
        }
    }
    if b.len() >= 11 && b[b.len() - 11] == b'-' {
        let tail = &name[name.len() - 10..];
        let shape = tail.bytes().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
        if shape && is_date(tail, "%Y-%m-%d") {
            return &name[..name.len() - 11];
        }
    }
    name
}

/// A Claude name in the order the public slugs use: the version dotted, after the family for
/// Claude 4 and later, before it for Claude 3 (`claude-4.6-sonnet` → `claude-sonnet-4.6`,
/// `claude-sonnet-4-5` → `claude-sonnet-4.5`, `claude-3-7-sonnet` → `claude-3.7-sonnet`,
/// `claude-haiku-3.5` → `claude-3.5-haiku`); a trailing date is kept at the end
/// (`claude-4-opus-20250514` → `claude-opus-4-20250514`). `None` when the name is not a Claude
/// name of one family word and one version.
pub(super) fn claude(name: &str) -> Option<String> {
    let rest = name.strip_prefix("claude-")?;
    let mut parts: Vec<&str> = rest.split('-').collect();
    let date = match parts.last() {
        Some(d) if d.len() == 8 && strip_date(&format!("x-{d}")) == "x" => parts.pop(),
        _ => None,
    };
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let word = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_lowercase());
    // A version: `4.6`, `4`, or `4-6` (a second number of at most two digits).
    let version = |p: &[&str]| -> Option<(String, u32, usize)> {
        let first = *p.first()?;
        if let Some((a, b)) = first.split_once('.') {
            if !(numeric(a) && numeric(b)) {
                return None;
            }
            return Some((first.to_string(), a.parse().ok()?, 1));
        }
        if !numeric(first) {
            return None;
        }
        let major: u32 = first.parse().ok()?;
        match p.get(1) {
            Some(m) if numeric(m) && m.len() <= 2 => Some((format!("{first}.{m}"), major, 2)),
            _ => Some((first.to_string(), major, 1)),
        }
    };
    let (family, (v, major, _)) = match version(&parts) {
        // Version first: `4.6-sonnet`, `3-7-sonnet`.
        Some((v, major, used)) => match &parts[used..] {
            [f] if word(f) => (*f, (v, major, used)),
            _ => return None,
        },
        // Family first: `sonnet-4-5`, `opus-4`.
        None => match parts.split_first() {
            Some((f, tail)) if word(f) => match version(tail) {
                Some((v, major, used)) if used == tail.len() => (*f, (v, major, used)),
                _ => return None,
            },
            _ => return None,
        },
    };
    let mut out = if major >= 4 {
        format!("claude-{family}-{v}")
    } else {
        format!("claude-{v}-{family}")
    };
    if let Some(d) = date {
        out.push('-');
        out.push_str(d);
    }
    Some(out)
}

/// The spellings a rule may give `full` (an `author/name` slug), most specific first: the
/// Claude order, then the snapshot cut, then both. Without `full` itself; may repeat.
pub(super) fn rule_forms(full: &str) -> Vec<String> {
    let Some((author, name)) = full.split_once('/') else {
        return Vec::new();
    };
    let cut = strip_date(name);
    [claude(name), Some(cut.to_string()), claude(cut)]
        .into_iter()
        .flatten()
        .filter(|n| !n.is_empty() && n != name)
        .map(|n| format!("{author}/{n}"))
        .collect()
}

/// Today's OpenRouter permaslug rule, kept for an export's permaslug column that no table
/// resolves: the snapshot cut and the Claude order, whatever the result names. `None` for a
/// string that is not an `author/model` slug (white space inside, an empty part, no `/`).
pub(super) fn permaslug_form(p: &str) -> Option<String> {
    let p = p.trim();
    let (author, name) = p.split_once('/')?;
    if author.is_empty() || name.is_empty() || name.contains('/') || p.contains(char::is_whitespace)
    {
        return None;
    }
    let name = strip_date(name);
    if name.is_empty() {
        return None;
    }
    let name = claude(name).unwrap_or_else(|| name.to_string());
    Some(format!("{author}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_order() {
        let c = |s: &str| claude(s);
        let some = |s: &str| Some(s.to_string());
        assert_eq!(c("claude-4.6-sonnet"), some("claude-sonnet-4.6"));
        assert_eq!(c("claude-sonnet-4-5"), some("claude-sonnet-4.5"));
        assert_eq!(c("claude-sonnet-4.5"), some("claude-sonnet-4.5"));
        assert_eq!(c("claude-opus-4"), some("claude-opus-4"));
        assert_eq!(c("claude-4-opus"), some("claude-opus-4"));
        assert_eq!(c("claude-3-7-sonnet"), some("claude-3.7-sonnet"));
        assert_eq!(c("claude-haiku-3.5"), some("claude-3.5-haiku"));
        assert_eq!(c("claude-4-opus-20250514"), some("claude-opus-4-20250514"));
        assert_eq!(c("claude-opus-4-6-v1"), None);
        assert_eq!(c("claude-instant"), None);
        assert_eq!(c("gpt-5"), None);
    }

    #[test]
    fn dates_and_pins() {
        assert_eq!(strip_date("gpt-5-mini-2025-08-07"), "gpt-5-mini");
        assert_eq!(strip_date("claude-sonnet-4-20250514"), "claude-sonnet-4");
        assert_eq!(strip_date("claude-opus-4-5@20251101"), "claude-opus-4-5");
        assert_eq!(strip_date("claude-sonnet-4-6@default"), "claude-sonnet-4-6");
        assert_eq!(strip_date("model-12345678"), "model-12345678");
        assert_eq!(
            strip_date("gemini-2.5-flash-preview-09-2025"),
            "gemini-2.5-flash-preview-09-2025"
        );
    }

    #[test]
    fn routing_bedrock_and_makers() {
        assert_eq!(
            strip_routing("openrouter/anthropic/claude-sonnet-4.6"),
            "anthropic/claude-sonnet-4.6"
        );
        assert_eq!(
            strip_routing("litellm_proxy/openrouter/openai/o3"),
            "openai/o3"
        );
        assert_eq!(
            with_maker("us.anthropic.claude-3-5-haiku-20241022-v1:0", "bedrock").as_deref(),
            Some("anthropic/claude-3-5-haiku-20241022")
        );
        assert_eq!(
            with_maker("anthropic.claude-opus-4-6-v1", "").as_deref(),
            Some("anthropic/claude-opus-4-6")
        );
        assert_eq!(with_maker("o4-mini", "").as_deref(), Some("openai/o4-mini"));
        assert_eq!(
            with_maker("gpt-5", "openrouter").as_deref(),
            Some("openai/gpt-5")
        );
        assert_eq!(with_maker("mystery", "openrouter"), None);
        assert_eq!(
            with_maker("mystery", "acme").as_deref(),
            Some("acme/mystery")
        );
        assert_eq!(with_maker("a/b/c", ""), None);
        assert_eq!(normalise("  Claude   Opus 4.5 "), "claude-opus-4.5");
    }
}
