//! The schema file (TOML, docs/schemas.md): which path of the user's records feeds each field of
//! docs/formats.md §1, in what timestamp form, with which constants and status conventions. It is
//! read once and compiled into a [`Mapping`]: a key tree the JSON scanner walks and a path list
//! the column readers match headers against, so no record is ever turned into a value tree.

use std::collections::BTreeMap;
use std::path::Path;

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use super::rows::{MAX_HOSTS, MAX_SKIPS};
use crate::sources::record::FieldId;

/// The schema file as written. Every table refuses unknown keys, so a typo is an error with its
/// line rather than a field silently never read.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    schema: SchemaTable,
    #[serde(default)]
    fields: FieldTable,
    #[serde(default)]
    timestamp: TimestampTable,
    #[serde(default)]
    gateway: GatewayTable,
    #[serde(default)]
    constants: FieldTable<Spanned<toml::Value>>,
    #[serde(default)]
    status: StatusTable,
    /// Group fields `--by NAME` may choose besides `tenant`: name → path(s) (docs/schemas.md).
    #[serde(default)]
    by: BTreeMap<String, Paths>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SchemaTable {
    name: Option<String>,
    #[serde(default)]
    records: Records,
    root: Option<Spanned<String>>,
    /// A record is a call when one of these paths holds a value (default: a token count).
    call_when: Option<Paths>,
    /// path → value(s): a record holding one of them is skipped (LiteLLM's cache hits).
    #[serde(default)]
    skip_when: BTreeMap<String, Paths>,
}

/// What one line (or row) of the input holds.
#[derive(Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Records {
    /// One record per JSON line, CSV row or Parquet row.
    #[default]
    Rows,
    /// OTLP/JSON export lines: one call per span or log record.
    Otlp,
}

/// One path (a string) or several tried in order (a list: the first present wins), with the
/// span for messages.
type Paths = Spanned<toml::Value>;

fn path_list(v: &Paths) -> Result<Vec<(String, std::ops::Range<usize>)>, String> {
    let one = |x: &toml::Value| match x {
        toml::Value::String(s) => Ok((s.clone(), v.span())),
        other => Err(format!(
            "a path must be a string or a list of strings, not {}",
            other.type_str()
        )),
    };
    match v.get_ref() {
        toml::Value::Array(items) if items.is_empty() => Err("an empty list of paths".into()),
        toml::Value::Array(items) => items.iter().map(one).collect(),
        x => one(x).map(|p| vec![p]),
    }
}

/// The fields of docs/formats.md §1 a schema may map (or give a constant). `input_tokens` and
/// `output_tokens` name the Anthropic convention (input excludes the cache tokens).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldTable<T = Paths> {
    ts: Option<T>,
    provider: Option<T>,
    model: Option<T>,
    prompt_tokens: Option<T>,
    input_tokens: Option<T>,
    completion_tokens: Option<T>,
    output_tokens: Option<T>,
    total_tokens: Option<T>,
    cached_tokens: Option<T>,
    cache_write_tokens: Option<T>,
    cache_write_1h_tokens: Option<T>,
    reasoning_tokens: Option<T>,
    request_id: Option<T>,
    status: Option<T>,
    latency_ms: Option<T>,
    byok: Option<T>,
    shadow: Option<T>,
    shadow_of: Option<T>,
    tenant: Option<T>,
    response_model: Option<T>,
    cost: Option<T>,
}

impl<T> Default for FieldTable<T> {
    fn default() -> Self {
        FieldTable {
            ts: None,
            provider: None,
            model: None,
            prompt_tokens: None,
            input_tokens: None,
            completion_tokens: None,
            output_tokens: None,
            total_tokens: None,
            cached_tokens: None,
            cache_write_tokens: None,
            cache_write_1h_tokens: None,
            reasoning_tokens: None,
            request_id: None,
            status: None,
            latency_ms: None,
            byok: None,
            shadow: None,
            shadow_of: None,
            tenant: None,
            response_model: None,
            cost: None,
        }
    }
}

