//! `duplicate_request_id` in bounded memory (docs/formats.md §6, `findings.csv`). Every logged
//! call with a request id becomes one 24-byte record: a 64-bit hash of provider and id
//! ([`id_hash`]), the
//! call's place in the scan ([`ScanOrder`]) and its findings group (day × provider × model, as
//! the worker thread numbered it). Each worker sorts its records in a [`FixedSorter`], in memory
//! up to [`BUDGET`], beyond that in sorted runs on disk; after the scan the runs are merged by
//! hash, then place. Within one hash the first record is the call as first logged; every later
//! one is a duplicate, counted on its own group. So which record counts as the duplicate does
//! not depend on which thread read what first: it is always the later one in file and line
//! order, and memory does not grow with the number of calls.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use rustc_hash::FxHashMap;

use crate::sources::spill::{Fixed, FixedSorter};
use crate::sources::ScanOrder;

/// Bytes of records one worker keeps in memory before it writes a run: 32 MiB, 1,398,101 calls.
pub(crate) const BUDGET: usize = 32 << 20;

/// The 64-bit hash of a provider and a request id. rustc-hash's string hash (wyhash-like, it
/// passes SMHasher3 on its 64-bit output) folded with the provider's: for one provider two ids
/// share it only when their string hashes do, with odds of about n² / 2^65 among n ids (3 in
/// 10,000 at 100M). Several times faster than SipHash; per-call matching's `call_key` is the same hash.
pub(crate) fn id_hash(provider: &str, id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    (provider, id).hash(&mut h);
    h.finish()
}

/// One logged call with a request id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct IdRecord {
    /// [`id_hash`] of provider and request id.
    pub key: u64,
    /// The call's place in the scan.
    pub order: u64,
    /// The worker (high 32 bits) and its number for the call's findings group.
    pub group: u64,
}

impl Fixed for IdRecord {
    const SIZE: usize = 24;

    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.key.to_le_bytes());
        out.extend_from_slice(&self.order.to_le_bytes());
        out.extend_from_slice(&self.group.to_le_bytes());
    }

    fn get(b: &[u8]) -> Self {
        let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        IdRecord {
            key: u(0),
            order: u(8),
            group: u(16),
        }
    }

    fn lead(&self) -> u64 {
        self.key
    }
}

/// One worker's records (and, merged, every worker's).
pub(crate) struct IdLog {
    worker: u32,
    /// Workers whose records this log holds (itself and those merged into it): the threads
    /// the merge runs on.
    workers: usize,
    order: ScanOrder,
    sorter: FixedSorter<IdRecord>,
    error: Option<io::Error>,
}

impl IdLog {
    /// A worker's log; `workers` hands out the workers' numbers (shared by the run's workers).
    pub(crate) fn new(workers: &AtomicU32, budget: usize) -> IdLog {
        IdLog {
            worker: workers.fetch_add(1, Ordering::Relaxed),
            workers: 1,
            order: ScanOrder::default(),
            sorter: FixedSorter::new(budget),
            error: None,
        }
    }

    /// This worker's number: the high half of its records' `group`.
    pub(crate) fn worker(&self) -> u32 {
        self.worker
    }

    /// The calls pushed next come from the chunk starting at `at`.
    pub(crate) fn chunk(&mut self, at: ScanOrder) {
        self.order = at;
    }

    /// A call with a request id, in the worker's group `group`.
    pub(crate) fn push(&mut self, provider: &str, id: &str, group: u32) {
        if self.error.is_some() {
            return;
        }
        let r = IdRecord {
            key: id_hash(provider, id),
            order: self.order.next(),
            group: (u64::from(self.worker) << 32) | u64::from(group),
        };
        if let Err(e) = self.sorter.push(r) {
            self.error = Some(e);
        }
    }

    pub(crate) fn merge(&mut self, other: IdLog) {
        self.workers += other.workers;
        if let Some(e) = other.error {
            self.error.get_or_insert(e);
        }
        if let Err(e) = self.sorter.merge(other.sorter) {
            self.error.get_or_insert(e);
        }
    }

