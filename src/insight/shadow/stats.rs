//! The counts behind `shadow.csv`: why a shadow call went unpaired, the drift histograms that give
//! the nearest-rank median and the signed max, and the per day × model groups they add up in.

use rustc_hash::FxHashMap;

/// Why a 2xx shadow call has no pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Unpaired {
    /// No `shadow_of`.
    pub no_shadow_of: u64,
    /// `shadow_of` is the call's own `request_id`.
    pub names_itself: u64,
    /// No logged call has the named request id.
    pub missing: u64,
    /// Every call with the named request id is non-2xx.
    pub failed_primary: u64,
    /// Several 2xx calls have the named request id, with different token counts.
    pub ambiguous: u64,
}

impl Unpaired {
    pub(crate) fn total(&self) -> u64 {
        self.no_shadow_of + self.names_itself + self.missing + self.failed_primary + self.ambiguous
    }

    pub(super) fn add(&mut self, o: &Unpaired) {
        self.no_shadow_of += o.no_shadow_of;
        self.names_itself += o.names_itself;
        self.missing += o.missing;
        self.failed_primary += o.failed_primary;
        self.ambiguous += o.ambiguous;
    }
}

/// Count of each drift value: enough for the nearest-rank median and the max, in memory
/// proportional to the distinct values.
#[derive(Debug, Clone, Default)]
pub(super) struct Histogram(FxHashMap<i64, u64>);

impl Histogram {
    pub(super) fn add(&mut self, d: i64) {
        *self.0.entry(d).or_default() += 1;
    }

    /// (nearest-rank median, max by magnitude with +d over −d); `None` when empty.
    pub(super) fn median_max(&self) -> Option<(i64, i64)> {
        let mut v: Vec<(i64, u64)> = self.0.iter().map(|(d, n)| (*d, *n)).collect();
        v.sort_unstable();
        let n: u64 = v.iter().map(|(_, c)| c).sum();
        if n == 0 {
            return None;
        }
        let rank = n.div_ceil(2);
        let mut seen = 0;
        let mut median = v[0].0;
        for (d, c) in &v {
            seen += c;
            if seen >= rank {
                median = *d;
                break;
            }
        }
        let max = v
            .iter()
            .map(|(d, _)| *d)
            .max_by_key(|d| (d.unsigned_abs(), *d > 0))
            .expect("non-empty");
        Some((median, max))
    }
}

/// Per day × model state.
#[derive(Debug, Clone, Default)]
pub(super) struct Group {
    pub(super) pairs: u64,
    pub(super) unpaired: Unpaired,
    pub(super) failed_shadows: u64,
    pub(super) over: u64,
    pub(super) prompt: Histogram,
    pub(super) completion: Histogram,
}

/// What pass 1 counts without the join: key (local day, global model id).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Direct {
    pub(super) failed_shadows: u64,
    pub(super) unpaired: Unpaired,
}