impl<T> FieldTable<T> {
    /// Each mapped field with its id, in the order of docs/formats.md §1.
    fn entries(&self) -> Vec<(FieldId, &T)> {
        use FieldId::*;
        [
            (Ts, &self.ts),
            (Provider, &self.provider),
            (Model, &self.model),
            (PromptTokens, &self.prompt_tokens),
            (InputTokens, &self.input_tokens),
            (CompletionTokens, &self.completion_tokens),
            (OutputTokens, &self.output_tokens),
            (TotalTokens, &self.total_tokens),
            (CachedTokens, &self.cached_tokens),
            (CacheWriteTokens, &self.cache_write_tokens),
            (CacheWrite1hTokens, &self.cache_write_1h_tokens),
            (ReasoningTokens, &self.reasoning_tokens),
            (RequestId, &self.request_id),
            (Status, &self.status),
            (LatencyMs, &self.latency_ms),
            (Byok, &self.byok),
            (Shadow, &self.shadow),
            (ShadowOf, &self.shadow_of),
            (Tenant, &self.tenant),
            (ResponseModel, &self.response_model),
            (Cost, &self.cost),
        ]
        .into_iter()
        .filter_map(|(id, v)| v.as_ref().map(|v| (id, v)))
        .collect()
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TimestampTable {
    #[serde(default)]
    form: TsForm,
    zone: Option<Spanned<String>>,
    end: Option<Paths>,
}

/// How the record writes its time.
#[derive(Deserialize, Default, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TsForm {
    /// RFC 3339 text, or epoch seconds/milliseconds told apart by size (docs/formats.md §1).
    #[default]
    Auto,
    Rfc3339,
    EpochS,
    EpochMs,
    EpochUs,
    EpochNs,
    /// Date and time without a zone, read in the schema's `zone` (text with an offset keeps it).
    Naive,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GatewayTable {
    hosts_from: Option<Paths>,
    #[serde(default)]
    hosts: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StatusTable {
    #[serde(default)]
    text: BTreeMap<String, Spanned<i64>>,
    failed_when: Option<Paths>,
}

/// Hosts every schema knows: the two gateways' API hosts (docs/formats.md §8).
const BUILTIN_HOSTS: [(&str, &str); 2] = [
    ("openrouter.ai", "openrouter"),
    ("api.ominigate.ai", "ominigate"),
];

/// What a path's value is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    Field(FieldId),
    /// The call's end time (latency = end − start when no latency is mapped).
    End,
    /// A host name or URL looked up in the host table for the gateway.
    Host,
    /// A present, true-ish value marks the call failed.
    Failed,
    /// A present value makes the record a call (`[schema] call_when`).
    Call,
    /// The value is compared with `[schema] skip_when`'s values of this index.
    SkipWhen(u8),
}

/// A path's destination and its rank among the paths of the same destination (0 = first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Leaf {
    pub dest: Dest,
    pub rank: u8,
}

/// One distinct path of the schema and what it feeds.
#[derive(Debug, Clone)]
pub(crate) struct MappedPath {
    /// As written (`usage.input`, or an attribute key for OTLP).
    pub text: String,
    pub leaves: Vec<Leaf>,
}

/// A node of the key tree the JSON scanner walks: keys at one object level.
#[derive(Debug, Default, Clone)]
pub(crate) struct Node {
    pub keys: Vec<(Box<[u8]>, Edge)>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Edge {
    /// Destinations of the value at this key.
    pub leaves: Vec<Leaf>,
    /// The node for keys inside this one (an object, or a string holding JSON text).
    pub child: Option<u32>,
}

impl Node {
    #[inline]
    pub(crate) fn find(&self, key: &[u8]) -> Option<&Edge> {
        self.keys
            .iter()
            .find(|(k, _)| k.len() == key.len() && **k == *key)
            .map(|(_, e)| e)
    }
}

impl Mapping {
    /// The edge for `key` at `node`; a key holding dots (`server.address`, a flattened
    /// attribute) also matches the path steps it spells.
    #[inline]
    pub(crate) fn edge(&self, node: usize, key: &[u8]) -> Option<&Edge> {
        if let Some(e) = self.nodes[node].find(key) {
            return Some(e);
        }
        if !key.contains(&b'.') {
            return None;
        }
        let mut at = node;
        let mut steps = key.split(|&b| b == b'.').peekable();
        while let Some(step) = steps.next() {
            let e = self.nodes[at].find(step)?;
            if steps.peek().is_none() {
                return Some(e);
            }
            at = e.child? as usize;
        }
        None
    }
}

/// A compiled schema.
#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    pub name: String,
    pub records: Records,
    pub paths: Vec<MappedPath>,
    /// The JSON key tree; node 0 is the record.
    pub nodes: Vec<Node>,
    pub ts_form: TsForm,
    pub zone: Tz,
    /// host → gateway, the schema's own first.
    pub hosts: Vec<(String, String)>,
    /// Constant values, used where the record gives none.
    pub constants: Vec<(FieldId, String)>,
    /// Status text (lower-cased) → HTTP status.
    pub status_text: Vec<(String, u16)>,
    /// The token fields mapped: a record with none of them present is not a call.
    pub token_fields: Vec<FieldId>,
    /// Whether `[schema] call_when` decides what is a call (instead of the token fields).
    pub call_when: bool,
    /// `[schema] skip_when`'s values per path, lower-cased.
    pub skip_values: Vec<Vec<String>>,
    /// What `--by` may name: `tenant` when `[fields]` or `[constants]` gives it, then the
    /// `[by]` table's names in name order.
    pub groups: Vec<String>,
}

/// Why a schema file cannot be used: the file, the line and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct SchemaError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

impl Mapping {
    /// Reads and checks a schema file's text; `name` is used when the file names none.
    #[cfg(test)]
    pub(crate) fn parse(file: &Path, text: &str, name: &str) -> Result<Mapping, SchemaError> {
        Mapping::parse_grouped(file, text, name, None)
    }

