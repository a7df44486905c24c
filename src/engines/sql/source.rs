//! How each field of a call is read from the user's table, as SQL over the table alias `r`:
//! the §1 columns for the default schema, a schema file's mapping otherwise (docs/schemas.md):
//! columns, nested fields, constants, the prompt convention, epoch timestamps, status texts,
//! `failed_when`, `call_when`, `skip_when` and the host table. What a table cannot express is
//! refused with the reason (docs/engines.md, "spendrecon sql").

use std::cell::RefCell;

use anyhow::{bail, Result};

use super::dialect::{Dialect, Epoch, Kind};
use super::ident::{check_literal, check_part};
use crate::sources::record::FieldId;
use crate::sources::schema::mapping::{Dest, Records, TsForm};
use crate::sources::schema::{Mapping, Schema};

/// The table alias every column is read through.
pub(crate) const ROW: &str = "r";

/// One call's fields as SQL expressions over the table row `r`. Counts other than prompt and
/// completion are 0 when absent; `byok` is false when absent; the rest may be NULL.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub ts: String,
    pub provider: String,
    pub model: String,
    pub prompt: String,
    pub completion: String,
    pub cached: String,
    pub cache_write: String,
    pub cache_write_1h: String,
    pub reasoning: String,
    pub status: String,
    pub byok: String,
    pub request_id: String,
    /// The gateway's reported cost (USD), or NULL.
    pub cost: String,
    /// With `--by`: the group's value as text, `''` for none (blank counts as none, as the
    /// reader has it).
    pub tenant: Option<String>,
    /// Conditions on the row for it to be a call at all (`call_when`, `skip_when`).
    pub keep: Vec<String>,
    /// For a mapping: each path (and each value built from paths alone) read once from the
    /// table as `expr AS p_N`; the fields above then read those columns. Empty for §1 columns.
    pub raw: Vec<String>,
}

impl Source {
    pub(crate) fn new(schema: &Schema, d: Dialect, by: bool) -> Result<Source> {
        let mut s = match schema {
            Schema::Native => native(d),
            Schema::Mapped(m) => mapped(m, d, by)?,
        };
        if by {
            let v = match schema {
                Schema::Native => d.text(&col(d, "tenant")),
                Schema::Mapped(_) => s.tenant.take().unwrap_or_else(|| d.text("NULL")),
            };
            s.tenant = Some(format!(
                "coalesce(CASE WHEN trim({v}) <> '' THEN {v} END, '')"
            ));
        }
        Ok(s)
    }
}

fn col(d: Dialect, name: &str) -> String {
    format!("{ROW}.{}", d.quote(name))
}

/// docs/formats.md §1: the columns by their own names.
fn native(d: Dialect) -> Source {
    let count = |name: &str| format!("coalesce({}, 0)", col(d, name));
    Source {
        ts: col(d, "ts"),
        provider: col(d, "provider"),
        model: col(d, "model"),
        prompt: col(d, "prompt_tokens"),
        completion: col(d, "completion_tokens"),
        cached: count("cached_tokens"),
        cache_write: count("cache_write_tokens"),
        // Read flat as the log reader reads it (`cache_write_1h_tokens`).
        cache_write_1h: count("cache_write_1h_tokens"),
        reasoning: count("reasoning_tokens"),
        status: col(d, "status"),
        byok: format!("coalesce({}, {})", col(d, "byok"), d.boolean(false)),
        request_id: format!("nullif({}, '')", col(d, "request_id")),
        cost: col(d, "cost"),
        tenant: None,
        keep: Vec::new(),
        raw: Vec::new(),
    }
}

/// The paths of a destination, in the schema's order.
fn paths(m: &Mapping, dest: Dest) -> Vec<&str> {
    let mut v: Vec<(u8, &str)> = m
        .paths
        .iter()
        .flat_map(|p| {
            p.leaves
                .iter()
                .filter(move |l| l.dest == dest)
                .map(move |l| (l.rank, p.text.as_str()))
        })
        .collect();
    v.sort_by_key(|(rank, _)| *rank);
    v.into_iter().map(|(_, p)| p).collect()
}

struct Reader<'a> {
    m: &'a Mapping,
    d: Dialect,
    /// The `raw` columns: expression and alias, each expression once.
    raw: RefCell<Vec<(String, String)>>,
}

