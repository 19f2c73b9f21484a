//! `Strategy`: the one trait an author implements, and `StrategyError`, what its callbacks return.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Context, InitContext, ParamError, Params, Tick};

/// A trading strategy: state plus callbacks. The SDK calls them in tick order, one at a
/// time; everything a strategy needs to survive a reload or a crash is `self`.
///
/// `Serialize + DeserializeOwned` give [`snapshot`](Strategy::snapshot) and
/// [`restore`](Strategy::restore) their defaults: a postcard encoding of the whole value
/// (so the state of the previous instance, parameters included, replaces the fresh
/// one). Postcard cannot decode `#[serde(untagged)]`, `#[serde(flatten)]` or
/// self-describing values such as `serde_json::Value`.
pub trait Strategy: Sized + Serialize + DeserializeOwned {
    /// Builds the strategy from its parameters, before any tick. Read every parameter
    /// here (an unread one is refused as unknown); refuse bad ones with
    /// [`ParamError::invalid`].
    fn init(params: &Params, ctx: &InitContext) -> Result<Self, ParamError>;

    /// Handles one tick. An `Err` drops the signals this tick produced (they never
    /// reach the host), is reported as a fault of this tick, and the next tick comes
    /// as usual.
    fn on_tick(&mut self, tick: &Tick<'_>, out: &mut Context) -> Result<(), StrategyError>;

    /// A timer set with [`Context::set_timer`] is due. Runs before the first tick at or
    /// after `now_us` (the timer's due time); its signals answer that tick. No-op by default.
    fn on_timer(
        &mut self,
        timer_id: u64,
        now_us: i64,
        out: &mut Context,
    ) -> Result<(), StrategyError> {
        let _ = (timer_id, now_us, out);
        Ok(())
    }

    /// The strategy's state as bytes (default: postcard of `self`).
    fn snapshot(&self) -> Result<Vec<u8>, StrategyError> {
        Ok(postcard::to_allocvec(self)?)
    }

    /// Takes over state from [`snapshot`](Strategy::snapshot) bytes, after `init`
    /// (default: replace `self` with the decoded value). Override to keep the new
    /// parameters and take only the state.
    fn restore(&mut self, state: &[u8]) -> Result<(), StrategyError> {
        *self = postcard::from_bytes(state)?;
        Ok(())
    }
}

/// What a failing callback reports; any `std::error::Error` converts with `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyError {
    message: String,
}

impl StrategyError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for StrategyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for StrategyError {
    fn from(e: E) -> Self {
        Self::new(e.to_string())
    }
}

/// `Result` with [`StrategyError`].
pub type Result<T = (), E = StrategyError> = std::result::Result<T, E>;
