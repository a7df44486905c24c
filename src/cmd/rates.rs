//! `spendrecon rates import-litellm`: LiteLLM's price file against the rate table.
//!
//! The import reports before it writes: a price list maintained by a community is a source to
//! check against, and a finance table must never change without someone seeing old → new.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::cli::{Format, ImportArgs};
use crate::domain::Outcome;
use crate::output::{summary, tables, to_stdout, write_atomic};
use crate::pricing::{litellm, read_table, RateTable, BUILTIN};

pub(crate) fn import_litellm(args: &ImportArgs) -> Result<Outcome> {
    let dir = match &args.rates {
        Some(d) => Some(d.clone()),
        None if Path::new("rates/models.csv").is_file() => Some(PathBuf::from("rates")),
        None => None,
    };
    if args.write && dir.is_none() {
        bail!("--write needs --rates DIR (or ./rates/models.csv): the built-in table cannot be written");
    }
    let (path, text) = match &dir {
        Some(d) => {
            let p = d.join("models.csv");
            let t = read_table(&p, "rate table")?;
            (p, t)
        }
        None => (
            PathBuf::from("<built-in rates/models.csv>"),
            BUILTIN.as_bytes().to_vec(),
        ),
    };
    let table = RateTable::parse(&path, &text)?;
    let json = std::fs::read(&args.file)
        .with_context(|| format!("{}: cannot read the LiteLLM file", args.file.display()))?;
    let mut conv = litellm::convert(&json).map_err(|m| anyhow!("{}: {m}", args.file.display()))?;
    let provider = args.provider.trim().to_ascii_lowercase();
    if provider.is_empty() {
        bail!("--provider must not be empty (`*` means every gateway)");
    }
    let entries = std::mem::take(&mut conv.entries);
    let plan = litellm::plan(
        &table,
        entries,
        &provider,
        args.effective_from,
        args.only_known,
    );
    let imported = plan.items.len() + plan.unknown;

    let report = tables::import_table(&plan);
    let body = match args.format {
        Format::Csv => report.csv(),
        Format::Json => report.json_lines(),
        Format::Table => report.terminal().into_bytes(),
    };
    to_stdout(&body).context("writing the report to stdout")?;

    let (new, changed) = (plan.count("new"), plan.count("changed"));
    let conflicts = plan.count("conflict");
    let mut wrote = false;
    if args.write && new + changed > 0 {
        let name = args
            .file
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let digest: String = Sha256::digest(&json)
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        let source = format!("litellm {name} sha256:{digest}");
        let out = litellm::apply(&text, &path, &plan, &source)?;
        RateTable::parse(&path, &out).map_err(|e| {
            anyhow!("the table after the import would be invalid, so nothing was written: {e}")
        })?;
        write_atomic(&path, &out).with_context(|| format!("writing {}", path.display()))?;
        wrote = true;
    }

    if !args.quiet {
        summary::import(&args.file, imported, &conv, &plan, &path, wrote, args.write);
    }
    Ok(if conflicts > 0 {
        Outcome::Flagged
    } else {
        Outcome::Reconciled
    })
}
