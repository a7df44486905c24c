//! `spendrecon rates import-litellm`, and the `--rates-override` file every pricing command reads.
//!
//! The import reports before it writes: a price list maintained by a community is a source to
//! check against, and a finance table must never change without someone seeing old → new.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::cli::{Format, ImportArgs, Outcome};
use crate::output::{self, Table};
use crate::pricing::{litellm, read_table, RateTable, BUILTIN};

/// `base` with the override file's rows in place of the same provider and model.
pub fn with_override(base: RateTable, file: &Path) -> Result<RateTable> {
    let over = RateTable::load(file)?;
    base.with_override(over)
        .map_err(|m| anyhow!("{}: {m}", file.display()))
}

pub fn import_litellm(args: &ImportArgs) -> Result<Outcome> {
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
    let conv = litellm::convert(&json).map_err(|m| anyhow!("{}: {m}", args.file.display()))?;
    let provider = args.provider.trim().to_ascii_lowercase();
    if provider.is_empty() {
        bail!("--provider must not be empty (`*` means every gateway)");
    }
    let imported = conv.entries.len();
    let plan = litellm::plan(&table, conv.entries, &provider, args.effective_from);

    let report = Table {
        header: litellm::REPORT_HEADER.to_vec(),
        rows: plan.report_rows(),
    };
    let body = match args.format {
        Format::Csv => report.csv(),
        Format::Json => report.json_lines(),
        Format::Table => report.terminal().into_bytes(),
    };
    output::to_stdout(&body).context("writing the report to stdout")?;

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
        output::write_atomic(&path, &out).with_context(|| format!("writing {}", path.display()))?;
        wrote = true;
    }

    if !args.quiet {
        for w in &conv.warnings {
            eprintln!("warning: {w}");
        }
        eprintln!(
            "{}: {imported} chat models priced per token: {new} new, {changed} changed, {} unchanged, {conflicts} conflicts; skipped {} not chat (mode), {} without per-token prices, {} from other hosts, {} duplicate slugs",
            args.file.display(),
            plan.count("unchanged"),
            conv.skipped_mode,
            conv.skipped_unpriced,
            conv.skipped_host,
            conv.skipped_duplicate,
        );
        if wrote {
            eprintln!(
                "wrote {} ({new} new rows, {changed} rows closed on {} and followed by a new one)",
                path.display(),
                litellm_day_before(&plan)
            );
        } else if args.write {
            eprintln!("nothing to write: no new or changed prices");
        } else if new + changed > 0 {
            eprintln!(
                "report only: nothing written (add --write to apply the new and changed rows)"
            );
        }
        if conflicts > 0 {
            eprintln!("{conflicts} slugs left out (status conflict): their rows need a hand edit");
        }
    }
    Ok(if conflicts > 0 {
        Outcome::Flagged
    } else {
        Outcome::Reconciled
    })
}

fn litellm_day_before(plan: &litellm::Plan) -> crate::domain::Day {
    crate::domain::Day(plan.effective_from.0 - 1)
}
