//! Stage 2b, age: a live tick older than `start.max_tick_age_ms` by the wall
//! clock when consumed is history (a new consumer group starting at the log's
//! beginning, a host back after an outage). It is fed to its strategies with
//! outputs suppressed, so their state is warm, committed with its batch, counted
//! (`alpha_panda_stale_ticks_total`) and never signalled. A burst of them is
//! logged once when it starts and once when live ticks come again.

use super::dedupe::Deduped;
use super::Host;
use crate::clock;

/// Whether a tick of `timestamp_us` is older than `max_age_ms` at `now_us`
/// (`max_age_ms` 0: never).
pub(crate) fn is_stale(timestamp_us: i64, now_us: i64, max_age_ms: u64) -> bool {
    let max_us = i64::try_from(max_age_ms.saturating_mul(1000)).unwrap_or(i64::MAX);
    max_age_ms > 0 && now_us.saturating_sub(timestamp_us) > max_us
}

/// The burst of stale ticks in progress, for its two log lines.
#[derive(Debug, Default)]
pub(super) struct StaleBurst {
    ticks: u64,
}

impl StaleBurst {
    /// Notes `n` stale and `live` live ticks of a batch, in that order of time.
    pub(super) fn note(&mut self, n: u64, live: usize, max_age_ms: u64) {
        if n > 0 && self.ticks == 0 {
            tracing::warn!(
                max_age_ms,
                "ticks older than start.max_tick_age_ms: fed to the strategies to warm their state, never signalled"
            );
        }
        self.ticks += n;
        if live > 0 && self.ticks > 0 {
            tracing::info!(
                stale = self.ticks,
                "live ticks again; the stale ones before them were fed without signals"
            );
            self.ticks = 0;
        }
    }
}

impl Host {
    /// Moves the stale ticks of `deduped.keep` to the ticks only fed.
    pub(super) fn age(&mut self, deduped: &mut Deduped) {
        let max = self.config.start.max_tick_age_ms;
        if max == 0 {
            return;
        }
        let now = clock::wall().to_unix_micros();
        let (stale, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut deduped.keep)
            .into_iter()
            .partition(|f| is_stale(f.env.data.timestamp.to_unix_micros(), now, max));
        let n = stale.len() as u64;
        deduped.keep = keep;
        deduped.caught.extend(stale);
        self.count_stale(n, deduped.keep.len());
    }

    /// Counts `n` stale ticks fed and `live` answered, of the partition pipeline
    /// or of a unit (a tick both read counts on each).
    pub(super) fn count_stale(&mut self, n: u64, live: usize) {
        self.shared.metrics.stale_ticks.inc_by(n);
        self.summary.stale += n;
        self.stale.note(n, live, self.config.start.max_tick_age_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_is_stale_only_past_the_age_and_never_when_off() {
        let now = 1_000_000_000;
        assert!(!is_stale(now - 60_000_000, now, 60_000), "exactly the age");
        assert!(is_stale(now - 60_000_001, now, 60_000));
        assert!(!is_stale(now + 5_000_000, now, 60_000), "from the future");
        assert!(!is_stale(0, now, 0), "0 turns it off");
        assert!(is_stale(i64::MIN, now, 60_000), "no overflow: the far past");
        assert!(!is_stale(0, now, u64::MAX), "no overflow: the longest age");
    }
}
