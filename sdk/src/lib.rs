//! # alpha-panda SDK: trading strategies as plain Rust types
//!
//! A strategy is a `Serialize + Deserialize` struct implementing [`Strategy`]; one
//! `export_strategy!` line turns the crate into a sandboxed Wasm component the
//! alpha-panda host loads, hot-reloads and snapshots. The SDK hides the ABI: the host
//! hands ticks over in batches, the SDK delivers them one by one, fires timers by tick
//! time, tags every signal with the tick it answers and checks it before it leaves.
//!
//! ```
//! use std::collections::BTreeSet;
//!
//! use alpha_panda_sdk::indicators::Sma;
//! use alpha_panda_sdk::{
//!     Context, InitContext, Map, ParamError, Params, Signal, Strategy, StrategyError, Tick,
//! };
//! use serde::{Deserialize, Serialize};
//!
//! /// Buys when the price crosses above its moving average, then waits a minute
//! /// (of tick time) before it buys that instrument again.
//! #[derive(Serialize, Deserialize)]
//! pub struct Cross {
//!     period: usize,
//!     quantity: u64,
//!     /// Per instrument: the average and whether the price was above it.
//!     state: Map<u32, (Sma, Option<bool>)>,
//!     quiet: BTreeSet<u32>,
//! }
//!
//! impl Strategy for Cross {
//!     fn init(params: &Params, _ctx: &InitContext) -> Result<Self, ParamError> {
//!         let period = params.get_or("period", 20usize)?;
//!         if period < 2 {
//!             return Err(ParamError::invalid("period", "must be at least 2"));
//!         }
//!         let quantity = params.get_or("quantity", 10u64)?;
//!         Ok(Self { period, quantity, state: Map::new(), quiet: BTreeSet::new() })
//!     }
//!
//!     fn on_tick(&mut self, tick: &Tick, out: &mut Context) -> Result<(), StrategyError> {
//!         let token = tick.instrument_token();
//!         let period = self.period;
//!         let (sma, was_above) =
//!             self.state.entry(token).or_insert_with(|| (Sma::new(period), None));
//!         let Some(average) = sma.update(tick.price()) else { return Ok(()) };
//!         let above = tick.price() > average;
//!         let crossed_up = *was_above == Some(false) && above;
//!         *was_above = Some(above);
//!         if crossed_up && self.quiet.insert(token) {
//!             out.emit(
//!                 Signal::buy(self.quantity)
//!                     .price_exact(tick.last_price())
//!                     .meta("sma", format!("{average:.2}")),
//!             );
//!             out.set_timer(tick.timestamp_us() + 60_000_000, u64::from(token));
//!         }
//!         Ok(())
//!     }
//!
//!     fn on_timer(&mut self, id: u64, _now_us: i64, _out: &mut Context) -> Result<(), StrategyError> {
//!         if let Ok(token) = u32::try_from(id) {
//!             self.quiet.remove(&token);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! alpha_panda_sdk::export_strategy!(Cross);
//!
//! // A test: plain `cargo test`, ticks through the same engine the component uses.
//! use alpha_panda_sdk::{Runner, Side, TickData};
//! let mut r = Runner::<Cross>::init(&Params::new().with("period", 2), &InitContext::default())?;
//! let s = 1_000_000; // one second in microseconds
//! assert!(r.feed(&TickData::new(5, "10", 0))?.is_empty());
//! assert!(r.feed(&TickData::new(5, "9", s))?.is_empty()); // below the average 9.5
//! let signals = r.feed(&TickData::new(5, "11.00", 2 * s))?; // crosses above 10
//! assert_eq!(signals.len(), 1);
//! assert_eq!((signals[0].side, signals[0].quantity), (Side::Buy, 10));
//! assert_eq!(signals[0].instrument_token, Some(5));
//! assert_eq!(signals[0].metadata, vec![("sma".to_owned(), "10.00".to_owned())]);
//! assert!(r.feed(&TickData::new(5, "9", 3 * s))?.is_empty());
//! assert!(r.feed(&TickData::new(5, "12", 4 * s))?.is_empty()); // crosses again, but quiet
//! assert!(r.feed(&TickData::new(5, "9", 63 * s))?.is_empty()); // the timer fired first
//! assert_eq!(r.feed(&TickData::new(5, "12", 64 * s))?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Build the component with `cargo build --target wasm32-wasip2` (crate type
//! `cdylib`); the output `.wasm` is a component importing only `host.log` (plus the
//! `wasi:*` interfaces Rust's std links).
//!
//! Determinism: a strategy sees only its ticks, its parameters and a seed, so a replay
//! gives the same signals. Prefer [`Map`] (a `BTreeMap`) for state that is iterated;
//! std's `HashMap` also works (the host pins its random seed) but iterates in hash order.
//!
//! ## Layout
//! - [`decimal`]: [`Decimal`], exact prices as mantissa and scale; its parse error.
//! - [`tick`]: [`Tick`], the borrowed view of one tick; [`TickData`], the owned tick
//!   tests build; [`tick::Ohlc`], [`tick::DepthLevel`], [`tick::TickMode`].
//! - `signal`: [`Signal`] (builder), [`Side`] (the wire's, shared with the host), [`Price`].
//! - [`params`]: [`Params`], typed parameter access; [`ParamError`]; [`params::FromParam`],
//!   [`params::ParamValue`].
//! - `context`: [`InitContext`] and [`Context`] (emit, timers, log).
//! - `strategy`: the [`Strategy`] trait, [`StrategyError`] and [`Result`].
//! - `timers`: the deterministic timer queue (inside [`Context`]).
//! - [`runner`]: [`Runner`], ticks in → timers, `on_tick`, checked signals out; snapshots;
//!   [`runner::Emitted`], [`runner::Output`], [`runner::TickError`].
//! - [`logging`]: [`logging::log`] to the host, at a [`logging::Level`].
//! - [`indicators`]: rolling window, SMA, EMA, std-dev, z-score, RSI, Bollinger bands.
//! - `batch`: one call's data on the wire: the host's tick batch read into [`Tick`]s, the
//!   signals written into the flat buffer (both through the `alpha-panda-abi` crate).
//! - `adapter` / `bindings` (Wasm only, hidden): the WIT export and generated bindings.

