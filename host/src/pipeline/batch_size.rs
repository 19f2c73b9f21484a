//! How many ticks the next batch may take: `plugins.latency_batch` while the host
//! keeps up with the stream, so a burst is answered in parts and its first ticks go
//! out sooner; `plugins.max_batch` once small batches keep coming full (a backlog,
//! where large batches answer faster), until a batch finds fewer ticks queued than
//! a small one holds (caught up).

/// Full batches in a row at the small size that make a backlog: a burst of up to
/// this many small batches is answered in parts. Measured at 50 000 ticks/s with
/// real-time threads (BENCHMARKS, session 34): at 8 a burst after a stall grew
/// the batches and the tail came back; at 64 the tail is that of always-small
/// batches, and a backlog is answered as fast as with large batches only.
pub(super) const FULL_TO_GROW: u32 = 64;

/// The size of the next batch, from how the last ones filled.
#[derive(Debug, Clone)]
pub(super) struct BatchSize {
    /// `plugins.latency_batch`, below `max`; 0: every batch may take `max`.
    small: usize,
    /// `plugins.max_batch`.
    max: usize,
    /// Small batches in a row that took all they could, then (from
    /// [`FULL_TO_GROW`] on) large batches in a row that were not caught up.
    full_in_a_row: u32,
}

impl BatchSize {
    /// `plugins.latency_batch` while the host keeps up, `plugins.max_batch` in a backlog.
    pub(super) fn from_config(p: &crate::config::PluginsConfig) -> Self {
        Self::new(p.latency_batch, p.max_batch)
    }

    pub(super) fn new(latency_batch: usize, max_batch: usize) -> Self {
        let max = max_batch.max(1);
        Self {
            // A small size at or over the most is no small size.
            small: if latency_batch < max {
                latency_batch
            } else {
                0
            },
            max,
            full_in_a_row: 0,
        }
    }

    /// The most ticks the next batch may take.
    pub(super) fn limit(&self) -> usize {
        if self.small == 0 || self.full_in_a_row >= FULL_TO_GROW {
            self.max
        } else {
            self.small
        }
    }

    /// A batch took `taken` ticks. Small, a full one counts towards a backlog and
    /// any other starts the count over; large, one with fewer ticks than a small
    /// batch holds means the host caught up. (A large batch that finds the
    /// client's queue briefly short mid-backlog keeps the size.)
    pub(super) fn took(&mut self, taken: usize) {
        let grown = self.full_in_a_row >= FULL_TO_GROW;
        if (grown && taken >= self.small) || (!grown && taken >= self.limit()) {
            self.full_in_a_row = self.full_in_a_row.saturating_add(1);
        } else {
            self.full_in_a_row = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_every_batch_may_take_the_most() {
        let mut b = BatchSize::new(0, 512);
        assert_eq!(b.limit(), 512);
        b.took(3);
        assert_eq!(b.limit(), 512);
        // A small size at or over the most is the most.
        assert_eq!(BatchSize::new(600, 512).limit(), 512);
    }

    #[test]
    fn a_burst_goes_in_small_batches_and_a_backlog_in_large_ones() {
        let mut b = BatchSize::new(64, 512);
        assert_eq!(b.limit(), 64);
        // A burst shorter than FULL_TO_GROW full batches stays small throughout.
        for _ in 0..FULL_TO_GROW - 1 {
            b.took(64);
            assert_eq!(b.limit(), 64);
        }
        b.took(10);
        assert_eq!(b.limit(), 64, "the queue ran dry: the count starts over");
        // A backlog: full batches in a row grow them to the most...
        for _ in 0..FULL_TO_GROW {
            b.took(64);
        }
        assert_eq!(b.limit(), 512);
        b.took(512);
        assert_eq!(b.limit(), 512, "full large batches keep them large");
        b.took(200);
        assert_eq!(
            b.limit(),
            512,
            "a queue briefly short mid-backlog keeps them large"
        );
        b.took(64);
        assert_eq!(b.limit(), 512);
        // ... until one finds fewer ticks than a small batch holds: caught up.
        b.took(63);
        assert_eq!(b.limit(), 64);
        b.took(64);
        assert_eq!(b.limit(), 64, "and the count starts over");
    }
}
