//! The column map of CSV and Parquet files under a schema: each header resolved once against
//! the mapping's paths (a whole dotted name, or a first key naming a column of JSON text), and
//! each cell given to the record being built.

use std::borrow::Cow;

use super::mapping::{Dest, Leaf, Mapping};
use super::rows::{object, walk, Found};
use crate::sources::json_scan::Scan;
use crate::sources::record::{FieldId, Scalar};

/// What one column of a CSV or Parquet file feeds.
#[derive(Debug, Clone)]
pub(crate) enum ColumnUse {
    /// Not read.
    Skip,
    /// A value for these destinations.
    Value(Vec<Leaf>),
    /// JSON text read through the key tree from this node (and, when the column is also
    /// mapped whole, a value too).
    Json(u32, Vec<Leaf>),
}

/// The columns of a header, resolved against the mapping once per file. A path matches a column
/// of its whole dotted name, else its first key names a column of JSON text. Names match
/// without regard to case or surrounding spaces.
pub(crate) fn columns(m: &Mapping, names: &[&str]) -> Result<Vec<ColumnUse>, String> {
    let norm: Vec<String> = names
        .iter()
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    let mut uses = vec![ColumnUse::Skip; names.len()];
    let mut missing = Vec::new();
    for p in &m.paths {
        let whole = p.text.to_ascii_lowercase();
        if let Some(k) = norm.iter().position(|n| *n == whole) {
            match &mut uses[k] {
                ColumnUse::Skip => uses[k] = ColumnUse::Value(p.leaves.clone()),
                ColumnUse::Value(l) | ColumnUse::Json(_, l) => l.extend(p.leaves.iter().copied()),
            }
            continue;
        }
        let first = p.text.split('.').next().unwrap_or("");
        let first_l = first.to_ascii_lowercase();
        let node = m.nodes[0].find(first.as_bytes()).and_then(|e| e.child);
        match (norm.iter().position(|n| *n == first_l), node) {
            (Some(k), Some(node)) if p.text.contains('.') => match &mut uses[k] {
                ColumnUse::Skip => uses[k] = ColumnUse::Json(node, Vec::new()),
                ColumnUse::Value(l) => uses[k] = ColumnUse::Json(node, std::mem::take(l)),
                ColumnUse::Json(..) => {}
            },
            _ => missing.push(p),
        }
    }
    // A required field with no column and no constant: the file cannot be read this way.
    let required = [
        (&[FieldId::Ts][..], "ts"),
        (&[FieldId::Model][..], "model"),
        (
            &[FieldId::PromptTokens, FieldId::InputTokens][..],
            "prompt_tokens",
        ),
        (
            &[FieldId::CompletionTokens, FieldId::OutputTokens][..],
            "completion_tokens",
        ),
    ];
    let feeds = |u: &ColumnUse, id: FieldId| match u {
        ColumnUse::Skip => false,
        ColumnUse::Json(..) => true,
        ColumnUse::Value(l) => l.iter().any(|l| l.dest == Dest::Field(id)),
    };
    let mut lacking = Vec::new();
    for (ids, name) in required {
        let by_column = uses.iter().any(|u| ids.iter().any(|&id| feeds(u, id)));
        let by_constant = m.constants.iter().any(|(c, _)| ids.contains(c));
        if !by_column && !by_constant {
            let wanted: Vec<&str> = missing
                .iter()
                .filter(|p| {
                    p.leaves
                        .iter()
                        .any(|l| ids.iter().any(|&id| l.dest == Dest::Field(id)))
                })
                .map(|p| p.text.as_str())
                .collect();
            lacking.push(format!(
                "{name} (schema `{}` reads it from {})",
                m.name,
                wanted.join(" or ")
            ));
        }
    }
    if !lacking.is_empty() {
        return Err(format!(
            "header lacks the column(s) for {}; found: {}",
            lacking.join(", "),
            names.join(",")
        ));
    }
    Ok(uses)
}

/// Gives one cell (text) to the record: a value, or JSON text read through the key tree.
#[inline]
pub(crate) fn put_cell<'a>(m: &Mapping, u: &ColumnUse, text: &'a str, out: &mut Found<'a>) {
    match u {
        ColumnUse::Skip => {}
        // A cell whose whole text is a JSON string literal (Langfuse's CSV export writes dates
        // as `"2026-04-28T09:15:02.250Z"`, quotes and all) is read as that string.
        ColumnUse::Value(l) if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') => {
            match serde_json::from_str::<String>(text) {
                Ok(s) => out.put(l, Scalar::S(Cow::Owned(s))),
                Err(_) => out.put(l, Scalar::S(Cow::Borrowed(text))),
            }
        }
        ColumnUse::Value(l) => out.put(l, Scalar::S(Cow::Borrowed(text))),
        ColumnUse::Json(node, l) => {
            let mut s = Scan::new(text.as_bytes());
            s.ws();
            if object(&mut s, m, *node as usize, out, |v| v, 0).is_none() {
                // Declined (escapes in keys, odd numbers): the slow walk, or nothing if it is
                // not JSON at all (a free-text metadata cell).
                if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text) {
                    walk(&map, m, *node as usize, out);
                }
            }
            if !l.is_empty() {
                out.put(l, Scalar::S(Cow::Borrowed(text)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::record::FieldSet;
    use crate::sources::schema::rows::tests::{mapping, LITE};

    #[test]
    fn columns_resolve_whole_names_then_json_text() {
        let m = mapping(LITE);
        let names = [
            "request_id",
            "startTime",
            "endTime",
            "model",
            "custom_llm_provider",
            "api_base",
            "prompt_tokens",
            "completion_tokens",
            "spend",
            "team_id",
            "status",
            "metadata",
        ];
        let uses = columns(&m, &names).unwrap();
        assert!(matches!(uses[0], ColumnUse::Skip));
        assert!(matches!(uses[11], ColumnUse::Json(..)));
        let mut found = Found::default();
        let cells = [
            "r1",
            "2026-04-28 13:05:22",
            "",
            "gpt-5",
            "openrouter",
            "",
            "100",
            "7",
            "0.5",
            "t9",
            "success",
            r#"{"usage_object":{"prompt_tokens_details":{"cached_tokens":40}}}"#,
        ];
        for (u, c) in uses.iter().zip(cells) {
            put_cell(&m, u, c, &mut found);
        }
        let c = found
            .finish(&m, FieldSet::ALL)
            .unwrap()
            .unwrap()
            .into_call()
            .unwrap();
        assert_eq!((c.usage.cached, c.tenant.as_deref()), (40, Some("t9")));
        let e = columns(&m, &["startTime", "model"]).unwrap_err();
        assert!(e.contains("prompt_tokens"), "{e}");
    }

    #[test]
    fn a_csv_cell_holding_a_json_string_is_read_as_the_string() {
        let m = mapping(LITE);
        let uses = columns(
            &m,
            &[
                "startTime",
                "model",
                "custom_llm_provider",
                "prompt_tokens",
                "completion_tokens",
            ],
        )
        .unwrap();
        let mut found = Found::default();
        for (u, c) in uses
            .iter()
            .zip(["\"2026-04-28 13:05:22\"", "\"gpt-\\u0035\"", "p", "1", "2"])
        {
            put_cell(&m, u, c, &mut found);
        }
        let c = found
            .finish(&m, FieldSet::ALL)
            .unwrap()
            .unwrap()
            .into_call()
            .unwrap();
        assert_eq!((c.ts_ms, c.model.as_ref()), (1777381522000, "gpt-5"));
    }
}
