//! The model-slug map (`rates/slugs.csv`): which slug a model has on the other gateway, which
//! slugs are retired (and by what they are replaced), and which public slug an OpenRouter
//! activity export's dated `model_permaslug` stands for.
//!
//! ```text
//! from_provider,from_model,to_provider,to_model,retired_on,note
//! openrouter,anthropic/claude-3.5-haiku,ominigate,anthropic/claude-haiku-4.5,2026-02-19,retired …
//! openrouter-permaslug,anthropic/claude-4.6-sonnet-20260217,openrouter,anthropic/claude-sonnet-4.6,,
//! ```
//!
//! Rows whose `from_provider` is the pseudo-provider `openrouter-permaslug` map a permaslug to the
//! public slug; every other row maps a slug on one gateway to its counterpart on another and may
//! carry a retirement day (the `to_model` is then the replacement).
//!
//! # The permaslug prefix rule
//!
//! A permaslug that no row names is derived by [`SlugMap::permaslug`]:
//!
//! 1. A trailing date is cut: `-YYYYMMDD` or `-YYYY-MM-DD` (a real calendar date), so
//!    `deepseek/deepseek-v4-pro-20260423` → `deepseek/deepseek-v4-pro` and
//!    `openai/gpt-5-mini-2025-08-07` → `openai/gpt-5-mini`.
//! 2. For `anthropic/claude-<version>-<family>`, where `<version>` is `<major>`, `<major>.<minor>`
//!    or `<major>-<minor>`, the version is written with a dot and, for Claude 4 and later, moved
//!    after the family, as the public slugs are written: `anthropic/claude-4.6-sonnet-20260217` →
//!    `anthropic/claude-sonnet-4.6`, `anthropic/claude-4-opus-20250522` →
//!    `anthropic/claude-opus-4`. Claude 3.x public slugs keep the version first:
//!    `anthropic/claude-3-7-sonnet-20250219` → `anthropic/claude-3.7-sonnet`.
//! 3. Anything else is kept as it is: many OpenRouter permaslugs are the public slug itself.
//!
//! `None` only for a string that is not an `author/model` slug at all (empty, no `/`, an empty
//! part, or white space inside).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::domain::Day;
use crate::pricing::RateError;

pub(crate) const BUILTIN: &str = include_str!("../../rates/slugs.csv");

/// The pseudo-provider of rows mapping an OpenRouter permaslug to its public slug.
pub(crate) const PERMASLUG_PROVIDER: &str = "openrouter-permaslug";

const COLUMNS: [&str; 6] = [
    "from_provider",
    "from_model",
    "to_provider",
    "to_model",
    "retired_on",
    "note",
];

/// One row of `rates/slugs.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlugRow {
    /// Lower-cased.
    pub from_provider: String,
    pub from_model: String,
    /// Lower-cased.
    pub to_provider: String,
    pub to_model: String,
    /// The first day (UTC) the `from_model` is no longer served.
    pub retired_on: Option<Day>,
    pub note: String,
    /// Line in the file, for messages.
    pub line: u64,
}

/// A retired slug: from which day, what replaces it, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Retirement {
    pub retired_on: Day,
    pub replacement: String,
    pub note: String,
}

/// The rows of `rates/slugs.csv`, indexed.
#[derive(Debug, Clone, Default)]
pub struct SlugMap {
    rows: Vec<SlugRow>,
    /// permaslug → row
    permaslugs: HashMap<String, usize>,
    /// from_model → rows (permaslug rows left out)
    by_model: HashMap<String, Vec<usize>>,
    pub path: PathBuf,
}

impl SlugMap {
    /// Loads `DIR/slugs.csv`.
    pub(crate) fn load_dir(dir: &Path) -> Result<SlugMap, RateError> {
        Self::load(&dir.join("slugs.csv"))
    }

    pub(crate) fn load(path: &Path) -> Result<SlugMap, RateError> {
        Self::parse(path, &super::read_table(path, "slug map")?)
    }