    /// As [`Mapping::parse`], with the `[by]` field `group` read into the tenant slot in place
    /// of `[fields] tenant`, so `--by group` reads that field and no other. Its paths are
    /// compiled only when chosen: the others cost the reader nothing.
    pub(crate) fn parse_grouped(
        file: &Path,
        text: &str,
        name: &str,
        group: Option<&str>,
    ) -> Result<Mapping, SchemaError> {
        let shown = file.display().to_string();
        let err = |span: Option<std::ops::Range<usize>>, message: String| SchemaError {
            file: shown.clone(),
            line: span.map_or(1, |s| line_at(text, s.start)),
            message,
        };
        let doc: File = toml::from_str(text).map_err(|e| {
            err(
                e.span(),
                e.message().split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })?;
        let mut paths: Vec<MappedPath> = Vec::new();
        let mut add = |(p, span): (String, std::ops::Range<usize>),
                       dest: Dest,
                       rank: usize|
         -> Result<(), SchemaError> {
            let text_ = p.trim();
            check_path(text_).map_err(|m| err(Some(span.clone()), m))?;
            let most = if dest == Dest::Host { MAX_HOSTS } else { 16 };
            if rank >= most {
                return Err(err(
                    Some(span),
                    format!("more than {most} paths for one destination"),
                ));
            }
            let leaf = Leaf {
                dest,
                rank: rank as u8,
            };
            match paths.iter_mut().find(|m| m.text == text_) {
                Some(m) => m.leaves.push(leaf),
                None => paths.push(MappedPath {
                    text: text_.to_string(),
                    leaves: vec![leaf],
                }),
            }
            Ok(())
        };
        let mut groups = Vec::new();
        if doc.fields.tenant.is_some() || doc.constants.tenant.is_some() {
            groups.push("tenant".to_string());
        }
        for (g, ps) in &doc.by {
            if !valid_group_name(g) {
                return Err(err(
                    Some(ps.span()),
                    format!("[by] `{g}`: a group field's name is letters, digits and `_`, a letter first, at most 32 bytes (its paths may hold dots)"),
                ));
            }
            if FieldId::from_name(g).is_some() || g == "input_tokens" || g == "output_tokens" {
                return Err(err(
                    Some(ps.span()),
                    format!("[by] `{g}` is a field of docs/formats.md §1: map it in [fields] (`--by` takes `tenant` and the [by] names)"),
                ));
            }
            for (p, span) in path_list(ps).map_err(|m| err(Some(ps.span()), m))? {
                check_path(p.trim()).map_err(|m| err(Some(span), m))?;
            }
            groups.push(g.clone());
        }
        let group = group.filter(|g| *g != "tenant");
        let group_paths = match group {
            None => None,
            Some(g) => Some(doc.by.get(g).ok_or_else(|| {
                err(
                    None,
                    format!("[by] has no field `{g}` (it names: {})", groups.join(", ")),
                )
            })?),
        };
        for (id, ps) in doc.fields.entries() {
            if id == FieldId::Tenant && group_paths.is_some() {
                continue;
            }
            let list = path_list(ps).map_err(|m| err(Some(ps.span()), m))?;
            for (rank, p) in list.into_iter().enumerate() {
                add(p, Dest::Field(id), rank)?;
            }
        }
        if let Some(ps) = group_paths {
            let list = path_list(ps).map_err(|m| err(Some(ps.span()), m))?;
            for (rank, p) in list.into_iter().enumerate() {
                add(p, Dest::Field(FieldId::Tenant), rank)?;
            }
        }
        for (dest, ps) in [
            (Dest::End, &doc.timestamp.end),
            (Dest::Host, &doc.gateway.hosts_from),
            (Dest::Failed, &doc.status.failed_when),
        ] {
            let Some(ps) = ps else { continue };
            let list = path_list(ps).map_err(|m| err(Some(ps.span()), m))?;
            for (rank, p) in list.into_iter().enumerate() {
                add(p, dest, rank)?;
            }
        }

        if let Some(ps) = &doc.schema.call_when {
            let list = path_list(ps).map_err(|m| err(Some(ps.span()), m))?;
            for (rank, p) in list.into_iter().enumerate() {
                add(p, Dest::Call, rank)?;
            }
        }
        let mut skip_values = Vec::new();
        for (path, values) in &doc.schema.skip_when {
            if skip_values.len() == MAX_SKIPS {
                return Err(err(
                    Some(values.span()),
                    format!("[schema] skip_when holds more than {MAX_SKIPS} paths"),
                ));
            }
            let one = |v: &toml::Value| match v {
                toml::Value::String(s) => Ok(s.trim().to_ascii_lowercase()),
                toml::Value::Integer(i) => Ok(i.to_string()),
                toml::Value::Boolean(b) => Ok(b.to_string()),
                other => Err(format!(
                    "[schema] skip_when values are strings, integers or booleans, not {}",
                    other.type_str()
                )),
            };
            let list: Result<Vec<String>, String> = match values.get_ref() {
                toml::Value::Array(a) => a.iter().map(one).collect(),
                v => one(v).map(|s| vec![s]),
            };
            let list = list.map_err(|m| err(Some(values.span()), m))?;
            add(
                (path.clone(), values.span()),
                Dest::SkipWhen(skip_values.len() as u8),
                0,
            )?;
            skip_values.push(list);
        }

        let mut constants = Vec::new();
        for (id, v) in doc.constants.entries() {
            if id == FieldId::Tenant && group_paths.is_some() {
                continue;
            }
            let s = match v.get_ref() {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(err(
                        Some(v.span()),
                        format!(
                            "constant `{}` must be a string, number or boolean, not {}",
                            id.name(),
                            other.type_str()
                        ),
                    ))
                }
            };
            constants.push((id, s));
        }

        let has = |id: FieldId| {
            paths
                .iter()
                .any(|p| p.leaves.iter().any(|l| l.dest == Dest::Field(id)))
                || constants.iter().any(|(c, _)| *c == id)
        };
        let mut missing = Vec::new();
        if !has(FieldId::Ts) {
            missing.push("ts");
        }
        if !has(FieldId::Model) {
            missing.push("model");
        }
        if !has(FieldId::Provider) && doc.gateway.hosts_from.is_none() {
            missing.push("provider (or [gateway] hosts_from, or [constants] provider)");
        }
        if !has(FieldId::PromptTokens) && !has(FieldId::InputTokens) {
            missing.push("prompt_tokens or input_tokens");
        }
        if !has(FieldId::CompletionTokens) && !has(FieldId::OutputTokens) {
            missing.push("completion_tokens or output_tokens");
        }
        if !missing.is_empty() {
            return Err(err(
                None,
                format!(
                    "[fields] maps no path to {} (docs/schemas.md)",
                    missing.join(", ")
                ),
            ));
        }
        if paths.len() > 64 {
            return Err(err(None, "more than 64 distinct paths".into()));
        }

        let zone = match &doc.timestamp.zone {
            None => Tz::UTC,
            Some(z) => z.get_ref().parse::<Tz>().map_err(|_| {
                err(
                    Some(z.span()),
                    format!(
                        "[timestamp] zone `{}` is not an IANA time zone (e.g. UTC, Europe/Berlin)",
                        z.get_ref()
                    ),
                )
            })?,
        };
        let mut status_text = Vec::new();
        for (k, v) in &doc.status.text {
            let code = *v.get_ref();
            if !(100..=599).contains(&code) {
                return Err(err(
                    Some(v.span()),
                    format!("[status] text `{k}` = {code}: not an HTTP status (100-599)"),
                ));
            }
            status_text.push((k.trim().to_ascii_lowercase(), code as u16));
        }
        let mut hosts: Vec<(String, String)> = doc
            .gateway
            .hosts
            .iter()
            .map(|(h, g)| (h.trim().to_ascii_lowercase(), g.trim().to_ascii_lowercase()))
            .collect();
        for (h, g) in BUILTIN_HOSTS {
            if !hosts.iter().any(|(k, _)| k == h) {
                hosts.push((h.into(), g.into()));
            }
        }

        let records = doc.schema.records;
        let mut nodes = vec![Node::default()];
        if records == Records::Rows {
            for (i, p) in paths.iter().enumerate() {
                let mut at = 0usize;
                let segs: Vec<&str> = p.text.split('.').collect();
                for (k, seg) in segs.iter().enumerate() {
                    let last = k + 1 == segs.len();
                    let pos = nodes[at]
                        .keys
                        .iter()
                        .position(|(key, _)| **key == *seg.as_bytes());
                    let pos = match pos {
                        Some(pos) => pos,
                        None => {
                            nodes[at]
                                .keys
                                .push((seg.as_bytes().into(), Edge::default()));
                            nodes[at].keys.len() - 1
                        }
                    };
                    if last {
                        nodes[at].keys[pos].1.leaves.extend(paths[i].leaves.clone());
                    } else {
                        let child = match nodes[at].keys[pos].1.child {
                            Some(c) => c as usize,
                            None => {
                                nodes.push(Node::default());
                                let c = nodes.len() - 1;
                                nodes[at].keys[pos].1.child = Some(c as u32);
                                c
                            }
                        };
                        at = child;
                    }
                }
            }
            if let Some(root) = &doc.schema.root {
                let key = root.get_ref().trim();
                if key.is_empty() || key.contains('.') {
                    return Err(err(
                        Some(root.span()),
                        "[schema] root must be one key (e.g. \"data\")".into(),
                    ));
                }
                // The wrapper object reads like the record itself.
                match nodes[0]
                    .keys
                    .iter_mut()
                    .find(|(k, _)| **k == *key.as_bytes())
                {
                    Some(_) => {
                        return Err(err(
                            Some(root.span()),
                            format!("[schema] root `{key}` is also a mapped path"),
                        ))
                    }
                    None => nodes[0].keys.push((
                        key.as_bytes().into(),
                        Edge {
                            leaves: Vec::new(),
                            child: Some(0),
                        },
                    )),
                }
            }
        } else {
            if let Some(root) = &doc.schema.root {
                return Err(err(
                    Some(root.span()),
                    "[schema] root applies to records = \"rows\" only".into(),
                ));
            }
            // OTLP: a path is an attribute key or span field as written, dots and all.
            for p in &paths {
                nodes[0].keys.push((
                    p.text.as_bytes().into(),
                    Edge {
                        leaves: p.leaves.clone(),
                        child: None,
                    },
                ));
            }
        }
        let token_fields = [
            FieldId::PromptTokens,
            FieldId::InputTokens,
            FieldId::CompletionTokens,
            FieldId::OutputTokens,
        ]
        .into_iter()
        .filter(|&id| {
            paths
                .iter()
                .any(|p| p.leaves.iter().any(|l| l.dest == Dest::Field(id)))
        })
        .collect();
        Ok(Mapping {
            name: doc.schema.name.unwrap_or_else(|| name.to_string()),
            records,
            paths,
            nodes,
            ts_form: doc.timestamp.form,
            zone,
            hosts,
            constants,
            status_text,
            token_fields,
            call_when: doc.schema.call_when.is_some(),
            skip_values,
            groups,
        })
    }

