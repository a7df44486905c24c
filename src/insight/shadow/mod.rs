//! Shadow traffic: every shadow call (`shadow` true) against its primary, the call whose
//! `request_id` its `shadow_of` names → `shadow.csv` (per day × model: pairs, unpaired, median and
//! max drift, pairs over tolerance) and `shadow_pairs.csv` (the pairs over tolerance, one by one).
//!
//! What counts (docs/commands/shadow.md says the same for users):
//! - A pair's day (in `--tz`) and model are the shadow call's; `--from`/`--to` select shadow calls
//!   by their day. The primary may lie anywhere in the logs (another day, outside the period, any
//!   provider): request ids are matched across all of them.
//! - Only 2xx shadow calls are compared. A non-2xx shadow call is neither a pair nor unpaired; it
//!   is counted apart ([`Totals::failed_shadows`]) and named in the summary.
//! - A 2xx shadow call is *unpaired* when it has no `shadow_of`, names its own `request_id`,
//!   names a request id no logged call has, names only non-2xx calls, or names several 2xx calls
//!   whose token counts differ (ambiguous: which one it mirrors cannot be told). Several 2xx
//!   calls with that id and the *same* counts (one call logged twice) pair as that one call. The
//!   rule does not depend on input order, which parallel reading does not keep.
//! - A primary named by several shadow calls pairs with each of them.
//! - Drift = shadow − primary, signed, prompt and completion apart. The median is the nearest-rank
//!   one, the ⌈n/2⌉-th smallest; the max is the drift of largest magnitude with its sign, and of
//!   +d and −d the positive one.
//! - A pair is over tolerance when its prompt or its completion drift is outside
//!   max(`--tolerance-tokens`, `--tolerance-pct` % of the primary's count): |Δ| > that bound.
//!
//! Memory stays bounded whatever the input size. Pass 1 reads the logs and writes each 2xx shadow
//! call with a `shadow_of` as a small binary record into one of [`PARTS`] partitions chosen by a
//! 64-bit hash of the named id, and marks the hash in a fixed-size Bloom filter. Pass 2 reads the
//! logs again and keeps only calls whose `request_id` hash the filter holds (the wanted primaries
//! and a few false positives), partitioned the same way. Partitions stay in memory up to a budget
//! and spill to temporary files beyond it. The join then runs partition by partition (a grace hash
//! join): the primaries of one partition go into a map keyed by the **full** request id, and the
//! shadow records stream past it, so hash collisions narrow the search but never make a pair.
//! Drifts are kept as per day × model histograms (their size is the number of distinct drift
//! values, not of pairs), and the over-tolerance pairs are sorted in bounded runs merged from
//! temporary files.
//!
//! The code: the pass-1 and pass-2 sinks and the pairing rules they and the join apply
//! (`rules`), the partitions, Bloom filter and record encoding that keep memory bounded
//! (`spill`), the per day × model counts and drift histograms (`stats`), and the external sort of
//! the over-tolerance pairs (`pairs`); this file holds the run, the join and the report.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use chrono_tz::Tz;
use rustc_hash::FxHashMap;

use crate::domain::{Day, DayCutter, Period, Tolerance};
use crate::sources::record::{FieldId, FieldSet};

mod pairs;
mod rules;
mod spill;
mod stats;
#[cfg(test)]
mod tests;

use pairs::{PairRow, PairSorter};
use rules::{drift, outside, Primary};
pub(crate) use rules::{PrimaryCollector, ShadowCollector};
use spill::{Batches, Bloom, Decoder, Store};
pub(crate) use stats::Unpaired;
use stats::{Direct, Group};

/// What the shadow comparison reads of a record: daily aggregation's fields (so the same rows
/// are rejected as by `daily`) and the ids.
pub(crate) const FIELDS: FieldSet =
    crate::aggregate::FIELDS.with(&[FieldId::RequestId, FieldId::Shadow, FieldId::ShadowOf]);

/// Hash partitions of the join.
pub(crate) const PARTS: usize = 128;

/// `shadow.csv` (docs/formats.md §6).
pub(crate) const HEADER: [&str; 9] = [
    "day",
    "model",
    "pairs",
    "unpaired",
    "median_prompt_drift",
    "max_prompt_drift",
    "median_completion_drift",
    "max_completion_drift",
    "over_tolerance",
];

/// `shadow_pairs.csv` (docs/formats.md §6).
pub(crate) const PAIRS_HEADER: [&str; 6] = [
    "day",
    "model",
    "primary_request_id",
    "shadow_request_id",
    "prompt_drift",
    "completion_drift",
];