    /// The map shipped inside the binary (a copy of `rates/slugs.csv` at build time).
    pub fn builtin() -> SlugMap {
        Self::parse(Path::new("<built-in rates/slugs.csv>"), BUILTIN.as_bytes())
            .expect("the shipped slug map is valid (a unit test checks it)")
    }

    /// Parses the CSV text. Errors name the file and line: a missing column, an empty
    /// provider or model, a `retired_on` that is not `YYYY-MM-DD`, a permaslug row whose
    /// `to_provider` is not `openrouter`, or the same (from_provider, from_model, to_provider)
    /// twice.
    pub fn parse(path: &Path, text: &[u8]) -> Result<SlugMap, RateError> {
        let file = path.display().to_string();
        let err = |line: u64, message: String| RateError {
            file: file.clone(),
            line,
            message,
        };
        let (mut rdr, headers) = super::table_reader(text).map_err(|m| err(1, m))?;
        let mut cols = [0usize; 6];
        for (slot, name) in cols.iter_mut().zip(COLUMNS) {
            *slot = headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
                .ok_or_else(|| err(1, format!("header lacks column `{name}`")))?;
        }
        let mut map = SlugMap {
            path: path.to_path_buf(),
            ..Default::default()
        };
        let mut seen: HashMap<(String, String, String), u64> = HashMap::new();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| err(e.position().map_or(0, |p| p.line()), e.to_string()))?;
            let line = rec.position().map_or(0, |p| p.line());
            let get = |i: usize| rec.get(cols[i]).unwrap_or("");
            let row = SlugRow {
                from_provider: get(0).to_ascii_lowercase(),
                from_model: get(1).to_string(),
                to_provider: get(2).to_ascii_lowercase(),
                to_model: get(3).to_string(),
                retired_on: match get(4) {
                    "" => None,
                    v => Some(Day::parse(v).ok_or_else(|| {
                        err(
                            line,
                            format!("retired_on: `{v}` is not a date (YYYY-MM-DD)"),
                        )
                    })?),
                },
                note: get(5).to_string(),
                line,
            };
            for (i, v) in [
                &row.from_provider,
                &row.from_model,
                &row.to_provider,
                &row.to_model,
            ]
            .into_iter()
            .enumerate()
            {
                if v.is_empty() {
                    return Err(err(line, format!("{} is empty", COLUMNS[i])));
                }
            }
            let key = (
                row.from_provider.clone(),
                row.from_model.clone(),
                row.to_provider.clone(),
            );
            if let Some(first) = seen.insert(key, line) {
                return Err(err(
                    line,
                    format!(
                        "{} {} → {} is mapped twice (first on line {first})",
                        row.from_provider, row.from_model, row.to_provider
                    ),
                ));
            }
            let idx = map.rows.len();
            if row.from_provider == PERMASLUG_PROVIDER {
                if row.to_provider != "openrouter" {
                    return Err(err(
                        line,
                        format!(
                            "a {PERMASLUG_PROVIDER} row maps to an openrouter slug, not to `{}`",
                            row.to_provider
                        ),
                    ));
                }
                map.permaslugs.insert(row.from_model.clone(), idx);
            } else {
                map.by_model
                    .entry(row.from_model.clone())
                    .or_default()
                    .push(idx);
            }
            map.rows.push(row);
        }
        Ok(map)
    }

    /// Every row, in file order.
    pub fn rows(&self) -> &[SlugRow] {
        &self.rows
    }

    /// The public slug of an OpenRouter activity-export `model_permaslug`: the `slugs.csv` row if
    /// one names it (borrowed), else the prefix rule of the module documentation (owned). `None`
    /// when the text is not an `author/model` slug.
    pub fn permaslug(&self, permaslug: &str) -> Option<Cow<'_, str>> {
        let p = permaslug.trim();
        if let Some(&i) = self.permaslugs.get(p) {
            return Some(Cow::Borrowed(self.rows[i].to_model.as_str()));
        }
        derive_public_slug(p).map(Cow::Owned)
    }

    /// The retirement of `model`: from the rows whose `from_model` is `model` and whose
    /// `from_provider` is `provider`, or, when no row names that provider for the model, from the
    /// rows of any provider (a model retired by its maker is retired on every gateway). The
    /// earliest `retired_on` wins when several rows carry one.
    pub fn retirement(&self, provider: &str, model: &str) -> Option<Retirement> {
        let rows = self.by_model.get(model)?;
        let own: Vec<&SlugRow> = rows
            .iter()
            .map(|&i| &self.rows[i])
            .filter(|r| r.from_provider.eq_ignore_ascii_case(provider))
            .collect();
        let candidates: Vec<&SlugRow> = if own.is_empty() {
            rows.iter().map(|&i| &self.rows[i]).collect()
        } else {
            own
        };
        candidates
            .into_iter()
            .filter_map(|r| r.retired_on.map(|d| (d, r)))
            .min_by_key(|(d, r)| (*d, r.line))
            .map(|(retired_on, r)| Retirement {
                retired_on,
                replacement: r.to_model.clone(),
                note: r.note.clone(),
            })
    }

    /// The slug on `to_provider` of `model` as called on `from_provider`: a row
    /// `from_provider,model,to_provider,…` gives its `to_model`; otherwise a row in the other
    /// direction (`to_provider,X,from_provider,model`) without a retirement gives `X`,
    /// preferring `X = model` when several do. `None` when no row links the two.
    pub fn counterpart(&self, from_provider: &str, model: &str, to_provider: &str) -> Option<&str> {
        if let Some(r) = self.by_model.get(model).and_then(|rows| {
            rows.iter().map(|&i| &self.rows[i]).find(|r| {
                r.from_provider.eq_ignore_ascii_case(from_provider)
                    && r.to_provider.eq_ignore_ascii_case(to_provider)
            })
        }) {
            return Some(&r.to_model);
        }
        let mut back = self.rows.iter().filter(|r| {
            r.from_provider != PERMASLUG_PROVIDER
                && r.retired_on.is_none()
                && r.to_model == model
                && r.from_provider.eq_ignore_ascii_case(to_provider)
                && r.to_provider.eq_ignore_ascii_case(from_provider)
        });
        let first = back.next()?;
        if first.from_model == model {
            return Some(&first.from_model);
        }
        Some(
            back.find(|r| r.from_model == model)
                .map_or(&first.from_model, |r| &r.from_model),
        )
    }
}

