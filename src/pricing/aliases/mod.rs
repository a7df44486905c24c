//! One model identity: every spelling a source writes resolved to the one slug the rate table
//! prices (docs/formats.md §2 "Model names"), for the logs, the invoices and the exports alike.
//!
//! `rates/aliases.csv` lists spellings and the slug each stands for, with where the spelling was
//! seen:
//!
//! ```text
//! alias,slug,source,note
//! gpt-5-mini-2025-08-07,openai/gpt-5-mini,OpenAI usage export (model),dated snapshot
//! Claude Opus 4.5,anthropic/claude-opus-4.5,Anthropic cost export (model),display name
//! anthropic/claude-4.6-sonnet-20260217,anthropic/claude-sonnet-4.6,OpenRouter canonical_slug,permaslug
//! ```
//!
//! # Resolution
//!
//! [`ModelNames::resolve`] gives a written name the slug it stands for, trying in this order:
//!
//! 1. **A known slug.** A slug is known when `rates/models.csv` prices it (any provider, any
//!    period) or `rates/slugs.csv` names it (either side of a row). The name as written, then
//!    the name [normalised](#the-rules) (1 and 2 of the rules), then with its maker added (3):
//!    a name the rate table prices is its own slug, so a priced dated snapshot
//!    (`anthropic/claude-sonnet-4-20250514`) stays itself and the audit still sees it.
//! 2. **A row of `rates/aliases.csv`** whose alias is one of those spellings (compared after
//!    normalisation) and whose slug is known. The `openrouter-permaslug` rows of a
//!    `slugs.csv` (the older place of permaslugs) count as rows here.
//! 3. **The rules** below, applied in turn; the first spelling a table knows wins.
//! 4. **Nothing.** The name resolves to no slug and is kept as written: it is summed under its
//!    own name, unpriced, and listed once in the summary and in `audit`.
//!
//! The resolver only ever gives a known slug: an alias row whose slug no table knows is passed
//! over, and a rule's spelling counts only when a table knows it.
//!
//! # The rules
//!
//! 1. Case and white space: trimmed, lower case, each run of white space one `-`
//!    (`Claude Opus 4.5` → `claude-opus-4.5`, `GPT-5 mini` → `gpt-5-mini`).
//! 2. Routing prefixes: `openrouter/` and `litellm_proxy/` are stripped (repeatedly), then one
//!    LiteLLM host prefix (`gemini/`, `vertex_ai/`, `bedrock/`, `azure/`, `meta_llama/`):
//!    `openrouter/anthropic/claude-sonnet-4.6` → `anthropic/claude-sonnet-4.6`,
//!    `gemini/gemini-2.5-pro` → `gemini-2.5-pro`; and a Bedrock version `-vN:M` at the end
//!    (`claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`). Azure's regional
//!    deployments (`azure/eu/gpt-5`) keep their region: they are priced apart.
//! 3. The maker: a Bedrock model id becomes `author/name` without its region and version
//!    (`us.anthropic.claude-3-5-haiku-20241022-v1:0` → `anthropic/claude-3-5-haiku-20241022`);
//!    a bare name gets the author of the gateways' slugs from how it starts: `gpt-`,
//!    `chatgpt-`, `codex-`, `o<digit>` → `openai/`; `claude-` → `anthropic/`; `gemini-`,
//!    `gemma-` → `google/`; `deepseek-` → `deepseek/`; `llama-` → `meta-llama/`; `mistral-`,
//!    `codestral-`, `magistral-`, `devstral-`, `ministral-` → `mistralai/`; `grok-` → `x-ai/`;
//!    `qwen` → `qwen/`; `kimi-` → `moonshotai/`. Any other bare name takes the provider as its
//!    author when the provider is not a gateway (`openrouter`, `ominigate`, `litellm`,
//!    `litellm_proxy`).
//! 4. Claude's order: the version dotted and, for Claude 4 and later, after the family, as the
//!    public slugs write it: `claude-4.6-sonnet` and `claude-sonnet-4-6` → `claude-sonnet-4.6`,
//!    `claude-4-opus` → `claude-opus-4`; Claude 3 keeps the version first:
//!    `claude-3-7-sonnet` → `claude-3.7-sonnet`. A trailing date stays at the end
//!    (`claude-4-opus-20250514` → `claude-opus-4-20250514`, a priced snapshot).
//! 5. The snapshot: a trailing `-YYYYMMDD` or `-YYYY-MM-DD` that is a real date, or a Vertex
//!    pin `@…`, is cut: `gpt-5-mini-2025-08-07` → `openai/gpt-5-mini`,
//!    `claude-opus-4-5-20251101` → `anthropic/claude-opus-4.5` (with 4),
//!    `vertex_ai/claude-opus-4-5@20251101` → `anthropic/claude-opus-4.5`.
//!
//! Rules 4 and 5 are tried in the order 4, 5, then both, so the most specific known spelling
//! wins (a dated snapshot the table prices before its undated slug).
//!
//! # Exports' own names
//!
//! A bill line's name that resolves to nothing still needs a slug form to meet the logs:
//! [`ModelNames::export_form`] gives a maker's export's name with its maker (rules 1 to 4, and
//! 5 for Anthropic's model versions, whose dates its slugs never carry; OpenAI's dated names
//! keep their date, as before: a dated OpenAI snapshot may be a slug of its own). [`ModelNames::permaslug`]
//! keeps docs/formats.md §3's prefix rule for an OpenRouter permaslug column (rules 4 and 5), so
//! an unpriced model's permaslug (`anthropic/claude-4.8-haiku-20260701`) still meets the logs'
//! public slug (`anthropic/claude-haiku-4.8`). Such a line is still listed as resolving to no
//! priced slug.
//!
//! Resolution is done once per distinct name: the daily sums intern each provider × model
//! pair when it is first seen ([`crate::aggregate`]), the invoice reader caches per name.

