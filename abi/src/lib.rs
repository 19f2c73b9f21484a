//! # alpha-panda-abi: the wire between the host and its strategy plugins
//!
//! `wit/strategy.wit` declares the calls; the ticks going in and the signals coming
//! out cross them as flat little-endian byte buffers. This crate is the one definition
//! of those buffers: their layout, a reader and a writer for each. The host writes
//! ticks and reads signals with it, the Rust SDK reads ticks and writes signals with
//! it, and the golden vectors in `vectors/` (written by this crate's tests) are what
//! an SDK in any other language checks itself against.
//!
//! Std only, no dependencies; it builds for `wasm32-wasip2` as for the host.
//!
//! ## Layout
//! - [`layout`]: sizes, presence bits and field offsets of the tick, depth-level and
//!   signal records, and the values of their enum bytes: the single definition.
//! - [`decimal`]: [`Decimal`], an exact price as mantissa and scale, with text that
//!   keeps the scale (`"2501.50"`).
//! - [`side`]: [`Side`], buy or sell: the one type host and SDK share.
//! - [`tick`]: reading a tick batch: [`tick::Batch`] checks its shape, [`tick::check_tick`]
//!   checks one record into a [`tick::TickRecord`] read field by field on access,
//!   [`tick::read_tick`] decodes one record into a plain [`tick::Tick`];
//!   [`tick::BatchError`], [`tick::RecordError`].
//! - [`tick_write`]: writing tick records in place ([`tick_write::TickWriter`], the
//!   host's hot path) and whole batches ([`tick_write::BatchWriter`], the canonical form).
//! - [`signal`]: the signal buffer: [`signal::write_signal`], [`signal::read_signals`],
//!   [`signal::SignalBufferError`].
//! - `le` (private): little-endian fields at fixed offsets, under all of the above.

mod le;

pub mod decimal;
pub mod layout;
pub mod side;
pub mod signal;
pub mod tick;
pub mod tick_write;

pub use decimal::Decimal;
pub use side::Side;
