//! `spendrecon shadow`: shadow calls against their primaries → shadow.csv, shadow_pairs.csv.
//!
//! Two passes over the logs (see [`crate::insight::shadow`]): the first collects the shadow calls
//! and gives the accounting (files.csv, rejected.csv), the second only the calls they name.

use anyhow::{bail, Context, Result};

use crate::cli::{Outcome, ShadowArgs};
use crate::domain::Money;
use crate::domain::Tolerance;
use crate::insight::shadow::{self, Limits, ShadowReport, ShadowRun, Totals};
use crate::sources::ScanReport;

pub fn run(args: &ShadowArgs) -> Result<Outcome> {
    if args.tolerance_pct < Money::ZERO {
        bail!("--tolerance-pct must not be negative");
    }
    let period = super::period(&args.logs)?;
    let tol = Tolerance {
        tokens: args.tolerance_tokens,
        pct: args.tolerance_pct,
        usd: Money::ZERO,
    };
    let run = ShadowRun::new(args.logs.tz, period, Limits::default());
    let (collector, report) = super::scan_logs(&args.logs, shadow::FIELDS, || run.collector())?;
    let collected = collector
        .finish()
        .context("writing shadow calls to temporary files")?;
    if collected.joined > 0 {
        // The second pass reads the same rows; its accounting repeats the first one's.
        let (primaries, _) =
            super::scan_logs(&args.logs, shadow::FIELDS, || run.primary_collector())?;
        primaries
            .finish()
            .context("writing primary calls to temporary files")?;
    }
    let result = run
        .join(collected, &tol)
        .context("joining shadow calls with their primaries")?;

    super::write_main(&args.common, "shadow", &result.table())?;
    super::sink(&args.common)
        .copy_secondary("shadow_pairs.csv", result.pairs_csv.path())
        .context("writing shadow_pairs.csv")?;
    super::write_accounting(&args.common, Some(&report), &[], &[])?;
    if !args.common.quiet {
        print_summary(args, &report, &result);
    }
    let flagged = result.flagged() || !report.rejections.is_empty();
    Ok(if flagged {
        Outcome::Flagged
    } else {
        Outcome::Reconciled
    })
}

fn print_summary(args: &ShadowArgs, report: &ScanReport, result: &ShadowReport) {
    super::print_scan(&args.common, report);
    let t: &Totals = &result.totals;
    let u = &t.unpaired;
    eprintln!(
        "shadow: {} 2xx shadow calls: {} pairs, {} unpaired, {} pairs over tolerance (max({} tokens, {} % of the primary's count))",
        t.shadow_calls,
        t.pairs,
        u.total(),
        t.over_tolerance,
        args.tolerance_tokens,
        args.tolerance_pct.normalize()
    );
    if u.total() > 0 {
        let reasons: Vec<String> = [
            (u.missing, "name a request id no logged call has"),
            (u.failed_primary, "name a primary that failed (non-2xx)"),
            (
                u.ambiguous,
                "name a request id shared by 2xx calls with different token counts",
            ),
            (u.no_shadow_of, "have no shadow_of"),
            (u.names_itself, "name their own request id"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, why)| format!("{n} {why}"))
        .collect();
        eprintln!("UNPAIRED: {}", reasons.join("; "));
    }
    if t.over_tolerance > 0 {
        let where_ = if args.common.out.is_some() {
            "listed in shadow_pairs.csv"
        } else {
            "use --out to get shadow_pairs.csv"
        };
        eprintln!(
            "OVER TOLERANCE: {} pairs drift past the tolerance ({where_})",
            t.over_tolerance
        );
    }
    if t.failed_shadows > 0 {
        eprintln!(
            "note: shadow calls that failed (non-2xx), not compared: {}",
            t.failed_shadows
        );
    }
    if t.unmarked > 0 {
        eprintln!(
            "note: calls with a shadow_of but not marked shadow (user traffic, not compared): {}",
            t.unmarked
        );
    }
}
