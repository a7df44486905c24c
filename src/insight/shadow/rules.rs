//! The rules of the comparison: which calls pass 1 keeps as shadow calls (and which it counts as
//! failed, unpaired or unmarked at once), which calls pass 2 keeps as possible primaries, when a
//! primary pairs, and when a pair's drift is over tolerance.

use std::io;

use rustc_hash::FxHashMap;

use super::spill::{id_hash, lock, partition, put_str, Batches};
use super::stats::Direct;
use super::{Collected, ShadowRun};
use crate::domain::{Call, Day, DayCutter, Money, Tolerance};
use crate::sources::{CallSink, Disposition};

pub(super) fn drift(shadow: u64, primary: u64) -> i64 {
    // Token counts are at most 2^53 (the readers reject more), so the difference fits.
    shadow as i64 - primary as i64
}

/// |Δ| > max(tokens, pct % of the primary's count).
pub(super) fn outside(d: i64, primary: u64, tol: &Tolerance) -> bool {
    let a = d.unsigned_abs();
    if a <= tol.tokens {
        return false;
    }
    Money::from(a) > tol.tokens_for(primary as u128)
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Primary {
    /// 2xx calls with the id.
    pub(super) ok: u32,
    /// The counts of the first 2xx call read.
    pub(super) prompt: u64,
    pub(super) completion: u64,
    /// A later 2xx call with the id had other counts.
    pub(super) conflict: bool,
}

/// Pass 1: the shadow calls.
pub(crate) struct ShadowCollector<'s> {
    pub(super) run: &'s ShadowRun,
    pub(super) cutter: DayCutter,
    /// Model name → the id every worker shares, cached per worker.
    pub(super) local: FxHashMap<String, u32>,
    pub(super) batches: Batches,
    pub(super) direct: FxHashMap<(Day, u32), Direct>,
    pub(super) joined: u64,
    pub(super) unmarked: u64,
    pub(super) error: Option<io::Error>,
}

impl ShadowCollector<'_> {
    fn model_id(&mut self, model: &str) -> u32 {
        if let Some(&id) = self.local.get(model) {
            return id;
        }
        let id = lock(&self.run.models).id(model);
        self.local.insert(model.to_string(), id);
        id
    }

    /// Hands the last partial batches to the partitions; call on the merged sink.
    pub(crate) fn finish(mut self) -> io::Result<Collected> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.batches.flush(&self.run.shadows)?;
        Ok(Collected {
            direct: self.direct,
            joined: self.joined,
            unmarked: self.unmarked,
        })
    }
}

impl CallSink for ShadowCollector<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let day = self.cutter.local_day(call.ts_ms);
        if !self.run.period.contains(day) {
            return Disposition::OutOfRange;
        }
        if !call.shadow {
            if call.shadow_of.is_some() {
                self.unmarked += 1;
            }
            return Disposition::Used;
        }
        let model = self.model_id(&call.model);
        let direct = self.direct.entry((day, model)).or_default();
        if !call.billable() {
            direct.failed_shadows += 1;
            return Disposition::Used;
        }
        let of = match &call.shadow_of {
            None => {
                direct.unpaired.no_shadow_of += 1;
                return Disposition::Used;
            }
            Some(of) if call.request_id.as_deref() == Some(of) => {
                direct.unpaired.names_itself += 1;
                return Disposition::Used;
            }
            Some(of) => of,
        };
        if self.error.is_some() {
            return Disposition::Used;
        }
        let h = id_hash(of);
        self.run.wanted.insert(h);
        self.joined += 1;
        let r = self.batches.push(&self.run.shadows, partition(h), |b| {
            b.extend_from_slice(&day.0.to_le_bytes());
            b.extend_from_slice(&model.to_le_bytes());
            b.extend_from_slice(&call.usage.prompt.to_le_bytes());
            b.extend_from_slice(&call.usage.completion.to_le_bytes());
            put_str(b, of);
            put_str(b, call.request_id.as_deref().unwrap_or(""));
        });
        if let Err(e) = r {
            self.error = Some(e);
        }
        Disposition::Used
    }

    fn merge(&mut self, mut other: Self) {
        if let Err(e) = other.batches.flush(&self.run.shadows) {
            other.error.get_or_insert(e);
        }
        if self.error.is_none() {
            self.error = other.error;
        }
        for (k, d) in other.direct {
            let mine = self.direct.entry(k).or_default();
            mine.failed_shadows += d.failed_shadows;
            mine.unpaired.add(&d.unpaired);
        }
        self.joined += other.joined;
        self.unmarked += other.unmarked;
    }
}

/// Pass 2: every call (whatever its day, provider or status) whose request id a shadow call
/// may have named.
pub(crate) struct PrimaryCollector<'s> {
    pub(super) run: &'s ShadowRun,
    pub(super) batches: Batches,
    pub(super) error: Option<io::Error>,
}

impl PrimaryCollector<'_> {
    /// Hands the last partial batches to the partitions; call on the merged sink.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.batches.flush(&self.run.primaries)
    }
}

impl CallSink for PrimaryCollector<'_> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let Some(id) = call.request_id.as_deref() else {
            return Disposition::Used;
        };
        let h = id_hash(id);
        if self.error.is_some() || !self.run.wanted.contains(h) {
            return Disposition::Used;
        }
        let r = self.batches.push(&self.run.primaries, partition(h), |b| {
            b.extend_from_slice(&call.status.to_le_bytes());
            b.extend_from_slice(&call.usage.prompt.to_le_bytes());
            b.extend_from_slice(&call.usage.completion.to_le_bytes());
            put_str(b, id);
        });
        if let Err(e) = r {
            self.error = Some(e);
        }
        Disposition::Used
    }

    fn merge(&mut self, mut other: Self) {
        if let Err(e) = other.batches.flush(&self.run.primaries) {
            other.error.get_or_insert(e);
        }
        if self.error.is_none() {
            self.error = other.error;
        }
    }
}
