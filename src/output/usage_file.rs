//! The usage file `daily --usage-out` writes (docs/engines.md): the same columns and order as the
//! query of `spendrecon sql`, so files from engines and from spendrecon merge. Written raw (no
//! spreadsheet escaping): it is read by programs, and a model name is data.

use crate::domain::UsageGroup;
use crate::sources::usage_file::COLUMNS;

/// The groups as CSV, every row carrying `format`, `fingerprint` and `tz`.
pub(crate) fn usage_csv(
    groups: &[UsageGroup],
    format: &str,
    fingerprint: &str,
    tz: &str,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(COLUMNS).expect("writing to memory");
        for g in groups {
            w.write_record([
                format,
                fingerprint,
                tz,
                &g.day.to_string(),
                &g.utc_day.to_string(),
                &g.provider,
                &g.model,
                if g.byok { "true" } else { "false" },
                &g.band.to_string(),
                if g.past_allowance { "true" } else { "false" },
                &g.calls.to_string(),
                &g.failed_calls.to_string(),
                &g.prompt_tokens.to_string(),
                &g.cached_tokens.to_string(),
                &g.cache_write_tokens.to_string(),
                &g.cache_write_1h_tokens.to_string(),
                &g.completion_tokens.to_string(),
                &g.reasoning_tokens.to_string(),
                &g.reported_calls.to_string(),
                &g.reported_cost_nanos.to_string(),
            ])
            .expect("writing to memory");
        }
    }
    out
}
