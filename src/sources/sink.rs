//! The consumer side of the log readers: a [`CallSink`] takes every call a worker thread parses
//! and says what it did with it; sinks of several stages combine as a pair, or as an option when
//! a stage is not needed this run.

use crate::domain::Call;

/// What a sink did with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    Used,
    /// Outside `--from`/`--to`: read and valid, deliberately not counted.
    OutOfRange,
    /// Valid but refused by a limit (the reason names it): a rejected row like any other.
    Rejected(&'static str),
}

/// Per-thread consumer of calls; the stages after the readers implement it.
pub(crate) trait CallSink: Send {
    fn accept(&mut self, call: &Call<'_>) -> Disposition;
    fn merge(&mut self, other: Self);
}

/// Two sinks fed the same calls in one pass; the first one's disposition counts, and a call it
/// rejects is not passed on.
impl<A: CallSink, B: CallSink> CallSink for (A, B) {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        let d = self.0.accept(call);
        if !matches!(d, Disposition::Rejected(_)) {
            self.1.accept(call);
        }
        d
    }

    fn merge(&mut self, other: Self) {
        self.0.merge(other.0);
        self.1.merge(other.1);
    }
}

/// A sink that may not be needed this run.
impl<S: CallSink> CallSink for Option<S> {
    fn accept(&mut self, call: &Call<'_>) -> Disposition {
        self.as_mut().map_or(Disposition::Used, |s| s.accept(call))
    }

    fn merge(&mut self, other: Self) {
        if let (Some(a), Some(b)) = (self.as_mut(), other) {
            a.merge(b);
        }
    }
}
