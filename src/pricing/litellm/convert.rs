//! LiteLLM's JSON to importable entries: which keys become which of our slugs (the vendor's own
//! entry before OpenRouter's), which modes and prices are importable, and each price read from
//! its JSON text as an exact decimal.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::{Entry, Prices};
use crate::domain::Money;

/// `mode`s that are billed per prompt and completion token like a chat call.
const CHAT_MODES: [&str; 3] = ["chat", "completion", "responses"];

/// LiteLLM's `litellm_provider` of a model's own vendor → the vendor part of our slugs (the
/// OpenRouter form both gateways use). Other providers are hosts (Azure, Bedrock, Vertex, …)
/// with their own prices and names, so their entries are not imported.
const VENDORS: [(&str, &str); 6] = [
    ("anthropic", "anthropic"),
    ("openai", "openai"),
    ("gemini", "google"),
    ("deepseek", "deepseek"),
    ("mistral", "mistralai"),
    ("xai", "x-ai"),
];

/// The entries of a LiteLLM file that become rows, and what was left out and why.
#[derive(Debug, Default)]
pub(crate) struct Conversion {
    /// Sorted by slug; one per slug.
    pub entries: Vec<Entry>,
    /// `mode` present and not chat, completion or responses (embeddings, images, audio, …).
    pub skipped_mode: usize,
    /// No per-token input and output price (priced per image, second, character, or free text).
    pub skipped_unpriced: usize,
    /// Served by a host other than the model's vendor or OpenRouter, or not a `vendor/model` name.
    pub skipped_host: usize,
    /// Another key gave the same slug and won (see [`slug_for`]).
    pub skipped_duplicate: usize,
    pub warnings: Vec<String>,
}

/// Where a slug came from; lower wins when two keys give the same slug. The vendor's own entry
/// is the one LiteLLM keeps complete (cache, one-hour and long-context prices); OpenRouter's are
/// the same list prices, often with fewer of them (no cache prices for Claude 3.7 Sonnet, no
/// one-hour cache write for Sonnet 4 or Opus 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Origin {
    /// The vendor's own key for exactly this slug (`gpt-5`, `claude-sonnet-4-5`).
    Vendor,
    /// The vendor's dated snapshot (`claude-3-7-sonnet-20250219`) standing for the undated slug
    /// the gateways use (`anthropic/claude-3.7-sonnet`), when the vendor has no undated key; of
    /// several snapshots the latest date.
    VendorSnapshot,
    /// A resold entry (`openrouter/…`): used only when the vendor has none.
    OpenRouter,
}

/// `claude-3.7-sonnet-20250219` → `claude-3.7-sonnet`, `gpt-5-2025-08-07` → `gpt-5`: the model
/// without its snapshot date (`-YYYYMMDD` or `-YYYY-MM-DD`), or `None` without one.
fn undated(model: &str) -> Option<&str> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((head, d)) = model.rsplit_once('-') {
        if d.len() == 8 && digits(d) && !head.is_empty() {
            return Some(head);
        }
    }
    let n = model.len();
    if n > 11 {
        let (head, tail) = model.split_at(n - 11);
        let b = tail.as_bytes();
        let shape = b[0] == b'-' && b[5] == b'-' && b[8] == b'-';
        if shape && digits(&tail[1..5]) && digits(&tail[6..8]) && digits(&tail[9..11]) {
            return Some(head);
        }
    }
    None
}

/// Our slug for a LiteLLM key, or `None` for another host's entry.
///
/// - `openrouter/<vendor>/<model>`: `<vendor>/<model>` (OpenRouter's slugs are ours).
/// - a key whose `litellm_provider` is a vendor in [`VENDORS`]: `<vendor>/<key>`, after a
///   leading `<litellm_provider>/` is dropped (`gemini/gemini-2.5-pro` → `google/gemini-2.5-pro`,
///   `gpt-5` → `openai/gpt-5`). Anthropic's hyphenated versions get OpenRouter's dot
///   (`claude-sonnet-4-5` → `claude-sonnet-4.5`, `claude-3-5-haiku-20241022` →
///   `claude-3.5-haiku-20241022`); a date stays (`claude-sonnet-4-20250514`).
pub(crate) fn slug_for(key: &str, litellm_provider: Option<&str>) -> Option<(String, Origin)> {
    let is_slug = |s: &str| {
        let mut parts = s.split('/');
        matches!((parts.next(), parts.next(), parts.next()), (Some(v), Some(m), None) if !v.is_empty() && !m.is_empty())
    };
    if let Some(rest) = key.strip_prefix("openrouter/") {
        return is_slug(rest).then(|| (rest.to_string(), Origin::OpenRouter));
    }
    let lp = litellm_provider?;
    let (_, vendor) = VENDORS.iter().find(|(p, _)| *p == lp)?;
    let model = key
        .strip_prefix(lp)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or(key);
    if model.is_empty() || model.contains('/') {
        return None;
    }
    let model = if *vendor == "anthropic" {
        dotted_version(model)
    } else {
        model.to_string()
    };
    Some((format!("{vendor}/{model}"), Origin::Vendor))
}

