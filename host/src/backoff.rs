//! The one exponential backoff: a wait that doubles from `base` with every
//! failure, up to `max`. Produce retries (the contract's retry table), re-reads of
//! unreadable state, aborts of a failed transaction and Redis reconnects use it.

use std::time::Duration;

/// min(base · 2^attempt, max) for retry number `attempt` (0-based).
pub fn delay(base: Duration, max: Duration, attempt: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(attempt.min(30)))
        .min(max)
}

/// A backoff that remembers its failures in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            failures: 0,
        }
    }

    /// The wait after one more failure (the first is `base`).
    pub fn fail(&mut self) -> Duration {
        let d = delay(self.base, self.max, self.failures);
        self.failures = self.failures.saturating_add(1);
        d
    }

    /// The wait the next failure would give, without counting one.
    pub fn peek(&self) -> Duration {
        delay(self.base, self.max, self.failures)
    }

    /// A success: the next failure waits `base` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_base_to_max_and_resets() {
        let s = Duration::from_secs;
        let mut b = Backoff::new(s(1), s(60));
        let waits: Vec<Duration> = (0..8).map(|_| b.fail()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60].map(s));
        assert_eq!(b.failures(), 8);
        assert_eq!(b.peek(), s(60));
        b.reset();
        assert_eq!(b.fail(), s(1));
        assert_eq!(delay(s(1), s(30), 1000), s(30), "no overflow");
    }
}
