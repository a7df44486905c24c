//! The usage file `daily --usage-out` writes (docs/engines.md): the same columns and order as the
//! query of `spendrecon sql`, so files from engines and from spendrecon merge. Written raw (no
//! spreadsheet escaping): it is read by programs, and a model name is data.

use crate::domain::UsageGroup;
use crate::sources::usage_file::COLUMNS;

/// The groups as CSV, every row carrying `format`, `fingerprint` and `tz`; with `by` (`--by`),
/// a last column of that name holding each group's value (empty for calls without one).
pub(crate) fn usage_csv(
    groups: &[UsageGroup],
    format: &str,
    fingerprint: &str,
    tz: &str,
    by: Option<&str>,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let mut header: Vec<&str> = COLUMNS.to_vec();
        header.extend(by);
        w.write_record(&header).expect("writing to memory");
        for g in groups {
            let flag = |b: bool| if b { "true" } else { "false" }.to_string();
            let mut row: Vec<String> = vec![
                format.to_string(),
                fingerprint.to_string(),
                tz.to_string(),
                g.day.to_string(),
                g.utc_day.to_string(),
                g.provider.clone(),
                g.model.clone(),
                flag(g.byok),
                g.band.to_string(),
                flag(g.past_allowance),
                g.calls.to_string(),
                g.failed_calls.to_string(),
                g.prompt_tokens.to_string(),
                g.cached_tokens.to_string(),
                g.cache_write_tokens.to_string(),
                g.cache_write_1h_tokens.to_string(),
                g.completion_tokens.to_string(),
                g.reasoning_tokens.to_string(),
                g.reported_calls.to_string(),
                g.reported_cost_nanos.to_string(),
            ];
            if by.is_some() {
                row.push(g.tenant.clone().unwrap_or_default());
            }
            w.write_record(&row).expect("writing to memory");
        }
    }
    out
}