/// `-4-5` → `-4.5` where the second number is one digit and ends the name or a part of it.
fn dotted_version(model: &str) -> String {
    let parts: Vec<&str> = model.split('-').collect();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        let joins_with_dot = i > 0
            && p.len() == 1
            && p.bytes().all(|b| b.is_ascii_digit())
            && !parts[i - 1].is_empty()
            && parts[i - 1].bytes().all(|b| b.is_ascii_digit())
            && parts[i - 1].len() == 1;
        if i > 0 {
            out.push(if joins_with_dot { '.' } else { '-' });
        }
        out.push_str(p);
    }
    out
}

/// A JSON number's text as an exact decimal; `1.5e-05` → 0.000015. `None` for a value that is
/// not a JSON number (a string, an object).
pub(crate) fn exact_number(text: &str) -> Option<Money> {
    let t = text.trim();
    if !t.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return None;
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let mut m = Money::from_str_exact(mantissa).ok()?;
    if exp < 0 {
        let scale = m.scale().checked_add(exp.unsigned_abs())?;
        m.set_scale(scale).ok()?;
    } else {
        for _ in 0..exp {
            m = m.checked_mul(Money::TEN)?;
        }
    }
    Some(m)
}

/// Converts a LiteLLM price file; an error (not JSON, a price that is not a non-negative
/// number) is the message, for exit status 2.
pub(crate) fn convert(json: &[u8]) -> Result<Conversion, String> {
    let doc: BTreeMap<String, &RawValue> = serde_json::from_slice(json)
        .map_err(|e| format!("not a LiteLLM price file (a JSON object of models): {e}"))?;
    let mut conv = Conversion::default();
    let mut by_slug: BTreeMap<String, (Origin, Entry)> = BTreeMap::new();
    for (key, raw) in &doc {
        // Entries that are not objects (none in LiteLLM's file) cannot be priced.
        let Ok(fields) = serde_json::from_str::<BTreeMap<String, &RawValue>>(raw.get()) else {
            conv.skipped_unpriced += 1;
            continue;
        };
        let text = |name: &str| -> Option<String> {
            fields.get(name).and_then(|v| {
                serde_json::from_str::<Option<String>>(v.get())
                    .ok()
                    .flatten()
            })
        };
        if let Some(mode) = text("mode") {
            if !CHAT_MODES.contains(&mode.as_str()) {
                conv.skipped_mode += 1;
                continue;
            }
        }
        let price = |name: &str| -> Result<Option<Money>, String> {
            let Some(v) = fields.get(name) else {
                return Ok(None);
            };
            if v.get().trim() == "null" {
                return Ok(None);
            }
            let per_token = exact_number(v.get()).ok_or_else(|| {
                format!(
                    "`{key}`: {name} is `{}`, not a number (or not exact in 28 digits)",
                    v.get()
                )
            })?;
            if per_token.is_sign_negative() && !per_token.is_zero() {
                return Err(format!("`{key}`: {name} is negative ({})", v.get()));
            }
            let per_mtok = per_token
                .checked_mul(Money::from(1_000_000))
                .ok_or_else(|| format!("`{key}`: {name} is out of range ({})", v.get()))?;
            Ok(Some(per_mtok.normalize()))
        };
        let (Some(input), Some(output)) = (
            price("input_cost_per_token")?,
            price("output_cost_per_token")?,
        ) else {
            conv.skipped_unpriced += 1;
            continue;
        };
        let Some((model, origin)) = slug_for(key, text("litellm_provider").as_deref()) else {
            conv.skipped_host += 1;
            continue;
        };
        let long_in = price("input_cost_per_token_above_200k_tokens")?;
        let long_out = price("output_cost_per_token_above_200k_tokens")?;
        let long = match (long_in, long_out) {
            (Some(i), Some(o)) => Some((i, o)),
            (None, None) => None,
            _ => {
                conv.warnings.push(format!(
                    "{model} (`{key}`): only one of input/output_cost_per_token_above_200k_tokens; \
                     long-context columns left empty (the whole call moves to the long tier, so \
                     it needs both prices)"
                ));
                None
            }
        };
        for f in fields.keys() {
            if f.starts_with("input_cost_per_token_above_")
                && f.ends_with("k_tokens")
                && f != "input_cost_per_token_above_200k_tokens"
            {
                conv.warnings.push(format!(
                    "{model} (`{key}`): {f} not imported (the table holds the 200k tier only)"
                ));
            }
        }
        let entry = Entry {
            key: key.clone(),
            model: model.clone(),
            prices: Prices {
                input,
                output,
                cache_read: price("cache_read_input_token_cost")?,
                cache_write: price("cache_creation_input_token_cost")?,
                cache_write_1h: price("cache_creation_input_token_cost_above_1hr")?,
                long,
                long_threshold: super::LONG_THRESHOLD,
            },
        };
        // A vendor's dated snapshot also stands for its undated slug, below the vendor's own
        // key for that slug and above any resold one.
        if origin == Origin::Vendor {
            if let Some((vendor, m)) = model.split_once('/') {
                if let Some(short) = undated(m) {
                    let alias = Entry {
                        model: format!("{vendor}/{short}"),
                        ..entry.clone()
                    };
                    match by_slug.get(&alias.model) {
                        // Keys come in sorted order: a later snapshot replaces an earlier one.
                        Some((o, _)) if *o < Origin::VendorSnapshot => {}
                        _ => {
                            by_slug.insert(alias.model.clone(), (Origin::VendorSnapshot, alias));
                        }
                    }
                }
            }
        }
        match by_slug.get(&model) {
            Some((o, kept)) if *o <= origin => {
                if *o == origin && kept.prices.effective() != entry.prices.effective() {
                    conv.warnings.push(format!(
                        "{model}: `{}` and `{key}` disagree; kept `{}` (keys in sorted order)",
                        kept.key, kept.key
                    ));
                }
                conv.skipped_duplicate += 1;
            }
            Some((o, _)) => {
                // A snapshot standing in is no entry of the file: replacing it skips nothing.
                if *o != Origin::VendorSnapshot {
                    conv.skipped_duplicate += 1;
                }
                by_slug.insert(model, (origin, entry));
            }
            None => {
                by_slug.insert(model, (origin, entry));
            }
        }
    }
    conv.entries = by_slug.into_values().map(|(_, e)| e).collect();
    Ok(conv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn exact_numbers_from_json_text() {
        assert_eq!(exact_number("3e-06").unwrap() * dec!(1000000), dec!(3));
        assert_eq!(exact_number("1.5E-05").unwrap(), dec!(0.000015));
        assert_eq!(exact_number("3.75e-06").unwrap(), dec!(0.00000375));
        assert_eq!(exact_number("2e+1").unwrap(), dec!(20));
        assert_eq!(exact_number("0.0000003").unwrap(), dec!(0.0000003));
        assert_eq!(exact_number("-1e-06").unwrap(), dec!(-0.000001));
        assert!(exact_number("\"3e-06\"").is_none());
        assert!(exact_number("true").is_none());
    }

    #[test]
    fn slugs_from_litellm_keys() {
        let s = |k, p| slug_for(k, p).map(|(s, _)| s);
        assert_eq!(
            s("openrouter/anthropic/claude-sonnet-4.5", Some("openrouter")),
            Some("anthropic/claude-sonnet-4.5".into())
        );
        assert_eq!(s("gpt-5", Some("openai")), Some("openai/gpt-5".into()));
        assert_eq!(
            s("gemini/gemini-2.5-pro", Some("gemini")),
            Some("google/gemini-2.5-pro".into())
        );
        assert_eq!(
            s("claude-sonnet-4-5", Some("anthropic")),
            Some("anthropic/claude-sonnet-4.5".into())
        );
        assert_eq!(
            s("claude-3-5-haiku-20241022", Some("anthropic")),
            Some("anthropic/claude-3.5-haiku-20241022".into())
        );
        assert_eq!(
            s("claude-sonnet-4-20250514", Some("anthropic")),
            Some("anthropic/claude-sonnet-4-20250514".into())
        );
        assert_eq!(
            s("claude-opus-4-1", Some("anthropic")),
            Some("anthropic/claude-opus-4.1".into())
        );
        assert_eq!(s("azure/gpt-5", Some("azure")), None);
        assert_eq!(s("gpt-5", None), None);
        assert_eq!(s("openrouter/gpt-5", Some("openrouter")), None);
    }

    #[test]
    fn conversion_maps_columns_and_skips_with_counts() {
        let json = br#"{
            "sample_spec": {"mode": "one of: chat, embedding", "input_cost_per_token": 0.0},
            "claude-x-4-5": {"litellm_provider": "anthropic", "mode": "chat",
                "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06,
                "cache_creation_input_token_cost_above_1hr": 6e-06,
                "input_cost_per_token_above_200k_tokens": 6e-06,
                "output_cost_per_token_above_200k_tokens": 2.25e-05},
            "openrouter/anthropic/claude-x-4.5": {"litellm_provider": "openrouter", "mode": "chat",
                "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
            "half-long": {"litellm_provider": "openai", "mode": "chat",
                "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
                "input_cost_per_token_above_200k_tokens": 2e-06},
            "text-embedding-3-small": {"litellm_provider": "openai", "mode": "embedding",
                "input_cost_per_token": 2e-08, "output_cost_per_token": 0.0},
            "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation",
                "output_cost_per_image": 0.04},
            "gpt-image": {"litellm_provider": "openai", "mode": "chat"},
            "azure/gpt-5": {"litellm_provider": "azure", "mode": "chat",
                "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}
        }"#;
        let c = convert(json).unwrap();
        assert_eq!(
            (
                c.skipped_mode,
                c.skipped_unpriced,
                c.skipped_host,
                c.skipped_duplicate
            ),
            (3, 1, 1, 1)
        );
        let models: Vec<_> = c.entries.iter().map(|e| e.model.as_str()).collect();
        assert_eq!(models, ["anthropic/claude-x-4.5", "openai/half-long"]);
        // The vendor's own entry wins over OpenRouter's.
        assert_eq!(
            c.entries[0].prices,
            Prices {
                input: dec!(3),
                output: dec!(15),
                cache_read: Some(dec!(0.3)),
                cache_write: Some(dec!(3.75)),
                cache_write_1h: Some(dec!(6)),
                long: Some((dec!(6), dec!(22.5))),
                long_threshold: 200_000,
            }
        );
        assert_eq!(c.entries[1].prices.long, None);
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("only one of"), "{:?}", c.warnings);
    }

    #[test]
    fn snapshot_dates_come_off_and_the_latest_snapshot_stands_for_the_slug() {
        assert_eq!(
            undated("claude-3.7-sonnet-20250219"),
            Some("claude-3.7-sonnet")
        );
        assert_eq!(undated("gpt-4o-2024-08-06"), Some("gpt-4o"));
        assert_eq!(undated("gpt-5"), None);
        assert_eq!(undated("gemini-2.5-flash-preview-09-2025"), None);
        let json = br#"{
            "claude-x-1-20240101": {"litellm_provider": "anthropic", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
            "claude-x-1-20250101": {"litellm_provider": "anthropic", "input_cost_per_token": 2e-06, "output_cost_per_token": 2e-06},
            "openrouter/anthropic/claude-x-1": {"litellm_provider": "openrouter", "input_cost_per_token": 9e-06, "output_cost_per_token": 9e-06}
        }"#;
        let c = convert(json).unwrap();
        let x = c
            .entries
            .iter()
            .find(|e| e.model == "anthropic/claude-x-1")
            .unwrap();
        assert_eq!(
            (x.key.as_str(), x.prices.input),
            ("claude-x-1-20250101", dec!(2))
        );
        // The OpenRouter entry lost to the snapshot; the snapshots are entries of their own.
        assert_eq!((c.entries.len(), c.skipped_duplicate), (3, 1));
    }

    #[test]
    fn bad_prices_are_errors_naming_the_key() {
        let e = convert(br#"{"m": {"litellm_provider": "openai", "input_cost_per_token": -1e-06, "output_cost_per_token": 1e-06}}"#).unwrap_err();
        assert!(e.contains("`m`") && e.contains("negative"), "{e}");
        let e = convert(br#"{"m": {"input_cost_per_token": "cheap", "output_cost_per_token": 1}}"#)
            .unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        assert!(convert(b"{\"m\": ").is_err());
        assert!(convert(b"[1, 2]").is_err());
    }
}
