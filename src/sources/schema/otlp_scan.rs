//! The one-pass scanner for OTLP/JSON lines: the shared JSON primitives walk
//! `resourceSpans → scopeSpans → spans → attributes` (and the log-record twin), look each
//! attribute key up in the schema's key table and put its value straight into the record being
//! built, skipping everything else without decoding it. It declines (returns `None`) on anything
//! unusual — escapes in keys, an attribute whose `value` comes before its `key`, malformed JSON —
//! and the caller then reads the line with `serde` (`otlp.rs`), so both give the same calls.

use std::borrow::Cow;

use super::mapping::Mapping;
use super::otlp::status_name;
use super::rows::Found;
use crate::sources::json_scan::Scan;
use crate::sources::record::Scalar;

/// One record of the line (span or log record) before the schema's conventions are applied.
pub(crate) struct Pending<'a> {
    pub found: Found<'a>,
    pub log: bool,
}

/// Reads the whole line; `None` declines it. Records come out in document order, each with its
/// resource's attributes already given.
pub(crate) fn scan<'a>(line: &'a [u8], m: &Mapping) -> Option<Vec<Pending<'a>>> {
    let mut s = Scan::new(line);
    let mut out = Vec::new();
    s.ws();
    s.each_key(|s, key| match key {
        b"resourceSpans" => s.each_item(|s| resource(s, m, &mut out, false)),
        b"resourceLogs" => s.each_item(|s| resource(s, m, &mut out, true)),
        // The proto field names, which readers accept too: serde reads those lines.
        b"resource_spans" | b"resource_logs" => None,
        _ => s.skip(1),
    })?;
    s.ws();
    (s.i == s.b.len()).then_some(out)
}

/// One `resourceSpans` (or `resourceLogs`) item: its records, then its attributes given to each.
fn resource<'a>(
    s: &mut Scan<'a>,
    m: &Mapping,
    out: &mut Vec<Pending<'a>>,
    log: bool,
) -> Option<()> {
    let first = out.len();
    let mut attrs: Vec<(usize, Scalar<'a>)> = Vec::new();
    let (scopes, records): (&[u8], &[u8]) = if log {
        (b"scopeLogs", b"logRecords")
    } else {
        (b"scopeSpans", b"spans")
    };
    s.each_key(|s, key| {
        if key == b"resource" {
            s.each_key(|s, key| match key {
                b"attributes" => s.each_item(|s| {
                    attribute(
                        s,
                        |k| {
                            let path = m.paths.iter().position(|p| {
                                p.text.strip_prefix("resource.").map(str::as_bytes) == Some(k)
                            });
                            path.map(|i| (i, &m.paths[i].leaves[..]))
                        },
                        |(i, _), v| attrs.push((i, v)),
                    )
                }),
                _ => s.skip(2),
            })
        } else if key == scopes {
            s.each_item(|s| {
                s.each_key(|s, key| {
                    if key == b"log_records" {
                        None
                    } else if key == records {
                        s.each_item(|s| {
                            let mut found = Found::default();
                            record(s, m, &mut found)?;
                            out.push(Pending { found, log });
                            Some(())
                        })
                    } else {
                        s.skip(3)
                    }
                })
            })
        } else if key == b"scope_spans" || key == b"scope_logs" {
            None
        } else {
            s.skip(2)
        }
    })?;
    for p in &mut out[first..] {
        for (i, v) in &attrs {
            p.found.put(&m.paths[*i].leaves, v.clone());
        }
    }
    Some(())
}

/// One span or log record's fields.
fn record<'a>(s: &mut Scan<'a>, m: &Mapping, found: &mut Found<'a>) -> Option<()> {
    let top = &m.nodes[0];
    s.each_key(|s, key| match key {
        b"attributes" => s.each_item(|s| {
            attribute(
                s,
                |k| top.find(k).map(|e| ((), &e.leaves[..])),
                |((), leaves), v| found.put(leaves, v),
            )
        }),
        b"status" => s.each_key(|s, key| {
            let v = match *s.b.get(s.i)? {
                b'"' => Some(Scalar::S(s.string_cow()?)),
                b'{' | b'[' => {
                    s.skip(4)?;
                    None
                }
                _ => s.scalar()?,
            };
            let path: &[u8] = match key {
                b"code" => b"status.code",
                b"message" => b"status.message",
                _ => return Some(()),
            };
            let v = match (key, v) {
                (b"code", Some(code)) => status_name(&code).map(|n| Scalar::S(Cow::Borrowed(n))),
                (_, v) => v,
            };
            if let (Some(v), Some(e)) = (v, top.find(path)) {
                found.put(&e.leaves, v);
            }
            Some(())
        }),
        b"start_time_unix_nano"
        | b"end_time_unix_nano"
        | b"time_unix_nano"
        | b"observed_time_unix_nano"
        | b"trace_id"
        | b"span_id" => None,
        _ => match top.find(key) {
            Some(e) if !e.leaves.is_empty() => {
                let v = match *s.b.get(s.i)? {
                    b'"' => Some(Scalar::S(s.string_cow()?)),
                    b'{' | b'[' => {
                        s.skip(3)?;
                        None
                    }
                    _ => s.scalar()?,
                };
                if let Some(v) = v {
                    found.put(&e.leaves, v);
                }
                Some(())
            }
            _ => s.skip(3),
        },
    })
}

