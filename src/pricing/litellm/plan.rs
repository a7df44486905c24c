//! The import of the entries into a rate table: what each would change (new, changed, unchanged
//! or a conflict left for a hand edit) and the table's text with the plan applied, every other
//! byte kept.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::{show, Entry, Prices};
use crate::domain::{Day, Money, Rate};
use crate::pricing::{table_reader, RateError, RateTable};

/// What importing one entry does to the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// No row of the slug covers the day: a new open-ended row.
    New,
    /// The row on `line` covers the day at other prices: it is closed the day before and a new
    /// open-ended row starts. `changes` are (column, old, new), effective prices; `kept` the
    /// row's own prices the entry does not give, carried into the new row.
    Changed {
        line: u64,
        changes: Vec<(&'static str, String, String)>,
        kept: Vec<&'static str>,
    },
    Unchanged,
    /// Left out: importing it would need an edit the import does not make on its own.
    Conflict(String),
}

impl Status {
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Changed { .. } => "changed",
            Status::Unchanged => "unchanged",
            Status::Conflict(_) => "conflict",
        }
    }
}

/// The import of every entry into a table, for one provider and first day.
#[derive(Debug)]
pub(crate) struct Plan {
    pub provider: String,
    pub effective_from: Day,
    pub items: Vec<(Entry, Status)>,
    /// Entries left out by `--only-known`: slugs the table has no row of.
    pub unknown: usize,
}

impl Plan {
    pub(crate) fn count(&self, status: &str) -> usize {
        self.items
            .iter()
            .filter(|(_, s)| s.as_str() == status)
            .count()
    }

    /// The report: one row per slug, `changes` naming each column as old → new (a new row's
    /// prices as they will be written).
    pub(crate) fn report_rows(&self) -> Vec<Vec<String>> {
        self.items
            .iter()
            .map(|(e, s)| {
                let changes = match s {
                    Status::New => e
                        .prices
                        .cells()
                        .into_iter()
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(c, v)| format!("{c} {v}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                    Status::Changed {
                        line,
                        changes,
                        kept,
                    } => {
                        let cols = changes
                            .iter()
                            .map(|(c, o, n)| format!("{c} {o} -> {n}"))
                            .collect::<Vec<_>>()
                            .join("; ");
                        let mut s =
                            format!("{cols} (row on line {line} closed {})", self.day_before());
                        if !kept.is_empty() {
                            s.push_str(&format!(
                                "; kept from the table (not in `{}`): {}",
                                e.key,
                                kept.join(", ")
                            ));
                        }
                        s
                    }
                    Status::Unchanged => String::new(),
                    Status::Conflict(why) => why.clone(),
                };
                vec![
                    s.as_str().to_string(),
                    self.provider.clone(),
                    e.model.clone(),
                    e.key.clone(),
                    changes,
                ]
            })
            .collect()
    }

    fn day_before(&self) -> Day {
        Day(self.effective_from.0 - 1)
    }
}

/// `import_status`, not `status`: the import's words are no reconciliation status, and a terminal table
/// marks every status but ok as flagged.
pub(crate) const REPORT_HEADER: [&str; 5] = [
    "import_status",
    "provider",
    "model",
    "litellm_key",
    "changes",
];

/// Compares each entry with the table's row for (`provider`, slug) on `effective_from`.
/// Only rows naming exactly `provider` count: an import for `openrouter` adds rows that win over
/// `*` rows, it does not edit them. `only_known` leaves out slugs no row of the table (of any
/// provider) names: a real LiteLLM file holds hundreds the gateways never bill.
pub(crate) fn plan(
    table: &RateTable,
    entries: Vec<Entry>,
    provider: &str,
    effective_from: Day,
    only_known: bool,
) -> Plan {
    let mut rows: HashMap<&str, Vec<&Rate>> = HashMap::new();
    for r in table.rates().iter().filter(|r| r.provider == provider) {
        rows.entry(r.model.as_str()).or_default().push(r);
    }
    let known: HashSet<&str> = table.rates().iter().map(|r| r.model.as_str()).collect();
    let total = entries.len();
    let items: Vec<(Entry, Status)> = entries
        .into_iter()
        .filter(|e| !only_known || known.contains(e.model.as_str()))
        .map(|mut e| {
            let own = rows.get(e.model.as_str()).map_or(&[][..], |v| &v[..]);
            let (status, merged) = status_of(&e, own, effective_from);
            if let Some(p) = merged {
                e.prices = p;
            }
            (e, status)
        })
        .collect();
    Plan {
        provider: provider.to_string(),
        effective_from,
        unknown: total - items.len(),
        items,
    }
}

