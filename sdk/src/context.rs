//! `InitContext` (who the strategy is, and its artifacts) and `Context` (what a callback can do: emit, time, log).

use crate::artifacts::Artifacts;
use crate::logging::{self, Level};
use crate::timers::Timers;
use crate::Signal;

/// Who the strategy is, given once to [`Strategy::init`](crate::Strategy::init).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitContext {
    /// The strategy id of the manifest (`"momentum_1"`).
    pub strategy_id: String,
    /// The instruments the strategy is subscribed to (empty: any).
    pub instruments: Vec<u32>,
    /// The only randomness a strategy gets; fixed per strategy id.
    pub seed: u64,
    /// The read-only files the manifest names under `[artifacts]`:
    /// `ctx.artifacts.json::<Model>("model")?`.
    pub artifacts: Artifacts,
}

/// What a callback can do besides changing its own state: emit signals, set and cancel
/// timers, log. The SDK owns it and reuses it between calls; in tests,
/// `Context::default()` lets you call `on_tick` directly and read [`Context::signals`].
#[derive(Debug, Default)]
pub struct Context {
    pub(crate) now_us: i64,
    pub(crate) signals: Vec<Signal>,
    pub(crate) timers: Timers,
}

impl Context {
    /// Emits a signal. Without [`Signal::instrument`], it is for the tick's instrument.
    pub fn emit(&mut self, signal: Signal) {
        self.signals.push(signal);
    }

    /// The current time by the feed: the tick's timestamp in `on_tick`, the timer's due
    /// time in `on_timer` (microseconds since the Unix epoch).
    pub fn now_us(&self) -> i64 {
        self.now_us
    }

    /// Calls `on_timer(id, at_us)` before the first tick whose timestamp is `>= at_us`.
    /// Setting an id that is pending moves it. Timers are part of the snapshot.
    pub fn set_timer(&mut self, at_us: i64, id: u64) {
        self.timers.set(at_us, id);
    }

    /// Cancels a pending timer; false if there was none with this id.
    pub fn cancel_timer(&mut self, id: u64) -> bool {
        self.timers.cancel(id)
    }

    /// When the pending timer `id` is due, if it is pending.
    pub fn timer(&self, id: u64) -> Option<i64> {
        self.timers.due_of(id)
    }

    /// Logs through the host (see [`logging::log`]).
    pub fn log(&self, level: Level, message: &str, fields: &[(&str, &str)]) {
        logging::log(level, message, fields);
    }

    /// The signals emitted since the SDK (or a test) last took them.
    pub fn signals(&self) -> &[Signal] {
        &self.signals
    }

    /// Takes the signals emitted so far.
    pub fn take_signals(&mut self) -> Vec<Signal> {
        std::mem::take(&mut self.signals)
    }
}