/// One `{"key": …, "value": {"stringValue": …}}` item: `find` says where a key's value goes
/// (`None`: not mapped, the value is skipped), `give` takes the value. The layout every exporter
/// writes (`key` first, one value kind, no spaces) is matched byte for byte; anything else goes
/// through the general walk.
fn attribute<'a, T: Copy>(
    s: &mut Scan<'a>,
    find: impl Fn(&[u8]) -> Option<T>,
    mut give: impl FnMut(T, Scalar<'a>),
) -> Option<()> {
    const HEAD: &[u8] = b"{\"key\":";
    const VALUE: &[u8] = b",\"value\":{";
    if s.b[s.i..].starts_with(HEAD) {
        let at = s.i;
        s.i += HEAD.len();
        let key = s.raw_string()?;
        if s.b[s.i..].starts_with(VALUE) {
            s.i += VALUE.len();
            let dest = find(key);
            let kind = s.raw_string()?;
            if s.eat(b':').is_some() {
                let known = matches!(
                    kind,
                    b"stringValue" | b"intValue" | b"doubleValue" | b"boolValue"
                );
                match (dest, known) {
                    (Some(t), true) => {
                        let v = match *s.b.get(s.i)? {
                            b'"' => Some(Scalar::S(s.string_cow()?)),
                            _ => s.scalar()?,
                        };
                        if let Some(v) = v {
                            give(t, v);
                        }
                    }
                    (_, false) if kind.contains(&b'_') => return None,
                    _ => s.skip(4)?,
                }
                if s.b[s.i..].starts_with(b"}}") {
                    s.i += 2;
                    return Some(());
                }
            }
        }
        // Not the usual layout after all: read the item again the general way.
        s.i = at;
        return attribute_general(s, find, give);
    }
    attribute_general(s, find, give)
}

fn attribute_general<'a, T: Copy>(
    s: &mut Scan<'a>,
    find: impl Fn(&[u8]) -> Option<T>,
    mut give: impl FnMut(T, Scalar<'a>),
) -> Option<()> {
    let mut dest: Option<Option<T>> = None;
    s.each_key(|s, key| match key {
        b"key" => {
            let k = s.raw_string()?;
            dest = Some(find(k));
            Some(())
        }
        b"value" => match dest {
            // The value before its key: declined, serde decides.
            None => None,
            Some(None) => s.skip(3),
            Some(Some(t)) => s.each_key(|s, kind| match kind {
                b"stringValue" | b"intValue" | b"doubleValue" | b"boolValue" => {
                    let v = match *s.b.get(s.i)? {
                        b'"' => Some(Scalar::S(s.string_cow()?)),
                        _ => s.scalar()?,
                    };
                    if let Some(v) = v {
                        give(t, v);
                    }
                    Some(())
                }
                b"string_value" | b"int_value" | b"double_value" | b"bool_value" => None,
                _ => s.skip(4),
            }),
        },
        _ => s.skip(3),
    })
}
