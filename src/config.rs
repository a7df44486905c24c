//! `spendrecon.toml`: defaults for the options a monthly run repeats, so the cron line stays
//! short. Read from `--config FILE`, else `./spendrecon.toml` when present.
//!
//! Each key is an option's long name (`tolerance-usd` or `tolerance_usd`) and becomes that
//! option's default in every command that has it; a flag on the command line wins, and a
//! repeatable option given there (`--logs`) replaces the file's list rather than adding to it.
//! Relative paths are taken from the file's directory, so the file works from any directory.
//! An unknown key or a key no command has is an error with the line, as a typo would
//! otherwise be silently ignored.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The options a config file may set, and whether their values are paths.
const KEYS: &[(&str, bool)] = &[
    ("logs", true),
    ("invoices", true),
    ("topups", true),
    ("rates", true),
    ("rates-override", true),
    ("out", true),
    ("xlsx", true),
    ("focus", true),
    ("sheet", false),
    ("tz", false),
    ("from", false),
    ("to", false),
    ("tolerance-tokens", false),
    ("tolerance-pct", false),
    ("tolerance-usd", false),
    ("byok-subscription", false),
    ("by", false),
    ("format", false),
    ("threads", false),
    ("quiet", false),
    ("strict", false),
    ("schema", true),
];

/// The file's settings: option long name → values (one, or several for a list).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Config {
    pub file: PathBuf,
    pub values: Vec<(&'static str, Vec<String>)>,
}

/// Finds the config file: `--config FILE` (or `--config=FILE`) among `args`, else
/// `./spendrecon.toml`. None when neither is there.
pub(crate) fn find(args: &[OsString]) -> Result<Option<Config>> {
    let Some(path) = locate(args)? else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read the config file", path.display()))?;
    parse(&path, &text).map(Some)
}

/// Which config file [`find`] reads, without reading it (run.json lists it as an input).
pub(crate) fn locate(args: &[OsString]) -> Result<Option<PathBuf>> {
    let mut given = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if a == "--config" {
            given = Some(PathBuf::from(
                it.next().context("--config needs a file name")?,
            ));
        } else if let Some(v) = a.to_str().and_then(|s| s.strip_prefix("--config=")) {
            given = Some(PathBuf::from(v));
        }
    }
    Ok(match given {
        Some(p) => Some(p),
        None if Path::new("spendrecon.toml").is_file() => Some(PathBuf::from("spendrecon.toml")),
        None => None,
    })
}

/// Reads the file's keys: strings, numbers, booleans, or lists of strings.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Config> {
    let doc: toml::Spanned<toml::Table> = toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), one_line(&e.to_string())))?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut values = Vec::new();
    for (key, value) in doc.get_ref() {
        let line = line_of(text, key);
        let name = key.replace('_', "-");
        let Some(&(name, is_path)) = KEYS.iter().find(|(k, _)| *k == name) else {
            bail!(
                "{}:{line}: unknown key `{key}` (known: {})",
                path.display(),
                KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            );
        };
        let items: Vec<&toml::Value> = match value {
            toml::Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        let mut out = Vec::new();
        for v in items {
            let s = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                // The shortest text that reads back as the same float: what was written.
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => bail!(
                    "{}:{line}: `{key}` must be a string, a number or a list of strings, not {}",
                    path.display(),
                    other.type_str()
                ),
            };
            // A built-in schema's name is not a path.
            let builtin = name == "schema" && crate::sources::schema::builtin_text(&s).is_some();
            out.push(if is_path && !builtin && Path::new(&s).is_relative() {
                base.join(&s).display().to_string()
            } else {
                s
            });
        }
        values.push((name, out));
    }
    Ok(Config {
        file: path.to_path_buf(),
        values,
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The line a top-level key is set on (1-based), for messages.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .or_else(|| l.strip_prefix(&format!("\"{key}\"")))
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

/// Makes the file's values the defaults of every subcommand that has the option, nested ones
/// (`rates import-litellm`) included. A flag (`quiet = true`) sets the flag unless the command
/// line says otherwise.
pub(crate) fn apply(mut cmd: clap::Command, cfg: &Config) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for sub in names {
        cmd = cmd.mut_subcommand(&sub, |mut s| {
            for (name, values) in &cfg.values {
                let id = s
                    .get_arguments()
                    .find(|a| a.get_long() == Some(*name))
                    .map(|a| a.get_id().clone());
                if let Some(id) = id {
                    // `--logs` from the file satisfies the choice of --logs or --usage.
                    if id == "paths" && s.get_groups().any(|g| g.get_id() == "input") {
                        s = s.mut_group("input", |g| g.required(false));
                    }
                    let values = values.clone();
                    s = s.mut_arg(id, move |a| {
                        let is_flag = matches!(
                            a.get_action(),
                            clap::ArgAction::SetTrue | clap::ArgAction::SetFalse
                        );
                        if is_flag {
                            a.default_value(values[0].clone())
                        } else {
                            a.required(false).default_values(values)
                        }
                    });
                }
            }
            apply(s, cfg)
        });
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_and_paths_from_the_file_directory() {
        let cfg = parse(
            Path::new("conf/spendrecon.toml"),
            "tz = \"Europe/Berlin\"\nlogs = [\"logs\", \"/abs/more\"]\ntolerance_usd = 0.05\nquiet = true\n",
        )
        .unwrap();
        let get = |k: &str| cfg.values.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("tz"), ["Europe/Berlin"]);
        assert_eq!(get("logs"), ["conf/logs", "/abs/more"]);
        assert_eq!(get("tolerance-usd"), ["0.05"]);
        assert_eq!(get("quiet"), ["true"]);
    }

    #[test]
    fn nested_subcommands_get_the_defaults_too() {
        use clap::CommandFactory;
        let cfg = parse(Path::new("spendrecon.toml"), "rates = \"/r\"\n").unwrap();
        let cmd = apply(crate::cli::Cli::command(), &cfg);
        let m = cmd
            .try_get_matches_from([
                "spendrecon",
                "rates",
                "import-litellm",
                "prices.json",
                "--effective-from",
                "2026-05-01",
            ])
            .unwrap();
        let (_, rates) = m.subcommand().unwrap();
        let (_, import) = rates.subcommand().unwrap();
        assert_eq!(
            import.get_one::<std::path::PathBuf>("rates").unwrap(),
            Path::new("/r")
        );
    }

    #[test]
    fn an_unknown_key_names_its_line() {
        let e = parse(Path::new("s.toml"), "tz = \"UTC\"\n\ntolerence_usd = 1\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("s.toml:3: unknown key `tolerence_usd`"),
            "{e}"
        );
        let e = parse(Path::new("s.toml"), "logs = [[1]]\n").unwrap_err();
        assert!(e.to_string().contains("s.toml:1: `logs` must be"), "{e}");
    }
}