impl Reader<'_> {
    /// `e` (over the table row) read once in the `raw` layer: the column name to use after it.
    fn column(&self, e: String, prefix: &str) -> String {
        let mut raw = self.raw.borrow_mut();
        if let Some((_, a)) = raw.iter().find(|(x, _)| *x == e) {
            return a.clone();
        }
        let alias = format!("{prefix}{}", raw.len());
        raw.push((e, alias.clone()));
        alias
    }

    /// A path's value, read once: the `raw` column holding it.
    fn path(&self, p: &str, kind: Kind) -> Result<String> {
        let e = self.path_expr(p, kind)?;
        Ok(self.column(e, "p_"))
    }

    /// A path over the table row: its first key is a column; further keys are fields inside it.
    fn path_expr(&self, p: &str, kind: Kind) -> Result<String> {
        let what = format!("schema `{}`: path `{p}`", self.m.name);
        let keys: Vec<&str> = p.split('.').collect();
        for k in &keys {
            check_part(k, &what)?;
        }
        let c = col(self.d, keys[0]);
        let e = if keys.len() == 1 {
            c
        } else {
            self.d.nested(&c, &keys[1..], kind)
        };
        Ok(match kind {
            // Empty text counts as absent, as the reader has it.
            Kind::Text => format!("nullif({}, '')", self.d.text(&e)),
            _ => e,
        })
    }

    fn constant(&self, id: FieldId, kind: Kind) -> Result<Option<String>> {
        let Some((_, v)) = self.m.constants.iter().find(|(c, _)| *c == id) else {
            return Ok(None);
        };
        let what = format!("schema `{}`: [constants] {}", self.m.name, id.name());
        check_literal(v, &what)?;
        Ok(Some(match kind {
            Kind::Text => self.d.string(v),
            Kind::Int => match v.trim().parse::<u64>() {
                Ok(n) => n.to_string(),
                Err(_) => bail!("{what} = `{v}`: not a whole number"),
            },
            Kind::Bool => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "t" | "y" => self.d.boolean(true).into(),
                "false" | "0" | "no" | "f" | "n" | "" => self.d.boolean(false).into(),
                _ => bail!("{what} = `{v}`: not true or false"),
            },
            Kind::Time => bail!("{what}: a constant timestamp is not supported by `sql`"),
            Kind::Decimal => match v.trim().parse::<crate::domain::Money>() {
                Ok(n) => n.to_string(),
                Err(_) => bail!("{what} = `{v}`: not a decimal number"),
            },
        }))
    }

    /// The field's paths tried in order, then its constant: `None` when the schema gives neither.
    fn field(&self, id: FieldId, kind: Kind) -> Result<Option<String>> {
        let mut e: Vec<String> = paths(self.m, Dest::Field(id))
            .into_iter()
            .map(|p| self.path(p, kind))
            .collect::<Result<_>>()?;
        e.extend(self.constant(id, kind)?);
        Ok(match e.len() {
            0 => None,
            1 => e.pop(),
            _ => Some(format!("coalesce({})", e.join(", "))),
        })
    }

    /// `path IS NOT NULL` for each path of `dest`, over the table row.
    fn present(&self, dest: Dest) -> Result<Vec<String>> {
        paths(self.m, dest)
            .into_iter()
            .map(|p| Ok(format!("{} IS NOT NULL", self.path_expr(p, Kind::Text)?)))
            .collect()
    }

    fn ts(&self) -> Result<String> {
        let m = self.m;
        let unit = match m.ts_form {
            TsForm::EpochS => Some(Epoch::S),
            TsForm::EpochMs => Some(Epoch::Ms),
            TsForm::EpochUs => Some(Epoch::Us),
            TsForm::EpochNs => Some(Epoch::Ns),
            TsForm::Naive if m.zone != chrono_tz::UTC => bail!(
                "schema `{}`: [timestamp] zone `{}`: `sql` reads `ts` as a timestamp holding UTC; convert it in a view",
                m.name,
                m.zone
            ),
            TsForm::Auto | TsForm::Rfc3339 | TsForm::Naive => None,
        };
        if unit.is_none()
            && matches!(self.d, Dialect::Postgres | Dialect::Snowflake)
            && paths(m, Dest::Field(FieldId::Ts))
                .iter()
                .any(|p| p.contains('.'))
        {
            bail!(
                "schema `{}`: a nested `ts` is JSON text in {}, whose zone `sql` cannot read; map a timestamp column",
                m.name,
                self.d.name()
            );
        }
        let kind = if unit.is_some() {
            Kind::Int
        } else {
            Kind::Time
        };
        let Some(e) = self.field(FieldId::Ts, kind)? else {
            bail!("schema `{}` maps no column to `ts`", m.name);
        };
        Ok(match unit {
            Some(u) => self.d.epoch(&e, u),
            None => e,
        })
    }

    /// The HTTP status as read (a number, or a `[status] text` looked up) and whether
    /// `failed_when` marks the call failed: `raw` columns.
    fn status(&self) -> Result<(String, Option<String>)> {
        let (m, d) = (self.m, self.d);
        let base = if m.status_text.is_empty() {
            self.field(FieldId::Status, Kind::Int)?
        } else {
            let mut texts: Vec<String> = paths(m, Dest::Field(FieldId::Status))
                .into_iter()
                .map(|p| self.path_expr(p, Kind::Text))
                .collect::<Result<_>>()?;
            texts.extend(self.constant(FieldId::Status, Kind::Text)?);
            let s = match texts.len() {
                0 => None,
                1 => texts.pop(),
                _ => Some(format!("coalesce({})", texts.join(", "))),
            };
            s.map(|s| {
                let t = format!("lower(trim({s}))");
                let mut e = format!("CASE WHEN {s} IS NULL THEN NULL");
                for (text, code) in &m.status_text {
                    e.push_str(&format!(" WHEN {t} = {} THEN {code}", d.string(text)));
                }
                let n = d.try_int(&format!("trim({s})"));
                // Other text is rejected by the reader: -1 leaves the row out.
                e.push_str(&format!(" ELSE coalesce({n}, -1) END"));
                self.column(e, "s_")
            })
        };
        let base = base.unwrap_or_else(|| "NULL".into());
        let failed: Vec<String> = paths(m, Dest::Failed)
            .into_iter()
            .map(|p| {
                let v = self.path_expr(p, Kind::Text)?;
                Ok(format!(
                    "coalesce(lower(trim({v})) NOT IN ('', '0', 'false', 'no'), {})",
                    d.boolean(false)
                ))
            })
            .collect::<Result<_>>()?;
        let failed =
            (!failed.is_empty()).then(|| self.column(format!("({})", failed.join(" OR ")), "f_"));
        Ok((base, failed))
    }

    /// The gateway: a known host first, then the provider field, then its constant.
    fn provider(&self) -> Result<String> {
        let (m, d) = (self.m, self.d);
        let plain = self.field(FieldId::Provider, Kind::Text)?;
        let hosts = paths(m, Dest::Host);
        if hosts.is_empty() {
            return plain.ok_or_else(|| anyhow::anyhow!("schema `{}` maps no provider", m.name));
        }
        let mut e = String::from("CASE");
        for p in hosts {
            let h = self.column(
                d.host(&format!("lower({})", self.path_expr(p, Kind::Text)?)),
                "h_",
            );
            for (host, gateway) in &m.hosts {
                let what = format!("schema `{}`: [gateway] hosts", m.name);
                check_literal(host, &what)?;
                check_literal(gateway, &what)?;
                e.push_str(&format!(
                    " WHEN {h} = {} OR {h} LIKE {} THEN {}",
                    d.string(host),
                    d.string(&format!("%.{host}")),
                    d.string(gateway)
                ));
            }
        }
        e.push_str(&format!(
            " ELSE {} END",
            plain.unwrap_or_else(|| "NULL".into())
        ));
        Ok(e)
    }
}