/// Memory bounds of a run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Bytes of partition records kept in memory per side (shadow calls, primaries) before
    /// partitions spill to temporary files.
    pub memory_bytes: usize,
    /// Bytes of over-tolerance pairs sorted in memory before a sorted run goes to a file.
    pub run_bytes: usize,
    /// log2 of the Bloom filter's size in bits (27: 16 MiB).
    pub bloom_bits_log2: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            run_bytes: 32 << 20,
            bloom_bits_log2: 27,
        }
    }
}

/// One row of `shadow.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShadowRow {
    pub day: Day,
    pub model: String,
    pub pairs: u64,
    pub unpaired: u64,
    /// (median, max); `None` without pairs.
    pub prompt_drift: Option<(i64, i64)>,
    pub completion_drift: Option<(i64, i64)>,
    pub over_tolerance: u64,
}

/// Run-wide counts for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// 2xx shadow calls in the period (pairs + unpaired).
    pub shadow_calls: u64,
    pub pairs: u64,
    pub unpaired: Unpaired,
    pub over_tolerance: u64,
    /// Non-2xx shadow calls in the period: not compared.
    pub failed_shadows: u64,
    /// Calls with a `shadow_of` but not marked `shadow`: user traffic, not compared.
    pub unmarked: u64,
    /// Bytes of partition records that went to temporary files.
    pub spilled_bytes: u64,
    /// Over-tolerance pairs sorted through temporary runs.
    pub sort_runs: usize,
}

/// The result: `shadow.csv`'s rows, `shadow_pairs.csv` (complete, header included) in a
/// temporary file, and the totals.
pub(crate) struct ShadowReport {
    pub rows: Vec<ShadowRow>,
    pub pairs_csv: tempfile::NamedTempFile,
    pub totals: Totals,
}

impl ShadowReport {
    /// Anything to flag: a pair over tolerance or an unpaired shadow call.
    pub(crate) fn flagged(&self) -> bool {
        self.totals.over_tolerance > 0 || self.totals.unpaired.total() > 0
    }
}

/// The state shared by every worker of both passes.
pub(crate) struct ShadowRun {
    tz: Option<Tz>,
    period: Period,
    limits: Limits,
    shadows: Store,
    primaries: Store,
    wanted: Bloom,
    models: Mutex<Models>,
}

/// Model names ↔ ids every worker shares.
#[derive(Default)]
struct Models {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Models {
    fn id(&mut self, model: &str) -> u32 {
        if let Some(&id) = self.ids.get(model) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(model.to_string());
        self.ids.insert(model.to_string(), id);
        id
    }
}

/// What pass 1 found, besides the records in the partitions.
pub(crate) struct Collected {
    direct: FxHashMap<(Day, u32), Direct>,
    /// Shadow calls sent to the join.
    pub joined: u64,
    unmarked: u64,
}

impl ShadowRun {
    pub(crate) fn new(tz: Option<Tz>, period: Period, limits: Limits) -> Self {
        ShadowRun {
            tz,
            period,
            limits,
            shadows: Store::new(limits.memory_bytes),
            primaries: Store::new(limits.memory_bytes),
            wanted: Bloom::new(limits.bloom_bits_log2),
            models: Mutex::new(Models::default()),
        }
    }

    /// A pass-1 sink: collects the shadow calls.
    pub(crate) fn collector(&self) -> ShadowCollector<'_> {
        ShadowCollector {
            run: self,
            cutter: DayCutter::new(self.tz),
            local: FxHashMap::default(),
            batches: Batches::new(),
            direct: FxHashMap::default(),
            joined: 0,
            unmarked: 0,
            error: None,
        }
    }

