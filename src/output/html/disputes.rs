//! The report's claims section (docs/formats.md §11): the amount to claim per provider, then
//! `disputes.csv`'s rows. Shown only when a run found something to dispute.

use std::fmt::Write as _;

use super::page::{num_cell, text_cell, usd_cell};
use super::Page;
use crate::domain::Money;

/// Rows of `disputes.csv` the page lists; the file has them all.
const MAX_ROWS: usize = 200;

pub(super) fn section(h: &mut String, page: &Page) {
    if page.claims.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"disputes\">Disputes</h2>\n<table id=\"claims-table\"><tr><th>provider</th>\
<th class=\"n\">dispute rows</th><th class=\"n\">claimable</th><th class=\"n\">logged, not billed (in our favour)</th></tr>\n");
    let mut by: std::collections::BTreeMap<&str, (u64, Money, Money)> = Default::default();
    for c in &page.claims {
        let e = by.entry(&c.provider).or_default();
        e.0 += 1;
        e.1 += c.amount_usd;
        e.2 += c.unbilled_usd;
    }
    for (p, (n, claim, unbilled)) in by {
        let _ = writeln!(
            h,
            "<tr data-provider=\"{}\">{}{}{}{}</tr>",
            super::escape(p),
            text_cell(p),
            num_cell(n),
            usd_cell(Some(claim), "claimable_usd"),
            usd_cell(Some(unbilled), "unbilled_usd"),
        );
    }
    h.push_str("</table>\n<table id=\"disputes-table\"><tr><th>day</th><th>provider</th><th>kind</th>\
<th class=\"n\">calls</th><th class=\"n\">amount to claim</th><th>evidence</th><th>note</th></tr>\n");
    for c in page.claims.iter().take(MAX_ROWS) {
        let _ = writeln!(
            h,
            "<tr>{}{}{}{}{}{}{}</tr>",
            text_cell(&c.day.to_string()),
            text_cell(&c.provider),
            text_cell(c.kind),
            num_cell(c.calls),
            usd_cell(Some(c.amount_usd), "amount_usd"),
            text_cell(&c.evidence),
            text_cell(&c.note),
        );
    }
    h.push_str("</table>\n");
    if page.claims.len() > MAX_ROWS {
        let _ = writeln!(
            h,
            "<p class=\"note\">The first {MAX_ROWS} of {} rows; disputes.csv has them all.</p>",
            page.claims.len()
        );
    }
}