/// The prefix rule (see the module documentation).
fn derive_public_slug(p: &str) -> Option<String> {
    let (author, name) = p.split_once('/')?;
    if author.is_empty()
        || name.is_empty()
        || name.contains('/')
        || p.chars().any(char::is_whitespace)
    {
        return None;
    }
    let name = strip_date(name);
    if name.is_empty() {
        return None;
    }
    if author == "anthropic" {
        if let Some(n) = reorder_claude(name) {
            return Some(format!("{author}/{n}"));
        }
    }
    Some(format!("{author}/{name}"))
}

/// Cuts a trailing `-YYYYMMDD` or `-YYYY-MM-DD` that is a real date.
fn strip_date(name: &str) -> &str {
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

/// `claude-4.6-sonnet` → `claude-sonnet-4.6`, `claude-4-opus` → `claude-opus-4`,
/// `claude-3-7-sonnet` → `claude-3.7-sonnet`; `None` when the name is not version-first.
fn reorder_claude(name: &str) -> Option<String> {
    let rest = name.strip_prefix("claude-")?;
    let parts: Vec<&str> = rest.split('-').collect();
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    // The version: `4.6`, `4`, or `3-7` (two dash-separated numbers).
    let (major, minor, used) = match parts.as_slice() {
        [v, ..] if v.contains('.') => {
            let (a, b) = v.split_once('.')?;
            if !numeric(a) || !numeric(b) {
                return None;
            }
            (a, Some(b), 1)
        }
        [a, b, ..] if numeric(a) && numeric(b) => (*a, Some(*b), 2),
        [a, ..] if numeric(a) => (*a, None, 1),
        _ => return None,
    };
    let family = &parts[used..];
    if family.is_empty() || family.iter().any(|f| f.is_empty()) {
        return None;
    }
    let family = family.join("-");
    let version = match minor {
        Some(m) => format!("{major}.{m}"),
        None => major.to_string(),
    };
    let major: u32 = major.parse().ok()?;
    Some(if major >= 4 {
        format!("claude-{family}-{version}")
    } else {
        format!("claude-{version}-{family}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "from_provider,from_model,to_provider,to_model,retired_on,note\n";

    fn map(body: &str) -> Result<SlugMap, RateError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("slugs.csv"), format!("{HEADER}{body}")).unwrap();
        SlugMap::load_dir(dir.path())
    }

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    #[test]
    fn shipped_map_loads_and_every_permaslug_row_agrees_with_the_rule_or_is_listed() {
        let m = SlugMap::builtin();
        assert!(m.rows().len() > 40);
        assert_eq!(
            m.permaslug("anthropic/claude-4.6-sonnet-20260217")
                .as_deref(),
            Some("anthropic/claude-sonnet-4.6")
        );
        // The rule reproduces every shipped permaslug row: the table only pins them down.
        for r in m
            .rows()
            .iter()
            .filter(|r| r.from_provider == PERMASLUG_PROVIDER)
        {
            assert_eq!(
                derive_public_slug(&r.from_model).as_deref(),
                Some(r.to_model.as_str()),
                "line {}",
                r.line
            );
        }
    }

    #[test]
    fn table_row_wins_over_the_rule() {
        let m = map("openrouter-permaslug,acme/odd-20260101,openrouter,acme/renamed,,\n").unwrap();
        assert!(matches!(
            m.permaslug("acme/odd-20260101"),
            Some(Cow::Borrowed("acme/renamed"))
        ));
        assert!(matches!(
            m.permaslug("acme/other-20260101"),
            Some(Cow::Owned(s)) if s == "acme/other"
        ));
    }

    #[test]
    fn prefix_rule() {
        let m = SlugMap::default();
        let p = |s: &str| m.permaslug(s).map(|c| c.into_owned());
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            p("anthropic/claude-4.6-sonnet-20260217"),
            some("anthropic/claude-sonnet-4.6")
        );
        assert_eq!(
            p("anthropic/claude-5.1-haiku-20270101"),
            some("anthropic/claude-haiku-5.1")
        );
        assert_eq!(
            p("anthropic/claude-4-opus-20250522"),
            some("anthropic/claude-opus-4")
        );
        assert_eq!(
            p("anthropic/claude-3-7-sonnet-20250219"),
            some("anthropic/claude-3.7-sonnet")
        );
        assert_eq!(
            p("anthropic/claude-3.5-haiku-20241022"),
            some("anthropic/claude-3.5-haiku")
        );
        // Already family-first (a public dated snapshot): only the date goes.
        assert_eq!(
            p("anthropic/claude-sonnet-4-20250514"),
            some("anthropic/claude-sonnet-4")
        );
        assert_eq!(p("openai/gpt-5-mini-2025-08-07"), some("openai/gpt-5-mini"));
        assert_eq!(
            p("deepseek/deepseek-v4-pro-20260423"),
            some("deepseek/deepseek-v4-pro")
        );
        // No date: the permaslug is the public slug.
        assert_eq!(
            p("meta-llama/llama-3.3-70b-instruct"),
            some("meta-llama/llama-3.3-70b-instruct")
        );
        // Eight digits that are not a date stay.
        assert_eq!(p("acme/model-12345678"), some("acme/model-12345678"));
        assert_eq!(p("  openai/o3  "), some("openai/o3"));
        for bad in ["", "gpt-5", "/x", "x/", "a/b/c", "a/b c", "a/-20260101"] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retirement_prefers_the_provider_own_row() {
        let m = map("openrouter,acme/a,ominigate,acme/b,2026-02-19,gone\n\
             ominigate,acme/a,openrouter,acme/c,2026-03-01,later there\n\
             openrouter,acme/live,ominigate,acme/live,,\n")
        .unwrap();
        let r = m.retirement("openrouter", "acme/a").unwrap();
        assert_eq!(
            r,
            Retirement {
                retired_on: d("2026-02-19"),
                replacement: "acme/b".into(),
                note: "gone".into()
            }
        );
        assert_eq!(
            m.retirement("ominigate", "acme/a").unwrap().retired_on,
            d("2026-03-01")
        );
        // No row names this provider: any provider's retirement applies, the earliest first.
        assert_eq!(
            m.retirement("other", "acme/a").unwrap().replacement,
            "acme/b"
        );
        assert_eq!(m.retirement("openrouter", "acme/live"), None);
        assert_eq!(m.retirement("openrouter", "acme/unknown"), None);
    }

    #[test]
    fn shipped_retirements() {
        let m = SlugMap::builtin();
        let r = m
            .retirement("openrouter", "anthropic/claude-3.7-sonnet")
            .unwrap();
        assert_eq!(r.retired_on, d("2026-02-19"));
        assert_eq!(r.replacement, "anthropic/claude-sonnet-4.6");
        // Retired by the maker: also on a gateway no row names as from_provider.
        assert!(m
            .retirement("ominigate", "anthropic/claude-3.7-sonnet")
            .is_some());
        assert_eq!(
            m.retirement("openrouter", "anthropic/claude-sonnet-4.6"),
            None
        );
    }

    #[test]
    fn counterpart_both_directions() {
        let m = map("openrouter,acme/x,ominigate,acme/x-omni,,\n\
             openrouter,acme/old,ominigate,acme/new,2026-01-01,\n\
             openrouter,acme/new,ominigate,acme/new,,\n")
        .unwrap();
        assert_eq!(
            m.counterpart("openrouter", "acme/x", "ominigate"),
            Some("acme/x-omni")
        );
        assert_eq!(
            m.counterpart("ominigate", "acme/x-omni", "openrouter"),
            Some("acme/x")
        );
        assert_eq!(
            m.counterpart("openrouter", "acme/old", "ominigate"),
            Some("acme/new")
        );
        // Backwards, a retirement row is not an equivalence: acme/new maps back to itself.
        assert_eq!(
            m.counterpart("ominigate", "acme/new", "openrouter"),
            Some("acme/new")
        );
        assert_eq!(m.counterpart("openrouter", "acme/none", "ominigate"), None);
        assert_eq!(m.counterpart("openrouter", "acme/x", "elsewhere"), None);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = map("openrouter,a/b,ominigate,a/b,2026-02-30,\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("retired_on"), "{e}");
        let e =
            map("openrouter,a/b,ominigate,a/b,,\nopenrouter,a/b,ominigate,a/c,,\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("first on line 2"), "{e}");
        let e = map("openrouter,,ominigate,a/b,,\n").unwrap_err();
        assert!(e.message.contains("from_model is empty"), "{e}");
        let e = map("openrouter-permaslug,a/b-20260101,ominigate,a/b,,\n").unwrap_err();
        assert!(e.message.contains("openrouter slug"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("slugs.csv"), "from_provider,from_model\n").unwrap();
        let e = SlugMap::load_dir(dir.path()).unwrap_err();
        assert!(e.message.contains("to_provider"), "{e}");
        assert!(SlugMap::load_dir(Path::new("/nonexistent"))
            .unwrap_err()
            .message
            .contains("cannot read"));
    }
}
