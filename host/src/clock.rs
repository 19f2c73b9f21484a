//! The host's one clock. Everything on the tick path and in the tests takes time
//! from here: monotonic instants are tokio's (a test on a paused runtime moves
//! them with `tokio::time::advance`), and wall-clock timestamps are derived from
//! the same instants, so a paused clock pauses them too.

use std::sync::OnceLock;
use std::time::Duration;

pub use tokio::time::Instant;

use crate::contract::Timestamp;

/// Now, on the monotonic clock.
pub fn now() -> Instant {
    Instant::now()
}

/// Sleeps on the host's clock (a paused test runtime skips the wait).
pub async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

/// The wall clock at the first call and the instant it was read at.
fn origin() -> &'static (Timestamp, Instant) {
    static ORIGIN: OnceLock<(Timestamp, Instant)> = OnceLock::new();
    ORIGIN.get_or_init(|| (Timestamp::now(), Instant::now()))
}

/// Now, on the wall clock (UTC, microseconds): the wall time of the first call
/// plus the monotonic time since.
pub fn wall() -> Timestamp {
    let (at, then) = origin();
    at.plus(now().saturating_duration_since(*then))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn wall_time_follows_the_paused_clock() {
        let a = wall();
        tokio::time::advance(Duration::from_secs(90)).await;
        let b = wall();
        assert_eq!(b.to_unix_micros() - a.to_unix_micros(), 90_000_000);
    }
}