    /// Per (worker, group): how many of its calls repeat an id that a call earlier in the scan
    /// had.
    pub(crate) fn finish(self) -> io::Result<FxHashMap<(u32, u32), u64>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        // The ids split by hash into one part per worker thread, merged side by side.
        let parts = self.sorter.finish_parts(self.workers)?;
        let counted: Vec<io::Result<FxHashMap<u64, u64>>> = std::thread::scope(|s| {
            let handles: Vec<_> = parts
                .into_iter()
                .map(|mut part| {
                    s.spawn(move || {
                        let mut out = FxHashMap::default();
                        count_repeats(
                            || part.next_record(),
                            |group| *out.entry(group).or_insert(0) += 1,
                        )?;
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("duplicate id merge panicked"))
                .collect()
        });
        let mut out = FxHashMap::default();
        for part in counted {
            for (group, n) in part? {
                *out.entry(((group >> 32) as u32, group as u32)).or_insert(0) += n;
            }
        }
        Ok(out)
    }
}

/// Given records sorted by (key, order), calls `repeat` with the group of each record whose key
/// an earlier record had.
pub(crate) fn count_repeats(
    mut next: impl FnMut() -> io::Result<Option<IdRecord>>,
    mut repeat: impl FnMut(u64),
) -> io::Result<()> {
    let mut last = None;
    while let Some(r) = next()? {
        if last == Some(r.key) {
            repeat(r.group);
        } else {
            last = Some(r.key);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashSet};

    /// A call: the chunk it is in (file 0), its provider and id, its group.
    type Logged = (u64, &'static str, String, u32);

    /// Feeds `calls` (in scan order) to one log per worker, chunk `c` going to worker
    /// `assign[c]`, in a sorter of `budget` bytes; merges the logs in `merge_order` and returns
    /// the repeats per group (summed over workers), and how many runs were written.
    fn detect(
        calls: &[Logged],
        workers: usize,
        assign: impl Fn(u64) -> usize,
        budget: usize,
    ) -> (BTreeMap<u32, u64>, usize) {
        let numbers = AtomicU32::new(0);
        let mut logs: Vec<IdLog> = (0..workers).map(|_| IdLog::new(&numbers, budget)).collect();
        let mut current: Vec<Option<u64>> = vec![None; workers];
        for (chunk, provider, id, group) in calls {
            let w = assign(*chunk);
            if current[w] != Some(*chunk) {
                logs[w].chunk(ScanOrder::text_chunk(0, *chunk));
                current[w] = Some(*chunk);
            }
            logs[w].push(provider, id, *group);
        }
        let runs: usize = logs.iter().map(|l| l.sorter.runs()).sum();
        // Merged last to first: the merge order must not matter.
        let mut all = logs.pop().expect("a worker");
        while let Some(l) = logs.pop() {
            all.merge(l);
        }
        let mut out = BTreeMap::new();
        for ((_, group), n) in all.finish().unwrap() {
            *out.entry(group).or_default() += n;
        }
        (out, runs)
    }

    /// The reference: a set of the ids seen, in scan order.
    fn reference(calls: &[Logged]) -> BTreeMap<u32, u64> {
        let mut seen = HashSet::new();
        let mut out = BTreeMap::new();
        for (_, provider, id, group) in calls {
            if !seen.insert((*provider, id.clone())) {
                *out.entry(*group).or_default() += 1;
            }
        }
        out
    }

    /// Three records a run, two workers taking alternate chunks: many runs, and every repeat
    /// counted on the group of the later record in scan order.
    #[test]
    fn spilled_runs_count_each_later_record_once() {
        let c = |chunk, p, id: &str, g| (chunk, p, id.to_string(), g);
        let calls = vec![
            c(0, "a", "x", 1),
            c(0, "a", "y", 1),
            c(1, "a", "x", 2), // repeat of x: group 2
            c(1, "b", "x", 2), // another provider: not a repeat
            c(2, "a", "z", 3),
            c(2, "a", "y", 3), // repeat of y: group 3
            c(3, "a", "x", 1), // x a third time: group 1
            c(3, "a", "w", 1),
            c(4, "b", "x", 3), // b's x again: group 3
            c(4, "a", "z", 2), // z again: group 2
            c(5, "a", "v", 4),
            c(5, "a", "v", 4), // twice in one chunk: the second, group 4
        ];
        // Worker 1 reads chunks 1, 3, 5, worker 0 chunks 0, 2, 4: worker 1's records come
        // before worker 0's later ones and after its earlier ones.
        let (got, runs) = detect(&calls, 2, |chunk| (chunk % 2) as usize, 3 * 24);
        assert!(runs >= 2, "{runs} runs");
        let want: BTreeMap<u32, u64> = [(1, 1), (2, 2), (3, 2), (4, 1)].into_iter().collect();
        assert_eq!(got, want);
        assert_eq!(got, reference(&calls));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Spilled detection equals a hash set of the ids taken in scan order, whatever the
        /// budget, the number of workers and which worker reads which chunk.
        #[test]
        fn spilled_detection_equals_a_hash_set(
            ids in prop::collection::vec((0u8..3, 0u16..40, 0u32..5), 0..400),
            chunk_len in 1usize..30,
            workers in 1usize..4,
            seed in any::<u64>(),
            budget_records in 1usize..50,
        ) {
            let providers = ["p", "q", "r"];
            let calls: Vec<Logged> = ids
                .iter()
                .enumerate()
                .map(|(i, &(p, id, g))| {
                    ((i / chunk_len) as u64, providers[p as usize], format!("id-{id}"), g)
                })
                .collect();
            let assign = |chunk: u64| {
                (chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed) as usize % workers
            };
            let (got, _) = detect(&calls, workers, assign, budget_records * 24);
            prop_assert_eq!(got, reference(&calls));
        }
    }
}