/// The entry's status and, for a changed row, the prices the new row gets (the entry's, with
/// the prices it does not give kept from the row it replaces).
fn status_of(e: &Entry, rows: &[&Rate], from: Day) -> (Status, Option<Prices>) {
    if let Some(later) = rows.iter().find(|r| r.effective_from > from) {
        let why = format!(
            "the table already has a row from {} (line {}); edit it by hand",
            later.effective_from, later.line
        );
        return (Status::Conflict(why), None);
    }
    let Some(current) = rows.iter().find(|r| r.covers(from)) else {
        return (Status::New, None);
    };
    let (merged, kept) = e.prices.merged_with(current);
    let old = Prices::of_rate(current);
    let new = merged.effective();
    let show_opt = |m: Option<Money>| m.map_or("(none)".to_string(), show);
    let changes: Vec<_> = old
        .iter()
        .zip(&new)
        .filter(|(o, n)| o.1 != n.1)
        .map(|(o, n)| (o.0, show_opt(o.1), show_opt(n.1)))
        .collect();
    if changes.is_empty() {
        (Status::Unchanged, None)
    } else if current.effective_from == from {
        let why = format!(
            "the row on line {} already starts on {from} at other prices; edit it by hand",
            current.line
        );
        (Status::Conflict(why), None)
    } else {
        let changed = Status::Changed {
            line: current.line,
            changes,
            kept,
        };
        (changed, Some(merged))
    }
}

