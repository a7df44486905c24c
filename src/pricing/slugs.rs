//! The model-slug map (`rates/slugs.csv`): which slug a model has on the other gateway, and which
//! slugs are retired (and by what they are replaced).
//!
//! ```text
//! from_provider,from_model,to_provider,to_model,retired_on,note
//! openrouter,anthropic/claude-3.5-haiku,ominigate,anthropic/claude-haiku-4.5,2026-02-19,retired …
//! ```
//!
//! Every row maps a slug on one gateway to its counterpart on another and may carry a retirement
//! day (the `to_model` is then the replacement).
//!
//! Rows whose `from_provider` is the pseudo-provider `openrouter-permaslug` map an OpenRouter
//! permaslug to its public slug. They are read for older tables; spellings now live in
//! `rates/aliases.csv` ([`crate::pricing::aliases`]), which takes these rows as aliases.

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
    fn shipped_map_loads_and_leaves_spellings_to_the_alias_table() {
        let m = SlugMap::builtin();
        assert!(m.rows().len() > 30);
        assert!(m
            .rows()
            .iter()
            .all(|r| r.from_provider != PERMASLUG_PROVIDER));
        // An older table's permaslug rows still load (the alias table takes them).
        let old =
            map("openrouter-permaslug,acme/odd-20260101,openrouter,acme/renamed,,\n").unwrap();
        assert_eq!(old.rows()[0].to_model, "acme/renamed");
        assert_eq!(old.retirement("openrouter", "acme/odd-20260101"), None);
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