mod rules;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::slugs::SlugMap;
use super::{RateError, RateTable};

pub(crate) const BUILTIN: &str = include_str!("../../../rates/aliases.csv");

/// How a written name got its slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum How {
    /// Written exactly as a known slug.
    Slug,
    /// A row of `aliases.csv` (`slugs` false) or a permaslug row of `slugs.csv`, with its line.
    Alias { slugs: bool, line: u64 },
    /// The rules (also a known slug written in another case or with a routing prefix).
    Rule,
    /// No slug: the name is kept as written.
    Unresolved,
}

impl How {
    /// In words, for notes and the summary.
    pub fn describe(&self) -> String {
        match self {
            How::Slug => "the slug itself".into(),
            How::Alias { slugs: false, line } => format!("aliases.csv line {line}"),
            How::Alias { slugs: true, line } => format!("slugs.csv line {line}"),
            How::Rule => "naming rule".into(),
            How::Unresolved => "resolves to no priced slug".into(),
        }
    }
}

/// What a written name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// A slug the rate table prices or the slug map names; `None` when nothing does.
    pub slug: Option<String>,
    pub how: How,
}

impl Resolved {
    fn to(slug: &str, how: How) -> Resolved {
        Resolved {
            slug: Some(slug.to_string()),
            how,
        }
    }

    /// The name the usage is counted under: the slug, else the name as written.
    pub fn name_or<'a>(&'a self, written: &'a str) -> &'a str {
        self.slug.as_deref().unwrap_or(written)
    }
}

/// One written name as a run used it: how it resolved and how much it counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameUse {
    pub provider: String,
    pub written: String,
    /// What the usage is counted under: the slug, or the name kept (as written, or an export's
    /// form of it).
    pub model: String,
    pub how: How,
    /// Calls (logs) or rows (bills).
    pub count: u64,
}

/// One row of `rates/aliases.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasRow {
    pub alias: String,
    pub slug: String,
    pub source: String,
    pub note: String,
    pub line: u64,
}