extern crate self as alpha_panda_sdk;

mod artifacts;
mod batch;
mod context;
pub mod decimal;
pub mod indicators;
pub mod logging;
pub mod params;
pub mod runner;
mod signal;
mod strategy;
pub mod tick;
mod timers;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[path = "adapter.rs"]
pub mod __adapter;
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
#[path = "bindings.rs"]
pub mod __bindings;
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

pub use artifacts::{Artifact, Artifacts};
pub use context::{Context, InitContext};
pub use decimal::Decimal;
pub use params::{ParamError, Params};
pub use runner::Runner;
pub use signal::{Price, Side, Signal};
pub use strategy::{Result, Strategy, StrategyError};
pub use tick::{Tick, TickData};

/// An ordered map: iteration order depends only on the keys, never on a hash seed.
pub type Map<K, V> = std::collections::BTreeMap<K, V>;

/// Exports a [`Strategy`] as the crate's Wasm component: `export_strategy!(MyStrategy);`
/// once, at the crate root. Off Wasm it only checks that the type is a `Strategy`, so
/// `cargo test` builds the same crate natively.
#[macro_export]
macro_rules! export_strategy {
    ($strategy:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __AlphaPandaExport;

            ::std::thread_local! {
                static __INSTANCE: ::core::cell::RefCell<$crate::__adapter::Instance<$strategy>> =
                    const { ::core::cell::RefCell::new($crate::__adapter::Instance::new()) };
            }

            impl $crate::__adapter::Guest for __AlphaPandaExport {
                fn init(
                    config: $crate::__adapter::InitConfig,
                ) -> ::core::result::Result<(), $crate::__adapter::InitError> {
                    __INSTANCE.with(|i| $crate::__adapter::init(i, config))
                }
                fn on_ticks(batch: $crate::__adapter::TickBatch) -> $crate::__adapter::BatchOutput {
                    __INSTANCE.with(|i| $crate::__adapter::on_ticks(i, batch))
                }
                fn snapshot() -> ::std::vec::Vec<u8> {
                    __INSTANCE.with(|i| $crate::__adapter::snapshot(i))
                }
                fn restore(
                    state: ::std::vec::Vec<u8>,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    __INSTANCE.with(|i| $crate::__adapter::restore(i, state))
                }
            }

            $crate::__bindings::__export_plugin!(__AlphaPandaExport with_types_in $crate::__bindings);
        };

        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = || {
            fn is_a_strategy<S: $crate::Strategy>() {}
            is_a_strategy::<$strategy>();
        };
    };
}