    /// The gateway a host name or URL stands for, when the host table knows it.
    pub(crate) fn gateway_of_host(&self, value: &str) -> Option<&str> {
        let v = value.trim();
        let v = v.split_once("://").map_or(v, |(_, rest)| rest);
        let host = v.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts
            .iter()
            .find(|(h, _)| {
                host == *h
                    || host
                        .strip_suffix(h.as_str())
                        .is_some_and(|pre| pre.ends_with('.'))
            })
            .map(|(_, g)| g.as_str())
    }

    /// The HTTP status a status text stands for.
    pub(crate) fn status_of_text(&self, text: &str) -> Option<u16> {
        let t = text.trim();
        self.status_text
            .iter()
            .find(|(k, _)| t.eq_ignore_ascii_case(k))
            .map(|&(_, c)| c)
    }
}

/// Longest group field name (`--by`, `[by]`).
pub(crate) const MAX_GROUP_NAME: usize = 32;

/// A group field's name: what `--by` and a schema's `[by]` table accept (it names a column of
/// usage files and SQL output too, so it stays a plain identifier).
pub(crate) fn valid_group_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_GROUP_NAME
        && s.as_bytes()[0].is_ascii_alphabetic()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A path is keys joined by dots, none empty.
fn check_path(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err("empty path".into());
    }
    if p.split('.').any(|s| s.trim().is_empty() || s != s.trim()) {
        return Err(format!(
            "bad path `{p}`: keys joined by single dots, none empty, no spaces around them"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