/// The table text with the plan applied: each changed slug's current row closed the day before
/// (`effective_to`), a new row after the slug's last row, rows of new slugs at the end. Every
/// other byte is kept, comments included. `source` fills the `source` column of new rows.
/// The result must still be checked by [`RateTable::parse`] before it is written.
pub(crate) fn apply(
    text: &[u8],
    path: &Path,
    plan: &Plan,
    source: &str,
) -> Result<Vec<u8>, RateError> {
    let file = path.display().to_string();
    let err = |line: u64, message: String| RateError {
        file: file.clone(),
        line,
        message,
    };
    let bom = text.starts_with(b"\xEF\xBB\xBF");
    let body = if bom { &text[3..] } else { text };
    let (mut rdr, header) = table_reader(text).map_err(|m| err(1, m))?;
    let col = |name: &str| header.iter().position(|h| h == name);

    // Where each record is: line → (start, end) byte offsets in `body`, and its fields.
    let mut spans: HashMap<u64, (usize, usize, csv::StringRecord)> = HashMap::new();
    let mut last_of_model: HashMap<String, u64> = HashMap::new();
    let (prov_col, model_col) = (col("provider"), col("model"));
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(err(e.position().map_or(0, |p| p.line()), e.to_string())),
        }
        let pos = rec.position().expect("a read record has a position");
        let (line, start, end) = (
            pos.line(),
            pos.byte() as usize,
            rdr.position().byte() as usize,
        );
        let cell = |c: Option<usize>| c.and_then(|i| rec.get(i)).unwrap_or("");
        if cell(prov_col).eq_ignore_ascii_case(&plan.provider) {
            last_of_model.insert(cell(model_col).to_string(), line);
        }
        spans.insert(line, (start, end, rec.clone()));
    }
    let newline: &[u8] = if body.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let write_row = |cells: &[String]| -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = csv::WriterBuilder::new()
                .terminator(if newline == b"\r\n" {
                    csv::Terminator::CRLF
                } else {
                    csv::Terminator::Any(b'\n')
                })
                .from_writer(&mut out);
            w.write_record(cells).expect("writing to memory");
        }
        out
    };
    let new_row = |e: &Entry| -> Result<Vec<u8>, RateError> {
        let mut cells = vec![String::new(); header.len()];
        let mut put = |name: &str, v: String| -> Result<(), RateError> {
            match col(name) {
                Some(i) => cells[i] = v,
                None if v.is_empty() || name == "source" => {}
                None => {
                    return Err(err(
                        1,
                        format!("header lacks column `{name}`, needed for {}", e.model),
                    ))
                }
            }
            Ok(())
        };
        put("provider", plan.provider.clone())?;
        put("model", e.model.clone())?;
        put("effective_from", plan.effective_from.to_string())?;
        for (c, v) in e.prices.cells() {
            put(c, v)?;
        }
        put("source", source.to_string())?;
        Ok(write_row(&cells))
    };

    // Edits as (start, end, replacement), applied in order of position.
    let mut edits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut appended = Vec::new();
    let to_col = col("effective_to").ok_or_else(|| err(1, "header lacks `effective_to`".into()))?;
    for (e, s) in &plan.items {
        match s {
            Status::Changed { line, .. } => {
                let (start, end, rec) = &spans[line];
                let mut cells: Vec<String> = rec.iter().map(str::to_string).collect();
                cells[to_col] = plan.day_before().to_string();
                edits.push((*start, *end, write_row(&cells)));
                let (_, last_end, _) = &spans[&last_of_model[&e.model]];
                edits.push((*last_end, *last_end, new_row(e)?));
            }
            Status::New => match last_of_model.get(&e.model) {
                Some(last) => {
                    let (_, last_end, _) = &spans[last];
                    edits.push((*last_end, *last_end, new_row(e)?));
                }
                None => appended.extend(new_row(e)?),
            },
            Status::Unchanged | Status::Conflict(_) => {}
        }
    }
    // A replacement comes before an insertion at its end (stable sort keeps plan order).
    edits.sort_by_key(|(s, e, _)| (*s, *e));
    let mut out = Vec::with_capacity(body.len() + appended.len() + 256);
    if bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let mut at = 0;
    for (start, end, with) in edits {
        out.extend_from_slice(&body[at..start]);
        // The last record may lack a line end; an inserted row must not join it.
        if start == end && !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(newline);
        }
        out.extend_from_slice(&with);
        at = end;
    }
    out.extend_from_slice(&body[at..]);
    if !appended.is_empty() {
        if !out.ends_with(b"\n") {
            out.extend_from_slice(newline);
        }
        out.extend(appended);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const TABLE: &str = "provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok,cache_write_1h_per_mtok,source
# a comment the import keeps
*,v/a,2026-01-01,,1,2,0.10,,,,,,hand
*,v/b,2026-01-01,,3,15,0.30,3.75,,,,6,hand
*,v/c,2026-03-01,,1,1,,,,,,,hand
*,v/d,2026-01-01,2026-01-31,1,1,,,,,,,hand
*,v/d,2026-02-01,,2,2,,,,,,,hand
";

    fn entry(model: &str, input: Money, output: Money) -> Entry {
        Entry {
            key: model.into(),
            model: model.into(),
            prices: Prices {
                input,
                output,
                cache_read: None,
                cache_write: None,
                cache_write_1h: None,
                long: None,
                long_threshold: super::super::LONG_THRESHOLD,
            },
        }
    }

    #[test]
    fn plan_and_apply_close_the_old_row_and_keep_the_rest() {
        let path = Path::new("models.csv");
        let table = RateTable::parse(path, TABLE.as_bytes()).unwrap();
        let mut a = entry("v/a", dec!(1), dec!(2));
        a.prices.cache_read = Some(dec!(0.1));
        let entries = vec![
            a,                                // unchanged: 0.10 = 0.1
            entry("v/b", dec!(3), dec!(16)),  // changed output; cache prices kept from the row
            entry("v/c", dec!(2), dec!(2)),   // conflict: its row starts later
            entry("v/d", dec!(2.5), dec!(2)), // changed: the second row closes
            entry("v/new", dec!(1), dec!(1)), // new
        ];
        let from = Day::parse("2026-02-15").unwrap();
        let plan = plan(&table, entries, "*", from, false);
        let statuses: Vec<_> = plan.items.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            statuses,
            ["unchanged", "changed", "conflict", "changed", "new"]
        );
        let Status::Changed { line, changes, .. } = &plan.items[1].1 else {
            unreachable!()
        };
        assert_eq!(*line, 4);
        // The entry gives no cache prices: the row's are kept, never replaced by the input price.
        assert_eq!(
            changes,
            &vec![("output_per_mtok", "15".to_string(), "16".to_string())]
        );
        let out = apply(TABLE.as_bytes(), path, &plan, "litellm x").unwrap();
        let expected = "provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok,cache_write_1h_per_mtok,source
# a comment the import keeps
*,v/a,2026-01-01,,1,2,0.10,,,,,,hand
*,v/b,2026-01-01,2026-02-14,3,15,0.30,3.75,,,,6,hand
*,v/b,2026-02-15,,3,16,0.3,3.75,,,,6,litellm x
*,v/c,2026-03-01,,1,1,,,,,,,hand
*,v/d,2026-01-01,2026-01-31,1,1,,,,,,,hand
*,v/d,2026-02-01,2026-02-14,2,2,,,,,,,hand
*,v/d,2026-02-15,,2.5,2,,,,,,,litellm x
*,v/new,2026-02-15,,1,1,,,,,,,litellm x
";
        assert_eq!(String::from_utf8(out.clone()).unwrap(), expected);
        RateTable::parse(path, &out).unwrap();
    }

    /// LiteLLM repeating the five-minute write as the one-hour price does not replace a table's
    /// own one-hour price; an entry that gives the hour its own price does.
    #[test]
    fn a_one_hour_write_equal_to_the_five_minute_one_is_not_taken() {
        let path = Path::new("models.csv");
        let table = RateTable::parse(path, TABLE.as_bytes()).unwrap();
        let from = Day::parse("2026-02-15").unwrap();
        let with_1h = |h: Money| {
            let mut e = entry("v/b", dec!(3), dec!(15));
            e.prices.cache_read = Some(dec!(0.3));
            e.prices.cache_write = Some(dec!(3.75));
            e.prices.cache_write_1h = Some(h);
            e
        };
        let p = plan(&table, vec![with_1h(dec!(3.75))], "*", from, false);
        assert_eq!(p.items[0].1, Status::Unchanged);
        let p = plan(&table, vec![with_1h(dec!(7))], "*", from, false);
        let Status::Changed { changes, kept, .. } = &p.items[0].1 else {
            unreachable!("{:?}", p.items[0].1)
        };
        assert_eq!(
            changes,
            &vec![("cache_write_1h_per_mtok", "6".to_string(), "7".to_string())]
        );
        assert!(kept.is_empty());
    }

    #[test]
    fn a_row_starting_on_the_day_is_a_conflict_and_a_missing_newline_is_added() {
        let path = Path::new("models.csv");
        let text = "provider,model,effective_from,effective_to,input_per_mtok,output_per_mtok,cache_read_per_mtok,cache_write_per_mtok,long_context_threshold,long_input_per_mtok,long_output_per_mtok\n*,v/a,2026-02-15,,1,2,,,,,";
        let table = RateTable::parse(path, text.as_bytes()).unwrap();
        let from = Day::parse("2026-02-15").unwrap();
        let p = plan(
            &table,
            vec![
                entry("v/a", dec!(2), dec!(2)),
                entry("v/n", dec!(1), dec!(1)),
            ],
            "*",
            from,
            false,
        );
        assert!(matches!(p.items[0].1, Status::Conflict(_)));
        let out = apply(text.as_bytes(), path, &p, "s").unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with(",,,,,\n*,v/n,2026-02-15,,1,1,,,,,\n"),);
    }
}