/// The alias table and the slugs the tables know: the one resolver of model names.
#[derive(Debug, Clone, Default)]
pub struct ModelNames {
    rows: Vec<AliasRow>,
    /// Normalised alias → (slug, how).
    aliases: HashMap<String, (String, How)>,
    /// Slugs the rate table prices or the slug map names, as written there.
    exact: HashSet<String>,
    /// The same, lower-cased → as written.
    known: HashMap<String, String>,
    pub path: PathBuf,
}

const COLUMNS: [&str; 2] = ["alias", "slug"];

impl ModelNames {
    /// Loads `DIR/aliases.csv`, resolving to what `rates` and `slugs` know.
    pub(crate) fn load_dir(
        dir: &Path,
        rates: &RateTable,
        slugs: &SlugMap,
    ) -> Result<ModelNames, RateError> {
        let path = dir.join("aliases.csv");
        Self::parse(
            &path,
            &super::read_table(&path, "alias table")?,
            rates,
            slugs,
        )
    }

    /// The shipped alias table over the given tables.
    pub fn builtin_with(rates: &RateTable, slugs: &SlugMap) -> ModelNames {
        Self::parse(
            Path::new("<built-in rates/aliases.csv>"),
            BUILTIN.as_bytes(),
            rates,
            slugs,
        )
        .expect("the shipped alias table is valid (a unit test checks it)")
    }

    /// The shipped alias table over the shipped rate table and slug map.
    pub fn builtin() -> ModelNames {
        Self::builtin_with(&RateTable::builtin(), &SlugMap::builtin())
    }