/// A schema file's mapping.
/// The mapping's expressions; with `by`, the tenant slot's (the `--by` field's) too.
fn mapped(m: &Mapping, d: Dialect, by: bool) -> Result<Source> {
    if m.records == Records::Otlp {
        bail!(
            "schema `{}` reads OTLP/JSON export lines (records = \"otlp\"): `sql` reads a table of one row per call; load the spans flattened into columns and map those",
            m.name
        );
    }
    let r = Reader {
        m,
        d,
        raw: RefCell::new(Vec::new()),
    };
    let count = |id: FieldId| -> Result<String> {
        Ok(match r.field(id, Kind::Int)? {
            Some(e) => format!("coalesce({e}, 0)"),
            None => "0".into(),
        })
    };
    let (cached, cache_write) = (
        count(FieldId::CachedTokens)?,
        count(FieldId::CacheWriteTokens)?,
    );
    let prompt = match (
        r.field(FieldId::PromptTokens, Kind::Int)?,
        r.field(FieldId::InputTokens, Kind::Int)?,
    ) {
        // The Anthropic convention: input tokens exclude the cache reads and writes.
        (p, Some(i)) => {
            let sum = format!("{i} + {cached} + {cache_write}");
            match p {
                Some(p) => format!("coalesce({p}, {sum})"),
                None => format!("({sum})"),
            }
        }
        (Some(p), None) => p,
        (None, None) => bail!("schema `{}` maps no prompt or input tokens", m.name),
    };
    let completion = match (
        r.field(FieldId::CompletionTokens, Kind::Int)?,
        r.field(FieldId::OutputTokens, Kind::Int)?,
    ) {
        (Some(c), Some(o)) => format!("coalesce({c}, {o})"),
        (Some(c), None) | (None, Some(c)) => c,
        (None, None) => bail!("schema `{}` maps no completion or output tokens", m.name),
    };
    let (base, failed) = r.status()?;
    let status = match &failed {
        Some(f) => format!(
            "CASE WHEN {f} AND ({base} IS NULL OR {base} BETWEEN 200 AND 299) THEN 500 ELSE {base} END"
        ),
        None => base.clone(),
    };
    // A failed call that reports no usage used no tokens (the reader's rule); a row without
    // token counts is a call only when `call_when` says so.
    let mut tokens = Vec::new();
    for id in [
        FieldId::PromptTokens,
        FieldId::InputTokens,
        FieldId::CompletionTokens,
        FieldId::OutputTokens,
    ] {
        tokens.extend(r.present(Dest::Field(id))?);
    }
    let any_tokens =
        (!tokens.is_empty()).then(|| r.column(format!("({})", tokens.join(" OR ")), "k_"));
    let not_2xx = format!(
        "coalesce({base} NOT BETWEEN 200 AND 299, {})",
        d.boolean(false)
    );
    let failed_call = match &failed {
        Some(f) => format!("({f} OR {not_2xx})"),
        None => not_2xx,
    };
    let zero = match &any_tokens {
        Some(k) => format!("CASE WHEN NOT {k} AND {failed_call} THEN 0 END"),
        None => format!("CASE WHEN {failed_call} THEN 0 END"),
    };

    let mut keep = Vec::new();
    if m.call_when {
        let called: Vec<String> = paths(m, Dest::Call)
            .into_iter()
            .map(|p| Ok(format!("{} IS NOT NULL", r.path(p, Kind::Text)?)))
            .collect::<Result<_>>()?;
        keep.push(format!("({})", called.join(" OR ")));
    } else if let Some(k) = &any_tokens {
        keep.push(k.clone());
    }
    for (i, values) in m.skip_values.iter().enumerate() {
        for p in paths(m, Dest::SkipWhen(i as u8)) {
            let v = r.path(p, Kind::Text)?;
            let list: Vec<String> = values
                .iter()
                .map(|s| {
                    check_literal(s, &format!("schema `{}`: [schema] skip_when", m.name))?;
                    Ok(d.string(s))
                })
                .collect::<Result<_>>()?;
            keep.push(format!(
                "NOT coalesce(lower(trim({v})) IN ({}), {})",
                list.join(", "),
                d.boolean(false)
            ));
        }
    }
    Ok(Source {
        ts: r.ts()?,
        provider: r.provider()?,
        model: r
            .field(FieldId::Model, Kind::Text)?
            .unwrap_or_else(|| "NULL".into()),
        prompt: format!("coalesce({prompt}, {zero})"),
        completion: format!("coalesce({completion}, {zero})"),
        cached,
        cache_write,
        cache_write_1h: count(FieldId::CacheWrite1hTokens)?,
        reasoning: count(FieldId::ReasoningTokens)?,
        status,
        byok: format!(
            "coalesce({}, {})",
            r.field(FieldId::Byok, Kind::Bool)?
                .unwrap_or_else(|| d.boolean(false).into()),
            d.boolean(false)
        ),
        request_id: r
            .field(FieldId::RequestId, Kind::Text)?
            .unwrap_or_else(|| d.text("NULL")),
        cost: r
            .field(FieldId::Cost, Kind::Decimal)?
            .unwrap_or_else(|| "NULL".into()),
        tenant: match by {
            true => r.field(FieldId::Tenant, Kind::Text)?,
            false => None,
        },
        keep,
        raw: r
            .raw
            .into_inner()
            .into_iter()
            .map(|(e, a)| format!("{e} AS {a}"))
            .collect(),
    })
}