    /// A pass-2 sink: collects the calls whose request id a shadow call named.
    pub(crate) fn primary_collector(&self) -> PrimaryCollector<'_> {
        PrimaryCollector {
            run: self,
            batches: Batches::new(),
            error: None,
        }
    }

    /// Joins the partitions, partition by partition.
    pub(crate) fn join(self, collected: Collected, tol: &Tolerance) -> io::Result<ShadowReport> {
        let models = self.models.into_inner().unwrap_or_else(|e| e.into_inner());
        // Rank of each model id in name order, for sorting the pairs list.
        let names = &models.names;
        let mut order: Vec<u32> = (0..names.len() as u32).collect();
        order.sort_by(|a, b| names[*a as usize].cmp(&names[*b as usize]));
        let mut rank = vec![0u32; names.len()];
        for (r, id) in order.iter().enumerate() {
            rank[*id as usize] = r as u32;
        }

        let mut groups: FxHashMap<(Day, u32), Group> = FxHashMap::default();
        for (k, d) in &collected.direct {
            let g = groups.entry(*k).or_default();
            g.failed_shadows += d.failed_shadows;
            g.unpaired.add(&d.unpaired);
        }
        let mut sorter = PairSorter::new(self.limits.run_bytes);
        let (mut id, mut of) = (Vec::new(), Vec::new());
        for p in 0..PARTS {
            // The partition's primaries by full request id.
            let mut primaries: FxHashMap<Box<[u8]>, Primary> = FxHashMap::default();
            let mut dec = Decoder {
                r: self.primaries.take(p)?,
            };
            while let Some(status) = dec.first::<2>()? {
                let status = u16::from_le_bytes(status);
                let (prompt, completion) = (dec.u64()?, dec.u64()?);
                dec.str_into(&mut id)?;
                let e = match primaries.get_mut(&id[..]) {
                    Some(e) => e,
                    None => primaries.entry(id.clone().into_boxed_slice()).or_default(),
                };
                if (200..300).contains(&status) {
                    if e.ok == 0 {
                        (e.prompt, e.completion) = (prompt, completion);
                    } else if (e.prompt, e.completion) != (prompt, completion) {
                        e.conflict = true;
                    }
                    e.ok += 1;
                }
            }
            let mut dec = Decoder {
                r: self.shadows.take(p)?,
            };
            while let Some(day) = dec.first::<4>()? {
                let day = Day(i32::from_le_bytes(day));
                let model = dec.u32()?;
                let (prompt, completion) = (dec.u64()?, dec.u64()?);
                dec.str_into(&mut of)?;
                dec.str_into(&mut id)?;
                let g = groups.entry((day, model)).or_default();
                let prim = match primaries.get(&of[..]) {
                    None => {
                        g.unpaired.missing += 1;
                        continue;
                    }
                    Some(p) if p.ok == 0 => {
                        g.unpaired.failed_primary += 1;
                        continue;
                    }
                    Some(p) if p.conflict => {
                        g.unpaired.ambiguous += 1;
                        continue;
                    }
                    Some(p) => p,
                };
                let dp = drift(prompt, prim.prompt);
                let dc = drift(completion, prim.completion);
                g.pairs += 1;
                g.prompt.add(dp);
                g.completion.add(dc);
                if outside(dp, prim.prompt, tol) || outside(dc, prim.completion, tol) {
                    g.over += 1;
                    sorter.push(PairRow {
                        day,
                        rank: rank[model as usize],
                        primary: String::from_utf8_lossy(&of).into_owned(),
                        shadow: String::from_utf8_lossy(&id).into_owned(),
                        prompt_drift: dp,
                        completion_drift: dc,
                    })?;
                }
            }
        }

        let mut totals = Totals {
            unmarked: collected.unmarked,
            spilled_bytes: self.shadows.spilled.load(Ordering::Relaxed)
                + self.primaries.spilled.load(Ordering::Relaxed),
            ..Default::default()
        };
        let mut rows: BTreeMap<(Day, &str), ShadowRow> = BTreeMap::new();
        for ((day, model), g) in &groups {
            totals.pairs += g.pairs;
            totals.unpaired.add(&g.unpaired);
            totals.over_tolerance += g.over;
            totals.failed_shadows += g.failed_shadows;
            if g.pairs == 0 && g.unpaired.total() == 0 {
                continue;
            }
            let name = names[*model as usize].as_str();
            rows.insert(
                (*day, name),
                ShadowRow {
                    day: *day,
                    model: name.to_string(),
                    pairs: g.pairs,
                    unpaired: g.unpaired.total(),
                    prompt_drift: g.prompt.median_max(),
                    completion_drift: g.completion.median_max(),
                    over_tolerance: g.over,
                },
            );
        }
        totals.shadow_calls = totals.pairs + totals.unpaired.total();
        let by_rank: Vec<&str> = order
            .iter()
            .map(|id| names[*id as usize].as_str())
            .collect();
        totals.sort_runs = sorter.runs.len();
        let pairs_csv = sorter.finish(&by_rank)?;
        Ok(ShadowReport {
            rows: rows.into_values().collect(),
            pairs_csv,
            totals,
        })
    }
}