    /// Parses the CSV text (columns `alias`, `slug`; `source` and `note` read when present).
    /// Errors name the file and line: a missing column, an empty alias or slug, a slug that is
    /// not `author/model`, or the same alias (after normalisation) twice.
    pub fn parse(
        path: &Path,
        text: &[u8],
        rates: &RateTable,
        slugs: &SlugMap,
    ) -> Result<ModelNames, RateError> {
        let file = path.display().to_string();
        let err = |line: u64, message: String| RateError {
            file: file.clone(),
            line,
            message,
        };
        let (mut rdr, headers) = super::table_reader(text).map_err(|m| err(1, m))?;
        let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let mut cols = [0usize; 2];
        for (slot, name) in cols.iter_mut().zip(COLUMNS) {
            *slot = col(name).ok_or_else(|| err(1, format!("header lacks column `{name}`")))?;
        }
        let (source, note) = (col("source"), col("note"));
        let mut names = ModelNames {
            path: path.to_path_buf(),
            ..Default::default()
        };
        let slug_names = slugs
            .rows()
            .iter()
            .filter(|r| r.from_provider != super::slugs::PERMASLUG_PROVIDER)
            .flat_map(|r| [&r.from_model, &r.to_model]);
        for m in rates.rates().iter().map(|r| &r.model).chain(slug_names) {
            names.exact.insert(m.clone());
            names.known.entry(m.to_lowercase()).or_insert(m.clone());
        }
        let mut first_line: HashMap<String, u64> = HashMap::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| err(e.position().map_or(0, |p| p.line()), e.to_string()))?;
            let line = rec.position().map_or(0, |p| p.line());
            let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").to_string();
            let row = AliasRow {
                alias: get(Some(cols[0])),
                slug: get(Some(cols[1])),
                source: get(source),
                note: get(note),
                line,
            };
            if row.alias.is_empty() {
                return Err(err(line, "alias is empty".into()));
            }
            if !is_slug(&row.slug) {
                return Err(err(
                    line,
                    format!("slug `{}` is not an author/model slug", row.slug),
                ));
            }
            let key = rules::normalise(&row.alias);
            if let Some(first) = first_line.insert(key.clone(), line) {
                return Err(err(
                    line,
                    format!(
                        "alias `{}` is listed twice (first on line {first})",
                        row.alias
                    ),
                ));
            }
            names.aliases.insert(
                key,
                (
                    row.slug.clone(),
                    How::Alias {
                        slugs: false,
                        line: row.line,
                    },
                ),
            );
            names.rows.push(row);
        }
        // The permaslug rows of a slugs.csv: aliases, where aliases.csv does not name them.
        for r in slugs
            .rows()
            .iter()
            .filter(|r| r.from_provider == super::slugs::PERMASLUG_PROVIDER)
        {
            names
                .aliases
                .entry(rules::normalise(&r.from_model))
                .or_insert((
                    r.to_model.clone(),
                    How::Alias {
                        slugs: true,
                        line: r.line,
                    },
                ));
        }
        Ok(names)
    }

    /// Every row of the alias table, in file order.
    pub fn rows(&self) -> &[AliasRow] {
        &self.rows
    }

    /// Whether the rate table or the slug map knows the slug.
    pub fn knows(&self, slug: &str) -> bool {
        self.exact.contains(slug)
    }

    /// The known slug of a spelling, compared case-insensitively.
    fn known(&self, spelling: &str) -> Option<&str> {
        self.known.get(spelling).map(String::as_str)
    }

    /// The slug `written` stands for on `provider` (see the module documentation), or none.
    pub fn resolve(&self, provider: &str, written: &str) -> Resolved {
        if self.exact.contains(written) {
            return Resolved::to(written, How::Slug);
        }
        let n = rules::normalise(written);
        let stripped = rules::strip_routing(&n);
        let full = rules::with_maker(stripped, provider);
        let spellings = [Some(n.as_str()), Some(stripped), full.as_deref()];
        for s in spellings.iter().flatten() {
            if let Some(k) = self.known(s) {
                return Resolved::to(k, How::Rule);
            }
        }
        for s in spellings.iter().flatten() {
            if let Some((slug, how)) = self.aliases.get(*s) {
                if let Some(k) = self.known(&slug.to_lowercase()) {
                    return Resolved::to(k, *how);
                }
            }
        }
        if let Some(full) = &full {
            for form in rules::rule_forms(full) {
                if let Some(k) = self.known(&form) {
                    return Resolved::to(k, How::Rule);
                }
            }
        }
        Resolved {
            slug: None,
            how: How::Unresolved,
        }
    }

    /// The name a bill line of a maker's own export counts under, and how it resolved: the
    /// slug, else the export's form of the name ([module documentation](self#exports-own-names)):
    /// `maker` is the author of the source's bare names (`openai` for OpenAI's exports), `dated`
    /// whether its names carry a snapshot date its slugs do not (Anthropic's model versions).
    /// `None` for a name of more than one `/` that resolves to nothing.
    pub fn export_form(
        &self,
        maker: &str,
        written: &str,
        dated: bool,
    ) -> Option<(String, Resolved)> {
        let r = self.resolve(maker, written);
        if let Some(s) = &r.slug {
            return Some((s.clone(), r));
        }
        let full = rules::with_maker(rules::strip_routing(&rules::normalise(written)), maker)?;
        let (author, name) = full.split_once('/')?;
        let name = if dated { rules::strip_date(name) } else { name };
        let name = rules::claude(name).unwrap_or_else(|| name.to_string());
        Some((format!("{author}/{name}"), r))
    }

    /// The name an OpenRouter export's permaslug (`model_permaslug`, the aggregated export's
    /// `Slug`) counts under, and how it resolved: the slug, else docs/formats.md §3's prefix
    /// rule (the snapshot cut and the Claude order, whatever the result names). `None` when the
    /// name resolves to nothing and is not an `author/model` slug.
    pub fn permaslug(&self, written: &str) -> Option<(String, Resolved)> {
        let r = self.resolve("openrouter", written);
        let model = match &r.slug {
            Some(s) => s.clone(),
            None => rules::permaslug_form(written)?,
        };
        Some((model, r))
    }
}

/// `author/model`: one `/`, both parts non-empty, no white space.
fn is_slug(s: &str) -> bool {
    matches!(s.split_once('/'), Some((a, m)) if !a.is_empty() && !m.is_empty() && !m.contains('/'))
        && !s.contains(char::is_whitespace)
}
